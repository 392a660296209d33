// Writes the fuzz targets' seed corpora (fuzz/seeds/<target>/, git-ignored) from the golden
// vectors (tests/vectors/*.json) and the platform fixtures (tests/fixtures/): each seed is a
// vector-shaped JSON document {catalog?, input, options?}, the shape every target reads.
// Usage: node scripts/fuzz-seeds.mjs
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const TARGETS = {
  computeQuote: ['quote'],
  'Calculator.quote': ['calculator'],
  'new Calculator': ['calculator'],
  'Calculator.previewInvoice': ['calculator', 'preview'],
  'Calculator.billingDates': ['calculator', 'billing_dates'],
  previewInvoice: ['preview', 'billing_dates'],
  billingDates: ['billing_dates'],
  dunningSchedule: ['dunning'],
  creditNote: ['credit_note'],
  fromShopifyCart: ['adapters'],
  toShopifyAmounts: ['adapters'],
  fromWooCommerceCart: ['adapters'],
  revenueMetrics: ['metrics'],
};
const seeds = join(root, 'fuzz', 'seeds');
rmSync(seeds, { recursive: true, force: true });
const counts = {};
const add = (target, doc) => {
  const dir = join(seeds, target);
  mkdirSync(dir, { recursive: true });
  counts[target] = (counts[target] ?? 0) + 1;
  writeFileSync(join(dir, `seed-${String(counts[target]).padStart(4, '0')}.json`), JSON.stringify(doc));
};
const vectors = join(root, 'tests', 'vectors');
for (const file of readdirSync(vectors).filter((f) => f.endsWith('.json')).sort()) {
  for (const v of JSON.parse(readFileSync(join(vectors, file), 'utf8')).vectors) {
    const doc = { input: v.input ?? null };
    if (v.catalog !== undefined) doc.catalog = v.catalog;
    if (v.options !== undefined) doc.options = v.options;
    for (const target of TARGETS[v.call] ?? []) add(target, doc);
    // A catalog-less quote seeds the calculator target too (with an empty catalog).
    if (v.call === 'computeQuote' && v.input && !v.input.catalog) add('calculator', { catalog: {}, input: v.input });
    // A quote's output is what toShopifyAmounts reads.
    if (v.output && (v.call === 'computeQuote' || v.call === 'Calculator.quote')) add('adapters', { input: v.output });
  }
}
for (const platform of ['shopify', 'woocommerce']) {
  const dir = join(root, 'tests', 'fixtures', platform);
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    add('adapters', { input: JSON.parse(readFileSync(join(dir, f), 'utf8')) });
  }
}
console.log(Object.entries(counts).map(([t, n]) => `${t}: ${n}`).join(', '));

// The TypeScript declarations cannot drift from the engine: every golden vector is run through the
// BUILT package and its actual result (and, for vectors that succeed, its input) is written as an
// object literal annotated with the declared type, then checked with `tsc --strict`. An output
// field the declarations lack is an excess property, a declared field the engine never sends is
// a missing one, a wrong union member or a string where a number is declared is a type error.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BIN, installPackage, loadVectors } from './support.mjs';

const project = installPackage();
after(() => project.remove());
const api = project.require();

/** call → [input type, output type, catalog?] as src/types.d.ts and the wasm signatures declare them. */
const TYPES = {
  computeQuote: ['QuoteInput', 'Quote'],
  'Calculator.quote': ['Cart', 'Quote', true],
  'new Calculator': [null, null, true],
  previewInvoice: ['PreviewInvoiceInput', 'Invoice'],
  'Calculator.previewInvoice': ['InvoicePreview', 'Invoice', true],
  billingDates: ['BillingDatesInput', 'BillingDates'],
  'Calculator.billingDates': ['BillingDatesRequest', 'BillingDates', true],
  dunningSchedule: ['DunningInput', 'DunningSchedule'],
  creditNote: ['CreditNoteInput', 'CreditNote'],
  revenueMetrics: ['RevenueMetricsInput', 'RevenueReport'],
  fromShopifyCart: ['ShopifyCart', 'Cart'],
  // Its input is a quote the vector trims to the fields the adapter reads (no `version`).
  toShopifyAmounts: [null, 'ShopifyAmounts'],
  fromWooCommerceCart: ['WooCommerceCart', 'Cart'],
};

function run(vector) {
  const withCatalog = (fn) => {
    const calculator = new api.Calculator(vector.catalog);
    try {
      return fn(calculator);
    } finally {
      calculator.free();
    }
  };
  switch (vector.call) {
    case 'Calculator.quote': return withCatalog((c) => c.quote(vector.input));
    case 'Calculator.previewInvoice': return withCatalog((c) => c.previewInvoice(vector.input));
    case 'Calculator.billingDates': return withCatalog((c) => c.billingDates(vector.input));
    case 'new Calculator': return withCatalog(() => null);
    case 'fromWooCommerceCart': return vector.options === undefined ? api.fromWooCommerceCart(vector.input) : api.fromWooCommerceCart(vector.input, vector.options);
    default: return api[vector.call](vector.input);
  }
}

test('every golden vector result (and successful input) type-checks against its declared type under strict tsc', () => {
  const vectors = loadVectors();
  const lines = ["import type * as B from 'billcalc';", ''];
  let outputs = 0;
  vectors.forEach((vector, i) => {
    const types = TYPES[vector.call];
    assert.ok(types, `no declared types for call ${vector.call} (${vector.file}::${vector.name})`);
    if ('error' in vector) return; // a deliberately malformed input is not meant to type-check
    const [input, output, catalog] = types;
    const where = `// ${vector.file} :: ${vector.name}`;
    lines.push(where);
    if (catalog) lines.push(`export const catalog${i}: B.Catalog = ${JSON.stringify(vector.catalog)};`);
    if (input) lines.push(`export const input${i}: B.${input} = ${JSON.stringify(vector.input)};`);
    if (vector.options !== undefined) lines.push(`export const options${i}: B.WooCommerceOptions = ${JSON.stringify(vector.options)};`);
    const result = run(vector);
    if (output) {
      lines.push(`export const output${i}: B.${output} = ${JSON.stringify(result)};`);
      outputs += 1;
    }
  });
  assert.ok(outputs >= 40, `only ${outputs} outputs checked`);
  const file = project.write('vectors/vectors.ts', `${lines.join('\n')}\n`);
  project.write('tsconfig.vectors.json', JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, exactOptionalPropertyTypes: false, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], module: 'NodeNext', moduleResolution: 'NodeNext' },
    files: [file],
  }));
  try {
    execFileSync(join(BIN, 'tsc'), ['-p', join(project.dir, 'tsconfig.vectors.json')], { cwd: project.dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc --strict rejects a vector against its declared type:\n${e.stdout}${e.stderr}`);
  }
});

test('the check can fail: an undeclared output field and a wrong type are rejected', () => {
  const quote = api.computeQuote({ currency: 'eur', lines: [{ price: { currency: 'eur', unit_amount: 100 } }] });
  const file = project.write('vectors/broken.ts', `import type * as B from 'billcalc';
export const extra: B.Quote = ${JSON.stringify({ ...quote, not_in_types: 1 })};
export const wrong: B.Quote = ${JSON.stringify({ ...quote, total: String(quote.total) })};
`);
  project.write('tsconfig.broken.json', JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], module: 'NodeNext', moduleResolution: 'NodeNext' },
    files: [file],
  }));
  let out = '';
  try {
    execFileSync(join(BIN, 'tsc'), ['-p', join(project.dir, 'tsconfig.broken.json')], { cwd: project.dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    out = e.stdout + e.stderr;
  }
  assert.match(out, /not_in_types/);
  assert.match(out, /Type 'string' is not assignable to type 'number'/);
});

// How consumers see the BUILT package (pkg/, packed and installed into a temporary project):
// the package.json `exports` map, CommonJS without require(esm), a Vite production build of a
// page that imports it, and a strict TypeScript check of code using its types.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BIN, PKG, PKG_DIR, ROOT, installPackage, readmeBlocks, runNodeBlock } from './support.mjs';

const project = installPackage();
after(() => project.remove());

describe('package layout', () => {
  test('every path in package.json exports/main/types/module is in the packed tarball', () => {
    const targets = [];
    const walk = (v) => (typeof v === 'string' ? targets.push(v) : Object.values(v).forEach(walk));
    walk(PKG.exports);
    targets.push(PKG.main, PKG.types, PKG.module);
    for (const target of targets) {
      assert.ok(project.files.includes(target.replace(/^\.\//, '')), `${target} is not in the tarball`);
    }
  });

  test('the tarball holds the builds, their snippets and nothing from the build machinery', () => {
    for (const dir of ['web', 'checkout', 'adapters', 'metrics', 'einvoice']) {
      for (const file of ['billcalc.js', 'billcalc.d.ts', 'billcalc_bg.wasm']) {
        assert.ok(project.files.includes(`${dir}/${file}`), `${dir}/${file}`);
      }
      assert.ok(project.files.some((f) => f.startsWith(`${dir}/snippets/`)), `${dir}/snippets/`);
    }
    // Node's entries are one file each: index.cjs carries the snippet and wasm-bindgen's glue
    // (scripts/build-pkg.sh; issue 12, cold start), so neither is shipped beside it.
    for (const dir of ['node', 'einvoice/node']) {
      for (const file of ['index.cjs', 'index.mjs', 'billcalc.d.ts', 'billcalc_bg.wasm']) {
        assert.ok(project.files.includes(`${dir}/${file}`), `${dir}/${file}`);
      }
      assert.ok(!project.files.some((f) => f === `${dir}/billcalc.js` || f.startsWith(`${dir}/snippets/`)), `${dir}: glue inlined`);
    }
    const unexpected = project.files.filter((f) => !/^(web|node|checkout|adapters|metrics|einvoice)\/|^(package\.json|README\.md)$/.test(f));
    assert.deepEqual(unexpected, []);
  });

  test('version matches Cargo.toml', () => {
    const meta = JSON.parse(
      execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1', '--manifest-path', join(ROOT, 'Cargo.toml')], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      }),
    );
    const version = meta.packages.find((p) => p.name === 'billcalc').version;
    assert.equal(PKG.version, version);
    assert.equal(project.require().version(), version);
  });
});

test('require works without require(esm) (as on Node < 20.19): the node build is pure CommonJS', (t) => {
  const flags = ['--no-experimental-require-module', '--no-experimental-detect-module'].filter((f) =>
    process.allowedNodeEnvironmentFlags.has(f),
  );
  if (flags.length === 0) return t.skip('this Node has no flag to turn require(esm) off');
  const script = `const b = require('billcalc'); const q = b.computeQuote({ currency: 'usd', lines: [{ price: { currency: 'usd', unit_amount: 5 }, quantity: 3 }] });
    let e; try { b.computeQuote({}); } catch (x) { e = x; }
    process.stdout.write(JSON.stringify([q.total, e instanceof b.BillcalcError, e.code]));`;
  const run = spawnSync(process.execPath, [...flags, '-e', script], { cwd: project.dir, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), [15, true, 'missing_field']);
  assert.equal(run.stderr, '', 'no warnings');
});

test('Vite builds a page that imports the package (web build, `await init()`)', async () => {
  const { build } = await import('vite');
  project.write('site/index.html', '<!doctype html><html><body><output id="total"></output><script type="module" src="./main.js"></script></body></html>\n');
  project.write(
    'site/main.js',
    `import init, { computeQuote, BillcalcError } from 'billcalc';
await init();
const quote = computeQuote({ currency: 'eur', lines: [{ price: { currency: 'eur', unit_amount: 1999 }, quantity: 2 }] });
document.getElementById('total').textContent = String(quote.total);
try { computeQuote({}); } catch (e) { if (!(e instanceof BillcalcError)) throw e; }
`,
  );
  const outDir = join(project.dir, 'site-dist');
  await build({
    root: join(project.dir, 'site'),
    configFile: false,
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true },
  });
  const assets = readdirSync(join(outDir, 'assets'));
  const wasm = assets.filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, `one .wasm asset, got ${assets.join(', ')}`);
  assert.ok(
    readFileSync(join(outDir, 'assets', wasm[0])).equals(readFileSync(join(PKG_DIR, 'web', 'billcalc_bg.wasm'))),
    'the emitted .wasm is the package one',
  );
  const js = assets.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(outDir, 'assets', f), 'utf8')).join('\n');
  assert.ok(js.includes(wasm[0]), 'the bundle refers to the emitted .wasm');
  assert.ok(js.includes('BillcalcError'), 'the bundle contains BillcalcError');
  assert.match(readFileSync(join(outDir, 'index.html'), 'utf8'), /<script type="module"[^>]*src="\/assets\/[^"]+\.js"/);
});

describe('TypeScript (tsc --noEmit --strict) sees precise types, no any', () => {
  // `Equal` is false when either side is `any`, so these lines fail if a type degrades to any.
  const checks = `
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): void {}
expectType<Equal<ReturnType<typeof computeQuote>, Quote>>();
expectType<Equal<Parameters<typeof computeQuote>[0], QuoteInput>>();
expectType<Equal<ReturnType<Calculator['quote']>, Quote>>();
expectType<Equal<Parameters<Calculator['quote']>[0], Cart>>();
expectType<Equal<ConstructorParameters<typeof Calculator>[0], Catalog>>();
expectType<Equal<BillcalcError['code'], ErrorCode>>();
expectType<Equal<BillcalcError['path'], string>>();
expectType<Equal<ReturnType<typeof version>, string>>();

function price(): Quote {
  const catalog: Catalog = { prices: [{ id: 'seat', currency: 'usd', unit_amount: 1200 }] };
  const calculator = new Calculator(catalog);
  const cart: Cart = { currency: 'usd', lines: [{ price: 'seat', quantity: 3 }] };
  const fromCatalog: Quote = calculator.quote(cart);
  calculator.free();
  const input: QuoteInput = {
    currency: 'usd',
    lines: [{ price: { currency: 'usd', billing_scheme: 'tiered', tiers_mode: 'graduated', tiers: [{ up_to: 10, unit_amount: 100 }, { up_to: 'inf', unit_amount: 80 }] }, quantity: 12 }],
  };
  const quote = computeQuote(input);
  const line: QuoteLine | undefined = quote.lines[0];
  const total: number = quote.total + fromCatalog.total + (line?.amount ?? 0);
  void total;
  // @ts-expect-error price must be a string id or a Price object
  computeQuote({ currency: 'usd', lines: [{ price: 42 }] });
  // @ts-expect-error currency is required
  computeQuote({ lines: [] });
  // @ts-expect-error Calculator.quote takes a Cart, which has no catalog
  new Calculator({}).quote({ currency: 'usd', lines: [], catalog: {} });
  return quote;
}

function describeError(e: unknown): string {
  if (e instanceof BillcalcError) {
    const code: ErrorCode = e.code;
    // @ts-expect-error codes are a closed union
    const wrong: ErrorCode = 'no_such_code';
    void wrong;
    return code + ' at ' + e.path + ': ' + e.message;
  }
  return String(e);
}
void describeError;
void price;

// The options are optional (issue 17: "Expected 2 arguments").
function woo(cart: WooCommerceCart): Cart {
  const plain: Cart = fromWooCommerceCart(cart);
  void plain;
  return fromWooCommerceCart(cart, { coupons: 'codes' });
}
void woo;
`;
  const imports = `import { computeQuote, Calculator, BillcalcError, version } from 'billcalc';
import type { Cart, Catalog, ErrorCode, Quote, QuoteInput, QuoteLine, WooCommerceCart } from 'billcalc';
`;
  const tsc = (tsconfig) => {
    const file = project.write(tsconfig.name, JSON.stringify(tsconfig.json, null, 2));
    try {
      execFileSync(join(BIN, 'tsc'), ['-p', file, '--noEmit', '--strict'], { cwd: project.dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      assert.fail(`tsc -p ${tsconfig.name} failed:\n${e.stdout}${e.stderr}`);
    }
  };
  const compilerOptions = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [] };

  test('bundler resolution (web build: default export init)', () => {
    // Browsers and bundlers get the adapters from their own entry point (issue 12), not 'billcalc'.
    const adapters = `import { fromWooCommerceCart } from 'billcalc/adapters';
// @ts-expect-error the browser build of 'billcalc' has no adapters
import { fromShopifyCart } from 'billcalc';
void fromShopifyCart;
import { revenueMetrics } from 'billcalc/metrics';
import type { RevenueMetricsInput, RevenueReport } from 'billcalc/metrics';
const report: (input: RevenueMetricsInput) => RevenueReport = revenueMetrics;
void report;
// @ts-expect-error the browser build of 'billcalc' has no revenueMetrics (billcalc/metrics has)
import { revenueMetrics as notInWeb } from 'billcalc';
void notInWeb;
`;
    project.write('ts/web.ts', `import init from 'billcalc';\n${imports}${adapters}\nawait init();\n${checks}\nexport {};\n`);
    tsc({ name: 'tsconfig.web.json', json: { compilerOptions: { ...compilerOptions, module: 'ESNext', moduleResolution: 'bundler' }, files: ['ts/web.ts'] } });
  });

  test('Node resolution: import (.mts) and require (.cts)', () => {
    const adapters = "import { fromWooCommerceCart } from 'billcalc';\n";
    project.write('ts/esm.mts', `import init from 'billcalc';\n${imports}${adapters}\nawait init();\n${checks}\n`);
    project.write('ts/cjs.cts', `${imports}${adapters}\n${checks}\n`);
    tsc({ name: 'tsconfig.node.json', json: { compilerOptions: { ...compilerOptions, module: 'NodeNext', moduleResolution: 'NodeNext' }, files: ['ts/esm.mts', 'ts/cjs.cts'] } });
  });
});

test('tsc: the widget and the messages have types (bundler resolution)', () => {
  project.write('ts/widget.ts', `import type { BillcalcSummary } from 'billcalc/summary';
import { messages, type Messages } from 'billcalc/messages';
const element: BillcalcSummary | null = document.querySelector('billcalc-summary');
if (element) element.cart = { currency: 'eur', lines: [{ price: 'price_lamp', quantity: 2 }] };
const total: number | undefined = element?.quote?.total;
const t: Messages = messages('fr-FR');
const sentence: string = t.error('unknown_price');
void total; void sentence;
export {};
`);
  const file = project.write('tsconfig.widget.json', JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], module: 'ESNext', moduleResolution: 'bundler' }, files: ['ts/widget.ts'] }));
  try {
    execFileSync(join(BIN, 'tsc'), ['-p', file], { cwd: project.dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
});

describe('entry points', () => {
  test('require("billcalc") and import("billcalc") have the same named exports, init included', async () => {
    const esm = await project.import();
    const cjs = project.require();
    const named = Object.keys(esm).filter((k) => k !== 'default').sort();
    assert.deepEqual(named, Object.keys(cjs).sort());
    assert.ok(named.includes('init'));
    assert.equal(typeof cjs.init, 'function');
    assert.equal(esm.init, cjs.init);
    assert.equal(esm.default, esm.init);
    assert.equal(await cjs.init(), undefined);
  });

  test('import "billcalc/checkout" and "billcalc/web" work in Node: init() reads the .wasm from the package', async () => {
    for (const entry of ['billcalc/checkout', 'billcalc/web']) {
      const script = `import init, * as b from '${entry}';
await init();
const q = b.computeQuote({ currency: 'eur', lines: [{ price: { currency: 'eur', unit_amount: 1999 }, quantity: 2 }] });
process.stdout.write(JSON.stringify([q.total, typeof b.init, typeof b.previewInvoice]));`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project.dir, encoding: 'utf8' });
      assert.equal(run.status, 0, `${entry}: ${run.stderr}`);
      assert.deepEqual(JSON.parse(run.stdout), [3998, 'function', entry === 'billcalc/web' ? 'function' : 'undefined']);
    }
  });

  test('import "billcalc/adapters" works in Node (init() reads its own .wasm) and gives what require("billcalc") gives', async () => {
    const script = `import init, * as a from 'billcalc/adapters';
import { createRequire } from 'node:module';
await init();
const b = createRequire(process.cwd() + '/')('billcalc');
const shopify = { currency: 'JPY', items: [{ variant_id: 7, quantity: 3, original_price: 150000, title: 'Tea' }] };
const cart = a.fromShopifyCart(shopify);
let e; try { a.fromShopifyCart({}); } catch (x) { e = x; }
process.stdout.write(JSON.stringify([cart, JSON.stringify(b.fromShopifyCart(shopify)) === JSON.stringify(cart),
  typeof a.computeQuote, typeof a.Calculator, e instanceof a.BillcalcError, e.code, e.path]));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project.dir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const [cart, same, computeQuote, calculator, isError, code, path] = JSON.parse(run.stdout);
    // Shopify's ×100 JPY subunits (150000 = ¥1,500) back to ISO minor units (JPY has none).
    assert.equal(cart.currency, 'jpy');
    assert.equal(cart.lines[0].price.unit_amount, 1500);
    assert.equal(cart.lines[0].quantity, 3);
    assert.equal(same, true, 'billcalc/adapters and require("billcalc") give the same cart');
    // The adapters build has no pricing engine: quotes come from billcalc or billcalc/checkout.
    assert.deepEqual([computeQuote, calculator], ['undefined', 'undefined']);
    assert.deepEqual([isError, code, path], [true, 'missing_field', 'currency']);
  });

  test('require of a browser build and import of the widget in Node fail with a sentence that says what to use', () => {
    for (const [script, expected] of [
      ["require('billcalc/checkout')", /ES module for browsers\. In Node, require\('billcalc'\)/],
      ["require('billcalc/web')", /ES module for browsers/],
      ["require('billcalc/adapters')", /ES module for browsers\. In Node, require\('billcalc'\) gives the adapters/],
      ["import('billcalc/summary').catch((e) => { console.error(e.message); process.exit(3); })", /<billcalc-summary> custom element and runs in a browser only/],
    ]) {
      const run = spawnSync(process.execPath, ['-e', script], { cwd: project.dir, encoding: 'utf8' });
      assert.notEqual(run.status, 0, script);
      assert.match(run.stderr, expected, script);
      assert.doesNotMatch(run.stderr, /fetch failed|HTMLElement is not defined/);
    }
  });
});

describe('the package README (what npm shows)', () => {
  const readme = readFileSync(join(PKG_DIR, 'README.md'), 'utf8');

  test('covers every entry point, the widget, the adapters and subscriptions', () => {
    for (const subpath of Object.keys(PKG.exports)) {
      if (/\.(wasm|json)$/.test(subpath)) continue;
      const name = subpath === '.' ? 'billcalc' : `billcalc${subpath.slice(1)}`;
      assert.ok(readme.includes(`\`${name}\``), `README names ${name}`);
    }
    for (const word of ['<billcalc-summary>', 'publishable-key', 'fromShopifyCart', 'toShopifyAmounts', 'fromWooCommerceCart',
      'previewInvoice', 'billingDates', 'dunningSchedule', 'creditNote', 'BillcalcError', 'init()']) {
      assert.ok(readme.includes(word), `README mentions ${word}`);
    }
    assert.doesNotMatch(readme, /\.\/pkg\//, 'no path internal to the billcalc repository');
  });

  test('every Node snippet runs and prints what its comments say', () => {
    const blocks = readmeBlocks(readme, 'js node');
    assert.ok(blocks.length >= 4, `found ${blocks.length} Node snippets`);
    blocks.forEach((block, i) => runNodeBlock(project, `readme-${i}`, block));
  });
});

test('tsc and vite are installed', () => {
  assert.ok(existsSync(join(BIN, 'tsc')) && existsSync(join(BIN, 'vite')));
});

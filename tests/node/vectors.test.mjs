// Runs every golden vector in tests/vectors/*.json against the BUILT npm package (pkg/, packed and
// installed into a temporary project), exactly as tests/vectors.rs does natively: `output` is the
// result without `version` (which must equal the package version), `error` is `{code, path}`.
// Both Node entry points are exercised (they must be one module instance) and the web build; each
// instance runs every vector in turn, so an error thrown by one vector must never break a later one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PKG, installPackage, loadVectors } from './support.mjs';

const vectors = loadVectors();
const project = installPackage();
after(() => project.remove());

const esm = await project.import();
const cjs = project.require();
// The browser build (`billcalc/web`) runs in Node too when init() is given the bytes; run the
// vectors through it as well, so the JS wasm-bindgen emits for the web target is covered here.
const web = await project.import('billcalc/web');
await web.default({ module_or_path: readFileSync(join(project.dir, 'node_modules/billcalc/web/billcalc_bg.wasm')) });
// The checkout build (`billcalc/checkout`, no subscription API) runs every other vector.
const checkout = await project.import('billcalc/checkout');
await checkout.default({ module_or_path: readFileSync(join(project.dir, 'node_modules/billcalc/checkout/billcalc_bg.wasm')) });
// The adapters build (`billcalc/adapters`) runs the adapter vectors; the browser's quote builds
// (`billcalc/web`, `billcalc/checkout`) leave the adapters out (issue 12), Node's `billcalc` has all.
const adapters = await project.import('billcalc/adapters');
await adapters.default({ module_or_path: readFileSync(join(project.dir, 'node_modules/billcalc/adapters/billcalc_bg.wasm')) });
// The metrics build (`billcalc/metrics`) runs the revenueMetrics vectors; the browser's `billcalc`
// (`billcalc/web`) leaves revenueMetrics out (issue 12), Node's `billcalc` has it.
const metrics = await project.import('billcalc/metrics');
await metrics.default({ module_or_path: readFileSync(join(project.dir, 'node_modules/billcalc/metrics/billcalc_bg.wasm')) });
const ADAPTER_CALLS = ['fromShopifyCart', 'toShopifyAmounts', 'fromWooCommerceCart'];
const METRICS_CALLS = ['revenueMetrics'];
const SUBSCRIPTION_CALLS = ['previewInvoice', 'billingDates', 'dunningSchedule', 'creditNote', 'Calculator.previewInvoice', 'Calculator.billingDates'];

/** A quote line's fields in the order of src/quote_json.rs (`write_line`), i.e. serde's. */
const LINE_KEYS = ['price', 'product', 'quantity', 'amount', 'discount_amounts', 'amount_excluding_tax', 'tax_category', 'taxes', 'description', 'metadata'];

/** Calls the API the way tests/vectors.rs does; returns the result (quotes without `version`), or null for `new Calculator`. */
function run(api, vector) {
  switch (vector.call) {
    case 'computeQuote':
      return withoutVersion(api.computeQuote(vector.input));
    case 'Calculator.quote': {
      const calculator = new api.Calculator(vector.catalog);
      try {
        return withoutVersion(calculator.quote(vector.input));
      } finally {
        calculator.free();
      }
    }
    case 'new Calculator':
      new api.Calculator(vector.catalog).free();
      return null;
    case 'previewInvoice':
      return withoutVersion(api.previewInvoice(vector.input));
    case 'billingDates':
      return withoutVersion(api.billingDates(vector.input));
    case 'dunningSchedule':
      return withoutVersion(api.dunningSchedule(vector.input));
    case 'creditNote':
      return withoutVersion(api.creditNote(vector.input));
    case 'revenueMetrics':
      return withoutVersion(api.revenueMetrics(vector.input));
    case 'Calculator.previewInvoice':
    case 'Calculator.billingDates': {
      const calculator = new api.Calculator(vector.catalog);
      try {
        return withoutVersion(
          vector.call === 'Calculator.previewInvoice'
            ? calculator.previewInvoice(vector.input)
            : calculator.billingDates(vector.input),
        );
      } finally {
        calculator.free();
      }
    }
    case 'fromShopifyCart':
      return api.fromShopifyCart(vector.input);
    case 'toShopifyAmounts':
      return api.toShopifyAmounts(vector.input);
    case 'fromWooCommerceCart':
      return api.fromWooCommerceCart(vector.input, vector.options);
    default:
      throw new Error(`unknown call ${JSON.stringify(vector.call)}`);
  }
}

function withoutVersion(quote) {
  assert.equal(quote.version, PKG.version, 'result.version must equal the package version');
  const { version, ...rest } = quote;
  return rest;
}

test('at least 40 vectors', () => {
  assert.ok(vectors.length >= 40, `found ${vectors.length}`);
});

test('import and require resolve to the same module instance', () => {
  for (const name of ['computeQuote', 'previewInvoice', 'billingDates', 'dunningSchedule', 'creditNote', 'Calculator', 'version', 'BillcalcError']) {
    assert.equal(typeof esm[name], 'function', `import: ${name}`);
    assert.equal(esm[name], cjs[name], `${name} differs between import and require`);
  }
  assert.equal(typeof esm.default, 'function', 'import: default init() for code shared with the browser');
  assert.equal(esm.version(), PKG.version);
});

test('import exports exactly what require does, for billcalc and billcalc/einvoice', async () => {
  // node/index.mjs lists index.cjs's names (written by build-pkg.sh) rather than re-exporting the
  // CommonJS files: a name missing from that list would be missing for every `import` user.
  for (const entry of ['billcalc', 'billcalc/einvoice']) {
    const m = await project.import(entry);
    const r = project.require(entry);
    assert.deepEqual(Object.keys(m).filter((n) => n !== 'default').sort(), Object.keys(r).sort(), entry);
    for (const name of Object.keys(r)) assert.equal(m[name], r[name], `${entry}: ${name}`);
    assert.equal(m.default, r.init, `${entry}: default export is init`);
  }
});

test('the checkout build leaves out the subscription API and the adapters, and nothing else', () => {
  for (const name of ['previewInvoice', 'billingDates', 'dunningSchedule', 'creditNote']) {
    assert.equal(typeof web[name], 'function', `billcalc/web has ${name}`);
    assert.equal(checkout[name], undefined, `billcalc/checkout has no ${name}`);
  }
  assert.equal(checkout.Calculator.prototype.previewInvoice, undefined);
  for (const name of ['computeQuote', 'Calculator', 'decimalAmount', 'version', 'BillcalcError']) {
    assert.equal(typeof checkout[name], 'function', `billcalc/checkout has ${name}`);
  }
  for (const name of ADAPTER_CALLS) {
    assert.equal(typeof esm[name], 'function', `billcalc (Node) has ${name}`);
    assert.equal(typeof adapters[name], 'function', `billcalc/adapters has ${name}`);
    assert.equal(web[name], undefined, `billcalc/web has no ${name} (billcalc/adapters has)`);
    assert.equal(checkout[name], undefined, `billcalc/checkout has no ${name} (billcalc/adapters has)`);
  }
  for (const name of ['computeQuote', 'Calculator', 'decimalAmount', 'previewInvoice']) {
    assert.equal(adapters[name], undefined, `billcalc/adapters has no ${name}`);
  }
  assert.equal(adapters.version(), PKG.version);
});

test('revenueMetrics is in Node\'s billcalc and in billcalc/metrics, not in the browser builds', () => {
  assert.equal(typeof esm.revenueMetrics, 'function', 'billcalc (Node) has revenueMetrics');
  assert.equal(esm.revenueMetrics, cjs.revenueMetrics);
  assert.equal(typeof metrics.revenueMetrics, 'function', 'billcalc/metrics has revenueMetrics');
  assert.equal(web.revenueMetrics, undefined, 'billcalc/web has no revenueMetrics (billcalc/metrics has)');
  assert.equal(checkout.revenueMetrics, undefined, 'billcalc/checkout has no revenueMetrics');
  for (const name of ['computeQuote', 'Calculator', 'decimalAmount', 'previewInvoice', 'fromShopifyCart']) {
    assert.equal(metrics[name], undefined, `billcalc/metrics has no ${name}`);
  }
  assert.equal(metrics.version(), PKG.version);
});

for (const [entry, api] of [['import', esm], ['require', cjs], ['billcalc/web', web], ['billcalc/checkout', checkout], ['billcalc/adapters', adapters], ['billcalc/metrics', metrics]]) {
  describe(`vectors via ${entry}`, () => {
    for (const vector of vectors) {
      if (api === checkout && SUBSCRIPTION_CALLS.includes(vector.call)) continue;
      if ((api === web || api === checkout) && (ADAPTER_CALLS.includes(vector.call) || METRICS_CALLS.includes(vector.call))) continue;
      if (api === adapters && !ADAPTER_CALLS.includes(vector.call)) continue;
      if (api === metrics && !METRICS_CALLS.includes(vector.call)) continue;
      test(`${vector.file}::${vector.name}`, () => {
        if ('error' in vector) {
          let thrown;
          assert.throws(
            () => run(api, vector),
            (e) => {
              thrown = e;
              return true;
            },
          );
          assert.ok(thrown instanceof Error, 'thrown value is an Error');
          assert.equal(thrown.name, 'BillcalcError');
          assert.ok(thrown instanceof api.BillcalcError, 'thrown value is the exported BillcalcError');
          assert.equal(typeof thrown.message, 'string');
          assert.deepEqual({ code: thrown.code, path: thrown.path }, vector.error);
        } else {
          const got = run(api, vector);
          // tests/vectors.rs does not compare the output of `new Calculator` (it has none).
          if (vector.call !== 'new Calculator') assert.deepStrictEqual(got, vector.output);
          // A quote's lines are rebuilt by the package's glue from a flat transfer form: the
          // fields come in the native output's order (deepStrictEqual ignores the order).
          if (vector.call === 'computeQuote' || vector.call === 'Calculator.quote') {
            for (const line of got.lines) assert.deepEqual(Object.keys(line), LINE_KEYS.filter((k) => k in line));
          }
        }
      });
    }
  });
}

describe('values that are not JSON throw BillcalcError, and the instance keeps working', () => {
  const valid = { currency: 'usd', lines: [{ price: { currency: 'usd', unit_amount: 250 }, quantity: 2 }] };
  const catalog = { prices: [{ id: 'p', currency: 'usd', unit_amount: 100 }] };
  const cases = [
    ['undefined', undefined],
    ['a BigInt', 10n],
    ['a BigInt inside the input', { ...valid, lines: [{ ...valid.lines[0], quantity: 2n }] }],
    ['a function', () => valid],
    ['a Symbol', Symbol('cart')],
    ['a cyclic object', (() => { const o = { ...valid }; o.self = o; return o; })()],
    ['an object whose toJSON throws', { toJSON() { throw new Error('boom'); } }],
  ];
  const assertBillcalcError = (fn) =>
    assert.throws(fn, (e) => e instanceof esm.BillcalcError && e instanceof Error && e.name === 'BillcalcError' && typeof e.code === 'string');

  for (const [label, value] of cases) {
    test(`computeQuote(${label})`, () => {
      assertBillcalcError(() => esm.computeQuote(value));
      assert.equal(esm.computeQuote(valid).total, 500);
    });
    test(`new Calculator(${label}) and calculator.quote(${label})`, () => {
      assertBillcalcError(() => new esm.Calculator(value));
      const calculator = new esm.Calculator(catalog);
      assertBillcalcError(() => calculator.quote(value));
      assert.equal(calculator.quote({ currency: 'usd', lines: [{ price: 'p', quantity: 3 }] }).total, 300);
      calculator.free();
    });
  }

  test('computeQuote(undefined) reports invalid_type at the root', () => {
    assert.throws(() => cjs.computeQuote(undefined), { name: 'BillcalcError', code: 'invalid_type', path: '' });
    assert.equal(cjs.computeQuote(valid).total, 500);
  });
});

// The JavaScript boundary of the BUILT package (issue 11 findings 2-4): every export, called with
// every wrong argument kind, throws a BillcalcError and never traps the instance; values that
// JSON.stringify would silently turn into null or drop (NaN, ±Infinity, undefined in an array,
// functions, symbols, BigInt, Map/Set, cycles) are `invalid_type` at their path; a freed
// Calculator throws `calculator_freed`. Runs against the Node entries (import and require, one
// instance), the web build, the checkout build, the adapters build and the metrics build.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { installPackage } from './support.mjs';

const project = installPackage();
after(() => project.remove());

const esm = await project.import();
const cjs = project.require();
const web = await project.import('billcalc/web');
await web.default({ module_or_path: readFileSync(join(project.dir, 'node_modules/billcalc/web/billcalc_bg.wasm')) });
const checkout = await project.import('billcalc/checkout');
await checkout.default({ module_or_path: readFileSync(join(project.dir, 'node_modules/billcalc/checkout/billcalc_bg.wasm')) });
const adapters = await project.import('billcalc/adapters');
await adapters.default({ module_or_path: readFileSync(join(project.dir, 'node_modules/billcalc/adapters/billcalc_bg.wasm')) });
const metrics = await project.import('billcalc/metrics');
await metrics.default({ module_or_path: readFileSync(join(project.dir, 'node_modules/billcalc/metrics/billcalc_bg.wasm')) });

const CART = { currency: 'eur', lines: [{ price: { currency: 'eur', unit_amount: 1000 }, quantity: 2 }] };
const CATALOG = { prices: [{ id: 'seat', currency: 'eur', unit_amount: 1200, recurring: { interval: 'month' } }] };
const SUBSCRIPTION = {
  as_of: '2024-04-10T09:00:00Z',
  subscription: { billing_cycle_anchor: '2024-01-01', currency: 'eur', items: [{ id: 'si_1', price: 'seat' }] },
};
const METRICS = JSON.parse(readFileSync(new URL('../vectors/metrics.json', import.meta.url), 'utf8')).vectors.find((v) => v.call === 'revenueMetrics' && v.output).input;
const SHOPIFY = JSON.parse(readFileSync(new URL('../fixtures/shopify/cart-usd.json', import.meta.url), 'utf8'));
const WOO = JSON.parse(readFileSync(new URL('../fixtures/woocommerce/cart-eur.json', import.meta.url), 'utf8'));

// Every export of the package: the argument kinds it takes ('object', 'integer', 'string', or
// 'object?' for an optional object), valid arguments and the Cargo feature that exports it
// (`quotes` when not said). A new export must be added here (the first test fails otherwise), so
// no export escapes the table.
const FUNCTIONS = {
  computeQuote: { kinds: ['object'], args: () => [CART] },
  previewInvoice: { kinds: ['object'], args: () => [{ ...SUBSCRIPTION, catalog: CATALOG }], feature: 'subscriptions' },
  billingDates: { kinds: ['object'], args: () => [{ ...SUBSCRIPTION, catalog: CATALOG, count: 2 }], feature: 'subscriptions' },
  dunningSchedule: { kinds: ['object'], args: () => [{ failed_at: '2024-04-01', tries: 3, within_days: 7 }], feature: 'subscriptions' },
  creditNote: {
    kinds: ['object'],
    args: () => [{ currency: 'eur', invoice: { amount_paid: 1190, lines: [{ amount_excluding_tax: 1000, taxes: [{ rate: 'VAT 19%', amount: 190 }] }] } }],
    feature: 'subscriptions',
  },
  fromShopifyCart: { kinds: ['object'], args: () => [SHOPIFY], feature: 'adapters' },
  toShopifyAmounts: { kinds: ['object'], args: () => [esm.computeQuote(CART)], feature: 'adapters' },
  fromWooCommerceCart: { kinds: ['object', 'object?'], args: () => [WOO, { coupons: 'amounts' }], feature: 'adapters' },
  decimalAmount: { kinds: ['integer', 'string'], args: () => [123456, 'eur'] },
  revenueMetrics: { kinds: ['object'], args: () => [METRICS], feature: 'metrics' },
  version: { kinds: [], args: () => [], feature: 'always' },
};
const METHODS = {
  quote: { kinds: ['object'], args: () => [{ currency: 'eur', lines: [{ price: 'seat', quantity: 2 }] }] },
  previewInvoice: { kinds: ['object'], args: () => [SUBSCRIPTION], feature: 'subscriptions' },
  billingDates: { kinds: ['object'], args: () => [{ ...SUBSCRIPTION, count: 2 }], feature: 'subscriptions' },
};
const NOT_FUNCTIONS = new Set(['BillcalcError', 'Calculator', 'default', 'init', 'initSync']);

const MISSING = Symbol('missing');
// Each wrong kind, and the kinds of argument for which it is NOT wrong.
const WRONG = [
  ['number', 5, ['integer']],
  ['fraction', 1.5, []],
  ['string', 'x', ['string']],
  ['object', {}, ['object', 'object?']],
  ['array', [], []],
  ['null', null, ['object?']],
  ['undefined', undefined, ['object?']],
  ['boolean', true, []],
  ['missing', MISSING, ['object?']],
  ['NaN', NaN, []],
  ['Infinity', Infinity, []],
  ['BigInt', 12n, []],
  ['function', () => 1, []],
  ['symbol', Symbol('s'), []],
  ['Map', new Map([['currency', 'eur']]), []],
];

function callWith(fn, self, valid, position, value) {
  const args = valid.slice();
  if (value === MISSING) args.length = position;
  else args[position] = value;
  return fn.apply(self, args);
}

function expectBillcalcError(api, thunk, label) {
  let thrown;
  try {
    thunk();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, `${label}: did not throw`);
  assert.ok(thrown instanceof api.BillcalcError, `${label}: threw ${thrown?.name}: ${thrown?.message}`);
  assert.equal(typeof thrown.code, 'string', label);
  assert.equal(typeof thrown.path, 'string', label);
  return thrown;
}

/** The instance still works (a trap would leave it unusable). */
function stillWorks(api) {
  if (api.computeQuote) assert.equal(api.computeQuote(CART).total, 2000);
  else if (api.revenueMetrics) assert.equal(api.revenueMetrics(METRICS).currency, METRICS.currency);
  else assert.equal(api.fromShopifyCart(SHOPIFY).currency, 'usd');
}

// Each build and the Cargo features it is built with (scripts/build-pkg.sh).
const builds = [
  ['node import', esm, ['quotes', 'subscriptions', 'adapters', 'metrics']],
  ['node require', cjs, ['quotes', 'subscriptions', 'adapters', 'metrics']],
  ['web', web, ['quotes', 'subscriptions']],
  ['checkout', checkout, ['quotes']],
  ['adapters', adapters, ['adapters']],
  ['metrics', metrics, ['metrics']],
];
const has = (features, spec) => (spec.feature ?? 'quotes') === 'always' || features.includes(spec.feature ?? 'quotes');

for (const [label, api, features] of builds) {
  const quotes = features.includes('quotes');
  describe(`${label}: every export rejects every wrong argument kind with a BillcalcError`, () => {
    test('the table lists every export', () => {
      const exported = Object.keys(api).filter((k) => !NOT_FUNCTIONS.has(k)).sort();
      const listed = Object.keys(FUNCTIONS).filter((k) => has(features, FUNCTIONS[k])).sort();
      assert.deepEqual(exported, listed, 'add the new export to FUNCTIONS in tests/node/boundary.test.mjs');
      assert.equal(typeof api.BillcalcError, 'function');
      if (!quotes) {
        assert.equal(api.Calculator, undefined);
        return;
      }
      const methods = Object.getOwnPropertyNames(api.Calculator.prototype)
        .filter((k) => !['constructor', 'free'].includes(k) && !k.startsWith('__') && typeof api.Calculator.prototype[k] === 'function')
        .sort();
      const listedMethods = Object.keys(METHODS).filter((k) => has(features, METHODS[k])).sort();
      assert.deepEqual(methods, listedMethods, 'add the new Calculator method to METHODS');
    });

    for (const [name, spec] of Object.entries(FUNCTIONS)) {
      if (!has(features, spec)) continue;
      test(name, () => {
        const valid = spec.args(api);
        api[name](...valid); // the valid call works
        spec.kinds.forEach((kind, position) => {
          for (const [wrong, value, rightFor] of WRONG) {
            if (rightFor.includes(kind)) continue;
            expectBillcalcError(api, () => callWith(api[name], undefined, valid, position, value), `${name} argument ${position} ${wrong}`);
          }
        });
        stillWorks(api);
      });
    }

    if (!quotes) return;
    test('new Calculator(wrong kind)', () => {
      for (const [wrong, value, rightFor] of WRONG) {
        if (rightFor.includes('object')) continue;
        expectBillcalcError(api, () => (value === MISSING ? new api.Calculator() : new api.Calculator(value)), `new Calculator(${wrong})`);
      }
      stillWorks(api);
    });

    for (const [name, spec] of Object.entries(METHODS)) {
      if (!has(features, spec)) continue;
      test(`Calculator.${name}`, () => {
        const calculator = new api.Calculator(CATALOG);
        const valid = spec.args(api);
        calculator[name](...valid);
        spec.kinds.forEach((kind, position) => {
          for (const [wrong, value, rightFor] of WRONG) {
            if (rightFor.includes(kind)) continue;
            expectBillcalcError(api, () => callWith(calculator[name], calculator, valid, position, value), `${name} argument ${position} ${wrong}`);
          }
        });
        // Called on something that is not a Calculator.
        expectBillcalcError(api, () => api.Calculator.prototype[name].call({}, ...valid), `${name} on a plain object`);
        // Finding 4: after free(), a BillcalcError with its own code (was a plain Error).
        calculator.free();
        const e = expectBillcalcError(api, () => calculator[name](...valid), `${name} after free()`);
        assert.equal(e.code, 'calculator_freed');
        calculator.free(); // twice: nothing happens
        stillWorks(api);
      });
    }
  });

  if (!quotes) continue;
  describe(`${label}: values JSON cannot carry are invalid_type at their path`, () => {
    const quote = (cart) => api.computeQuote(cart);
    const line = (extra) => ({ price: { currency: 'eur', unit_amount: 1000 }, ...extra });
    const cases = [
      // Finding 2: NaN was read as absent (quantity 1, no cap, percent_off beside amount_off).
      ['quantity NaN', { currency: 'eur', lines: [line({ quantity: NaN })] }, 'lines[0].quantity'],
      ['quantity Infinity', { currency: 'eur', lines: [line({ quantity: Infinity })] }, 'lines[0].quantity'],
      ['quantity -Infinity', { currency: 'eur', lines: [line({ quantity: -Infinity })] }, 'lines[0].quantity'],
      [
        'max_discount_amount NaN',
        { currency: 'eur', lines: [line()], discounts: [{ coupon: { percent_off: 50, max_discount_amount: NaN, currency: 'eur' } }] },
        'discounts[0].coupon.max_discount_amount',
      ],
      [
        'percent_off NaN beside amount_off',
        { currency: 'eur', lines: [line()], discounts: [{ coupon: { amount_off: 100, currency: 'eur', percent_off: NaN } }] },
        'discounts[0].coupon.percent_off',
      ],
      ['undefined in an array', { currency: 'eur', lines: [line(), undefined] }, 'lines[1]'],
      // eslint-disable-next-line no-sparse-arrays
      ['a hole in an array', { currency: 'eur', lines: [line(), , line()] }, 'lines[1]'],
      ['a function', { currency: 'eur', lines: [line({ description: () => 'x' })] }, 'lines[0].description'],
      ['a symbol', { currency: 'eur', lines: [line({ description: Symbol('x') })] }, 'lines[0].description'],
      ['a BigInt', { currency: 'eur', lines: [line({ quantity: 2n })] }, 'lines[0].quantity'],
      ['a Map', { currency: 'eur', lines: [line({ metadata: new Map([['a', 'b']]) })] }, 'lines[0].metadata'],
      ['a Set', { currency: 'eur', lines: new Set([line()]) }, 'lines'],
      ['NaN at the top', NaN, ''],
    ];
    for (const [name, input, path] of cases) {
      test(name, () => {
        const e = expectBillcalcError(api, () => quote(input), name);
        assert.deepEqual([e.code, e.path], ['invalid_type', path], `${name}: ${e.message}`);
      });
    }
    test('a cycle', () => {
      const cart = { currency: 'eur', lines: [line()] };
      cart.lines[0].metadata = cart;
      const e = expectBillcalcError(api, () => quote(cart), 'cycle');
      assert.deepEqual([e.code, e.path], ['invalid_type', 'lines[0].metadata']);
    });
    // toJsonText checks a plain tree without building paths first (issue 12, Node speed) and
    // hands everything else to the walk that names the path: these are the cases where the two
    // could disagree.
    test('what the fast check hands to the full walk gives the same answers', () => {
      const tagged = { currency: 'eur', lines: [line({ metadata: { [Symbol.toStringTag]: 'Tagged', a: 'b' } })] };
      const t = expectBillcalcError(api, () => quote(tagged), 'own Symbol.toStringTag');
      assert.deepEqual([t.code, t.path], ['invalid_type', 'lines[0].metadata']);
      const throwing = { currency: 'eur', lines: [line()] };
      Object.defineProperty(throwing, 'metadata', { enumerable: true, get() { throw new Error('no'); } });
      const g = expectBillcalcError(api, () => quote(throwing), 'throwing getter');
      assert.deepEqual([g.code, g.path], ['invalid_type', '']);
      // Accepted as before: a class instance, a null-prototype object, an array read through its
      // toJSON, and an enumerable property inherited from a polluted Object.prototype (neither
      // Object.keys nor JSON.stringify sees it).
      class Line {
        constructor() {
          this.price = { currency: 'eur', unit_amount: 1000 };
          this.quantity = 2;
        }
      }
      assert.equal(quote({ currency: 'eur', lines: [new Line()] }).total, 2000);
      const bare = Object.assign(Object.create(null), line({ quantity: 3 }));
      assert.equal(quote({ currency: 'eur', lines: [bare] }).total, 3000);
      const lines = [NaN];
      lines.toJSON = () => [line({ quantity: 4 })];
      assert.equal(quote({ currency: 'eur', lines }).total, 4000);
      Object.prototype.billcalcPolluted = NaN; // eslint-disable-line no-extend-native
      try {
        assert.equal(quote({ currency: 'eur', lines: [line({ quantity: 5 })] }).total, 5000);
      } finally {
        delete Object.prototype.billcalcPolluted;
      }
      stillWorks(api);
    });
    test('a property set to undefined is absent (JS convention), a Date is its ISO text', () => {
      assert.equal(quote({ currency: 'eur', lines: [line({ quantity: undefined })], discounts: undefined }).total, 1000);
      const dated = quote({ currency: 'eur', as_of: new Date('2026-01-15T00:00:00Z'), lines: [line()] });
      assert.equal(dated.total, 1000);
    });
    test('decimalAmount: finding 3 (traps) and non-finite amounts', () => {
      for (const [args, code, path] of [
        [[1, 5], 'invalid_type', 'currency'],
        [[1, {}], 'invalid_type', 'currency'],
        [[1, true], 'invalid_type', 'currency'],
        [[1, null], 'invalid_type', 'currency'],
        [[1.5, 'eur'], 'invalid_amount', 'amount'],
        [[NaN, 'eur'], 'invalid_type', 'amount'],
        [[Infinity, 'eur'], 'invalid_type', 'amount'],
        [[5n, 'eur'], 'invalid_type', 'amount'],
      ]) {
        const e = expectBillcalcError(api, () => api.decimalAmount(...args), `decimalAmount(${String(args[0])}, ${typeof args[1]})`);
        assert.deepEqual([e.code, e.path], [code, path]);
      }
      assert.equal(api.decimalAmount(123456, 'eur'), '1234.56');
      stillWorks(api);
    });
    test('errors echo a bounded amount of input (finding 6)', () => {
      const key = 'k'.repeat(1_000_000);
      const e = expectBillcalcError(api, () => quote({ currency: 'eur', lines: [line({ [key]: 1 })] }), 'long key');
      assert.equal(e.code, 'unknown_field');
      assert.ok(e.path.length <= 256 && e.message.length <= 512, `path ${e.path.length}, message ${e.message.length}`);
      const deep = {};
      let at = deep;
      for (let i = 0; i < 1000; i++) at = at.x = {};
      const d = expectBillcalcError(api, () => quote({ currency: 'eur', lines: [], metadata: deep }), 'deep');
      assert.equal(d.code, 'invalid_type');
      assert.ok(d.path.length <= 256);
      const n = expectBillcalcError(api, () => quote({ currency: 'eur', lines: [line({ [key]: NaN })] }), 'long key NaN');
      assert.ok(n.path.length <= 256);
    });
  });
}

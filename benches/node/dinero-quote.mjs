// The same checkout quote written by hand the careful way, as a shop developer would without
// billcalc: dinero.js (integer minor units), a percent order coupon rounded half up and split over
// the lines by the largest-remainder method (ties to the earlier line), then an exclusive tax rate
// per line on the discounted amount, rounded half up. Same output fields as billcalc's quote for
// what it computes, so the benchmark compares like with like and checks identical totals.
import { dinero, add, subtract, multiply, transformScale, halfUp, toSnapshot, EUR } from 'dinero.js';

const CURRENCIES = { eur: EUR };
const minor = (d) => toSnapshot(d).amount;

/** A percentage (up to 4 decimals) of an amount, rounded half up to the currency's scale. */
function percentOf(amount, percent) {
  const scaled = Math.round(percent * 10000); // 20 → 200000, 12.5 → 125000 (scale 6 = % and 4 decimals)
  return transformScale(multiply(amount, { amount: scaled, scale: 6 }), amount.toJSON().scale, halfUp);
}

/** Largest-remainder split of `total` (≥ 0) minor units over non-negative integer weights. */
function largestRemainder(total, weights) {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map((_, i) => (i === 0 ? total : 0));
  const parts = new Array(weights.length);
  const rest = new Array(weights.length);
  let given = 0;
  for (let i = 0; i < weights.length; i++) {
    // total × w stays below 2^53 for carts of this size; BigInt otherwise.
    const product = total * weights[i];
    parts[i] = Math.floor(product / sum);
    rest[i] = product - parts[i] * sum;
    given += parts[i];
  }
  const order = weights.map((_, i) => i).sort((a, b) => rest[b] - rest[a] || a - b);
  for (let k = 0; k < total - given; k++) parts[order[k]] += 1;
  return parts;
}

export function makeDineroCalculator(catalog) {
  const prices = new Map(catalog.prices.map((p) => [p.id, p]));
  const coupons = new Map((catalog.coupons ?? []).map((c) => [c.id, c]));
  const rates = new Map((catalog.tax?.rates ?? []).map((r) => [r.id, r]));
  return function quote(cart) {
    const currency = CURRENCIES[cart.currency];
    const money = (amount) => dinero({ amount, currency });
    const rate = rates.get(cart.default_tax_rates[0]);
    const lines = cart.lines.map((l) => {
      const price = prices.get(l.price);
      const quantity = l.quantity ?? 1;
      return { price: price.id, product: price.product, quantity, amount: multiply(money(price.unit_amount), quantity) };
    });
    const subtotal = lines.reduce((sum, l) => add(sum, l.amount), money(0));
    const discounts = [];
    let split = lines.map(() => 0);
    for (const d of cart.discounts ?? []) {
      const coupon = coupons.get(d.coupon);
      const off = minor(percentOf(subtotal, coupon.percent_off));
      split = largestRemainder(off, lines.map((l) => minor(l.amount)));
      discounts.push({ id: coupon.id, amount: off });
    }
    let totalExcl = money(0);
    let totalTax = money(0);
    const out = lines.map((l, i) => {
      const net = subtract(l.amount, money(split[i]));
      const tax = percentOf(net, rate.percentage);
      totalExcl = add(totalExcl, net);
      totalTax = add(totalTax, tax);
      const netMinor = minor(net);
      return {
        price: l.price,
        product: l.product,
        quantity: l.quantity,
        amount: minor(l.amount),
        discount_amounts: discounts.map((d) => ({ discount: d.id, amount: split[i] })),
        amount_excluding_tax: netMinor,
        taxes: [{ amount: minor(tax), taxable_amount: netMinor, tax_rate: rate.id, percentage: String(rate.percentage), display_name: rate.display_name, inclusive: false }],
      };
    });
    const totalTaxMinor = minor(totalTax);
    const totalExclMinor = minor(totalExcl);
    return {
      currency: cart.currency,
      lines: out,
      subtotal: minor(subtotal),
      total_discount_amounts: discounts.map((d) => ({ discount: d.id, amount: d.amount })),
      total_excluding_tax: totalExclMinor,
      total_taxes: [{ amount: totalTaxMinor, taxable_amount: totalExclMinor, tax_rate: rate.id, percentage: String(rate.percentage), display_name: rate.display_name, inclusive: false }],
      total: totalExclMinor + totalTaxMinor,
    };
  };
}

/** The naive float version (what not to do; shown for scale only: floats, no split). */
export function makeFloatCalculator(catalog) {
  const prices = new Map(catalog.prices.map((p) => [p.id, p]));
  return function quote(cart) {
    let subtotal = 0;
    for (const l of cart.lines) subtotal += (prices.get(l.price).unit_amount * (l.quantity ?? 1)) / 100;
    const net = subtotal * 0.9;
    return { total: Math.round(net * 1.2 * 100) };
  };
}

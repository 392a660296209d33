// The checkout benchmark's data, shared by the Node benchmarks and the native criterion bench
// (benches/fixtures/*.json are written from here: `node benches/node/checkout-data.mjs`).
//
// The case of issue 12: a 50-price catalog (per-unit prices in EUR), a cart of N lines with an
// exclusive 20 % VAT rate (`default_tax_rates`) and a 10 % order coupon.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const VAT = { id: 'txr_vat20', display_name: 'VAT', percentage: 20, inclusive: false, country: 'FR', tax_type: 'vat' };
export const COUPON = { id: 'TEN', percent_off: 10 };

export function catalog() {
  const prices = [];
  for (let i = 0; i < 50; i++) {
    prices.push({ id: `price_${i}`, product: `prod_${i}`, currency: 'eur', unit_amount: 199 + ((i * 1373) % 9800) });
  }
  return { prices, coupons: [COUPON], tax: { rates: [VAT] } };
}

export function cart(lines) {
  return {
    currency: 'eur',
    lines: Array.from({ length: lines }, (_, i) => ({ price: `price_${(i * 7) % 50}`, quantity: 1 + ((i * 37) % 12) })),
    default_tax_rates: [VAT.id],
    discounts: [{ coupon: COUPON.id }],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = new URL('../fixtures/', import.meta.url);
  writeFileSync(new URL('checkout-catalog.json', dir), JSON.stringify(catalog(), null, 1) + '\n');
  for (const n of [20, 200]) writeFileSync(new URL(`checkout-cart-${n}.json`, dir), JSON.stringify(cart(n)) + '\n');
}

// The documents the JS entry `billcalc/einvoice` writes in the tests (Node: einvoice.test.mjs;
// Chromium: tests/browser/einvoice.test.mjs; scripts/test-einvoice.sh validates the Node ones
// with the official EN 16931 rules). Plain data: a French B2B sale (examples/facturx, the
// command-line example's input), a subscription invoice preview, and a credit note for part of
// the sale, built from the engine's own quote.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const example = JSON.parse(readFileSync(join(ROOT, 'examples/facturx/invoice.json'), 'utf8'));

export const previewInput = {
  as_of: '2026-11-01T00:00:00Z',
  catalog: { prices: [{ id: 'pro', currency: 'eur', unit_amount: 4900, recurring: { interval: 'month' } }] },
  default_tax_rates: [{ id: 'tva20', display_name: 'TVA', percentage: 20, inclusive: false }],
  subscription: { currency: 'eur', billing_cycle_anchor: '2026-10-01', items: [{ id: 'si_1', price: 'pro' }] },
};

export const previewInfo = {
  ...example.document,
  number: 'F-2026-000124',
  issue_date: '2026-11-01',
  due_date: '2026-11-01',
  operation: 'services',
  delivery: null,
  payment_means: [{ code: '48', card_last4: '4242', remittance: 'F-2026-000124' }],
  amount_paid: 5880,
};

/** The credit-note input for `quantity` units of line `line` of an engine quote. */
export function creditNoteFor(quote, line, quantity) {
  return {
    currency: quote.currency,
    invoice: {
      amount_paid: quote.amount_payable ?? quote.total,
      lines: quote.lines.map((l) => ({
        amount_excluding_tax: l.amount_excluding_tax,
        // The label einvoice::rate_label writes: the EN 16931 category and percentage.
        taxes: l.taxes.map((t) => ({ rate: t.category === 'O' ? 'O' : `${t.category} ${t.percentage}`, amount: t.amount })),
        quantity: l.quantity,
      })),
    },
    lines: [{ line, quantity }],
    reason: 'product_unsatisfactory',
  };
}

export const creditInfo = {
  ...example.document,
  number: 'AV-2026-000007',
  issue_date: '2026-12-02',
  due_date: '2026-12-02',
  preceding_invoice: { number: example.document.number, issue_date: example.document.issue_date },
};

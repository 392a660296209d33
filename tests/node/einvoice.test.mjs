// `billcalc/einvoice` (its own wasm build) through the installed package: CII and UBL written for
// a quote, an invoice preview and a credit note, read back and verified by the engine, errors as
// BillcalcError. With BILLCALC_EINVOICE_JS_DUMP=DIR the documents are also written to DIR, where
// scripts/test-einvoice.sh runs the official EN 16931 rules over them.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { installPackage } from './support.mjs';
import { creditInfo, creditNoteFor, example, previewInfo, previewInput } from './einvoice-scenarios.mjs';

const project = installPackage();
const dump = process.env.BILLCALC_EINVOICE_JS_DUMP;
const save = (name, text) => {
  if (!dump) return;
  mkdirSync(dump, { recursive: true });
  writeFileSync(join(dump, name), text);
};

test('import and require give the same e-invoice API; the main entry does not carry it', async () => {
  const esm = await project.import('billcalc/einvoice');
  const cjs = project.require('billcalc/einvoice');
  for (const name of ['writeEinvoice', 'readEinvoice', 'computeQuote', 'BillcalcError']) {
    assert.equal(typeof esm[name], 'function', name);
    assert.equal(esm[name], cjs[name], name);
  }
  assert.equal(typeof project.require('billcalc').writeEinvoice, 'undefined');
  assert.equal(typeof (await project.import('billcalc/checkout')).writeEinvoice, 'undefined');
});

test('a French B2B sale as CII and UBL: written, read back, verified', async () => {
  const { writeEinvoice, readEinvoice, computeQuote } = await project.import('billcalc/einvoice');
  const quote = computeQuote(example.quote);
  for (const format of ['cii', 'ubl']) {
    const xml = writeEinvoice({ format, info: example.document, quote: example.quote });
    save(`js-fr-b2b.${format}.xml`, xml);
    assert.match(xml, format === 'cii' ? /^<\?xml[^>]*>\s*<rsm:CrossIndustryInvoice/ : /^<\?xml[^>]*>\s*<Invoice /);
    const { document, verification } = readEinvoice(xml);
    assert.equal(verification.ok, true, JSON.stringify(verification));
    assert.equal(document.number, 'F-2026-000123');
    assert.equal(document.type_code, 380);
    // Every amount is the engine's, in major units.
    const major = (minor) => (minor / 100).toFixed(2);
    assert.equal(document.totals.tax_exclusive, major(quote.total_excluding_tax));
    assert.equal(document.totals.tax_inclusive, major(quote.total));
    assert.deepEqual(
      document.vat_breakdown.map((b) => [b.category, b.rate, b.tax_amount]),
      quote.total_taxes.map((t) => ['S', t.percentage, major(t.amount)]),
    );
  }
});

test('a tampered total is reported with its BT number, stated and recomputed', async () => {
  const { writeEinvoice, readEinvoice } = await project.import('billcalc/einvoice');
  const xml = writeEinvoice({ format: 'ubl', info: example.document, quote: example.quote });
  const { document } = readEinvoice(xml);
  const stated = document.totals.tax_inclusive;
  const tampered = xml.replace(
    `<cbc:TaxInclusiveAmount currencyID="EUR">${stated}</cbc:TaxInclusiveAmount>`,
    `<cbc:TaxInclusiveAmount currencyID="EUR">${(Number(stated) + 1).toFixed(2)}</cbc:TaxInclusiveAmount>`,
  );
  assert.notEqual(tampered, xml);
  const { verification } = readEinvoice(tampered);
  assert.equal(verification.ok, false);
  const bt112 = verification.differences.find((d) => d.bt === 'BT-112');
  assert.ok(bt112, JSON.stringify(verification.differences));
  assert.equal(bt112.recomputed, stated);
  assert.equal(bt112.stated, (Number(stated) + 1).toFixed(2));
});

test('a subscription invoice preview and a credit note (381) naming the invoice', async () => {
  const { writeEinvoice, readEinvoice, computeQuote, creditNote } = await project.import('billcalc/einvoice');
  for (const format of ['cii', 'ubl']) {
    const xml = writeEinvoice({ format, info: previewInfo, invoice: previewInput });
    save(`js-subscription.${format}.xml`, xml);
    const { document, verification } = readEinvoice(xml);
    assert.equal(verification.ok, true, JSON.stringify(verification));
    // 49.00 a month + 20 % VAT, paid by card.
    assert.deepEqual([document.totals.tax_exclusive, document.totals.tax_total, document.totals.tax_inclusive], ['49.00', '9.80', '58.80']);
    assert.equal(document.totals.payable, '0.00');
  }
  const quote = computeQuote(example.quote);
  const input = creditNoteFor(quote, 0, 6);
  const note = creditNote(input);
  for (const format of ['cii', 'ubl']) {
    const xml = writeEinvoice({ format, info: creditInfo, credit_note: { input, invoice: quote } });
    save(`js-credit-note.${format}.xml`, xml);
    const { document, verification } = readEinvoice(xml);
    assert.equal(verification.ok, true, JSON.stringify(verification));
    assert.equal(document.type_code, 381);
    assert.deepEqual(document.preceding_invoices, [{ number: 'F-2026-000123', issue_date: '2026-11-29' }]);
    // Half of the first line, as the engine's creditNote computed it.
    assert.equal(document.totals.tax_inclusive, (note.total / 100).toFixed(2));
    assert.equal(note.lines[0].amount * 2, quote.lines[0].amount_excluding_tax + quote.lines[0].taxes[0].amount);
  }
});

test('errors are BillcalcError with code and path; the instance keeps working', async () => {
  const { writeEinvoice, readEinvoice, BillcalcError } = await project.import('billcalc/einvoice');
  const noVat = { ...example.document, seller: { ...example.document.seller, vat_id: null } };
  assert.throws(() => writeEinvoice({ format: 'cii', info: noVat, quote: example.quote }), (e) =>
    e instanceof BillcalcError && e.code === 'missing_field' && e.path === 'seller.vat_id');
  assert.throws(() => writeEinvoice({ format: 'pdf', info: example.document, quote: example.quote }), (e) =>
    e instanceof BillcalcError && e.path === 'format');
  const badQuote = { ...example.quote, lines: [{ ...example.quote.lines[0], quantity: -1 }] };
  assert.throws(() => writeEinvoice({ format: 'cii', info: example.document, quote: badQuote }), (e) =>
    e instanceof BillcalcError && e.path.startsWith('quote.lines[0]'));
  assert.throws(() => readEinvoice('<not-an-invoice/>'), (e) => e instanceof BillcalcError && e.code === 'invalid_document');
  assert.throws(() => writeEinvoice({ format: 'cii', info: example.document }), (e) =>
    e instanceof BillcalcError && e.code === 'missing_field');
  // Still working.
  assert.equal(readEinvoice(writeEinvoice({ format: 'cii', info: example.document, quote: example.quote })).verification.ok, true);
});

// `billcalc/einvoice` in headless Chromium: the browser build (`await init()`) writes CII and UBL
// for a quote, an invoice preview and a credit note, reads them back and verifies them, and gives
// byte for byte the documents the Node build writes from the same input.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, launchBrowser, startStaticServer, withPage } from './support.mjs';
import { creditInfo, creditNoteFor, example, previewInfo, previewInput } from '../node/einvoice-scenarios.mjs';

let server;
let browser;
before(async () => {
  server = await startStaticServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

test('the browser build writes, reads and verifies e-invoices like the Node build', async () => {
  const node = createRequire(join(ROOT, 'pkg', 'package.json'))('./einvoice/node/index.cjs');
  const quote = node.computeQuote(example.quote);
  const credit = creditNoteFor(quote, 0, 6);
  const inputs = {
    'fr-b2b': { info: example.document, quote: example.quote },
    subscription: { info: previewInfo, invoice: previewInput },
    'credit-note': { info: creditInfo, credit_note: { input: credit, invoice: quote } },
  };
  await withPage(browser, 'einvoice', async (page, problems) => {
    await page.goto(`${server.url}/pkg/package.json`);
    const results = await page.evaluate(async (inputs) => {
      const m = await import('/pkg/einvoice/index.js');
      await m.default();
      const out = {};
      for (const [name, input] of Object.entries(inputs)) {
        for (const format of ['cii', 'ubl']) {
          const xml = m.writeEinvoice({ format, ...input });
          const { document, verification } = m.readEinvoice(xml);
          out[`${name}.${format}`] = { xml, ok: verification.ok, type: document.type_code, total: document.totals.tax_inclusive };
        }
      }
      let error;
      try {
        m.writeEinvoice({ format: 'cii', info: inputs['fr-b2b'].info });
      } catch (e) {
        error = { isBillcalcError: e instanceof m.BillcalcError, code: e.code };
      }
      return { out, error };
    }, inputs);
    for (const [key, r] of Object.entries(results.out)) {
      const [name, format] = key.split('.');
      assert.equal(r.ok, true, key);
      assert.equal(r.type, name === 'credit-note' ? 381 : 380, key);
      assert.equal(r.xml, node.writeEinvoice({ format, ...inputs[name] }), `${key}: browser and Node differ`);
    }
    assert.equal(results.out['subscription.cii'].total, '58.80');
    assert.deepEqual(results.error, { isBillcalcError: true, code: 'missing_field' });
    assert.deepEqual(problems, []);
  });
});

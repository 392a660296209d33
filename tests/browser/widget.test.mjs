// The drop-in widget on a bare page, in headless Chromium: one script tag and one element price
// a cart with the wasm engine, re-price on every change, and report errors without breaking.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, launchBrowser, markdownBlocks, overflow, snap, spaces, startDemoServer, startStaticServer, withPage } from './support.mjs';

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

const ready = (page, count) => page.waitForFunction((n) => window.quotes.length + window.errors.length >= n, count);

test('widget renders the breakdown, re-prices on change and survives bad input', async () => {
  await withPage(browser, 'widget', async (page, problems) => {
    await page.goto(`${server.url}/widget.html`);
    await ready(page, 1);
    let quote = await page.evaluate(() => window.quotes.at(-1));
    // 2 × 25.00 + 19.99 = 69.99 incl. VAT; WELCOME10 takes 10 % = 7.00 (699.9 half up), allocated
    // 500 / 200; VAT backed out of what remains: 4500 × 20/120 = 750, 1799 × 5.5/105.5 = 93.79 → 94.
    assert.equal(quote.subtotal, 6999);
    assert.deepEqual(quote.total_discount_amounts.map((d) => d.amount), [700]);
    assert.deepEqual(quote.total_taxes.map((t) => [t.percentage, t.amount, t.category]), [['20', 750, 'S'], ['5.5', 94, 'S']]);
    assert.equal(quote.total, 6299);
    const total = await page.locator('billcalc-summary tr.billcalc-total td').textContent();
    assert.equal(spaces(total), '62,99 €');
    assert.deepEqual(
      (await page.locator('billcalc-summary tr.billcalc-line th').allTextContents()).map(spaces),
      ['T-shirt × 2', 'Book × 1'],
    );

    // The JS property re-prices with no network call.
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.evaluate(() => {
      document.querySelector('billcalc-summary').cart = {
        currency: 'eur', as_of: '2026-11-21', customer: { address: { country: 'FR' } },
        lines: [{ price: 'mug', quantity: 3 }],
      };
    });
    await ready(page, 2);
    quote = await page.evaluate(() => window.quotes.at(-1));
    assert.equal(quote.total, 3870);
    assert.deepEqual(quote.total_taxes.map((t) => t.amount), [645]);
    assert.equal(spaces(await page.locator('billcalc-summary tr.billcalc-total td').textContent()), '38,70 €');
    assert.deepEqual(requests, [], 're-pricing must not touch the network');

    // Bad input: a structured error is shown and reported; the next cart prices normally.
    await page.evaluate(() => {
      document.querySelector('billcalc-summary').cart = { currency: 'eur', lines: [{ price: 'nope' }] };
    });
    await ready(page, 3);
    assert.deepEqual(await page.evaluate(() => window.errors.at(-1)), { code: 'unknown_price', path: 'lines[0].price' });
    assert.equal(await page.locator('billcalc-summary').getAttribute('data-state'), 'error');
    await page.evaluate(() => {
      document.querySelector('billcalc-summary').cart = { currency: 'eur', lines: [{ price: 'mug' }], discounts: [{ promotion_code: 'NOPE' }] };
    });
    await ready(page, 4);
    quote = await page.evaluate(() => window.quotes.at(-1));
    assert.equal(quote.total, 1290);
    assert.deepEqual(quote.rejected_discounts.map((r) => r.reason), ['unknown_code']);
    assert.deepEqual(problems, [], 'no uncaught page errors');
  });
});

// --- issue 17: the README snippet verbatim against the demo server; languages; property upgrade ---


test('the README widget snippet works verbatim against the demo server (publishable key, /pkg/ path, a demo price)', async (t) => {
  // The demo server as `bash scripts/demo.sh` runs it, with the key the README names.
  const demo = await startDemoServer({ publishableKey: 'pk_test_billcalc_demo' });
  t.after(() => demo.stop());
  const [snippet] = markdownBlocks('README.md', 'html');
  assert.ok(snippet?.includes('<billcalc-summary'), 'README has the widget snippet');
  for (const [width, height] of [[1280, 800], [375, 700]]) {
    await withPage(browser, `widget_readme_${width}`, async (page, problems) => {
      const logs = [];
      page.on('console', (m) => logs.push(m.text()));
      // The page is the snippet alone, served at the demo server's origin (the request for it is
      // answered here; everything it loads comes from the real server).
      await page.route(`${demo.url}/readme-widget.html`, (route) =>
        route.fulfill({ contentType: 'text/html; charset=utf-8', body: `<!doctype html><html lang="fr"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><body>${snippet}</body></html>` }));
      await page.goto(`${demo.url}/readme-widget.html`);
      await page.waitForSelector('billcalc-summary[data-state="ready"]');
      // The snippet sets `summary.cart` (3 lamps) before the module loaded: the property upgrade
      // re-applies it, so the element prices 3 lamps, not the attribute's 2.
      // 3 × 89.00 = 267.00; VAT 20 % (France) 53.40; total 320.40.
      await page.waitForFunction(() => document.querySelector('billcalc-summary').quote?.total === 32040);
      assert.equal(spaces(await page.locator('billcalc-summary tr.billcalc-total td').textContent()), '320,40 €');
      assert.deepEqual((await page.locator('billcalc-summary tr.billcalc-line th').allTextContents()).map(spaces), ['Lampe Lumière (laiton) × 3']);
      assert.equal(spaces(await page.locator('billcalc-summary tr.billcalc-tax th').first().innerText()), 'TVA 20 % France · sur 267,00 €');
      assert.ok(logs.includes('32040'), `the snippet's listener logged the total: ${logs}`);
      // Later assignments keep working (the setter is not shadowed).
      await page.evaluate(() => {
        const s = document.querySelector('billcalc-summary');
        s.cart = { ...s.cart, lines: [{ price: 'price_lamp', quantity: 1 }] };
      });
      await page.waitForFunction(() => document.querySelector('billcalc-summary').quote?.total === 10680);
      assert.equal(Object.prototype.hasOwnProperty.call(await page.evaluateHandle(() => document.querySelector('billcalc-summary')).then((h) => h.jsonValue()), 'cart'), false);
      assert.ok((await overflow(page)) <= 0, 'no horizontal scroll');
      await snap(page, `widget-readme-${width}`);
      assert.deepEqual(problems, []);
    }, { width, height });
  }
});

test('widget in French and English: tax names and notes in words, no category letters, engine errors as sentences', async () => {
  for (const locale of ['fr-FR', 'en-GB']) {
    await withPage(browser, `widget_lang_${locale}`, async (page, problems) => {
      await page.goto(`${server.url}/widget.html`);
      await ready(page, 1);
      await page.evaluate((l) => document.querySelector('billcalc-summary').setAttribute('locale', l), locale);
      await ready(page, 2);
      const fr = locale === 'fr-FR';
      const taxes = (await page.locator('billcalc-summary tr.billcalc-tax th').allInnerTexts()).map(spaces);
      assert.deepEqual(taxes, fr
        ? ['TVA 20 % (incluse) France · sur 37,50 €', 'TVA 5,5 % (incluse) France · sur 17,05 € · taux réduit']
        : ['VAT 20% (included) France · on €37.50', 'VAT 5.5% (included) France · on €17.05 · reduced rate']);
      const all = spaces(await page.locator('billcalc-summary').innerText());
      assert.doesNotMatch(all, /\b(S|AE|G|K|O)\b/, 'no EN 16931 category letters');
      if (fr) assert.doesNotMatch(all, /\b(VAT|incl|Total excluding|on)\b/, all);
      else assert.doesNotMatch(all, /\b(TVA|incluse|sur)\b/, all);

      // A German business buying goods: intra-Community supply (K), the note in the page's language.
      await page.evaluate(() => {
        document.querySelector('billcalc-summary').cart = {
          currency: 'eur', as_of: '2026-11-21', lines: [{ price: 'mug', quantity: 1 }],
          customer: { address: { country: 'DE' }, tax_ids: [{ type: 'eu_vat', value: 'DE136695976' }] },
        };
      });
      await ready(page, 3);
      const note = spaces(await page.locator('billcalc-summary tr.billcalc-note').innerText());
      assert.equal(note, fr
        ? 'Livraison intracommunautaire exonérée de TVA (article 262 ter I du CGI) — numéro de TVA DE136695976.'
        : 'Intra-Community supply, exempt from VAT (article 138 of Directive 2006/112/EC) — VAT number DE136695976.');
      assert.equal(spaces(await page.locator('billcalc-summary tr.billcalc-tax th').innerText()),
        fr ? 'Livraison intracommunautaire, TVA non applicable sur 10,84 €' : 'Intra-EU supply, no VAT on €10.84');

      // An engine error: a sentence in the page's language, the code kept for developers.
      await page.evaluate(() => { document.querySelector('billcalc-summary').cart = { currency: 'eur', lines: [{ price: 'nope' }] }; });
      await ready(page, 4);
      const error = page.locator('billcalc-summary .billcalc-error');
      assert.equal(await error.getAttribute('data-code'), 'unknown_price');
      assert.equal(spaces(await error.innerText()), fr
        ? 'Le total ne peut pas être calculé : Un article du panier n’est plus en vente.'
        : 'The total cannot be computed: An item in the cart is no longer for sale.');
      await page.setViewportSize({ width: 375, height: 700 });
      assert.ok((await overflow(page)) <= 0);
      assert.deepEqual(problems, []);
    }, { width: 1280, height: 800 });
  }
});

test('the package README (what npm shows): its widget snippet works verbatim, served from node_modules/billcalc/', async (t) => {
  // A site that serves its node_modules (the package as npm installs it: pkg/ is that directory)
  // next to billcalc's demo server with the key the README names.
  const demo = await startDemoServer({
    publishableKey: 'pk_test_billcalc_demo',
    serve: [['/node_modules/billcalc/', join(ROOT, 'pkg')]],
  });
  t.after(() => demo.stop());
  const blocks = markdownBlocks('pkg-template/README.md', 'html');
  assert.equal(blocks.length, 1, 'one html snippet in the package README');
  const [snippet] = blocks;
  assert.ok(snippet.includes('src="/node_modules/billcalc/checkout/summary.js"'));
  // The README copied into the package is the one tested.
  assert.equal(readFileSync(join(ROOT, 'pkg', 'README.md'), 'utf8'), readFileSync(join(ROOT, 'pkg-template', 'README.md'), 'utf8'));
  for (const [width, height] of [[1280, 800], [375, 700]]) {
    await withPage(browser, `widget_pkg_readme_${width}`, async (page, problems) => {
      const logs = [];
      page.on('console', (m) => logs.push(m.text()));
      const failed = [];
      page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
      await page.route(`${demo.url}/pkg-readme-widget.html`, (route) =>
        route.fulfill({ contentType: 'text/html; charset=utf-8', body: `<!doctype html><html lang="fr"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><body>${snippet}</body></html>` }));
      await page.goto(`${demo.url}/pkg-readme-widget.html`);
      await page.waitForSelector('billcalc-summary[data-state="ready"]');
      // 3 × 89.00 = 267.00 excl. VAT; VAT 20 % (France) 53.40; total 320.40 — the snippet's comment.
      await page.waitForFunction(() => document.querySelector('billcalc-summary').quote?.total === 32040);
      assert.equal(spaces(await page.locator('billcalc-summary tr.billcalc-total td').textContent()), '320,40 €');
      assert.equal(spaces(await page.locator('billcalc-summary tr.billcalc-tax th').first().innerText()), 'TVA 20 % France · sur 267,00 €');
      assert.ok(logs.includes('32040'), `the snippet's listener logged the total: ${logs}`);
      assert.ok(!logs.some((l) => /^[a-z_]+$/.test(l) && l !== '32040'), `no error code logged: ${logs}`);
      assert.deepEqual(failed, []);
      assert.ok((await overflow(page)) <= 0, 'no horizontal scroll');
      await snap(page, `widget-pkg-readme-${width}`);
      assert.deepEqual(problems, []);
    }, { width, height });
  }
});

// The drop-in widget on a bare page, in headless Chromium: one script tag and one element price
// a cart with the wasm engine, re-price on every change, and report errors without breaking.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, spaces, startStaticServer, withPage } from './support.mjs';

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

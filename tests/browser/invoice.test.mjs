// Issue 17: the hosted invoice after paying at the demo checkout, against the real server: the
// shop's look, no horizontal scroll at 375 px, a print stylesheet, the confirmation (card brand,
// last four digits, back to the shop), dates and countries in words, the buyer's address and the
// shipping address, French for the French seller with no English fragments.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, overflow, snap, spaces, startDemoServer, withPage } from './support.mjs';

let server;
let browser;
before(async () => {
  server = await startDemoServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const INVOICE_URL = /\/v1\/invoices\/in_[0-9a-f]+\.html\?access_token=/;
const MONTHS_FR = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];
const todayFr = () => {
  const d = new Date();
  const day = d.getUTCDate();
  return `${day === 1 ? '1er' : day} ${MONTHS_FR[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
};

/** Pays at the demo checkout as a German business buying a lamp shipped to a second address. */
async function payAsBusiness(page, { card = 'pm_card_mastercard', business = true } = {}) {
  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-state="ready"]');
  await page.click('#products li[data-price="price_lamp"] button.add');
  await page.click('#products li[data-price="price_course"] button.add');
  await page.fill('#email', 'jonas@licht.example');
  await page.fill('#name', 'Jonas Keller');
  if (!business) {
    // A consumer in France (the e-invoice files exist for this one; issue 14's writer refuses an
    // intra-Community supply without a delivery date, BR-IC-11).
    await page.fill('#line1', '5 place Bellecour');
    await page.fill('#postal', '69002');
    await page.fill('#city', 'Lyon');
    await page.check(`input[name="card"][value="${card}"]`);
    const shown = spaces(await page.locator('#total').innerText());
    await page.click('#pay');
    await page.waitForURL(INVOICE_URL);
    return shown;
  }
  await page.selectOption('#country', 'DE');
  await page.fill('#line1', 'Invalidenstraße 1');
  await page.fill('#postal', '10115');
  await page.fill('#city', 'Berlin');
  await page.check('#business');
  await page.fill('#company', 'Licht GmbH');
  await page.fill('#vat', 'DE136695976');
  await page.uncheck('#ship-same');
  await page.fill('#ship-name', 'Lager Licht GmbH');
  await page.fill('#ship-line1', 'Hafenstraße 9');
  await page.fill('#ship-postal', '20457');
  await page.fill('#ship-city', 'Hamburg');
  await page.check(`input[name="card"][value="${card}"]`);
  const shown = spaces(await page.locator('#total').innerText());
  await page.click('#pay');
  await page.waitForURL(INVOICE_URL);
  return shown;
}

test('after paying: the invoice confirms the payment (brand, last four, back to the shop), in French, with addresses and dates in words', async () => {
  await withPage(browser, 'invoice_confirmation', async (page, problems) => {
    const shown = await payAsBusiness(page);
    assert.equal(spaces(await page.locator('#total').innerText()), shown);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');
    // The confirmation: Mastercard ···· 4444 and a link back to where the shopper paid.
    assert.equal(await page.locator('#card-brand').innerText(), 'Mastercard');
    assert.equal(await page.locator('#card-last4').innerText(), '4444');
    assert.match(spaces(await page.locator('#confirmation').innerText()),
      /^Merci, votre paiement est reçu\. Payé par Mastercard ···· 4444 — .+ €\. Un reçu est envoyé à jonas@licht\.example\./);
    assert.equal(await page.locator('#status').innerText(), 'Payée');
    // The buyer block: company, name, address with the country in words, VAT number, email.
    assert.equal(spaces(await page.locator('#buyer p').innerText()),
      'Licht GmbH Jonas Keller Invalidenstraße 1 10115 Berlin Allemagne N° TVA intracommunautaire : DE136695976 jonas@licht.example');
    assert.equal(spaces(await page.locator('#shipping p').innerText()), 'Lager Licht GmbH Hafenstraße 9 20457 Hamburg Allemagne');
    assert.match(spaces(await page.locator('#seller p').innerText()), /69002 Lyon France/);
    // Dates in words; taxes in words, no category letters, no English.
    assert.equal(await page.locator('#issue-date').innerText(), todayFr());
    assert.deepEqual((await page.locator('#taxes tbody td:first-child').allInnerTexts()).map(spaces),
      ['Livraison intracommunautaire exonérée de TVA', 'Autoliquidation (TVA due par le preneur)']);
    const all = await page.locator('body').innerText();
    assert.doesNotMatch(all, /\((S|AE|K|G|O)\)|Reverse charge|Invoice|Total excl|Bill to|\d{4}-\d{2}-\d{2}/);
    assert.ok(all.includes(`Date de la vente : ${todayFr()}`));
    await snap(page, 'invoice-confirmation-desktop');

    // Back to the shop.
    await page.click('#back-to-shop');
    await page.waitForSelector('body[data-state="ready"]');
    assert.equal(new URL(page.url()).pathname, '/');
    assert.deepEqual(problems, []);
  }, { width: 1280, height: 900 });
});

test('the invoice on a phone (375 px): no horizontal scroll, each line a block with its labels; print stylesheet hides the buttons', async () => {
  await withPage(browser, 'invoice_phone', async (page, problems) => {
    await payAsBusiness(page, { card: 'pm_card_visa', business: false });
    assert.equal(await page.locator('#card-brand').innerText(), 'Visa');
    assert.equal(await page.locator('#card-last4').innerText(), '4242');
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
      .map((e) => `${e.tagName}#${e.id}.${e.className}`));
    assert.deepEqual(wide, []);
    assert.ok((await overflow(page)) <= 0, `horizontal scroll: ${await overflow(page)} px`);
    // The same invoice as Factur-X (PDF) and XML, with the page's access token.
    assert.match(spaces(await page.locator('#documents').innerText()), /^Facture électronique \(EN 16931\) : Factur-X \(PDF\) CII \(XML\) UBL \(XML\)/);
    const hrefs = await page.$$eval('#documents a.document', (links) => links.map((a) => a.href));
    assert.equal(hrefs.length, 3);
    for (const [href, type] of hrefs.map((h, i) => [h, ['application/pdf', 'application/xml', 'application/xml'][i]])) {
      const response = await page.request.get(href);
      assert.equal(response.status(), 200, href);
      assert.match(response.headers()['content-type'], new RegExp(`^${type}`), href);
    }

    // A line reads as "Qté 1", "P.U. HT 89,00 €", … on a phone.
    assert.equal(await page.locator('#lines thead').isVisible(), false);
    assert.match(spaces(await page.locator('#lines tbody tr').first().innerText()), /^Lampe Lumière \(laiton\) Qté 1 P\.U\. HT 89,00 €/);
    await snap(page, 'invoice-phone');
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('#confirmation').isVisible(), false, 'no confirmation banner on paper');
    assert.equal(await page.locator('#totals').isVisible(), true);
    await snap(page, 'invoice-print');
    assert.deepEqual(problems, []);
  }, { width: 375, height: 800 });
});

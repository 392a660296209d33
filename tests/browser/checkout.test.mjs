// The demo checkout (www/index.html) in headless Chromium against the real server, started the
// way `bash scripts/demo.sh` starts it (sample French shop of server/config/demo.json, fresh
// SQLite database, demo checkout on). Every expected amount is computed by hand from demo.json:
//
//   lamp 89.00, shade 29.00, bulb 12.90, book 24.00 (reduced rate), course 49.00 (digital
//   services, taxed where the customer lives), shipping 6.90 (follows the goods: split over the
//   goods' rates in proportion), free shipping from 150.00 of goods; prices exclude VAT; rounding
//   half up per line; seller in France with OSS.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PAGE, messages } from '../../www/messages.js';
import { ROOT, launchBrowser, spaces, startDemoServer, withPage } from './support.mjs';

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

const LAMP = 'Lampe Lumière (laiton)';
const BOOK = 'Livre « Éclairer sa maison »';
const BULB = 'Ampoule LED E27 (lot de 3)';
const COURSE = "Cours en ligne : l'électricité chez soi";
const INVOICE_URL = /\/v1\/invoices\/in_[0-9a-f]+\.html\?access_token=/;

const SHADE = 'Abat-jour en lin';
/** Price ids by product name: the cart's controls are found by price, whatever the language. */
const ID = { [LAMP]: 'price_lamp', [BOOK]: 'price_book', [BULB]: 'price_bulb', [COURSE]: 'price_course', [SHADE]: 'price_shade' };

/** Opens the checkout in `locale` with the buyer's email and billing address filled in (Pay needs them). */
async function open(page, locale = 'fr-FR', { details = true } = {}) {
  await page.goto(`${server.url}/?locale=${locale}`);
  await page.waitForSelector('body[data-state="ready"]');
  if (details) await fillDetails(page);
}
async function fillDetails(page, { email = 'camille@example.fr', name = 'Camille Martin', line1 = '5 place Bellecour', postal = '69002', city = 'Lyon' } = {}) {
  await page.fill('#email', email);
  await page.fill('#name', name);
  await page.fill('#line1', line1);
  await page.fill('#postal', postal);
  await page.fill('#city', city);
}
const add = (page, name) => page.click(`#products li[data-price="${ID[name]}"] button.add`);
const row = (name) => `#cart li[data-price="${ID[name]}"]`;
const more = (page, name) => page.click(`${row(name)} .qty button:last-child`);
const quantity = (name) => `${row(name)} input.quantity`;
const removeItem = (page, name) => page.click(`${row(name)} button.remove`);
/** What a reader sees (innerText: block children on their own lines), spaces normalised. */
const text = async (page, selector) => spaces(await page.locator(selector).first().innerText());
const total = (page) => text(page, '#total');
const shownTotal = async (page) => Number(await page.locator('#total').getAttribute('data-total'));
const taxes = (page) =>
  page.$$eval('#breakdown tr.tax', (rows) => rows.map((r) => [r.dataset.percentage, Number(r.dataset.amount), r.dataset.category]));
const breakdown = (page) =>
  page.$$eval('#breakdown tr', (rows) => rows.map((r) => [r.querySelector('th').firstChild.textContent, r.querySelector('td').textContent]
    .map((t) => t.replace(/[\s\u00a0\u202f]+/g, ' ').trim())));
/** Every request the page makes from now on. */
function watchRequests(page) {
  const seen = [];
  page.on('request', (r) => seen.push(`${r.method()} ${r.url()}`));
  return seen;
}

test('add items, change the country: VAT follows the place, amounts as computed by hand, no network', async () => {
  await withPage(browser, 'checkout_country', async (page, problems) => {
    await open(page);
    const requests = watchRequests(page);
    assert.equal(await page.locator('#pay').isDisabled(), true, 'nothing to pay for yet');

    await add(page, LAMP);
    await more(page, LAMP);
    await add(page, BOOK);
    assert.equal(await page.locator(quantity(LAMP)).inputValue(), '2');
    // Goods 2 × 89.00 + 24.00 = 202.00 ≥ 150.00: shipping 6.90 is added and taken off again.
    assert.deepEqual(await breakdown(page), [
      [`${LAMP} × 2`, '178,00 €'],
      [`${BOOK} × 1`, '24,00 €'],
      ['Livraison Colissimo × 1', '6,90 €'],
      ["Livraison offerte dès 150 € d'achats", '-6,90 €'],
      // No "Sous-total" row: with no order-level discount it would repeat the total excl. VAT.
      ['Total HT', '202,00 €'],
      ['TVA 20 %', '35,60 €'],
      ['TVA 5,5 %', '1,32 €'],
    ]);
    // France: 178.00 × 20 % = 35.60; 24.00 × 5.5 % = 1.32 → 202.00 + 36.92 = 238.92.
    assert.deepEqual(await taxes(page), [['20', 3560, 'S'], ['5.5', 132, 'S']]);
    assert.equal(await total(page), '238,92 €');
    assert.equal(await text(page, '#pay'), 'Payer 238,92 €');

    // Germany (OSS: the customer's rates): 178.00 × 19 % = 33.82; 24.00 × 7 % = 1.68 → 237.50.
    await page.selectOption('#country', 'DE');
    assert.deepEqual(await taxes(page), [['19', 3382, 'S'], ['7', 168, 'S']]);
    assert.equal(await total(page), '237,50 €');
    // Belgium: 21 % → 37.38; 6 % → 1.44 → 240.82.
    await page.selectOption('#country', 'BE');
    assert.deepEqual(await taxes(page), [['21', 3738, 'S'], ['6', 144, 'S']]);
    assert.equal(await total(page), '240,82 €');
    // Spain 21 % / 10 %: 37.38 + 2.40 → 241.78; Italy 22 % / 5 %: 39.16 + 1.20 → 242.36.
    await page.selectOption('#country', 'ES');
    assert.deepEqual(await taxes(page), [['21', 3738, 'S'], ['10', 240, 'S']]);
    assert.equal(await total(page), '241,78 €');
    await page.selectOption('#country', 'IT');
    assert.deepEqual(await taxes(page), [['22', 3916, 'S'], ['5', 120, 'S']]);
    assert.equal(await total(page), '242,36 €');

    // Outside the EU: an export, category G, no VAT → 202.00; a state or province is asked for.
    await page.selectOption('#country', 'US');
    assert.equal(await page.locator('#region').isVisible(), true);
    assert.equal(await text(page, '#region-label'), 'État');
    // State names in French: Californie, Caroline du Nord, Nouveau-Mexique, not the English ones.
    const states = await page.locator('#region option').allInnerTexts();
    for (const name of ['Californie (CA)', 'Caroline du Nord (NC)', 'Nouveau-Mexique (NM)', 'Floride (FL)', 'Pennsylvanie (PA)']) assert.ok(states.includes(name), name);
    for (const name of ['California (CA)', 'North Carolina (NC)', 'New Mexico (NM)']) assert.ok(!states.includes(name), name);
    assert.equal(states.length, 51);
    await page.selectOption('#locale', 'en-GB');
    assert.ok((await page.locator('#region option').allInnerTexts()).includes('California (CA)'));
    assert.equal(await text(page, '#region-label'), 'State');
    await page.selectOption('#locale', 'fr-FR');
    assert.deepEqual(await taxes(page), [['0', 0, 'G']]);
    assert.match(await text(page, '#breakdown tr.tax th'), /^Exportation hors UE, TVA non applicable sur 202,00 €$/);
    assert.equal(await total(page), '202,00 €');
    await page.selectOption('#country', 'GB');
    assert.equal(await page.locator('#region').isVisible(), false);
    assert.deepEqual(await taxes(page), [['0', 0, 'G']]);
    // Canada with a province: the province goes into the cart; a French seller not registered
    // in Canada still exports (no GST/QST), which is what the engine says.
    await page.selectOption('#country', 'CA');
    assert.equal(await text(page, '#region-label'), 'Province ou territoire');
    // Province names in French (Canada's official French names), sorted in French.
    const regionNames = () => page.locator('#region option').allInnerTexts();
    assert.deepEqual((await regionNames()).slice(0, 6), ['Alberta (AB)', 'Colombie-Britannique (BC)', 'Île-du-Prince-Édouard (PE)',
      'Manitoba (MB)', 'Nouveau-Brunswick (NB)', 'Nouvelle-Écosse (NS)']);
    assert.ok((await regionNames()).includes('Québec (QC)'));
    await page.selectOption('#region', 'QC');
    assert.deepEqual(await page.evaluate(() => window.billcalcCheckout.cart.customer.address),
      { country: 'CA', state: 'QC', line1: '5 place Bellecour', postal_code: '69002', city: 'Lyon' });
    assert.deepEqual(await taxes(page), [['0', 0, 'G']]);
    assert.equal(await total(page), '202,00 €');

    // A German business with a valid VAT number buying goods: exempt intra-Community supply
    // (K), no VAT, the engine's legal mention with the normalised number.
    await page.selectOption('#country', 'DE');
    assert.equal(await page.locator('#vat').isVisible(), false, 'the VAT number is asked of businesses only');
    await page.check('#business');
    await page.fill('#vat', 'DE 136 695 976');
    assert.deepEqual(await taxes(page), [['0', 0, 'K']]);
    assert.equal(await total(page), '202,00 €');
    assert.equal(await text(page, '#notes [data-note="intra_community_supply"]'),
      'Livraison intracommunautaire exonérée de TVA (article 262 ter I du CGI) — numéro de TVA DE136695976.');
    // The same number with a wrong check digit is refused: no exemption for a typo.
    await page.fill('#vat', 'DE 136 695 975');
    assert.match(await text(page, '#vat-error'), /la clé de contrôle ne correspond pas/);
    assert.equal(await total(page), '237,50 €');
    // A malformed number: said next to the field, priced as a consumer, Pay waits for a fix.
    await page.fill('#vat', 'DE12');
    assert.equal(await page.locator('#vat').getAttribute('aria-invalid'), 'true');
    assert.equal(await text(page, '#vat-error'), 'Ce numéro de TVA n’est pas valable pour Allemagne : Ce numéro de TVA n’a pas le format attendu pour ce pays. Vous êtes facturé comme un particulier tant qu’il n’est pas corrigé ou effacé.');
    assert.equal(await total(page), '237,50 €');
    assert.equal(await page.locator('#pay').isDisabled(), true);
    await page.fill('#vat', '');
    assert.equal(await page.locator('#vat').getAttribute('aria-invalid'), 'false');
    assert.equal(await page.locator('#pay').isDisabled(), false);

    // Shipping follows the goods: bulb 12.90 (20 %) + book 24.00 (5.5 %), shipping 6.90 split
    // 1290 : 2400 → 2.41 / 4.49. France: 2.58 + 0.48 = 3.06 at 20 %; 1.32 + 0.25 (0.24695 half
    // up) = 1.57 at 5.5 % → 36.90 + 6.90 + 4.63 = 48.43; 150.00 − 36.90 = 113.10 to free shipping.
    await page.selectOption('#country', 'FR');
    await removeItem(page, LAMP);
    await add(page, BULB);
    assert.deepEqual(await taxes(page), [['5.5', 157, 'S'], ['20', 306, 'S']]);
    assert.equal(await total(page), '48,43 €');
    assert.equal(await text(page, '#offers li'), "Plus que 113,10 € d’achats pour profiter de : Livraison offerte dès 150 € d'achats.");
    // Typing a quantity re-prices too: 3 books → 72.00 of books.
    await page.fill(quantity(BOOK), '3');
    assert.equal(await text(page, `#cart li[data-price="price_book"] .amount`), '72,00 €');

    assert.deepEqual(requests, [], 'editing the cart must not touch the network');
    assert.deepEqual(problems, []);
  });
});

test('promotion codes: a good code applies, a bad code says why, a minimum says what is missing', async () => {
  await withPage(browser, 'checkout_codes', async (page, problems) => {
    await open(page);
    const requests = watchRequests(page);
    await add(page, BULB);

    // CINQ needs 50.00 of goods: kept, with what is missing (50.00 − 12.90 = 37.10).
    await page.fill('#code', 'cinq');
    await page.click('#code-apply');
    assert.equal(await text(page, '#code-message'), 'CINQ n’est pas encore appliqué : Ajoutez encore 37,10 € d’achats pour utiliser ce code.');
    assert.equal(await page.locator('#codes li[data-code="CINQ"]').getAttribute('data-reason'), 'minimum_not_met');

    // An unknown code: the engine's reason in words, and it is not kept.
    await page.fill('#code', 'nope');
    await page.press('#code', 'Enter');
    assert.equal(await text(page, '#code-message'), 'NOPE : Ce code n’existe pas. Vérifiez l’orthographe.');
    assert.equal(await page.locator('#codes li[data-code="NOPE"]').count(), 0);

    // The cart grows past the minimum: CINQ applies by itself.
    await add(page, LAMP);
    assert.equal(await page.locator('#codes li[data-code="CINQ"]').getAttribute('class'), 'applied');
    assert.equal(await text(page, '#breakdown tr[data-discount="discounts[0]"] td'), '-5,00 €');
    await page.click('#codes li[data-code="CINQ"] button');
    assert.equal(await page.locator('#breakdown tr.discount').count(), 0);

    // 2 lamps + book: BIENVENUE10 takes 10 % of 202.00 = 20.20 (17.80 + 2.40); VAT on what
    // remains: 160.20 × 20 % = 32.04; 21.60 × 5.5 % = 1.188 → 1.19; 181.80 + 33.23 = 215.03.
    await more(page, LAMP);
    await add(page, BOOK);
    await removeItem(page, BULB);
    assert.equal(await total(page), '238,92 €');
    await page.fill('#code', 'bienvenue10');
    await page.press('#code', 'Enter');
    assert.equal(await text(page, '#code-message'), 'BIENVENUE10 appliqué : -20,20 €. Total 215,03 €.');
    assert.equal(await text(page, '#breakdown tr[data-discount="discounts[0]"] th'), 'Code BIENVENUE10 Bienvenue −10 %');
    assert.deepEqual(await taxes(page), [['20', 3204, 'S'], ['5.5', 119, 'S']]);
    assert.equal(await total(page), '215,03 €');
    assert.equal(await page.inputValue('#code'), '', 'an applied code clears the field');

    // The same code twice.
    await page.fill('#code', 'Bienvenue10');
    await page.press('#code', 'Enter');
    assert.equal(await text(page, '#code-message'), 'BIENVENUE10 : Ce code est déjà dans votre panier.');
    assert.equal(await page.locator('#codes li').count(), 1);

    assert.deepEqual(requests, [], 'applying codes must not touch the network');
    assert.deepEqual(problems, []);
  });
});

test('every rejection reason and every error code the engine has has a sentence, in French and in English', () => {
  const types = readFileSync(join(ROOT, 'src', 'types.d.ts'), 'utf8');
  const union = (name) => [...new RegExp(`export type ${name} =([^;]+);`).exec(types)[1].matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
  const reasons = union('RejectionReason');
  const codes = union('ErrorCode');
  assert.ok(reasons.length >= 13 && codes.length >= 30, `found ${reasons.length} reasons, ${codes.length} codes`);
  for (const [locale, money] of [['fr-FR', (minor) => `${minor / 100} €`], ['en-GB', (minor) => `€${minor / 100}`]]) {
    const t = messages(locale);
    const context = { money, currency: 'eur', describe: (id) => id };
    for (const reason of reasons) {
      const sentence = t.rejection({ reason, missing_amount: 1234, missing_quantity: 2, conflicts_with: ['discounts[0]'] }, context);
      assert.match(sentence, /^[A-ZÀ-Ý].+\.$/, `${locale} ${reason}: ${sentence}`);
      assert.doesNotMatch(sentence, /_/, `${reason} is said in words: ${sentence}`);
      assert.notEqual(sentence, t.rejection({ reason: 'no_such_reason' }, context), `${locale}: no sentence for ${reason}`);
    }
    for (const code of codes) {
      const sentence = t.error({ code });
      assert.notEqual(sentence, t.error({ code: 'no_such_code' }), `${locale}: no sentence for ${code}`);
      assert.match(sentence, /^[A-ZÀ-Ý].+\.$/, `${locale} ${code}: ${sentence}`);
    }
  }
  assert.equal(messages('fr-FR').rejection({ reason: 'minimum_not_met', missing_amount: 1234 }, { money: () => '12,34 €' }), 'Ajoutez encore 12,34 € d’achats pour utiliser ce code.');
  assert.equal(messages('en-US').rejection({ reason: 'minimum_not_met', missing_amount: 1234 }, { money: () => '€12.34' }), 'Add €12.34 more to your order to use this code.');
  // The page catalogues have the same keys in both languages.
  assert.deepEqual(Object.keys(PAGE.fr).sort(), Object.keys(PAGE.en).sort());
});

test('amounts follow the chosen locale; yen through currency_options in the catalog, charged in yen', async () => {
  await withPage(browser, 'checkout_locale', async (page, problems) => {
    await open(page);
    const requests = watchRequests(page);
    await add(page, LAMP);
    await more(page, LAMP);
    await add(page, BOOK);
    await page.fill(quantity(LAMP), '6');
    // 6 × 89.00 + 24.00 = 558.00; VAT 106.80 + 1.32 → 666.12.
    const expected = { 'fr-FR': '666,12 €', 'de-DE': '666,12 €', 'en-US': '€666.12', 'ja-JP': '€666.12' };
    for (const [locale, amount] of Object.entries(expected)) {
      await page.selectOption('#locale', locale);
      assert.equal(await total(page), amount, locale);
    }
    await page.fill(quantity(LAMP), '14');
    // 14 × 89.00 = 1,246.00 → 249.20 VAT; + book 24.00 + 1.32 → 1,520.52.
    assert.equal(await total(page), '€1,520.52');
    await page.selectOption('#locale', 'fr-FR');
    assert.equal(await page.locator('#total').textContent(), '1\u202f520,52\u00a0€', 'fr-FR groups with a narrow no-break space');
    await page.selectOption('#locale', 'de-DE');
    assert.equal(await total(page), '1.520,52 €');

    // demo.json gives every price a yen amount (currency_options.jpy): the currency switch is
    // offered because the catalog has it. Lamp ¥14,500 + book ¥3,900 + shipping ¥1,100 (free
    // shipping is a euro offer); VAT 20 % on 14,500 and on the shipping's share 1,100 × 145/184
    // = 866.85 → 867 (the book's 233): 2,900 + 173.4 → 173; 5.5 % on 3,900 = 214.5 → 215 and on
    // 233 = 12.815 → 13 → 19,500 + 3,301 = ￥22,801.
    assert.deepEqual(await page.$$eval('#currency option', (o) => o.map((x) => x.value)), ['eur', 'jpy']);
    await page.fill(quantity(LAMP), '1');
    await page.selectOption('#currency', 'jpy');
    await page.selectOption('#locale', 'ja-JP');
    assert.equal(await text(page, '#products li[data-price="price_lamp"] .price'), '￥14,500');
    assert.deepEqual(await taxes(page), [['20', 3073, 'S'], ['5.5', 228, 'S']]);
    assert.equal(await total(page), '￥22,801');
    assert.equal(await page.locator('#offers li').count(), 0, 'no euro offer in yen');
    await page.selectOption('#locale', 'en-US');
    assert.equal(await total(page), '¥22,801');
    assert.deepEqual(requests, []);

    await page.selectOption('#locale', 'ja-JP');
    await page.click('#pay');
    await page.waitForURL(INVOICE_URL);
    // The French invoice writes yen as 22 801 JPY (no decimals: JPY has none).
    assert.equal(spaces(await page.locator('#total').textContent()), '22 801 JPY');
    assert.deepEqual(problems, []);
  });
});

test('pay: the server charges the total the page showed and the invoice shows it too', async () => {
  await withPage(browser, 'checkout_pay', async (page, problems) => {
    await open(page);
    await add(page, LAMP);
    await add(page, COURSE);
    await page.fill('#code', 'BIENVENUE10');
    await page.press('#code', 'Enter');
    await page.fill('#name', 'Camille Martin');
    const shown = await total(page);
    const shownMinor = await shownTotal(page);
    // Lamp 89.00 + course 49.00 + shipping 6.90 (goods under 150.00). BIENVENUE10 takes 10 % of
    // the products (not the shipping): 8.90 + 4.90 = 13.80. VAT 20 % on 80.10, 44.10 and 6.90:
    // 16.02 + 8.82 + 1.38 = 26.22 → 144.90 − 13.80 + 26.22 = 157.32.
    assert.equal(shown, '157,32 €');
    assert.equal(shownMinor, 15732);
    // The charge's answer, read on its way to the page (which leaves for the invoice at once).
    let charge;
    await page.route('**/v1/demo/checkout', async (route) => {
      const response = await route.fetch();
      charge = await response.json();
      await route.fulfill({ response, json: charge });
    });
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.url().endsWith('/v1/demo/checkout')),
      page.click('#pay'),
    ]);
    const sent = JSON.parse(request.postData());
    assert.equal(sent.expected_total, shownMinor);
    assert.equal(sent.payment_method, 'pm_card_visa');
    assert.deepEqual(sent.cart.discounts, [{ promotion_code: 'BIENVENUE10' }]);
    assert.ok(request.headers()['idempotency-key'], 'an Idempotency-Key is sent');
    await page.waitForURL(INVOICE_URL);
    assert.equal(charge.object, 'charge');
    assert.equal(charge.amount, shownMinor);
    assert.equal(charge.quote.total, shownMinor);
    assert.equal(spaces(await page.locator('#total').textContent()), shown);
    assert.equal(spaces(await page.locator('#amount-paid').textContent()), shown);
    assert.match(await page.content(), /Camille Martin/);
    assert.match(await page.content(), new RegExp(charge.invoice.number));
    assert.deepEqual(problems, []);
  });
});

test('a declined card shows the decline, nothing is charged, and the page keeps working', async () => {
  await withPage(browser, 'checkout_decline', async (page, problems) => {
    await open(page);
    await add(page, COURSE);
    await page.check('input[name="card"][value="pm_card_chargeDeclined"]');
    const [declined] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/demo/checkout')),
      page.click('#pay'),
    ]);
    assert.equal(declined.status(), 402);
    await page.waitForSelector('#pay:not([disabled])');
    assert.match(await text(page, '#pay-message'), /^Votre carte a été refusée\. Aucun montant n’a été débité\./);
    assert.equal(new URL(page.url()).pathname, '/');

    await page.check('input[name="card"][value="pm_card_insufficient_funds"]');
    await page.click('#pay');
    await page.waitForSelector('#pay:not([disabled])');
    assert.match(await text(page, '#pay-message'), /^Provision insuffisante sur votre carte\. Aucun montant n’a été débité\./);

    // Still a working checkout: edit, re-price, pay with a good card.
    await add(page, BOOK);
    // Course 49.00 × 20 % = 9.80; book 24.00 × 5.5 % = 1.32; shipping 6.90 follows the goods
    // it ships (the book, not the online course): 6.90 × 5.5 % = 0.38 (0.3795)
    // → 79.90 + 11.50 = 91.40.
    assert.equal(await total(page), '91,40 €');
    await page.check('input[name="card"][value="pm_card_visa"]');
    await page.click('#pay');
    await page.waitForURL(INVOICE_URL);
    assert.equal(spaces(await page.locator('#total').textContent()), '91,40 €');
    assert.deepEqual(problems, []);
  });
});

test('a total the server does not agree with is refused with the difference; reloading the prices fixes it', async () => {
  await withPage(browser, 'checkout_mismatch', async (page, problems) => {
    // A stale catalog in the page (as after a price change on the server): the lamp at 79.00.
    await page.route('**/v1/catalog', async (route) => {
      const response = await route.fetch();
      const catalog = await response.json();
      catalog.prices.find((p) => p.id === 'price_lamp').unit_amount = 7900;
      await route.fulfill({ response, json: catalog });
    });
    await open(page);
    await add(page, LAMP);
    // Page: 79.00 + 6.90 = 85.90 + 17.18 VAT = 103.08. Server: 89.00 + 6.90 = 95.90 + 19.18 = 115.08.
    assert.equal(await total(page), '103,08 €');
    await page.click('#pay');
    await page.waitForSelector('#pay-message button');
    assert.equal(await text(page, '#pay-message strong'), 'Le prix a changé : rien n’a été débité.');
    assert.match(await text(page, '#pay-message'), /Le serveur calcule cette commande à 115,08 €, et non 103,08 € comme affiché ici/);
    assert.deepEqual((await page.locator('#pay-message li').allTextContents()).map(spaces),
      ['total : le serveur calcule 115,08 €, cette page affichait 103,08 €']);
    assert.equal(new URL(page.url()).pathname, '/');

    await page.unroute('**/v1/catalog');
    await page.click('#pay-message button');
    await page.waitForFunction(() => document.getElementById('total').dataset.total === '11508');
    assert.equal(await total(page), '115,08 €');
    assert.match(await text(page, '#pay-message'), /^Prix rechargés\. Le total est maintenant de 115,08 €/);
    await page.click('#pay');
    await page.waitForURL(INVOICE_URL);
    assert.equal(spaces(await page.locator('#total').textContent()), '115,08 €');
    assert.deepEqual(problems, []);
  });
});

test('a network failure while paying: Pay again resends the same request with the same key, charged once', async () => {
  await withPage(browser, 'checkout_retry', async (page, problems) => {
    await open(page);
    await add(page, BOOK);
    const sent = [];
    let failNext = true;
    let lost;
    await page.route('**/v1/demo/checkout', async (route) => {
      sent.push({ key: route.request().headers()['idempotency-key'], body: route.request().postData() });
      if (failNext) {
        // The server charges, then the answer is lost on the way back.
        failNext = false;
        lost = await (await route.fetch()).json();
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    });
    await page.click('#pay');
    await page.waitForSelector('#pay:not([disabled])');
    assert.match(await text(page, '#pay-message'), /Le serveur est injoignable/);
    await page.click('#pay');
    await page.waitForURL(INVOICE_URL);
    assert.equal(sent.length, 2);
    assert.equal(sent[1].key, sent[0].key, 'the same Idempotency-Key');
    assert.equal(sent[1].body, sent[0].body, 'the same request');
    // One charge: the retry lands on the invoice of the charge whose answer was lost (replayed).
    assert.equal(lost.object, 'charge');
    assert.ok(page.url().includes(`/v1/invoices/${lost.invoice.id}.html`), page.url());
    assert.match(await page.content(), new RegExp(`Facture n° <strong>${lost.invoice.number}</strong>`));
    assert.deepEqual(problems, []);
  });
});

test("a device clock an hour off still pays: the server prices at its own time, the total still guarded", async () => {
  await withPage(browser, 'checkout_clock', async (page, problems) => {
    await page.clock.install({ time: new Date(Date.now() + 3600_000) });
    await open(page);
    await add(page, LAMP);
    const shown = await total(page);
    const bodies = [];
    page.on('request', (r) => { if (r.url().endsWith('/v1/demo/checkout')) bodies.push(JSON.parse(r.postData())); });
    await page.click('#pay');
    await page.waitForURL(INVOICE_URL);
    assert.equal(bodies.length, 2);
    assert.ok(bodies[0].cart.as_of, 'first with the page\'s as_of (refused: an hour off)');
    assert.equal(bodies[1].cart.as_of, undefined, 'then priced at the server\'s time');
    assert.equal(spaces(await page.locator('#total').textContent()), shown);
    assert.deepEqual(problems, []);
  });
});

test('phone width (375 px): one column, nothing wider than the screen', async () => {
  await withPage(browser, 'checkout_phone', async (page, problems) => {
    await open(page);
    for (const name of [LAMP, BOOK, BULB, COURSE]) await add(page, name);
    await page.selectOption('#country', 'CA');
    await page.check('#business');
    await page.fill('#company', 'UneRaisonSocialeBeaucoupTropLonguePourUnÉcranDeTéléphone');
    await page.fill('#code', 'BIENVENUE10');
    await page.press('#code', 'Enter');
    await page.fill('#code', 'UNCODEBEAUCOUPTROPLONGQUINEXISTEPAS');
    await page.press('#code', 'Enter');
    const layout = await page.evaluate(() => {
      const doc = document.documentElement;
      // Boxes past the right edge, and boxes whose content (a long word) overflows them.
      const wide = [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > doc.clientWidth + 0.5 || (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0))
        .map((e) => `${e.tagName}#${e.id}.${e.className}`);
      const left = (s) => Math.round(document.querySelector(s).getBoundingClientRect().left);
      return { scroll: doc.scrollWidth, client: doc.clientWidth, wide, products: left('#products'), summary: left('#breakdown') };
    });
    assert.equal(layout.client, 375);
    assert.deepEqual(layout.wide, []);
    assert.ok(layout.scroll <= layout.client, `horizontal scroll: ${layout.scroll} > ${layout.client}`);
    assert.equal(layout.products, layout.summary, 'one column');
    // The summary is far below: a bar shows the total and jumps to it (then steps aside).
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForSelector('#jump', { state: 'visible' });
    assert.equal(await text(page, '#jump strong'), await total(page));
    await page.click('#jump');
    await page.waitForSelector('#jump', { state: 'hidden' });
    assert.ok(await page.locator('#summary-title').isVisible());
    assert.equal(await page.evaluate(() => document.activeElement.id), 'summary');
    assert.deepEqual(problems, []);
  }, { width: 375, height: 800 });
});

test('keyboard only: every control is labelled, focus follows the page, Enter applies a code and pays', async () => {
  await withPage(browser, 'checkout_keyboard', async (page, problems) => {
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-state="ready"]');
    // Every control has a name a screen reader can say; the total is a live region.
    const unnamed = await page.$$eval('#app input, #app select, #app button, header select', (els) =>
      els.filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim())).map((e) => e.outerHTML));
    assert.deepEqual(unnamed, []);
    assert.equal(await page.locator('#total').getAttribute('aria-live'), 'polite');

    const focused = () => page.evaluate(() => {
      const e = document.activeElement;
      return e === document.body ? 'body' : e.id || e.getAttribute('aria-label') || e.value || e.textContent.trim();
    });
    async function tabTo(target, limit = 40) {
      for (let i = 0; i < limit; i += 1) {
        await page.keyboard.press('Tab');
        if ((await focused()) === target) return;
      }
      throw new Error(`${target} not reached with Tab (focus on ${await focused()})`);
    }
    // Forward-only tabbing reaches each of these in this order (the page's reading order).
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Aller au paiement');
    await tabTo('locale');
    await page.keyboard.type('Fr'); // type-ahead in a closed select: Français (France)
    assert.equal(await page.inputValue('#locale'), 'fr-FR');
    await tabTo(`Ajouter ${LAMP} au panier`);
    await page.keyboard.press('Enter');
    await tabTo(`Ajouter ${BOOK} au panier`);
    await page.keyboard.press('Space');
    await tabTo(`Un ${LAMP} de plus`);
    await page.keyboard.press('Enter');
    assert.equal(await page.locator(quantity(LAMP)).inputValue(), '2');
    // The summary (with the code field) comes before the details in reading order.
    await tabTo('code');
    await page.keyboard.type('bienvenue10');
    await page.keyboard.press('Enter');
    assert.match(await text(page, '#code-message'), /^BIENVENUE10 appliqué/);
    await tabTo('email');
    await page.keyboard.type('jonas@example.de');
    await tabTo('name');
    await page.keyboard.type('Jonas Keller');
    await tabTo('country');
    await page.keyboard.type('Allem'); // type-ahead in a closed select picks Allemagne (fr-FR names)
    assert.equal(await page.inputValue('#country'), 'DE');
    await tabTo('line1');
    await page.keyboard.type('Unter den Linden 5');
    await tabTo('postal');
    await page.keyboard.type('10117');
    await tabTo('city');
    await page.keyboard.type('Berlin');
    // Germany: 10 % off 202.00 → 160.20 × 19 % = 30.44 (30.438); 21.60 × 7 % = 1.51 (1.512) → 213.75.
    assert.equal(await shownTotal(page), 21375);
    const shown = await total(page);
    await tabTo('business');
    await tabTo('pm_card_visa');
    await tabTo('pay');
    await page.keyboard.press('Enter');
    await page.waitForURL(INVOICE_URL);
    assert.equal(spaces(await page.locator('#total').textContent()), shown);
    assert.deepEqual(problems, []);
  });
});

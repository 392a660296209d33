// Issue 17: the demo checkout as a shop owner expects it, in French and English, at 1280 and
// 375 px, against the real demo server: one language per page, addresses and email, the VAT
// number only where it applies, shopper wording, an empty cart, quantities that get a message,
// the look (product pictures, summary in view, trust cues). Screenshots go to
// tests/browser/screenshots/pages-*.png for people to look at.
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

const VIEWPORTS = [['desktop', { width: 1280, height: 900 }], ['phone', { width: 375, height: 800 }]];
const text = async (page, selector) => spaces(await page.locator(selector).first().innerText());

async function open(page, locale) {
  await page.goto(`${server.url}/${locale ? `?locale=${locale}` : ''}`);
  await page.waitForSelector('body[data-state="ready"]');
}
const add = (page, price) => page.click(`#products li[data-price="${price}"] button.add`);
async function fillDetails(page) {
  await page.fill('#email', 'camille@example.fr');
  await page.fill('#name', 'Camille Martin');
  await page.fill('#line1', '5 place Bellecour');
  await page.fill('#postal', '69002');
  await page.fill('#city', 'Lyon');
}

/**
 * Words that betray the other language. A French page must have none of the English ones and
 * vice versa (proper nouns such as "Colissimo" or "Visa" are in neither list).
 */
const ENGLISH = /\b(the|your|and|with|add|apply|pay|remove|total excluding|subtotal|shipping|cart|order|email address|postal code|city|country|business|card|succeeds|declined|included|reverse charge|export|rate|on €|VAT)\b/i;
const FRENCH = /\b(le|la|les|votre|vos|avec|ajouter|appliquer|payer|retirer|sous-total|livraison|panier|commande|adresse|ville|entreprise|carte|acceptée|refusée|incluse|autoliquidation|exportation|taux|sur|TVA|HT)\b/i;

/** The visible text of the page, plus labels only machines and screen readers see. */
const pageWords = (page) => page.evaluate(() => {
  const attrs = [...document.querySelectorAll('[aria-label], [placeholder], [title]')]
    .map((e) => [e.getAttribute('aria-label'), e.getAttribute('placeholder'), e.getAttribute('title')].filter(Boolean).join(' '));
  // Select options are lists of proper nouns (states, languages named in their own language) and
  // the picture placeholders are initials: left out; the chosen option is read instead.
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('select, .thumb, script').forEach((e) => e.remove());
  const chosen = [...document.querySelectorAll('select:not([hidden])')].map((s) => s.id === 'locale' ? '' : s.selectedOptions[0]?.textContent ?? '');
  document.body.append(clone);
  clone.hidden = false;
  const visible = clone.innerText;
  clone.remove();
  return `${document.title}\n${visible}\n${chosen.join('\n')}\n${attrs.join('\n')}`;
});

test('the French demo shop opens in French; English on request; no fragment of the other language, desktop and phone', async () => {
  for (const [size, viewport] of VIEWPORTS) {
    for (const locale of ['fr-FR', 'en-GB']) {
      await withPage(browser, `pages_lang_${locale}_${size}`, async (page, problems) => {
        // The default (no ?locale=) is French whatever the browser prefers.
        await open(page, locale === 'fr-FR' ? null : locale);
        const fr = locale === 'fr-FR';
        assert.equal(await page.evaluate(() => document.documentElement.lang), fr ? 'fr' : 'en');
        // A cart that shows every kind of line: goods, a reduced rate, shipping and its free
        // offer, a code, VAT per rate, then a German business (intra-EU supply) and an export.
        await add(page, 'price_lamp');
        await add(page, 'price_book');
        await add(page, 'price_course');
        await page.fill('#code', 'BIENVENUE10');
        await page.press('#code', 'Enter');
        await page.fill('#code', 'NOPE');
        await page.press('#code', 'Enter');
        await page.fill('#cart li[data-price="price_lamp"] input.quantity', '0');
        const words = [await pageWords(page)];
        await snap(page, `pages-checkout-${locale}-${size}`);
        await page.fill('#cart li[data-price="price_lamp"] input.quantity', '2');
        await page.check('#business');
        await page.selectOption('#country', 'DE');
        await page.fill('#vat', 'DE136695976');
        words.push(await pageWords(page));
        await page.selectOption('#country', 'US');
        words.push(await pageWords(page));
        await page.click('#pay'); // details missing: every message in the page's language
        words.push(await pageWords(page));
        const all = words.join('\n')
          // Product, coupon and promotion names are the shop's catalog data: French names on the
          // French page, their `metadata.name_en` on the English one; check both sides.
          .replace(/Atelier Lumière|Lumière|Colissimo|Visa|Mastercard|billcalc|WebAssembly|Lyon|BIENVENUE10|NOPE|E27|LED|UK|US/g, '');
        const wrong = fr ? ENGLISH : FRENCH;
        const hit = wrong.exec(all);
        assert.equal(hit, null, `${locale}: "${hit?.[0]}" in …${hit ? all.slice(Math.max(0, hit.index - 60), hit.index + 60) : ''}…`);
        assert.ok((await overflow(page)) <= 0, 'no horizontal scroll');
        assert.deepEqual(problems, []);
      }, viewport);
    }
  }
});

test('switching the language redraws every word, keeps the cart, and the amounts follow the locale', async () => {
  await withPage(browser, 'pages_switch', async (page, problems) => {
    await open(page);
    await add(page, 'price_lamp');
    assert.equal(await text(page, '#cart-title'), 'Votre panier');
    assert.equal(await text(page, '#pay'), 'Payer 115,08 €');
    await page.selectOption('#locale', 'en-GB');
    assert.equal(await text(page, '#cart-title'), 'Your cart');
    assert.equal(await text(page, '#cart li[data-price="price_lamp"] .name'), 'Lumière lamp (brass) 1 × €89.00');
    assert.equal(await text(page, '#pay'), 'Pay €115.08');
    assert.deepEqual((await page.locator('#breakdown tr th').allInnerTexts()).map(spaces),
      ['Lumière lamp (brass) × 1', 'Colissimo shipping × 1', 'Total excluding VAT', 'VAT 20% France · on €95.90']);
    await page.selectOption('#locale', 'fr-FR');
    assert.deepEqual((await page.locator('#breakdown tr th').allInnerTexts()).map(spaces),
      ['Lampe Lumière (laiton) × 1', 'Livraison Colissimo × 1', 'Total HT', 'TVA 20 % France · sur 95,90 €']);
    assert.deepEqual(problems, []);
  });
});

test('empty cart: a real empty state, nothing to pay, and shopper wording in the summary', async () => {
  for (const [size, viewport] of VIEWPORTS) {
    await withPage(browser, `pages_empty_${size}`, async (page, problems) => {
      await open(page);
      assert.equal(await page.locator('#cart-empty').isVisible(), true);
      assert.equal(await text(page, '#cart-empty'), 'Votre panier est vide. Choisissez un luminaire ou un atelier ci-dessus : le total, TVA comprise, s’affiche aussitôt.');
      assert.equal(await page.locator('#cart').isVisible(), false);
      assert.equal(await page.locator('#pay').isDisabled(), true);
      assert.equal(await text(page, '#pay-hint'), 'Ajoutez un article pour payer.');
      await snap(page, `pages-empty-${size}`);
      // A cart without order-level discount: "Total HT" once, no "Sous-total" repeating it.
      await add(page, 'price_shade');
      assert.equal(await page.locator('#breakdown #subtotal').count(), 0);
      // With an order-level code, both, because they differ: 2 × 29.00 + 6.90 = 64.90; −10 % of
      // the products (5.80) → 59.10 excl. VAT.
      await add(page, 'price_shade');
      await page.fill('#code', 'BIENVENUE10');
      await page.press('#code', 'Enter');
      assert.equal(await text(page, '#breakdown #subtotal td'), '64,90 €');
      assert.equal(await text(page, '#breakdown #total-excluding-tax td'), '59,10 €');
      // No EN 16931 category letters or engine words on screen.
      const summary = await text(page, '#summary');
      assert.doesNotMatch(summary, /\b(S|AE|G|K|O|Z|E)\b|standard_rated|taxability|category/);
      assert.deepEqual(problems, []);
    }, viewport);
  }
});

test('a typed quantity of 0, -2, 2.5 or 1000 gets a message instead of silently reverting; Pay waits', async () => {
  for (const [locale, messages] of [
    ['fr-FR', {
      0: 'Au moins 1 article ; pour l’enlever, utilisez « Retirer ».', '-2': 'Au moins 1 article ; pour l’enlever, utilisez « Retirer ».',
      2.5: 'Indiquez un nombre entier d’articles (par exemple 2).', 1000: '999 articles au plus par commande ; pour davantage, contactez-nous.',
    }],
    ['en-GB', {
      0: 'At least 1 item; to take it out, use “Remove”.', '-2': 'At least 1 item; to take it out, use “Remove”.',
      2.5: 'Enter a whole number of items (for example 2).', 1000: 'At most 999 items per order; for more, contact us.',
    }],
  ]) {
    for (const [size, viewport] of VIEWPORTS) {
      await withPage(browser, `pages_quantity_${locale}_${size}`, async (page, problems) => {
        await open(page, locale);
        await add(page, 'price_bulb');
        const input = '#cart li[data-price="price_bulb"] input.quantity';
        const total = await page.locator('#total').getAttribute('data-total');
        for (const typed of ['0', '-2', '2.5', '1000']) {
          await page.fill(input, typed);
          assert.equal(await text(page, '#cart li[data-price="price_bulb"] .qty-error'), messages[typed], `${locale} ${typed}`);
          assert.equal(await page.locator(input).getAttribute('aria-invalid'), 'true');
          assert.equal(await page.inputValue(input), typed, 'what was typed stays, with the message');
          assert.equal(await page.locator('#total').getAttribute('data-total'), total, 'the cart keeps its last valid quantity');
          assert.equal(await page.locator('#pay').isDisabled(), true);
          assert.equal(await text(page, '#pay-hint'), messages[typed]);
        }
        if (size === 'phone') await snap(page, `pages-quantity-${locale}-${size}`);
        await page.fill(input, '3');
        assert.equal(await text(page, '#cart li[data-price="price_bulb"] .qty-error'), '');
        assert.equal(await page.locator('#pay').isDisabled(), false);
        // 3 × 12.90 = 38.70 + shipping 6.90 = 45.60 + 20 % = 54.72.
        assert.equal(await page.locator('#total').getAttribute('data-total'), '5472');
        assert.deepEqual(problems, []);
      }, viewport);
    }
  }
});

test('billing address and email are asked for; the postal code feeds tax; the VAT number only for EU businesses; shipping only for goods', async () => {
  for (const [size, viewport] of VIEWPORTS) {
    await withPage(browser, `pages_details_${size}`, async (page, problems) => {
      await open(page);
      await add(page, 'price_course');
      // An online course alone ships nothing: no shipping address block.
      assert.equal(await page.locator('#shipping-block').isVisible(), false);
      await add(page, 'price_lamp');
      assert.equal(await page.locator('#shipping-block').isVisible(), true);
      await page.uncheck('#ship-same');
      assert.equal(await page.locator('#ship-line1').isVisible(), true);

      // Pay without details: each missing field says so, focus goes to the first, nothing is sent.
      const sent = [];
      page.on('request', (r) => { if (r.url().includes('/v1/demo/checkout')) sent.push(r); });
      await page.click('#pay');
      assert.equal(await text(page, '#pay-message'), 'Renseignez votre e-mail et votre adresse pour payer.');
      for (const id of ['email', 'name', 'line1', 'postal', 'city', 'ship-line1']) {
        assert.equal(await text(page, `#${id}-error`), 'Ce champ est obligatoire.', id);
        assert.equal(await page.locator(`#${id}`).getAttribute('aria-invalid'), 'true', id);
      }
      assert.equal(await page.evaluate(() => document.activeElement.id), 'email');
      await page.fill('#email', 'camille@');
      assert.equal(await text(page, '#email-error'), 'Cette adresse e-mail n’est pas complète (exemple : camille@exemple.fr).');
      await snap(page, `pages-details-missing-${size}`);
      await fillDetails(page);
      assert.equal(await text(page, '#email-error'), '');

      // The postal code is in the cart the engine prices: Spain, Canary Islands (35…) is outside
      // the EU VAT area — no VAT, and a note in words; Madrid (28…) pays Spanish VAT.
      await page.selectOption('#country', 'ES');
      await page.fill('#postal', '28001');
      assert.deepEqual(await page.evaluate(() => window.billcalcCheckout.cart.customer.address),
        { country: 'ES', line1: '5 place Bellecour', postal_code: '28001', city: 'Lyon' });
      // Lamp 89.00 + course 49.00 + shipping 6.90 (follows the lamp) at 21 %: 30.43 (30.429) → 175.33.
      assert.equal(await page.locator('#total').getAttribute('data-total'), '17533');
      await page.fill('#postal', '35001');
      assert.equal(await page.locator('#total').getAttribute('data-total'), '14490');
      assert.equal(await text(page, '#notes [data-note="special_territory"]'), 'Règles de TVA propres au territoire : îles Canaries (selon le code postal).');
      assert.match(await text(page, '#breakdown tr.tax th'), /^Territoire hors du champ de la TVA de l’UE, TVA non applicable/);

      // The VAT-number field: businesses only, and only in the EU (where it changes the VAT and
      // goes on the invoice); outside the EU a business gives its company name only.
      assert.equal(await page.locator('#vat').isVisible(), false);
      await page.check('#business');
      assert.equal(await page.locator('#vat').isVisible(), true);
      assert.equal(await page.locator('#company').isVisible(), true);
      await page.selectOption('#country', 'CH');
      assert.equal(await page.locator('#vat').isVisible(), false);
      assert.equal(await page.locator('#company').isVisible(), true);
      assert.ok((await overflow(page)) <= 0, 'no horizontal scroll');
      assert.deepEqual(sent, [], 'nothing is sent while details are missing');
      assert.deepEqual(problems, []);
    }, viewport);
  }
});

test('look: product pictures, the summary stays in view on desktop while paying, trust cues, numbered steps', async () => {
  await withPage(browser, 'pages_look', async (page, problems) => {
    await open(page);
    for (const price of ['price_lamp', 'price_book', 'price_shade']) await add(page, price);
    await fillDetails(page);
    assert.equal(await page.locator('#products .thumb').count(), 5);
    assert.equal(await page.locator('#cart .thumb').count(), 3);
    assert.deepEqual((await page.locator('.trust li').allInnerTexts()).map(spaces), [
      'Paiement chiffré ; votre carte n’est jamais stockée par la boutique',
      'Total calculé au centime, le même que celui débité',
      'Facture conforme envoyée par e-mail',
    ]);
    assert.deepEqual((await page.locator('h2 .step').allInnerTexts()), ['1', '2']);
    // Scrolled down to the Pay button, the summary with its total is still on screen.
    await page.locator('#pay').scrollIntoViewIfNeeded();
    const box = await page.locator('#summary .grand-total').boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 900, `the total is in view: ${JSON.stringify(box)}`);
    const summaryLeft = (await page.locator('#summary').boundingBox()).x;
    const payLeft = (await page.locator('#pay').boundingBox()).x;
    assert.ok(summaryLeft > payLeft + 400, 'the summary is a column of its own on desktop');
    await snap(page, 'pages-look-desktop-scrolled', { fullPage: false });
    assert.deepEqual(problems, []);
  }, { width: 1280, height: 900 });
});

// The subscription page in headless Chromium against the real server (started like
// `bash scripts/demo.sh`, fresh database): subscribe, change plan and users, see the proration
// preview computed in wasm with no network call, confirm, and find the server's invoice equal to
// the preview. The expected numbers are computed here by hand from the demo catalog (Essentiel
// 9 €, Pro 19 € per user and month; VAT 20 % for the French demo customer, rounded per line,
// half up) and the proration date and period the page used.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SERVER_ERROR_CODES, SUBSCRIPTION_PAGE, errorSentence } from '../../www/messages.js';
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

const ESSENTIEL = 900n;
const PRO = 1900n;

/** round(num / den) half up, for num ≥ 0 (exact integers). */
const halfUp = (num, den) => (2n * num + den) / (2n * den);
/** A signed amount's share `r / len` of `full`, rounded on its magnitude (the engine's rule). */
const share = (full, r, len) => (full < 0n ? -halfUp(-full * r, len) : halfUp(full * r, len));
/** 20 % VAT on a line, rounded on its magnitude. */
const vat = (amount) => (amount < 0n ? -halfUp(-amount * 20n, 100n) : halfUp(amount * 20n, 100n));
const euros = (minor) => spaces(new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR' }).format(Number(minor) / 100));

async function api(path, key, init = {}) {
  const response = await fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) } });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

const previewData = (page) => page.locator('#preview').evaluate((el) => ({ ...el.dataset }));

test('subscription page: subscribe, preview a change in wasm, confirm, the server invoice equals the preview', async () => {
  await withPage(browser, 'subscription', async (page, problems) => {
    await page.goto(`${server.url}/subscription.html`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('#start').isVisible(), true);

    // Subscribe: Essentiel × 3 → 27 € + 5.40 € VAT = 32.40 €, paid.
    await page.locator('input[name="start-plan"][value="price_essentiel_monthly"]').check();
    await page.locator('#start-seats').fill('3');
    await page.locator('#subscribe').click();
    await page.waitForSelector('#change:not([hidden])');
    const id = await page.locator('#current').getAttribute('data-subscription');
    let sub = await api(`/v1/demo/subscriptions/${id}`, server.publishableKey);
    assert.deepEqual(sub.items.map((i) => [i.price, i.quantity]), [['price_essentiel_monthly', 3]]);
    const first = await api(sub.latest_invoice.url, server.secretKey);
    assert.equal(first.total, 3240);
    assert.equal(first.amount_paid, 3240);
    assert.match(first.number, /^F\d{4}-000001$/);
    assert.equal(spaces(await page.locator('#current-seats').textContent()), '3');
    assert.match(spaces(await page.locator('#current-next').textContent()), /^32,40 € le \d{1,2}(er)? \S+ \d{4} \(TTC\)$/);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');

    // Change to Pro × 5: the preview is computed in the page, with no request.
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.locator('input[name="plan"][value="price_pro_monthly"]').check();
    await page.locator('#seats').fill('5');
    await page.waitForFunction(() => document.querySelector('#preview').dataset.total && !document.querySelector('#preview').hidden
      && document.querySelector('#seats').value === '5');
    assert.deepEqual(requests, [], 'the preview makes no network call');
    let shown = await previewData(page);
    const start = BigInt(sub.current_period_start);
    const end = BigInt(sub.current_period_end);
    const len = end - start;
    const p1 = BigInt(shown.prorationDate);
    assert.ok(p1 >= start && p1 < end);
    const r1 = end - p1;
    // Credit for the unused time of 3 × 9 €, charge for the remaining time of 5 × 19 €, and the
    // next period of Pro × 5 in advance; VAT per line.
    const credit1 = share(-3n * ESSENTIEL, r1, len);
    const charge1 = share(5n * PRO, r1, len);
    const renewal = 5n * PRO;
    const total1 = credit1 + charge1 + renewal + vat(credit1) + vat(charge1) + vat(renewal);
    assert.equal(BigInt(shown.credit), credit1);
    assert.equal(BigInt(shown.charge), charge1);
    assert.equal(BigInt(shown.total), total1);
    assert.equal(BigInt(shown.amountDue), total1);
    assert.equal(BigInt(shown.created), end, 'on the next invoice, at the end of the period');
    assert.equal(spaces(await page.locator('#preview-credit').textContent()), euros(credit1));
    assert.equal(spaces(await page.locator('#preview-charge').textContent()), euros(charge1));
    assert.equal(spaces(await page.locator('#preview-next').textContent()), euros(total1));
    assert.equal(spaces(await page.locator('#preview-totals tr.total td').textContent()), euros(total1));
    assert.equal(await page.locator('#preview-lines tr').count(), 3);

    // Confirm: the server commits at the same proration_date and recomputes the same invoice.
    await page.locator('#confirm').click();
    await page.waitForSelector('#result[data-equal]');
    assert.equal(await page.locator('#result').getAttribute('data-equal'), 'true', await page.locator('#result').textContent());
    assert.equal(BigInt(await page.locator('#result').getAttribute('data-server-total')), total1);
    const commit1 = await page.evaluate(() => window.lastCommit);
    assert.deepEqual(commit1.server.change.invoice, commit1.shown);
    assert.equal(commit1.server.change.proration_date, Number(p1));
    sub = await api(`/v1/demo/subscriptions/${id}`, server.publishableKey);
    assert.deepEqual(sub.items.map((i) => [i.price, i.quantity]), [['price_pro_monthly', 5]]);
    assert.deepEqual(sub.pending_invoice_items.map((p) => BigInt(p.amount)), [credit1, charge1]);
    assert.equal(BigInt(sub.upcoming_invoice.total), total1, "the server's next invoice is the preview");
    assert.equal(spaces(await page.locator('#current-seats').textContent()), '5');

    // Keyboard only: 5 → 7 users, billed now.
    await page.locator('#seats').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('7');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'invoice-now');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelector('#invoice-now').checked
      && document.querySelector('#preview').dataset.created !== undefined
      && !document.querySelector('#preview').hidden
      && document.querySelector('#preview-next-label').textContent.startsWith('À payer maintenant'));
    shown = await previewData(page);
    const p2 = BigInt(shown.prorationDate);
    const r2 = end - p2;
    // The invoice issued now: credit for 5 users, charge for 7 over the time left, and the
    // prorations still pending from the first change.
    const credit2 = share(-5n * PRO, r2, len);
    const charge2 = share(7n * PRO, r2, len);
    const lines2 = [credit2, charge2, credit1, charge1];
    const total2 = lines2.reduce((s, a) => s + a + vat(a), 0n);
    assert.equal(BigInt(shown.total), total2);
    assert.equal(BigInt(shown.amountDue), total2);
    assert.equal(BigInt(shown.credit), credit2 + credit1);
    assert.equal(BigInt(shown.charge), charge2 + charge1);
    assert.equal(BigInt(shown.created), p2, 'issued at the proration date');
    assert.equal(spaces(await page.locator('#preview-next').textContent()), euros(total2));
    await page.locator('#confirm').focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#result[data-equal] #issued-invoice-link');
    assert.equal(await page.locator('#result').getAttribute('data-equal'), 'true');
    const commit2 = await page.evaluate(() => window.lastCommit);
    const issued = commit2.server.change.invoice_issued;
    assert.match(issued.number, /^F\d{4}-000002$/);
    assert.equal(BigInt(issued.amount_paid), total2);
    const document2 = await api(issued.url, server.secretKey);
    assert.deepEqual(document2.quote, commit2.shown, 'the issued invoice is the one the page showed');
    const html = await (await fetch(`${server.url}${await page.locator('#issued-invoice-link').getAttribute('href')}`)).text();
    assert.ok(spaces(html).includes(euros(total2)), 'the invoice page shows the same total');
    sub = await api(`/v1/demo/subscriptions/${id}`, server.publishableKey);
    assert.deepEqual(sub.items.map((i) => [i.price, i.quantity]), [['price_pro_monthly', 7]]);
    assert.deepEqual(sub.pending_invoice_items, []);
    assert.deepEqual(problems, [], 'no uncaught page errors');
  });
});

test('subscription page at phone width: no horizontal scrolling, labelled controls', async () => {
  await withPage(browser, 'subscription_phone', async (page, problems) => {
    await page.goto(`${server.url}/subscription.html`);
    await page.waitForSelector('body[data-ready="true"]');
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(await overflow() <= 0);
    await page.locator('#subscribe').click();
    await page.waitForSelector('#change:not([hidden])');
    await page.locator('input[name="plan"][value="price_pro_monthly"]').check();
    await page.waitForSelector('#preview:not([hidden])');
    assert.ok(await overflow() <= 0, 'readable at 375 px without scrolling sideways');
    // Every form control has a label.
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select')]
      .filter((el) => !el.labels || el.labels.length === 0).map((el) => el.id || el.name));
    assert.deepEqual(unlabelled, []);
    assert.deepEqual(problems, []);
  }, { width: 375, height: 740 });
});

// --- issue 17: the subscription page in French and English --------------------------------------

/** Words of one language that must not appear on a page in the other (whole words). */
const ENGLISH = /\b(Your subscription|Start a subscription|Users|Subscribe|Current plan|Price|Current period|Status|Next invoice|Account balance|Latest invoice|Change plan|Bill the difference|Credit for unused|Charge for the remaining|Line|Amount|Confirm change|Keep my plan|Total incl|Amount due|Due now|user|month|Active|Prices exclude|Loading|VAT)\b/;
const FRENCH = /\b(Votre abonnement|Souscrire|Offre|Utilisateurs|S’abonner|Offre actuelle|Prix|Période|Statut|Prochaine facture|Solde|Dernière facture|Changer d’offre|Facturer|Avoir|Montant|Ligne|Confirmer|Garder|TTC|utilisateur|mois|Actif|hors TVA|Chargement|TVA)\b/;

test('subscription page catalogues: the same keys in French and English; server error codes said in both', () => {
  assert.deepEqual(Object.keys(SUBSCRIPTION_PAGE.fr).sort(), Object.keys(SUBSCRIPTION_PAGE.en).sort());
  for (const code of SERVER_ERROR_CODES) {
    assert.notEqual(errorSentence({ code }, 'fr-FR'), errorSentence({ code }, 'en-GB'), code);
  }
  // Engine codes the server passes on are said by billcalc/messages; a declined card by its reason.
  assert.equal(errorSentence({ code: 'unknown_price' }, 'fr-FR'), 'Un article du panier n’est plus en vente.');
  assert.equal(errorSentence({ code: 'card_declined', decline_code: 'insufficient_funds' }, 'en-GB'), 'Your card has insufficient funds.');
  assert.equal(errorSentence({ code: 'something_new', message: 'English for developers' }, 'fr-FR'), 'Le serveur a refusé la demande.');
});

for (const [locale, width] of [['fr-FR', 1280], ['en-GB', 1280], ['fr-FR', 375], ['en-GB', 375]]) {
  test(`subscription page in ${locale} at ${width} px: every word in one language, taxes in words, a server error as a sentence`, async () => {
    const fr = locale === 'fr-FR';
    await withPage(browser, `subscription_${locale}_${width}`, async (page, problems) => {
      // French is the default (no parameter); English is a link away.
      await page.goto(`${server.url}/subscription.html${fr ? '' : '?locale=en-GB'}`);
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.evaluate(() => document.documentElement.lang), fr ? 'fr' : 'en');
      const wrong = fr ? ENGLISH : FRENCH;
      const words = async () => spaces(await page.locator('body').innerText());
      assert.doesNotMatch(await words(), wrong);
      assert.equal(spaces(await page.locator('#start-plans label').first().innerText()),
        fr ? 'Plan Essentiel 9,00 € / utilisateur / mois' : 'Essential plan €9.00 / user / month');
      await page.locator('#subscribe').click();
      await page.waitForSelector('#change:not([hidden])');
      assert.equal(spaces(await page.locator('#current-status').innerText()), fr ? 'Actif' : 'Active');
      await page.locator('input[name="plan"][value="price_pro_monthly"]').check();
      await page.waitForSelector('#preview:not([hidden])');
      // The VAT row in words (the French demo customer: 20 %), never "VAT 20 %" on a French page.
      assert.deepEqual((await page.locator('#preview-totals tr.tax th').allInnerTexts()).map(spaces), [fr ? 'TVA 20 %' : 'VAT 20%']);
      assert.match(spaces(await page.locator('#preview-lines tr').first().innerText()),
        fr ? /^Avoir pour la période non utilisée : Plan Essentiel × 3, du / : /^Credit for unused time: Essential plan × 3, /);
      const all = await words();
      assert.doesNotMatch(all.replace(/pm_card_visa/g, ''), wrong, all);
      assert.ok((await overflow(page)) <= 0, `horizontal scroll at ${width} px`);
      await snap(page, `subscription-${locale}-${width}-preview`);

      // The shop cancels the subscription meanwhile: confirming gets the server's code in words.
      const id = await page.locator('#current').getAttribute('data-subscription');
      const cancel = await fetch(`${server.url}/v1/subscriptions/${id}/cancel`, {
        method: 'POST', body: '{}',
        headers: { authorization: `Bearer ${server.secretKey}`, 'content-type': 'application/json', 'idempotency-key': `cancel-${id}` },
      });
      assert.equal(cancel.status, 200, await cancel.text());
      await page.locator('#confirm').click();
      await page.waitForSelector('#result[data-error-code]');
      assert.equal(await page.locator('#result').getAttribute('data-error-code'), 'subscription_canceled');
      assert.equal(spaces(await page.locator('#result').innerText()), fr
        ? 'Rien n’a changé : Cet abonnement est résilié : il ne peut plus être modifié.'
        : 'Not changed: This subscription is canceled: it can no longer be changed.');

      // The switch redraws every word in the other language.
      await page.selectOption('#locale', fr ? 'en-GB' : 'fr-FR');
      assert.equal(await page.evaluate(() => document.documentElement.lang), fr ? 'en' : 'fr');
      assert.doesNotMatch((await words()).replace(/pm_card_visa/g, ''), fr ? FRENCH : ENGLISH);
      assert.deepEqual(problems, []);
      await page.evaluate(() => localStorage.clear());
    }, { width, height: 900 });
  });
}

// The customer portal in headless Chromium against the real server (started like
// `bash scripts/demo.sh`): the merchant's back end creates a subscription whose renewal fails,
// then a portal session; the customer opens the signed link, sees the failed payment, saves a
// new card (the open invoice is paid at once), previews a change of users in wasm and confirms
// it (the server's invoice equals the preview), cancels at the period's end with a reason and
// undoes it — in French and in English, at 1280 px and at 375 px (screenshots in
// tests/browser/screenshots/portal-*.png, looked at by people).
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

async function api(path, { method = 'GET', body, key = server.secretKey, idempotencyKey } = {}) {
  const headers = { authorization: `Bearer ${key}` };
  if (body) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  const response = await fetch(`${server.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const json = await response.json();
  assert.equal(response.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

/** A subscription whose first renewal (a few seconds from now) fails: an open invoice, past_due. */
async function failedRenewal(customer, locale) {
  const now = Math.floor(Date.now() / 1000);
  const sub = await api('/v1/subscriptions', {
    method: 'POST',
    idempotencyKey: `create-${customer}`,
    body: {
      customer: { id: customer, name: 'Claire Martin', email: `${customer}@example.fr`, preferred_locales: [locale],
        address: { country: 'FR', postal_code: '69003', city: 'Lyon', line1: '8 cours Gambetta' } },
      items: [{ price: 'price_essentiel_monthly', quantity: 2 }],
      billing_cycle_anchor: now + 3,
      payment_method: 'pm_card_visa',
    },
  });
  await api(`/v1/subscriptions/${sub.id}`, { method: 'POST', idempotencyKey: `pm-${customer}`, body: { payment_method: 'pm_card_chargeDeclined' } });
  await new Promise((r) => setTimeout(r, 4000));
  const run = await api('/v1/automation/run', { method: 'POST', body: {} });
  const issued = run.renewals.issued.find((i) => i.subscription === sub.id);
  assert.equal(issued?.status, 'past_due', JSON.stringify(run));
  return sub;
}

async function portalUrl(customer, locale) {
  const session = await api('/v1/billing_portal/sessions', {
    method: 'POST',
    body: { customer, locale, return_url: `${server.url}/subscription.html` },
  });
  assert.match(session.url, /#session=bps1\./);
  // The configured page URL is the demo's; this server runs on another port.
  return `${server.url}/portal.html${session.url.slice(session.url.indexOf('#'))}`;
}

for (const [lang, locale, width] of [['fr', 'fr-FR', 1280], ['en', 'en-GB', 375]]) {
  test(`portal (${lang}, ${width} px): pay a failed invoice with a new card, change users, cancel and undo`, async () => {
    const customer = `cus_portal_${lang}_${width}`;
    const sub = await failedRenewal(customer, locale);
    const url = await portalUrl(customer, lang);
    await withPage(browser, `portal-${lang}-${width}`, async (page, problems) => {
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.locator('html').getAttribute('lang'), lang);
      assert.equal(await overflow(page), 0, 'no horizontal scrolling');

      // The failed payment is shown, with the invoice to pay.
      assert.equal(await page.locator('#alert').isVisible(), true);
      const alert = spaces(await page.locator('#alert p').textContent());
      assert.match(alert, lang === 'fr' ? /Le paiement de 21,60 € pour la facture F\d{4}-\d{6} a échoué\. Nous réessaierons le/ : /The payment of €21\.60 for invoice F\d{4}-\d{6} failed\. We will try again on/);
      assert.equal(spaces(await page.locator('#sub-status').textContent()), lang === 'fr' ? 'Paiement en retard' : 'Past due');
      assert.equal(await page.locator('.invoices li[data-status="open"]').count(), 1);
      await snap(page, `portal-${lang}-${width}-past-due`);

      // A new card: the open invoice is paid at once.
      await page.locator('#pm').selectOption('pm_card_visa');
      await page.locator('#exp-month').fill('11');
      await page.locator('#exp-year').fill('2031');
      await page.locator('#save-card').click();
      await page.waitForSelector('#pm-result.ok');
      assert.match(spaces(await page.locator('#pm-result').textContent()), lang === 'fr' ? /Facture F\d{4}-\d{6} payée/ : /Invoice F\d{4}-\d{6} is paid/);
      assert.equal(await page.locator('#alert').isVisible(), false);
      assert.equal(spaces(await page.locator('#sub-status').textContent()), lang === 'fr' ? 'Actif' : 'Active');
      assert.equal(await page.locator('.invoices li[data-status="open"]').count(), 0);
      assert.match(spaces(await page.locator('#card').textContent()), lang === 'fr' ? /Visa •••• 4242 — expire fin 11\/2031/ : /Visa •••• 4242 — expires end of 11\/2031/);
      const invoices = await api(`/v1/subscriptions/${sub.id}/invoices`);
      assert.deepEqual(invoices.data.map((i) => i.status), ['paid', 'paid']);
      const renewal = await api(invoices.data[1].url);
      assert.deepEqual(renewal.payment_attempts.map((a) => [a.outcome, a.decline_code, a.trigger]),
        [['failed', 'generic_decline', 'renewal'], ['succeeded', null, 'customer']]);

      // Change users: previewed in wasm, confirmed, the server computes the same invoice.
      await page.locator('#quantity').fill('5');
      await page.waitForSelector('#preview:not([hidden])');
      const shown = await page.locator('#preview').evaluate((el) => ({ ...el.dataset }));
      await page.locator('#confirm-change').click();
      await page.waitForSelector('#change-result.ok');
      assert.equal(await page.locator('#change-result').getAttribute('data-server-amount-due'), shown.amountDue);
      const after = await api(`/v1/subscriptions/${sub.id}`);
      assert.equal(after.items[0].quantity, 5);

      // Cancel at the period's end with a reason, then undo.
      await page.locator('#reason').selectOption('too_expensive');
      await page.locator('#comment').fill(lang === 'fr' ? 'Budget serré cette année' : 'Tight budget this year');
      await page.locator('#cancel-button').click();
      await page.waitForSelector('#ending');
      assert.equal((await api(`/v1/subscriptions/${sub.id}`)).cancel_at_period_end, true);
      const portal = await page.evaluate(() => window.billcalcPortal.data.subscriptions[0].cancellation_details);
      assert.equal(portal.feedback, 'too_expensive');
      assert.equal(await overflow(page), 0);
      await snap(page, `portal-${lang}-${width}-canceling`);
      await page.locator('#undo-cancel').click();
      await page.waitForSelector('#ending', { state: 'detached' });
      assert.equal((await api(`/v1/subscriptions/${sub.id}`)).cancel_at_period_end, false);

      // The other language, same page.
      const other = lang === 'fr' ? 'en' : 'fr';
      await page.locator('#lang').selectOption(other);
      assert.equal(await page.locator('html').getAttribute('lang'), other);
      assert.equal(spaces(await page.locator('#inv-title').textContent()), other === 'fr' ? 'Factures' : 'Invoices');
      await snap(page, `portal-${other}-${width}-active`);
      // And the other width.
      await page.setViewportSize(width === 375 ? { width: 1280, height: 900 } : { width: 375, height: 800 });
      assert.equal(await overflow(page), 0);
      await snap(page, `portal-${other}-${width === 375 ? 1280 : 375}-active`);

      // Webhooks and emails were written for all of it (the demo's outbox page reads this).
      const events = await api(`/v1/events?object=${invoices.data[1].id}`);
      assert.deepEqual(events.data.map((e) => e.type).reverse(), ['invoice.created', 'invoice.finalized', 'invoice.payment_failed', 'invoice.paid']);
      assert.deepEqual(problems, []);
    }, width === 375 ? { width: 375, height: 800 } : { width: 1280, height: 900 });
  });
}

test('portal: a forged, expired or missing session is refused', async () => {
  const customer = 'cus_portal_forged';
  await api('/v1/subscriptions', { method: 'POST', idempotencyKey: 'forged', body: {
    customer: { id: customer, email: 'x@example.fr' }, items: [{ price: 'price_essentiel_monthly' }], payment_method: 'pm_card_visa' } });
  const url = await portalUrl(customer, 'fr');
  const token = url.split('#session=')[1];
  const [prefix, claims, mac] = token.split('.');
  const other = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claims, 'base64url')), customer: 'cus_someone_else' })).toString('base64url');
  for (const bad of [`${prefix}.${other}.${mac}`, 'bps1.x.y', server.publishableKey]) {
    const r = await fetch(`${server.url}/v1/portal`, { headers: { authorization: `Bearer ${bad}` } });
    assert.equal(r.status, 401);
  }
  const ok = await fetch(`${server.url}/v1/portal`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  // Another customer's subscription is not reachable with this session.
  const r = await fetch(`${server.url}/v1/portal/subscriptions/sub_nope/cancel`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'x' }, body: '{}' });
  assert.equal(r.status, 404);
  await withPage(browser, 'portal-missing-session', async (page) => {
    await page.goto(`${server.url}/portal.html`);
    await page.waitForSelector('#status.error');
    assert.match(await page.locator('#status').textContent(), /n'est pas valide/);
  });
});

// The demo's dunning story, against the running demo server: a customer ("Claire Martin",
// French) subscribes to Essentiel × 2 with a renewal a few seconds away; her card is then
// refused at the renewal (invoice open, subscription past_due, a "payment failed" email with a
// portal link, webhooks). The script prints the portal link: open it, save a working test card,
// and the invoice is paid at once (receipt email with the invoice attached, invoice.paid and
// customer.subscription.updated webhooks). The outbox page (/outbox.html) shows the emails
// and the webhook deliveries.
//
// usage: node scripts/demo-dunning.mjs BASE_URL SECRET_KEY WEBHOOK_URL SECRET_FILE
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const [base, key, hookUrl, secretFile] = process.argv.slice(2);

async function api(path, body, idempotencyKey) {
  const headers = { authorization: `Bearer ${key}` };
  if (body) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  const r = await fetch(`${base}${path}`, { method: body ? 'POST' : 'GET', headers, body: body && JSON.stringify(body) });
  const json = await r.json();
  if (!r.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json;
}

// The demo's webhook endpoint (its secret is shown once, at creation: kept in SECRET_FILE).
const endpoints = await api('/v1/webhook_endpoints');
if (!(endpoints.data.some((e) => e.url === hookUrl) && existsSync(secretFile))) {
  const created = await api('/v1/webhook_endpoints', { url: hookUrl });
  writeFileSync(secretFile, created.secret);
}
readFileSync(secretFile, 'utf8');

const customer = `cus_demo_claire_${Date.now()}`;
const now = Math.floor(Date.now() / 1000);
const sub = await api('/v1/subscriptions', {
  customer: { id: customer, name: 'Claire Martin', email: 'claire.martin@example.fr', preferred_locales: ['fr-FR'],
    address: { country: 'FR', postal_code: '69003', city: 'Lyon', line1: '8 cours Gambetta' } },
  items: [{ price: 'price_essentiel_monthly', quantity: 2 }],
  billing_cycle_anchor: now + 4,
  payment_method: 'pm_card_visa',
}, `demo-${customer}`);
// Her card stops working before the renewal.
await api(`/v1/subscriptions/${sub.id}`, { payment_method: 'pm_card_chargeDeclined' }, `demo-pm-${customer}`);
await new Promise((r) => setTimeout(r, 5000));
const run = await api('/v1/automation/run', {});
const renewal = run.renewals.issued.find((i) => i.subscription === sub.id);
const session = await api('/v1/billing_portal/sessions', { customer, locale: 'fr', return_url: `${base}/subscription.html` });
console.log(`dunning demo: ${customer}'s renewal ${renewal?.invoice?.number ?? ''} was declined (subscription ${renewal?.status ?? '?'}).`);
// The configured portal page is the demo's default address; point at this server.
const portal = `${base}/portal.html${session.url.slice(session.url.indexOf('#'))}`;
console.log(`  customer portal (pay with a new card): ${portal}`);
console.log(`  emails and webhooks: ${base}/outbox.html`);

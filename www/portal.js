// The customer portal. Reached through a link the merchant's back end creates
// (POST /v1/billing_portal/sessions): portal.html#session=bps1.… — the signed, expiring session
// rides in the fragment and is sent as a bearer token to /v1/portal…, which acts only on that
// customer. Plan and quantity changes are previewed in the browser with the wasm engine (the
// subscription's engine_input and the server's catalog, at one proration_date) and confirmed
// with the invoice the customer saw, which the server recomputes and must equal.
import init, { Calculator, decimalAmount, BillcalcError } from 'billcalc';
import { errorSentence, messages } from './messages.js';

const $ = (id) => document.getElementById(id);

const TEXT = {
  fr: {
    title: 'Espace client', language: 'Langue', back: 'Retour au site', subscription: 'Abonnement',
    change: "Changer d'offre ou d'utilisateurs", plan: 'Offre', quantity: "Nombre d'utilisateurs",
    confirm: 'Confirmer le changement', payment_method: 'Moyen de paiement',
    new_card: 'Nouvelle carte (cartes de test)', exp_month: "Mois d'expiration", exp_year: 'Année',
    save_card: 'Enregistrer la carte', invoices: 'Factures', cancel_title: 'Résilier',
    reason: 'Pourquoi partez-vous ?', comment: 'Un commentaire (facultatif)',
    cancel_button: 'Résilier à la fin de la période', foot: 'Lien personnel et temporaire : ne le partagez pas.',
    loading: 'Chargement…', ready: 'Votre abonnement, vos factures et votre moyen de paiement.',
    no_session: "Ce lien n'est pas valide. Demandez un nouveau lien depuis le site du marchand.",
    expired: 'Ce lien a expiré. Demandez un nouveau lien depuis le site du marchand.',
    for: (n, e) => `${n}${e ? ` · ${e}` : ''}`,
    status: { active: 'Actif', past_due: 'Paiement en retard', unpaid: 'Impayé', trialing: "Période d'essai", canceled: 'Résilié', incomplete: 'Incomplet' },
    invoice_status: { paid: 'Payée', open: 'À payer', void: 'Annulée', uncollectible: 'Irrécouvrable', draft: 'Brouillon' },
    period: 'Période en cours', users: 'Utilisateurs', next: 'Prochaine facture', status_label: 'Statut',
    next_value: (amount, date) => `${amount} le ${date}`, price: 'Prix',
    per: (amount, interval) => `${amount} / utilisateur / ${interval}`,
    intervals: { day: 'jour', week: 'semaine', month: 'mois', year: 'an' },
    ending: (date) => `Votre abonnement prendra fin le ${date}.`, undo: 'Ne pas résilier',
    undone: 'La résiliation est annulée : votre abonnement continue.',
    canceled_ok: (date) => `C'est noté : l'abonnement prendra fin le ${date}. Vous pouvez annuler la résiliation d'ici là.`,
    cancel_note: (date) => `L'abonnement reste actif jusqu'au ${date} ; rien de plus ne sera facturé.`,
    reasons: { too_expensive: 'Trop cher', missing_features: 'Il manque des fonctionnalités', switched_service: "J'utilise un autre service", unused: "Je ne l'utilise pas assez", customer_service: 'Service client', too_complex: 'Trop compliqué', low_quality: 'Qualité insuffisante', other: 'Autre raison' },
    card_none: 'Aucune carte enregistrée sur ce portail.', card: (b, l, m, y) => `${b} •••• ${l}${m ? ` — expire fin ${String(m).padStart(2, '0')}/${y}` : ''}`,
    card_saved: 'Carte enregistrée.', card_saved_paid: (n) => `Carte enregistrée. Facture ${n} payée.`,
    card_saved_failed: 'Carte enregistrée, mais le paiement a été refusé.',
    pay: 'Payer maintenant', view: 'Voir la facture', paid_ok: (n) => `Merci ! La facture ${n} est payée.`,
    pay_failed: (m) => `Le paiement a été refusé : ${m}`,
    alert: (amount, n) => `Le paiement de ${amount} pour la facture ${n} a échoué.`,
    alert_next: (date) => `Nous réessaierons le ${date}. Payez maintenant ou changez de carte pour régulariser.`,
    alert_none: "Nous ne réessaierons pas automatiquement : payez maintenant ou changez de carte.",
    attempts: (n) => `${n} tentative${n > 1 ? 's' : ''} de paiement`,
    preview_note: (date) => `Calculé dans votre navigateur, au prorata à la seconde près au ${date}.`,
    due_next: (date) => `Prochaine facture (${date})`, due_now: 'À payer maintenant',
    line_credit: (name, q) => `Crédit pour le temps non utilisé : ${name} × ${q}`,
    line_charge: (name, q) => `Temps restant : ${name} × ${q}`,
    line_plan: (name, q) => `${name} × ${q}`, total: 'Total TTC',
    changed: (amount, date) => `C'est fait. Le serveur a calculé la même facture : ${amount} le ${date}.`,
    not_changed: (m) => `Rien n'a changé : ${m}`, choose: 'Choisissez une autre offre ou un autre nombre d’utilisateurs.',
  },
  en: {
    title: 'Customer portal', language: 'Language', back: 'Back to the site', subscription: 'Subscription',
    change: 'Change plan or users', plan: 'Plan', quantity: 'Users', confirm: 'Confirm the change',
    payment_method: 'Payment method', new_card: 'New card (test cards)', exp_month: 'Expiry month', exp_year: 'Year',
    save_card: 'Save the card', invoices: 'Invoices', cancel_title: 'Cancel', reason: 'Why are you leaving?',
    comment: 'A comment (optional)', cancel_button: 'Cancel at the end of the period',
    foot: 'A personal, temporary link: do not share it.', loading: 'Loading…',
    ready: 'Your subscription, your invoices and your payment method.',
    no_session: 'This link is not valid. Ask for a new one on the merchant’s site.',
    expired: 'This link has expired. Ask for a new one on the merchant’s site.',
    for: (n, e) => `${n}${e ? ` · ${e}` : ''}`,
    status: { active: 'Active', past_due: 'Past due', unpaid: 'Unpaid', trialing: 'Trial', canceled: 'Canceled', incomplete: 'Incomplete' },
    invoice_status: { paid: 'Paid', open: 'Due', void: 'Void', uncollectible: 'Uncollectible', draft: 'Draft' },
    period: 'Current period', users: 'Users', next: 'Next invoice', status_label: 'Status',
    next_value: (amount, date) => `${amount} on ${date}`, price: 'Price',
    per: (amount, interval) => `${amount} / user / ${interval}`,
    intervals: { day: 'day', week: 'week', month: 'month', year: 'year' },
    ending: (date) => `Your subscription ends on ${date}.`, undo: 'Keep my subscription',
    undone: 'Cancellation undone: your subscription goes on.',
    canceled_ok: (date) => `Done: the subscription ends on ${date}. You can undo this until then.`,
    cancel_note: (date) => `The subscription stays active until ${date}; nothing more is billed.`,
    reasons: { too_expensive: 'Too expensive', missing_features: 'Missing features', switched_service: 'Switched to another service', unused: 'I don’t use it enough', customer_service: 'Customer service', too_complex: 'Too complex', low_quality: 'Quality', other: 'Other reason' },
    card_none: 'No card saved through this portal.', card: (b, l, m, y) => `${b} •••• ${l}${m ? ` — expires end of ${String(m).padStart(2, '0')}/${y}` : ''}`,
    card_saved: 'Card saved.', card_saved_paid: (n) => `Card saved. Invoice ${n} is paid.`,
    card_saved_failed: 'Card saved, but the payment was declined.',
    pay: 'Pay now', view: 'View invoice', paid_ok: (n) => `Thank you! Invoice ${n} is paid.`,
    pay_failed: (m) => `The payment was declined: ${m}`,
    alert: (amount, n) => `The payment of ${amount} for invoice ${n} failed.`,
    alert_next: (date) => `We will try again on ${date}. Pay now or update your card to settle it.`,
    alert_none: 'We will not retry automatically: pay now or update your card.',
    attempts: (n) => `${n} payment attempt${n > 1 ? 's' : ''}`,
    preview_note: (date) => `Computed in your browser, prorated to the second as of ${date}.`,
    due_next: (date) => `Next invoice (${date})`, due_now: 'Due now',
    line_credit: (name, q) => `Credit for unused time: ${name} × ${q}`,
    line_charge: (name, q) => `Remaining time: ${name} × ${q}`,
    line_plan: (name, q) => `${name} × ${q}`, total: 'Total incl. VAT',
    changed: (amount, date) => `Done. The server computed the same invoice: ${amount} on ${date}.`,
    not_changed: (m) => `Nothing changed: ${m}`, choose: 'Choose another plan or number of users.',
  },
};

const state = { token: null, data: null, lang: 'fr', calculator: null, clock: null, prorationDate: null, preview: null };
window.billcalcPortal = state; // for tests

const t = (key, ...args) => {
  const v = TEXT[state.lang][key];
  return typeof v === 'function' ? v(...args) : v;
};
const intl = () => (state.lang === 'fr' ? 'fr-FR' : 'en-GB');

function money(minor, currency) {
  return new Intl.NumberFormat(intl(), { style: 'currency', currency: currency.toUpperCase() }).format(decimalAmount(minor, currency));
}
function day(unix) {
  return new Intl.DateTimeFormat(intl(), { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(unix * 1000));
}
function instant(unix) {
  return new Intl.DateTimeFormat(intl(), { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(unix * 1000)) + ' UTC';
}

/**
 * A failure in words, in the page's language: an engine error by its code (billcalc/messages), a
 * server error by its code (www/messages.js), never the English `message` meant for developers.
 */
function say(e) {
  if (e instanceof BillcalcError) return messages(intl()).error(e);
  return errorSentence(e?.error ?? e ?? { code: 'network' }, intl());
}

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

async function api(method, path, body, idempotencyKey) {
  const headers = { authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await response.json().catch(() => ({}));
  if (!response.ok && !json.invoice) {
    const e = json.error ?? { code: `http_${response.status}`, message: response.statusText };
    throw Object.assign(new Error(e.message), { status: response.status, error: e });
  }
  return json;
}

const sub = () => state.data.subscriptions.find((s) => s.status !== 'canceled') ?? state.data.subscriptions.at(-1);
/** A product's name in the page's language: `metadata.name_en` on the English page. */
const productName = (id) => {
  const product = state.data.catalog.products?.find((p) => p.id === id);
  return (state.lang !== 'fr' && product?.metadata?.[`name_${state.lang}`]) || product?.name || id;
};
const priceOf = (id) => state.data.catalog.prices?.find((p) => p.id === id);
function plans() {
  const s = sub();
  return (state.data.catalog.prices ?? []).filter((p) => p.recurring && (p.recurring.usage_type ?? 'licensed') === 'licensed'
    && p.currency === s.currency && p.unit_amount !== undefined);
}
function planLabel(price) {
  const siblings = plans().filter((p) => p.product === price.product);
  const name = productName(price.product);
  return siblings.length > 1 ? `${name} (${t('intervals')[price.recurring.interval]})` : name;
}

function translate() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  document.title = `${t('title')} — ${state.data?.seller?.name ?? ''}`;
  const reasons = state.data?.cancellation_reasons ?? [];
  const order = ['too_expensive', 'missing_features', 'switched_service', 'unused', 'too_complex', 'low_quality', 'customer_service', 'other'];
  $('reason').replaceChildren(...order.filter((r) => reasons.includes(r)).map((r) => new Option(t('reasons')[r], r)));
}

function renderAlert() {
  const open = state.data.invoices.filter((i) => i.status === 'open');
  const el = $('alert');
  el.replaceChildren();
  el.hidden = open.length === 0;
  if (!open.length) return;
  const i = open[0];
  const p = document.createElement('p');
  p.textContent = `${t('alert', money(i.amount_remaining, i.currency), i.number)} ${i.next_payment_attempt ? t('alert_next', day(i.next_payment_attempt)) : t('alert_none')}`;
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = `${t('pay')} — ${money(i.amount_remaining, i.currency)}`;
  b.id = 'alert-pay';
  b.addEventListener('click', () => pay(i, b));
  el.append(p, b);
}

function renderSubscriptions() {
  const box = $('subscriptions');
  box.replaceChildren();
  for (const s of state.data.subscriptions) {
    const item = s.items[0];
    const price = priceOf(item.price);
    const div = document.createElement('div');
    div.className = 'sub';
    div.dataset.id = s.id;
    const h = document.createElement('p');
    const strong = document.createElement('strong');
    strong.textContent = price ? planLabel(price) : item.price;
    const badge = document.createElement('span');
    badge.className = `badge ${s.status}`;
    badge.id = 'sub-status';
    badge.textContent = t('status')[s.status] ?? s.status;
    h.append(strong, ' ', badge);
    const dl = document.createElement('dl');
    const add = (k, v) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      dl.append(dt, dd);
    };
    add(t('users'), String(item.quantity));
    if (price) add(t('price'), t('per', money(price.unit_amount, price.currency), t('intervals')[price.recurring.interval]));
    if (s.status !== 'canceled') add(t('period'), `${day(s.current_period_start)} – ${day(s.current_period_end)}`);
    const next = s.upcoming_invoice;
    if (next && !s.cancel_at_period_end) add(t('next'), t('next_value', money(next.amount_due, s.currency), day(next.created)));
    div.append(h, dl);
    if (s.cancel_at_period_end && s.status !== 'canceled') {
      const ending = document.createElement('div');
      ending.className = 'ending';
      ending.id = 'ending';
      const p = document.createElement('p');
      p.textContent = t('ending', day(s.current_period_end));
      const undo = document.createElement('button');
      undo.type = 'button';
      undo.id = 'undo-cancel';
      undo.textContent = t('undo');
      undo.addEventListener('click', () => renew(s, undo));
      ending.append(p, undo);
      div.append(ending);
    }
    box.append(div);
  }
}

function renderCard() {
  const c = state.data.payment_method;
  $('card').textContent = c?.brand ? t('card', c.brand[0].toUpperCase() + c.brand.slice(1), c.last4, c.exp_month, c.exp_year) : t('card_none');
}

function renderInvoices() {
  const list = $('invoices');
  list.replaceChildren(...state.data.invoices.map((i) => {
    const li = document.createElement('li');
    li.dataset.id = i.id;
    li.dataset.status = i.status;
    const cell = (cls, text) => {
      const s = document.createElement('span');
      s.className = cls;
      s.textContent = text;
      return s;
    };
    const status = cell('state', '');
    const badge = cell(`badge ${i.status === 'open' ? 'past_due' : ''}`, t('invoice_status')[i.status] ?? i.status);
    status.append(badge);
    const actions = document.createElement('span');
    actions.className = 'actions';
    const a = document.createElement('a');
    a.href = i.hosted_invoice_url;
    a.textContent = t('view');
    a.target = '_blank';
    a.rel = 'noopener';
    actions.append(a);
    if (i.attempt_count > 1 || i.status === 'open') actions.append(cell('attempts', t('attempts', i.attempt_count)));
    if (i.status === 'open') {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'pay';
      b.textContent = t('pay');
      b.addEventListener('click', () => pay(i, b));
      actions.append(b);
    }
    li.append(cell('number', i.number), cell('amount', money(i.total, i.currency)), cell('date', day(i.created)), status, actions);
    return li;
  }));
}

function renderChange() {
  const s = sub();
  const show = s && ['active', 'trialing', 'past_due'].includes(s.status) && !s.cancel_at_period_end;
  $('change').hidden = !show;
  $('cancel').hidden = !show;
  if (!show) return;
  const item = s.items[0];
  $('plans').replaceChildren(...plans().map((p) => {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'plan';
    input.value = p.id;
    input.checked = p.id === item.price;
    const name = document.createElement('span');
    name.textContent = planLabel(p);
    const amount = document.createElement('span');
    amount.className = 'price';
    amount.textContent = t('per', money(p.unit_amount, p.currency), t('intervals')[p.recurring.interval]);
    label.append(input, name, amount);
    return label;
  }));
  $('quantity').value = String(item.quantity);
  $('preview').hidden = true;
  state.preview = null;
  state.prorationDate = null;
  $('cancel-note').textContent = t('cancel_note', day(s.current_period_end));
}

function render() {
  translate();
  const c = state.data.customer;
  $('who').textContent = c ? t('for', c.name ?? c.id, c.email) : '';
  // The merchant's name and initials, as in the shop's header and on the hosted invoice.
  const shop = state.data.seller?.name ?? '';
  $('shop-name').textContent = shop;
  $('shop-logo').textContent = shop.split(/\s+/).filter((w) => w.length > 2 && /^\p{L}+$/u.test(w)).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
  $('shop-logo').hidden = !shop;
  if (state.data.return_url) {
    $('back').href = state.data.return_url;
    $('back').hidden = false;
  }
  renderAlert();
  renderSubscriptions();
  renderCard();
  renderInvoices();
  renderChange();
  $('portal').hidden = false;
}

async function reload() {
  state.data = await api('GET', '/v1/portal');
  state.clock = { server: state.data.now, local: performance.now() };
  render();
}

const serverNow = () => state.clock.server + Math.floor((performance.now() - state.clock.local) / 1000);

async function pay(invoice, button) {
  button.disabled = true;
  try {
    const out = await api('POST', `/v1/portal/invoices/${invoice.id}/pay`, {});
    await reload();
    if (out.invoice.status === 'paid') setStatus(t('paid_ok', invoice.number));
    else setStatus(t('pay_failed', say(out.result ?? {})), true);
  } catch (e) {
    setStatus(t('pay_failed', say(e)), true);
  } finally {
    button.disabled = false;
  }
}

async function saveCard(event) {
  event.preventDefault();
  $('save-card').disabled = true;
  $('pm-result').className = 'message';
  try {
    const out = await api('POST', '/v1/portal/payment_method', {
      payment_method: $('pm').value,
      exp_month: Number($('exp-month').value),
      exp_year: Number($('exp-year').value),
    });
    await reload();
    const paid = out.attempts.filter((a) => a.outcome === 'succeeded');
    const failed = out.attempts.filter((a) => a.outcome === 'failed' || a.error);
    const number = (id) => state.data.invoices.find((i) => i.id === id)?.number ?? id;
    $('pm-result').textContent = paid.length ? t('card_saved_paid', paid.map((a) => number(a.invoice)).join(', ')) : failed.length ? t('card_saved_failed') : t('card_saved');
    $('pm-result').classList.add(failed.length ? 'bad' : 'ok');
  } catch (e) {
    $('pm-result').textContent = say(e);
    $('pm-result').classList.add('bad');
  } finally {
    $('save-card').disabled = false;
  }
}

function previewChange() {
  const s = sub();
  const item = s.items[0];
  const price = document.querySelector('input[name=plan]:checked')?.value ?? item.price;
  const quantity = Number.parseInt($('quantity').value, 10);
  $('change-result').textContent = '';
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 500 || (price === item.price && quantity === item.quantity)) {
    $('preview').hidden = true;
    state.preview = null;
    return;
  }
  const now = serverNow();
  if (state.prorationDate === null || now - state.prorationDate > (s.proration_window_seconds ?? 900) - 60) state.prorationDate = now;
  const prorationDate = Math.min(Math.max(state.prorationDate, s.current_period_start), s.current_period_end - 1);
  const change = { items: [{ id: item.id, price, quantity }], proration_date: prorationDate };
  try {
    const invoice = state.calculator.previewInvoice({ ...s.engine_input, as_of: prorationDate, change });
    state.preview = { change, invoice };
    $('preview-note').textContent = t('preview_note', instant(prorationDate));
    const lineText = (l) => {
      const name = productName(l.product);
      if (l.proration) return l.amount < 0 ? t('line_credit', name, l.quantity) : t('line_charge', name, l.quantity);
      return t('line_plan', name, l.quantity);
    };
    const row = (label, amount, cls) => {
      const tr = document.createElement('tr');
      if (cls) tr.className = cls;
      const th = document.createElement('th');
      th.textContent = label;
      const td = document.createElement('td');
      td.textContent = money(amount, s.currency);
      tr.append(th, td);
      return tr;
    };
    $('preview-lines').replaceChildren(
      ...invoice.lines.map((l) => row(lineText(l), l.amount)),
      // Taxes in words ("TVA 20 %", "Autoliquidation…"), as on the checkout and the invoice.
      ...invoice.total_taxes.map((x) => row(messages(intl()).taxLabel(x), x.amount, 'tax')),
      row(t('total'), invoice.total, 'total'),
    );
    const now2 = invoice.billing_reason === 'subscription_update';
    $('preview-label').textContent = now2 ? t('due_now') : t('due_next', day(invoice.created));
    $('preview-amount').textContent = money(invoice.amount_due, s.currency);
    const el = $('preview');
    el.dataset.amountDue = String(invoice.amount_due);
    el.dataset.total = String(invoice.total);
    el.hidden = false;
  } catch (e) {
    $('preview').hidden = true;
    setStatus(say(e), true);
  }
}

async function confirmChange() {
  if (!state.preview) return;
  const { change, invoice } = state.preview;
  const s = sub();
  $('confirm-change').disabled = true;
  const result = $('change-result');
  result.className = 'message';
  try {
    const expected = { ...invoice, lines: invoice.lines.map(({ derivation, ...line }) => line) };
    const out = await api('POST', `/v1/portal/subscriptions/${s.id}`, { ...change, expected_invoice: expected }, crypto.randomUUID());
    const server = out.change.invoice;
    await reload();
    result.textContent = t('changed', money(server.amount_due, s.currency), day(server.created));
    result.classList.add('ok');
    result.dataset.serverAmountDue = String(server.amount_due);
  } catch (e) {
    result.textContent = t('not_changed', say(e));
    result.dataset.errorCode = e.error?.code ?? e.code ?? 'network';
    result.classList.add('bad');
  } finally {
    $('confirm-change').disabled = false;
  }
}

async function cancel(event) {
  event.preventDefault();
  const s = sub();
  $('cancel-button').disabled = true;
  try {
    await api('POST', `/v1/portal/subscriptions/${s.id}/cancel`, { reason: $('reason').value, comment: $('comment').value || undefined }, crypto.randomUUID());
    await reload();
    setStatus(t('canceled_ok', day(s.current_period_end)));
  } catch (e) {
    $('cancel-result').textContent = say(e);
    $('cancel-result').className = 'message bad';
  } finally {
    $('cancel-button').disabled = false;
  }
}

async function renew(s, button) {
  button.disabled = true;
  try {
    await api('POST', `/v1/portal/subscriptions/${s.id}/renew`, {}, crypto.randomUUID());
    await reload();
    setStatus(t('undone'));
  } catch (e) {
    setStatus(say(e), true);
    button.disabled = false;
  }
}

async function main() {
  const params = new URLSearchParams(location.hash.slice(1));
  state.token = params.get('session');
  const wanted = params.get('lang');
  if (!state.token) {
    setStatus(TEXT.fr.no_session, true);
    return;
  }
  await init();
  try {
    state.data = await api('GET', '/v1/portal');
  } catch (e) {
    setStatus(e.error?.code === 'portal_session_expired' ? TEXT.fr.expired : TEXT.fr.no_session, true);
    return;
  }
  state.clock = { server: state.data.now, local: performance.now() };
  state.lang = wanted ?? (String(state.data.locale ?? 'fr').toLowerCase().startsWith('fr') ? 'fr' : 'en');
  $('lang').value = state.lang;
  state.calculator = new Calculator(state.data.catalog);
  $('lang').addEventListener('change', () => {
    state.lang = $('lang').value;
    // Messages of earlier actions were in the other language.
    for (const id of ['pm-result', 'change-result', 'cancel-result']) $(id).textContent = '';
    render();
    setStatus(t('ready'));
  });
  $('pm-form').addEventListener('submit', saveCard);
  $('change-form').addEventListener('input', previewChange);
  $('change-form').addEventListener('change', previewChange);
  $('change-form').addEventListener('submit', (e) => e.preventDefault());
  $('confirm-change').addEventListener('click', confirmChange);
  $('cancel-form').addEventListener('submit', cancel);
  render();
  setStatus(t('ready'));
  document.body.dataset.ready = 'true';
}

main().catch((e) => setStatus(say(e), true));

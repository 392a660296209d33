// The subscription page: current plan and users; a change of plan or users previewed in the
// browser with the wasm engine (the server's catalog, the subscription exactly as the server
// prices it, a fixed proration_date), then committed through the server with the same
// proration_date and the invoice the customer saw, which the server recomputes and must equal.
//
// The demo shop has no back end of its own, so the page talks to the server's demo routes
// (BILLCALC_DEMO_CHECKOUT=1, publishable key, demo customers only). A real shop's back end calls
// /v1/subscriptions/{id} with its secret key and the same body.
//
// Words come from the demo pages' catalogues (www/messages.js, French and English, shared with
// the checkout); engine and server error codes are said as sentences in the page's language.
// The page opens in French (the demo shop is French), or in `?locale=`; the language switch
// redraws every word.
import init, { Calculator, decimalAmount, BillcalcError } from 'billcalc';
import { errorSentence, messages, subscriptionText } from './messages.js';

const $ = (id) => document.getElementById(id);
const STORAGE = 'billcalc.demo.subscription';

const state = {
  key: null, // publishable key (demo)
  base: '/v1/demo/subscriptions',
  calculator: null,
  catalog: null,
  plans: [], // recurring catalog prices
  sub: null, // the subscription as the server returned it
  clock: null, // { server: unix seconds, local: performance.now() } when it was read
  prorationDate: null, // fixed while a change is being considered
  preview: null, // { change, invoice } the customer is shown
  locale: 'fr-FR',
  status: null, // () => [text, error]: the status line, said again after a change of language
};

window.billcalcPage = state; // for tests and the curious

/** The page's words and the engine's codes in words, in the page's language. */
const t = () => subscriptionText(state.locale);
const m = () => messages(state.locale);

/** Sets the status line; `say` returns the text in the current language (redrawn on a switch). */
function setStatus(say, error = false) {
  state.status = [say, error];
  const el = $('status');
  el.textContent = say();
  el.classList.toggle('error', error);
}

/** The static text of subscription.html (`data-i18n` keys) in the page's language. */
function drawStaticText() {
  const words = t();
  document.documentElement.lang = m().language;
  for (const node of document.querySelectorAll('[data-i18n]')) {
    if (typeof words[node.dataset.i18n] === 'string') node.textContent = words[node.dataset.i18n];
  }
}

/** The page's locale: `?locale=` when given, else French (the demo shop is French). */
function pickLocale() {
  const wanted = new URLSearchParams(window.location.search).get('locale');
  if (!wanted) return null;
  return wanted.toLowerCase().startsWith('fr') ? 'fr-FR' : 'en-GB';
}

/** `minor` units of `currency` for the customer's locale, from an exact decimal string. */
function money(minor, currency = state.sub?.currency ?? 'eur') {
  return new Intl.NumberFormat(state.locale, { style: 'currency', currency: currency.toUpperCase() })
    .format(decimalAmount(minor, currency));
}

function day(unix) {
  return new Intl.DateTimeFormat(state.locale, { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(unix * 1000));
}

function shortDay(unix) {
  return new Intl.DateTimeFormat(state.locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(unix * 1000));
}

function instant(unix) {
  return new Intl.DateTimeFormat(state.locale, { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' })
    .format(new Date(unix * 1000));
}

async function api(method, path, body, idempotencyKey) {
  const headers = { authorization: `Bearer ${state.key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    const e = json.error ?? { code: `http_${response.status}`, message: response.statusText };
    throw Object.assign(new Error(e.message), { status: response.status, error: e });
  }
  return json;
}

function planOf(priceId) {
  return state.plans.find((p) => p.id === priceId);
}

/** A product's name in the page's language: `metadata.name_en` on an English page. */
function productName(productId) {
  const product = state.catalog.products?.find((p) => p.id === productId);
  const lang = m().language;
  return (lang !== 'fr' && product?.metadata?.[`name_${lang}`]) || product?.name || productId;
}

/** A plan's name, with its cadence when the product has prices on several intervals. */
function planName(price) {
  const name = productName(price.product);
  const siblings = state.plans.filter((p) => p.product === price.product);
  const n = price.recurring.interval_count ?? 1;
  return siblings.length > 1 ? `${name}, ${n === 1 ? t().cadence[price.recurring.interval] : t().every(intervalText(price.recurring))}` : name;
}

function intervalText(recurring) {
  const n = recurring.interval_count ?? 1;
  return n === 1 ? t().interval[recurring.interval] ?? recurring.interval : t().intervals(n, recurring.interval);
}

function renderPlanChoices(container, name, selected) {
  container.replaceChildren(
    ...state.plans.map((price) => {
      const label = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = name;
      input.value = price.id;
      input.checked = price.id === selected;
      const text = document.createElement('span');
      text.textContent = planName(price);
      const amount = document.createElement('span');
      amount.className = 'price';
      amount.textContent = t().perUser(money(price.unit_amount, price.currency), intervalText(price.recurring));
      label.append(input, text, amount);
      return label;
    }),
  );
}

/** The server's clock now, estimated from when the subscription was read. */
function serverNow() {
  return state.clock.server + Math.floor((performance.now() - state.clock.local) / 1000);
}

function remember(sub) {
  state.sub = sub;
  state.clock = { server: sub.now, local: performance.now() };
  // The customer's language when the visitor did not choose one (as Stripe's hosted pages do).
  if (!state.localeChosen) state.locale = sub.customer?.preferred_locales?.[0]?.toLowerCase().startsWith('en') ? 'en-GB' : 'fr-FR';
  localStorage.setItem(STORAGE, sub.id);
}

function renderCurrent() {
  const sub = state.sub;
  const item = sub.items[0];
  const price = planOf(item.price);
  $('current-plan').textContent = price ? planName(price) : item.price;
  $('current-seats').textContent = String(item.quantity);
  $('current-price').textContent = price
    ? t().perPeriod(money(price.unit_amount * item.quantity), intervalText(price.recurring), money(price.unit_amount), item.quantity)
    : '';
  $('current-period').textContent = t().periodRange(day(sub.current_period_start), day(sub.current_period_end));
  const status = t().statuses[sub.status] ?? sub.status;
  $('current-status').textContent = sub.cancel_at_period_end ? t().endsAtPeriodEnd(status) : status;
  $('current-status').dataset.status = sub.status;
  const next = sub.upcoming_invoice;
  $('current-next').textContent = next ? t().nextValue(money(next.total), day(next.created)) : '—';
  $('current-balance').textContent = sub.customer_balance < 0
    ? t().balanceCredit(money(-sub.customer_balance))
    : sub.customer_balance > 0 ? t().balanceOwed(money(sub.customer_balance)) : money(0);
  const link = $('current-invoice');
  link.replaceChildren();
  if (sub.latest_invoice?.hosted_invoice_url) {
    const a = document.createElement('a');
    a.href = sub.latest_invoice.hosted_invoice_url;
    a.textContent = sub.latest_invoice.number ?? t().view;
    a.id = 'latest-invoice-link';
    link.append(a);
  } else {
    link.textContent = '—';
  }
  $('current').hidden = false;
  $('current').dataset.subscription = sub.id;
}

function resetChangeForm() {
  const item = state.sub.items[0];
  renderPlanChoices($('change-plans'), 'plan', item.price);
  $('seats').value = String(item.quantity);
  $('invoice-now').checked = false;
  state.prorationDate = null;
  state.preview = null;
  $('preview').hidden = true;
  $('change').hidden = state.sub.status === 'canceled';
}

/** What the form asks for, as a Stripe-shaped change of the subscription's item. */
function requestedChange() {
  const item = state.sub.items[0];
  const price = document.querySelector('input[name=plan]:checked')?.value ?? item.price;
  const seats = Number.parseInt($('seats').value, 10);
  if (!Number.isInteger(seats) || seats < 1 || seats > 500) return { invalid: true };
  if (price === item.price && seats === item.quantity) return null;
  const change = { items: [{ id: item.id, price, quantity: seats }] };
  if ($('invoice-now').checked) change.proration_behavior = 'always_invoice';
  return change;
}

/** Previews the change in wasm: no network call. */
function preview() {
  $('result').textContent = '';
  const change = requestedChange();
  if (!change || change.invalid) {
    state.preview = null;
    $('preview').hidden = true;
    if (change?.invalid) setStatus(() => t().usersRange, true);
    else setStatus(() => t().choose);
    return;
  }
  // One proration date while the customer considers the change: what they see is what the
  // server will compute. Renewed if it gets older than the server accepts.
  const now = serverNow();
  const limit = state.sub.proration_window_seconds ?? 900;
  if (state.prorationDate === null || now - state.prorationDate > limit - 60) state.prorationDate = now;
  const prorationDate = Math.min(Math.max(state.prorationDate, state.sub.current_period_start), state.sub.current_period_end - 1);
  const full = { ...change, proration_date: prorationDate };
  try {
    const invoice = state.calculator.previewInvoice({ ...state.sub.engine_input, as_of: prorationDate, change: full });
    state.preview = { change: full, invoice };
    renderPreview(invoice, prorationDate);
    setStatus(() => t().previewReady);
  } catch (e) {
    state.preview = null;
    $('preview').hidden = true;
    // The engine's message is English, for developers (kept in the console); the customer reads
    // the code in words.
    if (e instanceof BillcalcError) console.warn(`billcalc: ${e.code} at ${e.path}: ${e.message}`);
    $('status').dataset.errorCode = e?.code ?? '';
    setStatus(() => t().cannotPreview(e instanceof BillcalcError ? m().error(e) : errorSentence(e, state.locale)), true);
  }
}

function lineLabel(line) {
  const name = productName(line.product);
  const q = line.quantity;
  const [from, to] = [shortDay(line.period.start), shortDay(line.period.end)];
  if (line.type === 'proration') {
    return line.amount < 0 ? t().lineCredit(name, q, from, to) : t().lineCharge(name, q, from, to);
  }
  if (line.type === 'invoiceitem') return line.description ?? name;
  return t().linePlan(name, q, from, to);
}

function row(cells, className) {
  const tr = document.createElement('tr');
  if (className) tr.className = className;
  cells.forEach(([tag, text, cls], i) => {
    const el = document.createElement(tag);
    el.textContent = text;
    if (cls) el.className = cls;
    if (tag === 'th' && i === 0) el.scope = 'row';
    tr.append(el);
  });
  return tr;
}

function renderPreview(invoice, prorationDate) {
  const prorations = invoice.lines.filter((l) => l.proration);
  const credit = prorations.filter((l) => l.amount < 0).reduce((s, l) => s + l.amount, 0);
  const charge = prorations.filter((l) => l.amount > 0).reduce((s, l) => s + l.amount, 0);
  const now = invoice.billing_reason === 'subscription_update';
  const el = $('preview');
  Object.assign(el.dataset, {
    prorationDate: String(prorationDate),
    credit: String(credit),
    charge: String(charge),
    total: String(invoice.total),
    amountDue: String(invoice.amount_due),
    created: String(invoice.created),
  });
  $('proration-note').textContent = t().prorated(instant(prorationDate));
  $('preview-credit').textContent = money(credit);
  $('preview-charge').textContent = money(charge);
  $('preview-next-label').textContent = now ? t().dueNow(day(invoice.created)) : t().nextOn(day(invoice.created));
  $('preview-next').textContent = money(invoice.amount_due);
  $('preview-caption').textContent = now ? t().captionNow : t().captionNext(day(invoice.created));
  $('preview-lines').replaceChildren(
    ...invoice.lines.map((l) => row([['th', lineLabel(l)], ['td', money(l.amount), 'num']], l.proration ? 'proration' : l.type)),
  );
  const totals = [
    // Taxes in words ("TVA 20 %", "Autoliquidation…"), never the engine's category letters.
    ...invoice.total_taxes.map((tax) => row([['th', m().taxLabel(tax)], ['td', money(tax.amount), 'num']], 'tax')),
    row([['th', t().totalInclVat], ['td', money(invoice.total), 'num']], 'total'),
  ];
  if (invoice.starting_balance !== 0) {
    totals.push(row([['th', invoice.starting_balance < 0 ? t().creditApplied : t().balanceDue], ['td', money(invoice.starting_balance), 'num']], 'balance'));
  }
  if (invoice.minimum_charge) {
    totals.push(row([['th', t().minimumCarried], ['td', money(invoice.minimum_charge.carried_to_balance), 'num']], 'minimum'));
  }
  totals.push(row([['th', now ? t().amountDueNow : t().amountDue], ['td', money(invoice.amount_due), 'num']], 'amount-due'));
  $('preview-totals').replaceChildren(...totals);
  el.hidden = false;
}

/** Deep equality of two JSON values. */
function same(a, b) {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

async function confirm() {
  if (!state.preview) return;
  const { change, invoice } = state.preview;
  const button = $('confirm');
  button.disabled = true;
  $('result').textContent = t().confirming;
  $('result').className = '';
  try {
    // Every amount, tax and total the customer saw; the lines' derivations (how each amount was
    // computed) stay out: they are explanation, not money, and their long decimal strings could
    // trip the server's card-number scan on very large amounts.
    const expected = { ...invoice, lines: invoice.lines.map(({ derivation, ...line }) => line) };
    const body = { ...change, expected_invoice: expected };
    const out = await api('POST', `${state.base}/${state.sub.id}`, body, crypto.randomUUID());
    const serverInvoice = out.change.invoice;
    const equal = same(serverInvoice, invoice);
    window.lastCommit = { shown: invoice, server: out };
    const issued = out.change.invoice_issued;
    remember(await api('GET', `${state.base}/${state.sub.id}`));
    renderCurrent();
    resetChangeForm();
    const result = $('result');
    result.replaceChildren();
    result.className = equal ? 'ok' : 'error';
    result.dataset.serverTotal = String(serverInvoice.total);
    result.dataset.serverAmountDue = String(serverInvoice.amount_due);
    result.dataset.equal = String(equal);
    result.append(
      equal
        ? t().changedSame(money(serverInvoice.amount_due), issued ? t().chargedNow : t().dueOn(day(serverInvoice.created)))
        : t().changedDiffers,
    );
    if (issued) {
      const a = document.createElement('a');
      a.href = issued.hosted_invoice_url;
      a.id = 'issued-invoice-link';
      a.textContent = t().invoiceLink(issued.number);
      result.append(' ', a);
    }
    setStatus(() => t().upToDate);
  } catch (e) {
    const result = $('result');
    result.className = 'error';
    const error = e.error ?? { code: 'network', message: String(e) };
    result.dataset.errorCode = error.code;
    result.textContent = t().notChanged(errorSentence(error, state.locale));
    if (error.code === 'proration_date_expired') state.prorationDate = null;
  } finally {
    button.disabled = false;
  }
}

async function subscribe(event) {
  event.preventDefault();
  const price = document.querySelector('input[name=start-plan]:checked')?.value;
  const seats = Number.parseInt($('start-seats').value, 10);
  if (!price || !Number.isInteger(seats) || seats < 1) {
    setStatus(() => t().chooseStart, true);
    return;
  }
  $('subscribe').disabled = true;
  setStatus(() => t().subscribing);
  try {
    const sub = await api('POST', state.base, {
      customer: {
        // A canonical UUID, dashes kept: the server's card-number scan skips it, where 32 bare
        // hex digits hold a Luhn-valid run of 13+ digits about once in 700 draws.
        id: `cus_demo_${crypto.randomUUID()}`,
        name: 'Client de démonstration',
        email: 'demo@example.fr',
        address: { country: 'FR', postal_code: '69002', city: 'Lyon', line1: '1 place Bellecour' },
        preferred_locales: [state.locale],
      },
      items: [{ price, quantity: seats }],
      payment_method: 'pm_card_visa',
    }, crypto.randomUUID());
    remember(await api('GET', `${state.base}/${sub.id}`));
    $('start').hidden = true;
    renderCurrent();
    resetChangeForm();
    const total = money(sub.invoice.total);
    setStatus(() => t().subscribed(total));
  } catch (e) {
    const error = e.error ?? { code: 'network' };
    $('status').dataset.errorCode = error.code;
    setStatus(() => t().cannotSubscribe(errorSentence(error, state.locale)), true);
  } finally {
    $('subscribe').disabled = false;
  }
}

/** Everything that says words, again (after a change of language). */
function redrawAll() {
  drawStaticText();
  $('locale').value = state.locale;
  if (!$('start').hidden) {
    const chosen = document.querySelector('input[name=start-plan]:checked')?.value;
    renderPlanChoices($('start-plans'), 'start-plan', chosen ?? state.plans[0]?.id);
  }
  if (state.sub) {
    renderCurrent();
    if (!$('change').hidden) {
      const chosen = document.querySelector('input[name=plan]:checked')?.value;
      renderPlanChoices($('change-plans'), 'plan', chosen ?? state.sub.items[0].price);
      if (state.preview) renderPreview(state.preview.invoice, state.preview.change.proration_date);
    }
  }
  if (state.status) setStatus(...state.status);
  if ($('result').dataset.errorCode || $('result').dataset.equal) $('result').textContent = '';
}

async function main() {
  const chosen = pickLocale();
  state.localeChosen = chosen !== null;
  state.locale = chosen ?? 'fr-FR';
  drawStaticText();
  $('locale').value = state.locale;
  await init();
  const config = await fetch('/v1/demo/config').then((r) => (r.ok ? r.json() : Promise.reject(new Error(t().demoOff))));
  state.key = config.publishable_key;
  state.base = config.subscriptions_url ?? state.base;
  state.catalog = await api('GET', config.catalog_url ?? '/v1/catalog');
  state.calculator = new Calculator(state.catalog);
  state.plans = (state.catalog.prices ?? []).filter((p) => p.recurring && (p.recurring.usage_type ?? 'licensed') === 'licensed');
  const saved = localStorage.getItem(STORAGE);
  if (saved) {
    try {
      remember(await api('GET', `${state.base}/${saved}`));
    } catch {
      localStorage.removeItem(STORAGE);
    }
  }
  $('start-form').addEventListener('submit', subscribe);
  $('change-form').addEventListener('input', preview);
  $('change-form').addEventListener('change', preview);
  $('change-form').addEventListener('submit', (e) => e.preventDefault());
  $('confirm').addEventListener('click', confirm);
  $('reset').addEventListener('click', () => {
    resetChangeForm();
    setStatus(() => t().noChange);
  });
  $('locale').addEventListener('change', (e) => {
    state.locale = e.target.value;
    state.localeChosen = true;
    redrawAll();
  });
  drawStaticText();
  $('locale').value = state.locale;
  if (state.sub) {
    renderCurrent();
    resetChangeForm();
    setStatus(() => t().changeHint);
  } else {
    renderPlanChoices($('start-plans'), 'start-plan', state.plans[0]?.id);
    $('start').hidden = false;
    setStatus(() => t().noSubscription);
  }
  document.body.dataset.ready = 'true';
}

main().catch((e) => setStatus(() => t().cannotStart(e instanceof BillcalcError ? m().error(e) : e.message ?? String(e)), true));

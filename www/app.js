// The demo checkout: the sample French shop of server/config/demo.json, priced in the browser by
// the npm package's web build ("billcalc" → /pkg/web/index.js through the import map).
//
// * The catalog comes from the server (GET /v1/demo/config gives the publishable key and the
//   URLs; GET /v1/catalog with that key): the page prices with exactly what the server prices with.
// * Every edit (cart, country, VAT number, code, locale, currency) re-prices in wasm with
//   `calculator.quote(cart)`: no network call. All money math is the engine's; this file only
//   lays out its integers and formats them with Intl.NumberFormat from exact decimal strings
//   (`decimalAmount(minor, currency)`), never floats.
// * Pay re-prices at the instant of the click, then sends the cart (with that `as_of`) and the
//   total shown as `expected_total` to POST /v1/demo/checkout, where the server prices it again
//   and refuses any difference (`total_mismatch`). Success opens the server's hosted invoice.
import init, { BillcalcError, Calculator, decimalAmount, version } from 'billcalc';
import { FINAL_REJECTIONS, TAXABILITY, VAT_CATEGORIES, declineMessage, offerMessage, rejectionMessage } from './messages.js';

const $ = (id) => document.getElementById(id);

// --- places -------------------------------------------------------------------------------------

const EU = new Set(['AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU', 'IE', 'IT',
  'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK']);
/** The countries offered; names come from Intl.DisplayNames in the chosen locale. */
const COUNTRIES = ['FR', 'BE', 'DE', 'ES', 'IT', 'NL', 'AT', 'IE', 'LU', 'PT', 'PL', 'SE', 'GB', 'CH', 'NO', 'US', 'CA', 'JP', 'AU'];
const REGIONS = {
  CA: {
    label: 'Province or territory',
    list: [['AB', 'Alberta'], ['BC', 'British Columbia'], ['MB', 'Manitoba'], ['NB', 'New Brunswick'],
      ['NL', 'Newfoundland and Labrador'], ['NS', 'Nova Scotia'], ['NT', 'Northwest Territories'], ['NU', 'Nunavut'],
      ['ON', 'Ontario'], ['PE', 'Prince Edward Island'], ['QC', 'Quebec'], ['SK', 'Saskatchewan'], ['YT', 'Yukon']],
  },
  US: {
    label: 'State',
    list: [['AL', 'Alabama'], ['AK', 'Alaska'], ['AZ', 'Arizona'], ['AR', 'Arkansas'], ['CA', 'California'],
      ['CO', 'Colorado'], ['CT', 'Connecticut'], ['DE', 'Delaware'], ['DC', 'District of Columbia'], ['FL', 'Florida'],
      ['GA', 'Georgia'], ['HI', 'Hawaii'], ['ID', 'Idaho'], ['IL', 'Illinois'], ['IN', 'Indiana'], ['IA', 'Iowa'],
      ['KS', 'Kansas'], ['KY', 'Kentucky'], ['LA', 'Louisiana'], ['ME', 'Maine'], ['MD', 'Maryland'],
      ['MA', 'Massachusetts'], ['MI', 'Michigan'], ['MN', 'Minnesota'], ['MS', 'Mississippi'], ['MO', 'Missouri'],
      ['MT', 'Montana'], ['NE', 'Nebraska'], ['NV', 'Nevada'], ['NH', 'New Hampshire'], ['NJ', 'New Jersey'],
      ['NM', 'New Mexico'], ['NY', 'New York'], ['NC', 'North Carolina'], ['ND', 'North Dakota'], ['OH', 'Ohio'],
      ['OK', 'Oklahoma'], ['OR', 'Oregon'], ['PA', 'Pennsylvania'], ['RI', 'Rhode Island'], ['SC', 'South Carolina'],
      ['SD', 'South Dakota'], ['TN', 'Tennessee'], ['TX', 'Texas'], ['UT', 'Utah'], ['VT', 'Vermont'],
      ['VA', 'Virginia'], ['WA', 'Washington'], ['WV', 'West Virginia'], ['WI', 'Wisconsin'], ['WY', 'Wyoming']],
  },
};
/** Stripe's tax id type per country; only `eu_vat` changes the tax (reverse charge). */
const TAX_ID_TYPES = { GB: 'gb_vat', CH: 'ch_vat', NO: 'no_vat', US: 'us_ein', CA: 'ca_gst_hst', JP: 'jp_cn', AU: 'au_abn' };
const LOCALES = ['fr-FR', 'de-DE', 'en-US', 'ja-JP'];

// --- state --------------------------------------------------------------------------------------

const state = {
  config: null, // GET /v1/demo/config
  calculator: null,
  products: new Map(), // product id → product
  promotions: new Map(), // promotion id → promotion
  shopPrices: [], // the prices a shopper can add
  shippingPrice: null, // added once when the cart holds goods
  currencies: [],
  items: new Map(), // price id → quantity, in the order added
  codes: [], // promotion codes as typed (trimmed), in cart.discounts order
  country: 'FR',
  region: '',
  vat: '',
  locale: 'fr-FR',
  currency: 'eur',
  cart: null, // the cart last priced
  quote: null, // its quote: what the page shows
  vatProblem: null,
  paying: false,
  lastAttempt: null, // { signature, body, key, retryable }: a retry after a network failure reuses the key
};

// --- amounts ------------------------------------------------------------------------------------

const formatters = new Map();
/** Integer minor units of `currency` for the chosen locale, exactly (a decimal string into Intl). */
function money(minor, currency = state.currency) {
  const text = decimalAmount(minor, currency);
  const digits = (text.split('.')[1] ?? '').length; // the ISO 4217 exponent, not CLDR's
  const key = `${state.locale}|${currency}|${digits}`;
  if (!formatters.has(key)) {
    formatters.set(key, new Intl.NumberFormat(state.locale, {
      style: 'currency', currency: currency.toUpperCase(), minimumFractionDigits: digits, maximumFractionDigits: digits,
    }));
  }
  return formatters.get(key).format(text);
}
const percent = (decimal) =>
  new Intl.NumberFormat(state.locale, { style: 'unit', unit: 'percent', maximumFractionDigits: 4 }).format(decimal);
const count = (n) => new Intl.NumberFormat(state.locale).format(n);

// --- the cart -----------------------------------------------------------------------------------

const nowAsOf = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const productOf = (price) => state.products.get(price.product) ?? {};
const priceById = (id) => state.shopPrices.find((p) => p.id === id) ?? (state.shippingPrice?.id === id ? state.shippingPrice : null);
const nameOfPrice = (id) => productOf(priceById(id) ?? {}).name ?? id;
const needsShipping = () => [...state.items.keys()].some((id) => productOf(priceById(id)).tax_category !== 'digital_services');
const normalizeCode = (code) => code.trim().toUpperCase();
/** A VAT number as the engine reads it: without spaces, dots and dashes, uppercase. */
const normalizeVat = (value) => value.replace(/[\s.-]/g, '').toUpperCase();

function unitAmount(price, currency) {
  if (price.currency === currency) return price.unit_amount;
  return price.currency_options?.[currency]?.unit_amount;
}

/** The billcalc cart of what the page holds, priced at `asOf`. */
function buildCart(asOf, { withVat = true } = {}) {
  const lines = [...state.items].map(([price, quantity]) => ({ price, quantity }));
  if (state.shippingPrice && needsShipping()) lines.push({ price: state.shippingPrice.id, quantity: 1 });
  const address = { country: state.country };
  if (REGIONS[state.country] && state.region) address.state = state.region;
  const customer = { address };
  const vat = normalizeVat(state.vat);
  if (withVat && vat) customer.tax_ids = [{ type: EU.has(state.country) ? 'eu_vat' : TAX_ID_TYPES[state.country] ?? 'vat', value: vat }];
  const cart = { currency: state.currency, as_of: asOf, customer, lines };
  if (state.codes.length) cart.discounts = state.codes.map((code) => ({ promotion_code: code }));
  return cart;
}

/**
 * Prices the cart in wasm. A malformed VAT number is the engine's `invalid_tax_id`: the page
 * then prices without it (as a consumer) and says why next to the field; Pay waits for a fix.
 */
function price(asOf = nowAsOf()) {
  let cart = buildCart(asOf);
  let vatProblem = null;
  let quote;
  try {
    quote = state.calculator.quote(cart);
  } catch (error) {
    if (!(error instanceof BillcalcError && error.code === 'invalid_tax_id')) throw error;
    vatProblem = error.message;
    cart = buildCart(asOf, { withVat: false });
    quote = state.calculator.quote(cart);
  }
  return { cart, quote, vatProblem };
}

/** Re-prices and redraws everything that depends on the quote. Called on every edit. */
function update() {
  // An edit makes the last payment message (a decline, a refused total) out of date.
  if (!state.paying) showPayMessage('info');
  try {
    Object.assign(state, price());
  } catch (error) {
    showPayMessage('error', `The engine refused this cart: ${describeError(error)}`);
    throw error;
  }
  drawCart();
  drawCodes();
  drawVat();
  drawSummary();
  drawPayButton();
}

// --- drawing ------------------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c != null && c !== false));
  return node;
}

function announce(text) {
  const region = $('announce');
  region.textContent = '';
  // A separate task, so screen readers notice the same sentence twice in a row.
  setTimeout(() => { region.textContent = text; }, 30);
}

function drawProducts() {
  const list = $('products');
  list.replaceChildren();
  for (const price of state.shopPrices) {
    const product = productOf(price);
    const amount = unitAmount(price, state.currency);
    const kind = product.tax_category === 'reduced' ? 'reduced VAT rate'
      : product.tax_category === 'digital_services' ? 'digital service, taxed where you live' : null;
    list.append(el('li', { 'data-price': price.id },
      el('span', { class: 'name' }, product.name ?? price.id, kind && el('small', { text: kind })),
      el('span', { class: 'price', text: amount == null ? '—' : money(amount) }),
      el('button', {
        type: 'button', class: 'add', text: 'Add to cart', 'aria-label': `Add ${product.name ?? price.id} to cart`,
        disabled: amount == null,
        onclick: () => {
          state.items.set(price.id, Math.min(999, (state.items.get(price.id) ?? 0) + 1));
          update();
          announce(`${product.name} added: ${count(state.items.get(price.id))} in the cart. Total ${money(state.quote.total)}.`);
        },
      })));
  }
}

const cartRows = new Map(); // price id → { li, input, minus, amount, detail }

function setQuantity(id, quantity, { fromInput = false } = {}) {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 999) return;
  state.items.set(id, quantity);
  update();
  if (!fromInput) announce(`${nameOfPrice(id)}: ${count(quantity)}. Total ${money(state.quote.total)}.`);
}

function removeItem(id) {
  const ids = [...state.items.keys()];
  const next = ids[ids.indexOf(id) + 1] ?? ids[ids.indexOf(id) - 1];
  state.items.delete(id);
  update();
  // Keep the keyboard user in the cart: the next item's remove button, else the cart heading.
  if (next && cartRows.has(next)) cartRows.get(next).remove.focus();
  else $('cart-title').focus();
  announce(`${nameOfPrice(id)} removed. ${state.items.size ? `Total ${money(state.quote.total)}.` : 'Your cart is empty.'}`);
}

function cartRow(id) {
  const name = nameOfPrice(id);
  const input = el('input', {
    type: 'number', min: '1', max: '999', inputmode: 'numeric', 'aria-label': `Quantity of ${name}`, class: 'quantity',
    oninput: () => setQuantity(id, Number(input.value), { fromInput: true }),
    onchange: () => { input.value = String(state.items.get(id) ?? 1); },
  });
  const minus = el('button', {
    type: 'button', text: '−', 'aria-label': `One less ${name}`,
    onclick: () => { if ((state.items.get(id) ?? 1) > 1) setQuantity(id, state.items.get(id) - 1); },
  });
  const plus = el('button', { type: 'button', text: '+', 'aria-label': `One more ${name}`, onclick: () => setQuantity(id, (state.items.get(id) ?? 0) + 1) });
  const remove = el('button', { type: 'button', class: 'remove', text: 'Remove', 'aria-label': `Remove ${name}`, onclick: () => removeItem(id) });
  const amount = el('span', { class: 'amount' });
  const detail = el('small', { class: 'hint' });
  const li = el('li', { 'data-price': id },
    el('span', { class: 'name' }, el('span', { text: name }), el('br'), detail),
    amount, el('span', { class: 'qty' }, minus, input, plus), remove);
  return { li, input, minus, amount, detail, remove };
}

function drawCart() {
  const list = $('cart');
  for (const [id, row] of cartRows) {
    if (!state.items.has(id)) {
      row.li.remove();
      cartRows.delete(id);
    }
  }
  let index = 0;
  for (const [id, quantity] of state.items) {
    if (!cartRows.has(id)) cartRows.set(id, cartRow(id));
    const row = cartRows.get(id);
    if (list.children[index] !== row.li) list.insertBefore(row.li, list.children[index] ?? null);
    // Never rewrite the field the shopper is typing in.
    if (document.activeElement !== row.input) row.input.value = String(quantity);
    row.minus.setAttribute('aria-disabled', String(quantity <= 1));
    const line = state.quote.lines[index];
    row.amount.textContent = money(line.amount);
    row.detail.textContent = `${count(quantity)} × ${money(unitAmount(priceById(id), state.currency))}`;
    index += 1;
  }
  $('cart-empty').hidden = state.items.size > 0;
}

function describeDiscount(id) {
  const m = /^discounts\[(\d+)\]$/.exec(id);
  if (m && state.codes[Number(m[1])] != null) return normalizeCode(state.codes[Number(m[1])]);
  const applied = state.quote?.discounts.find((d) => d.id === id);
  return applied?.promotion_code?.code ?? applied?.promotion?.name ?? applied?.coupon?.name ?? id;
}

const messageContext = () => ({ money, currency: state.currency, describe: describeDiscount });

/** What happened to the code at `cart.discounts[index]`: { applied, amount } or { rejection }. */
function codeOutcome(index) {
  const id = `discounts[${index}]`;
  const applied = state.quote.discounts.find((d) => d.id === id);
  if (applied) return { applied, amount: applied.amount };
  return { rejection: state.quote.rejected_discounts.find((r) => r.id === id) };
}

function drawCodes() {
  const list = $('codes');
  const focusedCode = document.activeElement?.closest?.('#codes li')?.dataset.code;
  list.replaceChildren();
  state.codes.forEach((code, index) => {
    const outcome = codeOutcome(index);
    const display = normalizeCode(code);
    const why = outcome.applied
      ? `Applied: ${money(-outcome.amount)}${outcome.applied.coupon?.name ? ` (${outcome.applied.coupon.name})` : ''}`
      : outcome.rejection ? `Not applied: ${rejectionMessage(outcome.rejection, messageContext())}` : '';
    const li = el('li', { class: outcome.applied ? 'applied' : 'rejected', 'data-code': display, 'data-reason': outcome.rejection?.reason },
      el('span', { class: 'code', text: display }),
      el('span', { class: 'why', text: why }),
      el('button', { type: 'button', text: 'Remove', 'aria-label': `Remove code ${display}`, onclick: () => removeCode(index) }));
    list.append(li);
  });
  if (focusedCode) list.querySelector(`li[data-code="${CSS.escape(focusedCode)}"] button`)?.focus();
  list.hidden = state.codes.length === 0;
}

function removeCode(index) {
  const [code] = state.codes.splice(index, 1);
  update();
  setCodeMessage('', `Code ${normalizeCode(code)} removed.`);
  $('code').focus();
}

function setCodeMessage(kind, text) {
  const message = $('code-message');
  message.className = `message ${kind}`;
  message.textContent = text;
}

function applyCode(event) {
  event.preventDefault();
  const field = $('code');
  const typed = field.value.trim();
  if (!typed) {
    setCodeMessage('bad', 'Type a promotion code first.');
    return;
  }
  const display = normalizeCode(typed);
  if (state.codes.some((c) => normalizeCode(c) === display)) {
    setCodeMessage('bad', `${display}: ${rejectionMessage({ reason: 'duplicate' }, messageContext())}`);
    return;
  }
  state.codes.push(typed);
  const index = state.codes.length - 1;
  update();
  const outcome = codeOutcome(index);
  if (outcome.applied) {
    setCodeMessage('ok', `${display} applied: ${money(-outcome.amount)}. Total ${money(state.quote.total)}.`);
    field.value = '';
    return;
  }
  const reason = outcome.rejection?.reason;
  const sentence = outcome.rejection ? rejectionMessage(outcome.rejection, messageContext()) : 'This code was not applied.';
  if (FINAL_REJECTIONS.has(reason)) {
    // Nothing about this cart will make it apply: say why and leave it out of the order.
    state.codes.splice(index, 1);
    update();
    setCodeMessage('bad', `${display}: ${sentence}`);
  } else {
    // It may apply later (a minimum, a qualifying product): keep it, listed with its reason.
    setCodeMessage('bad', `${display} is not applied yet: ${sentence}`);
    field.value = '';
  }
  field.select();
}

function drawVat() {
  const field = $('vat');
  const problem = state.vatProblem;
  field.setAttribute('aria-invalid', String(Boolean(problem)));
  $('vat-error').textContent = problem
    ? `This VAT number is not valid for ${countryName(state.country)} (${problem}). You are priced as a consumer until it is fixed or removed.`
    : '';
}

function drawSummary() {
  const { quote } = state;
  const body = $('breakdown-body');
  const rows = [];
  const row = (className, label, amount, extra = {}) => {
    const tr = el('tr', { class: className, ...extra }, el('th', { scope: 'row' }, ...label), el('td', { text: amount }));
    rows.push(tr);
    return tr;
  };
  quote.lines.forEach((line, i) => {
    const name = state.products.get(line.product)?.name ?? line.price ?? '';
    row('line', [`${name} × ${count(line.quantity)}`], money(line.amount), { 'data-line': String(i) });
  });
  if (!quote.lines.length) row('line empty', ['No products yet'], money(0));
  // Item-level discounts (free shipping) come before the subtotal, order-level ones after it,
  // so that every column adds up as the engine computed it.
  const discountRow = (d) => {
    const label = d.promotion_code
      ? [`Code ${d.promotion_code.code}`, d.coupon?.name && el('span', { class: 'detail', text: d.coupon.name })]
      : [d.promotion?.name ?? state.promotions.get(d.promotion?.id)?.name ?? d.coupon?.name ?? d.id];
    row('discount', label, money(-d.amount), { 'data-amount': String(-d.amount), 'data-discount': d.id });
  };
  quote.discounts.filter((d) => d.level === 'item').forEach(discountRow);
  row('sub', ['Subtotal'], money(quote.subtotal), { 'data-amount': String(quote.subtotal) });
  quote.discounts.filter((d) => d.level !== 'item').forEach(discountRow);
  row('sub', ['Total excluding VAT'], money(quote.total_excluding_tax), { id: 'total-excluding-tax', 'data-amount': String(quote.total_excluding_tax) });
  for (const t of quote.total_taxes) {
    // An export (G) or a supply outside the scope of VAT (O) has no place of taxation to show.
    const where = t.category === 'G' || t.category === 'O' ? null : t.jurisdiction ?? t.country;
    const details = [
      where && countryName(where) ? countryName(where) : where,
      `on ${money(t.taxable_amount)}`,
      t.exemption_reason ?? (t.taxability_reason && TAXABILITY[t.taxability_reason]),
    ].filter(Boolean).join(' · ');
    row('tax', [
      `${t.display_name} ${percent(t.percentage)}${t.inclusive ? ' (included)' : ''}`,
      el('abbr', { class: 'cat', title: `EN 16931 VAT category ${t.category}: ${VAT_CATEGORIES[t.category] ?? ''}`, text: t.category }),
      el('span', { class: 'visually-hidden', text: ` (category ${t.category}: ${VAT_CATEGORIES[t.category] ?? ''})` }),
      el('span', { class: 'detail', text: details }),
    ], money(t.amount), { 'data-category': t.category, 'data-percentage': t.percentage, 'data-amount': String(t.amount) });
  }
  body.replaceChildren(...rows);

  // Tax notes (reverse charge with the buyer's number) and offers from the catalog's promotions.
  $('notes').replaceChildren(...quote.tax_notes.map((n) => el('li', { 'data-note': n.code },
    n.code === 'reverse_charge'
      ? `${n.text}${n.customer_tax_id ? ` — VAT number ${n.customer_tax_id}` : ''}: no VAT is charged; you account for it in your country (autoliquidation).`
      : `${n.text}${n.customer_tax_id ? ` (${n.customer_tax_id})` : ''}`)));
  const offers = [];
  if (state.items.size) {
    for (const r of quote.rejected_discounts) {
      if (!r.promotion) continue;
      const text = offerMessage(r, state.promotions.get(r.promotion)?.name ?? r.promotion, messageContext());
      if (text) offers.push(el('li', { 'data-promotion': r.promotion, text }));
    }
  }
  $('offers').replaceChildren(...offers);

  const total = $('total');
  total.textContent = money(quote.total);
  total.dataset.total = String(quote.total);
  total.dataset.currency = quote.currency;
}

let summaryOnScreen = false;
/** The phone bar: the total and a link to the summary, while the summary is off screen. */
function drawJump() {
  const show = state.items.size > 0 && !summaryOnScreen && !state.paying;
  $('jump').hidden = !show;
  document.body.classList.toggle('has-jump', show);
  $('jump-total').textContent = money(state.quote.total);
}

function drawPayButton() {
  drawJump();
  const button = $('pay');
  const blocked = state.paying || !state.items.size || Boolean(state.vatProblem);
  button.disabled = blocked;
  button.textContent = state.paying ? 'Paying…' : `Pay ${money(state.quote.total)}`;
  $('pay-hint').textContent = !state.items.size ? 'Add a product to pay.'
    : state.vatProblem ? 'Fix or remove the VAT number to pay.' : '';
}

let regionNames;
function countryName(code) {
  try {
    regionNames ??= new Intl.DisplayNames([state.locale], { type: 'region' });
    return regionNames.of(code);
  } catch {
    return code;
  }
}

function drawCountries() {
  regionNames = null;
  const select = $('country');
  select.replaceChildren(...COUNTRIES.map((c) => el('option', { value: c, text: countryName(c), selected: c === state.country })));
  select.value = state.country;
}

function drawRegions() {
  const regions = REGIONS[state.country];
  $('region-field').hidden = !regions;
  if (!regions) return;
  $('region-label').textContent = regions.label;
  if (!regions.list.some(([code]) => code === state.region)) state.region = regions.list[0][0];
  $('region').replaceChildren(...regions.list.map(([code, name]) => el('option', { value: code, text: `${name} (${code})` })));
  $('region').value = state.region;
}

function drawCurrencies() {
  const select = $('currency');
  const several = state.currencies.length > 1;
  select.hidden = !several;
  $('currency-label').hidden = !several;
  select.replaceChildren(...state.currencies.map((c) => el('option', { value: c, text: c.toUpperCase() })));
  select.value = state.currency;
}

// --- paying -------------------------------------------------------------------------------------

function describeError(error) {
  if (error instanceof BillcalcError) return `${error.message} (${error.code} at ${error.path})`;
  return error?.message ?? String(error);
}

function showPayMessage(kind, ...content) {
  const box = $('pay-message');
  box.className = `pay-message ${kind === 'info' ? 'info' : ''}`;
  box.replaceChildren(...content);
}

async function pay(event) {
  event.preventDefault();
  if (state.paying || !state.items.size || state.vatProblem) return;
  const shown = state.quote.total;
  // Price again at this instant: the server prices at the cart's as_of and accepts one within
  // 5 minutes of its clock. A code that expired since the page last priced would change the total.
  const fresh = price();
  if (fresh.quote.total !== shown || fresh.vatProblem) {
    Object.assign(state, fresh);
    update();
    showPayMessage('error', `The total changed to ${money(fresh.quote.total)} since it was shown. Check your order and press Pay again.`);
    return;
  }
  Object.assign(state, fresh);
  const card = document.querySelector('input[name="card"]:checked')?.value ?? 'pm_card_visa';
  const billing = {};
  if ($('name').value.trim()) billing.name = $('name').value.trim();
  if ($('email').value.trim()) billing.email = $('email').value.trim();
  const request = (cart) => JSON.stringify({
    cart,
    expected_total: shown,
    payment_method: card,
    ...(Object.keys(billing).length ? { billing_details: billing } : {}),
  });
  // One Idempotency-Key per attempt. Pressing Pay again after a network failure or a 5xx, with
  // the same order, resends the very same request with the same key, so the server charges at
  // most once (a charge that went through is replayed, not repeated).
  const signature = request({ ...state.cart, as_of: null });
  const retry = state.lastAttempt?.retryable && state.lastAttempt.signature === signature ? state.lastAttempt : null;
  let body = retry ? retry.body : request(state.cart);
  let key = retry ? retry.key : crypto.randomUUID();
  state.paying = true;
  drawPayButton();
  showPayMessage('info', `Paying ${money(shown)}…`);
  let response;
  let answer;
  try {
    ({ response, answer } = await post(body, key));
    if (response.status === 400 && answer.error?.path === 'cart.as_of') {
      // This device's clock is more than the server's tolerance away from the server's: let the
      // server price at its own time. expected_total still guards the amount (total_mismatch).
      const { as_of: _skewed, ...cart } = state.cart;
      body = request(cart);
      key = crypto.randomUUID();
      ({ response, answer } = await post(body, key));
    }
  } catch {
    state.lastAttempt = { signature, body, key, retryable: true };
    state.paying = false;
    drawPayButton();
    showPayMessage('error', 'The server could not be reached. Nothing was charged; press Pay to try again.');
    return;
  }
  state.lastAttempt = { signature, body, key, retryable: response.status >= 500 };
  if (response.ok && answer.object === 'charge') {
    const invoice = answer.invoice;
    showPayMessage('info', `Payment accepted: ${money(answer.amount, answer.currency)}. Invoice ${invoice.number} — opening it…`);
    window.location.assign(invoice.hosted_invoice_url);
    return;
  }
  state.paying = false;
  drawPayButton();
  showFailure(response.status, answer.error ?? { code: 'http_error', message: `HTTP ${response.status}` }, shown);
}

async function post(body, key) {
  const response = await fetch(state.config.checkout_url, {
    method: 'POST',
    headers: { authorization: `Bearer ${state.config.publishable_key}`, 'content-type': 'application/json', 'idempotency-key': key },
    body,
  });
  return { response, answer: await response.json().catch(() => ({})) };
}

function showFailure(status, error, shown) {
  if (status === 402) {
    showPayMessage('error',
      el('strong', { text: declineMessage(error) }),
      ` No money was taken. ${error.retryable ? 'Try again, or choose another card.' : 'Choose another card and press Pay again.'}`);
    return;
  }
  if (error.code === 'total_mismatch') {
    const server = error.differences?.find((d) => d.path === 'total');
    const list = el('ul', {}, ...(error.differences ?? []).map((d) =>
      el('li', { text: `${d.path}: the server computes ${typeof d.expected === 'number' ? money(d.expected) : d.expected}, this page showed ${typeof d.actual === 'number' ? money(d.actual) : d.actual}` })));
    showPayMessage('error',
      el('strong', { text: 'The price changed: nothing was charged.' }),
      ` The server prices this order at ${server ? money(server.expected) : 'another total'}, not the ${money(shown)} shown here (the shop's catalog was probably updated).`,
      list,
      el('button', { type: 'button', text: 'Reload the prices', onclick: reloadCatalog }));
    return;
  }
  if (error.code === 'promotion_code_exhausted') {
    const m = /discounts\[(\d+)\]/.exec(error.path ?? '');
    const code = m ? normalizeCode(state.codes[Number(m[1])] ?? '') : 'A code';
    showPayMessage('error', el('strong', { text: `${code} has been used the maximum number of times.` }),
      ' Nothing was charged. Remove the code to pay without it.');
    return;
  }
  if (error.code === 'rate_limited') {
    showPayMessage('error', 'Too many attempts in a short time. Nothing was charged; wait a few seconds and try again.');
    return;
  }
  showPayMessage('error', el('strong', { text: 'The payment did not go through. Nothing was charged.' }),
    ` ${error.message ?? ''} (${error.code}${error.path ? ` at ${error.path}` : ''})`);
}

// --- loading ------------------------------------------------------------------------------------

async function getJson(url, key) {
  const response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body?.error?.message ?? `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function loadCatalog(catalog) {
  state.calculator?.free();
  state.calculator = new Calculator(catalog);
  state.products = new Map((catalog.products ?? []).map((p) => [p.id, p]));
  state.promotions = new Map((catalog.promotions ?? []).map((p) => [p.id, p]));
  // One-off prices only (a recurring price belongs to a subscription page).
  const oneOff = (catalog.prices ?? []).filter((p) => !p.recurring && p.active !== false && p.unit_amount != null);
  state.shopPrices = oneOff.filter((p) => productOf(p).tax_category !== 'shipping');
  const inclusive = (catalog.tax?.default_tax_behavior ?? 'exclusive') === 'inclusive';
  $('prices-note').textContent = inclusive
    ? 'Prices include VAT; the rate depends on where you live.'
    : 'Prices exclude VAT, which depends on where you live.';
  state.shippingPrice = oneOff.find((p) => productOf(p).tax_category === 'shipping') ?? null;
  // The currencies every one-off price has an amount in (its own, or through currency_options).
  const currencies = (p) => new Set([p.currency.toLowerCase(), ...Object.keys(p.currency_options ?? {}).map((c) => c.toLowerCase())]);
  const [first, ...rest] = oneOff.map(currencies);
  state.currencies = first ? [...first].filter((c) => rest.every((s) => s.has(c))) : [];
  if (!state.currencies.includes(state.currency)) state.currency = state.currencies[0] ?? 'eur';
  // Items whose price disappeared from the catalog leave the cart.
  for (const id of state.items.keys()) if (!state.shopPrices.some((p) => p.id === id)) state.items.delete(id);
}

async function reloadCatalog() {
  showPayMessage('info', 'Reloading the prices…');
  try {
    loadCatalog(await getJson(state.config.catalog_url, state.config.publishable_key));
  } catch (error) {
    showPayMessage('error', `Could not reload the catalog: ${error.message}`);
    return;
  }
  drawCurrencies();
  drawProducts();
  update();
  showPayMessage('info', `Prices reloaded. The total is now ${money(state.quote.total)}: check it and press Pay again.`);
  $('pay').focus();
}

function pickLocale() {
  for (const wanted of navigator.languages ?? [navigator.language]) {
    const exact = LOCALES.find((l) => l.toLowerCase() === wanted.toLowerCase());
    if (exact) return exact;
    const sameLanguage = LOCALES.find((l) => l.split('-')[0] === wanted.split('-')[0].toLowerCase());
    if (sameLanguage) return sameLanguage;
  }
  return 'fr-FR';
}

async function main() {
  const wasm = init();
  let config;
  try {
    config = await getJson('/v1/demo/config');
  } catch (error) {
    throw new Error(error.status === 404
      ? 'This page needs the billcalc server in demo mode (BILLCALC_DEMO_CHECKOUT=1): run bash scripts/demo.sh.'
      : `Could not load the shop's configuration: ${error.message}`);
  }
  state.config = config;
  const [catalog] = await Promise.all([getJson(config.catalog_url, config.publishable_key), wasm]);
  loadCatalog(catalog);

  state.locale = pickLocale();
  $('locale').value = state.locale;
  $('version').textContent = version();
  drawCountries();
  drawRegions();
  drawCurrencies();
  drawProducts();
  update();

  $('locale').addEventListener('change', (e) => {
    state.locale = e.target.value;
    drawCountries();
    drawProducts();
    update();
  });
  $('currency').addEventListener('change', (e) => {
    state.currency = e.target.value;
    drawProducts();
    update();
  });
  $('country').addEventListener('change', (e) => {
    state.country = e.target.value;
    drawRegions();
    update();
  });
  $('region').addEventListener('change', (e) => {
    state.region = e.target.value;
    update();
  });
  $('vat').addEventListener('input', (e) => {
    state.vat = e.target.value;
    update();
  });
  // One callback may carry several records for the summary (it left and came back between two
  // frames): the newest one is the state now.
  new IntersectionObserver((entries) => {
    summaryOnScreen = entries[entries.length - 1].isIntersecting;
    drawJump();
  }).observe($('summary'));
  $('code-form').addEventListener('submit', applyCode);
  $('pay-form').addEventListener('submit', pay);

  $('status').hidden = true;
  $('app').hidden = false;
  document.body.dataset.state = 'ready';
}

// For tests and the curious: the cart and quote the page shows.
window.billcalcCheckout = {
  get cart() { return state.cart; },
  get quote() { return state.quote; },
};

main().catch((error) => {
  const status = $('status');
  status.hidden = false;
  status.className = 'status error';
  status.textContent = `The checkout could not start: ${describeError(error)}`;
  document.body.dataset.state = 'error';
  console.error(error);
});

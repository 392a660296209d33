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
import { FINAL_REJECTIONS, declineMessage, messages, pageText } from './messages.js';
import { REGIONS, regions } from './regions.js';

const $ = (id) => document.getElementById(id);

// --- places -------------------------------------------------------------------------------------

const EU = new Set(['AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU', 'IE', 'IT',
  'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK']);
/** The countries offered; names come from Intl.DisplayNames in the chosen locale. */
const COUNTRIES = ['FR', 'BE', 'DE', 'ES', 'IT', 'NL', 'AT', 'IE', 'LU', 'PT', 'PL', 'SE', 'GB', 'CH', 'NO', 'US', 'CA', 'JP', 'AU'];
/** The label of the region select per country (the names themselves: regions.js). */
const REGION_LABELS = { CA: 'regionCA', US: 'regionUS' };
/** Stripe's tax id type per country; only `eu_vat` changes the tax (reverse charge). */
const TAX_ID_TYPES = { GB: 'gb_vat', CH: 'ch_vat', NO: 'no_vat', US: 'us_ein', CA: 'ca_gst_hst', JP: 'jp_cn', AU: 'au_abn' };
const LOCALES = ['fr-FR', 'en-GB', 'en-US', 'de-DE', 'ja-JP'];
/** Most items of one product in one order (the page says so instead of silently capping). */
const MAX_QUANTITY = 999;

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
  quantityErrors: new Map(), // price id → the message for what was typed (0, -2, 2.5, 1000)
  business: false,
  detailsTried: false, // Pay was pressed: from then on, empty required fields say so
  paying: false,
  lastAttempt: null, // { signature, body, key, retryable }: a retry after a network failure reuses the key
};

// --- words --------------------------------------------------------------------------------------

/** The page's words and the engine's codes in words, in the chosen locale's language. */
const t = () => pageText(state.locale);
let engineWords = null;
const m = () => (engineWords?.locale === state.locale ? engineWords : (engineWords = { locale: state.locale, ...messages(state.locale) }));
/** A catalog object's name in the page's language: `metadata.name_en` on an English page. */
const localName = (object, fallback) => {
  if (!object) return fallback;
  const lang = m().language;
  return (lang !== 'fr' && object.metadata?.[`name_${lang}`]) || object.name || fallback;
};

/** The static text of index.html (`data-i18n` keys) in the chosen language. */
function drawStaticText() {
  const words = t();
  document.documentElement.lang = m().language;
  for (const node of document.querySelectorAll('[data-i18n]')) {
    const text = words[node.dataset.i18n];
    if (typeof text === 'string') node.textContent = text;
  }
  for (const node of document.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = words[node.dataset.i18nPlaceholder];
  for (const node of document.querySelectorAll('[data-i18n-aria-label]')) node.setAttribute('aria-label', words[node.dataset.i18nAriaLabel]);
}

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
const nameOfPrice = (id) => localName(productOf(priceById(id) ?? {}), id);
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
  // The billing address: the engine reads the country, state and postal code (special VAT
  // territories), and the server copies the whole address onto the invoice's buyer block.
  const address = { country: state.country };
  for (const [key, id] of [['line1', 'line1'], ['postal_code', 'postal'], ['city', 'city']]) {
    const value = $(id)?.value.trim();
    if (value) address[key] = value;
  }
  if (REGIONS[state.country] && state.region) address.state = state.region;
  const customer = { address };
  const vat = vatApplies() ? normalizeVat(state.vat) : '';
  if (withVat && vat) customer.tax_ids = [{ type: EU.has(state.country) ? 'eu_vat' : TAX_ID_TYPES[state.country] ?? 'vat', value: vat }];
  const cart = { currency: state.currency, as_of: asOf, customer, lines };
  if (state.codes.length) cart.discounts = state.codes.map((code) => ({ promotion_code: code }));
  return cart;
}

/** The VAT-number field matters for an EU business only (intra-EU supply, reverse charge, the number on a French invoice). */
const vatApplies = () => state.business && EU.has(state.country);

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
    // The sentence in the page's language; check digits get their own (the engine's message,
    // for developers, says which rule failed).
    vatProblem = /check digit/i.test(error.message) ? t().vatCheckDigits : m().error(error);
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
    showPayMessage('error', t().engineRefused(describeError(error)));
    throw error;
  }
  drawCart();
  drawCodes();
  drawVat();
  drawShipping();
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
    const name = localName(product, price.id);
    const amount = unitAmount(price, state.currency);
    const kind = product.tax_category === 'reduced' ? t().kindReduced
      : product.tax_category === 'digital_services' ? t().kindDigital : t().kindGoods;
    list.append(el('li', { 'data-price': price.id },
      thumbnail(product),
      el('span', { class: 'name' }, name, el('small', { text: kind })),
      el('span', { class: 'price', text: amount == null ? '—' : money(amount) }),
      el('button', {
        type: 'button', class: 'add', text: t().addToCart, 'aria-label': t().addLabel(name),
        disabled: amount == null,
        onclick: () => {
          state.items.set(price.id, Math.min(MAX_QUANTITY, (state.items.get(price.id) ?? 0) + 1));
          state.quantityErrors.delete(price.id);
          update();
          announce(t().added(name, count(state.items.get(price.id)), money(state.quote.total)));
        },
      })));
  }
}

/**
 * A product picture placeholder: the product's initials on a tint derived from its id (the demo
 * catalog has no images; a real shop puts `metadata.image` URLs, used when present).
 */
function thumbnail(product) {
  const image = product.metadata?.image;
  if (image) return el('img', { class: 'thumb', src: image, alt: '', width: 56, height: 56, loading: 'lazy' });
  const hue = [...(product.id ?? '')].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);
  const initials = (product.name ?? '?').replace(/[«»"(].*$/, '').split(/\s+/).filter((w) => w.length > 2).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
  const glyph = product.tax_category === 'digital_services' ? '▶' : product.tax_category === 'reduced' ? '❧' : '✦';
  return el('span', { class: 'thumb', 'aria-hidden': 'true', style: `--hue: ${hue}` }, el('span', { class: 'glyph', text: glyph }), initials);
}

const cartRows = new Map(); // price id → { li, input, minus, amount, detail, error }

/** What is wrong with a typed quantity, or null: 0, -2, 2.5, 1000 each get a sentence. */
function quantityProblem(text) {
  const trimmed = text.trim();
  if (trimmed === '') return t().quantityEmpty;
  const n = Number(trimmed.replace(',', '.'));
  if (!Number.isFinite(n) || !Number.isInteger(n)) return t().quantityWhole;
  if (n < 1) return t().quantityMin;
  if (n > MAX_QUANTITY) return t().quantityMax(count(MAX_QUANTITY));
  return null;
}

function setQuantity(id, quantity, { fromInput = false } = {}) {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) return;
  state.quantityErrors.delete(id);
  state.items.set(id, quantity);
  update();
  if (!fromInput) announce(t().quantityIs(nameOfPrice(id), count(quantity), money(state.quote.total)));
}

/** A typed quantity: priced when valid, otherwise said next to the field (the cart keeps the last valid one). */
function typeQuantity(id, input) {
  // A number input reports "" for text it cannot parse (e.g. "2,5" in some locales): say so too.
  const text = input.validity.badInput ? 'x' : input.value;
  const problem = quantityProblem(text);
  if (problem) {
    state.quantityErrors.set(id, problem);
    drawCart();
    drawPayButton();
    return;
  }
  setQuantity(id, Number(text), { fromInput: true });
}

function removeItem(id) {
  const ids = [...state.items.keys()];
  const next = ids[ids.indexOf(id) + 1] ?? ids[ids.indexOf(id) - 1];
  state.items.delete(id);
  state.quantityErrors.delete(id);
  update();
  // Keep the keyboard user in the cart: the next item's remove button, else the cart heading.
  if (next && cartRows.has(next)) cartRows.get(next).remove.focus();
  else $('cart-title').focus();
  announce(t().removed(nameOfPrice(id), state.items.size ? money(state.quote.total) : null));
}

function cartRow(id) {
  const name = nameOfPrice(id);
  const errorId = `qty-error-${id}`;
  const input = el('input', {
    type: 'number', min: '1', max: String(MAX_QUANTITY), step: '1', inputmode: 'numeric', 'aria-label': t().quantityLabel(name), class: 'quantity',
    'aria-describedby': errorId,
    oninput: () => typeQuantity(id, input),
  });
  const minus = el('button', {
    type: 'button', text: '−', 'aria-label': t().oneLess(name),
    onclick: () => { if ((state.items.get(id) ?? 1) > 1) setQuantity(id, state.items.get(id) - 1); },
  });
  const plus = el('button', { type: 'button', text: '+', 'aria-label': t().oneMore(name), onclick: () => setQuantity(id, Math.min(MAX_QUANTITY, (state.items.get(id) ?? 0) + 1)) });
  const remove = el('button', { type: 'button', class: 'remove', text: t().remove, 'aria-label': t().removeLabel(name), onclick: () => removeItem(id) });
  const amount = el('span', { class: 'amount' });
  const detail = el('small', { class: 'hint' });
  const error = el('p', { class: 'error qty-error', id: errorId, 'aria-live': 'polite' });
  const li = el('li', { 'data-price': id },
    thumbnail(productOf(priceById(id) ?? {})),
    el('span', { class: 'name' }, el('span', { text: name }), el('br'), detail),
    amount, el('span', { class: 'qty' }, minus, input, plus), remove, error);
  return { li, input, minus, amount, detail, remove, error };
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
    // Never rewrite the field the shopper is typing in, nor a value the page is explaining.
    const problem = state.quantityErrors.get(id);
    if (document.activeElement !== row.input && !problem) row.input.value = String(quantity);
    row.error.textContent = problem ?? '';
    row.input.setAttribute('aria-invalid', String(Boolean(problem)));
    row.minus.setAttribute('aria-disabled', String(quantity <= 1));
    const line = state.quote.lines[index];
    row.amount.textContent = money(line.amount);
    row.detail.textContent = `${count(quantity)} × ${money(unitAmount(priceById(id), state.currency))}`;
    index += 1;
  }
  $('cart-empty').hidden = state.items.size > 0;
  $('cart').hidden = state.items.size === 0;
}

function describeDiscount(id) {
  const m = /^discounts\[(\d+)\]$/.exec(id);
  if (m && state.codes[Number(m[1])] != null) return normalizeCode(state.codes[Number(m[1])]);
  const applied = state.quote?.discounts.find((d) => d.id === id);
  return applied?.promotion_code?.code ?? discountName(applied) ?? id;
}

const messageContext = () => ({ money, currency: state.currency, describe: describeDiscount });
/** A coupon's or promotion's name in the page's language. */
function discountName(applied) {
  if (!applied) return null;
  if (applied.promotion) return localName(state.promotions.get(applied.promotion.id), applied.promotion.name ?? applied.promotion.id);
  if (applied.coupon) return localName(state.coupons.get(applied.coupon.id) ?? applied.coupon, applied.coupon.name ?? applied.coupon.id);
  return null;
}

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
      ? t().codeAppliedShort(money(-outcome.amount), discountName(outcome.applied))
      : outcome.rejection ? t().codeNotApplied(m().rejection(outcome.rejection, messageContext())) : '';
    const li = el('li', { class: outcome.applied ? 'applied' : 'rejected', 'data-code': display, 'data-reason': outcome.rejection?.reason },
      el('span', { class: 'code', text: display }),
      el('span', { class: 'why', text: why }),
      el('button', { type: 'button', text: t().remove, 'aria-label': t().codeRemoveLabel(display), onclick: () => removeCode(index) }));
    list.append(li);
  });
  if (focusedCode) list.querySelector(`li[data-code="${CSS.escape(focusedCode)}"] button`)?.focus();
  list.hidden = state.codes.length === 0;
}

function removeCode(index) {
  const [code] = state.codes.splice(index, 1);
  update();
  setCodeMessage('', t().codeRemoved(normalizeCode(code)));
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
    setCodeMessage('bad', t().codeFirst);
    return;
  }
  const display = normalizeCode(typed);
  if (state.codes.some((c) => normalizeCode(c) === display)) {
    setCodeMessage('bad', t().codeRejected(display, m().rejection({ reason: 'duplicate' }, messageContext())));
    return;
  }
  state.codes.push(typed);
  const index = state.codes.length - 1;
  update();
  const outcome = codeOutcome(index);
  if (outcome.applied) {
    setCodeMessage('ok', t().codeApplied(display, money(-outcome.amount), money(state.quote.total)));
    field.value = '';
    return;
  }
  const reason = outcome.rejection?.reason;
  const sentence = m().rejection(outcome.rejection ?? { reason: 'unknown' }, messageContext());
  if (FINAL_REJECTIONS.has(reason)) {
    // Nothing about this cart will make it apply: say why and leave it out of the order.
    state.codes.splice(index, 1);
    update();
    setCodeMessage('bad', t().codeRejected(display, sentence));
  } else {
    // It may apply later (a minimum, a qualifying product): keep it, listed with its reason.
    setCodeMessage('bad', t().codeNotYet(display, sentence));
    field.value = '';
  }
  field.select();
}

function drawVat() {
  const field = $('vat');
  const problem = state.vatProblem;
  field.setAttribute('aria-invalid', String(Boolean(problem)));
  $('vat-error').textContent = problem ? t().vatInvalid(countryName(state.country), problem) : '';
  $('business-fields').hidden = !state.business;
  $('vat-field').hidden = !EU.has(state.country);
}

/** A shipping address is asked for physical goods only (not for the online workshop alone). */
function drawShipping() {
  const goods = state.items.size > 0 && needsShipping();
  $('shipping-block').hidden = !goods;
  $('shipping-fields').hidden = !goods || $('ship-same').checked;
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
    const name = localName(state.products.get(line.product), line.price ?? '');
    row('line', [`${name} × ${count(line.quantity)}`], money(line.amount), { 'data-line': String(i) });
  });
  if (!quote.lines.length) row('line empty', [t().noProducts], money(0));
  // Item-level discounts (free shipping) come before the subtotal, order-level ones after it,
  // so that every column adds up as the engine computed it.
  const discountRow = (d) => {
    const label = d.promotion_code
      ? [t().codeLine(d.promotion_code.code), discountName(d) && el('span', { class: 'detail', text: discountName(d) })]
      : [discountName(d) ?? d.id];
    row('discount', label, money(-d.amount), { 'data-amount': String(-d.amount), 'data-discount': d.id });
  };
  quote.discounts.filter((d) => d.level === 'item').forEach(discountRow);
  const orderLevel = quote.discounts.filter((d) => d.level !== 'item');
  // "Subtotal" only when something stands between it and the total excluding VAT; two rows with
  // the same amount say nothing to a shopper.
  if (quote.lines.length && (orderLevel.length || quote.subtotal !== quote.total_excluding_tax)) {
    row('sub', [t().subtotal], money(quote.subtotal), { id: 'subtotal', 'data-amount': String(quote.subtotal) });
  }
  orderLevel.forEach(discountRow);
  // An empty cart says so once; no rows of zeros.
  if (quote.lines.length) row('sub', [t().totalExclVat], money(quote.total_excluding_tax), { id: 'total-excluding-tax', 'data-amount': String(quote.total_excluding_tax) });
  for (const tax of quote.total_taxes) {
    // The tax in words (name and rate, or what a zero-tax category means); the EN 16931
    // category stays in a data attribute for machines, not on screen.
    row('tax', [m().taxLabel(tax), el('span', { class: 'detail', text: m().taxDetail(tax, money) })], money(tax.amount),
      { 'data-category': tax.category, 'data-percentage': tax.percentage, 'data-amount': String(tax.amount) });
  }
  body.replaceChildren(...rows);

  // Tax notes (the legal mention with the buyer's number) and offers from the catalog's promotions.
  $('notes').replaceChildren(...quote.tax_notes.map((n) => el('li', { 'data-note': n.code, text: m().note(n) })));
  const offers = [];
  if (state.items.size) {
    for (const r of quote.rejected_discounts) {
      if (!r.promotion) continue;
      const text = m().offer(r, localName(state.promotions.get(r.promotion), r.promotion), messageContext());
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
  const blocked = state.paying || !state.items.size || Boolean(state.vatProblem) || state.quantityErrors.size > 0;
  button.disabled = blocked;
  button.textContent = state.paying ? t().paying : state.items.size ? t().pay(money(state.quote.total)) : t().payment;
  $('pay-hint').textContent = !state.items.size ? t().addProductToPay
    : state.vatProblem ? t().fixVatToPay
      : state.quantityErrors.size ? [...state.quantityErrors.values()][0] : '';
}

// --- the customer's details -------------------------------------------------------------------------

const REQUIRED = ['email', 'name', 'line1', 'postal', 'city'];
/** What is missing or wrong in the details form, as { field id → sentence }. */
function detailProblems() {
  const problems = {};
  for (const id of REQUIRED) if (!$(id).value.trim()) problems[id] = t().required;
  const email = $('email').value.trim();
  if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) problems.email = t().emailInvalid;
  if (needsShipping() && !$('ship-same').checked && !$('ship-line1').value.trim()) problems['ship-line1'] = t().required;
  return problems;
}

function drawDetailErrors() {
  const problems = state.detailsTried ? detailProblems() : {};
  for (const id of [...REQUIRED, 'ship-line1']) {
    $(`${id}-error`).textContent = problems[id] ?? '';
    $(id).setAttribute('aria-invalid', String(Boolean(problems[id])));
  }
  return problems;
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
  // Province and state names in the page's language (Québec, Colombie-Britannique, Californie).
  const list = regions(state.country, m().language);
  $('region-field').hidden = !list;
  if (!list) return;
  $('region-label').textContent = t()[REGION_LABELS[state.country]];
  if (!list.some(([code]) => code === state.region)) state.region = list[0][0];
  $('region').replaceChildren(...list.map(([code, name]) => el('option', { value: code, text: `${name} (${code})` })));
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
  // The engine's message is English, for developers; the shopper reads its code in words.
  if (error instanceof BillcalcError) return m().error(error);
  return error?.message ?? String(error);
}

function showPayMessage(kind, ...content) {
  const box = $('pay-message');
  box.className = `pay-message ${kind === 'info' ? 'info' : ''}`;
  box.replaceChildren(...content);
}

async function pay(event) {
  event.preventDefault();
  if (state.paying || !state.items.size || state.vatProblem || state.quantityErrors.size) return;
  // The details first: say what is missing next to each field and go to the first one.
  state.detailsTried = true;
  const problems = drawDetailErrors();
  const first = [...REQUIRED, 'ship-line1'].find((id) => problems[id]);
  if (first) {
    showPayMessage('error', t().completeDetails);
    $(first).focus();
    return;
  }
  const shown = state.quote.total;
  // Price again at this instant: the server prices at the cart's as_of and accepts one within
  // 5 minutes of its clock. A code that expired since the page last priced would change the total.
  const fresh = price();
  if (fresh.quote.total !== shown || fresh.vatProblem) {
    Object.assign(state, fresh);
    update();
    showPayMessage('error', t().totalChanged(money(fresh.quote.total)));
    return;
  }
  Object.assign(state, fresh);
  const card = document.querySelector('input[name="card"]:checked')?.value ?? 'pm_card_visa';
  const billing = { name: $('name').value.trim(), email: $('email').value.trim() };
  if (state.business && $('company').value.trim()) billing.company = $('company').value.trim();
  if (needsShipping() && !$('ship-same').checked) {
    const address = { country: state.country };
    for (const [key, id] of [['line1', 'ship-line1'], ['postal_code', 'ship-postal'], ['city', 'ship-city']]) {
      if ($(id).value.trim()) address[key] = $(id).value.trim();
    }
    billing.shipping = { name: $('ship-name').value.trim() || billing.name, address };
  }
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
  showPayMessage('info', t().payingAmount(money(shown)));
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
    showPayMessage('error', t().unreachable);
    return;
  }
  state.lastAttempt = { signature, body, key, retryable: response.status >= 500 };
  if (response.ok && answer.object === 'charge') {
    const invoice = answer.invoice;
    showPayMessage('info', t().accepted(money(answer.amount, answer.currency), invoice.number));
    // The invoice page shows the confirmation (card, last four digits, a link back here).
    const url = new URL(invoice.hosted_invoice_url, window.location.href);
    url.searchParams.set('confirmation', '1');
    url.searchParams.set('return_url', window.location.pathname);
    window.location.assign(url.href);
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
      el('strong', { text: declineMessage(error, state.locale) }),
      ` ${t().noMoneyTaken} ${error.retryable ? t().tryAgain : t().chooseAnother}`);
    return;
  }
  if (error.code === 'total_mismatch') {
    const server = error.differences?.find((d) => d.path === 'total');
    const list = el('ul', {}, ...(error.differences ?? []).map((d) =>
      el('li', { text: t().difference(d.path, typeof d.expected === 'number' ? money(d.expected) : d.expected, typeof d.actual === 'number' ? money(d.actual) : d.actual) })));
    showPayMessage('error',
      el('strong', { text: t().priceChanged }),
      ` ${t().serverPrices(server ? money(server.expected) : t().otherTotal, money(shown))}`,
      list,
      el('button', { type: 'button', text: t().reloadPrices, onclick: reloadCatalog }));
    return;
  }
  if (error.code === 'promotion_code_exhausted') {
    const match = /discounts\[(\d+)\]/.exec(error.path ?? '');
    const code = match ? normalizeCode(state.codes[Number(match[1])] ?? '') : t().aCode;
    showPayMessage('error', el('strong', { text: t().codeExhausted(code) }), ` ${t().codeExhaustedHint}`);
    return;
  }
  if (error.code === 'rate_limited') {
    showPayMessage('error', t().rateLimited);
    return;
  }
  // The server's message is English, for developers: keep it in the console, say it in words here.
  console.warn('payment failed', error);
  showPayMessage('error', el('strong', { text: t().payFailed }), ` ${m().error(error)}`);
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
  state.coupons = new Map((catalog.coupons ?? []).map((c) => [c.id, c]));
  // One-off prices only (a recurring price belongs to a subscription page).
  const oneOff = (catalog.prices ?? []).filter((p) => !p.recurring && p.active !== false && p.unit_amount != null);
  state.shopPrices = oneOff.filter((p) => productOf(p).tax_category !== 'shipping');
  const inclusive = (catalog.tax?.default_tax_behavior ?? 'exclusive') === 'inclusive';
  state.inclusive = inclusive;
  drawPricesNote();
  state.shippingPrice = oneOff.find((p) => productOf(p).tax_category === 'shipping') ?? null;
  // The currencies every one-off price has an amount in (its own, or through currency_options).
  const currencies = (p) => new Set([p.currency.toLowerCase(), ...Object.keys(p.currency_options ?? {}).map((c) => c.toLowerCase())]);
  const [first, ...rest] = oneOff.map(currencies);
  state.currencies = first ? [...first].filter((c) => rest.every((s) => s.has(c))) : [];
  if (!state.currencies.includes(state.currency)) state.currency = state.currencies[0] ?? 'eur';
  // Items whose price disappeared from the catalog leave the cart.
  for (const id of state.items.keys()) if (!state.shopPrices.some((p) => p.id === id)) state.items.delete(id);
}

function drawPricesNote() {
  $('prices-note').textContent = state.inclusive ? t().pricesInclusive : t().pricesExclusive;
}

async function reloadCatalog() {
  showPayMessage('info', t().reloading);
  try {
    loadCatalog(await getJson(state.config.catalog_url, state.config.publishable_key));
  } catch (error) {
    showPayMessage('error', t().reloadFailed(error.message));
    return;
  }
  drawCurrencies();
  drawProducts();
  update();
  showPayMessage('info', t().reloaded(money(state.quote.total)));
  $('pay').focus();
}

/**
 * The page's locale: `?locale=` when given (a link to the English shop), else French — the demo
 * shop is French and opens in French whatever the browser's languages.
 */
function pickLocale() {
  const wanted = new URLSearchParams(window.location.search).get('locale');
  if (wanted) {
    const exact = LOCALES.find((l) => l.toLowerCase() === wanted.toLowerCase());
    if (exact) return exact;
    const sameLanguage = LOCALES.find((l) => l.split('-')[0] === wanted.split('-')[0].toLowerCase());
    if (sameLanguage) return sameLanguage;
  }
  return 'fr-FR';
}

/** Everything that says words, again (after a change of locale). */
function redrawAll() {
  drawStaticText();
  drawPricesNote();
  drawCountries();
  drawRegions();
  drawProducts();
  // Cart rows carry labels in the old language: rebuild them.
  for (const row of cartRows.values()) row.li.remove();
  cartRows.clear();
  update();
  drawDetailErrors();
}

async function main() {
  state.locale = pickLocale();
  $('locale').value = state.locale;
  drawStaticText();
  const wasm = init();
  let config;
  try {
    config = await getJson('/v1/demo/config');
  } catch (error) {
    throw new Error(error.status === 404 ? t().needsServer : t().configFailed(error.message));
  }
  state.config = config;
  const [catalog] = await Promise.all([getJson(config.catalog_url, config.publishable_key), wasm]);
  loadCatalog(catalog);

  $('version').textContent = version();
  drawCountries();
  drawRegions();
  drawCurrencies();
  drawProducts();
  update();

  $('locale').addEventListener('change', (e) => {
    state.locale = e.target.value;
    redrawAll();
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
  $('business').addEventListener('change', (e) => {
    state.business = e.target.checked;
    update();
  });
  $('ship-same').addEventListener('change', () => drawShipping());
  // The postal code can move the buyer into a territory with its own VAT: re-price as it is typed.
  for (const id of ['postal', 'line1', 'city']) $(id).addEventListener('input', () => update());
  for (const id of [...REQUIRED, 'ship-line1']) $(id).addEventListener('input', () => { if (state.detailsTried) drawDetailErrors(); });
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
  status.textContent = t().cannotStart(describeError(error));
  document.body.dataset.state = 'error';
  console.error(error);
});

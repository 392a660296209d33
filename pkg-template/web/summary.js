// <billcalc-summary>: a drop-in order summary a shop theme adds with one script tag.
//
//   <script type="module" src="/node_modules/billcalc/checkout/summary.js"></script>
//   <billcalc-summary catalog-url="/v1/catalog" publishable-key="pk_test_…" locale="fr-FR"
//                     cart='{"currency":"eur","lines":[{"price":"price_lamp","quantity":2}]}'></billcalc-summary>
//
// Attributes: `catalog-url` (JSON: a billcalc catalog, or `{ "catalog": … }`), `cart` (JSON) or
// the `cart` JS property, `locale` (default: the page's `lang`; French for fr-*, English
// otherwise), `publishable-key` (sent as a bearer token when fetching the catalog). Every change
// re-prices in wasm with no network call and dispatches `billcalc:quote` (detail: the quote) or
// `billcalc:error` (detail: the BillcalcError, shown as a sentence in the element's language).
// All amounts come from the engine; this file only lays them out and formats them with
// Intl.NumberFormat on exact decimal strings (never floats).
import init, { Calculator, decimalAmount } from './index.js';
import { messages } from './messages.js';

const ready = init();
const catalogs = new Map(); // url → Promise<{ calculator, names }>, shared by every element on the page

function calculatorFor(url, key) {
  const id = `${url}\n${key ?? ''}`;
  if (!catalogs.has(id)) {
    const loading = (async () => {
      await ready;
      const response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      if (!response.ok) {
        const error = new Error(`catalog ${url}: HTTP ${response.status}${response.status === 401 ? ' (does it need publishable-key?)' : ''}`);
        error.code = 'catalog_unavailable';
        throw error;
      }
      const body = await response.json();
      const catalog = body && typeof body === 'object' && 'catalog' in body ? body.catalog : body;
      const names = new Map((catalog.products ?? []).map((p) => [p.id, p.name]));
      return { calculator: new Calculator(catalog), names };
    })();
    // A failed load is retried by the next render rather than cached forever.
    loading.catch(() => catalogs.delete(id));
    catalogs.set(id, loading);
  }
  return catalogs.get(id);
}

/** `minor` units of `currency` formatted for `locale`, exactly (digits from ISO 4217). */
export function formatAmount(minor, currency, locale) {
  const text = decimalAmount(minor, currency);
  const digits = (text.split('.')[1] ?? '').length;
  return new Intl.NumberFormat(locale, {
    style: 'currency', currency: currency.toUpperCase(), minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(text);
}

function cell(tag, text, className) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (className) el.className = className;
  return el;
}

export class BillcalcSummary extends HTMLElement {
  static observedAttributes = ['cart', 'catalog-url', 'locale', 'publishable-key'];
  #cart = null;
  #run = 0;
  #names = new Map();
  /** The last quote rendered, or null. */
  #quote = null;

  get cart() {
    return this.#cart;
  }

  set cart(value) {
    this.#cart = value;
    this.#render();
  }

  get quote() {
    return this.#quote;
  }

  attributeChangedCallback(name, _old, value) {
    if (name === 'cart') {
      try {
        this.#cart = value ? JSON.parse(value) : null;
      } catch {
        this.#fail({ code: 'invalid_type', message: 'the cart attribute is not JSON' });
        return;
      }
    }
    this.#render();
  }

  connectedCallback() {
    // The custom-element property upgrade: a page may set `element.cart = …` before this module
    // has loaded (the element is still a plain HTMLElement then), which creates an own property
    // that would shadow the setter forever. Take it off and assign it again through the setter.
    if (Object.prototype.hasOwnProperty.call(this, 'cart')) {
      const value = this.cart;
      delete this.cart;
      this.#cart = value;
    }
    this.#render();
  }

  get #messages() {
    return messages(this.#locale);
  }

  get #locale() {
    return this.getAttribute('locale') || this.closest('[lang]')?.getAttribute('lang') || undefined;
  }

  #fail(error) {
    this.#quote = null;
    const t = this.#messages;
    const sentence = error?.code === 'catalog_unavailable' ? t.words.catalogError : t.error(error);
    const p = cell('p', `${t.words.cartError} ${sentence}`, 'billcalc-error');
    p.setAttribute('role', 'alert');
    if (error?.code) p.dataset.code = error.code;
    this.replaceChildren(p);
    this.setAttribute('data-state', 'error');
    this.dispatchEvent(new CustomEvent('billcalc:error', { detail: error, bubbles: true }));
  }

  async #render() {
    const url = this.getAttribute('catalog-url');
    if (!this.isConnected || !url || !this.#cart) return;
    const run = ++this.#run;
    let quote;
    try {
      const { calculator, names } = await calculatorFor(url, this.getAttribute('publishable-key'));
      if (run !== this.#run) return; // a newer change is being rendered
      quote = calculator.quote(this.#cart);
      this.#names = names;
    } catch (error) {
      if (run === this.#run) this.#fail(error);
      return;
    }
    this.#quote = quote;
    this.#draw(quote);
    this.setAttribute('data-state', 'ready');
    this.dispatchEvent(new CustomEvent('billcalc:quote', { detail: quote, bubbles: true }));
  }

  #draw(quote) {
    const locale = this.#locale;
    const t = this.#messages;
    const money = (minor) => formatAmount(minor, quote.currency, locale);
    const count = (n) => new Intl.NumberFormat(locale).format(n);
    const table = document.createElement('table');
    table.className = 'billcalc-summary';
    table.lang = t.language;
    const row = (label, amount, className, detail) => {
      const tr = document.createElement('tr');
      if (className) tr.className = className;
      const th = cell('th', label);
      th.scope = 'row';
      if (detail) th.append(' ', cell('small', detail, 'billcalc-detail'));
      tr.append(th, cell('td', amount));
      table.append(tr);
      return tr;
    };
    for (const line of quote.lines) {
      const name = line.description ?? this.#names.get(line.product) ?? line.product ?? line.price ?? '';
      row(`${name} × ${count(line.quantity)}`, money(line.amount), 'billcalc-line');
    }
    for (const discount of quote.discounts) {
      const name = discount.promotion_code ? t.words.code(discount.promotion_code.code)
        : discount.coupon?.name ?? discount.promotion?.name ?? t.words.discount;
      row(name, money(-discount.amount), 'billcalc-discount').dataset.amount = String(-discount.amount);
    }
    for (const tax of quote.total_taxes) {
      const tr = row(t.taxLabel(tax), money(tax.amount), 'billcalc-tax', t.taxDetail(tax, money));
      tr.dataset.amount = String(tax.amount);
    }
    for (const note of quote.tax_notes) {
      const tr = document.createElement('tr');
      tr.className = 'billcalc-note';
      const td = cell('td', t.note(note));
      td.colSpan = 2;
      tr.append(td);
      table.append(tr);
    }
    row(t.words.total, money(quote.total), 'billcalc-total').setAttribute('data-total', String(quote.total));
    this.replaceChildren(table);
  }
}

// Sensible defaults a theme overrides easily (`:where()` has no specificity).
const DEFAULT_STYLE = `
:where(billcalc-summary) { display: block; }
:where(.billcalc-summary) { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
:where(.billcalc-summary) :where(th, td) { padding: .35em 0; border-bottom: 1px solid #e2e5ec; vertical-align: top; }
:where(.billcalc-summary) :where(th) { text-align: start; font-weight: normal; padding-inline-end: .8em; }
:where(.billcalc-summary) :where(td) { text-align: end; white-space: nowrap; }
:where(.billcalc-detail) { display: block; opacity: .7; font-size: .85em; }
:where(.billcalc-discount) :where(td) { color: #1f7a3f; }
:where(.billcalc-note) :where(td) { text-align: start; white-space: normal; font-size: .9em; }
:where(.billcalc-total) :where(th, td) { font-weight: 700; font-size: 1.15em; border-bottom: none; }
:where(.billcalc-error) { color: #b00020; }`;

if (!customElements.get('billcalc-summary')) {
  const style = document.createElement('style');
  style.dataset.billcalc = 'summary';
  style.textContent = DEFAULT_STYLE;
  document.head.prepend(style);
  customElements.define('billcalc-summary', BillcalcSummary);
}

// <billcalc-summary>: a drop-in order summary a shop theme adds with one script tag.
//
//   <script type="module" src="/path/to/billcalc/web/summary.js"></script>
//   <billcalc-summary catalog-url="/v1/catalog" locale="fr-FR"
//                     cart='{"currency":"eur","lines":[{"price":"tshirt","quantity":2}]}'></billcalc-summary>
//
// Attributes: `catalog-url` (JSON: a billcalc catalog, or `{ "catalog": … }`), `cart` (JSON) or
// the `cart` JS property, `locale` (default: the page's), `publishable-key` (sent as a bearer
// token when fetching the catalog). Every change re-prices in wasm with no network call and
// dispatches `billcalc:quote` (detail: the quote) or `billcalc:error` (detail: the BillcalcError).
// All amounts come from the engine; this file only lays them out and formats them with
// Intl.NumberFormat on exact decimal strings (never floats).
import init, { Calculator, decimalAmount } from './index.js';

const ready = init();
const catalogs = new Map(); // url → Promise<{ calculator, names }>, shared by every element on the page

function calculatorFor(url, key) {
  const id = `${url}\n${key ?? ''}`;
  if (!catalogs.has(id)) {
    catalogs.set(
      id,
      (async () => {
        await ready;
        const response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
        if (!response.ok) throw new Error(`catalog: HTTP ${response.status}`);
        const body = await response.json();
        const catalog = body && typeof body === 'object' && 'catalog' in body ? body.catalog : body;
        const names = new Map((catalog.products ?? []).map((p) => [p.id, p.name]));
        return { calculator: new Calculator(catalog), names };
      })(),
    );
  }
  return catalogs.get(id);
}

/** `minor` units of `currency` formatted for `locale`, exactly. */
export function formatAmount(minor, currency, locale) {
  return new Intl.NumberFormat(locale, { style: 'currency', currency: currency.toUpperCase() }).format(decimalAmount(minor, currency));
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

  get cart() {
    return this.#cart;
  }

  set cart(value) {
    this.#cart = value;
    this.#render();
  }

  /** The last quote rendered, or null. */
  quote = null;

  attributeChangedCallback(name, _old, value) {
    if (name === 'cart') {
      try {
        this.#cart = value ? JSON.parse(value) : null;
      } catch (error) {
        this.#fail(error);
        return;
      }
    }
    this.#render();
  }

  connectedCallback() {
    this.#render();
  }

  #fail(error) {
    this.quote = null;
    this.replaceChildren(cell('p', error.message, 'billcalc-error'));
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
    this.quote = quote;
    this.#draw(quote);
    this.setAttribute('data-state', 'ready');
    this.dispatchEvent(new CustomEvent('billcalc:quote', { detail: quote, bubbles: true }));
  }

  #draw(quote) {
    const locale = this.getAttribute('locale') || document.documentElement.lang || undefined;
    const money = (minor) => formatAmount(minor, quote.currency, locale);
    const table = document.createElement('table');
    table.className = 'billcalc-summary';
    const row = (label, amount, className) => {
      const tr = document.createElement('tr');
      if (className) tr.className = className;
      tr.append(cell('th', label), cell('td', amount));
      table.append(tr);
      return tr;
    };
    for (const line of quote.lines) {
      const name = line.description ?? this.#names.get(line.product) ?? line.product ?? line.price ?? '';
      const label = `${name} × ${line.quantity}`;
      row(label, money(line.amount), 'billcalc-line');
    }
    for (const discount of quote.discounts) {
      const name = discount.promotion_code?.code ?? discount.coupon?.name ?? discount.coupon?.id ?? discount.promotion?.name ?? discount.promotion?.id ?? discount.id;
      row(name, `−${money(discount.amount)}`, 'billcalc-discount');
    }
    for (const tax of quote.total_taxes) {
      const label = `${tax.display_name} ${tax.percentage} %${tax.inclusive ? ' (incl.)' : ''}${tax.jurisdiction ? ` · ${tax.jurisdiction}` : ''} · ${tax.category}`;
      row(label, money(tax.amount), 'billcalc-tax');
    }
    row('Total', money(quote.total), 'billcalc-total').setAttribute('data-total', String(quote.total));
    this.replaceChildren(table);
  }
}

if (!customElements.get('billcalc-summary')) customElements.define('billcalc-summary', BillcalcSummary);

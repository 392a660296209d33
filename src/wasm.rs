//! The JavaScript API: `computeQuote`, `previewInvoice`, `billingDates`, `dunningSchedule`,
//! `creditNote`, `revenueMetrics`, `Calculator` (`quote`, `previewInvoice`, `billingDates`), the
//! adapters, `decimalAmount`, `version`. Inputs and outputs are plain JS
//! objects shaped like the Rust types; errors are thrown as `BillcalcError` (an `Error` subclass
//! with `code` and `path`), and the instance keeps working after any of them.
//!
//! Cargo features choose which of them a wasm build exports (`quotes`, `subscriptions`,
//! `adapters`, `metrics`; see Cargo.toml): a browser downloads only what its entry point offers.
//!
//! Values cross the boundary as JSON text (`JSON.stringify` in, `JSON.parse` out) and are read
//! with the engine's own scanner (src/json_scan.rs), which the native build and the server use
//! too. So every runtime sees the same numbers, rejects the same unknown fields
//! (serde-wasm-bindgen reads structs field by field and never sees extra keys) and reports the
//! same paths.

use crate::error::{Error, ErrorCode};
#[cfg(feature = "subscriptions")]
use crate::invoice_json::ToJsonText;
#[cfg(feature = "subscriptions")]
use crate::subscription;
#[cfg(feature = "quotes")]
use crate::{catalog, quote};
#[cfg(any(feature = "adapters", feature = "metrics"))]
use serde::Serialize;
use wasm_bindgen::prelude::*;

// The JS half of the boundary, in one snippet (scripts/build-pkg.sh finds it by BillcalcError):
// - `BillcalcError`, the class of every thrown error;
// - `toJsonText(value, path)`, the one check every input goes through before `JSON.stringify`,
//   which would turn NaN, ±Infinity, `undefined` in an array, functions, symbols into `null` or
//   drop them (and throws a TypeError on a BigInt or a cycle). Each of those is `invalid_type`
//   at its path instead. A property whose value is `undefined` is absent (JS convention), like
//   JSON.stringify treats it. Map, Set and other non-plain objects (JSON.stringify turns them
//   into `{}`) are `invalid_type` too; objects with `toJSON` (a Date) are read through it.
//   The common case, a tree of plain objects, arrays and finite values, is checked first by
//   `plain`, which builds no paths (it was a tenth of a 20-line `calculator.quote` in Node);
//   anything else, every error included, goes through the walk that names the path.
// - `quoteFromParts(text, numbers)`, a quote from its transfer form (`Quote::to_transfer`,
//   src/quote_json.rs): the lines' numbers come as a Float64Array over wasm memory (read before
//   returning, while Rust holds the vector), their strings as a table in the text's `lines` that
//   the numbers point into, and line taxes point at their rate's `total_taxes` entry; it rebuilds the
//   documented objects (same fields, same order as `Quote::to_json`), each line's taxes their own
//   objects. JSON.parse of the full text was a third of a 200-line call; of per-line arrays, a
//   quarter of a 20-line call (a flat array parses in half the time); of the lines' numbers, a
//   third of the rest; of a string repeated on every line, ~60 ns each time.
// - `guardCalculator(Calculator)`, called by the package's entry files: a method of a freed
//   Calculator throws `BillcalcError` `calculator_freed` (wasm-bindgen's own check throws a plain
//   Error, "null pointer passed to rust"); `free()` twice is a no-op.
#[wasm_bindgen(inline_js = "export class BillcalcError extends Error {
  constructor(code, path, message) { super(message); this.name = 'BillcalcError'; this.code = code; this.path = path; }
}
const MAX_PATH = 256, MAX_DEPTH = 128;
function clip(path) { return path.length > MAX_PATH ? path.slice(0, MAX_PATH - 1) + '…' : path; }
function plain(v, depth) {
  switch (typeof v) {
    case 'string': case 'boolean': return true;
    case 'number': return Number.isFinite(v);
    case 'object': break;
    default: return false;
  }
  if (v === null) return true;
  if (depth >= MAX_DEPTH || typeof v.toJSON === 'function') return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!plain(v[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || Symbol.toStringTag in v) return false;
  for (const k in v) {
    const x = v[k];
    if (x !== undefined && !plain(x, depth + 1)) return false;
  }
  return true;
}
export function toJsonText(value, root) {
  try {
    if (plain(value, 0)) return JSON.stringify(value);
  } catch (e) {}
  const stack = [];
  const bad = (path, what) => { throw new BillcalcError('invalid_type', clip(path), 'invalid type: ' + what + ' is not a JSON value'); };
  const walk = (v, path) => {
    switch (typeof v) {
      case 'string': case 'boolean': return;
      case 'number': if (!Number.isFinite(v)) bad(path, String(v)); return;
      case 'bigint': bad(path, 'a BigInt'); return;
      case 'function': bad(path, 'a function'); return;
      case 'symbol': bad(path, 'a symbol'); return;
      case 'undefined': bad(path, 'undefined'); return;
    }
    if (v === null) return;
    if (typeof v.toJSON === 'function') {
      let json;
      try { json = v.toJSON(); } catch (e) { bad(path, 'an object whose toJSON throws'); }
      walk(json, path);
      return;
    }
    if (stack.length >= MAX_DEPTH) bad(path, 'nesting deeper than ' + MAX_DEPTH + ' levels');
    if (stack.includes(v)) bad(path, 'a circular reference');
    stack.push(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], path + '[' + i + ']');
    } else {
      const tag = Object.prototype.toString.call(v);
      if (tag !== '[object Object]') bad(path, 'a ' + tag.slice(8, -1) + ' object');
      for (const k of Object.keys(v)) {
        const x = v[k];
        if (x !== undefined) walk(x, path ? path + '.' + k : k);
      }
    }
    stack.pop();
  };
  try {
    walk(value, root);
    return JSON.stringify(value);
  } catch (e) {
    if (e instanceof BillcalcError) throw e;
    // A getter or a Proxy that throws, a stack exhausted: still an input error, not a crash.
    throw new BillcalcError('invalid_type', clip(root), 'invalid type: the value cannot be read as JSON');
  }
}
export function quoteFromParts(text, n) {
  const q = JSON.parse(text);
  if (n.length === 0) return q;
  const s = q.lines, totals = q.total_taxes, count = n[0], out = new Array(count);
  let p = 1;
  for (let i = 0; i < count; i++) {
    const price = s[n[p]], product = s[n[p + 1]], quantity = n[p + 2], amount = n[p + 3];
    let k = n[p + 4];
    p += 5;
    const discounts = [];
    for (; k > 0; k--, p += 2) discounts.push({ discount: s[n[p]], amount: n[p + 1] });
    const excluding = n[p], category = s[n[p + 1]];
    k = n[p + 2];
    p += 3;
    const taxes = [];
    for (; k > 0; k--, p += 3) {
      const tax = { ...totals[n[p + 2]] };
      tax.amount = n[p];
      tax.taxable_amount = n[p + 1];
      taxes.push(tax);
    }
    const line = { price, product, quantity, amount, discount_amounts: discounts, amount_excluding_tax: excluding, tax_category: category, taxes };
    k = n[p++];
    if (k > 0) {
      const description = s[n[p++]];
      if (description !== null) line.description = description;
      if (k > 1) line.metadata = s[n[p++]];
    }
    out[i] = line;
  }
  q.lines = out;
  return q;
}
export function guardCalculator(Calculator) {
  const proto = Calculator.prototype;
  if (proto.__billcalcGuarded) return;
  Object.defineProperty(proto, '__billcalcGuarded', { value: true });
  for (const name of Object.getOwnPropertyNames(proto)) {
    const method = proto[name];
    if (name === 'constructor' || name.startsWith('__') || typeof method !== 'function') continue;
    const guarded = name === 'free'
      ? function free() { if (this && this.__wbg_ptr) method.call(this); }
      : function (...args) {
          if (!(this instanceof Calculator)) throw new BillcalcError('invalid_request', '', 'Calculator.' + name + ' called on something that is not a Calculator');
          if (!this.__wbg_ptr) throw new BillcalcError('calculator_freed', '', 'this Calculator was freed (free() or a using block); create a new one');
          return method.apply(this, args);
        };
    Object.defineProperty(guarded, 'name', { value: name });
    Object.defineProperty(guarded, 'length', { value: method.length });
    proto[name] = guarded;
  }
  if (typeof Symbol.dispose === 'symbol') proto[Symbol.dispose] = proto.free;
}")]
extern "C" {
    type BillcalcError;
    #[wasm_bindgen(constructor)]
    fn new(code: &str, path: &str, message: &str) -> BillcalcError;
    #[wasm_bindgen(catch, js_name = toJsonText)]
    fn to_json_text(value: &JsValue, root: &str) -> Result<String, JsValue>;
    #[wasm_bindgen(catch, js_name = quoteFromParts)]
    fn quote_from_parts(text: &str, numbers: &[f64]) -> Result<QuoteJs, JsValue>;
}

// TypeScript names for the JS values crossing the boundary (declared in src/types.d.ts).
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "QuoteInput")]
    pub type QuoteInputJs;
    #[wasm_bindgen(typescript_type = "Cart")]
    pub type CartJs;
    #[wasm_bindgen(typescript_type = "Catalog")]
    pub type CatalogJs;
    #[wasm_bindgen(typescript_type = "Quote")]
    pub type QuoteJs;
    #[wasm_bindgen(typescript_type = "PreviewInvoiceInput")]
    pub type PreviewInvoiceInputJs;
    #[wasm_bindgen(typescript_type = "InvoicePreview")]
    pub type InvoicePreviewJs;
    #[wasm_bindgen(typescript_type = "Invoice")]
    pub type InvoiceJs;
    #[wasm_bindgen(typescript_type = "BillingDatesInput")]
    pub type BillingDatesInputJs;
    #[wasm_bindgen(typescript_type = "BillingDatesRequest")]
    pub type BillingDatesRequestJs;
    #[wasm_bindgen(typescript_type = "BillingDates")]
    pub type BillingDatesJs;
    #[wasm_bindgen(typescript_type = "DunningInput")]
    pub type DunningInputJs;
    #[wasm_bindgen(typescript_type = "DunningSchedule")]
    pub type DunningScheduleJs;
    #[wasm_bindgen(typescript_type = "CreditNoteInput")]
    pub type CreditNoteInputJs;
    #[wasm_bindgen(typescript_type = "CreditNote")]
    pub type CreditNoteJs;
    #[wasm_bindgen(typescript_type = "RevenueMetricsInput")]
    pub type RevenueMetricsInputJs;
    #[wasm_bindgen(typescript_type = "RevenueReport")]
    pub type RevenueReportJs;
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.d.ts");

pub(crate) fn throwable(error: Error) -> JsValue {
    BillcalcError::new(error.code.as_str(), &error.path, &error.message).into()
}

/// A JS value as JSON text, through the one boundary check (`toJsonText` above).
pub(crate) fn json_text(value: &JsValue) -> Result<String, JsValue> {
    to_json_text(value, "")
}

/// JSON text as an untyped JSON value borrowing from it (the adapters read platform payloads
/// leniently).
#[cfg(feature = "adapters")]
fn scan_text(text: &str) -> Result<crate::json::Value<'_>, JsValue> {
    crate::json_scan::scan(text).map_err(throwable)
}

#[cfg(any(feature = "quotes", feature = "metrics"))]
fn parse<T: crate::json::FromJson>(value: JsValue) -> Result<T, JsValue> {
    crate::parse::from_json(&json_text(&value)?).map_err(throwable)
}

/// A result through serde_json (the adapters' and metrics' builds).
#[cfg(any(feature = "adapters", feature = "metrics"))]
fn output<T: Serialize, J: JsCast>(value: &T) -> Result<J, JsValue> {
    let internal = || {
        throwable(Error::new(
            ErrorCode::InvalidType,
            "",
            "result could not be encoded",
        ))
    };
    let text = serde_json::to_string(value).map_err(|_| internal())?;
    json_output(&text)
}

/// A subscription result through its hand-written JSON text (src/invoice_json.rs): no serde
/// serialiser in the browser's `billcalc` build.
#[cfg(feature = "subscriptions")]
fn text_output<T: ToJsonText, J: JsCast>(value: &T) -> Result<J, JsValue> {
    json_output(&value.to_json_text())
}

/// JSON text (from serde_json or a hand-written writer) as the JS value it describes.
#[cfg(any(feature = "subscriptions", feature = "adapters", feature = "metrics"))]
fn json_output<J: JsCast>(text: &str) -> Result<J, JsValue> {
    js_sys::JSON::parse(text)
        .map(JsCast::unchecked_into)
        .map_err(|_| {
            throwable(Error::new(
                ErrorCode::InvalidType,
                "",
                "result could not be encoded",
            ))
        })
}

/// A quote, through its hand-written transfer form and `quoteFromParts` (the checkout hot path).
#[cfg(feature = "quotes")]
fn quote_output(quote: &quote::Quote) -> Result<QuoteJs, JsValue> {
    let transfer = quote.to_transfer();
    quote_from_parts(&transfer.text, &transfer.numbers).map_err(|_| {
        throwable(Error::new(
            ErrorCode::InvalidType,
            "",
            "result could not be encoded",
        ))
    })
}

/// Prices a self-contained cart (inline prices, or ids from `input.catalog`).
#[cfg(feature = "quotes")]
#[wasm_bindgen(js_name = computeQuote)]
pub fn compute_quote(input: QuoteInputJs) -> Result<QuoteJs, JsValue> {
    let input: quote::QuoteInput = parse(input.into())?;
    quote_output(&quote::compute_quote(&input).map_err(throwable)?)
}

/// Previews a subscription's next invoice (inline prices and coupons, or ids from
/// `input.catalog`), optionally with a pending change.
#[cfg(feature = "subscriptions")]
#[wasm_bindgen(js_name = previewInvoice)]
pub fn preview_invoice(input: PreviewInvoiceInputJs) -> Result<InvoiceJs, JsValue> {
    let input: subscription::PreviewInvoiceInput = parse(input.into())?;
    text_output(&subscription::preview_invoice(&input).map_err(throwable)?)
}

/// The next invoices' dates and amounts, with renewal reminders.
#[cfg(feature = "subscriptions")]
#[wasm_bindgen(js_name = billingDates)]
pub fn billing_dates(input: BillingDatesInputJs) -> Result<BillingDatesJs, JsValue> {
    let input: subscription::BillingDatesInput = parse(input.into())?;
    text_output(&subscription::billing_dates(&input).map_err(throwable)?)
}

/// When to retry a failed payment.
#[cfg(feature = "subscriptions")]
#[wasm_bindgen(js_name = dunningSchedule)]
pub fn dunning_schedule(input: DunningInputJs) -> Result<DunningScheduleJs, JsValue> {
    let input: subscription::DunningInput = parse(input.into())?;
    text_output(&subscription::dunning_schedule(&input).map_err(throwable)?)
}

/// A credit note for an issued invoice: whole, by line or by amount, tax reversed in proportion.
#[cfg(feature = "subscriptions")]
#[wasm_bindgen(js_name = creditNote)]
pub fn credit_note(input: CreditNoteInputJs) -> Result<CreditNoteJs, JsValue> {
    let input: subscription::CreditNoteInput = parse(input.into())?;
    text_output(&subscription::credit_note(&input).map_err(throwable)?)
}

/// Revenue metrics (MRR, movements, churn, retention, ARPU, LTV, trials, recovery, cohorts) from
/// subscription histories and invoices; see `billcalc::metrics`. Its own entry point in browsers,
/// `billcalc/metrics` (feature `metrics`).
#[cfg(feature = "metrics")]
#[wasm_bindgen(js_name = revenueMetrics)]
pub fn revenue_metrics(input: RevenueMetricsInputJs) -> Result<RevenueReportJs, JsValue> {
    let input: crate::metrics::MetricsInput = parse(input.into())?;
    output(&crate::metrics::revenue_metrics(&input).map_err(throwable)?)
}

/// The engine version stamped on every result.
#[wasm_bindgen]
pub fn version() -> String {
    crate::quote::VERSION.to_string()
}

/// A validated catalog; `quote(cart)` prices carts that refer to its price ids.
#[cfg(feature = "quotes")]
#[wasm_bindgen(js_name = Calculator)]
pub struct JsCalculator(catalog::Calculator);

#[cfg(feature = "quotes")]
#[wasm_bindgen(js_class = Calculator)]
impl JsCalculator {
    #[wasm_bindgen(constructor)]
    pub fn new(catalog: CatalogJs) -> Result<JsCalculator, JsValue> {
        let catalog: catalog::Catalog = parse(catalog.into())?;
        catalog::Calculator::new(&catalog)
            .map(JsCalculator)
            .map_err(throwable)
    }

    pub fn quote(&self, cart: CartJs) -> Result<QuoteJs, JsValue> {
        let cart: quote::QuoteInput = parse(cart.into())?;
        quote_output(&self.0.quote(&cart).map_err(throwable)?)
    }
}

#[cfg(feature = "subscriptions")]
#[wasm_bindgen(js_class = Calculator)]
impl JsCalculator {
    /// Previews a subscription's next invoice against this catalog.
    #[wasm_bindgen(js_name = previewInvoice)]
    pub fn preview_invoice(&self, input: InvoicePreviewJs) -> Result<InvoiceJs, JsValue> {
        let input: subscription::PreviewInvoiceInput = parse(input.into())?;
        text_output(&self.0.preview_invoice(&input).map_err(throwable)?)
    }

    /// The next invoices' dates and amounts against this catalog.
    #[wasm_bindgen(js_name = billingDates)]
    pub fn billing_dates(&self, input: BillingDatesRequestJs) -> Result<BillingDatesJs, JsValue> {
        let input: subscription::BillingDatesInput = parse(input.into())?;
        text_output(&self.0.billing_dates(&input).map_err(throwable)?)
    }
}

// Shop-platform adapters (src/adapters): platform carts in, billcalc carts out.
#[cfg(feature = "adapters")]
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "ShopifyCart")]
    pub type ShopifyCartJs;
    #[wasm_bindgen(typescript_type = "ShopifyAmounts")]
    pub type ShopifyAmountsJs;
    #[wasm_bindgen(typescript_type = "WooCommerceCart")]
    pub type WooCommerceCartJs;
    #[wasm_bindgen(typescript_type = "WooCommerceOptions")]
    pub type WooCommerceOptionsJs;
}

/// A Shopify AJAX cart (`/cart.js`) as a billcalc cart (Shopify's ×100 money rescaled).
#[cfg(feature = "adapters")]
#[wasm_bindgen(js_name = fromShopifyCart)]
pub fn from_shopify_cart(cart: ShopifyCartJs) -> Result<CartJs, JsValue> {
    let text = json_text(&cart.into())?;
    let cart = scan_text(&text)?;
    output(&crate::adapters::shopify::from_shopify_cart(&cart).map_err(throwable)?)
}

/// A quote's amounts in Shopify's ×100 subunits, for themes that display Shopify money.
#[cfg(feature = "adapters")]
#[wasm_bindgen(js_name = toShopifyAmounts)]
pub fn to_shopify_amounts(quote: QuoteJs) -> Result<ShopifyAmountsJs, JsValue> {
    let text = json_text(&quote.into())?;
    let quote = scan_text(&text)?;
    output(&crate::adapters::shopify::to_shopify_amounts(&quote).map_err(throwable)?)
}

/// A WooCommerce Store API cart as a billcalc cart (store minor units rescaled to ISO).
#[cfg(feature = "adapters")]
#[wasm_bindgen(js_name = fromWooCommerceCart)]
pub fn from_woocommerce_cart(
    cart: WooCommerceCartJs,
    // An `Option` of the last parameter is what makes it optional in the TypeScript declaration
    // (`options?: WooCommerceOptions | null`), so `fromWooCommerceCart(cart)` type-checks.
    options: Option<WooCommerceOptionsJs>,
) -> Result<CartJs, JsValue> {
    let text = json_text(&cart.into())?;
    let cart = scan_text(&text)?;
    let options_text = match options.map(JsValue::from) {
        Some(value) if !value.is_undefined() && !value.is_null() => Some(json_text(&value)?),
        _ => None,
    };
    let options = match options_text.as_deref() {
        Some(text) => Some(scan_text(text)?),
        None => None,
    };
    let cart = crate::adapters::woocommerce::from_woocommerce_cart(&cart, options.as_ref());
    output(&cart.map_err(throwable)?)
}

/// An amount in minor units as an exact decimal string in major units: `(123456, "eur")` →
/// `"1234.56"`, `(1000, "jpy")` → `"1000"`. For display with `Intl.NumberFormat`, which formats
/// decimal strings exactly; no float is involved.
#[cfg(feature = "quotes")]
#[wasm_bindgen(js_name = decimalAmount)]
pub fn decimal_amount(
    #[wasm_bindgen(unchecked_param_type = "number")] amount: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] currency: JsValue,
) -> Result<String, JsValue> {
    // A `&str` parameter would make wasm-bindgen's glue copy whatever it is given as a string
    // (a number traps the instance): take any value and check it.
    let currency = currency.as_string().ok_or_else(|| {
        throwable(Error::new(
            ErrorCode::InvalidType,
            "currency",
            "invalid type: expected a currency code string",
        ))
    })?;
    let currency = crate::currency::Currency::parse(&currency, "currency").map_err(throwable)?;
    // The number arrives as its JSON text, like every other value: no float on the way.
    let amount = to_json_text(&amount, "amount")?
        .parse::<i64>()
        .map_err(|_| {
            Error::new(
                ErrorCode::InvalidAmount,
                "amount",
                "expected an integer amount in minor units",
            )
        })
        .and_then(|a| crate::money::checked(a, "amount"))
        .map_err(throwable)?;
    // What `Decimal::new(amount, exponent).to_string()` gives, without `core::fmt` (issue 12).
    let mut text = String::with_capacity(24);
    crate::quote_json::push_decimal(&mut text, i128::from(amount), currency.exponent());
    Ok(text)
}

//! The JavaScript API: `computeQuote`, `previewInvoice`, `billingDates`, `dunningSchedule`,
//! `creditNote`, `Calculator` (`quote`, `previewInvoice`, `billingDates`), `version`. Inputs and outputs are plain JS
//! objects shaped like the Rust types; errors are thrown as `BillcalcError` (an `Error` subclass
//! with `code` and `path`), and the instance keeps working after any of them.
//!
//! Values cross the boundary as JSON text (`JSON.stringify` in, `JSON.parse` out) and are read
//! with serde_json, the parser the native build and the server use. So every runtime sees the
//! same numbers, rejects the same unknown fields (serde-wasm-bindgen reads structs field by field
//! and never sees extra keys) and reports the same paths.

use crate::error::{Error, ErrorCode};
use crate::{catalog, quote, subscription};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = "export class BillcalcError extends Error {
  constructor(code, path, message) { super(message); this.name = 'BillcalcError'; this.code = code; this.path = path; }
}")]
extern "C" {
    type BillcalcError;
    #[wasm_bindgen(constructor)]
    fn new(code: &str, path: &str, message: &str) -> BillcalcError;
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
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.d.ts");

fn throwable(error: Error) -> JsValue {
    BillcalcError::new(error.code.as_str(), &error.path, &error.message).into()
}

fn parse<T: DeserializeOwned>(value: JsValue) -> Result<T, JsValue> {
    let not_json = || {
        throwable(Error::new(
            ErrorCode::InvalidType,
            "",
            "expected a plain JSON-compatible object",
        ))
    };
    let text = js_sys::JSON::stringify(&value).map_err(|_| not_json())?;
    let text = text.as_string().ok_or_else(not_json)?;
    crate::parse::from_json(&text).map_err(throwable)
}

fn output<T: Serialize, J: JsCast>(value: &T) -> Result<J, JsValue> {
    let internal = || {
        throwable(Error::new(
            ErrorCode::InvalidType,
            "",
            "result could not be encoded",
        ))
    };
    let text = serde_json::to_string(value).map_err(|_| internal())?;
    js_sys::JSON::parse(&text)
        .map(JsCast::unchecked_into)
        .map_err(|_| internal())
}

/// Prices a self-contained cart (inline prices, or ids from `input.catalog`).
#[wasm_bindgen(js_name = computeQuote)]
pub fn compute_quote(input: QuoteInputJs) -> Result<QuoteJs, JsValue> {
    let input: quote::QuoteInput = parse(input.into())?;
    output(&quote::compute_quote(&input).map_err(throwable)?)
}

/// Previews a subscription's next invoice (inline prices and coupons, or ids from
/// `input.catalog`), optionally with a pending change.
#[wasm_bindgen(js_name = previewInvoice)]
pub fn preview_invoice(input: PreviewInvoiceInputJs) -> Result<InvoiceJs, JsValue> {
    let input: subscription::PreviewInvoiceInput = parse(input.into())?;
    output(&subscription::preview_invoice(&input).map_err(throwable)?)
}

/// The next invoices' dates and amounts, with renewal reminders.
#[wasm_bindgen(js_name = billingDates)]
pub fn billing_dates(input: BillingDatesInputJs) -> Result<BillingDatesJs, JsValue> {
    let input: subscription::BillingDatesInput = parse(input.into())?;
    output(&subscription::billing_dates(&input).map_err(throwable)?)
}

/// When to retry a failed payment.
#[wasm_bindgen(js_name = dunningSchedule)]
pub fn dunning_schedule(input: DunningInputJs) -> Result<DunningScheduleJs, JsValue> {
    let input: subscription::DunningInput = parse(input.into())?;
    output(&subscription::dunning_schedule(&input).map_err(throwable)?)
}

/// A credit note for an issued invoice: whole, by line or by amount, tax reversed in proportion.
#[wasm_bindgen(js_name = creditNote)]
pub fn credit_note(input: CreditNoteInputJs) -> Result<CreditNoteJs, JsValue> {
    let input: subscription::CreditNoteInput = parse(input.into())?;
    output(&subscription::credit_note(&input).map_err(throwable)?)
}

/// The engine version stamped on every result.
#[wasm_bindgen]
pub fn version() -> String {
    quote::VERSION.to_string()
}

/// A validated catalog; `quote(cart)` prices carts that refer to its price ids.
#[wasm_bindgen(js_name = Calculator)]
pub struct JsCalculator(catalog::Calculator);

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
        output(&self.0.quote(&cart).map_err(throwable)?)
    }

    /// Previews a subscription's next invoice against this catalog.
    #[wasm_bindgen(js_name = previewInvoice)]
    pub fn preview_invoice(&self, input: InvoicePreviewJs) -> Result<InvoiceJs, JsValue> {
        let input: subscription::PreviewInvoiceInput = parse(input.into())?;
        output(&self.0.preview_invoice(&input).map_err(throwable)?)
    }

    /// The next invoices' dates and amounts against this catalog.
    #[wasm_bindgen(js_name = billingDates)]
    pub fn billing_dates(&self, input: BillingDatesRequestJs) -> Result<BillingDatesJs, JsValue> {
        let input: subscription::BillingDatesInput = parse(input.into())?;
        output(&self.0.billing_dates(&input).map_err(throwable)?)
    }
}

//! `new Calculator(catalog)` then `calculator.quote(cart)`, `previewInvoice` and `billingDates`
//! with the same input (most fail on the wrong shape; the reader must say so, not panic).
#![no_main]
mod common;
use billcalc::{from_value, BillingDatesInput, Calculator, Catalog, PreviewInvoiceInput, QuoteInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(doc) = common::document(data) else { return };
    let calculator = match from_value::<Catalog>(&doc["catalog"]).and_then(|c| Calculator::new(&c)) {
        Ok(c) => c,
        Err(e) => return common::check_error(&e),
    };
    match from_value::<QuoteInput>(&doc["input"]).and_then(|i| calculator.quote(&i)) {
        Ok(quote) => common::check_quote(&common::to_json(&quote)),
        Err(e) => common::check_error(&e),
    }
    match from_value::<PreviewInvoiceInput>(&doc["input"]).and_then(|i| calculator.preview_invoice(&i)) {
        Ok(invoice) => common::check_invoice(&common::to_json(&invoice)),
        Err(e) => common::check_error(&e),
    }
    if let Err(e) = from_value::<BillingDatesInput>(&doc["input"]).and_then(|i| calculator.billing_dates(&i)) {
        common::check_error(&e);
    }
});

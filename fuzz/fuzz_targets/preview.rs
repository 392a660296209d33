//! `previewInvoice`: a subscription's next invoice, checked against the money invariants.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(doc) = common::document(data) else { return };
    match billcalc::from_value::<billcalc::PreviewInvoiceInput>(&doc["input"])
        .and_then(|i| billcalc::preview_invoice(&i))
    {
        Ok(invoice) => common::check_invoice(&common::to_json(&invoice)),
        Err(e) => common::check_error(&e),
    }
});

//! `computeQuote`: JSON text → quote, checked against the money invariants.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(doc) = common::document(data) else { return };
    match billcalc::from_value::<billcalc::QuoteInput>(&doc["input"]).and_then(|i| billcalc::compute_quote(&i)) {
        Ok(quote) => common::check_quote(&common::to_json(&quote)),
        Err(e) => common::check_error(&e),
    }
});

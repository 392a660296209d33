//! `creditNote`: parts add up, never more than what is left to credit.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(doc) = common::document(data) else { return };
    match billcalc::from_value::<billcalc::CreditNoteInput>(&doc["input"]) {
        Ok(input) => match billcalc::credit_note(&input) {
            Ok(note) => {
                let increment = input.rounding.and_then(|r| r.increment);
                common::check_credit_note(&common::to_json(&note), increment)
            }
            Err(e) => common::check_error(&e),
        },
        Err(e) => common::check_error(&e),
    }
});

//! What every fuzz target shares: the input is JSON text shaped like a golden vector
//! (`{"catalog"?, "input", "options"?}`; other keys are ignored), read through the crate's one
//! JSON entry point (`billcalc::parse::json_value`, strict about duplicate keys); a result is
//! checked against the money invariants of tests/support/invariants.rs. A panic or a broken
//! invariant is a finding.
#![allow(dead_code)]

#[path = "../../tests/support/invariants.rs"]
mod invariants;

use serde_json::Value;

/// The vector-shaped document, or `None` when the bytes are not JSON the engine accepts
/// (that path is fuzzed too: `json_value` must return an error, not panic).
pub fn document(data: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(data).ok()?;
    let doc = billcalc::parse::json_value(text).ok()?;
    doc.is_object().then_some(doc)
}

pub fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("a result serializes")
}

fn increment(out: &Value) -> Option<i64> {
    out["rounding"]["increment"].as_i64()
}

pub fn check_quote(out: &Value) {
    if let Err(e) = invariants::check_quote(out, increment(out)) {
        panic!("quote invariant broken: {e}");
    }
}

pub fn check_invoice(out: &Value) {
    if let Err(e) = invariants::check_invoice(out, increment(out)) {
        panic!("invoice invariant broken: {e}");
    }
}

pub fn check_credit_note(out: &Value, increment: Option<i64>) {
    if let Err(e) = invariants::check_credit_note(out, increment) {
        panic!("credit note invariant broken: {e}");
    }
}

/// Errors are fine; they must be bounded (finding 6).
pub fn check_error(e: &billcalc::Error) {
    assert!(e.path.len() <= billcalc::error::MAX_PATH_LEN, "unbounded error path");
    assert!(e.message.len() <= billcalc::error::MAX_MESSAGE_LEN, "unbounded error message");
}

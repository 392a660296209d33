//! The JSON boundary natively: duplicate keys, bounded error echoes (issue 11 findings 6, 7).
//! The JS side of the boundary is tests/node/boundary.test.mjs.
#![cfg(not(target_arch = "wasm32"))]

use billcalc::error::{MAX_MESSAGE_LEN, MAX_PATH_LEN};
use billcalc::{compute_quote, from_json, ErrorCode, QuoteInput};

fn quote_error(text: &str) -> billcalc::Error {
    match from_json::<QuoteInput>(text) {
        Err(e) => e,
        Ok(input) => compute_quote(&input).expect_err("expected an error"),
    }
}

#[test]
fn duplicate_keys_are_rejected_not_last_wins() {
    // Finding 7: `"quantity":1,"quantity":5` priced 5.
    let e = quote_error(
        r#"{"currency":"usd","lines":[{"price":{"currency":"usd","unit_amount":100},"quantity":1,"quantity":5}]}"#,
    );
    assert_eq!(
        (e.code, e.path.as_str()),
        (ErrorCode::DuplicateField, "lines[0].quantity")
    );
    let e = quote_error(
        r#"{"currency":"usd","lines":[{"price":{"currency":"usd","unit_amount":100,"unit_amount":1}}]}"#,
    );
    assert_eq!(
        (e.code, e.path.as_str()),
        (ErrorCode::DuplicateField, "lines[0].price.unit_amount")
    );
    // Keys are compared after unescaping: "a" and "\u0061" are the same key.
    let e = quote_error(r#"{"currency":"usd","lines":[],"metadata":{"a":"1","\u0061":"2"}}"#);
    assert_eq!(
        (e.code, e.path.as_str()),
        (ErrorCode::DuplicateField, "metadata.a")
    );
}

#[test]
fn errors_never_echo_more_than_a_bounded_amount_of_input() {
    // Finding 6: an unknown key of 10^6 characters gave a 10^6-character path and message.
    let key = "k".repeat(1_000_000);
    let text = format!(r#"{{"currency":"usd","lines":[{{"price":"p","{key}":1}}]}}"#);
    let e = quote_error(&text);
    assert_eq!(e.code, ErrorCode::UnknownField);
    assert!(
        e.path.len() <= MAX_PATH_LEN,
        "path of {} bytes",
        e.path.len()
    );
    assert!(
        e.message.len() <= MAX_MESSAGE_LEN,
        "message of {} bytes",
        e.message.len()
    );
    assert!(e.path.starts_with("lines[0].kkk") && e.path.ends_with('…'));
    // Multi-byte characters are cut on a character boundary.
    let key = "é".repeat(300_000);
    let e = quote_error(&format!(r#"{{"currency":"usd","lines":[],"{key}":1}}"#));
    assert!(e.path.len() <= MAX_PATH_LEN && e.path.ends_with('…'));
    // A huge unknown currency or price id is not echoed in full either.
    let code = "x".repeat(1_000_000);
    let e = quote_error(&format!(r#"{{"currency":"{code}","lines":[]}}"#));
    assert!(e.message.len() <= MAX_MESSAGE_LEN && e.path.len() <= MAX_PATH_LEN);
    // The Display form is bounded too.
    assert!(e.to_string().len() <= MAX_PATH_LEN + MAX_MESSAGE_LEN + 40);
}

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

#[test]
fn lists_past_their_limit_are_limit_exceeded_at_their_path() {
    use billcalc::limits::{MAX_LINES, MAX_PROMOTIONS, MAX_TIERS};
    use serde_json::json;
    let line = json!({ "price": { "currency": "usd", "unit_amount": 1 } });
    let cart = json!({ "currency": "usd", "lines": vec![line.clone(); MAX_LINES + 1] });
    let e = compute_quote(&billcalc::from_value(&cart).unwrap()).unwrap_err();
    assert_eq!(
        (e.code, e.path.as_str()),
        (ErrorCode::LimitExceeded, "lines")
    );
    let cart = json!({ "currency": "usd", "lines": vec![line; MAX_LINES] });
    assert!(compute_quote(&billcalc::from_value(&cart).unwrap()).is_ok());

    let mut tiers: Vec<_> = (1..=MAX_TIERS)
        .map(|t| json!({ "up_to": t, "unit_amount": 1 }))
        .collect();
    tiers.push(json!({ "up_to": "inf", "unit_amount": 1 }));
    let cart = json!({ "currency": "usd", "lines": [{ "price": { "currency": "usd",
        "billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers } }] });
    let e = compute_quote(&billcalc::from_value(&cart).unwrap()).unwrap_err();
    assert_eq!(
        (e.code, e.path.as_str()),
        (ErrorCode::LimitExceeded, "lines[0].price.tiers")
    );

    let rules: Vec<_> = (0..=MAX_PROMOTIONS)
        .map(|i| json!({ "id": format!("r{i}"), "type": "free_shipping" }))
        .collect();
    let catalog: billcalc::Catalog = billcalc::from_value(&json!({ "promotions": rules })).unwrap();
    let e = billcalc::Calculator::new(&catalog).unwrap_err();
    assert_eq!(
        (e.code, e.path.as_str()),
        (ErrorCode::LimitExceeded, "promotions")
    );
}

/// The scaling cases of finding 8 price correctly at full size (their cost is measured by
/// `cargo bench --bench scaling`, not timed here).
#[test]
fn graduated_tiers_by_binary_search_match_the_walk() {
    use serde_json::json;
    let tiers: Vec<_> = (1..200)
        .map(|t| json!({ "up_to": t * 3, "unit_amount": 1000 - t, "flat_amount": t % 7 }))
        .chain([json!({ "up_to": "inf", "unit_amount_decimal": "0.5" })])
        .collect();
    // The walk over every tier, as Stripe documents graduated pricing.
    let walk = |q: i64| -> rust_decimal::Decimal {
        let mut total = rust_decimal::Decimal::ZERO;
        let mut floor = 0;
        for (i, t) in tiers.iter().enumerate() {
            if i > 0 && q <= floor {
                break;
            }
            let up_to = t["up_to"].as_i64();
            let ceiling = up_to.map_or(q, |u| u.min(q));
            let unit: rust_decimal::Decimal = match t.get("unit_amount_decimal") {
                Some(d) => d.as_str().unwrap().parse().unwrap(),
                None => t["unit_amount"].as_i64().unwrap().into(),
            };
            total += unit * rust_decimal::Decimal::from((ceiling - floor).max(0));
            total += rust_decimal::Decimal::from(t["flat_amount"].as_i64().unwrap_or(0));
            match up_to {
                Some(u) => floor = u,
                None => break,
            }
        }
        total
    };
    let price = json!({ "currency": "usd", "billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers });
    for q in (0..700).chain([5_000, 1_000_000]) {
        let cart = json!({ "currency": "usd", "rounding": { "mode": "up" }, "lines": [{ "price": price, "quantity": q }] });
        let quote = compute_quote(&billcalc::from_value(&cart).unwrap()).unwrap();
        let expected = walk(q).ceil();
        assert_eq!(
            rust_decimal::Decimal::from(quote.total),
            expected,
            "quantity {q}"
        );
    }
}

//! Pricing a client's cart on the server: the same engine, with the server in charge of what
//! the client must not choose.
//!
//! * **The catalog is the server's.** Lines name catalog price ids; inline prices, inline
//!   coupons, a `catalog`, `rounding`, `tax` overrides, `default_tax_rates`, line `tax_rates`,
//!   `tax_category` and `discountable` are refused (`invalid_request` with the field's path).
//!   Shoppers (publishable key) redeem promotion codes only; a merchant back end (secret key)
//!   may also apply catalog coupons by id and set `customer.tax_exempt`.
//! * **The clock is the server's.** A cart without `as_of` is priced now; a cart with one is
//!   priced at it only when it is within `quotes.as_of_tolerance_seconds` of the server's clock
//!   (so a page that computed at T and the server agree exactly), or at a valid quote token's.
//! * **The ledger is the server's.** With a `customer.id`, `customer.has_paid_before` comes
//!   from the invoices on record (first-time-only promotion codes).

use crate::auth::KeyKind;
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use billcalc::discount::{CouponRef, DiscountInput};
use billcalc::quote::PriceRef;
use billcalc::{Quote, QuoteInput};
use serde::Serialize;
use serde_json::{Map, Value};

pub struct Priced {
    /// The engine input as priced (with `as_of` and the ledger's `has_paid_before`).
    pub input: Value,
    pub quote: Quote,
    pub quote_value: Value,
    pub as_of: String,
}

/// Rejects fields of a request object that are not in `allowed`.
pub fn only_fields(object: &Map<String, Value>, allowed: &[&str], prefix: &str) -> ApiResult<()> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(ApiError::bad_request(
            "unknown_field",
            billcalc::error::join_path(prefix, key),
            format!(
                "unknown field `{key}`, expected one of: {}",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// The customer id a cart names, if any.
pub fn customer_id(cart: &Value) -> Option<&str> {
    cart.get("customer")?.get("id")?.as_str()
}

pub fn price(
    state: &AppState,
    cart: &Value,
    kind: KeyKind,
    token_as_of: Option<&str>,
    has_paid_before: Option<bool>,
) -> ApiResult<Priced> {
    let Value::Object(map) = cart else {
        return Err(ApiError::bad_request(
            "invalid_type",
            "cart",
            "the cart must be a JSON object",
        ));
    };
    let mut map = map.clone();
    let now = state.clock.now();
    let as_of = match (token_as_of, map.get("as_of")) {
        (Some(t), Some(Value::String(c))) if c != t => {
            return Err(ApiError::invalid(
                "cart.as_of",
                "as_of must equal the quote token's as_of, or be left out",
            ))
        }
        (Some(t), _) => t.to_string(),
        (None, Some(Value::String(c))) => {
            let parsed = billcalc::time::AsOf::parse(c, "cart.as_of")
                .map_err(|e| ApiError::engine(e, ""))?;
            let tolerance = state.quotes.as_of_tolerance_seconds;
            if (parsed.instant - now).abs() > tolerance {
                return Err(ApiError::invalid(
                    "cart.as_of",
                    format!(
                        "as_of must be within {tolerance} s of the server's clock ({}); leave it out to price now",
                        rfc3339(now)
                    ),
                ));
            }
            c.clone()
        }
        (None, None | Some(Value::Null)) => rfc3339(now),
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "cart.as_of",
                "as_of must be a string",
            ))
        }
    };
    map.insert("as_of".into(), Value::String(as_of.clone()));
    if let (Some(paid), Some(Value::Object(customer))) = (has_paid_before, map.get_mut("customer"))
    {
        customer.insert("has_paid_before".into(), Value::Bool(paid));
    }
    let input = Value::Object(map);
    let parsed: QuoteInput =
        billcalc::from_value(&input).map_err(|e| ApiError::engine(e, "cart"))?;
    policy(&parsed, kind)?;
    let quote = state
        .calculator
        .quote(&parsed)
        .map_err(|e| ApiError::engine(e, "cart"))?;
    let quote_value = serde_json::to_value(&quote)
        .map_err(|e| ApiError::internal(format!("quote serialization: {e}")))?;
    Ok(Priced {
        input,
        quote,
        quote_value,
        as_of,
    })
}

fn refuse(path: String, what: &str) -> ApiError {
    ApiError::invalid(
        path,
        format!("{what} is not accepted by the server: it prices from its own catalog"),
    )
}

fn check_discounts(list: &[DiscountInput], prefix: &str, kind: KeyKind) -> ApiResult<()> {
    for (i, d) in list.iter().enumerate() {
        match &d.coupon {
            Some(CouponRef::Inline(_)) => {
                return Err(refuse(format!("{prefix}[{i}].coupon"), "an inline coupon"))
            }
            Some(CouponRef::Id(_)) if kind == KeyKind::Publishable => return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                format!("{prefix}[{i}].coupon"),
                "coupons are applied by the merchant (secret key); shoppers redeem promotion codes",
            )),
            _ => {}
        }
    }
    Ok(())
}

/// What a client may not decide (see the module docs). Paths are relative to the request.
pub fn policy(input: &QuoteInput, kind: KeyKind) -> ApiResult<()> {
    if input.catalog.is_some() {
        return Err(refuse("cart.catalog".into(), "a catalog"));
    }
    if input.rounding.is_some() {
        return Err(refuse("cart.rounding".into(), "a rounding override"));
    }
    if input.tax.is_some() {
        return Err(refuse("cart.tax".into(), "a tax override"));
    }
    if input.default_tax_rates.is_some() {
        return Err(refuse(
            "cart.default_tax_rates".into(),
            "explicit tax rates",
        ));
    }
    for (i, line) in input.lines.iter().enumerate() {
        let at = |f: &str| format!("cart.lines[{i}].{f}");
        if matches!(line.price, PriceRef::Inline(_)) {
            return Err(refuse(at("price"), "an inline price"));
        }
        if line.tax_rates.is_some() {
            return Err(refuse(at("tax_rates"), "explicit tax rates"));
        }
        if line.tax_category.is_some() {
            return Err(refuse(at("tax_category"), "a line tax category"));
        }
        if line.discountable.is_some() {
            return Err(refuse(at("discountable"), "discountable"));
        }
        check_discounts(&line.discounts, &format!("cart.lines[{i}].discounts"), kind)?;
    }
    check_discounts(&input.discounts, "cart.discounts", kind)?;
    if kind == KeyKind::Publishable {
        if let Some(customer) = &input.customer {
            if customer.tax_exempt != billcalc::customer::TaxExempt::None {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "forbidden",
                    "cart.customer.tax_exempt",
                    "tax exemption is set by the merchant (secret key)",
                ));
            }
        }
    }
    Ok(())
}

/// One field where the client's numbers differ from the server's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// Path in the quote, e.g. `total` or `total_taxes[0].amount`.
    pub path: String,
    /// The server's value (null when the server has no such field).
    pub expected: Value,
    /// The client's value (null when the client left an item out).
    pub actual: Value,
}

const MAX_DIFFERENCES: usize = 100;

/// Compares every field the client sent with the server's quote (fields the client left out are
/// not compared; array items are compared by position, and a length mismatch is reported).
pub fn differences(client: &Value, server: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff("", client, server, &mut out);
    out
}

fn diff(path: &str, client: &Value, server: &Value, out: &mut Vec<Difference>) {
    if out.len() >= MAX_DIFFERENCES {
        return;
    }
    match (client, server) {
        (Value::Object(c), Value::Object(s)) => {
            for (key, value) in c {
                let child = billcalc::error::join_path(path, key);
                match s.get(key) {
                    Some(sv) => diff(&child, value, sv, out),
                    None => out.push(Difference {
                        path: child,
                        expected: Value::Null,
                        actual: value.clone(),
                    }),
                }
            }
        }
        (Value::Array(c), Value::Array(s)) => {
            if c.len() != s.len() {
                out.push(Difference {
                    path: format!("{path}.length"),
                    expected: Value::from(s.len()),
                    actual: Value::from(c.len()),
                });
            }
            for (i, (cv, sv)) in c.iter().zip(s).enumerate() {
                diff(&format!("{path}[{i}]"), cv, sv, out);
            }
        }
        _ if client != server => out.push(Difference {
            path: path.to_string(),
            expected: server.clone(),
            actual: client.clone(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_field_differences() {
        let server = json!({"total": 1200, "total_taxes": [{"amount": 200, "percentage": "20"}], "lines": [{"amount": 1000}]});
        let client = json!({"total": 1100, "total_taxes": [{"amount": 200}], "lines": [{"amount": 1000}, {"amount": 5}]});
        let d = differences(&client, &server);
        assert_eq!(
            d,
            vec![
                Difference {
                    path: "lines.length".into(),
                    expected: json!(1),
                    actual: json!(2)
                },
                Difference {
                    path: "total".into(),
                    expected: json!(1200),
                    actual: json!(1100)
                },
            ]
        );
        assert!(differences(&json!({"total": 1200}), &server).is_empty());
    }
}

//! `POST /v1/charges`: the authoritative charge, in recorded steps (issue 13 §6, §10).
//!
//! 1. Outside any transaction: parse the body, recompute the quote with the engine (at the
//!    quote token's `as_of` when one is given, after checking the token's signature) and reject
//!    it when `expected_total` differs (`total_mismatch`, with the field-level differences).
//!    A request that fails here is answered from the ledger first when its key holds an answer
//!    (a replay is never re-validated); otherwise the error is not stored, so the client may fix
//!    the request and retry with the same key.
//! 2. [`crate::intent`] does the rest: one short transaction claims the `Idempotency-Key`,
//!    redeems the codes against their `max_redemptions` (`promotion_code_exhausted`) and records
//!    a payment intent `processing`; the gateway is called outside any transaction with the
//!    intent id as its idempotency key; a second transaction records the outcome (the invoice
//!    number is taken there, so declines leave no gap) and stores the answer under the key; the
//!    client is answered after that commit, and the e-invoice is rendered in the background
//!    and stored (read paths wait for it; see `crate::intent`).
//!
//! The flow runs in its own task, so a client hanging up does not cut it short.

use crate::auth::KeyKind;
use crate::canonical;
use crate::error::{ApiError, ApiResult};
use crate::intent::{self, Plan};
use crate::invoice::BillingCustomer;
use crate::ledger::{idempotency_key, redemption_counters, store_error};
use crate::pricing::{self, only_fields};
use crate::state::{AppState, Ctx};
use crate::token;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub const SCOPE: &str = "charges";

/// What a charge request asks for, checked.
struct ChargeInput {
    cart: Value,
    expected_total: i64,
    quote_token: Option<String>,
    payment_method: String,
    customer: BillingCustomer,
}

fn string_field(o: &Map<String, Value>, key: &str, path: &str) -> ApiResult<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= 512 => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ApiError::invalid(
            billcalc::error::join_path(path, key),
            "at most 512 characters",
        )),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            billcalc::error::join_path(path, key),
            "expected a string",
        )),
    }
}

fn parse(body: &Value) -> ApiResult<ChargeInput> {
    let Value::Object(o) = body else {
        return Err(ApiError::bad_request(
            "invalid_type",
            "",
            "the body must be a JSON object",
        ));
    };
    only_fields(
        o,
        &[
            "cart",
            "expected_total",
            "quote_token",
            "payment_method",
            "billing_details",
        ],
        "",
    )?;
    let cart = o
        .get("cart")
        .cloned()
        .ok_or_else(|| ApiError::bad_request("missing_field", "cart", "cart is required"))?;
    let expected_total = match o.get("expected_total") {
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::bad_request(
                "invalid_amount",
                "expected_total",
                "expected_total must be an integer amount in minor units",
            )
        })?,
        None => {
            return Err(ApiError::bad_request(
                "missing_field",
                "expected_total",
                "expected_total (the total the customer was shown, in minor units) is required",
            ))
        }
    };
    let payment_method = string_field(o, "payment_method", "")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_field",
                "payment_method",
                "payment_method (a gateway token such as pm_card_visa) is required",
            )
        })?;
    let quote_token = string_field(o, "quote_token", "")?;
    let mut customer = BillingCustomer::default();
    match o.get("billing_details") {
        None | Some(Value::Null) => {}
        Some(Value::Object(b)) => {
            only_fields(
                b,
                &["name", "company", "email", "shipping"],
                "billing_details",
            )?;
            customer.name = string_field(b, "name", "billing_details")?;
            customer.company = string_field(b, "company", "billing_details")?;
            customer.email = string_field(b, "email", "billing_details")?;
            customer.shipping = shipping(b.get("shipping"))?;
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "billing_details",
                "expected an object",
            ))
        }
    }
    Ok(ChargeInput {
        cart,
        expected_total,
        quote_token,
        payment_method,
        customer,
    })
}

/// `billing_details.shipping`: `{name?, address: {line1, line2?, postal_code?, city?, state?,
/// country}, delivery_date?}` (Stripe's shipping details, plus the actual delivery date
/// `YYYY-MM-DD` when it is not the day of the sale), printed on the invoice as "Livraison à" /
/// "Ship to".
fn shipping(value: Option<&Value>) -> ApiResult<Option<Value>> {
    const PATH: &str = "billing_details.shipping";
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Object(o) = value else {
        return Err(ApiError::bad_request(
            "invalid_type",
            PATH,
            "expected an object",
        ));
    };
    only_fields(o, &["name", "address", "delivery_date"], PATH)?;
    let _ = string_field(o, "name", PATH)?;
    // The actual delivery date (EN 16931 BT-72) when it is not the day of the sale.
    if let Some(d) = string_field(o, "delivery_date", PATH)? {
        if chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").is_err() {
            return Err(ApiError::bad_request(
                "invalid_date",
                "billing_details.shipping.delivery_date",
                "expected a YYYY-MM-DD date",
            ));
        }
    }
    let address_path = "billing_details.shipping.address";
    let Some(Value::Object(a)) = o.get("address") else {
        return Err(ApiError::bad_request(
            "missing_field",
            address_path,
            "a shipping address object is required",
        ));
    };
    only_fields(
        a,
        &["line1", "line2", "postal_code", "city", "state", "country"],
        address_path,
    )?;
    for key in ["line1", "line2", "postal_code", "city", "state", "country"] {
        let _ = string_field(a, key, address_path)?;
    }
    Ok(Some(value.clone()))
}

/// The handler: parses, then runs the flow in its own task.
pub async fn handle(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    headers: HeaderMap,
    kind: KeyKind,
) -> Response {
    let key = match idempotency_key(&ctx, &headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let Some(body) = ctx.body.clone() else {
        return ApiError::bad_request("invalid_request", "", "a JSON body is required")
            .into_response();
    };
    let metrics = state.clone();
    let metrics = &metrics.metrics;
    let task = crate::log::spawn(async move {
        // The idle e-invoice renderer waits while charges are in flight.
        let _in_flight = crate::render_queue::ChargeInFlight::start();
        run(state, &body, &key, kind).await
    });
    let response = match task.await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::internal("the charge task failed").into_response(),
    };
    let outcome = match response.status().as_u16() {
        200 if response.headers().contains_key("idempotent-replayed") => "replayed",
        200 => "succeeded",
        402 => "declined",
        409 => "conflict",
        s if s >= 500 => "error",
        _ => "rejected",
    };
    metrics.charges.with_label_values(&[outcome]).inc();
    response
}

async fn run(state: Arc<AppState>, body: &Value, key: &str, kind: KeyKind) -> ApiResult<Response> {
    let fingerprint = canonical::digest(body);
    let now = state.clock.now();
    let plan = match prepare(&state, body, kind, now).await {
        Ok(plan) => plan,
        // A replay is answered from the ledger before the request is validated again.
        Err(e) => match intent::stored_answer(&state, SCOPE, key, &fingerprint).await? {
            Some(answer) => return Ok(answer),
            None => return Err(e),
        },
    };
    intent::charge(state, SCOPE, key, &fingerprint, now, plan).await
}

/// Step 1, outside any transaction: parse, price, check the token and the expected total; the
/// plan of the charge.
async fn prepare(state: &AppState, body: &Value, kind: KeyKind, now: i64) -> ApiResult<Plan> {
    let input = parse(body)?;
    let customer_id = pricing::customer_id(&input.cart).map(str::to_string);
    let has_paid = match &customer_id {
        Some(id) => Some(state.store.has_paid(id).await.map_err(store_error)?),
        None => None,
    };
    // Recompute (at the token's as_of when there is one) and compare.
    let claims = match &input.quote_token {
        Some(t) => Some(token::decode(t)?),
        None => None,
    };
    let priced = pricing::price(
        state,
        &input.cart,
        kind,
        claims.as_ref().map(|(c, _)| c.as_of.as_str()),
        has_paid,
    )?;
    if let Some((c, tag)) = &claims {
        token::check(
            &state.signing_key,
            c,
            tag,
            &priced.input,
            &priced.quote_value,
            now,
        )?;
    }
    let total = priced.quote.total;
    if total != input.expected_total {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "total_mismatch",
            "expected_total",
            format!(
                "the server computes a total of {total} for this cart, not {}; nothing was charged",
                input.expected_total
            ),
        )
        .with(
            "differences",
            json!([{ "path": "total", "expected": total, "actual": input.expected_total }]),
        ));
    }
    // Redemptions, in key order (the same lock order in every transaction).
    let counters = redemption_counters(&priced.quote.discounts, |d, what| {
        format!("cart.{}.{what}", d.id)
    });
    let mut customer = input.customer;
    customer.id = customer_id;
    if let Some(c) = input.cart.get("customer") {
        customer.address = c.get("address").cloned();
        // The numbers as the engine normalised them ("DE 136 695 976" → "DE136695976"), else
        // as typed.
        customer.tax_ids = priced
            .quote_value
            .get("customer_tax_ids")
            .or_else(|| c.get("tax_ids"))
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|t| t.get("value").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
    }
    Ok(Plan::new(priced, customer, input.payment_method, counters))
}

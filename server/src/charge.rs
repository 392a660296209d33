//! `POST /v1/charges`: the authoritative charge.
//!
//! In order, inside one database transaction ([`crate::store`]):
//! 1. claim the `Idempotency-Key` (a replay returns the stored response; the same key with a
//!    different body is `idempotency_key_reused`);
//! 2. recompute the quote with the engine (at the quote token's `as_of` when one is given, after
//!    checking the token's signature) and reject it when `expected_total` differs
//!    (`total_mismatch`, with the field-level differences);
//! 3. redeem every applied promotion code and catalog coupon against its `max_redemptions`
//!    (`promotion_code_exhausted` when one is used up);
//! 4. charge through the payment gateway, passing the idempotency key along;
//! 5. take the next invoice number of the series, insert the invoice and the payment, store the
//!    response under the idempotency key, commit; only then answer.
//!
//! A decline rolls back 1–3 and is then stored under the key on its own (a replay gets the same
//! decline). Validation errors are not stored: the client may fix the request and retry with
//! the same key. The flow runs in its own task, so a client hanging up does not cut it short.
//!
//! The transaction stays open during the gateway call. With the built-in gateway that costs
//! microseconds; with a remote one, a transaction per step with recovery on replay is the next
//! step (the gateway's idempotency key already makes a replay after a crash safe).

use crate::auth::KeyKind;
use crate::canonical;
use crate::error::{json_response, ApiError, ApiResult};
use crate::gateway::{ChargeRequest, GatewayError};
use crate::invoice::{self, BillingCustomer, PaymentInfo};
use crate::ledger::{
    abort, idempotency_key, new_id, redeem_all, redemption_counters, store_decline, store_error,
};
use crate::pricing::{self, only_fields};
use crate::state::{AppState, Ctx};
use crate::store::{Claim, InvoiceRecord, PaymentRecord};
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
    let task = crate::log::spawn(async move { run(&state, &body, &key, kind).await });
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

async fn run(state: &AppState, body: &Value, key: &str, kind: KeyKind) -> ApiResult<Response> {
    let fingerprint = canonical::digest(body);
    // Replays are answered from the ledger before anything is validated again.
    let input = parse(body);
    let customer_id = input
        .as_ref()
        .ok()
        .and_then(|i| pricing::customer_id(&i.cart).map(str::to_string));
    let has_paid = match &customer_id {
        Some(id) => Some(state.store.has_paid(id).await.map_err(store_error)?),
        None => None,
    };
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    match tx.claim_key(SCOPE, key, &fingerprint, now).await {
        Ok(Claim::New) => {}
        Ok(Claim::Existing {
            fingerprint: f,
            status,
            response,
        }) => {
            let _ = tx.rollback().await;
            if f != fingerprint {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "",
                    "this Idempotency-Key was used with a different request body",
                ));
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut r = json_response(status, response);
            r.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            return Ok(r);
        }
        Err(e) => return abort(tx, store_error(e)).await,
    }
    let input = match input {
        Ok(i) => i,
        Err(e) => return abort(tx, e).await,
    };

    // 2. recompute (at the token's as_of when there is one) and compare.
    let claims = match &input.quote_token {
        Some(t) => match token::decode(t) {
            Ok(c) => Some(c),
            Err(e) => return abort(tx, e).await,
        },
        None => None,
    };
    let priced = match pricing::price(
        state,
        &input.cart,
        kind,
        claims.as_ref().map(|(c, _)| c.as_of.as_str()),
        has_paid,
    ) {
        Ok(p) => p,
        Err(e) => return abort(tx, e).await,
    };
    if let Some((c, tag)) = &claims {
        if let Err(e) = token::check(
            &state.signing_key,
            c,
            tag,
            &priced.input,
            &priced.quote_value,
            now,
        ) {
            return abort(tx, e).await;
        }
    }
    let total = priced.quote.total;
    if total != input.expected_total {
        let e = ApiError::new(
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
        );
        return abort(tx, e).await;
    }

    // 3. redemptions, in key order (the same lock order in every transaction).
    let counters = redemption_counters(&priced.quote.discounts, |d, what| {
        format!("cart.{}.{what}", d.id)
    });
    if let Err(e) = redeem_all(tx.as_mut(), &counters).await {
        return abort(tx, e).await;
    }

    // 4. the gateway. What is collected is the amount payable: the total, cash-rounded once when
    // the rounding policy has an increment (EN 16931 BT-115 = BT-112 + BT-114).
    let payable = priced.quote.amount_payable.unwrap_or(total);
    let currency = priced.quote.currency.code().to_string();
    let charge = if payable > 0 {
        let request = ChargeRequest {
            idempotency_key: format!("{SCOPE}:{key}"),
            amount: payable,
            currency: currency.clone(),
            payment_method: input.payment_method.clone(),
            description: state.seller.name.clone(),
        };
        match state.gateway.charge(request).await {
            Ok(c) => Some(c),
            Err(GatewayError::Declined {
                code,
                decline_code,
                message,
                hard,
            }) => {
                let _ = tx.rollback().await;
                let e = ApiError::new(
                    StatusCode::PAYMENT_REQUIRED,
                    code,
                    "payment_method",
                    message,
                )
                .with("decline_code", json!(decline_code))
                .with("retryable", json!(!hard && code == "processing_error"));
                return store_decline(state, SCOPE, key, &fingerprint, now, e).await;
            }
            Err(GatewayError::UnknownPaymentMethod) => {
                let e = ApiError::invalid(
                    "payment_method",
                    format!(
                        "unknown payment method token for the {} gateway",
                        state.gateway.name()
                    ),
                );
                return abort(tx, e).await;
            }
            Err(GatewayError::Unavailable(why)) => {
                crate::log::error(
                    "payment gateway unavailable",
                    json!({"error": why.to_string()}),
                );
                let e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "payment_gateway_unavailable",
                    "",
                    "the payment gateway did not answer; retry with the same Idempotency-Key",
                );
                return abort(tx, e).await;
            }
        }
    } else {
        None
    };

    // 5. number, invoice, payment, response; commit.
    let series = format!("{}{}", state.invoice.series_prefix, crate::clock::year(now));
    let number = match tx.next_number(&series).await {
        Ok(n) => n,
        Err(e) => return abort(tx, store_error(e)).await,
    };
    let number_display = format!("{series}-{number:06}");
    let invoice_id = new_id("in", key, now);
    let payment = charge.as_ref().map(|c| PaymentInfo {
        id: c.id.clone(),
        amount: c.amount,
        status: "succeeded".into(),
        method: format!("card {} •••• {}", c.brand, c.last4),
        paid_at: now,
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
    let product_name = |id: &str| state.calculator.product(id).and_then(|p| p.name.clone());
    let mut document = invoice::build(invoice::Issue {
        id: &invoice_id,
        number: &number_display,
        series: &series,
        created: now,
        seller: &state.seller,
        terms: &state.invoice,
        customer,
        payment,
        as_of: &priced.as_of,
        quote: &priced.quote_value,
        product_name: &product_name,
        status: "paid",
        subscription: None,
    });
    // Rendered once, at issue, from the engine's quote as charged (crate::einvoice).
    document.einvoice = crate::einvoice::render_quote(&document, &priced.quote, &state.calculator);
    let document_text = serde_json::to_string(&document)
        .map_err(|e| ApiError::internal(format!("invoice serialization: {e}")))?;
    let record = InvoiceRecord {
        id: invoice_id.clone(),
        series: series.clone(),
        number,
        number_display: number_display.clone(),
        created_at: now,
        currency: currency.clone(),
        total,
        customer_id: document.customer.id.clone(),
        idempotency_key: key.to_string(),
        document: document_text,
        subscription_id: None,
    };
    if let Err(e) = tx.insert_invoice(&record).await {
        return abort(tx, store_error(e)).await;
    }
    if let Some(c) = &charge {
        let p = PaymentRecord {
            id: c.id.clone(),
            invoice_id: invoice_id.clone(),
            amount: c.amount,
            currency: currency.clone(),
            status: "succeeded".into(),
            gateway: state.gateway.name().into(),
            card_brand: Some(c.brand.clone()),
            card_last4: Some(c.last4.clone()),
            created_at: now,
        };
        if let Err(e) = tx.insert_payment(&p).await {
            return abort(tx, store_error(e)).await;
        }
    }
    for counter in counters.keys() {
        if let Err(e) = tx.insert_redemption(&invoice_id, counter).await {
            return abort(tx, store_error(e)).await;
        }
    }
    let access = token::invoice_access_token(&state.signing_key, &invoice_id);
    let response = json!({
        "object": "charge",
        "id": charge.as_ref().map(|c| c.id.clone()),
        "status": "succeeded",
        "amount": payable,
        "currency": currency,
        "payment_method": charge.as_ref().map(|c| json!({"type": "card", "brand": c.brand, "last4": c.last4})),
        "invoice": {
            "id": invoice_id,
            "number": number_display,
            "url": format!("/v1/invoices/{invoice_id}"),
            "hosted_invoice_url": format!("/v1/invoices/{invoice_id}.html?access_token={access}"),
        },
        "as_of": priced.as_of,
        "quote": priced.quote_value,
    })
    .to_string();
    if let Err(e) = tx.finish_key(SCOPE, key, 200, &response).await {
        return abort(tx, store_error(e)).await;
    }
    tx.commit().await.map_err(store_error)?;
    Ok(json_response(StatusCode::OK, response))
}

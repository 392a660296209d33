//! The customer portal (Stripe's portal-session pattern).
//!
//! The merchant's back end creates a session for a customer —
//! `POST /v1/billing_portal/sessions {customer, return_url?, locale?}` with the secret key —
//! and sends the customer to its `url` (`{portal.page_url}#session=bps1.…`; the token rides in
//! the fragment, so it stays out of server logs and `Referer` headers). The token is signed
//! (HMAC-SHA256 with the server's signing key over `"billcalc-portal-v1\n" + claims`) and
//! expires (`portal.session_ttl_seconds`, 1 h; links in emails: `portal.email_link_ttl_seconds`,
//! 7 days). The page (www/portal.html) sends it as `Authorization: Bearer bps1.…` to the
//! `/v1/portal/…` routes, which act only on that customer's subscriptions and invoices:
//!
//! | route | does |
//! | --- | --- |
//! | `GET /v1/portal` | customer, subscriptions (with `engine_input` and the catalog, for the wasm preview), invoices with their collection state, the card on file |
//! | `POST /v1/portal/invoices/{id}/pay {payment_method?}` | one attempt now (dunning), with the card on file or a new one |
//! | `POST /v1/portal/payment_method {payment_method, exp_month?, exp_year?}` | the new default card of every subscription of the customer; open invoices are tried with it at once |
//! | `POST /v1/portal/subscriptions/{id}/preview {items}` | the server's preview (same as the merchant's) |
//! | `POST /v1/portal/subscriptions/{id} {items, proration_date, expected_invoice \| preview}` + `Idempotency-Key` | the change, confirmed like the merchant API's |
//! | `POST /v1/portal/subscriptions/{id}/cancel {reason?, comment?}` + `Idempotency-Key` | cancel at the period's end, with the reason (Stripe's `cancellation_details.feedback`) |
//! | `POST /v1/portal/subscriptions/{id}/renew` + `Idempotency-Key` | undo that before the end |

use crate::auth::KeyKind;
use crate::error::{json_response, ApiError, ApiResult};
use crate::events::Recipient;
use crate::ledger::store_error;
use crate::state::{AppState, Ctx, Shared};
use crate::store::SqlValue;
use crate::subscription::{self, read_doc, Access, SubscriptionDoc};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub use crate::config::PortalSettings;
pub use crate::portal_session::{check_session, email_link, sign_session, SessionClaims};
use crate::portal_session::{session_url, unauthorized};

/// Stripe's `cancellation_details.feedback` values.
pub const CANCELLATION_REASONS: &[&str] = &[
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
];

async fn customer_subscriptions(
    state: &AppState,
    customer: &str,
) -> ApiResult<Vec<SubscriptionDoc>> {
    let rows = state
        .store
        .query(
            "SELECT id FROM subscriptions WHERE customer_id = $1 ORDER BY created_at, id",
            vec![customer.into()],
        )
        .await
        .map_err(store_error)?;
    let mut out = Vec::new();
    for id in rows.iter().filter_map(|r| r.first()).map(SqlValue::text) {
        if let Some(r) = state.store.subscription(&id).await.map_err(store_error)? {
            out.push(read_doc(&r)?);
        }
    }
    Ok(out)
}

/// The customer as their newest subscription knows them (emails' recipient).
pub async fn recipient(state: &AppState, customer: &str) -> ApiResult<Option<Recipient>> {
    Ok(customer_subscriptions(state, customer)
        .await?
        .last()
        .map(|d| Recipient::of(&d.customer)))
}

fn body_of(ctx: &Ctx) -> Map<String, Value> {
    match &ctx.body {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    }
}

fn text_field(o: &Map<String, Value>, key: &str, max: usize) -> ApiResult<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ApiError::invalid(key, format!("at most {max} characters"))),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            key,
            "expected a string",
        )),
    }
}

/// `POST /v1/billing_portal/sessions` (the route checked the secret key).
pub async fn create_session(state: &AppState, ctx: &Ctx) -> ApiResult<Response> {
    let o = body_of(ctx);
    crate::pricing::only_fields(&o, &["customer", "return_url", "locale"], "")?;
    let customer = text_field(&o, "customer", 255)?.ok_or_else(|| {
        ApiError::bad_request("missing_field", "customer", "customer is required")
    })?;
    let return_url = text_field(&o, "return_url", 2048)?;
    if return_url
        .as_deref()
        .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
    {
        return Err(ApiError::invalid("return_url", "an http(s) URL"));
    }
    let locale = text_field(&o, "locale", 16)?;
    let subs = customer_subscriptions(state, &customer).await?;
    if subs.is_empty() {
        return Err(ApiError::not_found("no subscription for this customer"));
    }
    let now = state.clock.now();
    let claims = SessionClaims {
        sid: crate::ledger::new_id("bps", &customer, now),
        customer: customer.clone(),
        exp: now + state.portal.session_ttl_seconds,
        locale: locale.clone(),
        return_url: return_url.clone(),
    };
    Ok(json_response(
        StatusCode::OK,
        json!({
            "id": claims.sid,
            "object": "billing_portal.session",
            "customer": customer,
            "created": now,
            "expires_at": claims.exp,
            "locale": locale,
            "return_url": return_url,
            "url": session_url(state, &claims),
        })
        .to_string(),
    ))
}

fn session(state: &AppState, headers: &HeaderMap) -> ApiResult<SessionClaims> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            unauthorized("a portal session is required (Authorization: Bearer bps1.…)")
        })?;
    check_session(&state.signing_key, token.trim(), state.clock.now())
}

async fn owned(state: &AppState, claims: &SessionClaims, id: &str) -> ApiResult<SubscriptionDoc> {
    let record = state
        .store
        .subscription(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("no such subscription"))?;
    let doc = read_doc(&record)?;
    if doc.customer.id != claims.customer {
        return Err(ApiError::not_found("no such subscription"));
    }
    Ok(doc)
}

fn private(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

async fn card_on_file(state: &AppState, customer: &str) -> ApiResult<Option<Value>> {
    let rows = state
        .store
        .query(
            "SELECT payment_method, brand, last4, exp_month, exp_year FROM customer_payment_methods WHERE customer_id = $1",
            vec![customer.into()],
        )
        .await
        .map_err(store_error)?;
    Ok(rows.first().map(|r| {
        json!({"payment_method": r[0].text(), "brand": r[1].as_str(), "last4": r[2].as_str(),
               "exp_month": r[3].as_i64(), "exp_year": r[4].as_i64()})
    }))
}

/// `GET /v1/portal`.
pub async fn overview(state: &AppState, headers: &HeaderMap) -> ApiResult<Response> {
    let claims = session(state, headers)?;
    let now = state.clock.now();
    let subs = customer_subscriptions(state, &claims.customer).await?;
    let mut subscriptions = Vec::new();
    let mut invoices = Vec::new();
    for doc in &subs {
        let balance = state
            .store
            .balance(&doc.customer.id, &doc.currency)
            .await
            .map_err(store_error)?;
        let mut v = subscription::view(state, doc, balance, now);
        v["upcoming_invoice"] =
            subscription::upcoming_value(state, doc, balance, now).unwrap_or(Value::Null);
        let details = state
            .store
            .query(
                "SELECT feedback, comment, requested_at FROM cancellation_details WHERE subscription_id = $1",
                vec![doc.id.clone().into()],
            )
            .await
            .map_err(store_error)?;
        v["cancellation_details"] = details.first().map_or(Value::Null, |r| {
            json!({"feedback": r[0].as_str(), "comment": r[1].as_str(), "requested_at": r[2].as_i64()})
        });
        subscriptions.push(v);
        for record in state
            .store
            .subscription_invoices(&doc.id)
            .await
            .map_err(store_error)?
        {
            let document: Value = serde_json::from_str(&record.document).unwrap_or(Value::Null);
            let c = crate::dunning::load(state, &record.id)
                .await
                .map_err(store_error)?;
            invoices.push(crate::dunning::invoice_object(state, &document, c.as_ref()));
        }
    }
    invoices.sort_by_key(|i| std::cmp::Reverse(i["created"].as_i64().unwrap_or(0)));
    let customer = subs.last().map(|d| &d.customer);
    let locale = claims.locale.clone().unwrap_or_else(|| {
        crate::email::locale_for(
            state,
            customer.map_or(&[][..], |c| &c.preferred_locales[..]),
        )
        .to_string()
    });
    let catalog: Value = serde_json::from_str(&state.catalog_json).unwrap_or(Value::Null);
    Ok(private(json_response(
        StatusCode::OK,
        json!({
            "object": "billing_portal.overview",
            "customer": customer.map(|c| json!({"id": c.id, "name": c.name, "email": c.email, "preferred_locales": c.preferred_locales})),
            "locale": locale,
            "return_url": claims.return_url,
            "expires_at": claims.exp,
            "now": now,
            "seller": {"name": state.seller.name},
            "subscriptions": subscriptions,
            "invoices": invoices,
            "payment_method": card_on_file(state, &claims.customer).await?,
            "cancellation_reasons": CANCELLATION_REASONS,
            "catalog": catalog,
        })
        .to_string(),
    )))
}

/// `POST /v1/portal/invoices/{id}/pay {payment_method?}`.
pub async fn pay(state: &Shared, ctx: &Ctx, headers: &HeaderMap, id: &str) -> ApiResult<Response> {
    let claims = session(state, headers)?;
    let o = body_of(ctx);
    crate::pricing::only_fields(&o, &["payment_method"], "")?;
    let pm = text_field(&o, "payment_method", 255)?;
    let c = crate::dunning::load(state, id)
        .await
        .map_err(store_error)?
        .filter(|c| c.customer_id == claims.customer)
        .ok_or_else(|| ApiError::not_found("no open invoice with this id"))?;
    let now = state.clock.now();
    let result = crate::dunning::attempt(
        state,
        &c.invoice_id,
        crate::dunning::Trigger::Customer,
        pm.as_deref(),
        now,
    )
    .await?;
    let after = crate::dunning::load(state, id).await.map_err(store_error)?;
    let document = state
        .store
        .invoice(id)
        .await
        .map_err(store_error)?
        .and_then(|r| serde_json::from_str::<Value>(&r.document).ok())
        .unwrap_or(Value::Null);
    let invoice = crate::dunning::invoice_object(state, &document, after.as_ref());
    let status = if invoice["status"] == "paid" {
        StatusCode::OK
    } else {
        StatusCode::PAYMENT_REQUIRED
    };
    Ok(private(json_response(
        status,
        json!({"object": "payment_attempt", "result": result, "invoice": invoice}).to_string(),
    )))
}

/// `POST /v1/portal/payment_method {payment_method, exp_month?, exp_year?}`.
pub async fn update_payment_method(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let claims = session(&state, &headers)?;
    let o = body_of(&ctx);
    crate::pricing::only_fields(&o, &["payment_method", "exp_month", "exp_year"], "")?;
    let pm = text_field(&o, "payment_method", 255)?.ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "payment_method",
            "payment_method is required",
        )
    })?;
    if !pm.starts_with("pm_") {
        return Err(ApiError::invalid(
            "payment_method",
            "a payment method token (pm_…)",
        ));
    }
    let month = o.get("exp_month").and_then(Value::as_i64);
    let year = o.get("exp_year").and_then(Value::as_i64);
    if month.is_some_and(|m| !(1..=12).contains(&m)) {
        return Err(ApiError::invalid("exp_month", "1 to 12"));
    }
    if year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        return Err(ApiError::invalid("exp_year", "a four-digit year"));
    }
    let (brand, last4) = card_label(&pm);
    let now = state.clock.now();
    let subs = customer_subscriptions(&state, &claims.customer).await?;
    let mut changed = Vec::new();
    for doc in subs.iter().filter(|d| d.status != "canceled") {
        // The merchant API's own payment-method change (no preview: nothing is billed).
        let inner = Arc::new(Ctx {
            key: Some(KeyKind::Secret),
            body: Some(json!({"payment_method": pm})),
            ip: ctx.ip,
            request_id: ctx.request_id.clone(),
            idempotency_scope: ctx.idempotency_scope.clone(),
        });
        let mut h = HeaderMap::new();
        let key = format!("portal-pm:{}:{}:{now}", doc.id, pm);
        if let Ok(v) = HeaderValue::from_str(&key) {
            h.insert("idempotency-key", v);
        }
        let r =
            subscription::update(state.clone(), inner, doc.id.clone(), h, Access::Merchant).await;
        if !r.status().is_success() {
            return Ok(r);
        }
        changed.push(doc.id.clone());
    }
    state
        .store
        .exec(
            "INSERT INTO customer_payment_methods (customer_id, payment_method, brand, last4, exp_month, exp_year, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (customer_id) DO UPDATE SET payment_method = $2, brand = $3, last4 = $4, exp_month = $5, exp_year = $6, updated_at = $7",
            vec![claims.customer.clone().into(), pm.clone().into(), brand.into(), last4.into(), month.into(), year.into(), now.into()],
        )
        .await
        .map_err(store_error)?;
    // Open invoices are tried with the new card at once.
    let mut attempts = Vec::new();
    for id in crate::dunning::open_invoices(&state, &claims.customer)
        .await
        .map_err(store_error)?
    {
        match crate::dunning::attempt(&state, &id, crate::dunning::Trigger::Customer, None, now)
            .await
        {
            Ok(Some(v)) => attempts.push(v),
            Ok(None) => {}
            Err(e) => attempts.push(json!({"invoice": id, "error": e.body()["error"]})),
        }
    }
    Ok(private(json_response(
        StatusCode::OK,
        json!({
            "object": "payment_method_update",
            "payment_method": card_on_file(&state, &claims.customer).await?,
            "subscriptions": changed,
            "attempts": attempts,
        })
        .to_string(),
    )))
}

/// The brand and last four digits the test gateway reports for a token (for display).
fn card_label(pm: &str) -> (Option<&'static str>, Option<&'static str>) {
    match pm {
        "pm_card_visa" => (Some("visa"), Some("4242")),
        "pm_card_visa_debit" => (Some("visa"), Some("5556")),
        "pm_card_mastercard" => (Some("mastercard"), Some("4444")),
        "pm_card_amex" => (Some("amex"), Some("8431")),
        "pm_card_fr" => (Some("visa"), Some("0002")),
        "pm_card_chargeDeclined" => (Some("visa"), Some("0002")),
        "pm_card_insufficient_funds" | "pm_card_chargeDeclinedInsufficientFunds" => {
            (Some("visa"), Some("9995"))
        }
        _ => (None, None),
    }
}

/// A portal change, passed to the merchant API with only the fields a customer may send.
async fn forward(
    state: Arc<AppState>,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: &str,
    allowed: &[&str],
    body: Map<String, Value>,
    what: Forward,
) -> ApiResult<Response> {
    let claims = session(&state, headers)?;
    owned(&state, &claims, id).await?;
    crate::pricing::only_fields(&body, allowed, "")?;
    if let Some(items) = body.get("items").and_then(Value::as_array) {
        for (i, item) in items.iter().enumerate() {
            if let Some(o) = item.as_object() {
                crate::pricing::only_fields(
                    o,
                    &["id", "price", "quantity", "deleted"],
                    &format!("items[{i}]"),
                )?;
            }
        }
    }
    let inner = Arc::new(Ctx {
        key: Some(KeyKind::Secret),
        body: Some(Value::Object(body)),
        ip: ctx.ip,
        request_id: ctx.request_id.clone(),
        idempotency_scope: ctx.idempotency_scope.clone(),
    });
    let mut h = HeaderMap::new();
    if let Some(k) = headers.get("idempotency-key") {
        let scoped = format!("portal:{}:{}", claims.customer, k.to_str().unwrap_or(""));
        if let Ok(v) = HeaderValue::from_str(&scoped) {
            h.insert("idempotency-key", v);
        }
    }
    Ok(match what {
        Forward::Preview => {
            match subscription::preview(&state, &inner, id, Access::Merchant, &[]).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            }
        }
        Forward::Update => {
            subscription::update(state.clone(), inner, id.to_string(), h, Access::Merchant).await
        }
    })
}

enum Forward {
    Preview,
    Update,
}

/// `POST /v1/portal/subscriptions/{id}/preview {items}`.
pub async fn preview(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    headers: HeaderMap,
    id: String,
) -> ApiResult<Response> {
    let allowed = &["items", "proration_date"];
    let body = body_of(&ctx);
    forward(state, &ctx, &headers, &id, allowed, body, Forward::Preview).await
}

/// `POST /v1/portal/subscriptions/{id} {items, proration_date, expected_invoice | preview}`.
pub async fn change(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    headers: HeaderMap,
    id: String,
) -> ApiResult<Response> {
    let allowed = &["items", "proration_date", "expected_invoice", "preview"];
    let body = body_of(&ctx);
    forward(state, &ctx, &headers, &id, allowed, body, Forward::Update).await
}

/// `POST /v1/portal/subscriptions/{id}/cancel {reason?, comment?}`: at the period's end.
pub async fn cancel(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    headers: HeaderMap,
    id: String,
) -> ApiResult<Response> {
    let claims = session(&state, &headers)?;
    owned(&state, &claims, &id).await?;
    let o = body_of(&ctx);
    crate::pricing::only_fields(&o, &["reason", "comment"], "")?;
    let reason = text_field(&o, "reason", 64)?;
    if reason
        .as_deref()
        .is_some_and(|r| !CANCELLATION_REASONS.contains(&r))
    {
        return Err(ApiError::invalid(
            "reason",
            format!("one of {}", CANCELLATION_REASONS.join(", ")),
        ));
    }
    let comment = text_field(&o, "comment", 1000)?;
    let r = set_cancel_at_period_end(state.clone(), &ctx, &headers, &id, true).await?;
    if r.status().is_success() {
        state
            .store
            .exec(
                "INSERT INTO cancellation_details (subscription_id, feedback, comment, requested_at) VALUES ($1, $2, $3, $4) ON CONFLICT (subscription_id) DO UPDATE SET feedback = $2, comment = $3, requested_at = $4",
                vec![id.into(), reason.into(), comment.into(), state.clock.now().into()],
            )
            .await
            .map_err(store_error)?;
    }
    Ok(r)
}

/// `POST /v1/portal/subscriptions/{id}/renew`: undo a cancellation at the period's end.
pub async fn renew(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    headers: HeaderMap,
    id: String,
) -> ApiResult<Response> {
    let r = set_cancel_at_period_end(state.clone(), &ctx, &headers, &id, false).await?;
    if r.status().is_success() {
        state
            .store
            .exec(
                "DELETE FROM cancellation_details WHERE subscription_id = $1",
                vec![id.into()],
            )
            .await
            .map_err(store_error)?;
    }
    Ok(r)
}

/// The merchant API's `{cancel_at_period_end}` update, on the customer's behalf.
async fn set_cancel_at_period_end(
    state: Arc<AppState>,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: &str,
    value: bool,
) -> ApiResult<Response> {
    let mut body = Map::new();
    body.insert("cancel_at_period_end".into(), json!(value));
    forward(
        state,
        ctx,
        headers,
        id,
        &["cancel_at_period_end"],
        body,
        Forward::Update,
    )
    .await
}

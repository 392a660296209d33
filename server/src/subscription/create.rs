//! `POST /v1/subscriptions`: create a subscription and issue its first invoice.

use super::*;
use crate::canonical;
use crate::error::{json_response, ApiError, ApiResult};
use crate::ledger::{self, new_id, store_error};
use crate::payment_step::{self, Claimed};
use crate::state::{AppState, Ctx, Shared};
use crate::store::Tx;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

pub async fn create(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    headers: HeaderMap,
    access: Access,
) -> Response {
    let key = match ledger::idempotency_key(&ctx, &headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    spawned(async move { run_create(&state, &ctx, &key, access).await }).await
}

/// A catalog price's currency (lowercase), or why it cannot be a subscription's.
pub(super) fn plan_currency(catalog: &Value, price: &str, path: &str) -> ApiResult<String> {
    let entry = catalog
        .get("prices")
        .and_then(Value::as_array)
        .and_then(|ps| {
            ps.iter()
                .find(|p| p.get("id").and_then(Value::as_str) == Some(price))
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                "unknown_price",
                path,
                "no price with this id in the catalog",
            )
        })?;
    if entry.get("recurring").is_none_or(Value::is_null) {
        return Err(ApiError::bad_request(
            "invalid_subscription",
            path,
            "a subscription's prices are recurring",
        ));
    }
    if entry
        .pointer("/recurring/usage_type")
        .and_then(Value::as_str)
        == Some("metered")
    {
        return Err(ApiError::bad_request(
            "invalid_subscription",
            path,
            "metered prices need usage reporting, which the server does not take yet",
        ));
    }
    Ok(entry
        .get("currency")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase())
}

pub(super) async fn run_create(
    state: &Shared,
    ctx: &Ctx,
    key: &str,
    access: Access,
) -> ApiResult<Response> {
    let o = body(ctx)?;
    let fingerprint = canonical::digest(&Value::Object(o.clone()));
    let input = parse_create(o, access);
    let has_paid = match &input {
        Ok(i) => Some(
            state
                .store
                .has_paid(&i.customer.id)
                .await
                .map_err(store_error)?,
        ),
        Err(_) => None,
    };
    let now = state.clock.now();
    let mut tx = match payment_step::claim(state, CREATE_SCOPE, key, &fingerprint, now).await? {
        Claimed::New(tx) => tx,
        Claimed::Answered(r) => return Ok(r),
        // An earlier request with this key is waiting for its payment's outcome.
        Claimed::Unfinished => return pay::resume(state, CREATE_SCOPE, key).await,
    };
    let input = match input {
        Ok(i) => i,
        Err(e) => return abort(tx, e).await,
    };
    let mut payment = Payment::probe(now);
    match create_in(
        state,
        tx.as_mut(),
        &input,
        has_paid,
        key,
        now,
        access,
        &mut payment,
    )
    .await
    {
        Ok((status, response)) => {
            let text = response.to_string();
            let written = async {
                // Events (crate::dunning): customer.subscription.created, the first invoice's.
                crate::dunning::after_api_write(state, tx.as_mut(), true, &response, now).await?;
                pay::record_render(tx.as_mut(), CREATE_SCOPE, key, &mut payment, "", now).await?;
                tx.finish_key(CREATE_SCOPE, key, status, &text)
                    .await
                    .map_err(store_error)
            }
            .await;
            if let Err(e) = written {
                return abort(tx, e).await;
            }
            tx.commit().await.map_err(store_error)?;
            pay::render(state, &mut payment);
            Ok(json_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                text,
            ))
        }
        // The first invoice is due: the payment in recorded steps (the codes stay redeemed
        // in this transaction until its outcome).
        Err(IssueError::NeedsPayment(needs)) => {
            let plan = pay::Plan {
                body: Value::Object(o.clone()),
                now,
                balance: payment.balance.unwrap_or(0),
                has_paid,
                demo: access == Access::Demo,
                counters: payment.counters.clone(),
                ..pay::Plan::default()
            };
            pay::pay(state, tx, CREATE_SCOPE, key, &needs, &plan, now).await
        }
        Err(e) => abort_issue(state, tx, e, CREATE_SCOPE, key, &fingerprint, now).await,
    }
}

pub(super) async fn create_in(
    state: &AppState,
    tx: &mut dyn Tx,
    input: &CreateInput,
    has_paid: Option<bool>,
    key: &str,
    now: i64,
    access: Access,
    payment: &mut Payment,
) -> Result<(u16, Value), IssueError> {
    let catalog: Value = serde_json::from_str(&state.catalog_json)
        .map_err(|e| ApiError::internal(format!("catalog: {e}")))?;
    let mut currency = String::new();
    for (i, (price, _)) in input.items.iter().enumerate() {
        let c = plan_currency(&catalog, price, &format!("items[{i}].price"))?;
        if i == 0 {
            currency = c;
        }
    }
    let trial_end = match (input.trial_end, input.trial_period_days) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "trial_period_days",
                "give trial_end or trial_period_days, not both",
            )
            .into())
        }
        (Some(t), None) if t > now => Some(t),
        (Some(_), None) => {
            return Err(ApiError::invalid("trial_end", "the trial must end in the future").into())
        }
        (None, Some(d)) if (1..=730).contains(&d) => Some(now + d * 86_400),
        (None, Some(_)) => {
            return Err(ApiError::invalid("trial_period_days", "must be between 1 and 730").into())
        }
        (None, None) => None,
    };
    let anchor = input
        .billing_cycle_anchor
        .unwrap_or(trial_end.unwrap_or(now));
    let id = new_id("sub", key, now);
    let mut doc = SubscriptionDoc {
        id: id.clone(),
        object: "subscription".into(),
        customer: input.customer.clone(),
        status: "incomplete".into(),
        currency: currency.clone(),
        items: input
            .items
            .iter()
            .enumerate()
            .map(|(j, (price, quantity))| ItemDoc {
                id: new_id("si", &format!("{key}:{j}"), now),
                price: price.clone(),
                quantity: *quantity,
            })
            .collect(),
        billing_cycle_anchor: anchor,
        start_date: now,
        trial_end,
        cancel_at_period_end: false,
        canceled_at: None,
        current_period_start: now,
        current_period_end: now,
        discounts: Vec::new(),
        pending_invoice_items: Vec::new(),
        default_payment_method: Some(input.payment_method.clone()),
        latest_invoice: None,
        created: now,
        demo: access == Access::Demo,
        pending_payment: None,
    };
    let balance = payment.balance(tx, &doc.customer.id, &currency).await?;
    // The first invoice is the engine's upcoming invoice just before the start. The codes are
    // judged now (restrictions, first-time customers, validity).
    let mut engine = engine_input(&doc, balance);
    engine["subscription"]["discounts"] = Value::Array(
        input
            .discounts
            .iter()
            .map(|d| {
                let mut d = d.clone();
                d["start"] = json!(now);
                d
            })
            .collect(),
    );
    if let Some(paid) = has_paid {
        engine["customer"]["has_paid_before"] = json!(paid);
    }
    engine["as_of"] = json!(now - 1);
    let (invoice, value) = compute(state, &engine)?;
    payment.engine = Some(engine);
    if let Some(r) = invoice.quote.rejected_discounts.first() {
        let index =
            r.id.strip_prefix("subscription.")
                .unwrap_or(&r.id)
                .to_string();
        let reason = serde_json::to_value(r.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        return Err(ApiError::bad_request(
            "discount_rejected",
            index,
            format!("this discount cannot apply to the subscription ({reason})"),
        )
        .with("reason", json!(reason))
        .into());
    }
    if let Some(expected) = input.expected_amount_due {
        if expected != invoice.amount_due {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "amount_mismatch",
                "expected_amount_due",
                format!(
                    "the first invoice's amount due is {}, not {expected}; nothing was charged",
                    invoice.amount_due
                ),
            )
            .with(
                "differences",
                json!([{"path": "amount_due", "expected": invoice.amount_due, "actual": expected}]),
            )
            .into());
        }
    }
    let counters = ledger::redemption_counters(&invoice.quote.discounts, |d, what| {
        format!(
            "{}.{what}",
            d.id.strip_prefix("subscription.").unwrap_or(&d.id)
        )
    });
    // Redeemed once: by the first pass, which commits them with the payment's intent.
    if matches!(payment.pay, Pay::Probe) {
        ledger::redeem_all(tx, &counters).await?;
    }
    payment.counters = counters.keys().cloned().collect();
    // Redeemed discounts are kept as their catalog coupons from now on.
    doc.discounts = invoice
        .quote
        .discounts
        .iter()
        .filter_map(|d| {
            Some(DiscountDoc {
                coupon: d.coupon.as_ref()?.id.clone()?,
                start: now,
                promotion_code: d.promotion_code.as_ref().map(|p| p.code.clone()),
            })
        })
        .collect();
    let issued = issue(
        state,
        tx,
        &doc,
        &invoice,
        &value,
        payment,
        key,
        OnDecline::Abort,
    )
    .await?;
    for counter in counters.keys() {
        tx.insert_redemption(&issued.id, counter)
            .await
            .map_err(store_error)?;
    }
    let s = invoice.subscription;
    doc.status = state_name(s.status).into();
    doc.billing_cycle_anchor = s.billing_cycle_anchor;
    doc.current_period_start = s.current_period_start;
    doc.current_period_end = s.current_period_end;
    doc.latest_invoice = Some(issued.id.clone());
    let record = doc.record(now)?;
    tx.insert_subscription(&record).await.map_err(store_error)?;
    tx.set_subscription_items(&doc.id, &doc.items_rows())
        .await
        .map_err(store_error)?;
    let mut out = view(state, &doc, invoice.ending_balance, now);
    out["latest_invoice"] = issued.link(state, &invoice);
    out["invoice"] = value;
    Ok((200, out))
}

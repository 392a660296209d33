//! Payment intents as an operator sees them (issue 13 §6): the list behind
//! `GET /v1/payment_intents` and `GET /v1/payment_intents/{id}` (secret key, Stripe's list
//! shape), and the **stuck** ones — `processing` for longer than
//! `BILLCALC_STUCK_INTENT_SECONDS` (default 300).
//!
//! An intent is `processing` while its gateway call is in flight, and stays so when the
//! gateway's answer was lost or its outcome cannot be recorded (the gateway keeps failing, the
//! operation cannot be written again after the money moved). The recovery (start-up, and the
//! renewal loop for intents untouched for 30 s: crate::intent::recover) asks again on every
//! pass; while it does not succeed, money may have moved with nothing recorded, and a
//! subscription stays marked (409 `subscription_payment_pending` to its writes). A person must
//! look: such intents are counted in `/metrics` (`billcalc_payment_intents_stuck`,
//! `billcalc_payment_intent_stuck_oldest_age_seconds`), logged after each recovery pass
//! (`payment intents stuck`, error level) and listed with `?stuck=true`.

use crate::state::AppState;
use crate::store::intents::intent_from_row;
use crate::store::{IntentRecord, SqlValue, StoreResult};
use serde_json::{json, Value};
use std::sync::LazyLock;

/// Seconds in `processing` after which an intent is stuck (`BILLCALC_STUCK_INTENT_SECONDS`,
/// default 300: ten recovery passes of the default renewal loop have failed by then).
pub fn stuck_after() -> i64 {
    static AFTER: LazyLock<i64> = LazyLock::new(|| {
        std::env::var("BILLCALC_STUCK_INTENT_SECONDS")
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|s| *s >= 0)
            .unwrap_or(300)
    });
    *AFTER
}

/// How many intents are stuck at `now`, and since when the oldest (`created_at`, seconds).
pub async fn stuck(state: &AppState, now: i64) -> StoreResult<(i64, Option<i64>)> {
    const STUCK: &str = "SELECT count(*), min(created_at) FROM payment_intents WHERE status = 'processing' AND created_at <= $1";
    let rows = state
        .store
        .query(STUCK, vec![(now - stuck_after()).into()])
        .await?;
    let row = rows.first();
    let count = row
        .and_then(|r| r.first())
        .and_then(SqlValue::as_i64)
        .unwrap_or(0);
    let oldest = row.and_then(|r| r.get(1)).and_then(SqlValue::as_i64);
    Ok((count, oldest))
}

/// Sets the two gauges from the database (at each scrape of `/metrics`: every instance reports
/// the same shared figures).
pub async fn update_metrics(state: &AppState, now: i64) -> StoreResult<()> {
    let (count, oldest) = stuck(state, now).await?;
    state.metrics.intents_stuck.set(count);
    state
        .metrics
        .intent_stuck_oldest_age
        .set(oldest.map_or(0, |t| (now - t).max(0)));
    Ok(())
}

/// After a recovery pass: one error line naming the stuck intents (at most 20), when any.
pub async fn report(state: &AppState, now: i64) {
    let listed = list(
        state,
        &Filter {
            stuck: true,
            limit: 20,
            ..Filter::default()
        },
        now,
    )
    .await;
    match listed {
        Ok(page) if !page.data.is_empty() => {
            let (count, oldest) = stuck(state, now).await.unwrap_or((0, None));
            crate::log::error(
                "payment intents stuck",
                json!({
                    "count": count,
                    "oldest_age_seconds": oldest.map(|t| now - t),
                    "stuck_after_seconds": stuck_after(),
                    "intents": page.data.iter().map(|i| json!({
                        "id": i.id, "operation": operation(&i.scope), "amount": i.amount,
                        "currency": i.currency, "age_seconds": now - i.created_at,
                    })).collect::<Vec<_>>(),
                }),
            );
        }
        Ok(_) => {}
        Err(e) => crate::log::error("payment intents stuck", json!({"error": e.to_string()})),
    }
}

/// What `GET /v1/payment_intents` filters on.
#[derive(Debug, Default)]
pub struct Filter {
    /// `processing`, `succeeded`, `requires_payment_method`, `canceled`.
    pub status: Option<String>,
    /// Only `processing` intents older than [`stuck_after`].
    pub stuck: bool,
    /// 1 to 100.
    pub limit: i64,
    /// An intent id: the page after it (newest first, as Stripe lists).
    pub starting_after: Option<String>,
}

pub struct Page {
    pub data: Vec<IntentRecord>,
    pub has_more: bool,
}

/// Newest first (`created_at`, then id, descending), `limit` at most.
pub async fn list(state: &AppState, filter: &Filter, now: i64) -> StoreResult<Page> {
    // The cursor's position; an unknown cursor lists nothing after it.
    let cursor = match &filter.starting_after {
        Some(id) => match one(state, id).await? {
            Some(i) => Some((i.created_at, i.id)),
            None => {
                return Ok(Page {
                    data: Vec::new(),
                    has_more: false,
                })
            }
        },
        None => None,
    };
    let status = if filter.stuck {
        Some("processing".to_string())
    } else {
        filter.status.clone()
    };
    let created_before = if filter.stuck {
        now - stuck_after()
    } else {
        i64::MAX
    };
    let (cursor_at, cursor_id) = cursor.unwrap_or((i64::MAX, String::new()));
    let sql: &'static str = if cursor_id.is_empty() {
        "SELECT id, scope, key, status, amount, currency, payment_method, plan, invoice_id, gateway_charge_id, einvoice_pending, created_at, updated_at FROM payment_intents WHERE ($1 = '' OR status = $1) AND created_at <= $2 AND created_at <= $3 AND $4 = '' ORDER BY created_at DESC, id DESC LIMIT $5"
    } else {
        "SELECT id, scope, key, status, amount, currency, payment_method, plan, invoice_id, gateway_charge_id, einvoice_pending, created_at, updated_at FROM payment_intents WHERE ($1 = '' OR status = $1) AND created_at <= $2 AND (created_at < $3 OR (created_at = $3 AND id < $4)) ORDER BY created_at DESC, id DESC LIMIT $5"
    };
    let limit = filter.limit.clamp(1, 100);
    let rows = state
        .store
        .query(
            sql,
            vec![
                status.unwrap_or_default().into(),
                created_before.into(),
                cursor_at.into(),
                cursor_id.into(),
                (limit + 1).into(),
            ],
        )
        .await?;
    let mut data: Vec<IntentRecord> = rows.iter().map(|r| intent_from_row(r)).collect();
    let has_more = data.len() as i64 > limit;
    data.truncate(limit as usize);
    Ok(Page { data, has_more })
}

/// One intent by id.
pub async fn one(state: &AppState, id: &str) -> StoreResult<Option<IntentRecord>> {
    let rows = state
        .store
        .query(
            "SELECT id, scope, key, status, amount, currency, payment_method, plan, invoice_id, gateway_charge_id, einvoice_pending, created_at, updated_at FROM payment_intents WHERE id = $1",
            vec![id.into()],
        )
        .await?;
    Ok(rows.first().map(|r| intent_from_row(r)))
}

/// What the intent pays for, from its scope.
pub fn operation(scope: &str) -> &'static str {
    match scope {
        crate::payment_step::CREATE_SCOPE => "subscription_create",
        crate::payment_step::UPDATE_SCOPE => "subscription_update",
        crate::payment_step::CANCEL_SCOPE => "subscription_cancel",
        crate::payment_step::RENEWAL_SCOPE => "subscription_cycle",
        crate::payment_step::DUNNING_SCOPE => "invoice_payment_retry",
        crate::payment_step::REFUND_SCOPE => "refund",
        _ => "charge",
    }
}

/// The intent as the API shows it: Stripe's PaymentIntent fields where they exist (`id`,
/// `object`, `amount` in minor units, `currency`, `status`, `created` in Unix seconds,
/// `latest_charge`), then ours: what it pays for, the idempotency key it was recorded under,
/// the invoice (or credit note) it issued, whether its e-invoice is still to be rendered, and
/// whether it is stuck.
pub fn view(i: &IntentRecord, now: i64) -> Value {
    let refund = i.scope == crate::payment_step::REFUND_SCOPE;
    let stuck = i.status == "processing" && i.created_at <= now - stuck_after();
    json!({
        "id": i.id,
        "object": "payment_intent",
        "amount": i.amount,
        "currency": i.currency.to_ascii_lowercase(),
        "status": i.status,
        "created": i.created_at,
        "updated": i.updated_at,
        "latest_charge": if refund { None } else { i.gateway_charge_id.clone() },
        "payment_method": if refund || i.payment_method.is_empty() { None } else { Some(i.payment_method.clone()) },
        "operation": operation(&i.scope),
        "refund": if refund { i.gateway_charge_id.clone() } else { None },
        "charge_refunded": if refund { Some(i.payment_method.clone()) } else { None },
        // The client's key (stored after its scope: API key, method, path), or the server's
        // own (`{subscription}:{period end}` for a renewal, `{invoice}:{attempt}` for a retry).
        "idempotency_key": i.key.rsplit(' ').next().unwrap_or(&i.key),
        "invoice": if refund { None } else { i.invoice_id.clone() },
        "credit_note": if refund && i.status != "processing" { i.invoice_id.clone() } else { None },
        "einvoice_pending": i.einvoice_pending,
        "stuck": stuck,
        "processing_seconds": (i.status == "processing").then(|| (now - i.created_at).max(0)),
    })
}

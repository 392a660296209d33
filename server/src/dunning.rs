//! Dunning: collecting a renewal whose payment failed.
//!
//! A declined renewal leaves its invoice `open` and the subscription `past_due` (see
//! `subscription::renew_in`); this module then owns the invoice's collection (the
//! `invoice_collection` row, with every attempt in `payment_attempts`):
//!
//! * **When to retry** is the engine's [`billcalc::dunning_schedule`] — the same function the
//!   JS package exports as `dunningSchedule` — over the schedule configured for the
//!   subscription's plan (`dunning.plans[price id]`, the first item with one) or the default
//!   (`dunning.default`, Stripe's recommendation: 8 tries within 14 days): "N tries within D
//!   days" or explicit gaps in days, counted from the first failure. Attempt 1 is the renewal
//!   itself, retry k is attempt k + 1 (Stripe's `attempt_count`).
//! * **Hard declines** (the engine's list: `lost_card`, `stolen_card`, `fraudulent`, …) are not
//!   retried on the same payment method: automatic retries stop, the invoice waits for the
//!   customer (portal: pay, or a new card, which is tried at once) until the schedule's last
//!   retry time, then the final action applies.
//! * **Success** (a retry, or the customer paying): the invoice becomes `paid` (its document
//!   gets the payment), a payment row is written, the subscription goes back to `active` when
//!   it has no other open invoice.
//! * **After the last failure**, the plan's `then`: `unpaid` (no more renewals until paid),
//!   `canceled` (ended now), or `past_due` (left as is). The invoice stays `open`: the debt is
//!   real, the customer may still pay it.
//!
//! Each attempt is two transactions around the gateway call (crate::payment_step): the first
//! takes the subscription row (the renewals' lock order), re-reads the collection under it and
//! records the attempt's payment intent (scope `dunning_attempts`, key `{invoice}:{attempt}`,
//! the intent id as the gateway's idempotency key) and marks the subscription; the gateway is
//! called with no transaction open; the second records the outcome, conditional on the intent
//! still being `processing`. Two instances retrying at once charge once (the mark), and an
//! attempt whose answer was lost is asked again by the recovery and recorded once. Every
//! change writes its events ([`crate::events`]) in the transaction that records it.

use crate::error::{ApiError, ApiResult};
use crate::events::{self, NewEvent, Recipient};
use crate::invoice::{InvoiceDocument, PaymentInfo};
use crate::ledger::store_error;
use crate::payment_step::{self, Outcome};
use crate::state::{AppState, Shared};
use crate::store::{IntentRecord, Row, SqlValue, StoreResult, Tx};
use crate::subscription_doc::{read_doc, ItemDoc, SubscriptionDoc};
use crate::token;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use crate::config::{DunningSettings, FinalAction, RetrySchedule};

impl DunningSettings {
    /// Every schedule must be one the engine accepts (checked at start).
    pub fn validate(&self) -> Result<(), String> {
        let all = std::iter::once(("default".to_string(), &self.default))
            .chain(self.plans.iter().map(|(k, v)| (format!("plans.{k}"), v)));
        for (path, s) in all {
            engine_schedule(s, 0, None)
                .map_err(|e| format!("config: dunning.{path}: {}", e.message))?;
        }
        Ok(())
    }

    /// The schedule of the first item whose price has one, else the default.
    pub fn for_items(&self, items: &[ItemDoc]) -> &RetrySchedule {
        items
            .iter()
            .find_map(|i| self.plans.get(&i.price))
            .unwrap_or(&self.default)
    }
}

/// The engine's schedule for a failure at `failed_at`.
fn engine_schedule(
    s: &RetrySchedule,
    failed_at: i64,
    decline_code: Option<&str>,
) -> ApiResult<billcalc::subscription::DunningSchedule> {
    let mut input = json!({ "failed_at": failed_at });
    if let Some(n) = s.tries {
        input["tries"] = json!(n);
    }
    if let Some(d) = s.within_days {
        input["within_days"] = json!(d);
    }
    if let Some(days) = &s.days {
        input["days"] = json!(days);
    }
    if let Some(code) = decline_code {
        input["decline_code"] = json!(code);
    }
    let input: billcalc::subscription::DunningInput = billcalc::from_value(&input)
        .map_err(|e| ApiError::internal(format!("dunning schedule: {}", e.message)))?;
    billcalc::dunning_schedule(&input)
        .map_err(|e| ApiError::internal(format!("dunning schedule: {}", e.message)))
}

/// An invoice's collection state (`invoice_collection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub invoice_id: String,
    pub subscription_id: Option<String>,
    pub customer_id: String,
    /// `open`, `paid`.
    pub status: String,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub currency: String,
    pub attempt_count: i64,
    /// The next automatic attempt (Stripe's name); none when no retry is planned.
    pub next_payment_attempt: Option<i64>,
    /// When the final action applies if nothing pays before (the schedule's last retry).
    pub final_at: Option<i64>,
    pub hard_declined_payment_method: Option<String>,
    /// The final action applied (`unpaid`, `canceled`, `past_due`), or `paid`.
    pub outcome: Option<String>,
    /// The first failure.
    pub created_at: i64,
    pub updated_at: i64,
}

const COLLECTION_SELECT: &str = "SELECT invoice_id, subscription_id, customer_id, status, amount_due, amount_paid, currency, attempt_count, next_payment_attempt, final_at, hard_declined_payment_method, outcome, created_at, updated_at FROM invoice_collection WHERE invoice_id = $1";

fn opt_i64(v: &SqlValue) -> Option<i64> {
    v.as_i64()
}
fn opt_text(v: &SqlValue) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn collection_of(r: &Row) -> Option<Collection> {
    if r.len() < 14 {
        return None;
    }
    Some(Collection {
        invoice_id: r[0].text(),
        subscription_id: opt_text(&r[1]),
        customer_id: r[2].text(),
        status: r[3].text(),
        amount_due: r[4].as_i64()?,
        amount_paid: r[5].as_i64()?,
        currency: r[6].text(),
        attempt_count: r[7].as_i64()?,
        next_payment_attempt: opt_i64(&r[8]),
        final_at: opt_i64(&r[9]),
        hard_declined_payment_method: opt_text(&r[10]),
        outcome: opt_text(&r[11]),
        created_at: r[12].as_i64()?,
        updated_at: r[13].as_i64()?,
    })
}

async fn load_in(tx: &mut dyn Tx, invoice_id: &str) -> StoreResult<Option<Collection>> {
    let rows = tx.query(COLLECTION_SELECT, vec![invoice_id.into()]).await?;
    Ok(rows.first().and_then(collection_of))
}

pub async fn load(state: &AppState, invoice_id: &str) -> StoreResult<Option<Collection>> {
    let rows = state
        .store
        .query(COLLECTION_SELECT, vec![invoice_id.into()])
        .await?;
    Ok(rows.first().and_then(collection_of))
}

async fn save(tx: &mut dyn Tx, c: &Collection) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO invoice_collection (invoice_id, subscription_id, customer_id, status, amount_due, amount_paid, currency, attempt_count, next_payment_attempt, final_at, hard_declined_payment_method, outcome, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (invoice_id) DO UPDATE SET status = $4, amount_paid = $6, attempt_count = $8, next_payment_attempt = $9, final_at = $10, hard_declined_payment_method = $11, outcome = $12, updated_at = $14",
        vec![
            c.invoice_id.clone().into(),
            c.subscription_id.clone().into(),
            c.customer_id.clone().into(),
            c.status.clone().into(),
            c.amount_due.into(),
            c.amount_paid.into(),
            c.currency.clone().into(),
            c.attempt_count.into(),
            c.next_payment_attempt.into(),
            c.final_at.into(),
            c.hard_declined_payment_method.clone().into(),
            c.outcome.clone().into(),
            c.created_at.into(),
            c.updated_at.into(),
        ],
    )
    .await
    .map(|_| ())
}

/// One payment attempt, as recorded.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    pub payment_method: Option<String>,
    /// `succeeded` or `failed`.
    pub outcome: &'static str,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: Option<String>,
    pub charge_id: Option<String>,
    /// `renewal`, `automatic` (a scheduled retry), `customer` (the portal), `payment_method_updated`.
    pub trigger: &'static str,
}

async fn record_attempt(
    tx: &mut dyn Tx,
    invoice_id: &str,
    number: i64,
    at: i64,
    a: &Attempt,
) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO payment_attempts (invoice_id, attempt, attempted_at, payment_method, outcome, code, decline_code, message, charge_id, trigger) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        vec![
            invoice_id.into(),
            number.into(),
            at.into(),
            a.payment_method.clone().into(),
            a.outcome.into(),
            a.code.clone().into(),
            a.decline_code.clone().into(),
            a.message.clone().into(),
            a.charge_id.clone().into(),
            a.trigger.into(),
        ],
    )
    .await
    .map(|_| ())
}

/// The attempts on an invoice, first first: `[{attempt, attempted_at, payment_method, outcome,
/// code, decline_code, message, charge, trigger}]`.
pub async fn attempts(state: &AppState, invoice_id: &str) -> StoreResult<Vec<Value>> {
    let rows = state
        .store
        .query(
            "SELECT attempt, attempted_at, payment_method, outcome, code, decline_code, message, charge_id, trigger FROM payment_attempts WHERE invoice_id = $1 ORDER BY attempt",
            vec![invoice_id.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let v = |i: usize| match r.get(i) {
                Some(SqlValue::Int(n)) => json!(n),
                Some(SqlValue::Text(s)) => json!(s),
                _ => Value::Null,
            };
            json!({
                "attempt": v(0), "attempted_at": v(1), "payment_method": v(2),
                "outcome": v(3), "code": v(4), "decline_code": v(5), "message": v(6),
                "charge": v(7), "trigger": v(8),
            })
        })
        .collect())
}

async fn invoice_document(tx: &mut dyn Tx, invoice_id: &str) -> ApiResult<Value> {
    let rows = tx
        .query(
            "SELECT document FROM invoices WHERE id = $1",
            vec![invoice_id.into()],
        )
        .await
        .map_err(store_error)?;
    let text = rows
        .first()
        .and_then(|r| r.first())
        .map(SqlValue::text)
        .ok_or_else(|| ApiError::not_found("no invoice with this id"))?;
    serde_json::from_str(&text)
        .map_err(|e| ApiError::internal(format!("stored invoice does not read back: {e}")))
}

/// The invoice as events and the portal show it (Stripe's field names): the document's amounts
/// with the collection state over them.
pub fn invoice_object(state: &AppState, document: &Value, c: Option<&Collection>) -> Value {
    let id = document.get("id").and_then(Value::as_str).unwrap_or("");
    let access = token::invoice_access_token(&state.signing_key, id);
    let total = document.get("total").and_then(Value::as_i64).unwrap_or(0);
    let amount_due = document
        .pointer("/subscription/amount_due")
        .and_then(Value::as_i64)
        .unwrap_or(total);
    let doc_paid = document
        .get("amount_paid")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let status = c.map_or_else(
        || {
            document
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("paid")
                .to_string()
        },
        |c| c.status.clone(),
    );
    let amount_paid = c.map_or(doc_paid, |c| c.amount_paid);
    json!({
        "id": id,
        "object": "invoice",
        "number": document.get("number"),
        "customer": document.pointer("/customer/id"),
        "customer_email": document.pointer("/customer/email"),
        "subscription": document.pointer("/subscription/id"),
        "billing_reason": document.pointer("/subscription/billing_reason"),
        "period_start": document.pointer("/subscription/period_start"),
        "period_end": document.pointer("/subscription/period_end"),
        "created": document.get("created"),
        "currency": document.get("currency"),
        "total": total,
        "amount_due": amount_due,
        "amount_paid": amount_paid,
        "amount_remaining": if status == "paid" { 0 } else { (amount_due - amount_paid).max(0) },
        "status": status,
        "attempted": c.map_or(amount_due > 0, |c| c.attempt_count > 0),
        "attempt_count": c.map_or(i64::from(amount_due > 0), |c| c.attempt_count),
        "next_payment_attempt": c.and_then(|c| c.next_payment_attempt),
        "dunning_outcome": c.and_then(|c| c.outcome.clone()),
        "hosted_invoice_url": format!("/v1/invoices/{id}.html?access_token={access}"),
    })
}

/// `GET /v1/invoices/{id}` (JSON): the stored document with the collection's fields over it —
/// `status`, `amount_paid`, `amount_remaining`, `attempt_count`, `attempted`,
/// `next_payment_attempt`, `dunning_outcome` and `payment_attempts`.
pub async fn with_collection(state: &AppState, id: &str, document: String) -> String {
    let Ok(Some(c)) = load(state, id).await else {
        return document;
    };
    let Ok(mut doc) = serde_json::from_str::<Value>(&document) else {
        return document;
    };
    let object = invoice_object(state, &doc, Some(&c));
    for key in [
        "status",
        "amount_paid",
        "amount_remaining",
        "attempt_count",
        "attempted",
        "next_payment_attempt",
        "dunning_outcome",
    ] {
        doc[key] = object[key].clone();
    }
    doc["payment_attempts"] = json!(attempts(state, id).await.unwrap_or_default());
    doc.to_string()
}

fn subscription_object(doc: &SubscriptionDoc) -> Value {
    let mut v = serde_json::to_value(doc).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.remove("demo");
    }
    v
}

/// Writes `customer.subscription.updated` (or `.deleted` once canceled) with the attributes
/// that changed.
pub async fn subscription_changed(
    state: &AppState,
    tx: &mut dyn Tx,
    doc: &SubscriptionDoc,
    previous: Value,
    now: i64,
) -> StoreResult<()> {
    let kind = if doc.status == "canceled" && previous.get("status").is_some() {
        "customer.subscription.deleted"
    } else {
        "customer.subscription.updated"
    };
    events::emit(
        state,
        tx,
        NewEvent {
            kind,
            object_id: doc.id.clone(),
            object: subscription_object(doc),
            previous_attributes: Some(previous),
            recipient: Some(Recipient::of(&doc.customer)),
            dedup_key: None,
        },
        now,
    )
    .await
    .map(|_| ())
}

async fn invoice_event(
    state: &AppState,
    tx: &mut dyn Tx,
    kind: &'static str,
    document: &Value,
    c: Option<&Collection>,
    recipient: &Recipient,
    now: i64,
) -> StoreResult<()> {
    let object = invoice_object(state, document, c);
    events::emit(
        state,
        tx,
        NewEvent {
            kind,
            object_id: object["id"].as_str().unwrap_or("").to_string(),
            object,
            previous_attributes: None,
            recipient: Some(recipient.clone()),
            dedup_key: None,
        },
        now,
    )
    .await
    .map(|_| ())
}

/// What a renewal's charge did, for [`after_renewal`].
pub struct RenewalCharge<'a> {
    pub invoice_id: &'a str,
    pub paid: bool,
    pub amount_due: i64,
    pub payment_method: Option<&'a str>,
    pub charge_id: Option<&'a str>,
    /// The decline's error object (`{code, message, decline_code, …}`) when it failed.
    pub error: Option<Value>,
}

/// Called by the renewal inside its transaction, after the invoice is written and the
/// subscription's new state is set (not yet stored): records attempt 1, plans the retries of a
/// declined renewal and writes the events (`invoice.created`, `invoice.finalized`,
/// `invoice.paid` or `invoice.payment_failed`, `customer.subscription.updated`/`.deleted`).
pub async fn after_renewal(
    state: &AppState,
    tx: &mut dyn Tx,
    doc: &SubscriptionDoc,
    previous: Value,
    charge: Option<RenewalCharge<'_>>,
    now: i64,
) -> ApiResult<()> {
    let recipient = Recipient::of(&doc.customer);
    if let Some(ch) = charge {
        let document = invoice_document(tx, ch.invoice_id).await?;
        let mut c = Collection {
            invoice_id: ch.invoice_id.to_string(),
            subscription_id: Some(doc.id.clone()),
            customer_id: doc.customer.id.clone(),
            status: if ch.paid { "paid" } else { "open" }.into(),
            amount_due: ch.amount_due,
            amount_paid: if ch.paid { ch.amount_due } else { 0 },
            currency: doc.currency.clone(),
            attempt_count: i64::from(ch.amount_due > 0),
            next_payment_attempt: None,
            final_at: None,
            hard_declined_payment_method: None,
            outcome: ch.paid.then(|| "paid".to_string()),
            created_at: now,
            updated_at: now,
        };
        let decline_code = ch.error.as_ref().and_then(|e| {
            e.get("decline_code")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        if ch.amount_due > 0 {
            let attempt = Attempt {
                payment_method: ch.payment_method.map(str::to_string),
                outcome: if ch.paid { "succeeded" } else { "failed" },
                code: ch.error.as_ref().and_then(|e| opt_str(e, "code")),
                decline_code: decline_code.clone(),
                message: ch.error.as_ref().and_then(|e| opt_str(e, "message")),
                charge_id: ch.charge_id.map(str::to_string),
                trigger: "renewal",
            };
            record_attempt(tx, ch.invoice_id, 1, now, &attempt)
                .await
                .map_err(store_error)?;
        }
        if !ch.paid {
            plan_next(
                state,
                doc,
                &mut c,
                decline_code.as_deref(),
                ch.payment_method,
            )?;
        }
        save(tx, &c).await.map_err(store_error)?;
        for kind in ["invoice.created", "invoice.finalized"] {
            invoice_event(state, tx, kind, &document, Some(&c), &recipient, now)
                .await
                .map_err(store_error)?;
        }
        let kind = if ch.paid {
            "invoice.paid"
        } else {
            "invoice.payment_failed"
        };
        invoice_event(state, tx, kind, &document, Some(&c), &recipient, now)
            .await
            .map_err(store_error)?;
    }
    subscription_changed(state, tx, doc, previous, now)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Called by the subscription API inside its transaction, with its response (the
/// subscription as shown, with `latest_invoice` or `change.invoice`): writes
/// `customer.subscription.created` / `.updated` / `.deleted` and, for an invoice issued now,
/// `invoice.created`, `invoice.finalized` and `invoice.paid` (the receipt).
pub async fn after_api_write(
    state: &AppState,
    tx: &mut dyn Tx,
    created: bool,
    response: &Value,
    now: i64,
) -> ApiResult<()> {
    let mut shown = response.clone();
    if let Some(l) = shown.get_mut("latest_invoice") {
        // The response shows the invoice as a link object; the document holds its id.
        *l = l.get("id").cloned().unwrap_or(Value::Null);
    }
    let doc = serde_json::from_value::<SubscriptionDoc>(shown).map_err(|e| {
        ApiError::internal(format!("subscription response does not read back: {e}"))
    })?;
    let recipient = Recipient::of(&doc.customer);
    let kind = match (created, doc.status.as_str()) {
        (true, _) => "customer.subscription.created",
        (false, "canceled") => "customer.subscription.deleted",
        (false, _) => "customer.subscription.updated",
    };
    events::emit(
        state,
        tx,
        NewEvent {
            kind,
            object_id: doc.id.clone(),
            object: subscription_object(&doc),
            previous_attributes: None,
            recipient: Some(recipient.clone()),
            dedup_key: None,
        },
        now,
    )
    .await
    .map_err(store_error)?;
    let issued = if created {
        response.pointer("/latest_invoice/id")
    } else if response
        .pointer("/change/invoice_issued")
        .is_some_and(Value::is_object)
    {
        response.pointer("/change/invoice_issued/id")
    } else {
        None
    };
    if let Some(id) = issued.and_then(Value::as_str) {
        let document = invoice_document(tx, id).await?;
        for kind in ["invoice.created", "invoice.finalized", "invoice.paid"] {
            invoice_event(state, tx, kind, &document, None, &recipient, now)
                .await
                .map_err(store_error)?;
        }
    }
    Ok(())
}

fn opt_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// After a failed attempt numbered `c.attempt_count`: the next retry from the engine's schedule
/// (counted from the first failure), or none (hard decline: wait for the customer until the
/// schedule's end; last retry done: `final_at` = now, the caller applies the final action).
fn plan_next(
    state: &AppState,
    doc: &SubscriptionDoc,
    c: &mut Collection,
    decline_code: Option<&str>,
    payment_method: Option<&str>,
) -> ApiResult<()> {
    let plan = state.dunning.for_items(&doc.items);
    let full = engine_schedule(plan, c.created_at, None)?;
    let this = engine_schedule(plan, c.created_at, decline_code)?;
    c.final_at = full.final_attempt_at;
    c.hard_declined_payment_method = None;
    if this.hard_decline {
        c.next_payment_attempt = None;
        c.hard_declined_payment_method = payment_method.map(str::to_string);
        return Ok(());
    }
    // The next slot of the schedule still ahead: retries missed while no loop ran (the server
    // was down) are not replayed in a burst — the attempt that is running now stands for them.
    c.next_payment_attempt = this
        .retries
        .iter()
        .find(|r| r.attempt > c.attempt_count && r.at > c.updated_at)
        .map(|r| r.at);
    if c.next_payment_attempt.is_none() {
        c.final_at = Some(c.updated_at);
    }
    Ok(())
}

/// Who asked for an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The schedule (the renewal loop).
    Automatic,
    /// The customer, from the portal.
    Customer,
}

impl Trigger {
    fn name(self) -> &'static str {
        match self {
            Trigger::Automatic => "automatic",
            Trigger::Customer => "customer",
        }
    }
}

/// Runs the retries due at `now`, and the final actions whose time has come (hard declines
/// nobody fixed). Each invoice at most once per call. Returns `{object: "dunning_run", as_of,
/// attempts: [{invoice, attempt, outcome, …}], failed: [{invoice, error}]}`.
pub async fn run_due(state: &Shared, now: i64) -> ApiResult<Value> {
    let rows = state
        .store
        .query(
            "SELECT invoice_id FROM invoice_collection WHERE status = 'open' AND outcome IS NULL AND ((next_payment_attempt IS NOT NULL AND next_payment_attempt <= $1) OR (next_payment_attempt IS NULL AND final_at IS NOT NULL AND final_at <= $1)) ORDER BY COALESCE(next_payment_attempt, final_at), invoice_id LIMIT 200",
            vec![now.into()],
        )
        .await
        .map_err(store_error)?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for id in rows.iter().filter_map(|r| r.first()).map(SqlValue::text) {
        match attempt(state, &id, Trigger::Automatic, None, now).await {
            Ok(Some(v)) => done.push(v),
            Ok(None) => {}
            Err(e) => {
                crate::log::error(
                    "dunning failed",
                    json!({"invoice": id, "error": e.body()["error"]}),
                );
                failed.push(json!({"invoice": id, "error": e.body()["error"]}));
            }
        }
    }
    Ok(json!({"object": "dunning_run", "as_of": now, "attempts": done, "failed": failed}))
}

async fn abort<T>(tx: Box<dyn Tx>, e: ApiError) -> ApiResult<T> {
    let _ = tx.rollback().await;
    Err(e)
}

/// One attempt to collect an open invoice, in one transaction. `Automatic` acts only when the
/// invoice is due (retry or final action); `Customer` charges now, with `payment_method` or the
/// subscription's. `None` when there was nothing to do.
pub async fn attempt(
    state: &Shared,
    invoice_id: &str,
    trigger: Trigger,
    payment_method: Option<&str>,
    now: i64,
) -> ApiResult<Option<Value>> {
    // The e-invoice is rendered from the invoice as issued (in the background, after the
    // issue): stored before a payment changes the document. The portal's pay route renders it
    // first (crate::payment_recovery); here it is waited for, briefly.
    if !crate::render_queue::wait_stored(state, invoice_id, std::time::Duration::from_secs(10))
        .await
    {
        return match trigger {
            Trigger::Automatic => Ok(None),
            Trigger::Customer => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "invoice_finalizing",
                "",
                "the invoice's e-invoice is still being rendered; retry shortly",
            )),
        };
    }
    let Some(peek) = load(state, invoice_id).await.map_err(store_error)? else {
        return Err(ApiError::not_found("no open invoice with this id"));
    };
    let Some(sub_id) = peek.subscription_id.clone() else {
        return Ok(None);
    };
    let mut tx = state.store.begin().await.map_err(store_error)?;
    // The subscription row first: the renewals' lock order.
    let record = match tx.lock_subscription(&sub_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return abort(tx, ApiError::not_found("no such subscription")).await,
        Err(e) => return abort(tx, store_error(e)).await,
    };
    let mut doc = match read_doc(&record) {
        Ok(d) => d,
        Err(e) => return abort(tx, e).await,
    };
    // A payment on the subscription is being confirmed with the gateway (this invoice's
    // earlier attempt, a renewal, a change): the recovery finishes it first.
    if doc.pending_payment.is_some() {
        let _ = tx.rollback().await;
        return match trigger {
            Trigger::Automatic => Ok(None),
            Trigger::Customer => Err(ApiError::new(
                StatusCode::CONFLICT,
                "subscription_payment_pending",
                "",
                "a payment on this subscription is being confirmed with the payment gateway; retry shortly",
            )),
        };
    }
    let mut c = match load_in(tx.as_mut(), invoice_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return abort(tx, ApiError::not_found("no open invoice with this id")).await,
        Err(e) => return abort(tx, store_error(e)).await,
    };
    if c.status != "open" {
        let _ = tx.rollback().await;
        return match trigger {
            Trigger::Automatic => Ok(None),
            Trigger::Customer => Err(ApiError::new(
                StatusCode::CONFLICT,
                "invoice_not_open",
                "",
                format!("the invoice is {}", c.status),
            )),
        };
    }
    let retry_due = c.next_payment_attempt.is_some_and(|t| t <= now);
    let final_due = c.next_payment_attempt.is_none()
        && c.final_at.is_some_and(|t| t <= now)
        && c.outcome.is_none();
    if trigger == Trigger::Automatic && !retry_due && !final_due {
        let _ = tx.rollback().await;
        return Ok(None);
    }
    let pm = payment_method
        .map(str::to_string)
        .or_else(|| doc.default_payment_method.clone());
    let previous_status = doc.status.clone();
    if trigger == Trigger::Automatic && !retry_due {
        // A hard decline's grace period ended without a new card: the final action.
        let summary = match finish(state, tx.as_mut(), &mut doc, &mut c, now).await {
            Ok(v) => v,
            Err(e) => return abort(tx, e).await,
        };
        if let Err(e) = write_subscription(state, tx.as_mut(), &doc, &previous_status, now).await {
            return abort(tx, e).await;
        }
        tx.commit().await.map_err(store_error)?;
        return Ok(Some(summary));
    }
    // Tx 1 of the attempt (crate::payment_step): its intent, keyed by invoice and attempt
    // number, and the subscription marked; the gateway is called after the commit.
    let Some(pm) = pm else {
        return abort(
            tx,
            ApiError::bad_request(
                "missing_field",
                "payment_method",
                "the subscription has no payment method",
            ),
        )
        .await;
    };
    let number = c.attempt_count + 1;
    let plan = AttemptPlan {
        invoice: c.invoice_id.clone(),
        subscription: doc.id.clone(),
        attempt: number,
        trigger: trigger.name().to_string(),
    };
    let intent = payment_step::new_intent(
        payment_step::DUNNING_SCOPE,
        &format!("{}:{number}", c.invoice_id),
        c.amount_due - c.amount_paid,
        &c.currency,
        &pm,
        &json!(plan),
        now,
    );
    doc.pending_payment = Some(intent.id.clone());
    let recorded = async {
        payment_step::record(tx.as_mut(), &intent)
            .await
            .map_err(store_error)?;
        tx.update_subscription(&doc.record(now)?)
            .await
            .map_err(store_error)
    }
    .await;
    if let Err(e) = recorded {
        return abort(tx, e).await;
    }
    tx.commit().await.map_err(store_error)?;
    let outcome = payment_step::charge(state, &intent).await?;
    settle_attempt(state, &intent, outcome).await
}

/// What finishing a dunning attempt needs, stored with its intent.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AttemptPlan {
    invoice: String,
    subscription: String,
    attempt: i64,
    trigger: String,
}

/// Asks the gateway again about an attempt whose outcome was not recorded, and records it.
pub async fn resolve(state: &AppState, intent: &IntentRecord) -> ApiResult<Option<Value>> {
    let outcome = payment_step::charge(state, intent).await?;
    settle_attempt(state, intent, outcome).await
}

/// Tx 2 of an attempt: conditional on its intent still `processing`, the outcome recorded on
/// the invoice's collection, the subscription unmarked.
async fn settle_attempt(
    state: &AppState,
    intent: &IntentRecord,
    outcome: Outcome,
) -> ApiResult<Option<Value>> {
    let plan: AttemptPlan = serde_json::from_str(&intent.plan)
        .map_err(|e| ApiError::internal(format!("intent {}: bad plan: {e}", intent.id)))?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    match payment_step::take(tx.as_mut(), &intent.id, now).await {
        Ok(true) => {}
        Ok(false) => {
            let _ = tx.rollback().await;
            return Ok(None);
        }
        Err(e) => return abort(tx, store_error(e)).await,
    }
    let record = match tx.lock_subscription(&plan.subscription).await {
        Ok(Some(r)) => r,
        Ok(None) => return abort(tx, ApiError::not_found("no such subscription")).await,
        Err(e) => return abort(tx, store_error(e)).await,
    };
    let mut doc = match read_doc(&record) {
        Ok(d) => d,
        Err(e) => return abort(tx, e).await,
    };
    if doc.pending_payment.as_deref() != Some(intent.id.as_str()) {
        let e = ApiError::internal(format!(
            "subscription {} is not waiting for payment {}",
            doc.id, intent.id
        ));
        return abort(tx, e).await;
    }
    doc.pending_payment = None;
    let mut c = match load_in(tx.as_mut(), &plan.invoice).await {
        Ok(Some(c)) => c,
        Ok(None) => return abort(tx, ApiError::not_found("no open invoice with this id")).await,
        Err(e) => return abort(tx, store_error(e)).await,
    };
    let previous_status = doc.status.clone();
    let recipient = Recipient::of(&doc.customer);
    let trigger = if plan.trigger == "customer" {
        Trigger::Customer
    } else {
        Trigger::Automatic
    };
    let status = match &outcome {
        Outcome::Charged(_) => "succeeded",
        Outcome::Declined(_) => "requires_payment_method",
        Outcome::UnknownPaymentMethod(_) => "canceled",
    };
    let charge_id = match &outcome {
        Outcome::Charged(ch) => Some(ch.id.clone()),
        _ => None,
    };
    let written = async {
        let summary = charge_once(
            state,
            tx.as_mut(),
            &mut doc,
            &mut c,
            plan.attempt,
            intent.payment_method.clone(),
            trigger,
            &recipient,
            now,
            outcome,
        )
        .await?;
        write_subscription(state, tx.as_mut(), &doc, &previous_status, now).await?;
        payment_step::settle(
            tx.as_mut(),
            &intent.id,
            status,
            None,
            charge_id.as_deref(),
            None,
            now,
        )
        .await
        .map_err(store_error)?;
        Ok::<_, ApiError>(summary)
    }
    .await;
    match written {
        Ok(summary) => {
            tx.commit().await.map_err(store_error)?;
            Ok(Some(summary))
        }
        Err(e) => abort(tx, e).await,
    }
}

/// Stores the subscription (its mark cleared, its status maybe changed) and, when the status
/// changed, `customer.subscription.updated`.
async fn write_subscription(
    state: &AppState,
    tx: &mut dyn Tx,
    doc: &SubscriptionDoc,
    previous_status: &str,
    now: i64,
) -> ApiResult<()> {
    tx.update_subscription(&doc.record(now)?)
        .await
        .map_err(store_error)?;
    if doc.status != previous_status {
        subscription_changed(state, tx, doc, json!({ "status": previous_status }), now)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn charge_once(
    state: &AppState,
    tx: &mut dyn Tx,
    doc: &mut SubscriptionDoc,
    c: &mut Collection,
    number: i64,
    pm_token: String,
    trigger: Trigger,
    recipient: &Recipient,
    now: i64,
    outcome: Outcome,
) -> ApiResult<Value> {
    let trigger_name = trigger.name();
    let mut document = invoice_document(tx, &c.invoice_id).await?;
    c.attempt_count = number;
    c.updated_at = now;
    match outcome {
        Outcome::Charged(ch) => {
            record_attempt(
                tx,
                &c.invoice_id,
                number,
                now,
                &Attempt {
                    payment_method: Some(pm_token),
                    outcome: "succeeded",
                    charge_id: Some(ch.id.clone()),
                    trigger: trigger_name,
                    ..Attempt::default()
                },
            )
            .await
            .map_err(store_error)?;
            tx.insert_payment(&crate::invoice::payment_record(
                &ch,
                &c.invoice_id,
                &c.currency,
                state.gateway.name(),
                now,
            ))
            .await
            .map_err(store_error)?;
            c.status = "paid".into();
            c.amount_paid += ch.amount;
            c.next_payment_attempt = None;
            c.outcome = Some("paid".into());
            // The document records the payment (its number, lines and amounts never change).
            if let Ok(mut d) = serde_json::from_value::<InvoiceDocument>(document.clone()) {
                d.status = "paid".into();
                d.amount_paid = c.amount_paid;
                d.payment = Some(PaymentInfo::card(&ch, now));
                let text = serde_json::to_string(&d)
                    .map_err(|e| ApiError::internal(format!("invoice serialization: {e}")))?;
                tx.exec(
                    "UPDATE invoices SET document = $1 WHERE id = $2",
                    vec![text.into(), c.invoice_id.clone().into()],
                )
                .await
                .map_err(store_error)?;
                document = serde_json::to_value(&d).unwrap_or(document);
            }
            save(tx, c).await.map_err(store_error)?;
            if matches!(doc.status.as_str(), "past_due" | "unpaid") {
                let others = tx
                    .query(
                        "SELECT invoice_id FROM invoice_collection WHERE subscription_id = $1 AND status = 'open' AND invoice_id <> $2",
                        vec![doc.id.clone().into(), c.invoice_id.clone().into()],
                    )
                    .await
                    .map_err(store_error)?;
                if others.is_empty() {
                    doc.status = "active".into();
                }
            }
            invoice_event(
                state,
                tx,
                "invoice.paid",
                &document,
                Some(c),
                recipient,
                now,
            )
            .await
            .map_err(store_error)?;
            Ok(json!({
                "invoice": c.invoice_id, "attempt": number, "outcome": "succeeded",
                "amount_paid": ch.amount, "trigger": trigger_name,
            }))
        }
        Outcome::Declined(e) | Outcome::UnknownPaymentMethod(e) => {
            let (code, decline_code, message) = (
                e.code.clone(),
                e.extra
                    .get("decline_code")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                e.message.clone(),
            );
            record_attempt(
                tx,
                &c.invoice_id,
                number,
                now,
                &Attempt {
                    payment_method: Some(pm_token.clone()),
                    outcome: "failed",
                    code: Some(code.clone()),
                    decline_code: decline_code.clone(),
                    message: Some(message.clone()),
                    charge_id: None,
                    trigger: trigger_name,
                },
            )
            .await
            .map_err(store_error)?;
            let scheduled_before = c.next_payment_attempt;
            plan_next(state, doc, c, decline_code.as_deref(), Some(&pm_token))?;
            if trigger == Trigger::Customer && scheduled_before.is_some_and(|t| t > now) {
                // A customer's attempt does not use up the schedule's next retry.
                if c.hard_declined_payment_method.is_none() {
                    c.next_payment_attempt = scheduled_before;
                }
            }
            invoice_event(
                state,
                tx,
                "invoice.payment_failed",
                &document,
                Some(c),
                recipient,
                now,
            )
            .await
            .map_err(store_error)?;
            let last = c.next_payment_attempt.is_none()
                && c.hard_declined_payment_method.is_none()
                && trigger == Trigger::Automatic;
            if last {
                finish(state, tx, doc, c, now).await?;
            } else {
                save(tx, c).await.map_err(store_error)?;
            }
            Ok(json!({
                "invoice": c.invoice_id, "attempt": number, "outcome": "failed",
                "code": code, "decline_code": decline_code, "trigger": trigger_name,
                "next_payment_attempt": c.next_payment_attempt,
            }))
        }
    }
}

/// The final action after the last failure (or a hard decline's grace period).
async fn finish(
    state: &AppState,
    tx: &mut dyn Tx,
    doc: &mut SubscriptionDoc,
    c: &mut Collection,
    now: i64,
) -> ApiResult<Value> {
    let action = state.dunning.for_items(&doc.items).then;
    c.next_payment_attempt = None;
    c.outcome = Some(action.as_str().into());
    c.updated_at = now;
    save(tx, c).await.map_err(store_error)?;
    match action {
        FinalAction::Unpaid => {
            if doc.status != "canceled" {
                doc.status = "unpaid".into();
            }
        }
        FinalAction::Canceled => {
            if doc.status != "canceled" {
                doc.status = "canceled".into();
                doc.canceled_at = Some(now);
            }
        }
        FinalAction::PastDue => {}
    }
    Ok(
        json!({"invoice": c.invoice_id, "outcome": action.as_str(), "attempt_count": c.attempt_count}),
    )
}

/// Open invoices of a customer (the portal), oldest first.
pub async fn open_invoices(state: &AppState, customer_id: &str) -> StoreResult<Vec<String>> {
    let rows = state
        .store
        .query(
            "SELECT invoice_id FROM invoice_collection WHERE customer_id = $1 AND status = 'open' ORDER BY created_at, invoice_id",
            vec![customer_id.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.first())
        .map(SqlValue::text)
        .collect())
}

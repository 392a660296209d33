//! A subscription operation's payment in recorded steps (crate::payment_step): creation, a
//! change or cancellation billed now, a renewal.
//!
//! Tx 1 runs the operation with [`Pay::Probe`]: nothing due → it is written and committed at
//! once; an amount due → the payment intent is recorded (plan: the request, the instant and
//! the balance it was priced at), the subscription marked, the key claimed, commit. The gateway
//! is called with no transaction open. Tx 2 ([`finish`]) runs the same operation again with
//! the gateway's outcome, at the same instant and balance, so it computes the same invoice.

use super::create::create_in;
use super::*;
use crate::error::{json_response, ApiError, ApiResult};
use crate::ledger::store_error;
use crate::payment_step::{self, Outcome};
use crate::state::Shared;
use crate::store::intents::{FORGET_KEY, RELEASE_INTENT_KEY};
use crate::store::{IntentRecord, Tx};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What finishing an operation needs, stored with its intent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Plan {
    /// The subscription changed or renewed (none for a creation).
    #[serde(default)]
    pub(super) subscription: Option<String>,
    /// The request's body (creation, change).
    #[serde(default)]
    pub(super) body: Value,
    /// The operation's instant (tx 1's clock): proration and trial dates, windows.
    pub(super) now: i64,
    /// The customer's balance the invoice was priced with.
    pub(super) balance: i64,
    #[serde(default)]
    pub(super) has_paid: Option<bool>,
    #[serde(default)]
    pub(super) demo: bool,
    /// Redemption counters taken in tx 1 (released when the payment fails).
    #[serde(default)]
    pub(super) counters: Vec<String>,
    /// The engine input of the invoice issued (to render its e-invoice after a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) render: Option<Value>,
}

const RELEASE_REDEMPTION: &str = "UPDATE redemption_counters SET times_redeemed = times_redeemed - 1 WHERE key = $1 AND times_redeemed > 0";

/// Sets or clears the subscription's `pending_payment` inside the caller's transaction.
pub(super) async fn mark(
    tx: &mut dyn Tx,
    subscription: &str,
    intent: Option<&str>,
    now: i64,
) -> ApiResult<()> {
    let record = tx
        .lock_subscription(subscription)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    let mut doc = read_doc(&record)?;
    doc.pending_payment = intent.map(str::to_string);
    tx.update_subscription(&doc.record(now)?)
        .await
        .map_err(store_error)
}

/// The answer to a write on a subscription whose payment is being confirmed.
pub(super) fn payment_pending() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "subscription_payment_pending",
        "",
        "a payment on this subscription is being confirmed with the payment gateway; retry shortly",
    )
}

/// Tx 1's end: the intent recorded `processing`, the subscription marked; commit. Then the
/// gateway (no transaction open) and tx 2.
#[allow(clippy::too_many_arguments)]
pub(super) async fn pay(
    state: &Shared,
    mut tx: Box<dyn Tx>,
    scope: &str,
    key: &str,
    needs: &Needs,
    plan: &Plan,
    now: i64,
) -> ApiResult<Response> {
    let intent = payment_step::new_intent(
        scope,
        key,
        needs.amount,
        &needs.currency,
        &needs.payment_method,
        &json!(plan),
        now,
    );
    if let Err(e) = payment_step::record(tx.as_mut(), &intent).await {
        return crate::ledger::abort(tx, store_error(e)).await;
    }
    if let Some(sub) = &plan.subscription {
        if let Err(e) = mark(tx.as_mut(), sub, Some(&intent.id), now).await {
            return crate::ledger::abort(tx, e).await;
        }
    }
    tx.commit().await.map_err(store_error)?;
    let outcome = payment_step::charge(state, &intent).await?;
    finish(state, &intent, outcome).await
}

/// A key claimed by an earlier request whose payment is not recorded: its intent's outcome
/// (asking the gateway again when it is still `processing`), or what is stored.
pub(super) async fn resume(state: &Shared, scope: &str, key: &str) -> ApiResult<Response> {
    match payment_step::by_key(state, scope, key).await? {
        Some(intent) if intent.status == "processing" => resolve(state, &intent).await,
        Some(_) => stored(state, scope, key).await,
        None => Err(crate::ledger::key_in_use()),
    }
}

/// Asks the gateway again about an unfinished intent and records the outcome.
pub async fn resolve(state: &Shared, intent: &IntentRecord) -> ApiResult<Response> {
    let outcome = payment_step::charge(state, intent).await?;
    finish(state, intent, outcome).await
}

/// What is stored under the key (the intent was settled by someone else).
async fn stored(state: &Shared, scope: &str, key: &str) -> ApiResult<Response> {
    let missing = payment_step::unknown_payment_method(state);
    crate::ledger::answer_stored(state, scope, key, missing).await
}

/// Tx 2: the operation again with the gateway's outcome, conditional on the intent still being
/// `processing`; then the e-invoice, queued for the background renderer.
pub(super) async fn finish(
    state: &Shared,
    intent: &IntentRecord,
    outcome: Outcome,
) -> ApiResult<Response> {
    let mut plan: Plan = serde_json::from_str(&intent.plan)
        .map_err(|e| ApiError::internal(format!("intent {}: bad plan: {e}", intent.id)))?;
    let now = state.clock.now();
    let (scope, key) = (intent.scope.as_str(), intent.key.as_str());
    let mut tx = state.store.begin().await.map_err(store_error)?;
    match payment_step::take(tx.as_mut(), &intent.id, now).await {
        Ok(true) => {}
        Ok(false) => {
            let _ = tx.rollback().await;
            return stored(state, scope, key).await;
        }
        Err(e) => return crate::ledger::abort(tx, store_error(e)).await,
    }
    let mut payment = Payment::known(outcome.clone(), plan.balance, now);
    let access = if plan.demo {
        Access::Demo
    } else {
        Access::Merchant
    };
    let empty = serde_json::Map::new();
    let body = plan.body.as_object().unwrap_or(&empty);
    let result = match scope {
        CREATE_SCOPE => match parse_create(body, access) {
            Ok(input) => {
                create_in(
                    state,
                    tx.as_mut(),
                    &input,
                    plan.has_paid,
                    key,
                    plan.now,
                    access,
                    &mut payment,
                )
                .await
            }
            Err(e) => Err(e.into()),
        },
        UPDATE_SCOPE | CANCEL_SCOPE => match parse_commit(body, scope) {
            Ok(input) => commit_in(
                state,
                tx.as_mut(),
                plan.subscription.as_deref().unwrap_or_default(),
                input,
                key,
                plan.now,
                access,
                &mut payment,
                Some(&intent.id),
            )
            .await
            .map(|v| (200, v)),
            Err(e) => Err(e.into()),
        },
        RENEWAL_SCOPE => renewal::renew_known(
            state,
            tx.as_mut(),
            plan.subscription.as_deref().unwrap_or_default(),
            &intent.id,
            key,
            &mut payment,
        )
        .await
        .map(|v| (200, v)),
        _ => Err(ApiError::internal(format!("intent {}: unknown scope", intent.id)).into()),
    };
    match result {
        Ok((status, response)) => {
            let text = response.to_string();
            let written = async {
                if scope != RENEWAL_SCOPE {
                    crate::dunning::after_api_write(
                        state,
                        tx.as_mut(),
                        scope == CREATE_SCOPE,
                        &response,
                        now,
                    )
                    .await?;
                }
                tx.finish_key(scope, key, status, &text)
                    .await
                    .map_err(store_error)?;
                plan.render = payment.engine.clone();
                payment_step::settle(
                    tx.as_mut(),
                    &intent.id,
                    "succeeded",
                    payment.render.as_ref().map(|r| r.invoice_id.as_str()),
                    payment.charge_id.as_deref(),
                    Some(&json!(plan)),
                    now,
                )
                .await
                .map_err(store_error)
            }
            .await;
            if let Err(e) = written {
                return crate::ledger::abort(tx, e).await;
            }
            tx.commit().await.map_err(store_error)?;
            // The invoice is committed: the answer now, its e-invoice in the background.
            if let Some(mut r) = payment.render.take() {
                r.intent_id = intent.id.clone();
                payment_step::render_later(state, r);
            }
            Ok(json_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                text,
            ))
        }
        Err(IssueError::Declined(e)) => {
            let answer = Some((e.status.as_u16(), e.body().to_string()));
            failed(
                state,
                tx,
                intent,
                &plan,
                "requires_payment_method",
                answer,
                now,
            )
            .await?;
            Err(e)
        }
        Err(IssueError::Fail(e)) if matches!(outcome, Outcome::UnknownPaymentMethod(_)) => {
            failed(state, tx, intent, &plan, "canceled", None, now).await?;
            Err(e)
        }
        Err(IssueError::Fail(e)) => {
            // The money's outcome is known but the operation cannot be written: left
            // `processing` for the recovery (and a person: the log says why).
            crate::log::error(
                "payment not recorded",
                json!({"intent": intent.id, "error": e.body()["error"]}),
            );
            crate::ledger::abort(tx, e).await
        }
        Err(IssueError::NeedsPayment(_)) => {
            crate::ledger::abort(tx, ApiError::internal("the payment was asked for twice")).await
        }
    }
}

/// A payment that failed: the codes released, the subscription unmarked, the decline stored
/// under the key (or the key forgotten: the client may fix the card and retry with it).
async fn failed(
    state: &Shared,
    mut tx: Box<dyn Tx>,
    intent: &IntentRecord,
    plan: &Plan,
    status: &str,
    answer: Option<(u16, String)>,
    now: i64,
) -> ApiResult<()> {
    let _ = state;
    let r = async {
        for counter in &plan.counters {
            tx.exec(RELEASE_REDEMPTION, vec![counter.as_str().into()])
                .await
                .map_err(store_error)?;
        }
        if let Some(sub) = &plan.subscription {
            mark(tx.as_mut(), sub, None, now).await?;
        }
        match &answer {
            Some((code, body)) => tx
                .finish_key(&intent.scope, &intent.key, *code, body)
                .await
                .map_err(store_error)?,
            None => {
                tx.exec(
                    FORGET_KEY,
                    vec![intent.scope.as_str().into(), intent.key.as_str().into()],
                )
                .await
                .map_err(store_error)?;
                tx.exec(RELEASE_INTENT_KEY, vec![intent.id.as_str().into()])
                    .await
                    .map_err(store_error)?;
            }
        }
        payment_step::settle(tx.as_mut(), &intent.id, status, None, None, None, now)
            .await
            .map_err(store_error)
    }
    .await;
    if let Err(e) = r {
        return crate::ledger::abort(tx, e).await;
    }
    tx.commit().await.map_err(store_error)
}

/// After an operation that needed no payment (nothing due): its invoice's e-invoice is to be
/// rendered after the commit; an intent of amount 0 records that until it is stored, so a
/// crash in between is finished by the recovery. Inside the operation's transaction.
pub(super) async fn record_render(
    tx: &mut dyn Tx,
    scope: &str,
    key: &str,
    payment: &mut Payment,
    currency: &str,
    now: i64,
) -> ApiResult<()> {
    let Some(render) = payment.render.as_mut() else {
        return Ok(());
    };
    let plan = Plan {
        now,
        render: payment.engine.clone(),
        ..Plan::default()
    };
    let mut intent = payment_step::new_intent(scope, key, 0, currency, "", &json!(plan), now);
    intent.status = "succeeded".into();
    intent.invoice_id = Some(render.invoice_id.clone());
    intent.einvoice_pending = true;
    render.intent_id = intent.id.clone();
    payment_step::record(tx, &intent).await.map_err(store_error)
}

/// After the commit of an operation that needed no payment: its e-invoice, queued for the
/// background renderer.
pub(super) fn render(state: &Shared, payment: &mut Payment) {
    if let Some(r) = payment.render.take() {
        payment_step::render_later(state, r);
    }
}

//! Recorded payment steps for everything that is not a one-off charge (issue 13 §6):
//! subscription creation, changes billed now, renewals, dunning attempts and refunds.
//!
//! ```text
//! tx 1   the operation is priced under its locks; it needs money to move: a payment intent is
//!        recorded `processing` (`payment_intents`, the charges' table) with a plan (what
//!        finishing needs), the subscription is marked (`pending_payment`: no other write
//!        touches it until the outcome is recorded), the key is claimed; commit
//! ---    the gateway, outside any transaction, with the intent id as its idempotency key
//! tx 2   conditional on the intent still `processing`: the operation is run again with the
//!        gateway's outcome (same inputs, same balance: the same invoice), the mark cleared,
//!        the intent settled; commit
//! ---    the e-invoice rendered with no transaction open, then stored (tx 3); until then the
//!        intent is `einvoice_pending`
//! ```
//!
//! An intent whose gateway answer was lost stays `processing`: a replay of the client's key,
//! the start-up recovery and the renewal loop (through [`crate::intent::recover`], which hands
//! these intents to [`crate::payment_recovery`]) ask the gateway again with the same key — it answers the first
//! attempt's outcome, so nothing is charged twice and nothing charged is lost.
//!
//! Scopes (`payment_intents.scope`) tell the operations apart; the key is the idempotency key
//! of the operation: the client's for the API, `{subscription}:{period end}` for a renewal,
//! `{invoice}:{attempt}` for a dunning attempt.

use crate::error::{ApiError, ApiResult};
use crate::gateway::{ChargeRequest, GatewayCharge, GatewayError, RefundError, RefundRequest};
use crate::ledger::{abort, new_id, replay, store_error};
use crate::state::{AppState, Shared};
use crate::store::intents::{intent_from_row, intent_params, INSERT_INTENT};
use crate::store::{Claim, IntentRecord, StoreResult, Tx};
use axum::http::StatusCode;
use serde_json::{json, Value};

/// The scopes of a subscription's payments (and of their idempotency keys).
pub const CREATE_SCOPE: &str = "subscriptions";
pub const UPDATE_SCOPE: &str = "subscription_updates";
pub const CANCEL_SCOPE: &str = "subscription_cancellations";
pub const RENEWAL_SCOPE: &str = "renewals";
pub const DUNNING_SCOPE: &str = "dunning_attempts";
pub const REFUND_SCOPE: &str = "refunds";

/// The scopes whose intents this module finishes (the rest are one-off charges).
pub fn owns(scope: &str) -> bool {
    matches!(
        scope,
        CREATE_SCOPE | UPDATE_SCOPE | CANCEL_SCOPE | RENEWAL_SCOPE | DUNNING_SCOPE | REFUND_SCOPE
    )
}

/// What the gateway answered.
#[derive(Debug, Clone)]
pub enum Outcome {
    Charged(GatewayCharge),
    /// 402 `card_declined` & co., with `decline_code` and `retryable`.
    Declined(ApiError),
    UnknownPaymentMethod(ApiError),
}

/// The gateway did not answer (timeout, 5xx): the intent stays `processing`.
pub fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "payment_gateway_unavailable",
        "",
        "the payment gateway did not answer; the payment is recorded as processing: retry with the same Idempotency-Key to learn its outcome",
    )
}

/// 400 `invalid` on `payment_method`: the gateway does not know the token (the key is then
/// forgotten: the client may retry with a good one).
pub fn unknown_payment_method(state: &AppState) -> ApiError {
    ApiError::invalid(
        "payment_method",
        format!(
            "unknown payment method token for the {} gateway",
            state.gateway.name()
        ),
    )
}

/// Calls the gateway for an intent (no transaction open): `Err` when it did not answer.
pub async fn charge(state: &AppState, intent: &IntentRecord) -> ApiResult<Outcome> {
    let request = ChargeRequest {
        idempotency_key: intent.id.clone(),
        amount: intent.amount,
        currency: intent.currency.clone(),
        payment_method: intent.payment_method.clone(),
        description: state.seller.name.clone(),
    };
    match state.gateway.charge(request).await {
        Ok(c) => Ok(Outcome::Charged(c)),
        Err(GatewayError::Declined {
            code,
            decline_code,
            message,
            hard,
        }) => Ok(Outcome::Declined(
            ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                code,
                "payment_method",
                message,
            )
            .with("decline_code", json!(decline_code))
            .with("retryable", json!(!hard && code == "processing_error")),
        )),
        Err(GatewayError::UnknownPaymentMethod) => {
            Ok(Outcome::UnknownPaymentMethod(unknown_payment_method(state)))
        }
        Err(GatewayError::Unavailable(why)) => {
            crate::log::error(
                "payment gateway unavailable",
                json!({"error": why, "intent": intent.id}),
            );
            Err(unavailable())
        }
    }
}

/// What the gateway answered a refund.
pub enum RefundOutcome {
    Refunded(crate::gateway::GatewayRefund),
    Refused(ApiError),
}

/// Asks the gateway to refund (no transaction open; the intent's `payment_method` holds the
/// charge): `Err` when it did not answer.
pub async fn refund(
    state: &AppState,
    intent: &IntentRecord,
    reason: Option<String>,
) -> ApiResult<RefundOutcome> {
    let request = RefundRequest {
        idempotency_key: intent.id.clone(),
        charge: intent.payment_method.clone(),
        amount: intent.amount,
        currency: intent.currency.clone(),
        reason,
    };
    match state.gateway.refund(request).await {
        Ok(r) => Ok(RefundOutcome::Refunded(r)),
        Err(RefundError::Refused { code, message }) => Ok(RefundOutcome::Refused(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            code,
            "",
            message,
        ))),
        Err(RefundError::Unavailable(why)) => {
            crate::log::error(
                "payment gateway unavailable",
                json!({"error": why, "intent": intent.id}),
            );
            Err(unavailable())
        }
    }
}

/// What claiming an operation's idempotency key gave (tx 1's first statement).
pub enum Claimed {
    /// The key is new: the operation goes on in this transaction.
    New(Box<dyn Tx>),
    /// Claimed by an earlier request with the same body whose payment is not recorded yet: its
    /// intent is to be resumed (nothing is open).
    Unfinished,
    /// The answer stored under the key, replayed (nothing is open).
    Answered(axum::response::Response),
}

/// Begins tx 1 and claims `scope`/`key` for a request whose body has `fingerprint`: a new key
/// keeps the transaction open for the operation; a key already answered replays its answer
/// (`idempotency_key_reused` for another body); a key whose payment is still unfinished is to
/// be resumed. Every flow in recorded steps starts here (subscription creation and changes,
/// credit notes and refunds).
pub async fn claim(
    state: &AppState,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> ApiResult<Claimed> {
    let mut tx = state.store.begin().await.map_err(store_error)?;
    match tx.claim_key(scope, key, fingerprint, now).await {
        Ok(Claim::Existing {
            fingerprint: f,
            status: 0,
            ..
        }) if f == fingerprint => {
            let _ = tx.rollback().await;
            Ok(Claimed::Unfinished)
        }
        Ok(claim) => match replay(fingerprint, claim) {
            Ok(Some(r)) => {
                let _ = tx.rollback().await;
                Ok(Claimed::Answered(r))
            }
            Ok(None) => Ok(Claimed::New(tx)),
            Err(e) => abort(tx, e).await,
        },
        Err(e) => abort(tx, store_error(e)).await,
    }
}

/// A new intent of `scope`/`key`, `processing`.
pub fn new_intent(
    scope: &str,
    key: &str,
    amount: i64,
    currency: &str,
    payment_method: &str,
    plan: &Value,
    now: i64,
) -> IntentRecord {
    IntentRecord {
        id: new_id("pi", key, now),
        scope: scope.to_string(),
        key: key.to_string(),
        status: "processing".into(),
        amount,
        currency: currency.to_string(),
        payment_method: payment_method.to_string(),
        plan: plan.to_string(),
        invoice_id: None,
        gateway_charge_id: None,
        einvoice_pending: false,
        created_at: now,
        updated_at: now,
    }
}

/// Records an intent inside the caller's transaction.
pub async fn record(tx: &mut dyn Tx, i: &IntentRecord) -> StoreResult<()> {
    tx.exec(INSERT_INTENT, intent_params(i)).await.map(|_| ())
}

/// The intent by id, as it is now.
pub async fn by_id(state: &AppState, id: &str) -> ApiResult<Option<IntentRecord>> {
    const BY_ID: &str = "SELECT id, scope, key, status, amount, currency, payment_method, plan, invoice_id, gateway_charge_id, einvoice_pending, created_at, updated_at FROM payment_intents WHERE id = $1";
    let rows = state
        .store
        .query(BY_ID, vec![id.into()])
        .await
        .map_err(store_error)?;
    Ok(rows.first().map(|r| intent_from_row(r)))
}

/// The intent of `scope`/`key`.
pub async fn by_key(state: &AppState, scope: &str, key: &str) -> ApiResult<Option<IntentRecord>> {
    const BY_KEY: &str = "SELECT id, scope, key, status, amount, currency, payment_method, plan, invoice_id, gateway_charge_id, einvoice_pending, created_at, updated_at FROM payment_intents WHERE scope = $1 AND key = $2";
    let rows = state
        .store
        .query(BY_KEY, vec![scope.into(), key.into()])
        .await
        .map_err(store_error)?;
    Ok(rows.first().map(|r| intent_from_row(r)))
}

/// First statement of tx 2: takes the intent (PostgreSQL: its row lock, so a concurrent
/// finisher waits) if it is still `processing`. `false`: another request or process recorded
/// its outcome first; nothing is to be written.
pub async fn take(tx: &mut dyn Tx, intent_id: &str, now: i64) -> StoreResult<bool> {
    const TAKE: &str =
        "UPDATE payment_intents SET updated_at = $2 WHERE id = $1 AND status = 'processing'";
    Ok(tx.exec(TAKE, vec![intent_id.into(), now.into()]).await? > 0)
}

/// Last statement of tx 2: the outcome, the invoice it issued (its e-invoice to render) and
/// the plan to render it with after a crash.
pub async fn settle(
    tx: &mut dyn Tx,
    intent_id: &str,
    status: &str,
    invoice_id: Option<&str>,
    gateway_charge_id: Option<&str>,
    plan: Option<&Value>,
    now: i64,
) -> StoreResult<()> {
    const SETTLE: &str = "UPDATE payment_intents SET status = $2, invoice_id = $3, gateway_charge_id = $4, einvoice_pending = $5, plan = COALESCE($6, plan), updated_at = $7 WHERE id = $1";
    tx.exec(
        SETTLE,
        vec![
            intent_id.into(),
            status.into(),
            invoice_id.map(str::to_string).into(),
            gateway_charge_id.map(str::to_string).into(),
            invoice_id.is_some().into(),
            plan.map(Value::to_string).into(),
            now.into(),
        ],
    )
    .await
    .map(|_| ())
}

/// The stored document of an invoice whose e-invoice is rendered after the commit.
pub struct PendingRender {
    pub intent_id: String,
    pub invoice_id: String,
    /// The document exactly as stored (the e-invoice is stored only over this text).
    pub stored: String,
    pub document: crate::invoice::InvoiceDocument,
    pub invoice: billcalc::Invoice,
}

/// Queues a subscription invoice's e-invoice, just committed, for the background renderer:
/// rendered once from the document as committed and the engine's invoice, then stored. The
/// answer does not wait for it; a reader of the invoice does ([`ensure_einvoice`]).
pub fn render_later(state: &Shared, pending: PendingRender) {
    crate::render_queue::in_background(state, pending.intent_id.clone(), move |state| async move {
        render_and_store(&state, pending).await;
    });
}

/// Renders a subscription invoice's e-invoice on the blocking pool (no transaction open) and
/// stores it, unless the document changed meanwhile (a payment recorded on it: the recovery
/// renders it again from the new document).
pub(crate) async fn render_and_store(state: &Shared, pending: PendingRender) {
    let PendingRender {
        intent_id,
        invoice_id,
        stored: before,
        mut document,
        invoice,
    } = pending;
    let rendering = state.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        document.einvoice =
            crate::einvoice::render_invoice(&document, &invoice, &rendering.calculator);
        serde_json::to_string(&document).ok()
    })
    .await;
    let Ok(Some(after)) = rendered else {
        crate::log::error(
            "e-invoice: rendering failed (the recovery will retry)",
            json!({"invoice": invoice_id}),
        );
        return;
    };
    match store_rendered(state, &intent_id, &invoice_id, &before, &after).await {
        Ok(true) => state.metrics.einvoices_rendered.inc(),
        Ok(false) => {}
        Err(e) => crate::log::error(
            "e-invoice: not stored (the recovery will retry)",
            json!({"invoice": invoice_id, "error": e.to_string()}),
        ),
    }
}

/// Tx 3: the rendered document over the document as committed; `false` when it moved on (or
/// another process stored its rendering first).
async fn store_rendered(
    state: &AppState,
    intent_id: &str,
    invoice_id: &str,
    before: &str,
    after: &str,
) -> StoreResult<bool> {
    const STORE: &str = "UPDATE invoices SET document = $2 WHERE id = $1 AND document = $3";
    const DONE: &str =
        "UPDATE payment_intents SET einvoice_pending = 0, updated_at = $2 WHERE id = $1";
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let stored = tx
        .exec(STORE, vec![invoice_id.into(), after.into(), before.into()])
        .await?;
    if stored == 0 {
        // The document moved on (or already has its e-invoice): the recovery looks again.
        let _ = tx.rollback().await;
        return Ok(false);
    }
    tx.exec(DONE, vec![intent_id.into(), now.into()]).await?;
    tx.commit().await.map(|_| true)
}

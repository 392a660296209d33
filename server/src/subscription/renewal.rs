//! Renewals: each period's invoice, issued once however often renewals run.

use super::*;
use crate::canonical;
use crate::error::{ApiError, ApiResult};
use crate::ledger::store_error;
use crate::state::{AppState, Shared};
use crate::store::{Claim, Tx};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Issues every renewal due at `as_of`: for each subscription whose current period ended by
/// then, the engine's next invoice (the very `preview_invoice` call a preview makes), with the
/// same numbering, keyed by `{subscription}:{period end}` so it is issued once however often
/// (or however concurrently) renewals run. A subscription several periods behind is brought up
/// to date one invoice at a time.
pub async fn run_renewals(state: &Shared, as_of: i64) -> ApiResult<Value> {
    let mut issued = Vec::new();
    let mut failed = Vec::new();
    let mut failed_ids = BTreeSet::new();
    for _ in 0..100 {
        let due = state
            .store
            .due_subscriptions(as_of, 100)
            .await
            .map_err(store_error)?;
        let due: Vec<String> = due
            .into_iter()
            .filter(|d| !failed_ids.contains(d))
            .collect();
        if due.is_empty() {
            break;
        }
        let mut progress = false;
        for id in due {
            match renew_one(state, &id, as_of).await {
                Ok(Some(r)) => {
                    issued.push(r);
                    progress = true;
                }
                Ok(None) => {}
                Err(e) => {
                    crate::log::error(
                        "renewal failed",
                        json!({"subscription": id, "error": e.message}),
                    );
                    failed.push(json!({"subscription": id, "error": e.body()["error"]}));
                    failed_ids.insert(id);
                }
            }
        }
        if !progress {
            break;
        }
    }
    Ok(json!({
        "object": "renewal_run",
        "as_of": as_of,
        "issued": issued,
        "failed": failed,
    }))
}

pub(super) async fn renew_one(state: &Shared, id: &str, as_of: i64) -> ApiResult<Option<Value>> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let record = match tx.lock_subscription(id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            let _ = tx.rollback().await;
            return Ok(None);
        }
        Err(e) => return abort(tx, store_error(e)).await,
    };
    let doc = match read_doc(&record) {
        Ok(d) => d,
        Err(e) => return abort(tx, e).await,
    };
    // A payment on it is being confirmed (this renewal's, or a change's): the recovery
    // finishes that one first.
    if !doc.bills() || doc.current_period_end > as_of || doc.pending_payment.is_some() {
        let _ = tx.rollback().await;
        return Ok(None);
    }
    let key = format!("{}:{}", doc.id, doc.current_period_end);
    let fingerprint = canonical::digest(&json!(key));
    match tx.claim_key(RENEWAL_SCOPE, &key, &fingerprint, now).await {
        Ok(Claim::New) => {}
        Ok(Claim::Existing { .. }) => {
            let _ = tx.rollback().await;
            return Ok(None);
        }
        Err(e) => return abort(tx, store_error(e)).await,
    }
    let mut payment = Payment::probe(now);
    match renew_in(state, tx.as_mut(), doc, &key, &mut payment).await {
        Ok(summary) => {
            let written = async {
                pay::record_render(tx.as_mut(), RENEWAL_SCOPE, &key, &mut payment, "", now).await?;
                tx.finish_key(RENEWAL_SCOPE, &key, 200, &summary.to_string())
                    .await
                    .map_err(store_error)
            }
            .await;
            if let Err(e) = written {
                return abort(tx, e).await;
            }
            tx.commit().await.map_err(store_error)?;
            pay::render(state, &mut payment);
            Ok(Some(summary))
        }
        // An amount due: the renewal's payment in recorded steps, keyed by subscription and
        // period (the renewal key), so every instance's loop issues it once.
        Err(IssueError::NeedsPayment(needs)) => {
            let plan = pay::Plan {
                subscription: Some(id.to_string()),
                now,
                balance: payment.balance.unwrap_or(0),
                ..pay::Plan::default()
            };
            let r = pay::pay(state, tx, RENEWAL_SCOPE, &key, &needs, &plan, now).await?;
            let body = axum::body::to_bytes(r.into_body(), usize::MAX)
                .await
                .map_err(|e| ApiError::internal(format!("renewal answer: {e}")))?;
            Ok(Some(serde_json::from_slice(&body).unwrap_or(Value::Null)))
        }
        Err(IssueError::Fail(e) | IssueError::Declined(e)) => abort(tx, e).await,
    }
}

/// The renewal's second pass (crate::payment_step): the same invoice with the gateway's
/// outcome, the subscription's mark cleared.
pub(super) async fn renew_known(
    state: &AppState,
    tx: &mut dyn Tx,
    id: &str,
    intent: &str,
    key: &str,
    payment: &mut Payment,
) -> Result<Value, IssueError> {
    let record = tx
        .lock_subscription(id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    let mut doc = read_doc(&record)?;
    if doc.pending_payment.as_deref() != Some(intent) {
        return Err(ApiError::internal(format!(
            "subscription {id} is not waiting for payment {intent}"
        ))
        .into());
    }
    doc.pending_payment = None;
    renew_in(state, tx, doc, key, payment).await
}

pub(super) async fn renew_in(
    state: &AppState,
    tx: &mut dyn Tx,
    mut doc: SubscriptionDoc,
    key: &str,
    payment: &mut Payment,
) -> Result<Value, IssueError> {
    let now = payment.issued_at;
    let balance = payment.balance(tx, &doc.customer.id, &doc.currency).await?;
    let period_end = doc.current_period_end;
    let previous = json!({
        "status": doc.status,
        "current_period_start": doc.current_period_start,
        "current_period_end": doc.current_period_end,
    });
    let mut input = engine_input(&doc, balance);
    input["as_of"] = json!(doc.current_period_start);
    let (invoice, value) = compute(state, &input)?;
    payment.engine = Some(input);
    if invoice.created != period_end {
        return Err(ApiError::internal(format!(
            "the engine issues the next invoice at {}, the ledger expects {period_end}",
            invoice.created
        ))
        .into());
    }
    let s = invoice.subscription;
    let last = s.status == billcalc::subscription::invoice::SubscriptionStatus::Canceled;
    let mut issued = None;
    if !(last && invoice.quote.lines.is_empty()) {
        let i = issue(
            state,
            tx,
            &doc,
            &invoice,
            &value,
            payment,
            key,
            OnDecline::KeepOpen,
        )
        .await?;
        doc.latest_invoice = Some(i.id.clone());
        issued = Some(i);
    }
    doc.pending_invoice_items = Vec::new();
    doc.billing_cycle_anchor = s.billing_cycle_anchor;
    doc.current_period_start = s.current_period_start;
    doc.current_period_end = s.current_period_end;
    if last {
        doc.status = "canceled".into();
        doc.canceled_at = Some(period_end);
    } else if issued.as_ref().is_some_and(|i| i.status == "open") {
        doc.status = "past_due".into();
    } else {
        doc.status = state_name(s.status).into();
    }
    // Dunning and events (crate::dunning): attempt 1, the retry plan, the notifications.
    let charge = issued.as_ref().map(|i| crate::dunning::RenewalCharge {
        invoice_id: &i.id,
        paid: i.status == "paid",
        amount_due: invoice.amount_due,
        payment_method: doc.default_payment_method.as_deref(),
        charge_id: i.charge.as_ref().map(|c| c.id.as_str()),
        error: i.decline.as_ref().map(|e| e.body()["error"].clone()),
    });
    crate::dunning::after_renewal(state, tx, &doc, previous, charge, now).await?;
    tx.update_subscription(&doc.record(now)?)
        .await
        .map_err(store_error)?;
    Ok(json!({
        "subscription": doc.id,
        "period_end": period_end,
        "status": doc.status,
        "invoice": issued.as_ref().map(|i| i.link(state, &invoice)),
    }))
}

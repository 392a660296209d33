//! Renewals: each period's invoice, issued once however often renewals run.

use super::*;
use crate::canonical;
use crate::error::{ApiError, ApiResult};
use crate::ledger::store_error;
use crate::state::AppState;
use crate::store::{Claim, Tx};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Issues every renewal due at `as_of`: for each subscription whose current period ended by
/// then, the engine's next invoice (the very `preview_invoice` call a preview makes), with the
/// same numbering, keyed by `{subscription}:{period end}` so it is issued once however often
/// (or however concurrently) renewals run. A subscription several periods behind is brought up
/// to date one invoice at a time.
pub async fn run_renewals(state: &AppState, as_of: i64) -> ApiResult<Value> {
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
                    eprintln!("billcalc-server: renewal of {id} failed: {e}");
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

pub(super) async fn renew_one(state: &AppState, id: &str, as_of: i64) -> ApiResult<Option<Value>> {
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
    if !doc.bills() || doc.current_period_end > as_of {
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
    match renew_in(state, tx.as_mut(), doc, &key, now).await {
        Ok(summary) => {
            if let Err(e) = tx
                .finish_key(RENEWAL_SCOPE, &key, 200, &summary.to_string())
                .await
            {
                return abort(tx, store_error(e)).await;
            }
            tx.commit().await.map_err(store_error)?;
            Ok(Some(summary))
        }
        Err(IssueError::Fail(e) | IssueError::Declined(e)) => abort(tx, e).await,
    }
}

pub(super) async fn renew_in(
    state: &AppState,
    tx: &mut dyn Tx,
    mut doc: SubscriptionDoc,
    key: &str,
    now: i64,
) -> Result<Value, IssueError> {
    let balance = tx
        .lock_balance(&doc.customer.id, &doc.currency)
        .await
        .map_err(store_error)?;
    let period_end = doc.current_period_end;
    let previous = json!({
        "status": doc.status,
        "current_period_start": doc.current_period_start,
        "current_period_end": doc.current_period_end,
    });
    let mut input = engine_input(&doc, balance);
    input["as_of"] = json!(doc.current_period_start);
    let (invoice, value) = compute(state, &input)?;
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
            format!("{RENEWAL_SCOPE}:{key}"),
            key,
            now,
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

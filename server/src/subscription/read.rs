//! Retrieve a subscription, its upcoming invoice, the invoices it issued.

use super::*;
use crate::error::{ApiError, ApiResult};
use crate::ledger::store_error;
use crate::state::AppState;
use crate::token;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

pub(super) async fn load(
    state: &AppState,
    id: &str,
    access: Access,
) -> ApiResult<(SubscriptionDoc, i64)> {
    let record = state
        .store
        .subscription(id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    let doc = read_doc(&record)?;
    visible(&doc, access)?;
    let balance = state
        .store
        .balance(&doc.customer.id, &doc.currency)
        .await
        .map_err(store_error)?;
    Ok((doc, balance))
}

pub async fn retrieve(state: &AppState, id: &str, access: Access) -> ApiResult<Response> {
    let (doc, balance) = load(state, id, access).await?;
    let now = state.clock.now();
    let mut out = view(state, &doc, balance, now);
    out["upcoming_invoice"] = upcoming_value(state, &doc, balance, now).unwrap_or(Value::Null);
    if let Some(id) = &doc.latest_invoice {
        let access = token::invoice_access_token(&state.signing_key, id);
        let record = state.store.invoice(id).await.map_err(store_error)?;
        out["latest_invoice"] = json!({
            "id": id,
            "number": record.as_ref().map(|r| r.number_display.clone()),
            "total": record.as_ref().map(|r| r.total),
            "url": format!("/v1/invoices/{id}"),
            "hosted_invoice_url": format!("/v1/invoices/{id}.html?access_token={access}"),
        });
    }
    Ok(ok(&out))
}

/// The next invoice as the subscription stands, at `now` (none once canceled or when the
/// period's renewal is due).
pub(crate) fn upcoming_value(
    state: &AppState,
    doc: &SubscriptionDoc,
    balance: i64,
    now: i64,
) -> Option<Value> {
    if !doc.bills() || now >= doc.current_period_end {
        return None;
    }
    let mut input = engine_input(doc, balance);
    input["as_of"] = json!(now.max(doc.current_period_start));
    compute(state, &input).ok().map(|(_, v)| v)
}

/// `GET /v1/invoices/upcoming?subscription=ID`: the next invoice, nothing stored.
pub async fn upcoming(state: &AppState, id: &str, access: Access) -> ApiResult<Response> {
    let (doc, balance) = load(state, id, access).await?;
    if !doc.bills() {
        return Err(canceled());
    }
    let now = state.clock.now();
    if now >= doc.current_period_end {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "renewal_pending",
            "",
            "the current period has ended; its renewal is due",
        ));
    }
    let mut input = engine_input(&doc, balance);
    input["as_of"] = json!(now.max(doc.current_period_start));
    let (_, value) = compute(state, &input)?;
    Ok(ok(&json!({
        "object": "upcoming_invoice",
        "subscription": doc.id,
        "as_of": now,
        "invoice": value,
    })))
}

pub async fn invoices(state: &AppState, id: &str, access: Access) -> ApiResult<Response> {
    let (doc, _) = load(state, id, access).await?;
    let records = state
        .store
        .subscription_invoices(&doc.id)
        .await
        .map_err(store_error)?;
    let data: Vec<Value> = records
        .iter()
        .map(|r| {
            let d: Value = serde_json::from_str(&r.document).unwrap_or(Value::Null);
            let access = token::invoice_access_token(&state.signing_key, &r.id);
            json!({
                "id": r.id,
                "number": r.number_display,
                "created": r.created_at,
                "currency": r.currency,
                "total": r.total,
                "status": d.get("status").cloned().unwrap_or(Value::Null),
                "billing_reason": d.pointer("/subscription/billing_reason").cloned().unwrap_or(Value::Null),
                "amount_due": d.pointer("/subscription/amount_due").cloned().unwrap_or(Value::Null),
                "amount_paid": d.get("amount_paid").cloned().unwrap_or(Value::Null),
                "url": format!("/v1/invoices/{}", r.id),
                "hosted_invoice_url": format!("/v1/invoices/{}.html?access_token={access}", r.id),
            })
        })
        .collect();
    Ok(ok(&json!({"object": "list", "data": data})))
}

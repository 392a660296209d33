//! Preview a change at a `proration_date`, stored so its commit can name it.

use super::*;
use crate::canonical;
use crate::error::ApiResult;
use crate::ledger::{new_id, store_error};
use crate::pricing::only_fields;
use crate::state::{AppState, Ctx};
use crate::store::ChangeRecord;
use axum::response::Response;
use serde_json::json;

/// `POST /v1/subscriptions/{id}/preview` (and `POST /v1/invoices/upcoming` with
/// `subscription`): the invoice the change would produce at `proration_date` (default: now),
/// stored with its digest so a commit can be checked against it.
pub async fn preview(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    access: Access,
    extra_fields: &[&str],
) -> ApiResult<Response> {
    let fallback = empty_body();
    let o = match &ctx.body {
        None => &fallback,
        Some(_) => body(ctx)?,
    };
    let mut allowed: Vec<&str> = CHANGE_FIELDS.to_vec();
    allowed.push("cancel");
    allowed.extend_from_slice(extra_fields);
    only_fields(o, &allowed, "")?;
    let mut change = parse_change(o)?;
    change.cancel = bool_at(o, "cancel", "")? == Some(true);
    let (doc, balance) = load(state, id, access).await?;
    if !doc.bills() {
        return Err(canceled());
    }
    let now = state.clock.now();
    let proration_date = change.proration_date.unwrap_or(now);
    check_proration_date(state, &doc, proration_date, now)?;
    let mut input = engine_input(&doc, balance);
    input["as_of"] = json!(proration_date);
    input["change"] = change.engine(proration_date);
    let (_, value) = compute(state, &input)?;
    let digest = canonical::digest(&value);
    let change_id = new_id("scp", &doc.id, now);
    let record = ChangeRecord {
        id: change_id.clone(),
        subscription_id: doc.id.clone(),
        proration_date,
        preview_digest: digest.clone(),
        invoice_id: None,
        created_at: now,
        request: canonical::canonical(&change.canonical()),
        preview: value.to_string(),
        status: "previewed".into(),
        committed_at: None,
    };
    let mut tx = state.store.begin().await.map_err(store_error)?;
    if let Err(e) = tx.insert_change(&record).await {
        return abort(tx, store_error(e)).await;
    }
    tx.commit().await.map_err(store_error)?;
    Ok(ok(&json!({
        "object": "subscription_change_preview",
        "id": change_id,
        "subscription": doc.id,
        "proration_date": proration_date,
        "expires_at": proration_date + state.quotes.token_ttl_seconds,
        "preview_digest": digest,
        "invoice": value,
    })))
}

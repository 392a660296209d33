//! Commit a previewed change or a cancellation at the previewed `proration_date`.

use super::*;
use crate::canonical;
use crate::clock::rfc3339;
use crate::error::{json_response, ApiError, ApiResult};
use crate::ledger::{self, new_id, store_error};
use crate::payment_step::{self, Claimed};
use crate::pricing::{self, only_fields};
use crate::state::{AppState, Ctx, Shared};
use crate::store::{ChangeRecord, Tx};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use billcalc::subscription::invoice::BillingReason;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Checks a change's `proration_date` against the server's clock and the current period: at
/// most `quotes.token_ttl_seconds` old (the time a customer may take to confirm a preview),
/// at most `quotes.as_of_tolerance_seconds` ahead, and inside the current period.
pub(super) fn check_proration_date(
    state: &AppState,
    doc: &SubscriptionDoc,
    proration_date: i64,
    now: i64,
) -> ApiResult<()> {
    let window = state.quotes.token_ttl_seconds;
    let ahead = state.quotes.as_of_tolerance_seconds;
    if proration_date < now - window {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "proration_date_expired",
            "proration_date",
            format!(
                "the proration date is more than {window} s before the server's clock ({}): preview the change again",
                rfc3339(now)
            ),
        ));
    }
    if proration_date > now + ahead {
        return Err(ApiError::invalid(
            "proration_date",
            format!(
                "the proration date must not be more than {ahead} s after the server's clock ({})",
                rfc3339(now)
            ),
        ));
    }
    if proration_date >= doc.current_period_end {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "renewal_pending",
            "proration_date",
            format!(
                "the current period ended at {}; its renewal must be issued before a change",
                rfc3339(doc.current_period_end)
            ),
        ));
    }
    if proration_date < doc.current_period_start {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "proration_date_outside_period",
            "proration_date",
            format!(
                "the proration date is before the current period, which started at {} (the subscription renewed since): preview the change again",
                rfc3339(doc.current_period_start)
            ),
        ));
    }
    Ok(())
}

/// What the subscription's items become after `change.items` (Stripe's semantics, as the
/// engine applies them: `id` modifies or deletes, no `id` adds; a new price keeps the quantity
/// unless one is given).
pub(super) fn apply_items(
    items: &[ItemDoc],
    change: &[Value],
    key: &str,
    now: i64,
) -> ApiResult<Vec<ItemDoc>> {
    let mut out: Vec<Option<ItemDoc>> = items.iter().cloned().map(Some).collect();
    for (j, entry) in change.iter().enumerate() {
        let id = entry.get("id").and_then(Value::as_str);
        let price = entry.get("price").and_then(Value::as_str);
        let quantity = entry.get("quantity").and_then(Value::as_i64);
        let deleted = entry.get("deleted").and_then(Value::as_bool) == Some(true);
        match id {
            Some(id) => {
                let slot = out
                    .iter_mut()
                    .find(|s| s.as_ref().is_some_and(|i| i.id == id))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            format!("items[{j}].id"),
                            "no item of the subscription has this id",
                        )
                    })?;
                if deleted {
                    *slot = None;
                } else if let Some(item) = slot {
                    if let Some(p) = price {
                        item.price = p.to_string();
                    }
                    if let Some(q) = quantity {
                        item.quantity = q;
                    }
                }
            }
            None => out.push(Some(ItemDoc {
                id: new_id("si", &format!("{key}:{j}"), now),
                price: price.unwrap_or_default().to_string(),
                quantity: quantity.unwrap_or(1),
            })),
        }
    }
    let items: Vec<ItemDoc> = out.into_iter().flatten().collect();
    if items.is_empty() {
        return Err(ApiError::invalid(
            "items",
            "a subscription keeps at least one item: cancel it instead",
        ));
    }
    let mut seen = BTreeSet::new();
    for i in &items {
        if !seen.insert(i.price.as_str()) {
            return Err(ApiError::invalid(
                "items",
                "two items would have the same price; change one item's quantity instead",
            ));
        }
    }
    Ok(items)
}

/// What the commit of a change or a cancellation does once it is checked.
pub(super) enum Commit {
    Change(ChangeInput),
    CancelNow {
        prorate: bool,
    },
    /// Nothing billed now: `cancel_at_period_end` set or undone, the payment method changed.
    Settings {
        cancel_at_period_end: Option<bool>,
    },
}

pub async fn update(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    id: String,
    headers: HeaderMap,
    access: Access,
) -> Response {
    let key = match ledger::idempotency_key(&ctx, &headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    spawned(async move { run_commit(&state, &ctx, &id, &key, access, UPDATE_SCOPE).await }).await
}

pub async fn cancel(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    id: String,
    headers: HeaderMap,
    access: Access,
) -> Response {
    let key = match ledger::idempotency_key(&ctx, &headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    spawned(async move { run_commit(&state, &ctx, &id, &key, access, CANCEL_SCOPE).await }).await
}

pub(super) struct CommitInput {
    pub(super) what: Commit,
    pub(super) proration_date: Option<i64>,
    pub(super) confirmation: Option<Confirmation>,
    pub(super) payment_method: Option<String>,
}

pub(super) fn parse_commit(o: &Map<String, Value>, scope: &str) -> ApiResult<CommitInput> {
    if scope == CANCEL_SCOPE {
        only_fields(
            o,
            &[
                "at_period_end",
                "prorate",
                "proration_date",
                "preview",
                "expected_invoice",
            ],
            "",
        )?;
        let at_period_end = bool_at(o, "at_period_end", "")?.unwrap_or(false);
        let what = if at_period_end {
            Commit::Settings {
                cancel_at_period_end: Some(true),
            }
        } else {
            Commit::CancelNow {
                prorate: bool_at(o, "prorate", "")?.unwrap_or(true),
            }
        };
        return Ok(CommitInput {
            what,
            proration_date: instant_at(o, "proration_date")?,
            confirmation: parse_confirmation(o, false)?,
            payment_method: None,
        });
    }
    let mut allowed: Vec<&str> = CHANGE_FIELDS.to_vec();
    allowed.extend_from_slice(&["preview", "expected_invoice", "payment_method"]);
    only_fields(o, &allowed, "")?;
    let change = parse_change(o)?;
    let payment_method = string_at(o, "payment_method", "", 255)?;
    // Scheduling or undoing the end of the period, or a new payment method, needs no preview:
    // nothing is billed.
    if change.items.is_empty()
        && change.billing_cycle_anchor.is_none()
        && change.proration_behavior.is_none()
        && change.proration_date.is_none()
        && !o.contains_key("preview")
        && !o.contains_key("expected_invoice")
        && (change.cancel_at_period_end.is_some() || payment_method.is_some())
    {
        return Ok(CommitInput {
            what: Commit::Settings {
                cancel_at_period_end: change.cancel_at_period_end,
            },
            proration_date: None,
            confirmation: None,
            payment_method,
        });
    }
    let proration_date = change.proration_date.ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "proration_date",
            "proration_date is required: commit with the proration_date the customer's preview was computed at",
        )
    })?;
    Ok(CommitInput {
        confirmation: parse_confirmation(o, true)?,
        what: Commit::Change(change),
        proration_date: Some(proration_date),
        payment_method,
    })
}

pub(super) async fn run_commit(
    state: &Shared,
    ctx: &Ctx,
    id: &str,
    key: &str,
    access: Access,
    scope: &'static str,
) -> ApiResult<Response> {
    let fallback = empty_body();
    let o = match &ctx.body {
        None => &fallback,
        Some(_) => body(ctx)?,
    };
    let mut fingerprint_body = o.clone();
    fingerprint_body.insert("subscription".into(), json!(id));
    let fingerprint = canonical::digest(&Value::Object(fingerprint_body));
    let input = parse_commit(o, scope);
    let now = state.clock.now();
    let mut tx = match payment_step::claim(state, scope, key, &fingerprint, now).await? {
        Claimed::New(tx) => tx,
        Claimed::Answered(r) => return Ok(r),
        // An earlier request with this key is waiting for its payment's outcome.
        Claimed::Unfinished => return pay::resume(state, scope, key).await,
    };
    let input = match input {
        Ok(i) => i,
        Err(e) => return abort(tx, e).await,
    };
    let mut payment = Payment::probe(now);
    match commit_in(
        state,
        tx.as_mut(),
        id,
        input,
        key,
        now,
        access,
        &mut payment,
        None,
    )
    .await
    {
        Ok(response) => {
            let text = response.to_string();
            let written = async {
                // Events (crate::dunning): customer.subscription.updated/deleted, an invoice
                // issued.
                crate::dunning::after_api_write(state, tx.as_mut(), false, &response, now).await?;
                pay::record_render(tx.as_mut(), scope, key, &mut payment, "", now).await?;
                tx.finish_key(scope, key, 200, &text)
                    .await
                    .map_err(store_error)
            }
            .await;
            if let Err(e) = written {
                return abort(tx, e).await;
            }
            tx.commit().await.map_err(store_error)?;
            pay::render(state, &mut payment);
            Ok(json_response(StatusCode::OK, text))
        }
        // Billed now: the payment in recorded steps.
        Err(IssueError::NeedsPayment(needs)) => {
            let plan = pay::Plan {
                subscription: Some(id.to_string()),
                body: Value::Object(o.clone()),
                now,
                balance: payment.balance.unwrap_or(0),
                demo: access == Access::Demo,
                ..pay::Plan::default()
            };
            pay::pay(state, tx, scope, key, &needs, &plan, now).await
        }
        Err(e) => abort_issue(state, tx, e, scope, key, &fingerprint, now).await,
    }
}

/// Compares what the client confirmed with what the server computes now.
pub(super) async fn confirm(
    tx: &mut dyn Tx,
    confirmation: Option<&Confirmation>,
    doc: &SubscriptionDoc,
    proration_date: i64,
    request: &str,
    value: &Value,
    now: i64,
) -> Result<ChangeRecord, IssueError> {
    let digest = canonical::digest(value);
    match confirmation {
        Some(Confirmation::Preview(pid)) => {
            let record = tx
                .lock_change(pid)
                .await
                .map_err(store_error)?
                .filter(|r| r.subscription_id == doc.id)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        "unknown_preview",
                        "preview",
                        "no preview with this id for this subscription",
                    )
                })?;
            if record.status != "previewed" {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_already_committed",
                    "preview",
                    "this preview was already committed",
                )
                .into());
            }
            if record.proration_date != proration_date {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_mismatch",
                    "proration_date",
                    format!(
                        "the preview was computed at proration_date {}; commit with the same one",
                        record.proration_date
                    ),
                )
                .into());
            }
            if record.request != request {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_mismatch",
                    "items",
                    "the change differs from the one previewed",
                )
                .into());
            }
            if record.preview_digest != digest {
                let shown: Value = serde_json::from_str(&record.preview).unwrap_or(Value::Null);
                let differences = pricing::differences(&shown, value);
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_stale",
                    "preview",
                    "the invoice computed now differs from the preview (the catalog, the subscription or the balance changed): nothing was changed; preview again",
                )
                .with("differences", json!(differences))
                .into());
            }
            Ok(record)
        }
        Some(Confirmation::Expected(expected)) => {
            let differences = pricing::differences(expected, value);
            if !differences.is_empty() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_mismatch",
                    "expected_invoice",
                    "the invoice the server computes differs from the one the customer was shown: nothing was changed",
                )
                .with("differences", json!(differences))
                .into());
            }
            Ok(ChangeRecord {
                id: new_id("scp", &doc.id, now),
                subscription_id: doc.id.clone(),
                proration_date,
                preview_digest: canonical::digest(expected),
                invoice_id: None,
                created_at: now,
                request: request.to_string(),
                preview: expected.to_string(),
                status: "new".into(),
                committed_at: None,
            })
        }
        None => Ok(ChangeRecord {
            id: new_id("scp", &doc.id, now),
            subscription_id: doc.id.clone(),
            proration_date,
            preview_digest: digest,
            invoice_id: None,
            created_at: now,
            request: request.to_string(),
            preview: String::new(),
            status: "new".into(),
            committed_at: None,
        }),
    }
}

pub(super) async fn commit_in(
    state: &AppState,
    tx: &mut dyn Tx,
    id: &str,
    input: CommitInput,
    key: &str,
    now: i64,
    access: Access,
    payment: &mut Payment,
    intent: Option<&str>,
) -> Result<Value, IssueError> {
    let record = tx
        .lock_subscription(id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    let mut doc = read_doc(&record)?;
    visible(&doc, access)?;
    // Nothing else writes a subscription while a payment on it is being confirmed; the
    // payment's own second pass clears the mark.
    if doc.pending_payment.as_deref() != intent {
        return Err(pay::payment_pending().into());
    }
    doc.pending_payment = None;
    if !doc.bills() {
        return Err(canceled().into());
    }
    if let Some(pm) = &input.payment_method {
        doc.default_payment_method = Some(pm.clone());
    }
    let change = match input.what {
        Commit::Settings {
            cancel_at_period_end,
        } => {
            if let Some(at_end) = cancel_at_period_end {
                doc.cancel_at_period_end = at_end;
            }
            tx.update_subscription(&doc.record(now)?)
                .await
                .map_err(store_error)?;
            let balance = tx
                .lock_balance(&doc.customer.id, &doc.currency)
                .await
                .map_err(store_error)?;
            let mut out = view(state, &doc, balance, now);
            out["upcoming_invoice"] =
                upcoming_value(state, &doc, balance, now).unwrap_or(Value::Null);
            return Ok(out);
        }
        // The engine's default behaviour prorates; `{cancel: true}` previews this very change.
        Commit::CancelNow { prorate } => ChangeInput {
            proration_behavior: (!prorate).then(|| "none".to_string()),
            cancel: true,
            ..ChangeInput::default()
        },
        Commit::Change(c) => c,
    };
    let proration_date = input.proration_date.unwrap_or(now);
    check_proration_date(state, &doc, proration_date, now)?;
    let balance = payment.balance(tx, &doc.customer.id, &doc.currency).await?;
    let mut engine = engine_input(&doc, balance);
    engine["as_of"] = json!(proration_date);
    engine["change"] = change.engine(proration_date);
    let (invoice, value) = compute(state, &engine)?;
    payment.engine = Some(engine);
    let request = canonical::canonical(&change.canonical());
    let mut change_record = confirm(
        tx,
        input.confirmation.as_ref(),
        &doc,
        proration_date,
        &request,
        &value,
        now,
    )
    .await?;

    let new_items = if change.cancel {
        doc.items.clone()
    } else {
        apply_items(&doc.items, &change.items, key, now)?
    };
    let issued_now = invoice.billing_reason == BillingReason::SubscriptionUpdate;
    let mut issued = None;
    if issued_now {
        // Billed at the proration date: always_invoice, an anchor reset or an interval change,
        // a cancellation. A final invoice with nothing on it is not issued.
        let empty = invoice.quote.lines.is_empty();
        if !empty {
            let i = issue(
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
            doc.latest_invoice = Some(i.id.clone());
            issued = Some(i);
        }
        doc.pending_invoice_items = Vec::new();
        let s = invoice.subscription;
        doc.billing_cycle_anchor = s.billing_cycle_anchor;
        doc.current_period_start = s.current_period_start;
        doc.current_period_end = s.current_period_end;
        if change.cancel {
            doc.status = "canceled".into();
            doc.canceled_at = Some(proration_date);
            doc.cancel_at_period_end = false;
        } else if doc.status != "past_due" {
            doc.status = state_name(s.status).into();
        }
    } else {
        // Prorations wait for the next invoice, ahead of older pending items (the order the
        // preview listed them in).
        let mut pending = pending_from(state, &value);
        pending.append(&mut doc.pending_invoice_items);
        doc.pending_invoice_items = pending;
    }
    doc.items = new_items;
    if let Some(x) = change.cancel_at_period_end {
        doc.cancel_at_period_end = x;
    }
    tx.update_subscription(&doc.record(now)?)
        .await
        .map_err(store_error)?;
    tx.set_subscription_items(&doc.id, &doc.items_rows())
        .await
        .map_err(store_error)?;
    let invoice_id = issued.as_ref().map(|i| i.id.clone());
    if change_record.status == "previewed" {
        tx.commit_change(&change_record.id, invoice_id.as_deref(), now)
            .await
            .map_err(store_error)?;
    } else {
        change_record.status = "committed".into();
        change_record.invoice_id = invoice_id;
        change_record.committed_at = Some(now);
        tx.insert_change(&change_record)
            .await
            .map_err(store_error)?;
    }
    let balance_after = if issued.is_some() {
        invoice.ending_balance
    } else {
        balance
    };
    let mut out = view(state, &doc, balance_after, now);
    out["change"] = json!({
        "id": change_record.id,
        "proration_date": proration_date,
        "invoice": value,
        "invoice_issued": issued.as_ref().map(|i| i.link(state, &invoice)),
    });
    if let Some(i) = &issued {
        out["latest_invoice"] = i.link(state, &invoice);
    }
    Ok(out)
}

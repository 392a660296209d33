//! Credit notes (avoirs) and refunds: `POST /v1/credit_notes {invoice, lines? | amount?,
//! reason?, memo?}` (Stripe's CreditNote) and `POST /v1/refunds {charge, amount?, reason?}`
//! (Stripe's Refund), both with an `Idempotency-Key`. Either one issues a credit note for a
//! paid invoice and gives the money back through the payment gateway.
//!
//! In order, in recorded steps (crate::payment_step; the gateway is never called inside a
//! transaction):
//! 1. claim the `Idempotency-Key` (a replay returns the stored response; a replay while the
//!    refund's outcome is unknown asks the gateway again);
//! 2. lock the invoice's credit row (one upsert: concurrent credit notes on one invoice queue
//!    behind each other) and read the earlier credit notes;
//! 3. compute the credit note with the engine (`billcalc::credit_note`) on the invoice as issued
//!    (its stored engine output, [`billcalc::einvoice::IssuedInvoice`]), with what was paid and
//!    what earlier notes gave back per line: never more than was paid (`invalid_credit_note`);
//! 4. record the refund's payment intent (`refunds` scope; a concurrent note on the same
//!    invoice answers 409 `refund_pending` until its outcome is recorded), commit; refund
//!    `amount_payable` (the total, cash-rounded like the invoice's) to the invoice's card payment
//!    through the gateway, the intent id as its idempotency key (asking again — a replay, the
//!    recovery after a crash — gets the same refund, never a second one);
//! 5. in a second transaction, conditional on the intent still being `processing`: compute the
//!    note again (same instant, same earlier notes), take the next number of the credit notes'
//!    own gapless series (`{credit_note_prefix}-{year}-{000001}`, `AV-2026-000001`), store it,
//!    commit, answer; then the background renderer (crate::payment_step, the charges' one)
//!    renders the EN 16931 credit note (type 381, BG-3 naming the invoice: BT-25 number,
//!    BT-26 date) as Factur-X PDF, CII and UBL once, with no transaction open, and stores it
//!    with each file's SHA-256. A read of the note before that waits for it or renders it.
//!
//! Served at `GET /v1/credit_notes/{id}` (JSON) and `{id}.pdf | .cii.xml | .ubl.xml` (or
//! `Accept: application/pdf | application/xml`), like invoices; `GET
//! /v1/credit_notes?invoice=ID` lists an invoice's notes. Every amount is the engine's.

use crate::canonical;
use crate::einvoice::{self, CreditNoteIssue, StoredEinvoice};
use crate::error::{json_response, ApiError, ApiResult};
use crate::gateway::GatewayRefund;
use crate::invoice::InvoiceDocument;
use crate::ledger::{abort, new_id, store_error};
use crate::payment_step::{self, Claimed};
use crate::pricing::only_fields;
use crate::state::{AppState, Shared};
use crate::store::{IntentRecord, InvoiceRecord, SqlValue, Tx};
use axum::http::StatusCode;
use axum::response::Response;
use billcalc::einvoice::IssuedInvoice;
use billcalc::subscription::credit_note::{CreditNote, CreditNoteInput};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const SCOPE: &str = "credit_notes";

/// Stripe's credit-note reasons.
const CREDIT_NOTE_REASONS: &[&str] = &[
    "duplicate",
    "fraudulent",
    "order_change",
    "product_unsatisfactory",
];
/// Stripe's refund reasons.
const REFUND_REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer"];

/// The stored credit note: immutable once issued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreditNoteDocument {
    pub id: String,
    pub object: String,
    pub number: String,
    pub series: String,
    pub status: String,
    pub created: i64,
    pub issue_date: String,
    /// The invoice credited: its id, number (BT-25) and issue date (BT-26).
    pub invoice: String,
    pub invoice_number: String,
    pub invoice_issue_date: String,
    pub currency: String,
    pub customer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// The engine's lines: which invoice line (`line`, 0-based), tax included, net, taxes.
    pub lines: Vec<CreditedLine>,
    pub subtotal: i64,
    pub total: i64,
    pub total_taxes: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounding_amount: Option<i64>,
    /// Given back through the gateway (`total + rounding_amount`).
    pub amount: i64,
    pub refund: Option<RefundInfo>,
    /// The engine's credit note as computed at issue.
    pub engine: Value,
    pub engine_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub einvoice: Option<StoredEinvoice>,
}

/// One line of the engine's credit note as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreditedLine {
    /// The invoice line (0-based).
    pub line: usize,
    /// Given back, tax included.
    pub amount: i64,
    pub amount_excluding_tax: i64,
    /// `[{rate, amount}]`, rate labels as `billcalc::einvoice::rate_label` writes them.
    pub taxes: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundInfo {
    pub id: String,
    pub charge: String,
    pub amount: i64,
    pub status: String,
}

/// What to credit, checked: the invoice, and the engine's `lines` / `amount` / `reason`.
pub struct Request {
    pub invoice: String,
    pub lines: Option<Value>,
    pub amount: Option<i64>,
    pub reason: Option<String>,
    pub memo: Option<String>,
}

fn text(o: &Map<String, Value>, key: &str, max: usize) -> ApiResult<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ApiError::invalid(key, format!("at most {max} characters"))),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            key,
            "expected a string",
        )),
    }
}

fn amount(o: &Map<String, Value>) -> ApiResult<Option<i64>> {
    match o.get("amount") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().filter(|a| *a > 0).map(Some).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_amount",
                "amount",
                "amount must be a positive integer in minor units",
            )
        }),
    }
}

fn reason(o: &Map<String, Value>, allowed: &[&str]) -> ApiResult<Option<String>> {
    let r = text(o, "reason", 64)?;
    if let Some(r) = &r {
        if !allowed.contains(&r.as_str()) {
            return Err(ApiError::invalid(
                "reason",
                format!("reason must be one of {}", allowed.join(", ")),
            ));
        }
    }
    Ok(r)
}

/// `POST /v1/credit_notes` body: `{invoice, lines?: [{line, amount? | quantity?}], amount?,
/// reason?, memo?}`; `lines` (0-based invoice line indexes, Stripe's invoice line items) or
/// `amount` (tax included, spread over the lines), neither: everything left.
pub fn parse_credit_note(body: &Value) -> ApiResult<Request> {
    let Value::Object(o) = body else {
        return Err(ApiError::bad_request(
            "invalid_type",
            "",
            "the body must be a JSON object",
        ));
    };
    only_fields(o, &["invoice", "lines", "amount", "reason", "memo"], "")?;
    let invoice = text(o, "invoice", 255)?.ok_or_else(|| {
        ApiError::bad_request("missing_field", "invoice", "invoice (its id) is required")
    })?;
    Ok(Request {
        invoice,
        lines: o.get("lines").filter(|v| !v.is_null()).cloned(),
        amount: amount(o)?,
        reason: reason(o, CREDIT_NOTE_REASONS)?,
        memo: text(o, "memo", 1000)?,
    })
}

/// `POST /v1/refunds` body: `{charge, amount?, reason?}` (`payment_intent` is accepted as a
/// synonym of `charge`). The invoice is the one the charge paid.
pub fn parse_refund(body: &Value) -> ApiResult<(String, Option<i64>, Option<String>)> {
    let Value::Object(o) = body else {
        return Err(ApiError::bad_request(
            "invalid_type",
            "",
            "the body must be a JSON object",
        ));
    };
    only_fields(o, &["charge", "payment_intent", "amount", "reason"], "")?;
    let charge = match (text(o, "charge", 255)?, text(o, "payment_intent", 255)?) {
        (Some(c), None) | (None, Some(c)) => c,
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "payment_intent",
                "give charge or payment_intent, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing_field",
                "charge",
                "charge (the id of the charge to refund) is required",
            ))
        }
    };
    Ok((charge, amount(o)?, reason(o, REFUND_REASONS)?))
}

/// The invoice a gateway charge paid.
pub async fn invoice_of_charge(state: &AppState, charge: &str) -> ApiResult<String> {
    let rows = state
        .store
        .query(
            "SELECT invoice_id FROM payments WHERE id = $1 AND status = 'succeeded'",
            vec![charge.into()],
        )
        .await
        .map_err(store_error)?;
    rows.first()
        .and_then(|r| r.first())
        .and_then(SqlValue::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::not_found(format!("No such charge: '{charge}'")))
}

/// What finishing a refund needs, stored with its intent (crate::payment_step).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RefundPlan {
    /// The request's body and which answer it gets (`credit_note` or `refund`).
    body: Value,
    respond: String,
    /// The instant the credit note was computed at (tx 1's clock).
    now: i64,
    reason: Option<String>,
}

fn responder(name: &str) -> fn(&CreditNoteDocument) -> Value {
    if name == "refund" {
        refund_view
    } else {
        view
    }
}

/// The `POST` flow; `respond` shapes the answer (the credit note, or Stripe's refund object).
///
/// In recorded steps (crate::payment_step): tx 1 claims the key, computes the credit note
/// under the invoice's credit row and records the refund's intent (`refunds` scope, the intent
/// id as the gateway's idempotency key); the gateway refunds with no transaction open; tx 2
/// computes the same note again, numbers and stores it, conditional on the intent still being
/// `processing`; its e-invoice is rendered after that commit.
pub async fn issue(
    state: &Shared,
    body: &Value,
    key: &str,
    request: ApiResult<Request>,
    _respond: fn(&CreditNoteDocument) -> Value,
) -> ApiResult<Response> {
    let fingerprint = canonical::digest(body);
    let now = state.clock.now();
    // The invoice as issued, read before the transaction (it is immutable; SQLite's one
    // connection belongs to the transaction once it begins).
    let loaded = match &request {
        Ok(r) => Some(load_invoice(state, &r.invoice).await),
        Err(_) => None,
    };
    let mut tx = match payment_step::claim(state, SCOPE, key, &fingerprint, now).await? {
        Claimed::New(tx) => tx,
        Claimed::Answered(r) => return Ok(r),
        // An earlier request with this key is waiting for its refund's outcome.
        Claimed::Unfinished => {
            return match payment_step::by_key(state, payment_step::REFUND_SCOPE, key).await? {
                Some(intent) if intent.status == "processing" => resolve(state, &intent).await,
                _ => stored(state, key).await,
            }
        }
    };
    let (request, invoice) = match (request, loaded) {
        (Ok(r), Some(Ok(invoice))) => (r, invoice),
        (Err(e), _) | (_, Some(Err(e))) => return abort(tx, e).await,
        (Ok(_), None) => return abort(tx, ApiError::internal("invoice not loaded")).await,
    };
    let needs = match credit(
        state,
        tx.as_mut(),
        &request,
        &invoice,
        key,
        now,
        None,
        None,
        None,
    )
    .await
    {
        Ok(Credited::Needs(n)) => n,
        Ok(Credited::Issued(..) | Credited::Computed(_)) => {
            return abort(tx, ApiError::internal("a credit note without its refund")).await
        }
        Err(e) => return abort(tx, e).await,
    };
    let plan = RefundPlan {
        body: body.clone(),
        // A credit note's body names the invoice; a refund's the charge (each route refuses
        // the other's fields).
        respond: if body.get("invoice").is_some() {
            "credit_note".into()
        } else {
            "refund".into()
        },
        now,
        reason: request.reason.clone(),
    };
    let mut intent = payment_step::new_intent(
        payment_step::REFUND_SCOPE,
        key,
        needs.amount,
        &needs.currency,
        &needs.charge,
        &json!(plan),
        now,
    );
    // The invoice credited: concurrent notes on it wait for this refund's outcome.
    intent.invoice_id = Some(request.invoice.clone());
    if let Err(e) = payment_step::record(tx.as_mut(), &intent).await {
        return abort(tx, store_error(e)).await;
    }
    tx.commit().await.map_err(store_error)?;
    resolve(state, &intent).await
}

/// The gateway asked (again) about a refund's intent, and the outcome recorded.
pub async fn resolve(state: &Shared, intent: &IntentRecord) -> ApiResult<Response> {
    let plan: RefundPlan = serde_json::from_str(&intent.plan)
        .map_err(|e| ApiError::internal(format!("intent {}: bad plan: {e}", intent.id)))?;
    let outcome = payment_step::refund(state, intent, plan.reason.clone()).await?;
    let now = state.clock.now();
    let key = intent.key.as_str();
    let request = parse_credit_note_or_refund(state, &plan).await?;
    let loaded = load_invoice(state, &request.invoice).await?;
    let mut tx = state.store.begin().await.map_err(store_error)?;
    match payment_step::take(tx.as_mut(), &intent.id, now).await {
        Ok(true) => {}
        Ok(false) => {
            let _ = tx.rollback().await;
            return stored(state, key).await;
        }
        Err(e) => return abort(tx, store_error(e)).await,
    }
    let refund = match outcome {
        payment_step::RefundOutcome::Refunded(r) => r,
        payment_step::RefundOutcome::Refused(e) => {
            // As before the steps: a refused refund is not stored (the client may retry).
            let r = async {
                tx.exec(
                    "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2",
                    vec![SCOPE.into(), key.into()],
                )
                .await
                .map_err(store_error)?;
                payment_step::settle(tx.as_mut(), &intent.id, "canceled", None, None, None, now)
                    .await
                    .map_err(store_error)
            }
            .await;
            if let Err(e) = r {
                return abort(tx, e).await;
            }
            tx.commit().await.map_err(store_error)?;
            return Err(e);
        }
    };
    let issued = credit(
        state,
        tx.as_mut(),
        &request,
        &loaded,
        key,
        plan.now,
        Some(&refund),
        Some(&intent.id),
        None,
    )
    .await;
    let (doc, note) = match issued {
        Ok(Credited::Issued(doc, note)) => (doc, note),
        Ok(Credited::Needs(_) | Credited::Computed(_)) => {
            return abort(tx, ApiError::internal("the refund was asked for twice")).await
        }
        Err(e) => {
            crate::log::error(
                "refund not recorded",
                json!({"intent": intent.id, "error": e.body()["error"]}),
            );
            return abort(tx, e).await;
        }
    };
    let response = responder(&plan.respond)(&doc).to_string();
    let r = async {
        tx.finish_key(SCOPE, key, 200, &response)
            .await
            .map_err(store_error)?;
        // `invoice_id` names the credit note: its e-invoice is pending until stored.
        payment_step::settle(
            tx.as_mut(),
            &intent.id,
            "succeeded",
            Some(&doc.id),
            Some(&refund.id),
            None,
            now,
        )
        .await
        .map_err(store_error)
    }
    .await;
    if let Err(e) = r {
        return abort(tx, e).await;
    }
    tx.commit().await.map_err(store_error)?;
    // The credit note is committed (numbered, immutable): the answer now; its e-invoice in
    // the background renderer, which a reader of the note waits for
    // (crate::payment_step::ensure_einvoice).
    let intent_id = intent.id.clone();
    crate::render_queue::in_background(state, intent_id.clone(), move |state| async move {
        render_and_store(&state, loaded, *doc, note, &intent_id, None).await;
    });
    Ok(json_response(StatusCode::OK, response))
}

/// A credit note whose e-invoice a crash left unrendered (its intent `einvoice_pending`): the
/// note is computed again from the notes before it and rendered, then stored.
pub async fn recover_einvoice(state: &Shared, intent: &IntentRecord) -> ApiResult<()> {
    let plan: RefundPlan = serde_json::from_str(&intent.plan)
        .map_err(|e| ApiError::internal(format!("intent {}: bad plan: {e}", intent.id)))?;
    let id = intent.invoice_id.clone().unwrap_or_default();
    let rows = state
        .store
        .query(
            "SELECT document, number FROM credit_notes WHERE id = $1",
            vec![id.as_str().into()],
        )
        .await
        .map_err(store_error)?;
    let Some(row) = rows.first() else {
        return Ok(());
    };
    let stored = row.first().map(SqlValue::text).unwrap_or_default();
    let number = row.get(1).and_then(SqlValue::as_i64).unwrap_or(0);
    let doc: CreditNoteDocument = serde_json::from_str(&stored)
        .map_err(|e| ApiError::internal(format!("stored credit note: {e}")))?;
    if doc.einvoice.is_some() {
        state
            .store
            .exec(
                "UPDATE payment_intents SET einvoice_pending = 0 WHERE id = $1",
                vec![intent.id.as_str().into()],
            )
            .await
            .map_err(store_error)?;
        return Ok(());
    }
    let request = parse_credit_note_or_refund(state, &plan).await?;
    let loaded = load_invoice(state, &request.invoice).await?;
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let computed = credit(
        state,
        tx.as_mut(),
        &request,
        &loaded,
        &intent.key,
        plan.now,
        None,
        None,
        Some(number),
    )
    .await;
    let _ = tx.rollback().await;
    let Credited::Computed(note) = computed? else {
        return Err(ApiError::internal("the credit note was not computed again"));
    };
    render_and_store(state, loaded, doc, note, &intent.id, Some(stored)).await;
    Ok(())
}

async fn parse_credit_note_or_refund(state: &AppState, plan: &RefundPlan) -> ApiResult<Request> {
    if plan.respond == "refund" {
        let (charge, amount, reason) = parse_refund(&plan.body)?;
        let invoice = invoice_of_charge(state, &charge).await?;
        Ok(Request {
            invoice,
            lines: None,
            amount,
            reason,
            memo: None,
        })
    } else {
        parse_credit_note(&plan.body)
    }
}

/// What is stored under the key (the refund was recorded by someone else).
async fn stored(state: &AppState, key: &str) -> ApiResult<Response> {
    let missing = ApiError::new(
        StatusCode::CONFLICT,
        "refund_failed",
        "",
        "the refund was refused by the payment gateway; nothing was refunded",
    );
    crate::ledger::answer_stored(state, SCOPE, key, missing).await
}

/// Renders the credit note's e-invoice on the blocking pool (no transaction open) and stores
/// it over the document as stored (`stored`, or `doc` as committed), clearing the intent's
/// `einvoice_pending`. A failure to render leaves the note without one, logged, as a failed
/// rendering always did. The answer stored under the key is left as it was answered.
async fn render_and_store(
    state: &Shared,
    loaded: LoadedInvoice,
    doc: CreditNoteDocument,
    note: CreditNote,
    intent_id: &str,
    stored: Option<String>,
) {
    // The document exactly as stored: the e-invoice is stored only over it.
    let Some(before) = stored.or_else(|| serde_json::to_string(&doc).ok()) else {
        return;
    };
    let rendered = tokio::task::spawn_blocking(move || {
        let mut doc = doc;
        let e = einvoice::render_credit_note(
            &loaded.document,
            &loaded.issued,
            &note,
            &CreditNoteIssue {
                id: &doc.id,
                number: &doc.number,
                issue_date: &doc.issue_date,
                refunded: doc.refund.as_ref().map_or(0, |r| r.amount),
            },
        );
        let failed = e.as_ref().err().cloned();
        doc.einvoice = e.ok();
        (doc, failed)
    })
    .await;
    let doc = match rendered {
        Ok((doc, None)) => doc,
        Ok((doc, Some(why))) => {
            crate::log::error(
                "no e-invoice for a credit note",
                json!({"credit_note": doc.number, "error": why}),
            );
            doc
        }
        Err(e) => {
            crate::log::error(
                "credit note e-invoice: rendering failed",
                json!({"intent": intent_id, "error": e.to_string()}),
            );
            return;
        }
    };
    let Ok(after) = serde_json::to_string(&doc) else {
        return;
    };
    let stored = async {
        let mut tx = state.store.begin().await?;
        let n = tx
            .exec(
                "UPDATE credit_notes SET document = $2 WHERE id = $1 AND document = $3",
                vec![doc.id.as_str().into(), after.into(), before.into()],
            )
            .await?;
        if n == 1 {
            tx.exec(
                "UPDATE payment_intents SET einvoice_pending = 0 WHERE id = $1",
                vec![intent_id.into()],
            )
            .await?;
        }
        tx.commit().await.map(|_| n == 1)
    }
    .await;
    match stored {
        Ok(true) if doc.einvoice.is_some() => state.metrics.einvoices_rendered.inc(),
        Ok(_) => {}
        Err(e) => crate::log::error(
            "credit note e-invoice not stored",
            json!({"credit_note": doc.number, "error": e.to_string()}),
        ),
    }
}

/// What computing a credit note gave: the refund to ask for (first pass), or the note issued
/// (second pass) with the engine's note for its e-invoice.
enum Credited {
    Needs(NeedsRefund),
    Issued(Box<CreditNoteDocument>, CreditNote),
    /// An issued note computed again (its e-invoice after a crash).
    Computed(CreditNote),
}

struct NeedsRefund {
    amount: i64,
    charge: String,
    currency: String,
}

/// An issued invoice: its row, its document, and the engine's result as issued.
pub struct LoadedInvoice {
    record: InvoiceRecord,
    document: InvoiceDocument,
    issued: IssuedInvoice,
}

async fn load_invoice(state: &AppState, id: &str) -> ApiResult<LoadedInvoice> {
    let record = state
        .store
        .invoice(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found(format!("No such invoice: '{id}'")))?;
    let document: InvoiceDocument = serde_json::from_str(&record.document)
        .map_err(|e| ApiError::internal(format!("stored invoice does not read back: {e}")))?;
    let issued = IssuedInvoice::from_value(&document.quote)
        .map_err(|e| ApiError::internal(format!("stored invoice: {e}")))?;
    Ok(LoadedInvoice {
        record,
        document,
        issued,
    })
}

/// Steps 2–5 inside the caller's transaction: without `refunded` (the first pass) it stops at
/// the refund to ask for; with the gateway's refund it numbers and writes the note.
#[allow(clippy::too_many_arguments)]
async fn credit(
    state: &AppState,
    tx: &mut dyn Tx,
    request: &Request,
    loaded: &LoadedInvoice,
    key: &str,
    now: i64,
    refunded: Option<&GatewayRefund>,
    intent: Option<&str>,
    recompute_before: Option<i64>,
) -> ApiResult<Credited> {
    let (record, invoice, issued) = (&loaded.record, &loaded.document, &loaded.issued);

    // 2. the invoice's credit row, locked until commit; then the earlier notes.
    tx.exec(
        "INSERT INTO invoice_credits (invoice_id, credit_notes) VALUES ($1, 0)
         ON CONFLICT (invoice_id) DO UPDATE SET credit_notes = invoice_credits.credit_notes",
        vec![record.id.as_str().into()],
    )
    .await
    .map_err(store_error)?;
    // A refund of this invoice still waiting for the gateway's answer: the notes are computed
    // one after the other.
    let pending = tx
        .query(
            "SELECT id FROM payment_intents WHERE scope = $1 AND invoice_id = $2 AND status = 'processing'",
            vec![payment_step::REFUND_SCOPE.into(), record.id.as_str().into()],
        )
        .await
        .map_err(store_error)?;
    if recompute_before.is_none()
        && pending
            .iter()
            .any(|r| r.first().and_then(SqlValue::as_str) != intent)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refund_pending",
            "invoice",
            "a refund of this invoice is being confirmed with the payment gateway; retry shortly",
        ));
    }
    let earlier = tx
        .query(
            "SELECT document, number FROM credit_notes WHERE invoice_id = $1 ORDER BY number",
            vec![record.id.as_str().into()],
        )
        .await
        .map_err(store_error)?;
    // Computing an issued note again (its e-invoice after a crash): the notes before it only.
    let earlier: Vec<_> = earlier
        .into_iter()
        .filter(|r| recompute_before.is_none_or(|n| r.get(1).and_then(SqlValue::as_i64) < Some(n)))
        .collect();
    // Earlier notes: what they credited of the lines (their totals) and gave back in cash.
    let mut credited_lines_total = 0i64;
    let mut credited_total = 0i64;
    let mut credited_lines = vec![0i64; issued.lines.len()];
    for row in &earlier {
        let note: CreditNoteDocument =
            serde_json::from_str(row.first().and_then(SqlValue::as_str).unwrap_or(""))
                .map_err(|e| ApiError::internal(format!("stored credit note: {e}")))?;
        credited_total += note.amount;
        credited_lines_total += note.total;
        for l in &note.lines {
            if let Some(c) = credited_lines.get_mut(l.line) {
                *c += l.amount;
            }
        }
    }
    let payments = tx
        .query(
            "SELECT id, amount FROM payments WHERE invoice_id = $1 AND status = 'succeeded' ORDER BY created_at, id",
            vec![record.id.as_str().into()],
        )
        .await
        .map_err(store_error)?;
    let paid: i64 = payments
        .iter()
        .filter_map(|r| r.get(1).and_then(SqlValue::as_i64))
        .sum();
    let charge = payments
        .first()
        .and_then(|r| r.first())
        .and_then(SqlValue::as_str)
        .map(str::to_string);

    // 3. the engine's credit note.
    let mut lines = issued.summary();
    for (line, credited) in lines.iter_mut().zip(&credited_lines) {
        line.credited = Some(*credited).filter(|c| *c > 0);
    }
    let requested_lines = match &request.lines {
        Some(v) => Some(
            billcalc::from_value::<Vec<billcalc::subscription::credit_note::CreditLineInput>>(v)
                .map_err(|e| ApiError::engine(e, "lines"))?,
        ),
        None => None,
    };
    let rounding = issued
        .rounding_policy()
        .map_err(|e| ApiError::internal(format!("stored invoice's rounding: {e}")))?;
    let input = CreditNoteInput {
        currency: issued.currency.clone(),
        invoice: billcalc::subscription::credit_note::InvoiceSummary {
            amount_paid: paid,
            rounding_amount: invoice
                .rounding_amount
                .filter(|_| invoice.subscription.is_none()),
            credited: Some(credited_lines_total).filter(|c| *c > 0),
            credited_payable: Some(credited_total)
                .filter(|c| *c > 0 && rounding.is_some_and(|r| r.increment.is_some())),
            lines,
        },
        lines: requested_lines,
        amount: request.amount,
        reason: request.reason.clone(),
        rounding,
    };
    let note: CreditNote = billcalc::credit_note(&input).map_err(|e| {
        let e = ApiError::engine(e, "");
        if e.code == "invalid_credit_note" {
            e.with("amount_paid", json!(paid))
                .with("amount_credited", json!(credited_total))
        } else {
            e
        }
    })?;
    if recompute_before.is_some() {
        return Ok(Credited::Computed(note));
    }
    let amount = note.amount_payable.unwrap_or(note.total);
    if amount <= 0 {
        return Err(ApiError::invalid(
            "amount",
            "nothing to credit: the credit note would give back 0",
        ));
    }
    if amount > paid - credited_total {
        return Err(ApiError::bad_request(
            "invalid_credit_note",
            "amount",
            "a credit note gives back at most what was paid, less earlier credit notes",
        )
        .with("amount_paid", json!(paid))
        .with("amount_credited", json!(credited_total)));
    }

    // 4. the refund: asked for outside the transaction (the first pass stops here).
    let charge = charge.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_credit_note",
            "invoice",
            "this invoice has no card payment to refund",
        )
    })?;
    let Some(refund) = refunded else {
        return Ok(Credited::Needs(NeedsRefund {
            amount,
            charge,
            currency: issued.currency.clone(),
        }));
    };
    if refund.amount != amount {
        return Err(ApiError::internal(format!(
            "the credit note computed again gives back {amount}, the gateway refunded {}",
            refund.amount
        )));
    }

    // 5. number (taken last, held until commit: gapless), document, e-invoice.
    let series = format!(
        "{}-{}",
        state.invoice.credit_note_prefix,
        crate::clock::year(now)
    );
    let number = tx.next_number(&series).await.map_err(store_error)?;
    let number_display = format!("{series}-{number:06}");
    let id = new_id("cn", key, now);
    let issue_date = crate::clock::date(now);
    // The e-invoice is rendered after the commit (render_and_store).
    let einvoice = None;
    let doc = CreditNoteDocument {
        id: id.clone(),
        object: "credit_note".into(),
        number: number_display.clone(),
        series: series.clone(),
        status: "issued".into(),
        created: now,
        issue_date,
        invoice: record.id.clone(),
        invoice_number: invoice.number.clone(),
        invoice_issue_date: invoice.issue_date.clone(),
        currency: issued.currency.clone(),
        customer: record.customer_id.clone(),
        reason: request.reason.clone(),
        memo: request.memo.clone(),
        lines: note
            .lines
            .iter()
            .map(|l| CreditedLine {
                line: l.line,
                amount: l.amount,
                amount_excluding_tax: l.amount_excluding_tax,
                taxes: serde_json::to_value(&l.taxes).unwrap_or(Value::Null),
            })
            .collect(),
        subtotal: note.subtotal,
        total: note.total,
        total_taxes: serde_json::to_value(&note.total_taxes).unwrap_or(Value::Null),
        rounding_amount: note.rounding_amount,
        amount,
        refund: Some(RefundInfo {
            id: refund.id.clone(),
            charge: refund.charge.clone(),
            amount: refund.amount,
            status: "succeeded".into(),
        }),
        engine: serde_json::to_value(&note).unwrap_or(Value::Null),
        engine_version: billcalc::VERSION.to_string(),
        einvoice,
    };
    let document = serde_json::to_string(&doc)
        .map_err(|e| ApiError::internal(format!("credit note serialization: {e}")))?;
    tx.exec(
        "INSERT INTO credit_notes (id, invoice_id, series, number, number_display, created_at, currency, total, amount_refunded, refund_id, idempotency_key, document)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        vec![
            id.as_str().into(),
            record.id.as_str().into(),
            series.as_str().into(),
            number.into(),
            number_display.as_str().into(),
            now.into(),
            issued.currency.as_str().into(),
            note.total.into(),
            amount.into(),
            refund.id.as_str().into(),
            key.into(),
            document.into(),
        ],
    )
    .await
    .map_err(store_error)?;
    tx.exec(
        "UPDATE invoice_credits SET credit_notes = credit_notes + 1 WHERE invoice_id = $1",
        vec![record.id.as_str().into()],
    )
    .await
    .map_err(store_error)?;
    Ok(Credited::Issued(Box::new(doc), note))
}

/// A stored credit note by id.
pub async fn find(state: &AppState, id: &str) -> ApiResult<Option<CreditNoteDocument>> {
    let rows = state
        .store
        .query(
            "SELECT document FROM credit_notes WHERE id = $1",
            vec![id.into()],
        )
        .await
        .map_err(crate::ledger::storage_unavailable)?;
    rows.first()
        .and_then(|r| r.first())
        .and_then(SqlValue::as_str)
        .map(|d| {
            serde_json::from_str(d)
                .map_err(|e| ApiError::internal(format!("stored credit note: {e}")))
        })
        .transpose()
}

/// An invoice's credit notes, by number.
pub async fn of_invoice(state: &AppState, invoice: &str) -> ApiResult<Vec<CreditNoteDocument>> {
    let rows = state
        .store
        .query(
            "SELECT document FROM credit_notes WHERE invoice_id = $1 ORDER BY series, number",
            vec![invoice.into()],
        )
        .await
        .map_err(crate::ledger::storage_unavailable)?;
    rows.iter()
        .filter_map(|r| r.first().and_then(SqlValue::as_str))
        .map(|d| {
            serde_json::from_str(d)
                .map_err(|e| ApiError::internal(format!("stored credit note: {e}")))
        })
        .collect()
}

/// The JSON view: the document with its e-invoice files as links and hashes.
pub fn view(doc: &CreditNoteDocument) -> Value {
    let mut v = serde_json::to_value(doc).unwrap_or(Value::Null);
    if let Some(e) = &doc.einvoice {
        v["einvoice"] = einvoice::summary_at(&format!("/v1/credit_notes/{}", doc.id), e);
    }
    v["url"] = json!(format!("/v1/credit_notes/{}", doc.id));
    v
}

/// Stripe's refund object, with the credit note it issued.
pub fn refund_view(doc: &CreditNoteDocument) -> Value {
    json!({
        "object": "refund",
        "id": doc.refund.as_ref().map(|r| r.id.clone()),
        "status": "succeeded",
        "amount": doc.amount,
        "currency": doc.currency,
        "charge": doc.refund.as_ref().map(|r| r.charge.clone()),
        "reason": doc.reason,
        "credit_note": view(doc),
    })
}

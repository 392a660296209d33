//! A charge's payment intent: the steps after pricing, each recorded, with the gateway called
//! outside any database transaction, and their recovery (issue 13 §6).
//!
//! ```text
//!            open (tx 1: key claimed, codes redeemed)
//!                 │
//!                 ▼
//!           processing ──gateway: declined──▶ requires_payment_method (tx 2: codes released,
//!                 │      ──unknown token───▶ canceled                  decline stored / key freed)
//!                 │      ──no answer───────▶ stays processing (503; a replay, the start-up and
//!                 │                          the periodic recovery ask the gateway again)
//!      gateway: succeeded
//!                 ▼
//!           succeeded, einvoice_pending (tx 2: number, invoice, payment, answer stored)
//!                 │  the client is answered; the e-invoice is rendered in the background
//!                 ▼
//!           succeeded (tx 3: e-invoice stored)
//! ```
//!
//! The answer does not wait for the e-invoice (a Factur-X PDF/A-3 with embedded fonts, CII and
//! UBL: about 10 ms of CPU): the invoice is committed — numbered, immutable — when tx 2
//! commits. Its e-invoice is rendered once, from the committed document, by a bounded renderer
//! in this process ([`render_later`]), and stored with its SHA-256s by tx 3. Until then the
//! intent is `einvoice_pending`: a read of the invoice ([`ensure_einvoice`]) waits for it or
//! renders it; after a crash the recovery does (start-up, then the renewal loop).
//!
//! The gateway's idempotency key is the intent id, so asking again (a replay of the client's
//! key, the recovery) returns the first attempt's outcome and never charges twice: a charge
//! whose answer was lost after the money moved is found and recorded. Invoice numbers are
//! taken in tx 2, at success, so a decline leaves no gap; numbers follow commit order and the
//! invoice is dated at tx 2 (the day it is issued).

use crate::error::{json_response, ApiError, ApiResult};
use crate::gateway::{ChargeRequest, GatewayCharge, GatewayError};
use crate::invoice::{self, BillingCustomer, InvoiceDocument, PaymentInfo};
use crate::ledger::{new_id, store_error};
use crate::pricing::Priced;
use crate::render_queue::{working_on, RENDER_QUEUE_CAP};
use crate::state::AppState;
use crate::store::{
    Claim, IntentRecord, InvoiceRecord, IssuedInvoice, OpenIntent, Opened, Settled, Settlement,
    SqlValue,
};
use crate::token;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

/// Everything finishing a charge needs, stored with the intent (JSON) so another process can
/// finish it after a crash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The engine input as priced (`as_of` and `has_paid_before` filled in): pricing it again
    /// gives the same quote.
    pub input: Value,
    /// The quote as priced (JSON), for the invoice and the answer.
    pub quote: Value,
    pub as_of: String,
    /// Minor units: the quote's total (BT-112) and what is collected (BT-115).
    pub total: i64,
    pub payable: i64,
    pub currency: String,
    pub customer: BillingCustomer,
    pub payment_method: String,
    /// Redemption counters in key order: `(max_redemptions, request path)`.
    pub counters: BTreeMap<String, (Option<i64>, String)>,
    /// Chosen when the intent is opened.
    #[serde(default)]
    pub invoice_id: String,
    /// The engine's quote, kept from pricing for the e-invoice (re-priced after a crash).
    #[serde(skip)]
    pub engine_quote: Option<billcalc::Quote>,
}

impl Plan {
    pub fn new(
        priced: Priced,
        customer: BillingCustomer,
        payment_method: String,
        counters: BTreeMap<String, (Option<i64>, String)>,
    ) -> Plan {
        let total = priced.quote.total;
        Plan {
            input: priced.input,
            quote: priced.quote_value,
            as_of: priced.as_of,
            total,
            payable: priced.quote.amount_payable.unwrap_or(total),
            currency: priced.quote.currency.code().to_string(),
            customer,
            payment_method,
            counters,
            invoice_id: String::new(),
            engine_quote: Some(priced.quote),
        }
    }

    fn engine_quote(&self, state: &AppState) -> Result<billcalc::Quote, String> {
        if let Some(q) = &self.engine_quote {
            return Ok(q.clone());
        }
        let parsed: billcalc::QuoteInput =
            billcalc::from_value(&self.input).map_err(|e| format!("{e:?}"))?;
        state
            .calculator
            .quote(&parsed)
            .map_err(|e| format!("{e:?}"))
    }
}

/// Steps 2 to 4 of a priced charge: open the intent, call the gateway, record the outcome.
pub async fn charge(
    state: Arc<AppState>,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
    mut plan: Plan,
) -> ApiResult<Response> {
    plan.invoice_id = new_id("in", key, now);
    let intent = IntentRecord {
        id: new_id("pi", key, now),
        scope: scope.to_string(),
        key: key.to_string(),
        status: "processing".into(),
        amount: plan.payable,
        currency: plan.currency.clone(),
        payment_method: plan.payment_method.clone(),
        plan: serde_json::to_string(&plan)
            .map_err(|e| ApiError::internal(format!("plan serialization: {e}")))?,
        invoice_id: None,
        gateway_charge_id: None,
        einvoice_pending: false,
        created_at: now,
        updated_at: now,
    };
    let open = OpenIntent {
        fingerprint: fingerprint.to_string(),
        counters: plan
            .counters
            .iter()
            .map(|(k, (max, _))| (k.clone(), *max))
            .collect(),
        intent: intent.clone(),
    };
    // Held before the intent exists, until its outcome is recorded: a replay that finds it
    // unfinished waits here.
    let lock = working_on(&intent.id);
    let _working = lock.lock().await;
    match state.store.open_intent(open).await.map_err(store_error)? {
        Opened::New => finish(&state, &intent, plan).await,
        Opened::Exhausted(counter) => {
            let path = plan
                .counters
                .get(&counter)
                .map(|(_, p)| p.clone())
                .unwrap_or_default();
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "promotion_code_exhausted",
                path,
                "this code has reached its maximum number of redemptions; nothing was charged",
            ))
        }
        Opened::Existing { claim, intent } => {
            existing(&state, fingerprint, claim, intent.as_ref()).await
        }
    }
}

/// The answer for a key that was used before: `idempotency_key_reused` for another body, the
/// stored answer, or — when the earlier request's intent is unfinished — its outcome, asking
/// the gateway again.
async fn existing(
    state: &Arc<AppState>,
    fingerprint: &str,
    claim: Claim,
    pending: Option<&IntentRecord>,
) -> ApiResult<Response> {
    let Claim::Existing {
        fingerprint: f,
        status,
        response,
    } = claim
    else {
        return Err(ApiError::internal("the key was not claimed"));
    };
    if f != fingerprint {
        return Err(reused());
    }
    if status != 0 {
        return Ok(crate::ledger::replayed(status, response));
    }
    match pending {
        Some(intent) => resolve(state, intent).await,
        None => Err(crate::ledger::key_in_use()),
    }
}

fn reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "",
        "this Idempotency-Key was used with a different request body",
    )
}

/// The answer stored under a key, without claiming it: `None` when the key is unknown; the
/// stored answer (or the outcome of its unfinished intent) when the body matches;
/// `idempotency_key_reused` when not.
pub async fn stored_answer(
    state: &Arc<AppState>,
    scope: &str,
    key: &str,
    fingerprint: &str,
) -> ApiResult<Option<Response>> {
    let rows = state
        .store
        .query(
            "SELECT fingerprint, status_code, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
            vec![scope.into(), key.into()],
        )
        .await
        .map_err(store_error)?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let claim = Claim::Existing {
        fingerprint: row.first().map(SqlValue::text).unwrap_or_default(),
        status: row
            .get(1)
            .and_then(SqlValue::as_i64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0),
        response: row.get(2).map(SqlValue::text).unwrap_or_default(),
    };
    let pending = match &claim {
        Claim::Existing { status: 0, .. } => state
            .store
            .intent_by_key(scope, key)
            .await
            .map_err(store_error)?,
        _ => None,
    };
    existing(state, fingerprint, claim, pending.as_ref())
        .await
        .map(Some)
}

/// Finishes an intent found unfinished (a replay, the recovery): asks the gateway again when
/// it is `processing`, stores its e-invoice when that is what is left, and answers what is
/// stored under its key.
pub async fn resolve(state: &Arc<AppState>, intent: &IntentRecord) -> ApiResult<Response> {
    let lock = working_on(&intent.id);
    let _working = lock.lock().await;
    // What it is now (the holder may have finished it while this waited).
    let intent = &match state
        .store
        .intent_by_key(&intent.scope, &intent.key)
        .await
        .map_err(store_error)?
        .filter(|current| current.id == intent.id)
    {
        Some(current) => current,
        // Canceled meanwhile and its key released (an unknown payment method): what is stored
        // under the key now (nothing: the unknown payment method again).
        None => return settled_answer(state, intent).await,
    };
    let plan: Plan = serde_json::from_str(&intent.plan)
        .map_err(|e| ApiError::internal(format!("intent {}: bad plan: {e}", intent.id)))?;
    if intent.status == "processing" {
        return finish(state, intent, plan).await;
    }
    if intent.einvoice_pending {
        if let Some(invoice_id) = &intent.invoice_id {
            store_einvoice(state, intent, &plan, invoice_id, None, Priority::Now).await;
        }
    }
    settled_answer(state, intent).await
}

/// What is stored under the intent's key once it has left `processing`.
async fn settled_answer(state: &Arc<AppState>, intent: &IntentRecord) -> ApiResult<Response> {
    // A key forgotten after an unknown payment method: the client may retry with it.
    crate::ledger::answer_stored(
        state,
        &intent.scope,
        &intent.key,
        unknown_payment_method(state),
    )
    .await
}

fn unknown_payment_method(state: &AppState) -> ApiError {
    ApiError::invalid(
        "payment_method",
        format!(
            "unknown payment method token for the {} gateway",
            state.gateway.name()
        ),
    )
}

/// Steps 3 and 4: the gateway (outside any transaction), then the outcome.
async fn finish(state: &Arc<AppState>, intent: &IntentRecord, plan: Plan) -> ApiResult<Response> {
    let charge = if intent.amount > 0 {
        let request = ChargeRequest {
            idempotency_key: intent.id.clone(),
            amount: intent.amount,
            currency: intent.currency.clone(),
            payment_method: intent.payment_method.clone(),
            description: state.seller.name.clone(),
        };
        match state.gateway.charge(request).await {
            Ok(c) => Some(c),
            Err(GatewayError::Declined {
                code,
                decline_code,
                message,
                hard,
            }) => {
                let e = ApiError::new(
                    StatusCode::PAYMENT_REQUIRED,
                    code,
                    "payment_method",
                    message,
                )
                .with("decline_code", json!(decline_code))
                .with("retryable", json!(!hard && code == "processing_error"));
                let settlement = Settlement::Failed {
                    status: "requires_payment_method",
                    release: plan.counters.keys().cloned().collect(),
                    answer: Some((e.status.as_u16(), e.body().to_string())),
                };
                return match settle(state, intent, settlement).await? {
                    Settled::Done => Err(e),
                    Settled::AlreadySettled => settled_answer(state, intent).await,
                };
            }
            Err(GatewayError::UnknownPaymentMethod) => {
                let settlement = Settlement::Failed {
                    status: "canceled",
                    release: plan.counters.keys().cloned().collect(),
                    answer: None,
                };
                return match settle(state, intent, settlement).await? {
                    Settled::Done => Err(unknown_payment_method(state)),
                    Settled::AlreadySettled => settled_answer(state, intent).await,
                };
            }
            Err(GatewayError::Unavailable(why)) => {
                crate::log::error(
                    "payment gateway unavailable",
                    json!({"error": why, "intent": intent.id}),
                );
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "payment_gateway_unavailable",
                    "",
                    "the payment gateway did not answer; the charge is recorded as processing: retry with the same Idempotency-Key to learn its outcome",
                ));
            }
        }
    } else {
        None
    };
    issue(state, intent, plan, charge).await
}

async fn settle(
    state: &AppState,
    intent: &IntentRecord,
    settlement: Settlement,
) -> ApiResult<Settled> {
    let now = state.clock.now();
    state
        .store
        .settle_intent(intent, now, settlement)
        .await
        .map_err(store_error)
}

/// Step 4 after a success: number, invoice, payment and answer in one transaction; then the
/// e-invoice, rendered with no transaction open, and stored.
///
/// Everything the transaction writes is built here, before it (issue 13 §10): the invoice
/// document and the answer are serialised with a placeholder where the number goes
/// ([`NumberedText`]), so inside the transaction — on SQLite's one writer thread, or while
/// PostgreSQL holds the series row lock — only the number is formatted and spliced in.
async fn issue(
    state: &Arc<AppState>,
    intent: &IntentRecord,
    mut plan: Plan,
    charge: Option<GatewayCharge>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let series = format!("{}{}", state.invoice.series_prefix, crate::clock::year(now));
    let gateway_charge_id = charge.as_ref().map(|c| c.id.clone());
    let gateway = state.gateway.name().to_string();
    let prepared = prepare_invoice(
        state,
        &mut plan,
        &series,
        now,
        &intent.key,
        &gateway,
        charge,
    )
    .map_err(ApiError::internal)?;
    let PreparedInvoice {
        mut document,
        record,
        document_text,
        payment,
        response,
    } = prepared;
    let taken = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let build = {
        let taken = taken.clone();
        let response = response.clone();
        let redemptions = plan.counters.keys().cloned().collect();
        let series = series.clone();
        Box::new(move |number: i64| -> Result<IssuedInvoice, String> {
            let display = number_display(&series, number);
            taken.store(number, std::sync::atomic::Ordering::SeqCst);
            Ok(IssuedInvoice {
                invoice: InvoiceRecord {
                    number,
                    document: document_text.fill(&display),
                    number_display: display.clone(),
                    ..record
                },
                payment,
                redemptions,
                status: 200,
                response: response.fill(&display),
                einvoice_pending: true,
            })
        })
    };
    let settlement = Settlement::Paid {
        invoice_id: plan.invoice_id.clone(),
        series: series.clone(),
        gateway_charge_id,
        build,
    };
    match settle(state, intent, settlement).await? {
        Settled::AlreadySettled => return settled_answer(state, intent).await,
        Settled::Done => {}
    }
    let number = taken.load(std::sync::atomic::Ordering::SeqCst);
    if number == 0 {
        return Err(ApiError::internal("the invoice was not built"));
    }
    let display = number_display(&series, number);
    let response = response.fill(&display);
    document.number = display;
    // The invoice is committed: the client is answered now, the e-invoice follows (below).
    render_later(state, intent, plan, Some(document));
    Ok(json_response(StatusCode::OK, response))
}

/// `F2026-000042`: the series and the number, at least six digits.
fn number_display(series: &str, number: i64) -> String {
    format!("{series}-{number:06}")
}

/// Serialised JSON with the invoice number left out: the text before and after each place the
/// number goes. The placeholder is unguessable (random per process) and its count is checked,
/// so a customer's text that happened to contain it could not be taken for it.
#[derive(Clone)]
struct NumberedText {
    parts: Vec<String>,
}

impl NumberedText {
    /// The placeholder put where the number goes before serialising.
    fn placeholder() -> &'static str {
        static PLACEHOLDER: LazyLock<String> = LazyLock::new(|| {
            let mut bytes = [0u8; 16];
            let _ = getrandom::fill(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("@billcalc-number-{hex}@")
        });
        &PLACEHOLDER
    }

    /// `text` split at the placeholder, which must occur exactly `expected` times.
    fn split(text: &str, expected: usize) -> Result<NumberedText, String> {
        let parts: Vec<String> = text
            .split(Self::placeholder())
            .map(str::to_string)
            .collect();
        if parts.len() != expected + 1 {
            return Err(format!(
                "the invoice number placeholder occurs {} times, not {expected}",
                parts.len() - 1
            ));
        }
        Ok(NumberedText { parts })
    }

    /// The text with `number` in every place (inside a JSON string: escaped as serde_json
    /// would, should the configured series prefix hold a quote or a backslash).
    fn fill(&self, number: &str) -> String {
        let escaped;
        let number = if number
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control())
        {
            escaped = serde_json::to_string(number).unwrap_or_default();
            escaped
                .get(1..escaped.len().saturating_sub(1))
                .unwrap_or_default()
        } else {
            number
        };
        let len = self.parts.iter().map(String::len).sum::<usize>()
            + number.len() * (self.parts.len() - 1);
        let mut out = String::with_capacity(len);
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push_str(number);
            }
            out.push_str(part);
        }
        out
    }
}

/// What tx 2 writes, built before it: everything but the number.
struct PreparedInvoice {
    /// The document (its `number` still the placeholder), for the e-invoice after the commit.
    document: InvoiceDocument,
    /// The invoice row, without its number, display number and document.
    record: InvoiceRecord,
    document_text: NumberedText,
    payment: Option<crate::store::PaymentRecord>,
    response: NumberedText,
}

/// Queues the e-invoice of an invoice just committed (tx 2) for rendering in the background:
/// rendered once from the document as committed and the engine's quote as charged, on the
/// idle-priority renderer threads (crate::render_queue::render_idle: only CPU the charges do
/// not want), then stored (tx 3) with its SHA-256s. No lock is held while it waits or renders,
/// so a reader of the invoice never waits for idle CPU: it renders the e-invoice itself
/// ([`ensure_einvoice`]), and whichever store comes first is kept (tx 3 is conditional).
/// Nothing is lost when the process stops first: the intent stays `einvoice_pending` and the
/// recovery (start-up, renewal loop) or the first `GET /v1/invoices/{id}…` renders it.
fn render_later(
    state: &Arc<AppState>,
    intent: &IntentRecord,
    plan: Plan,
    document: Option<InvoiceDocument>,
) {
    let backlog = &state.metrics.einvoice_backlog;
    if backlog.get() >= RENDER_QUEUE_CAP {
        return;
    }
    // Queued once per process (a recovery pass finds the ones still waiting here).
    if !queued(&intent.id, true) {
        return;
    }
    backlog.inc();
    let state = state.clone();
    let intent = intent.clone();
    crate::log::spawn(async move {
        let invoice_id = plan.invoice_id.clone();
        store_einvoice(
            &state,
            &intent,
            &plan,
            &invoice_id,
            document,
            Priority::Idle,
        )
        .await;
        queued(&intent.id, false);
        state.metrics.einvoice_backlog.dec();
    });
}

/// The intents whose e-invoice waits for the idle renderer in this process: adds (`true` if
/// it was not there) or removes `intent_id`.
fn queued(intent_id: &str, add: bool) -> bool {
    static QUEUED: LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        LazyLock::new(Default::default);
    let mut set = QUEUED.lock().unwrap_or_else(|p| p.into_inner());
    if add {
        set.insert(intent_id.to_string())
    } else {
        set.remove(intent_id)
    }
}

/// At which priority an e-invoice renders.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Priority {
    /// Somebody waits for it (a reader, a replay, the recovery): the blocking pool.
    Now,
    /// Nobody waits (right after the charge): the idle-priority renderer threads.
    Idle,
}

/// Makes sure the invoice's e-invoice is stored before it is read (`GET /v1/invoices/{id}`
/// and its files): when it is still pending, waits for the request or renderer working on it,
/// or renders and stores it now. Rendered once: the per-intent lock in this process, the
/// conditional store across processes; what is served is always what was stored.
pub async fn ensure_einvoice(state: &Arc<AppState>, invoice_id: &str) -> ApiResult<()> {
    let pending = state
        .store
        .pending_einvoice(invoice_id)
        .await
        .map_err(store_error)?;
    // Subscription payments render their own (crate::payment_step).
    if let Some(intent) = pending.filter(|i| !crate::payment_step::owns(&i.scope)) {
        let lock = working_on(&intent.id);
        let _working = lock.lock().await;
        if let Some(current) = state
            .store
            .intent_by_key(&intent.scope, &intent.key)
            .await
            .map_err(store_error)?
            .filter(|i| i.einvoice_pending)
        {
            let plan: Plan = serde_json::from_str(&current.plan)
                .map_err(|e| ApiError::internal(format!("intent {}: bad plan: {e}", current.id)))?;
            store_einvoice(state, &current, &plan, invoice_id, None, Priority::Now).await;
        }
    }
    Ok(())
}

/// The invoice record, its payment, and the answer, with the number left as a placeholder
/// (built before tx 2, on the request's task: no serialising inside the transaction).
#[allow(clippy::too_many_arguments)]
fn prepare_invoice(
    state: &AppState,
    plan: &mut Plan,
    series: &str,
    now: i64,
    key: &str,
    gateway: &str,
    charge: Option<GatewayCharge>,
) -> Result<PreparedInvoice, String> {
    let placeholder = NumberedText::placeholder();
    let invoice_id = plan.invoice_id.clone();
    let invoice_id = &invoice_id;
    let payment = charge.as_ref().map(|c| PaymentInfo::card(c, now));
    let product_name = |id: &str| state.calculator.product(id).and_then(|p| p.name.clone());
    let access = token::invoice_access_token(&state.signing_key, invoice_id);
    let response = serde_json::to_string(&ChargeAnswer {
        amount: plan.payable,
        as_of: &plan.as_of,
        currency: &plan.currency,
        id: charge.as_ref().map(|c| c.id.as_str()),
        invoice: InvoiceLink {
            hosted_invoice_url: format!("/v1/invoices/{invoice_id}.html?access_token={access}"),
            id: invoice_id,
            number: placeholder,
            url: format!("/v1/invoices/{invoice_id}"),
        },
        object: "charge",
        payment_method: charge.as_ref().map(|c| CardView {
            brand: &c.brand,
            last4: &c.last4,
            kind: "card",
        }),
        quote: &plan.quote,
        status: "succeeded",
    })
    .map_err(|e| format!("answer serialization: {e}"))?;
    let document = invoice::build(invoice::Issue {
        id: invoice_id,
        number: placeholder,
        series,
        created: now,
        seller: &state.seller,
        terms: &state.invoice,
        customer: std::mem::take(&mut plan.customer),
        payment,
        as_of: &plan.as_of,
        // The answer above has the quote written: the document takes it (no copy).
        quote: std::borrow::Cow::Owned(std::mem::take(&mut plan.quote)),
        product_name: &product_name,
        status: "paid",
        subscription: None,
    });
    let document_text = NumberedText::split(
        &serde_json::to_string(&document).map_err(|e| format!("invoice serialization: {e}"))?,
        1,
    )?;
    let record = InvoiceRecord {
        id: invoice_id.clone(),
        series: series.to_string(),
        number: 0,
        number_display: String::new(),
        created_at: now,
        currency: plan.currency.clone(),
        total: plan.total,
        customer_id: document.customer.id.clone(),
        idempotency_key: key.to_string(),
        document: String::new(),
        subscription_id: None,
    };
    let payment = charge
        .as_ref()
        .map(|c| invoice::payment_record(c, invoice_id, &plan.currency, gateway, now));
    Ok(PreparedInvoice {
        document,
        record,
        document_text,
        payment,
        response: NumberedText::split(&response, 1)?,
    })
}

/// A charge's answer (`POST /v1/charges`), serialised straight from the plan: no
/// `serde_json::Value` tree is built and the quote is not copied. The fields are declared in
/// the order of their names, the order the API has always written them (serde_json's maps are
/// sorted), so the text is the same as before, byte for byte (tested).
#[derive(Serialize)]
struct ChargeAnswer<'a> {
    amount: i64,
    as_of: &'a str,
    currency: &'a str,
    /// The gateway's charge id; null when nothing was payable.
    id: Option<&'a str>,
    invoice: InvoiceLink<'a>,
    object: &'static str,
    payment_method: Option<CardView<'a>>,
    quote: &'a Value,
    status: &'static str,
}

#[derive(Serialize)]
struct InvoiceLink<'a> {
    hosted_invoice_url: String,
    id: &'a str,
    number: &'a str,
    url: String,
}

#[derive(Serialize)]
struct CardView<'a> {
    brand: &'a str,
    last4: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// Renders the invoice's e-invoice (EN 16931; crate::einvoice) with no transaction open — on
/// the blocking pool, or the idle-priority renderer threads — and stores it with the document
/// (tx 3, conditional on the intent still being `einvoice_pending`: the first store is kept).
/// Rendered from the document as committed and the engine's quote as charged; a failure
/// leaves the intent `einvoice_pending` for the recovery. Callers rendering [`Priority::Now`]
/// hold the intent's lock.
async fn store_einvoice(
    state: &Arc<AppState>,
    intent: &IntentRecord,
    plan: &Plan,
    invoice_id: &str,
    document: Option<InvoiceDocument>,
    priority: Priority,
) {
    let document = match document {
        Some(d) => d,
        None => match state.store.invoice(invoice_id).await {
            Ok(Some(record)) => match serde_json::from_str::<InvoiceDocument>(&record.document) {
                Ok(d) => d,
                Err(e) => {
                    crate::log::error(
                        "e-invoice: unreadable document",
                        json!({"invoice": invoice_id, "error": e.to_string()}),
                    );
                    return;
                }
            },
            _ => return,
        },
    };
    if document.einvoice.is_some() {
        // Stored already (a concurrent recovery in another process): clear the flag.
        let _ = state
            .store
            .store_einvoice(&intent.id, invoice_id, None, state.clock.now())
            .await;
        return;
    }
    let quote = match plan.engine_quote(state) {
        Ok(q) => q,
        Err(why) => {
            crate::log::error(
                "e-invoice: cannot re-price the intent",
                json!({"intent": intent.id, "error": why}),
            );
            return;
        }
    };
    let rendering = state.clone();
    let render = move || {
        let mut document = document;
        document.einvoice = crate::einvoice::render_quote(&document, &quote, &rendering.calculator);
        document
            .einvoice
            .is_some()
            .then(|| serde_json::to_string(&document).ok())
            .flatten()
    };
    let rendered = match priority {
        Priority::Now => tokio::task::spawn_blocking(render).await.ok(),
        Priority::Idle => crate::render_queue::render_idle(render).await,
    };
    let Some(text) = rendered else {
        crate::log::error(
            "e-invoice: rendering failed",
            json!({"invoice": invoice_id}),
        );
        return;
    };
    match state
        .store
        .store_einvoice(&intent.id, invoice_id, text.as_deref(), state.clock.now())
        .await
    {
        Ok(true) => state.metrics.einvoices_rendered.inc(),
        // Another process stored it first: its document is the one kept and served.
        Ok(false) => {}
        Err(e) => crate::log::error(
            "e-invoice: not stored (the recovery will retry)",
            json!({"invoice": invoice_id, "error": e.to_string()}),
        ),
    }
}

/// Finishes every intent left unfinished and untouched since `touched_before` (at start-up:
/// all of them; in the renewal loop: those older than a grace period, so a request still in
/// flight is left to finish). Returns how many were resolved and how many are still open.
pub async fn recover(state: &Arc<AppState>, touched_before: i64) -> Value {
    let intents = match state.store.unfinished_intents(touched_before, 200).await {
        Ok(i) => i,
        Err(e) => {
            crate::log::error("intent recovery", json!({"error": e.to_string()}));
            return json!({"resolved": 0, "open": null});
        }
    };
    let (mut resolved, mut open, mut queued) = (0, 0, 0);
    for intent in &intents {
        // Subscription payments, dunning attempts and refunds (crate::payment_step).
        if crate::payment_step::owns(&intent.scope) {
            match crate::payment_recovery::resolve(state, intent).await {
                Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => open += 1,
                _ => resolved += 1,
            }
            continue;
        }
        // A charge with only its e-invoice left: nobody waits for it (a reader renders it
        // itself), so it goes to the idle renderer like one just charged, and a recovery pass
        // during a stream of charges takes neither their CPU nor their writer.
        if intent.status == "succeeded" && intent.einvoice_pending {
            if let Ok(plan) = serde_json::from_str::<Plan>(&intent.plan) {
                render_later(state, intent, plan, None);
                queued += 1;
                continue;
            }
        }
        match resolve(state, intent).await {
            Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => open += 1,
            _ => resolved += 1,
        }
    }
    if !intents.is_empty() {
        crate::log::info(
            "intent recovery",
            json!({"resolved": resolved, "open": open, "einvoices_queued": queued}),
        );
    }
    json!({"resolved": resolved, "open": open, "einvoices_queued": queued})
}

#[cfg(test)]
mod tests {
    use super::{CardView, ChargeAnswer, InvoiceLink, NumberedText};
    use serde_json::json;

    /// The answer written from the struct is the text the `json!` tree wrote before, byte for
    /// byte (stored answers are replayed as stored; a client comparing texts sees no change),
    /// with and without a card payment, and with text that needs escaping.
    #[test]
    fn the_charge_answer_is_the_text_the_json_tree_wrote() {
        let quote = json!({"total": 1234, "currency": "eur", "lines": [{"amount": 5, "note": "a \"b\" \u{e9}", "z": null}], "as_of": "x"});
        for card in [Some(("ch_1", "visa", "4242")), None] {
            let before = json!({
                "object": "charge",
                "id": card.map(|c| c.0),
                "status": "succeeded",
                "amount": 1234,
                "currency": "eur",
                "payment_method": card.map(|c| json!({"type": "card", "brand": c.1, "last4": c.2})),
                "invoice": {
                    "id": "in_1",
                    "number": "F2026-000001",
                    "url": "/v1/invoices/in_1",
                    "hosted_invoice_url": "/v1/invoices/in_1.html?access_token=t.k",
                },
                "as_of": "2026-03-02T10:00:00Z",
                "quote": quote,
            })
            .to_string();
            let now = serde_json::to_string(&ChargeAnswer {
                amount: 1234,
                as_of: "2026-03-02T10:00:00Z",
                currency: "eur",
                id: card.map(|c| c.0),
                invoice: InvoiceLink {
                    hosted_invoice_url: "/v1/invoices/in_1.html?access_token=t.k".into(),
                    id: "in_1",
                    number: "F2026-000001",
                    url: "/v1/invoices/in_1".into(),
                },
                object: "charge",
                payment_method: card.map(|c| CardView {
                    brand: c.1,
                    last4: c.2,
                    kind: "card",
                }),
                quote: &quote,
                status: "succeeded",
            })
            .expect("serialises");
            assert_eq!(now, before);
        }
    }

    #[test]
    fn the_number_is_spliced_where_the_placeholder_was_serialised() {
        let p = NumberedText::placeholder();
        let text = json!({"number": p, "note": "a", "again": {"n": p}}).to_string();
        let t = NumberedText::split(&text, 2).expect("two places");
        let filled: serde_json::Value =
            serde_json::from_str(&t.fill("F2026-000042")).expect("valid JSON");
        assert_eq!(
            filled,
            json!({"number": "F2026-000042", "note": "a", "again": {"n": "F2026-000042"}})
        );
        // A series prefix with a quote or a backslash is escaped as serde_json would.
        let odd = "F\"2026\\-000001";
        let filled: serde_json::Value = serde_json::from_str(&t.fill(odd)).expect("valid JSON");
        assert_eq!(filled["number"], json!(odd));
    }

    #[test]
    fn a_placeholder_count_other_than_expected_is_refused() {
        let p = NumberedText::placeholder();
        // A customer's text holding the placeholder would add an occurrence.
        let text = json!({"number": p, "name": format!("x{p}y")}).to_string();
        assert!(NumberedText::split(&text, 1).is_err());
        assert!(NumberedText::split("{}", 1).is_err());
        assert!(p.len() > 40, "unguessable: {p}");
    }
}

//! Finishing what the recorded payment steps left unfinished, for everything that is not a
//! one-off charge (crate::payment_step): an intent still `processing` (its gateway asked again,
//! its outcome recorded by its own flow: a subscription's operation, a dunning attempt, a
//! refund), and an e-invoice still to store (rendered now for a reader, or after a crash). Above
//! the flows it dispatches to, so none of them imports another through it; called by the
//! recovery (crate::intent::recover), the routes that read invoices and credit notes, and the
//! delivery loop.

use crate::error::ApiResult;
use crate::ledger::store_error;
use crate::payment_step;
use crate::state::Shared;
use crate::store::IntentRecord;
use serde_json::{json, Value};

/// Makes sure the e-invoice of an invoice or credit note (`id`) is stored before it is read
/// (`GET /v1/invoices/{id}`, `GET /v1/credit_notes/{id}`, their files and lists, the hosted
/// page, a payment attempt): when it is still pending, waits for whoever is rendering it in
/// this process or renders and stores it now. Only this module's intents (one-off charges' are
/// crate::intent::ensure_einvoice's). Rendered once: the per-intent lock here, the conditional
/// store across processes.
pub async fn ensure_einvoice(state: &Shared, id: &str) -> ApiResult<()> {
    match state
        .store
        .pending_einvoice(id)
        .await
        .map_err(store_error)?
    {
        Some(intent) if payment_step::owns(&intent.scope) => finish_render(state, &intent).await,
        _ => Ok(()),
    }
}

/// Renders and stores the pending e-invoice of one of this module's intents now, under its
/// lock, unless someone did meanwhile. The engine's invoice (or credit note) is computed again
/// from what the intent's plan kept: the same document as the renderer would have made.
async fn finish_render(state: &Shared, intent: &IntentRecord) -> ApiResult<()> {
    let lock = crate::render_queue::working_on(&intent.id);
    let _working = lock.lock().await;
    let Some(current) = payment_step::by_id(state, &intent.id).await? else {
        return Ok(());
    };
    if !current.einvoice_pending {
        return Ok(());
    }
    if current.scope == payment_step::REFUND_SCOPE {
        crate::credit_note::recover_einvoice(state, &current).await
    } else {
        recover_render(state, &current).await;
        Ok(())
    }
}

/// Renders the e-invoice of an issued invoice left pending (a reader, or the recovery after a
/// crash): the engine invoice is computed again from the input stored in the plan (`render`).
async fn recover_render(state: &Shared, intent: &IntentRecord) {
    let Some(invoice_id) = &intent.invoice_id else {
        return;
    };
    let Ok(Some(record)) = state.store.invoice(invoice_id).await else {
        return;
    };
    let done = || async {
        const DONE: &str =
            "UPDATE payment_intents SET einvoice_pending = 0, updated_at = $2 WHERE id = $1";
        let _ = state
            .store
            .exec(
                DONE,
                vec![intent.id.as_str().into(), state.clock.now().into()],
            )
            .await;
    };
    let Ok(document) = serde_json::from_str::<crate::invoice::InvoiceDocument>(&record.document)
    else {
        return;
    };
    if document.einvoice.is_some() {
        return done().await;
    }
    let plan: Value = serde_json::from_str(&intent.plan).unwrap_or(Value::Null);
    let Some(input) = plan.get("render") else {
        crate::log::error(
            "e-invoice: no engine input to render with",
            json!({"intent": intent.id}),
        );
        return done().await;
    };
    let invoice = match crate::subscription::engine_invoice(state, input) {
        Ok(i) => i,
        Err(e) => {
            crate::log::error(
                "e-invoice: cannot compute the invoice again",
                json!({"intent": intent.id, "error": e.message}),
            );
            return done().await;
        }
    };
    payment_step::render_and_store(
        state,
        payment_step::PendingRender {
            intent_id: intent.id.clone(),
            invoice_id: invoice_id.clone(),
            stored: record.document.clone(),
            document,
            invoice,
        },
    )
    .await;
}

/// Finishes one of this module's intents found unfinished: asks the gateway again and records
/// the outcome when it is `processing`, renders the e-invoice when that is what is left.
/// `Err` 503 when the gateway still does not answer.
pub async fn resolve(state: &Shared, intent: &IntentRecord) -> ApiResult<()> {
    if intent.status == "processing" {
        match intent.scope.as_str() {
            payment_step::DUNNING_SCOPE => {
                crate::dunning::resolve(state, intent).await.map(|_| ())?
            }
            payment_step::REFUND_SCOPE => crate::credit_note::resolve(state, intent)
                .await
                .map(|_| ())?,
            _ => crate::subscription::resolve(state, intent)
                .await
                .map(|_| ())?,
        }
        return Ok(());
    }
    if intent.einvoice_pending {
        finish_render(state, intent).await?;
    }
    Ok(())
}
/// An invoice's credit notes, by number, each with its e-invoice: a note whose e-invoice is
/// still being rendered is waited for (or rendered now) and read again.
pub async fn credit_notes_rendered(
    state: &Shared,
    invoice: &str,
) -> ApiResult<Vec<crate::credit_note::CreditNoteDocument>> {
    let notes = crate::credit_note::of_invoice(state, invoice).await?;
    let mut pending = false;
    for note in notes.iter().filter(|n| n.einvoice.is_none()) {
        ensure_einvoice(state, &note.id).await?;
        pending = true;
    }
    if pending {
        return crate::credit_note::of_invoice(state, invoice).await;
    }
    Ok(notes)
}

//! Getting paid automatically: what the renewal loop runs besides renewals (dunning retries,
//! reminders) and the delivery loop (webhooks, emails), for the binary's loops and
//! `POST /v1/automation/run` ([`crate::routes::automation`]). Issue 15's HTTP routes are in
//! [`crate::routes`]: `automation`, `webhooks`, `events`, `emails`, `portal`, and
//! `GET /v1/demo/outbox` in `demo`.

use crate::state::Shared;
use serde_json::{json, Value};

/// The loop's work besides renewals, at `now`: dunning retries due, then reminders.
pub async fn tick(state: &Shared, now: i64) -> Value {
    let dunning = crate::dunning::run_due(state, now)
        .await
        .unwrap_or_else(|e| json!({"error": e.body()["error"]}));
    let reminders = crate::reminders::run_due(state, now)
        .await
        .unwrap_or_else(|e| json!({"error": e.body()["error"]}));
    json!({"dunning": dunning, "reminders": reminders})
}

/// Sends what the outbox holds and is due: webhooks, then emails — after the e-invoices of the
/// invoices they attach are stored (rendered in the background after each invoice's commit;
/// waited for, or rendered here), so a receipt carries its Factur-X PDF.
pub async fn deliver(state: &Shared, now: i64) -> Value {
    let webhooks = crate::webhooks::deliver_due(state, now)
        .await
        .unwrap_or_else(|e| json!({"error": e.message}));
    for invoice in crate::email::attachments_due(state, now)
        .await
        .unwrap_or_default()
    {
        let ensured = match crate::intent::ensure_einvoice(state, &invoice).await {
            Ok(()) => crate::payment_recovery::ensure_einvoice(state, &invoice).await,
            Err(e) => Err(e),
        };
        if let Err(e) = ensured {
            crate::log::error(
                "email: the attached invoice's e-invoice is not stored yet",
                json!({"invoice": invoice, "error": e.body()["error"]}),
            );
        }
    }
    let emails = crate::email::send_due(state, now)
        .await
        .unwrap_or_else(|e| json!({"error": e.message}));
    json!({"webhooks": webhooks, "emails": emails})
}

/// One run of the binary's delivery loop (every `BILLCALC_DELIVERY_INTERVAL_SECONDS`): sends what is due at the server's clock and logs what it did
/// (when it did anything).
pub async fn deliver_and_log(state: &Shared) {
    let report = deliver(state, state.clock.now()).await;
    let sent = report
        .pointer("/webhooks/delivered")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        + report
            .pointer("/emails/sent")
            .and_then(Value::as_i64)
            .unwrap_or(0);
    let errors =
        report.pointer("/webhooks/error").is_some() || report.pointer("/emails/error").is_some();
    if sent > 0 || errors {
        crate::log::info("deliveries", report);
    }
}

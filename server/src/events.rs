//! Events, Stripe's shape: `{id: "evt_…", object: "event", api_version, created, type, data:
//! {object, previous_attributes?}, livemode: false}`. An event is written by [`emit`] inside
//! the transaction that makes the change it reports — with one webhook delivery row per enabled
//! endpoint and the email it causes, if any — so a commit carries its notifications (the
//! transactional outbox) and a crash before delivery loses nothing: the workers
//! ([`crate::webhooks`], [`crate::email`]) send what is pending after a restart.
//!
//! `seq` (from the `sequences` row `events`, taken in the writing transaction) orders events;
//! deliveries to an endpoint keep that order per object (an invoice's `invoice.payment_failed`
//! is never delivered after its `invoice.paid`). Ids are random and stored, so every retry of a
//! delivery carries the same id (receivers deduplicate on it). A `dedup_key` makes an event
//! once-only (a reminder per period): a second emit with the key writes nothing.

pub use crate::email::Recipient;
use crate::ledger::new_id;
pub use crate::ledger::next_in_sequence;
use crate::state::AppState;
use crate::store::{StoreResult, Tx};
use serde_json::{json, Value};

/// The API version events carry (the shape of `data.object`).
pub const API_VERSION: &str = "2026-11-01.billcalc";

/// An event to write.
pub struct NewEvent {
    pub kind: &'static str,
    /// The object the event is about (`in_…`, `sub_…`): deliveries keep order per object.
    pub object_id: String,
    pub object: Value,
    pub previous_attributes: Option<Value>,
    pub recipient: Option<Recipient>,
    /// At most one event per key (reminders: one per subscription and period).
    pub dedup_key: Option<String>,
}

/// Writes the event, its webhook deliveries and its email in the caller's transaction.
/// Returns the event (`None` when its `dedup_key` was used before).
pub async fn emit(
    state: &AppState,
    tx: &mut dyn Tx,
    event: NewEvent,
    now: i64,
) -> StoreResult<Option<Value>> {
    if let Some(key) = &event.dedup_key {
        let seen = tx
            .query(
                "SELECT id FROM events WHERE dedup_key = $1",
                vec![key.into()],
            )
            .await?;
        if !seen.is_empty() {
            return Ok(None);
        }
    }
    let seq = next_in_sequence(tx, "events").await?;
    let id = new_id("evt", &event.object_id, now);
    let mut data = json!({ "object": event.object });
    if let Some(p) = &event.previous_attributes {
        data["previous_attributes"] = p.clone();
    }
    let payload = json!({
        "id": id,
        "object": "event",
        "api_version": API_VERSION,
        "created": now,
        "type": event.kind,
        "livemode": false,
        "data": data,
    });
    let customer_id = event.recipient.as_ref().map(|r| r.customer_id.clone());
    tx.exec(
        "INSERT INTO events (id, seq, type, object_id, customer_id, dedup_key, created_at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            id.clone().into(),
            seq.into(),
            event.kind.into(),
            event.object_id.clone().into(),
            customer_id.into(),
            event.dedup_key.clone().into(),
            now.into(),
            payload.to_string().into(),
        ],
    )
    .await?;
    tx.exec(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, seq, object_id, status, next_attempt_at, created_at) SELECT $1, id, $2, $3, 'pending', $4, $4 FROM webhook_endpoints WHERE status = 'enabled' AND (enabled_events = ',*,' OR enabled_events LIKE $5)",
        vec![
            id.clone().into(),
            seq.into(),
            event.object_id.clone().into(),
            now.into(),
            format!("%,{},%", event.kind).into(),
        ],
    )
    .await?;
    if let Some(recipient) = &event.recipient {
        crate::email::enqueue_for_event(state, tx, &payload, recipient, now).await?;
    }
    Ok(Some(payload))
}

/// `GET /v1/events?limit=&object=`: the newest events first (Stripe's list shape).
pub async fn list(state: &AppState, object: Option<&str>, limit: i64) -> StoreResult<Value> {
    let limit = limit.clamp(1, 500);
    let rows =
        match object {
            Some(o) => state
                .store
                .query(
                    "SELECT payload FROM events WHERE object_id = $1 ORDER BY seq DESC LIMIT $2",
                    vec![o.into(), limit.into()],
                )
                .await?,
            None => {
                state
                    .store
                    .query(
                        "SELECT payload FROM events ORDER BY seq DESC LIMIT $1",
                        vec![limit.into()],
                    )
                    .await?
            }
        };
    let data: Vec<Value> = rows
        .iter()
        .filter_map(|r| r.first())
        .filter_map(|v| serde_json::from_str(&v.text()).ok())
        .collect();
    Ok(json!({"object": "list", "data": data}))
}

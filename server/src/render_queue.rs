//! The background renderer's shared parts (issue 13 §10): e-invoices (Factur-X PDF/A-3, CII,
//! UBL; about 10 ms of one core each in a release build) are rendered after the answer, once
//! their invoice or credit note is committed, by tokio tasks taking turns here. One-off
//! charges queue theirs from crate::intent; subscription invoices and credit notes from
//! crate::payment_step and crate::credit_note. Each rendering runs under its intent's lock,
//! which a reader of the document takes too (it waits for the rendering or performs it).

use crate::state::Shared;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// The intents this process is working on: whoever holds an intent's lock is calling its
/// gateway or recording its outcome; a replay of its key waits for it instead of asking the
/// gateway a second time (across processes the gateway's idempotency key and the conditional
/// settlement keep that safe, only less quiet).
pub fn working_on(intent_id: &str) -> Arc<tokio::sync::Mutex<()>> {
    static WORKING: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Mutex::default);
    let mut map = WORKING.lock().unwrap_or_else(|p| p.into_inner());
    // Forget the intents nobody holds or waits for.
    map.retain(|_, lock| Arc::strong_count(lock) > 1);
    map.entry(intent_id.to_string()).or_default().clone()
}

/// E-invoices queued in this process and not stored yet; past this many, a new one is left to
/// the recovery (it stays `einvoice_pending` in the database, which is the queue that counts).
pub const RENDER_QUEUE_CAP: i64 = 4096;

/// How many e-invoices render at once (`BILLCALC_RENDER_THREADS`, default 1): each is
/// CPU-bound (about 10 ms of one core in a release build), so the renderer takes at most this
/// many cores away from answering requests.
fn render_threads() -> usize {
    static THREADS: LazyLock<usize> = LazyLock::new(|| {
        std::env::var("BILLCALC_RENDER_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(1)
    });
    *THREADS
}

/// The renderer's turns, first come first served (tokio's semaphore is fair), so e-invoices
/// come out in the order their invoices were committed.
pub static RENDER_TURNS: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(render_threads()));

/// Runs `job` (an e-invoice's rendering and storing, for the intent `intent_id`) in the
/// background: a turn first (`BILLCALC_RENDER_THREADS` at once, first come first served), then
/// the intent's lock; the job runs only if the intent is still `einvoice_pending` by then (a
/// reader or the recovery may have rendered it). Counted in `billcalc_einvoice_render_backlog`
/// until done. Past [`RENDER_QUEUE_CAP`] nothing is queued: the intent stays
/// `einvoice_pending` in the database, for the first reader and the recovery.
pub fn in_background<F, Fut>(state: &Shared, intent_id: String, job: F)
where
    F: FnOnce(Shared) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let backlog = &state.metrics.einvoice_backlog;
    if backlog.get() >= RENDER_QUEUE_CAP {
        return;
    }
    backlog.inc();
    let state = state.clone();
    crate::log::spawn(async move {
        let turn = RENDER_TURNS.acquire().await;
        let lock = working_on(&intent_id);
        let working = lock.lock().await;
        if still_pending(&state, &intent_id).await {
            job(state.clone()).await;
        }
        drop((working, turn));
        state.metrics.einvoice_backlog.dec();
    });
}

/// Whether the intent's e-invoice is still to be stored.
pub async fn still_pending(state: &Shared, intent_id: &str) -> bool {
    const PENDING: &str = "SELECT einvoice_pending FROM payment_intents WHERE id = $1";
    match state.store.query(PENDING, vec![intent_id.into()]).await {
        Ok(rows) => rows
            .first()
            .and_then(|r| r.first())
            .and_then(crate::store::SqlValue::as_i64)
            .is_some_and(|p| p != 0),
        Err(_) => false,
    }
}

/// Waits (at most `limit`) until the e-invoice of the invoice or credit note `document` is
/// stored: `true` when it is (or none is pending). For a flow below the renderers' callers
/// (a dunning attempt): it does not render, the background renderer or a reader does.
pub async fn wait_stored(state: &Shared, document: &str, limit: std::time::Duration) -> bool {
    let started = std::time::Instant::now();
    loop {
        let pending = match state.store.pending_einvoice(document).await {
            Ok(p) => p,
            Err(_) => return false,
        };
        let Some(intent) = pending else {
            return true;
        };
        // Whoever renders it in this process holds its lock until it is stored.
        drop(working_on(&intent.id).lock().await);
        if !still_pending(state, &intent.id).await {
            return true;
        }
        if started.elapsed() >= limit {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

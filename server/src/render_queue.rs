//! The background renderer's shared parts (issue 13 §10): e-invoices (Factur-X PDF/A-3, CII,
//! UBL; about 5 ms of one core each in a release build) are rendered after the answer, once
//! their invoice or credit note is committed.
//!
//! - One-off charges (crate::intent) render theirs on threads at the lowest scheduling
//!   priority ([`render_idle`]: Linux `SCHED_IDLE`), and start only when no charge is in
//!   flight in this process, so rendering and storing e-invoices never compete with charges:
//!   under a sustained stream of charges the renders wait, and the backlog grows
//!   (`billcalc_einvoice_render_backlog` up to [`RENDER_QUEUE_CAP`], then `einvoice_pending`
//!   rows for the recovery) until the stream pauses.
//!   Such a render holds no lock: a reader of the invoice meanwhile renders it itself at its
//!   own priority, and the store is conditional (the first one stored is the one kept).
//! - Subscription invoices and credit notes (crate::payment_step, crate::credit_note) take
//!   turns here ([`in_background`]) at normal priority, each under its intent's lock, which a
//!   reader of the document takes too (it waits for the rendering or performs it).

use crate::state::Shared;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// How many e-invoices render at once (`BILLCALC_RENDER_THREADS`): each is CPU-bound (about
/// 5 ms of one core in a release build).
fn configured_threads() -> Option<usize> {
    std::env::var("BILLCALC_RENDER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n >= 1)
}

/// The renderer's turns for subscription invoices and credit notes (at normal priority, on the
/// blocking pool; default 1), first come first served (tokio's semaphore is fair), so
/// e-invoices come out in the order their documents were committed.
pub static RENDER_TURNS: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(configured_threads().unwrap_or(1)));

/// The charges' renderer threads ([`render_idle`]; default one per core): they run at the
/// lowest scheduling priority, so they take only the CPU nothing else wants.
fn idle_threads() -> usize {
    configured_threads()
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

type RenderJob = Box<dyn FnOnce() + Send>;

/// The idle-priority renderer: [`idle_threads`] OS threads named `billcalc-render`, taking
/// jobs first come first served from one queue.
struct IdleRenderer {
    jobs: Mutex<std::sync::mpsc::Sender<RenderJob>>,
}

static IDLE_RENDERER: LazyLock<Option<IdleRenderer>> = LazyLock::new(|| {
    let (jobs, queue) = std::sync::mpsc::channel::<RenderJob>();
    let queue = Arc::new(Mutex::new(queue));
    let mut started = 0;
    for i in 0..idle_threads() {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name("billcalc-render".into())
            .spawn(move || {
                lowest_priority(i == 0);
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    wait_for_no_charge_in_flight();
                    job();
                }
            });
        if spawned.is_ok() {
            started += 1;
        }
    }
    (started > 0).then(|| IdleRenderer {
        jobs: Mutex::new(jobs),
    })
});

/// Charges this process is working on (between the request's parse and its answer).
static CHARGES_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Counts a charge in flight while it lives: the idle renderer starts no render meanwhile.
pub struct ChargeInFlight(());

impl ChargeInFlight {
    pub fn start() -> ChargeInFlight {
        CHARGES_IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        ChargeInFlight(())
    }
}

impl Drop for ChargeInFlight {
    fn drop(&mut self) {
        CHARGES_IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A render starts only when no charge is in flight. The lowest CPU priority alone does not
/// keep renders out of the charges' way: a charge spends most of its time waiting for the
/// database (its commits' fsyncs), so a machine serving charges has idle CPU, and each
/// rendered e-invoice is then stored (about 95 KB written through SQLite's one writer, which
/// every charge's two commits wait for). Measured on 2 cores: with SCHED_IDLE alone the
/// renderer kept up with the charges and the charges fell from 475/s to 296/s (p99 81 → 273
/// ms). So under a sustained stream of charges nothing is rendered, and the backlog waits
/// for the first pause (see the module doc). Checked every millisecond: the thread sleeps
/// meanwhile.
fn wait_for_no_charge_in_flight() {
    while CHARGES_IN_FLIGHT.load(Ordering::SeqCst) > 0 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Puts the calling thread at the lowest scheduling priority there is: Linux's `SCHED_IDLE`
/// (it runs only when no normal thread wants the CPU), else a nice value of 19 for this
/// thread. On other systems it stays as it is.
fn lowest_priority(log: bool) {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain system calls on the calling thread (pid 0 / its own tid), no memory
        // shared with the kernel beyond `param`, which outlives the call.
        let idle = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0;
        if !idle {
            let tid = unsafe { libc::gettid() };
            let niced =
                unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19) } == 0;
            if log {
                crate::log::info(
                    "e-invoice renderer: SCHED_IDLE refused",
                    serde_json::json!({"nice_19": niced}),
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = log;
}

/// Runs `render` on the idle-priority renderer threads and waits for its result (`None` if
/// it panicked or no renderer thread could be started). For work nobody is waiting for: under
/// a sustained load that takes every core, it waits until the load stops. A reader that needs
/// the result now renders at its own priority instead.
pub async fn render_idle<T, F>(render: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let renderer = IDLE_RENDERER.as_ref()?;
    let (done, result) = tokio::sync::oneshot::channel();
    let job: RenderJob = Box::new(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(render));
        if let Ok(value) = outcome {
            let _ = done.send(value);
        }
    });
    renderer
        .jobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(job)
        .ok()?;
    result.await.ok()
}

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

#[cfg(test)]
mod tests {
    use super::{render_idle, ChargeInFlight};
    use std::time::Duration;

    #[tokio::test]
    async fn the_idle_renderer_waits_for_the_charges_in_flight_then_renders() {
        let charge = ChargeInFlight::start();
        let render = tokio::spawn(render_idle(|| 42));
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            !render.is_finished(),
            "rendered while a charge was in flight"
        );
        drop(charge);
        let rendered = tokio::time::timeout(Duration::from_secs(10), render)
            .await
            .expect("rendered once no charge is in flight")
            .expect("the task");
        assert_eq!(rendered, Some(42));
    }

    #[tokio::test]
    async fn a_render_that_panics_answers_none_and_the_renderer_goes_on() {
        assert_eq!(
            render_idle(|| -> i32 { panic!("a bad document") }).await,
            None
        );
        assert_eq!(render_idle(|| 7).await, Some(7));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_renderer_threads_run_at_sched_idle() {
        let policy = render_idle(|| unsafe { libc::sched_getscheduler(0) }).await;
        assert_eq!(policy, Some(libc::SCHED_IDLE));
    }
}

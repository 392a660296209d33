//! `billcalc-server --config FILE [--listen ADDR] [--serve PREFIX=DIR]...`
//!
//! Secrets and the database come from the environment (see `billcalc_server::config`). Prints
//! `billcalc-server listening on http://ADDR` once bound; stops cleanly on SIGINT or SIGTERM.

use billcalc_server::app;
use billcalc_server::clock::SystemClock;
use billcalc_server::config::{self, Secrets};
use billcalc_server::gateway::{PaymentGateway, TestGateway};
use billcalc_server::gateway_http::HttpGateway;
use billcalc_server::state::AppState;
use billcalc_server::{log, store};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: billcalc-server --config FILE [--listen ADDR (default 127.0.0.1:8080)] [--serve PREFIX=DIR]...

environment: BILLCALC_PUBLISHABLE_KEY, BILLCALC_SECRET_KEY, BILLCALC_SIGNING_KEY (required);
             DATABASE_URL (postgres://… or a SQLite path, default sqlite://billcalc.db);
             BILLCALC_DEMO_CHECKOUT=1 (demo only); BILLCALC_LOG_REQUESTS=0 (no request log);
             BILLCALC_RENEWAL_INTERVAL_SECONDS (issue due renewals, retries and reminders this often, default 60; 0: never);
             BILLCALC_DELIVERY_INTERVAL_SECONDS (send webhooks and emails this often, default 5; 0: never);
             BILLCALC_SMTP_URL (smtp://host:port, smtps://user:pass@host, …);
             BILLCALC_SHUTDOWN_UNREADY_SECONDS (on SIGTERM, how long to keep serving with /readyz answering 503
               before the listener closes, for load balancers that poll readiness; default 0);
             BILLCALC_DRAIN_TIMEOUT_SECONDS (then, how long requests in flight may finish, default 30)";

struct Args {
    config: PathBuf,
    listen: String,
    serve: Vec<(String, PathBuf)>,
}

fn parse_args() -> Result<Args, String> {
    let mut config = std::env::var("BILLCALC_CONFIG").ok().map(PathBuf::from);
    let mut listen = std::env::var("BILLCALC_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut serve = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--listen" => listen = value("--listen")?,
            "--serve" => {
                let v = value("--serve")?;
                let (prefix, dir) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--serve {v}: expected PREFIX=DIR"))?;
                if !prefix.starts_with('/') || !prefix.ends_with('/') || prefix.starts_with("/v1/")
                {
                    return Err(format!(
                        "--serve {v}: PREFIX must start and end with '/' and not be under /v1/"
                    ));
                }
                serve.push((prefix.to_string(), PathBuf::from(dir)));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    // Longest prefix first, so /pkg/ wins over /.
    serve.sort_by_key(|m: &(String, PathBuf)| std::cmp::Reverse(m.0.len()));
    Ok(Args {
        config: config.ok_or("--config is required")?,
        listen,
        serve,
    })
}

/// A duration in seconds (0 to 3600, fractions allowed) from the environment, or `default`.
fn seconds_var(name: &str, default: Duration) -> Result<Duration, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 3600.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("{name}={v}: expected seconds")),
        Err(_) => Ok(default),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("cannot read {}: {e}", args.config.display()))?;
    let loaded = config::load(&text)?;
    let secrets = Secrets::from_env()?;
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://billcalc.db".into());
    let store = store::open(&url)
        .await
        .map_err(|e| format!("database {}: {e}", store::describe(&url)))?;
    // The payment gateway: Stripe-shaped over HTTP when BILLCALC_GATEWAY_URL is set (the
    // simulator, `gateway-sim`), else the built-in deterministic test gateway.
    let (gateway, gateway_name): (Arc<dyn PaymentGateway>, String) = match HttpGateway::from_env()?
    {
        // Without the scheme: scripts read the first "http://" of this line as ours.
        Some(g) => (
            Arc::new(g),
            std::env::var("BILLCALC_GATEWAY_URL")
                .unwrap_or_default()
                .replace("://", " "),
        ),
        None => (Arc::new(TestGateway::new()), "test".into()),
    };
    let mut state = AppState::new(loaded, secrets, store, gateway, Arc::new(SystemClock));
    state.statics = args.serve;
    state.demo_checkout = std::env::var("BILLCALC_DEMO_CHECKOUT").is_ok_and(|v| v == "1");
    state.log_requests = std::env::var("BILLCALC_LOG_REQUESTS").map_or(true, |v| v != "0");
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    state.metrics_token = std::env::var("BILLCALC_METRICS_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    // The first line: scripts wait for "listening on http://ADDR".
    log::info(
        &format!("billcalc-server listening on http://{address}"),
        json!({
            "database": store::describe(&url),
            "engine": billcalc::VERSION,
            "gateway": gateway_name,
            "demo_checkout": state.demo_checkout,
            "pid": std::process::id(),
        }),
    );
    let state = Arc::new(state);
    // Charges a crash left between their steps are finished right away, next to serving
    // (crate::intent): an unreachable gateway must not keep the server from starting.
    {
        let state = state.clone();
        tokio::spawn(async move {
            billcalc_server::intent::recover(&state, state.clock.now()).await;
            // What the recovery could not finish, and stays so: a person must look.
            billcalc_server::payment_intents::report(&state, state.clock.now()).await;
        });
    }
    let interval = match std::env::var("BILLCALC_RENEWAL_INTERVAL_SECONDS") {
        Ok(v) => v
            .parse::<u64>()
            .map_err(|_| format!("BILLCALC_RENEWAL_INTERVAL_SECONDS={v}: expected seconds"))?,
        Err(_) => 60,
    };
    let drain = seconds_var("BILLCALC_DRAIN_TIMEOUT_SECONDS", app::DRAIN_TIMEOUT)?;
    let unready = seconds_var("BILLCALC_SHUTDOWN_UNREADY_SECONDS", Duration::ZERO)?;
    // The background loops finish the run they are in when the server stops (a renewal or a
    // delivery is never cut half way by the shutdown), and start no other.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut loops = Vec::new();
    if interval > 0 {
        let state = state.clone();
        loops.push(tokio::spawn(until_stopped(
            stopped.clone(),
            interval,
            move || renewal_run(state.clone()),
        )));
    }
    let delivery = match std::env::var("BILLCALC_DELIVERY_INTERVAL_SECONDS") {
        Ok(v) => v
            .parse::<u64>()
            .map_err(|_| format!("BILLCALC_DELIVERY_INTERVAL_SECONDS={v}: expected seconds"))?,
        Err(_) => 5,
    };
    if delivery > 0 {
        let state = state.clone();
        loops.push(tokio::spawn(until_stopped(stopped, delivery, move || {
            let state = state.clone();
            async move {
                billcalc_server::automation::deliver_and_log(&state).await;
            }
        })));
    }
    // On SIGTERM: first (when asked) unready — `/readyz` answers 503 while everything else is
    // served as before, so a load balancer that polls readiness takes the instance out before
    // its connections are refused; then the listener closes and the drain begins.
    let draining_since = Arc::new(std::sync::OnceLock::new());
    let shutdown = {
        let (state, since) = (state.clone(), draining_since.clone());
        async move {
            shutdown_signal().await;
            if !unready.is_zero() {
                state.draining.store(true, Ordering::SeqCst);
                log::info(
                    "shutdown: unready",
                    json!({"seconds": unready.as_secs_f64()}),
                );
                tokio::time::sleep(unready).await;
            }
            let _ = since.set(Instant::now());
        }
    };
    let served = app::serve_draining(listener, state, shutdown, drain).await;
    let _ = stop.send(true);
    // What is left of the drain cap, counted from the listener's close.
    let spent = draining_since
        .get()
        .map_or(Duration::ZERO, Instant::elapsed);
    let left = drain.saturating_sub(spent);
    for handle in loops {
        // Within what is left of the drain (at least a second).
        let _ = tokio::time::timeout(left.max(Duration::from_secs(1)), handle).await;
    }
    log::info("shutdown: stopped", json!({}));
    served.map_err(|e| format!("server: {e}"))
}

/// How long an unfinished charge is left to the request that runs it before the loop's
/// recovery finishes it (a recovery racing a request is safe, only wasted work).
const INTENT_GRACE_SECONDS: i64 = 30;

/// Runs `run` every `interval` seconds until `stopped` turns true; a run in progress is
/// finished, never cancelled.
async fn until_stopped<F, Fut>(
    mut stopped: tokio::sync::watch::Receiver<bool>,
    interval: u64,
    mut run: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        run().await;
    }
}

/// One run of the renewal loop: issues the renewals due at the server's clock (each renewal is
/// keyed by subscription and period, so several instances running this at once issue it once),
/// then dunning retries and reminders.
async fn renewal_run(state: Arc<AppState>) {
    {
        let now = state.clock.now();
        // Charges left unfinished (their gateway did not answer, or another instance died
        // between two steps), once no request has touched them for a while.
        billcalc_server::intent::recover(&state, now - INTENT_GRACE_SECONDS).await;
        billcalc_server::payment_intents::report(&state, now).await;
        match billcalc_server::subscription::run_renewals(&state, now).await {
            Ok(report) => {
                let issued = report["issued"].as_array().map_or(&[][..], Vec::as_slice);
                let failed = report["failed"].as_array().map_or(0, Vec::len);
                let oldest_due = issued.iter().filter_map(|r| r["period_end"].as_i64()).min();
                let m = &state.metrics;
                m.renewal_lag
                    .set(oldest_due.map_or(0, |due| (now - due).max(0)) as f64);
                m.renewal_last_run.set(state.clock.now() as f64);
                m.renewals
                    .with_label_values(&["issued"])
                    .inc_by(issued.len() as u64);
                m.renewals
                    .with_label_values(&["failed"])
                    .inc_by(failed as u64);
                if !issued.is_empty() || failed > 0 {
                    log::info(
                        "renewals",
                        json!({"issued": issued.len(), "failed": failed}),
                    );
                }
            }
            Err(e) => log::error("renewals", json!({"error": e.message})),
        }
        // Dunning retries and reminders (crate::automation).
        let report = billcalc_server::automation::tick(&state, now).await;
        let retried = report
            .pointer("/dunning/attempts")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        if retried > 0 {
            println!("billcalc-server: dunning: {retried} attempts");
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("billcalc-server: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

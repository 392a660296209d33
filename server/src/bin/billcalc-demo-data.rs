//! Fills a database with the deterministic demo history of a small SaaS
//! (`billcalc_server::demo_data`), once: a database that already holds it is left as
//! it is. Usage: `billcalc-demo-data --config server/config/demo.json [--customers 300]
//! [--months 18] [--seed 16]`; `DATABASE_URL` and the `BILLCALC_*` keys as for the server.

use billcalc_server::clock::{Clock, ManualClock, SystemClock};
use billcalc_server::config::{self, Secrets};
use billcalc_server::demo_data::{self, Options};
use billcalc_server::gateway::TestGateway;
use billcalc_server::state::AppState;
use billcalc_server::store;
use std::process::ExitCode;
use std::sync::Arc;

async fn run() -> Result<(), String> {
    let mut config_path = String::from("server/config/demo.json");
    let mut options = Options {
        customers: 300,
        months: 18,
        seed: 16,
        until: SystemClock.now(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--config" => config_path = value()?,
            "--customers" => {
                options.customers = value()?.parse().map_err(|_| "--customers: a number")?
            }
            "--months" => options.months = value()?.parse().map_err(|_| "--months: a number")?,
            "--seed" => options.seed = value()?.parse().map_err(|_| "--seed: a number")?,
            "--until" => options.until = value()?.parse().map_err(|_| "--until: Unix seconds")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !(12..=24).contains(&options.months) {
        return Err("--months must be between 12 and 24".into());
    }
    let text = std::fs::read_to_string(&config_path)
        .map_err(|e| format!("cannot read {config_path}: {e}"))?;
    // The simulation sends a few thousand requests in seconds: no rate limit for it.
    let mut file: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    file["http"]["rate_limit"] = serde_json::json!({
        "publishable_per_second": 1_000_000, "publishable_burst": 1_000_000,
        "secret_per_second": 1_000_000, "secret_burst": 1_000_000});
    let loaded = config::load(&file.to_string())?;
    let secrets = Secrets::from_env()?;
    let secret_key = secrets.secret_key.clone();
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://billcalc.db".into());
    let store = store::open(&url)
        .await
        .map_err(|e| format!("database {}: {e}", store::describe(&url)))?;
    let existing = store.all_subscriptions().await.map_err(|e| e.to_string())?;
    if existing
        .iter()
        .any(|s| s.customer_id.starts_with("cus_saas_"))
    {
        println!(
            "billcalc-demo-data: {} already holds the demo history",
            store::describe(&url)
        );
        return Ok(());
    }
    let clock = Arc::new(ManualClock::new(options.until));
    let mut state = AppState::new(
        loaded,
        secrets,
        store,
        Arc::new(TestGateway::new()),
        clock.clone(),
    );
    state.log_requests = false;
    // History, not news: no emails to the generated customers (issue 15's outbox).
    state.email.enabled = false;
    let started = std::time::Instant::now();
    let summary = demo_data::generate(state, clock, &secret_key, &options).await?;
    println!(
        "billcalc-demo-data: {} months, {} customers, {} subscriptions ({} trials, {} reactivations), {} changes, {} cancellations, {} declining cards, {} renewals, {} payment retries, {} requests in {:.1} s",
        options.months, summary.customers, summary.subscriptions, summary.trials, summary.reactivations,
        summary.changes, summary.cancellations, summary.declined_cards, summary.renewals, summary.retries,
        summary.requests, started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("billcalc-demo-data: {e}");
            ExitCode::from(2)
        }
    }
}

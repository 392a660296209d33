//! Stuck payment intents are visible (issue 13 §6): an intent whose outcome cannot be recorded
//! after the money moved — here the gateway takes the money and never answers, on every ask —
//! is counted in `/metrics` (`billcalc_payment_intents_stuck`, the oldest one's age), logged
//! after the recovery's pass ("payment intents stuck") and listed by
//! `GET /v1/payment_intents?stuck=true` (secret key, Stripe's list shape). Once the gateway
//! answers again, the recovery records each payment once and nothing is stuck any more.
//! The real binary against the gateway simulator process, on a real SQLite file and a real
//! PostgreSQL; `BILLCALC_STUCK_INTENT_SECONDS=4`.

mod common;

use common::{sim_ledger, Backend, GatewaySim, ServerProcess, PK, SK};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

fn start(url: &str, config: &Path, sim: SocketAddr) -> ServerProcess {
    ServerProcess::with_gateway_and(
        url,
        config,
        sim,
        800,
        &[("BILLCALC_STUCK_INTENT_SECONDS", "4")],
    )
}

async fn faults(sim: SocketAddr, faults: Value) {
    common::sim_faults(sim, &faults).await;
}

async fn get(addr: SocketAddr, path: &str, key: &str) -> common::Resp {
    common::request(
        addr,
        "GET",
        path,
        &[("authorization", &format!("Bearer {key}"))],
        None,
    )
    .await
}

async fn list(addr: SocketAddr, query: &str) -> Value {
    let r = get(addr, &format!("/v1/payment_intents{query}"), SK).await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.json()
}

/// A metric's value in `/metrics`.
async fn metric(addr: SocketAddr, name: &str) -> i64 {
    let r = get(addr, "/metrics", SK).await;
    assert_eq!(r.status, 200);
    r.body
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

async fn until<F, Fut>(what: &str, limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The simulator's succeeded charges: `(amount, the server's intent)`.
async fn charged(sim: SocketAddr) -> Vec<(i64, String)> {
    sim_ledger(sim).await["payment_intents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "succeeded")
        .map(|i| {
            (
                i["amount"].as_i64().unwrap(),
                i["metadata"]["billcalc_intent"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

async fn stuck_intents_are_counted_logged_and_listed(backend: Backend) {
    let url = database_or_skip!(backend, "stuck_intents");
    let config = common::config_file(&format!("stuck-intents-{backend:?}"));
    let sim = GatewaySim::spawn(&json!({}));
    let server = start(&url, &config, sim.addr);
    // Nothing stuck on a fresh database.
    assert_eq!(
        metric(server.addr, "billcalc_payment_intents_stuck").await,
        0
    );

    // The gateway takes the money and never answers, whoever asks.
    faults(sim.addr, json!({"timeout_after_charge_every": 1})).await;
    let quote = common::post(
        server.addr,
        "/v1/quotes",
        PK,
        &json!({"cart": common::cart()}),
        &[],
    )
    .await;
    let total = quote.json()["quote"]["total"].as_i64().unwrap();
    let body = common::charge_body(&common::cart(), total);
    let r = common::post(
        server.addr,
        "/v1/charges",
        SK,
        &body,
        &[("idempotency-key", "stuck-charge")],
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.body);
    let subscription = common::subscriber("cus_stuck", "pm_card_visa");
    let r = common::post(
        server.addr,
        "/v1/subscriptions",
        SK,
        &subscription,
        &[("idempotency-key", "stuck-sub")],
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.body);
    let taken = charged(sim.addr).await;
    assert_eq!(taken.len(), 2, "the simulator took both payments");

    // Processing, not stuck yet.
    let processing = list(server.addr, "?status=processing").await;
    assert_eq!(processing["object"], "list");
    assert_eq!(processing["url"], "/v1/payment_intents");
    let data = processing["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{processing}");
    // Stuck exactly when processing for the threshold or longer.
    for i in data {
        assert_eq!(
            i["stuck"].as_bool().unwrap(),
            i["processing_seconds"].as_i64().unwrap() >= 4,
            "{i}"
        );
    }
    // Each names what it pays for, its amount (what the gateway took) and its key.
    let mut operations: Vec<(&str, i64, &str)> = data
        .iter()
        .map(|i| {
            (
                i["operation"].as_str().unwrap(),
                i["amount"].as_i64().unwrap(),
                i["idempotency_key"].as_str().unwrap(),
            )
        })
        .collect();
    operations.sort();
    let mut expected: Vec<(i64, &str)> = taken
        .iter()
        .map(|(amount, intent)| {
            let listed = data.iter().find(|i| i["id"] == intent.as_str()).unwrap();
            (*amount, listed["operation"].as_str().unwrap())
        })
        .collect();
    expected.sort_by_key(|(_, op)| *op);
    assert_eq!(
        operations
            .iter()
            .map(|(op, amount, _)| (*amount, *op))
            .collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        operations
            .iter()
            .map(|(op, _, key)| (*op, *key))
            .collect::<Vec<_>>(),
        vec![
            ("charge", "stuck-charge"),
            ("subscription_create", "stuck-sub")
        ]
    );
    for i in data {
        assert_eq!(i["object"], "payment_intent");
        assert_eq!(i["status"], "processing");
        assert_eq!(i["currency"], "eur");
        assert_eq!(i["latest_charge"], Value::Null);
    }

    // Four seconds later both are stuck: counted, listed, each retrievable.
    let addr = server.addr;
    until("never stuck", Duration::from_secs(30), || async {
        list(addr, "?stuck=true").await["data"]
            .as_array()
            .unwrap()
            .len()
            == 2
    })
    .await;
    assert_eq!(
        metric(server.addr, "billcalc_payment_intents_stuck").await,
        2
    );
    let age = metric(
        server.addr,
        "billcalc_payment_intent_stuck_oldest_age_seconds",
    )
    .await;
    assert!((4..60).contains(&age), "oldest age {age}");
    let stuck = list(server.addr, "?stuck=true").await;
    let data = stuck["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{stuck}");
    assert!(data
        .iter()
        .all(|i| i["stuck"] == true && i["processing_seconds"].as_i64().unwrap() >= 4));
    // Newest first, a page at a time.
    let first = list(server.addr, "?stuck=true&limit=1").await;
    assert_eq!(first["has_more"], true);
    assert_eq!(first["data"][0]["id"], data[0]["id"]);
    let next = list(
        server.addr,
        &format!(
            "?stuck=true&limit=1&starting_after={}",
            data[0]["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(next["has_more"], false);
    assert_eq!(next["data"][0]["id"], data[1]["id"]);
    assert!(data[0]["created"].as_i64() >= data[1]["created"].as_i64());
    let one = get(
        server.addr,
        &format!("/v1/payment_intents/{}", data[1]["id"].as_str().unwrap()),
        SK,
    )
    .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.json()["id"], data[1]["id"]);
    assert_eq!(one.json()["operation"], data[1]["operation"]);
    // The secret key only; bad filters are 400 with their path.
    let r = get(server.addr, "/v1/payment_intents?stuck=true", PK).await;
    assert_eq!(r.status, 403, "{}", r.body);
    for (query, path) in [
        ("?status=pending", "status"),
        ("?stuck=yes", "stuck"),
        ("?limit=0", "limit"),
        ("?stuck=true&status=succeeded", "status"),
    ] {
        let r = get(server.addr, &format!("/v1/payment_intents{query}"), SK).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.json()["error"]["path"], path, "{query}");
    }
    let r = get(server.addr, "/v1/payment_intents/pi_nothing", SK).await;
    assert_eq!(r.status, 404);

    // Restarted while the gateway still never answers: the start-up recovery asks again, fails,
    // and says so.
    server.kill();
    let server = start(&url, &config, sim.addr);
    let addr = server.addr;
    until(
        "no 'payment intents stuck' log line",
        Duration::from_secs(60),
        || async { server.log_has("payment intents stuck") },
    )
    .await;
    let line = server
        .log
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("\"msg\":\"payment intents stuck\""))
        .cloned()
        .unwrap();
    let line: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["count"], 2, "{line}");
    assert_eq!(line["intents"].as_array().unwrap().len(), 2, "{line}");
    assert_eq!(metric(addr, "billcalc_payment_intents_stuck").await, 2);
    assert_eq!(
        charged(sim.addr).await.len(),
        2,
        "asking again charged nothing more"
    );

    // The gateway answers again: the next start-up's recovery records both, once.
    faults(sim.addr, json!({})).await;
    server.kill();
    let server = start(&url, &config, sim.addr);
    let addr = server.addr;
    until(
        "the recovery did not record the payments",
        Duration::from_secs(60),
        || async { list(addr, "?status=processing").await["data"] == json!([]) },
    )
    .await;
    assert_eq!(metric(addr, "billcalc_payment_intents_stuck").await, 0);
    assert_eq!(
        metric(addr, "billcalc_payment_intent_stuck_oldest_age_seconds").await,
        0
    );
    let all = list(addr, "").await;
    let data = all["data"].as_array().unwrap();
    assert!(data
        .iter()
        .all(|i| i["status"] == "succeeded" && i["stuck"] == false));
    assert_eq!(charged(sim.addr).await.len(), 2, "no double charge");
    for (_, intent) in charged(sim.addr).await {
        let i = get(addr, &format!("/v1/payment_intents/{intent}"), SK)
            .await
            .json();
        assert_eq!(i["status"], "succeeded", "{i}");
        assert!(i["latest_charge"].is_string(), "{i}");
        assert!(i["invoice"].is_string(), "{i}");
    }
}

on_both_databases!(stuck_intents_are_counted_logged_and_listed);

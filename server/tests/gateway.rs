//! Issue 13 §6: charges against a remote gateway that misbehaves. The gateway simulator
//! (`gateway-sim`, Stripe's PaymentIntents shape) runs as its own process, the server is the
//! real binary with `BILLCALC_GATEWAY_URL`, on a real SQLite file and a real PostgreSQL.
//!
//! * Faults (latency, 500 before charging, a timeout after charging, a request delivered twice)
//!   while clients retry with their keys: every charge the simulator took is recorded once by
//!   the server, every acknowledged charge was taken once, declines take nothing, numbers are
//!   gapless, replays answer the original.
//! * The server SIGKILLed after the gateway took the money and before the outcome was recorded:
//!   the restarted server's start-up recovery records it (no client retry needed), once.

mod common;

use common::{sim_ledger, Backend, GatewaySim, ServerProcess, SK};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The simulator's succeeded intents: charge id → the server intent it was for.
fn sim_charges(ledger: &Value) -> BTreeMap<String, String> {
    ledger["payment_intents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "succeeded")
        .map(|i| {
            (
                i["latest_charge"]["id"].as_str().unwrap().to_string(),
                i["metadata"]["billcalc_intent"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

fn config_file(name: &str, backend: Backend) -> PathBuf {
    let config = std::env::temp_dir().join(format!(
        "billcalc-{name}-{}-{:?}.json",
        std::process::id(),
        backend
    ));
    std::fs::write(&config, common::test_config().to_string()).unwrap();
    config
}

async fn charge(addr: SocketAddr, key: &str, body: &Value) -> std::io::Result<common::Resp> {
    let headers = [
        ("authorization", format!("Bearer {SK}")),
        ("content-type", "application/json".to_string()),
        ("idempotency-key", key.to_string()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    common::try_request(
        addr,
        "POST",
        "/v1/charges",
        &headers,
        Some(body.to_string().as_bytes()),
    )
    .await
}

async fn faults_take_each_charge_once(backend: Backend) {
    let url = database_or_skip!(backend, "gateway_faults");
    let config = config_file("gateway-faults", backend);
    // Request n (create calls, in arrival order): every 3rd is delivered twice, every 4th
    // charges and never answers, every 5th is a 500 before anything happens; 2 ms latency.
    let sim = GatewaySim::spawn(&json!({
        "latency_ms": 2,
        "duplicate_every": 3,
        "timeout_after_charge_every": 4,
        "error_5xx_every": 5,
    }));
    let server = ServerProcess::with_gateway(&url, &config, sim.addr, 400);
    let cart = common::cart();
    let quote = common::post(
        server.addr,
        "/v1/quotes",
        common::PK,
        &json!({"cart": cart}),
        &[],
    )
    .await;
    let total = quote.json()["quote"]["total"].as_i64().unwrap();

    // 4 workers × 8 charges; every 8th declines. Each key is retried until it has an answer.
    let mut workers = Vec::new();
    for w in 0..4 {
        let (cart, addr) = (cart.clone(), server.addr);
        workers.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for i in 0..8 {
                let mut body = common::charge_body(&cart, total);
                let declines = i == 7;
                if declines {
                    body["payment_method"] = json!("pm_card_chargeDeclined");
                }
                let key = format!("gw-{w}-{i}");
                let mut tries = 0;
                let answer = loop {
                    tries += 1;
                    assert!(tries <= 20, "{key}: no final answer after 20 tries");
                    match charge(addr, &key, &body).await {
                        Ok(r) if r.status == 200 || r.status == 402 => break r,
                        Ok(r) if r.status == 503 => {
                            assert_eq!(r.code(), "payment_gateway_unavailable", "{}", r.body)
                        }
                        Ok(r) => panic!("{key}: unexpected {}: {}", r.status, r.body),
                        Err(e) => panic!("{key}: {e}"),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                };
                answers.push((key, declines, answer));
            }
            answers
        }));
    }
    let mut acked = BTreeMap::new();
    let mut declined = Vec::new();
    for w in workers {
        for (key, declines, r) in w.await.unwrap() {
            if declines {
                assert_eq!(r.status, 402, "{key}: {}", r.body);
                assert_eq!(r.code(), "card_declined");
                declined.push(key);
            } else {
                assert_eq!(r.status, 200, "{key}: {}", r.body);
                let v = r.json();
                acked.insert(key, v);
            }
        }
    }
    assert_eq!(acked.len(), 28);
    assert_eq!(declined.len(), 4);

    let ledger = sim_ledger(sim.addr).await;
    let taken = sim_charges(&ledger);
    // Every fault fired.
    assert!(
        ledger["requests"].as_u64().unwrap() >= 40,
        "{}",
        ledger["requests"]
    );
    // No double charge: one gateway charge per acknowledged charge, each for a distinct intent.
    assert_eq!(taken.len(), acked.len(), "gateway charges vs acknowledged");
    let intents: BTreeSet<&String> = taken.values().collect();
    assert_eq!(intents.len(), taken.len(), "an intent charged twice");
    // No lost charge: every charge the gateway took is the payment of an acknowledged invoice.
    let store = billcalc_server::store::open(&url).await.unwrap();
    let payments = store.payments().await.unwrap();
    let paid: BTreeSet<String> = payments.iter().map(|p| p.id.clone()).collect();
    let expected: BTreeSet<String> = taken.keys().cloned().collect();
    assert_eq!(paid, expected, "server payments vs gateway charges");
    let acked_ids: BTreeSet<String> = acked
        .values()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        acked_ids, expected,
        "acknowledged charge ids vs gateway charges"
    );
    for p in &payments {
        assert_eq!(p.amount, total);
        assert_eq!(p.gateway, "stripe-http");
    }
    // Gapless numbers; declines took none.
    let series = acked.values().next().unwrap()["invoice"]["number"]
        .as_str()
        .unwrap()
        .split('-')
        .next()
        .unwrap()
        .to_string();
    let numbers = store.invoice_numbers(&series).await.unwrap();
    assert_eq!(numbers, (1..=28).collect::<Vec<i64>>());
    // Replays answer the original, without a gateway call.
    let before = sim_ledger(sim.addr).await["requests"].as_u64().unwrap();
    for (key, v) in acked.iter().take(4) {
        let body = common::charge_body(&cart, total);
        let r = charge(server.addr, key, &body).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("idempotent-replayed"), Some("true"));
        assert_eq!(r.json()["invoice"]["id"], v["invoice"]["id"]);
    }
    for key in &declined {
        let mut body = common::charge_body(&cart, total);
        body["payment_method"] = json!("pm_card_chargeDeclined");
        let r = charge(server.addr, key, &body).await.unwrap();
        assert_eq!(r.status, 402);
        assert_eq!(r.header("idempotent-replayed"), Some("true"));
    }
    assert_eq!(
        sim_ledger(sim.addr).await["requests"].as_u64().unwrap(),
        before
    );
    // Every e-invoice is rendered and stored after its commit (in the background, after the
    // answer: waited for here, bounded).
    for v in acked.values().take(3) {
        let id = v["invoice"]["id"].as_str().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let record = store.invoice(id).await.unwrap().unwrap();
            let doc: Value = serde_json::from_str(&record.document).unwrap();
            if doc["einvoice"]["cii"]["sha256"].is_string() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no e-invoice on {id} after 60 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn killed_between_gateway_and_record(backend: Backend) {
    let url = database_or_skip!(backend, "gateway_kill");
    let config = config_file("gateway-kill", backend);
    // The gateway charges, then holds its answer: the server waits (30 s timeout).
    let sim = GatewaySim::spawn(&json!({"timeout_after_charge_every": 1}));
    let server = ServerProcess::with_gateway(&url, &config, sim.addr, 30_000);
    let cart = common::cart();
    let quote = common::post(
        server.addr,
        "/v1/quotes",
        common::PK,
        &json!({"cart": cart}),
        &[],
    )
    .await;
    let total = quote.json()["quote"]["total"].as_i64().unwrap();
    let body = common::charge_body(&cart, total);
    let addr = server.addr;
    let in_flight = {
        let body = body.clone();
        tokio::spawn(async move { charge(addr, "kill-1", &body).await })
    };
    // Wait until the gateway has taken the money, then SIGKILL the server.
    let started = Instant::now();
    loop {
        if sim_charges(&sim_ledger(sim.addr).await).len() == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the gateway was never called"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    assert!(
        in_flight.await.unwrap().is_err(),
        "the killed server answered"
    );
    let store = billcalc_server::store::open(&url).await.unwrap();
    assert!(
        store.payments().await.unwrap().is_empty(),
        "recorded before the kill?"
    );

    // Restart (the gateway answers again): start-up recovery records the charge by itself.
    common::sim_faults(sim.addr, &json!({})).await;
    let second = ServerProcess::with_gateway(&url, &config, sim.addr, 2_000);
    let started = Instant::now();
    let payments = loop {
        let p = store.payments().await.unwrap();
        if !p.is_empty() {
            break p;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "start-up recovery did not record the charge"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ledger = sim_ledger(sim.addr).await;
    let taken = sim_charges(&ledger);
    assert_eq!(taken.len(), 1, "charged twice: {ledger}");
    assert_eq!(ledger["payment_intents"].as_array().unwrap().len(), 1);
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].id, *taken.keys().next().unwrap());
    assert_eq!(payments[0].amount, total);
    // The client's retry gets the recorded charge; no new gateway charge.
    let r = charge(second.addr, "kill-1", &body).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    let v = r.json();
    assert_eq!(v["id"].as_str(), Some(payments[0].id.as_str()));
    assert!(v["invoice"]["number"]
        .as_str()
        .unwrap()
        .ends_with("-000001"));
    assert_eq!(sim_charges(&sim_ledger(sim.addr).await).len(), 1);
    // The recovery renders the e-invoice after recording the charge (it may still be at it).
    let started = Instant::now();
    loop {
        let record = store
            .invoice(v["invoice"]["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        let doc: Value = serde_json::from_str(&record.document).unwrap();
        if doc["einvoice"]["pdf"]["sha256"].is_string() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the e-invoice was never stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The HTTP client against the simulator process, no server: charges, declines, idempotent
/// replays, refunds never above what is left of the charge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_gateway_against_the_simulator() {
    use billcalc_server::gateway::{
        ChargeRequest, GatewayError, PaymentGateway, RefundError, RefundRequest,
    };
    use billcalc_server::gateway_http::HttpGateway;
    let sim = GatewaySim::spawn(&json!({"duplicate_every": 2}));
    let g = HttpGateway::new(
        &format!("http://{}", sim.addr),
        "sk_sim",
        Duration::from_secs(5),
    );
    let request = |key: &str, pm: &str| ChargeRequest {
        idempotency_key: key.into(),
        amount: 12_345,
        currency: "EUR".into(),
        payment_method: pm.into(),
        description: "test".into(),
    };
    let a = g
        .charge(request("pi_a", "pm_card_mastercard"))
        .await
        .unwrap();
    let again = g
        .charge(request("pi_a", "pm_card_mastercard"))
        .await
        .unwrap();
    assert_eq!(a, again);
    assert_eq!((a.amount, a.currency.as_str()), (12_345, "eur"));
    assert_eq!((a.brand.as_str(), a.last4.as_str()), ("mastercard", "4444"));
    assert!(matches!(
        g.charge(request("pi_b", "pm_card_chargeDeclinedInsufficientFunds"))
            .await,
        Err(GatewayError::Declined {
            code: "card_declined",
            decline_code: "insufficient_funds",
            hard: false,
            ..
        })
    ));
    assert_eq!(
        g.charge(request("pi_c", "pm_nope")).await,
        Err(GatewayError::UnknownPaymentMethod)
    );
    let refund = |key: &str, amount| RefundRequest {
        idempotency_key: key.into(),
        charge: a.id.clone(),
        amount,
        currency: "eur".into(),
        reason: Some("requested_by_customer".into()),
    };
    let r1 = g.refund(refund("re_1", 10_000)).await.unwrap();
    assert_eq!((r1.amount, r1.charge.as_str()), (10_000, a.id.as_str()));
    assert_eq!(g.refund(refund("re_1", 10_000)).await.unwrap(), r1);
    assert!(matches!(
        g.refund(refund("re_2", 2_346)).await,
        Err(RefundError::Refused {
            code: "amount_too_large",
            ..
        })
    ));
    assert_eq!(g.refund(refund("re_3", 2_345)).await.unwrap().amount, 2_345);
    assert!(matches!(
        g.refund(refund("re_4", 1)).await,
        Err(RefundError::Refused {
            code: "charge_already_refunded",
            ..
        })
    ));
    let ledger = sim_ledger(sim.addr).await;
    assert_eq!(sim_charges(&ledger).len(), 1, "{ledger}");
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 2);
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn faults_take_each_charge_once() {
        super::faults_take_each_charge_once(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn killed_between_gateway_and_record() {
        super::killed_between_gateway_and_record(Backend::Sqlite).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn faults_take_each_charge_once() {
        super::faults_take_each_charge_once(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn killed_between_gateway_and_record() {
        super::killed_between_gateway_and_record(Backend::Postgres).await;
    }
}

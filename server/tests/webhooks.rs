//! Must show (issue 15): a webhook receiver down for an hour of server time gets every event
//! afterwards, in order per object, none lost; a crash between the database commit and the
//! delivery loses nothing (the real binary, SIGKILL, restart). Real HTTP receiver checking the
//! signature with its own HMAC code; SQLite and PostgreSQL.

mod common;
mod support;

use billcalc_server::automation;
use billcalc_server::clock::Clock;
use common::{Backend, ServerProcess, TestServer, NOW, SK};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const MIN: i64 = 60;

fn customer(id: &str) -> Value {
    json!({
        "customer": { "id": id, "name": "Jean Dupont", "preferred_locales": ["fr"],
                      "address": { "country": "FR", "postal_code": "75011", "city": "Paris", "line1": "3 rue Oberkampf" } },
        "items": [{ "price": "price_pro_monthly", "quantity": 1 }],
        "payment_method": "pm_card_visa",
    })
}

async fn ok(s: &TestServer, path: &str, body: &Value, key: Option<&str>) -> Value {
    let extra: Vec<(&str, &str)> = key
        .map(|k| vec![("idempotency-key", k)])
        .unwrap_or_default();
    let r = s.post(path, SK, body, &extra).await;
    assert_eq!(r.status, 200, "POST {path}: {}", r.body);
    r.json()
}

/// Every event, oldest first.
async fn all_events(s: &TestServer) -> Vec<Value> {
    let r = s.get("/v1/events?limit=500", Some(SK)).await;
    let mut v = r.json()["data"].as_array().unwrap().clone();
    v.reverse();
    v
}

fn object_of(e: &Value) -> String {
    e["data"]["object"]["id"].as_str().unwrap_or("").to_string()
}

async fn receiver_down_for_an_hour(backend: Backend) {
    let url = database_or_skip!(backend, "webhooks_outage");
    let s = TestServer::start(&url).await;
    let hooks = support::receiver().await;
    *hooks.state.clock.lock().unwrap() = Some(s.clock.clone());
    let endpoint = ok(
        &s,
        "/v1/webhook_endpoints",
        &json!({"url": hooks.url()}),
        None,
    )
    .await;
    *hooks.state.secret.lock().unwrap() = endpoint["secret"].as_str().unwrap().into();
    // A second endpoint that never answers 2xx: given up after three days, not before.
    let dead = support::receiver().await;
    *dead.state.clock.lock().unwrap() = Some(s.clock.clone());
    dead.state.fail.store(true, Ordering::SeqCst);
    let dead_endpoint = ok(
        &s,
        "/v1/webhook_endpoints",
        &json!({"url": dead.url(), "enabled_events": ["customer.subscription.created"]}),
        None,
    )
    .await;
    *dead.state.secret.lock().unwrap() = dead_endpoint["secret"].as_str().unwrap().into();

    // The receiver is down from NOW to NOW + 60 min; the shop keeps working meanwhile.
    hooks.state.fail.store(true, Ordering::SeqCst);
    let mut subs = Vec::new();
    for minute in 0..=60 {
        s.clock.set(NOW + minute * MIN);
        match minute {
            0 | 25 => {
                for k in 0..3 {
                    let c = ok(
                        &s,
                        "/v1/subscriptions",
                        &customer(&format!("cus_{minute}_{k}")),
                        Some(&format!("c{minute}{k}")),
                    )
                    .await;
                    subs.push(c["id"].as_str().unwrap().to_string());
                }
            }
            10 | 40 => {
                for (k, id) in subs.iter().enumerate() {
                    ok(
                        &s,
                        &format!("/v1/subscriptions/{id}"),
                        &json!({"cancel_at_period_end": minute == 10}),
                        Some(&format!("u{minute}{k}")),
                    )
                    .await;
                }
            }
            _ => {}
        }
        automation::deliver(&s.state, s.clock.now()).await;
    }
    assert!(hooks.accepted().is_empty());
    let failures = hooks.received().len();
    assert!(failures > 0 && hooks.received().iter().all(|r| r.signature_ok));

    // Back up. Everything arrives at the next attempts (within 2 h of server time).
    hooks.state.fail.store(false, Ordering::SeqCst);
    let events = all_events(&s).await;
    let mut minute = 60;
    while hooks.accepted().len() < events.len() && minute < 180 {
        minute += 1;
        s.clock.set(NOW + minute * MIN);
        automation::deliver(&s.state, s.clock.now()).await;
    }
    let got = hooks.accepted();
    // None lost, none twice.
    let want: BTreeSet<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let have: BTreeSet<String> = got.iter().map(|r| r.id.clone()).collect();
    assert_eq!(have, want, "every event delivered");
    assert_eq!(got.len(), events.len(), "each once");
    // 6 created × (subscription + 3 invoice events); updates: 3 at minute 10, 6 at minute 40.
    assert_eq!(events.len(), 6 * 4 + 3 + 6);
    // In order per object.
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &events {
        expected
            .entry(object_of(e))
            .or_default()
            .push(e["id"].as_str().unwrap().into());
    }
    let mut delivered: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &got {
        delivered
            .entry(r.object_id.clone())
            .or_default()
            .push(r.id.clone());
    }
    assert_eq!(delivered, expected);
    // The log shows the failed attempts (503) then the success, with backoff 1, 2, 4 … min.
    let first = events[0]["id"].as_str().unwrap();
    let log = s
        .get(&format!("/v1/webhook_deliveries?event={first}"), Some(SK))
        .await
        .json();
    let d = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["endpoint"] == endpoint["id"])
        .unwrap()
        .clone();
    assert_eq!(d["status"], "delivered");
    let times: Vec<i64> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attempted_at"].as_i64().unwrap() - NOW)
        .collect();
    // Failures at 0, 1, 3, 7, 15, 31 min (waits 1, 2, 4, 8, 16, 32 min); delivered at 63 min.
    assert_eq!(times, [0, 60, 180, 420, 900, 1860, 3780]);
    let codes: Vec<Value> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            json!(503),
            json!(503),
            json!(503),
            json!(503),
            json!(503),
            json!(503),
            json!(200)
        ]
    );

    // The dead endpoint: still retried until three days have passed, then failed.
    let mut t = NOW + 3 * 60 * MIN;
    while t < NOW + 3 * 86_400 + 7 * 3_600 {
        t += 30 * MIN;
        s.clock.set(t);
        automation::deliver(&s.state, t).await;
        let log = s
            .get(&format!("/v1/webhook_deliveries?event={first}"), Some(SK))
            .await
            .json();
        let d = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["endpoint"] == dead_endpoint["id"])
            .unwrap()
            .clone();
        if t - NOW < 3 * 86_400 {
            assert_eq!(d["status"], "pending", "retried for three days");
        }
        if d["status"] == "failed" {
            let last = d["attempts"].as_array().unwrap().last().unwrap()["attempted_at"]
                .as_i64()
                .unwrap();
            assert!(last - NOW >= 3 * 86_400);
            break;
        }
    }
    // Resend by hand: the same event id again.
    dead.state.fail.store(false, Ordering::SeqCst);
    ok(
        &s,
        &format!("/v1/events/{first}/resend"),
        &json!({"endpoint": dead_endpoint["id"]}),
        None,
    )
    .await;
    automation::deliver(&s.state, s.clock.now()).await;
    assert_eq!(
        dead.accepted()
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        [first]
    );
    s.stop().await;
}

on_both_databases!(receiver_down_for_an_hour);

fn spawn_server(url: &str, config: &std::path::Path, delivery_interval: &str) -> ServerProcess {
    spawn_server_with(url, config, delivery_interval, "60")
}

fn spawn_server_with(
    url: &str,
    config: &std::path::Path,
    delivery_interval: &str,
    lease: &str,
) -> ServerProcess {
    ServerProcess::spawn(
        url,
        config,
        &[
            ("BILLCALC_RENEWAL_INTERVAL_SECONDS", "0"),
            ("BILLCALC_DELIVERY_INTERVAL_SECONDS", delivery_interval),
            ("BILLCALC_DELIVERY_LEASE_SECONDS", lease),
        ],
    )
}

async fn crash_between_commit_and_delivery(backend: Backend) {
    let url = database_or_skip!(backend, "webhooks_crash");
    let config = common::config_file(&format!("webhooks-crash-{backend:?}"));
    let hooks = support::receiver().await;
    // The binary delivers nothing: every commit is followed by a crash before delivery.
    let first = spawn_server(&url, &config, "0");
    let endpoint = common::post(
        first.addr,
        "/v1/webhook_endpoints",
        SK,
        &json!({"url": hooks.url()}),
        &[],
    )
    .await
    .json();
    *hooks.state.secret.lock().unwrap() = endpoint["secret"].as_str().unwrap().into();
    for k in 0..3 {
        let r = common::post(
            first.addr,
            "/v1/subscriptions",
            SK,
            &customer(&format!("cus_crash_{k}")),
            &[("idempotency-key", &format!("k{k}"))],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let events = common::request(
        first.addr,
        "GET",
        "/v1/events?limit=500",
        &[("authorization", &format!("Bearer {SK}"))],
        None,
    )
    .await
    .json();
    let want: BTreeSet<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(want.len(), 12);
    drop(first); // SIGKILL
    assert!(hooks.received().is_empty());

    // Restarted with its delivery loop: everything committed arrives, signed.
    let second = spawn_server(&url, &config, "1");
    let started = Instant::now();
    while hooks.accepted().len() < want.len() && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let have: BTreeSet<String> = hooks.accepted().iter().map(|r| r.id.clone()).collect();
    assert_eq!(have, want);
    assert!(hooks.received().iter().all(|r| r.signature_ok));
    drop(second);
}

on_both_databases!(crash_between_commit_and_delivery);

/// A crash while the receiver holds a delivery (the server never learns the answer): after the
/// lease the restarted server delivers the same event again, with the same id — at least once.
async fn crash_during_delivery(backend: Backend) {
    let url = database_or_skip!(backend, "webhooks_mid");
    let config = common::config_file(&format!("webhooks-mid-{backend:?}"));
    let hooks = support::receiver().await;
    let first = spawn_server_with(&url, &config, "0", "2");
    let endpoint = common::post(
        first.addr,
        "/v1/webhook_endpoints",
        SK,
        &json!({"url": hooks.url(), "enabled_events": ["customer.subscription.created"]}),
        &[],
    )
    .await
    .json();
    *hooks.state.secret.lock().unwrap() = endpoint["secret"].as_str().unwrap().into();
    let r = common::post(
        first.addr,
        "/v1/subscriptions",
        SK,
        &customer("cus_mid"),
        &[("idempotency-key", "mid")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    drop(first);
    // The receiver takes 4 s to answer; the server delivering is killed meanwhile.
    hooks.state.delay_ms.store(4_000, Ordering::SeqCst);
    let second = spawn_server_with(&url, &config, "1", "2");
    let started = Instant::now();
    while hooks.received().is_empty() && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hooks.received().len(), 1);
    drop(second); // SIGKILL while the request is open
    hooks.state.delay_ms.store(0, Ordering::SeqCst);
    let third = spawn_server_with(&url, &config, "1", "2");
    let started = Instant::now();
    while hooks.received().len() < 2 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = hooks.received();
    assert!(got.len() >= 2, "delivered again after the crash");
    assert_eq!(got[0].id, got[1].id, "the same event id");
    assert_eq!(got[0].kind, "customer.subscription.created");
    // Then recorded as delivered, and not sent a third time.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(hooks.received().len(), 2);
    let log = common::request(
        third.addr,
        "GET",
        &format!("/v1/webhook_deliveries?event={}", got[0].id),
        &[("authorization", &format!("Bearer {SK}"))],
        None,
    )
    .await
    .json();
    assert_eq!(log["data"][0]["status"], "delivered");
    drop(third);
}

on_both_databases!(crash_during_delivery);

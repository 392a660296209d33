//! Issue 13, finding 9: requests abandoned at random points never wedge the database. On both
//! backends: (1) `Store::begin` futures dropped after random delays, each followed by a
//! transaction that must start, write and commit; (2) over real HTTP, bursts of previews,
//! charges and subscription creations whose connections close at random points, then every
//! write works again, readiness is green, each charge key made at most one payment and the
//! invoice numbers have no gaps.

mod common;

use common::{Backend, TestServer, SK};
use serde_json::json;
use std::task::Poll;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// A small deterministic generator (no dependency): the same delays on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

async fn begin_dropped_at_random_points(backend: Backend) {
    let url = database_or_skip!(backend, "cancel_begin");
    let store = billcalc_server::store::open(&url).await.unwrap();
    let mut rng = Lcg(13);
    for i in 0..300 {
        // Poll `begin` a random number of times (1–4, yielding between), then drop it: the
        // first poll takes the lock and hands BEGIN to the database, so most drops land
        // after BEGIN was issued and before the caller got its transaction.
        let polls = 1 + rng.next(4);
        let mut begin = store.begin();
        for _ in 0..polls {
            let polled = std::future::poll_fn(|cx| Poll::Ready(begin.as_mut().poll(cx))).await;
            if let Poll::Ready(tx) = polled {
                drop(tx);
                break;
            }
            tokio::task::yield_now().await;
        }
        drop(begin);
        let mut tx = tokio::time::timeout(Duration::from_secs(10), store.begin())
            .await
            .unwrap_or_else(|_| panic!("round {i}: begin waited 10 s"))
            .unwrap_or_else(|e| panic!("round {i}: {e}"));
        tx.claim_key("cancel-test", &format!("k{i}"), "f", 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        store
            .ping()
            .await
            .unwrap_or_else(|e| panic!("round {i}: {e}"));
    }
}

#[tokio::test]
async fn sqlite_begin_dropped_at_random_points() {
    begin_dropped_at_random_points(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_begin_dropped_at_random_points() {
    begin_dropped_at_random_points(Backend::Postgres).await;
}

/// Sends a request and closes the connection after `after` without reading the answer.
async fn abandon(
    addr: std::net::SocketAddr,
    path: &str,
    key: Option<&str>,
    body: &str,
    after: Duration,
) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {SK}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(k) = key {
        head.push_str(&format!("idempotency-key: {k}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    tokio::time::sleep(after).await;
    drop(stream);
}

async fn http_requests_abandoned_under_load(backend: Backend) {
    let url = database_or_skip!(backend, "cancel_http");
    let s = TestServer::start(&url).await;
    let create = |customer: &str| json!({"customer": {"id": customer}, "items": [{"price": "price_essentiel_monthly"}], "payment_method": "pm_card_visa"});
    let r = s
        .post(
            "/v1/subscriptions",
            SK,
            &create("cus_cancel"),
            &[("idempotency-key", "sub-0")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sub = r.json()["id"].as_str().unwrap().to_string();
    let total = common::quoted_total(&s, &common::cart()).await;
    let charge = common::charge_body(&common::cart(), total).to_string();
    let preview = json!({"items": [{"id": r.json()["items"][0]["id"], "quantity": 3}]}).to_string();
    let preview_path = format!("/v1/subscriptions/{sub}/preview");
    let mut charge_keys = Vec::new();
    let mut sub_keys = Vec::new();
    for round in 0..6u64 {
        let mut tasks = Vec::new();
        let mut rng = Lcg(round + 1);
        for n in 0..24u64 {
            let addr = s.addr;
            let after = Duration::from_micros(rng.next(4_000));
            let (path, key, body) = match n % 3 {
                0 => (preview_path.clone(), None, preview.clone()),
                1 => {
                    let k = format!("c-{round}-{n}");
                    charge_keys.push(k.clone());
                    ("/v1/charges".to_string(), Some(k), charge.clone())
                }
                _ => {
                    let k = format!("s-{round}-{n}");
                    sub_keys.push((k.clone(), format!("cus_{round}_{n}")));
                    (
                        "/v1/subscriptions".to_string(),
                        Some(k),
                        create(&format!("cus_{round}_{n}")).to_string(),
                    )
                }
            };
            tasks.push(tokio::spawn(async move {
                abandon(addr, &path, key.as_deref(), &body, after).await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    // Abandoned flows run to completion; once they have, readiness is green again (a wedged
    // connection would keep it red for good).
    let started = std::time::Instant::now();
    loop {
        let r = s.get("/readyz", None).await;
        if r.status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not ready after 60 s: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = s
        .post(
            &preview_path,
            SK,
            &serde_json::from_str(&preview).unwrap(),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s
        .post(
            "/v1/subscriptions",
            SK,
            &create("cus_after"),
            &[("idempotency-key", "sub-after")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Every abandoned write, retried with its key, ends as one charge.
    for k in &charge_keys {
        let r = s.charge(k, &serde_json::from_str(&charge).unwrap()).await;
        assert_eq!(r.status, 200, "{k}: {}", r.body);
    }
    for (k, customer) in &sub_keys {
        let r = s
            .post(
                "/v1/subscriptions",
                SK,
                &create(customer),
                &[("idempotency-key", k)],
            )
            .await;
        assert_eq!(r.status, 200, "{k}: {}", r.body);
    }
    let payments = s.store.payments().await.unwrap();
    assert_eq!(payments.len(), 1 + charge_keys.len() + sub_keys.len() + 1);
    let series = format!("F{}-", 2026);
    let numbers = s
        .store
        .invoice_numbers(&series[..series.len() - 1])
        .await
        .unwrap();
    let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
    assert_eq!(numbers, expected, "gapless");
    assert_eq!(numbers.len(), payments.len());
    s.stop().await;
}

#[tokio::test]
async fn sqlite_requests_abandoned_under_load() {
    http_requests_abandoned_under_load(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_requests_abandoned_under_load() {
    http_requests_abandoned_under_load(Backend::Postgres).await;
}

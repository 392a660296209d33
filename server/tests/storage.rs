//! One storage suite, run against both backends: SQLite (a file in the temp directory) and
//! PostgreSQL (the server `scripts/test.sh` starts; a fresh database per test). Store-level
//! guarantees first, then the must-show concurrency cases through real HTTP.

mod common;

use billcalc_server::store::{self, Claim, InvoiceRecord, PaymentRecord, Store};
use common::{Backend, TestServer, PK, SK};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

fn invoice(id: &str, series: &str, number: i64) -> InvoiceRecord {
    InvoiceRecord {
        id: id.into(),
        series: series.into(),
        number,
        number_display: format!("{series}-{number:06}"),
        created_at: common::NOW,
        currency: "eur".into(),
        total: 1234,
        customer_id: Some("cus_1".into()),
        idempotency_key: format!("key-{id}"),
        subscription_id: None,
        document: "{\"id\":\"x\"}".into(),
    }
}

async fn migrations_run_once_and_reopen(backend: Backend) {
    let url = database_or_skip!(backend, "migrations");
    let s = store::open(&url).await.expect("open");
    assert_eq!(
        s.backend(),
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    let all: Vec<i64> = store::migrations::MIGRATIONS.iter().map(|m| m.0).collect();
    assert!(all.starts_with(&[1, 2, 3]) && all.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(s.migrations().await.unwrap(), all);
    drop(s);
    let again = store::open(&url).await.expect("reopen");
    assert_eq!(again.migrations().await.unwrap(), all);
}

async fn idempotency_claims(backend: Backend) {
    let url = database_or_skip!(backend, "claims");
    let s = store::open(&url).await.unwrap();
    // A rolled-back claim leaves nothing behind.
    let mut tx = s.begin().await.unwrap();
    assert_eq!(
        tx.claim_key("charges", "k1", "fp1", 1).await.unwrap(),
        Claim::New
    );
    tx.rollback().await.unwrap();
    let mut tx = s.begin().await.unwrap();
    assert_eq!(
        tx.claim_key("charges", "k1", "fp1", 1).await.unwrap(),
        Claim::New
    );
    tx.finish_key("charges", "k1", 200, "{\"ok\":true}")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // A dropped transaction rolls back too.
    {
        let mut tx = s.begin().await.unwrap();
        assert_eq!(
            tx.claim_key("charges", "k2", "fp2", 1).await.unwrap(),
            Claim::New
        );
    }
    let mut tx = s.begin().await.unwrap();
    assert_eq!(
        tx.claim_key("charges", "k1", "other", 2).await.unwrap(),
        Claim::Existing {
            fingerprint: "fp1".into(),
            status: 200,
            response: "{\"ok\":true}".into()
        }
    );
    assert_eq!(
        tx.claim_key("charges", "k2", "fp2", 2).await.unwrap(),
        Claim::New
    );
    // Scopes are separate.
    assert_eq!(
        tx.claim_key("other", "k1", "fp1", 2).await.unwrap(),
        Claim::New
    );
    tx.commit().await.unwrap();
}

async fn invoices_payments_round_trip(backend: Backend) {
    let url = database_or_skip!(backend, "roundtrip");
    let s = store::open(&url).await.unwrap();
    let mut tx = s.begin().await.unwrap();
    let n = tx.next_number("F2026").await.unwrap();
    assert_eq!(n, 1);
    let inv = invoice("in_a", "F2026", n);
    tx.insert_invoice(&inv).await.unwrap();
    let pay = PaymentRecord {
        id: "ch_a".into(),
        invoice_id: "in_a".into(),
        amount: 1234,
        currency: "eur".into(),
        status: "succeeded".into(),
        gateway: "test".into(),
        card_brand: Some("visa".into()),
        card_last4: Some("4242".into()),
        created_at: common::NOW,
    };
    tx.insert_payment(&pay).await.unwrap();
    assert!(tx.redeem("promotion_code:x", Some(1)).await.unwrap());
    tx.insert_redemption("in_a", "promotion_code:x")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(s.invoice("in_a").await.unwrap(), Some(inv));
    assert_eq!(s.invoice("in_missing").await.unwrap(), None);
    assert_eq!(s.payments().await.unwrap(), vec![pay]);
    assert!(s.has_paid("cus_1").await.unwrap());
    assert!(!s.has_paid("cus_2").await.unwrap());
    assert_eq!(s.times_redeemed("promotion_code:x").await.unwrap(), 1);
    // Series are independent; a duplicate number is refused by the schema.
    let mut tx = s.begin().await.unwrap();
    assert_eq!(tx.next_number("G2026").await.unwrap(), 1);
    assert!(tx
        .insert_invoice(&invoice("in_dup", "F2026", 1))
        .await
        .is_err());
    drop(tx);
    assert_eq!(s.invoice_numbers("F2026").await.unwrap(), vec![1]);
}

/// Many concurrent transactions, every third rolled back after taking a number: the committed
/// numbers are exactly 1..=committed.
async fn numbers_gapless_under_concurrency(backend: Backend) {
    let url = database_or_skip!(backend, "gapless");
    let s: Arc<dyn Store> = store::open(&url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = s.begin().await.unwrap();
            let n = tx.next_number("F2026").await.unwrap();
            if i % 3 == 0 {
                tx.rollback().await.unwrap();
                return false;
            }
            tx.insert_invoice(&invoice(&format!("in_{i}"), "F2026", n))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            true
        }));
    }
    let mut committed = 0;
    for t in tasks {
        if t.await.unwrap() {
            committed += 1;
        }
    }
    assert_eq!(committed, 40);
    assert_eq!(
        s.invoice_numbers("F2026").await.unwrap(),
        (1..=40).collect::<Vec<i64>>()
    );
}

/// 200 concurrent transactions redeem a counter with max 50: exactly 50 succeed.
async fn redemptions_capped_under_concurrency(backend: Backend) {
    let url = database_or_skip!(backend, "redeem");
    let s: Arc<dyn Store> = store::open(&url).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = s.begin().await.unwrap();
            let ok = tx.redeem("promotion_code:launch", Some(50)).await.unwrap();
            tx.commit().await.unwrap();
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 50);
    assert_eq!(s.times_redeemed("promotion_code:launch").await.unwrap(), 50);
}

/// Must show: the same charge sent 20 times concurrently with one idempotency key → one
/// charge, one invoice, one payment, and every answer is the original result.
async fn same_key_twenty_times_one_charge(backend: Backend) {
    let url = database_or_skip!(backend, "idem20");
    let server = TestServer::start(&url).await;
    let cart = common::cart();
    let total = common::quoted_total(&server, &cart).await;
    let body = common::charge_body(&cart, total);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (addr, body) = (server.addr, body.clone());
        tasks.push(tokio::spawn(async move {
            common::post(
                addr,
                "/v1/charges",
                SK,
                &body,
                &[("idempotency-key", "order-20x")],
            )
            .await
        }));
    }
    let mut bodies = BTreeSet::new();
    let mut replays = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        replays += usize::from(r.header("idempotent-replayed") == Some("true"));
        bodies.insert(r.body);
    }
    assert_eq!(bodies.len(), 1, "every answer is the original result");
    assert_eq!(replays, 19);
    assert_eq!(server.gateway.charges_made(), 1);
    assert_eq!(server.gateway.attempts(), 1);
    let payments = server.store.payments().await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].amount, total);
    let series = format!("F{}", 2026);
    assert_eq!(
        server.store.invoice_numbers(&series).await.unwrap(),
        vec![1]
    );
    // The same key with another body is refused, and charges nothing.
    let other = common::charge_body(&cart, total + 1);
    let r = server.charge("order-20x", &other).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "idempotency_key_reused")
    );
    assert_eq!(server.gateway.charges_made(), 1);
    server.stop().await;
}

/// Must show: 200 concurrent charges redeeming a code with max_redemptions 50 → exactly 50
/// succeed; the other 150 are refused with `promotion_code_exhausted` and charge nothing.
async fn two_hundred_redemptions_of_fifty(backend: Backend) {
    let url = database_or_skip!(backend, "redeem200");
    let server = TestServer::start(&url).await;
    let mut cart = common::cart();
    cart["discounts"] = json!([{ "promotion_code": "LANCEMENT" }]);
    let total = common::quoted_total(&server, &cart).await;
    let body = common::charge_body(&cart, total);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (addr, body) = (server.addr, body.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("launch-{i}");
            common::post(
                addr,
                "/v1/charges",
                SK,
                &body,
                &[("idempotency-key", key.as_str())],
            )
            .await
        }));
    }
    let (mut ok, mut exhausted) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => ok += 1,
            409 => {
                let e = r.json();
                assert_eq!(e["error"]["code"], "promotion_code_exhausted");
                assert_eq!(e["error"]["path"], "cart.discounts[0].promotion_code");
                exhausted += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!((ok, exhausted), (50, 150));
    assert_eq!(server.gateway.charges_made(), 50);
    assert_eq!(
        server
            .store
            .times_redeemed("promotion_code:lancement")
            .await
            .unwrap(),
        50
    );
    assert_eq!(server.store.payments().await.unwrap().len(), 50);
    assert_eq!(
        server.store.invoice_numbers("F2026").await.unwrap(),
        (1..=50).collect::<Vec<i64>>()
    );
    // The quote still computes (the engine reports max_redemptions; the server enforces it).
    let q = server
        .post("/v1/quotes", PK, &json!({ "cart": cart }), &[])
        .await;
    assert_eq!(
        q.json()["quote"]["discounts"][1]["promotion_code"]["max_redemptions"],
        json!(50)
    );
    server.stop().await;
}

/// A decline is stored under its key: the replay gets the same decline and nothing is charged,
/// no number taken, no redemption kept.
async fn decline_rolls_back_and_replays(backend: Backend) {
    let url = database_or_skip!(backend, "decline");
    let server = TestServer::start(&url).await;
    let mut cart = common::cart();
    cart["discounts"] = json!([{ "promotion_code": "LANCEMENT" }]);
    let total = common::quoted_total(&server, &cart).await;
    let mut body = common::charge_body(&cart, total);
    body["payment_method"] = json!("pm_card_insufficient_funds");
    let first = server.charge("declined-1", &body).await;
    assert_eq!(first.status, 402, "{}", first.body);
    let e: Value = first.json();
    assert_eq!(e["error"]["code"], "card_declined");
    assert_eq!(e["error"]["decline_code"], "insufficient_funds");
    assert_eq!(e["error"]["path"], "payment_method");
    let again = server.charge("declined-1", &body).await;
    assert_eq!(
        (again.status, again.body.as_str()),
        (402, first.body.as_str())
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        server
            .store
            .times_redeemed("promotion_code:lancement")
            .await
            .unwrap(),
        0
    );
    assert!(server.store.payments().await.unwrap().is_empty());
    // The next successful charge gets number 1.
    body["payment_method"] = json!("pm_card_visa");
    let ok = server.charge("declined-2", &body).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["invoice"]["number"], "F2026-000001");
    server.stop().await;
}

/// An unknown payment method token is refused (400) without saving an answer under the key:
/// the client fixes the token and retries with the same key, which charges once and replays.
async fn unknown_token_then_same_key_succeeds(backend: Backend) {
    let url = database_or_skip!(backend, "forgotten");
    let server = TestServer::start(&url).await;
    let cart = common::cart();
    let total = common::quoted_total(&server, &cart).await;
    let mut body = common::charge_body(&cart, total);
    body["payment_method"] = json!("pm_no_such_token");
    let refused = server.charge("fix-and-retry", &body).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let e: Value = refused.json();
    assert_eq!(e["error"]["code"], "invalid_request");
    assert_eq!(e["error"]["path"], "payment_method");
    assert!(server.store.payments().await.unwrap().is_empty());
    body["payment_method"] = json!("pm_card_visa");
    let ok = server.charge("fix-and-retry", &body).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let paid: Value = ok.json();
    assert_eq!(paid["invoice"]["number"], "F2026-000001");
    assert_eq!(paid["object"], "charge");
    assert_eq!(paid["status"], "succeeded");
    assert_eq!(paid["amount"], total);
    assert!(
        paid["id"].as_str().unwrap().starts_with("ch_"),
        "{}",
        ok.body
    );
    assert_ne!(ok.header("idempotent-replayed"), Some("true"));
    let replay = server.charge("fix-and-retry", &body).await;
    assert_eq!(
        (replay.status, replay.body.as_str()),
        (200, ok.body.as_str())
    );
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(server.store.payments().await.unwrap().len(), 1);
    assert_eq!(server.gateway.charges_made(), 1);
    // Both intents are kept: the canceled one as history, each under the client's key.
    let listed = server.get("/v1/payment_intents", Some(SK)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let mut seen: Vec<(String, String)> = listed.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["status"].as_str().unwrap().to_string(),
                i["idempotency_key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("canceled".to_string(), "fix-and-retry".to_string()),
            ("succeeded".to_string(), "fix-and-retry".to_string())
        ]
    );
    server.stop().await;
}

on_both_databases!(
    migrations_run_once_and_reopen,
    idempotency_claims,
    invoices_payments_round_trip,
    numbers_gapless_under_concurrency,
    redemptions_capped_under_concurrency,
    same_key_twenty_times_one_charge,
    two_hundred_redemptions_of_fifty,
    decline_rolls_back_and_replays,
    unknown_token_then_same_key_succeeds,
);

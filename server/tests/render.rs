//! A charge is answered once its invoice is committed; its e-invoice (Factur-X PDF/A-3, CII,
//! UBL) is rendered right after, in the background, once (issue 13 §10, issue 14's "rendered
//! once at issue, stored immutably with its SHA-256"). Over real HTTP, on a real SQLite file
//! and a real PostgreSQL:
//! - a burst of charges: every answer 200; every invoice's files are served at once (a read
//!   waits for or performs the pending render), each twice with the same bytes and the SHA-256
//!   recorded; the process rendered exactly one e-invoice per invoice; nothing stays pending;
//! - the real binary SIGKILLed right after a burst, with renders still pending: the restarted
//!   process renders every pending e-invoice at start-up by itself.

mod common;

use common::{Backend, ServerProcess, TestServer, PK, SK};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn pending_count(url: &str) -> i64 {
    let store = billcalc_server::store::open(url).await.unwrap();
    let rows = store
        .query(
            "SELECT count(*) FROM payment_intents WHERE einvoice_pending = 1",
            vec![],
        )
        .await
        .unwrap();
    rows[0][0].as_i64().unwrap()
}

async fn burst_then_read(backend: Backend) {
    let url = database_or_skip!(backend, "render_burst");
    let s = TestServer::start(&url).await;
    let cart = common::cart();
    let total = common::quoted_total(&s, &cart).await;
    let body = common::charge_body(&cart, total);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (addr, body) = (s.addr, body.clone());
        tasks.push(tokio::spawn(async move {
            common::post(
                addr,
                "/v1/charges",
                SK,
                &body,
                &[("idempotency-key", &format!("render-{i}"))],
            )
            .await
        }));
    }
    let mut invoices = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        invoices.push(r.json()["invoice"]["id"].as_str().unwrap().to_string());
    }
    // Read every invoice's files right away, the last charged first (the furthest from being
    // rendered by the background renderer).
    for id in invoices.iter().rev() {
        let inv = s.get(&format!("/v1/invoices/{id}"), Some(SK)).await;
        assert_eq!(inv.status, 200, "{}", inv.body);
        let e = inv.json()["einvoice"].clone();
        let pdf = s.get(&format!("/v1/invoices/{id}.pdf"), Some(SK)).await;
        assert_eq!(pdf.status, 200, "{}", pdf.body);
        assert_eq!(pdf.header("content-type"), Some("application/pdf"));
        let sha = e["pdf"]["sha256"].as_str().expect("the PDF's SHA-256");
        assert_eq!(pdf.header("x-content-sha256"), Some(sha));
        let cii = s.get(&format!("/v1/invoices/{id}.cii.xml"), Some(SK)).await;
        assert_eq!(cii.status, 200);
        assert_eq!(
            sha256_hex(cii.body.as_bytes()),
            e["cii"]["sha256"].as_str().unwrap()
        );
        let again = s.get(&format!("/v1/invoices/{id}.cii.xml"), Some(SK)).await;
        assert_eq!(again.body, cii.body, "served twice, the same bytes");
    }
    // Once each: the renderer and the readers never both stored one.
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.state.metrics.einvoice_backlog.get() > 0 {
        assert!(
            Instant::now() < deadline,
            "the renderer's queue did not drain"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        s.state.metrics.einvoices_rendered.get(),
        invoices.len() as u64
    );
    assert_eq!(pending_count(&url).await, 0);
    // The hosted page links the files.
    let first = s
        .get(&format!("/v1/invoices/{}", invoices[0]), Some(SK))
        .await
        .json();
    assert!(first["einvoice"]["pdf"]["url"].is_string(), "{first}");
    let _ = PK;
    s.stop().await;
}

async fn pending_renders_survive_a_kill(backend: Backend) {
    let url = database_or_skip!(backend, "render_kill");
    let config = common::config_file(&format!("render-kill-{backend:?}"));
    let first = ServerProcess::spawn(&url, &config, &[("BILLCALC_RENDER_THREADS", "1")]);
    let cart = common::cart();
    let quote = common::post(first.addr, "/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
    let total = quote.json()["quote"]["total"].as_i64().unwrap();
    let body = common::charge_body(&cart, total);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (addr, body) = (first.addr, body.clone());
        tasks.push(tokio::spawn(async move {
            common::post(
                addr,
                "/v1/charges",
                SK,
                &body,
                &[("idempotency-key", &format!("render-kill-{i}"))],
            )
            .await
        }));
    }
    let mut acked: Vec<Value> = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        acked.push(r.json());
    }
    let mut first = first;
    first.child.kill().expect("SIGKILL");
    let _ = first.child.wait();
    let left = pending_count(&url).await;
    assert!(
        left > 0,
        "every e-invoice was rendered before the kill: this run tests nothing"
    );
    // What a settled charge's intent keeps of its plan: on SQLite, whose UPDATE rewrites the
    // whole row, the plan without the quote (the invoice document holds it), so tx 2 does not
    // write the ~5 KB plan a second time; PostgreSQL leaves the plan tx 1 wrote. Either way the
    // restart below renders every pending e-invoice from it.
    let plans = billcalc_server::store::open(&url)
        .await
        .unwrap()
        .query(
            "SELECT plan FROM payment_intents WHERE status = 'succeeded'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(plans.len(), 40);
    for row in &plans {
        let text = row[0].text();
        let plan: Value = serde_json::from_str(&text).unwrap();
        assert!(plan["input"]["lines"].is_array(), "{text}");
        assert!(
            plan["invoice_id"].as_str().unwrap().starts_with("in_"),
            "{text}"
        );
        match backend {
            Backend::Sqlite => {
                assert!(plan["quote"].is_null(), "{text}");
                assert!(text.len() < 2_000, "settled plan of {} bytes", text.len());
            }
            Backend::Postgres => assert_eq!(plan["quote"]["total"], total),
        }
    }
    // Restarted: the start-up recovery renders them, no request needed.
    let second = ServerProcess::spawn(&url, &config, &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while pending_count(&url).await > 0 {
        assert!(
            Instant::now() < deadline,
            "pending e-invoices not rendered after a restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = billcalc_server::store::open(&url).await.unwrap();
    for a in &acked {
        let id = a["invoice"]["id"].as_str().unwrap();
        let record = store
            .invoice(id)
            .await
            .unwrap()
            .expect("acknowledged invoice stored");
        let doc: Value = serde_json::from_str(&record.document).unwrap();
        assert!(
            doc["einvoice"]["pdf"]["sha256"].is_string(),
            "no e-invoice on {id}"
        );
        assert_eq!(
            record.number_display,
            a["invoice"]["number"].as_str().unwrap()
        );
        // The invoice keeps the quote as charged (the answer's).
        assert_eq!(doc["quote"], a["quote"], "quote of {id}");
    }
    eprintln!("render_kill {backend:?}: {left} of 40 e-invoices pending at the kill, all rendered after the restart");
    drop(second);
}

on_both_databases!(burst_then_read, pending_renders_survive_a_kill);

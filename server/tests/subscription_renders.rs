//! Subscription invoices and credit notes are answered once committed; their e-invoice
//! (Factur-X PDF/A-3, CII, UBL) is rendered right after by the background renderer the one-off
//! charges use (crate::payment_step::render_later, crate::intent's turns), once. Over real
//! HTTP, on a real SQLite file and a real PostgreSQL:
//! - a burst of subscription creations and refunds: every answer 200; every invoice and credit
//!   note read at once is served with its files (the read waits for or performs the render),
//!   twice with the same bytes and the recorded SHA-256; the process rendered exactly one
//!   e-invoice per document; nothing stays pending;
//! - the real binary SIGKILLed right after such a burst, with renders still pending: the
//!   restarted process renders every pending one at start-up by itself, no request needed.

mod common;

use common::{Backend, ServerProcess, TestServer, SK};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// E-invoices still to render: `(subscription invoices, credit notes)`.
async fn pending(url: &str) -> (i64, i64) {
    const INVOICES: &str = "SELECT count(*) FROM payment_intents WHERE einvoice_pending = 1 AND scope IN ('subscriptions', 'subscription_updates', 'subscription_cancellations', 'renewals')";
    const NOTES: &str =
        "SELECT count(*) FROM payment_intents WHERE einvoice_pending = 1 AND scope = 'refunds'";
    let store = billcalc_server::store::open(url).await.unwrap();
    let mut counts = [0i64; 2];
    for (slot, sql) in [INVOICES, NOTES].into_iter().enumerate() {
        let rows = store.query(sql, vec![]).await.unwrap();
        counts[slot] = rows[0][0].as_i64().unwrap();
    }
    (counts[0], counts[1])
}

async fn post(addr: SocketAddr, path: &str, key: &str, body: &Value) -> common::Resp {
    common::post(addr, path, SK, body, &[("idempotency-key", key)]).await
}

/// `n` subscriptions created at once, then a refund of 1.00 on each first invoice, at once.
/// Returns the creations' and the refunds' answers.
async fn burst(addr: SocketAddr, tag: &str, n: usize) -> (Vec<Value>, Vec<Value>) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let body = common::subscriber(&format!("cus_{tag}_{i}"), "pm_card_visa");
        let key = format!("{tag}-sub-{i}");
        tasks.push(tokio::spawn(async move {
            post(addr, "/v1/subscriptions", &key, &body).await
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        created.push(r.json());
    }
    let mut tasks = Vec::new();
    for (i, c) in created.iter().enumerate() {
        let body = json!({"invoice": c["latest_invoice"]["id"], "amount": 100});
        let key = format!("{tag}-cn-{i}");
        tasks.push(tokio::spawn(async move {
            post(addr, "/v1/credit_notes", &key, &body).await
        }));
    }
    let mut notes = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        notes.push(r.json());
    }
    (created, notes)
}

/// Reads a document's JSON and its three files; checks the hashes; returns the JSON.
async fn read_with_files(s: &TestServer, base: &str) -> Value {
    let doc = s.get(base, Some(SK)).await;
    assert_eq!(doc.status, 200, "{base}: {}", doc.body);
    let doc = doc.json();
    let e = &doc["einvoice"];
    assert!(
        e["pdf"]["sha256"].is_string(),
        "{base} read without files: {doc}"
    );
    let pdf = s.get(&format!("{base}.pdf"), Some(SK)).await;
    assert_eq!(pdf.status, 200, "{}", pdf.body);
    assert_eq!(pdf.header("x-content-sha256"), e["pdf"]["sha256"].as_str());
    for (suffix, format) in [(".cii.xml", "cii"), (".ubl.xml", "ubl")] {
        let f = s.get(&format!("{base}{suffix}"), Some(SK)).await;
        assert_eq!(f.status, 200, "{}", f.body);
        assert_eq!(
            sha256_hex(f.body.as_bytes()),
            e[format]["sha256"].as_str().unwrap()
        );
        let again = s.get(&format!("{base}{suffix}"), Some(SK)).await;
        assert_eq!(again.body, f.body, "served twice, the same bytes");
    }
    doc
}

async fn burst_then_read(backend: Backend) {
    let url = database_or_skip!(backend, "subrender_burst");
    let s = TestServer::start(&url).await;
    let (created, notes) = burst(s.addr, "srb", 12).await;
    // Answered before their e-invoice: the answers carry none.
    for n in &notes {
        assert!(n.get("einvoice").is_none(), "{n}");
    }
    // Read at once, the last ones first (the furthest from the renderer).
    for n in notes.iter().rev() {
        let base = format!("/v1/credit_notes/{}", n["id"].as_str().unwrap());
        let read = read_with_files(&s, &base).await;
        assert_eq!(read["number"], n["number"]);
    }
    for c in created.iter().rev() {
        let id = c["latest_invoice"]["id"].as_str().unwrap();
        let read = read_with_files(&s, &format!("/v1/invoices/{id}")).await;
        assert_eq!(read["number"], c["latest_invoice"]["number"]);
    }
    // The lists and the hosted page show every note with its files.
    let invoice = created[0]["latest_invoice"]["id"].as_str().unwrap();
    let list = s
        .get(&format!("/v1/credit_notes?invoice={invoice}"), Some(SK))
        .await
        .json();
    assert!(
        list["data"][0]["einvoice"]["pdf"]["url"].is_string(),
        "{list}"
    );
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
        (created.len() + notes.len()) as u64
    );
    assert_eq!(pending(&url).await, (0, 0));
    s.stop().await;
}

async fn pending_renders_survive_a_kill(backend: Backend) {
    let url = database_or_skip!(backend, "subrender_kill");
    let config = common::config_file(&format!("subrender-kill-{backend:?}"));
    let first = ServerProcess::spawn(
        &url,
        &config,
        &[
            ("BILLCALC_RENDER_THREADS", "1"),
            ("BILLCALC_RENEWAL_INTERVAL_SECONDS", "0"),
        ],
    );
    let (created, notes) = burst(first.addr, "srk", 16).await;
    first.kill();
    let (invoices_left, notes_left) = pending(&url).await;
    assert!(
        invoices_left + notes_left > 0,
        "every e-invoice was rendered before the kill: this run tests nothing"
    );
    // Restarted: the start-up recovery renders them, no request needed.
    let second = ServerProcess::spawn(&url, &config, &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while pending(&url).await != (0, 0) {
        assert!(
            Instant::now() < deadline,
            "pending e-invoices not rendered after a restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = billcalc_server::store::open(&url).await.unwrap();
    for c in &created {
        let id = c["latest_invoice"]["id"].as_str().unwrap();
        let record = store.invoice(id).await.unwrap().expect("invoice stored");
        let doc: Value = serde_json::from_str(&record.document).unwrap();
        assert!(
            doc["einvoice"]["pdf"]["sha256"].is_string(),
            "no e-invoice on {id}"
        );
        assert_eq!(
            record.number_display,
            c["latest_invoice"]["number"].as_str().unwrap()
        );
    }
    for n in &notes {
        let rows = store
            .query(
                "SELECT document FROM credit_notes WHERE id = $1",
                vec![n["id"].as_str().unwrap().into()],
            )
            .await
            .unwrap();
        let doc: Value = serde_json::from_str(rows[0][0].as_str().unwrap()).unwrap();
        assert!(
            doc["einvoice"]["pdf"]["sha256"].is_string(),
            "no e-invoice on {}",
            n["id"]
        );
        assert_eq!(doc["number"], n["number"]);
    }
    eprintln!(
        "subrender_kill {backend:?}: {invoices_left} of {} invoices and {notes_left} of {} credit notes pending at the kill, all rendered after the restart",
        created.len(),
        notes.len()
    );
    drop(second);
}

on_both_databases!(burst_then_read, pending_renders_survive_a_kill);

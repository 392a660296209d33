//! Issue 13 §6 for subscriptions under the gateway simulator's other faults: 5xx answers
//! (`error_5xx_every`: a 500 before anything happens), the same request delivered twice
//! (`duplicate_every`) and latency (`latency_ms`), all at once. A subscription's creation, a
//! change billed now (proration), a renewal, a dunning retry paid from the portal and a refund
//! run through them; the client retries what answered 503 with its key, and the server is
//! SIGKILLed and restarted when a payment waits for the recovery (a renewal, a dunning attempt).
//! Then the simulator's ledger and the database are compared: every charge the gateway took is
//! one payment in the ledger with the same id and amount (no lost charge), no operation was
//! charged twice (no double charge), one refund and one credit note, invoice numbers gapless,
//! nothing left `processing`. The real binary against the simulator process, on a real SQLite
//! file and a real PostgreSQL.

mod common;

use common::{
    sim_faults, sim_ledger, subscriber, unix_now, Backend, GatewaySim, ServerProcess, SK,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const GATEWAY_TIMEOUT_MS: u64 = 1500;
const FAULTS: &str = r#"{"error_5xx_every": 3, "duplicate_every": 2, "latency_ms": 30}"#;

/// The server under test, restarted in place when a payment waits for the recovery.
struct Server {
    process: Option<ServerProcess>,
    url: String,
    config: PathBuf,
    sim: SocketAddr,
    /// How often the client saw 503 (the gateway failed) and how often the server was
    /// restarted for the recovery.
    unavailable: usize,
    restarts: usize,
}

impl Server {
    fn start(url: &str, config: PathBuf, sim: SocketAddr) -> Server {
        Server {
            process: Some(ServerProcess::with_gateway(
                url,
                &config,
                sim,
                GATEWAY_TIMEOUT_MS,
            )),
            url: url.to_string(),
            config,
            sim,
            unavailable: 0,
            restarts: 0,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.process.as_ref().unwrap().addr
    }

    /// SIGKILL and start again: the start-up recovery finishes what is left `processing`.
    fn restart(&mut self) {
        self.process.take().unwrap().kill();
        self.process = Some(ServerProcess::with_gateway(
            &self.url,
            &self.config,
            self.sim,
            GATEWAY_TIMEOUT_MS,
        ));
        self.restarts += 1;
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        bearer: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> common::Resp {
        let auth = format!("Bearer {bearer}");
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        if let Some(k) = key {
            headers.push(("idempotency-key", k));
        }
        let text = body.map(Value::to_string);
        common::request(
            self.addr(),
            method,
            path,
            &headers,
            text.as_deref().map(str::as_bytes),
        )
        .await
    }

    /// POSTs until the operation has an outcome: a 503 (the gateway failed; the intent stays
    /// `processing`) is retried with the same key; a 409 saying a payment is being confirmed
    /// waits for the recovery (a restart). Returns the final answer.
    async fn settle(
        &mut self,
        path: &str,
        bearer: &str,
        key: Option<&str>,
        body: &Value,
    ) -> common::Resp {
        for _ in 0..30 {
            let r = self.call("POST", path, bearer, key, Some(body)).await;
            match (r.status, r.code().as_str()) {
                (503, _) => {
                    self.unavailable += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (
                    409,
                    "subscription_payment_pending" | "refund_pending" | "idempotency_key_in_use",
                ) => {
                    self.restart();
                    self.until_nothing_processing().await;
                }
                _ => return r,
            }
        }
        panic!("{path}: no outcome after 30 tries");
    }

    async fn get(&self, path: &str) -> Value {
        let r = self.call("GET", path, SK, None, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()
    }

    /// When a payment is left `processing` (its gateway call failed inside a renewal run or a
    /// portal payment), restarts the server so that the start-up recovery records it; waits
    /// until nothing is `processing`.
    async fn recover(&mut self) {
        let processing = self.get("/v1/payment_intents?status=processing").await;
        if processing["data"] != json!([]) {
            self.restart();
        }
        self.until_nothing_processing().await;
    }

    /// Waits until the recovery has recorded every outcome (nothing `processing`).
    async fn until_nothing_processing(&self) {
        let started = Instant::now();
        loop {
            let processing = self.get("/v1/payment_intents?status=processing").await;
            if processing["data"] == json!([]) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "still processing: {processing}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn set_faults(sim: SocketAddr, faults: &str) {
    sim_faults(sim, &serde_json::from_str(faults).unwrap()).await;
}

fn ok(r: common::Resp, what: &str) -> Value {
    assert_eq!(r.status, 200, "{what}: {}", r.body);
    r.json()
}

async fn every_operation_under_5xx_duplicates_and_latency(backend: Backend) {
    let url = database_or_skip!(backend, "gwsub_faults");
    let config = common::config_file(&format!("gwsub-faults-{backend:?}"));
    let sim = GatewaySim::spawn(&json!({}));
    let mut s = Server::start(&url, config, sim.addr);

    // Two trials ending in 3 s (nothing charged now): A renews with a good card, D's card is
    // declined at renewal (dunning).
    let trial_end = unix_now() + 3;
    let mut a = subscriber("cus_f_a", "pm_card_visa");
    a["trial_end"] = json!(trial_end);
    let a = ok(
        s.settle("/v1/subscriptions", SK, Some("f-create-a"), &a)
            .await,
        "A",
    );
    let mut d = subscriber("cus_f_d", "pm_card_insufficient_funds");
    d["trial_end"] = json!(trial_end);
    let d = ok(
        s.settle("/v1/subscriptions", SK, Some("f-create-d"), &d)
            .await,
        "D",
    );

    set_faults(sim.addr, FAULTS).await;

    // B: created (its first invoice charged), changed with the proration charged now, and
    // 10.00 refunded.
    let b = ok(
        s.settle(
            "/v1/subscriptions",
            SK,
            Some("f-create-b"),
            &subscriber("cus_f_b", "pm_card_visa"),
        )
        .await,
        "B",
    );
    assert_eq!(b["latest_invoice"]["status"], "paid", "{b}");
    let b_id = b["id"].as_str().unwrap().to_string();
    let change = json!({
        "items": [{ "id": b["items"][0]["id"], "quantity": 5 }],
        "proration_behavior": "always_invoice",
        "proration_date": unix_now(),
    });
    let preview = ok(
        s.settle(
            &format!("/v1/subscriptions/{b_id}/preview"),
            SK,
            None,
            &change,
        )
        .await,
        "preview",
    );
    let prorated = preview["invoice"]["amount_due"].as_i64().unwrap();
    assert!(prorated > 0, "{preview}");
    let mut commit = change.clone();
    commit["preview"] = preview["id"].clone();
    let changed = ok(
        s.settle(
            &format!("/v1/subscriptions/{b_id}"),
            SK,
            Some("f-change-b"),
            &commit,
        )
        .await,
        "change",
    );
    assert_eq!(changed["items"][0]["quantity"], 5, "{changed}");
    assert_eq!(changed["latest_invoice"]["amount_paid"], json!(prorated));
    // B's first charge, refunded in part.
    let b_invoice = b["latest_invoice"]["id"].as_str().unwrap();
    let b_charge = s.get(&format!("/v1/invoices/{b_invoice}")).await["payment"]["id"]
        .as_str()
        .map(str::to_string);
    let b_charge = match b_charge {
        Some(c) => c,
        None => {
            let store = billcalc_server::store::open(&url).await.unwrap();
            store
                .payments()
                .await
                .unwrap()
                .into_iter()
                .find(|p| p.invoice_id == b_invoice)
                .expect("B's first payment")
                .id
        }
    };
    let refund = ok(
        s.settle(
            "/v1/refunds",
            SK,
            Some("f-refund-b"),
            &json!({"charge": b_charge, "amount": 1000}),
        )
        .await,
        "refund",
    );
    assert_eq!(refund["amount"], 1000);

    // The renewals of A and D (a 5xx leaves one processing: the recovery after a restart).
    while unix_now() <= trial_end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (a_id, d_id) = (a["id"].as_str().unwrap(), d["id"].as_str().unwrap());
    for _ in 0..10 {
        let _ = s.settle("/v1/renewals", SK, None, &json!({})).await;
        // A renewal whose gateway call failed inside the run stays recorded `processing`.
        s.recover().await;
        let a_now = s.get(&format!("/v1/subscriptions/{a_id}")).await;
        let d_now = s.get(&format!("/v1/subscriptions/{d_id}")).await;
        if a_now["current_period_start"].as_i64() >= Some(trial_end)
            && d_now["status"] == "past_due"
        {
            break;
        }
    }
    let a_now = s.get(&format!("/v1/subscriptions/{a_id}")).await;
    assert_eq!(a_now["status"], "active", "{a_now}");
    let d_now = s.get(&format!("/v1/subscriptions/{d_id}")).await;
    assert_eq!(d_now["status"], "past_due", "{d_now}");

    // D pays its open invoice from the portal with another card (a dunning attempt).
    let d_invoice = d_now["latest_invoice"]["id"].as_str().unwrap().to_string();
    let session = ok(
        s.settle(
            "/v1/billing_portal/sessions",
            SK,
            None,
            &json!({"customer": "cus_f_d"}),
        )
        .await,
        "portal session",
    );
    let token = session["url"]
        .as_str()
        .unwrap()
        .split("#session=")
        .nth(1)
        .unwrap()
        .to_string();
    let pay = format!("/v1/portal/invoices/{d_invoice}/pay");
    let paid = s
        .settle(
            &pay,
            &token,
            None,
            &json!({"payment_method": "pm_card_visa"}),
        )
        .await;
    // Paid by this call, or by the recovery of an earlier one whose answer was lost (then the
    // invoice is no longer open).
    assert!(
        paid.status == 200 || paid.status == 404 || paid.status == 409,
        "{}",
        paid.body
    );
    s.recover().await;
    let inv = s.get(&format!("/v1/invoices/{d_invoice}")).await;
    assert_eq!(inv["status"], "paid", "{inv}");

    // The comparison: the gateway's ledger against the database.
    set_faults(sim.addr, "{}").await;
    s.recover().await;
    let ledger = sim_ledger(sim.addr).await;
    let intents = ledger["payment_intents"].as_array().unwrap();
    let succeeded: Vec<&Value> = intents
        .iter()
        .filter(|i| i["status"] == "succeeded")
        .collect();
    // One charge per operation: B's creation and change, A's renewal, D's portal payment.
    let mut per_intent: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &succeeded {
        *per_intent
            .entry(i["metadata"]["billcalc_intent"].as_str().unwrap())
            .or_default() += 1;
    }
    assert!(
        per_intent.values().all(|n| *n == 1),
        "charged twice: {per_intent:?}"
    );
    assert_eq!(succeeded.len(), 4, "{ledger}");
    let store = billcalc_server::store::open(&url).await.unwrap();
    let payments = store.payments().await.unwrap();
    let mut in_ledger: Vec<(String, i64)> =
        payments.iter().map(|p| (p.id.clone(), p.amount)).collect();
    let mut at_gateway: Vec<(String, i64)> = succeeded
        .iter()
        .map(|i| {
            (
                i["latest_charge"]["id"].as_str().unwrap().to_string(),
                i["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    in_ledger.sort();
    at_gateway.sort();
    assert_eq!(in_ledger, at_gateway, "the ledger and the gateway disagree");
    // One refund at the gateway, one credit note naming it.
    let refunds = ledger["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{ledger}");
    assert_eq!(refunds[0]["amount"], 1000);
    let notes = store
        .query(
            "SELECT refund_id, amount_refunded FROM credit_notes",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0][0].as_str(), refunds[0]["id"].as_str());
    assert_eq!(notes[0][1].as_i64(), Some(1000));
    // Invoices numbered without a gap (B's two, A's and D's renewals, and whatever the trials
    // issued), each paid one paid once.
    let year = billcalc_server::clock::year(unix_now());
    let numbers = store.invoice_numbers(&format!("F{year}")).await.unwrap();
    assert_eq!(numbers, (1..=numbers.len() as i64).collect::<Vec<_>>());
    assert!(numbers.len() >= 4, "{numbers:?}");
    let mut per_invoice: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &payments {
        *per_invoice.entry(p.invoice_id.as_str()).or_default() += 1;
    }
    assert!(per_invoice.values().all(|n| *n == 1), "{per_invoice:?}");
    // Nothing waits for the gateway; no subscription is left marked.
    let processing = store
        .query(
            "SELECT count(*) FROM payment_intents WHERE status = 'processing'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(processing[0][0].as_i64(), Some(0));
    for id in [a_id, b_id.as_str(), d_id] {
        let sub = s.get(&format!("/v1/subscriptions/{id}")).await;
        assert!(sub.get("pending_payment").is_none(), "{sub}");
    }
    // The faults were met: 5xx answers reached the client, requests were delivered twice.
    assert!(ledger["requests"].as_u64().unwrap() >= 6, "{ledger}");
    assert!(
        s.unavailable + s.restarts > 0,
        "no fault reached the server"
    );
    eprintln!(
        "gwsub_faults {backend:?}: {} gateway requests, {} answers 503 retried, {} restarts for the recovery",
        ledger["requests"], s.unavailable, s.restarts
    );
}

on_both_databases!(every_operation_under_5xx_duplicates_and_latency);

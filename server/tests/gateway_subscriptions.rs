//! Issue 13 §6 for everything that is not a one-off charge: a subscription's creation, a change
//! billed now (proration), a renewal, a dunning attempt and a refund call the gateway outside
//! any database transaction, in recorded steps (crate::payment_step). Against the gateway
//! simulator as its own process and the real server binary, on a real SQLite file and a real
//! PostgreSQL:
//!
//! * the gateway takes the money and never answers: the client's retry with its key (or the
//!   recovery) records it — one charge at the gateway, one payment in the ledger;
//! * the server is SIGKILLed after the gateway took the money and before the outcome was
//!   recorded: the restarted server's start-up recovery records it by itself, once.

mod common;

use common::{sim_ledger, subscriber, unix_now, Backend, GatewaySim, ServerProcess, SK};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long the server waits for the simulator before answering 503.
const GATEWAY_TIMEOUT_MS: u64 = 1500;

fn config_file(name: &str, backend: Backend) -> PathBuf {
    let config = std::env::temp_dir().join(format!(
        "billcalc-{name}-{}-{:?}.json",
        std::process::id(),
        backend
    ));
    let mut c = common::test_config();
    c["portal"] = json!({ "page_url": "https://shop.example/portal.html" });
    std::fs::write(&config, c.to_string()).unwrap();
    config
}

/// The gateway takes the money and never answers (`true`), or behaves.
async fn silent_after_charging(sim: SocketAddr, on: bool) {
    let faults = if on {
        json!({"timeout_after_charge_every": 1})
    } else {
        json!({})
    };
    common::sim_faults(sim, &faults).await;
}

/// The simulator's succeeded charges: `(charge id, amount, the server's intent)`.
async fn charges(sim: SocketAddr) -> Vec<(String, i64, String)> {
    sim_ledger(sim).await["payment_intents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "succeeded")
        .map(|i| {
            (
                i["latest_charge"]["id"].as_str().unwrap().to_string(),
                i["amount"].as_i64().unwrap(),
                i["metadata"]["billcalc_intent"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

async fn refunds(sim: SocketAddr) -> Vec<Value> {
    sim_ledger(sim).await["refunds"].as_array().unwrap().clone()
}

async fn call(
    addr: SocketAddr,
    path: &str,
    bearer: &str,
    key: Option<&str>,
    body: &Value,
) -> std::io::Result<common::Resp> {
    let auth = format!("Bearer {bearer}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(k) = key {
        headers.push(("idempotency-key", k));
    }
    common::try_request(
        addr,
        "POST",
        path,
        &headers,
        Some(body.to_string().as_bytes()),
    )
    .await
}

async fn ok(addr: SocketAddr, path: &str, key: Option<&str>, body: &Value) -> Value {
    let r = call(addr, path, SK, key, body).await.expect("answered");
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

async fn get(addr: SocketAddr, path: &str) -> Value {
    let r = common::request(
        addr,
        "GET",
        path,
        &[("authorization", &format!("Bearer {SK}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

/// Polls until `done` holds (30 s at most).
async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < Duration::from_secs(30), "{what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Sends `path` in the background while the gateway holds its answer, waits until the gateway
/// has taken the money (`charged` charges in all, or `refunded` refunds), SIGKILLs the server and
/// checks the request got no answer. Returns the restarted server (gateway answering again).
#[allow(clippy::too_many_arguments)]
async fn kill_after_gateway(
    server: ServerProcess,
    sim: SocketAddr,
    url: &str,
    config: &PathBuf,
    path: &str,
    bearer: &str,
    key: Option<&str>,
    body: &Value,
    charged: usize,
    refunded: usize,
) -> ServerProcess {
    silent_after_charging(sim, true).await;
    let in_flight = {
        let (addr, path, bearer) = (server.addr, path.to_string(), bearer.to_string());
        let (key, body) = (key.map(str::to_string), body.clone());
        tokio::spawn(async move { call(addr, &path, &bearer, key.as_deref(), &body).await })
    };
    until("the gateway was never called", || async {
        charges(sim).await.len() == charged && refunds(sim).await.len() == refunded
    })
    .await;
    server.kill();
    let answer = in_flight.await.unwrap();
    assert!(answer.is_err(), "the killed server answered: {answer:?}");
    silent_after_charging(sim, false).await;
    ServerProcess::with_gateway(url, config, sim, GATEWAY_TIMEOUT_MS)
}

async fn payments(url: &str) -> Vec<billcalc_server::store::PaymentRecord> {
    let store = billcalc_server::store::open(url).await.unwrap();
    store.payments().await.unwrap()
}

async fn numbers(url: &str) -> Vec<i64> {
    let store = billcalc_server::store::open(url).await.unwrap();
    let year = chrono_year();
    store.invoice_numbers(&format!("F{year}")).await.unwrap()
}

fn chrono_year() -> i64 {
    // Days since 1970 → civil year (Howard Hinnant's algorithm), to name this year's series.
    let days = unix_now().div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

/// Creation (answer lost, the client retries) and a change billed now (server killed after
/// the gateway charged, start-up recovery).
async fn creation_and_change(backend: Backend) {
    let url = database_or_skip!(backend, "gwsub_create");
    let config = config_file("gwsub-create", backend);
    let sim = GatewaySim::spawn(&json!({}));
    let server = ServerProcess::with_gateway(&url, &config, sim.addr, GATEWAY_TIMEOUT_MS);

    // 1. The gateway charges the first invoice and never answers: 503, nothing recorded.
    silent_after_charging(sim.addr, true).await;
    let body = subscriber("cus_gw_1", "pm_card_visa");
    let r = call(
        server.addr,
        "/v1/subscriptions",
        SK,
        Some("create-1"),
        &body,
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.code()),
        (503, "payment_gateway_unavailable".to_string()),
        "{}",
        r.body
    );
    let taken = charges(sim.addr).await;
    assert_eq!(taken.len(), 1, "the gateway took the first invoice");
    assert!(
        payments(&url).await.is_empty(),
        "recorded without an answer"
    );
    // The client retries with its key: the gateway is asked again (same idempotency key, the
    // first answer), the subscription and its paid invoice are recorded once.
    silent_after_charging(sim.addr, false).await;
    let created = ok(server.addr, "/v1/subscriptions", Some("create-1"), &body).await;
    assert_eq!(created["status"], "active");
    assert_eq!(created["latest_invoice"]["status"], "paid");
    let due = created["latest_invoice"]["amount_paid"].as_i64().unwrap();
    assert_eq!(due, taken[0].1);
    let again = call(
        server.addr,
        "/v1/subscriptions",
        SK,
        Some("create-1"),
        &body,
    )
    .await
    .unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], created["id"]);
    assert_eq!(charges(sim.addr).await, taken, "charged twice");
    let paid = payments(&url).await;
    assert_eq!(paid.len(), 1);
    assert_eq!(
        (paid[0].id.as_str(), paid[0].amount),
        (taken[0].0.as_str(), due)
    );

    // 2. A change billed now; the server dies after the gateway charged the proration.
    let id = created["id"].as_str().unwrap().to_string();
    let item = created["items"][0]["id"].as_str().unwrap().to_string();
    let change = json!({
        "items": [{ "id": item, "quantity": 5 }],
        "proration_behavior": "always_invoice",
        "proration_date": unix_now(),
    });
    let preview = ok(
        server.addr,
        &format!("/v1/subscriptions/{id}/preview"),
        None,
        &change,
    )
    .await;
    let mut commit = change.clone();
    commit["preview"] = preview["id"].clone();
    let prorated = preview["invoice"]["amount_due"].as_i64().unwrap();
    assert!(prorated > 0, "{preview}");
    let path = format!("/v1/subscriptions/{id}");
    let server = kill_after_gateway(
        server,
        sim.addr,
        &url,
        &config,
        &path,
        SK,
        Some("change-1"),
        &commit,
        2,
        0,
    )
    .await;
    // Start-up recovery records the proration's payment by itself.
    until("start-up recovery did not record the change", || async {
        payments(&url).await.len() == 2
    })
    .await;
    let taken = charges(sim.addr).await;
    assert_eq!(taken.len(), 2, "charged twice");
    assert_eq!(taken[1].1, prorated);
    let paid = payments(&url).await;
    assert!(paid
        .iter()
        .any(|p| p.id == taken[1].0 && p.amount == prorated));
    let sub = get(server.addr, &path).await;
    assert_eq!(sub["items"][0]["quantity"], json!(5));
    assert!(sub.get("pending_payment").is_none(), "{sub}");
    // The client's retry is a replay of the recorded change.
    let r = call(server.addr, &path, SK, Some("change-1"), &commit)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    assert_eq!(r.json()["latest_invoice"]["amount_paid"], json!(prorated));
    assert_eq!(numbers(&url).await, vec![1, 2]);
    assert_eq!(charges(sim.addr).await.len(), 2);
    // Both invoices got their e-invoice, rendered after their commit.
    for invoice in [
        &created["latest_invoice"]["id"],
        &sub["latest_invoice"]["id"],
    ] {
        let id = invoice.as_str().unwrap();
        until("an e-invoice was never stored", || async {
            let store = billcalc_server::store::open(&url).await.unwrap();
            let doc: Value =
                serde_json::from_str(&store.invoice(id).await.unwrap().unwrap().document).unwrap();
            doc["einvoice"]["pdf"]["sha256"].is_string()
        })
        .await;
    }
}

/// A renewal: the server dies after the gateway charged the period; start-up recovery records
/// it, and no renewal run issues it again.
async fn renewal(backend: Backend) {
    let url = database_or_skip!(backend, "gwsub_renewal");
    let config = config_file("gwsub-renewal", backend);
    let sim = GatewaySim::spawn(&json!({}));
    let server = ServerProcess::with_gateway(&url, &config, sim.addr, GATEWAY_TIMEOUT_MS);
    // A trial ending in 2 s: nothing charged at creation.
    let trial_end = unix_now() + 2;
    let mut body = subscriber("cus_gw_2", "pm_card_visa");
    body["trial_end"] = json!(trial_end);
    let created = ok(server.addr, "/v1/subscriptions", Some("trial-1"), &body).await;
    assert_eq!(created["status"], "trialing");
    assert!(charges(sim.addr).await.is_empty());
    while unix_now() <= trial_end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let server = kill_after_gateway(
        server,
        sim.addr,
        &url,
        &config,
        "/v1/renewals",
        SK,
        None,
        &json!({}),
        1,
        0,
    )
    .await;
    until("start-up recovery did not record the renewal", || async {
        !payments(&url).await.is_empty()
    })
    .await;
    let taken = charges(sim.addr).await;
    assert_eq!(taken.len(), 1);
    let paid = payments(&url).await;
    assert_eq!(paid.len(), 1);
    assert_eq!(
        (paid[0].id.as_str(), paid[0].amount),
        (taken[0].0.as_str(), taken[0].1)
    );
    // Renewal runs now find nothing to issue; the subscription is active and paid up.
    let run = ok(server.addr, "/v1/renewals", None, &json!({})).await;
    assert_eq!(run["issued"], json!([]), "{run}");
    let id = created["id"].as_str().unwrap();
    let sub = get(server.addr, &format!("/v1/subscriptions/{id}")).await;
    assert_eq!(sub["status"], "active");
    assert!(sub["current_period_start"].as_i64().unwrap() >= trial_end);
    let invoice = get(
        server.addr,
        &format!(
            "/v1/invoices/{}",
            sub["latest_invoice"]["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["amount_paid"], json!(taken[0].1));
    assert_eq!(numbers(&url).await, vec![1, 2]);
    assert_eq!(charges(sim.addr).await.len(), 1);

    // A crash between the renewal's commit and its e-invoice leaves the intent
    // `einvoice_pending` and the document without e-invoice (made so here): the start-up
    // recovery renders and stores it.
    let invoice_id = sub["latest_invoice"]["id"].as_str().unwrap().to_string();
    let store = billcalc_server::store::open(&url).await.unwrap();
    let ready = |id: String| {
        let url = url.clone();
        async move {
            let store = billcalc_server::store::open(&url).await.unwrap();
            let doc: Value =
                serde_json::from_str(&store.invoice(&id).await.unwrap().unwrap().document).unwrap();
            doc
        }
    };
    until("the renewal's e-invoice was never stored", || async {
        ready(invoice_id.clone()).await["einvoice"]["pdf"]["sha256"].is_string()
    })
    .await;
    let mut doc = ready(invoice_id.clone()).await;
    let rendered = doc["einvoice"].clone();
    doc.as_object_mut().unwrap().remove("einvoice");
    server.kill();
    store
        .exec(
            "UPDATE invoices SET document = $2 WHERE id = $1",
            vec![invoice_id.as_str().into(), doc.to_string().into()],
        )
        .await
        .unwrap();
    let pending = store
        .exec(
            "UPDATE payment_intents SET einvoice_pending = 1 WHERE invoice_id = $1",
            vec![invoice_id.as_str().into()],
        )
        .await
        .unwrap();
    assert_eq!(pending, 1, "the renewal's intent names its invoice");
    let _server = ServerProcess::with_gateway(&url, &config, sim.addr, GATEWAY_TIMEOUT_MS);
    until("start-up recovery did not render the e-invoice", || async {
        ready(invoice_id.clone()).await["einvoice"]["pdf"]["sha256"].is_string()
    })
    .await;
    // The same documents as rendered the first time (rendered once from the same invoice).
    let again = ready(invoice_id.clone()).await["einvoice"].clone();
    assert_eq!(again["cii"]["sha256"], rendered["cii"]["sha256"]);
    assert_eq!(again["ubl"]["sha256"], rendered["ubl"]["sha256"]);
    assert_eq!(charges(sim.addr).await.len(), 1);
}

/// A dunning attempt (the customer pays an open invoice in the portal): the gateway's answer is
/// lost, then the server dies; the start-up recovery records the payment once.
async fn dunning_attempt(backend: Backend) {
    let url = database_or_skip!(backend, "gwsub_dunning");
    let config = config_file("gwsub-dunning", backend);
    let sim = GatewaySim::spawn(&json!({}));
    let server = ServerProcess::with_gateway(&url, &config, sim.addr, GATEWAY_TIMEOUT_MS);
    let trial_end = unix_now() + 2;
    let mut body = subscriber("cus_gw_3", "pm_card_insufficient_funds");
    body["trial_end"] = json!(trial_end);
    let created = ok(server.addr, "/v1/subscriptions", Some("trial-3"), &body).await;
    while unix_now() <= trial_end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The renewal is declined: the invoice stays open, the subscription past_due.
    let run = ok(server.addr, "/v1/renewals", None, &json!({})).await;
    assert_eq!(run["issued"][0]["status"], "past_due", "{run}");
    let invoice = run["issued"][0]["invoice"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let due = run["issued"][0]["invoice"]["amount_due"].as_i64().unwrap();
    assert!(charges(sim.addr).await.is_empty());
    // The customer pays from the portal with another card.
    let session = ok(
        server.addr,
        "/v1/billing_portal/sessions",
        None,
        &json!({"customer": "cus_gw_3"}),
    )
    .await;
    let token = session["url"]
        .as_str()
        .unwrap()
        .split("#session=")
        .nth(1)
        .unwrap()
        .to_string();
    let pay = format!("/v1/portal/invoices/{invoice}/pay");
    // First the answer is lost (503; the attempt's intent stays processing) ...
    silent_after_charging(sim.addr, true).await;
    let r = call(
        server.addr,
        &pay,
        &token,
        None,
        &json!({"payment_method": "pm_card_visa"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(charges(sim.addr).await.len(), 1);
    // ... and a second try is refused while it is: no second charge.
    silent_after_charging(sim.addr, false).await;
    let r = call(
        server.addr,
        &pay,
        &token,
        None,
        &json!({"payment_method": "pm_card_visa"}),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.code()),
        (409, "subscription_payment_pending".to_string()),
        "{}",
        r.body
    );
    // The server dies; at restart the recovery asks the gateway and records the payment.
    server.kill();
    let server = ServerProcess::with_gateway(&url, &config, sim.addr, GATEWAY_TIMEOUT_MS);
    until("start-up recovery did not record the attempt", || async {
        !payments(&url).await.is_empty()
    })
    .await;
    let taken = charges(sim.addr).await;
    assert_eq!(taken.len(), 1, "charged twice");
    assert_eq!(taken[0].1, due);
    let paid = payments(&url).await;
    assert_eq!(paid.len(), 1);
    assert_eq!(
        (paid[0].id.as_str(), paid[0].invoice_id.as_str()),
        (taken[0].0.as_str(), invoice.as_str())
    );
    let inv = get(server.addr, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(
        (inv["status"].clone(), inv["amount_paid"].clone()),
        (json!("paid"), json!(due))
    );
    assert_eq!(inv["attempt_count"], json!(2));
    let id = created["id"].as_str().unwrap();
    let sub = get(server.addr, &format!("/v1/subscriptions/{id}")).await;
    assert_eq!(sub["status"], "active");
    // Paying again: the invoice is paid, nothing is charged.
    let r = call(
        server.addr,
        &pay,
        &token,
        None,
        &json!({"payment_method": "pm_card_visa"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(charges(sim.addr).await.len(), 1);
}

/// Refunds: the answer lost then the client's retry; the server killed after the gateway
/// refunded, then the start-up recovery.
async fn refund(backend: Backend) {
    let url = database_or_skip!(backend, "gwsub_refund");
    let config = config_file("gwsub-refund", backend);
    let sim = GatewaySim::spawn(&json!({}));
    let server = ServerProcess::with_gateway(&url, &config, sim.addr, GATEWAY_TIMEOUT_MS);
    let created = ok(
        server.addr,
        "/v1/subscriptions",
        Some("paid-4"),
        &subscriber("cus_gw_4", "pm_card_visa"),
    )
    .await;
    let invoice = created["latest_invoice"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let paid = created["latest_invoice"]["amount_paid"].as_i64().unwrap();
    let charge = charges(sim.addr).await[0].0.clone();

    // 1. 10.00 back; the gateway refunds and never answers: 503, no credit note.
    silent_after_charging(sim.addr, true).await;
    let first = json!({"charge": charge, "amount": 1000});
    let r = call(server.addr, "/v1/refunds", SK, Some("refund-1"), &first)
        .await
        .unwrap();
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(refunds(sim.addr).await.len(), 1);
    let notes = get(server.addr, &format!("/v1/credit_notes?invoice={invoice}")).await;
    assert_eq!(notes["data"], json!([]), "{notes}");
    // A second note on the invoice waits for this refund's outcome.
    silent_after_charging(sim.addr, false).await;
    let r = call(
        server.addr,
        "/v1/refunds",
        SK,
        Some("refund-other"),
        &json!({"charge": charge, "amount": 500}),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.code()),
        (409, "refund_pending".to_string()),
        "{}",
        r.body
    );
    // The retry records the refund the gateway made (asked again with the same key).
    let done = ok(server.addr, "/v1/refunds", Some("refund-1"), &first).await;
    assert_eq!(done["amount"], json!(1000));
    assert_eq!(
        done["credit_note"]["number"].as_str().unwrap().len(),
        "AV-2026-000001".len()
    );
    assert!(done["credit_note"]["number"]
        .as_str()
        .unwrap()
        .ends_with("-000001"));
    let given = refunds(sim.addr).await;
    assert_eq!(given.len(), 1, "refunded twice");
    assert_eq!(done["id"], given[0]["id"]);

    // 2. The rest back; the server dies after the gateway refunded.
    let rest = json!({"charge": charge});
    let server = kill_after_gateway(
        server,
        sim.addr,
        &url,
        &config,
        "/v1/refunds",
        SK,
        Some("refund-2"),
        &rest,
        1,
        2,
    )
    .await;
    until("start-up recovery did not record the refund", || async {
        let store = billcalc_server::store::open(&url).await.unwrap();
        store
            .query(
                "SELECT id FROM credit_notes WHERE invoice_id = $1",
                vec![invoice.as_str().into()],
            )
            .await
            .unwrap()
            .len()
            == 2
    })
    .await;
    let given = refunds(sim.addr).await;
    assert_eq!(given.len(), 2, "refunded twice");
    assert_eq!(given[1]["amount"], json!(paid - 1000));
    let r = call(server.addr, "/v1/refunds", SK, Some("refund-2"), &rest)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    assert_eq!(r.json()["id"], given[1]["id"]);
    assert_eq!(r.json()["amount"], json!(paid - 1000));
    // Both notes have their e-invoice (rendered after their commit; the recovered one's may
    // still be rendering).
    let path = format!("/v1/credit_notes?invoice={invoice}");
    let addr = server.addr;
    until("a credit note's e-invoice was never stored", || async {
        let notes = get(addr, &path).await["data"].as_array().unwrap().clone();
        notes.len() == 2
            && notes
                .iter()
                .all(|n| n["einvoice"]["pdf"]["sha256"].is_string())
    })
    .await;
    assert_eq!(refunds(sim.addr).await.len(), 2);

    // A crash between the second note's commit and its e-invoice (made so here: the document
    // without it, the intent `einvoice_pending`): the start-up recovery computes the note again
    // from the notes before it and renders the same documents.
    let notes = get(server.addr, &path).await["data"]
        .as_array()
        .unwrap()
        .clone();
    let second = notes[1]["id"].as_str().unwrap().to_string();
    let rendered = notes[1]["einvoice"].clone();
    let store = billcalc_server::store::open(&url).await.unwrap();
    let rows = store
        .query(
            "SELECT document FROM credit_notes WHERE id = $1",
            vec![second.as_str().into()],
        )
        .await
        .unwrap();
    let mut doc: Value = serde_json::from_str(rows[0][0].as_str().unwrap()).unwrap();
    doc.as_object_mut().unwrap().remove("einvoice");
    server.kill();
    store
        .exec(
            "UPDATE credit_notes SET document = $2 WHERE id = $1",
            vec![second.as_str().into(), doc.to_string().into()],
        )
        .await
        .unwrap();
    let pending = store
        .exec(
            "UPDATE payment_intents SET einvoice_pending = 1 WHERE invoice_id = $1",
            vec![second.as_str().into()],
        )
        .await
        .unwrap();
    assert_eq!(pending, 1, "the refund's intent names its credit note");
    let server = ServerProcess::with_gateway(&url, &config, sim.addr, GATEWAY_TIMEOUT_MS);
    let addr = server.addr;
    // Watched in the database (a read through the API would render it itself).
    until(
        "start-up recovery did not render the credit note's e-invoice",
        || async {
            let rows = store
                .query(
                    "SELECT document FROM credit_notes WHERE id = $1",
                    vec![second.as_str().into()],
                )
                .await
                .unwrap();
            let doc: Value = serde_json::from_str(rows[0][0].as_str().unwrap()).unwrap();
            doc["einvoice"]["pdf"]["sha256"].is_string()
        },
    )
    .await;
    let again = get(addr, &path).await["data"][1]["einvoice"].clone();
    assert_eq!(again["cii"]["sha256"], rendered["cii"]["sha256"]);
    assert_eq!(again["ubl"]["sha256"], rendered["ubl"]["sha256"]);
    assert_eq!(refunds(sim.addr).await.len(), 2);
}

on_both_databases!(creation_and_change, renewal, dunning_attempt, refund);

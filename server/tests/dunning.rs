//! Must show (issue 15): a renewal that fails twice and then succeeds produces exactly the
//! expected invoice states, attempts, events and emails; a webhook receiver down for an hour
//! of server time gets every event afterwards, in order per object, none lost. Real HTTP
//! receiver (own HMAC check), real SMTP server (aiosmtpd), the server's injected clock moving
//! through the schedule; SQLite and PostgreSQL.

mod common;
mod support;

use billcalc_server::automation;
use billcalc_server::clock::Clock;
use common::{Backend, TestServer, NOW, SK};
use serde_json::{json, Value};

const DAY: i64 = 86_400;

fn config(smtp_url: Option<String>) -> Value {
    let mut c = common::test_config();
    // 3 tries within 6 days: retries 2, 4 and 6 days after the failure; then unpaid.
    c["dunning"] = json!({ "default": { "tries": 3, "within_days": 6, "then": "unpaid" } });
    c["portal"] = json!({ "page_url": "https://shop.example/portal.html" });
    if let Some(u) = smtp_url {
        c["email"] =
            json!({ "smtp_url": u, "from": "Atelier Lumière <factures@atelier-lumiere.example>" });
    }
    c
}

fn subscriber(id: &str, pm: &str, trial_days: Option<i64>, locale: &str) -> Value {
    let mut b = json!({
        "customer": {
            "id": id, "name": "Claire Martin", "email": format!("{id}@example.fr"),
            "preferred_locales": [locale],
            "address": { "country": "FR", "postal_code": "69003", "city": "Lyon", "line1": "8 cours Gambetta" }
        },
        "items": [{ "price": "price_essentiel_monthly", "quantity": 1 }],
        "payment_method": pm,
    });
    if let Some(d) = trial_days {
        b["trial_period_days"] = json!(d);
    }
    b
}

async fn ok(s: &TestServer, path: &str, body: &Value, key: Option<&str>) -> Value {
    let extra: Vec<(&str, &str)> = key
        .map(|k| vec![("idempotency-key", k)])
        .unwrap_or_default();
    let r = s.post(path, SK, body, &extra).await;
    assert_eq!(r.status, 200, "POST {path}: {}", r.body);
    r.json()
}

async fn get(s: &TestServer, path: &str) -> Value {
    let r = s.get(path, Some(SK)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.json()
}

/// Event types for an object, oldest first.
async fn types(s: &TestServer, object: &str) -> Vec<String> {
    let v = get(s, &format!("/v1/events?object={object}")).await;
    let mut t: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    t.reverse();
    t
}

async fn run(s: &TestServer) -> Value {
    ok(s, "/v1/automation/run", &json!({}), None).await
}

async fn renewal_fails_twice_then_succeeds(backend: Backend) {
    let url = database_or_skip!(backend, "dunning");
    let Some(smtp) = support::smtp("dunning") else {
        return;
    };
    let hooks = support::receiver().await;
    let s = TestServer::start_with(&url, config(Some(smtp.url())), |_| {}).await;
    *hooks.state.clock.lock().unwrap() = Some(s.clock.clone());
    let endpoint = ok(
        &s,
        "/v1/webhook_endpoints",
        &json!({ "url": hooks.url() }),
        None,
    )
    .await;
    *hooks.state.secret.lock().unwrap() = endpoint["secret"].as_str().unwrap().to_string();
    assert!(endpoint["secret"].as_str().unwrap().starts_with("whsec_"));

    // A 14-day trial on a card that will be refused for insufficient funds.
    let created = ok(
        &s,
        "/v1/subscriptions",
        &subscriber(
            "cus_claire",
            "pm_card_insufficient_funds",
            Some(14),
            "fr-FR",
        ),
        Some("sub-1"),
    )
    .await;
    let sub = created["id"].as_str().unwrap().to_string();
    let trial_end = NOW + 14 * DAY;
    assert_eq!(created["trial_end"], json!(trial_end));

    // Three days before the trial ends: the reminder (once, however often the loop runs).
    s.clock.set(trial_end - 3 * DAY);
    run(&s).await;
    run(&s).await;

    // The trial ends: the renewal's payment fails (attempt 1). Invoice open, past_due.
    s.clock.set(trial_end);
    let r = run(&s).await;
    let invoice_id = r["renewals"]["issued"][0]["invoice"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r["renewals"]["issued"][0]["status"], "past_due");
    let inv = get(&s, &format!("/v1/invoices/{invoice_id}")).await;
    assert_eq!(
        (
            inv["status"].clone(),
            inv["attempt_count"].clone(),
            inv["next_payment_attempt"].clone(),
            inv["amount_paid"].clone(),
            inv["amount_remaining"].clone(),
        ),
        (
            json!("open"),
            json!(1),
            json!(trial_end + 2 * DAY),
            json!(0),
            json!(1080)
        ),
    );
    // The engine's dunningSchedule for the same input says the same.
    let schedule: billcalc::subscription::DunningInput =
        billcalc::from_value(&json!({"failed_at": trial_end, "tries": 3, "within_days": 6}))
            .unwrap();
    let schedule = billcalc::dunning_schedule(&schedule).unwrap();
    assert_eq!(schedule.retries[0].at, trial_end + 2 * DAY);
    assert_eq!(
        get(&s, &format!("/v1/subscriptions/{sub}")).await["status"],
        "past_due"
    );

    // Nothing happens before the retry's time.
    s.clock.set(trial_end + 2 * DAY - 1);
    let r = run(&s).await;
    assert_eq!(r["dunning"]["attempts"], json!([]));

    // Retry 1 (attempt 2) fails too.
    s.clock.set(trial_end + 2 * DAY);
    let r = run(&s).await;
    assert_eq!(r["dunning"]["attempts"][0]["outcome"], "failed");
    assert_eq!(
        r["dunning"]["attempts"][0]["decline_code"],
        "insufficient_funds"
    );
    let inv = get(&s, &format!("/v1/invoices/{invoice_id}")).await;
    assert_eq!(
        (
            inv["status"].clone(),
            inv["attempt_count"].clone(),
            inv["next_payment_attempt"].clone()
        ),
        (json!("open"), json!(2), json!(trial_end + 4 * DAY))
    );

    // The customer's card is replaced (merchant API; nothing billed now).
    ok(
        &s,
        &format!("/v1/subscriptions/{sub}"),
        &json!({ "payment_method": "pm_card_visa" }),
        Some("pm-1"),
    )
    .await;

    // Retry 2 (attempt 3) succeeds: paid, active.
    s.clock.set(trial_end + 4 * DAY);
    let r = run(&s).await;
    assert_eq!(r["dunning"]["attempts"][0]["outcome"], "succeeded");
    let inv = get(&s, &format!("/v1/invoices/{invoice_id}")).await;
    let attempts: Vec<Value> = inv["payment_attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            json!([
                a["attempt"],
                a["attempted_at"],
                a["payment_method"],
                a["outcome"],
                a["decline_code"],
                a["trigger"]
            ])
        })
        .collect();
    assert_eq!(
        attempts,
        vec![
            json!([
                1,
                trial_end,
                "pm_card_insufficient_funds",
                "failed",
                "insufficient_funds",
                "renewal"
            ]),
            json!([
                2,
                trial_end + 2 * DAY,
                "pm_card_insufficient_funds",
                "failed",
                "insufficient_funds",
                "automatic"
            ]),
            json!([
                3,
                trial_end + 4 * DAY,
                "pm_card_visa",
                "succeeded",
                null,
                "automatic"
            ]),
        ]
    );
    assert_eq!(
        (
            inv["status"].clone(),
            inv["attempt_count"].clone(),
            inv["next_payment_attempt"].clone(),
            inv["amount_paid"].clone(),
            inv["amount_remaining"].clone(),
            inv["payment"]["amount"].clone(),
            inv["payment"]["paid_at"].clone(),
        ),
        (
            json!("paid"),
            json!(3),
            Value::Null,
            json!(1080),
            json!(0),
            json!(1080),
            json!(trial_end + 4 * DAY)
        )
    );
    assert_eq!(
        get(&s, &format!("/v1/subscriptions/{sub}")).await["status"],
        "active"
    );
    // One charge made: the third attempt.
    assert_eq!(s.gateway.charges_made(), 1);
    // Later runs change nothing.
    s.clock.set(trial_end + 6 * DAY);
    let r = run(&s).await;
    assert_eq!(r["dunning"]["attempts"], json!([]));

    // Events, per object, in order.
    assert_eq!(
        types(&s, &invoice_id).await,
        [
            "invoice.created",
            "invoice.finalized",
            "invoice.payment_failed",
            "invoice.payment_failed",
            "invoice.paid"
        ]
    );
    assert_eq!(
        types(&s, &sub).await,
        [
            "customer.subscription.created",
            "customer.subscription.trial_will_end",
            "customer.subscription.updated", // trialing → past_due, new period
            "customer.subscription.updated", // new card
            "customer.subscription.updated", // past_due → active
        ]
    );
    let events = get(&s, &format!("/v1/events?object={sub}")).await;
    let last = &events["data"][0];
    assert_eq!(
        last["data"]["previous_attributes"],
        json!({"status": "past_due"})
    );
    assert_eq!(last["data"]["object"]["status"], "active");
    let past_due = &events["data"][2];
    assert_eq!(
        past_due["data"]["previous_attributes"]["status"],
        "trialing"
    );
    let failed = get(&s, &format!("/v1/events?object={invoice_id}")).await;
    assert_eq!(
        failed["data"][1]["data"]["object"]["attempt_count"],
        json!(2)
    );
    assert_eq!(
        failed["data"][1]["data"]["object"]["next_payment_attempt"],
        json!(trial_end + 4 * DAY)
    );

    // Webhooks: every event delivered once, signed, in order per object.
    automation::deliver(&s.state, s.clock.now()).await;
    let all: Vec<Value> = get(&s, "/v1/events?limit=500").await["data"]
        .as_array()
        .unwrap()
        .clone();
    let got = hooks.accepted();
    assert!(hooks.received().iter().all(|r| r.signature_ok));
    assert_eq!(got.len(), all.len(), "each event once");
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len());
    let delivered_invoice: Vec<&str> = got
        .iter()
        .filter(|r| r.object_id == invoice_id)
        .map(|r| r.kind.as_str())
        .collect();
    assert_eq!(
        delivered_invoice,
        [
            "invoice.created",
            "invoice.finalized",
            "invoice.payment_failed",
            "invoice.payment_failed",
            "invoice.paid"
        ]
    );

    // Emails through SMTP: the trial reminder, two payment failures, the receipt (French).
    let mails = smtp.messages();
    let subjects: Vec<&str> = mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    let number = inv["number"].as_str().unwrap();
    assert_eq!(
        subjects,
        [
            "Votre période d'essai se termine bientôt".to_string(),
            format!("Échec du paiement de la facture {number}"),
            format!("Échec du paiement de la facture {number}"),
            format!("Reçu de paiement — facture {number}"),
        ]
    );
    for m in &mails {
        assert_eq!(m["to"], json!(["cus_claire@example.fr"]));
        assert!(m["text"]
            .as_str()
            .unwrap()
            .starts_with("Bonjour Claire Martin,"));
        assert!(m["html"].as_str().unwrap().contains("<!doctype html>"));
    }
    let first_failure = mails[1]["text"].as_str().unwrap();
    assert!(first_failure.contains("10,80\u{a0}€"), "{first_failure}");
    assert!(first_failure.contains("(tentative 1)"), "{first_failure}");
    let retry_date = billcalc_server::email::long_date(trial_end + 2 * DAY, "fr");
    assert!(
        first_failure.contains(&format!("le {retry_date}")),
        "{first_failure}"
    );
    assert!(first_failure.contains("https://shop.example/portal.html#session=bps1."));
    assert!(mails[2]["text"].as_str().unwrap().contains("(tentative 2)"));
    let receipt = &mails[3];
    assert_eq!(
        receipt["attachments"][0]["filename"],
        json!(format!("{number}.html"))
    );
    assert_eq!(receipt["attachments"][0]["content_type"], "text/html");
    assert!(receipt["attachments"][0]["text"]
        .as_str()
        .unwrap()
        .contains(number));
    assert_eq!(receipt["multipart"], "multipart/mixed");

    // The mail log says the same.
    let log = get(&s, "/v1/emails").await;
    let kinds: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "trial_will_end",
            "payment_failed",
            "payment_failed",
            "receipt"
        ]
    );
    assert!(log["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["status"] == "sent"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renewal_fails_twice_then_succeeds_sqlite() {
    renewal_fails_twice_then_succeeds(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renewal_fails_twice_then_succeeds_postgres() {
    renewal_fails_twice_then_succeeds(Backend::Postgres).await;
}

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
    // With the Factur-X PDF rendered at issue (issue 14), byte for byte the one served.
    assert_eq!(
        receipt["attachments"][1]["filename"],
        json!(format!("{number}.pdf"))
    );
    assert_eq!(receipt["attachments"][1]["content_type"], "application/pdf");
    assert_eq!(
        receipt["attachments"][1]["sha256"],
        inv["einvoice"]["pdf"]["sha256"]
    );
    assert_eq!(
        receipt["attachments"][1]["size"],
        inv["einvoice"]["pdf"]["size"]
    );

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

on_both_databases!(renewal_fails_twice_then_succeeds);

/// Two server instances on one database retry the same invoice at the same moment: one attempt
/// is made and recorded, one charge (each instance has its own gateway, so only the database's
/// lock can prevent a second one).
async fn two_instances_retry_once(backend: Backend) {
    let url = database_or_skip!(backend, "dunning_two");
    let a = TestServer::start_with(&url, config(None), |_| {}).await;
    let b = TestServer::start_with(&url, config(None), |_| {}).await;
    let created = ok(
        &a,
        "/v1/subscriptions",
        &subscriber("cus_two", "pm_card_insufficient_funds", Some(7), "fr"),
        Some("two-1"),
    )
    .await;
    let sub = created["id"].as_str().unwrap().to_string();
    let trial_end = NOW + 7 * DAY;
    a.clock.set(trial_end);
    b.clock.set(trial_end);
    let r = run(&a).await;
    let invoice = r["renewals"]["issued"][0]["invoice"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &a,
        &format!("/v1/subscriptions/{sub}"),
        &json!({"payment_method": "pm_card_visa"}),
        Some("two-pm"),
    )
    .await;
    a.clock.set(trial_end + 2 * DAY);
    b.clock.set(trial_end + 2 * DAY);
    let (ra, rb) = tokio::join!(
        billcalc_server::dunning::run_due(&a.state, trial_end + 2 * DAY),
        billcalc_server::dunning::run_due(&b.state, trial_end + 2 * DAY),
    );
    let made = ra.unwrap()["attempts"].as_array().unwrap().len()
        + rb.unwrap()["attempts"].as_array().unwrap().len();
    assert_eq!(made, 1, "one instance made the attempt");
    assert_eq!(a.gateway.charges_made() + b.gateway.charges_made(), 1);
    let inv = get(&a, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(
        (inv["status"].clone(), inv["attempt_count"].clone()),
        (json!("paid"), json!(2))
    );
    assert_eq!(
        get(&b, &format!("/v1/subscriptions/{sub}")).await["status"],
        "active"
    );
    a.stop().await;
    b.stop().await;
}

on_both_databases!(two_instances_retry_once);

/// After the last retry fails, the plan's `then`; a hard decline is not retried and waits for
/// the customer until the schedule's end.
async fn final_actions_and_hard_declines(backend: Backend) {
    let url = database_or_skip!(backend, "dunning_final");
    let mut c = config(None);
    c["dunning"]["plans"] = json!({ "price_pro_monthly": { "days": [1], "then": "canceled" } });
    let s = TestServer::start_with(&url, c, |_| {}).await;
    // Pro monthly: one retry a day after, then canceled.
    let mut body = subscriber("cus_final", "pm_card_insufficient_funds", Some(7), "en");
    body["items"] = json!([{ "price": "price_pro_monthly", "quantity": 1 }]);
    let pro = ok(&s, "/v1/subscriptions", &body, Some("f1")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Essentiel (default plan: 3 tries within 6 days, then unpaid) on a stolen card.
    let stolen = ok(
        &s,
        "/v1/subscriptions",
        &subscriber("cus_stolen", "pm_card_stolen", Some(7), "en"),
        Some("f2"),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let trial_end = NOW + 7 * DAY;
    s.clock.set(trial_end);
    let r = run(&s).await;
    let inv_of = |sub: &str| -> String {
        r["renewals"]["issued"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["subscription"] == sub)
            .unwrap()["invoice"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (pro_inv, stolen_inv) = (inv_of(&pro), inv_of(&stolen));
    let hard = get(&s, &format!("/v1/invoices/{stolen_inv}")).await;
    assert_eq!(
        (hard["status"].clone(), hard["next_payment_attempt"].clone()),
        (json!("open"), Value::Null)
    );
    assert_eq!(hard["payment_attempts"][0]["decline_code"], "stolen_card");
    // A day later: Pro's only retry fails → canceled (customer.subscription.deleted).
    s.clock.set(trial_end + DAY);
    run(&s).await;
    let p = get(&s, &format!("/v1/invoices/{pro_inv}")).await;
    assert_eq!(
        (
            p["status"].clone(),
            p["attempt_count"].clone(),
            p["dunning_outcome"].clone()
        ),
        (json!("open"), json!(2), json!("canceled"))
    );
    assert_eq!(
        get(&s, &format!("/v1/subscriptions/{pro}")).await["status"],
        "canceled"
    );
    assert_eq!(
        types(&s, &pro).await.last().unwrap(),
        "customer.subscription.deleted"
    );
    // The stolen card was never charged again; at the schedule's end (6 days) → unpaid.
    s.clock.set(trial_end + 6 * DAY - 1);
    run(&s).await;
    assert_eq!(
        get(&s, &format!("/v1/subscriptions/{stolen}")).await["status"],
        "past_due"
    );
    s.clock.set(trial_end + 6 * DAY);
    run(&s).await;
    let h = get(&s, &format!("/v1/invoices/{stolen_inv}")).await;
    assert_eq!(
        (h["attempt_count"].clone(), h["dunning_outcome"].clone()),
        (json!(1), json!("unpaid"))
    );
    assert_eq!(
        get(&s, &format!("/v1/subscriptions/{stolen}")).await["status"],
        "unpaid"
    );
    s.stop().await;
}

on_both_databases!(final_actions_and_hard_declines);

/// Reminders: the upcoming renewal 7 days before for a yearly plan (not a monthly one), a card
/// saved in the portal expiring within 30 days; each once; emails in the customer's language.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reminders_once_each() {
    let url = database_or_skip!(Backend::Sqlite, "reminders");
    let Some(smtp) = support::smtp("reminders") else {
        return;
    };
    let s = TestServer::start_with(&url, config(Some(smtp.url())), |_| {}).await;
    let mut yearly = subscriber("cus_year", "pm_card_visa", None, "en-GB");
    yearly["items"] = json!([{ "price": "price_pro_yearly", "quantity": 1 }]);
    let y = ok(&s, "/v1/subscriptions", &yearly, Some("y")).await;
    ok(
        &s,
        "/v1/subscriptions",
        &subscriber("cus_month", "pm_card_visa", None, "fr"),
        Some("m"),
    )
    .await;
    let renews = y["current_period_end"].as_i64().unwrap();
    // A card expiring at the end of April 2026, saved through the portal.
    let session = ok(
        &s,
        "/v1/billing_portal/sessions",
        &json!({"customer": "cus_month"}),
        None,
    )
    .await;
    let token = session["url"]
        .as_str()
        .unwrap()
        .split("#session=")
        .nth(1)
        .unwrap()
        .to_string();
    let r = s
        .post(
            "/v1/portal/payment_method",
            &token,
            &json!({"payment_method": "pm_card_mastercard", "exp_month": 4, "exp_year": 2026}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // 2026-03-31: 30 days before 2026-05-01 → the card reminder; the yearly renewal is far.
    s.clock.set(1_777_593_600 - 30 * DAY);
    run(&s).await;
    run(&s).await;
    s.clock.set(renews - 7 * DAY - 1);
    run(&s).await;
    s.clock.set(renews - 7 * DAY);
    run(&s).await;
    run(&s).await;
    let events = get(&s, "/v1/events?limit=500").await;
    let kinds: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .filter(|t| *t == "invoice.upcoming" || *t == "customer.source.expiring")
        .collect();
    assert_eq!(kinds, ["invoice.upcoming", "customer.source.expiring"]);
    let upcoming = &events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "invoice.upcoming")
        .unwrap()["data"]["object"];
    assert_eq!(upcoming["subscription"], y["id"]);
    assert_eq!(upcoming["amount_due"], json!(22800)); // 190 € + 20 % VAT
                                                      // Besides the receipts of the monthly renewals the clock went through:
    let mails: Vec<Value> = smtp
        .messages()
        .into_iter()
        .filter(|m| {
            !m["subject"].as_str().unwrap().contains("eceipt")
                && !m["subject"].as_str().unwrap().starts_with("Reçu")
        })
        .collect();
    let subjects: Vec<&str> = mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "Votre carte expire bientôt",
            "Your subscription renews soon"
        ]
    );
    assert!(
        mails[0]["text"]
            .as_str()
            .unwrap()
            .contains("Mastercard •••• 4444")
            || mails[0]["text"]
                .as_str()
                .unwrap()
                .contains("mastercard •••• 4444")
    );
    assert!(
        mails[1]["text"].as_str().unwrap().contains("228.00"),
        "{}",
        mails[1]["text"]
    );
    s.stop().await;
}

/// An SMTP server that answers 451 (try later): the email stays pending, is retried after 1 min
/// then 2 min, and is sent once when the server accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn email_retried_while_smtp_refuses() {
    let url = database_or_skip!(Backend::Sqlite, "smtp_retry");
    let Some(smtp) = support::smtp("smtp_retry") else {
        return;
    };
    let s = TestServer::start_with(&url, config(Some(smtp.url())), |_| {}).await;
    smtp.set_failing(true);
    ok(
        &s,
        "/v1/subscriptions",
        &subscriber("cus_mail", "pm_card_visa", None, "en"),
        Some("mail-1"),
    )
    .await;
    automation::deliver(&s.state, NOW).await;
    let e = last_email(&s).await;
    assert_eq!(
        (
            e["kind"].clone(),
            e["status"].clone(),
            e["attempts"].clone()
        ),
        (json!("receipt"), json!("pending"), json!(1))
    );
    assert!(
        e["last_error"].as_str().unwrap().contains("451"),
        "{}",
        e["last_error"]
    );
    automation::deliver(&s.state, NOW + 59).await;
    assert_eq!(
        last_email(&s).await["attempts"],
        json!(1),
        "not before the backoff"
    );
    automation::deliver(&s.state, NOW + 60).await;
    assert_eq!(last_email(&s).await["attempts"], json!(2));
    smtp.set_failing(false);
    automation::deliver(&s.state, NOW + 179).await;
    assert_eq!(last_email(&s).await["status"], "pending");
    automation::deliver(&s.state, NOW + 180).await;
    let e = last_email(&s).await;
    assert_eq!(
        (
            e["status"].clone(),
            e["attempts"].clone(),
            e["sent_at"].clone()
        ),
        (json!("sent"), json!(3), json!(NOW + 180))
    );
    automation::deliver(&s.state, NOW + 10_000).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("Payment receipt — invoice F2026-"));
    s.stop().await;
}

async fn last_email(s: &TestServer) -> Value {
    get(s, "/v1/emails").await["data"][0].clone()
}

//! Subscriptions over real HTTP on 127.0.0.1, the same suite on a SQLite file and on PostgreSQL:
//! create → preview a change → commit it at the same proration_date → the renewal invoice
//! equals the preview to the cent; commits whose result moved are rejected; cancelling with
//! proration credits the customer's balance and later invoices use it (minimum-charge carry-over
//! included); a renewal is issued once however often and however concurrently it is asked for;
//! invoice numbers stay gapless across charges, subscription invoices and renewals.
//!
//! Every test runs at `common::NOW` (2026-03-02T10:00:00Z) on the injected clock. A monthly
//! subscription started then runs [Mar 2 10:00, Apr 2 10:00): 31 days, 2,678,400 s. The demo
//! catalog's plans: Essentiel 9 € and Pro 19 € per user and month (Pro 190 € a year), VAT 20 %
//! for a French customer, rounded per line, half up.

mod common;

use common::{Backend, Resp, TestServer, NOW, PK, SK};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const MONTH: i64 = 2_678_400;

fn customer(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Camille Martin",
        "email": "camille@example.fr",
        "address": { "country": "FR", "postal_code": "75011", "city": "Paris", "line1": "3 rue Oberkampf" }
    })
}

fn create_body(customer_id: &str, price: &str, quantity: i64) -> Value {
    json!({
        "customer": customer(customer_id),
        "items": [{ "price": price, "quantity": quantity }],
        "payment_method": "pm_card_visa"
    })
}

async fn create(s: &TestServer, key: &str, body: &Value) -> Value {
    let r = s
        .post("/v1/subscriptions", SK, body, &[("idempotency-key", key)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn get(s: &TestServer, path: &str) -> Value {
    let r = s.get(path, Some(SK)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn post_key(s: &TestServer, path: &str, key: &str, body: &Value) -> Resp {
    s.post(path, SK, body, &[("idempotency-key", key)]).await
}

async fn renew(s: &TestServer) -> Value {
    let r = s.post("/v1/renewals", SK, &json!({}), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn amounts(invoice: &Value) -> Value {
    let lines: Vec<Value> = invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            json!({
                "amount": l["amount"],
                "amount_excluding_tax": l["amount_excluding_tax"],
                "taxes": l["taxes"].as_array().unwrap().iter().map(|t| t["amount"].clone()).collect::<Vec<_>>(),
                "discounts": l["discount_amounts"].as_array().unwrap().iter().map(|d| d["amount"].clone()).collect::<Vec<_>>(),
                "proration": l["proration"],
                "period": l["period"],
            })
        })
        .collect();
    json!({
        "lines": lines,
        "subtotal": invoice["subtotal"],
        "total_excluding_tax": invoice["total_excluding_tax"],
        "total_taxes": invoice["total_taxes"].as_array().unwrap().iter().map(|t| json!([t["percentage"], t["taxable_amount"], t["amount"]])).collect::<Vec<_>>(),
        "total": invoice["total"],
        "starting_balance": invoice["starting_balance"],
        "amount_due": invoice["amount_due"],
        "ending_balance": invoice["ending_balance"],
        "created": invoice["created"],
    })
}

async fn numbers(s: &TestServer) -> Vec<i64> {
    s.store.invoice_numbers("F2026").await.unwrap()
}

fn gapless(numbers: &[i64]) {
    let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
    assert_eq!(
        numbers,
        expected.as_slice(),
        "invoice numbers must be 1..=n"
    );
}

/// Create → preview a plan and seat change → commit with the preview's proration_date → the
/// renewal at the period's end is the invoice the preview showed, to the cent; a one-off charge
/// in between takes the next number of the same series.
async fn preview_commit_renewal_equals_preview(backend: Backend) {
    let url = database_or_skip!(backend, "sub_commit");
    let s = TestServer::start(&url).await;
    let created = create(
        &s,
        "create-1",
        &create_body("cus_1", "price_essentiel_monthly", 3),
    )
    .await;
    // 3 × 9 € = 27 € + 20 % VAT = 32.40 €, charged now.
    assert_eq!(created["status"], "active");
    assert_eq!(created["current_period_start"], json!(NOW));
    assert_eq!(created["current_period_end"], json!(NOW + MONTH));
    assert_eq!(created["invoice"]["billing_reason"], "subscription_create");
    assert_eq!(created["invoice"]["total"], json!(3240));
    assert_eq!(created["latest_invoice"]["number"], "F2026-000001");
    assert_eq!(created["latest_invoice"]["amount_paid"], json!(3240));
    let id = created["id"].as_str().unwrap().to_string();
    let item = created["items"][0]["id"].as_str().unwrap().to_string();
    // The replay returns the same subscription and charges nothing more.
    let again = s
        .post(
            "/v1/subscriptions",
            SK,
            &create_body("cus_1", "price_essentiel_monthly", 3),
            &[("idempotency-key", "create-1")],
        )
        .await;
    assert_eq!(again.json(), created);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(s.gateway.attempts(), 1);

    // Exactly half way through the period: Essentiel × 3 → Pro × 5.
    s.clock.set(NOW + MONTH / 2);
    let change = json!({ "items": [{ "id": item, "price": "price_pro_monthly", "quantity": 5 }] });
    let r = s
        .post(&format!("/v1/subscriptions/{id}/preview"), SK, &change, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let preview = r.json();
    assert_eq!(preview["proration_date"], json!(NOW + MONTH / 2));
    let shown = preview["invoice"].clone();
    // Credit −27 € / 2 = −13.50 €, debit 95 € / 2 = 47.50 €, April in advance 95 €; VAT 20 %
    // per line: −2.70, 9.50, 19.00. Total 129 € + 25.80 € = 154.80 €, on the invoice of Apr 2.
    assert_eq!(
        shown["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (
                l["amount"].as_i64().unwrap(),
                l["taxes"][0]["amount"].as_i64().unwrap()
            ))
            .collect::<Vec<_>>(),
        vec![(-1350, -270), (4750, 950), (9500, 1900)]
    );
    assert_eq!(shown["total"], json!(15480));
    assert_eq!(shown["created"], json!(NOW + MONTH));

    // A one-off charge meanwhile takes number 2.
    let cart = common::cart();
    let total = common::quoted_total(&s, &cart).await;
    let charge = s
        .charge("one-off-1", &common::charge_body(&cart, total))
        .await;
    assert_eq!(charge.status, 200, "{}", charge.body);
    assert_eq!(charge.json()["invoice"]["number"], "F2026-000002");

    // Commit with the same proration_date and the preview's id, a few minutes later.
    s.clock.advance(240);
    let mut commit = change.clone();
    commit["proration_date"] = preview["proration_date"].clone();
    commit["preview"] = preview["id"].clone();
    let r = post_key(&s, &format!("/v1/subscriptions/{id}"), "change-1", &commit).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let committed = r.json();
    assert_eq!(committed["change"]["invoice"], shown);
    assert_eq!(committed["change"]["invoice_issued"], Value::Null);
    assert_eq!(
        committed["items"],
        json!([{ "id": item, "price": "price_pro_monthly", "quantity": 5 }])
    );
    assert_eq!(
        committed["pending_invoice_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["amount"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![-1350, 4750]
    );
    let replay = post_key(&s, &format!("/v1/subscriptions/{id}"), "change-1", &commit).await;
    assert_eq!(replay.json(), committed);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    // The preview is used up.
    let used = post_key(&s, &format!("/v1/subscriptions/{id}"), "change-2", &commit).await;
    assert_eq!(
        (used.status, used.code()),
        (409, "preview_already_committed".into())
    );
    // The upcoming invoice (pending prorations now) has the preview's amounts.
    let upcoming = get(&s, &format!("/v1/invoices/upcoming?subscription={id}")).await;
    assert_eq!(amounts(&upcoming["invoice"]), amounts(&shown));

    // Nothing renews before the period ends.
    assert_eq!(renew(&s).await["issued"], json!([]));
    // The period ends; the renewal is the previewed invoice.
    s.clock.set(NOW + MONTH + 3600);
    let run = renew(&s).await;
    assert_eq!(run["issued"].as_array().unwrap().len(), 1, "{run}");
    let issued = &run["issued"][0]["invoice"];
    assert_eq!(issued["number"], "F2026-000003");
    assert_eq!(issued["amount_paid"], json!(15480));
    let document = get(&s, issued["url"].as_str().unwrap()).await;
    assert_eq!(amounts(&document["quote"]), amounts(&shown));
    assert_eq!(document["total"], json!(15480));
    assert_eq!(document["subscription"]["id"], json!(id));
    assert_eq!(
        document["subscription"]["billing_reason"],
        "subscription_cycle"
    );
    assert_eq!(document["status"], "paid");
    // The HTML invoice lists the prorations with their direction.
    let html = s
        .get(issued["hosted_invoice_url"].as_str().unwrap(), None)
        .await;
    assert_eq!(html.status, 200);
    assert!(
        html.body.contains("Temps non utilisé : Plan Essentiel × 3"),
        "{}",
        html.body
    );
    assert!(html.body.contains("Temps restant : Plan Pro × 5"));
    assert!(html.body.contains("154,80"));
    // Once only, and the pending items are consumed.
    assert_eq!(renew(&s).await["issued"], json!([]));
    let sub = get(&s, &format!("/v1/subscriptions/{id}")).await;
    assert_eq!(sub["pending_invoice_items"], json!([]));
    assert_eq!(sub["current_period_start"], json!(NOW + MONTH));
    assert_eq!(sub["upcoming_invoice"]["total"], json!(11400));
    gapless(&numbers(&s).await);
    assert_eq!(numbers(&s).await.len(), 3);
    s.stop().await;
}

/// A change billed now (`always_invoice`) confirmed with the invoice the client computed is
/// issued exactly as shown; a decline changes nothing.
async fn always_invoice_issues_the_confirmed_invoice(backend: Backend) {
    let url = database_or_skip!(backend, "sub_always");
    let s = TestServer::start(&url).await;
    let created = create(&s, "c", &create_body("cus_2", "price_pro_monthly", 2)).await;
    let id = created["id"].as_str().unwrap().to_string();
    let item = created["items"][0]["id"].as_str().unwrap().to_string();
    // A quarter of the period has gone: 3/4 remain.
    s.clock.set(NOW + MONTH / 4);
    let change = json!({
        "items": [{ "id": item, "quantity": 6 }],
        "proration_behavior": "always_invoice",
        "proration_date": NOW + MONTH / 4,
    });
    // The client computes the invoice itself, with the engine, from the subscription's input.
    let sub = get(&s, &format!("/v1/subscriptions/{id}")).await;
    let mut input = sub["engine_input"].clone();
    input["as_of"] = json!(NOW + MONTH / 4);
    input["change"] = change.clone();
    input["catalog"] = common::test_config()["catalog"].clone();
    let local = serde_json::to_value(
        billcalc::preview_invoice(&billcalc::from_value(&input).unwrap()).unwrap(),
    )
    .unwrap();
    // −38 € × 3/4 = −28.50, +114 € × 3/4 = 85.50; VAT −5.70, 17.10 → 68.40 € now.
    assert_eq!(local["total"], json!(6840));
    assert_eq!(local["billing_reason"], "subscription_update");

    // Declined: nothing changes, nothing is numbered.
    let mut declined = change.clone();
    declined["expected_invoice"] = local.clone();
    declined["payment_method"] = json!("pm_card_chargeDeclined");
    let r = post_key(&s, &format!("/v1/subscriptions/{id}"), "d-1", &declined).await;
    assert_eq!(
        (r.status, r.code()),
        (402, "card_declined".into()),
        "{}",
        r.body
    );
    let replay = post_key(&s, &format!("/v1/subscriptions/{id}"), "d-1", &declined).await;
    assert_eq!((replay.status, replay.body), (402, r.body));
    let still = get(&s, &format!("/v1/subscriptions/{id}")).await;
    assert_eq!(still["items"][0]["quantity"], json!(2));
    assert_eq!(still["default_payment_method"], "pm_card_visa");
    assert_eq!(numbers(&s).await, vec![1]);

    let mut commit = change.clone();
    commit["expected_invoice"] = local.clone();
    let r = post_key(&s, &format!("/v1/subscriptions/{id}"), "ok-1", &commit).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let out = r.json();
    let issued = &out["change"]["invoice_issued"];
    assert_eq!(issued["number"], "F2026-000002");
    assert_eq!(issued["amount_paid"], json!(6840));
    let document = get(&s, issued["url"].as_str().unwrap()).await;
    assert_eq!(
        document["quote"], local,
        "the issued invoice is the one shown"
    );
    assert_eq!(out["items"][0]["quantity"], json!(6));
    assert_eq!(out["pending_invoice_items"], json!([]));
    let list = get(&s, &format!("/v1/subscriptions/{id}/invoices")).await;
    assert_eq!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (
                i["number"].as_str().unwrap().to_string(),
                i["total"].as_i64().unwrap()
            ))
            .collect::<Vec<_>>(),
        vec![("F2026-000001".into(), 4560), ("F2026-000002".into(), 6840)]
    );
    s.stop().await;
}

/// A commit whose result is not what the customer was shown is rejected, and changes nothing:
/// a tampered client invoice, a catalog that changed, a proration date too old, a renewal since.
async fn commit_rejected_when_the_result_moved(backend: Backend) {
    let url = database_or_skip!(backend, "sub_reject");
    let s = TestServer::start(&url).await;
    let created = create(&s, "c", &create_body("cus_3", "price_essentiel_monthly", 3)).await;
    let id = created["id"].as_str().unwrap().to_string();
    let item = created["items"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/subscriptions/{id}");
    s.clock.set(NOW + 86_400);
    let change = json!({ "items": [{ "id": item, "price": "price_pro_monthly" }] });
    let preview = s
        .post(&format!("{path}/preview"), SK, &change, &[])
        .await
        .json();
    let pd = preview["proration_date"].clone();
    let shown = preview["invoice"].clone();
    let total = shown["total"].as_i64().unwrap();

    // 1. The client's invoice differs (tampered by a cent): rejected with the differences.
    let mut tampered = shown.clone();
    tampered["total"] = json!(total - 1);
    let mut body = change.clone();
    body["proration_date"] = pd.clone();
    body["expected_invoice"] = tampered;
    let r = post_key(&s, &path, "k1", &body).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "preview_mismatch".into()),
        "{}",
        r.body
    );
    assert_eq!(
        r.json()["error"]["differences"],
        json!([{ "path": "total", "expected": total, "actual": total - 1 }])
    );
    // A different change than the one previewed.
    let mut other = change.clone();
    other["items"][0]["quantity"] = json!(4);
    other["proration_date"] = pd.clone();
    other["preview"] = preview["id"].clone();
    let r = post_key(&s, &path, "k2", &other).await;
    assert_eq!((r.status, r.code()), (409, "preview_mismatch".into()));
    // Another proration date than the preview's.
    let mut later = change.clone();
    later["proration_date"] = json!(pd.as_i64().unwrap() + 60);
    later["preview"] = preview["id"].clone();
    let r = post_key(&s, &path, "k3", &later).await;
    assert_eq!(
        (r.status, r.code(), r.json()["error"]["path"].clone()),
        (409, "preview_mismatch".into(), json!("proration_date"))
    );
    // No proration date at all.
    let r = post_key(
        &s,
        &path,
        "k4",
        &json!({ "items": change["items"], "preview": preview["id"] }),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "missing_field".into()));

    // 2. The catalog moved: the same database served with Pro at 20 € instead of 19 €.
    let mut config = common::test_config();
    for p in config["catalog"]["prices"].as_array_mut().unwrap() {
        if p["id"] == "price_pro_monthly" {
            p["unit_amount"] = json!(2000);
        }
    }
    let moved = TestServer::start_with(&url, config, |_| {}).await;
    moved.clock.set(NOW + 86_400 + 60);
    let mut body = change.clone();
    body["proration_date"] = pd.clone();
    body["preview"] = preview["id"].clone();
    let r = post_key(&moved, &path, "k5", &body).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "preview_stale".into()),
        "{}",
        r.body
    );
    let differences = r.json()["error"]["differences"].clone();
    assert!(
        differences
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["path"] == "total" && d["actual"] == json!(total)),
        "{differences}"
    );
    moved.stop().await;

    // 3. Time moved: the proration date is older than the confirmation window (900 s).
    s.clock.set(pd.as_i64().unwrap() + 901);
    let r = post_key(&s, &path, "k6", &body).await;
    assert_eq!((r.status, r.code()), (409, "proration_date_expired".into()));

    // 4. The period ended: no change before its renewal; a preview made before the renewal
    // cannot be committed after it.
    s.clock.set(NOW + MONTH - 120);
    let late = s
        .post(&format!("{path}/preview"), SK, &change, &[])
        .await
        .json();
    s.clock.set(NOW + MONTH + 60);
    let r = s.post(&format!("{path}/preview"), SK, &change, &[]).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "renewal_pending".into()),
        "{}",
        r.body
    );
    assert_eq!(renew(&s).await["issued"].as_array().unwrap().len(), 1);
    let mut body_late = change.clone();
    body_late["proration_date"] = late["proration_date"].clone();
    body_late["preview"] = late["id"].clone();
    let r = post_key(&s, &path, "k8", &body_late).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "proration_date_outside_period".into()),
        "{}",
        r.body
    );

    // Nothing was changed by any of them: still Essentiel × 3, no pending items, and a fresh
    // preview commits.
    let sub = get(&s, &path).await;
    assert_eq!(sub["items"][0]["price"], "price_essentiel_monthly");
    assert_eq!(sub["pending_invoice_items"], json!([]));
    let fresh = s
        .post(&format!("{path}/preview"), SK, &change, &[])
        .await
        .json();
    let mut body = change.clone();
    body["proration_date"] = fresh["proration_date"].clone();
    body["preview"] = fresh["id"].clone();
    let r = post_key(&s, &path, "k10", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["change"]["invoice"], fresh["invoice"]);
    gapless(&numbers(&s).await);
    s.stop().await;
}

/// Cancelling now with proration issues a final credit invoice and credits the balance
/// (negative); the customer's next subscription invoice uses it, an amount below the minimum
/// charge is carried to the balance, and the renewal after collects it.
async fn cancel_credits_the_balance_and_later_invoices_use_it(backend: Backend) {
    let url = database_or_skip!(backend, "sub_cancel");
    let s = TestServer::start(&url).await;
    let a = create(&s, "a", &create_body("cus_4", "price_pro_monthly", 2)).await;
    assert_eq!(a["invoice"]["total"], json!(4560));
    let a_id = a["id"].as_str().unwrap().to_string();
    // 1,251,061 s remain: the unused time is 38 € × 1251061/2678400 = 17.7499… → 17.75 €,
    // VAT 3.55 €: a credit of 21.30 €.
    let at = NOW + MONTH - 1_251_061;
    s.clock.set(at);
    // Previewed first (the final invoice), then cancelled with that preview.
    let preview = s
        .post(
            &format!("/v1/subscriptions/{a_id}/preview"),
            SK,
            &json!({ "cancel": true }),
            &[],
        )
        .await
        .json();
    assert_eq!(preview["invoice"]["total"], json!(-2130), "{preview}");
    s.clock.advance(30);
    let r = post_key(
        &s,
        &format!("/v1/subscriptions/{a_id}/cancel"),
        "cancel-a",
        &json!({ "prorate": true, "proration_date": at, "preview": preview["id"] }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let canceled = r.json();
    assert_eq!(canceled["change"]["invoice"], preview["invoice"]);
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["canceled_at"], json!(at));
    let last = &canceled["change"]["invoice"];
    assert_eq!(last["billing_reason"], "subscription_update");
    assert_eq!(last["lines"][0]["amount"], json!(-1775));
    assert_eq!(last["total"], json!(-2130));
    assert_eq!(last["amount_due"], json!(0));
    assert_eq!(last["ending_balance"], json!(-2130));
    assert_eq!(canceled["customer_balance"], json!(-2130));
    assert_eq!(canceled["latest_invoice"]["number"], "F2026-000002");
    assert_eq!(s.gateway.attempts(), 1);
    // Canceled: no more changes, no renewal.
    let r = post_key(
        &s,
        &format!("/v1/subscriptions/{a_id}/cancel"),
        "cancel-a2",
        &json!({}),
    )
    .await;
    assert_eq!((r.status, r.code()), (409, "subscription_canceled".into()));

    // The same customer subscribes again: 2 × 9 € + VAT = 21.60 € against 21.30 € of credit
    // leaves 0.30 €, below the 0.50 € minimum charge: nothing charged, 0.30 € of debt carried.
    let b = create(&s, "b", &create_body("cus_4", "price_essentiel_monthly", 2)).await;
    let first = &b["invoice"];
    assert_eq!(first["total"], json!(2160));
    assert_eq!(first["starting_balance"], json!(-2130));
    assert_eq!(first["amount_due"], json!(0));
    assert_eq!(first["ending_balance"], json!(30));
    assert_eq!(
        first["minimum_charge"],
        json!({ "minimum": 50, "carried_to_balance": 30 })
    );
    assert_eq!(b["customer_balance"], json!(30));
    assert_eq!(b["latest_invoice"]["amount_paid"], json!(0));
    assert_eq!(s.gateway.attempts(), 1, "nothing charged");
    let b_id = b["id"].as_str().unwrap().to_string();

    // A month later the renewal collects 21.60 € + the 0.30 € carried.
    s.clock.set(at + 30 + MONTH + 1);
    let run = renew(&s).await;
    assert_eq!(run["issued"].as_array().unwrap().len(), 1, "{run}");
    assert_eq!(run["issued"][0]["subscription"], json!(b_id));
    let renewal = get(&s, run["issued"][0]["invoice"]["url"].as_str().unwrap()).await;
    assert_eq!(renewal["quote"]["starting_balance"], json!(30));
    assert_eq!(renewal["quote"]["amount_due"], json!(2190));
    assert_eq!(renewal["amount_paid"], json!(2190));
    assert_eq!(renewal["subscription"]["starting_balance"], json!(30));
    let b_now = get(&s, &format!("/v1/subscriptions/{b_id}")).await;
    assert_eq!(b_now["customer_balance"], json!(0));
    let a_now = get(&s, &format!("/v1/subscriptions/{a_id}")).await;
    assert_eq!(a_now["status"], "canceled");
    assert_eq!(a_now["upcoming_invoice"], Value::Null);
    gapless(&numbers(&s).await);
    assert_eq!(numbers(&s).await.len(), 4);
    s.stop().await;
}

/// Cancelling at the period's end: the renewal then ends it (nothing billed), and a declined
/// renewal leaves an open invoice and a past-due subscription.
async fn period_end_cancel_and_declined_renewal(backend: Backend) {
    let url = database_or_skip!(backend, "sub_end");
    let s = TestServer::start(&url).await;
    let a = create(&s, "a", &create_body("cus_5", "price_essentiel_monthly", 1)).await;
    let a_id = a["id"].as_str().unwrap().to_string();
    let mut b_body = create_body("cus_6", "price_essentiel_monthly", 1);
    b_body["payment_method"] = json!("pm_card_visa");
    let b = create(&s, "b", &b_body).await;
    let b_id = b["id"].as_str().unwrap().to_string();
    let r = post_key(
        &s,
        &format!("/v1/subscriptions/{a_id}/cancel"),
        "end-a",
        &json!({ "at_period_end": true }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["cancel_at_period_end"], json!(true));
    assert_eq!(r.json()["status"], "active");
    // B's card now declines (a new default payment method, no change billed).
    let r = post_key(
        &s,
        &format!("/v1/subscriptions/{b_id}"),
        "pm-b",
        &json!({ "payment_method": "pm_card_insufficient_funds" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["default_payment_method"],
        "pm_card_insufficient_funds"
    );
    s.clock.set(NOW + MONTH);
    let run = renew(&s).await;
    let issued = run["issued"].as_array().unwrap();
    assert_eq!(issued.len(), 2, "{run}");
    let a_now = get(&s, &format!("/v1/subscriptions/{a_id}")).await;
    assert_eq!(a_now["status"], "canceled");
    assert_eq!(a_now["canceled_at"], json!(NOW + MONTH));
    let b_now = get(&s, &format!("/v1/subscriptions/{b_id}")).await;
    assert_eq!(b_now["status"], "past_due");
    let b_invoice = issued
        .iter()
        .find(|i| i["subscription"] == json!(b_id))
        .unwrap();
    assert_eq!(b_invoice["invoice"]["status"], "open");
    assert_eq!(b_invoice["invoice"]["amount_paid"], json!(0));
    assert_eq!(
        b_invoice["invoice"]["payment_error"]["decline_code"],
        "insufficient_funds"
    );
    // A's final invoice had nothing to bill: not issued. Numbers: 2 creates + B's renewal.
    assert!(issued
        .iter()
        .any(|i| i["subscription"] == json!(a_id) && i["invoice"].is_null()));
    assert_eq!(numbers(&s).await, vec![1, 2, 3]);
    s.stop().await;
}

/// Renewals requested eight times at once (and again) issue each due invoice once; one-off
/// charges running at the same time share the series; numbers stay gapless; a subscription
/// several periods behind is brought up to date one invoice per period.
async fn renewals_once_under_concurrency_and_gapless(backend: Backend) {
    let url = database_or_skip!(backend, "sub_renew");
    let s = TestServer::start(&url).await;
    let mut ids = Vec::new();
    for k in 0..3 {
        let c = create(
            &s,
            &format!("c{k}"),
            &create_body(&format!("cus_r{k}"), "price_pro_monthly", k + 1),
        )
        .await;
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    s.clock.set(NOW + MONTH + 10);
    let cart = common::cart();
    let total = common::quoted_total(&s, &cart).await;
    let mut tasks = Vec::new();
    for k in 0..8 {
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            common::post(addr, "/v1/renewals", SK, &json!({}), &[]).await
        }));
        let body = common::charge_body(&cart, total);
        let key = format!("charge-{k}");
        tasks.push(tokio::spawn(async move {
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
    let mut renewed = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        if v["object"] == "renewal_run" {
            assert_eq!(v["failed"], json!([]));
            for i in v["issued"].as_array().unwrap() {
                renewed.push(i["subscription"].as_str().unwrap().to_string());
            }
        }
    }
    renewed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(renewed, expected, "each renewal issued exactly once");
    assert_eq!(renew(&s).await["issued"], json!([]));
    // 3 creates + 8 charges + 3 renewals.
    let n = numbers(&s).await;
    assert_eq!(n.len(), 14);
    gapless(&n);
    // Payments: one per invoice (every amount is positive).
    assert_eq!(s.store.payments().await.unwrap().len(), 14);

    // Two more periods pass without a renewal run (to Jun 3): one call issues the invoices of
    // May 2 and Jun 2, in order.
    let later = NOW + 3 * MONTH;
    s.clock.set(later);
    let run = renew(&s).await;
    let issued = run["issued"].as_array().unwrap();
    assert_eq!(issued.len(), 6, "{run}");
    for id in &ids {
        let list = get(&s, &format!("/v1/subscriptions/{id}/invoices")).await;
        let data = list["data"].as_array().unwrap();
        assert_eq!(data.len(), 4);
        let sub = get(&s, &format!("/v1/subscriptions/{id}")).await;
        // 2026-06-02T10:00:00Z to 2026-07-02T10:00:00Z.
        assert_eq!(sub["current_period_start"], json!(1_780_394_400));
        assert_eq!(sub["current_period_end"], json!(1_782_986_400));
        assert!(sub["current_period_start"].as_i64().unwrap() <= later);
    }
    let n = numbers(&s).await;
    assert_eq!(n.len(), 20);
    gapless(&n);
    let distinct: BTreeSet<_> = s
        .store
        .payments()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.invoice_id)
        .collect();
    assert_eq!(distinct.len(), 20);
    s.stop().await;
}

/// A subscription paid with an unknown payment method token: 400, no answer kept under the key;
/// the same key with a good token creates it (one payment) and replays the same answer.
async fn unknown_token_then_same_key_creates(backend: Backend) {
    let url = database_or_skip!(backend, "sub_forgotten");
    let s = TestServer::start(&url).await;
    let mut body = create_body("cus_retry", "price_pro_monthly", 2);
    body["payment_method"] = json!("pm_no_such_token");
    let refused = post_key(&s, "/v1/subscriptions", "sub-fix-and-retry", &body).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.code(), "invalid_request");
    assert_eq!(refused.json()["error"]["path"], "payment_method");
    body["payment_method"] = json!("pm_card_visa");
    let ok = post_key(&s, "/v1/subscriptions", "sub-fix-and-retry", &body).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["status"], "active", "{}", ok.body);
    assert_ne!(ok.header("idempotent-replayed"), Some("true"));
    let replay = post_key(&s, "/v1/subscriptions", "sub-fix-and-retry", &body).await;
    assert_eq!(
        (replay.status, replay.body.as_str()),
        (200, ok.body.as_str())
    );
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(s.gateway.charges_made(), 1);
    s.stop().await;
}

on_both_databases!(
    preview_commit_renewal_equals_preview,
    always_invoice_issues_the_confirmed_invoice,
    commit_rejected_when_the_result_moved,
    cancel_credits_the_balance_and_later_invoices_use_it,
    period_end_cancel_and_declined_renewal,
    renewals_once_under_concurrency_and_gapless,
    unknown_token_then_same_key_creates,
);

/// The API's edges (SQLite): keys, validation, what clients may not choose, demo routes.
#[tokio::test]
async fn subscription_api_edges_and_demo_routes() {
    let url = common::fresh_database(Backend::Sqlite, "sub_edges")
        .await
        .unwrap();
    let s = TestServer::start(&url).await;
    let body = create_body("cus_e", "price_essentiel_monthly", 1);
    // Keys: the publishable key may not create or read (outside demo mode).
    let r = s
        .post("/v1/subscriptions", PK, &body, &[("idempotency-key", "x")])
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden".into()));
    let r = s.post("/v1/subscriptions", SK, &body, &[]).await;
    assert_eq!(
        (r.status, r.code()),
        (400, "missing_idempotency_key".into())
    );
    let r = s
        .post(
            "/v1/demo/subscriptions",
            PK,
            &body,
            &[("idempotency-key", "x")],
        )
        .await;
    assert_eq!(r.status, 404);
    // Validation with paths.
    let mut bad = body.clone();
    bad["items"][0]["price"] = json!("price_lamp");
    let r = post_key(&s, "/v1/subscriptions", "v1", &bad).await;
    assert_eq!(
        (r.status, r.code(), r.json()["error"]["path"].clone()),
        (400, "invalid_subscription".into(), json!("items[0].price"))
    );
    bad["items"][0]["price"] = json!("price_nope");
    let r = post_key(&s, "/v1/subscriptions", "v2", &bad).await;
    assert_eq!(r.code(), "unknown_price");
    let mut bad = body.clone();
    bad["items"][0]["unit_amount"] = json!(1);
    let r = post_key(&s, "/v1/subscriptions", "v3", &bad).await;
    assert_eq!(
        (r.code(), r.json()["error"]["path"].clone()),
        ("unknown_field".into(), json!("items[0].unit_amount"))
    );
    let mut bad = body.clone();
    bad["discounts"] = json!([{ "promotion_code": "NOPE" }]);
    let r = post_key(&s, "/v1/subscriptions", "v4", &bad).await;
    assert_eq!(
        (r.status, r.code(), r.json()["error"]["reason"].clone()),
        (400, "discount_rejected".into(), json!("unknown_code"))
    );
    let mut bad = body.clone();
    bad["expected_amount_due"] = json!(1);
    let r = post_key(&s, "/v1/subscriptions", "v5", &bad).await;
    assert_eq!((r.status, r.code()), (409, "amount_mismatch".into()));
    assert_eq!(numbers(&s).await, Vec::<i64>::new());

    // A promotion code is redeemed once and kept as its coupon; a trial bills 0 now.
    let mut with_code = body.clone();
    with_code["items"][0]["quantity"] = json!(4);
    with_code["discounts"] = json!([{ "promotion_code": "lancement" }]);
    with_code["trial_period_days"] = json!(14);
    let created = create(&s, "t1", &with_code).await;
    assert_eq!(created["status"], "trialing");
    assert_eq!(created["invoice"]["total"], json!(0));
    assert_eq!(created["trial_end"], json!(NOW + 14 * 86_400));
    assert_eq!(created["current_period_end"], json!(NOW + 14 * 86_400));
    assert_eq!(
        created["discounts"],
        json!([{ "coupon": "coupon_launch", "start": NOW, "promotion_code": "LANCEMENT" }])
    );
    assert_eq!(
        s.store
            .times_redeemed("promotion_code:lancement")
            .await
            .unwrap(),
        1
    );
    // The trial's end bills the first month, discounted 15 % once: 36 € − 5.40 € = 30.60 €,
    // VAT 6.12 €.
    s.clock.set(NOW + 14 * 86_400);
    let run = renew(&s).await;
    let invoice = get(&s, run["issued"][0]["invoice"]["url"].as_str().unwrap()).await;
    assert_eq!(invoice["quote"]["total"], json!(3672));
    assert_eq!(invoice["discounts"][0]["amount"], json!(540));
    let id = created["id"].as_str().unwrap().to_string();
    let upcoming = get(&s, &format!("/v1/invoices/upcoming?subscription={id}")).await;
    assert_eq!(
        upcoming["invoice"]["total"],
        json!(4320),
        "once: not on the second"
    );
    // Renewals are never issued ahead of the server's clock.
    let r = s
        .post(
            "/v1/renewals",
            SK,
            &json!({ "as_of": NOW + 40 * 86_400 }),
            &[],
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_request".into()));
    // A preview through Stripe's upcoming-invoice route, with a proration date from the past
    // window refused when too old.
    let r = s
        .post(
            "/v1/invoices/upcoming",
            SK,
            &json!({ "subscription": id, "items": [{ "id": created["items"][0]["id"], "quantity": 5 }] }),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["object"], "subscription_change_preview");
    let r = s
        .post(
            &format!("/v1/subscriptions/{id}/preview"),
            SK,
            &json!({ "proration_date": NOW, "items": [] }),
            &[],
        )
        .await;
    assert_eq!(r.code(), "proration_date_expired");
    s.stop().await;

    // Demo mode: the publishable key manages demo customers' subscriptions only.
    let s = TestServer::start_with(&url, common::test_config(), |st| st.demo_checkout = true).await;
    let r = s
        .post(
            "/v1/demo/subscriptions",
            PK,
            &body,
            &[("idempotency-key", "d1")],
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.json()["error"]["path"].clone()),
        (403, "forbidden".into(), json!("customer.id"))
    );
    let mut demo = create_body("cus_demo_1", "price_essentiel_monthly", 2);
    demo["discounts"] = json!([{ "coupon": "coupon_launch" }]);
    let r = s
        .post(
            "/v1/demo/subscriptions",
            PK,
            &demo,
            &[("idempotency-key", "d2")],
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden".into()));
    demo["discounts"] = json!([]);
    let r = s
        .post(
            "/v1/demo/subscriptions",
            PK,
            &demo,
            &[("idempotency-key", "d3")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let demo_id = r.json()["id"].as_str().unwrap().to_string();
    assert!(r.json().get("demo").is_none());
    let r = s
        .get(&format!("/v1/demo/subscriptions/{demo_id}"), Some(PK))
        .await;
    assert_eq!(r.status, 200);
    // Not the merchant's own subscriptions.
    let r = s
        .get(&format!("/v1/demo/subscriptions/{id}"), Some(PK))
        .await;
    assert_eq!(r.status, 404);
    let r = s
        .get(&format!("/v1/subscriptions/{demo_id}"), Some(PK))
        .await;
    assert_eq!(r.status, 403);
    let config = s.get("/v1/demo/config", None).await.json();
    assert_eq!(config["subscriptions_url"], "/v1/demo/subscriptions");
    s.stop().await;
}

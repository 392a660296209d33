//! Revenue reports over real HTTP, the same suite on a SQLite file and on PostgreSQL: a small
//! history made through the API on the injected clock, then `GET /v1/reports/*` checked against
//! figures computed by hand (JSON and CSV), and the errors (keys, parameters, rates).
//!
//! The history (demo catalog: Essentiel 9 €, Pro 19 € per user and month, Pro 190 € a year;
//! `NOW` = 2026-03-02T10:00:00Z):
//! * A (cus_ra): Pro monthly × 2 from NOW (3800), 3 seats from Mar 20 billed now (5700);
//! * B (cus_rb): Essentiel × 1 with a 14-day trial, paying 900 from Mar 16;
//! * C (cus_rc): Pro yearly × 1: 19000 / 12 = 1583.33 → 1583;
//! * D (cus_rd): Essentiel × 3 (2700), cancelled at the period's end: ends Apr 2 10:00;
//! * E (cus_re): Essentiel × 1 from Mar 20 with a trial to Apr 3, whose card then declines:
//!   past due (still MRR 900), one failed payment of 900 + 20 % VAT = 1080; E gives a working
//!   card on Apr 4 and dunning's retry collects it: recovered, 1 of 1, 1080 of 1080.
//!
//! MRR on Mar 1 / Apr 1 / May 1: 0 / 5700 + 900 + 1583 + 2700 = 10883 / 5700 + 900 + 1583 +
//! 900 = 9083. March: new 10883 (4 customers), trial B converted. April: churn −2700 (D), new
//! +900 (E): 10883 − 2700 + 900 = 9083; churn rate 1 / (4 + 1) = 0.2; revenue churn 2700 /
//! 10883 = 0.2481; GRR = NRR = 8183 / 10883 = 0.7519; ARPU 9083 / 4 = 2270.75 → 2271; LTV
//! 9083 × 5 / (4 × 1) = 11353.75 → 11354. Cohorts: March (A, B, C, D): Apr 1 4 / 10883, May 1
//! 3 / 8183; April (E): May 1 1 / 900.

mod common;

use common::{request, Backend, TestServer, NOW, PK, SK};
use serde_json::{json, Value};

const DAY: i64 = 86_400;

fn customer(id: &str) -> Value {
    json!({"id": id, "name": "Client", "address": {"country": "FR"}})
}

async fn create(s: &TestServer, key: &str, body: Value) -> Value {
    let r = s
        .post("/v1/subscriptions", SK, &body, &[("idempotency-key", key)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn renew(s: &TestServer) {
    let r = s.post("/v1/renewals", SK, &json!({}), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn report(s: &TestServer, path: &str) -> Value {
    let r = s.get(path, Some(SK)).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

async fn history(s: &TestServer) {
    let plan = |c: &str, price: &str, q: i64| json!({"customer": customer(c), "items": [{"price": price, "quantity": q}], "payment_method": "pm_card_visa"});
    let a = create(s, "a", plan("cus_ra", "price_pro_monthly", 2)).await;
    let mut b = plan("cus_rb", "price_essentiel_monthly", 1);
    b["trial_period_days"] = json!(14);
    create(s, "b", b).await;
    create(s, "c", plan("cus_rc", "price_pro_yearly", 1)).await;
    let d = create(s, "d", plan("cus_rd", "price_essentiel_monthly", 3)).await;
    let d_id = d["id"].as_str().unwrap();
    let r = s
        .post(
            &format!("/v1/subscriptions/{d_id}/cancel"),
            SK,
            &json!({"at_period_end": true}),
            &[("idempotency-key", "d-end")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Mar 16: B's trial ends and its first paid invoice is issued.
    s.clock.set(NOW + 14 * DAY + 3600);
    renew(s).await;
    // Mar 20: A goes to 3 seats, billed now; E subscribes with a trial and a declining card.
    s.clock.set(NOW + 18 * DAY);
    let a_id = a["id"].as_str().unwrap();
    let item = a["items"][0]["id"].as_str().unwrap();
    let change =
        json!({"items": [{"id": item, "quantity": 3}], "proration_behavior": "always_invoice"});
    let r = s
        .post(
            &format!("/v1/subscriptions/{a_id}/preview"),
            SK,
            &change,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let preview = r.json();
    let mut commit = change.clone();
    commit["proration_date"] = preview["proration_date"].clone();
    commit["preview"] = preview["id"].clone();
    let r = s
        .post(
            &format!("/v1/subscriptions/{a_id}"),
            SK,
            &commit,
            &[("idempotency-key", "a-seats")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut e = plan("cus_re", "price_essentiel_monthly", 1);
    e["trial_period_days"] = json!(14);
    e["payment_method"] = json!("pm_card_chargeDeclined");
    let e = create(s, "e", e).await;
    // Apr 2: A and D's periods end (D is cancelled); Apr 3: E's trial ends, its card declines.
    s.clock.set(NOW + 31 * DAY + 3600);
    renew(s).await;
    s.clock.set(NOW + 32 * DAY + 3600);
    renew(s).await;
    // Apr 4: E gives a working card; the dunning retry due by Apr 7 collects the invoice.
    s.clock.set(NOW + 33 * DAY);
    let e_id = e["id"].as_str().unwrap();
    let r = s
        .post(
            &format!("/v1/subscriptions/{e_id}"),
            SK,
            &json!({"payment_method": "pm_card_visa"}),
            &[("idempotency-key", "e-card")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.clock.set(NOW + 36 * DAY);
    let r = s.post("/v1/automation/run", SK, &json!({}), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn reports_from_the_stored_history(backend: Backend) {
    let url = database_or_skip!(backend, "reports");
    let s = TestServer::start(&url).await;
    history(&s).await;
    let q = "?start=2026-03-01&end=2026-05-01&interval=month";

    let mrr = report(&s, &format!("/v1/reports/mrr{q}")).await;
    assert_eq!(mrr["object"], "report");
    assert_eq!(mrr["currency"], "eur");
    let d = &mrr["data"];
    assert_eq!(d.as_array().unwrap().len(), 2);
    assert_eq!(
        (
            d[0]["mrr_start"].clone(),
            d[0]["mrr_end"].clone(),
            d[1]["mrr_end"].clone()
        ),
        (json!(0), json!(10883), json!(9083))
    );
    assert_eq!(d[1]["arr"], json!(9083 * 12));
    assert_eq!(d[0]["arpu"], json!(2721)); // 10883 / 4 = 2720.75
    assert_eq!(d[1]["arpu"], json!(2271));
    assert_eq!(d[1]["ltv"], json!(11354));
    assert_eq!(d[0]["ltv"], Value::Null);

    let mv = report(&s, &format!("/v1/reports/movements{q}")).await;
    let d = &mv["data"];
    assert_eq!(d[0]["new"], json!(10883));
    assert_eq!(d[0]["new_customers"], json!(4));
    assert_eq!(d[1]["new"], json!(900));
    assert_eq!(d[1]["churn"], json!(-2700));
    assert_eq!(d[1]["churned_customers"], json!(1));
    assert_eq!(d[1]["net"], json!(-1800));
    for row in d.as_array().unwrap() {
        let sum: i64 = ["new", "expansion", "reactivation", "contraction", "churn"]
            .iter()
            .map(|k| row[k].as_i64().unwrap())
            .sum();
        assert_eq!(
            row["mrr_start"].as_i64().unwrap() + sum,
            row["mrr_end"].as_i64().unwrap()
        );
    }

    let churn = report(&s, &format!("/v1/reports/churn{q}")).await;
    let d = &churn["data"];
    assert_eq!(d[0]["customer_churn_rate"], "0");
    assert_eq!(d[0]["trials_ended"], json!(1));
    assert_eq!(d[0]["trials_converted"], json!(1));
    assert_eq!(d[1]["customer_churn_rate"], "0.2");
    assert_eq!(d[1]["revenue_churn_rate"], "0.2481");
    assert_eq!(d[1]["gross_revenue_retention"], "0.7519");
    assert_eq!(d[1]["net_revenue_retention"], "0.7519");
    assert_eq!(d[1]["payments_failed"], json!(1));
    assert_eq!(d[1]["payments_recovered"], json!(1));
    assert_eq!(d[1]["failed_amount"], json!(1080));
    assert_eq!(d[1]["recovered_amount"], json!(1080));
    assert_eq!(d[1]["payment_recovery_rate"], "1");

    let cohorts = report(&s, &format!("/v1/reports/cohorts{q}")).await;
    let d = cohorts["data"].as_array().unwrap();
    let cell = |cohort: &str, index: i64| {
        d.iter()
            .find(|r| r["cohort"] == cohort && r["index"] == index)
            .cloned()
            .unwrap_or_else(|| panic!("no cell {cohort} {index}: {d:?}"))
    };
    assert_eq!(cell("2026-03-01", 0)["active_customers"], json!(4));
    assert_eq!(cell("2026-03-01", 0)["mrr"], json!(10883));
    assert_eq!(cell("2026-03-01", 1)["active_customers"], json!(3));
    assert_eq!(cell("2026-03-01", 1)["mrr"], json!(8183));
    assert_eq!(cell("2026-03-01", 1)["customer_retention"], "0.75");
    assert_eq!(cell("2026-04-01", 0)["mrr"], json!(900));
    assert_eq!(d.len(), 3);

    // CSV: the same rows, RFC 4180.
    let auth = format!("Bearer {SK}");
    let r = request(
        s.addr,
        "GET",
        &format!("/v1/reports/movements{q}"),
        &[("authorization", auth.as_str()), ("accept", "text/csv")],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = r.body.split("\r\n").collect();
    assert_eq!(lines[0], "start,end,mrr_start,new,expansion,reactivation,contraction,churn,net,mrr_end,new_customers,expansion_customers,reactivation_customers,contraction_customers,churned_customers");
    assert_eq!(
        lines[2],
        "2026-04-01,2026-05-01,10883,900,0,0,0,-2700,-1800,9083,1,0,0,0,1"
    );
    assert_eq!(lines.len(), 4); // header, 2 rows, the final CRLF's empty tail

    // Another reporting currency with a rate given: each customer converted, rounded once.
    let usd = report(
        &s,
        "/v1/reports/mrr?start=2026-04-01&end=2026-05-01&currency=usd&exchange_rates=eur:1.25",
    )
    .await;
    // 5700 × 1.25 + 900 × 1.25 + 1583.33… × 1.25 (= 1979.17 → 1979) + 2700 × 1.25 = 13604.
    assert_eq!(usd["data"][0]["mrr_start"], json!(13604));
    assert_eq!(usd["currency"], "usd");

    // Errors.
    let r = s.get("/v1/reports/mrr", None).await;
    assert_eq!((r.status, r.code()), (401, "unauthorized".to_string()));
    let r = s.get("/v1/reports/mrr", Some(PK)).await;
    assert_eq!((r.status, r.code()), (403, "forbidden".to_string()));
    let r = s.get("/v1/reports/arr", Some(SK)).await;
    assert_eq!(r.status, 404);
    let r = s
        .get("/v1/reports/mrr?start=2026-03-15&end=2026-05-01", Some(SK))
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_date".to_string()));
    assert_eq!(r.json()["error"]["path"], "start");
    let r = s.get("/v1/reports/mrr?from=2026-03-01", Some(SK)).await;
    assert_eq!((r.status, r.code()), (400, "unknown_field".to_string()));
    let r = s.get("/v1/reports/mrr?currency=usd", Some(SK)).await;
    assert_eq!((r.status, r.code()), (400, "currency_mismatch".to_string()));
    let r = s
        .get("/v1/reports/mrr?currency=eur&exchange_rates=usd", Some(SK))
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_request".to_string()));
    s.stop().await;
}

mod sqlite {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn reports_from_the_stored_history() {
        super::reports_from_the_stored_history(Backend::Sqlite).await;
    }
}

mod postgres {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn reports_from_the_stored_history() {
        super::reports_from_the_stored_history(Backend::Postgres).await;
    }
}

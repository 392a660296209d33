//! Credit notes (avoirs) and refunds over real HTTP, on SQLite and PostgreSQL: computed by the
//! engine's credit-note function on the invoice as issued, refunded through the gateway,
//! numbered in their own gapless series (`AV-2026-000001`), rendered once as Factur-X, CII and
//! UBL (type 381, BG-3 naming the invoice), never more than was paid, idempotent.

mod common;

use billcalc::einvoice::{read, verify};
use common::{Backend, TestServer, SK};
use serde_json::{json, Value};

async fn credit(s: &TestServer, key: &str, path: &str, body: &Value) -> common::Resp {
    s.post(path, SK, body, &[("idempotency-key", key)]).await
}

/// The credit note's CII and UBL read back as a credit note (381) naming the invoice, and
/// verify with the engine. The note is answered once committed and its e-invoice rendered in
/// the background: read at once, it is served with its files (the read waits for the render or
/// performs it). Returns the note as read.
async fn check_documents(s: &TestServer, answered: &Value, invoice_number: &str) -> Value {
    let id = answered["id"].as_str().unwrap();
    let read = s.get(&format!("/v1/credit_notes/{id}"), Some(SK)).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let note = &read.json();
    assert!(note["einvoice"]["pdf"]["sha256"].is_string(), "{note}");
    // Everything else is what the POST answered.
    let mut without = note.clone();
    without.as_object_mut().unwrap().remove("einvoice");
    let mut answered_without = answered.clone();
    answered_without.as_object_mut().unwrap().remove("einvoice");
    assert_eq!(without, answered_without);
    for suffix in [".cii.xml", ".ubl.xml"] {
        let f = s
            .get(&format!("/v1/credit_notes/{id}{suffix}"), Some(SK))
            .await;
        assert_eq!(f.status, 200, "{id}{suffix}: {}", f.body);
        let format = if suffix == ".cii.xml" { "cii" } else { "ubl" };
        assert_eq!(
            f.header("x-content-sha256"),
            note["einvoice"][format]["sha256"].as_str()
        );
        let d = read::read(f.body.as_bytes()).unwrap();
        assert_eq!(d.type_code, 381);
        assert_eq!(d.number, note["number"].as_str().unwrap());
        assert_eq!(d.preceding_invoices[0].number, invoice_number);
        let cents = |v: rust_decimal::Decimal| {
            (v * rust_decimal::Decimal::from(100))
                .normalize()
                .to_string()
        };
        assert_eq!(cents(d.totals.tax_inclusive), note["total"].to_string());
        // Refunded at issue: nothing left to pay back.
        assert!(d.totals.payable.is_zero(), "{:?}", d.totals);
        let v = verify(&d).unwrap();
        assert!(v.ok, "{v:?}");
    }
    let pdf = s.get(&format!("/v1/credit_notes/{id}.pdf"), Some(SK)).await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.body.starts_with("%PDF-1.7"));
    assert_eq!(
        pdf.header("x-content-sha256"),
        note["einvoice"]["pdf"]["sha256"].as_str()
    );
    note.clone()
}

async fn credit_notes_refund_in_their_own_series(backend: Backend) {
    let url = database_or_skip!(backend, "credit_notes");
    let s = TestServer::start(&url).await;
    // Two lamps at 89.00 TTC (20 %), a book (5.5 %), shipping taxed at both rates.
    let cart = common::cart();
    let total = common::quoted_total(&s, &cart).await;
    let c = s
        .charge("cn-charge-1", &common::charge_body(&cart, total))
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let c = c.json();
    let charge = c["id"].as_str().unwrap().to_string();
    let invoice = c["invoice"]["id"].as_str().unwrap().to_string();
    let invoice_number = c["invoice"]["number"].as_str().unwrap().to_string();

    // 1. One lamp of two, returned: the engine's share of the line, tax reversed in proportion.
    let body = json!({"invoice": invoice, "lines": [{"line": 0, "quantity": 1}], "reason": "product_unsatisfactory"});
    let r = credit(&s, "cn-1", "/v1/credit_notes", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let first = r.json();
    assert_eq!(first["object"], "credit_note");
    assert_eq!(first["number"], "AV-2026-000001");
    assert_eq!(first["invoice"], invoice.as_str());
    assert_eq!(first["invoice_number"], invoice_number.as_str());
    // 89.00 + 20 % VAT (17.80): the engine's half of the line's 178.00 + 35.60.
    assert_eq!(first["amount"], 10680);
    assert_eq!(first["total"], 10680);
    assert_eq!(first["subtotal"], 8900);
    assert_eq!(
        first["total_taxes"],
        json!([{"rate": "S 20", "amount": 1780}])
    );
    assert_eq!(first["lines"][0]["line"], 0);
    assert_eq!(first["refund"]["charge"], charge.as_str());
    assert_eq!(first["refund"]["amount"], 10680);
    assert_eq!(s.gateway.refunded(&charge), 10680);
    let first_read = check_documents(&s, &first, &invoice_number).await;

    // A replay answers the same note and refunds nothing more; the key with another body is
    // refused.
    let again = credit(&s, "cn-1", "/v1/credit_notes", &body).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], first["id"]);
    assert_eq!(s.gateway.refunded(&charge), 10680);
    let other = json!({"invoice": invoice, "amount": 100});
    let r = credit(&s, "cn-1", "/v1/credit_notes", &other).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "idempotency_key_reused")
    );

    // 2. A refund of 10.00 through Stripe's refund route: a credit note spread over the lines.
    let r = credit(
        &s,
        "re-1",
        "/v1/refunds",
        &json!({"charge": charge, "amount": 1000, "reason": "requested_by_customer"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let refund = r.json();
    assert_eq!(refund["object"], "refund");
    assert_eq!(refund["amount"], 1000);
    assert_eq!(refund["charge"], charge.as_str());
    assert_eq!(refund["credit_note"]["number"], "AV-2026-000002");
    assert_eq!(refund["credit_note"]["total"], 1000);
    check_documents(&s, &refund["credit_note"], &invoice_number).await;
    assert_eq!(s.gateway.refunded(&charge), 11680);

    // 3. Never more than was paid: one cent above what is left is refused, nothing refunded.
    let left = total - 11680;
    let r = credit(
        &s,
        "cn-2",
        "/v1/credit_notes",
        &json!({"invoice": invoice, "amount": left + 1}),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_credit_note"),
        "{}",
        r.body
    );
    assert_eq!(s.gateway.refunded(&charge), 11680);
    // The rest, without an amount: everything left; then nothing is left.
    let r = credit(&s, "cn-3", "/v1/credit_notes", &json!({"invoice": invoice})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rest = r.json();
    assert_eq!(rest["amount"], left);
    assert_eq!(rest["number"], "AV-2026-000003");
    check_documents(&s, &rest, &invoice_number).await;
    assert_eq!(s.gateway.refunded(&charge), total);
    let r = credit(
        &s,
        "cn-4",
        "/v1/credit_notes",
        &json!({"invoice": invoice, "amount": 1}),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_credit_note"),
        "{}",
        r.body
    );

    // Invoices keep their own series: the next charge is F2026-000002.
    let c2 = s
        .charge("cn-charge-2", &common::charge_body(&cart, total))
        .await
        .json();
    assert_eq!(c2["invoice"]["number"], "F2026-000002");
    let r = credit(
        &s,
        "cn-5",
        "/v1/credit_notes",
        &json!({"invoice": c2["invoice"]["id"], "lines": [{"line": 1}]}),
    )
    .await;
    assert_eq!(r.json()["number"], "AV-2026-000004", "{}", r.body);

    // Served and listed; the invoice's hosted page links its credit notes.
    let list = s
        .get(&format!("/v1/credit_notes?invoice={invoice}"), Some(SK))
        .await
        .json();
    let numbers: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["AV-2026-000001", "AV-2026-000002", "AV-2026-000003"]
    );
    let one = s
        .get(
            &format!("/v1/credit_notes/{}", first["id"].as_str().unwrap()),
            Some(SK),
        )
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["einvoice"], first_read["einvoice"]);
    let page = s
        .get(c["invoice"]["hosted_invoice_url"].as_str().unwrap(), None)
        .await
        .body;
    let link = format!(
        "/v1/credit_notes/{}.pdf?access_token=",
        first["id"].as_str().unwrap()
    );
    assert!(page.contains(&link), "{page}");
    let href = page[page.find(&link).unwrap()..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert_eq!(s.get(&href, None).await.status, 200, "{href}");
    assert_eq!(
        s.get(
            &format!("/v1/credit_notes/{}.pdf", first["id"].as_str().unwrap()),
            None
        )
        .await
        .status,
        401
    );

    // Errors: unknown invoice or charge, an invalid reason, a missing key.
    let r = credit(
        &s,
        "cn-6",
        "/v1/credit_notes",
        &json!({"invoice": "in_nope"}),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = credit(&s, "cn-7", "/v1/refunds", &json!({"charge": "ch_nope"})).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = credit(
        &s,
        "cn-8",
        "/v1/credit_notes",
        &json!({"invoice": invoice, "reason": "because"}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_request"));
    let r = s
        .post("/v1/credit_notes", SK, &json!({"invoice": invoice}), &[])
        .await;
    assert_eq!(r.code(), "missing_idempotency_key");
    s.stop().await;
}

#[tokio::test]
async fn credit_notes_refund_in_their_own_series_sqlite() {
    credit_notes_refund_in_their_own_series(Backend::Sqlite).await;
}

#[tokio::test]
async fn credit_notes_refund_in_their_own_series_postgres() {
    credit_notes_refund_in_their_own_series(Backend::Postgres).await;
}

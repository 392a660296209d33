//! E-invoices of issued invoices over real HTTP (SQLite): rendered once at issue, served as
//! Factur-X PDF, CII and UBL by suffix or Accept header, each with the SHA-256 recorded at issue,
//! linked from the hosted invoice page; the XML reads back and verifies with the engine.

mod common;

use billcalc::einvoice::{read, verify};
use common::{Backend, TestServer, PK, SK};
use serde_json::json;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn issued_invoice_is_served_as_facturx_cii_and_ubl() {
    let url = common::fresh_database(Backend::Sqlite, "einvoice")
        .await
        .unwrap();
    let s = TestServer::start(&url).await;
    let cart = common::cart();
    let q = s
        .post("/v1/quotes", PK, &json!({"cart": cart}), &[])
        .await
        .json();
    let total = q["quote"]["total"].as_i64().unwrap();
    let mut body = common::charge_body(&cart, total);
    body["quote_token"] = q["quote_token"].clone();
    let r = s.charge("einvoice-1", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.json();
    let id = c["invoice"]["id"].as_str().unwrap().to_string();

    // The JSON view lists the files with their hashes, not their content.
    let inv = s.get(&format!("/v1/invoices/{id}"), Some(SK)).await.json();
    let e = &inv["einvoice"];
    for format in ["pdf", "cii", "ubl"] {
        assert!(e[format]["sha256"].as_str().unwrap().len() == 64, "{e}");
        assert!(e[format].get("content").is_none());
    }
    assert_eq!(e["pdf"]["url"], format!("/v1/invoices/{id}.pdf"));

    for (suffix, format) in [(".cii.xml", "cii"), (".ubl.xml", "ubl"), (".xml", "cii")] {
        let f = s.get(&format!("/v1/invoices/{id}{suffix}"), Some(SK)).await;
        assert_eq!(f.status, 200, "{}", f.body);
        assert_eq!(f.header("content-type"), Some("application/xml"));
        assert_eq!(f.header("x-content-sha256"), e[format]["sha256"].as_str());
        assert_eq!(
            sha256_hex(f.body.as_bytes()),
            e[format]["sha256"].as_str().unwrap()
        );
        let d = read::read(f.body.as_bytes()).unwrap();
        assert_eq!(d.number, "F2026-000001");
        let minor = |v: rust_decimal::Decimal| {
            (v * rust_decimal::Decimal::from(100))
                .normalize()
                .to_string()
        };
        assert_eq!(minor(d.totals.tax_inclusive), total.to_string());
        // Paid by card at checkout: nothing left to pay.
        assert!(d.totals.payable.is_zero());
        assert_eq!(d.payment_means[0].code, "48");
        assert_eq!(d.seller.legal_id.as_ref().unwrap().id, "912345678");
        // French 2026 reform: the category of the operation (lamps, a book, shipping: goods),
        // already paid by card.
        assert_eq!(d.business_process.as_deref(), Some("B2"));
        let v = verify(&d).unwrap();
        assert!(v.ok, "{:?}", v);
    }
    // The PDF by suffix and by Accept header: the same stored bytes.
    let pdf = s.get(&format!("/v1/invoices/{id}.pdf"), Some(SK)).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert_eq!(pdf.header("x-content-sha256"), e["pdf"]["sha256"].as_str());
    assert!(pdf.body.starts_with("%PDF-1.7"));
    let by_accept = common::request(
        s.addr,
        "GET",
        &format!("/v1/invoices/{id}"),
        &[
            ("authorization", &format!("Bearer {SK}")),
            ("accept", "application/pdf"),
        ],
        None,
    )
    .await;
    assert_eq!(
        by_accept.header("x-content-sha256"),
        e["pdf"]["sha256"].as_str()
    );

    // The hosted page links them with its access token; the token opens them too.
    let hosted = c["invoice"]["hosted_invoice_url"].as_str().unwrap();
    let page = s.get(hosted, None).await;
    let token = hosted.split("access_token=").nth(1).unwrap();
    let link = format!("/v1/invoices/{id}.pdf?access_token={token}");
    assert!(page.body.contains(&link), "{}", page.body);
    assert_eq!(s.get(&link, None).await.status, 200);
    // Without a key or token: refused; an unknown id: not found.
    assert_eq!(
        s.get(&format!("/v1/invoices/{id}.pdf"), None).await.status,
        401
    );
    assert_eq!(
        s.get("/v1/invoices/in_nope.pdf", Some(SK)).await.status,
        404
    );
    s.stop().await;
}

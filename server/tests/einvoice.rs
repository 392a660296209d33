//! E-invoices of issued invoices over real HTTP (SQLite): rendered once at issue, served as
//! Factur-X PDF, CII and UBL by suffix or Accept header, each with the SHA-256 recorded at issue,
//! linked from the hosted invoice page; the XML reads back and verifies with the engine.

mod common;

use billcalc::einvoice::{read, verify};
use common::{Backend, TestServer, SK};
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
    let (body, total) = common::charge_body_with_token(&s, &common::cart()).await;
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

/// The e-invoice of a charge, read back from its CII and UBL and verified by the engine.
async fn issued_documents(s: &TestServer, id: &str) -> Vec<billcalc::einvoice::Document> {
    let mut out = Vec::new();
    for suffix in [".cii.xml", ".ubl.xml"] {
        let f = s.get(&format!("/v1/invoices/{id}{suffix}"), Some(SK)).await;
        assert_eq!(f.status, 200, "{id}{suffix}: {}", f.body);
        let d = read::read(f.body.as_bytes()).unwrap();
        let v = verify(&d).unwrap();
        assert!(v.ok, "{:?}", v);
        out.push(d);
    }
    out
}

/// An intra-Community supply of goods (K) states when and where the goods were delivered
/// (BR-IC-11, BR-IC-12): the charge date and the buyer's address by default, the shipping
/// address and its `delivery_date` when the charge gives them. Every such invoice gets its
/// e-invoice (it used to be issued without one).
#[tokio::test]
async fn intra_community_goods_invoice_states_its_delivery_date() {
    let url = common::fresh_database(Backend::Sqlite, "einvoice_k")
        .await
        .unwrap();
    let s = TestServer::start(&url).await;
    let cart = json!({
        "currency": "eur",
        "customer": {
            "address": {"country": "DE", "city": "Berlin", "postal_code": "10115", "line1": "Invalidenstraße 1"},
            "tax_ids": [{"type": "eu_vat", "value": "de 136 695 976"}]
        },
        "lines": [{"price": "price_lamp", "quantity": 3}]
    });
    let total = common::quoted_total(&s, &cart).await;
    assert_eq!(total, 3 * 8900, "an exempt intra-Community supply: no VAT");
    let today = billcalc::einvoice::from_engine::date_of(common::NOW);

    // 1. No shipping details: delivered on the day of the sale, to the buyer's address.
    let mut body = common::charge_body(&cart, total);
    body["billing_details"]["company"] = json!("Licht GmbH");
    let c = s.charge("k-1", &body).await;
    assert_eq!(c.status, 200, "{}", c.body);
    let id = c.json()["invoice"]["id"].as_str().unwrap().to_string();
    for d in issued_documents(&s, &id).await {
        assert_eq!(d.vat_breakdown.len(), 1);
        assert_eq!(d.vat_breakdown[0].vat.category, "K");
        assert_eq!(
            d.vat_breakdown[0].exemption_code.as_deref(),
            Some("VATEX-EU-IC")
        );
        let delivery = d.delivery.as_ref().expect("BG-13");
        assert_eq!(delivery.date.as_deref(), Some(today.as_str()));
        assert_eq!(delivery.address.as_ref().unwrap().country, "DE");
        assert_eq!(d.buyer.vat_id.as_deref(), Some("DE136695976"));
        assert_eq!(d.business_process.as_deref(), Some("B2"));
    }

    // 2. Shipped to a warehouse in Austria, delivered two days later.
    let mut body = common::charge_body(&cart, total);
    body["billing_details"]["company"] = json!("Licht GmbH");
    body["billing_details"]["shipping"] = json!({
        "name": "Licht Lager",
        "address": {"line1": "Lagerstraße 5", "postal_code": "1010", "city": "Wien", "country": "AT"},
        "delivery_date": "2026-03-04"
    });
    let c = s.charge("k-2", &body).await;
    assert_eq!(c.status, 200, "{}", c.body);
    let id = c.json()["invoice"]["id"].as_str().unwrap().to_string();
    for d in issued_documents(&s, &id).await {
        let delivery = d.delivery.as_ref().expect("BG-13");
        assert_eq!(delivery.date.as_deref(), Some("2026-03-04"));
        assert_eq!(delivery.address.as_ref().unwrap().country, "AT");
        assert_eq!(
            delivery.address.as_ref().unwrap().city.as_deref(),
            Some("Wien")
        );
    }

    // A delivery date that is not a date is refused before anything is charged.
    body["billing_details"]["shipping"]["delivery_date"] = json!("04/03/2026");
    let r = s.charge("k-3", &body).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_date"),
        "{}",
        r.body
    );
    s.stop().await;
}

/// A seller who opted for VAT on debits says so on every invoice and e-invoice (BT-8: CII 5,
/// UBL 3, and the `TXD` note).
#[tokio::test]
async fn vat_on_debits_is_stated_when_the_seller_chose_it() {
    let url = common::fresh_database(Backend::Sqlite, "einvoice_debits")
        .await
        .unwrap();
    let mut config = common::test_config();
    config["seller"]["vat_on_debits"] = json!(true);
    let s = TestServer::start_with(&url, config, |_| {}).await;
    let cart = common::cart();
    let total = common::quoted_total(&s, &cart).await;
    let c = s
        .charge("debits-1", &common::charge_body(&cart, total))
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let c = c.json();
    let id = c["invoice"]["id"].as_str().unwrap().to_string();
    for d in issued_documents(&s, &id).await {
        assert_eq!(d.vat_point_date_code.as_deref(), Some("3"));
        assert!(d.notes.iter().any(|n| n.subject.as_deref() == Some("TXD")
            && n.text == billcalc::einvoice::french::VAT_ON_DEBITS));
    }
    let page = s
        .get(c["invoice"]["hosted_invoice_url"].as_str().unwrap(), None)
        .await
        .body;
    assert!(
        page.contains("TVA d&#39;après les débits") || page.contains("TVA d'après les débits"),
        "{page}"
    );
    s.stop().await;

    // Without the option: no such statement.
    let url = common::fresh_database(Backend::Sqlite, "einvoice_no_debits")
        .await
        .unwrap();
    let s = TestServer::start(&url).await;
    let c = s
        .charge("debits-2", &common::charge_body(&cart, total))
        .await
        .json();
    let id = c["invoice"]["id"].as_str().unwrap().to_string();
    for d in issued_documents(&s, &id).await {
        assert_eq!(d.vat_point_date_code, None);
        assert!(!d.notes.iter().any(|n| n.subject.as_deref() == Some("TXD")));
    }
    s.stop().await;
}

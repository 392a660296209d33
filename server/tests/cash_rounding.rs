//! A cash-rounded charge end to end (issue 11, finding 1), over real HTTP on a real SQLite file
//! and a real PostgreSQL: a catalog whose rounding policy has a cash increment (CHF 0.05,
//! `rounding: {mode: "half_up", increment: 5}`: the Swiss practice of rounding the amount due
//! to 5 Rappen), a CHF cart whose total is not a multiple of 0.05. The quote shows the total
//! and the amount payable; the gateway charges the amount payable (the payment the gateway
//! answered with is what the invoice records as paid); the stored invoice has the total, the
//! rounding amount (EN 16931 BT-114) and the amount paid; the hosted invoice prints the
//! "Arrondi" row; the CII and UBL e-invoices carry BT-114 and verify (the EN 16931 rules run
//! over them in scripts/test.sh through BILLCALC_EINVOICE_DUMP).

mod common;

use billcalc::einvoice::{read, verify};
use common::{Backend, TestServer, PK, SK};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// The demo configuration, with CHF prices and the catalog's rounding policy set to cash
/// rounding to 0.05 (the configuration a merchant invoicing in CHF would set).
fn chf_config() -> Value {
    let mut config = common::test_config();
    let catalog = &mut config["catalog"];
    catalog["rounding"] = json!({ "mode": "half_up", "increment": 5 });
    for price in catalog["prices"].as_array_mut().unwrap() {
        let chf = match price["id"].as_str().unwrap() {
            "price_lamp" => 8390,
            "price_book" => 2290,
            "price_shipping" => 645,
            _ => continue,
        };
        price["currency_options"]["chf"] = json!({ "unit_amount": chf });
    }
    config
}

/// A Geneva customer's CHF cart with the 15 % launch code: 2 lamps, a book, shipping.
fn chf_cart() -> Value {
    json!({
        "currency": "chf",
        "customer": { "address": { "country": "CH", "postal_code": "1204", "city": "Genève", "line1": "Rue du Rhône 10" } },
        "lines": [
            { "price": "price_lamp", "quantity": 2 },
            { "price": "price_book", "quantity": 1 },
            { "price": "price_shipping", "quantity": 1 }
        ],
        "discounts": [{ "promotion_code": "LANCEMENT" }]
    })
}

fn minor(v: Decimal) -> i64 {
    let v = (v * Decimal::from(100)).normalize();
    assert!(v.fract().is_zero(), "{v} is not in minor units");
    i64::try_from(v.mantissa() / 10i128.pow(v.scale())).unwrap()
}

async fn cash_rounded_charge(backend: Backend) {
    let url = database_or_skip!(backend, "cash_rounding");
    let s = TestServer::start_with(&url, chf_config(), |_| {}).await;
    let cart = chf_cart();

    // The quote: lines and taxes in Rappen, the total not rounded, the payable rounded once.
    let q = s
        .post("/v1/quotes", PK, &json!({ "cart": cart }), &[])
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    let q = q.json();
    let quote = &q["quote"];
    // Hand computation: export of goods to Switzerland, no French VAT (category G, 0). Lines
    // 2 × 83.90 = 167.80, 22.90, 6.45: subtotal 197.15. The 15 % order coupon discounts the
    // goods (shipping is not discountable): 15 % of 190.70 = 28.605 → 28.61, allocated 25.17 to
    // the lamps and 3.44 to the book. Total 197.15 − 28.61 = 168.54 (never rounded to 0.05);
    // payable 168.54 rounded half_up to 0.05: 168.55, rounding amount +0.01 (BT-114).
    let total = quote["total"].as_i64().unwrap();
    let payable = quote["amount_payable"].as_i64().unwrap();
    let rounding = quote["rounding_amount"].as_i64().unwrap();
    assert_eq!(quote["currency"], "chf");
    assert_eq!(quote["subtotal"], 19715, "{quote}");
    assert_eq!(
        quote["total_discount_amounts"][0]["amount"], 2861,
        "{quote}"
    );
    assert_eq!(total, 16854, "{quote}");
    assert_eq!((payable, rounding), (16855, 1), "{quote}");
    assert_eq!(
        quote["rounding"],
        json!({ "mode": "half_up", "increment": 5 })
    );
    let line_sum: i64 = quote["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount_excluding_tax"].as_i64().unwrap())
        .sum();
    assert_eq!(
        (quote["lines"][0]["amount_excluding_tax"].as_i64(), line_sum),
        (Some(14263), total),
        "lines stay in Rappen (142.63, not 142.65): {quote}"
    );

    // The charge: the customer was shown the total (expected_total), the gateway is asked for
    // the amount payable.
    let mut body = common::charge_body(&cart, total);
    body["quote_token"] = q["quote_token"].clone();
    let r = s.charge("cash-1", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.json();
    assert_eq!(c["amount"], payable, "{c}");
    assert_eq!(c["currency"], "chf");
    assert_eq!(s.gateway.charges_made(), 1);
    let id = c["invoice"]["id"].as_str().unwrap().to_string();

    // The stored invoice: total, rounding amount, and what the gateway charged as paid.
    let inv = s.get(&format!("/v1/invoices/{id}"), Some(SK)).await;
    assert_eq!(inv.status, 200, "{}", inv.body);
    let inv = inv.json();
    assert_eq!(inv["total"], total, "{inv}");
    assert_eq!(inv["rounding_amount"], rounding, "{inv}");
    assert_eq!(inv["amount_paid"], payable, "{inv}");
    assert_eq!(inv["payment"]["amount"], payable, "{inv}");

    // A replay answers the same and charges nothing more.
    let again = s.charge("cash-1", &body).await;
    assert_eq!(again.json()["amount"], payable);
    assert_eq!(s.gateway.charges_made(), 1);

    // The hosted invoice: Total 168,54, Arrondi 0,01, then what was paid, 168,55.
    let page = s
        .get(c["invoice"]["hosted_invoice_url"].as_str().unwrap(), None)
        .await;
    assert_eq!(page.status, 200);
    let page = page.body;
    let row = page
        .find("id=\"rounding-amount\"")
        .unwrap_or_else(|| panic!("no rounding row: {page}"));
    let before = &page[..row];
    assert!(
        before[before.rfind("<tr>").unwrap()..].contains("Arrondi"),
        "{}",
        &page[row.saturating_sub(200)..row + 100]
    );
    let cell = &page[row..row + page[row..].find("</td>").unwrap()];
    let cell = &cell[cell.find('>').unwrap() + 1..];
    assert_eq!(
        cell.replace('\u{a0}', " ").replace('\u{202f}', " "),
        "0,01 CHF"
    );
    assert!(
        !cell.contains('−') && !cell.contains('-'),
        "a positive rounding: {cell}"
    );
    assert!(page.contains("168,54"), "the total");
    assert!(page.contains("168,55"), "what was paid");

    // The e-invoices: BT-112 total, BT-113 paid, BT-114 rounding, BT-115 nothing left to pay.
    for suffix in [".cii.xml", ".ubl.xml"] {
        let f = s.get(&format!("/v1/invoices/{id}{suffix}"), Some(SK)).await;
        assert_eq!(f.status, 200, "{id}{suffix}: {}", f.body);
        let d = read::read(f.body.as_bytes()).unwrap();
        assert_eq!(d.currency, "CHF", "{suffix}");
        assert_eq!(minor(d.totals.tax_inclusive), total, "{suffix} BT-112");
        assert_eq!(
            d.totals.prepaid.map(minor),
            Some(payable),
            "{suffix} BT-113"
        );
        assert_eq!(
            d.totals.rounding.map(minor),
            Some(rounding),
            "{suffix} BT-114"
        );
        assert!(d.totals.payable.is_zero(), "{suffix} BT-115");
        let v = verify(&d).unwrap();
        assert!(v.ok, "{suffix}: {v:?}");
    }
    s.stop().await;
}

#[tokio::test]
async fn cash_rounded_charge_on_sqlite() {
    cash_rounded_charge(Backend::Sqlite).await;
}

#[tokio::test]
async fn cash_rounded_charge_on_postgres() {
    cash_rounded_charge(Backend::Postgres).await;
}

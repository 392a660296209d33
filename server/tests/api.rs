//! The HTTP API through real HTTP on 127.0.0.1, against a SQLite file (storage behaviour on
//! both backends is in storage.rs).

mod common;

use common::{Backend, TestServer, NOW, NOW_RFC3339, PK, SK};
use serde_json::{json, Value};

async fn server() -> TestServer {
    let url = common::fresh_database(Backend::Sqlite, "api")
        .await
        .unwrap();
    TestServer::start(&url).await
}

#[tokio::test]
async fn catalog_needs_a_key_and_is_the_configured_catalog() {
    let s = server().await;
    let r = s.get("/v1/catalog", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"error": {"code": "unauthorized", "path": "", "message": "missing or invalid API key (Authorization: Bearer <key>)"}})
    );
    assert_eq!(
        s.get("/v1/catalog", Some("pk_test_wrong")).await.status,
        401
    );
    let r = s.get("/v1/catalog", Some(PK)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), common::test_config()["catalog"]);
    // The catalog is what the engine validates: it builds a calculator as is.
    let catalog: billcalc::Catalog = billcalc::from_json(&r.body).unwrap();
    billcalc::Calculator::new(&catalog).unwrap();
    s.stop().await;
}

#[tokio::test]
async fn quote_matches_the_engine_and_carries_a_token() {
    let s = server().await;
    let r = s
        .post("/v1/quotes", PK, &json!({"cart": common::cart()}), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["as_of"], NOW_RFC3339);
    assert_eq!(body["expires_at"], json!(NOW + 900));
    assert!(body["quote_token"].as_str().unwrap().starts_with("bq1."));
    // The same cart through the engine directly, with the same catalog and as_of.
    let mut input = common::cart();
    input["as_of"] = json!(NOW_RFC3339);
    input["catalog"] = common::test_config()["catalog"].clone();
    let direct = billcalc::compute_quote(&billcalc::from_value(&input).unwrap()).unwrap();
    assert_eq!(body["quote"], serde_json::to_value(&direct).unwrap());
    // 2 × 89 € + 24 € + 6.90 € shipping; VAT 20 % on lamps, 5.5 % on the book, shipping split.
    assert_eq!(body["quote"]["total"], json!(direct.total));
    assert_eq!(body["quote"]["total_taxes"].as_array().unwrap().len(), 2);
    s.stop().await;
}

#[tokio::test]
async fn verify_lists_field_differences_for_a_tampered_total() {
    let s = server().await;
    let mut cart = common::cart();
    cart["as_of"] = json!(NOW_RFC3339);
    let quote = s
        .post("/v1/quotes", PK, &json!({"cart": cart}), &[])
        .await
        .json()["quote"]
        .clone();
    // The client's own result, untouched: a match, and a token.
    let ok = s
        .post(
            "/v1/quotes/verify",
            PK,
            &json!({"cart": cart, "client_quote": quote}),
            &[],
        )
        .await
        .json();
    assert_eq!(ok["match"], json!(true));
    assert_eq!(ok["differences"], json!([]));
    assert!(ok["quote_token"].is_string());
    // Tampered: one cent off the total and a tax amount changed.
    let mut tampered = quote.clone();
    let total = quote["total"].as_i64().unwrap();
    let tax = quote["total_taxes"][0]["amount"].as_i64().unwrap();
    tampered["total"] = json!(total - 1);
    tampered["total_taxes"][0]["amount"] = json!(tax - 1);
    let r = s
        .post(
            "/v1/quotes/verify",
            PK,
            &json!({"cart": cart, "client_quote": tampered}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["match"], json!(false));
    assert_eq!(
        v["differences"],
        json!([
            {"path": "total", "expected": total, "actual": total - 1},
            {"path": "total_taxes[0].amount", "expected": tax, "actual": tax - 1},
        ])
    );
    assert!(v.get("quote_token").is_none());
    // Totals alone are enough.
    let only = s
        .post(
            "/v1/quotes/verify",
            PK,
            &json!({"cart": cart, "client_quote": {"total": total}}),
            &[],
        )
        .await
        .json();
    assert_eq!(only["match"], json!(true));
    s.stop().await;
}

#[tokio::test]
async fn charge_with_a_tampered_total_is_rejected_and_charges_nothing() {
    let s = server().await;
    let cart = common::cart();
    let total = common::quoted_total(&s, &cart).await;
    let r = s
        .charge("tampered-1", &common::charge_body(&cart, total - 100))
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let e = r.json();
    assert_eq!(e["error"]["code"], "total_mismatch");
    assert_eq!(e["error"]["path"], "expected_total");
    assert_eq!(
        e["error"]["differences"],
        json!([{"path": "total", "expected": total, "actual": total - 100}])
    );
    assert_eq!(s.gateway.attempts(), 0);
    assert!(s.store.payments().await.unwrap().is_empty());
    // Not stored: the same key with the corrected body goes through.
    let ok = s
        .charge("tampered-1", &common::charge_body(&cart, total))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    s.stop().await;
}

#[tokio::test]
async fn charge_issues_an_invoice_with_the_french_mentions() {
    let s = server().await;
    let cart = common::cart();
    let (body, total) = common::charge_body_with_token(&s, &cart).await;
    let r = s.charge("order-1", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.json();
    assert_eq!(c["status"], "succeeded");
    assert_eq!(c["amount"], json!(total));
    assert_eq!(
        c["payment_method"],
        json!({"type": "card", "brand": "visa", "last4": "4242"})
    );
    assert_eq!(c["invoice"]["number"], "F2026-000001");
    let id = c["invoice"]["id"].as_str().unwrap().to_string();
    // JSON with the secret key only.
    assert_eq!(
        s.get(&format!("/v1/invoices/{id}"), Some(PK)).await.status,
        403
    );
    let inv = s.get(&format!("/v1/invoices/{id}"), Some(SK)).await.json();
    assert_eq!(inv["number"], "F2026-000001");
    assert_eq!(inv["total"], json!(total));
    assert_eq!(inv["amount_paid"], json!(total));
    assert_eq!(inv["quote"], c["quote"]);
    assert_eq!(inv["seller"]["siren"], "912 345 678");
    // HTML by Accept header, by .html, and by the hosted link's access token (no key).
    let html = common::request(
        s.addr,
        "GET",
        &format!("/v1/invoices/{id}"),
        &[
            ("authorization", &format!("Bearer {SK}")),
            ("accept", "text/html"),
        ],
        None,
    )
    .await;
    assert_eq!(html.status, 200);
    assert!(html
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let hosted = c["invoice"]["hosted_invoice_url"].as_str().unwrap();
    let page = s.get(hosted, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body, html.body);
    let bad = hosted.replace("access_token=", "access_token=x");
    assert_eq!(s.get(&bad, None).await.status, 401);
    let text = page.body;
    for mention in [
        "Facture n°",
        "F2026-000001",
        "Atelier Lumière SAS",
        "SAS au capital de 10\u{a0}000\u{a0}€",
        "SIREN 912 345 678",
        "SIRET 912 345 678 00017",
        "RCS Lyon 912 345 678",
        "N° TVA intracommunautaire : FR32912345678",
        "Camille Martin",
        "3 rue Oberkampf",
        "Date de la vente : 2 mars 2026",
        "Date d&#39;échéance : 2 mars 2026",
        "Escompte pour paiement anticipé : néant",
        "Pénalités de retard",
        "P.U. HT",
        "Total HT",
        "Total TTC",
        "TVA 20 %",
        "TVA 5,5 %",
        "Lampe Lumière (laiton)",
        "89,00\u{a0}€",
    ] {
        assert!(text.contains(mention), "missing {mention:?} in\n{text}");
    }
    // A consumer: no B2B recovery indemnity.
    assert!(!text.contains("40 €"));
    s.stop().await;
}

#[tokio::test]
async fn business_buyer_in_another_eu_country_gets_reverse_charge_and_the_40_euro_mention() {
    let s = server().await;
    let cart = json!({
        "currency": "eur",
        "customer": {
            "address": {"country": "DE", "city": "Berlin", "postal_code": "10115", "line1": "Invalidenstraße 1"},
            "tax_ids": [{"type": "eu_vat", "value": "de 136 695 976"}]
        },
        "lines": [{"price": "price_lamp", "quantity": 3}, {"price": "price_course", "quantity": 1}]
    });
    let total = common::quoted_total(&s, &cart).await;
    // The lamps are an exempt intra-Community supply (K), the online course reverse-charged.
    assert_eq!(total, 3 * 8900 + 4900, "no VAT");
    let mut body = common::charge_body(&cart, total);
    body["billing_details"]["company"] = json!("Licht GmbH");
    let c = s.charge("b2b-1", &body).await.json();
    let page = s
        .get(c["invoice"]["hosted_invoice_url"].as_str().unwrap(), None)
        .await
        .body;
    for mention in [
        "Licht GmbH",
        "N° TVA intracommunautaire : DE136695976",
        "Autoliquidation",
        "Exonération de TVA, article 262 ter I du CGI",
        "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 €",
    ] {
        assert!(page.contains(mention), "missing {mention:?} in\n{page}");
    }
    s.stop().await;
}

#[tokio::test]
async fn quote_tokens_bind_cart_and_expire() {
    let s = server().await;
    let cart = common::cart();
    let q = common::quote(&s, &cart).await;
    let total = q["quote"]["total"].as_i64().unwrap();
    let token = q["quote_token"].as_str().unwrap().to_string();
    // Another cart under the same token.
    let mut other = cart.clone();
    other["lines"][0]["quantity"] = json!(3);
    let mut body = common::charge_body(&other, total);
    body["quote_token"] = json!(token);
    let r = s.charge("tok-1", &body).await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_quote_token"));
    // A forged signature.
    let mut forged = common::charge_body(&cart, total);
    forged["quote_token"] = json!(format!("{}x", &token[..token.len() - 1]));
    assert_eq!(
        s.charge("tok-2", &forged).await.code(),
        "invalid_quote_token"
    );
    // The price holds for the token's lifetime, then the token expires.
    s.clock.advance(899);
    let mut ok = common::charge_body(&cart, total);
    ok["quote_token"] = json!(token);
    assert_eq!(s.charge("tok-3", &ok).await.status, 200);
    s.clock.advance(1);
    let r = s.charge("tok-4", &ok).await;
    assert_eq!((r.status, r.code().as_str()), (409, "quote_token_expired"));
    s.stop().await;
}

#[tokio::test]
async fn card_numbers_are_rejected_anywhere() {
    let s = server().await;
    let mut cart = common::cart();
    cart["metadata"] = json!({"note": "card 4242 4242 4242 4242"});
    let r = s.post("/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "card_number_rejected");
    assert_eq!(r.json()["error"]["path"], "cart.metadata.note");
    assert!(!r.body.contains("4242"), "the number is never echoed");
    let mut body = common::charge_body(&common::cart(), 1);
    body["payment_method"] = json!("4000-0566-5566-5556");
    let r = s.charge("pan-1", &body).await;
    assert_eq!(
        (r.status, r.json()["error"]["path"].clone()),
        (400, json!("payment_method"))
    );
    let r = s.get("/v1/catalog?card=4242424242424242", Some(PK)).await;
    assert_eq!((r.status, r.code().as_str()), (400, "card_number_rejected"));
    assert_eq!(s.gateway.attempts(), 0);
    s.stop().await;
}

#[tokio::test]
async fn keys_and_what_each_may_do() {
    let s = server().await;
    let body = common::charge_body(&common::cart(), 1);
    let r = s
        .post("/v1/charges", PK, &body, &[("idempotency-key", "k")])
        .await;
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = s
        .post(
            "/v1/charges",
            "sk_test_nope_nope_nope",
            &body,
            &[("idempotency-key", "k")],
        )
        .await;
    assert_eq!(r.status, 401);
    // The secret key may quote too, and apply catalog coupons; the publishable key may not.
    let mut cart = common::cart();
    cart["discounts"] = json!([{"coupon": "coupon_five"}]);
    assert_eq!(
        s.post("/v1/quotes", SK, &json!({"cart": cart}), &[])
            .await
            .status,
        200
    );
    let r = s.post("/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
    assert_eq!(
        (r.status, r.json()["error"]["path"].clone()),
        (403, json!("cart.discounts[0].coupon"))
    );
    // Subscriptions are the secret key's (tests/subscriptions.rs has the rest).
    let r = s
        .post(
            "/v1/subscriptions",
            SK,
            &json!({}),
            &[("idempotency-key", "k")],
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "missing_field"));
    assert_eq!(
        s.post("/v1/subscriptions/sub_1/cancel", PK, &json!({}), &[])
            .await
            .status,
        403
    );
    s.stop().await;
}

#[tokio::test]
async fn the_server_prices_from_its_own_catalog_and_clock() {
    let s = server().await;
    let cases = [
        (
            json!({"currency": "eur", "lines": [{"price": {"currency": "eur", "unit_amount": 1}}]}),
            "cart.lines[0].price",
        ),
        (
            json!({"currency": "eur", "lines": [{"price": "price_lamp", "tax_category": "exempt"}]}),
            "cart.lines[0].tax_category",
        ),
        (
            json!({"currency": "eur", "lines": [{"price": "price_lamp"}], "tax": {"rates": []}}),
            "cart.tax",
        ),
        (
            json!({"currency": "eur", "lines": [{"price": "price_lamp"}], "rounding": {"mode": "down"}}),
            "cart.rounding",
        ),
        (
            json!({"currency": "eur", "lines": [{"price": "price_lamp"}], "discounts": [{"coupon": {"percent_off": 100}}]}),
            "cart.discounts[0].coupon",
        ),
        (
            json!({"currency": "eur", "lines": [{"price": "price_lamp"}], "as_of": "2026-03-02T09:54:59Z"}),
            "cart.as_of",
        ),
    ];
    for (cart, path) in cases {
        let r = s.post("/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.json()["error"]["path"], json!(path), "{}", r.body);
    }
    // Engine errors keep their code, under the request's path.
    let r = s
        .post(
            "/v1/quotes",
            PK,
            &json!({"cart": {"currency": "eur", "lines": [{"price": "nope"}]}}),
            &[],
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"error": {"code": "unknown_price", "path": "cart.lines[0].price", "message": "no price with this id in the catalog"}})
    );
    let r = s
        .post(
            "/v1/quotes",
            PK,
            &json!({"cart": {"currency": "eur", "lines": [{"price": "price_lamp", "qty": 1}]}}),
            &[],
        )
        .await;
    assert_eq!(
        (r.code().as_str(), r.json()["error"]["path"].clone()),
        ("unknown_field", json!("cart.lines[0].qty"))
    );
    // A cart's own as_of within the tolerance is honoured.
    let mut cart = common::cart();
    cart["as_of"] = json!("2026-03-02T09:55:00Z");
    let r = s.post("/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
    assert_eq!(r.json()["as_of"], "2026-03-02T09:55:00Z");
    // An expired promotion code is reported as the engine reports it, at the server's time.
    s.clock.set(1_830_297_600);
    let mut cart = common::cart();
    cart["discounts"] = json!([{"promotion_code": "LANCEMENT"}]);
    let q = s
        .post("/v1/quotes", PK, &json!({"cart": cart}), &[])
        .await
        .json();
    assert_eq!(q["quote"]["rejected_discounts"][0]["reason"], "expired");
    s.stop().await;
}

#[tokio::test]
async fn request_hygiene() {
    let s = server().await;
    // Body limit.
    let big =
        json!({"cart": {"currency": "eur", "lines": [], "metadata": {"x": "a".repeat(70_000)}}});
    let r = s.post("/v1/quotes", PK, &big, &[]).await;
    assert_eq!((r.status, r.code().as_str()), (413, "body_too_large"));
    // Not JSON.
    let r = common::request(
        s.addr,
        "POST",
        "/v1/quotes",
        &[
            ("authorization", &format!("Bearer {PK}")),
            ("content-type", "application/json"),
        ],
        Some(b"{nope"),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_json"));
    // Unknown request fields.
    let r = s
        .post(
            "/v1/quotes",
            PK,
            &json!({"cart": common::cart(), "extra": 1}),
            &[],
        )
        .await;
    assert_eq!(
        (r.code().as_str(), r.json()["error"]["path"].clone()),
        ("unknown_field", json!("extra"))
    );
    // Idempotency key required.
    let r = s
        .post(
            "/v1/charges",
            SK,
            &common::charge_body(&common::cart(), 1),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "missing_idempotency_key")
    );
    // Structured 404 and 405.
    let r = s.get("/v1/nothing", Some(PK)).await;
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    let r = s.get("/v1/quotes", Some(PK)).await;
    assert_eq!((r.status, r.code().as_str()), (405, "method_not_allowed"));
    s.stop().await;
}

#[tokio::test]
async fn cors_allow_list() {
    let s = server().await;
    let preflight = |origin: &'static str| {
        let addr = s.addr;
        async move {
            common::request(
                addr,
                "OPTIONS",
                "/v1/quotes",
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                ],
                None,
            )
            .await
        }
    };
    let ok = preflight("http://localhost:8080").await;
    assert_eq!(ok.status, 204);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://localhost:8080")
    );
    assert!(ok
        .header("access-control-allow-headers")
        .unwrap()
        .contains("idempotency-key"));
    let no = preflight("https://evil.example").await;
    assert_eq!(no.status, 403);
    assert_eq!(no.header("access-control-allow-origin"), None);
    let r = common::request(
        s.addr,
        "GET",
        "/v1/catalog",
        &[
            ("origin", "http://127.0.0.1:8080"),
            ("authorization", &format!("Bearer {PK}")),
        ],
        None,
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://127.0.0.1:8080")
    );
    s.stop().await;
}

#[tokio::test]
async fn rate_limit_per_key() {
    let url = common::fresh_database(Backend::Sqlite, "ratelimit")
        .await
        .unwrap();
    let mut config = common::test_config();
    config["http"]["rate_limit"] = json!({"publishable_per_second": 0.001, "publishable_burst": 3});
    let s = TestServer::start_with(&url, config, |_| {}).await;
    for _ in 0..3 {
        assert_eq!(s.get("/v1/catalog", Some(PK)).await.status, 200);
    }
    let r = s.get("/v1/catalog", Some(PK)).await;
    assert_eq!((r.status, r.code().as_str()), (429, "rate_limited"));
    assert!(r.header("retry-after").is_some());
    // The secret key has its own bucket.
    assert_eq!(s.get("/v1/catalog", Some(SK)).await.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn static_files_and_demo_checkout() {
    let dir = std::env::temp_dir().join(format!("billcalc-www-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>shop</h1>").unwrap();
    std::fs::write(dir.join("pkg/app.js"), "export {}").unwrap();
    let url = common::fresh_database(Backend::Sqlite, "static")
        .await
        .unwrap();
    let www = dir.clone();
    let s = TestServer::start_with(&url, common::test_config(), move |state| {
        state.statics = vec![("/".into(), www)];
        state.demo_checkout = true;
    })
    .await;
    let r = s.get("/", None).await;
    assert_eq!((r.status, r.body.as_str()), (200, "<h1>shop</h1>"));
    let r = s.get("/pkg/app.js", None).await;
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(s.get("/../Cargo.toml", None).await.status, 404);
    assert_eq!(s.get("/%2e%2e/Cargo.toml", None).await.status, 404);
    // The demo shop pays with the publishable key (promotion codes only), same checks.
    let config = s.get("/v1/demo/config", None).await.json();
    assert_eq!(config["publishable_key"], PK);
    let cart = common::cart();
    let total = common::quoted_total(&s, &cart).await;
    let r = s
        .post(
            "/v1/demo/checkout",
            PK,
            &common::charge_body(&cart, total),
            &[("idempotency-key", "demo-1")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s
        .post(
            "/v1/demo/checkout",
            PK,
            &common::charge_body(&cart, total + 1),
            &[("idempotency-key", "demo-2")],
        )
        .await;
    assert_eq!(r.code(), "total_mismatch");
    s.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn demo_checkout_is_off_by_default() {
    let s = server().await;
    let r = s
        .post(
            "/v1/demo/checkout",
            PK,
            &json!({}),
            &[("idempotency-key", "x")],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(s.get("/v1/demo/config", None).await.status, 404);
    let _: Value = r.json();
    s.stop().await;
}

//! Issue 13, findings 1–5 and 8, over real HTTP against the real server on a real SQLite file:
//! idempotency keys scoped like Stripe's, `application/json` required, every error answer
//! JSON-shaped (414, 431 — also past the HTTP parser's own limits —, bad percent-encoding, static files, framework rejections), duplicate
//! JSON keys rejected, the card-number scan over every shape of separator and over headers and
//! paths, and the operations endpoints (`/healthz`, `/readyz`, `/metrics`, `X-Request-Id`).

mod common;

use common::{Backend, TestServer, PK, SK};
use serde_json::{json, Value};

async fn server_with(tweak: impl FnOnce(&mut billcalc_server::state::AppState)) -> TestServer {
    let url = common::fresh_database(Backend::Sqlite, "http")
        .await
        .unwrap();
    TestServer::start_with(&url, common::test_config(), tweak).await
}

fn auth(key: &str) -> String {
    format!("Bearer {key}")
}

/// The error object, checking the JSON shape every error answer has.
fn error_of(r: &common::Resp) -> Value {
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "status {} is not JSON: {:?} {}",
        r.status,
        r.header("content-type"),
        r.body
    );
    let e = r.json()["error"].clone();
    for field in ["code", "path", "message"] {
        assert!(e[field].is_string(), "{field} missing in {}", r.body);
    }
    e
}

#[tokio::test]
async fn idempotency_keys_are_scoped_by_api_key_method_and_path() {
    let s = server_with(|st| st.demo_checkout = true).await;
    let total = common::quoted_total(&s, &common::cart()).await;
    let body = common::charge_body(&common::cart(), total);
    let secret = s.charge("shared-key-1", &body).await;
    assert_eq!(secret.status, 200, "{}", secret.body);
    let secret = secret.json();
    // The same key and body from the publishable key on the demo checkout: a charge of its own,
    // never the secret-key charge's stored answer (with its invoice access token).
    let demo = s
        .post(
            "/v1/demo/checkout",
            PK,
            &body,
            &[("idempotency-key", "shared-key-1")],
        )
        .await;
    assert_eq!(demo.status, 200, "{}", demo.body);
    assert_eq!(demo.header("idempotent-replayed"), None);
    let demo = demo.json();
    assert_ne!(demo["id"], secret["id"]);
    assert_ne!(demo["invoice"]["id"], secret["invoice"]["id"]);
    assert_ne!(
        demo["invoice"]["hosted_invoice_url"],
        secret["invoice"]["hosted_invoice_url"]
    );
    assert!(!demo.to_string().contains(
        secret["invoice"]["hosted_invoice_url"]
            .as_str()
            .unwrap()
            .split("access_token=")
            .nth(1)
            .unwrap()
    ));
    // In its own scope the key still replays, byte for byte.
    let again = s.charge("shared-key-1", &body).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), secret);
    let again = s
        .post(
            "/v1/demo/checkout",
            PK,
            &body,
            &[("idempotency-key", "shared-key-1")],
        )
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), demo);
    // Another path with another body is another request, not `idempotency_key_reused`.
    let sub = s
        .post(
            "/v1/subscriptions",
            SK,
            &json!({"customer": {"id": "cus_scope"}, "items": [{"price": "price_essentiel_monthly"}], "payment_method": "pm_card_visa"}),
            &[("idempotency-key", "shared-key-1")],
        )
        .await;
    assert_eq!(sub.status, 200, "{}", sub.body);
    assert_eq!(sub.json()["object"], "subscription");
    // Three payments, one per scope.
    assert_eq!(s.gateway.attempts(), 3);
    assert_eq!(s.store.payments().await.unwrap().len(), 3);
    s.stop().await;
}

#[tokio::test]
async fn a_body_must_be_application_json() {
    let s = server_with(|_| {}).await;
    let body = json!({"cart": common::cart()}).to_string();
    let a = auth(PK);
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json; charset=latin-1"),
        Some("application/jsonp"),
        None,
    ] {
        let mut headers = vec![("authorization", a.as_str())];
        if let Some(c) = content_type {
            headers.push(("content-type", c));
        }
        let r = common::request(
            s.addr,
            "POST",
            "/v1/quotes",
            &headers,
            Some(body.as_bytes()),
        )
        .await;
        assert_eq!(r.status, 415, "{content_type:?}: {}", r.body);
        assert_eq!(error_of(&r)["code"], "unsupported_media_type");
    }
    for content_type in [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=\"UTF-8\"",
    ] {
        let headers = [
            ("authorization", a.as_str()),
            ("content-type", content_type),
        ];
        let r = common::request(
            s.addr,
            "POST",
            "/v1/quotes",
            &headers,
            Some(body.as_bytes()),
        )
        .await;
        assert_eq!(r.status, 200, "{content_type}: {}", r.body);
    }
    // No body, no content type: fine (a renewal run without as_of).
    let sk = auth(SK);
    let r = common::request(
        s.addr,
        "POST",
        "/v1/renewals",
        &[("authorization", sk.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn every_error_answer_is_json() {
    let www = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-static");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "<!doctype html><title>x</title>").unwrap();
    let mount = www.clone();
    let s = server_with(move |st| st.statics = vec![("/".into(), mount)]).await;
    let a = auth(PK);
    // A request target past the limit: 414.
    let long = format!(
        "/v1/catalog?x={}",
        "a".repeat(billcalc_server::gate::MAX_URI_BYTES)
    );
    let r = common::request(s.addr, "GET", &long, &[("authorization", a.as_str())], None).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (414, json!("uri_too_long"))
    );
    // Too many header fields: 431 (the parser's own limit is far above the gate's).
    let names: Vec<String> = (0..billcalc_server::gate::MAX_HEADERS + 5)
        .map(|i| format!("x-extra-{i}"))
        .collect();
    let mut headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    headers.push(("authorization", a.as_str()));
    let r = common::request(s.addr, "GET", "/v1/catalog", &headers, None).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (431, json!("headers_too_large"))
    );
    // Too many header bytes: 431.
    let big = "b".repeat(billcalc_server::gate::MAX_HEADER_BYTES);
    let r = common::request(s.addr, "GET", "/healthz", &[("x-big", big.as_str())], None).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (431, json!("headers_too_large"))
    );
    // Bad percent-encoding, on an API path and on a static path.
    for path in [
        "/v1/subscriptions/%FF",
        "/v1/invoices/%zz",
        "/%zz.html",
        "/%C3",
    ] {
        let r = common::request(s.addr, "GET", path, &[("authorization", &auth(SK))], None).await;
        assert_eq!(
            (r.status, error_of(&r)["code"].clone()),
            (400, json!("invalid_path")),
            "{path}"
        );
    }
    // Static files: found, not found, wrong method.
    let r = s.get("/", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<title>x</title>"));
    let r = s.get("/missing.js", None).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (404, json!("not_found"))
    );
    let r = common::request(s.addr, "DELETE", "/index.html", &[], None).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (405, json!("method_not_allowed"))
    );
    // Escapes, a NUL, a directory without an index: JSON 404s too.
    std::fs::create_dir_all(www.join("empty")).unwrap();
    for path in [
        "/%2e%2e/http-static/index.html",
        "/..%2fCargo.toml",
        "/a%00b.html",
        "/empty/",
    ] {
        let r = s.get(path, None).await;
        assert_eq!(
            (r.status, error_of(&r)["code"].clone()),
            (404, json!("not_found")),
            "{path}"
        );
    }
    // API 404 and 405, and a rejection from the framework itself (a path segment that decodes
    // to something axum's extractor refuses) all keep the shape.
    let r = s.get("/v1/nothing", Some(PK)).await;
    assert_eq!(error_of(&r)["code"], "not_found");
    let r = common::request(
        s.addr,
        "PUT",
        "/v1/quotes",
        &[("authorization", a.as_str())],
        None,
    )
    .await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (405, json!("method_not_allowed"))
    );
    let r = common::request(
        s.addr,
        "POST",
        "/v1/quotes",
        &[
            ("authorization", a.as_str()),
            ("content-type", "application/json"),
        ],
        Some(b"{\"cart\": "),
    )
    .await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (400, json!("invalid_json"))
    );
    // A chunked body: malformed (400, not a size problem), and over the limit (413).
    let chunked = |chunks: String| {
        format!(
            "POST /v1/quotes HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {PK}\r\n\
             content-type: application/json\r\ntransfer-encoding: chunked\r\n\
             connection: close\r\n\r\n{chunks}"
        )
        .into_bytes()
    };
    let r = raw_exchange(s.addr, &chunked("zz\r\n{}\r\n0\r\n\r\n".into())).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (400, json!("invalid_http")),
        "{}",
        r.body
    );
    let big = format!("{:x}\r\n{}\r\n0\r\n\r\n", 70_000, "a".repeat(70_000));
    let r = raw_exchange(s.addr, &chunked(big)).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (413, json!("body_too_large"))
    );
    s.stop().await;
}

/// Sends raw bytes on a fresh connection and reads the whole answer (the server closes).
async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> common::Resp {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut raw),
    )
    .await
    .expect("an answer within 30 s")
    .expect("the answer is read before the connection closes (no reset)");
    common::parse_response(&raw).unwrap_or_else(|e| {
        panic!(
            "{e}: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(300)])
        )
    })
}

/// Past the HTTP parser's own limits (hyper: 256 header fields and a 256 KiB head as
/// configured in `app.rs`, a 65,534-byte request target, a head that is not HTTP) the parser
/// answers before the gate sees the request: `crate::connection` turns those answers into the
/// JSON shape too, and the client reads the whole answer (no reset) although it sent more than
/// the server read.
#[tokio::test]
async fn errors_past_the_parsers_own_limits_are_json_too() {
    let s = server_with(|_| {}).await;
    let head = |target: &str, headers: &str| {
        format!("GET {target} HTTP/1.1\r\nhost: x\r\n{headers}\r\n").into_bytes()
    };
    // 300 header fields: more than the parser's 256.
    let many: String = (0..300).map(|i| format!("x-extra-{i}: 1\r\n")).collect();
    let r = raw_exchange(s.addr, &head("/healthz", &many)).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (431, json!("headers_too_large"))
    );
    assert_eq!(r.header("connection"), Some("close"));
    // A 1 MiB head: four times the parser's buffer (the client is still sending when the
    // answer is written).
    let big: String = (0..32)
        .map(|i| format!("x-big-{i}: {}\r\n", "b".repeat(32 * 1024)))
        .collect();
    let r = raw_exchange(s.addr, &head("/healthz", &big)).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (431, json!("headers_too_large"))
    );
    // A 70,000-byte request target: past hyper's fixed 65,534.
    let target = format!("/v1/catalog?x={}", "a".repeat(70_000));
    let r = raw_exchange(s.addr, &head(&target, "")).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (414, json!("uri_too_long"))
    );
    // Not HTTP at all, and a malformed header line.
    for bytes in [
        &b"HELLO WORLD\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nhost x\r\n\r\n",
    ] {
        let r = raw_exchange(s.addr, bytes).await;
        assert_eq!(
            (r.status, error_of(&r)["code"].clone()),
            (400, json!("invalid_http")),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    // The server still answers normally afterwards, and the gate's own (tighter) limits keep
    // their own answers with their exact limits.
    let r = s.get("/healthz", None).await;
    assert_eq!(r.status, 200);
    let many: String = (0..100).map(|i| format!("x-extra-{i}: 1\r\n")).collect();
    let r = raw_exchange(
        s.addr,
        &head("/healthz", &format!("connection: close\r\n{many}")),
    )
    .await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (431, json!("headers_too_large"))
    );
    assert!(error_of(&r)["message"]
        .as_str()
        .unwrap()
        .contains("64 header fields"));
    s.stop().await;
}

#[tokio::test]
async fn card_numbers_in_any_shape_in_bodies_headers_and_paths() {
    let s = server_with(|_| {}).await;
    for note in [
        "4242.4242.4242.4242",
        "4242  4242  4242  4242",
        "4242\t4242\t4242\t4242",
        "4242\u{a0}4242\u{a0}4242\u{a0}4242",
        "4242\u{202f}4242\u{2009}4242\u{3000}4242",
        "\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}",
        "4000/0566/5566/5556",
        "3782 822463 10005",
    ] {
        let mut cart = common::cart();
        cart["metadata"] = json!({ "note": note });
        let r = s.post("/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
        let e = error_of(&r);
        assert_eq!(
            (r.status, e["code"].clone(), e["path"].clone()),
            (400, json!("card_number_rejected"), json!("cart.metadata.note")),
            "{note:?}"
        );
        assert!(!r.body.contains("4242") && !r.body.contains('\u{ff14}'));
    }
    // Not card numbers: the scan does not get in the way of ordinary values.
    let mut cart = common::cart();
    cart["metadata"] = json!({"order": "F2026-000123", "phone": "+33 1 23 45 67 89", "iban": "FR7630006000011234567890189", "uuid": "550e8400-e29b-41d4-a716-446655440000", "uuid_v4": "313874cd-dfbc-423d-b246-548991270564", "created_ms": "1732900000008"});
    let r = s.post("/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A header, and the path.
    let total = common::quoted_total(&s, &common::cart()).await;
    let body = common::charge_body(&common::cart(), total);
    let r = s
        .post(
            "/v1/charges",
            SK,
            &body,
            &[
                ("idempotency-key", "k-card"),
                ("x-customer-note", "4242 4242 4242 4242"),
            ],
        )
        .await;
    let e = error_of(&r);
    assert_eq!(
        (r.status, e["code"].clone(), e["path"].clone()),
        (
            400,
            json!("card_number_rejected"),
            json!("header.x-customer-note")
        )
    );
    let r = s
        .post(
            "/v1/charges",
            SK,
            &body,
            &[("idempotency-key", "4242-4242-4242-4242")],
        )
        .await;
    assert_eq!(error_of(&r)["path"], "header.idempotency-key");
    let r = s
        .get("/v1/subscriptions/4242%204242%204242%204242", Some(SK))
        .await;
    let e = error_of(&r);
    assert_eq!(
        (r.status, e["code"].clone(), e["path"].clone()),
        (400, json!("card_number_rejected"), json!("path"))
    );
    assert_eq!(s.gateway.attempts(), 0);
    // Idempotency keys that are identifiers, not card numbers: a UUID v4 whose digit groups
    // pass Luhn and a millisecond timestamp that does (both were refused once).
    for key in [
        "f31aeb00-4982-4407-8941-965096ee86ef",
        "order-1732900000008",
    ] {
        let r = s
            .post("/v1/charges", SK, &body, &[("idempotency-key", key)])
            .await;
        assert_eq!(r.status, 200, "{key}: {}", r.body);
    }
    s.stop().await;
}

#[tokio::test]
async fn operations_endpoints_and_request_ids() {
    let s = server_with(|_| {}).await;
    let r = s.get("/healthz", None).await;
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("ok")));
    let r = s.get("/readyz", None).await;
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (200, json!("ready"))
    );
    // X-Request-Id: the client's when it is sane, else a new one; never a header injection.
    let r = common::request(
        s.addr,
        "GET",
        "/healthz",
        &[("x-request-id", "trace-abc-123")],
        None,
    )
    .await;
    assert_eq!(r.header("x-request-id"), Some("trace-abc-123"));
    let r = s.get("/healthz", None).await;
    assert!(r
        .header("x-request-id")
        .is_some_and(|id| id.starts_with("req_") && id.len() == 28));
    let long = "x".repeat(200);
    let r = common::request(
        s.addr,
        "GET",
        "/healthz",
        &[("x-request-id", long.as_str())],
        None,
    )
    .await;
    assert!(r
        .header("x-request-id")
        .is_some_and(|id| id.starts_with("req_")));
    // Metrics: per route, charges by outcome.
    let total = common::quoted_total(&s, &common::cart()).await;
    let r = s
        .charge("metrics-1", &common::charge_body(&common::cart(), total))
        .await;
    assert_eq!(r.status, 200);
    let r = s
        .charge("metrics-1", &common::charge_body(&common::cart(), total))
        .await;
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    let r = s
        .charge(
            "metrics-2",
            &common::charge_body(&common::cart(), total + 1),
        )
        .await;
    assert_eq!(r.status, 409);
    let mut declined = common::charge_body(&common::cart(), total);
    declined["payment_method"] = json!("pm_card_chargeDeclined");
    let r = s.charge("metrics-3", &declined).await;
    assert_eq!(r.status, 402);
    let m = s.get("/metrics", None).await;
    assert_eq!(m.status, 200);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    for line in [
        "billcalc_charges_total{outcome=\"succeeded\"} 1",
        "billcalc_charges_total{outcome=\"replayed\"} 1",
        "billcalc_charges_total{outcome=\"conflict\"} 1",
        "billcalc_charges_total{outcome=\"declined\"} 1",
        "billcalc_http_requests_total{method=\"POST\",route=\"/v1/charges\",status=\"200\"} 2",
        "billcalc_http_requests_total{method=\"POST\",route=\"/v1/quotes\",status=\"200\"} 1",
        "billcalc_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/charges\"} 4",
        "billcalc_renewal_lag_seconds 0",
    ] {
        assert!(
            m.body.lines().any(|l| l == line),
            "{line} not in\n{}",
            m.body
        );
    }
    s.stop().await;
    // With a metrics token, only its bearer reads them.
    let s = server_with(|st| st.metrics_token = Some("metrics-token-1".into())).await;
    let r = s.get("/metrics", None).await;
    assert_eq!(
        (r.status, error_of(&r)["code"].clone()),
        (401, json!("unauthorized"))
    );
    let r = s.get("/metrics", Some("metrics-token-1")).await;
    assert_eq!(r.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn duplicate_json_keys_are_rejected_with_their_path() {
    let s = server_with(|_| {}).await;
    let a = auth(PK);
    let headers = [
        ("authorization", a.as_str()),
        ("content-type", "application/json"),
    ];
    let body = br#"{"cart": {"currency": "eur", "currency": "jpy", "lines": [{"price": "price_book", "quantity": 1}]}}"#;
    let r = common::request(s.addr, "POST", "/v1/quotes", &headers, Some(body)).await;
    let e = error_of(&r);
    assert_eq!(
        (r.status, e["code"].clone(), e["path"].clone()),
        (400, json!("duplicate_field"), json!("cart.currency"))
    );
    // A replay whose duplicates are swapped is refused too, never matched to a stored body.
    let total = common::quoted_total(&s, &common::cart()).await;
    let r = s
        .charge("dup-1", &common::charge_body(&common::cart(), total))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sk = auth(SK);
    let text = common::charge_body(&common::cart(), total).to_string();
    let swapped = text.replacen("{", "{\"expected_total\": 1, ", 1);
    let headers = [
        ("authorization", sk.as_str()),
        ("content-type", "application/json"),
        ("idempotency-key", "dup-1"),
    ];
    let r = common::request(
        s.addr,
        "POST",
        "/v1/charges",
        &headers,
        Some(swapped.as_bytes()),
    )
    .await;
    let e = error_of(&r);
    assert_eq!(
        (r.status, e["code"].clone(), e["path"].clone()),
        (400, json!("duplicate_field"), json!("expected_total"))
    );
    assert_eq!(r.header("idempotent-replayed"), None);
    assert_eq!(s.gateway.attempts(), 1);
    s.stop().await;
}

/// Every route that takes an `Idempotency-Key` keeps it in its own scope (API key, method,
/// path): one key sent to each of them makes one object each, never a replay of another
/// route's or another caller's answer; each replays in its own scope.
async fn one_key_on_every_route_that_takes_one(backend: Backend) {
    let url = database_or_skip!(backend, "http_scope");
    let s = TestServer::start_with(&url, common::test_config(), |st| st.demo_checkout = true).await;
    let key = [("idempotency-key", "one-key-everywhere")];
    let post = |path: &'static str, api_key: &'static str, body: Value| {
        let s = &s;
        async move { s.post(path, api_key, &body, &key).await }
    };
    let fresh = |r: &common::Resp, what: &str| {
        assert_eq!(r.status, 200, "{what}: {}", r.body);
        assert_eq!(r.header("idempotent-replayed"), None, "{what}: a replay");
        r.json()
    };
    let total = common::quoted_total(&s, &common::cart()).await;
    let body = common::charge_body(&common::cart(), total);

    // The same path with another API key: the secret key may use the demo checkout too.
    let demo_sk = fresh(
        &post("/v1/demo/checkout", SK, body.clone()).await,
        "demo checkout, secret key",
    );
    let demo_pk = fresh(
        &post("/v1/demo/checkout", PK, body.clone()).await,
        "demo checkout, publishable key",
    );
    let charge = fresh(&post("/v1/charges", SK, body.clone()).await, "charge");
    let ids: std::collections::BTreeSet<_> = [&demo_sk, &demo_pk, &charge]
        .iter()
        .map(|c| c["invoice"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "three charges, three invoices");

    // A credit note and a refund on that charge: one note each.
    let invoice = charge["invoice"]["id"].as_str().unwrap();
    let charge_id = charge["id"].as_str().unwrap();
    let note = fresh(
        &post(
            "/v1/credit_notes",
            SK,
            json!({"invoice": invoice, "amount": 100}),
        )
        .await,
        "credit note",
    );
    let refund = fresh(
        &post(
            "/v1/refunds",
            SK,
            json!({"charge": charge_id, "amount": 100}),
        )
        .await,
        "refund",
    );
    assert_ne!(refund["credit_note"]["id"], note["id"]);
    assert_eq!(s.gateway.refunded(charge_id), 200);

    // Subscriptions: the merchant's and the demo page's create, then a change and a cancel of
    // one subscription, all with the key.
    let sub = fresh(
        &post(
            "/v1/subscriptions",
            SK,
            json!({"customer": {"id": "cus_scope"}, "items": [{"price": "price_essentiel_monthly"}], "payment_method": "pm_card_visa"}),
        )
        .await,
        "subscription",
    );
    let demo_sub = fresh(
        &post(
            "/v1/demo/subscriptions",
            PK,
            json!({"customer": {"id": "cus_demo_scope"}, "items": [{"price": "price_essentiel_monthly"}], "payment_method": "pm_card_visa"}),
        )
        .await,
        "demo subscription",
    );
    assert_ne!(sub["id"], demo_sub["id"]);
    let sub_id = sub["id"].as_str().unwrap().to_string();
    let update = |path: String, api_key: &'static str, body: Value| {
        let s = &s;
        async move { s.post(&path, api_key, &body, &key).await }
    };
    let r = update(
        format!("/v1/subscriptions/{sub_id}"),
        SK,
        json!({"cancel_at_period_end": true}),
    )
    .await;
    assert!(fresh(&r, "update")["cancel_at_period_end"] == json!(true));
    let r = update(
        format!("/v1/subscriptions/{sub_id}/cancel"),
        SK,
        json!({"at_period_end": true}),
    )
    .await;
    fresh(&r, "cancel");

    // The customer's portal: renewing through it is the portal's own request, whatever the
    // merchant sent with this key.
    let session = s
        .post(
            "/v1/billing_portal/sessions",
            SK,
            &json!({"customer": "cus_scope"}),
            &[],
        )
        .await;
    assert_eq!(session.status, 200, "{}", session.body);
    let token = session.json()["url"]
        .as_str()
        .unwrap()
        .split("#session=")
        .nth(1)
        .unwrap()
        .to_string();
    let renew = format!("/v1/portal/subscriptions/{sub_id}/renew");
    let r = s.post(&renew, &token, &json!({}), &key).await;
    assert_eq!(
        fresh(&r, "portal renew")["cancel_at_period_end"],
        json!(false)
    );

    // Each replays in its own scope, byte for byte, and nothing is charged or refunded again.
    let attempts = s.gateway.attempts();
    for (path, api_key, body, first) in [
        ("/v1/demo/checkout", SK, body.clone(), &demo_sk),
        ("/v1/demo/checkout", PK, body.clone(), &demo_pk),
        ("/v1/charges", SK, body.clone(), &charge),
        (
            "/v1/credit_notes",
            SK,
            json!({"invoice": invoice, "amount": 100}),
            &note,
        ),
        (
            "/v1/refunds",
            SK,
            json!({"charge": charge_id, "amount": 100}),
            &refund,
        ),
    ] {
        let r = post(path, api_key, body).await;
        assert_eq!(
            r.header("idempotent-replayed"),
            Some("true"),
            "{path} {api_key}"
        );
        assert_eq!(&r.json(), first, "{path} {api_key}");
    }
    let r = s.post(&renew, &token, &json!({}), &key).await;
    assert_eq!(
        r.header("idempotent-replayed"),
        Some("true"),
        "portal renew"
    );
    assert_eq!(s.gateway.attempts(), attempts);
    assert_eq!(s.gateway.refunded(charge_id), 200);
    s.stop().await;
}

on_both_databases!(one_key_on_every_route_that_takes_one);

/// Every route path the server declares (`.route("…"` in `src/`, not the other binaries in
/// `src/bin/`), the API's and the others'.
fn declared_routes() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("bin") {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split(".route(").skip(1) {
                    let literal = piece
                        .trim_start()
                        .strip_prefix('"')
                        .and_then(|p| p.split('"').next());
                    if let Some(route) = literal {
                        out.push(route.to_string());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut out,
    );
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn every_api_route_refuses_what_is_not_json() {
    let s = server_with(|_| {}).await;
    let routes = declared_routes();
    assert!(
        routes.len() >= 40 && routes.iter().any(|r| r == "/v1/portal/payment_method"),
        "{routes:?}"
    );
    let sk = auth(SK);
    for route in &routes {
        let path = route.replace("{id}", "x_1");
        let api = path.starts_with("/v1/");
        for (content_type, body) in [
            (Some("text/plain"), &b"{\"cart\": {}}"[..]),
            (Some("application/x-www-form-urlencoded"), b"cart=1"),
            (None, b"{\"cart\": {}}"),
            // A declared type that is not JSON, even without a body.
            (Some("text/plain"), b""),
        ] {
            let mut headers = vec![("authorization", sk.as_str()), ("idempotency-key", "k415")];
            if let Some(c) = content_type {
                headers.push(("content-type", c));
            }
            let r = common::request(s.addr, "POST", &path, &headers, Some(body)).await;
            // Outside /v1 (health, readiness, metrics): GET only.
            let expected = if api {
                (415, json!("unsupported_media_type"))
            } else {
                (405, json!("method_not_allowed"))
            };
            assert_eq!(
                (r.status, error_of(&r)["code"].clone()),
                expected,
                "POST {path} {content_type:?} {} bytes",
                body.len()
            );
        }
    }
    // Nothing reached a handler.
    assert_eq!(s.gateway.attempts(), 0);
    assert!(s.store.payments().await.unwrap().is_empty());
    s.stop().await;
}

/// A key twice in one object, at any depth and however it is spelt (`\u0065` is `e`), is
/// refused with its path, on every kind of body; a charge whose duplicates come in either order
/// is refused both times with nothing stored under its key, so the key then makes a charge.
#[tokio::test]
async fn duplicate_keys_at_any_depth_and_in_either_order() {
    let s = server_with(|_| {}).await;
    let send = |path: &'static str, key: &'static str, body: String, idem: Option<&'static str>| {
        let addr = s.addr;
        async move {
            let a = auth(key);
            let mut headers = vec![
                ("authorization", a.as_str()),
                ("content-type", "application/json"),
            ];
            if let Some(k) = idem {
                headers.push(("idempotency-key", k));
            }
            common::request(addr, "POST", path, &headers, Some(body.as_bytes())).await
        }
    };
    for (path, key, body, at) in [
        (
            "/v1/quotes",
            PK,
            r#"{"cart": {"currency": "eur", "lines": [{"price": "price_book", "quantity": 1, "quantity": 9}]}}"#,
            "cart.lines[0].quantity",
        ),
        (
            "/v1/quotes",
            PK,
            r#"{"cart": {"currency": "eur", "curr\u0065ncy": "jpy", "lines": [{"price": "price_book"}]}}"#,
            "cart.currency",
        ),
        (
            "/v1/quotes",
            PK,
            r#"{"cart": {"currency": "eur", "lines": [{"price": "price_book"}], "metadata": {"a": {"b": 1, "b": 1}}}}"#,
            "cart.metadata.a.b",
        ),
        (
            "/v1/quotes",
            PK,
            r#"{"cart": {"currency": "eur", "lines": []}, "cart": {"currency": "jpy", "lines": []}}"#,
            "cart",
        ),
        (
            "/v1/subscriptions",
            SK,
            r#"{"customer": {"id": "cus_dup", "id": "cus_other"}, "items": [{"price": "price_essentiel_monthly"}], "payment_method": "pm_card_visa"}"#,
            "customer.id",
        ),
    ] {
        let r = send(path, key, body.to_string(), Some("dup-any")).await;
        let e = error_of(&r);
        assert_eq!(
            (r.status, e["code"].clone(), e["path"].clone()),
            (400, json!("duplicate_field"), json!(at)),
            "{body}"
        );
    }
    // The issue's replay: the same key with the duplicates swapped. Both refused; nothing is
    // stored under the key, so the clean body then makes the one charge.
    let total = common::quoted_total(&s, &common::cart()).await;
    let clean = common::charge_body(&common::cart(), total).to_string();
    let twice = |first: &str, second: &str| {
        clean.replacen(
            "\"currency\":\"eur\"",
            &format!("\"currency\":\"{first}\",\"currency\":\"{second}\""),
            1,
        )
    };
    assert_ne!(twice("eur", "jpy"), clean);
    for body in [twice("eur", "jpy"), twice("jpy", "eur")] {
        let r = send("/v1/charges", SK, body, Some("dup-swap")).await;
        let e = error_of(&r);
        assert_eq!(
            (r.status, e["code"].clone(), e["path"].clone()),
            (400, json!("duplicate_field"), json!("cart.currency"))
        );
        assert_eq!(r.header("idempotent-replayed"), None);
    }
    assert_eq!(s.gateway.attempts(), 0);
    let r = send("/v1/charges", SK, clean, Some("dup-swap")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("idempotent-replayed"), None);
    assert_eq!(r.json()["currency"], "eur");
    assert_eq!(s.gateway.attempts(), 1);
    s.stop().await;
}

/// The card scan over the request's every part, in shapes beyond the issue's sample: other
/// digit scripts, zero-width and dash separators, keys and JSON numbers, the query string
/// (percent-encoded, `+`), and headers (no-break spaces, full-width digits, dots).
#[tokio::test]
async fn card_numbers_in_more_shapes_and_places() {
    let s = server_with(|_| {}).await;
    let arabic: String = "4242424242424242"
        .chars()
        .map(|c| char::from_u32(0x660 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    let fullwidth: String = "4242424242424242"
        .chars()
        .map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    for (metadata, at) in [
        (json!({"note": arabic}), "cart.metadata.note"),
        (
            json!({"note": "4242\u{200b}4242\u{200b}4242\u{200b}4242"}),
            "cart.metadata.note",
        ),
        (
            json!({"note": "4242\u{2013}4242\u{2013}4242\u{2013}4242"}),
            "cart.metadata.note",
        ),
        (
            json!({"note": "4242 4242 \u{a0}4242\t4242"}),
            "cart.metadata.note",
        ),
        // A key that is a card number: the path names its object, never the number.
        (json!({"4242 4242 4242 4242": "x"}), "cart.metadata"),
        (json!({"n": 4242424242424242_u64}), "cart.metadata.n"),
        (
            json!({"list": ["ok", "5555 5555 5555 4444"]}),
            "cart.metadata.list[1]",
        ),
    ] {
        let mut cart = common::cart();
        cart["metadata"] = metadata.clone();
        let r = s.post("/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
        let e = error_of(&r);
        assert_eq!(
            (r.status, e["code"].clone()),
            (400, json!("card_number_rejected")),
            "{metadata}"
        );
        assert_eq!(e["path"], at, "{metadata}");
        assert!(
            !r.body.contains("4242 4242") && !r.body.contains("4444"),
            "{}",
            r.body
        );
    }
    let pk = auth(PK);
    for query in [
        "note=4242%C2%A04242%C2%A04242%C2%A04242",
        "note=4242+4242+4242+4242",
        "note=%EF%BC%94%EF%BC%92%EF%BC%94%EF%BC%92%EF%BC%94%EF%BC%92%EF%BC%94%EF%BC%92%EF%BC%94%EF%BC%92%EF%BC%94%EF%BC%92%EF%BC%94%EF%BC%92%EF%BC%94%EF%BC%92",
    ] {
        let r = common::request(s.addr, "GET", &format!("/v1/catalog?{query}"), &[("authorization", pk.as_str())], None).await;
        let e = error_of(&r);
        assert_eq!(
            (r.status, e["code"].clone(), e["path"].clone()),
            (400, json!("card_number_rejected"), json!("query")),
            "{query}"
        );
    }
    for value in [
        "4242\u{a0}4242\u{a0}4242\u{a0}4242".to_string(),
        fullwidth,
        "4242.4242.4242.4242".to_string(),
    ] {
        let r = common::request(
            s.addr,
            "GET",
            "/v1/catalog",
            &[("authorization", pk.as_str()), ("x-note", value.as_str())],
            None,
        )
        .await;
        let e = error_of(&r);
        assert_eq!(
            (r.status, e["code"].clone(), e["path"].clone()),
            (400, json!("card_number_rejected"), json!("header.x-note")),
            "{value:?}"
        );
    }
    // Not a card number: a Luhn-failing run, and long digit runs split by letters.
    let r = common::request(
        s.addr,
        "GET",
        "/v1/catalog?order=4242424242424241&ref=4242x4242x4242x4242",
        &[("authorization", pk.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop().await;
}

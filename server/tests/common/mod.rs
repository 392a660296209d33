//! Test support: real databases (a SQLite file in the temp directory, or a fresh database in the
//! PostgreSQL the test command starts), the real server on 127.0.0.1, and a minimal HTTP/1.1
//! client over a TCP socket (no mocks).
#![allow(dead_code)]

use billcalc_server::app;
use billcalc_server::clock::ManualClock;
use billcalc_server::config::{self, Secrets};
use billcalc_server::gateway::TestGateway;
use billcalc_server::state::AppState;
use billcalc_server::store::{self, Store};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod process;
#[allow(unused_imports)]
pub use process::{config_file, sim_faults, sim_ledger, GatewaySim, ServerProcess};

/// The wall clock in Unix seconds (for the binary, which runs on it).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A subscription's creation body: a French customer, two seats of `price_pro_monthly`, the
/// card `payment_method` (a test token).
pub fn subscriber(customer: &str, payment_method: &str) -> Value {
    json!({
        "customer": {
            "id": customer, "name": "Camille Martin", "email": "camille@example.fr",
            "address": { "country": "FR", "postal_code": "75011", "city": "Paris", "line1": "3 rue Oberkampf" }
        },
        "items": [{ "price": "price_pro_monthly", "quantity": 2 }],
        "payment_method": payment_method,
    })
}

pub const PK: &str = "pk_test_billcalc_tests";
pub const SK: &str = "sk_test_billcalc_tests_secret";
pub const SIGNING_KEY: &str = "test-signing-key-0123456789abcdef0123456789";
/// 2026-03-02T10:00:00Z: every test runs at this instant (the server's clock is injected).
pub const NOW: i64 = 1_772_445_600;
pub const NOW_RFC3339: &str = "2026-03-02T10:00:00Z";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(name: &str) -> String {
    format!(
        "{}_{}_{}",
        name,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A fresh, empty database for the backend, or `None` when PostgreSQL is not configured and
/// not required (`BILLCALC_TEST_POSTGRES_URL` names an admin connection; the test command sets
/// it together with `BILLCALC_REQUIRE_POSTGRES=1`).
pub async fn fresh_database(backend: Backend, name: &str) -> Option<String> {
    match backend {
        Backend::Sqlite => {
            // Cargo's temporary directory for integration tests (under target/), not /tmp.
            let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("billcalc-{}.db", unique(name)));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Some(format!("sqlite://{}", path.display()))
        }
        Backend::Postgres => {
            let admin = match std::env::var("BILLCALC_TEST_POSTGRES_URL") {
                Ok(url) if !url.is_empty() => url,
                _ => {
                    assert!(
                        std::env::var("BILLCALC_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                        "BILLCALC_REQUIRE_POSTGRES=1 but BILLCALC_TEST_POSTGRES_URL is not set"
                    );
                    eprintln!("skipping PostgreSQL: BILLCALC_TEST_POSTGRES_URL is not set (scripts/test.sh starts one)");
                    return None;
                }
            };
            let db = unique(&format!("bc_{name}")).to_lowercase();
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .expect("connect to the test PostgreSQL");
            tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE DATABASE \"{db}\""))
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').expect("admin url has a database").0;
            Some(format!("{base}/{db}"))
        }
    }
}

/// Returns early from a test when the backend is not available.
#[macro_export]
macro_rules! database_or_skip {
    ($backend:expr, $name:expr) => {
        match common::fresh_database($backend, $name).await {
            Some(url) => url,
            None => return,
        }
    };
}

/// For each `async fn NAME(backend: Backend)`: a module `NAME` with the tests `sqlite` and
/// `postgres` (multi-threaded runtime, 4 workers), each running it on its database (PostgreSQL
/// skipped when not configured, through `database_or_skip!` in the body).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(super::common::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(super::common::Backend::Postgres).await;
            }
        }
    )+};
}

/// The demo configuration, with rate limits high enough for the concurrency tests.
pub fn test_config() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo.json"))
        .expect("read config/demo.json");
    let mut config: Value = serde_json::from_str(&text).expect("demo.json parses");
    config["http"]["rate_limit"] = json!({
        "publishable_per_second": 100000, "publishable_burst": 100000,
        "secret_per_second": 100000, "secret_burst": 100000,
        "unauthenticated_per_second": 100000, "unauthenticated_burst": 100000
    });
    config
}

pub fn secrets() -> Secrets {
    Secrets {
        publishable_key: PK.into(),
        secret_key: SK.into(),
        signing_key: SIGNING_KEY.as_bytes().to_vec(),
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub gateway: Arc<TestGateway>,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(url: &str) -> TestServer {
        Self::start_with(url, test_config(), |_| {}).await
    }

    pub async fn start_with(
        url: &str,
        config: Value,
        tweak: impl FnOnce(&mut AppState),
    ) -> TestServer {
        let loaded = config::load(&config.to_string()).expect("config loads");
        let store = store::open(url).await.expect("store opens");
        let gateway = Arc::new(TestGateway::new());
        let clock = Arc::new(ManualClock::new(NOW));
        let mut state = AppState::new(
            loaded,
            secrets(),
            store.clone(),
            gateway.clone(),
            clock.clone(),
        );
        state.log_requests = false;
        tweak(&mut state);
        let state = Arc::new(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        let handle = tokio::spawn(async move {
            app::serve(listener, served, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        TestServer {
            addr,
            state,
            gateway,
            clock,
            store,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Resp {
        let auth = key.map(|k| format!("Bearer {k}"));
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        request(self.addr, "GET", path, &headers, None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value, extra: &[(&str, &str)]) -> Resp {
        post(self.addr, path, key, body, extra).await
    }

    /// `POST /v1/charges` with the secret key and an idempotency key.
    pub async fn charge(&self, idempotency_key: &str, body: &Value) -> Resp {
        self.post(
            "/v1/charges",
            SK,
            body,
            &[("idempotency-key", idempotency_key)],
        )
        .await
    }
}

pub async fn post(
    addr: SocketAddr,
    path: &str,
    key: &str,
    body: &Value,
    extra: &[(&str, &str)],
) -> Resp {
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    request(
        addr,
        "POST",
        path,
        &headers,
        Some(body.to_string().as_bytes()),
    )
    .await
}

/// The address in the binary's first log line (`… listening on http://ADDR…`, a JSON line).
pub fn listening_address(line: &str) -> Option<SocketAddr> {
    line.split("http://")
        .nth(1)?
        .split(|c: char| c == '"' || c.is_whitespace())
        .next()?
        .parse()
        .ok()
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): status {} body {}", self.status, self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The error object's code, for error responses.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), with a 60 s limit.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Resp {
    try_request(addr, method, path, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

pub async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Resp> {
    tokio::time::timeout(Duration::from_secs(60), async {
        let mut stream = TcpStream::connect(addr).await?;
        let body = body.unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        parse_response(&raw)
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer within 60 s"))?
}

/// Parses one raw HTTP/1.1 answer (a `content-length` or chunked body).
pub fn parse_response(raw: &[u8]) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("head not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size = usize::from_str_radix(
                std::str::from_utf8(&rest[..eol])
                    .map_err(|_| bad("bad chunk"))?
                    .trim(),
                16,
            )
            .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Ok(Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A French customer's cart: 2 lamps, a book, shipping.
pub fn cart() -> Value {
    json!({
        "currency": "eur",
        "customer": { "address": { "country": "FR", "postal_code": "75011", "city": "Paris", "line1": "3 rue Oberkampf" } },
        "lines": [
            { "price": "price_lamp", "quantity": 2 },
            { "price": "price_book", "quantity": 1 },
            { "price": "price_shipping", "quantity": 1 }
        ]
    })
}

/// The total `cart()` comes to at `NOW` (checked against the engine in the tests).
pub fn charge_body(cart: &Value, expected_total: i64) -> Value {
    json!({
        "cart": cart,
        "expected_total": expected_total,
        "payment_method": "pm_card_visa",
        "billing_details": { "name": "Camille Martin", "email": "camille@example.fr" }
    })
}

/// The server's quote for a cart (`POST /v1/quotes`, 200 checked): `{quote, quote_token, …}`.
pub async fn quote(server: &TestServer, cart: &Value) -> Value {
    let r = server
        .post("/v1/quotes", PK, &json!({ "cart": cart }), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// The total the server computes for a cart (via `POST /v1/quotes`).
pub async fn quoted_total(server: &TestServer, cart: &Value) -> i64 {
    quote(server, cart).await["quote"]["total"]
        .as_i64()
        .expect("total")
}

/// A charge body for `cart` at the server's quote, carrying its `quote_token`; and the total.
pub async fn charge_body_with_token(server: &TestServer, cart: &Value) -> (Value, i64) {
    let q = quote(server, cart).await;
    let total = q["quote"]["total"].as_i64().expect("total");
    let mut body = charge_body(cart, total);
    body["quote_token"] = q["quote_token"].clone();
    (body, total)
}

//! Issue 13, finding 7: three server processes on one PostgreSQL behind nginx (Debian's, the
//! configuration shipped in `server/deploy/nginx.conf`), the renewal loop running in every
//! instance. Under a load of charges, redemptions of a code capped at 50 and renewals falling
//! due, one instance is SIGKILLed and restarted. Then: every acknowledged charge is stored with
//! its number, each idempotency key made one payment, invoice numbers have no gap and no
//! duplicate, the capped code was redeemed exactly 50 times, each renewal was issued once; and
//! the shoppers' rate limit holds across instances (nginx's shared zone), answered as JSON.
//!
//! Also (`nginx_answers_its_own_errors_as_json`, one instance on a SQLite file): the answers
//! nginx makes itself — requests it cannot parse, headers, targets and bodies past its limits,
//! methods and protocol versions it refuses, its 404s — have the API's JSON error shape, a
//! client that stops sending gets no answer at all (nginx closes; never an HTML page), and the
//! instance's own answers pass through unchanged.
//!
//! The SIGKILL test needs PostgreSQL (`BILLCALC_TEST_POSTGRES_URL`, set by
//! `server/scripts/with-postgres.sh`); both need nginx (`scripts/test.sh` installs Debian's package when missing; `BILLCALC_REQUIRE_NGINX=1`
//! makes its absence a failure instead of a skip).

mod common;

use common::{Backend, PK, SK};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's nginx, or `None` (the test is skipped) when it is not installed and
/// `BILLCALC_REQUIRE_NGINX=1` is not set.
fn nginx_or_skip() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("BILLCALC_REQUIRE_NGINX").as_deref() != Ok("1"),
            "BILLCALC_REQUIRE_NGINX=1 but nginx is not installed"
        );
        eprintln!("skipping: nginx is not installed (scripts/test.sh installs it)");
    }
    found
}

/// An empty directory of this test process under cargo's temporary directory.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// nginx with the shipped `deploy/nginx.conf` (its markers replaced: `dir` as its prefix, a
/// free port, one upstream line per instance port), once it answers `/readyz`.
async fn start_nginx(nginx: &Path, dir: &Path, ports: &[u16]) -> (Nginx, SocketAddr) {
    let proxy_port = free_port();
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf")).unwrap();
    let upstreams: String = ports
        .iter()
        .map(|p| format!("server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n        "))
        .collect();
    let conf = template
        .replace("@PREFIX@", dir.to_str().unwrap())
        .replace("@LISTEN@", &format!("127.0.0.1:{proxy_port}"))
        .replace("@UPSTREAMS@", upstreams.trim_end());
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let proxy = Nginx(
        Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx"),
    );
    let lb = SocketAddr::from(([127, 0, 0, 1], proxy_port));
    wait_ready(lb).await;
    (proxy, lb)
}

/// nginx's master, stopped with SIGTERM so it takes its worker along (a SIGKILLed master
/// leaves the worker running, holding the test's output open).
struct Nginx(Child);
impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_instance(url: &str, config: &Path, port: u16) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_billcalc-server"))
            .arg("--config")
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("BILLCALC_PUBLISHABLE_KEY", PK)
            .env("BILLCALC_SECRET_KEY", SK)
            .env("BILLCALC_SIGNING_KEY", common::SIGNING_KEY)
            .env("DATABASE_URL", url)
            .env("BILLCALC_LOG_REQUESTS", "0")
            .env("BILLCALC_RENEWAL_INTERVAL_SECONDS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn billcalc-server"),
    )
}

async fn wait_ready(addr: SocketAddr) {
    let started = Instant::now();
    loop {
        if let Ok(r) = common::try_request(addr, "GET", "/readyz", &[], None).await {
            if r.status == 200 {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{addr} not ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// POSTs until the answer is not a transport error, 502 or 503 (an instance killed
/// mid-request), with the same idempotency key every time; at most 20 s.
async fn post_until_answered(
    addr: SocketAddr,
    path: &str,
    key: &str,
    body: &Value,
) -> common::Resp {
    let started = Instant::now();
    loop {
        match common::try_request(
            addr,
            "POST",
            path,
            &[
                ("authorization", &format!("Bearer {SK}")),
                ("content-type", "application/json"),
                ("idempotency-key", key),
            ],
            Some(body.to_string().as_bytes()),
        )
        .await
        {
            Ok(r) if r.status != 502 && r.status != 503 => return r,
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{key}: no answer in 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn three_instances_behind_nginx_survive_a_sigkill() {
    let url = database_or_skip!(Backend::Postgres, "cluster");
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let dir = scratch_dir("cluster");
    let config = dir.join("config.json");
    std::fs::write(&config, common::test_config().to_string()).unwrap();

    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut instances: Vec<Proc> = ports
        .iter()
        .map(|p| spawn_instance(&url, &config, *p))
        .collect();
    for p in &ports {
        wait_ready(SocketAddr::from(([127, 0, 0, 1], *p))).await;
    }
    let (proxy, lb) = start_nginx(&nginx, &dir, &ports).await;

    // Subscriptions whose first period ends in a few seconds: every instance's loop races to
    // issue each renewal.
    let anchor = unix_now() + 4;
    let mut subscriptions = Vec::new();
    for i in 0..6 {
        let r = post_until_answered(
            lb,
            "/v1/subscriptions",
            &format!("cluster-sub-{i}"),
            &json!({"customer": {"id": format!("cus_cluster_{i}")}, "items": [{"price": "price_essentiel_monthly"}],
                    "billing_cycle_anchor": anchor, "payment_method": "pm_card_visa"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        subscriptions.push(r.json()["id"].as_str().unwrap().to_string());
    }

    let cart = common::cart();
    let quote = common::post(lb, "/v1/quotes", SK, &json!({"cart": cart}), &[]).await;
    assert_eq!(quote.status, 200, "{}", quote.body);
    let total = quote.json()["quote"]["total"].as_i64().unwrap();
    let mut coded = cart.clone();
    coded["discounts"] = json!([{"promotion_code": "LANCEMENT"}]);
    let coded_quote = common::post(lb, "/v1/quotes", SK, &json!({"cart": coded}), &[]).await;
    let coded_total = coded_quote.json()["quote"]["total"].as_i64().unwrap();
    assert!(coded_total < total);

    // The load: 12 workers, each 20 requests, charges and capped-code redemptions mixed.
    let acks = Arc::new(Mutex::new(Vec::<(String, String, String)>::new()));
    let redeemed = Arc::new(Mutex::new(0usize));
    let exhausted = Arc::new(Mutex::new(0usize));
    let mut workers = Vec::new();
    for w in 0..12 {
        let (acks, redeemed, exhausted) = (acks.clone(), redeemed.clone(), exhausted.clone());
        let (plain, with_code) = (
            common::charge_body(&cart, total),
            common::charge_body(&coded, coded_total),
        );
        workers.push(tokio::spawn(async move {
            for i in 0..20 {
                let key = format!("cluster-{w}-{i}");
                let coded = i % 3 == 0;
                let body = if coded { &with_code } else { &plain };
                let r = post_until_answered(lb, "/v1/charges", &key, body).await;
                match r.status {
                    200 => {
                        let v = r.json();
                        acks.lock().unwrap().push((
                            key,
                            v["invoice"]["id"].as_str().unwrap().into(),
                            v["invoice"]["number"].as_str().unwrap().into(),
                        ));
                        if coded {
                            *redeemed.lock().unwrap() += 1;
                        }
                    }
                    409 if coded && r.code() == "promotion_code_exhausted" => {
                        *exhausted.lock().unwrap() += 1;
                    }
                    _ => panic!("{key}: {} {}", r.status, r.body),
                }
            }
        }));
    }
    // SIGKILL one instance while the load runs, and restart it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    instances[1].0.kill().expect("SIGKILL");
    let _ = instances[1].0.wait();
    tokio::time::sleep(Duration::from_millis(700)).await;
    instances[1] = spawn_instance(&url, &config, ports[1]);
    for w in workers {
        w.await.unwrap();
    }
    // Renewals: past the anchor, each issued once whatever the three loops do.
    while unix_now() < anchor + 3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let store = billcalc_server::store::open(&url).await.unwrap();
    let acks = acks.lock().unwrap().clone();
    assert_eq!(acks.len(), 12 * 20 - *exhausted.lock().unwrap());
    assert_eq!(
        *redeemed.lock().unwrap(),
        50,
        "the capped code, exactly 50 times"
    );
    assert_eq!(
        store
            .times_redeemed("promotion_code:lancement")
            .await
            .unwrap(),
        50
    );
    for (key, invoice, number) in &acks {
        let record = store.invoice(invoice).await.unwrap();
        let record = record.unwrap_or_else(|| panic!("{key}: acknowledged invoice missing"));
        assert_eq!(&record.number_display, number);
    }
    for id in &subscriptions {
        let invoices = store.subscription_invoices(id).await.unwrap();
        assert_eq!(invoices.len(), 2, "{id}: the first invoice and one renewal");
    }
    let series = format!("F{}", billcalc_server::clock::year(unix_now()));
    let numbers = store.invoice_numbers(&series).await.unwrap();
    let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
    assert_eq!(numbers, expected, "gapless, no duplicates");
    assert_eq!(numbers.len(), acks.len() + 2 * subscriptions.len());
    // One payment per acknowledged charge, never two for one invoice.
    let mut paid = std::collections::BTreeMap::<String, usize>::new();
    for p in store.payments().await.unwrap() {
        *paid.entry(p.invoice_id).or_default() += 1;
    }
    assert!(paid.values().all(|n| *n == 1), "an invoice paid twice");
    for (key, invoice, _) in &acks {
        assert_eq!(paid.get(invoice), Some(&1), "{key}: not paid once");
    }

    // The shoppers' rate limit is shared by the instances: 20/s with bursts of 40 per address.
    let started = Instant::now();
    let mut ok = 0;
    let mut limited = 0;
    for _ in 0..120 {
        let r = common::request(
            lb,
            "GET",
            "/v1/catalog",
            &[("authorization", &format!("Bearer {PK}"))],
            None,
        )
        .await;
        match r.status {
            200 => ok += 1,
            429 => {
                assert_eq!(r.code(), "rate_limited");
                assert_eq!(r.header("retry-after"), Some("1"));
                limited += 1;
            }
            s => panic!("{s}: {}", r.body),
        }
    }
    let allowance = 41 + (20.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    assert!(ok <= allowance, "{ok} answered, allowance {allowance}");
    assert!(ok >= 40 && limited > 0, "{ok} answered, {limited} limited");

    drop(instances);
    drop(proxy);
}

/// Sends raw bytes to `addr` on a fresh connection and reads until the peer closes: the bytes
/// received (empty when it closed without answering).
async fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // nginx may answer and close before it has read everything: a failed write is fine.
    let _ = stream.write_all(bytes).await;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the proxy neither answered nor closed within 30 s"
    );
    raw
}

/// nginx's own error answer: the status, the API's JSON error shape with this code, and no
/// `X-Request-Id` (which every answer of an instance carries: this one came from nginx).
fn assert_proxy_error(raw: &[u8], status: u16, code: &str, what: &str) {
    let r = common::parse_response(raw)
        .unwrap_or_else(|e| panic!("{what}: {e}: {:?}", String::from_utf8_lossy(raw)));
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{what}: {}",
        r.body
    );
    let e = r.json()["error"].clone();
    assert_eq!(e["code"], code, "{what}: {}", r.body);
    assert_eq!(e["path"], "", "{what}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}"
    );
    assert_eq!(
        r.header("x-request-id"),
        None,
        "{what}: answered by an instance"
    );
    assert!(
        r.header("server").is_some_and(|s| s.starts_with("nginx")),
        "{what}"
    );
}

#[tokio::test]
async fn nginx_answers_its_own_errors_as_json() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let url = common::fresh_database(Backend::Sqlite, "nginx-errors")
        .await
        .unwrap();
    let dir = scratch_dir("nginx-errors");
    let config = dir.join("config.json");
    std::fs::write(&config, common::test_config().to_string()).unwrap();
    let port = free_port();
    let _instance = spawn_instance(&url, &config, port);
    wait_ready(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let (_proxy, lb) = start_nginx(&nginx, &dir, &[port]).await;

    // Clients that stop sending (a head, then a body, never finished), running meanwhile:
    // nginx closes after client_header_timeout / client_body_timeout (10 s) without a byte.
    let stalled = |bytes: Vec<u8>| tokio::spawn(async move { raw_exchange(lb, &bytes).await });
    let stalled_head = stalled(b"GET /healthz HTTP/1.1\r\nhost: x\r\n".to_vec());
    let stalled_body = stalled(
        format!(
            "POST /v1/quotes HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {PK}\r\n\
             content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"cart\""
        )
        .into_bytes(),
    );

    let get = |target: &str, headers: &str| {
        format!("GET {target} HTTP/1.1\r\nhost: x\r\n{headers}\r\n").into_bytes()
    };
    // Not HTTP, a header line without a colon, HTTP/1.1 without Host, a bad chunk.
    for (bytes, what) in [
        (b"HELLO WORLD\r\n\r\n".to_vec(), "not HTTP"),
        (b"GET / HTTP/1.1\r\nhost x\r\n\r\n".to_vec(), "no colon"),
        (b"GET /healthz HTTP/1.1\r\n\r\n".to_vec(), "no host"),
        (
            b"POST /v1/quotes HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"
                .to_vec(),
            "bad chunk",
        ),
    ] {
        assert_proxy_error(&raw_exchange(lb, &bytes).await, 400, "invalid_http", what);
    }
    // Headers past large_client_header_buffers (one 40 KiB line; five 30 KiB lines): nginx's
    // 494, answered 431.
    let long_line = format!("x-big: {}\r\n", "b".repeat(40 * 1024));
    let many_lines: String = (0..5)
        .map(|i| format!("x-big-{i}: {}\r\n", "b".repeat(30 * 1024)))
        .collect();
    for (headers, what) in [(&long_line, "one long line"), (&many_lines, "many lines")] {
        let raw = raw_exchange(lb, &get("/healthz", headers)).await;
        assert_proxy_error(&raw, 431, "headers_too_large", what);
    }
    // A request target past them: 414.
    let target = format!("/v1/catalog?x={}", "a".repeat(40 * 1024));
    assert_proxy_error(
        &raw_exchange(lb, &get(&target, "")).await,
        414,
        "uri_too_long",
        "long target",
    );
    // A body past client_max_body_size: 413, before any byte of the body is read.
    let raw = raw_exchange(
        lb,
        format!(
            "POST /v1/quotes HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {PK}\r\n\
             content-type: application/json\r\ncontent-length: 100000\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_proxy_error(&raw, 413, "body_too_large", "large body");
    // Methods and versions nginx refuses itself.
    assert_proxy_error(
        &raw_exchange(lb, b"TRACE / HTTP/1.1\r\nhost: x\r\n\r\n").await,
        405,
        "method_not_allowed",
        "TRACE",
    );
    assert_proxy_error(
        &raw_exchange(
            lb,
            b"POST /v1/quotes HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip\r\n\r\n",
        )
        .await,
        501,
        "not_implemented",
        "transfer-encoding gzip",
    );
    assert_proxy_error(
        &raw_exchange(lb, b"GET /healthz HTTP/2.0\r\nhost: x\r\n\r\n").await,
        505,
        "http_version_not_supported",
        "HTTP/2.0 over HTTP/1 framing",
    );
    // nginx's own 404s: the hidden metrics, and its internal error locations asked directly.
    for path in ["/metrics", "/__nginx_errors/400", "/__nginx_errors/431"] {
        let raw = raw_exchange(lb, &get(path, "connection: close\r\n")).await;
        assert_proxy_error(&raw, 404, "not_found", path);
    }

    // Below nginx's limits, the instance answers with its own (tighter) limits and its request
    // id: 20 KiB of headers, a 10 KiB target, an unknown path.
    let twenty = format!("connection: close\r\nx-big: {}\r\n", "b".repeat(20 * 1024));
    let target = format!("/v1/catalog?x={}", "a".repeat(10 * 1024));
    for (bytes, status, code) in [
        (get("/healthz", &twenty), 431, "headers_too_large"),
        (get(&target, "connection: close\r\n"), 414, "uri_too_long"),
        (
            get("/v1/nothing", "connection: close\r\n"),
            404,
            "not_found",
        ),
    ] {
        let r = common::parse_response(&raw_exchange(lb, &bytes).await).unwrap();
        assert_eq!(
            (r.status, r.code()),
            (status, code.to_string()),
            "{}",
            r.body
        );
        assert!(
            r.header("x-request-id").is_some(),
            "{}: not the instance's",
            r.body
        );
    }
    let r = common::request(lb, "GET", "/healthz", &[], None).await;
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("ok")));

    // The stalled clients: closed by nginx, no answer (an HTML 408 page never reaches them).
    for (task, what) in [
        (stalled_head, "stalled head"),
        (stalled_body, "stalled body"),
    ] {
        let raw = task.await.unwrap();
        assert!(
            raw.is_empty(),
            "{what}: {:?}",
            String::from_utf8_lossy(&raw)
        );
    }
}

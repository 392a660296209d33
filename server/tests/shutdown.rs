//! Issue 13, finding 8: graceful shutdown of the real binary. A charge is in flight when SIGTERM
//! arrives (its body is still being sent: a slow client, the legitimate way to keep a request
//! open); from then on new connections are refused and an idle keep-alive connection is closed,
//! while the process stays up; the charge completes with its 200, is stored (read back after a
//! restart on the same database), and the process exits 0 soon after. A request that never
//! completes does not hold the process past the drain cap (`BILLCALC_DRAIN_TIMEOUT_SECONDS`).
//! SQLite file; the renewal and delivery loops run (every second) and stop with the server.
//!
//! Readiness, for load balancers: with `BILLCALC_SHUTDOWN_UNREADY_SECONDS` the process first
//! keeps serving everything for that long with `/readyz` answering 503 (a balancer that polls
//! readiness takes it out), and only then refuses connections and drains. `/readyz` follows the
//! database: on PostgreSQL, a database that stops accepting connections turns it 503 (while
//! `/healthz` stays 200) and its return turns it 200 again.

mod common;

use common::{Backend, ServerProcess, PK, SK};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn spawn_server(url: &str, config: &Path, drain_seconds: &str) -> ServerProcess {
    ServerProcess::spawn(
        url,
        config,
        &[
            ("BILLCALC_LOG_REQUESTS", "1"),
            ("BILLCALC_RENEWAL_INTERVAL_SECONDS", "1"),
            ("BILLCALC_DELIVERY_INTERVAL_SECONDS", "1"),
            ("BILLCALC_DRAIN_TIMEOUT_SECONDS", drain_seconds),
        ],
    )
}

/// Opens a connection and sends a charge's head and all of its body but the last `held` bytes.
async fn start_slow_charge(addr: SocketAddr, key: &str, body: &[u8], held: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/charges HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {SK}\r\n\
         content-type: application/json\r\nidempotency-key: {key}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..body.len() - held]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Reads one answer with a `content-length` body from a connection.
async fn read_answer(stream: &mut TcpStream) -> common::Resp {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if raw.len() >= end + 4 + length {
                return common::parse_response(&raw[..end + 4 + length]).unwrap();
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk))
            .await
            .expect("an answer within 30 s")
            .expect("read");
        assert!(n > 0, "connection closed before the answer: {raw:?}");
        raw.extend_from_slice(&chunk[..n]);
    }
}

async fn refused(addr: SocketAddr) -> bool {
    matches!(
        TcpStream::connect(addr).await,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

async fn setup(name: &str) -> (String, std::path::PathBuf) {
    let url = common::fresh_database(Backend::Sqlite, name).await.unwrap();
    (url, common::config_file(name))
}

async fn charge_body(addr: SocketAddr) -> Vec<u8> {
    let cart = common::cart();
    let quote = common::post(addr, "/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
    assert_eq!(quote.status, 200, "{}", quote.body);
    let total = quote.json()["quote"]["total"].as_i64().unwrap();
    common::charge_body(&cart, total).to_string().into_bytes()
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_and_refuses_new_ones() {
    let (url, config) = setup("shutdown-drain").await;
    let mut server = spawn_server(&url, &config, "20");
    let addr = server.addr;
    let body = charge_body(addr).await;

    // An idle keep-alive connection (one request answered, the connection kept).
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(format!("GET /readyz HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let r = read_answer(&mut idle).await;
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (200, json!("ready"))
    );

    // The charge in flight: everything but its last 7 bytes sent.
    let mut slow = start_slow_charge(addr, "shutdown-in-flight", &body, 7).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.sigterm();
    let signalled = Instant::now();

    // New connections are refused from now on (the listener is closed)...
    let mut was_refused = false;
    while signalled.elapsed() < Duration::from_secs(5) {
        if refused(addr).await {
            was_refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        was_refused,
        "a new connection was still accepted 5 s after SIGTERM"
    );
    // ... the idle keep-alive connection is closed ...
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("the idle connection is closed within 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0, "the idle connection got bytes: {:?}", &buf[..n]);
    // ... and the process waits for the request in flight.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the process exited with a request in flight"
    );
    assert!(server.log_has("shutdown: draining"));
    assert!(!server.log_has("shutdown: stopped"));

    // The rest of the body: the charge completes with its 200.
    slow.write_all(&body[body.len() - 7..]).await.unwrap();
    let r = read_answer(&mut slow).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let charge = r.json();
    assert_eq!(charge["status"], "succeeded");
    assert_eq!(r.header("connection"), Some("close"));
    let answered = Instant::now();

    // Then the process exits 0, promptly (far under the 20 s cap).
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the process exits within 10 s of the last answer");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        answered.elapsed() < Duration::from_secs(5),
        "exit took {:?} after the last answer",
        answered.elapsed()
    );
    assert!(server.log_has("shutdown: stopped"));
    drop(server);

    // The charge is stored: a new process on the same database serves its invoice, and the
    // same key replays it.
    let server = spawn_server(&url, &config, "20");
    let invoice = charge["invoice"]["id"].as_str().unwrap();
    let r = common::request(
        server.addr,
        "GET",
        &format!("/v1/invoices/{invoice}"),
        &[("authorization", &format!("Bearer {SK}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["number"], charge["invoice"]["number"]);
    let replay = common::post(
        server.addr,
        "/v1/charges",
        SK,
        &serde_json::from_slice::<Value>(&body).unwrap(),
        &[("idempotency-key", "shutdown-in-flight")],
    )
    .await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json()["id"], charge["id"]);
}

#[tokio::test]
async fn a_request_that_never_completes_does_not_hold_the_process_past_the_cap() {
    let (url, config) = setup("shutdown-cap").await;
    let mut server = spawn_server(&url, &config, "2");
    let body = charge_body(server.addr).await;
    let _stalled = start_slow_charge(server.addr, "shutdown-stalled", &body, 7).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.sigterm();
    let signalled = Instant::now();
    let status = server
        .wait_exit(Duration::from_secs(15))
        .expect("the process exits within 15 s");
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(8),
        "exit after {took:?}, the cap is 2 s"
    );
    assert!(server.log_has("shutdown: requests still in flight after the drain timeout"));
}

/// `/readyz` on a new connection.
async fn readiness(addr: SocketAddr) -> common::Resp {
    common::request(addr, "GET", "/readyz", &[], None).await
}

#[tokio::test]
async fn an_unready_delay_turns_readyz_503_while_everything_is_still_served() {
    let (url, config) = setup("shutdown-unready").await;
    let server = ServerProcess::spawn(
        &url,
        &config,
        &[
            ("BILLCALC_SHUTDOWN_UNREADY_SECONDS", "4"),
            ("BILLCALC_DRAIN_TIMEOUT_SECONDS", "20"),
            ("BILLCALC_RENEWAL_INTERVAL_SECONDS", "1"),
        ],
    );
    let mut server = server;
    let addr = server.addr;
    let body = serde_json::from_slice::<Value>(&charge_body(addr).await).unwrap();
    assert_eq!(readiness(addr).await.status, 200);
    server.sigterm();
    let signalled = Instant::now();

    // Unready at once...
    let r = loop {
        let r = readiness(addr).await;
        if r.status == 503 || signalled.elapsed() > Duration::from_secs(3) {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (r.status, r.code().as_str()),
        (503, "not_ready"),
        "{}",
        r.body
    );
    assert!(r.body.contains("shutting down"), "{}", r.body);
    // ... while new connections are still accepted and served: liveness, and a charge.
    let live = common::request(addr, "GET", "/healthz", &[], None).await;
    assert_eq!(live.status, 200);
    let charge = common::post(
        addr,
        "/v1/charges",
        SK,
        &body,
        &[("idempotency-key", "unready-charge")],
    )
    .await;
    assert_eq!(charge.status, 200, "{}", charge.body);
    assert!(
        signalled.elapsed() < Duration::from_millis(3900),
        "the checks took {:?}: the delay (4 s) is too short for this machine",
        signalled.elapsed()
    );
    assert!(server.log_has("shutdown: unready"));
    assert!(!server.log_has("shutdown: draining"));

    // Then connections are refused (not before the delay), and the process exits 0.
    let refused_after = loop {
        if refused(addr).await {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "still accepting 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        refused_after >= Duration::from_millis(3900),
        "refused after {refused_after:?}, before the 4 s delay"
    );
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the process exits within 10 s");
    assert!(status.success(), "exit status {status:?}");
    assert!(server.log_has("shutdown: draining") && server.log_has("shutdown: stopped"));
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let url = database_or_skip!(Backend::Postgres, "readiness");
    let admin_url = std::env::var("BILLCALC_TEST_POSTGRES_URL").unwrap();
    let database = url.rsplit('/').next().unwrap().to_string();
    let config = common::config_file("readiness");
    let server = ServerProcess::spawn(&url, &config, &[("BILLCALC_RENEWAL_INTERVAL_SECONDS", "0")]);
    let addr = server.addr;
    assert_eq!(readiness(addr).await.status, 200);
    let (admin, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let allow = |yes: bool| format!("ALTER DATABASE \"{database}\" WITH ALLOW_CONNECTIONS {yes}");
    // The database goes away: no new connections, and the server's are cut.
    admin.batch_execute(&allow(false)).await.unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&database],
        )
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    let r = loop {
        let r = readiness(addr).await;
        if r.status != 200 || Instant::now() > until {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (r.status, r.code().as_str()),
        (503, "not_ready"),
        "{}",
        r.body
    );
    let live = common::request(addr, "GET", "/healthz", &[], None).await;
    assert_eq!(live.status, 200, "liveness does not depend on the database");
    // It comes back: ready again, without a restart.
    admin.batch_execute(&allow(true)).await.unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    let r = loop {
        let r = readiness(addr).await;
        if r.status == 200 || Instant::now() > until {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(r.status, 200, "{}", r.body);
    let body = serde_json::from_slice::<Value>(&charge_body(addr).await).unwrap();
    let charge = common::post(
        addr,
        "/v1/charges",
        SK,
        &body,
        &[("idempotency-key", "ready-again")],
    )
    .await;
    assert_eq!(charge.status, 200, "{}", charge.body);
}

/// Finding 8's logs, from the binary's stdout: one JSON object per line; a request's line
/// carries the request id the answer echoes, the route and the status, and never the query, a
/// key or the body.
#[tokio::test]
async fn request_log_lines_are_json_with_the_echoed_request_id() {
    let (url, config) = setup("shutdown-logs").await;
    let server = ServerProcess::spawn(&url, &config, &[("BILLCALC_LOG_REQUESTS", "1")]);
    let addr = server.addr;
    let secret_query = "access_token=tok_never_logged_0123";
    let r = common::request(
        addr,
        "GET",
        &format!("/v1/catalog?{secret_query}"),
        &[
            ("authorization", &format!("Bearer {SK}")),
            ("x-request-id", "trace-log-1"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-request-id"), Some("trace-log-1"));
    let mut cart = common::cart();
    cart["metadata"] = json!({"note": "body_never_logged"});
    let r = common::post(addr, "/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let generated = r.header("x-request-id").unwrap().to_string();
    assert!(generated.starts_with("req_"), "{generated}");

    let find = |id: &str| {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let line = server
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(id) && l.contains("\"msg\":\"request\""))
                .cloned();
            if let Some(line) = line {
                return serde_json::from_str::<Value>(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            }
            assert!(Instant::now() < until, "no request line for {id}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let line = find("trace-log-1");
    for (field, value) in [
        ("level", json!("info")),
        ("msg", json!("request")),
        ("request_id", json!("trace-log-1")),
        ("method", json!("GET")),
        ("path", json!("/v1/catalog")),
        ("route", json!("/v1/catalog")),
        ("status", json!(200)),
        ("key", json!("secret")),
    ] {
        assert_eq!(line[field], value, "{field} in {line}");
    }
    assert!(line["ms"].is_number() && line["time"].is_string(), "{line}");
    let line = find(&generated);
    assert_eq!(
        (line["route"].clone(), line["key"].clone()),
        (json!("/v1/quotes"), json!("publishable"))
    );
    // Every line is JSON, and none holds the query, a key or the body.
    for l in server.log.lock().unwrap().iter() {
        serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        for secret in ["tok_never_logged", SK, PK, "body_never_logged"] {
            assert!(!l.contains(secret), "{secret} logged: {l}");
        }
    }
}

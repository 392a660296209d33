//! Issue 13, finding 8: graceful shutdown of the real binary. A charge is in flight when SIGTERM
//! arrives (its body is still being sent: a slow client, the legitimate way to keep a request
//! open); from then on new connections are refused and an idle keep-alive connection is closed,
//! while the process stays up; the charge completes with its 200, is stored (read back after a
//! restart on the same database), and the process exits 0 soon after. A request that never
//! completes does not hold the process past the drain cap (`BILLCALC_DRAIN_TIMEOUT_SECONDS`).
//! SQLite file; the renewal and delivery loops run (every second) and stop with the server.

mod common;

use common::{Backend, PK, SK};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit.
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn log_has(&self, message: &str) -> bool {
        self.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(&format!("\"msg\":\"{message}\"")))
    }
}

fn spawn_server(url: &str, config: &Path, drain_seconds: &str) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_billcalc-server"))
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0"])
        .env("BILLCALC_PUBLISHABLE_KEY", PK)
        .env("BILLCALC_SECRET_KEY", SK)
        .env("BILLCALC_SIGNING_KEY", common::SIGNING_KEY)
        .env("DATABASE_URL", url)
        .env("BILLCALC_RENEWAL_INTERVAL_SECONDS", "1")
        .env("BILLCALC_DELIVERY_INTERVAL_SECONDS", "1")
        .env("BILLCALC_DRAIN_TIMEOUT_SECONDS", drain_seconds)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn billcalc-server");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .expect("read the listening line");
    let addr = common::listening_address(&line)
        .unwrap_or_else(|| panic!("server did not start: {line:?}"));
    // Keep reading the log (the shutdown lines are checked).
    let log = Arc::new(Mutex::new(vec![line]));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in reader.lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    ServerProcess { child, addr, log }
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
    let config = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("shutdown-{name}-{}.json", std::process::id()));
    std::fs::write(&config, common::test_config().to_string()).unwrap();
    (url, config)
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

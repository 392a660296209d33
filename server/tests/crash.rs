//! Must show: the server process killed with SIGKILL in the middle of a load of charges, then
//! restarted on the same database → every acknowledged charge is there with its number, the
//! invoice numbers have no gaps and no duplicates, and retrying the requests that were in
//! flight (same idempotency keys) completes them without a second charge for any that had
//! committed. On SQLite and PostgreSQL; the server is the real binary.

mod common;

use common::{Backend, PK, SK};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_server(url: &str, config: &PathBuf) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_billcalc-server"))
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0"])
        .env("BILLCALC_PUBLISHABLE_KEY", PK)
        .env("BILLCALC_SECRET_KEY", SK)
        .env("BILLCALC_SIGNING_KEY", common::SIGNING_KEY)
        .env("DATABASE_URL", url)
        .env("BILLCALC_LOG_REQUESTS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn billcalc-server");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    let addr = common::listening_address(&line)
        .unwrap_or_else(|| panic!("server did not start: {line:?}"));
    ServerProcess { child, addr }
}

#[derive(Debug, Clone)]
struct Ack {
    key: String,
    invoice: String,
    number: String,
}

async fn kill_during_load(backend: Backend) {
    let url = database_or_skip!(backend, "crash");
    let config = std::env::temp_dir().join(format!(
        "billcalc-crash-{}-{:?}.json",
        std::process::id(),
        backend
    ));
    std::fs::write(&config, common::test_config().to_string()).unwrap();

    let first = spawn_server(&url, &config);
    let cart = common::cart();
    let quote = common::post(first.addr, "/v1/quotes", PK, &json!({"cart": cart}), &[]).await;
    let total = quote.json()["quote"]["total"].as_i64().unwrap();
    let body = common::charge_body(&cart, total);

    // 8 workers send charges until the server dies (each at most 300).
    let acks = Arc::new(Mutex::new(Vec::<Ack>::new()));
    let unanswered = Arc::new(Mutex::new(Vec::<String>::new()));
    let dead = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (acks, unanswered, dead, body, addr) = (
            acks.clone(),
            unanswered.clone(),
            dead.clone(),
            body.clone(),
            first.addr,
        );
        workers.push(tokio::spawn(async move {
            for i in 0..300 {
                if dead.load(Ordering::SeqCst) {
                    break;
                }
                let key = format!("crash-{w}-{i}");
                let headers = [
                    ("authorization", format!("Bearer {SK}")),
                    ("content-type", "application/json".into()),
                    ("idempotency-key", key.clone()),
                ];
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                match common::try_request(
                    addr,
                    "POST",
                    "/v1/charges",
                    &headers,
                    Some(body.to_string().as_bytes()),
                )
                .await
                {
                    Ok(r) if r.status == 200 => {
                        let v: Value = r.json();
                        acks.lock().unwrap().push(Ack {
                            key,
                            invoice: v["invoice"]["id"].as_str().unwrap().into(),
                            number: v["invoice"]["number"].as_str().unwrap().into(),
                        });
                    }
                    Ok(r) => panic!("unexpected answer {}: {}", r.status, r.body),
                    Err(_) => {
                        unanswered.lock().unwrap().push(key);
                        break;
                    }
                }
            }
        }));
    }
    // Kill once at least 40 charges are acknowledged (or after 60 s: a loaded machine), requests
    // in flight.
    let started = Instant::now();
    while acks.lock().unwrap().len() < 40 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut first = first;
    first.child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    dead.store(true, Ordering::SeqCst);
    let _ = first.child.wait();
    for w in workers {
        w.await.unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    let unanswered = unanswered.lock().unwrap().clone();
    assert!(
        acks.len() >= 40,
        "only {} charges acknowledged before the kill",
        acks.len()
    );

    // Restart on the same database.
    let second = spawn_server(&url, &config);
    let series = acks[0].number.split('-').next().unwrap().to_string();
    for ack in &acks {
        let r = common::request(
            second.addr,
            "GET",
            &format!("/v1/invoices/{}", ack.invoice),
            &[("authorization", &format!("Bearer {SK}"))],
            None,
        )
        .await;
        assert_eq!(
            r.status, 200,
            "acknowledged invoice {} lost: {}",
            ack.invoice, r.body
        );
        assert_eq!(r.json()["number"], json!(ack.number));
    }
    let store = billcalc_server::store::open(&url).await.unwrap();
    let numbers = store.invoice_numbers(&series).await.unwrap();
    let n = numbers.len() as i64;
    assert!(n >= acks.len() as i64);
    assert_eq!(numbers, (1..=n).collect::<Vec<i64>>(), "gaps or duplicates");
    assert_eq!(
        store.payments().await.unwrap().len() as i64,
        n,
        "one payment per invoice"
    );

    // Retrying what was in flight completes it; replaying acknowledged keys returns the original.
    for key in &unanswered {
        let r = common::post(
            second.addr,
            "/v1/charges",
            SK,
            &body,
            &[("idempotency-key", key.as_str())],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for ack in acks.iter().take(5) {
        let r = common::post(
            second.addr,
            "/v1/charges",
            SK,
            &body,
            &[("idempotency-key", ack.key.as_str())],
        )
        .await;
        assert_eq!(r.header("idempotent-replayed"), Some("true"));
        assert_eq!(r.json()["invoice"]["number"], json!(ack.number));
    }
    let numbers = store.invoice_numbers(&series).await.unwrap();
    let m = numbers.len() as i64;
    assert_eq!(numbers, (1..=m).collect::<Vec<i64>>());
    assert!(m <= n + unanswered.len() as i64);
    eprintln!(
        "{backend:?}: {} acknowledged before SIGKILL, {n} committed, {} in flight retried, {m} invoices after retries",
        acks.len(),
        unanswered.len()
    );
    drop(second);
    let _ = std::fs::remove_file(config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_sigkill_during_charges() {
    kill_during_load(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sigkill_during_charges() {
    kill_during_load(Backend::Postgres).await;
}

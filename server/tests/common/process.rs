//! The real `billcalc-server` binary as a child process: started on 127.0.0.1:0 with the test
//! keys (its address read from its first log line), its log kept, killed when dropped. And the
//! gateway simulator (`gateway-sim`) the same way.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every line the process printed on stdout (JSON log lines), in order.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts the binary on the database `url` with the configuration file `config`, request
    /// logs off, then `env` (which may override that).
    pub fn spawn(url: &str, config: &Path, env: &[(&str, &str)]) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_billcalc-server"));
        command
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env("BILLCALC_PUBLISHABLE_KEY", super::PK)
            .env("BILLCALC_SECRET_KEY", super::SK)
            .env("BILLCALC_SIGNING_KEY", super::SIGNING_KEY)
            .env("DATABASE_URL", url)
            .env("BILLCALC_LOG_REQUESTS", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn billcalc-server");
        let (addr, log) = started(&mut child, "server");
        ServerProcess { child, addr, log }
    }

    /// Starts the binary against the gateway simulator at `gateway` (answers awaited at most
    /// `timeout_ms`), with the renewal and delivery loops off.
    pub fn with_gateway(
        url: &str,
        config: &Path,
        gateway: SocketAddr,
        timeout_ms: u64,
    ) -> ServerProcess {
        ServerProcess::with_gateway_and(url, config, gateway, timeout_ms, &[])
    }

    /// [`ServerProcess::with_gateway`], then `env`.
    pub fn with_gateway_and(
        url: &str,
        config: &Path,
        gateway: SocketAddr,
        timeout_ms: u64,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let gateway_url = format!("http://{gateway}");
        let timeout = timeout_ms.to_string();
        let mut all = vec![
            ("BILLCALC_RENEWAL_INTERVAL_SECONDS", "0"),
            ("BILLCALC_DELIVERY_INTERVAL_SECONDS", "0"),
            ("BILLCALC_GATEWAY_URL", gateway_url.as_str()),
            ("BILLCALC_GATEWAY_TIMEOUT_MS", timeout.as_str()),
        ];
        all.extend_from_slice(env);
        ServerProcess::spawn(url, config, &all)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether a log line has this `msg`.
    pub fn log_has(&self, message: &str) -> bool {
        self.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(&format!("\"msg\":\"{message}\"")))
    }
}

/// The tests' configuration (`super::test_config`) in a file named after `name`, under cargo's
/// temporary directory for integration tests.
pub fn config_file(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("billcalc-{name}-{}.json", std::process::id()));
    std::fs::write(&path, super::test_config().to_string()).unwrap();
    path
}

/// Reads the child's first stdout line (its listening address), then keeps reading its log so
/// the pipe stays open and the lines can be checked. Kills the child if it did not start.
fn started(child: &mut Child, what: &str) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .expect("read the listening line");
    let Some(addr) = super::listening_address(&line) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what} did not start: {line:?}");
    };
    let log = Arc::new(Mutex::new(vec![line]));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in reader.lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    (addr, log)
}

/// The gateway simulator (`server/src/bin/gateway-sim.rs`, Stripe's PaymentIntents shape) as
/// its own process, with `faults` from the start; killed when dropped.
pub struct GatewaySim {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for GatewaySim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GatewaySim {
    pub fn spawn(faults: &Value) -> GatewaySim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gateway-sim"))
            .args(["--listen", "127.0.0.1:0", "--faults", &faults.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn gateway-sim");
        let (addr, _) = started(&mut child, "gateway-sim");
        GatewaySim { child, addr }
    }
}

/// Replaces the simulator's fault plan (`POST /_sim/faults`: `latency_ms`, `error_5xx_every`,
/// `timeout_after_charge_every`, `duplicate_every`).
pub async fn sim_faults(sim: SocketAddr, faults: &Value) {
    let r = super::request(
        sim,
        "POST",
        "/_sim/faults",
        &[("content-type", "application/json")],
        Some(faults.to_string().as_bytes()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The simulator's ledger (`GET /_sim/ledger`): its payment intents and refunds.
pub async fn sim_ledger(sim: SocketAddr) -> Value {
    let r = super::request(sim, "GET", "/_sim/ledger", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

//! Real parts for the notification tests: a webhook receiver over real HTTP that checks the
//! signature with its own HMAC code and can fail on purpose, and a real SMTP server on loopback
//! (Python's aiosmtpd, `smtp_catcher.py`).
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub kind: String,
    pub object_id: String,
    /// The signature matched and its timestamp was within 5 minutes of `ReceiverState::now`.
    pub signature_ok: bool,
    /// The receiver answered 2xx.
    pub accepted: bool,
    pub payload: Value,
}

#[derive(Default)]
pub struct ReceiverState {
    pub secret: Mutex<String>,
    pub fail: AtomicBool,
    /// The clock signatures are checked against (0: the system's) …
    pub now: AtomicI64,
    /// … or the server's injected clock.
    pub clock: Mutex<Option<Arc<billcalc_server::clock::ManualClock>>>,
    /// Wait this long before answering (ms).
    pub delay_ms: AtomicU64,
    pub received: Mutex<Vec<Received>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub state: Arc<ReceiverState>,
}

impl Receiver {
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
    /// The accepted events, in the order they were accepted.
    pub fn accepted(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.accepted).collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stripe's scheme, implemented here independently of the server: `t=…,v1=…`, HMAC-SHA256 over
/// `"{t}.{body}"` keyed with the endpoint secret.
pub fn signature_valid(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        if let Some(x) = part.strip_prefix("t=") {
            t = x.parse::<i64>().ok();
        } else if let Some(x) = part.strip_prefix("v1=") {
            v1.push(x.to_string());
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected = hex(&mac.finalize().into_bytes());
    v1.iter().any(|s| *s == expected)
}

async fn hook(State(s): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = s.delay_ms.load(Ordering::SeqCst);
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let injected = s.clock.lock().unwrap().clone();
    let now = match injected.map_or(s.now.load(Ordering::SeqCst), |c| {
        billcalc_server::clock::Clock::now(c.as_ref())
    }) {
        0 => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
        n => n,
    };
    let secret = s.secret.lock().unwrap().clone();
    let signature_ok = headers
        .get("billcalc-signature")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| signature_valid(&secret, h, &body, now));
    let accepted = signature_ok && !s.fail.load(Ordering::SeqCst);
    s.received.lock().unwrap().push(Received {
        id: payload["id"].as_str().unwrap_or("").into(),
        kind: payload["type"].as_str().unwrap_or("").into(),
        object_id: payload["data"]["object"]["id"]
            .as_str()
            .unwrap_or("")
            .into(),
        signature_ok,
        accepted,
        payload,
    });
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if accepted {
        StatusCode::OK
    } else if !signature_ok {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

pub async fn receiver() -> Receiver {
    let state = Arc::new(ReceiverState::default());
    let app = Router::new()
        .route("/hooks", post(hook))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { addr, state }
}

/// A real SMTP server (aiosmtpd) on a free loopback port; killed when dropped.
pub struct Smtp {
    child: std::process::Child,
    pub port: u16,
    pub out: PathBuf,
    pub fail_file: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
    /// The messages received so far, parsed by Python's email package.
    pub fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
    pub fn set_failing(&self, failing: bool) {
        if failing {
            std::fs::write(&self.fail_file, b"fail").unwrap();
        } else {
            let _ = std::fs::remove_file(&self.fail_file);
        }
    }
}

/// Starts the SMTP catcher, or `None` when Python's aiosmtpd is missing and not required
/// (`scripts/test.sh` installs it and sets `BILLCALC_REQUIRE_SMTP=1`).
pub fn smtp(name: &str) -> Option<Smtp> {
    use std::io::BufRead;
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("BILLCALC_REQUIRE_SMTP").as_deref() != Ok("1"),
            "BILLCALC_REQUIRE_SMTP=1 but python3 cannot import aiosmtpd"
        );
        eprintln!("skipping: python3 -m pip install aiosmtpd (scripts/test.sh does)");
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let tag = format!("{name}-{}-{}", std::process::id(), rand_suffix());
    let out = dir.join(format!("smtp-{tag}.jsonl"));
    let fail_file = dir.join(format!("smtp-{tag}.fail"));
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&fail_file);
    let mut child = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/smtp_catcher.py"
        ))
        .arg(&out)
        .arg("--fail-file")
        .arg(&fail_file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the SMTP catcher");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("ready ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("SMTP catcher did not start: {line:?}"));
    Some(Smtp {
        child,
        port,
        out,
        fail_file,
    })
}

fn rand_suffix() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

//! `gateway-sim`: a payment gateway simulator in the shape of Stripe's PaymentIntents API, run
//! as its own HTTP process, to test what a real remote gateway does to a charge: latency, a
//! timeout after the money moved, 5xx answers, the same request delivered twice.
//!
//! ```text
//! gateway-sim [--listen 127.0.0.1:0] [--faults '{"latency_ms":5,"timeout_after_charge_every":3}']
//! ```
//!
//! API (form-encoded bodies, amounts in minor units, Stripe's statuses and error shapes):
//! * `POST /v1/payment_intents` (`amount`, `currency`, `payment_method`, `confirm=true`,
//!   `metadata[...]`, `expand[]=latest_charge`) with `Idempotency-Key`: creates and, with
//!   `confirm=true`, confirms. A repeated key answers the first answer (same status and body);
//!   the same key with other parameters is 400 `idempotency_error`.
//! * `POST /v1/payment_intents/{id}/confirm`, `GET /v1/payment_intents/{id}`.
//! * `POST /v1/refunds` (`charge`, `amount`, `reason`) with `Idempotency-Key`: never more than
//!   is left of the charge (400 `amount_too_large`, `charge_already_refunded`,
//!   `resource_missing`).
//! * Declines are HTTP 402 `{"error": {"type": "card_error", "code", "decline_code", "message",
//!   "payment_intent"}}`; an unknown token is 400 `resource_missing` on `payment_method`.
//!   Tokens are the server's test gateway's (Stripe's test tokens, `pm_card_visa`, ...).
//!
//! Test controls (not Stripe's): `GET /_sim/ledger` (every payment intent and how many
//! requests arrived), `POST /_sim/faults` (JSON, replaces the fault plan). Faults count
//! create/confirm requests (1, 2, 3, ... in arrival order); `*_every: n` hits every n-th:
//! `latency_ms` (every request), `error_5xx_every` (500 before anything happens),
//! `timeout_after_charge_every` (charges, then never answers: the client times out),
//! `duplicate_every` (the request is processed a second time, as if delivered twice).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use billcalc_server::gateway::{ChargeRequest, GatewayError, PaymentGateway, TestGateway};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Mutex;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Faults {
    #[serde(default)]
    latency_ms: u64,
    #[serde(default)]
    error_5xx_every: u64,
    #[serde(default)]
    timeout_after_charge_every: u64,
    #[serde(default)]
    duplicate_every: u64,
}

fn hits(every: u64, n: u64) -> bool {
    every > 0 && n % every == 0
}

#[derive(Default)]
struct Ledger {
    /// Payment intents by id, in creation order.
    intents: Vec<Value>,
    by_id: HashMap<String, usize>,
    /// Idempotency key → (parameters, HTTP status, body).
    keys: HashMap<String, (String, u16, Value)>,
    /// Refunds, in creation order.
    refunds: Vec<Value>,
}

struct Sim {
    ledger: Mutex<Ledger>,
    faults: std::sync::Mutex<Faults>,
    requests: AtomicU64,
    /// Decides outcomes by token (the server's own test table).
    cards: TestGateway,
}

type Shared = Arc<Sim>;

fn form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn error(status: StatusCode, kind: &str, code: &str, message: &str) -> (u16, Value) {
    (
        status.as_u16(),
        json!({"error": {"type": kind, "code": code, "message": message}}),
    )
}

fn answer((status, body): (u16, Value)) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

impl Sim {
    /// Creates (and confirms) a payment intent: the one place money moves.
    async fn create(&self, key: Option<&str>, params: &[(String, String)]) -> (u16, Value) {
        let fingerprint = serde_json::to_string(params).unwrap_or_default();
        let mut ledger = self.ledger.lock().await;
        if let Some(key) = key {
            if let Some((f, status, body)) = ledger.keys.get(key) {
                if *f != fingerprint {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "idempotency_error",
                        "idempotency_key_reused",
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    );
                }
                return (*status, body.clone());
            }
        }
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let Some(amount) = get("amount")
            .and_then(|a| a.parse::<i64>().ok())
            .filter(|a| *a > 0)
        else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "parameter_missing",
                "amount must be a positive integer in the currency's minor unit",
            );
        };
        let currency = get("currency").unwrap_or("").to_ascii_lowercase();
        let payment_method = get("payment_method").unwrap_or("").to_string();
        let metadata: serde_json::Map<String, Value> = params
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("metadata[")
                    .and_then(|k| k.strip_suffix(']'))
                    .map(|k| (k.to_string(), Value::String(v.clone())))
            })
            .collect();
        let n = ledger.intents.len() + 1;
        let id = format!("pi_sim_{n:08}");
        let mut intent = json!({
            "id": id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": currency,
            "payment_method": payment_method,
            "status": "requires_confirmation",
            "metadata": metadata,
            "latest_charge": null,
            "created": n,
        });
        let result = if get("confirm") == Some("true") {
            self.confirm_in(&mut intent).await
        } else {
            (200, intent.clone())
        };
        if !(result.0 == 400 && result.1["error"]["code"] == "resource_missing") {
            let index = ledger.intents.len();
            ledger.by_id.insert(id, index);
            ledger.intents.push(intent);
        }
        if let Some(key) = key {
            ledger
                .keys
                .insert(key.to_string(), (fingerprint, result.0, result.1.clone()));
        }
        result
    }

    async fn confirm_in(&self, intent: &mut Value) -> (u16, Value) {
        let pm = intent["payment_method"].as_str().unwrap_or("").to_string();
        // The outcome by token, from the server's test table (a fresh key: no memory there).
        let outcome = self
            .cards
            .charge(ChargeRequest {
                idempotency_key: format!("{}:{}", intent["id"], self.cards.attempts()),
                amount: intent["amount"].as_i64().unwrap_or(0),
                currency: intent["currency"].as_str().unwrap_or("").to_string(),
                payment_method: pm.clone(),
                description: String::new(),
            })
            .await;
        match outcome {
            Ok(card) => {
                let n = intent["created"].as_u64().unwrap_or(0);
                intent["status"] = json!("succeeded");
                intent["amount_received"] = intent["amount"].clone();
                intent["latest_charge"] = json!({
                    "id": format!("ch_sim_{n:08}"),
                    "object": "charge",
                    "amount": intent["amount"],
                    "paid": true,
                    "payment_method_details": {"type": "card", "card": {"brand": card.brand, "last4": card.last4}},
                });
                (200, intent.clone())
            }
            Err(GatewayError::Declined {
                code,
                decline_code,
                message,
                ..
            }) => {
                intent["status"] = json!("requires_payment_method");
                (
                    402,
                    json!({"error": {
                        "type": "card_error",
                        "code": code,
                        "decline_code": decline_code,
                        "message": message,
                        "payment_intent": intent.clone(),
                    }}),
                )
            }
            Err(_) => (
                400,
                json!({"error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "payment_method",
                    "message": format!("No such PaymentMethod: '{pm}'"),
                }}),
            ),
        }
    }
}

impl Sim {
    async fn refund(&self, key: Option<&str>, params: &[(String, String)]) -> (u16, Value) {
        let fingerprint = format!(
            "refund {}",
            serde_json::to_string(params).unwrap_or_default()
        );
        let mut ledger = self.ledger.lock().await;
        if let Some((f, status, body)) = key.and_then(|k| ledger.keys.get(k)) {
            if *f != fingerprint {
                return error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    "idempotency_key_reused",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                );
            }
            return (*status, body.clone());
        }
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let charge = get("charge").unwrap_or_default();
        let paid = ledger
            .intents
            .iter()
            .find(|i| i["latest_charge"]["id"] == charge.as_str())
            .map(|i| {
                (
                    i["amount_received"].as_i64().unwrap_or(0),
                    i["currency"].clone(),
                )
            });
        let result = match paid {
            None => error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "resource_missing",
                &format!("No such charge: '{charge}'"),
            ),
            Some((received, currency)) => {
                let refunded: i64 = ledger
                    .refunds
                    .iter()
                    .filter(|r| r["charge"] == charge.as_str())
                    .filter_map(|r| r["amount"].as_i64())
                    .sum();
                let left = received - refunded;
                let amount = get("amount")
                    .and_then(|a| a.parse::<i64>().ok())
                    .unwrap_or(left);
                if left <= 0 {
                    error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        "charge_already_refunded",
                        "This charge has already been refunded.",
                    )
                } else if amount <= 0 || amount > left {
                    error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        "amount_too_large",
                        "Refund amount is greater than the unrefunded amount on the charge.",
                    )
                } else {
                    let refund = json!({
                        "id": format!("re_sim_{:08}", ledger.refunds.len() + 1),
                        "object": "refund",
                        "charge": charge,
                        "amount": amount,
                        "currency": currency,
                        "reason": get("reason"),
                        "status": "succeeded",
                    });
                    ledger.refunds.push(refund.clone());
                    (200, refund)
                }
            }
        };
        if let Some(key) = key {
            ledger
                .keys
                .insert(key.to_string(), (fingerprint, result.0, result.1.clone()));
        }
        result
    }
}

/// Applies the fault plan around `work`: latency, 5xx before, duplicates, timeout after.
async fn with_faults<F, Fut>(sim: &Shared, work: F) -> Response
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (u16, Value)> + Send + 'static,
{
    let n = sim.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let faults = sim.faults.lock().map(|f| f.clone()).unwrap_or_default();
    if faults.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(faults.latency_ms)).await;
    }
    if hits(faults.error_5xx_every, n) {
        return answer(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "internal",
            "simulated 500",
        ));
    }
    let work = Arc::new(work);
    if hits(faults.duplicate_every, n) {
        // The same request delivered twice, concurrently: both are processed.
        let again = work.clone();
        tokio::spawn(async move {
            let _ = again().await;
        });
    }
    let result = work().await;
    if hits(faults.timeout_after_charge_every, n) {
        // The money moved (or not) and the answer is lost: never answer.
        std::future::pending::<()>().await;
    }
    answer(result)
}

async fn create(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let params = form(&body);
    let worker = sim.clone();
    with_faults(&sim, move || {
        let (sim, key, params) = (worker.clone(), key.clone(), params.clone());
        async move { sim.create(key.as_deref(), &params).await }
    })
    .await
}

async fn refund(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let params = form(&body);
    let worker = sim.clone();
    with_faults(&sim, move || {
        let (sim, key, params) = (worker.clone(), key.clone(), params.clone());
        async move { sim.refund(key.as_deref(), &params).await }
    })
    .await
}

async fn confirm(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let worker = sim.clone();
    with_faults(&sim, move || {
        let (sim, id) = (worker.clone(), id.clone());
        async move {
            let mut ledger = sim.ledger.lock().await;
            let Some(&i) = ledger.by_id.get(&id) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    "resource_missing",
                    "No such payment_intent",
                );
            };
            let mut intent = ledger.intents[i].clone();
            if intent["status"] == "succeeded" {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "payment_intent_unexpected_state",
                    "This PaymentIntent has already succeeded.",
                );
            }
            let result = sim.confirm_in(&mut intent).await;
            ledger.intents[i] = intent;
            result
        }
    })
    .await
}

async fn retrieve(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let ledger = sim.ledger.lock().await;
    match ledger.by_id.get(&id) {
        Some(&i) => answer((200, ledger.intents[i].clone())),
        None => answer(error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            "No such payment_intent",
        )),
    }
}

async fn ledger(State(sim): State<Shared>) -> Response {
    let ledger = sim.ledger.lock().await;
    let succeeded = ledger
        .intents
        .iter()
        .filter(|i| i["status"] == "succeeded")
        .count();
    answer((
        200,
        json!({
            "requests": sim.requests.load(Ordering::SeqCst),
            "succeeded": succeeded,
            "payment_intents": ledger.intents,
            "refunds": ledger.refunds,
        }),
    ))
}

async fn set_faults(State(sim): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            if let Ok(mut slot) = sim.faults.lock() {
                *slot = f;
            }
            answer((200, json!({"ok": true})))
        }
        Err(e) => answer(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "faults",
            &e.to_string(),
        )),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut listen = "127.0.0.1:0".to_string();
    let mut faults = Faults::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = v,
            ("--faults", Some(v)) => match serde_json::from_str(&v) {
                Ok(f) => faults = f,
                Err(e) => {
                    eprintln!("gateway-sim: --faults: {e}");
                    return std::process::ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("usage: gateway-sim [--listen ADDR] [--faults JSON]");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let sim = Arc::new(Sim {
        ledger: Mutex::new(Ledger::default()),
        faults: std::sync::Mutex::new(faults),
        requests: AtomicU64::new(0),
        cards: TestGateway::new(),
    });
    let app = Router::new()
        .route("/v1/payment_intents", post(create))
        .route("/v1/payment_intents/{id}", get(retrieve))
        .route("/v1/payment_intents/{id}/confirm", post(confirm))
        .route("/v1/refunds", post(refund))
        .route("/_sim/ledger", get(ledger))
        .route("/_sim/faults", post(set_faults))
        .with_state(sim);
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gateway-sim: cannot listen on {listen}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match listener.local_addr() {
        Ok(a) => println!("gateway-sim listening on http://{a}"),
        Err(e) => {
            eprintln!("gateway-sim: {e}");
            return std::process::ExitCode::from(2);
        }
    }
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("gateway-sim: {e}");
        return std::process::ExitCode::from(1);
    }
    std::process::ExitCode::SUCCESS
}

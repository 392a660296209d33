//! Webhooks: endpoints, signed deliveries from the outbox, the delivery log, resending.
//!
//! * **Endpoints** (`POST /v1/webhook_endpoints {url, enabled_events?}`) get a secret
//!   `whsec_…`, shown once at creation (Stripe's pattern). `enabled_events` defaults to `["*"]`.
//! * **Signature** (Stripe's scheme): header `Billcalc-Signature: t=<unix seconds>,v1=<hex>`,
//!   where `v1` is HMAC-SHA256 keyed with the endpoint's secret over `"{t}.{raw body}"`. A
//!   receiver recomputes it over the bytes it received, compares in constant time, and refuses
//!   a `t` too far from its clock (replays). [`sign`] and [`verify`] are the reference.
//! * **Delivery** ([`deliver_due`]): every pending delivery whose time has come and that is the
//!   oldest pending one for its object at its endpoint (so an invoice's events arrive in the
//!   order they happened), claimed with a lease (several instances deliver each once; a crash
//!   mid-delivery delivers again after the lease — at least once, with the same event id).
//!   A 2xx answer is success. Otherwise retried with exponential backoff — 1 min, 2, 4, … at
//!   most 6 h apart — for three days from the event; then `failed` (resend by hand).
//! * **Log**: every attempt (`webhook_attempts`: time, HTTP status or error) behind
//!   `GET /v1/webhook_deliveries`; `POST /v1/events/{id}/resend` queues an event again.

use crate::state::AppState;
use crate::store::{SqlValue, StoreResult};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How long deliveries are retried, from the event's creation.
pub const RETRY_FOR_SECONDS: i64 = 3 * 86_400;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_SECONDS: i64 = 6 * 3_600;
pub const SIGNATURE_HEADER: &str = "Billcalc-Signature";

/// How long a claimed delivery is reserved for the instance sending it (seconds; default 60, more
/// than the 10 s request timeout). A crash mid-delivery lets another instance (or the restarted
/// one) deliver again after it: at least once. `BILLCALC_DELIVERY_LEASE_SECONDS` changes it.
pub fn lease_seconds() -> i64 {
    std::env::var("BILLCALC_DELIVERY_LEASE_SECONDS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v >= 1)
        .unwrap_or(60)
}

/// The wait after the `attempts`-th failure: 60 s × 2^(attempts−1), at most 6 h.
pub fn backoff(attempts: i64) -> i64 {
    (60_i64 << (attempts - 1).clamp(0, 20)).min(MAX_BACKOFF_SECONDS)
}

fn hmac_hex(secret: &str, timestamp: i64, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut m) => {
            m.update(timestamp.to_string().as_bytes());
            m.update(b".");
            m.update(body);
            crate::canonical::hex(&m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// The `Billcalc-Signature` header value for a body sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hmac_hex(secret, timestamp, body))
}

/// Checks a `Billcalc-Signature` header: some `v1` matches and `t` is within `tolerance`
/// seconds of `now`.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance: i64) -> bool {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance {
        return false;
    }
    let expected = hmac_hex(secret, t, body);
    signatures
        .iter()
        .any(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())))
}

fn value(x: &SqlValue) -> Value {
    match x {
        SqlValue::Int(n) => json!(n),
        SqlValue::Text(s) => json!(s),
        SqlValue::Null => Value::Null,
    }
}

/// Creates an endpoint: `{id, object: "webhook_endpoint", url, enabled_events, status,
/// secret, created}`.
pub async fn create_endpoint(
    state: &AppState,
    url: &str,
    enabled_events: &[String],
    now: i64,
) -> StoreResult<Value> {
    let id = crate::ledger::new_id("we", url, now);
    let secret = crate::ledger::new_id("whsec", url, now + 1);
    let events = if enabled_events.is_empty() {
        vec!["*".to_string()]
    } else {
        enabled_events.to_vec()
    };
    state
        .store
        .exec(
            "INSERT INTO webhook_endpoints (id, url, secret, enabled_events, status, created_at) VALUES ($1, $2, $3, $4, 'enabled', $5)",
            vec![
                id.clone().into(),
                url.into(),
                secret.clone().into(),
                format!(",{},", events.join(",")).into(),
                now.into(),
            ],
        )
        .await?;
    Ok(json!({
        "id": id, "object": "webhook_endpoint", "url": url, "enabled_events": events,
        "status": "enabled", "secret": secret, "created": now,
    }))
}

/// The endpoints (without their secrets).
pub async fn list_endpoints(state: &AppState) -> StoreResult<Value> {
    let rows = state
        .store
        .query(
            "SELECT id, url, enabled_events, status, created_at FROM webhook_endpoints ORDER BY created_at, id",
            vec![],
        )
        .await?;
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            let events: Vec<&str> = r[2]
                .as_str()
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
                .collect();
            json!({"id": value(&r[0]), "object": "webhook_endpoint", "url": value(&r[1]),
                   "enabled_events": events, "status": value(&r[3]), "created": value(&r[4])})
        })
        .collect();
    Ok(json!({"object": "list", "data": data}))
}

struct Due {
    event_id: String,
    endpoint_id: String,
    attempts: i64,
    payload: String,
    url: String,
    secret: String,
    created_at: i64,
}

const DUE_SQL: &str = "SELECT d.event_id, d.endpoint_id, d.attempts, e.payload, w.url, w.secret, e.created_at FROM webhook_deliveries d JOIN events e ON e.id = d.event_id JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1) AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.object_id = d.object_id AND p.status = 'pending' AND p.seq < d.seq) ORDER BY d.seq LIMIT 100";

/// POSTs one payload; the HTTP status, or why there was none.
async fn post(
    url: String,
    body: String,
    signature: String,
    event_id: String,
) -> Result<u16, String> {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(10)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "billcalc-webhooks/1")
            .header(SIGNATURE_HEADER, &signature)
            .header("Billcalc-Event-Id", &event_id)
            .send(body.as_bytes())
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(format!("delivery task: {e}")))
}

/// Delivers what is due at `now` until nothing more is (an object's next event becomes due when
/// the one before it is delivered). Returns `{delivered, failed, retried}`.
pub async fn deliver_due(state: &AppState, now: i64) -> StoreResult<Value> {
    let (mut delivered, mut failed, mut retried) = (0, 0, 0);
    let mut tried = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let rows = state.store.query(DUE_SQL, vec![now.into()]).await?;
        let due: Vec<Due> = rows
            .iter()
            .map(|r| Due {
                event_id: r[0].text(),
                endpoint_id: r[1].text(),
                attempts: r[2].as_i64().unwrap_or(0),
                payload: r[3].text(),
                url: r[4].text(),
                secret: r[5].text(),
                created_at: r[6].as_i64().unwrap_or(now),
            })
            .filter(|d| !tried.contains(&(d.event_id.clone(), d.endpoint_id.clone())))
            .collect();
        if due.is_empty() {
            break;
        }
        for d in due {
            tried.insert((d.event_id.clone(), d.endpoint_id.clone()));
            let claimed = state
                .store
                .exec(
                    "UPDATE webhook_deliveries SET lease_until = $1 WHERE event_id = $2 AND endpoint_id = $3 AND status = 'pending' AND (lease_until IS NULL OR lease_until < $4)",
                    vec![(now + lease_seconds()).into(), d.event_id.clone().into(), d.endpoint_id.clone().into(), now.into()],
                )
                .await?;
            if claimed != 1 {
                continue;
            }
            let signature = sign(&d.secret, now, d.payload.as_bytes());
            let result = post(
                d.url.clone(),
                d.payload.clone(),
                signature,
                d.event_id.clone(),
            )
            .await;
            let attempts = d.attempts + 1;
            let (code, error) = match &result {
                Ok(c) => (Some(i64::from(*c)), None),
                Err(e) => (None, Some(e.clone())),
            };
            state
                .store
                .exec(
                    "INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, attempted_at, status_code, error) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, endpoint_id, attempt) DO NOTHING",
                    vec![d.event_id.clone().into(), d.endpoint_id.clone().into(), attempts.into(), now.into(), code.into(), error.clone().into()],
                )
                .await?;
            let ok = matches!(result, Ok(c) if (200..300).contains(&c));
            let (status, next) = if ok {
                delivered += 1;
                ("delivered", now)
            } else if now - d.created_at >= RETRY_FOR_SECONDS {
                failed += 1;
                ("failed", now)
            } else {
                retried += 1;
                ("pending", now + backoff(attempts))
            };
            state
                .store
                .exec(
                    "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, lease_until = NULL, last_status_code = $4, last_error = $5, delivered_at = $6 WHERE event_id = $7 AND endpoint_id = $8",
                    vec![
                        status.into(),
                        attempts.into(),
                        next.into(),
                        code.into(),
                        error.into(),
                        if ok { Some(now) } else { None }.into(),
                        d.event_id.into(),
                        d.endpoint_id.into(),
                    ],
                )
                .await?;
        }
    }
    Ok(json!({"delivered": delivered, "failed": failed, "retried": retried}))
}

/// `GET /v1/webhook_deliveries?event=…`: deliveries with their attempts, newest first.
pub async fn deliveries(state: &AppState, event: Option<&str>, limit: i64) -> StoreResult<Value> {
    let limit = limit.clamp(1, 500);
    let rows = match event {
        Some(e) => state.store.query(
            "SELECT d.event_id, d.endpoint_id, e.type, d.object_id, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.created_at, d.seq FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.event_id = $1 ORDER BY d.seq DESC LIMIT $2",
            vec![e.into(), limit.into()],
        ).await?,
        None => state.store.query(
            "SELECT d.event_id, d.endpoint_id, e.type, d.object_id, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.created_at, d.seq FROM webhook_deliveries d JOIN events e ON e.id = d.event_id ORDER BY d.seq DESC LIMIT $1",
            vec![limit.into()],
        ).await?,
    };
    let mut data = Vec::new();
    for r in &rows {
        let attempts = state
            .store
            .query(
                "SELECT attempt, attempted_at, status_code, error FROM webhook_attempts WHERE event_id = $1 AND endpoint_id = $2 ORDER BY attempt",
                vec![r[0].clone(), r[1].clone()],
            )
            .await?;
        data.push(json!({
            "object": "webhook_delivery", "event": value(&r[0]), "endpoint": value(&r[1]),
            "type": value(&r[2]), "object_id": value(&r[3]), "status": value(&r[4]),
            "attempt_count": value(&r[5]), "next_attempt_at": value(&r[6]),
            "last_status_code": value(&r[7]), "last_error": value(&r[8]),
            "delivered_at": value(&r[9]), "created": value(&r[10]),
            "attempts": attempts.iter().map(|a| json!({
                "attempt": value(&a[0]), "attempted_at": value(&a[1]),
                "status_code": value(&a[2]), "error": value(&a[3]),
            })).collect::<Vec<_>>(),
        }));
    }
    Ok(json!({"object": "list", "data": data}))
}

/// `POST /v1/events/{id}/resend {endpoint?}`: queues the event again now for one endpoint (or
/// every enabled one), whatever its earlier deliveries did; the same event id is sent.
/// `None` when the event does not exist.
pub async fn resend(
    state: &AppState,
    event_id: &str,
    endpoint: Option<&str>,
    now: i64,
) -> StoreResult<Option<Value>> {
    let ev = state
        .store
        .query(
            "SELECT seq, object_id FROM events WHERE id = $1",
            vec![event_id.into()],
        )
        .await?;
    let Some(ev) = ev.first() else {
        return Ok(None);
    };
    let endpoints = state
        .store
        .query(
            "SELECT id FROM webhook_endpoints WHERE status = 'enabled' ORDER BY id",
            vec![],
        )
        .await?;
    for e in endpoints.iter().map(|r| r[0].text()) {
        if endpoint.is_some_and(|want| want != e) {
            continue;
        }
        state
            .store
            .exec(
                "INSERT INTO webhook_deliveries (event_id, endpoint_id, seq, object_id, status, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT (event_id, endpoint_id) DO UPDATE SET status = 'pending', next_attempt_at = $5, lease_until = NULL",
                vec![event_id.into(), e.into(), ev[0].clone(), ev[1].clone(), now.into()],
            )
            .await?;
    }
    Ok(Some(deliveries(state, Some(event_id), 50).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_tolerance() {
        let h = sign("whsec_x", 1_000, b"{\"a\":1}");
        assert!(h.starts_with("t=1000,v1="));
        assert!(verify("whsec_x", &h, b"{\"a\":1}", 1_100, 300));
        assert!(!verify("whsec_x", &h, b"{\"a\":2}", 1_100, 300));
        assert!(!verify("whsec_y", &h, b"{\"a\":1}", 1_100, 300));
        assert!(!verify("whsec_x", &h, b"{\"a\":1}", 1_400, 300));
    }

    #[test]
    fn signature_matches_an_independent_hmac() {
        // Python: hmac.new(b"whsec_test", b'1772445600.{"id":"evt_1"}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign("whsec_test", 1_772_445_600, br#"{"id":"evt_1"}"#),
            "t=1772445600,v1=054c3b0390a1f60d33e74c424ecea113ad78e1ebcdf0f4f834d9c9cb3f84b3e2"
        );
    }

    #[test]
    fn backoff_doubles_to_six_hours() {
        assert_eq!(
            (1..=10).map(backoff).collect::<Vec<_>>(),
            [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600]
        );
    }
}

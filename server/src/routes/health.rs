//! Operations: `GET /healthz` (liveness: the process answers), `GET /readyz` (readiness: the
//! database answers within [`READY_TIMEOUT`] and the server is not shutting down; 503
//! otherwise, so a load balancer stops sending) and `GET /metrics` (Prometheus text; with
//! `BILLCALC_METRICS_TOKEN` set, only with `Authorization: Bearer <token>`).

use super::{ok_json, Shared};
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// How long readiness waits for the database.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(state): State<Shared>) -> Response {
    ok_json(
        &json!({"status": "ok", "engine": billcalc::VERSION, "database": state.store.backend()}),
    )
}

async fn readyz(State(state): State<Shared>) -> Response {
    let not_ready = |why: String| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "", why).into_response()
    };
    if state.draining.load(Ordering::SeqCst) {
        return not_ready("the server is shutting down".into());
    }
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => ok_json(&json!({"status": "ready", "database": state.store.backend()})),
        Ok(Err(e)) => {
            crate::log::error("readiness: database", json!({"error": e.to_string()}));
            not_ready("the database does not answer".into())
        }
        Err(_) => not_ready(format!(
            "the database did not answer within {} s",
            READY_TIMEOUT.as_secs()
        )),
    }
}

async fn metrics(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "",
                "the metrics need Authorization: Bearer <BILLCALC_METRICS_TOKEN>",
            )
            .into_response();
        }
    }
    // The stuck payment intents, read from the database (shared by every instance).
    if let Err(e) = crate::payment_intents::update_metrics(&state, state.clock.now()).await {
        crate::log::error(
            "metrics: stuck payment intents",
            json!({"error": e.to_string()}),
        );
    }
    let mut r = (StatusCode::OK, state.metrics.render()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

//! The gate every `/v1` request passes through, in order: CORS (preflights answered here,
//! allow-listed origins only); the API key (identified, constant time; each handler says which
//! kind it needs); the rate limit; the query string and the body (size limit, JSON, card-number
//! scan); then the handler. One log line per request: method, path (never the query, which may
//! hold an invoice access token), status, key kind, milliseconds. Bodies, headers, keys and
//! payment tokens are never logged.

use crate::auth::KeyKind;
use crate::cardscan;
use crate::error::ApiError;
use crate::state::{AppState, Ctx};
use crate::statics;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

fn cors_headers(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("idempotent-replayed, retry-after"),
    );
}

pub async fn gate(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let (response, kind) = gate_inner(&state, peer.ip(), request, next).await;
    if state.log_requests {
        println!(
            "{} {} {} {} {:.1}ms",
            response.status().as_u16(),
            method,
            path,
            kind.map_or("-", KeyKind::as_str),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    response
}

async fn gate_inner(
    state: &AppState,
    ip: IpAddr,
    request: Request,
    next: Next,
) -> (Response, Option<KeyKind>) {
    let path = request.uri().path();
    if !(path == "/v1" || path.starts_with("/v1/")) {
        return (next.run(request).await, None);
    }
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .filter(|o| {
            o.to_str()
                .is_ok_and(|o| state.http.cors_allowed_origins.iter().any(|a| a == o))
        })
        .cloned();
    let finish = |mut response: Response| {
        if let Some(o) = &origin {
            cors_headers(response.headers_mut(), o);
        }
        response
    };
    if request.method() == Method::OPTIONS {
        let Some(o) = &origin else {
            return (
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "cors_origin_not_allowed",
                    "",
                    "this origin is not in the server's CORS allow-list",
                )
                .into_response(),
                None,
            );
        };
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        cors_headers(h, o);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, idempotency-key"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return (response, None);
    }
    let kind = state.keys.identify(
        request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    if let Err(retry) = state.limiter.check(kind, ip) {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "",
            format!("too many requests; retry in {retry} s"),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return (finish(response), kind);
    }
    if let Some(query) = request.uri().query() {
        let decoded = statics::percent_decode(&query.replace('+', " ")).unwrap_or_default();
        if cardscan::looks_like_card_number(&decoded) || cardscan::looks_like_card_number(query) {
            return (finish(card_rejected("query")), kind);
        }
    }
    let (mut parts, body) = request.into_parts();
    let limit = state.http.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "",
            format!("the request body is limited to {limit} bytes"),
        )
        .into_response()
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return (finish(too_large()), kind);
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return (finish(too_large()), kind),
    };
    let json = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                // Do not echo the body; serde's message names only the position.
                let position = format!("line {} column {}", e.line(), e.column());
                return (
                    finish(
                        ApiError::bad_request(
                            "invalid_json",
                            "",
                            format!("the body is not valid JSON ({position})"),
                        )
                        .into_response(),
                    ),
                    kind,
                );
            }
        }
    };
    if let Some(path) = json.as_ref().and_then(cardscan::find_in_json) {
        return (finish(card_rejected(&path)), kind);
    }
    parts.extensions.insert(Arc::new(Ctx {
        key: kind,
        body: json,
        ip,
    }));
    let response = next.run(Request::from_parts(parts, Body::empty())).await;
    (finish(response), kind)
}

fn card_rejected(path: &str) -> Response {
    ApiError::bad_request(
        "card_number_rejected",
        path,
        "this looks like a card number: the server never accepts card numbers; tokenize the card with the payment gateway and send its token",
    )
    .into_response()
}

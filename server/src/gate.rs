//! The gate every request passes through before its handler, in order:
//!
//! 1. HTTP limits, answered as JSON errors: the URI (`uri_too_long`, 414, over
//!    [`MAX_URI_BYTES`]) and the headers (`headers_too_large`, 431, over [`MAX_HEADERS`]
//!    headers or [`MAX_HEADER_BYTES`] in all). The HTTP parser's own limits sit well above these
//!    (see [`crate::app::serve`]), so a request reaches this check; past them hyper answers
//!    itself and [`crate::connection`] rewrites that answer in the same JSON shape.
//! 2. The path: bad percent-encoding is `invalid_path` (400); the decoded path and every header
//!    but `Authorization` are scanned for card numbers ([`crate::cardscan`]).
//! 3. For `/v1`: CORS (preflights answered here, allow-listed origins only); the API key
//!    (identified, constant time; each handler says which kind it needs); the rate limit; the
//!    query string (card scan) and the body: size limit, `Content-Type: application/json` for any
//!    non-empty body and for any type a POST/PUT/PATCH declares (`unsupported_media_type`, 415),
//!    strict JSON (a key twice in one object is
//!    `duplicate_field` at its path), card scan. Then the handler, with a [`Ctx`].
//!
//! Every error answer leaves as `{"error": {code, path, message}}`: an answer with a 4xx/5xx
//! status and another content type (a framework rejection, say) is rewritten here.
//!
//! Each answer carries `X-Request-Id` (the client's when it is 1–128 visible ASCII characters,
//! else a new one) and is counted in the metrics; one JSON log line per request: request id,
//! method, path (never the query, which may hold an invoice access token), route, status, key
//! kind, milliseconds. Bodies, headers, keys and payment tokens are never logged.

use crate::auth::KeyKind;
use crate::cardscan;
use crate::error::ApiError;
use crate::log;
use crate::state::{AppState, Ctx};
use crate::statics;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

/// Longest request target (path and query) answered normally.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header fields in one request.
pub const MAX_HEADERS: usize = 64;
/// Most bytes of header names and values in one request.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

fn cors_headers(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("idempotent-replayed, retry-after, x-request-id"),
    );
}

/// The client's request id when it is sane, else a new one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        // Never echoed or logged if it looks like a card number (random hex ids sometimes do:
        // replaced, not rejected).
        .filter(|v| !cardscan::looks_like_card_number(v))
        .map(str::to_string)
        .unwrap_or_else(|| crate::ledger::new_id("req", "", 0))
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
    let route = match request.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().to_string(),
        None if is_api(&path) => "unmatched".to_string(),
        None => "static".to_string(),
    };
    let id = request_id(request.headers());
    let (response, kind) = log::REQUEST_ID
        .scope(id.clone(), gate_inner(&state, peer.ip(), request, next))
        .await;
    let mut response = json_errors(response).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let method_label = match method {
        Method::GET | Method::POST | Method::HEAD | Method::OPTIONS | Method::PUT => {
            method.as_str()
        }
        Method::DELETE | Method::PATCH => method.as_str(),
        _ => "other",
    };
    state
        .metrics
        .requests
        .with_label_values(&[route.as_str(), method_label, &status.to_string()])
        .inc();
    state
        .metrics
        .latency
        .with_label_values(&[route.as_str(), method_label])
        .observe(elapsed.as_secs_f64());
    if state.log_requests {
        log::info(
            "request",
            json!({
                "request_id": id,
                "method": method_label,
                "path": path,
                "route": route,
                "status": status,
                "key": kind.map_or("-", KeyKind::as_str),
                "ms": (elapsed.as_secs_f64() * 10_000.0).round() / 10.0,
            }),
        );
    }
    response
}

fn is_api(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// What an answer with an error status and no JSON body says instead (framework rejections:
/// a path parameter that does not decode, say).
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("invalid_request", "the request could not be read"),
        StatusCode::NOT_FOUND => ("not_found", "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not take this method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the body must be application/json",
        ),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long to arrive"),
        s if s.is_server_error() => ("internal_error", "the server failed to answer"),
        _ => ("invalid_request", "the request was refused"),
    };
    let (mut parts, _) = response.into_parts();
    let rewritten = ApiError::new(status, code, "", message).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    for (name, value) in rewritten.headers() {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, rewritten.into_body())
}

fn error(status: StatusCode, code: &str, path: &str, message: impl Into<String>) -> Response {
    ApiError::new(status, code, path, message).into_response()
}

/// Checks that apply to every request (API, health and static files alike).
fn check_request(request: &Request) -> Result<(), Response> {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Err(error(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "",
            format!("the request target is limited to {MAX_URI_BYTES} bytes"),
        ));
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return Err(error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "",
            format!(
                "a request may carry at most {MAX_HEADERS} header fields and {MAX_HEADER_BYTES} bytes of headers"
            ),
        ));
    }
    let Some(decoded) = statics::percent_decode(request.uri().path()) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            "",
            "the path has bad percent-encoding (a % not followed by two hex digits, or not UTF-8)",
        ));
    };
    if cardscan::looks_like_card_number(&decoded) {
        return Err(card_rejected("path"));
    }
    for (name, value) in headers {
        // The request id is replaced when it looks like a card number (see `request_id`).
        if name == header::AUTHORIZATION || name.as_str() == "x-request-id" {
            continue;
        }
        let text = String::from_utf8_lossy(value.as_bytes());
        if cardscan::looks_like_card_number(&text) {
            return Err(card_rejected(&format!("header.{}", name.as_str())));
        }
    }
    Ok(())
}

/// Whether a `Content-Type` is JSON: `application/json`, optionally with `charset=utf-8`.
fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default();
    media.eq_ignore_ascii_case("application/json")
        && parts.all(|p| match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
                v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            _ => p.is_empty(),
        })
}

/// The body as a JSON value, strictly: malformed JSON is `invalid_json` (400) with the position
/// only (the body is never echoed); a key twice in one object is `duplicate_field` at its path.
pub fn read_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let invalid = |detail: String| {
        ApiError::bad_request(
            "invalid_json",
            "",
            format!("the body is not valid JSON ({detail})"),
        )
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| invalid(format!("not UTF-8 after byte {}", e.valid_up_to())))?;
    // The engine's reader: the same strictness as the engine's own inputs (one function, in
    // the crate).
    // Malformed JSON is `invalid_type` at the root there; a key twice in one object is
    // `duplicate_field` at its path.
    billcalc::parse::json_value(text).map_err(|e| {
        if e.code == billcalc::ErrorCode::InvalidType && e.path.is_empty() {
            invalid(e.message)
        } else {
            ApiError::engine(e, "")
        }
    })
}

async fn gate_inner(
    state: &AppState,
    ip: IpAddr,
    request: Request,
    next: Next,
) -> (Response, Option<KeyKind>) {
    if let Err(response) = check_request(&request) {
        return (response, None);
    }
    let path = request.uri().path();
    if !is_api(path) {
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
                error(
                    StatusCode::FORBIDDEN,
                    "cors_origin_not_allowed",
                    "",
                    "this origin is not in the server's CORS allow-list",
                ),
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
            HeaderValue::from_static("authorization, content-type, idempotency-key, x-request-id"),
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
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "",
            format!("too many requests; retry in {retry} s"),
        );
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
    let idempotency_scope = format!(
        "{} {} {}",
        kind.map_or("none", KeyKind::as_str),
        request.method(),
        statics::percent_decode(request.uri().path()).unwrap_or_default()
    );
    let (mut parts, body) = request.into_parts();
    let limit = state.http.max_body_bytes;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "",
            format!("the request body is limited to {limit} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return (finish(too_large()), kind);
    }
    let bytes =
        match axum::body::to_bytes(body, limit).await {
            Ok(b) => b,
            Err(e) if is_length_limit(&e) => return (finish(too_large()), kind),
            // A body that breaks off or is malformed (a bad chunk): not a size problem.
            Err(_) => return (
                finish(error(
                    StatusCode::BAD_REQUEST,
                    "invalid_http",
                    "",
                    "the request body could not be read (malformed chunked encoding, or cut short)",
                )),
                kind,
            ),
        };
    // A body must be JSON; so must what a POST, PUT or PATCH declares, even with no body (a
    // body-less POST without Content-Type is fine: `POST /v1/renewals`).
    let declares_type = parts.headers.contains_key(header::CONTENT_TYPE)
        && matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
    if (!bytes.is_empty() || declares_type) && !is_json_content_type(&parts.headers) {
        return (
            finish(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "",
                "a request body must be JSON: send Content-Type: application/json",
            )),
            kind,
        );
    }
    let json = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match read_json(&bytes) {
            Ok(v) => Some(v),
            Err(e) => return (finish(e.into_response()), kind),
        }
    };
    if let Some(path) = json.as_ref().and_then(cardscan::find_in_json) {
        return (finish(card_rejected(&path)), kind);
    }
    parts.extensions.insert(Arc::new(Ctx {
        key: kind,
        body: json,
        ip,
        request_id: log::REQUEST_ID.try_with(Clone::clone).unwrap_or_default(),
        idempotency_scope,
    }));
    let response = next.run(Request::from_parts(parts, Body::empty())).await;
    (finish(response), kind)
}

/// Whether reading the body stopped at the size limit (and not on a malformed body).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn card_rejected(path: &str) -> Response {
    ApiError::bad_request(
        "card_number_rejected",
        path,
        "this looks like a card number: the server never accepts card numbers; tokenize the card with the payment gateway and send its token",
    )
    .into_response()
}

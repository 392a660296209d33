//! The HTTP application: state, routes, and the gate every `/v1` request passes through.
//!
//! The gate, in order: CORS (preflights answered here, allow-listed origins only); the API key
//! (identified, constant time; each handler says which kind it needs); the rate limit; the
//! query string and the body (size limit, JSON, card-number scan); then the handler. One log
//! line per request: method, path (never the query, which may hold an invoice access token),
//! status, key kind, milliseconds. Bodies, headers, keys and payment tokens are never logged.

use crate::auth::{KeyKind, Keys};
use crate::cardscan;
use crate::clock::Clock;
use crate::config::{HttpSettings, InvoiceSettings, Loaded, QuoteSettings, Secrets, SellerInfo};
use crate::error::{json_response, ApiError, ApiResult};
use crate::gateway::PaymentGateway;
use crate::invoice::{self, InvoiceDocument};
use crate::pricing::{self, only_fields};
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use crate::subscription::{self, Access};
use crate::{charge, statics, token};
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use billcalc::Calculator;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub struct AppState {
    pub calculator: Calculator,
    /// `GET /v1/catalog`'s body: the catalog as configured.
    pub catalog_json: String,
    pub seller: SellerInfo,
    pub invoice: InvoiceSettings,
    pub quotes: QuoteSettings,
    pub http: HttpSettings,
    pub keys: Keys,
    pub publishable_key: String,
    pub signing_key: Vec<u8>,
    pub store: Arc<dyn Store>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub clock: Arc<dyn Clock>,
    pub limiter: RateLimiter,
    /// `(url prefix, directory)` pairs for static files.
    pub statics: Vec<(String, PathBuf)>,
    /// Lets the publishable key charge through `/v1/demo/checkout` (the demo shop has no back end).
    pub demo_checkout: bool,
    /// Print one line per request.
    pub log_requests: bool,
}

impl AppState {
    pub fn new(
        loaded: Loaded,
        secrets: Secrets,
        store: Arc<dyn Store>,
        gateway: Arc<dyn PaymentGateway>,
        clock: Arc<dyn Clock>,
    ) -> AppState {
        let file = loaded.file;
        AppState {
            calculator: loaded.calculator,
            catalog_json: file.catalog.to_string(),
            seller: file.seller,
            invoice: file.invoice,
            quotes: file.quotes,
            limiter: RateLimiter::new(file.http.rate_limit),
            http: file.http,
            keys: Keys::new(&secrets.publishable_key, &secrets.secret_key),
            publishable_key: secrets.publishable_key,
            signing_key: secrets.signing_key,
            store,
            gateway,
            clock,
            statics: Vec::new(),
            demo_checkout: false,
            log_requests: true,
        }
    }
}

/// What the gate learned about a request.
#[derive(Debug)]
pub struct Ctx {
    pub key: Option<KeyKind>,
    pub body: Option<Value>,
    pub ip: IpAddr,
}

type Shared = Arc<AppState>;

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/catalog", get(catalog))
        .route("/v1/quotes", post(quotes))
        .route("/v1/quotes/verify", post(verify))
        .route("/v1/charges", post(charges))
        .route("/v1/invoices/{id}", get(invoice_get))
        .route(
            "/v1/invoices/upcoming",
            get(upcoming_get).post(upcoming_post),
        )
        .route("/v1/subscriptions", post(subscription_create))
        .route(
            "/v1/subscriptions/{id}",
            get(subscription_get).post(subscription_update),
        )
        .route("/v1/subscriptions/{id}/preview", post(subscription_preview))
        .route("/v1/subscriptions/{id}/cancel", post(subscription_cancel))
        .route(
            "/v1/subscriptions/{id}/invoices",
            get(subscription_invoices),
        )
        .route("/v1/renewals", post(renewals))
        .route("/v1/reports/{name}", get(crate::reports::route))
        .route("/v1/demo/config", get(demo_config))
        .route("/v1/demo/checkout", post(demo_checkout))
        .route("/v1/demo/subscriptions", post(demo_subscription_create))
        .route(
            "/v1/demo/subscriptions/{id}",
            get(demo_subscription_get).post(demo_subscription_update),
        )
        .route(
            "/v1/demo/subscriptions/{id}/preview",
            post(demo_subscription_preview),
        )
        .route(
            "/v1/demo/subscriptions/{id}/cancel",
            post(demo_subscription_cancel),
        )
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

/// Serves the app on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

fn require(ctx: &Ctx, needed: KeyKind) -> ApiResult<KeyKind> {
    match (ctx.key, needed) {
        (None, _) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "",
            "missing or invalid API key (Authorization: Bearer <key>)",
        )),
        (Some(KeyKind::Publishable), KeyKind::Secret) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "",
            "this endpoint needs the secret key",
        )),
        (Some(kind), _) => Ok(kind),
    }
}

fn body_object(ctx: &Ctx) -> ApiResult<&serde_json::Map<String, Value>> {
    match &ctx.body {
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            "",
            "the body must be a JSON object",
        )),
        None => Err(ApiError::bad_request(
            "invalid_request",
            "",
            "a JSON body is required",
        )),
    }
}

fn cors_headers(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("idempotent-replayed, retry-after"),
    );
}

async fn gate(
    State(state): State<Shared>,
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

fn ok_json(value: &Value) -> Response {
    json_response(StatusCode::OK, value.to_string())
}

async fn healthz(State(state): State<Shared>) -> Response {
    ok_json(
        &json!({"status": "ok", "engine": billcalc::VERSION, "database": state.store.backend()}),
    )
}

async fn catalog(State(state): State<Shared>, Extension(ctx): Extension<Arc<Ctx>>) -> Response {
    if let Err(e) = require(&ctx, KeyKind::Publishable) {
        return e.into_response();
    }
    let mut r = json_response(StatusCode::OK, state.catalog_json.clone());
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `has_paid_before` from the ledger when the cart names a customer.
async fn ledger_has_paid(state: &AppState, cart: &Value) -> ApiResult<Option<bool>> {
    match pricing::customer_id(cart) {
        Some(id) => state.store.has_paid(id).await.map(Some).map_err(|e| {
            eprintln!("billcalc-server: storage error: {e}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "",
                "the ledger is unavailable",
            )
        }),
        None => Ok(None),
    }
}

fn signed(state: &AppState, priced: &pricing::Priced) -> (String, i64) {
    let expires_at = state.clock.now() + state.quotes.token_ttl_seconds;
    let claims = token::Claims {
        as_of: priced.as_of.clone(),
        expires_at,
        engine: billcalc::VERSION.to_string(),
        currency: priced.quote.currency.code().to_string(),
        total: priced.quote.total,
    };
    (
        token::sign(
            &state.signing_key,
            &claims,
            &priced.input,
            &priced.quote_value,
        ),
        expires_at,
    )
}

async fn quotes(State(state): State<Shared>, Extension(ctx): Extension<Arc<Ctx>>) -> Response {
    quote_inner(&state, &ctx)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn quote_inner(state: &AppState, ctx: &Ctx) -> ApiResult<Response> {
    let kind = require(ctx, KeyKind::Publishable)?;
    let body = body_object(ctx)?;
    only_fields(body, &["cart"], "")?;
    let cart = body
        .get("cart")
        .ok_or_else(|| ApiError::bad_request("missing_field", "cart", "cart is required"))?;
    let has_paid = ledger_has_paid(state, cart).await?;
    let priced = pricing::price(state, cart, kind, None, has_paid)?;
    let (token, expires_at) = signed(state, &priced);
    Ok(ok_json(&json!({
        "object": "quote",
        "as_of": priced.as_of,
        "expires_at": expires_at,
        "quote_token": token,
        "quote": priced.quote_value,
    })))
}

async fn verify(State(state): State<Shared>, Extension(ctx): Extension<Arc<Ctx>>) -> Response {
    verify_inner(&state, &ctx)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn verify_inner(state: &AppState, ctx: &Ctx) -> ApiResult<Response> {
    let kind = require(ctx, KeyKind::Publishable)?;
    let body = body_object(ctx)?;
    only_fields(body, &["cart", "client_quote"], "")?;
    let cart = body
        .get("cart")
        .ok_or_else(|| ApiError::bad_request("missing_field", "cart", "cart is required"))?;
    let client = match body.get("client_quote") {
        Some(v @ Value::Object(o)) if !o.is_empty() => v,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "client_quote",
                "client_quote must be a non-empty object: the quote (or the totals) the client computed",
            ))
        }
        None => {
            return Err(ApiError::bad_request(
                "missing_field",
                "client_quote",
                "client_quote (what the client computed, e.g. {\"total\": 1200}) is required",
            ))
        }
    };
    let has_paid = ledger_has_paid(state, cart).await?;
    let priced = pricing::price(state, cart, kind, None, has_paid)?;
    let differences = pricing::differences(client, &priced.quote_value);
    let matched = differences.is_empty();
    let mut out = json!({
        "object": "quote_verification",
        "match": matched,
        "differences": differences,
        "as_of": priced.as_of,
        "quote": priced.quote_value,
    });
    if matched {
        let (token, expires_at) = signed(state, &priced);
        out["quote_token"] = json!(token);
        out["expires_at"] = json!(expires_at);
    }
    Ok(ok_json(&out))
}

async fn charges(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
) -> Response {
    match require(&ctx, KeyKind::Secret) {
        Ok(kind) => charge::handle(state, ctx, headers, kind).await,
        Err(e) => e.into_response(),
    }
}

async fn demo_checkout(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
) -> Response {
    if !state.demo_checkout {
        return ApiError::not_found("no such endpoint (demo checkout is off)").into_response();
    }
    match require(&ctx, KeyKind::Publishable) {
        // Priced as a shopper: promotion codes only.
        Ok(_) => charge::handle(state, ctx, headers, KeyKind::Publishable).await,
        Err(e) => e.into_response(),
    }
}

async fn demo_config(State(state): State<Shared>) -> Response {
    if !state.demo_checkout {
        return ApiError::not_found("no such endpoint (demo checkout is off)").into_response();
    }
    ok_json(&json!({
        "publishable_key": state.publishable_key,
        "checkout_url": "/v1/demo/checkout",
        "catalog_url": "/v1/catalog",
        "subscriptions_url": "/v1/demo/subscriptions",
    }))
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

async fn invoice_get(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    invoice_inner(&state, &ctx, id, &uri, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn invoice_inner(
    state: &AppState,
    ctx: &Ctx,
    id: String,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let (id, html_suffix) = match id.strip_suffix(".html") {
        Some(stem) => (stem.to_string(), true),
        None => (id, false),
    };
    let by_token = query_param(uri.query(), "access_token")
        .is_some_and(|t| token::check_invoice_access(&state.signing_key, &id, t));
    if !by_token {
        require(ctx, KeyKind::Secret)?;
    }
    let record = state
        .store
        .invoice(&id)
        .await
        .map_err(|e| {
            eprintln!("billcalc-server: storage error: {e}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "",
                "the ledger is unavailable",
            )
        })?
        .ok_or_else(|| ApiError::not_found("no invoice with this id"))?;
    let wants_html = html_suffix
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        let doc: InvoiceDocument = serde_json::from_str(&record.document)
            .map_err(|e| ApiError::internal(format!("stored invoice does not read back: {e}")))?;
        let mut r = (StatusCode::OK, invoice::render_html(&doc)).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        return Ok(r);
    }
    let mut r = json_response(StatusCode::OK, record.document);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// Subscriptions (see `crate::subscription`): the secret key, or the publishable key on the demo
// routes when demo mode is on.

fn demo_access(state: &AppState, ctx: &Ctx) -> ApiResult<()> {
    if !state.demo_checkout {
        return Err(ApiError::not_found(
            "no such endpoint (demo checkout is off)",
        ));
    }
    require(ctx, KeyKind::Publishable).map(|_| ())
}

fn access_for(state: &AppState, ctx: &Ctx, demo: bool) -> ApiResult<Access> {
    if demo {
        demo_access(state, ctx)?;
        Ok(Access::Demo)
    } else {
        require(ctx, KeyKind::Secret)?;
        Ok(Access::Merchant)
    }
}

async fn create_with(state: Shared, ctx: Arc<Ctx>, headers: HeaderMap, demo: bool) -> Response {
    match access_for(&state, &ctx, demo) {
        Ok(access) => subscription::create(state, ctx, headers, access).await,
        Err(e) => e.into_response(),
    }
}

async fn subscription_create(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
) -> Response {
    create_with(state, ctx, headers, false).await
}

async fn demo_subscription_create(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
) -> Response {
    create_with(state, ctx, headers, true).await
}

async fn get_with(state: Shared, ctx: Arc<Ctx>, id: String, demo: bool) -> Response {
    let result = async {
        let access = access_for(&state, &ctx, demo)?;
        subscription::retrieve(&state, &id, access).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn subscription_get(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Response {
    get_with(state, ctx, id, false).await
}

async fn demo_subscription_get(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Response {
    get_with(state, ctx, id, true).await
}

async fn update_with(
    state: Shared,
    ctx: Arc<Ctx>,
    id: String,
    headers: HeaderMap,
    demo: bool,
) -> Response {
    match access_for(&state, &ctx, demo) {
        Ok(access) => subscription::update(state, ctx, id, headers, access).await,
        Err(e) => e.into_response(),
    }
}

async fn subscription_update(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    update_with(state, ctx, id, headers, false).await
}

async fn demo_subscription_update(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    update_with(state, ctx, id, headers, true).await
}

async fn cancel_with(
    state: Shared,
    ctx: Arc<Ctx>,
    id: String,
    headers: HeaderMap,
    demo: bool,
) -> Response {
    match access_for(&state, &ctx, demo) {
        Ok(access) => subscription::cancel(state, ctx, id, headers, access).await,
        Err(e) => e.into_response(),
    }
}

async fn subscription_cancel(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    cancel_with(state, ctx, id, headers, false).await
}

async fn demo_subscription_cancel(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    cancel_with(state, ctx, id, headers, true).await
}

async fn preview_with(state: Shared, ctx: Arc<Ctx>, id: String, demo: bool) -> Response {
    let result = async {
        let access = access_for(&state, &ctx, demo)?;
        subscription::preview(&state, &ctx, &id, access, &[]).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn subscription_preview(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Response {
    preview_with(state, ctx, id, false).await
}

async fn demo_subscription_preview(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Response {
    preview_with(state, ctx, id, true).await
}

async fn subscription_invoices(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        require(&ctx, KeyKind::Secret)?;
        subscription::invoices(&state, &id, Access::Merchant).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1/invoices/upcoming?subscription=ID`: the next invoice as the subscription stands.
async fn upcoming_get(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: axum::http::Uri,
) -> Response {
    let result = async {
        require(&ctx, KeyKind::Secret)?;
        let id = query_param(uri.query(), "subscription").ok_or_else(|| {
            ApiError::bad_request(
                "missing_field",
                "subscription",
                "the subscription query parameter is required",
            )
        })?;
        let id = statics::percent_decode(id).unwrap_or_default();
        subscription::upcoming(&state, &id, Access::Merchant).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/invoices/upcoming {subscription, ...change}`: Stripe's upcoming-invoice preview
/// of a change; the same as `POST /v1/subscriptions/{id}/preview`.
async fn upcoming_post(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
) -> Response {
    let result = async {
        require(&ctx, KeyKind::Secret)?;
        let id = body_object(&ctx)?
            .get("subscription")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "missing_field",
                    "subscription",
                    "subscription (the id) is required",
                )
            })?;
        subscription::preview(&state, &ctx, &id, Access::Merchant, &["subscription"]).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/renewals {as_of?}`: issues the renewals due at `as_of` (default: the server's
/// clock; never later than it, so no invoice is issued early).
async fn renewals(State(state): State<Shared>, Extension(ctx): Extension<Arc<Ctx>>) -> Response {
    let result = async {
        require(&ctx, KeyKind::Secret)?;
        let now = state.clock.now();
        let as_of = match &ctx.body {
            None => now,
            Some(_) => {
                let o = body_object(&ctx)?;
                only_fields(o, &["as_of"], "")?;
                match o.get("as_of") {
                    None | Some(Value::Null) => now,
                    Some(v) => {
                        let t: billcalc::time::Timestamp =
                            billcalc::from_value(v).map_err(|e| ApiError::engine(e, "as_of"))?;
                        t.resolve("as_of").map_err(|e| ApiError::engine(e, ""))?
                    }
                }
            }
        };
        if as_of > now {
            return Err(ApiError::invalid(
                "as_of",
                "renewals are never issued ahead of the server's clock",
            ));
        }
        let report = subscription::run_renewals(&state, as_of).await?;
        Ok(ok_json(&report))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn fallback(State(state): State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if !(path == "/v1" || path.starts_with("/v1/")) {
        if let Some(r) = statics::serve(&state.statics, request.method(), &path).await {
            return r;
        }
    }
    ApiError::not_found("no such endpoint").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "",
        "this endpoint does not take this method",
    )
    .into_response()
}

//! The API's routes, one module per resource; each module's `routes()` lists its paths and
//! [`crate::app::router`] merges them. Handlers get the request's [`Ctx`] from the gate
//! ([`crate::gate`]) and answer JSON; the helpers here are what they share.

pub mod catalog;
pub mod charges;
pub mod credit_notes;
pub mod demo;
pub mod health;
pub mod invoices;
pub mod quotes;
pub mod renewals;
pub mod reports;
pub mod subscriptions;

use crate::auth::KeyKind;
use crate::error::{json_response, ApiError, ApiResult};
use crate::state::{AppState, Ctx};
use crate::subscription::Access;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;

pub type Shared = Arc<AppState>;

pub(crate) fn require(ctx: &Ctx, needed: KeyKind) -> ApiResult<KeyKind> {
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

pub(crate) fn body_object(ctx: &Ctx) -> ApiResult<&serde_json::Map<String, Value>> {
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

pub(crate) fn ok_json(value: &Value) -> Response {
    json_response(StatusCode::OK, value.to_string())
}

pub(crate) fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}
pub(crate) fn demo_access(state: &AppState, ctx: &Ctx) -> ApiResult<()> {
    if !state.demo_checkout {
        return Err(ApiError::not_found(
            "no such endpoint (demo checkout is off)",
        ));
    }
    require(ctx, KeyKind::Publishable).map(|_| ())
}

pub(crate) fn access_for(state: &AppState, ctx: &Ctx, demo: bool) -> ApiResult<Access> {
    if demo {
        demo_access(state, ctx)?;
        Ok(Access::Demo)
    } else {
        require(ctx, KeyKind::Secret)?;
        Ok(Access::Merchant)
    }
}

/// `storage_unavailable` (503), the store's error logged (never sent).
pub(crate) fn storage_unavailable(e: crate::store::StoreError) -> ApiError {
    crate::log::error("storage error", serde_json::json!({"error": e.to_string()}));
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        "",
        "the ledger is unavailable",
    )
}

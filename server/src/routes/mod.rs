//! The API's routes, one module per resource; each module's `routes()` lists its paths and
//! [`crate::app::router`] merges them. Handlers get the request's [`Ctx`] from the gate
//! ([`crate::gate`]) and answer JSON; the helpers here are what they share.

pub mod automation;
pub mod catalog;
pub mod charges;
pub mod credit_notes;
pub mod demo;
pub mod emails;
pub mod events;
pub mod health;
pub mod invoices;
pub mod payment_intents;
pub mod portal;
pub mod quotes;
pub mod renewals;
pub mod reports;
pub mod subscriptions;
pub mod webhooks;

use crate::auth::KeyKind;
use crate::error::{json_response, ApiError, ApiResult};
use crate::ledger::store_error;
use crate::state::{AppState, Ctx};
use crate::store::StoreError;
use crate::subscription::Access;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::future::Future;

pub use crate::state::Shared;

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

/// A query parameter, percent-decoded.
pub(crate) fn param(uri: &Uri, name: &str) -> Option<String> {
    query_param(uri.query(), name).and_then(crate::statics::percent_decode)
}

/// A list's `limit` query parameter (default 100).
pub(crate) fn limit(uri: &Uri) -> i64 {
    param(uri, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
}

/// A JSON value as a 200, or the error.
pub(crate) fn answer(r: ApiResult<Value>) -> Response {
    match r {
        Ok(v) => ok_json(&v),
        Err(e) => e.into_response(),
    }
}

/// The response, or the error's.
pub(crate) fn respond(r: ApiResult<Response>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

/// A secret-key endpoint that reads the store: the key checked, then `read`, answered as JSON
/// (a store error is `storage_unavailable`).
pub(crate) async fn secret_read<F>(ctx: &Ctx, read: impl FnOnce() -> F) -> Response
where
    F: Future<Output = Result<Value, StoreError>>,
{
    answer(match require(ctx, KeyKind::Secret) {
        Ok(_) => read().await.map_err(store_error),
        Err(e) => Err(e),
    })
}

//! `POST /v1/quotes` and `POST /v1/quotes/verify`: signed quotes, and the server's check of a
//! client's numbers.

use super::{body_object, ok_json, require, Shared};
use crate::auth::KeyKind;
use crate::error::{ApiError, ApiResult};
use crate::ledger::storage_unavailable;
use crate::pricing::{self, only_fields};
use crate::state::{AppState, Ctx};
use crate::token;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/quotes", post(quotes))
        .route("/v1/quotes/verify", post(verify))
}

/// `has_paid_before` from the ledger when the cart names a customer.
async fn ledger_has_paid(state: &AppState, cart: &Value) -> ApiResult<Option<bool>> {
    match pricing::customer_id(cart) {
        Some(id) => state
            .store
            .has_paid(id)
            .await
            .map(Some)
            .map_err(storage_unavailable),
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

//! `/v1/demo/…`, only with `BILLCALC_DEMO_CHECKOUT=1`: the demo pages' configuration, a checkout
//! a shopper's browser makes itself, the subscription routes on demo subscriptions, and
//! `GET /v1/demo/outbox` (no key: the demo customers' mail log, the webhook log and the events,
//! for the demo's pages).

use super::{ok_json, require, Shared};
use crate::auth::KeyKind;
use crate::charge;
use crate::error::ApiError;
use crate::ledger::store_error;
use crate::state::Ctx;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::json;
use std::sync::Arc;

use super::subscriptions;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/demo/config", get(demo_config))
        .route("/v1/demo/checkout", post(demo_checkout))
        .route("/v1/demo/subscriptions", subscriptions::create(true))
        .route("/v1/demo/subscriptions/{id}", subscriptions::one(true))
        .route(
            "/v1/demo/subscriptions/{id}/preview",
            subscriptions::preview(true),
        )
        .route(
            "/v1/demo/subscriptions/{id}/cancel",
            subscriptions::cancel(true),
        )
        .route("/v1/demo/outbox", get(demo_outbox))
}

async fn demo_outbox(State(state): State<Shared>, uri: axum::http::Uri) -> Response {
    super::answer(
        async {
            if !state.demo_checkout {
                return Err(ApiError::not_found("demo mode is off"));
            }
            let limit = super::limit(&uri);
            let emails = crate::email::log(&state, Some("cus_demo_*"), limit)
                .await
                .map_err(store_error)?;
            let webhooks = crate::webhooks::deliveries(&state, None, limit)
                .await
                .map_err(store_error)?;
            let events = crate::events::list(&state, None, limit)
                .await
                .map_err(store_error)?;
            Ok(json!({"emails": emails["data"], "webhook_deliveries": webhooks["data"], "events": events["data"]}))
        }
        .await,
    )
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

//! `/v1/subscriptions…` (the logic is [`crate::subscription`]): the secret key, or the
//! publishable key on the demo routes ([`super::demo`]) when demo mode is on.

use super::{access_for, require, Shared};
use crate::auth::KeyKind;
use crate::state::Ctx;
use crate::subscription::{self, Access};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
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
}

pub(crate) async fn create_with(
    state: Shared,
    ctx: Arc<Ctx>,
    headers: HeaderMap,
    demo: bool,
) -> Response {
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

pub(crate) async fn get_with(state: Shared, ctx: Arc<Ctx>, id: String, demo: bool) -> Response {
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

pub(crate) async fn update_with(
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

pub(crate) async fn cancel_with(
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

pub(crate) async fn preview_with(state: Shared, ctx: Arc<Ctx>, id: String, demo: bool) -> Response {
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

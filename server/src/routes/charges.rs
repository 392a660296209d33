//! `POST /v1/charges` (the flow is [`crate::charge`]).

use super::{require, Shared};
use crate::auth::KeyKind;
use crate::charge;
use crate::state::Ctx;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new().route("/v1/charges", post(charges))
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

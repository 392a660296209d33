//! `GET /v1/catalog`: the catalog the client-side `Calculator` loads.

use super::{require, Shared};
use crate::auth::KeyKind;
use crate::error::json_response;
use crate::state::Ctx;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new().route("/v1/catalog", get(catalog))
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

//! `GET /v1/emails?customer=&limit=` (secret key): the mail log — rendered text and HTML,
//! status, errors ([`crate::email`]).

use super::{limit, param, secret_read, Shared};
use crate::state::Ctx;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new().route("/v1/emails", get(emails))
}

async fn emails(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: Uri,
) -> Response {
    let customer = param(&uri, "customer");
    secret_read(&ctx, || {
        crate::email::log(&state, customer.as_deref(), limit(&uri))
    })
    .await
}

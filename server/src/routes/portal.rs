//! The customer portal's routes (the flows, sessions and what a customer may do are
//! [`crate::portal`]): `POST /v1/billing_portal/sessions` with the secret key, and the
//! `/v1/portal/…` routes with a portal session (`Authorization: Bearer bps1.…`).

use super::{require, respond, Shared};
use crate::auth::KeyKind;
use crate::error::ApiResult;
use crate::portal;
use crate::state::Ctx;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Router};
use std::future::Future;
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/billing_portal/sessions", post(session_create))
        .route("/v1/portal", get(overview))
        .route(
            "/v1/portal/invoices/{id}/pay",
            on_one(|state, ctx, headers, id| async move {
                portal::pay(&state, &ctx, &headers, &id).await
            }),
        )
        .route("/v1/portal/payment_method", post(payment_method))
        .route("/v1/portal/subscriptions/{id}", on_one(portal::change))
        .route(
            "/v1/portal/subscriptions/{id}/preview",
            on_one(portal::preview),
        )
        .route(
            "/v1/portal/subscriptions/{id}/cancel",
            on_one(portal::cancel),
        )
        .route("/v1/portal/subscriptions/{id}/renew", on_one(portal::renew))
}

/// `POST` to a portal route on one subscription or invoice: the request's context, headers
/// (the portal session) and the path's id, passed to `handler`.
fn on_one<H, Fut>(handler: H) -> MethodRouter<Shared>
where
    H: Fn(Shared, Arc<Ctx>, HeaderMap, String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Response>> + Send + 'static,
{
    post(
        move |State(state): State<Shared>,
              Extension(ctx): Extension<Arc<Ctx>>,
              headers: HeaderMap,
              Path(id): Path<String>| async move {
            respond(handler(state, ctx, headers, id).await)
        },
    )
}

async fn session_create(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
) -> Response {
    respond(match require(&ctx, KeyKind::Secret) {
        Ok(_) => portal::create_session(&state, &ctx).await,
        Err(e) => Err(e),
    })
}

async fn overview(State(state): State<Shared>, headers: HeaderMap) -> Response {
    respond(portal::overview(&state, &headers).await)
}

async fn payment_method(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
) -> Response {
    respond(portal::update_payment_method(state, ctx, headers).await)
}

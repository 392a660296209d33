//! `/v1/subscriptions…` (the logic is [`crate::subscription`]): the secret key, or the
//! publishable key on the demo routes ([`super::demo`]) when demo mode is on. The handlers are
//! built for either caller (`demo`), so both mount the same ones.

use super::{access_for, require, Shared};
use crate::auth::KeyKind;
use crate::state::Ctx;
use crate::subscription::{self, Access};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Router};
use std::future::Future;
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/subscriptions", create(false))
        .route("/v1/subscriptions/{id}", one(false))
        .route("/v1/subscriptions/{id}/preview", preview(false))
        .route("/v1/subscriptions/{id}/cancel", cancel(false))
        .route(
            "/v1/subscriptions/{id}/invoices",
            get(subscription_invoices),
        )
}

/// The caller's access (the secret key; on the demo routes the publishable key, demo mode on),
/// then `flow` with it; without access, the access error.
async fn with_access<F, Fut>(state: Shared, ctx: Arc<Ctx>, demo: bool, flow: F) -> Response
where
    F: FnOnce(Shared, Arc<Ctx>, Access) -> Fut,
    Fut: Future<Output = Response>,
{
    match access_for(&state, &ctx, demo) {
        Ok(access) => flow(state, ctx, access).await,
        Err(e) => e.into_response(),
    }
}

/// `POST`: create a subscription (and its first invoice).
pub(crate) fn create(demo: bool) -> MethodRouter<Shared> {
    post(
        move |State(state): State<Shared>,
              Extension(ctx): Extension<Arc<Ctx>>,
              headers: HeaderMap| async move {
            with_access(state, ctx, demo, |state, ctx, access| {
                subscription::create(state, ctx, headers, access)
            })
            .await
        },
    )
}

/// `GET` one subscription; `POST` a change to it.
pub(crate) fn one(demo: bool) -> MethodRouter<Shared> {
    get(
        move |State(state): State<Shared>,
              Extension(ctx): Extension<Arc<Ctx>>,
              Path(id): Path<String>| async move {
            with_access(state, ctx, demo, |state, _, access| async move {
                subscription::retrieve(&state, &id, access)
                    .await
                    .unwrap_or_else(IntoResponse::into_response)
            })
            .await
        },
    )
    .post(
        move |State(state): State<Shared>,
              Extension(ctx): Extension<Arc<Ctx>>,
              Path(id): Path<String>,
              headers: HeaderMap| async move {
            with_access(state, ctx, demo, |state, ctx, access| {
                subscription::update(state, ctx, id, headers, access)
            })
            .await
        },
    )
}

/// `POST`: cancel (now, or at the period's end).
pub(crate) fn cancel(demo: bool) -> MethodRouter<Shared> {
    post(
        move |State(state): State<Shared>,
              Extension(ctx): Extension<Arc<Ctx>>,
              Path(id): Path<String>,
              headers: HeaderMap| async move {
            with_access(state, ctx, demo, |state, ctx, access| {
                subscription::cancel(state, ctx, id, headers, access)
            })
            .await
        },
    )
}

/// `POST`: preview a change. A preview stores itself: it runs to the end whatever the client
/// does.
pub(crate) fn preview(demo: bool) -> MethodRouter<Shared> {
    post(
        move |State(state): State<Shared>,
              Extension(ctx): Extension<Arc<Ctx>>,
              Path(id): Path<String>| {
            crate::ledger::to_completion(async move {
                let access = access_for(&state, &ctx, demo)?;
                subscription::preview(&state, &ctx, &id, access, &[]).await
            })
        },
    )
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

//! The HTTP application: every resource's routes ([`crate::routes`]) behind the gate
//! ([`crate::gate`]), static files and JSON errors for everything else.

use crate::error::ApiError;
use crate::routes::{self, Shared};
use crate::statics;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::SocketAddr;

pub fn router(state: Shared) -> Router {
    Router::new()
        .merge(routes::health::routes())
        .merge(routes::catalog::routes())
        .merge(routes::quotes::routes())
        .merge(routes::charges::routes())
        .merge(routes::invoices::routes())
        .merge(routes::subscriptions::routes())
        .merge(routes::renewals::routes())
        .merge(routes::reports::routes())
        .merge(routes::demo::routes())
        .merge(crate::automation::routes())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::gate::gate,
        ))
        .with_state(state)
}

/// Serves the app on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn fallback(State(state): State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if !(path == "/v1" || path.starts_with("/v1/")) {
        if let Some(r) = statics::serve(&state.statics, request.method(), &path).await {
            return r;
        }
    }
    ApiError::not_found("no such endpoint").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "",
        "this endpoint does not take this method",
    )
    .into_response()
}

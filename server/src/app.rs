//! The HTTP application: every resource's routes ([`crate::routes`]) behind the gate
//! ([`crate::gate`]), static files and JSON errors for everything else.

use crate::connection::JsonErrors;
use crate::error::ApiError;
use crate::routes::{self, Shared};
use crate::statics;
use axum::extract::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tower::ServiceExt;

pub fn router(state: Shared) -> Router {
    Router::new()
        .merge(routes::health::routes())
        .merge(routes::catalog::routes())
        .merge(routes::quotes::routes())
        .merge(routes::charges::routes())
        .merge(routes::invoices::routes())
        .merge(routes::credit_notes::routes())
        .merge(routes::payment_intents::routes())
        .merge(routes::subscriptions::routes())
        .merge(routes::renewals::routes())
        .merge(routes::reports::routes())
        .merge(routes::demo::routes())
        .merge(routes::automation::routes())
        .merge(routes::webhooks::routes())
        .merge(routes::events::routes())
        .merge(routes::emails::routes())
        .merge(routes::portal::routes())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::gate::gate,
        ))
        .with_state(state)
}

/// The HTTP parser's limits, well above the gate's (so an oversized request gets the gate's
/// JSON answer with its exact limits; past these hyper answers 431 itself and
/// [`crate::connection`] rewrites that answer as JSON). They bound the memory a request head
/// may take.
const PARSER_MAX_HEADERS: usize = 256;
const PARSER_MAX_BUF: usize = 256 * 1024;
/// A client must send its request head within this time (slow-loris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for in-flight requests by default
/// (`BILLCALC_DRAIN_TIMEOUT_SECONDS` in the binary).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// [`serve_draining`] with [`DRAIN_TIMEOUT`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_draining(listener, state, shutdown, DRAIN_TIMEOUT).await
}

/// Serves the app on a bound listener until `shutdown` resolves; then stops accepting (the
/// listener is closed: new connections are refused, and a load balancer moves on to another
/// instance), marks the server as draining (`/readyz` answers 503), lets requests in flight
/// finish (idle keep-alive connections are closed, busy ones close after their answer) for up
/// to `drain`, and returns.
pub async fn serve_draining(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.max_headers(PARSER_MAX_HEADERS)
        .max_buf_size(PARSER_MAX_BUF)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    crate::log::error("accept", serde_json::json!({"error": e.to_string()}));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let io = TokioIo::new(JsonErrors::new(stream, state.log_requests));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    state.draining.store(true, Ordering::SeqCst);
    crate::log::info("shutdown: draining", serde_json::json!({}));
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        crate::log::error(
            "shutdown: requests still in flight after the drain timeout",
            serde_json::json!({"seconds": drain.as_secs_f64()}),
        );
    }
    Ok(())
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

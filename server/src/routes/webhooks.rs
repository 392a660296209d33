//! Webhook endpoints and their delivery log (secret key; the flows are [`crate::webhooks`]):
//! `POST /v1/webhook_endpoints {url, enabled_events?}` (the answer shows the `secret` once),
//! `GET /v1/webhook_endpoints`, `GET /v1/webhook_deliveries?event=&limit=` (every attempt).

use super::{answer, limit, param, require, secret_read, Shared};
use crate::auth::KeyKind;
use crate::error::{ApiError, ApiResult};
use crate::ledger::store_error;
use crate::state::Ctx;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::Value;
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v1/webhook_endpoints",
            post(endpoint_create).get(endpoint_list),
        )
        .route("/v1/webhook_deliveries", get(deliveries))
}

async fn endpoint_create(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
) -> Response {
    answer(
        async {
            require(&ctx, KeyKind::Secret)?;
            let o = super::body_object(&ctx)?;
            crate::pricing::only_fields(o, &["url", "enabled_events"], "")?;
            let url = o
                .get("url")
                .and_then(Value::as_str)
                .filter(|u| {
                    (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2048
                })
                .ok_or_else(|| ApiError::invalid("url", "an http(s) URL"))?;
            let events: Vec<String> = match o.get("enabled_events") {
                None | Some(Value::Null) => vec![],
                Some(Value::Array(a)) => a
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        e.as_str()
                            .filter(|s| !s.is_empty() && s.len() <= 100 && !s.contains(','))
                            .map(str::to_string)
                            .ok_or_else(|| {
                                ApiError::invalid(format!("enabled_events[{i}]"), "an event type")
                            })
                    })
                    .collect::<ApiResult<_>>()?,
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "invalid_type",
                        "enabled_events",
                        "expected an array",
                    ))
                }
            };
            crate::webhooks::create_endpoint(&state, url, &events, state.clock.now())
                .await
                .map_err(store_error)
        }
        .await,
    )
}

async fn endpoint_list(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
) -> Response {
    secret_read(&ctx, || crate::webhooks::list_endpoints(&state)).await
}

async fn deliveries(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: Uri,
) -> Response {
    let event = param(&uri, "event");
    secret_read(&ctx, || {
        crate::webhooks::deliveries(&state, event.as_deref(), limit(&uri))
    })
    .await
}

//! Events (secret key; the flows are [`crate::events`] and [`crate::webhooks`]):
//! `GET /v1/events?object=&limit=` (newest first), `POST /v1/events/{id}/resend {endpoint?}`
//! (deliver an event again, same id).

use super::{answer, limit, param, require, secret_read, Shared};
use crate::auth::KeyKind;
use crate::error::ApiError;
use crate::ledger::store_error;
use crate::state::Ctx;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::Value;
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/events", get(events_list))
        .route("/v1/events/{id}/resend", post(event_resend))
}

async fn events_list(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: Uri,
) -> Response {
    let object = param(&uri, "object");
    secret_read(&ctx, || {
        crate::events::list(&state, object.as_deref(), limit(&uri))
    })
    .await
}

async fn event_resend(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Response {
    answer(
        async {
            require(&ctx, KeyKind::Secret)?;
            let endpoint = match &ctx.body {
                Some(Value::Object(o)) => {
                    crate::pricing::only_fields(o, &["endpoint"], "")?;
                    o.get("endpoint")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }
                _ => None,
            };
            crate::webhooks::resend(&state, &id, endpoint.as_deref(), state.clock.now())
                .await
                .map_err(store_error)?
                .ok_or_else(|| ApiError::not_found("no event with this id"))
        }
        .await,
    )
}

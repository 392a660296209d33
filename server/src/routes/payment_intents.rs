//! Payment intents, for operators (secret key; the data is [`crate::payment_intents`]):
//! `GET /v1/payment_intents?status=&stuck=true&limit=&starting_after=` (Stripe's list:
//! `{object: "list", url, has_more, data}`, newest first) and `GET /v1/payment_intents/{id}`.

use super::{param, require, Shared};
use crate::auth::KeyKind;
use crate::error::{ApiError, ApiResult};
use crate::ledger::store_error;
use crate::payment_intents::{self, Filter};
use crate::state::Ctx;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/payment_intents", get(list))
        .route("/v1/payment_intents/{id}", get(retrieve))
}

const STATUSES: &[&str] = &[
    "processing",
    "succeeded",
    "requires_payment_method",
    "canceled",
];

fn filter(uri: &Uri) -> ApiResult<Filter> {
    let status = param(uri, "status");
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::invalid(
                "status",
                format!("status must be one of {}", STATUSES.join(", ")),
            ));
        }
    }
    let stuck = match param(uri, "stuck").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid("stuck", "stuck must be true or false")),
    };
    if stuck && status.as_deref().is_some_and(|s| s != "processing") {
        return Err(ApiError::invalid(
            "status",
            "stuck intents are processing: give stuck=true alone or with status=processing",
        ));
    }
    let limit = match param(uri, "limit") {
        None => 10,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| ApiError::invalid("limit", "limit must be an integer from 1 to 100"))?,
    };
    Ok(Filter {
        status,
        stuck,
        limit,
        starting_after: param(uri, "starting_after"),
    })
}

async fn list(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: Uri,
) -> Response {
    super::answer(
        async {
            require(&ctx, KeyKind::Secret)?;
            let filter = filter(&uri)?;
            let now = state.clock.now();
            let page = payment_intents::list(&state, &filter, now)
                .await
                .map_err(store_error)?;
            let data: Vec<Value> = page
                .data
                .iter()
                .map(|i| payment_intents::view(i, now))
                .collect();
            Ok(json!({
                "object": "list",
                "url": "/v1/payment_intents",
                "has_more": page.has_more,
                "data": data,
            }))
        }
        .await,
    )
}

async fn retrieve(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Response {
    super::answer(
        async {
            require(&ctx, KeyKind::Secret)?;
            let intent = payment_intents::one(&state, &id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| ApiError::not_found(format!("No such payment_intent: '{id}'")))?;
            Ok(payment_intents::view(&intent, state.clock.now()))
        }
        .await,
    )
}

//! `POST /v1/renewals`.

use super::{body_object, ok_json, require, Shared};
use crate::auth::KeyKind;
use crate::error::ApiError;
use crate::pricing::only_fields;
use crate::state::Ctx;
use crate::subscription::{self};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::Value;
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new().route("/v1/renewals", post(renewals))
}

/// clock; never later than it, so no invoice is issued early).
async fn renewals(State(state): State<Shared>, Extension(ctx): Extension<Arc<Ctx>>) -> Response {
    let result = async {
        require(&ctx, KeyKind::Secret)?;
        let now = state.clock.now();
        let as_of = match &ctx.body {
            None => now,
            Some(_) => {
                let o = body_object(&ctx)?;
                only_fields(o, &["as_of"], "")?;
                match o.get("as_of") {
                    None | Some(Value::Null) => now,
                    Some(v) => {
                        let t: billcalc::time::Timestamp =
                            billcalc::from_value(v).map_err(|e| ApiError::engine(e, "as_of"))?;
                        t.resolve("as_of").map_err(|e| ApiError::engine(e, ""))?
                    }
                }
            }
        };
        if as_of > now {
            return Err(ApiError::invalid(
                "as_of",
                "renewals are never issued ahead of the server's clock",
            ));
        }
        let report = subscription::run_renewals(&state, as_of).await?;
        Ok(ok_json(&report))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

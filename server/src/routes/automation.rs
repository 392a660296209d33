//! `POST /v1/automation/run` (secret key): renewals, dunning retries and reminders due at the
//! server's clock, then deliveries (the flows are [`crate::automation`]):
//! `{object: "automation_run", as_of, renewals, dunning, reminders, webhooks, emails}`.

use super::{answer, require, Shared};
use crate::auth::KeyKind;
use crate::automation::{deliver, tick};
use crate::state::Ctx;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::json;
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new().route("/v1/automation/run", post(run))
}

async fn run(State(state): State<Shared>, Extension(ctx): Extension<Arc<Ctx>>) -> Response {
    answer(
        async {
            require(&ctx, KeyKind::Secret)?;
            let now = state.clock.now();
            let renewals = crate::subscription::run_renewals(&state, now).await?;
            let mut out = tick(&state, now).await;
            out["renewals"] = renewals;
            let d = deliver(&state, now).await;
            out["webhooks"] = d["webhooks"].clone();
            out["emails"] = d["emails"].clone();
            out["object"] = json!("automation_run");
            out["as_of"] = json!(now);
            Ok(out)
        }
        .await,
    )
}

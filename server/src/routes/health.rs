//! `GET /healthz`.

use super::{ok_json, Shared};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

pub fn routes() -> Router<Shared> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<Shared>) -> Response {
    ok_json(
        &json!({"status": "ok", "engine": billcalc::VERSION, "database": state.store.backend()}),
    )
}

//! `GET /v1/reports/{mrr,movements,churn,cohorts}` (secret key): revenue reports as JSON, or
//! CSV with `Accept: text/csv`; computed by `crate::reports`.

use super::{ok_json, require, Shared};
use crate::auth::KeyKind;
use crate::error::ApiError;
use crate::reports;
use crate::state::Ctx;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new().route("/v1/reports/{name}", get(report))
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.split(',').any(|t| t.trim().starts_with("text/csv")))
}

/// `GET /v1/reports/{name}`.
async fn report(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let result = async {
        if !reports::REPORTS.contains(&name.as_str()) {
            return Err(ApiError::not_found(format!(
                "no report `{name}` (mrr, movements, churn, cohorts)"
            )));
        }
        require(&ctx, KeyKind::Secret)?;
        let report = reports::compute(&state, query.as_deref()).await?;
        let rows = reports::rows(&name, &report);
        if wants_csv(&headers) {
            let mut response = reports::csv(&rows).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename=\"{name}-{}-{}.csv\"",
                report.start, report.end
            )) {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            return Ok(response);
        }
        let body = json!({
            "object": "report",
            "report": name,
            "currency": report.currency,
            "interval": report.interval,
            "start": report.start,
            "end": report.end,
            "rounding": report.rounding,
            "engine": report.version,
            "columns": rows.first().map(|r| r.iter().map(|(k, _)| *k).collect::<Vec<_>>()),
            "data": rows
                .iter()
                .map(|r| r.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Map<String, Value>>())
                .collect::<Vec<_>>(),
        });
        Ok(ok_json(&body))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

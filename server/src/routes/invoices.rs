//! `GET /v1/invoices/{id}` (JSON or HTML; secret key or the hosted link's access token) and the
//! upcoming invoice of a subscription (`GET`/`POST /v1/invoices/upcoming`).

use super::{body_object, query_param, require, storage_unavailable, Shared};
use crate::auth::KeyKind;
use crate::error::{json_response, ApiError, ApiResult};
use crate::invoice::InvoiceDocument;
use crate::state::{AppState, Ctx};
use crate::subscription::{self, Access};
use crate::{statics, token};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/invoices/{id}", get(invoice_get))
        .route(
            "/v1/invoices/upcoming",
            get(upcoming_get).post(upcoming_post),
        )
}

async fn invoice_get(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    invoice_inner(&state, &ctx, id, &uri, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn invoice_inner(
    state: &AppState,
    ctx: &Ctx,
    id: String,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let (id, html_suffix) = match id.strip_suffix(".html") {
        Some(stem) => (stem.to_string(), true),
        None => (id, false),
    };
    let by_token = query_param(uri.query(), "access_token")
        .is_some_and(|t| token::check_invoice_access(&state.signing_key, &id, t));
    if !by_token {
        require(ctx, KeyKind::Secret)?;
    }
    let record = state
        .store
        .invoice(&id)
        .await
        .map_err(storage_unavailable)?
        .ok_or_else(|| ApiError::not_found("no invoice with this id"))?;
    let wants_html = html_suffix
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        let doc: InvoiceDocument = serde_json::from_str(&record.document)
            .map_err(|e| ApiError::internal(format!("stored invoice does not read back: {e}")))?;
        // The hosted page may show the post-payment confirmation and a link back to the shop.
        let hosted = crate::invoice_page::Hosted::from_query(uri.query());
        let page = crate::invoice_page::render(&doc, &hosted);
        let mut r = (StatusCode::OK, page).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        return Ok(r);
    }
    // The collection state over the document (crate::dunning): status, attempts.
    let document = crate::dunning::with_collection(state, &id, record.document).await;
    let mut r = json_response(StatusCode::OK, document);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(r)
}

/// `GET /v1/invoices/upcoming?subscription=ID`: the next invoice as the subscription stands.
async fn upcoming_get(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: axum::http::Uri,
) -> Response {
    let result = async {
        require(&ctx, KeyKind::Secret)?;
        let id = query_param(uri.query(), "subscription").ok_or_else(|| {
            ApiError::bad_request(
                "missing_field",
                "subscription",
                "the subscription query parameter is required",
            )
        })?;
        let id = statics::percent_decode(id).unwrap_or_default();
        subscription::upcoming(&state, &id, Access::Merchant).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/invoices/upcoming {subscription, ...change}`: Stripe's upcoming-invoice preview
/// of a change; the same as `POST /v1/subscriptions/{id}/preview`.
async fn upcoming_post(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
) -> Response {
    let result = async {
        require(&ctx, KeyKind::Secret)?;
        let id = body_object(&ctx)?
            .get("subscription")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "missing_field",
                    "subscription",
                    "subscription (the id) is required",
                )
            })?;
        subscription::preview(&state, &ctx, &id, Access::Merchant, &["subscription"]).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

//! `POST /v1/credit_notes`, `POST /v1/refunds` (the flow is [`crate::credit_note`]),
//! `GET /v1/credit_notes/{id}` (JSON, or the e-invoice by suffix / `Accept`) and
//! `GET /v1/credit_notes?invoice=ID`. Secret key; the files also open with the invoice page's
//! access token for the credit note.

use super::{query_param, require, Shared};
use crate::auth::KeyKind;
use crate::credit_note::{self, CreditNoteDocument};
use crate::error::{ApiError, ApiResult};
use crate::ledger::{idempotency_key, to_completion};
use crate::state::Ctx;
use crate::{einvoice, token};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use std::sync::Arc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v1/credit_notes",
            post(create_credit_note).get(list_credit_notes),
        )
        .route("/v1/credit_notes/{id}", get(get_credit_note))
        .route("/v1/refunds", post(create_refund))
}

/// What both writes start with: the secret key, the scoped `Idempotency-Key`, the JSON body.
fn keyed_body(ctx: &Ctx, headers: &HeaderMap) -> ApiResult<(String, serde_json::Value)> {
    require(ctx, KeyKind::Secret)?;
    let key = idempotency_key(ctx, headers)?;
    let body = ctx
        .body
        .clone()
        .ok_or_else(|| ApiError::bad_request("invalid_request", "", "a JSON body is required"))?;
    Ok((key, body))
}

async fn create_credit_note(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
) -> Response {
    to_completion(async move {
        let (key, body) = keyed_body(&ctx, &headers)?;
        let request = credit_note::parse_credit_note(&body);
        credit_note::issue(&state, &body, &key, request, credit_note::view).await
    })
    .await
}

async fn create_refund(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
) -> Response {
    to_completion(async move {
        let (key, body) = keyed_body(&ctx, &headers)?;
        let request = match credit_note::parse_refund(&body) {
            Ok((charge, amount, reason)) => credit_note::invoice_of_charge(&state, &charge)
                .await
                .map(|invoice| credit_note::Request {
                    invoice,
                    lines: None,
                    amount,
                    reason,
                    memo: None,
                }),
            Err(e) => Err(e),
        };
        credit_note::issue(&state, &body, &key, request, credit_note::refund_view).await
    })
    .await
}

async fn list_credit_notes(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: axum::http::Uri,
) -> Response {
    let result: ApiResult<Response> = async {
        require(&ctx, KeyKind::Secret)?;
        let invoice = query_param(uri.query(), "invoice").ok_or_else(|| {
            ApiError::bad_request(
                "missing_field",
                "invoice",
                "the invoice query parameter is required",
            )
        })?;
        let notes = crate::payment_recovery::credit_notes_rendered(&state, invoice).await?;
        let data: Vec<_> = notes.iter().map(credit_note::view).collect();
        Ok(super::ok_json(&serde_json::json!({
            "object": "list",
            "url": "/v1/credit_notes",
            "has_more": false,
            "data": data,
        })))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn get_credit_note(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let result: ApiResult<Response> = async {
        let (id, suffix_format) = match einvoice::Format::from_path(&id) {
            Some((stem, format)) => (stem.to_string(), Some(format)),
            None => (id, None),
        };
        let by_token = query_param(uri.query(), "access_token")
            .is_some_and(|t| token::check_invoice_access(&state.signing_key, &id, t));
        if !by_token {
            require(&ctx, KeyKind::Secret)?;
        }
        // Answered once committed, rendered in the background: read after it is stored.
        crate::payment_recovery::ensure_einvoice(&state, &id).await?;
        let doc: CreditNoteDocument = credit_note::find(&state, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("no credit note with this id"))?;
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(format) = suffix_format.or_else(|| einvoice::Format::from_accept(accept)) {
            let stored = doc.einvoice.as_ref().ok_or_else(|| {
                ApiError::not_found(
                    "this credit note has no EN 16931 form (see the server log at issue)",
                )
            })?;
            return super::invoices::serve_file(stored, &doc.number, format);
        }
        Ok(super::ok_json(&credit_note::view(&doc)))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

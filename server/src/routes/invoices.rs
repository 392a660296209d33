//! `GET /v1/invoices/{id}` (JSON or HTML; secret key or the hosted link's access token) and the
//! upcoming invoice of a subscription (`GET`/`POST /v1/invoices/upcoming`).

use super::{body_object, query_param, require, Shared};
use crate::auth::KeyKind;
use crate::error::{json_response, ApiError, ApiResult};
use crate::invoice::InvoiceDocument;
use crate::ledger::storage_unavailable;
use crate::state::{AppState, Ctx};
use crate::subscription::{self, Access};
use crate::{einvoice, statics, token};
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
    state: &Arc<AppState>,
    ctx: &Ctx,
    id: String,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let (id, html_suffix, suffix_format) = match id.strip_suffix(".html") {
        Some(stem) => (stem.to_string(), true, None),
        None => match einvoice::Format::from_path(&id) {
            Some((stem, format)) => (stem.to_string(), false, Some(format)),
            None => (id, false, None),
        },
    };
    let by_token = query_param(uri.query(), "access_token")
        .is_some_and(|t| token::check_invoice_access(&state.signing_key, &id, t));
    if !by_token {
        require(ctx, KeyKind::Secret)?;
    }
    // A charge or a subscription operation is answered once its invoice is committed; its
    // e-invoice is rendered right after, in the background. Read after it is stored: wait for
    // it, or render it now.
    crate::intent::ensure_einvoice(state, &id).await?;
    crate::payment_recovery::ensure_einvoice(state, &id).await?;
    let record = state
        .store
        .invoice(&id)
        .await
        .map_err(storage_unavailable)?
        .ok_or_else(|| ApiError::not_found("no invoice with this id"))?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = suffix_format.or_else(|| {
        (!html_suffix)
            .then(|| einvoice::Format::from_accept(accept))
            .flatten()
    });
    if let Some(format) = format {
        return einvoice_file(&record.document, &record.number_display, format);
    }
    let wants_html = html_suffix || accept.contains("text/html");
    if wants_html {
        let doc: InvoiceDocument = serde_json::from_str(&record.document)
            .map_err(|e| ApiError::internal(format!("stored invoice does not read back: {e}")))?;
        // The hosted page: the post-payment confirmation and a link back to the shop when the
        // checkout asks for them, and the e-invoice files when the invoice has them.
        let mut hosted = crate::invoice_page::Hosted::from_query(uri.query());
        if doc.einvoice.is_some() {
            let access = token::invoice_access_token(&state.signing_key, &id);
            hosted.documents = downloads(&id, Some(&access));
        }
        // Its credit notes (avoirs), each as Factur-X, with the credit note's own token.
        for note in crate::payment_recovery::credit_notes_rendered(state, &id).await? {
            if note.einvoice.is_some() {
                let access = token::invoice_access_token(&state.signing_key, &note.id);
                hosted.documents.push((
                    format!("{} (Factur-X PDF)", note.number),
                    format!("/v1/credit_notes/{}.pdf?access_token={access}", note.id),
                ));
            }
        }
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
    // The e-invoices as links and hashes, not their content.
    let mut value: Value = serde_json::from_str(&record.document)
        .map_err(|e| ApiError::internal(format!("stored invoice does not read back: {e}")))?;
    if let Some(e) = value
        .get("einvoice")
        .cloned()
        .and_then(|e| serde_json::from_value::<einvoice::StoredEinvoice>(e).ok())
    {
        value["einvoice"] = einvoice::summary(&id, &e);
    }
    // The collection state over the document (crate::dunning): status, attempts.
    let document = crate::dunning::with_collection(state, &id, value.to_string()).await;
    let mut r = json_response(StatusCode::OK, document);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(r)
}

/// A stored e-invoice file, checked against its SHA-256 (sent as `Digest` and
/// `X-Content-SHA256`), never rendered again.
fn einvoice_file(document: &str, number: &str, format: einvoice::Format) -> ApiResult<Response> {
    let doc: InvoiceDocument = serde_json::from_str(document)
        .map_err(|e| ApiError::internal(format!("stored invoice does not read back: {e}")))?;
    let stored = doc.einvoice.ok_or_else(|| {
        ApiError::not_found("this invoice has no EN 16931 form (see the server log at issue)")
    })?;
    serve_file(&stored, number, format)
}

/// One stored file of an invoice or a credit note, checked against its SHA-256.
pub(crate) fn serve_file(
    stored: &einvoice::StoredEinvoice,
    number: &str,
    format: einvoice::Format,
) -> ApiResult<Response> {
    let bytes = einvoice::file_bytes(stored, format).map_err(ApiError::internal)?;
    let sha = match format {
        einvoice::Format::Pdf => &stored.pdf.sha256,
        einvoice::Format::Cii => &stored.cii.sha256,
        einvoice::Format::Ubl => &stored.ubl.sha256,
    };
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    let name = format!("attachment; filename=\"{number}{}\"", format.suffix());
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(sha) {
        h.insert("x-content-sha256", v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(r)
}

/// The e-invoice files of an invoice as `(label, href)` links for the hosted page: Factur-X
/// (PDF/A-3 with the CII XML inside), CII and UBL, with the page's access token.
fn downloads(id: &str, token: Option<&str>) -> Vec<(String, String)> {
    let q = token
        .map(|t| format!("?access_token={t}"))
        .unwrap_or_default();
    vec![
        (
            "Factur-X (PDF)".to_string(),
            format!("/v1/invoices/{id}.pdf{q}"),
        ),
        (
            "CII (XML)".to_string(),
            format!("/v1/invoices/{id}.cii.xml{q}"),
        ),
        (
            "UBL (XML)".to_string(),
            format!("/v1/invoices/{id}.ubl.xml{q}"),
        ),
    ]
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
    crate::ledger::to_completion(async move {
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
    })
    .await
}

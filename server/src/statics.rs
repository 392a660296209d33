//! Static files (the demo page `www/` and the npm package `pkg/`) served from the same origin as
//! the API, so the page needs no CORS. Read-only, GET/HEAD, no directory listings, no path
//! escapes.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::{Component, Path, PathBuf};

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json; charset=utf-8",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "ts" | "md" | "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Errors have the API's JSON shape here too.
fn json_error(status: StatusCode, text: &'static str) -> Response {
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        _ => "invalid_path",
    };
    crate::error::ApiError::new(status, code, "", text.trim_end()).into_response()
}

/// Serves `url_path` from the first mount whose prefix it starts with; `None` when no mount
/// matches.
pub async fn serve(
    mounts: &[(String, PathBuf)],
    method: &Method,
    url_path: &str,
) -> Option<Response> {
    let (prefix, dir) = mounts
        .iter()
        .find(|(p, _)| url_path.starts_with(p.as_str()))?;
    if method != Method::GET && method != Method::HEAD {
        return Some(json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "static files are read with GET or HEAD",
        ));
    }
    let Some(decoded) = percent_decode(&url_path[prefix.len()..]) else {
        return Some(json_error(
            StatusCode::BAD_REQUEST,
            "the path has bad percent-encoding",
        ));
    };
    let relative = Path::new(&decoded);
    if decoded.contains('\0')
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Some(json_error(StatusCode::NOT_FOUND, "no such file"));
    }
    let mut file = dir.join(relative);
    match tokio::fs::metadata(&file).await {
        Ok(meta) if meta.is_dir() => {
            if !url_path.ends_with('/') {
                let location = format!("{url_path}/");
                return Some(
                    (
                        StatusCode::MOVED_PERMANENTLY,
                        [(header::LOCATION, location)],
                    )
                        .into_response(),
                );
            }
            file = file.join("index.html");
        }
        Ok(_) => {}
        Err(_) => return Some(json_error(StatusCode::NOT_FOUND, "no such file")),
    }
    let Ok(bytes) = tokio::fs::read(&file).await else {
        return Some(json_error(StatusCode::NOT_FOUND, "no such file"));
    };
    let length = bytes.len();
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&length.to_string()) {
        headers.insert(header::CONTENT_LENGTH, v);
    }
    Some(response)
}

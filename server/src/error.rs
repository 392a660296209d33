//! Structured API errors, shaped exactly like the engine's: `{"error": {"code", "path", "message"}}`.
//!
//! Some errors carry one more field beside those three (`differences` for a total mismatch,
//! `decline_code` for a declined card); `code`, `path` and `message` are always there. Engine
//! errors keep their code and path, prefixed with where the engine input sits in the request
//! (`cart.lines[0].price`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub path: String,
    pub message: String,
    /// Extra fields of the error object (`differences`, `decline_code`).
    pub extra: Map<String, Value>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            path: path.into(),
            message: message.into(),
            extra: Map::new(),
        }
    }

    pub fn bad_request(
        code: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, path, message)
    }

    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad_request("invalid_request", path, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "",
            message,
        )
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// An engine error, its path put under `prefix` (e.g. `cart`).
    pub fn engine(error: billcalc::Error, prefix: &str) -> Self {
        let error = error.within(prefix);
        Self::bad_request(error.code.as_str(), error.path, error.message)
    }

    pub fn body(&self) -> Value {
        let mut object = Map::new();
        object.insert("code".into(), Value::String(self.code.clone()));
        object.insert("path".into(), Value::String(self.path.clone()));
        object.insert("message".into(), Value::String(self.message.clone()));
        for (k, v) in &self.extra {
            object.insert(k.clone(), v.clone());
        }
        let mut outer = Map::new();
        outer.insert("error".into(), Value::Object(object));
        Value::Object(outer)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} at '{}': {}",
            self.status.as_u16(),
            self.code,
            self.path,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

/// A JSON response from already serialized text.
pub fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, self.body().to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

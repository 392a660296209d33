//! Deserialization with paths: any serde source (JSON text, a JS value) into the engine's input
//! types, with errors that name the offending field.

use crate::error::{join_path, Error, ErrorCode, Result};
use serde::{Deserialize, Deserializer};

/// Deserializes `T`, reporting the path of the first offending field.
pub fn from_deserializer<'de, T: Deserialize<'de>, D: Deserializer<'de>>(source: D) -> Result<T> {
    serde_path_to_error::deserialize(source).map_err(|e| {
        let mut error = Error::from_serde(e.path().to_string(), e.inner());
        // serde_json appends a position to data errors; the path already says where.
        if let Some(at) = error.message.rfind(" at line ") {
            error.message.truncate(at);
        }
        // serde names a missing field in its message, not in the path: move it there.
        if error.code == ErrorCode::MissingField {
            if let Some(field) = error.message.split('`').nth(1) {
                error.path = join_path(&error.path, field);
            }
        }
        error
    })
}

/// Parses JSON text into `T` (the path every runtime takes, so all report the same errors).
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = from_deserializer(&mut de)?;
    de.end().map_err(|e| Error::from_serde(String::new(), &e))?;
    Ok(value)
}

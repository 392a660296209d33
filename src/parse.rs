//! Deserialization with paths: any serde source (JSON text, a JS value) into the engine's input
//! types, with errors that name the offending field.

use crate::error::{join_path, Error, ErrorCode, Result};
use serde::{Deserialize, Deserializer};

/// Deserializes `T`, reporting the path of the first offending field.
pub fn from_deserializer<'de, T: Deserialize<'de>, D: Deserializer<'de>>(source: D) -> Result<T> {
    serde_path_to_error::deserialize(source).map_err(|e| {
        let mut error = Error::from_serde(e.path().to_string(), e.inner());
        // serde names a missing field in its message, not in the path: move it there.
        if error.code == ErrorCode::MissingField {
            if let Some(field) = error.message.split('`').nth(1) {
                error.path = join_path(&error.path, field);
            }
        }
        error
    })
}

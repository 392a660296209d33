//! JSON into the engine's input types, with errors that name the offending field
//! (`lines[2].price.tiers[1].up_to`).
//!
//! Text is parsed into a `serde_json::Value` once; the typed input is then read from that value
//! by its [`FromJson`] reader (see [`crate::json`]), which knows where it is and puts the path on
//! the error. Every runtime (native, Node, browser) takes this one path, so all report the same
//! errors.

use crate::error::{Error, ErrorCode, Result};
use crate::json::{FromJson, Path};
use serde_json::Value;

/// Parses JSON text into `T`.
pub fn from_json<T: FromJson>(text: &str) -> Result<T> {
    from_value(&json_value(text)?)
}

/// Parses JSON text into an untyped value (malformed JSON is `invalid_type` at the root).
pub fn json_value(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::new(ErrorCode::InvalidType, "", e.to_string()))
}

/// Reads `T` from an already parsed JSON value.
pub fn from_value<T: FromJson>(value: &Value) -> Result<T> {
    T::from_json_value(value, &Path::Root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QuoteInput;

    fn error(json: &str) -> (ErrorCode, String) {
        let e = from_json::<QuoteInput>(json).unwrap_err();
        (e.code, e.path)
    }

    #[test]
    fn paths() {
        assert_eq!(error("{"), (ErrorCode::InvalidType, String::new()));
        assert_eq!(error("{}"), (ErrorCode::MissingField, "currency".into()));
        assert_eq!(
            error(r#"{"currency":"usd","lines":[{"price":"p","qty":1}]}"#),
            (ErrorCode::UnknownField, "lines[0].qty".into())
        );
        assert_eq!(
            error(
                r#"{"currency":"usd","lines":[{"price":"p"},{"price":{"currency":"usd","tiers":[{"up_to":1},{"up_to":"x"}]}}]}"#
            ),
            (
                ErrorCode::InvalidType,
                "lines[1].price.tiers[1].up_to".into()
            )
        );
        assert_eq!(
            error(r#"{"currency":"usd","lines":[{"price":{}}]}"#),
            (ErrorCode::MissingField, "lines[0].price.currency".into())
        );
        assert_eq!(
            error(r#"{"currency":"usd","lines":[],"rounding":{"mode":"x"}}"#),
            (ErrorCode::InvalidType, "rounding.mode".into())
        );
        assert_eq!(
            error(r#"{"currency":"usd","lines":[{"price":"p","quantity":1.5}]}"#),
            (ErrorCode::InvalidType, "lines[0].quantity".into())
        );
        assert_eq!(error(r#"[]"#), (ErrorCode::InvalidType, String::new()));
    }
}

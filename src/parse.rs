//! JSON into the engine's input types, with errors that name the offending field
//! (`lines[2].price.tiers[1].up_to`).
//!
//! Text is scanned into the engine's own [`crate::json_value::Value`] once
//! ([`crate::json_scan`]); the typed input is then read from that value by its [`FromJson`]
//! reader (see [`crate::json`]), which knows where it is and puts the path on the error. Every
//! runtime (native, Node, browser) takes this one path, so all report the same errors.
//!
//! The scanner is strict where serde_json is lenient: an object with the same key twice
//! (`{"quantity":1,"quantity":5}`) is `duplicate_field` at that key's path instead of "the last
//! one wins" (RFC 8259 §4 leaves duplicates to the reader; a billing engine must not pick one
//! silently). The server reads request bodies through it too ([`json_value`]).

use crate::error::{Error, ErrorCode, Result};
use crate::json::{FromJson, Path};
use crate::json_value::Value;

/// Parses JSON text into `T` (through the engine's own scanner, [`crate::json_scan`]).
pub fn from_json<T: FromJson>(text: &str) -> Result<T> {
    T::from_json_value(&crate::json_scan::scan(text)?, &Path::Root)
}

/// Parses JSON text into an untyped serde_json value (the server's request bodies, the
/// adapters' platform carts), through the same scanner. Malformed JSON, or a number beyond a
/// float's range (`1e400`), is `invalid_type` at the root; a key repeated in one object is
/// `duplicate_field` at its path (`lines[0].quantity`).
pub fn json_value(text: &str) -> Result<serde_json::Value> {
    crate::json_scan::scan(text)?
        .into_serde()
        .ok_or_else(|| Error::new(ErrorCode::InvalidType, "", "number out of range"))
}

/// Reads `T` from an already parsed serde_json value. A float in it is read as the decimal it
/// prints as (`0.1`), its shortest round-trip text.
pub fn from_value<T: FromJson>(value: &serde_json::Value) -> Result<T> {
    T::from_json_value(&Value::from(value), &Path::Root)
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
        assert_eq!(error(r#"{} x"#), (ErrorCode::InvalidType, String::new()));
    }

    #[test]
    fn duplicate_keys_are_rejected_at_their_path() {
        // Issue 11 finding 7: last-wins priced quantity 5.
        assert_eq!(
            error(r#"{"currency":"usd","lines":[{"price":"p","quantity":1,"quantity":5}]}"#),
            (ErrorCode::DuplicateField, "lines[0].quantity".into())
        );
        assert_eq!(
            error(r#"{"currency":"usd","currency":"usd","lines":[]}"#),
            (ErrorCode::DuplicateField, "currency".into())
        );
        assert_eq!(
            error(r#"{"currency":"usd","lines":[],"metadata":{"a":"1","b":"2","a":"3"}}"#),
            (ErrorCode::DuplicateField, "metadata.a".into())
        );
        // Same key in different objects is fine; so is the same value twice in an array.
        let ok: QuoteInput = from_json(
            r#"{"currency":"usd","lines":[{"price":"p","quantity":1},{"price":"p","quantity":1}]}"#,
        )
        .unwrap();
        assert_eq!(ok.lines.len(), 2);
        // Untyped readers (the adapters, the server) get the same check.
        assert_eq!(
            json_value(r#"[{"a":{"b":1,"b":2}}]"#).unwrap_err().path,
            "[0].a.b"
        );
        assert_eq!(
            json_value(r#"{"a":1.5,"b":[null,true,"x",-3,18446744073709551615]}"#).unwrap(),
            serde_json::json!({"a":1.5,"b":[null,true,"x",-3,18446744073709551615u64]})
        );
    }
}

//! JSON into the engine's input types, with errors that name the offending field
//! (`lines[2].price.tiers[1].up_to`).
//!
//! Text is parsed into a `serde_json::Value` once ([`json_value`]); the typed input is then read
//! from that value by its [`FromJson`] reader (see [`crate::json`]), which knows where it is and
//! puts the path on the error. Every runtime (native, Node, browser) takes this one path, so all
//! report the same errors.
//!
//! [`json_value`] is strict where serde_json is lenient: an object with the same key twice
//! (`{"quantity":1,"quantity":5}`) is `duplicate_field` at that key's path instead of "the last
//! one wins" (RFC 8259 §4 leaves duplicates to the reader; a billing engine must not pick one
//! silently). The server reads request bodies through it too.

use crate::error::{Error, ErrorCode, Result};
use crate::json::{FromJson, Path};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::fmt;

/// Parses JSON text into `T`.
pub fn from_json<T: FromJson>(text: &str) -> Result<T> {
    from_value(&json_value(text)?)
}

/// Parses JSON text into an untyped value. Malformed JSON is `invalid_type` at the root; a key
/// repeated in one object is `duplicate_field` at its path (`lines[0].quantity`).
pub fn json_value(text: &str) -> Result<Value> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Strict {
        path: &Path::Root,
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|v| deserializer.end().map(|()| v));
    parsed.map_err(|e| {
        duplicate
            .into_inner()
            .unwrap_or_else(|| Error::new(ErrorCode::InvalidType, "", e.to_string()))
    })
}

/// Reads `T` from an already parsed JSON value.
pub fn from_value<T: FromJson>(value: &Value) -> Result<T> {
    T::from_json_value(value, &Path::Root)
}

/// A `Value` reader that knows where it is and rejects repeated keys; the structured error is
/// left in `duplicate` (serde's errors are text).
#[derive(Clone, Copy)]
struct Strict<'a> {
    path: &'a Path<'a>,
    duplicate: &'a RefCell<Option<Error>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let path = Path::Index(self.path, items.len());
            let seed = Strict {
                path: &path,
                duplicate: self.duplicate,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = Path::Key(self.path, &key);
            if out.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(Error::new(
                    ErrorCode::DuplicateField,
                    path.to_string(),
                    "the same key appears twice in this object",
                ));
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(Strict {
                path: &path,
                duplicate: self.duplicate,
            })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
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

//! JSON into the engine's input types, with errors that name the offending field
//! (`lines[2].price.tiers[1].up_to`).
//!
//! Text is parsed into a `serde_json::Value` once; the typed input is then read from that value
//! through [`PathDeserializer`], which knows where it is and stamps the path on the first error.
//! Every runtime (native, Node, browser) takes this one path, so all report the same errors.
//! A generic path-tracking wrapper (serde_path_to_error) did the same job, but it wrapped every
//! visitor of every input type and cost about 70 KB of wasm.

use crate::error::{join_path, Error, ErrorCode, Result};
use crate::json::FromJson;
use serde::de::{
    self, value::StrDeserializer, DeserializeOwned, DeserializeSeed, Deserializer,
    IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};
use std::fmt;

/// Parses JSON text into `T`.
pub fn from_json<T: FromJson>(text: &str) -> Result<T> {
    from_value(&json_value(text)?)
}

/// Parses JSON text into an untyped value (malformed JSON is `invalid_type` at the root).
pub fn json_value(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        let mut error = Error::from_serde(String::new(), &e);
        error.code = ErrorCode::InvalidType;
        error
    })
}

/// Reads `T` from an already parsed JSON value.
pub fn from_value<T: FromJson>(value: &Value) -> Result<T> {
    T::from_json_value(value, &crate::json::Path::Root)
}

/// Reads `T` through serde from a JSON value (paths relative to it).
pub(crate) fn serde_value<T: DeserializeOwned>(value: &Value) -> Result<T> {
    T::deserialize(PathDeserializer {
        value,
        path: Path::Root,
    })
    .map_err(|e| {
        let mut error = Error::from_serde(e.path.unwrap_or_default(), &e.message);
        // serde names a missing field in its message, not in the path: move it there.
        if error.code == ErrorCode::MissingField {
            if let Some(field) = error.message.split('`').nth(1) {
                error.path = join_path(&error.path, field);
            }
        }
        error
    })
}

/// Where a value sits in the input: a chain of keys and indices back to the root.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// A deserialization error; `path` is filled in by the innermost map or sequence it leaves.
#[derive(Debug)]
pub struct PathError {
    path: Option<String>,
    message: String,
}

impl PathError {
    fn at(mut self, path: &Path) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_string());
        }
        self
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PathError {}

impl de::Error for PathError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        PathError {
            path: None,
            message: message.to_string(),
        }
    }
}

/// A `serde::Deserializer` over a JSON value that knows its path.
struct PathDeserializer<'de, 'p> {
    value: &'de Value,
    path: Path<'p>,
}

type R<T> = std::result::Result<T, PathError>;

impl<'de> Deserializer<'de> for PathDeserializer<'de, '_> {
    type Error = PathError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (_, Some(i), _) => visitor.visit_i64(i),
                (_, _, Some(f)) => visitor.visit_f64(f),
                _ => Err(de::Error::custom("unsupported number")),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Items {
                items: items.iter(),
                index: 0,
                path: &self.path,
            }),
            Value::Object(map) => visitor.visit_map(Fields::new(map, &self.path)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants are strings (`"graduated"`); that is the only enum shape the inputs use.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        match self.value {
            Value::String(s) => visitor.visit_enum(StrDeserializer::<PathError>::new(s)),
            other => Err(de::Error::invalid_type(unexpected(other), &"a string")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct Items<'de, 'p> {
    items: std::slice::Iter<'de, Value>,
    index: usize,
    path: &'p Path<'p>,
}

impl<'de> SeqAccess<'de> for Items<'de, '_> {
    type Error = PathError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        let Some(value) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(self.path, self.index);
        self.index += 1;
        seed.deserialize(PathDeserializer { value, path })
            .map(Some)
            .map_err(|e| e.at(&path))
    }
}

struct Fields<'de, 'p> {
    entries: serde_json::map::Iter<'de>,
    value: Option<(&'de str, &'de Value)>,
    path: &'p Path<'p>,
}

impl<'de, 'p> Fields<'de, 'p> {
    fn new(map: &'de Map<String, Value>, path: &'p Path<'p>) -> Self {
        Fields {
            entries: map.iter(),
            value: None,
            path,
        }
    }
}

impl<'de> MapAccess<'de> for Fields<'de, '_> {
    type Error = PathError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> R<Option<K::Value>> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((key, value));
        let key_de: StrDeserializer<'de, PathError> = key.as_str().into_deserializer();
        // An unknown field is reported at the field itself.
        seed.deserialize(key_de)
            .map(Some)
            .map_err(|e| e.at(&Path::Key(self.path, key)))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> R<V::Value> {
        let Some((key, value)) = self.value.take() else {
            return Err(de::Error::custom("value requested before its key"));
        };
        let path = Path::Key(self.path, key);
        seed.deserialize(PathDeserializer { value, path })
            .map_err(|e| e.at(&path))
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
    }
}

//! Input types read straight from a `serde_json::Value`, without serde-derived visitors.
//!
//! A derived `Deserialize` costs about 5 KB of wasm per type (its `visit_map`, per-field
//! `Option` handling and error construction); the engine has dozens of input types. Here each
//! type reads its fields through a few small shared non-generic functions, with JS-style error
//! paths (`lines[2].price.tiers[1].up_to`) built only when an error occurs.
//!
//! The errors are those serde reported: `unknown_field` at the field, `missing_field` at the
//! field, `invalid_type` at the offending value. JSON `null` is an absent optional field.

use crate::error::{Error, ErrorCode, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Where a value sits in the input: a chain of keys and indices back to the root, formatted
/// only when an error needs it.
#[derive(Clone, Copy)]
pub enum Path<'a> {
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

/// A type the engine reads from JSON input.
pub trait FromJson: Sized {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self>;
}

/// `invalid_type` at `path`.
pub(crate) fn invalid(path: &Path, expected: &str) -> Error {
    Error::new(
        ErrorCode::InvalidType,
        path.to_string(),
        ["invalid type: expected ", expected].concat(),
    )
}

pub(crate) fn as_str<'v>(value: &'v Value, path: &Path) -> Result<&'v str> {
    value.as_str().ok_or_else(|| invalid(path, "a string"))
}

/// Implements [`FromJson`] for a unit-variant enum read from its snake_case name.
macro_rules! json_enum {
    ($ty:ty { $($name:literal => $variant:expr),+ $(,)? }) => {
        impl $crate::json::FromJson for $ty {
            fn from_json_value(
                value: &serde_json::Value,
                path: &$crate::json::Path,
            ) -> $crate::error::Result<Self> {
                match $crate::json::as_str(value, path)? {
                    $($name => Ok($variant),)+
                    _ => Err($crate::json::invalid(path, "a known variant")),
                }
            }
        }
    };
}
pub(crate) use json_enum;

/// A JSON object being read as a struct.
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a Path<'a>,
    /// The first field (in key order) that the type does not know.
    unknown: Option<&'a str>,
}

impl<'a> Obj<'a> {
    /// The object at `path`, whose fields must all be among `known`.
    pub(crate) fn new(value: &'a Value, path: &'a Path<'a>, known: &[&str]) -> Result<Obj<'a>> {
        let Value::Object(map) = value else {
            return Err(invalid(path, "an object"));
        };
        let unknown = map.keys().find(|k| !known.contains(&k.as_str()));
        Ok(Obj {
            map,
            path,
            unknown: unknown.map(String::as_str),
        })
    }

    fn unknown_error(&self, key: &str) -> Error {
        Error::new(
            ErrorCode::UnknownField,
            Path::Key(self.path, key).to_string(),
            ["unknown field `", key, "`"].concat(),
        )
    }

    /// Fails with the unknown field when it comes before `key` (fields are seen in key order).
    fn check_unknown(&self, key: &str) -> Result<()> {
        match self.unknown {
            Some(u) if u < key => Err(self.unknown_error(u)),
            _ => Ok(()),
        }
    }

    /// Ends the read: fails with an unknown field not reported yet.
    pub(crate) fn end<T>(&self, value: T) -> Result<T> {
        match self.unknown {
            Some(u) => Err(self.unknown_error(u)),
            None => Ok(value),
        }
    }

    /// A required field (present: even `null` is read by `T`).
    pub(crate) fn req<T: FromJson>(&self, key: &str) -> Result<T> {
        self.check_unknown(key)?;
        match self.map.get(key) {
            Some(v) => T::from_json_value(v, &Path::Key(self.path, key)),
            None => Err(self.missing(key)),
        }
    }

    fn missing(&self, key: &str) -> Error {
        // An unknown field is reported before any missing one.
        if let Some(u) = self.unknown {
            return self.unknown_error(u);
        }
        Error::new(
            ErrorCode::MissingField,
            Path::Key(self.path, key).to_string(),
            ["missing field `", key, "`"].concat(),
        )
    }

    /// An optional field: `None` when absent or `null`.
    pub(crate) fn opt<T: FromJson>(&self, key: &str) -> Result<Option<T>> {
        self.check_unknown(key)?;
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => T::from_json_value(v, &Path::Key(self.path, key)).map(Some),
        }
    }

    /// A field with a default when absent (`null` is read by `T`, as serde's `default` does).
    pub(crate) fn or<T: FromJson>(&self, key: &str, default: impl FnOnce() -> T) -> Result<T> {
        self.check_unknown(key)?;
        match self.map.get(key) {
            None => Ok(default()),
            Some(v) => T::from_json_value(v, &Path::Key(self.path, key)),
        }
    }

    /// A field defaulting to `T::default()` when absent.
    pub(crate) fn def<T: FromJson + Default>(&self, key: &str) -> Result<T> {
        self.or(key, T::default)
    }
}

impl FromJson for String {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        as_str(value, path).map(str::to_string)
    }
}

impl FromJson for i64 {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        value.as_i64().ok_or_else(|| invalid(path, "an integer"))
    }
}

impl FromJson for usize {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        value
            .as_u64()
            .and_then(|u| usize::try_from(u).ok())
            .ok_or_else(|| invalid(path, "a non-negative integer"))
    }
}

impl FromJson for bool {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        value.as_bool().ok_or_else(|| invalid(path, "a boolean"))
    }
}

impl FromJson for Value {
    fn from_json_value(value: &Value, _path: &Path) -> Result<Self> {
        Ok(value.clone())
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            v => T::from_json_value(v, path).map(Some),
        }
    }
}

/// The items of an array.
pub(crate) fn items<'v>(value: &'v Value, path: &Path) -> Result<&'v [Value]> {
    match value {
        Value::Array(items) => Ok(items),
        _ => Err(invalid(path, "an array")),
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        items(value, path)?
            .iter()
            .enumerate()
            .map(|(i, v)| T::from_json_value(v, &Path::Index(path, i)))
            .collect()
    }
}

/// The entries of an object read as a map.
pub(crate) fn entries<'v>(value: &'v Value, path: &Path) -> Result<&'v Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(invalid(path, "an object")),
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        entries(value, path)?
            .iter()
            .map(|(k, v)| Ok((k.clone(), T::from_json_value(v, &Path::Key(path, k))?)))
            .collect()
    }
}

//! Input types read straight from a JSON [`Value`] (the engine's own, [`crate::json_value`]),
//! without serde-derived visitors.
//!
//! A derived `Deserialize` costs about 5 KB of wasm per type (its `visit_map`, per-field
//! `Option` handling and error construction); the engine has dozens of input types. Here each
//! type reads its fields through a few small shared non-generic functions, with JS-style error
//! paths (`lines[2].price.tiers[1].up_to`) built only when an error occurs.
//!
//! The errors are those serde reported: `unknown_field` at the field, `missing_field` at the
//! field, `invalid_type` at the offending value. JSON `null` is an absent optional field.

use crate::error::{Error, ErrorCode, Result};
pub use crate::json_value::{Map, Number, Value};
use std::cell::RefCell;
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

pub(crate) fn as_str<'v>(value: &'v Value<'_>, path: &Path) -> Result<&'v str> {
    value.as_str().ok_or_else(|| invalid(path, "a string"))
}

/// Implements [`FromJson`] for a unit-variant enum read from its snake_case name.
macro_rules! json_enum {
    ($ty:ty { $($name:literal => $variant:expr),+ $(,)? }) => {
        impl $crate::json::FromJson for $ty {
            fn from_json_value(
                value: &$crate::json::Value,
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

/// A JSON value being read as a struct: an object. (serde also read a struct from an array of
/// its fields in declaration order; that made `new Calculator([])` an empty catalog, so an
/// array is `invalid_type` here.)
///
/// Every field is read, and the error reported is the one serde reported: the first unknown or
/// malformed field in key order, else the first missing required field in declaration order. Readers call every getter (a bad field yields a default or `None`), then
/// build the struct and pass it to [`Obj::finish`], which returns the error instead if any.
pub(crate) struct Obj<'a> {
    fields: &'a Map<'a>,
    path: &'a Path<'a>,
    /// The error to report and its rank (position of its field; missing fields rank last).
    error: RefCell<Option<(usize, Error)>>,
}

impl<'a> Obj<'a> {
    /// The struct at `path`, whose fields (declaration order) are `known`.
    pub(crate) fn new(
        value: &'a Value<'a>,
        path: &'a Path<'a>,
        known: &'a [&'a str],
    ) -> Result<Obj<'a>> {
        let Value::Object(fields) = value else {
            return Err(invalid(path, "an object"));
        };
        let obj = Obj {
            fields,
            path,
            error: RefCell::new(None),
        };
        if let Some((rank, key)) = fields.keys().enumerate().find(|(_, k)| !known.contains(k)) {
            let error = Error::new(
                ErrorCode::UnknownField,
                Path::Key(path, key).to_string(),
                ["unknown field `", key, "`"].concat(),
            );
            obj.record(rank, error);
        }
        Ok(obj)
    }

    /// Keeps `error` when it ranks before the one kept so far; returns it.
    fn record(&self, rank: usize, error: Error) -> Error {
        let mut kept = self.error.borrow_mut();
        if kept.as_ref().map_or(true, |(r, _)| rank < *r) {
            *kept = Some((rank, error.clone()));
        }
        error
    }

    /// The struct read, or the error to report if any field had one.
    pub(crate) fn finish<T>(&self, value: T) -> Result<T> {
        match self.error.borrow_mut().take() {
            Some((_, error)) => Err(error),
            None => Ok(value),
        }
    }

    /// The error kept (after a getter returned `None` for a required field).
    pub(crate) fn failed(&self) -> Error {
        match self.error.borrow_mut().take() {
            Some((_, error)) => error,
            None => invalid(self.path, "a valid object"),
        }
    }

    /// The field's value, `None` when absent.
    fn get(&self, key: &str) -> Option<&'a Value<'a>> {
        self.fields.get(key)
    }

    /// Where an error at `key` ranks: its position in key order.
    fn rank(&self, key: &str) -> usize {
        self.fields.position(key).unwrap_or(usize::MAX)
    }

    /// The field read by `T`; `None` (the error kept) when it is malformed.
    fn read<T: FromJson>(&self, key: &str, value: &Value) -> Option<T> {
        T::from_json_value(value, &Path::Key(self.path, key))
            .map_err(|e| self.record(self.rank(key), e))
            .ok()
    }

    /// A required field (present: even `null` is read by `T`); `None` when absent or malformed
    /// (the reader then returns [`Obj::failed`]).
    pub(crate) fn req<T: FromJson>(&self, key: &str) -> Option<T> {
        match self.get(key) {
            Some(v) => self.read(key, v),
            // Missing fields rank after every other error (serde reports them at the end).
            None => {
                self.missing(key);
                None
            }
        }
    }

    fn missing(&self, key: &str) -> Error {
        self.record(
            usize::MAX,
            Error::new(
                ErrorCode::MissingField,
                Path::Key(self.path, key).to_string(),
                ["missing field `", key, "`"].concat(),
            ),
        )
    }

    /// An optional field: `None` when absent or `null`.
    pub(crate) fn opt<T: FromJson>(&self, key: &str) -> Option<T> {
        match self.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => self.read(key, v),
        }
    }

    /// A field with a default when absent (`null` is read by `T`, as serde's `default` does).
    pub(crate) fn or<T: FromJson>(&self, key: &str, default: fn() -> T) -> T {
        match self.get(key) {
            Some(v) => self.read(key, v),
            None => None,
        }
        .unwrap_or_else(default)
    }

    /// An optional instant in Unix seconds (`None` when absent or `null`): an integer between
    /// 1970-01-01 and 9999-12-31T23:59:59Z ([`crate::time::MAX_INSTANT`]), else `invalid_date`,
    /// like every instant the engine reads.
    pub(crate) fn instant(&self, key: &str) -> Option<i64> {
        let t: i64 = self.opt(key)?;
        if (0..=crate::time::MAX_INSTANT).contains(&t) {
            return Some(t);
        }
        self.record(
            self.rank(key),
            Error::new(
                ErrorCode::InvalidDate,
                Path::Key(self.path, key).to_string(),
                "instant outside 1970-01-01 .. 9999-12-31 (Unix seconds)",
            ),
        );
        None
    }

    /// A field defaulting to `T::default()` when absent.
    pub(crate) fn def<T: FromJson + Default>(&self, key: &str) -> T {
        self.or(key, T::default)
    }
}

impl FromJson for String {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        let text = as_str(value, path)?;
        if text.len() > crate::limits::MAX_STRING_BYTES {
            return Err(Error::new(
                ErrorCode::LimitExceeded,
                path.to_string(),
                format!(
                    "string of {} bytes, at most {} (see billcalc::limits)",
                    text.len(),
                    crate::limits::MAX_STRING_BYTES
                ),
            ));
        }
        Ok(text.to_string())
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

impl<T: FromJson> FromJson for Option<T> {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            v => T::from_json_value(v, path).map(Some),
        }
    }
}

/// The items of an array.
pub(crate) fn items<'v, 't>(value: &'v Value<'t>, path: &Path) -> Result<&'v [Value<'t>]> {
    match value {
        Value::Array(items) => {
            crate::limits::check(
                items.len(),
                crate::limits::MAX_ENTRIES,
                &path.to_string(),
                "entries",
            )?;
            Ok(items)
        }
        _ => Err(invalid(path, "an array")),
    }
}

// The two collection readers below are plain loops rather than `collect::<Result<_>>()`: the
// iterator adapters behind `collect` (GenericShunt, fold, size hints) were instantiated for every
// element type and cost more wasm than the loop (issue 12).
impl<T: FromJson> FromJson for Vec<T> {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        let items = items(value, path)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.iter().enumerate() {
            out.push(T::from_json_value(v, &Path::Index(path, i))?);
        }
        Ok(out)
    }
}

/// The entries of an object read as a map.
pub(crate) fn entries<'v, 't>(value: &'v Value<'t>, path: &Path) -> Result<&'v Map<'t>> {
    match value {
        Value::Object(map) => {
            crate::limits::check(
                map.len(),
                crate::limits::MAX_ENTRIES,
                &path.to_string(),
                "entries",
            )?;
            Ok(map)
        }
        _ => Err(invalid(path, "an object")),
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
        let mut out = BTreeMap::new();
        for (k, v) in entries(value, path)?.iter() {
            out.insert(k.to_string(), T::from_json_value(v, &Path::Key(path, k))?);
        }
        Ok(out)
    }
}

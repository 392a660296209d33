//! The engine's own JSON value: what [`crate::json_scan`] reads from text and every
//! [`crate::json::FromJson`] reader takes.
//!
//! It has serde_json's shape and number semantics (so the readers behave as they did on
//! `serde_json::Value`), with two differences that matter for a billing engine in the browser:
//! - a number that is not an integer keeps its **text** (`9.975`), so a percentage is read as
//!   the exact decimal written, never through a binary float (issue 12: no f64 in parsing);
//! - an object is a vector of entries sorted by key (the order serde_json's `Map`, a `BTreeMap`,
//!   gave the readers), looked up by binary search: no `BTreeMap<String, Value>` in the wasm.
//!
//! Strings and keys **borrow from the text** they were read from (`Cow::Borrowed`); only a string
//! with an escape (`\n`, `\u00e9`) is decoded into its own allocation. Reading a 20-line cart
//! allocated one string per key and per id before, and freed them all again (issue 12: the input
//! tree was about 45 % of a quote's time text to text).
//!
//! Conversions from and to `serde_json::Value` serve the server and the adapters, which work on
//! serde_json values.

use std::borrow::Cow;

/// A JSON value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value<'t> {
    #[default]
    Null,
    Bool(bool),
    Number(Number<'t>),
    String(Cow<'t, str>),
    Array(Vec<Value<'t>>),
    Object(Map<'t>),
}

/// A JSON number, classified as serde_json does: an integer that fits a `u64` (positive) or an
/// `i64` (negative) is an integer; anything else (a fraction, an exponent, `-0`, an integer
/// beyond 64 bits) is kept as its text, exactly as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Number<'t> {
    PosInt(u64),
    NegInt(i64),
    Other(Cow<'t, str>),
}

impl Number<'_> {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Number::PosInt(u) => Some(u),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Number::PosInt(u) => i64::try_from(u).ok(),
            Number::NegInt(i) => Some(i),
            Number::Other(_) => None,
        }
    }

    pub fn is_u64(&self) -> bool {
        self.as_u64().is_some()
    }

    pub fn is_i64(&self) -> bool {
        self.as_i64().is_some()
    }
}

/// A JSON object: entries sorted by key, keys unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map<'t>(Vec<(Cow<'t, str>, Value<'t>)>);

impl<'t> Map<'t> {
    /// The map of `entries`, which must be sorted by key without repeats (the scanner and the
    /// conversion from serde_json build them so).
    pub(crate) fn from_sorted(entries: Vec<(Cow<'t, str>, Value<'t>)>) -> Map<'t> {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        Map(entries)
    }

    /// Where `key` is in key order.
    pub fn position(&self, key: &str) -> Option<usize> {
        // Most objects a reader looks into have a few keys (a cart line: `price`, `quantity`),
        // and a reader asks for every field it knows: comparing for equality (lengths first) is
        // cheaper there than ordering by bytes (issue 12: the lookups were 6k instructions of a
        // 20-line quote).
        if self.0.len() <= 8 {
            return self.0.iter().position(|(k, _)| **k == *key);
        }
        self.0.binary_search_by(|(k, _)| (**k).cmp(key)).ok()
    }

    pub fn get(&self, key: &str) -> Option<&Value<'t>> {
        self.position(key).map(|i| &self.0[i].1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value<'t>)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    /// The keys in key order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }
}

impl<'t> Value<'t> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }
}

/// From serde_json (the server's and the tests' values), borrowing its strings. A float becomes
/// its shortest round-trip text (`0.1` → `"0.1"`), which is what JavaScript's `JSON.stringify`
/// writes for it.
impl<'s> From<&'s serde_json::Value> for Value<'s> {
    fn from(value: &'s serde_json::Value) -> Value<'s> {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Number::PosInt(u),
                (None, Some(i)) => Number::NegInt(i),
                _ => Number::Other(Cow::Owned(n.to_string())),
            }),
            serde_json::Value::String(s) => Value::String(Cow::Borrowed(s)),
            serde_json::Value::Array(items) => {
                Value::Array(items.iter().map(Value::from).collect())
            }
            // serde_json's `Map` (a BTreeMap here: no `preserve_order`) iterates in key order.
            serde_json::Value::Object(map) => Value::Object(Map::from_sorted(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Value::from(v)))
                    .collect(),
            )),
        }
    }
}

impl Value<'_> {
    /// The same value owning its strings.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Number(Number::PosInt(u)) => Value::Number(Number::PosInt(u)),
            Value::Number(Number::NegInt(i)) => Value::Number(Number::NegInt(i)),
            Value::Number(Number::Other(text)) => {
                Value::Number(Number::Other(Cow::Owned(text.into_owned())))
            }
            Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
            Value::Array(items) => Value::Array(items.into_iter().map(Value::into_owned).collect()),
            Value::Object(Map(entries)) => Value::Object(Map(entries
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                .collect())),
        }
    }

    /// As a serde_json value; `None` when a number is beyond a float's range (`1e400`), which
    /// serde_json refuses to hold.
    pub fn into_serde(self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(Number::PosInt(u)) => serde_json::Value::Number(u.into()),
            Value::Number(Number::NegInt(i)) => serde_json::Value::Number(i.into()),
            // serde_json's own reading of the float (what its parser gave before); it refuses
            // a number beyond a float's range.
            Value::Number(Number::Other(text)) => {
                serde_json::Value::Number(serde_json::from_str(&text).ok()?)
            }
            Value::String(s) => serde_json::Value::String(s.into_owned()),
            Value::Array(items) => serde_json::Value::Array(
                items
                    .into_iter()
                    .map(Value::into_serde)
                    .collect::<Option<_>>()?,
            ),
            Value::Object(Map(entries)) => serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| Some((k.into_owned(), v.into_serde()?)))
                    .collect::<Option<_>>()?,
            ),
        })
    }
}

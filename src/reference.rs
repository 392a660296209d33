//! "An id from the catalog, or the object inline": how lines name their price, discounts their
//! coupon and lines their tax rates.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

#[derive(Debug, Clone)]
pub enum IdOr<T> {
    Id(String),
    Inline(Box<T>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for IdOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = IdOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id or an object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdOr<T>, E> {
                Ok(IdOr::Id(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IdOr<T>, A::Error> {
                // Deserializing from the same map access keeps field paths intact.
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| IdOr::Inline(Box::new(t)))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<T: crate::json::FromJson> crate::json::FromJson for IdOr<T> {
    fn from_json_value(
        value: &serde_json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        match value {
            serde_json::Value::String(id) => Ok(IdOr::Id(id.clone())),
            serde_json::Value::Object(_) => {
                T::from_json_value(value, path).map(|t| IdOr::Inline(Box::new(t)))
            }
            _ => Err(crate::json::invalid(path, "an id or an object")),
        }
    }
}

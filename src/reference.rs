//! "An id from the catalog, or the object inline": how lines name their price, discounts their
//! coupon and lines their tax rates.

#[derive(Debug, Clone)]
pub enum IdOr<T> {
    Id(String),
    Inline(Box<T>),
}

impl<T: crate::json::FromJson> crate::json::FromJson for IdOr<T> {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        match value {
            crate::json::Value::String(id) => Ok(IdOr::Id(id.to_string())),
            crate::json::Value::Object(_) => {
                T::from_json_value(value, path).map(|t| IdOr::Inline(Box::new(t)))
            }
            _ => Err(crate::json::invalid(path, "an id or an object")),
        }
    }
}

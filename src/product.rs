//! Catalog products: what a price sells. A line's product is its price's `product`; cart
//! promotion rules target products and their `categories`, and the tax stage reads
//! `tax_category`.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A product as the merchant declares it. Only `id` is required.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Merchant-defined categories (`"shoes"`, `"sale"`) cart promotion rules can target.
    #[serde(default)]
    pub categories: Vec<String>,
    /// The product's tax category (`"standard"`, `"shipping"`, …); a line's own
    /// `tax_category` overrides it.
    #[serde(default)]
    pub tax_category: Option<String>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for Product {
    fn from_json_value(
        value: &serde_json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "id",
                "name",
                "description",
                "categories",
                "tax_category",
                "metadata",
            ],
        )?;
        o.end(Product {
            id: o.req("id")?,
            name: o.opt("name")?,
            description: o.opt("description")?,
            categories: o.def("categories")?,
            tax_category: o.opt("tax_category")?,
            metadata: o.opt("metadata")?,
        })
    }
}

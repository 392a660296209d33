//! Catalog products: what a price sells. A line's product is its price's `product`; cart
//! promotion rules target products and their `categories`, and the tax stage reads
//! `tax_category`.

use std::collections::BTreeMap;

/// A product as the merchant declares it. Only `id` is required.
#[derive(Debug, Clone, Default)]
pub struct Product {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Merchant-defined categories (`"shoes"`, `"sale"`) cart promotion rules can target.
    pub categories: Vec<String>,
    /// The product's tax category (`"standard"`, `"shipping"`, …); a line's own
    /// `tax_category` overrides it.
    pub tax_category: Option<String>,
    /// Stripe's product `type`: `good` or `service`. Decides the EU place of supply (goods to
    /// an EU business: exempt intra-Community supply, K; services: reverse charge, AE). When
    /// absent, `digital_services` products are services and every other category goods.
    pub kind: Option<ProductType>,
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Stripe's product `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductType {
    Good,
    Service,
}

crate::json::json_enum!(ProductType {
    "good" => ProductType::Good,
    "service" => ProductType::Service,
});

// Input reading (see `crate::json`).

impl crate::json::FromJson for Product {
    fn from_json_value(
        value: &crate::json::Value,
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
                "type",
                "metadata",
            ],
        )?;
        let id = o.req("id");
        let name = o.opt("name");
        let description = o.opt("description");
        let categories = o.def("categories");
        let tax_category = o.opt("tax_category");
        let kind = o.opt("type");
        let metadata = o.opt("metadata");
        let Some(id) = id else {
            return Err(o.failed());
        };
        o.finish(Product {
            id,
            name,
            description,
            categories,
            tax_category,
            kind,
            metadata,
        })
    }
}

//! The customer a quote is for: where they are, which tax ids they hold, their status.

use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub struct Customer {
    pub id: Option<String>,
    pub address: Option<Address>,
    /// Stripe-shaped tax ids, e.g. `{ "type": "eu_vat", "value": "DE123456789" }`.
    pub tax_ids: Vec<TaxId>,
    pub tax_exempt: TaxExempt,
    /// Whether the customer has paid before (for first-time-only promotion codes). The engine
    /// cannot know this; the caller says it.
    pub has_paid_before: Option<bool>,
    /// Stripe's customer balance in minor units: negative is credit the customer holds,
    /// positive is debt carried to the next invoice. Only `previewInvoice` applies it; a quote
    /// rejects it rather than silently ignore it.
    pub balance: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct Address {
    /// ISO 3166-1 alpha-2, any case.
    pub country: String,
    /// Region, province or state code (`QC`, `CA`), any case.
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TaxId {
    pub kind: String,
    pub value: String,
}

/// Stripe's `tax_exempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxExempt {
    #[default]
    None,
    Exempt,
    Reverse,
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for Customer {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "id",
                "address",
                "tax_ids",
                "tax_exempt",
                "has_paid_before",
                "balance",
            ],
        )?;
        let id = o.opt("id");
        let address = o.opt("address");
        let tax_ids = o.def("tax_ids");
        let tax_exempt = o.def("tax_exempt");
        let has_paid_before = o.opt("has_paid_before");
        let balance = o.opt("balance");
        o.finish(Customer {
            id,
            address,
            tax_ids,
            tax_exempt,
            has_paid_before,
            balance,
        })
    }
}

impl crate::json::FromJson for Address {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &["country", "state", "postal_code", "city", "line1", "line2"],
        )?;
        let country = o.req("country");
        let state = o.opt("state");
        let postal_code = o.opt("postal_code");
        let city = o.opt("city");
        let line1 = o.opt("line1");
        let line2 = o.opt("line2");
        let Some(country) = country else {
            return Err(o.failed());
        };
        o.finish(Address {
            country,
            state,
            postal_code,
            city,
            line1,
            line2,
        })
    }
}

impl crate::json::FromJson for TaxId {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["type", "value"])?;
        let kind = o.req("type");
        let value = o.req("value");
        let (Some(kind), Some(value)) = (kind, value) else {
            return Err(o.failed());
        };
        o.finish(TaxId { kind, value })
    }
}

crate::json::json_enum!(TaxExempt {
    "none" => TaxExempt::None,
    "exempt" => TaxExempt::Exempt,
    "reverse" => TaxExempt::Reverse,
});

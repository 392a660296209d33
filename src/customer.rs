//! The customer a quote is for: where they are, which tax ids they hold, their status.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub address: Option<Address>,
    /// Stripe-shaped tax ids, e.g. `{ "type": "eu_vat", "value": "DE123456789" }`.
    #[serde(default)]
    pub tax_ids: Vec<TaxId>,
    #[serde(default)]
    pub tax_exempt: TaxExempt,
    /// Whether the customer has paid before (for first-time-only promotion codes). The engine
    /// cannot know this; the caller says it.
    #[serde(default)]
    pub has_paid_before: Option<bool>,
    /// Stripe's customer balance in minor units: negative is credit the customer holds,
    /// positive is debt carried to the next invoice. Only `previewInvoice` applies it; a quote
    /// rejects it rather than silently ignore it.
    #[serde(default)]
    pub balance: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// ISO 3166-1 alpha-2, any case.
    pub country: String,
    /// Region, province or state code (`QC`, `CA`), any case.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub line1: Option<String>,
    #[serde(default)]
    pub line2: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxId {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// Stripe's `tax_exempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxExempt {
    #[default]
    None,
    Exempt,
    Reverse,
}

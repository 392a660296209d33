//! The tax stage: which rates apply to each line (by place, product category and date, or as
//! explicit Stripe-shaped rates), then the amounts, rounded at the declared stage.
//!
//! - [`config`]: what merchants and callers declare (seller, rates, rules, settings);
//! - [`place`]: where a sale is taxed and how (rates, reverse charge, export, exemption);
//! - [`compute`]: the arithmetic (inclusive back-out, exclusive, compound, line or invoice rounding);
//! - [`table`]: the built-in effective-dated rates; [`territory`]: places with a special VAT
//!   status (Canary Islands, Monaco, Northern Ireland…); [`vat_id`]: VAT numbers' check digits.

pub mod compute;
pub mod config;
pub(crate) mod group;
pub mod place;
pub mod table;
pub mod territory;
pub mod vat_id;

pub use compute::{apply, LineTaxes, TaxOutcome};
pub use config::{TaxConfig, TaxRate, TaxRateRef, TaxRule, TaxSetup};

use crate::percent::Percent;
use serde::Serialize;
use std::sync::Arc;

/// Built-in tax types (merchant rates may name any other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxType {
    Vat,
    Gst,
    Hst,
    Pst,
    Qst,
    Rst,
    Jct,
}

impl TaxType {
    pub fn as_str(self) -> &'static str {
        match self {
            TaxType::Vat => "vat",
            TaxType::Gst => "gst",
            TaxType::Hst => "hst",
            TaxType::Pst => "pst",
            TaxType::Qst => "qst",
            TaxType::Rst => "rst",
            TaxType::Jct => "jct",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            TaxType::Vat => "VAT",
            TaxType::Gst => "GST",
            TaxType::Hst => "HST",
            TaxType::Pst => "PST",
            TaxType::Qst => "QST",
            TaxType::Rst => "RST",
            TaxType::Jct => "JCT",
        }
    }
}

/// EN 16931 VAT category codes (BT-118 / BT-151).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum VatCategory {
    /// Standard or reduced rate (any rate above zero).
    S,
    /// Zero rated.
    Z,
    /// Exempt (a reason is required).
    E,
    /// Reverse charge.
    AE,
    /// Intra-community supply of goods.
    K,
    /// Export outside the EU.
    G,
    /// Outside the scope of tax.
    O,
}

/// When tax amounts are rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingStage {
    /// Round each line's tax, then sum (Stripe's default).
    #[default]
    Line,
    /// Per rate, sum the unrounded amounts and round once (EN 16931 BT-117).
    Invoice,
}

/// Who a rate is and where it applies: everything about a tax except its amount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RateDescriptor {
    /// The explicit tax rate's id, when the rate came from one.
    pub tax_rate: Option<String>,
    pub percentage: Percent,
    pub display_name: String,
    pub tax_type: String,
    pub jurisdiction: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub inclusive: bool,
    pub category: VatCategory,
    /// Stripe's vocabulary: `standard_rated`, `reduced_rated`, `zero_rated`, `product_exempt`,
    /// `customer_exempt`, `reverse_charge`, `not_collecting`, `not_subject_to_tax`, or `null`
    /// for explicit rates.
    pub taxability_reason: Option<&'static str>,
    /// Why no tax is charged (EN 16931 BT-120), for categories E, AE, K, G and O.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_reason: Option<&'static str>,
    /// The exemption reason's code (EN 16931 BT-121, CEF VATEX list): `VATEX-EU-IC` (K),
    /// `VATEX-EU-AE`, `VATEX-EU-G`, `VATEX-EU-O`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_reason_code: Option<&'static str>,
}

/// A rate's description, shared: built once per rate and quote, then every line taxed at that
/// rate and its `total_taxes` entry point at the same one (a clone is a reference count, not
/// six strings: issue 12). Equality compares the descriptions (the same allocation is equal at
/// once: std's `Arc` checks the pointer first for `Eq` types).
pub type SharedRate = Arc<RateDescriptor>;

/// One tax on one line (Stripe's line `taxes[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineTax {
    pub amount: i64,
    pub taxable_amount: i64,
    #[serde(flatten)]
    pub rate: SharedRate,
}

/// One rate's total over the quote (Stripe's `total_taxes[]`, the EN 16931 VAT breakdown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TotalTax {
    pub amount: i64,
    pub taxable_amount: i64,
    #[serde(flatten)]
    pub rate: SharedRate,
}

/// A statement the invoice must carry: `reverse_charge` or `intra_community_supply` with the
/// buyer's VAT number, `special_territory` naming the territory whose rule applied,
/// `tax_id_ignored`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxNote {
    pub code: &'static str,
    pub text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_tax_id: Option<String>,
    /// `special_territory` notes: the territory's name (`Canary Islands`, `Monaco`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub territory: Option<&'static str>,
}

/// A customer tax id as the engine read it (Stripe's invoice `customer_tax_ids`): the
/// normalised number when its type is one the engine checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerTaxId {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// Stripe's `automatic_tax` summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AutomaticTax {
    pub enabled: bool,
    /// `complete`, or `requires_location_inputs` when the customer's country is unknown (the
    /// quote is then computed without automatic tax).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

// Input reading (see `crate::json`).

crate::json::json_enum!(RoundingStage {
    "line" => RoundingStage::Line,
    "invoice" => RoundingStage::Invoice,
});

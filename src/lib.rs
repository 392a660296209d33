//! billcalc: exact billing arithmetic (pricing, tax, discounts, proration) for checkout pages,
//! shop plugins and billing back ends. One crate, natively and in WebAssembly.
//!
//! Money is integer minor units at the API and `rust_decimal::Decimal` inside; no float touches
//! an amount. Every rounding goes through [`RoundingPolicy::round`], every split through
//! [`allocate`]. Library code never panics: bad input is an [`Error`] with a code and a path.

#![doc = include_str!("../README.md")]

pub mod adapters;
pub mod allocate;
pub mod catalog;
pub mod currency;
pub mod customer;
pub mod discount;
pub mod error;
pub mod few;
pub mod invoice_json;
pub mod json;
pub mod json_scan;
pub mod json_value;
pub mod limits;
pub mod metrics;
pub mod money;
pub mod parse;
pub mod percent;
pub mod price;
pub mod product;
pub mod quote;
mod quote_json;
pub mod reference;
pub mod rounding;
mod sort;
pub mod subscription;
pub mod tax;
#[cfg(test)]
mod test_rng;
pub mod time;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
/// `billcalc/einvoice`: the e-invoice functions of the JS package (its own wasm build).
#[cfg(all(target_arch = "wasm32", feature = "einvoice"))]
pub mod wasm_einvoice;

pub use allocate::allocate;
pub use catalog::{Calculator, Catalog};
pub use currency::Currency;
pub use error::{Error, ErrorCode, Result};
pub use metrics::{revenue_metrics, MetricsInput, RevenueReport};
pub use parse::{from_json, from_value};
pub use price::Price;
pub use quote::{compute_quote, Quote, QuoteInput, VERSION};
pub use rounding::{RoundingMode, RoundingPolicy};
pub use subscription::{
    billing_dates, credit_note, dunning_schedule, preview_invoice, BillingDatesInput,
    CreditNoteInput, DunningInput, Invoice, PreviewInvoiceInput,
};

#[cfg(feature = "einvoice")]
pub mod einvoice;

//! What an invoice line says beyond a quote line: its kind, the service period it bills, whether
//! it is a proration, whether invoice-level discounts may touch it, and how its amount was
//! derived. Quote lines carry none of it (the fields are absent from a quote's output).

use crate::price::AggregateUsage;
use crate::rounding::RoundingPolicy;
use rust_decimal::Decimal;
use serde::Serialize;

/// A half-open span of time `[start, end)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub start: i64,
    pub end: i64,
}

/// Stripe's line `type` (`subscription`, `invoiceitem`), refined: prorations, usage charges and
/// minimum-commitment true-ups are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineType {
    /// A licensed item's charge for a service period (in advance).
    Subscription,
    /// Unused time credited or remaining time charged after a change.
    Proration,
    /// A metered item's usage over a period (in arrears).
    Usage,
    /// A pending invoice item the caller passed in.
    Invoiceitem,
    /// The top-up to a minimum spend commitment.
    MinimumCommitment,
}

/// The invoice-only facts of a line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineInfo {
    #[serde(rename = "type")]
    pub kind: LineType,
    /// The subscription item's id, when the line comes from an item that has one.
    pub subscription_item: Option<String>,
    pub period: Period,
    pub proration: bool,
    /// Whether invoice-level discounts may discount the line (false for prorations and credits).
    pub discountable: bool,
    /// How the amount was computed; `null` for an amount the caller gave (an invoice item).
    pub derivation: Option<Derivation>,
}

/// How an amount was derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// `quantity` × the price for a whole period.
    Price,
    /// A share of the whole-period amount: a period shortened by the anchor or by `cancel_at`.
    PartialPeriod,
    /// A share of the whole-period amount for the time left after a change (credit or debit).
    Proration,
    /// Usage records aggregated and priced through the price's scheme.
    Usage,
    /// A trial period: nothing to pay.
    Trial,
    /// The difference between a commitment and what the lines it covers came to.
    MinimumCommitment,
}

/// A short machine-readable explanation of one amount: enough for a person (or a test) to redo
/// the arithmetic. Decimal values are strings in minor units, exactly as computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derivation {
    pub method: Method,
    /// Units priced (the item's quantity, or the aggregated usage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    /// What `quantity` costs for a whole period, unrounded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_period_amount: Option<String>,
    /// Second granularity: the seconds billed or credited, and the seconds of the whole period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_in_period: Option<i64>,
    /// Day granularity: the calendar days billed or credited, and the days of the whole period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_in_period: Option<i64>,
    /// Usage: how the records were aggregated, how many fell in the period, how many did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregate_usage: Option<AggregateUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_outside_period: Option<i64>,
    /// Minimum commitment: the commitment and what the covered lines came to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<i64>,
    /// The exact value before rounding (signed: a credit is negative).
    pub unrounded: String,
    /// The policy that rounded it.
    pub rounding: RoundingPolicy,
}

/// A decimal as its shortest exact text (`"500"`, `"0.5"`, `"-333.3333333333333333333333333"`).
pub(crate) fn decimal_text(value: Decimal) -> String {
    value.normalize().to_string()
}

impl Derivation {
    pub fn new(method: Method, unrounded: Decimal, rounding: RoundingPolicy) -> Derivation {
        Derivation {
            method,
            quantity: None,
            full_period_amount: None,
            seconds: None,
            seconds_in_period: None,
            days: None,
            days_in_period: None,
            aggregate_usage: None,
            records: None,
            records_outside_period: None,
            commitment: None,
            measured: None,
            unrounded: decimal_text(unrounded),
            rounding,
        }
    }

    /// A whole period at the price: what the pipeline's price stage computed.
    pub fn price(quantity: i64, exact: Decimal, rounding: RoundingPolicy) -> Derivation {
        Derivation {
            quantity: Some(quantity),
            ..Derivation::new(Method::Price, exact, rounding)
        }
    }
}

// Input reading (see `crate::json`).

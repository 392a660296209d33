//! An issued quote or invoice as the engine wrote it — its JSON output (Stripe's field names),
//! which is what a server stores and what JavaScript holds — read back for what a credit note
//! needs of the invoice it credits: per line its name, quantity, net and each tax (rate,
//! category, taxable amount, exemption text), the tax notes, the cash rounding and the rounding
//! policy. Nothing is recomputed: these are the engine's figures as issued.

use super::from_engine::rate_label;
use super::model::VatRate;
use crate::error::{Error, ErrorCode, Result};
use crate::subscription::credit_note::{InvoiceLineSummary, TaxPart};
use crate::Quote;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

/// The engine's quote or invoice output (a subscription invoice flattens its quote), read
/// leniently: fields a credit note does not need are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IssuedInvoice {
    pub currency: String,
    pub lines: Vec<IssuedLine>,
    #[serde(default)]
    pub tax_notes: Vec<IssuedNote>,
    /// The invoice's cash rounding (BT-114), minor units.
    #[serde(default)]
    pub rounding_amount: Option<i64>,
    /// The rounding policy the invoice went through, as the engine wrote it (its input shape).
    #[serde(default)]
    pub rounding: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IssuedLine {
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub quantity: i64,
    pub amount_excluding_tax: i64,
    #[serde(default)]
    pub taxes: Vec<IssuedTax>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IssuedTax {
    pub amount: i64,
    #[serde(default)]
    pub taxable_amount: Option<i64>,
    /// EN 16931 category code (`S`, `Z`, `E`, `AE`, `K`, `G`, `O`).
    pub category: String,
    /// Percent, as the engine writes it (`"20"`, `"5.5"`).
    pub percentage: Decimal,
    #[serde(default)]
    pub exemption_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IssuedNote {
    pub code: String,
    pub text: String,
    #[serde(default)]
    pub customer_tax_id: Option<String>,
}

impl IssuedTax {
    /// The tax's EN 16931 category and rate.
    pub fn vat(&self) -> VatRate {
        VatRate {
            category: self.category.clone(),
            rate: (self.category != "O").then(|| self.percentage.normalize()),
        }
    }
}

impl IssuedLine {
    /// The name printed for the line: its description, else its product or price id.
    pub fn name(&self, index: usize) -> String {
        self.description
            .clone()
            .or_else(|| self.product.clone())
            .or_else(|| self.price.clone())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| format!("Line {}", index + 1))
    }
}

impl IssuedInvoice {
    /// Reads the engine's JSON output of a quote or an invoice. `invalid_document` when it is
    /// not one.
    pub fn from_value(value: &Value) -> Result<IssuedInvoice> {
        IssuedInvoice::deserialize(value).map_err(|e| {
            Error::new(
                ErrorCode::InvalidDocument,
                "invoice",
                format!("not an engine quote or invoice: {e}"),
            )
        })
    }

    /// The same view of a quote in memory.
    pub fn of(quote: &Quote) -> Result<IssuedInvoice> {
        let value = serde_json::to_value(quote)
            .map_err(|e| Error::new(ErrorCode::InvalidDocument, "invoice", e.to_string()))?;
        IssuedInvoice::from_value(&value)
    }

    /// The credit-note input's view of the invoice (`invoice.lines`): per line the net, each
    /// tax labelled by [`rate_label`], the quantity.
    pub fn summary(&self) -> Vec<InvoiceLineSummary> {
        self.lines
            .iter()
            .map(|line| InvoiceLineSummary {
                amount_excluding_tax: line.amount_excluding_tax,
                taxes: line
                    .taxes
                    .iter()
                    .map(|t| TaxPart {
                        rate: rate_label(&t.vat()),
                        amount: t.amount,
                    })
                    .collect(),
                quantity: Some(line.quantity),
                credited: None,
            })
            .collect()
    }

    /// The rounding policy as issued (its cash `increment` applies to a credit note's total).
    pub fn rounding_policy(&self) -> Result<Option<crate::RoundingPolicy>> {
        self.rounding
            .as_ref()
            .map(crate::parse::from_value::<crate::RoundingPolicy>)
            .transpose()
    }
}

//! `compute_quote` / `Calculator::quote`: a one-time cart priced through the engine's pipeline.
//!
//! The pipeline, in order, each stage a function over the cart's [`WorkLine`]s:
//! 1. resolve: currency, rounding policy, `as_of`, each line's price and quantity;
//! 2. price: each line's exact amount, rounded once by the declared policy;
//! 3. discount: item-level then order-level discounts, allocated to lines to the cent;
//! 4. tax: per line on the discounted base, rounded at the declared stage;
//! 5. totals.

use crate::catalog::{Calculator, Catalog};
use crate::currency::Currency;
use crate::customer::Customer;
use crate::error::{join_path, Error, ErrorCode, Result};
use crate::money;
use crate::price::{Price, Terms, ValidPrice};
use crate::rounding::RoundingPolicy;
use crate::tax::{
    self, AutomaticTax, LineTax, RoundingStage, TaxConfig, TaxNote, TaxRateRef, TotalTax,
};
use crate::time::AsOf;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// The engine version stamped on every result, so a stored quote says what computed it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A cart to price.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    pub currency: String,
    pub lines: Vec<LineInput>,
    /// Overrides the catalog's rounding policy for this quote.
    #[serde(default)]
    pub rounding: Option<RoundingPolicy>,
    /// Prices the lines may refer to by id (only with `compute_quote`; a `Calculator` has its own).
    #[serde(default)]
    pub catalog: Option<Catalog>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// When the quote is computed (`YYYY-MM-DD` or RFC 3339): which tax rates are in force,
    /// which codes are valid. The engine has no clock of its own.
    #[serde(default)]
    pub as_of: Option<String>,
    #[serde(default)]
    pub customer: Option<Customer>,
    /// Tax settings for this quote: override the catalog's, add rates and rules.
    #[serde(default)]
    pub tax: Option<TaxConfig>,
    /// Explicit tax rates for lines that declare none (Stripe's `default_tax_rates`).
    #[serde(default)]
    pub default_tax_rates: Option<Vec<TaxRateRef>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub price: PriceRef,
    /// Non-negative integer; 1 when absent.
    #[serde(default)]
    pub quantity: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// The product's tax category: `standard` (default), `reduced`, `reduced_2`,
    /// `super_reduced`, `zero`, `exempt`, `digital_services`, `shipping`, or a merchant code.
    #[serde(default)]
    pub tax_category: Option<String>,
    /// Explicit tax rates for this line (ids or inline), overriding automatic tax.
    #[serde(default)]
    pub tax_rates: Option<Vec<TaxRateRef>>,
}

/// A line's price: a catalog id, or an inline price object.
#[derive(Debug, Clone)]
pub enum PriceRef {
    Id(String),
    Inline(Box<Price>),
}

impl<'de> Deserialize<'de> for PriceRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PriceRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a price id or a price object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<PriceRef, E> {
                Ok(PriceRef::Id(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<PriceRef, A::Error> {
                // Deserializing from the same map access keeps field paths intact.
                Price::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|p| PriceRef::Inline(Box::new(p)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A priced cart, with Stripe's invoice field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    pub version: &'static str,
    pub currency: Currency,
    pub lines: Vec<QuoteLine>,
    /// Sum of line amounts (tax-inclusive where prices are).
    pub subtotal: i64,
    /// `subtotal` without inclusive tax.
    pub subtotal_excluding_tax: i64,
    /// What the customer pays before tax.
    pub total_excluding_tax: i64,
    /// One entry per rate: the VAT breakdown (EN 16931 BG-23).
    pub total_taxes: Vec<TotalTax>,
    pub total: i64,
    pub automatic_tax: AutomaticTax,
    /// Where tax amounts were rounded: `line` or `invoice`.
    pub tax_rounding_stage: RoundingStage,
    /// Statements the invoice must carry (e.g. `reverse_charge` with the buyer's VAT number).
    pub tax_notes: Vec<TaxNote>,
    /// The policy every rounding in this quote went through.
    pub rounding: RoundingPolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuoteLine {
    /// The catalog or inline price id, when it has one.
    pub price: Option<String>,
    pub product: Option<String>,
    pub quantity: i64,
    /// The line's amount in minor units, rounded once by the quote's policy (tax-inclusive when
    /// the price is).
    pub amount: i64,
    pub amount_excluding_tax: i64,
    pub tax_category: String,
    pub taxes: Vec<LineTax>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Prices a self-contained cart: inline prices, or ids resolved from `input.catalog`.
pub fn compute_quote(input: &QuoteInput) -> Result<Quote> {
    let calculator = match &input.catalog {
        Some(catalog) => Calculator::new(catalog).map_err(|e| e.within("catalog"))?,
        None => Calculator::default(),
    };
    price_cart(&calculator, input)
}

impl Calculator {
    /// Prices a cart against this calculator's catalog (the checkout hot path).
    pub fn quote(&self, input: &QuoteInput) -> Result<Quote> {
        if input.catalog.is_some() {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "catalog",
                "a Calculator already holds its catalog; pass the cart only",
            ));
        }
        price_cart(self, input)
    }
}

/// What every stage of the pipeline reads.
pub struct QuoteContext<'a> {
    pub currency: Currency,
    pub rounding: RoundingPolicy,
    pub as_of: Option<AsOf>,
    pub customer: Option<&'a Customer>,
}

/// A cart line as it moves through the pipeline.
#[derive(Debug, Clone)]
pub struct WorkLine<'a> {
    pub index: usize,
    pub input: &'a LineInput,
    pub price: &'a ValidPrice,
    pub terms: &'a Terms,
    pub quantity: i64,
    /// The priced amount in minor units, rounded once; tax-inclusive when the price is.
    pub amount: i64,
}

impl WorkLine<'_> {
    pub fn path(&self) -> String {
        format!("lines[{}]", self.index)
    }
}

fn price_cart(calculator: &Calculator, input: &QuoteInput) -> Result<Quote> {
    // 1. resolve
    let currency = Currency::parse(&input.currency, "currency")?;
    let rounding = input.rounding.unwrap_or(calculator.rounding());
    rounding.validate("rounding")?;
    let as_of = input
        .as_of
        .as_deref()
        .map(|t| AsOf::parse(t, "as_of"))
        .transpose()?;
    let context = QuoteContext {
        currency,
        rounding,
        as_of,
        customer: input.customer.as_ref(),
    };

    // Inline prices are validated first so every resolved line can borrow its terms.
    let inline = input
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| match &line.price {
            PriceRef::Inline(price) => price.validate(&format!("lines[{i}].price")).map(Some),
            PriceRef::Id(_) => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut lines = input
        .lines
        .iter()
        .zip(&inline)
        .enumerate()
        .map(|(i, (line, inline))| resolve_line(calculator, &context, i, line, inline.as_ref()))
        .collect::<Result<Vec<_>>>()?;

    // 2. price
    for line in &mut lines {
        let exact = line.terms.scheme.amount(line.quantity, &line.path())?;
        line.amount = context.rounding.round(exact, &line.path())?;
    }

    // 4. tax
    let tax_setup = match &input.tax {
        Some(config) => Cow::Owned(config.validate(calculator.tax(), "tax")?),
        None => Cow::Borrowed(calculator.tax()),
    };
    let bases: Vec<i64> = lines.iter().map(|l| l.amount).collect();
    let taxes = tax::apply(&tax_setup, input, &context, &lines, &bases)?;

    // 5. totals
    let subtotal = money::sum(lines.iter().map(|l| l.amount), "lines")?;
    let total_excluding_tax = money::sum(taxes.lines.iter().map(|t| t.net), "lines")?;
    let total = money::sum(taxes.lines.iter().map(|t| t.payable), "lines")?;
    let out_lines = lines
        .iter()
        .zip(taxes.lines)
        .map(|(line, tax)| output_line(line, tax))
        .collect();
    Ok(Quote {
        version: VERSION,
        currency,
        lines: out_lines,
        subtotal,
        subtotal_excluding_tax: total_excluding_tax,
        total_excluding_tax,
        total_taxes: taxes.total_taxes,
        total,
        automatic_tax: taxes.automatic_tax,
        tax_rounding_stage: taxes.rounding_stage,
        tax_notes: taxes.notes,
        rounding,
        metadata: input.metadata.clone(),
    })
}

fn output_line(line: &WorkLine, tax: tax::LineTaxes) -> QuoteLine {
    QuoteLine {
        price: line.price.id.clone(),
        product: line.price.product.clone(),
        quantity: line.quantity,
        amount: line.amount,
        amount_excluding_tax: tax.net,
        tax_category: line
            .input
            .tax_category
            .clone()
            .unwrap_or_else(|| "standard".to_string()),
        taxes: tax.taxes,
        description: line.input.description.clone(),
        metadata: line.input.metadata.clone(),
    }
}

fn resolve_line<'a>(
    calculator: &'a Calculator,
    context: &QuoteContext,
    index: usize,
    input: &'a LineInput,
    inline: Option<&'a ValidPrice>,
) -> Result<WorkLine<'a>> {
    let path = format!("lines[{index}]");
    let price_path = join_path(&path, "price");
    let price = match (&input.price, inline) {
        (_, Some(valid)) => valid,
        (PriceRef::Id(id), None) => calculator.price(id).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownPrice,
                &price_path,
                "no price with this id in the catalog",
            )
        })?,
        (PriceRef::Inline(_), None) => {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                &price_path,
                "inline price was not validated",
            ))
        }
    };
    let terms = price.terms_for(context.currency).ok_or_else(|| {
        Error::new(
            ErrorCode::CurrencyMismatch,
            &price_path,
            "the price has no amount in the quote's currency (add it to currency_options)",
        )
    })?;
    let quantity = input.quantity.unwrap_or(1);
    if !(0..=money::MAX_AMOUNT).contains(&quantity) {
        return Err(Error::new(
            ErrorCode::InvalidQuantity,
            join_path(&path, "quantity"),
            "quantity must be a non-negative integer",
        ));
    }
    Ok(WorkLine {
        index,
        input,
        price,
        terms,
        quantity,
        amount: 0,
    })
}

//! The catalog a [`Calculator`] holds: prices validated once, looked up by id on every quote.

use crate::error::{Error, ErrorCode, Result};
use crate::price::{Price, ValidPrice};
use crate::rounding::RoundingPolicy;
use crate::tax::{TaxConfig, TaxSetup};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a merchant's catalog holds. Coupons and tax rules join here in later versions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(default)]
    pub prices: Vec<Price>,
    /// The merchant's default rounding policy; a quote may override it.
    #[serde(default)]
    pub rounding: Option<RoundingPolicy>,
    /// The merchant's tax settings: seller, explicit rates, rules.
    #[serde(default)]
    pub tax: Option<TaxConfig>,
}

/// A validated catalog, ready to price carts. Build it once; quote many times.
#[derive(Debug, Clone, Default)]
pub struct Calculator {
    prices: BTreeMap<String, ValidPrice>,
    rounding: RoundingPolicy,
    tax: TaxSetup,
}

impl Calculator {
    /// Validates every price of the catalog. Paths in errors are relative to the catalog.
    pub fn new(catalog: &Catalog) -> Result<Calculator> {
        let mut prices = BTreeMap::new();
        for (i, price) in catalog.prices.iter().enumerate() {
            let path = format!("prices[{i}]");
            let valid = price.validate(&path)?;
            let id = valid.id.clone().ok_or_else(|| {
                Error::new(
                    ErrorCode::MissingField,
                    format!("{path}.id"),
                    "catalog prices need an id",
                )
            })?;
            if prices.insert(id, valid).is_some() {
                return Err(Error::new(
                    ErrorCode::DuplicatePrice,
                    format!("{path}.id"),
                    "another price has this id",
                ));
            }
        }
        let rounding = catalog.rounding.unwrap_or_default();
        rounding.validate("rounding")?;
        let tax = match &catalog.tax {
            Some(config) => config.validate(&TaxSetup::default(), "tax")?,
            None => TaxSetup::default(),
        };
        Ok(Calculator {
            prices,
            rounding,
            tax,
        })
    }

    pub fn price(&self, id: &str) -> Option<&ValidPrice> {
        self.prices.get(id)
    }

    pub fn rounding(&self) -> RoundingPolicy {
        self.rounding
    }

    pub fn tax(&self) -> &TaxSetup {
        &self.tax
    }
}

//! Cart promotion rules (what shops use beyond Stripe): buy X get Y, spend thresholds, quantity
//! breaks, fixed price per item and free shipping. Rules live in the catalog's `promotions` and
//! apply automatically when their conditions hold at the quote's `as_of`.
//!
//! A rule is Stripe-style tagged: `type` names the kind and the field of the same name holds its
//! parameters (`{"type": "buy_x_get_y", "buy_x_get_y": {...}}`).

use super::percent::{Basis, PercentOff, FULL};
use super::{check_window, positive};
use crate::currency::Currency;
use crate::error::{join_path, Error, ErrorCode, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: PromotionType,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
    /// The currency of the rule's amounts (required when it has any); the rule only applies to
    /// quotes in this currency.
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub conditions: Option<Conditions>,
    /// Default true.
    #[serde(default)]
    pub combinable: Option<bool>,
    /// Default 0; see the coupon's `priority`.
    #[serde(default)]
    pub priority: Option<i64>,
    /// The most the rule takes off one quote, in minor units of `currency`.
    #[serde(default)]
    pub max_discount_amount: Option<i64>,
    #[serde(default)]
    pub buy_x_get_y: Option<BuyXGetY>,
    #[serde(default)]
    pub spend_threshold: Option<SpendThreshold>,
    #[serde(default)]
    pub quantity_break: Option<QuantityBreak>,
    #[serde(default)]
    pub fixed_price: Option<FixedPrice>,
    #[serde(default)]
    pub free_shipping: Option<FreeShipping>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionType {
    BuyXGetY,
    SpendThreshold,
    QuantityBreak,
    FixedPrice,
    FreeShipping,
}

/// When a rule applies. Lines qualify when they are `discountable`, not shipping, and match
/// `products` or `categories` (every such line when both are absent). Amounts and quantities are
/// those of the qualifying lines before any discount.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    #[serde(default)]
    pub products: Option<Vec<String>>,
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    pub minimum_amount: Option<i64>,
    #[serde(default)]
    pub minimum_quantity: Option<i64>,
    /// Unix seconds: valid from `starts_at` (inclusive) until `ends_at` (exclusive).
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub ends_at: Option<i64>,
}

/// Buy `buy_quantity`, get `get_quantity` of the cheapest qualifying units `percent_off` off
/// (default 100: free), once per `buy_quantity + get_quantity` units, at most `max_applications`
/// times.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuyXGetY {
    pub buy_quantity: i64,
    pub get_quantity: i64,
    #[serde(default)]
    pub percent_off: Option<PercentOff>,
    #[serde(default)]
    pub max_applications: Option<i64>,
}

/// Spend at least a tier's `minimum_amount` on qualifying lines, get its `percent_off` or
/// `amount_off` off them (order level); the reached tier giving the largest discount wins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendThreshold {
    pub tiers: Vec<SpendTier>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendTier {
    pub minimum_amount: i64,
    #[serde(default)]
    pub percent_off: Option<PercentOff>,
    #[serde(default)]
    pub amount_off: Option<i64>,
}

/// Buy at least a tier's `minimum_quantity` qualifying units (summed over lines); the highest
/// reached tier prices each of them: `percent_off`, `amount_off` per unit, or a `unit_amount`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantityBreak {
    pub tiers: Vec<QuantityTier>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantityTier {
    pub minimum_quantity: i64,
    #[serde(default)]
    pub percent_off: Option<PercentOff>,
    #[serde(default)]
    pub amount_off: Option<i64>,
    #[serde(default)]
    pub unit_amount: Option<i64>,
}

/// Each qualifying unit costs `unit_amount` (units already cheaper are left alone).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedPrice {
    pub unit_amount: i64,
}

/// Shipping lines (`tax_category: "shipping"`) become free when the conditions hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeShipping {}

/// An order-level benefit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderBenefit {
    Percent(Basis),
    AmountOff(i64),
}

/// A per-unit benefit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitBenefit {
    Percent(Basis),
    /// Off each unit.
    AmountOff(i64),
    /// Each unit costs this.
    UnitAmount(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleEffect {
    BuyXGetY {
        buy: i64,
        get: i64,
        basis: Basis,
        max_applications: Option<i64>,
    },
    /// (minimum_amount, benefit), ascending.
    SpendThreshold(Vec<(i64, OrderBenefit)>),
    /// (minimum_quantity, benefit), ascending.
    QuantityBreak(Vec<(i64, UnitBenefit)>),
    FixedPrice(i64),
    FreeShipping,
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPromotion {
    pub id: String,
    pub name: Option<String>,
    pub active: bool,
    pub currency: Option<Currency>,
    pub products: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    pub minimum_amount: Option<i64>,
    pub minimum_quantity: Option<i64>,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub combinable: bool,
    pub priority: i64,
    pub cap: Option<i64>,
    pub effect: RuleEffect,
}

impl ValidPromotion {
    /// Spend thresholds discount the order; every other rule discounts lines (item level).
    pub fn is_order_level(&self) -> bool {
        matches!(self.effect, RuleEffect::SpendThreshold(_))
    }

    /// Whether a line of `product` in `categories` matches the rule's product filter.
    pub fn matches(&self, product: Option<&str>, categories: &[String]) -> bool {
        if self.products.is_none() && self.categories.is_none() {
            return true;
        }
        let by_product = self
            .products
            .as_ref()
            .is_some_and(|list| product.is_some_and(|p| list.iter().any(|x| x == p)));
        let by_category = self
            .categories
            .as_ref()
            .is_some_and(|list| categories.iter().any(|c| list.contains(c)));
        by_product || by_category
    }

    pub fn has_filter(&self) -> bool {
        self.products.is_some() || self.categories.is_some()
    }
}

fn id_list(list: &Option<Vec<String>>, path: &str) -> Result<Option<Vec<String>>> {
    match list {
        Some(l) if l.is_empty() || l.iter().any(String::is_empty) => Err(Error::new(
            ErrorCode::InvalidPromotion,
            path,
            "list at least one non-empty id (omit the field for no restriction)",
        )),
        other => Ok(other.clone()),
    }
}

fn one_of<T>(options: [(Option<T>, &'static str); 3], path: &str) -> Result<(T, &'static str)> {
    let mut found = None;
    for (value, name) in options {
        if let Some(v) = value {
            if found.is_some() {
                return Err(Error::new(
                    ErrorCode::InvalidPromotion,
                    join_path(path, name),
                    "a tier takes exactly one benefit",
                ));
            }
            found = Some((v, name));
        }
    }
    found.ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidPromotion,
            path,
            "a tier needs one benefit",
        )
    })
}

impl Promotion {
    pub fn validate(&self, path: &str) -> Result<ValidPromotion> {
        let code = ErrorCode::InvalidPromotion;
        let at = |field: &str| join_path(path, field);
        let bad = |field: &str, message: &'static str| Error::new(code, at(field), message);
        if self.id.is_empty() {
            return Err(bad("id", "id must not be empty"));
        }
        let currency = self
            .currency
            .as_deref()
            .map(|c| Currency::parse(c, &at("currency")))
            .transpose()?;
        let cap = self
            .max_discount_amount
            .map(|v| positive(v, code, &at("max_discount_amount")))
            .transpose()?;
        let conditions = self.conditions.clone().unwrap_or_default();
        let c_path = at("conditions");
        let c_at = |field: &str| join_path(&c_path, field);
        let products = id_list(&conditions.products, &c_at("products"))?;
        let categories = id_list(&conditions.categories, &c_at("categories"))?;
        let minimum_amount = conditions
            .minimum_amount
            .map(|v| positive(v, code, &c_at("minimum_amount")))
            .transpose()?;
        let minimum_quantity = conditions
            .minimum_quantity
            .map(|v| positive(v, code, &c_at("minimum_quantity")))
            .transpose()?;
        check_window(conditions.starts_at, conditions.ends_at, &c_path, "ends_at")?;

        // Exactly the parameters of `type`, none of another kind's.
        let given = [
            (
                PromotionType::BuyXGetY,
                self.buy_x_get_y.is_some(),
                "buy_x_get_y",
            ),
            (
                PromotionType::SpendThreshold,
                self.spend_threshold.is_some(),
                "spend_threshold",
            ),
            (
                PromotionType::QuantityBreak,
                self.quantity_break.is_some(),
                "quantity_break",
            ),
            (
                PromotionType::FixedPrice,
                self.fixed_price.is_some(),
                "fixed_price",
            ),
            (
                PromotionType::FreeShipping,
                self.free_shipping.is_some(),
                "free_shipping",
            ),
        ];
        for (kind, present, name) in given {
            if present && kind != self.kind {
                return Err(bad(
                    name,
                    "these parameters belong to another promotion type",
                ));
            }
        }
        let missing = |name: &str| {
            Error::new(
                ErrorCode::MissingField,
                at(name),
                "the parameters of this promotion type are required",
            )
        };
        let mut needs_currency = minimum_amount.is_some() || cap.is_some();
        let effect = match self.kind {
            PromotionType::BuyXGetY => {
                let p = self
                    .buy_x_get_y
                    .as_ref()
                    .ok_or_else(|| missing("buy_x_get_y"))?;
                let p_path = at("buy_x_get_y");
                let p_at = |f: &str| join_path(&p_path, f);
                let buy = positive(p.buy_quantity, code, &p_at("buy_quantity"))?;
                let get = positive(p.get_quantity, code, &p_at("get_quantity"))?;
                let basis = match p.percent_off {
                    Some(pct) => pct.basis(code, &p_at("percent_off"))?,
                    None => FULL,
                };
                let max_applications = p
                    .max_applications
                    .map(|v| positive(v, code, &p_at("max_applications")))
                    .transpose()?;
                RuleEffect::BuyXGetY {
                    buy,
                    get,
                    basis,
                    max_applications,
                }
            }
            PromotionType::SpendThreshold => {
                let p = self
                    .spend_threshold
                    .as_ref()
                    .ok_or_else(|| missing("spend_threshold"))?;
                needs_currency = true;
                let t_path = at("spend_threshold.tiers");
                if p.tiers.is_empty() {
                    return Err(Error::new(code, t_path, "at least one tier is needed"));
                }
                let mut tiers = Vec::with_capacity(p.tiers.len());
                let mut previous = -1;
                for (i, tier) in p.tiers.iter().enumerate() {
                    let tier_path = [t_path.as_str(), "[", &i.to_string(), "]"].concat();
                    let tier_at = |f: &str| join_path(&tier_path, f);
                    let minimum = if tier.minimum_amount == 0 {
                        0
                    } else {
                        positive(tier.minimum_amount, code, &tier_at("minimum_amount"))?
                    };
                    if minimum <= previous {
                        return Err(Error::new(
                            code,
                            tier_at("minimum_amount"),
                            "tiers must have increasing minimum_amount",
                        ));
                    }
                    previous = minimum;
                    let (benefit, name) = one_of(
                        [
                            (tier.percent_off.map(Ok), "percent_off"),
                            (tier.amount_off.map(Err), "amount_off"),
                            (None, "unit_amount"),
                        ],
                        &tier_path,
                    )?;
                    let benefit = match benefit {
                        Ok(pct) => OrderBenefit::Percent(pct.basis(code, &tier_at(name))?),
                        Err(a) => OrderBenefit::AmountOff(positive(a, code, &tier_at(name))?),
                    };
                    tiers.push((minimum, benefit));
                }
                RuleEffect::SpendThreshold(tiers)
            }
            PromotionType::QuantityBreak => {
                let p = self
                    .quantity_break
                    .as_ref()
                    .ok_or_else(|| missing("quantity_break"))?;
                let t_path = at("quantity_break.tiers");
                if p.tiers.is_empty() {
                    return Err(Error::new(code, t_path, "at least one tier is needed"));
                }
                let mut tiers = Vec::with_capacity(p.tiers.len());
                let mut previous = 0;
                for (i, tier) in p.tiers.iter().enumerate() {
                    let tier_path = [t_path.as_str(), "[", &i.to_string(), "]"].concat();
                    let tier_at = |f: &str| join_path(&tier_path, f);
                    let minimum =
                        positive(tier.minimum_quantity, code, &tier_at("minimum_quantity"))?;
                    if minimum <= previous {
                        return Err(Error::new(
                            code,
                            tier_at("minimum_quantity"),
                            "tiers must have increasing minimum_quantity",
                        ));
                    }
                    previous = minimum;
                    let (benefit, name) = one_of(
                        [
                            (tier.percent_off.map(UnitChoice::Percent), "percent_off"),
                            (tier.amount_off.map(UnitChoice::AmountOff), "amount_off"),
                            (tier.unit_amount.map(UnitChoice::UnitAmount), "unit_amount"),
                        ],
                        &tier_path,
                    )?;
                    let benefit = match benefit {
                        UnitChoice::Percent(pct) => {
                            UnitBenefit::Percent(pct.basis(code, &tier_at(name))?)
                        }
                        UnitChoice::AmountOff(a) => {
                            needs_currency = true;
                            UnitBenefit::AmountOff(positive(a, code, &tier_at(name))?)
                        }
                        UnitChoice::UnitAmount(a) => {
                            needs_currency = true;
                            UnitBenefit::UnitAmount(non_negative(a, &tier_at(name))?)
                        }
                    };
                    tiers.push((minimum, benefit));
                }
                RuleEffect::QuantityBreak(tiers)
            }
            PromotionType::FixedPrice => {
                let p = self
                    .fixed_price
                    .as_ref()
                    .ok_or_else(|| missing("fixed_price"))?;
                needs_currency = true;
                RuleEffect::FixedPrice(non_negative(p.unit_amount, &at("fixed_price.unit_amount"))?)
            }
            PromotionType::FreeShipping => RuleEffect::FreeShipping,
        };
        if needs_currency && currency.is_none() {
            return Err(bad(
                "currency",
                "a promotion with amounts needs the currency they are in",
            ));
        }
        Ok(ValidPromotion {
            id: self.id.clone(),
            name: self.name.clone(),
            active: self.active.unwrap_or(true),
            currency,
            products,
            categories,
            minimum_amount,
            minimum_quantity,
            starts_at: conditions.starts_at,
            ends_at: conditions.ends_at,
            combinable: self.combinable.unwrap_or(true),
            priority: self.priority.unwrap_or(0),
            cap,
            effect,
        })
    }
}

enum UnitChoice {
    Percent(PercentOff),
    AmountOff(i64),
    UnitAmount(i64),
}

fn non_negative(value: i64, path: &str) -> Result<i64> {
    if value == 0 {
        Ok(0)
    } else {
        positive(value, ErrorCode::InvalidPromotion, path)
    }
}

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
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Promotion {
    pub id: String,
    pub name: Option<String>,
    pub kind: PromotionType,
    /// Default true.
    pub active: Option<bool>,
    /// The currency of the rule's amounts (required when it has any); the rule only applies to
    /// quotes in this currency.
    pub currency: Option<String>,
    pub conditions: Option<Conditions>,
    /// Default true.
    pub combinable: Option<bool>,
    /// Default 0; see the coupon's `priority`.
    pub priority: Option<i64>,
    /// The most the rule takes off one quote, in minor units of `currency`.
    pub max_discount_amount: Option<i64>,
    pub buy_x_get_y: Option<RuleParams>,
    pub spend_threshold: Option<RuleParams>,
    pub quantity_break: Option<RuleParams>,
    pub fixed_price: Option<RuleParams>,
    pub free_shipping: Option<RuleParams>,
    pub metadata: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub products: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    pub minimum_amount: Option<i64>,
    pub minimum_quantity: Option<i64>,
    /// Unix seconds: valid from `starts_at` (inclusive) until `ends_at` (exclusive).
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
}

/// The parameters of a rule, under the field its `type` names. One shape serves every kind (a
/// field another kind uses is rejected by validation), which keeps the wasm small:
///
/// * `buy_x_get_y`: buy `buy_quantity`, get `get_quantity` of the cheapest qualifying units
///   `percent_off` off (default 100: free), once per `buy_quantity + get_quantity` units, at
///   most `max_applications` times.
/// * `spend_threshold`: `tiers` of `{minimum_amount, percent_off | amount_off}`; spend at least
///   a tier's minimum on qualifying lines to get its benefit off them (order level); of the
///   reached tiers, the one taking the most off wins.
/// * `quantity_break`: `tiers` of `{minimum_quantity, percent_off | amount_off | unit_amount}`;
///   the highest tier reached by the qualifying quantity (summed over lines) prices each unit:
///   a percentage off, an amount off each unit, or a unit price.
/// * `fixed_price`: each qualifying unit costs `unit_amount` (cheaper units are left alone).
/// * `free_shipping`: no parameters; shipping lines (`tax_category: "shipping"`) become free.
#[derive(Debug, Clone, Default)]
pub struct RuleParams {
    pub buy_quantity: Option<i64>,
    pub get_quantity: Option<i64>,
    pub percent_off: Option<PercentOff>,
    pub max_applications: Option<i64>,
    pub tiers: Option<Vec<Tier>>,
    pub unit_amount: Option<i64>,
}

/// A spend-threshold or quantity-break tier.
#[derive(Debug, Clone, Default)]
pub struct Tier {
    pub minimum_amount: Option<i64>,
    pub minimum_quantity: Option<i64>,
    pub percent_off: Option<PercentOff>,
    pub amount_off: Option<i64>,
    pub unit_amount: Option<i64>,
}

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
            (PromotionType::BuyXGetY, &self.buy_x_get_y, "buy_x_get_y"),
            (
                PromotionType::SpendThreshold,
                &self.spend_threshold,
                "spend_threshold",
            ),
            (
                PromotionType::QuantityBreak,
                &self.quantity_break,
                "quantity_break",
            ),
            (PromotionType::FixedPrice, &self.fixed_price, "fixed_price"),
            (
                PromotionType::FreeShipping,
                &self.free_shipping,
                "free_shipping",
            ),
        ];
        let mut params = None;
        let mut p_path = String::new();
        for (kind, value, name) in given {
            match value {
                Some(_) if kind != self.kind => {
                    return Err(bad(
                        name,
                        "these parameters belong to another promotion type",
                    ))
                }
                Some(p) => {
                    params = Some(p);
                    p_path = at(name);
                }
                None if kind == self.kind && kind != PromotionType::FreeShipping => {
                    return Err(Error::new(
                        ErrorCode::MissingField,
                        at(name),
                        "the parameters of this promotion type are required",
                    ))
                }
                None => {}
            }
        }
        let empty = RuleParams::default();
        let p = params.unwrap_or(&empty);
        let p_at = |f: &str| join_path(&p_path, f);
        let required = |value: Option<i64>, field: &str| {
            value.ok_or_else(|| Error::new(ErrorCode::MissingField, p_at(field), "required"))
        };
        let present = [
            ("buy_quantity", p.buy_quantity.is_some()),
            ("get_quantity", p.get_quantity.is_some()),
            ("percent_off", p.percent_off.is_some()),
            ("max_applications", p.max_applications.is_some()),
            ("tiers", p.tiers.is_some()),
            ("unit_amount", p.unit_amount.is_some()),
        ];
        let allowed: &[&str] = match self.kind {
            PromotionType::BuyXGetY => &[
                "buy_quantity",
                "get_quantity",
                "percent_off",
                "max_applications",
            ],
            PromotionType::SpendThreshold | PromotionType::QuantityBreak => &["tiers"],
            PromotionType::FixedPrice => &["unit_amount"],
            PromotionType::FreeShipping => &[],
        };
        if let Some((field, _)) = present.iter().find(|(f, set)| *set && !allowed.contains(f)) {
            return Err(Error::new(
                code,
                p_at(field),
                "not a parameter of this promotion type",
            ));
        }
        let mut needs_currency = minimum_amount.is_some() || cap.is_some();
        let effect = match self.kind {
            PromotionType::BuyXGetY => {
                let buy = positive(
                    required(p.buy_quantity, "buy_quantity")?,
                    code,
                    &p_at("buy_quantity"),
                )?;
                let get = positive(
                    required(p.get_quantity, "get_quantity")?,
                    code,
                    &p_at("get_quantity"),
                )?;
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
            PromotionType::SpendThreshold | PromotionType::QuantityBreak => {
                let spend = self.kind == PromotionType::SpendThreshold;
                let t_path = p_at("tiers");
                let tiers = p.tiers.as_deref().ok_or_else(|| {
                    Error::new(ErrorCode::MissingField, &t_path, "tiers are required")
                })?;
                if tiers.is_empty() {
                    return Err(Error::new(code, t_path, "at least one tier is needed"));
                }
                let (min_field, other_field) = if spend {
                    ("minimum_amount", "minimum_quantity")
                } else {
                    ("minimum_quantity", "minimum_amount")
                };
                let mut spend_tiers = Vec::new();
                let mut unit_tiers = Vec::new();
                let mut previous = -1;
                for (i, tier) in tiers.iter().enumerate() {
                    let tier_path = [t_path.as_str(), "[", &i.to_string(), "]"].concat();
                    let tier_at = |f: &str| join_path(&tier_path, f);
                    let (minimum, other) = if spend {
                        (tier.minimum_amount, tier.minimum_quantity)
                    } else {
                        (tier.minimum_quantity, tier.minimum_amount)
                    };
                    if other.is_some() {
                        return Err(Error::new(
                            code,
                            tier_at(other_field),
                            "not a field of this promotion type's tiers",
                        ));
                    }
                    let minimum = minimum.ok_or_else(|| {
                        Error::new(ErrorCode::MissingField, tier_at(min_field), "required")
                    })?;
                    // A spend tier may start at 0; a quantity tier needs at least one unit.
                    let minimum = if spend && minimum == 0 {
                        0
                    } else {
                        positive(minimum, code, &tier_at(min_field))?
                    };
                    if minimum <= previous {
                        return Err(Error::new(
                            code,
                            tier_at(min_field),
                            "tiers must have increasing minimums",
                        ));
                    }
                    previous = minimum;
                    let benefits = [
                        ("percent_off", tier.percent_off.is_some()),
                        ("amount_off", tier.amount_off.is_some()),
                        ("unit_amount", tier.unit_amount.is_some()),
                    ];
                    let mut set = benefits.iter().filter(|b| b.1);
                    let name = match (set.next(), set.next()) {
                        (Some(b), None) => b.0,
                        (_, Some(second)) => {
                            return Err(Error::new(
                                code,
                                tier_at(second.0),
                                "a tier takes exactly one benefit",
                            ))
                        }
                        (None, None) => {
                            return Err(Error::new(code, tier_path, "a tier needs one benefit"))
                        }
                    };
                    let field = tier_at(name);
                    let benefit = match (tier.percent_off, tier.amount_off, tier.unit_amount) {
                        (Some(pct), _, _) => UnitBenefit::Percent(pct.basis(code, &field)?),
                        (_, Some(a), _) => UnitBenefit::AmountOff(positive(a, code, &field)?),
                        (_, _, Some(u)) => UnitBenefit::UnitAmount(non_negative(u, &field)?),
                        _ => return Err(Error::new(code, field, "a tier needs one benefit")),
                    };
                    if spend {
                        spend_tiers.push((
                            minimum,
                            match benefit {
                                UnitBenefit::Percent(b) => OrderBenefit::Percent(b),
                                UnitBenefit::AmountOff(a) => OrderBenefit::AmountOff(a),
                                UnitBenefit::UnitAmount(_) => {
                                    return Err(Error::new(
                                        code,
                                        field,
                                        "a spend tier takes percent_off or amount_off",
                                    ))
                                }
                            },
                        ));
                    } else {
                        if !matches!(benefit, UnitBenefit::Percent(_)) {
                            needs_currency = true;
                        }
                        unit_tiers.push((minimum, benefit));
                    }
                }
                if spend {
                    needs_currency = true;
                    RuleEffect::SpendThreshold(spend_tiers)
                } else {
                    RuleEffect::QuantityBreak(unit_tiers)
                }
            }
            PromotionType::FixedPrice => {
                needs_currency = true;
                let u = required(p.unit_amount, "unit_amount")?;
                RuleEffect::FixedPrice(non_negative(u, &p_at("unit_amount"))?)
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

fn non_negative(value: i64, path: &str) -> Result<i64> {
    if value == 0 {
        Ok(0)
    } else {
        positive(value, ErrorCode::InvalidPromotion, path)
    }
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for Promotion {
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
                "type",
                "active",
                "currency",
                "conditions",
                "combinable",
                "priority",
                "max_discount_amount",
                "buy_x_get_y",
                "spend_threshold",
                "quantity_break",
                "fixed_price",
                "free_shipping",
                "metadata",
            ],
        )?;
        let id = o.req("id");
        let name = o.opt("name");
        let kind = o.req("type");
        let active = o.opt("active");
        let currency = o.opt("currency");
        let conditions = o.opt("conditions");
        let combinable = o.opt("combinable");
        let priority = o.opt("priority");
        let max_discount_amount = o.opt("max_discount_amount");
        let buy_x_get_y = o.opt("buy_x_get_y");
        let spend_threshold = o.opt("spend_threshold");
        let quantity_break = o.opt("quantity_break");
        let fixed_price = o.opt("fixed_price");
        let free_shipping = o.opt("free_shipping");
        let metadata = o.opt("metadata");
        let (Some(id), Some(kind)) = (id, kind) else {
            return Err(o.failed());
        };
        o.finish(Promotion {
            id,
            name,
            kind,
            active,
            currency,
            conditions,
            combinable,
            priority,
            max_discount_amount,
            buy_x_get_y,
            spend_threshold,
            quantity_break,
            fixed_price,
            free_shipping,
            metadata,
        })
    }
}

crate::json::json_enum!(PromotionType {
    "buy_x_get_y" => PromotionType::BuyXGetY,
    "spend_threshold" => PromotionType::SpendThreshold,
    "quantity_break" => PromotionType::QuantityBreak,
    "fixed_price" => PromotionType::FixedPrice,
    "free_shipping" => PromotionType::FreeShipping,
});

impl crate::json::FromJson for Conditions {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "products",
                "categories",
                "minimum_amount",
                "minimum_quantity",
                "starts_at",
                "ends_at",
            ],
        )?;
        let products = o.opt("products");
        let categories = o.opt("categories");
        let minimum_amount = o.opt("minimum_amount");
        let minimum_quantity = o.opt("minimum_quantity");
        let starts_at = o.instant("starts_at");
        let ends_at = o.instant("ends_at");
        o.finish(Conditions {
            products,
            categories,
            minimum_amount,
            minimum_quantity,
            starts_at,
            ends_at,
        })
    }
}

impl crate::json::FromJson for RuleParams {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "buy_quantity",
                "get_quantity",
                "percent_off",
                "max_applications",
                "tiers",
                "unit_amount",
            ],
        )?;
        let buy_quantity = o.opt("buy_quantity");
        let get_quantity = o.opt("get_quantity");
        let percent_off = o.opt("percent_off");
        let max_applications = o.opt("max_applications");
        let tiers = o.opt("tiers");
        let unit_amount = o.opt("unit_amount");
        o.finish(RuleParams {
            buy_quantity,
            get_quantity,
            percent_off,
            max_applications,
            tiers,
            unit_amount,
        })
    }
}

impl crate::json::FromJson for Tier {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "minimum_amount",
                "minimum_quantity",
                "percent_off",
                "amount_off",
                "unit_amount",
            ],
        )?;
        let minimum_amount = o.opt("minimum_amount");
        let minimum_quantity = o.opt("minimum_quantity");
        let percent_off = o.opt("percent_off");
        let amount_off = o.opt("amount_off");
        let unit_amount = o.opt("unit_amount");
        o.finish(Tier {
            minimum_amount,
            minimum_quantity,
            percent_off,
            amount_off,
            unit_amount,
        })
    }
}

//! Coupons, Stripe-shaped: `percent_off` or `amount_off` + `currency` (+ `currency_options`),
//! `duration`, `applies_to.products`, `redeem_by`, `max_redemptions`, plus billcalc's
//! extensions `starts_at`, `combinable`, `priority` and `max_discount_amount`.

use super::percent::{Basis, PercentOff};
use super::{check_window, positive, CurrencyAmounts};
use crate::currency::Currency;
use crate::error::{join_path, Error, ErrorCode, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// A coupon as the merchant (or Stripe) shapes it. Stripe's read-only fields (`object`,
/// `created`, `livemode`, `times_redeemed`, `valid`) are accepted so a Stripe coupon can be fed
/// as is; `valid: false` makes the coupon `inactive`.
#[derive(Debug, Clone, Default)]
pub struct Coupon {
    /// Required in a catalog; optional on an inline coupon.
    pub id: Option<String>,
    pub name: Option<String>,
    /// 0 < p ≤ 100, at most 2 decimals; a JSON number or a decimal string.
    pub percent_off: Option<PercentOff>,
    /// Minor units of `currency`.
    pub amount_off: Option<i64>,
    pub currency: Option<String>,
    /// `amount_off` (and `max_discount_amount`) in other currencies.
    pub currency_options: Option<BTreeMap<String, CurrencyAmounts>>,
    /// Default `once`. Stored and echoed; a one-time quote applies the coupon whatever it is.
    pub duration: Option<Duration>,
    pub duration_in_months: Option<i64>,
    pub applies_to: Option<AppliesTo>,
    /// Unix seconds; the coupon is expired from this instant on.
    pub redeem_by: Option<i64>,
    /// Reported, not enforced: the server that records redemptions enforces it.
    pub max_redemptions: Option<i64>,
    /// billcalc: Unix seconds before which the coupon is not yet valid.
    pub starts_at: Option<i64>,
    /// billcalc: whether it may be combined with other discounts (default true).
    pub combinable: Option<bool>,
    /// billcalc: conflicts between non-combinable discounts go to the highest priority first
    /// (default 0), then to the largest discount.
    pub priority: Option<i64>,
    /// billcalc: the most this coupon takes off one quote (per line for an item-level coupon),
    /// in minor units of `currency` (`currency_options` for other currencies).
    pub max_discount_amount: Option<i64>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub valid: Option<bool>,
    pub times_redeemed: Option<i64>,
    pub object: Option<String>,
    pub created: Option<i64>,
    pub livemode: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct AppliesTo {
    pub products: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Duration {
    #[default]
    Once,
    Repeating,
    Forever,
}

/// What a coupon takes off.
#[derive(Debug, Clone, PartialEq)]
pub enum CouponValue {
    /// Hundredths of a percent of what it discounts.
    Percent(Basis),
    /// A fixed amount per currency (the primary one first).
    AmountOff(Vec<(Currency, i64)>),
}

/// A checked coupon.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCoupon {
    pub id: Option<String>,
    pub name: Option<String>,
    pub percent_off: Option<PercentOff>,
    pub value: CouponValue,
    /// `max_discount_amount` per currency; empty when uncapped.
    pub caps: Vec<(Currency, i64)>,
    pub duration: Duration,
    pub duration_in_months: Option<i64>,
    pub applies_to: Option<Vec<String>>,
    pub starts_at: Option<i64>,
    pub redeem_by: Option<i64>,
    pub max_redemptions: Option<i64>,
    pub combinable: bool,
    pub priority: i64,
    pub valid: bool,
}

/// How a coupon reads in one currency.
pub enum InCurrency {
    Percent(Basis),
    AmountOff(i64),
}

impl ValidCoupon {
    /// The coupon's value and cap in `currency`; `None` when it has no amount there
    /// (`currency_mismatch`).
    pub fn in_currency(&self, currency: Currency) -> Option<(InCurrency, Option<i64>)> {
        let cap = if self.caps.is_empty() {
            None
        } else {
            Some(self.caps.iter().find(|c| c.0 == currency)?.1)
        };
        let value = match &self.value {
            CouponValue::Percent(b) => InCurrency::Percent(*b),
            CouponValue::AmountOff(list) => {
                InCurrency::AmountOff(list.iter().find(|c| c.0 == currency)?.1)
            }
        };
        Some((value, cap))
    }

    pub fn applies_to_product(&self, product: Option<&str>) -> bool {
        match &self.applies_to {
            None => true,
            Some(list) => product.is_some_and(|p| list.iter().any(|x| x == p)),
        }
    }
}

impl Coupon {
    /// Checks the coupon once; `path` is where it sits in the caller's input.
    pub fn validate(&self, path: &str) -> Result<ValidCoupon> {
        let code = ErrorCode::InvalidCoupon;
        let bad =
            |field: &str, message: &'static str| Error::new(code, join_path(path, field), message);
        if self.id.as_deref().is_some_and(str::is_empty) {
            return Err(bad("id", "id must not be empty"));
        }
        let currency = self
            .currency
            .as_deref()
            .map(|c| Currency::parse(c, &join_path(path, "currency")))
            .transpose()?;
        let cap = self
            .max_discount_amount
            .map(|v| positive(v, code, &join_path(path, "max_discount_amount")))
            .transpose()?;
        let mut value = match (self.percent_off, self.amount_off) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "amount_off",
                    "give percent_off or amount_off, not both",
                ))
            }
            (None, None) => {
                return Err(Error::new(
                    code,
                    path,
                    "a coupon needs percent_off or amount_off",
                ))
            }
            (Some(p), None) => {
                let basis = p.basis(code, &join_path(path, "percent_off"))?;
                match (currency, cap) {
                    (Some(_), None) => {
                        return Err(bad(
                            "currency",
                            "a percent_off coupon takes a currency only for max_discount_amount",
                        ))
                    }
                    (None, Some(_)) => {
                        return Err(bad("currency", "max_discount_amount needs a currency"))
                    }
                    _ => CouponValue::Percent(basis),
                }
            }
            (None, Some(a)) => {
                let a = positive(a, code, &join_path(path, "amount_off"))?;
                let c = currency.ok_or_else(|| bad("currency", "amount_off needs a currency"))?;
                CouponValue::AmountOff(vec![(c, a)])
            }
        };
        let mut caps: Vec<(Currency, i64)> = currency.zip(cap).into_iter().collect();
        let mut seen: Vec<Currency> = currency.into_iter().collect();
        for (key, option) in self.currency_options.iter().flatten() {
            let option_path = join_path(path, &["currency_options.", key].concat());
            let other = Currency::parse(key, &option_path)?;
            if seen.contains(&other) {
                return Err(Error::new(code, option_path, "currency listed twice"));
            }
            seen.push(other);
            let field = |f: &str| join_path(&option_path, f);
            if option.minimum_amount.is_some() {
                return Err(Error::new(
                    code,
                    field("minimum_amount"),
                    "not a field of a coupon's currency options",
                ));
            }
            match &mut value {
                CouponValue::Percent(_) => {
                    if option.amount_off.is_some() {
                        return Err(Error::new(
                            code,
                            field("amount_off"),
                            "a percent_off coupon has no amount_off",
                        ));
                    }
                    if cap.is_none() {
                        return Err(Error::new(
                            code,
                            option_path,
                            "currency_options of a percent_off coupon only carry max_discount_amount, which needs one at the top level",
                        ));
                    }
                }
                CouponValue::AmountOff(list) => {
                    let a = option.amount_off.ok_or_else(|| {
                        Error::new(code, field("amount_off"), "amount_off is required")
                    })?;
                    list.push((other, positive(a, code, &field("amount_off"))?));
                }
            }
            match (cap, option.max_discount_amount) {
                (Some(_), Some(x)) => {
                    caps.push((other, positive(x, code, &field("max_discount_amount"))?))
                }
                (Some(_), None) => {
                    return Err(Error::new(
                        code,
                        field("max_discount_amount"),
                        "a capped coupon needs its cap in every currency",
                    ))
                }
                (None, Some(_)) => {
                    return Err(Error::new(
                        code,
                        field("max_discount_amount"),
                        "set max_discount_amount at the top level too",
                    ))
                }
                (None, None) => {}
            }
        }
        let duration = self.duration.unwrap_or_default();
        match (duration, self.duration_in_months) {
            (Duration::Repeating, None) => {
                return Err(bad(
                    "duration_in_months",
                    "a repeating coupon needs duration_in_months",
                ))
            }
            (Duration::Repeating, Some(m)) if !(1..=1200).contains(&m) => {
                return Err(bad(
                    "duration_in_months",
                    "duration_in_months must be between 1 and 1200",
                ))
            }
            (Duration::Once | Duration::Forever, Some(_)) => {
                return Err(bad(
                    "duration_in_months",
                    "only a repeating coupon takes duration_in_months",
                ))
            }
            _ => {}
        }
        if self.max_redemptions.is_some_and(|m| m < 1) {
            return Err(bad("max_redemptions", "max_redemptions must be at least 1"));
        }
        if self.times_redeemed.is_some_and(|m| m < 0) {
            return Err(bad("times_redeemed", "times_redeemed must not be negative"));
        }
        let applies_to = match &self.applies_to {
            None => None,
            Some(a) if a.products.is_empty() || a.products.iter().any(String::is_empty) => {
                return Err(bad(
                    "applies_to.products",
                    "list at least one product id (omit applies_to for every product)",
                ))
            }
            Some(a) => Some(a.products.clone()),
        };
        check_window(self.starts_at, self.redeem_by, path, "redeem_by")?;
        Ok(ValidCoupon {
            id: self.id.clone(),
            name: self.name.clone(),
            percent_off: self.percent_off.map(|p| PercentOff(p.0.normalize())),
            value,
            caps,
            duration,
            duration_in_months: self.duration_in_months,
            applies_to,
            starts_at: self.starts_at,
            redeem_by: self.redeem_by,
            max_redemptions: self.max_redemptions,
            combinable: self.combinable.unwrap_or(true),
            priority: self.priority.unwrap_or(0),
            valid: self.valid.unwrap_or(true),
        })
    }
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for Coupon {
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
                "percent_off",
                "amount_off",
                "currency",
                "currency_options",
                "duration",
                "duration_in_months",
                "applies_to",
                "redeem_by",
                "max_redemptions",
                "starts_at",
                "combinable",
                "priority",
                "max_discount_amount",
                "metadata",
                "valid",
                "times_redeemed",
                "object",
                "created",
                "livemode",
            ],
        )?;
        let id = o.opt("id");
        let name = o.opt("name");
        let percent_off = o.opt("percent_off");
        let amount_off = o.opt("amount_off");
        let currency = o.opt("currency");
        let currency_options = o.opt("currency_options");
        let duration = o.opt("duration");
        let duration_in_months = o.opt("duration_in_months");
        let applies_to = o.opt("applies_to");
        let redeem_by = o.instant("redeem_by");
        let max_redemptions = o.opt("max_redemptions");
        let starts_at = o.instant("starts_at");
        let combinable = o.opt("combinable");
        let priority = o.opt("priority");
        let max_discount_amount = o.opt("max_discount_amount");
        let metadata = o.opt("metadata");
        let valid = o.opt("valid");
        let times_redeemed = o.opt("times_redeemed");
        let object = o.opt("object");
        let created = o.instant("created");
        let livemode = o.opt("livemode");
        o.finish(Coupon {
            id,
            name,
            percent_off,
            amount_off,
            currency,
            currency_options,
            duration,
            duration_in_months,
            applies_to,
            redeem_by,
            max_redemptions,
            starts_at,
            combinable,
            priority,
            max_discount_amount,
            metadata,
            valid,
            times_redeemed,
            object,
            created,
            livemode,
        })
    }
}

impl crate::json::FromJson for AppliesTo {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["products"])?;
        let products = o.req("products");
        let Some(products) = products else {
            return Err(o.failed());
        };
        o.finish(AppliesTo { products })
    }
}

crate::json::json_enum!(Duration {
    "once" => Duration::Once,
    "repeating" => Duration::Repeating,
    "forever" => Duration::Forever,
});

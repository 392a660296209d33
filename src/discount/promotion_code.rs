//! Promotion codes, Stripe-shaped: a customer-facing `code` wrapping a coupon, with `active`,
//! `expires_at`, `customer`, `max_redemptions` and `restrictions` (`minimum_amount` +
//! `minimum_amount_currency` + `currency_options`, `first_time_transaction`). Codes match
//! case-insensitively (ASCII letters) after trimming surrounding whitespace.

use super::{check_window, positive, CurrencyAmounts};
use crate::currency::Currency;
use crate::error::{join_path, Error, ErrorCode, Result};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct PromotionCode {
    pub id: Option<String>,
    /// What the customer types, e.g. `"SUMMER10"`.
    pub code: String,
    /// The id of the catalog coupon it redeems.
    pub coupon: String,
    /// Default true.
    pub active: Option<bool>,
    /// Unix seconds; the code is expired from this instant on.
    pub expires_at: Option<i64>,
    /// billcalc: Unix seconds before which the code is not yet valid.
    pub starts_at: Option<i64>,
    /// Reported, not enforced: the server that records redemptions enforces it.
    pub max_redemptions: Option<i64>,
    /// Only this customer (`customer.id` of the quote) may redeem the code.
    pub customer: Option<String>,
    pub restrictions: Option<Restrictions>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub times_redeemed: Option<i64>,
    pub object: Option<String>,
    pub created: Option<i64>,
    pub livemode: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct Restrictions {
    /// Minor units of `minimum_amount_currency`, compared with the cart's merchandise amount
    /// before discounts (every line except shipping).
    pub minimum_amount: Option<i64>,
    pub minimum_amount_currency: Option<String>,
    pub currency_options: Option<BTreeMap<String, CurrencyAmounts>>,
    /// Only customers who have not paid before (`customer.has_paid_before: false`).
    pub first_time_transaction: Option<bool>,
}

/// A checked promotion code.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPromotionCode {
    pub id: Option<String>,
    /// As declared in the catalog (output shows this spelling).
    pub code: String,
    pub coupon: String,
    pub active: bool,
    pub starts_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub max_redemptions: Option<i64>,
    pub customer: Option<String>,
    /// `minimum_amount` per currency; empty when there is none.
    pub minimums: Vec<(Currency, i64)>,
    pub first_time_transaction: bool,
}

/// The form codes are compared in: trimmed, ASCII-lowercased.
pub fn normalize_code(code: &str) -> String {
    code.trim().to_ascii_lowercase()
}

impl PromotionCode {
    pub fn validate(&self, path: &str) -> Result<ValidPromotionCode> {
        let code = ErrorCode::InvalidPromotionCode;
        let bad =
            |field: &str, message: &'static str| Error::new(code, join_path(path, field), message);
        if self.code.trim().is_empty() {
            return Err(bad("code", "code must not be empty"));
        }
        if self.id.as_deref().is_some_and(str::is_empty) {
            return Err(bad("id", "id must not be empty"));
        }
        if self.max_redemptions.is_some_and(|m| m < 1) {
            return Err(bad("max_redemptions", "max_redemptions must be at least 1"));
        }
        check_window(self.starts_at, self.expires_at, path, "expires_at")?;
        let restrictions = self.restrictions.clone().unwrap_or_default();
        let r_path = join_path(path, "restrictions");
        let field = |f: &str| join_path(&r_path, f);
        let mut minimums = Vec::new();
        match (
            restrictions.minimum_amount,
            restrictions.minimum_amount_currency.as_deref(),
        ) {
            (Some(m), Some(c)) => {
                let c = Currency::parse(c, &field("minimum_amount_currency"))?;
                minimums.push((c, positive(m, code, &field("minimum_amount"))?));
            }
            (Some(_), None) => {
                return Err(Error::new(
                    code,
                    field("minimum_amount_currency"),
                    "minimum_amount needs minimum_amount_currency",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::new(
                    code,
                    field("minimum_amount"),
                    "minimum_amount_currency needs minimum_amount",
                ))
            }
            (None, None) => {}
        }
        for (key, option) in restrictions.currency_options.iter().flatten() {
            let option_path = join_path(&r_path, &["currency_options.", key].concat());
            let other = Currency::parse(key, &option_path)?;
            if minimums.is_empty() {
                return Err(Error::new(
                    code,
                    option_path,
                    "currency_options need minimum_amount and minimum_amount_currency",
                ));
            }
            if minimums.iter().any(|m| m.0 == other) {
                return Err(Error::new(code, option_path, "currency listed twice"));
            }
            let field = |f: &str| join_path(&option_path, f);
            if option.amount_off.is_some() || option.max_discount_amount.is_some() {
                let name = if option.amount_off.is_some() {
                    "amount_off"
                } else {
                    "max_discount_amount"
                };
                return Err(Error::new(
                    code,
                    field(name),
                    "a minimum's currency options only take minimum_amount",
                ));
            }
            let m = option.minimum_amount.ok_or_else(|| {
                Error::new(
                    ErrorCode::MissingField,
                    field("minimum_amount"),
                    "minimum_amount is required",
                )
            })?;
            let m = positive(m, code, &field("minimum_amount"))?;
            minimums.push((other, m));
        }
        Ok(ValidPromotionCode {
            id: self.id.clone(),
            code: self.code.trim().to_string(),
            coupon: self.coupon.clone(),
            active: self.active.unwrap_or(true),
            starts_at: self.starts_at,
            expires_at: self.expires_at,
            max_redemptions: self.max_redemptions,
            customer: self.customer.clone(),
            minimums,
            first_time_transaction: restrictions.first_time_transaction.unwrap_or(false),
        })
    }
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for PromotionCode {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "id",
                "code",
                "coupon",
                "active",
                "expires_at",
                "starts_at",
                "max_redemptions",
                "customer",
                "restrictions",
                "metadata",
                "times_redeemed",
                "object",
                "created",
                "livemode",
            ],
        )?;
        let id = o.opt("id");
        let code = o.req("code");
        let coupon = o.req("coupon");
        let active = o.opt("active");
        let expires_at = o.instant("expires_at");
        let starts_at = o.instant("starts_at");
        let max_redemptions = o.opt("max_redemptions");
        let customer = o.opt("customer");
        let restrictions = o.opt("restrictions");
        let metadata = o.opt("metadata");
        let times_redeemed = o.opt("times_redeemed");
        let object = o.opt("object");
        let created = o.instant("created");
        let livemode = o.opt("livemode");
        let (Some(code), Some(coupon)) = (code, coupon) else {
            return Err(o.failed());
        };
        o.finish(PromotionCode {
            id,
            code,
            coupon,
            active,
            expires_at,
            starts_at,
            max_redemptions,
            customer,
            restrictions,
            metadata,
            times_redeemed,
            object,
            created,
            livemode,
        })
    }
}

impl crate::json::FromJson for Restrictions {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "minimum_amount",
                "minimum_amount_currency",
                "currency_options",
                "first_time_transaction",
            ],
        )?;
        let minimum_amount = o.opt("minimum_amount");
        let minimum_amount_currency = o.opt("minimum_amount_currency");
        let currency_options = o.opt("currency_options");
        let first_time_transaction = o.opt("first_time_transaction");
        o.finish(Restrictions {
            minimum_amount,
            minimum_amount_currency,
            currency_options,
            first_time_transaction,
        })
    }
}

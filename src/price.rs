//! Stripe-shaped prices: per unit, package (`transform_quantity`), tiered graduated and volume.
//!
//! A [`Price`] is what callers send; [`Price::validate`] checks it once and yields a
//! [`ValidPrice`] whose [`Scheme::amount`] prices a quantity exactly (unrounded, in minor units).

use crate::currency::Currency;
use crate::error::{join_path, Error, ErrorCode, Result};
use crate::money;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A price as Stripe shapes it. Read-only Stripe fields (`object`, `active`, `created`, …) are
/// accepted so a Stripe catalog can be fed as is; they do not affect amounts.
#[derive(Debug, Clone, Default)]
pub struct Price {
    pub id: Option<String>,
    pub currency: String,
    pub product: Option<String>,
    pub unit_amount: Option<i64>,
    pub unit_amount_decimal: Option<String>,
    pub billing_scheme: Option<BillingScheme>,
    pub tiers_mode: Option<TiersMode>,
    pub tiers: Option<Vec<Tier>>,
    pub transform_quantity: Option<TransformQuantity>,
    pub recurring: Option<Recurring>,
    pub tax_behavior: Option<TaxBehavior>,
    pub currency_options: Option<BTreeMap<String, CurrencyOption>>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub nickname: Option<String>,
    pub lookup_key: Option<String>,
    pub active: Option<bool>,
    pub object: Option<String>,
    pub kind: Option<String>,
    pub created: Option<i64>,
    pub livemode: Option<bool>,
}

/// The amounts of a price in another currency (Stripe's `currency_options` entry).
#[derive(Debug, Clone, Default)]
pub struct CurrencyOption {
    pub unit_amount: Option<i64>,
    pub unit_amount_decimal: Option<String>,
    pub tiers: Option<Vec<Tier>>,
    pub tax_behavior: Option<TaxBehavior>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingScheme {
    PerUnit,
    Tiered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TiersMode {
    Graduated,
    Volume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxBehavior {
    Inclusive,
    Exclusive,
    #[default]
    Unspecified,
}

#[derive(Debug, Clone)]
pub struct Tier {
    pub up_to: UpTo,
    pub unit_amount: Option<i64>,
    pub unit_amount_decimal: Option<String>,
    pub flat_amount: Option<i64>,
    pub flat_amount_decimal: Option<String>,
}

/// A tier's upper bound: an integer, or `"inf"` (Stripe's API returns `null`) for the last tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpTo {
    Quantity(i64),
    Inf,
}

#[derive(Debug, Clone)]
pub struct TransformQuantity {
    pub divide_by: i64,
    pub round: PackageRound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageRound {
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recurring {
    pub interval: Interval,
    pub interval_count: i64,
    pub usage_type: UsageType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregate_usage: Option<AggregateUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_period_days: Option<i64>,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageType {
    #[default]
    Licensed,
    Metered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateUsage {
    Sum,
    Max,
    /// The period's last record (Stripe's `last_during_period`, accepted as an alias).
    Last,
    /// How many records the period has, whatever their quantities.
    Count,
}

/// A validated price: its terms in the primary currency and in each `currency_options` entry.
/// The id and product are shared strings: every quote line priced by it holds a reference to
/// them, not a copy (issue 12).
#[derive(Debug, Clone)]
pub struct ValidPrice {
    pub id: Option<Arc<str>>,
    pub product: Option<Arc<str>>,
    pub recurring: Option<Recurring>,
    terms: Vec<Terms>,
    /// The product in the catalog of the `Calculator` that validated this price, found once
    /// (not by id on every quote line).
    pub(crate) catalog_product: ProductLink,
}

/// Where a catalog price's product is in its calculator's catalog: `catalog` is the
/// calculator's identity (a price is only ever linked to the calculator that holds it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProductLink {
    pub catalog: u64,
    /// `None`: the catalog has no such product.
    pub index: Option<usize>,
}

/// What a price charges in one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Terms {
    pub currency: Currency,
    pub scheme: Scheme,
    pub tax_behavior: TaxBehavior,
}

/// How a quantity becomes an amount. Amounts are exact minor units (possibly fractional).
#[derive(Debug, Clone, PartialEq)]
pub enum Scheme {
    PerUnit {
        unit_amount: Decimal,
        package: Option<Package>,
    },
    Tiered {
        mode: TiersMode,
        tiers: Vec<ValidTier>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Package {
    pub divide_by: i64,
    pub round: PackageRound,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidTier {
    /// Inclusive upper bound; `None` is unbounded.
    pub up_to: Option<i64>,
    pub unit_amount: Decimal,
    pub flat_amount: Decimal,
    /// The exact graduated amount of every tier before this one, taken whole (units and flat
    /// fees); `None` when that sum is beyond the money bounds. Computed once when the price is
    /// validated, so pricing a quantity is a binary search, not a walk over the tiers.
    pub below: Option<Decimal>,
}

impl ValidPrice {
    /// The terms of a line whose amount is given rather than priced (an invoice item without a
    /// price, a minimum-commitment true-up): no id, no product, nothing to price.
    pub fn amount_only(currency: Currency, tax_behavior: TaxBehavior) -> ValidPrice {
        ValidPrice {
            id: None,
            product: None,
            recurring: None,
            terms: vec![Terms {
                currency,
                scheme: Scheme::PerUnit {
                    unit_amount: Decimal::ZERO,
                    package: None,
                },
                tax_behavior,
            }],
            catalog_product: ProductLink::default(),
        }
    }

    /// The terms for `currency`: the primary ones or a `currency_options` entry.
    pub fn terms_for(&self, currency: Currency) -> Option<&Terms> {
        self.terms.iter().find(|t| t.currency == currency)
    }
}

impl Scheme {
    /// The amount for `quantity` units rounded once by `rounding`: always
    /// `rounding.round(self.amount(quantity))`, with a per-unit price computed as an integer
    /// product (the checkout's hot path, issue 12) instead of a Decimal one.
    pub fn rounded_amount(
        &self,
        quantity: i64,
        rounding: &crate::rounding::RoundingPolicy,
        path: &str,
    ) -> Result<i64> {
        match self {
            Scheme::PerUnit {
                unit_amount,
                package: None,
            } => rounding.round_product(*unit_amount, quantity, path),
            _ => rounding.round(self.amount(quantity, path)?, path),
        }
    }

    /// The exact amount for `quantity` units, in minor units, before any rounding.
    pub fn amount(&self, quantity: i64, path: &str) -> Result<Decimal> {
        let q = Decimal::from(quantity);
        match self {
            Scheme::PerUnit {
                unit_amount,
                package: None,
            } => money::mul(*unit_amount, q, path),
            Scheme::PerUnit {
                unit_amount,
                package: Some(p),
            } => {
                let whole = quantity / p.divide_by;
                let packages = match p.round {
                    PackageRound::Up if quantity % p.divide_by != 0 => whole + 1,
                    _ => whole,
                };
                money::mul(*unit_amount, Decimal::from(packages), path)
            }
            Scheme::Tiered {
                mode: TiersMode::Volume,
                tiers,
            } => {
                // The tier holding the total quantity prices every unit (quantity 0: the first).
                let tier = tier_of(tiers, quantity).ok_or_else(|| {
                    Error::new(ErrorCode::InvalidTiers, path, "no tier holds the quantity")
                })?;
                money::add(
                    money::mul(tier.unit_amount, q, path)?,
                    tier.flat_amount,
                    path,
                )
            }
            Scheme::Tiered {
                mode: TiersMode::Graduated,
                tiers,
            } => {
                // Each tier prices the units inside it; every tier touched adds its flat fee, and
                // the first tier's flat fee is due even at quantity 0 (Stripe's behaviour). The
                // tiers below the one holding the quantity are whole: their sum is precomputed.
                let i = tiers
                    .partition_point(|t| t.up_to.is_some_and(|u| u < quantity))
                    .min(tiers.len().saturating_sub(1));
                let tier = tiers.get(i).ok_or_else(|| {
                    Error::new(ErrorCode::InvalidTiers, path, "no tier holds the quantity")
                })?;
                let floor = match i.checked_sub(1).and_then(|k| tiers.get(k)) {
                    Some(previous) => previous.up_to.unwrap_or(0),
                    None => 0,
                };
                let below = tier.below.ok_or_else(|| {
                    Error::new(ErrorCode::AmountOverflow, path, "amount too large")
                })?;
                let units = Decimal::from((quantity - floor).max(0));
                let within = money::mul(tier.unit_amount, units, path)?;
                money::add(money::add(below, within, path)?, tier.flat_amount, path)
            }
        }
    }
}

/// The tier holding `quantity` (the first whose `up_to` reaches it), by binary search: tiers
/// are validated in increasing `up_to` order with only the last unbounded.
fn tier_of(tiers: &[ValidTier], quantity: i64) -> Option<&ValidTier> {
    let i = tiers.partition_point(|t| t.up_to.is_some_and(|u| u < quantity));
    tiers.get(i)
}

fn invalid(code: ErrorCode, path: &str, field: &str, message: &str) -> Error {
    Error::new(code, join_path(path, field), message)
}

/// Reads an amount given as an integer, a decimal string, or both (Stripe returns both; they must
/// agree). `None` when neither is set.
fn amount_field(
    int: Option<i64>,
    text: Option<&str>,
    path: &str,
    int_name: &str,
    text_name: &str,
) -> Result<Option<Decimal>> {
    let from_int = int
        .map(|v| money::non_negative(v, &join_path(path, int_name)))
        .transpose()?;
    let from_text = text
        .map(|t| money::parse_decimal(t, &join_path(path, text_name)))
        .transpose()?;
    match (from_int, from_text) {
        (Some(a), Some(b)) if a != b => Err(invalid(
            ErrorCode::InvalidPrice,
            path,
            text_name,
            "disagrees with the integer amount; give one of the two",
        )),
        (a, b) => Ok(a.or(b)),
    }
}

const MAX_INTERVAL_DAYS: i64 = 3 * 365;

impl Recurring {
    fn validate(&self, path: &str) -> Result<()> {
        let limit = match self.interval {
            Interval::Day => MAX_INTERVAL_DAYS,
            Interval::Week => 156,
            Interval::Month => 36,
            Interval::Year => 3,
        };
        if self.interval_count < 1 || self.interval_count > limit {
            return Err(invalid(
                ErrorCode::InvalidPrice,
                path,
                "interval_count",
                "interval_count must be at least 1 and at most 3 years",
            ));
        }
        if self
            .trial_period_days
            .is_some_and(|d| !(0..=730).contains(&d))
        {
            return Err(invalid(
                ErrorCode::InvalidPrice,
                path,
                "trial_period_days",
                "must be between 0 and 730",
            ));
        }
        Ok(())
    }
}

impl Price {
    /// Checks the price once; `path` is where it sits in the caller's input.
    pub fn validate(&self, path: &str) -> Result<ValidPrice> {
        let currency = Currency::parse(&self.currency, &join_path(path, "currency"))?;
        if let Some(r) = &self.recurring {
            r.validate(&join_path(path, "recurring"))?;
        }
        let tiered = match self.billing_scheme {
            Some(BillingScheme::Tiered) => true,
            Some(BillingScheme::PerUnit) => false,
            None => self.tiers.is_some(),
        };
        let package = match &self.transform_quantity {
            None => None,
            Some(_) if tiered => {
                return Err(invalid(
                    ErrorCode::InvalidPrice,
                    path,
                    "transform_quantity",
                    "transform_quantity cannot be combined with tiers",
                ))
            }
            Some(t) if t.divide_by < 1 || t.divide_by > money::MAX_AMOUNT => {
                return Err(invalid(
                    ErrorCode::InvalidPrice,
                    path,
                    "transform_quantity.divide_by",
                    "divide_by must be a positive integer",
                ))
            }
            Some(t) => Some(Package {
                divide_by: t.divide_by,
                round: t.round,
            }),
        };
        let option = CurrencyOption {
            unit_amount: self.unit_amount,
            unit_amount_decimal: self.unit_amount_decimal.clone(),
            tiers: self.tiers.clone(),
            tax_behavior: self.tax_behavior,
        };
        let mut terms = vec![self.terms(currency, &option, tiered, package, path)?];
        for (code, option) in self.currency_options.iter().flatten() {
            let option_path = join_path(path, &format!("currency_options.{code}"));
            let other = Currency::parse(code, &option_path)?;
            if terms.iter().any(|t| t.currency == other) {
                return Err(Error::new(
                    ErrorCode::InvalidPrice,
                    option_path,
                    "currency listed twice",
                ));
            }
            terms.push(self.terms(other, option, tiered, package, &option_path)?);
        }
        Ok(ValidPrice {
            id: self.id.as_deref().map(Arc::from),
            product: self.product.as_deref().map(Arc::from),
            recurring: self.recurring.clone(),
            terms,
            catalog_product: ProductLink::default(),
        })
    }

    fn terms(
        &self,
        currency: Currency,
        option: &CurrencyOption,
        tiered: bool,
        package: Option<Package>,
        path: &str,
    ) -> Result<Terms> {
        let unit = amount_field(
            option.unit_amount,
            option.unit_amount_decimal.as_deref(),
            path,
            "unit_amount",
            "unit_amount_decimal",
        )?;
        let scheme = if tiered {
            if unit.is_some() {
                return Err(invalid(
                    ErrorCode::InvalidPrice,
                    path,
                    "unit_amount",
                    "a tiered price takes its amounts from tiers",
                ));
            }
            let mode = self.tiers_mode.ok_or_else(|| {
                invalid(
                    ErrorCode::InvalidTiers,
                    path,
                    "tiers_mode",
                    "a tiered price needs tiers_mode graduated or volume",
                )
            })?;
            let tiers = option.tiers.as_deref().ok_or_else(|| {
                invalid(
                    ErrorCode::InvalidTiers,
                    path,
                    "tiers",
                    "a tiered price needs tiers",
                )
            })?;
            Scheme::Tiered {
                mode,
                tiers: validate_tiers(tiers, &join_path(path, "tiers"))?,
            }
        } else {
            if option.tiers.is_some() || self.tiers_mode.is_some() {
                return Err(invalid(
                    ErrorCode::InvalidPrice,
                    path,
                    "billing_scheme",
                    "tiers need billing_scheme \"tiered\"",
                ));
            }
            let unit_amount = unit.ok_or_else(|| {
                invalid(
                    ErrorCode::InvalidPrice,
                    path,
                    "unit_amount",
                    "a per-unit price needs unit_amount or unit_amount_decimal",
                )
            })?;
            Scheme::PerUnit {
                unit_amount,
                package,
            }
        };
        let tax_behavior = option
            .tax_behavior
            .or(self.tax_behavior)
            .unwrap_or_default();
        Ok(Terms {
            currency,
            scheme,
            tax_behavior,
        })
    }
}

fn validate_tiers(tiers: &[Tier], path: &str) -> Result<Vec<ValidTier>> {
    crate::limits::check(tiers.len(), crate::limits::MAX_TIERS, path, "tiers")?;
    if tiers.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidTiers,
            path,
            "at least one tier is needed",
        ));
    }
    let mut valid = Vec::with_capacity(tiers.len());
    let mut previous = 0i64;
    // The graduated sum of the whole tiers so far (None once beyond the money bounds).
    let mut below = Some(Decimal::ZERO);
    for (i, tier) in tiers.iter().enumerate() {
        let tier_path = format!("{path}[{i}]");
        let last = i + 1 == tiers.len();
        let up_to = match tier.up_to {
            UpTo::Inf if last => None,
            UpTo::Inf => {
                return Err(invalid(
                    ErrorCode::InvalidTiers,
                    &tier_path,
                    "up_to",
                    "only the last tier may be unbounded",
                ))
            }
            UpTo::Quantity(_) if last => {
                return Err(invalid(
                    ErrorCode::InvalidTiers,
                    &tier_path,
                    "up_to",
                    "the last tier must be \"inf\"",
                ))
            }
            UpTo::Quantity(q) if q <= previous || q > money::MAX_AMOUNT => {
                return Err(invalid(
                    ErrorCode::InvalidTiers,
                    &tier_path,
                    "up_to",
                    "up_to must be a positive integer greater than the previous tier's",
                ))
            }
            UpTo::Quantity(q) => Some(q),
        };
        let unit = amount_field(
            tier.unit_amount,
            tier.unit_amount_decimal.as_deref(),
            &tier_path,
            "unit_amount",
            "unit_amount_decimal",
        )?;
        let flat = amount_field(
            tier.flat_amount,
            tier.flat_amount_decimal.as_deref(),
            &tier_path,
            "flat_amount",
            "flat_amount_decimal",
        )?;
        if unit.is_none() && flat.is_none() {
            return Err(Error::new(
                ErrorCode::InvalidTiers,
                tier_path,
                "a tier needs a unit amount or a flat amount",
            ));
        }
        let (unit_amount, flat_amount) = (unit.unwrap_or_default(), flat.unwrap_or_default());
        valid.push(ValidTier {
            up_to,
            unit_amount,
            flat_amount,
            below,
        });
        if let Some(u) = up_to {
            below = below.and_then(|b| {
                let whole = money::mul(unit_amount, Decimal::from(u - previous), "").ok()?;
                money::add(money::add(b, whole, "").ok()?, flat_amount, "").ok()
            });
        }
        previous = up_to.unwrap_or(previous);
    }
    Ok(valid)
}

mod read {
    use super::*;
    use crate::json::Value;
    use crate::json::{invalid, json_enum, FromJson, Path};

    impl crate::json::FromJson for Price {
        fn from_json_value(
            value: &crate::json::Value,
            path: &crate::json::Path,
        ) -> crate::error::Result<Self> {
            let o = crate::json::Obj::new(
                value,
                path,
                &[
                    "id",
                    "currency",
                    "product",
                    "unit_amount",
                    "unit_amount_decimal",
                    "billing_scheme",
                    "tiers_mode",
                    "tiers",
                    "transform_quantity",
                    "recurring",
                    "tax_behavior",
                    "currency_options",
                    "metadata",
                    "nickname",
                    "lookup_key",
                    "active",
                    "object",
                    "type",
                    "created",
                    "livemode",
                ],
            )?;
            let id = o.opt("id");
            let currency = o.req("currency");
            let product = o.opt("product");
            let unit_amount = o.opt("unit_amount");
            let unit_amount_decimal = o.opt("unit_amount_decimal");
            let billing_scheme = o.opt("billing_scheme");
            let tiers_mode = o.opt("tiers_mode");
            let tiers = o.opt("tiers");
            let transform_quantity = o.opt("transform_quantity");
            let recurring = o.opt("recurring");
            let tax_behavior = o.opt("tax_behavior");
            let currency_options = o.opt("currency_options");
            let metadata = o.opt("metadata");
            let nickname = o.opt("nickname");
            let lookup_key = o.opt("lookup_key");
            let active = o.opt("active");
            let object = o.opt("object");
            let kind = o.opt("type");
            let created = o.instant("created");
            let livemode = o.opt("livemode");
            let Some(currency) = currency else {
                return Err(o.failed());
            };
            o.finish(Price {
                id,
                currency,
                product,
                unit_amount,
                unit_amount_decimal,
                billing_scheme,
                tiers_mode,
                tiers,
                transform_quantity,
                recurring,
                tax_behavior,
                currency_options,
                metadata,
                nickname,
                lookup_key,
                active,
                object,
                kind,
                created,
                livemode,
            })
        }
    }

    impl crate::json::FromJson for CurrencyOption {
        fn from_json_value(
            value: &crate::json::Value,
            path: &crate::json::Path,
        ) -> crate::error::Result<Self> {
            let o = crate::json::Obj::new(
                value,
                path,
                &[
                    "unit_amount",
                    "unit_amount_decimal",
                    "tiers",
                    "tax_behavior",
                ],
            )?;
            let unit_amount = o.opt("unit_amount");
            let unit_amount_decimal = o.opt("unit_amount_decimal");
            let tiers = o.opt("tiers");
            let tax_behavior = o.opt("tax_behavior");
            o.finish(CurrencyOption {
                unit_amount,
                unit_amount_decimal,
                tiers,
                tax_behavior,
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
                    "up_to",
                    "unit_amount",
                    "unit_amount_decimal",
                    "flat_amount",
                    "flat_amount_decimal",
                ],
            )?;
            let up_to = o.req("up_to");
            let unit_amount = o.opt("unit_amount");
            let unit_amount_decimal = o.opt("unit_amount_decimal");
            let flat_amount = o.opt("flat_amount");
            let flat_amount_decimal = o.opt("flat_amount_decimal");
            let Some(up_to) = up_to else {
                return Err(o.failed());
            };
            o.finish(Tier {
                up_to,
                unit_amount,
                unit_amount_decimal,
                flat_amount,
                flat_amount_decimal,
            })
        }
    }

    impl crate::json::FromJson for TransformQuantity {
        fn from_json_value(
            value: &crate::json::Value,
            path: &crate::json::Path,
        ) -> crate::error::Result<Self> {
            let o = crate::json::Obj::new(value, path, &["divide_by", "round"])?;
            let divide_by = o.req("divide_by");
            let round = o.req("round");
            let (Some(divide_by), Some(round)) = (divide_by, round) else {
                return Err(o.failed());
            };
            o.finish(TransformQuantity { divide_by, round })
        }
    }

    impl crate::json::FromJson for Recurring {
        fn from_json_value(
            value: &crate::json::Value,
            path: &crate::json::Path,
        ) -> crate::error::Result<Self> {
            let o = crate::json::Obj::new(
                value,
                path,
                &[
                    "interval",
                    "interval_count",
                    "usage_type",
                    "aggregate_usage",
                    "trial_period_days",
                ],
            )?;
            let interval = o.req("interval");
            let interval_count = o.or("interval_count", one);
            let usage_type = o.def("usage_type");
            let aggregate_usage = o.opt("aggregate_usage");
            let trial_period_days = o.opt("trial_period_days");
            let Some(interval) = interval else {
                return Err(o.failed());
            };
            o.finish(Recurring {
                interval,
                interval_count,
                usage_type,
                aggregate_usage,
                trial_period_days,
            })
        }
    }

    impl FromJson for UpTo {
        fn from_json_value(value: &Value, path: &Path) -> Result<Self> {
            match value {
                Value::Null => Ok(UpTo::Inf),
                Value::String(s) if s == "inf" => Ok(UpTo::Inf),
                Value::Number(n) if n.is_u64() || n.is_i64() => n
                    .as_i64()
                    .map(UpTo::Quantity)
                    .ok_or_else(|| invalid(path, "up_to is too large")),
                _ => Err(invalid(path, "a positive integer or \"inf\"")),
            }
        }
    }

    json_enum!(BillingScheme { "per_unit" => BillingScheme::PerUnit, "tiered" => BillingScheme::Tiered });
    json_enum!(TiersMode { "graduated" => TiersMode::Graduated, "volume" => TiersMode::Volume });
    json_enum!(TaxBehavior {
        "inclusive" => TaxBehavior::Inclusive,
        "exclusive" => TaxBehavior::Exclusive,
        "unspecified" => TaxBehavior::Unspecified,
    });
    json_enum!(PackageRound { "up" => PackageRound::Up, "down" => PackageRound::Down });
    json_enum!(Interval {
        "day" => Interval::Day,
        "week" => Interval::Week,
        "month" => Interval::Month,
        "year" => Interval::Year,
    });
    json_enum!(UsageType { "licensed" => UsageType::Licensed, "metered" => UsageType::Metered });
    json_enum!(AggregateUsage {
        "sum" => AggregateUsage::Sum,
        "max" => AggregateUsage::Max,
        "last" => AggregateUsage::Last,
        "last_during_period" => AggregateUsage::Last,
        "count" => AggregateUsage::Count,
    });
}

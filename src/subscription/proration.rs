//! Proration: a share of what an item costs for a whole period.
//!
//! * **Share.** `granularity: "second"` (the default, Stripe's): seconds covered ÷ seconds in the
//!   nominal period. `"day"`: calendar days covered ÷ days in the nominal period, counted in
//!   the subscription's offset; the day of a change counts as a day of the new item (a change
//!   at 12:00 on Jan 16 of a Jan 1 – Feb 1 period covers 16 of 31 days).
//! * **Amount.** What the item's quantity costs for a whole period (the price's scheme, exact,
//!   unrounded: a tiered price prices the whole quantity) × the share, rounded once by the
//!   invoice's policy, exactly (no digits lost to division). Credit and debit lines are each
//!   rounded on their own, then summed by the invoice.
//! * **Credits round like debits.** A credit's magnitude is rounded, then negated, so the credit
//!   for an item equals the debit the same item would get: a change to the same price and
//!   quantity nets to exactly 0 under every rounding mode (ceiling and floor included), and a
//!   credit never exceeds what the whole period costs.
//! * **What is prorated.** Licensed items only: metered items bill their usage in arrears and
//!   are never prorated. A quantity change re-prorates the whole item (credit the old quantity,
//!   debit the new one) rather than the difference, so tiered prices stay correct. Nothing is
//!   prorated inside a trial.

use super::line::{decimal_text, Derivation, Method};
use super::period::{days_between, ServicePeriod};
use crate::error::{Error, ErrorCode, Result};
use crate::money;
use crate::rounding::RoundingPolicy;
use rust_decimal::Decimal;

/// How finely time is measured for a share of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Granularity {
    #[default]
    Second,
    Day,
}

/// A part of a nominal period, in seconds or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub part: i64,
    pub whole: i64,
    pub granularity: Granularity,
}

impl Share {
    /// The share of `period`'s nominal period that `[from, to)` covers.
    pub fn of(
        granularity: Granularity,
        from: i64,
        to: i64,
        period: &ServicePeriod,
        offset: i64,
    ) -> Share {
        let (part, whole) = match granularity {
            Granularity::Second => (to - from, period.nominal_end - period.nominal_start),
            Granularity::Day => (
                days_between(from, to, offset),
                days_between(period.nominal_start, period.nominal_end, offset),
            ),
        };
        Share {
            part: part.clamp(0, whole.max(0)),
            whole,
            granularity,
        }
    }
}

fn out_of_range(path: &str) -> Error {
    Error::new(ErrorCode::AmountOverflow, path, "proration out of range")
}

/// `share` of `full` (the exact whole-period amount, not negative), rounded by `rounding`; a
/// `credit` is the negated rounded magnitude. Returns the amount and its derivation.
pub fn prorate(
    full: Decimal,
    share: Share,
    credit: bool,
    quantity: i64,
    method: Method,
    rounding: RoundingPolicy,
    path: &str,
) -> Result<(i64, Derivation)> {
    let full = full.normalize();
    let (magnitude, unrounded) = if share.whole <= 0 || share.part <= 0 {
        (0, Decimal::ZERO)
    } else {
        // full = mantissa / 10^scale, so full × part / whole is an exact ratio of integers.
        let scale = 10i128
            .checked_pow(full.scale())
            .ok_or_else(|| out_of_range(path))?;
        let numerator = full
            .mantissa()
            .checked_mul(i128::from(share.part))
            .ok_or_else(|| out_of_range(path))?;
        let denominator = scale
            .checked_mul(i128::from(share.whole))
            .ok_or_else(|| out_of_range(path))?;
        let magnitude = rounding.round_ratio(numerator, denominator, path)?;
        // For the explanation only: the quotient to 28 significant digits.
        let shown = money::mul(full, Decimal::from(share.part), path)?
            .checked_div(Decimal::from(share.whole))
            .ok_or_else(|| out_of_range(path))?;
        (magnitude, shown)
    };
    let (amount, unrounded) = if credit {
        (-magnitude, -unrounded)
    } else {
        (magnitude, unrounded)
    };
    let mut derivation = Derivation::new(method, unrounded, rounding);
    derivation.quantity = Some(quantity);
    derivation.full_period_amount = Some(decimal_text(full));
    match share.granularity {
        Granularity::Second => {
            derivation.seconds = Some(share.part);
            derivation.seconds_in_period = Some(share.whole);
        }
        Granularity::Day => {
            derivation.days = Some(share.part);
            derivation.days_in_period = Some(share.whole);
        }
    }
    Ok((amount, derivation))
}

// Input reading (see `crate::json`).

crate::json::json_enum!(Granularity {
    "second" => Granularity::Second,
    "day" => Granularity::Day,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounding::RoundingMode;

    fn share(part: i64, whole: i64) -> Share {
        Share {
            part,
            whole,
            granularity: Granularity::Second,
        }
    }

    #[test]
    fn halfway_through_a_month() {
        let policy = RoundingPolicy::default();
        let half = share(1_296_000, 2_592_000);
        let (credit, d) = prorate(
            Decimal::from(1000),
            half,
            true,
            1,
            Method::Proration,
            policy,
            "",
        )
        .unwrap();
        assert_eq!(credit, -500);
        assert_eq!(d.unrounded, "-500");
        assert_eq!(d.full_period_amount.as_deref(), Some("1000"));
        let (debit, _) = prorate(
            Decimal::from(2000),
            half,
            false,
            1,
            Method::Proration,
            policy,
            "",
        )
        .unwrap();
        assert_eq!(debit, 1000);
    }

    #[test]
    fn credits_mirror_debits_in_every_mode() {
        for mode in [
            RoundingMode::Ceiling,
            RoundingMode::Floor,
            RoundingMode::HalfEven,
        ] {
            let policy = RoundingPolicy {
                mode,
                increment: None,
            };
            let s = share(1, 3);
            let (c, _) = prorate(
                Decimal::from(1000),
                s,
                true,
                1,
                Method::Proration,
                policy,
                "",
            )
            .unwrap();
            let (d, _) = prorate(
                Decimal::from(1000),
                s,
                false,
                1,
                Method::Proration,
                policy,
                "",
            )
            .unwrap();
            assert_eq!(c + d, 0);
        }
    }

    #[test]
    fn fractional_amounts_are_exact() {
        // 0.5 minor units a unit × 3 units for 1/3 of a period: exactly 0.5 → half up → 1.
        let (a, d) = prorate(
            Decimal::new(15, 1),
            share(1, 3),
            false,
            3,
            Method::Proration,
            RoundingPolicy::default(),
            "",
        )
        .unwrap();
        assert_eq!(a, 1);
        assert_eq!(d.unrounded, "0.5");
    }
}

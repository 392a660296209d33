//! Usage-based lines: a metered item's records over a period, aggregated and priced.
//!
//! * **Records.** `{quantity, timestamp}` (Stripe's usage records; quantities are non-negative
//!   integers). Those with a timestamp in the billed period `[start, end)` count; the others
//!   are left out and counted in the derivation (`records_outside_period`), never dropped
//!   silently.
//! * **Aggregation** (the price's `recurring.aggregate_usage`): `sum` (default) adds the
//!   quantities; `max` takes the largest; `last` (Stripe's `last_during_period`) the latest
//!   record's (on equal timestamps, the later in the input); `count` counts records. No record
//!   aggregates to 0.
//! * **Pricing.** The aggregate is priced through the price's scheme (per unit, packages,
//!   graduated or volume tiers, flat fees included) and rounded once. Usage is billed in arrears
//!   on the invoice that closes the period, never prorated, and nothing is billed for a trial.
//! * **Minimum commitment** (hybrid plans): when what the covered lines come to — the usage
//!   lines (`scope: "usage"`, default) or every subscription and usage line of the invoice
//!   (`scope: "invoice"`), before discounts and tax — is below the commitment, a
//!   `minimum_commitment` line tops it up to the commitment. It is not discountable and is
//!   taxed like any line (its `tax_category`, else standard).

use super::line::{Derivation, Method};
use crate::error::{Error, ErrorCode, Result};
use crate::money;
use crate::price::{AggregateUsage, Terms};
use crate::rounding::RoundingPolicy;
use crate::time::Timestamp;
use rust_decimal::Decimal;

/// One usage record (Stripe's usage record, without `action`).
#[derive(Debug, Clone)]
pub struct UsageRecord {
    pub id: Option<String>,
    pub quantity: i64,
    pub timestamp: Timestamp,
}

/// Checked records: (Unix seconds, quantity) in input order.
pub fn check(records: &[UsageRecord], path: &str) -> Result<Vec<(i64, i64)>> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let at = [path, "[", &i.to_string(), "]"].concat();
            if !(0..=money::MAX_AMOUNT).contains(&r.quantity) {
                return Err(Error::new(
                    ErrorCode::InvalidUsage,
                    [&at, ".quantity"].concat(),
                    "usage quantities are non-negative integers",
                ));
            }
            Ok((
                r.timestamp.resolve(&[&at, ".timestamp"].concat())?,
                r.quantity,
            ))
        })
        .collect()
}

/// The records of `[start, end)` aggregated by `mode`; also how many counted and how many not.
pub fn aggregate(
    records: &[(i64, i64)],
    mode: AggregateUsage,
    start: i64,
    end: i64,
    path: &str,
) -> Result<(i64, i64, i64)> {
    let inside = || records.iter().filter(|(t, _)| (start..end).contains(t));
    let counted = inside().count() as i64;
    let outside = records.len() as i64 - counted;
    let value = match mode {
        AggregateUsage::Sum => money::sum(inside().map(|r| r.1), path)?,
        AggregateUsage::Max => inside().map(|r| r.1).max().unwrap_or(0),
        // max_by_key keeps the last of equal keys: the later record wins a tie.
        AggregateUsage::Last => inside().max_by_key(|r| r.0).map_or(0, |r| r.1),
        AggregateUsage::Count => counted,
    };
    Ok((value, counted, outside))
}

/// A usage line's amount for `records` over `[start, end)`, with its derivation.
pub fn price_usage(
    terms: &Terms,
    mode: AggregateUsage,
    records: &[(i64, i64)],
    (start, end): (i64, i64),
    rounding: RoundingPolicy,
    path: &str,
) -> Result<(i64, i64, Derivation)> {
    let (quantity, counted, outside) = aggregate(records, mode, start, end, path)?;
    let exact = terms.scheme.amount(quantity, path)?;
    let amount = rounding.round(exact, path)?;
    let mut derivation = Derivation::new(Method::Usage, exact, rounding);
    derivation.quantity = Some(quantity);
    derivation.aggregate_usage = Some(mode);
    derivation.records = Some(counted);
    derivation.records_outside_period = Some(outside);
    Ok((quantity, amount, derivation))
}

/// The top-up that brings `measured` to `commitment`, if any, with its derivation.
pub fn true_up(
    commitment: i64,
    measured: i64,
    rounding: RoundingPolicy,
) -> Option<(i64, Derivation)> {
    let missing = commitment.checked_sub(measured)?;
    (missing > 0).then(|| {
        let mut derivation =
            Derivation::new(Method::MinimumCommitment, Decimal::from(missing), rounding);
        derivation.commitment = Some(commitment);
        derivation.measured = Some(measured);
        (missing, derivation)
    })
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for UsageRecord {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["id", "quantity", "timestamp"])?;
        let id = o.opt("id");
        let quantity = o.req("quantity");
        let timestamp = o.req("timestamp");
        let (Some(quantity), Some(timestamp)) = (quantity, timestamp) else {
            return Err(o.failed());
        };
        o.finish(UsageRecord {
            id,
            quantity,
            timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregation_modes() {
        let records = [(10, 5), (20, 7), (20, 2), (30, 4), (99, 100)];
        let agg = |mode| aggregate(&records, mode, 10, 99, "").unwrap();
        assert_eq!(agg(AggregateUsage::Sum), (18, 4, 1));
        assert_eq!(agg(AggregateUsage::Max), (7, 4, 1));
        assert_eq!(agg(AggregateUsage::Last), (4, 4, 1));
        assert_eq!(agg(AggregateUsage::Count), (4, 4, 1));
        // Equal timestamps: the later record wins.
        assert_eq!(
            aggregate(&records, AggregateUsage::Last, 0, 25, "")
                .unwrap()
                .0,
            2
        );
        assert_eq!(
            aggregate(&[], AggregateUsage::Max, 0, 1, "").unwrap(),
            (0, 0, 0)
        );
    }

    #[test]
    fn true_up_only_below_the_commitment() {
        let r = RoundingPolicy::default();
        assert_eq!(true_up(5000, 3200, r).map(|t| t.0), Some(1800));
        assert!(true_up(5000, 5000, r).is_none());
        assert!(true_up(5000, 9000, r).is_none());
    }
}

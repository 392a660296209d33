//! Dunning: when to retry a failed payment.
//!
//! * **"N tries within D days"** (`tries`, `within_days`; Stripe's Smart Retries setting, which
//!   recommends 8 tries within 2 weeks): the retries are spread evenly, retry k of N at
//!   `failed_at + ⌊k × D days ÷ N⌋` seconds, so the last one falls exactly D days after the
//!   failure. (Stripe picks the instants by machine learning; a deterministic schedule is what
//!   a calculator can promise.)
//! * **Explicit gaps** (`days`): each retry that many days after the previous attempt (Stripe's
//!   custom schedule), e.g. `[1, 3, 5]` → 1, 4 and 9 days after the failure.
//! * **Hard declines** are never retried: a `decline_code` in the issuers' "do not try again"
//!   family (`lost_card`, `stolen_card`, `pickup_card`, `fraudulent`, `incorrect_number`,
//!   `invalid_account`, `do_not_try_again`, `revocation_of_authorization`,
//!   `revocation_of_all_authorizations`) yields no retry.
//! * Attempts are numbered like Stripe's `attempt_count`: the failed payment is attempt 1.

use crate::error::{Error, ErrorCode, Result};
use crate::quote::VERSION;
use crate::time::{Timestamp, MAX_INSTANT};
use serde::Serialize;

use super::period::DAY;

/// Decline codes that no retry can fix.
const HARD_DECLINES: &[&str] = &[
    "do_not_try_again",
    "fraudulent",
    "incorrect_number",
    "invalid_account",
    "lost_card",
    "pickup_card",
    "revocation_of_all_authorizations",
    "revocation_of_authorization",
    "stolen_card",
];

/// Most retries a schedule may hold.
const MAX_RETRIES: i64 = 50;
/// Longest a schedule may run, in days.
const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone)]
pub struct DunningInput {
    /// When the payment failed.
    pub failed_at: Timestamp,
    /// "N tries within D days": N (with `within_days`).
    pub tries: Option<i64>,
    pub within_days: Option<i64>,
    /// Explicit schedule: days after the previous attempt, one entry per retry.
    pub days: Option<Vec<i64>>,
    /// The decline code of the failure (Stripe's `decline_code`), if known.
    pub decline_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retry {
    /// 2 for the first retry (the failed payment was attempt 1).
    pub attempt: i64,
    /// Unix seconds.
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DunningSchedule {
    pub version: &'static str,
    pub failed_at: i64,
    pub retries: Vec<Retry>,
    /// The last retry, after which the invoice is past due for good; `null` without retries.
    pub final_attempt_at: Option<i64>,
    /// The failure was a hard decline: no retry.
    pub hard_decline: bool,
}

fn invalid(path: &str, message: &'static str) -> Error {
    Error::new(ErrorCode::InvalidSchedule, path, message)
}

/// The retry schedule for a failed payment.
pub fn dunning_schedule(input: &DunningInput) -> Result<DunningSchedule> {
    let failed_at = input.failed_at.resolve("failed_at")?;
    let offsets: Vec<i64> = match (input.tries, input.within_days, &input.days) {
        (Some(_), _, Some(_)) | (None, Some(_), Some(_)) => {
            return Err(invalid(
                "days",
                "give tries and within_days, or days, not both",
            ))
        }
        (Some(n), Some(d), None) => {
            if !(1..=MAX_RETRIES).contains(&n) {
                return Err(invalid("tries", "tries must be between 1 and 50"));
            }
            if !(1..=MAX_DAYS).contains(&d) {
                return Err(invalid(
                    "within_days",
                    "within_days must be between 1 and 366",
                ));
            }
            (1..=n).map(|k| k * d * DAY / n).collect()
        }
        (Some(_), None, None) => return Err(invalid("within_days", "tries needs within_days")),
        (None, Some(_), None) => return Err(invalid("tries", "within_days needs tries")),
        (None, None, Some(gaps)) => {
            if gaps.is_empty() || gaps.len() as i64 > MAX_RETRIES {
                return Err(invalid("days", "list between 1 and 50 gaps"));
            }
            let mut total = 0;
            let mut out = Vec::with_capacity(gaps.len());
            for (i, &gap) in gaps.iter().enumerate() {
                total += gap.clamp(-1, MAX_DAYS + 1);
                if gap < 0 || total > MAX_DAYS {
                    return Err(invalid(
                        &["days[", &i.to_string(), "]"].concat(),
                        "gaps are days (0 or more) and the schedule ends within 366 days",
                    ));
                }
                out.push(total * DAY);
            }
            out
        }
        (None, None, None) => {
            return Err(invalid("", "give tries and within_days, or days"));
        }
    };
    let hard_decline = input
        .decline_code
        .as_deref()
        .is_some_and(|c| HARD_DECLINES.contains(&c));
    let mut retries = Vec::new();
    if !hard_decline {
        for (k, offset) in offsets.into_iter().enumerate() {
            let at = failed_at + offset;
            if at > MAX_INSTANT {
                return Err(Error::new(
                    ErrorCode::InvalidDate,
                    "failed_at",
                    "the schedule runs beyond 9999-12-31",
                ));
            }
            retries.push(Retry {
                attempt: k as i64 + 2,
                at,
            });
        }
    }
    Ok(DunningSchedule {
        version: VERSION,
        failed_at,
        final_attempt_at: retries.last().map(|r| r.at),
        retries,
        hard_decline,
    })
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for DunningInput {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &["failed_at", "tries", "within_days", "days", "decline_code"],
        )?;
        let failed_at = o.req("failed_at");
        let tries = o.opt("tries");
        let within_days = o.opt("within_days");
        let days = o.opt("days");
        let decline_code = o.opt("decline_code");
        let Some(failed_at) = failed_at else {
            return Err(o.failed());
        };
        o.finish(DunningInput {
            failed_at,
            tries,
            within_days,
            days,
            decline_code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> DunningInput {
        crate::parse::from_json(json).unwrap()
    }

    #[test]
    fn four_tries_within_21_days() {
        let s = dunning_schedule(&input(r#"{"failed_at":0,"tries":4,"within_days":21}"#)).unwrap();
        let at: Vec<i64> = s.retries.iter().map(|r| r.at).collect();
        assert_eq!(at, [453_600, 907_200, 1_360_800, 1_814_400]);
        assert_eq!(s.final_attempt_at, Some(21 * DAY));
    }

    #[test]
    fn gaps_and_hard_declines() {
        let s = dunning_schedule(&input(r#"{"failed_at":100,"days":[1,3,5]}"#)).unwrap();
        let at: Vec<i64> = s.retries.iter().map(|r| r.at - 100).collect();
        assert_eq!(at, [DAY, 4 * DAY, 9 * DAY]);
        let hard = dunning_schedule(&input(
            r#"{"failed_at":0,"days":[1],"decline_code":"stolen_card"}"#,
        ))
        .unwrap();
        assert!(hard.hard_decline && hard.retries.is_empty() && hard.final_attempt_at.is_none());
        let e = dunning_schedule(&input(r#"{"failed_at":0,"days":[1,-2]}"#)).unwrap_err();
        assert_eq!(
            (e.code, e.path.as_str()),
            (ErrorCode::InvalidSchedule, "days[1]")
        );
    }
}

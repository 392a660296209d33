//! Billing periods: a [`Cycle`] (interval × count from an anchor) and a subscription's
//! [`Schedule`] (start, trial, first partial period, cancellation) in calendar arithmetic.
//!
//! * Every billing date is computed from the anchor, never from the previous date, so month-end
//!   anchors clamp and recover: anchored on Jan 31, a monthly cycle renews Feb 29 (28 in common
//!   years), Mar 31, Apr 30, … The time of day is the anchor's.
//! * Months and years are calendar months in UTC, or in the subscription's fixed `utc_offset`
//!   (an anchor at 23:30 UTC on Jan 31 is Feb 1 at +02:00, so that cycle renews on the 1st).
//!   Days and weeks are exact multiples of 86 400 s (Unix time has no leap seconds), whatever
//!   the offset.
//! * Periods are half open, `[start, end)`: an instant equal to a billing date belongs to the
//!   period that starts there.
//! * When the anchor is later than the start (or the end of the trial), the first period runs
//!   from the start to the anchor; it is part of the regular period that ends at the anchor
//!   (its *nominal* period), which prorations divide by. The anchor must fall within one
//!   period after the start, as Stripe requires.
//! * `cancel_at` cuts the period that contains it; the nominal period stays whole.

use crate::error::{Error, ErrorCode, Result};
use crate::price::Interval;
use chrono::{DateTime, Datelike, Months, NaiveDateTime};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// A repeating billing interval pinned to an anchor instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    pub interval: Interval,
    /// Intervals per period (Stripe's `interval_count`, already validated by the price).
    pub count: i64,
    /// Unix seconds: a billing date.
    pub anchor: i64,
    /// Seconds east of UTC in which calendar months are counted.
    pub offset: i64,
}

fn out_of_calendar(path: &str) -> Error {
    Error::new(
        ErrorCode::InvalidDate,
        path,
        "the billing schedule runs beyond the supported calendar",
    )
}

/// The wall-clock date and time of `instant` at `offset`.
pub fn local(instant: i64, offset: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(instant.checked_add(offset)?, 0).map(|t| t.naive_utc())
}

/// `instant` plus `months` calendar months at `offset`, the day clamped to the month's end.
pub fn add_months(instant: i64, months: i64, offset: i64, path: &str) -> Result<i64> {
    let start = local(instant, offset).ok_or_else(|| out_of_calendar(path))?;
    let n = u32::try_from(months.unsigned_abs()).map_err(|_| out_of_calendar(path))?;
    let moved = if months >= 0 {
        start.checked_add_months(Months::new(n))
    } else {
        start.checked_sub_months(Months::new(n))
    };
    moved
        .map(|t| t.and_utc().timestamp() - offset)
        .ok_or_else(|| out_of_calendar(path))
}

/// Whole calendar days from `a`'s date to `b`'s date at `offset` (day granularity).
pub fn days_between(a: i64, b: i64, offset: i64) -> i64 {
    match (local(a, offset), local(b, offset)) {
        (Some(x), Some(y)) => y.date().signed_duration_since(x.date()).num_days(),
        _ => 0,
    }
}

impl Cycle {
    /// Months per period, or `None` for day and week intervals.
    fn months(&self) -> Option<i64> {
        match self.interval {
            Interval::Month => Some(self.count),
            Interval::Year => Some(self.count * 12),
            Interval::Day | Interval::Week => None,
        }
    }

    fn fixed_length(&self) -> i64 {
        match self.interval {
            Interval::Week => self.count * 7 * DAY,
            _ => self.count * DAY,
        }
    }

    /// The `n`-th billing date from the anchor (negative `n`: before it).
    pub fn boundary(&self, n: i64, path: &str) -> Result<i64> {
        let shifted = match self.months() {
            Some(m) => {
                let months = n.checked_mul(m).ok_or_else(|| out_of_calendar(path))?;
                return add_months(self.anchor, months, self.offset, path);
            }
            None => n.checked_mul(self.fixed_length()),
        };
        shifted
            .and_then(|s| self.anchor.checked_add(s))
            .ok_or_else(|| out_of_calendar(path))
    }

    /// The largest `n` whose billing date is at or before `t`.
    pub fn index_at(&self, t: i64, path: &str) -> Result<i64> {
        let Some(m) = self.months() else {
            return Ok((t - self.anchor).div_euclid(self.fixed_length()));
        };
        let (a, x) = match (local(self.anchor, self.offset), local(t, self.offset)) {
            (Some(a), Some(x)) => (a, x),
            _ => return Err(out_of_calendar(path)),
        };
        let months =
            i64::from(x.year() - a.year()) * 12 + i64::from(x.month()) - i64::from(a.month());
        // The estimate is at most one period off (the day and time within the month decide).
        let mut n = months.div_euclid(m);
        for _ in 0..4 {
            if self.boundary(n, path)? > t {
                n -= 1;
            } else if self.boundary(n + 1, path)? <= t {
                n += 1;
            } else {
                return Ok(n);
            }
        }
        Err(out_of_calendar(path))
    }

    /// The next `count` billing dates strictly after `t`.
    pub fn dates_after(&self, t: i64, count: usize, path: &str) -> Result<Vec<i64>> {
        let first = self.index_at(t, path)? + 1;
        (0..count)
            .map(|k| self.boundary(first + k as i64, path))
            .collect()
    }
}

/// A stretch of service: what it covers and the regular period it is (part of).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePeriod {
    pub start: i64,
    pub end: i64,
    /// The regular period from one billing date to the next that holds this one.
    pub nominal_start: i64,
    pub nominal_end: i64,
    /// A trial period: nothing is charged for it.
    pub trial: bool,
}

impl ServicePeriod {
    pub fn is_whole(&self) -> bool {
        self.start == self.nominal_start && self.end == self.nominal_end
    }
}

/// A subscription's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub cycle: Cycle,
    pub start: i64,
    /// End of the trial that runs from `start`, when there is one.
    pub trial_end: Option<i64>,
    /// When the subscription ends (`cancel_at`), when it is scheduled to.
    pub ends_at: Option<i64>,
}

impl Schedule {
    /// When paid service begins: the end of the trial, else the start.
    pub fn paid_start(&self) -> i64 {
        self.trial_end.unwrap_or(self.start)
    }

    /// The period that contains `t` (`start ≤ t`). `path` names the anchor for errors.
    pub fn period_at(&self, t: i64, path: &str) -> Result<ServicePeriod> {
        let mut period = match self.trial_end {
            Some(end) if t < end => ServicePeriod {
                start: self.start,
                end,
                nominal_start: self.start,
                nominal_end: end,
                trial: true,
            },
            _ if t < self.cycle.anchor => {
                let previous = self.cycle.boundary(-1, path)?;
                if self.paid_start() < previous {
                    return Err(Error::new(
                        ErrorCode::InvalidSubscription,
                        path,
                        "the billing cycle anchor must fall within one period after the start (or the trial's end)",
                    ));
                }
                ServicePeriod {
                    start: self.paid_start(),
                    end: self.cycle.anchor,
                    nominal_start: previous,
                    nominal_end: self.cycle.anchor,
                    trial: false,
                }
            }
            _ => {
                let n = self.cycle.index_at(t, path)?;
                let (start, end) = (
                    self.cycle.boundary(n, path)?,
                    self.cycle.boundary(n + 1, path)?,
                );
                ServicePeriod {
                    start,
                    end,
                    nominal_start: start,
                    nominal_end: end,
                    trial: false,
                }
            }
        };
        if let Some(ends) = self.ends_at {
            if ends > period.start && ends < period.end {
                period.end = ends;
            }
        }
        Ok(period)
    }
}

// Input reading (see `crate::json`).

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::AsOf;

    fn at(text: &str) -> i64 {
        AsOf::parse(text, "").unwrap().instant
    }

    fn monthly(anchor: &str) -> Cycle {
        Cycle {
            interval: Interval::Month,
            count: 1,
            anchor: at(anchor),
            offset: 0,
        }
    }

    #[test]
    fn month_end_anchor_clamps_and_recovers() {
        let c = monthly("2024-01-31T10:00:00Z");
        let dates = c.dates_after(c.anchor, 4, "").unwrap();
        let expected = [
            "2024-02-29T10:00:00Z",
            "2024-03-31T10:00:00Z",
            "2024-04-30T10:00:00Z",
            "2024-05-31T10:00:00Z",
        ]
        .map(at);
        assert_eq!(dates, expected);
        let c = monthly("2025-01-31");
        assert_eq!(c.boundary(1, ""), Ok(at("2025-02-28")));
        assert_eq!(c.boundary(-2, ""), Ok(at("2024-11-30")));
        // index_at agrees with boundary on, just before and just after every date.
        for n in -30..30 {
            let b = c.boundary(n, "").unwrap();
            assert_eq!(c.index_at(b, ""), Ok(n));
            assert_eq!(c.index_at(b - 1, ""), Ok(n - 1));
            assert_eq!(c.index_at(b + 1, ""), Ok(n));
        }
    }

    #[test]
    fn offsets_move_calendar_months_only() {
        // 23:30 UTC on Jan 31 is 01:30 on Feb 1 at +02:00: renewals on the 1st, local time.
        let c = Cycle {
            offset: 7200,
            ..monthly("2024-01-31T23:30:00Z")
        };
        assert_eq!(c.boundary(1, ""), Ok(at("2024-02-29T23:30:00Z")));
        let weekly = Cycle {
            interval: Interval::Week,
            count: 2,
            anchor: 0,
            offset: 7200,
        };
        assert_eq!(weekly.boundary(3, ""), Ok(3 * 14 * DAY));
        assert_eq!(weekly.index_at(14 * DAY - 1, ""), Ok(0));
        assert_eq!(weekly.index_at(-1, ""), Ok(-1));
    }

    #[test]
    fn leap_day_yearly_anchor() {
        let c = Cycle {
            interval: Interval::Year,
            count: 1,
            ..monthly("2024-02-29")
        };
        assert_eq!(c.boundary(1, ""), Ok(at("2025-02-28")));
        assert_eq!(c.boundary(4, ""), Ok(at("2028-02-29")));
    }

    #[test]
    fn first_partial_period_and_cancellation() {
        let s = Schedule {
            cycle: monthly("2024-03-15"),
            start: at("2024-03-01"),
            trial_end: None,
            ends_at: Some(at("2024-05-01")),
        };
        let first = s.period_at(at("2024-03-02"), "").unwrap();
        assert_eq!(
            (first.start, first.end),
            (at("2024-03-01"), at("2024-03-15"))
        );
        assert_eq!(first.nominal_start, at("2024-02-15"));
        assert!(!first.is_whole());
        let cut = s.period_at(at("2024-04-20"), "").unwrap();
        assert_eq!((cut.start, cut.end), (at("2024-04-15"), at("2024-05-01")));
        assert_eq!(cut.nominal_end, at("2024-05-15"));
        let too_early = Schedule {
            start: at("2024-01-01"),
            ..s
        };
        assert_eq!(
            too_early.period_at(at("2024-01-02"), "x").unwrap_err().code,
            ErrorCode::InvalidSubscription
        );
    }
}

//! Instants and dates from the input. The engine has no clock: `as_of` says when a quote is
//! computed, and every date rule (tax rates in force, code validity) compares against it.

use crate::error::{Error, ErrorCode, Result};
use chrono::{DateTime, NaiveDate};

/// When a quote is computed: a UTC instant (Unix seconds) and the calendar date that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    /// Unix seconds (UTC).
    pub instant: i64,
    /// The calendar date of `as_of` as written (a `…T00:30:00+02:00` input is on its own date).
    pub date: NaiveDate,
}

impl AsOf {
    /// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant with offset.
    pub fn parse(text: &str, path: &str) -> Result<AsOf> {
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let instant = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
            if let Some(instant) = instant {
                return Ok(AsOf { instant, date });
            }
        }
        DateTime::parse_from_rfc3339(text)
            .map(|t| AsOf {
                instant: t.timestamp(),
                date: t.date_naive(),
            })
            .map_err(|_| {
                Error::new(
                    ErrorCode::InvalidDate,
                    path,
                    "expected a date (YYYY-MM-DD) or an RFC 3339 instant (2025-07-01T12:00:00Z)",
                )
            })
    }
}

/// Parses a `YYYY-MM-DD` date (rate tables, rule validity).
pub fn parse_date(text: &str, path: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        Error::new(
            ErrorCode::InvalidDate,
            path,
            "expected a date as YYYY-MM-DD",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants() {
        let d = AsOf::parse("2024-09-01", "").unwrap();
        assert_eq!(d.instant, 1_725_148_800);
        assert_eq!(d.date, NaiveDate::from_ymd_opt(2024, 9, 1).unwrap());
        let t = AsOf::parse("2024-09-01T00:30:00+02:00", "").unwrap();
        assert_eq!(t.instant, 1_725_148_800 - 5400);
        assert_eq!(t.date, NaiveDate::from_ymd_opt(2024, 9, 1).unwrap());
        assert_eq!(
            AsOf::parse("2024-02-30", "as_of").unwrap_err().code,
            ErrorCode::InvalidDate
        );
        assert!(AsOf::parse("yesterday", "").is_err());
    }
}

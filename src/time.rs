//! Instants and dates from the input. The engine has no clock: `as_of` says when a quote is
//! computed, and every date rule (tax rates in force, code validity) compares against it.

use crate::error::{Error, ErrorCode, Result};
use chrono::NaiveDate;

/// The latest instant the engine accepts: 9999-12-31T23:59:59Z.
pub const MAX_INSTANT: i64 = 253_402_300_799;

/// An instant in the input: Unix seconds (Stripe's convention) or text, a `YYYY-MM-DD` date
/// (midnight UTC) or an RFC 3339 instant. Read as written; [`Timestamp::resolve`] checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timestamp {
    Unix(i64),
    Text(String),
}

impl crate::json::FromJson for Timestamp {
    fn from_json_value(value: &crate::json::Value, path: &crate::json::Path) -> Result<Self> {
        use crate::json::Value;
        match value {
            Value::Number(n) if n.is_u64() => Ok(Timestamp::Unix(
                n.as_u64()
                    .and_then(|u| i64::try_from(u).ok())
                    .unwrap_or(i64::MAX),
            )),
            Value::Number(n) if n.is_i64() => n
                .as_i64()
                .map(Timestamp::Unix)
                .ok_or_else(|| crate::json::invalid(path, "Unix seconds")),
            Value::String(s) => Ok(Timestamp::Text(s.to_string())),
            _ => Err(crate::json::invalid(
                path,
                "Unix seconds or a date / RFC 3339 instant",
            )),
        }
    }
}

impl Timestamp {
    /// Unix seconds, between 1970 and the end of 9999.
    pub fn resolve(&self, path: &str) -> Result<i64> {
        let instant = match self {
            Timestamp::Unix(t) => *t,
            Timestamp::Text(text) => AsOf::parse(text, path)?.instant,
        };
        if !(0..=MAX_INSTANT).contains(&instant) {
            return Err(Error::new(
                ErrorCode::InvalidDate,
                path,
                "instant outside 1970-01-01 .. 9999-12-31",
            ));
        }
        Ok(instant)
    }
}

/// A fixed UTC offset, `Z`, `+HH:MM` or `-HH:MM`, as seconds east of UTC.
pub fn parse_offset(text: &str, path: &str) -> Result<i64> {
    let b = text.as_bytes();
    let parsed = match b.first() {
        Some(b'Z' | b'z') if b.len() == 1 => Some(0),
        Some(sign @ (b'+' | b'-')) if b.len() == 6 && b.get(3) == Some(&b':') => {
            match (digits(text, 1, 2), digits(text, 4, 2)) {
                (Some(h), Some(m)) if h <= 23 && m <= 59 => {
                    let seconds = (h * 60 + m) * 60;
                    Some(if *sign == b'-' { -seconds } else { seconds })
                }
                _ => None,
            }
        }
        _ => None,
    };
    parsed.ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidDate,
            path,
            "expected a fixed UTC offset such as \"+02:00\" or \"Z\"",
        )
    })
}

/// When a quote is computed: a UTC instant (Unix seconds) and the calendar date that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    /// Unix seconds (UTC).
    pub instant: i64,
    /// The calendar date of `as_of` as written (a `…T00:30:00+02:00` input is on its own date).
    pub date: NaiveDate,
}

impl AsOf {
    /// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant with offset
    /// (`2025-07-01T12:00:00Z`, `2025-07-01T00:30:00.250+02:00`; fractions are ignored).
    pub fn parse(text: &str, path: &str) -> Result<AsOf> {
        let invalid = || {
            Error::new(
                ErrorCode::InvalidDate,
                path,
                "expected a date (YYYY-MM-DD) or an RFC 3339 instant (2025-07-01T12:00:00Z)",
            )
        };
        let date = text.get(..10).and_then(date_of).ok_or_else(invalid)?;
        let rest = text.get(10..).ok_or_else(invalid)?;
        let seconds_of_day = if rest.is_empty() {
            0
        } else {
            parse_time(rest).ok_or_else(invalid)?
        };
        let midnight = date
            .and_hms_opt(0, 0, 0)
            .ok_or_else(invalid)?
            .and_utc()
            .timestamp();
        Ok(AsOf {
            instant: midnight + seconds_of_day,
            date,
        })
    }
}

/// `T12:00:00Z`, `t12:00:00.5+02:00`, ` 12:00:00-05:30` → seconds from the date's UTC midnight.
fn parse_time(rest: &str) -> Option<i64> {
    let b = rest.as_bytes();
    if !matches!(b.first(), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (h, m, s) = (
        digits(rest, 1, 2)?,
        digits(rest, 4, 2)?,
        digits(rest, 7, 2)?,
    );
    if b.get(3) != Some(&b':') || b.get(6) != Some(&b':') || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut i = 9;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b.get(i + 3) == Some(&b':') => {
            let (oh, om) = (digits(rest, i + 1, 2)?, digits(rest, i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let minutes = oh * 60 + om;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    Some(h * 3600 + m * 60 + s - offset)
}

/// The number written by `len` ASCII digits at `at`.
fn digits(text: &str, at: usize, len: usize) -> Option<i64> {
    let part = text.get(at..at + len)?;
    if part.bytes().all(|c| c.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// A `YYYY-MM-DD` calendar date (four-digit year).
fn date_of(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if text.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let year = i32::try_from(digits(text, 0, 4)?).ok()?;
    let month = u32::try_from(digits(text, 5, 2)?).ok()?;
    let day = u32::try_from(digits(text, 8, 2)?).ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Parses a `YYYY-MM-DD` date (rate tables, rule validity).
pub fn parse_date(text: &str, path: &str) -> Result<NaiveDate> {
    date_of(text).ok_or_else(|| {
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
        let z = AsOf::parse("2024-09-01T12:00:00Z", "").unwrap();
        assert_eq!(z.instant, 1_725_148_800 + 12 * 3600);
        let frac = AsOf::parse("2024-09-01T12:00:00.999-01:30", "").unwrap();
        assert_eq!(frac.instant, 1_725_148_800 + 12 * 3600 + 5400);
        for bad in [
            "2024-09-01T",
            "2024-09-01T25:00:00Z",
            "2024-09-01T12:00:00",
            "2024-09-01T12:00:00+0200",
            "2024-9-01",
            "24-09-01",
            "2024-09-01Z",
            "2024-09-01T12:00:00.Z",
            "+2024-09-01",
        ] {
            assert!(AsOf::parse(bad, "").is_err(), "{bad}");
        }
        assert!(parse_date("2024-02-29", "").is_ok());
        assert!(parse_date("2023-02-29", "").is_err());
    }

    #[test]
    fn timestamps_and_offsets() {
        assert_eq!(Timestamp::Unix(5).resolve(""), Ok(5));
        assert_eq!(
            Timestamp::Text("2024-09-01".into()).resolve(""),
            Ok(1_725_148_800)
        );
        assert!(Timestamp::Unix(-1).resolve("").is_err());
        assert!(Timestamp::Unix(MAX_INSTANT + 1).resolve("").is_err());
        assert_eq!(parse_offset("+02:00", ""), Ok(7200));
        assert_eq!(parse_offset("-05:30", ""), Ok(-19800));
        assert_eq!(parse_offset("Z", ""), Ok(0));
        for bad in ["", "+2:00", "+24:00", "02:00", "+02:60", "+0200"] {
            assert!(parse_offset(bad, "").is_err(), "{bad}");
        }
    }
}

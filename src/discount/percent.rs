//! `percent_off`: an exact percentage, given as a JSON number (Stripe's shape) or a string.
//!
//! A JSON number reaches serde as the nearest binary float. It is turned into the decimal whose
//! text is the float's shortest round-trip representation (Rust's `Display`, the same digits as
//! JavaScript's `String(x)`), so `12.5` is exactly 12.5 and `33.33` exactly 33.33. No arithmetic
//! ever happens on the float. Range and precision are checked where the percentage is used, so
//! the error carries the right code (`invalid_coupon`, `invalid_promotion`).

use crate::error::{Error, ErrorCode, Result};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A percentage as written (`15`, `12.5`, `"33.33"`); not yet range-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PercentOff(pub Decimal);

/// A checked percentage in hundredths of a percent: 15 % is 1500, 100 % is 10000.
pub type Basis = i64;

/// 100 % in hundredths of a percent.
pub const FULL: Basis = 10_000;

impl PercentOff {
    /// Checks 0 < p ≤ 100 with at most 2 decimals; yields hundredths of a percent.
    pub fn basis(self, code: ErrorCode, path: &str) -> Result<Basis> {
        let p = self.0.normalize();
        if p <= Decimal::ZERO || p > Decimal::ONE_HUNDRED {
            return Err(Error::new(
                code,
                path,
                "percent_off must be greater than 0 and at most 100",
            ));
        }
        if p.scale() > 2 {
            return Err(Error::new(
                code,
                path,
                "percent_off has at most 2 decimal places",
            ));
        }
        (p * Decimal::ONE_HUNDRED)
            .to_i64()
            .ok_or_else(|| Error::new(code, path, "percent_off out of range"))
    }
}

/// `digits` or `digits.digits`, nothing else (no sign, exponent or spaces).
fn parse_text(text: &str) -> Option<Decimal> {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if digits(whole) && fraction.map_or(true, digits) {
        Decimal::from_str_exact(text).ok()
    } else {
        None
    }
}

impl<'de> Deserialize<'de> for PercentOff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PercentOff;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage such as 15, 12.5 or \"12.5\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<PercentOff, E> {
                Ok(PercentOff(Decimal::from(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<PercentOff, E> {
                Ok(PercentOff(Decimal::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<PercentOff, E> {
                // Shortest round-trip text, then exact decimal parsing; never float arithmetic.
                let text = v.to_string();
                let (negative, magnitude) = match text.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, text.as_str()),
                };
                let value = parse_text(magnitude)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))?;
                Ok(PercentOff(if negative { -value } else { value }))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<PercentOff, E> {
                parse_text(v)
                    .map(PercentOff)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// Output: the normalized decimal as a string (`"12.5"`), so no runtime reads it as a float.
impl Serialize for PercentOff {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&self.0.normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> std::result::Result<PercentOff, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn numbers_and_strings_are_exact() {
        assert_eq!(
            p("15").unwrap().basis(ErrorCode::InvalidCoupon, ""),
            Ok(1500)
        );
        assert_eq!(
            p("12.5").unwrap().basis(ErrorCode::InvalidCoupon, ""),
            Ok(1250)
        );
        assert_eq!(
            p("33.33").unwrap().basis(ErrorCode::InvalidCoupon, ""),
            Ok(3333)
        );
        assert_eq!(
            p("\"33.33\"").unwrap().basis(ErrorCode::InvalidCoupon, ""),
            Ok(3333)
        );
        assert_eq!(
            p("100").unwrap().basis(ErrorCode::InvalidCoupon, ""),
            Ok(10000)
        );
        assert_eq!(
            p("0.01").unwrap().basis(ErrorCode::InvalidCoupon, ""),
            Ok(1)
        );
        assert_eq!(
            p("1e1").unwrap().basis(ErrorCode::InvalidCoupon, ""),
            Ok(1000)
        );
        for bad in ["0", "120", "-5", "12.345", "0.001", "\"0\"", "100.01"] {
            assert!(
                p(bad).unwrap().basis(ErrorCode::InvalidCoupon, "").is_err(),
                "{bad}"
            );
        }
        for bad in [
            "\"12%\"", "\"-5\"", "\" 5\"", "\"1e2\"", "\"\"", "\".5\"", "true", "1e300",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn output_is_a_string() {
        assert_eq!(
            serde_json::to_string(&p("12.50").unwrap()).unwrap(),
            "\"12.5\""
        );
    }
}

//! `percent_off`: the shared exact [`Percent`](crate::percent::Percent) (a JSON number read
//! as the decimal its text says, or a string), checked here into hundredths of a percent.
//! Range and precision are checked where the percentage is used, so the error carries the right
//! code (`invalid_coupon`, `invalid_promotion`).

use crate::error::{Error, ErrorCode, Result};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

pub use crate::percent::Percent as PercentOff;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Result<PercentOff> {
        crate::parse::from_json(json)
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

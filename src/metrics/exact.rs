//! Exact ratios for MRR: a decimal numerator over a positive integer denominator.
//!
//! Normalising to a month divides by 12 (yearly) or 12 (weekly, after × 52), backing out an
//! inclusive tax divides by 1 + rate, converting from yen to euros divides by 10^0 / 10^2… None
//! of these is a finite decimal in general, so MRR is kept as `num / den` until the one
//! rounding, which compares the remainder exactly (no digit is lost to a truncated division).

use crate::error::{Error, ErrorCode, Result};
use crate::rounding::RoundingPolicy;
use rust_decimal::Decimal;

/// `num / den`, `den > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exact {
    pub num: Decimal,
    pub den: i128,
}

fn overflow(path: &str) -> Error {
    Error::new(ErrorCode::AmountOverflow, path, "amount too large")
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

fn dec(v: i128, path: &str) -> Result<Decimal> {
    i64::try_from(v)
        .map(Decimal::from)
        .map_err(|_| overflow(path))
}

impl Exact {
    pub const ZERO: Exact = Exact {
        num: Decimal::ZERO,
        den: 1,
    };

    pub fn new(num: Decimal) -> Exact {
        Exact { num, den: 1 }
    }

    pub fn is_zero(&self) -> bool {
        self.num.is_zero()
    }

    /// × `factor` (a decimal).
    pub fn mul(self, factor: Decimal, path: &str) -> Result<Exact> {
        Ok(Exact {
            num: self.num.checked_mul(factor).ok_or_else(|| overflow(path))?,
            den: self.den,
        })
    }

    /// × `num / den` with integer `num`, `den > 0`.
    pub fn mul_ratio(self, num: i128, den: i128, path: &str) -> Result<Exact> {
        let g = gcd(num, den).max(1);
        let (num, den) = (num / g, den / g);
        let e = self.mul(dec(num, path)?, path)?;
        Ok(Exact {
            num: e.num,
            den: e.den.checked_mul(den).ok_or_else(|| overflow(path))?,
        })
    }

    /// ÷ a positive decimal `d`: × 10^s / (d × 10^s) with an integer denominator.
    pub fn div_decimal(self, d: Decimal, path: &str) -> Result<Exact> {
        let scale = d.scale();
        let ten = 10i128.checked_pow(scale).ok_or_else(|| overflow(path))?;
        let mut whole = d;
        whole.set_scale(0).map_err(|_| overflow(path))?;
        let whole = whole.mantissa();
        if whole <= 0 {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                path,
                "division by zero",
            ));
        }
        self.mul_ratio(ten, whole, path)
    }

    pub fn add(self, other: Exact, path: &str) -> Result<Exact> {
        let g = gcd(self.den, other.den);
        let den = (self.den / g)
            .checked_mul(other.den)
            .ok_or_else(|| overflow(path))?;
        let a = self.num.checked_mul(dec(den / self.den, path)?);
        let b = other.num.checked_mul(dec(den / other.den, path)?);
        let num = a
            .zip(b)
            .and_then(|(a, b)| a.checked_add(b))
            .ok_or_else(|| overflow(path))?;
        Ok(Exact { num, den })
    }

    /// The one rounding to minor units, exact at every tie: the integer part and the
    /// remainder are computed exactly, and the fraction is replaced by a stand-in on the same
    /// side of ½ (as [`RoundingPolicy::round_ratio`] does for integers).
    pub fn round(self, policy: &RoundingPolicy, path: &str) -> Result<i64> {
        let den = dec(self.den, path)?;
        let negative = self.num.is_sign_negative() && !self.num.is_zero();
        let num = self.num.abs();
        let mut whole = num.checked_div(den).ok_or_else(|| overflow(path))?.floor();
        // Division to 28 digits may land a unit off the true floor: correct it exactly.
        let mut rest = num - whole * den;
        while rest.is_sign_negative() && !rest.is_zero() {
            whole -= Decimal::ONE;
            rest += den;
        }
        while rest >= den {
            whole += Decimal::ONE;
            rest -= den;
        }
        let fraction = if rest.is_zero() {
            Decimal::ZERO
        } else {
            match (rest * Decimal::TWO).cmp(&den) {
                std::cmp::Ordering::Less => Decimal::new(25, 2),
                std::cmp::Ordering::Equal => Decimal::new(5, 1),
                std::cmp::Ordering::Greater => Decimal::new(75, 2),
            }
        };
        let value = whole + fraction;
        policy.round(if negative { -value } else { value }, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounding::RoundingMode;

    fn half_up() -> RoundingPolicy {
        RoundingPolicy::default()
    }

    #[test]
    fn thirds_and_twelfths_round_exactly() {
        // 100 / 12 = 8.333… → 8; 102 / 12 = 8.5 → 9 (half up), 8 (half even).
        let e = Exact::new(Decimal::from(100)).mul_ratio(1, 12, "").unwrap();
        assert_eq!(e.round(&half_up(), "").unwrap(), 8);
        let e = Exact::new(Decimal::from(102)).mul_ratio(1, 12, "").unwrap();
        assert_eq!(e.round(&half_up(), "").unwrap(), 9);
        let even = RoundingPolicy {
            mode: RoundingMode::HalfEven,
            increment: None,
        };
        assert_eq!(e.round(&even, "").unwrap(), 8);
        // 1/3 + 1/6 = 1/2 exactly (a truncated decimal sum would sit just below or above).
        let a = Exact::new(Decimal::ONE).mul_ratio(1, 3, "").unwrap();
        let b = Exact::new(Decimal::ONE).mul_ratio(1, 6, "").unwrap();
        let s = a.add(b, "").unwrap();
        assert_eq!(s.round(&half_up(), "").unwrap(), 1);
        assert_eq!(s.round(&even, "").unwrap(), 0);
    }

    #[test]
    fn inclusive_tax_backed_out_exactly() {
        // 1200 incl. 20 % → 1000 exactly.
        let e = Exact::new(Decimal::from(1200))
            .div_decimal(Decimal::new(12, 1), "")
            .unwrap();
        assert_eq!(e.round(&half_up(), "").unwrap(), 1000);
    }
}

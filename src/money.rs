//! Amounts: integers in minor units at the API, `Decimal` inside.
//!
//! Every amount the engine accepts or returns stays within ±(2^53 − 1) minor units, the range a
//! JavaScript number holds exactly, so the same value means the same thing in every runtime.

use crate::error::{Error, ErrorCode, Result};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Largest magnitude of any amount, quantity or total: `Number.MAX_SAFE_INTEGER`.
pub const MAX_AMOUNT: i64 = 9_007_199_254_740_991;

/// Most decimal places a `*_decimal` amount may carry (Stripe's limit).
pub const MAX_DECIMAL_PLACES: usize = 12;

pub(crate) fn overflow(path: &str) -> Error {
    Error::new(
        ErrorCode::AmountOverflow,
        path,
        "amount exceeds 2^53 - 1 minor units",
    )
}

/// A non-negative integer amount in minor units, as a decimal.
pub fn non_negative(value: i64, path: &str) -> Result<Decimal> {
    if value < 0 {
        return Err(Error::new(
            ErrorCode::InvalidAmount,
            path,
            "amount must not be negative",
        ));
    }
    if value > MAX_AMOUNT {
        return Err(overflow(path));
    }
    Ok(Decimal::from(value))
}

/// Parses a `*_decimal` amount: a plain non-negative decimal string in minor units with at most
/// 12 decimal places (`"0.5"` is half a cent). No sign, exponent or separators.
pub fn parse_decimal(text: &str, path: &str) -> Result<Decimal> {
    let invalid = |message: &'static str| Error::new(ErrorCode::InvalidAmount, path, message);
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return Err(invalid(
            "expected a non-negative decimal string such as \"12.5\"",
        ));
    }
    if fraction.is_some_and(|f| f.len() > MAX_DECIMAL_PLACES) {
        return Err(invalid("at most 12 decimal places are allowed"));
    }
    if whole.trim_start_matches('0').len() > 16 {
        return Err(overflow(path));
    }
    // Digits checked above: read exactly without rust_decimal's string parser (issue 12).
    let value = crate::percent::decimal_from_digits(whole, fraction.unwrap_or_default())
        .ok_or_else(|| overflow(path))?;
    if value > Decimal::from(MAX_AMOUNT) {
        return Err(overflow(path));
    }
    Ok(value.normalize())
}

/// An already-rounded decimal as integer minor units, within the safe range.
pub fn to_minor(value: Decimal, path: &str) -> Result<i64> {
    match value.trunc().to_i64() {
        Some(v) if value.fract().is_zero() && (-MAX_AMOUNT..=MAX_AMOUNT).contains(&v) => Ok(v),
        _ => Err(overflow(path)),
    }
}

/// Checks an integer result (a sum of amounts) against the safe range.
pub fn checked(value: i64, path: &str) -> Result<i64> {
    if (-MAX_AMOUNT..=MAX_AMOUNT).contains(&value) {
        Ok(value)
    } else {
        Err(overflow(path))
    }
}

/// Sums integer amounts, failing instead of wrapping.
/// Every partial sum stays within ±`MAX_AMOUNT` (the same check as `checked` after each step).
pub fn sum<I: IntoIterator<Item = i64>>(values: I, path: &str) -> Result<i64> {
    // A plain loop with the error built outside it: the `try_fold` through `Result`s it replaced
    // cost ~55 instructions per value (issue 12's profile).
    let mut total = 0i64;
    for v in values {
        match total.checked_add(v) {
            Some(s) if (-MAX_AMOUNT..=MAX_AMOUNT).contains(&s) => total = s,
            _ => return Err(overflow(path)),
        }
    }
    Ok(total)
}

pub fn mul(a: Decimal, b: Decimal, path: &str) -> Result<Decimal> {
    a.checked_mul(b).ok_or_else(|| overflow(path))
}

pub fn add(a: Decimal, b: Decimal, path: &str) -> Result<Decimal> {
    a.checked_add(b).ok_or_else(|| overflow(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings() {
        assert_eq!(parse_decimal("0.5", ""), Ok(Decimal::new(5, 1)));
        assert_eq!(parse_decimal("12", ""), Ok(Decimal::from(12)));
        assert_eq!(parse_decimal("0.000000000001", ""), Ok(Decimal::new(1, 12)));
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "+1",
            "1e3",
            "1,5",
            " 1",
            "0.0000000000001",
        ] {
            assert_eq!(
                parse_decimal(bad, "x").map_err(|e| e.code),
                Err(ErrorCode::InvalidAmount),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_decimal("9007199254740992", "").map_err(|e| e.code),
            Err(ErrorCode::AmountOverflow)
        );
        assert_eq!(
            parse_decimal("99999999999999999999999999999999", "").map_err(|e| e.code),
            Err(ErrorCode::AmountOverflow)
        );
    }

    #[test]
    fn bounds() {
        assert_eq!(to_minor(Decimal::from(MAX_AMOUNT), ""), Ok(MAX_AMOUNT));
        assert!(to_minor(Decimal::from(MAX_AMOUNT) + Decimal::ONE, "").is_err());
        assert!(to_minor(Decimal::new(15, 1), "").is_err());
        assert!(sum([MAX_AMOUNT, 1], "").is_err());
        assert_eq!(sum([MAX_AMOUNT, -1, 1], ""), Ok(MAX_AMOUNT));
        assert_eq!(
            non_negative(-1, "").map_err(|e| e.code),
            Err(ErrorCode::InvalidAmount)
        );
    }
}

//! Percentages (`percent_off`, tax `percentage`): exact decimals, given as a JSON number the way
//! Stripe sends them (`9.975`) or as a string (`"9.975"`).
//!
//! A JSON number is read from its text as the exact decimal written (the scanner keeps the text
//! of every non-integer, [`crate::json_value::Number`]), so `9.975` is exactly 9.975 and no
//! binary float is ever made. Ranges are checked where a percentage is used, so the error
//! carries the caller's code (`invalid_tax_rate`, `invalid_coupon`, …).

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(pub Decimal);

impl Percent {
    /// Number of decimal places as written (after normalisation: `19.50` has 1).
    pub fn decimal_places(self) -> u32 {
        self.0.normalize().scale()
    }

    /// The fraction this percentage stands for: 19 → 0.19.
    pub fn fraction(self) -> Decimal {
        self.0 / Decimal::ONE_HUNDRED
    }
}

fn parse_text(text: &str) -> Option<Decimal> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && whole.len() <= 12
        && fraction.len() <= 12
        && !(text.contains('.') && fraction.is_empty());
    if ok {
        decimal_from_digits(whole, fraction).map(|d| d.normalize())
    } else {
        None
    }
}

/// The exact decimal `whole.fraction` (ASCII digits, either part may be empty), or `None` when it
/// does not fit a Decimal (more than 28 decimals, or a mantissa beyond 96 bits): what
/// `Decimal::from_str_exact` gives for such text, without rust_decimal's generic string parser
/// in the wasm (issue 12). Percentages and `*_decimal` amounts are read through it.
pub(crate) fn decimal_from_digits(whole: &str, fraction: &str) -> Option<Decimal> {
    let scale = u32::try_from(fraction.len()).ok().filter(|&s| s <= 28)?;
    let mut mantissa: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        let digit = b.checked_sub(b'0').filter(|&d| d < 10)?;
        mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(digit))?;
    }
    Decimal::try_from_i128_with_scale(mantissa, scale).ok()
}

impl Percent {
    /// The percentage a JSON number that is not a 64-bit integer stands for, read from its text
    /// (`9.975`, `1e-7`, `2.50E+1`) as the exact decimal written: no binary float is involved
    /// (issue 12). At most 12 decimals, 12 integer digits and 15 significant digits, else `None`:
    /// 16 or 17 digits are a float artefact such as `0.1 + 0.2` (`0.30000000000000004`), no
    /// percentage anyone wrote. JavaScript's `JSON.stringify` writes a number as its shortest
    /// round-trip text, so a browser's `9.975` arrives as `9.975`.
    fn from_number_text(text: &str) -> Option<Percent> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i64>().ok()?),
            None => (unsigned, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = [whole, fraction].concat();
        let digits = digits.trim_start_matches('0');
        let significant = digits.trim_end_matches('0');
        if significant.is_empty() {
            return Some(Percent(Decimal::ZERO));
        }
        // The value is `significant` × 10^power.
        let power = exponent
            .checked_sub(fraction.len() as i64)?
            .checked_add((digits.len() - significant.len()) as i64)?;
        let length = significant.len() as i64;
        if length > 15 || power < -12 || length + power > 12 {
            return None;
        }
        let mut units: i64 = significant.parse().ok()?;
        for _ in 0..power.max(0) {
            units *= 10;
        }
        let scale = power.min(0).unsigned_abs() as u32;
        Some(Percent(Decimal::new(
            if negative { -units } else { units },
            scale,
        )))
    }
}

impl crate::json::FromJson for Percent {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        use crate::json::{Number, Value};
        let expected = "a percentage such as 19, 9.975 or \"9.975\"";
        let parsed = match value {
            Value::Number(Number::PosInt(u)) => Some(Percent(Decimal::from(*u))),
            Value::Number(Number::NegInt(i)) => Some(Percent(Decimal::from(*i))),
            Value::Number(Number::Other(text)) => Percent::from_number_text(text),
            Value::String(s) => parse_text(s).map(Percent),
            _ => None,
        };
        parsed.ok_or_else(|| crate::json::invalid(path, expected))
    }
}

/// Output as an exact decimal string ("9.975"), never a float.
impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> crate::error::Result<Percent> {
        crate::parse::from_json(json)
    }

    /// The digit reader gives what rust_decimal's exact parser gives, up to its limits.
    #[test]
    fn digits_read_like_from_str_exact() {
        let mut cases = vec![
            ("0", ""),
            ("0", "0"),
            ("1", "5"),
            ("19", "50"),
            ("000000000000000000000000000000000000000000007", "25"),
            ("9", "975"),
            ("123456789012345678901234567", "8"),
            ("79228162514264337593543950335", ""),
            ("79228162514264337593543950336", ""),
            ("7922816251426433759354395033", "5"),
            ("0", "0000000000000000000000000001"),
            ("0", "00000000000000000000000000001"),
            ("1", "0000000000000000000000000000"),
            ("99999999999999999999999999999999999999999", ""),
        ];
        let long = "1".repeat(40);
        cases.push((&long, ""));
        for (whole, fraction) in cases {
            let text = if fraction.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{fraction}")
            };
            let expected = Decimal::from_str_exact(&text).ok();
            let got = decimal_from_digits(whole, fraction);
            assert_eq!(got, expected, "{text}");
            if let (Some(g), Some(e)) = (got, expected) {
                assert_eq!(
                    (g.mantissa(), g.scale()),
                    (e.mantissa(), e.scale()),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn numbers_and_strings_are_exact() {
        assert_eq!(p("9.975").unwrap().0, Decimal::new(9975, 3));
        assert_eq!(p("\"9.975\"").unwrap().0, Decimal::new(9975, 3));
        assert_eq!(p("25.5").unwrap().0, Decimal::new(255, 1));
        assert_eq!(p("19").unwrap().0, Decimal::from(19));
        assert_eq!(p("0.1").unwrap().0, Decimal::new(1, 1));
        assert_eq!(p("19.50").unwrap().decimal_places(), 1);
        assert_eq!(p("-1").unwrap().0, Decimal::from(-1));
        assert_eq!(p("-2.5").unwrap().0, Decimal::new(-25, 1));
        assert!(p("\"1e2\"").is_err());
        assert!(p("\"\"").is_err());
        assert_eq!(
            serde_json::to_string(&p("9.9750").unwrap()).unwrap(),
            "\"9.975\""
        );
    }

    /// A number is read as the decimal its text says. JavaScript writes a number as its
    /// shortest round-trip text (as Rust's `Display` does), so every percentage a browser sends
    /// reads as the decimal the user typed; float artefacts (16 or 17 significant digits) are
    /// refused, as the float-based reading of session 3 did.
    #[test]
    fn numbers_read_as_their_text() {
        let mut checked = 0;
        for i in 0..200_000u64 {
            // Percentages with 0 to 6 decimals, and floats with no short decimal at all.
            let candidates = [
                i as f64 / 10_000.0,
                i as f64 / 1_000_000.0 * 3.0,
                (i as f64).sqrt(),
                i as f64 * 0.1 + 0.2,
            ];
            for v in candidates {
                let mut text = v.to_string();
                let digits = text.trim_start_matches(['0', '.']).replace('.', "").len();
                let expected = if digits > 15 { None } else { parse_text(&text) };
                if !text.contains('.') {
                    text.push_str(".0"); // a float's text, not an integer
                }
                assert_eq!(p(&text).ok().map(|p| p.0), expected, "{v} ({text})");
                checked += 1;
            }
        }
        assert_eq!(checked, 800_000);
        assert_eq!(p("0.30000000000000004").ok(), None); // 0.1 + 0.2
        assert_eq!(p("1e-7").unwrap().0, Decimal::new(1, 7)); // JavaScript's text for 0.0000001
        assert_eq!(p("2.50E+1").unwrap().0, Decimal::from(25));
        assert_eq!(p("0.000000000001").unwrap().0, Decimal::new(1, 12));
        assert_eq!(p("0.0000000000001").ok(), None); // 13 decimals
        assert_eq!(
            p("999999999999.5").unwrap().0,
            Decimal::new(9_999_999_999_995, 1)
        );
        assert_eq!(p("1e12").ok(), None); // 13 integer digits
        assert_eq!(
            p("123456789012345e-3").unwrap().0,
            Decimal::new(123_456_789_012_345, 3)
        );
        assert_eq!(p("1234567890123456e-4").ok(), None); // 16 significant digits
        assert_eq!(p("-0.0").unwrap().0, Decimal::ZERO);
        assert_eq!(p("1e999999999999999999999").ok(), None);
        // Exact: what is written counts, not the float nearest to it.
        assert_eq!(p("9.9750000000000000001").ok(), None);
        assert_eq!(p("19.500000000000000000").unwrap().0, Decimal::new(195, 1));
    }
}

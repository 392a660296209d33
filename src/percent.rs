//! Percentages (`percent_off`, tax `percentage`): exact decimals, given as a JSON number the way
//! Stripe sends them (`9.975`) or as a string (`"9.975"`).
//!
//! A JSON number reaches serde as the nearest binary float; it is turned into the decimal that
//! prints the same (Rust's shortest round-trip text, identical to JavaScript's), so `9.975` is
//! exactly 9.975. No arithmetic ever happens on the float. Ranges are checked where a percentage
//! is used, so the error carries the caller's code (`invalid_tax_rate`, `invalid_coupon`, …).

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
        Decimal::from_str_exact(text).ok().map(|d| d.normalize())
    } else {
        None
    }
}

impl Percent {
    /// The percentage a JSON number stands for: the shortest decimal that reads back as the
    /// same float (what JavaScript and Rust print for it), with at most 12 decimals, 12 integer
    /// digits and 15 significant digits, else `None` (16 or 17 digits mean a float artefact such
    /// as `0.1 + 0.2`, no percentage anyone wrote). Found by integer candidates, not by formatting the float:
    /// float-to-text costs about 14 KB of wasm. For `m < 2^53` and `k ≤ 22` both `m` and `10^k`
    /// are exact, so `m / 10^k` is the correctly rounded value of the decimal `m·10^-k`, i.e.
    /// what reading that decimal gives; the first `k` with a candidate equal to the float has the
    /// fewest digits.
    fn from_f64(v: f64) -> Option<Percent> {
        let magnitude = v.abs();
        if !magnitude.is_finite() || magnitude >= 1e12 {
            return None;
        }
        let mut scale = 1.0_f64;
        for k in 0..=12u32 {
            let near = (magnitude * scale).round();
            if near >= 1e15 {
                return None; // more than 15 significant digits (and near 2^53: inexact)
            }
            // The product may be off by one unit; the closest candidate that reads back wins.
            let found = [near, near - 1.0, near + 1.0]
                .into_iter()
                .find(|&m| m >= 0.0 && m / scale == magnitude);
            if let Some(m) = found {
                let d = Decimal::new(m as i64, k).normalize();
                return Some(Percent(if v.is_sign_negative() { -d } else { d }));
            }
            scale *= 10.0;
        }
        None
    }
}

impl crate::json::FromJson for Percent {
    fn from_json_value(
        value: &serde_json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        use serde_json::Value;
        let expected = "a percentage such as 19, 9.975 or \"9.975\"";
        let parsed = match value {
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Some(Percent(Decimal::from(u))),
                (_, Some(i), _) => Some(Percent(Decimal::from(i))),
                (_, _, Some(f)) => Percent::from_f64(f),
                _ => None,
            },
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

    /// The decimal is the one the float prints as (Rust's shortest round trip, JavaScript's
    /// `String(x)`), as the text-based reading gave before.
    #[test]
    fn numbers_read_as_their_shortest_text() {
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
                let text = v.to_string();
                // A float whose shortest text needs 16 or 17 significant digits (a float
                // artefact such as 0.1 + 0.2) is no percentage anyone wrote: refused.
                let digits = text.trim_start_matches(['0', '.']).replace('.', "").len();
                let expected = if digits > 15 { None } else { parse_text(&text) };
                assert_eq!(Percent::from_f64(v).map(|p| p.0), expected, "{v} ({text})");
                checked += 1;
            }
        }
        assert_eq!(checked, 800_000);
        assert_eq!(Percent::from_f64(9.975).unwrap().0, Decimal::new(9975, 3));
        assert_eq!(Percent::from_f64(-2.5).unwrap().0, Decimal::new(-25, 1));
        assert_eq!(Percent::from_f64(0.1 + 0.2), None); // 0.30000000000000004
        assert_eq!(Percent::from_f64(1e-7).unwrap().0, Decimal::new(1, 7));
        assert_eq!(Percent::from_f64(f64::NAN), None);
    }
}

//! The one declared rounding policy. Every stage that turns an exact decimal into minor units
//! (line amounts, tax, proration, discounts) calls [`RoundingPolicy::round`], which rounds to
//! the currency's minor unit by the declared mode.
//!
//! A cash `increment` (CHF 0.05 is `increment: 5`) applies once, to the amount payable
//! ([`RoundingPolicy::cash`]), never to a line, a discount or a tax: the difference is reported
//! on its own as `rounding_amount` (EN 16931 BT-114, "rounding amount": BT-115 amount due =
//! BT-112 total − BT-113 paid + BT-114). So CHF 1.23 + 0.43 is a total of 1.66 and an amount
//! payable of 1.65 (rounding −0.01), not 1.25 + 0.45 = 1.70. This is the Swiss practice of
//! rounding the final amount to 5 Rappen (Swiss Bankers Association recommendation on cash
//! rounding) and the Nordic / Dutch "afronding" on the payable amount.

use crate::error::{Error, ErrorCode, Result};
use crate::money;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

/// 10^0 … 10^38, every power of ten an i128 holds (a Decimal's scale is at most 28; a
/// percentage's share adds 2): a table instead of `i128::checked_pow`'s loop of 128-bit
/// multiplications on every rounding (issue 12).
const POW10: [i128; 39] = {
    let mut table = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// `10^exp` when it fits an i128.
pub(crate) fn pow10(exp: u32) -> Option<i128> {
    POW10.get(usize::try_from(exp).ok()?).copied()
}

/// How a value between two representable amounts is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Commercial rounding: ties away from zero (0.5 → 1, −0.5 → −1). The default.
    #[default]
    HalfUp,
    /// Banker's rounding: ties to the even neighbour (0.5 → 0, 1.5 → 2).
    HalfEven,
    /// Away from zero.
    Up,
    /// Towards zero (truncation).
    Down,
    /// Towards +∞.
    Ceiling,
    /// Towards −∞.
    Floor,
}

impl RoundingMode {
    fn strategy(self) -> RoundingStrategy {
        match self {
            RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundingMode::Up => RoundingStrategy::AwayFromZero,
            RoundingMode::Down => RoundingStrategy::ToZero,
            RoundingMode::Ceiling => RoundingStrategy::ToPositiveInfinity,
            RoundingMode::Floor => RoundingStrategy::ToNegativeInfinity,
        }
    }
}

/// An amount payable after cash rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashRounding {
    /// A multiple of the increment (minor units).
    pub payable: i64,
    /// `payable − amount` (EN 16931 BT-114), within half an increment for the `half_*` modes
    /// and within one increment for the others.
    pub rounding_amount: i64,
}

/// A mode plus an optional increment in minor units (cash rounding: CHF 0.05 is `increment: 5`),
/// which applies to the amount payable only (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RoundingPolicy {
    pub mode: RoundingMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increment: Option<i64>,
}

crate::json::json_enum!(RoundingMode {
    "half_up" => RoundingMode::HalfUp,
    "half_even" => RoundingMode::HalfEven,
    "up" => RoundingMode::Up,
    "down" => RoundingMode::Down,
    "ceiling" => RoundingMode::Ceiling,
    "floor" => RoundingMode::Floor,
});

impl crate::json::FromJson for RoundingPolicy {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["mode", "increment"])?;
        let mode = o.def("mode");
        let increment = o.opt("increment");
        o.finish(RoundingPolicy { mode, increment })
    }
}

impl RoundingPolicy {
    pub fn validate(&self, path: &str) -> Result<()> {
        match self.increment {
            Some(i) if i <= 0 || i > money::MAX_AMOUNT => Err(Error::new(
                ErrorCode::InvalidRounding,
                crate::error::join_path(path, "increment"),
                "increment must be a positive number of minor units",
            )),
            _ => Ok(()),
        }
    }

    /// Rounds an exact value in minor units to an integer number of minor units by the mode.
    /// The increment is not applied here: it applies once, to the amount payable
    /// ([`RoundingPolicy::cash`]).
    pub fn round(&self, value: Decimal, path: &str) -> Result<i64> {
        // A decimal is exactly `mantissa / 10^scale` (scale ≤ 28, so 10^scale fits an i128):
        // rounding that quotient in integers is the same rounding as
        // `round_dp_with_strategy(0, mode)`, without its generic 96-bit arithmetic (issue 12).
        match pow10(value.scale()) {
            Some(denominator) => self.round_quotient(value.mantissa(), denominator, path),
            None => money::to_minor(value.round_dp_with_strategy(0, self.mode.strategy()), path),
        }
    }

    /// `value × factor` rounded to minor units by the mode: the same result as
    /// `round(money::mul(value, factor))` (a line's unit amount times its quantity), computed as
    /// the integer quotient `(mantissa × factor) / 10^scale` while that product is below 2^96,
    /// where rust_decimal's product is exact too; beyond, through the Decimal product (issue 12:
    /// the price stage without 96-bit arithmetic). `tests/kernels.rs` checks both paths agree.
    pub fn round_product(&self, value: Decimal, factor: i64, path: &str) -> Result<i64> {
        // A whole unit amount (the usual price) times the quantity: an integer product, nothing
        // to round, when it fits 64 bits (the range check is `round_quotient`'s for a whole).
        if value.scale() == 0 {
            if let Some(whole) = i64::try_from(value.mantissa())
                .ok()
                .and_then(|m| m.checked_mul(factor))
            {
                return money::checked(whole, path);
            }
        }
        let exact = value
            .mantissa()
            .checked_mul(i128::from(factor))
            .filter(|n| n.unsigned_abs() < 1u128 << 96)
            .zip(pow10(value.scale()));
        match exact {
            Some((numerator, denominator)) => self.round_quotient(numerator, denominator, path),
            None => self.round(money::mul(value, Decimal::from(factor), path)?, path),
        }
    }

    /// Rounds the exact quotient `numerator / denominator` (`denominator` > 0, either sign of
    /// `numerator`) to minor units by the mode, in integers: exact for every i128 input.
    pub fn round_quotient(&self, numerator: i128, denominator: i128, path: &str) -> Result<i64> {
        let overflow = || money::overflow(path);
        if denominator == 1 {
            // A whole number (an integer unit amount times a quantity): nothing to round.
            return match i64::try_from(numerator) {
                Ok(whole) => money::checked(whole, path),
                Err(_) => Err(overflow()),
            };
        }
        if denominator <= 0 {
            return Err(overflow());
        }
        // In 64 bits when both fit (the common case; i128 arithmetic is several instructions
        // per operation and its division a library call).
        if let (Ok(n), Ok(d)) = (i64::try_from(numerator), i64::try_from(denominator)) {
            return self.round_quotient_i64(n, d, path);
        }
        // Truncating division: `rest` has the numerator's sign and |rest| < denominator.
        let (whole, rest) = (numerator / denominator, numerator % denominator);
        let away = rest != 0
            && self.away(
                rest.unsigned_abs(),
                (denominator - rest.abs()).unsigned_abs(),
                whole % 2 != 0,
                numerator > 0,
            );
        let rounded = if away {
            whole + numerator.signum()
        } else {
            whole
        };
        money::checked(i64::try_from(rounded).map_err(|_| overflow())?, path)
    }

    /// `round_quotient` for 64-bit operands (`d` > 0): the same result, each step in one
    /// machine operation (the tax stage's per-line share, issue 12; `tests/kernels.rs` compares
    /// it with rust_decimal too).
    pub fn round_quotient_i64(&self, n: i64, d: i64, path: &str) -> Result<i64> {
        match d {
            1 => money::checked(n, path),
            2.. => money::checked(self.round_quotient_64(n, d), path),
            _ => Err(money::overflow(path)),
        }
    }

    /// `round_quotient` in 64 bits (`d` > 1): the same steps, each in one machine operation.
    fn round_quotient_64(&self, n: i64, d: i64) -> i64 {
        // Truncating division: `rest` has the numerator's sign and |rest| < d.
        let (whole, rest) = (n / d, n % d);
        if rest == 0 {
            return whole;
        }
        let rest = rest.unsigned_abs();
        let other = d.unsigned_abs() - rest;
        let away = self.away(u128::from(rest), u128::from(other), whole % 2 != 0, n > 0);
        // |whole| ≤ |n| / 2 (d ≥ 2): one more unit stays in range.
        if away {
            whole + n.signum()
        } else {
            whole
        }
    }

    /// Whether a quotient with a non-zero dropped fraction moves one unit away from zero: the
    /// mode's one decision, for both kernels. `rest` is |remainder| and `other` is
    /// |denominator| − |remainder| (where the fraction lies against one half, without doubling,
    /// so no overflow near the bounds); `whole_is_odd` is the truncated quotient's parity,
    /// `positive` the numerator's sign.
    #[inline]
    fn away(&self, rest: u128, other: u128, whole_is_odd: bool, positive: bool) -> bool {
        match self.mode {
            RoundingMode::HalfUp => rest >= other,
            RoundingMode::HalfEven => rest > other || (rest == other && whole_is_odd),
            RoundingMode::Up => true,
            RoundingMode::Down => false,
            RoundingMode::Ceiling => positive,
            RoundingMode::Floor => !positive,
        }
    }

    /// The cash rounding of an amount payable (minor units): the nearest multiple of the
    /// increment by the mode (the amount itself when there is no increment), and the difference
    /// (EN 16931 BT-114), so `payable = amount + rounding_amount` exactly.
    pub fn cash(&self, amount: i64, path: &str) -> Result<CashRounding> {
        let payable = match self.increment {
            None | Some(1) => amount,
            Some(step) => {
                let units = (Decimal::from(amount) / Decimal::from(step))
                    .round_dp_with_strategy(0, self.mode.strategy());
                money::to_minor(money::mul(units, Decimal::from(step), path)?, path)?
            }
        };
        Ok(CashRounding {
            payable,
            rounding_amount: money::checked(payable - amount, path)?,
        })
    }

    /// Rounds the exact ratio `numerator / denominator` (both non-negative) to minor units, in
    /// integers with no digits lost to a finite-precision division, whatever the mode.
    /// Discounts and prorations use it.
    pub fn round_ratio(&self, numerator: i128, denominator: i128, path: &str) -> Result<i64> {
        let out_of_range = || Error::new(ErrorCode::AmountOverflow, path, "ratio out of range");
        if numerator < 0 || denominator <= 0 {
            return Err(out_of_range());
        }
        i64::try_from(numerator / denominator).map_err(|_| out_of_range())?;
        self.round_quotient(numerator, denominator, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn r(mode: RoundingMode, increment: Option<i64>, v: &str) -> i64 {
        RoundingPolicy { mode, increment }
            .round(Decimal::from_str(v).unwrap(), "")
            .unwrap()
    }

    fn cash(mode: RoundingMode, increment: Option<i64>, amount: i64) -> (i64, i64) {
        let c = RoundingPolicy { mode, increment }.cash(amount, "").unwrap();
        (c.payable, c.rounding_amount)
    }

    #[test]
    fn modes_on_ties_and_signs() {
        use RoundingMode::*;
        let cases = [
            ("2.5", [3, 2, 3, 2, 3, 2]),
            ("-2.5", [-3, -2, -3, -2, -2, -3]),
            ("1.5", [2, 2, 2, 1, 2, 1]),
            ("22.5", [23, 22, 23, 22, 23, 22]),
            ("0.0000001", [0, 0, 1, 0, 1, 0]),
            ("-0.0000001", [0, 0, -1, 0, 0, -1]),
            ("7", [7, 7, 7, 7, 7, 7]),
        ];
        for (v, expected) in cases {
            let got = [HalfUp, HalfEven, Up, Down, Ceiling, Floor].map(|m| r(m, None, v));
            assert_eq!(got, expected, "{v}");
        }
    }

    #[test]
    fn cash_increment_applies_to_the_payable_only() {
        use RoundingMode::*;
        // round() ignores the increment: lines, discounts and taxes stay in minor units.
        assert_eq!(r(HalfUp, Some(5), "1232"), 1232);
        assert_eq!(r(Up, Some(100), "1201.2"), 1202);
        // CHF 1.23 + 0.43 = 1.66 → 1.65 payable, rounding −0.01.
        assert_eq!(cash(HalfUp, Some(5), 166), (165, -1));
        assert_eq!(cash(HalfUp, Some(5), 1232), (1230, -2));
        assert_eq!(cash(HalfUp, Some(5), 1233), (1235, 2));
        assert_eq!(cash(HalfEven, Some(10), 1225), (1220, -5));
        assert_eq!(cash(HalfUp, Some(10), 1225), (1230, 5));
        assert_eq!(cash(Up, Some(100), 1201), (1300, 99));
        assert_eq!(cash(Down, Some(100), 1299), (1200, -99));
        assert_eq!(cash(Floor, Some(5), -1), (-5, -4));
        assert_eq!(cash(Ceiling, Some(5), -1), (0, 1));
        assert_eq!(cash(HalfUp, None, 1233), (1233, 0));
        assert_eq!(cash(HalfUp, Some(1), 1233), (1233, 0));
    }

    #[test]
    fn ratios_round_exactly() {
        use RoundingMode::*;
        let p = |mode, increment| RoundingPolicy { mode, increment };
        let half_up = p(HalfUp, None);
        assert_eq!(half_up.round_ratio(34_905_000, 10_000, ""), Ok(3491));
        assert_eq!(half_up.round_ratio(5_235, 10, ""), Ok(524));
        assert_eq!(half_up.round_ratio(1, 3, ""), Ok(0));
        assert_eq!(half_up.round_ratio(2, 3, ""), Ok(1));
        let even = p(HalfEven, None);
        assert_eq!(even.round_ratio(5, 2, ""), Ok(2));
        assert_eq!(even.round_ratio(7, 2, ""), Ok(4));
        let ceiling = p(Ceiling, None);
        // 10^15 + 1/10^4: a 28-digit decimal division would keep it, this one keeps any size.
        let big = 1_000_000_000_000_000i128 * 10_000 + 1;
        assert_eq!(
            ceiling.round_ratio(big, 10_000, ""),
            Ok(1_000_000_000_000_001)
        );
        assert_eq!(ceiling.round_ratio(10_001, 10_000, ""), Ok(2));
        // The increment does not apply to ratios either.
        let cash = p(HalfUp, Some(5));
        assert_eq!(cash.round_ratio(125, 10, ""), Ok(13)); // 12.5 → 13
        assert_eq!(cash.round_ratio(124, 10, ""), Ok(12)); // 12.4 → 12
        assert_eq!(
            half_up.round_ratio(1, 0, "").map_err(|e| e.code),
            Err(ErrorCode::AmountOverflow)
        );
    }

    /// The integer rounding in `round` against rust_decimal's `round_dp_with_strategy`, the
    /// reference it replaces: every mode, both signs, scales 0 to 28, ties and near-ties.
    #[test]
    fn integer_rounding_equals_decimal_rounding() {
        use RoundingMode::*;
        let mut next = crate::test_rng::xorshift(0x2545_f491_4f6c_dd1du64);
        let mut values: Vec<Decimal> = Vec::new();
        for scale in 0..=28u32 {
            for _ in 0..200 {
                let digits = next() % 19;
                let mantissa = i64::try_from(next() % 10u64.pow(digits as u32).max(1)).unwrap();
                let sign = if next() % 2 == 0 { 1 } else { -1 };
                values.push(Decimal::new(sign * mantissa, scale.min(28)));
            }
            // Exact halves and their neighbours at this scale.
            if scale >= 1 {
                let half = 5 * 10i128.pow(scale - 1);
                for whole in [0i128, 1, 2, 7, 1234] {
                    let at = whole * 10i128.pow(scale) + half;
                    for m in [at - 1, at, at + 1, -at + 1, -at, -at - 1] {
                        values.extend(Decimal::try_from_i128_with_scale(m, scale).ok());
                    }
                }
            }
        }
        for v in values {
            for mode in [HalfUp, HalfEven, Up, Down, Ceiling, Floor] {
                let policy = RoundingPolicy {
                    mode,
                    increment: None,
                };
                let reference = money::to_minor(v.round_dp_with_strategy(0, mode.strategy()), "x");
                assert_eq!(policy.round(v, "x"), reference, "{v} {mode:?}");
            }
        }
        // Out of range: the same error as before.
        let big = Decimal::from(money::MAX_AMOUNT) + Decimal::new(6, 1);
        let err = RoundingPolicy::default().round(big, "x").unwrap_err();
        assert_eq!(
            (err.code, err.path.as_str()),
            (ErrorCode::AmountOverflow, "x")
        );
    }

    #[test]
    fn invalid_increment() {
        let p = RoundingPolicy {
            mode: RoundingMode::HalfUp,
            increment: Some(0),
        };
        assert_eq!(
            p.validate("rounding").unwrap_err().path,
            "rounding.increment"
        );
    }
}

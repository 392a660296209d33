//! The one declared rounding policy. Every stage that turns an exact decimal into minor units
//! (line amounts, tax, proration, discounts) calls [`RoundingPolicy::round`].

use crate::error::{Error, ErrorCode, Result};
use crate::money;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

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

/// A mode plus an optional increment in minor units (cash rounding: CHF 0.05 is `increment: 5`).
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
        value: &serde_json::Value,
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

    /// Rounds an exact value in minor units to an integer number of minor units (a multiple of
    /// the increment when one is set).
    pub fn round(&self, value: Decimal, path: &str) -> Result<i64> {
        let strategy = self.mode.strategy();
        let rounded = match self.increment {
            None | Some(1) => value.round_dp_with_strategy(0, strategy),
            Some(step) => {
                let step = Decimal::from(step);
                let units = value
                    .checked_div(step)
                    .ok_or_else(|| Error::new(ErrorCode::AmountOverflow, path, "amount too large"))?
                    .round_dp_with_strategy(0, strategy);
                money::mul(units, step, path)?
            }
        };
        money::to_minor(rounded, path)
    }
    /// Rounds the exact ratio `numerator / denominator` (both non-negative) to minor units.
    ///
    /// The quotient's integer part is exact; the fraction is replaced by a stand-in that lies on
    /// the same side of every rounding boundary (0, ½, 1 between two integers), so
    /// [`RoundingPolicy::round`] rounds it exactly as it would the true ratio, whatever the mode
    /// or increment, with no digits lost to a finite-precision division. Discounts and
    /// prorations use it.
    pub fn round_ratio(&self, numerator: i128, denominator: i128, path: &str) -> Result<i64> {
        let out_of_range = || Error::new(ErrorCode::AmountOverflow, path, "ratio out of range");
        if numerator < 0 || denominator <= 0 {
            return Err(out_of_range());
        }
        let whole = i64::try_from(numerator / denominator).map_err(|_| out_of_range())?;
        let rest = numerator % denominator;
        let fraction = if rest == 0 {
            Decimal::ZERO
        } else {
            match (rest * 2).cmp(&denominator) {
                std::cmp::Ordering::Less => Decimal::new(25, 2),
                std::cmp::Ordering::Equal => Decimal::new(5, 1),
                std::cmp::Ordering::Greater => Decimal::new(75, 2),
            }
        };
        self.round(money::add(Decimal::from(whole), fraction, path)?, path)
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
    fn cash_increment() {
        use RoundingMode::*;
        assert_eq!(r(HalfUp, Some(5), "1232"), 1230);
        assert_eq!(r(HalfUp, Some(5), "1232.5"), 1235);
        assert_eq!(r(HalfEven, Some(5), "1232.5"), 1230);
        assert_eq!(r(Up, Some(100), "1201"), 1300);
        assert_eq!(r(Floor, Some(5), "-1"), -5);
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
        let cash = p(HalfUp, Some(5));
        assert_eq!(cash.round_ratio(125, 10, ""), Ok(15)); // 12.5 → 15
        assert_eq!(cash.round_ratio(124, 10, ""), Ok(10)); // 12.4 → 10
        assert_eq!(
            half_up.round_ratio(1, 0, "").map_err(|e| e.code),
            Err(ErrorCode::AmountOverflow)
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

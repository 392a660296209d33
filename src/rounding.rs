//! The one declared rounding policy. Every stage that turns an exact decimal into minor units
//! (line amounts, tax, proration, discounts) calls [`RoundingPolicy::round`].

use crate::error::{Error, ErrorCode, Result};
use crate::money;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// How a value between two representable amounts is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundingPolicy {
    #[serde(default)]
    pub mode: RoundingMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub increment: Option<i64>,
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

//! The engine's integer kernels against the Decimal arithmetic they replace (issue 12): each
//! rounds an exact product or quotient in i64/i128 integers, and must give exactly what
//! rust_decimal's product (or quotient) rounded by `round_dp_with_strategy` gives — the same
//! minor units, or the same error. Random inputs from a fixed seed (reproducible), biased towards
//! what breaks roundings: exact halves and their neighbours, negatives, zero, every mode, and
//! values at the edges (2^53 − 1 minor units, the 2^96 bound of a Decimal's mantissa where the
//! kernel hands over to the Decimal path).
#![cfg(not(target_arch = "wasm32"))]

use billcalc::money::{self, MAX_AMOUNT};
use billcalc::rounding::{RoundingMode, RoundingPolicy};
use billcalc::Result;
use rust_decimal::{Decimal, RoundingStrategy};

const MODES: [RoundingMode; 6] = [
    RoundingMode::HalfUp,
    RoundingMode::HalfEven,
    RoundingMode::Up,
    RoundingMode::Down,
    RoundingMode::Ceiling,
    RoundingMode::Floor,
];

fn strategy(mode: RoundingMode) -> RoundingStrategy {
    match mode {
        RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
        RoundingMode::Up => RoundingStrategy::AwayFromZero,
        RoundingMode::Down => RoundingStrategy::ToZero,
        RoundingMode::Ceiling => RoundingStrategy::ToPositiveInfinity,
        RoundingMode::Floor => RoundingStrategy::ToNegativeInfinity,
    }
}

/// The reference: rust_decimal rounds the exact decimal, then it becomes minor units.
fn reference(value: Option<Decimal>, mode: RoundingMode, path: &str) -> Result<i64> {
    let value = value.ok_or_else(|| money_overflow(path))?;
    money::to_minor(value.round_dp_with_strategy(0, strategy(mode)), path)
}

fn money_overflow(path: &str) -> billcalc::Error {
    // The error every kernel reports out of range (money::overflow is crate-private).
    money::checked(i64::MAX, path).unwrap_err()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A magnitude of `digits` decimal digits at most.
    fn digits(&mut self, digits: u32) -> i128 {
        let wide = (i128::from(self.next()) << 63) ^ i128::from(self.next());
        wide % 10i128.pow(digits.min(38)).max(1)
    }
    /// A magnitude of `plus` to `plus + spread − 1` decimal digits at most.
    fn some_digits(&mut self, spread: u64, plus: u32) -> i128 {
        let digits = self.below(spread) as u32 + plus;
        self.digits(digits)
    }
    fn sign(&mut self) -> i128 {
        if self.next() % 2 == 0 {
            1
        } else {
            -1
        }
    }
}

/// A unit amount: up to 12 decimals (`unit_amount_decimal`), up to 2^53 − 1 minor units, with
/// many exact halves and near-halves; sometimes beyond (scales to 28, huge mantissas) to cross
/// into the Decimal path.
fn unit_amount(rng: &mut Rng) -> Decimal {
    let scale = match rng.below(10) {
        0 => rng.below(29) as u32,
        _ => rng.below(13) as u32,
    };
    let mantissa = match rng.below(6) {
        // An exact half at this scale, or one off it.
        0 if scale > 0 => {
            let half = 5 * 10i128.pow(scale - 1);
            let whole = rng.some_digits(8, 0) * 10i128.pow(scale);
            whole + half + i128::from(rng.below(3) as i8 - 1)
        }
        1 => 0,
        2 => i128::from(MAX_AMOUNT).saturating_mul(10i128.pow(scale)) - rng.digits(3),
        3 => rng.digits(28),
        _ => rng.some_digits(17, scale),
    };
    let sign = rng.sign();
    let mantissa = (mantissa * sign).clamp(-(1i128 << 95), (1i128 << 95) - 1);
    Decimal::try_from_i128_with_scale(mantissa, scale).unwrap_or(Decimal::ONE)
}

fn quantity(rng: &mut Rng) -> i64 {
    match rng.below(8) {
        0 => 0,
        1 => 1,
        2 => MAX_AMOUNT - rng.below(1000) as i64,
        3 => rng.below(u64::MAX) as i64, // any i64, both signs
        _ => rng.below(1000) as i64 + 1,
    }
}

/// A line's amount: `unit_amount × quantity` rounded (the price stage's kernel).
#[test]
fn products_round_as_decimal_products() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut integer_path = 0;
    for case in 0..200_000 {
        let value = unit_amount(&mut rng);
        let factor = quantity(&mut rng);
        let mode = MODES[case % 6];
        let policy = RoundingPolicy {
            mode,
            increment: None,
        };
        let got = policy.round_product(value, factor, "lines[0]");
        let want = reference(value.checked_mul(Decimal::from(factor)), mode, "lines[0]");
        assert_eq!(got, want, "{value} × {factor} {mode:?}");
        integer_path += usize::from(
            value
                .mantissa()
                .checked_mul(i128::from(factor))
                .is_some_and(|n| n.unsigned_abs() < 1u128 << 96),
        );
    }
    // Both paths were exercised, the integer one most.
    assert!((100_000..200_000).contains(&integer_path), "{integer_path}");
}

/// A tax: `amount × percentage / 100` rounded, as the tax stage's integer quotient
/// `amount × mantissa / 10^(scale + 2)` (percentages of at most 4 decimals, at most 100).
#[test]
fn tax_shares_round_as_decimal_shares() {
    let mut rng = Rng(0x5eed_5eed_5eed_5eed);
    let mut small = 0;
    for case in 0..200_000 {
        let scale = rng.below(5) as u32;
        let percent_mantissa = match rng.below(5) {
            0 => 100 * 10i128.pow(scale),
            1 => 5 * 10i128.pow(scale) / 2, // 2.5 %: many exact halves
            _ => rng.digits(2 + scale) % (100 * 10i128.pow(scale) + 1),
        };
        let percentage = Decimal::try_from_i128_with_scale(percent_mantissa, scale).unwrap();
        let amount = match rng.below(5) {
            0 => MAX_AMOUNT - rng.below(100) as i64,
            1 => -(MAX_AMOUNT - rng.below(100) as i64),
            2 => (rng.below(2000) as i64 - 1000) * 20, // multiples of 20: halves at 2.5 %
            _ => {
                let sign = rng.sign();
                (rng.some_digits(16, 1) * sign) as i64
            }
        };
        let mode = MODES[case % 6];
        let policy = RoundingPolicy {
            mode,
            increment: None,
        };
        let got = policy.round_quotient(
            i128::from(amount) * percent_mantissa,
            10i128.pow(scale + 2),
            "lines[0]",
        );
        // The 64-bit entry (the tax stage's direct path) wherever the product fits.
        if let Some(n) = i64::try_from(percent_mantissa)
            .ok()
            .and_then(|m| amount.checked_mul(m))
        {
            small += 1;
            let d = 10i64.pow(scale + 2);
            assert_eq!(
                policy.round_quotient_i64(n, d, "lines[0]"),
                got,
                "{amount} × {percent_mantissa} / {d} {mode:?}"
            );
        }
        let exact = Decimal::from(amount)
            .checked_mul(percentage)
            .map(|v| v / Decimal::ONE_HUNDRED);
        let want = reference(exact, mode, "lines[0]");
        assert_eq!(got, want, "{amount} × {percentage} % {mode:?}");
    }
    // Most shares fit 64 bits (the 64-bit entry was compared on them).
    assert!(small > 100_000, "{small}");
}

/// A percentage discount: `base × basis / 10,000` (hundredths of a percent) rounded, as
/// `round_ratio`, the discount stage's kernel (non-negative bases).
#[test]
fn discount_ratios_round_as_decimal_ratios() {
    let mut rng = Rng(0xfeed_beef_cafe_f00d);
    for case in 0..200_000 {
        let basis = match rng.below(4) {
            0 => 10_000,
            1 => 5_000,
            2 => 1,
            _ => rng.below(10_000) as i64 + 1,
        };
        let base = match rng.below(4) {
            0 => MAX_AMOUNT - rng.below(100) as i64,
            1 => rng.below(2_000) as i64 * 2, // halves at 50 %, 0.5 %, …
            _ => rng.some_digits(16, 1) as i64,
        };
        let mode = MODES[case % 6];
        let policy = RoundingPolicy {
            mode,
            increment: None,
        };
        let got = policy.round_ratio(i128::from(base) * i128::from(basis), 10_000, "discounts[0]");
        let exact = Decimal::from(base) * Decimal::from(basis) / Decimal::from(10_000);
        let want = reference(Some(exact), mode, "discounts[0]");
        assert_eq!(got, want, "{base} × {basis} / 10000 {mode:?}");
    }
}

/// The same kernels' values on worked examples (an exact half either side of zero, in every
/// mode).
#[test]
fn worked_halves() {
    // 0.5 cent × 5 = 2.5 cents; −2.5 cents.
    let half = Decimal::new(5, 1);
    let expected: [(RoundingMode, i64, i64); 6] = [
        (RoundingMode::HalfUp, 3, -3),
        (RoundingMode::HalfEven, 2, -2),
        (RoundingMode::Up, 3, -3),
        (RoundingMode::Down, 2, -2),
        (RoundingMode::Ceiling, 3, -2),
        (RoundingMode::Floor, 2, -3),
    ];
    for (mode, plus, minus) in expected {
        let p = RoundingPolicy {
            mode,
            increment: None,
        };
        assert_eq!(p.round_product(half, 5, ""), Ok(plus), "{mode:?}");
        assert_eq!(p.round_product(half, -5, ""), Ok(minus), "{mode:?}");
    }
    // Integer unit amounts: no rounding, the range still checked.
    let p = RoundingPolicy::default();
    assert_eq!(p.round_product(Decimal::from(1999), 3, ""), Ok(5997));
    assert_eq!(
        p.round_product(Decimal::from(MAX_AMOUNT), 1, ""),
        Ok(MAX_AMOUNT)
    );
    assert!(p.round_product(Decimal::from(MAX_AMOUNT), 2, "").is_err());
}

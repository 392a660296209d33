//! The one allocation function: splits an amount over weights so the parts sum exactly to the
//! whole. Every split in the engine (order discounts over lines, tax back-out over lines,
//! proration credits) goes through it.

use crate::error::{Error, ErrorCode, Result};

/// Splits `total` minor units in proportion to `weights` by the largest-remainder method.
///
/// Each part first gets `floor(|total| × w / Σw)`; the units left over go one each to the parts
/// with the largest remainders, ties to the earlier part. The sign of `total` is applied last, so
/// a split is symmetric around zero. All zero weights split equally. Parts always sum to `total`
/// exactly and a zero weight gets nothing unless all weights are zero.
pub fn allocate(total: i64, weights: &[i64], path: &str) -> Result<Vec<i64>> {
    if weights.iter().any(|&w| w < 0) {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            path,
            "allocation weights must not be negative",
        ));
    }
    if weights.is_empty() {
        return if total == 0 {
            Ok(Vec::new())
        } else {
            Err(Error::new(
                ErrorCode::InvalidRequest,
                path,
                "nothing to allocate the amount to",
            ))
        };
    }
    let all_zero = weights.iter().all(|&w| w == 0);
    let weight = |w: i64| -> u128 {
        if all_zero {
            1
        } else {
            w.unsigned_abs().into()
        }
    };
    let sum: u128 = weights.iter().map(|&w| weight(w)).sum();
    let magnitude = u128::from(total.unsigned_abs());

    // The usual split (a cart's lines, a rate's items, one order coupon): at most 64 parts and
    // |total| × Σw within 64 bits. Same integers as below with no heap but the result: the
    // remainders sorted by insertion in a stack array (ties: the earlier part first), and the
    // first `left` of them get one unit each (issue 12: the four vectors of the general path
    // cost more than the arithmetic).
    if weights.len() <= SMALL {
        if let (Ok(sum64), Ok(m)) = (u64::try_from(sum), u64::try_from(magnitude)) {
            if m.checked_mul(sum64).is_some() {
                return Ok(small_split(total, m, sum64, weights, all_zero));
            }
        }
    }

    // Each part's floor (at most |total| ≤ 2^63: a u64) and remainder. |total| and every weight
    // are below 2^63, so each product fits in 128 bits; in 64 bits (one machine division instead
    // of a library call) when |total| × Σw does, the common case. Same integers either way.
    let mut parts: Vec<u64> = Vec::with_capacity(weights.len());
    let mut rests: Vec<u128> = Vec::with_capacity(weights.len());
    let fits_64 = magnitude
        .checked_mul(sum)
        .is_some_and(|v| u64::try_from(v).is_ok());
    match u64::try_from(sum) {
        Ok(sum64) if fits_64 => {
            let m = magnitude as u64; // magnitude ≤ magnitude × sum, which fits (sum ≥ 1)
            for &w in weights {
                let share = m * weight(w) as u64; // ≤ m × sum
                parts.push(share / sum64);
                rests.push(u128::from(share % sum64));
            }
        }
        _ => {
            for &w in weights {
                let share = magnitude * weight(w);
                parts.push(u64::try_from(share / sum).unwrap_or(u64::MAX));
                rests.push(share % sum);
            }
        }
    }
    let given: u128 = parts.iter().map(|&p| u128::from(p)).sum();
    let left = usize::try_from(magnitude.saturating_sub(given)).unwrap_or(0); // < weights.len()

    // The `left` largest remainders get one unit each; equal remainders go to the earlier part
    // (the deterministic tie-break): the first `left` of the parts stably sorted by remainder,
    // largest first (the engine's one sort; the usual split took `small_split` above).
    if left > 0 {
        let rest = |i: usize| rests.get(i).copied().unwrap_or(0);
        let mut first = crate::sort::sorted_indices(rests.len(), &|a, b| rest(b).cmp(&rest(a)));
        first.truncate(left);
        for i in first {
            if let Some(p) = parts.get_mut(i) {
                *p += 1;
            }
        }
    }
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        let signed = if total < 0 {
            -i128::from(p)
        } else {
            i128::from(p)
        };
        out.push(i64::try_from(signed).map_err(|_| {
            Error::new(
                ErrorCode::AmountOverflow,
                path,
                "allocated part out of range",
            )
        })?);
    }
    Ok(out)
}

/// Most parts `small_split` takes (its keys live on the stack).
const SMALL: usize = 64;

/// `allocate` for at most `SMALL` parts with `m × sum` below 2^64 (`m` = |total|, `sum` ≥ 1).
fn small_split(total: i64, m: u64, sum: u64, weights: &[i64], all_zero: bool) -> Vec<i64> {
    // The remainders so far, largest first, and whose they are (a remainder is below `sum`,
    // a u64; a position below `SMALL`, a u8).
    let mut rests = [0u64; SMALL];
    let mut whose = [0u8; SMALL];
    let mut out: Vec<i64> = Vec::with_capacity(weights.len());
    let mut given = 0u64; // Σ floors ≤ m
    for (i, &w) in weights.iter().enumerate() {
        let w = if all_zero { 1 } else { w.unsigned_abs() };
        let share = m * w; // ≤ m × sum, which fits
        let part = share / sum;
        given += part;
        // A part is at most m ≤ 2^63: stored with its bits (2^63 only when `total` is
        // i64::MIN, whose negation below restores it).
        out.push(part as i64);
        // Insertion after every remainder at least as large: equal remainders keep the
        // earlier part first.
        let rest = share % sum;
        let mut at = i.min(SMALL - 1);
        while at > 0 {
            match (rests.get(at - 1).copied(), whose.get(at - 1).copied()) {
                (Some(r), Some(j)) if r < rest => {
                    if let (Some(slot), Some(owner)) = (rests.get_mut(at), whose.get_mut(at)) {
                        *slot = r;
                        *owner = j;
                    }
                    at -= 1;
                }
                _ => break,
            }
        }
        if let (Some(slot), Some(owner)) = (rests.get_mut(at), whose.get_mut(at)) {
            *slot = rest;
            *owner = i as u8; // i < SMALL
        }
    }
    let left = (m - given) as usize; // < the number of parts
    for &i in whose.iter().take(left.min(weights.len())) {
        if let Some(p) = out.get_mut(usize::from(i)) {
            *p = p.wrapping_add(1);
        }
    }
    if total < 0 {
        for p in out.iter_mut() {
            *p = p.wrapping_neg();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples() {
        assert_eq!(allocate(500, &[1000, 2000], ""), Ok(vec![167, 333]));
        assert_eq!(allocate(100, &[1, 1, 1], ""), Ok(vec![34, 33, 33]));
        assert_eq!(allocate(-100, &[1, 1, 1], ""), Ok(vec![-34, -33, -33]));
        assert_eq!(allocate(5, &[0, 0], ""), Ok(vec![3, 2]));
        assert_eq!(allocate(7, &[0, 3], ""), Ok(vec![0, 7]));
        assert_eq!(allocate(0, &[], ""), Ok(vec![]));
        assert!(allocate(1, &[], "").is_err());
        assert!(allocate(1, &[-1, 2], "").is_err());
        // Equal remainders go to the earlier parts; a larger remainder wins over index order.
        assert_eq!(allocate(10, &[1, 1, 4], ""), Ok(vec![2, 2, 6]));
        assert_eq!(allocate(10, &[1, 2, 3], ""), Ok(vec![2, 3, 5]));
        // The extremes of i64 (2^63 as a part only when negated).
        assert_eq!(allocate(i64::MIN, &[7], ""), Ok(vec![i64::MIN]));
        assert_eq!(
            allocate(i64::MIN, &[0, 0], ""),
            Ok(vec![-(1 << 62), -(1 << 62)])
        );
        assert_eq!(allocate(i64::MAX, &[0, 5], ""), Ok(vec![0, i64::MAX]));
    }

    /// The split as first written (i128 throughout, a stable sort of every remainder): the
    /// 64-bit path and the selection of the largest remainders must give the same parts.
    fn reference(total: i64, weights: &[i64]) -> Vec<i64> {
        let all_zero = weights.iter().all(|&w| w == 0);
        let weight = |w: i64| -> i128 {
            if all_zero {
                1
            } else {
                i128::from(w)
            }
        };
        let sum: i128 = weights.iter().map(|&w| weight(w)).sum();
        let magnitude = i128::from(total).abs();
        let mut parts: Vec<(i128, i128)> = weights
            .iter()
            .map(|&w| (magnitude * weight(w) / sum, magnitude * weight(w) % sum))
            .collect();
        let mut left = magnitude - parts.iter().map(|p| p.0).sum::<i128>();
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by(|&a, &b| parts[b].1.cmp(&parts[a].1));
        for i in order {
            if left == 0 {
                break;
            }
            parts[i].0 += 1;
            left -= 1;
        }
        let sign = if total < 0 { -1 } else { 1 };
        parts.into_iter().map(|(p, _)| (sign * p) as i64).collect()
    }

    #[test]
    fn same_parts_as_the_reference_split() {
        let mut next = crate::test_rng::xorshift(0x2545_f491_4f6c_dd1du64);
        for case in 0..20_000 {
            // Up to 100 parts: the insertion sort (≤ 64) and the merge sort of the remainders.
            let n = if case % 3 == 0 {
                (next() % 100) as usize + 1
            } else {
                (next() % 12) as usize + 1
            };
            // Small, medium and huge magnitudes: the 64-bit path and the 128-bit fallback.
            let bits = [6, 20, 40, 62][case % 4];
            let limit = 1i64 << bits;
            let total = (next() % (2 * limit as u64)) as i64 - limit;
            let weights: Vec<i64> = (0..n)
                .map(|_| match next() % 5 {
                    0 => 0,
                    1 => (next() % 4) as i64, // many equal remainders
                    _ => (next() % limit as u64) as i64,
                })
                .collect();
            assert_eq!(
                allocate(total, &weights, ""),
                Ok(reference(total, &weights)),
                "total {total}, weights {weights:?}"
            );
        }
    }
}

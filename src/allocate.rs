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
    let weight = |w: i64| -> i128 {
        if all_zero {
            1
        } else {
            i128::from(w)
        }
    };
    let sum: i128 = weights.iter().map(|&w| weight(w)).sum();
    let magnitude = i128::from(total).abs();

    // (part, remainder) per weight; |total| and weights are below 2^63, so products fit in i128.
    let mut parts: Vec<(i128, i128)> = weights
        .iter()
        .map(|&w| {
            let share = magnitude * weight(w);
            (share / sum, share % sum)
        })
        .collect();
    let given: i128 = parts.iter().map(|p| p.0).sum();
    let mut left = magnitude - given; // < weights.len()

    let mut order: Vec<usize> = (0..parts.len()).collect();
    // Stable sort: equal remainders keep index order, the deterministic tie-break.
    order.sort_by(|&a, &b| {
        let ra = parts.get(a).map_or(0, |p| p.1);
        let rb = parts.get(b).map_or(0, |p| p.1);
        rb.cmp(&ra)
    });
    for i in order {
        if left == 0 {
            break;
        }
        if let Some(p) = parts.get_mut(i) {
            p.0 += 1;
            left -= 1;
        }
    }
    let sign: i128 = if total < 0 { -1 } else { 1 };
    parts
        .into_iter()
        .map(|(p, _)| {
            i64::try_from(sign * p).map_err(|_| {
                Error::new(
                    ErrorCode::AmountOverflow,
                    path,
                    "allocated part out of range",
                )
            })
        })
        .collect()
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
    }
}

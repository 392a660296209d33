//! One small sort for the whole engine. Each instantiation of std's `sort`, `sort_unstable` or
//! `select_nth_unstable` costs 1.5–4 KB of wasm (driftsort, ipnsort, median of medians); the
//! engine's few sorts (the catalog's price index and categories, the largest remainders of an
//! allocation, the cheapest units of a buy-X-get-Y rule) share this one instead (issue 12).

use std::cmp::Ordering;

/// The indices `0..n` ordered by `cmp`, equal items in index order (a stable sort): a bottom-up
/// merge sort, O(n log n) comparisons, never panics.
pub(crate) fn sorted_indices(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut spare = vec![0usize; n];
    let mut width = 1usize;
    while width < n {
        let mut start = 0usize;
        while start < n {
            let mid = start.saturating_add(width).min(n);
            let end = mid.saturating_add(width).min(n);
            let (mut i, mut j) = (start, mid);
            for slot in spare.get_mut(start..end).unwrap_or_default() {
                let left = order.get(i).copied().filter(|_| i < mid);
                let right = order.get(j).copied().filter(|_| j < end);
                *slot = match (left, right) {
                    // The right run's item goes first only when strictly smaller: stable.
                    (Some(x), Some(y)) if cmp(y, x) == Ordering::Less => {
                        j += 1;
                        y
                    }
                    (Some(x), _) => {
                        i += 1;
                        x
                    }
                    (None, Some(y)) => {
                        j += 1;
                        y
                    }
                    (None, None) => 0,
                };
            }
            start = end;
        }
        std::mem::swap(&mut order, &mut spare);
        width = width.saturating_mul(2);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_order_as_std_stable_sort() {
        let mut next = crate::test_rng::xorshift(0x9e37_79b9_7f4a_7c15u64);
        for n in 0..70usize {
            for _ in 0..40 {
                // Few distinct keys: many ties, whose order must stay the index order.
                let keys: Vec<u64> = (0..n).map(|_| next() % (1 + n as u64 / 3)).collect();
                let got = sorted_indices(n, &|a, b| keys[a].cmp(&keys[b]));
                let mut want: Vec<usize> = (0..n).collect();
                want.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
                assert_eq!(got, want, "{keys:?}");
                let got = sorted_indices(n, &|a, b| keys[b].cmp(&keys[a]));
                want.sort_by(|&a, &b| keys[b].cmp(&keys[a]));
                assert_eq!(got, want, "{keys:?} descending");
            }
        }
    }
}

//! Grouping by rate in linear time: the tax stage sums amounts per rate (a line's taxes, the
//! quote's `total_taxes`, the invoice-level rounding groups). Comparing each entry with every group
//! seen so far is quadratic (10,000 lines with 10 distinct rates each took two minutes, issue 11);
//! this index finds an entry's group by a hash of the rate, then one equality check.
//!
//! An open-addressing table of group positions keyed by a 64-bit FNV-1a hash through `Hash`, so
//! nothing generic beyond the two key types is instantiated (no `HashMap` in the wasm).

use std::hash::{Hash, Hasher};

/// FNV-1a, 64 bits: deterministic (no random seed: same order on every runtime) and tiny.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn hash_of<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    key.hash(&mut h);
    h.finish()
}

/// Where each group of a `Vec` of groups sits, by its key. The caller owns the groups (in order of
/// first appearance, which is the output order) and tells the index about each new one.
pub(crate) struct GroupIndex {
    /// `(hash, group position + 1)`; 0 marks an empty slot. Length a power of two.
    slots: Vec<(u64, usize)>,
    len: usize,
}

impl GroupIndex {
    pub(crate) fn new() -> GroupIndex {
        GroupIndex {
            slots: vec![(0, 0); 16],
            len: 0,
        }
    }

    /// The position of the group whose key equals `key` (`is(position)` compares), or `None`
    /// after which the caller pushes a new group and calls [`GroupIndex::insert`].
    pub(crate) fn find<K: Hash + ?Sized>(
        &self,
        key: &K,
        is: impl Fn(usize) -> bool,
    ) -> (Option<usize>, u64) {
        let hash = hash_of(key);
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        loop {
            match self.slots.get(i) {
                Some(&(h, pos)) if pos != 0 => {
                    if h == hash && is(pos - 1) {
                        return (Some(pos - 1), hash);
                    }
                }
                _ => return (None, hash),
            }
            i = (i + 1) & mask;
        }
    }

    /// Records that the group at `position` has the key whose hash [`GroupIndex::find`] returned.
    pub(crate) fn insert(&mut self, hash: u64, position: usize) {
        if (self.len + 1) * 2 > self.slots.len() {
            let doubled = vec![(0, 0); self.slots.len() * 2];
            let old = std::mem::replace(&mut self.slots, doubled);
            for (h, pos) in old.into_iter().filter(|&(_, pos)| pos != 0) {
                self.place(h, pos);
            }
        }
        self.place(hash, position + 1);
        self.len += 1;
    }

    fn place(&mut self, hash: u64, stored: usize) {
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        while let Some(slot) = self.slots.get_mut(i) {
            if slot.1 == 0 {
                *slot = (hash, stored);
                return;
            }
            i = (i + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_equal_keys_in_order_of_first_appearance() {
        let keys: Vec<String> = (0..1000).map(|i| format!("rate {}", i % 37)).collect();
        let mut groups: Vec<(&str, usize)> = Vec::new();
        let mut index = GroupIndex::new();
        for key in &keys {
            match index.find(key.as_str(), |g| groups[g].0 == key) {
                (Some(g), _) => groups[g].1 += 1,
                (None, hash) => {
                    groups.push((key, 1));
                    index.insert(hash, groups.len() - 1);
                }
            }
        }
        assert_eq!(groups.len(), 37);
        assert_eq!(groups[0], ("rate 0", 28));
        assert_eq!(groups[36], ("rate 36", 27));
        assert_eq!(groups.iter().map(|g| g.1).sum::<usize>(), 1000);
    }
}

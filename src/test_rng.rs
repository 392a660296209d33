//! The random numbers of the unit tests that compare a fast path with a reference on many
//! generated inputs: xorshift64 (Marsaglia 2003), seeded, so every run sees the same cases.

/// A xorshift64 generator from `seed` (non-zero): each call gives the next 64 bits.
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

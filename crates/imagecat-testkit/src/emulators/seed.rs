//! What the emulators' seeded data shares: one 64-bit mixer (splitmix64)
//! and the id codecs that map a seeded index to an id and back in O(1).

/// The splitmix64 increment (the golden ratio in 64 bits).
pub(crate) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 output function: a bijective scramble of 64 bits.
pub(crate) fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One splitmix64 step from `x`: `finalize(x + GOLDEN)`.
pub(crate) fn splitmix64(x: u64) -> u64 {
    finalize(x.wrapping_add(GOLDEN))
}

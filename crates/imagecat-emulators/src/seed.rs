//! What the emulators' seeded data shares: one 64-bit mixer (splitmix64)
//! and the id codecs that map a seeded index to an id and back in O(1).
// Shared by the backends' emulators: with one backend's feature alone,
// the others' parts are unused.
#![cfg_attr(not(all(feature = "toast", feature = "dcmgr")), allow(dead_code))]

use std::fmt::Write as _;

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

// ---------------------------------------------------------------- TOAST: UUIDs

/// Seeded ids: a per-seed prefix `xxxxxxxx-xxxx-4xxx-yxxx-` and the index,
/// scrambled by a per-seed mask, in the last 12 hex digits.
#[derive(Debug, Clone)]
pub(crate) struct IdScheme {
    pub(crate) prefix: String,
    pub(crate) mask: u64,
}

impl IdScheme {
    pub(crate) fn new(seed: u64) -> Self {
        let h = splitmix64(seed ^ 0x0074_6F61_7374);
        let g = splitmix64(h);
        let prefix = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-",
            (h >> 32) as u32,
            (h >> 16) as u16,
            (h & 0x0fff) as u16,
            0x8000 | ((g >> 48) as u16 & 0x3fff)
        );
        IdScheme {
            prefix,
            mask: g & 0xffff_ffff_ffff,
        }
    }

    pub(crate) fn id(&self, index: usize) -> String {
        let mut s = String::with_capacity(36);
        s.push_str(&self.prefix);
        let _ = write!(s, "{:012x}", (index as u64 ^ self.mask) & 0xffff_ffff_ffff);
        s
    }

    /// The seeded index an id encodes (whether or not it is in range).
    pub(crate) fn index_of(&self, id: &str) -> Option<usize> {
        let tail = id.strip_prefix(&self.prefix)?;
        if tail.len() != 12 || !tail.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let n = u64::from_str_radix(tail, 16).ok()?;
        usize::try_from(n ^ self.mask).ok()
    }
}

// ---------------------------------------------------------------- DCMGR: wmi-…

/// The base-36 digits of DCMGR ids.
pub(crate) const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// 36^8: the space of generated ids.
pub(crate) const ID_SPACE: u64 = 2_821_109_907_456;
pub(crate) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

pub(crate) fn mod_inverse(a: u64, m: u64) -> u64 {
    let (mut t, mut new_t) = (0i128, 1i128);
    let (mut r, mut new_r) = (m as i128, a as i128);
    while new_r != 0 {
        let q = r / new_r;
        (t, new_t) = (new_t, t - q * new_t);
        (r, new_r) = (new_r, r - q * new_r);
    }
    if t < 0 {
        t += m as i128;
    }
    t as u64
}

/// A bijection between image indices and 8-character base-36 ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdCodec {
    pub(crate) mul: u64,
    pub(crate) inv: u64,
    pub(crate) add: u64,
}

impl IdCodec {
    pub(crate) fn new(seed: u64) -> Self {
        let mut mul = splitmix64(seed ^ 0xD1B5_4A32_D192_ED03) % ID_SPACE;
        mul = mul.max(2);
        while gcd(mul, ID_SPACE) != 1 {
            mul += 1;
        }
        let add = splitmix64(seed.wrapping_add(7)) % ID_SPACE;
        IdCodec {
            mul,
            inv: mod_inverse(mul, ID_SPACE),
            add,
        }
    }

    pub(crate) fn encode(&self, index: u32) -> String {
        let mut x = ((u128::from(index) * u128::from(self.mul) + u128::from(self.add))
            % u128::from(ID_SPACE)) as u64;
        let mut out = *b"wmi-00000000";
        for slot in out[4..].iter_mut().rev() {
            *slot = BASE36[(x % 36) as usize];
            x /= 36;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    pub(crate) fn decode(&self, id: &str) -> Option<u64> {
        let rest = id.strip_prefix("wmi-")?;
        if rest.len() != 8 {
            return None;
        }
        let mut x = 0u64;
        for b in rest.bytes() {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'z' => b - b'a' + 10,
                _ => return None,
            };
            x = x * 36 + u64::from(digit);
        }
        let shifted =
            (u128::from(x) + u128::from(ID_SPACE) - u128::from(self.add)) % u128::from(ID_SPACE);
        Some(((shifted * u128::from(self.inv)) % u128::from(ID_SPACE)) as u64)
    }
}

pub(crate) fn base36_8(mut x: u64) -> String {
    let mut out = [b'0'; 8];
    for slot in out.iter_mut().rev() {
        *slot = BASE36[(x % 36) as usize];
        x /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mixer_is_splitmix64() {
        // The reference outputs of splitmix64 from state 0: every seeded
        // catalog depends on them staying the same.
        let mut state = 0u64;
        let mut next = || {
            state = state.wrapping_add(GOLDEN);
            finalize(state)
        };
        assert_eq!(next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(next(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(GOLDEN), 0x6E78_9E6A_A1B9_65F4);
    }
}

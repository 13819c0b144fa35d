//! The visited set: the canonical fingerprints of every class explored so far, split in shards so
//! that workers can fill different shards at the same time without locks.
//!
//! A fingerprint is already a well-mixed 64-bit hash, so the tables hash it with the identity; a
//! shard is chosen by bits the table does not use for its buckets or control bytes. Nothing but
//! the fingerprint is stored: the path to a state travels with the state on the frontier (see
//! [`super::Node`]), so a visited state costs 8 bytes plus the table's slack.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for values that are already hashes: the value itself.
#[derive(Default, Clone, Copy)]
pub struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are stored; fold anything else in so that it still works.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One shard: a plain hash set of fingerprints.
pub type Shard = HashSet<u64, BuildHasherDefault<Identity>>;

/// Number of shards (a power of two).
pub const SHARDS: usize = 64;

/// The shard a fingerprint belongs to: bits 40..46, which hashbrown uses neither for the bucket
/// index (low bits) nor for the control byte (top seven bits) below 2^40 buckets.
pub fn shard_of(fp: u64) -> usize {
    ((fp >> 40) as usize) & (SHARDS - 1)
}

/// The visited set.
#[derive(Debug)]
pub struct Visited {
    shards: Vec<Shard>,
}

impl Default for Visited {
    fn default() -> Self {
        Visited {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl Visited {
    /// Whether `fp` was visited.
    pub fn contains(&self, fp: u64) -> bool {
        self.shards[shard_of(fp)].contains(&fp)
    }

    /// Marks `fp` visited; false if it already was.
    pub fn insert(&mut self, fp: u64) -> bool {
        self.shards[shard_of(fp)].insert(fp)
    }

    /// The shards, for workers that each fill their own.
    pub fn shards_mut(&mut self) -> &mut [Shard] {
        &mut self.shards
    }

    /// Number of fingerprints.
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashSet::len).sum()
    }

    /// Whether nothing was visited.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the tables take: buckets of 8 bytes plus one control byte each, and the shard
    /// headers.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(table_bytes).sum::<usize>() + self.shards.len() * size_of::<Shard>()
    }
}

/// Bytes of one table: hashbrown keeps a power-of-two number of buckets, at most 7/8 full, each
/// an 8-byte key and a control byte, plus one group (16) of trailing control bytes.
pub fn table_bytes(shard: &Shard) -> usize {
    let cap = shard.capacity();
    if cap == 0 {
        return 0;
    }
    let buckets = if cap < 8 {
        (cap + 1).next_power_of_two()
    } else {
        (cap * 8 / 7).next_power_of_two()
    };
    buckets * (size_of::<u64>() + 1) + 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_and_size() {
        let mut v = Visited::default();
        for i in 0..10_000u64 {
            let fp = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert!(v.insert(fp));
            assert!(!v.insert(fp));
        }
        assert_eq!(v.len(), 10_000);
        assert!(v.contains(0x9e37_79b9_7f4a_7c15));
        let per_state = v.bytes() as f64 / v.len() as f64;
        assert!(
            (9.0..40.0).contains(&per_state),
            "{per_state} bytes per state"
        );
    }
}

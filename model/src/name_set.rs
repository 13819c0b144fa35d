//! How a set of named design values (flaws, compromised roles) is written in a configuration: as
//! a list of their names, e.g. `"flaws":["skip_issued_check"]`.
//!
//! Until December 2026 these sets were written as bit sets (`"flaws":1`), which a reader cannot
//! read and which silently change meaning when a value is added in the middle of the enum. A
//! recorded trace keeps what it was written with, so the old numbers are still read — through a
//! frozen table of the order the bits had when they were last written, never the enum's current
//! order.

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// A set whose members are named enum values.
pub(crate) trait NameSet: Sized + Default {
    /// The member type, written by its serde name.
    type Member: Copy + Serialize + for<'de> Deserialize<'de> + 'static;
    /// What the set holds, for error messages ("flaws", "compromised parties").
    const WHAT: &'static str;
    /// Bit `i` of a legacy number means `LEGACY_BITS[i]`. Frozen: never reorder or extend.
    const LEGACY_BITS: &'static [Self::Member];
    /// The set with `m` added.
    fn with(self, m: Self::Member) -> Self;
    /// The members, in declaration order.
    fn members(&self) -> Vec<Self::Member>;
}

pub(crate) fn serialize<S: NameSet, Z: Serializer>(set: &S, z: Z) -> Result<Z::Ok, Z::Error> {
    z.collect_seq(set.members())
}

pub(crate) fn deserialize<'de, S: NameSet, D: Deserializer<'de>>(d: D) -> Result<S, D::Error> {
    d.deserialize_any(SetVisitor::<S>(PhantomData))
}

struct SetVisitor<S>(PhantomData<S>);

impl<'de, S: NameSet> Visitor<'de> for SetVisitor<S> {
    type Value = S;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of {} by name", S::WHAT)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<S, A::Error> {
        let mut set = S::default();
        while let Some(m) = seq.next_element::<S::Member>()? {
            set = set.with(m);
        }
        Ok(set)
    }

    fn visit_u64<E: de::Error>(self, bits: u64) -> Result<S, E> {
        let mut set = S::default();
        for (i, m) in S::LEGACY_BITS.iter().enumerate() {
            if bits & (1 << i) != 0 {
                set = set.with(*m);
            }
        }
        let known = (1u64 << S::LEGACY_BITS.len()) - 1;
        if bits & !known != 0 {
            return Err(E::custom(format_args!(
                "{} written as the number {bits} has bits no {} ever had (an old bit set \
                 holds at most {} of them); write them as a list of names",
                S::WHAT,
                S::WHAT,
                S::LEGACY_BITS.len()
            )));
        }
        Ok(set)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<S, E> {
        match u64::try_from(n) {
            Ok(bits) => self.visit_u64(bits),
            Err(_) => Err(E::invalid_value(de::Unexpected::Signed(n), &self)),
        }
    }
}

/// Implements [`NameSet`], `Serialize` and `Deserialize` for a set type with inherent `with` and
/// `iter` methods: `serde_by_name!(Set, Member, "what", [legacy bit order…])`.
macro_rules! serde_by_name {
    ($set:ty, $member:ty, $what:literal, [$($legacy:expr),* $(,)?]) => {
        impl $crate::name_set::NameSet for $set {
            type Member = $member;
            const WHAT: &'static str = $what;
            const LEGACY_BITS: &'static [$member] = &[$($legacy),*];
            fn with(self, m: $member) -> Self {
                <$set>::with(self, m)
            }
            fn members(&self) -> Vec<$member> {
                self.iter().collect()
            }
        }

        impl serde::Serialize for $set {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::name_set::serialize(self, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $set {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::name_set::deserialize(d)
            }
        }
    };
}
pub(crate) use serde_by_name;

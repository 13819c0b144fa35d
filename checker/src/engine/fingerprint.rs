//! Canonical fingerprints of global states, computed part by part, under the symmetry of renaming
//! persons.
//!
//! The model's own [`representative`](jpkisim_model::symmetry::representative) builds every
//! renamed copy of a state and SipHashes each whole copy; the engine needs only a number that is
//! the same for every member of a class and different (up to 64-bit collisions) between classes.
//! This module computes it from the same renamings ([`Perm::all`], the model's `Relabel` impls):
//!
//! - a state's hash is a sum of independent parts: each actor's state together with the random
//!   choices it offers (mixed with the actor's position), the network (a sum over envelopes, or
//!   over flows for an ordered network, so the order a hash map iterates in does not matter), and
//!   the parts a renaming leaves in place (timers, crash flags, storage, history);
//! - the hash of the state renamed by `π` is the same sum with every part renamed and moved, so
//!   the minimum over `π` is the same number for every state of the class;
//! - the parts are kept ([`Parts`]), so a successor re-hashes only what its step changed: the
//!   acting actor and the envelopes delivered and sent ([`super::successor`]), and no renamed copy
//!   of a whole state is ever built.
//!
//! The fingerprint hash is foldhash with a fixed seed (the same in every process of a cluster);
//! `checker/examples/fingerprint_hashes.rs` compares it with SipHash, ahash, rustc-hash and xxh3.
//!
//! On a duplicating network Stateright keeps the last delivered message in the state; nothing
//! (no actor, property or enabled action) reads it, so it is left out of the fingerprint: states
//! that differ only in it are one state here (see docs/performance.md, "duplicating network").
//!
//! It is not the model's symmetry: which renamings exist and how a value is renamed stay in
//! `jpkisim_model::symmetry`.

use jpkisim_model::actors::{PartyChoice, PartyState};
use jpkisim_model::msg::Msg;
use jpkisim_model::symmetry::{Perm, Relabel};
use jpkisim_model::{Config, JpkiState, Topology};
use stateright::actor::{Id, Network, RandomChoices};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

/// The fixed seed of the fingerprint hash: every worker of every process must agree on it.
const SEED: u64 = 0x6a70_6b69_7369_6d31; // "jpkisim1"

fn hasher() -> foldhash::fast::FoldHasher<'static> {
    foldhash::fast::FixedState::with_seed(SEED).build_hasher()
}

/// SplitMix64's finaliser: spreads a part's hash so that sums of parts do not cancel.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// An actor's part placed at position `pos`.
fn at(pos: usize, part: u64) -> u64 {
    mix(part ^ (pos as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Tags that keep the kinds of parts apart.
const NET_DUPLICATING: u64 = 0x01;
const NET_MULTISET: u64 = 0x02;
const NET_ORDERED: u64 = 0x03;
const REST: u64 = 0x04;

/// The renamings a configuration is symmetric under and how each moves actors.
#[derive(Clone, Debug)]
pub struct Canon {
    perms: Vec<Perm>,
    /// `moves[p][i]`: the position actor `i` moves to under renaming `p`.
    moves: Vec<Vec<usize>>,
    actors: usize,
}

/// A state's fingerprint parts: each actor's part under each renaming (`[renaming][actor]`), the
/// network's part under each renaming, and the part no renaming moves. Kept with a frontier state
/// so that its successors re-hash only what changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Parts(Box<[u64]>);

impl Parts {
    /// Bytes this cache takes on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.0.len() * size_of::<u64>()
    }
}

/// The choices one actor offers, as `(key, choices)` entries in any order.
pub type Offered<'a> = &'a [(&'a str, &'a [PartyChoice])];

impl Canon {
    /// The canonicaliser of `cfg`: every renaming of persons if `symmetry` (and there are at least
    /// two persons), else the identity alone.
    pub fn new(cfg: &Config, symmetry: bool) -> Canon {
        let topo = Topology::of(cfg);
        let actors = topo.parties().len();
        let perms = if symmetry && cfg.persons >= 2 {
            Perm::all(cfg.persons, cfg.ses_per_person)
        } else {
            Perm::all(1, cfg.ses_per_person)
        };
        let moves = perms
            .iter()
            .map(|p| {
                (0..actors)
                    .map(|i| usize::from(p.actor(&topo, Id::from(i))))
                    .collect()
            })
            .collect();
        Canon {
            perms,
            moves,
            actors,
        }
    }

    /// Number of renamings tried per state (1 without symmetry).
    pub fn renamings(&self) -> usize {
        self.perms.len()
    }

    /// Number of actors.
    pub fn actors(&self) -> usize {
        self.actors
    }

    fn net_at(&self) -> usize {
        self.perms.len() * self.actors
    }

    fn rest_at(&self) -> usize {
        self.net_at() + self.perms.len()
    }

    /// The canonical fingerprint of `state` and its parts. With `parent` (the state it was reached
    /// from and that state's parts), the parts of actors the step did not touch are reused.
    pub fn fingerprint(
        &self,
        state: &JpkiState,
        parent: Option<(&JpkiState, &Parts)>,
    ) -> (u64, Parts) {
        let n = self.actors;
        let mut parts = vec![0u64; self.rest_at() + 1].into_boxed_slice();
        let mut offered: Vec<(&str, &[PartyChoice])> = Vec::new();
        for i in 0..n.min(state.actor_states.len()) {
            let reuse = parent.filter(|(ps, pp)| {
                pp.0.len() == parts.len()
                    && ps
                        .actor_states
                        .get(i)
                        .is_some_and(|a| Arc::ptr_eq(a, &state.actor_states[i]))
                    && ps.random_choices.get(i) == state.random_choices.get(i)
            });
            match reuse {
                Some((_, pp)) => {
                    for p in 0..self.perms.len() {
                        parts[p * n + i] = pp.0[p * n + i];
                    }
                }
                None => {
                    offered.clear();
                    if let Some(rc) = state.random_choices.get(i) {
                        offered.extend(offered_of(rc));
                    }
                    for p in 0..self.perms.len() {
                        parts[p * n + i] = self.actor_part(p, &state.actor_states[i], &offered);
                    }
                }
            }
        }
        for p in 0..self.perms.len() {
            parts[self.net_at() + p] = self.network_part(p, &state.network);
        }
        parts[self.rest_at()] = rest_part(state);
        let parts = Parts(parts);
        (self.combine(&parts, None, None), parts)
    }

    /// The fingerprint of a state whose parts are `parts` except, if given, actor `i`'s parts
    /// (one per renaming) and the network's parts (one per renaming).
    pub fn combine(
        &self,
        parts: &Parts,
        actor: Option<(usize, &[u64])>,
        net: Option<&[u64]>,
    ) -> u64 {
        let n = self.actors;
        let mut best = u64::MAX;
        for p in 0..self.perms.len() {
            let net = net.map_or(parts.0[self.net_at() + p], |net| net[p]);
            let mut sum = parts.0[self.rest_at()].wrapping_add(net);
            for j in 0..n {
                let part = match actor {
                    Some((i, new)) if i == j => new[p],
                    _ => parts.0[p * n + j],
                };
                sum = sum.wrapping_add(at(self.moves[p][j], part));
            }
            best = best.min(mix(sum));
        }
        best
    }

    /// The parts of a successor: `parent`'s with actor `i`'s parts (one per renaming) and the
    /// network's parts replaced, as the fingerprint computed by [`Canon::combine`] from the same
    /// arguments assumed.
    pub fn derive(&self, parent: &Parts, actor: Option<(usize, &[u64])>, net: &[u64]) -> Parts {
        let n = self.actors;
        let mut parts = parent.0.clone();
        if let Some((i, new)) = actor {
            for (p, &part) in new.iter().enumerate() {
                parts[p * n + i] = part;
            }
        }
        for (p, &part) in net.iter().enumerate() {
            parts[self.net_at() + p] = part;
        }
        Parts(parts)
    }

    /// Actor `i`'s own part (its state and choices, unrenamed): the key under which the engine
    /// remembers the actor's steps.
    pub fn own_part(&self, parts: &Parts, i: usize) -> u64 {
        parts.0[i]
    }

    /// The network's part under renaming `p`, as stored in `parts`.
    pub fn net_part(&self, parts: &Parts, p: usize) -> u64 {
        parts.0[self.net_at() + p]
    }

    /// One actor's part under renaming `p`: its state and the choices it offers.
    pub fn actor_part(&self, p: usize, state: &PartyState, offered: Offered<'_>) -> u64 {
        let perm = &self.perms[p];
        let mut h = hasher();
        if perm.is_identity() {
            state.hash(&mut h);
        } else {
            state.relabel(perm).hash(&mut h);
        }
        let own = h.finish();
        // A sum over entries: the map's iteration order does not matter.
        let sum = offered.iter().fold(0u64, |acc, (key, cs)| {
            let mut h = hasher();
            key.hash(&mut h);
            cs.len().hash(&mut h);
            for c in cs.iter() {
                if perm.is_identity() {
                    c.hash(&mut h);
                } else {
                    c.relabel(perm).hash(&mut h);
                }
            }
            acc.wrapping_add(mix(h.finish()))
        });
        own ^ mix(sum.wrapping_add(REST))
    }

    /// An envelope's hash under renaming `p` (before it is counted into a network's part).
    pub fn envelope(&self, p: usize, src: Id, dst: Id, msg: &Msg) -> u64 {
        let perm = &self.perms[p];
        let moves = &self.moves[p];
        let mut h = hasher();
        moves[usize::from(src)].hash(&mut h);
        moves[usize::from(dst)].hash(&mut h);
        if perm.is_identity() {
            msg.hash(&mut h);
        } else {
            msg.relabel(perm).hash(&mut h);
        }
        h.finish()
    }

    /// What `count` copies of an envelope (hash `env`) add to an unordered non-duplicating
    /// network's part (nothing for none).
    pub fn multiset_term(env: u64, count: usize) -> u64 {
        if count == 0 {
            0
        } else {
            mix(env ^ mix(count as u64))
        }
    }

    /// What an envelope (hash `env`) adds to a duplicating network's part.
    pub fn set_term(env: u64) -> u64 {
        mix(env)
    }

    /// What a flow from `src` to `dst` holding `queue` adds to an ordered network's part under
    /// renaming `p` (nothing for an empty flow).
    pub fn flow_term<'m>(
        &self,
        p: usize,
        src: Id,
        dst: Id,
        queue: impl ExactSizeIterator<Item = &'m Msg>,
    ) -> u64 {
        if queue.len() == 0 {
            return 0;
        }
        let perm = &self.perms[p];
        let moves = &self.moves[p];
        let mut h = hasher();
        moves[usize::from(src)].hash(&mut h);
        moves[usize::from(dst)].hash(&mut h);
        queue.len().hash(&mut h);
        for msg in queue {
            if perm.is_identity() {
                msg.hash(&mut h);
            } else {
                msg.relabel(perm).hash(&mut h);
            }
        }
        mix(h.finish())
    }

    /// The tag a network's part starts from.
    pub fn network_tag(net: &Network<Msg>) -> u64 {
        match net {
            Network::UnorderedDuplicating(..) => NET_DUPLICATING,
            Network::UnorderedNonDuplicating(_) => NET_MULTISET,
            Network::Ordered(_) => NET_ORDERED,
        }
    }

    fn network_part(&self, p: usize, net: &Network<Msg>) -> u64 {
        let tag = Canon::network_tag(net);
        match net {
            // The last delivered message is not part of the state for the engine (module doc).
            Network::UnorderedDuplicating(set, _last) => set.iter().fold(tag, |acc, e| {
                acc.wrapping_add(Canon::set_term(self.envelope(p, e.src, e.dst, &e.msg)))
            }),
            Network::UnorderedNonDuplicating(multiset) => {
                multiset.iter().fold(tag, |acc, (e, &count)| {
                    acc.wrapping_add(Canon::multiset_term(
                        self.envelope(p, e.src, e.dst, &e.msg),
                        count,
                    ))
                })
            }
            Network::Ordered(flows) => flows.iter().fold(tag, |acc, (&(src, dst), queue)| {
                acc.wrapping_add(self.flow_term(p, src, dst, queue.iter()))
            }),
        }
    }
}

/// The entries of an actor's random choices.
pub fn offered_of(rc: &RandomChoices<PartyChoice>) -> impl Iterator<Item = (&str, &[PartyChoice])> {
    rc.map.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
}

/// What a renaming leaves in place or is not yet renamed here: timers, crash flags and storage
/// (set only where timers are armed or parties crash). Hashed as they are, so two states that
/// differ in them are told apart; two renamings of one state that differ in them are not merged,
/// which loses reduction but never merges states that differ (docs/recovery.md). The history is `()` here and
/// hashes to nothing; a model that records one must add it.
fn rest_part(state: &JpkiState) -> u64 {
    let mut h = hasher();
    REST.hash(&mut h);
    state.crashed.hash(&mut h);
    state.actor_storages.hash(&mut h);
    let () = state.history; // fails to compile, as it should, once the model records a history
    for timers in &state.timers_set {
        let set: u64 = timers.iter().fold(0u64, |acc, t| {
            let mut th = hasher();
            t.hash(&mut th);
            acc.wrapping_add(mix(th.finish()))
        });
        set.hash(&mut h);
    }
    h.finish()
}

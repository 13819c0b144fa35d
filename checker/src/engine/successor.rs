//! The fingerprint of a successor, computed without building the successor.
//!
//! Most successors of a breadth-first level are states already visited (about two in three on
//! the default configuration) or outside the model's boundary (most of a person's choices on a
//! budget summed over persons). Building each one with Stateright's `next_state` clones the whole
//! global state — the network's and every actor's hash tables — only to hash it and drop it. This
//! module takes the acting actor's step (the same `Actor::on_msg` / `on_random` that
//! `next_state` calls, so every protocol decision is the model's) and updates the parent's
//! fingerprint [`Parts`] by what the step changes:
//!
//! - the acting actor's state and the choices it offers (a choice taken is withdrawn, choices
//!   re-offered replace it, as Stateright's `SelectRandom` and `ChooseRandom` do);
//! - the envelopes delivered, dropped and sent (a multiset, a set without the last-delivered
//!   record, or ordered flows, as Stateright's three networks keep them).
//!
//! **Steps are remembered.** An actor's step is a pure function of the actor, its state (with the
//! choices it offers) and its input — the model's transition functions are pure by design. The
//! default configuration takes 17 million steps but only about 20,000 different ones, so each
//! worker keeps a [`Memo`]: keyed by the actor, the hash of its state and choices (its part of
//! the parent's fingerprint) and the hash of the input, it holds the step's outcome with the
//! hashes the fingerprint needs. A key is two 64-bit hashes; a collision is as unlikely as one of
//! fingerprints, which the engine accepts anyway (64-bit fingerprints, as Stateright's).
//!
//! A step that does anything else (a timer, a crash, storage) is reported as [`Glimpse::Unknown`],
//! and the engine builds that successor. Every successor that turns out to be new is built with
//! `next_state` (it goes on the frontier, and properties are checked on it), keeping the parts
//! computed here. With `Search::verify_every_step` (the engine's tests turn it on for every kind
//! of network, lossy or not, with and without symmetry) every successor is also built and fully
//! fingerprinted, and any difference stops the search with an error naming the action.

use super::actions::{key_of, Act};
use super::fingerprint::{offered_of, Canon, Parts};
use super::Search;
use jpkisim_model::actors::{PartyChoice, PartyState};
use jpkisim_model::msg::Msg;
use jpkisim_model::JpkiState;
use stateright::actor::{is_no_op, Actor, Command, Id, Network, Out};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

/// What is known about the successor of a state by an action, short of building it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glimpse {
    /// The action leads nowhere (Stateright's `next_state` gives `None`: a delivery the receiver
    /// ignores on an unordered network, or to a crashed actor).
    Nothing,
    /// The successor is outside the model's boundary (neither counted nor explored).
    Outside,
    /// The successor's canonical fingerprint.
    Fingerprint(u64),
    /// The step does something this module does not follow; build the successor.
    Unknown,
}

/// One actor's step, remembered.
enum Remembered {
    /// A delivery the actor ignores (on an unordered network: no successor).
    Ignored,
    /// A step with timers or storage: the successor is built.
    Unfollowed,
    /// A step this module follows.
    Done(Arc<Done>),
}

/// What a step does.
struct Done {
    /// The actor's new state (`None`: unchanged).
    state: Option<Arc<PartyState>>,
    /// Messages sent, in order, each with its envelope hash under every renaming.
    sends: Vec<(Id, Msg, Box<[u64]>)>,
    /// The delivered envelope's hash under every renaming (deliveries only).
    delivered: Box<[u64]>,
    /// The actor's part after the step (state and offered choices) under every renaming.
    parts: Box<[u64]>,
}

/// A worker's remembered steps.
#[derive(Default)]
pub struct Memo {
    steps: HashMap<(u32, u64, u64), Remembered, foldhash::fast::FixedState>,
}

/// Entries after which the memo is emptied (about 200 MB of remembered steps at most).
const MEMO_LIMIT: usize = 1 << 20;

fn input_hash(kind: u8, a: &impl Hash, b: &impl Hash) -> u64 {
    let mut h = foldhash::fast::FixedState::with_seed(0x6d65_6d6f).build_hasher();
    kind.hash(&mut h);
    a.hash(&mut h);
    b.hash(&mut h);
    h.finish()
}

/// One envelope whose count the step changes.
struct Touched<'m> {
    src: Id,
    dst: Id,
    msg: &'m Msg,
    /// Its hash under every renaming, when known.
    hashes: Option<&'m [u64]>,
    before: usize,
    after: usize,
}

/// One ordered flow the step changes.
struct Flow<'p> {
    src: Id,
    dst: Id,
    before: Option<&'p VecDeque<Msg>>,
    after: Vec<Msg>,
}

/// The network's change.
enum NetChange<'m> {
    Counts(Vec<Touched<'m>>),
    Flows(Vec<Flow<'m>>),
}

impl<'m> NetChange<'m> {
    fn new(net: &Network<Msg>) -> NetChange<'m> {
        match net {
            Network::Ordered(_) => NetChange::Flows(Vec::new()),
            _ => NetChange::Counts(Vec::with_capacity(4)),
        }
    }

    /// The entry of an envelope in a multiset or set network, created with its count before.
    fn touched<'a>(
        list: &'a mut Vec<Touched<'m>>,
        net: &Network<Msg>,
        src: Id,
        dst: Id,
        msg: &'m Msg,
        hashes: Option<&'m [u64]>,
    ) -> &'a mut Touched<'m> {
        if let Some(pos) = list
            .iter()
            .position(|t| t.src == src && t.dst == dst && t.msg == msg)
        {
            return &mut list[pos];
        }
        // Networks hold a handful of envelopes: a scan compares without cloning a message.
        let same =
            |e: &stateright::actor::Envelope<Msg>| e.src == src && e.dst == dst && e.msg == *msg;
        let before = match net {
            Network::UnorderedNonDuplicating(m) => {
                m.iter().find(|(e, _)| same(e)).map_or(0, |(_, &n)| n)
            }
            Network::UnorderedDuplicating(set, _) => usize::from(set.iter().any(same)),
            Network::Ordered(_) => 0,
        };
        list.push(Touched {
            src,
            dst,
            msg,
            hashes,
            before,
            after: before,
        });
        let last = list.len() - 1;
        &mut list[last]
    }

    fn flow<'a>(
        list: &'a mut Vec<Flow<'m>>,
        net: &'m Network<Msg>,
        src: Id,
        dst: Id,
    ) -> &'a mut Flow<'m> {
        if let Some(pos) = list.iter().position(|f| f.src == src && f.dst == dst) {
            return &mut list[pos];
        }
        let before = match net {
            Network::Ordered(flows) => flows.get(&(src, dst)),
            _ => None,
        };
        list.push(Flow {
            src,
            dst,
            before,
            after: before
                .map(|q| q.iter().cloned().collect())
                .unwrap_or_default(),
        });
        let last = list.len() - 1;
        &mut list[last]
    }

    /// A message leaves the network (delivered on a non-duplicating network, or lost).
    fn remove(
        &mut self,
        net: &'m Network<Msg>,
        src: Id,
        dst: Id,
        msg: &'m Msg,
        hashes: Option<&'m [u64]>,
    ) {
        match self {
            NetChange::Counts(list) => {
                let t = NetChange::touched(list, net, src, dst, msg, hashes);
                t.after = t.after.saturating_sub(1);
            }
            NetChange::Flows(list) => {
                let f = NetChange::flow(list, net, src, dst);
                if let Some(i) = f.after.iter().position(|m| m == msg) {
                    f.after.remove(i);
                }
            }
        }
    }

    /// A message is sent.
    fn send(
        &mut self,
        net: &'m Network<Msg>,
        src: Id,
        dst: Id,
        msg: &'m Msg,
        hashes: Option<&'m [u64]>,
        duplicating: bool,
    ) {
        match self {
            NetChange::Counts(list) => {
                let t = NetChange::touched(list, net, src, dst, msg, hashes);
                t.after = if duplicating { 1 } else { t.after + 1 };
            }
            NetChange::Flows(list) => NetChange::flow(list, net, src, dst).after.push(msg.clone()),
        }
    }

    /// The network's part under renaming `p` after the change.
    fn part(&self, canon: &Canon, parts: &Parts, p: usize, duplicating: bool) -> u64 {
        let mut part = canon.net_part(parts, p);
        match self {
            NetChange::Counts(list) => {
                for t in list.iter().filter(|t| t.before != t.after) {
                    let env = match t.hashes {
                        Some(h) => h[p],
                        None => canon.envelope(p, t.src, t.dst, t.msg),
                    };
                    let term = |count: usize| {
                        if duplicating {
                            if count > 0 {
                                Canon::set_term(env)
                            } else {
                                0
                            }
                        } else {
                            Canon::multiset_term(env, count)
                        }
                    };
                    part = part
                        .wrapping_sub(term(t.before))
                        .wrapping_add(term(t.after));
                }
            }
            NetChange::Flows(list) => {
                for f in list {
                    let before = f
                        .before
                        .map_or(0, |q| canon.flow_term(p, f.src, f.dst, q.iter()));
                    let after = canon.flow_term(p, f.src, f.dst, f.after.iter());
                    part = part.wrapping_sub(before).wrapping_add(after);
                }
            }
        }
        part
    }
}

/// Scratch space reused across successors; after a [`Glimpse::Fingerprint`] it holds the parts
/// that changed, from which [`Scratch::parts`] builds the successor's.
#[derive(Default)]
pub struct Scratch {
    actor: Option<usize>,
    actor_parts: Vec<u64>,
    net_parts: Vec<u64>,
    memo: Memo,
}

impl Scratch {
    /// The fingerprint parts of the successor last glimpsed from a state with parts `parent`.
    pub fn parts(&self, canon: &Canon, parent: &Parts) -> Parts {
        canon.derive(
            parent,
            self.actor.map(|i| (i, self.actor_parts.as_slice())),
            &self.net_parts,
        )
    }
}

impl Search {
    /// Takes (or recalls) actor `i`'s step on `input` from `parent`.
    fn step<'m>(
        &self,
        parent: &JpkiState,
        parts: &Parts,
        act: &Act,
        memo: &'m mut Memo,
    ) -> Option<(usize, &'m Remembered)> {
        let (i, input, input_key) = match act {
            Act::Deliver { src, dst, msg } => (usize::from(*dst), input_hash(0, src, msg), None),
            Act::Select { actor, key, random } => {
                let key = key_of(parent, *actor, *key)?;
                (usize::from(*actor), input_hash(1, &key, random), Some(key))
            }
            Act::Drop { .. } | Act::Other(_) => return None,
        };
        let actor_state = parent.actor_states.get(i)?;
        let key = (i as u32, self.canon.own_part(parts, i), input);
        if memo.steps.len() >= MEMO_LIMIT && !memo.steps.contains_key(&key) {
            memo.steps.clear();
        }
        let entry = memo
            .steps
            .entry(key)
            .or_insert_with(|| self.take_step(parent, i, actor_state, act, input_key));
        Some((i, entry))
    }

    /// Takes actor `i`'s step and hashes what the fingerprint needs of it.
    fn take_step(
        &self,
        parent: &JpkiState,
        i: usize,
        actor_state: &Arc<PartyState>,
        act: &Act,
        input_key: Option<&str>,
    ) -> Remembered {
        let ordered = matches!(parent.network, Network::Ordered(_));
        let mut state = Cow::Borrowed(&**actor_state);
        let mut out = Out::new();
        let (taken, delivered) = match act {
            Act::Deliver { src, dst, msg } => {
                self.model.actors[i].on_msg(*dst, &mut state, *src, msg.clone(), &mut out);
                if is_no_op(&state, &out) && !ordered {
                    return Remembered::Ignored;
                }
                let hashes: Box<[u64]> = (0..self.canon.renamings())
                    .map(|p| self.canon.envelope(p, *src, *dst, msg))
                    .collect();
                (None, hashes)
            }
            Act::Select { actor, random, .. } => {
                let Some(key) = input_key else {
                    return Remembered::Unfollowed;
                };
                self.model.actors[i].on_random(*actor, &mut state, random, &mut out);
                (Some(key), Box::default())
            }
            Act::Drop { .. } | Act::Other(_) => return Remembered::Unfollowed,
        };
        // The choices offered after the step: the one taken is withdrawn, then the actor's
        // commands offer or withdraw choices by key.
        let mut offered: Vec<(Cow<'_, str>, Cow<'_, [PartyChoice]>)> = parent
            .random_choices
            .get(i)
            .map(|rc| {
                offered_of(rc)
                    .filter(|(k, _)| Some(*k) != taken)
                    .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
                    .collect()
            })
            .unwrap_or_default();
        let src = Id::from(i);
        let mut sends = Vec::new();
        for command in out {
            match command {
                Command::Send(dst, msg) => {
                    let hashes = (0..self.canon.renamings())
                        .map(|p| self.canon.envelope(p, src, dst, &msg))
                        .collect();
                    sends.push((dst, msg, hashes));
                }
                Command::ChooseRandom(key, choices) => {
                    offered.retain(|(k, _)| **k != *key);
                    if !choices.is_empty() {
                        offered.push((Cow::Owned(key), Cow::Owned(choices)));
                    }
                }
                Command::SetTimer(..) | Command::CancelTimer(_) | Command::Save(_) => {
                    return Remembered::Unfollowed;
                }
            }
        }
        let view: Vec<(&str, &[PartyChoice])> = offered.iter().map(|(k, v)| (&**k, &**v)).collect();
        let after: &PartyState = &state;
        let parts = (0..self.canon.renamings())
            .map(|p| self.canon.actor_part(p, after, &view))
            .collect();
        let state = match state {
            Cow::Borrowed(_) => None,
            Cow::Owned(s) => Some(Arc::new(s)),
        };
        Remembered::Done(Arc::new(Done {
            state,
            sends,
            delivered,
            parts,
        }))
    }

    /// The fingerprint of the successor of `parent` (with fingerprint parts `parts`) by `action`.
    ///
    /// The model's boundary (the budgets) is evaluated on the parent with the acting actor's new
    /// state swapped in (and back out): `within_budgets` reads only actor states (except where
    /// `boundary_reads_network`, whose successors are all built), and a state
    /// whose actors did not change is within the boundary like its parent. The engine's tests
    /// check the boundary of every successor against the built one
    /// (`Search::verify_every_step`).
    pub fn glimpse(
        &self,
        parent: &mut JpkiState,
        parts: &Parts,
        act: &Act,
        scratch: &mut Scratch,
    ) -> Glimpse {
        if jpkisim_model::actors::boundary_reads_network(&self.model.cfg) {
            // The boundary reads the network (patient timers): judge it on the built successor.
            return Glimpse::Unknown;
        }
        let duplicating = matches!(parent.network, Network::UnorderedDuplicating(..));
        let np = self.canon.renamings();
        if let Act::Drop { src, dst, msg } = act {
            let net = &parent.network;
            let mut change = NetChange::new(net);
            change.remove(net, *src, *dst, msg, None);
            scratch.actor = None;
            scratch.net_parts.clear();
            for p in 0..np {
                scratch
                    .net_parts
                    .push(change.part(&self.canon, parts, p, duplicating));
            }
            return Glimpse::Fingerprint(self.canon.combine(parts, None, Some(&scratch.net_parts)));
        }
        if let Act::Deliver { dst, .. } = act {
            if parent
                .crashed
                .get(usize::from(*dst))
                .copied()
                .unwrap_or(false)
            {
                return Glimpse::Nothing;
            }
        }
        let Some((actor, remembered)) = self.step(parent, parts, act, &mut scratch.memo) else {
            return Glimpse::Unknown;
        };
        let done = match remembered {
            Remembered::Ignored => return Glimpse::Nothing,
            Remembered::Unfollowed => return Glimpse::Unknown,
            Remembered::Done(done) => Arc::clone(done),
        };
        if let Some(changed) = &done.state {
            let before = std::mem::replace(&mut parent.actor_states[actor], Arc::clone(changed));
            let inside = stateright::Model::within_boundary(&self.model, parent);
            parent.actor_states[actor] = before;
            if !inside {
                return Glimpse::Outside;
            }
        }
        let net = &parent.network;
        let mut change = NetChange::new(net);
        if let Act::Deliver { src, dst, msg } = act {
            if !duplicating {
                change.remove(net, *src, *dst, msg, Some(&done.delivered));
            }
        }
        let src = Id::from(actor);
        for (dst, msg, hashes) in &done.sends {
            change.send(net, src, *dst, msg, Some(hashes), duplicating);
        }
        scratch.actor = Some(actor);
        scratch.actor_parts.clear();
        scratch.actor_parts.extend_from_slice(&done.parts);
        scratch.net_parts.clear();
        for p in 0..np {
            scratch
                .net_parts
                .push(change.part(&self.canon, parts, p, duplicating));
        }
        Glimpse::Fingerprint(self.canon.combine(
            parts,
            Some((actor, &scratch.actor_parts)),
            Some(&scratch.net_parts),
        ))
    }
}

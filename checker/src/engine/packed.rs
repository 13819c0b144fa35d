//! A global state packed for the frontier and for the wire: the same information as Stateright's
//! `ActorModelState`, without its hash tables.
//!
//! Stateright's state keeps the network and every actor's random choices and timers in hash maps
//! (a table, a random hasher state and spare buckets each, even when empty): about 3 KB per state
//! of the default configuration, most of it empty tables. A level of the breadth-first search
//! holds every state of the level, so a cluster's frontier keeps states packed (the search on
//! threads of one process keeps them whole: the pack and rebuild cost a fifth of its time, see
//! docs/performance.md): the actors' states shared
//! with the parent (`Arc`), the envelopes and choices in boxed slices, and only the timers, crash
//! flags and storage that are set. [`Packed::unpack`] rebuilds the exact Stateright state (equal,
//! with the same hash). The same form is what a cluster sends between processes (it derives
//! `serde`).
//!
//! It is not a trace format: it is not stable across versions (processes of one cluster run the
//! same binary, which the handshake checks).

use jpkisim_model::actors::{PartyChoice, PartyState};
use jpkisim_model::msg::Msg;
use jpkisim_model::recovery::PartyTimer;
use jpkisim_model::JpkiState;
use serde::{Deserialize, Serialize};
use stateright::actor::{Envelope, Id, Network, RandomChoices, Timers};
use std::sync::Arc;

/// An envelope with actor indices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Env {
    src: u16,
    dst: u16,
    msg: Msg,
}

/// One ordered flow: sender, receiver and the messages in order.
type Flow = (u16, u16, Box<[Msg]>);

/// One actor's offered choices: the actor, the choice key and the choices.
type Offer = (u16, Box<str>, Box<[PartyChoice]>);

/// The network, packed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Net {
    /// Unordered, duplicating: the set of envelopes and the last one delivered.
    Set(Box<[Env]>, Option<Env>),
    /// Unordered, non-duplicating: each envelope and how many copies are in flight.
    Multiset(Box<[(Env, u32)]>),
    /// Ordered: each flow's messages in order.
    Ordered(Box<[Flow]>),
}

/// A global state, packed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packed {
    actors: Box<[Arc<PartyState>]>,
    net: Net,
    /// `(actor, key, choices)` for every actor that offers choices.
    choices: Box<[Offer]>,
    /// `(actor, timers)` for every actor with a timer set.
    timers: Box<[(u16, Box<[PartyTimer]>)]>,
    /// Actors that are crashed.
    crashed: Box<[u16]>,
    /// `(actor, what its database holds)` for every actor that wrote to one.
    stored: Box<[(u16, Arc<PartyState>)]>,
}

fn ix(id: Id) -> u16 {
    u16::try_from(usize::from(id)).unwrap_or(u16::MAX)
}

fn env(e: &Envelope<Msg>) -> Env {
    Env {
        src: ix(e.src),
        dst: ix(e.dst),
        msg: e.msg.clone(),
    }
}

fn envelope(e: &Env) -> Envelope<Msg> {
    Envelope {
        src: Id::from(usize::from(e.src)),
        dst: Id::from(usize::from(e.dst)),
        msg: e.msg.clone(),
    }
}

impl Packed {
    /// Packs a state. States of this model have at most 65,535 actors.
    pub fn pack(s: &JpkiState) -> Packed {
        let net = match &s.network {
            Network::UnorderedDuplicating(set, last) => {
                Net::Set(set.iter().map(env).collect(), last.as_ref().map(env))
            }
            Network::UnorderedNonDuplicating(multiset) => Net::Multiset(
                multiset
                    .iter()
                    .map(|(e, &n)| (env(e), u32::try_from(n).unwrap_or(u32::MAX)))
                    .collect(),
            ),
            Network::Ordered(flows) => Net::Ordered(
                flows
                    .iter()
                    .map(|(&(src, dst), q)| (ix(src), ix(dst), q.iter().cloned().collect()))
                    .collect(),
            ),
        };
        let mut choices = Vec::new();
        for (i, rc) in s.random_choices.iter().enumerate() {
            for (key, cs) in rc.map.iter() {
                choices.push((
                    i as u16,
                    Box::from(key.as_str()),
                    cs.clone().into_boxed_slice(),
                ));
            }
        }
        let timers = s
            .timers_set
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let set: Box<[PartyTimer]> = t.iter().copied().collect();
                (!set.is_empty()).then_some((i as u16, set))
            })
            .collect();
        let flagged = |v: &[bool]| -> Box<[u16]> {
            v.iter()
                .enumerate()
                .filter(|(_, &b)| b)
                .map(|(i, _)| i as u16)
                .collect()
        };
        let stored = s
            .actor_storages
            .iter()
            .enumerate()
            .filter_map(|(i, st)| st.as_ref().map(|st| (i as u16, Arc::new(st.clone()))))
            .collect();
        Packed {
            actors: s.actor_states.iter().cloned().collect(),
            net,
            choices: choices.into_boxed_slice(),
            timers,
            crashed: flagged(&s.crashed),
            stored,
        }
    }

    /// The Stateright state this was packed from.
    pub fn unpack(&self) -> JpkiState {
        self.rebuild(self.actors.to_vec())
    }

    /// The Stateright state this was packed from, taking over the actor states (no reference
    /// counts touched: a frontier state is unpacked once, to be expanded).
    pub fn into_state(mut self) -> JpkiState {
        let states = std::mem::take(&mut self.actors).into_vec();
        self.rebuild(states)
    }

    fn rebuild(&self, actor_states: Vec<Arc<PartyState>>) -> JpkiState {
        let n = actor_states.len();
        let network = match &self.net {
            Net::Set(envs, last) => Network::new_unordered_duplicating_with_last_msg(
                envs.iter().map(envelope),
                last.as_ref().map(envelope),
            ),
            Net::Multiset(envs) => Network::new_unordered_nonduplicating(
                envs.iter()
                    .flat_map(|(e, k)| std::iter::repeat_n(e, *k as usize).map(envelope)),
            ),
            Net::Ordered(flows) => Network::new_ordered(flows.iter().flat_map(|(src, dst, q)| {
                q.iter().map(move |msg| Envelope {
                    src: Id::from(usize::from(*src)),
                    dst: Id::from(usize::from(*dst)),
                    msg: msg.clone(),
                })
            })),
        };
        let mut random_choices = vec![RandomChoices::default(); n];
        for (i, key, cs) in self.choices.iter() {
            if let Some(rc) = random_choices.get_mut(usize::from(*i)) {
                rc.insert(key.to_string(), cs.to_vec());
            }
        }
        let mut timers_set = vec![Timers::new(); n];
        for (i, set) in self.timers.iter() {
            if let Some(t) = timers_set.get_mut(usize::from(*i)) {
                for timer in set.iter() {
                    t.set(*timer);
                }
            }
        }
        let mut crashed = vec![false; n];
        for &i in self.crashed.iter() {
            if let Some(c) = crashed.get_mut(usize::from(i)) {
                *c = true;
            }
        }
        let mut actor_storages = vec![None; n];
        for (i, st) in self.stored.iter() {
            if let Some(s) = actor_storages.get_mut(usize::from(*i)) {
                *s = Some(PartyState::clone(st));
            }
        }
        JpkiState {
            actor_states,
            network,
            timers_set,
            random_choices,
            crashed,
            history: (),
            actor_storages,
        }
    }

    /// Bytes on the heap that this packed state owns, counting the actor states it shares with
    /// others as a pointer each.
    pub fn heap_bytes(&self) -> usize {
        let net = match &self.net {
            Net::Set(envs, last) => {
                envs.len() * size_of::<Env>() + last.as_ref().map_or(0, |_| size_of::<Env>())
            }
            Net::Multiset(envs) => envs.len() * size_of::<(Env, u32)>(),
            Net::Ordered(flows) => flows
                .iter()
                .map(|(_, _, q)| size_of::<(u16, u16, Box<[Msg]>)>() + q.len() * size_of::<Msg>())
                .sum(),
        };
        self.actors.len() * size_of::<Arc<PartyState>>()
            + net
            + self
                .choices
                .iter()
                .map(|(_, k, cs)| {
                    size_of::<(u16, Box<str>, Box<[PartyChoice]>)>()
                        + k.len()
                        + cs.len() * size_of::<PartyChoice>()
                })
                .sum::<usize>()
    }
}

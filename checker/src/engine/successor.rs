//! The fingerprint of a successor, computed without building the successor.
//!
//! Most successors of a breadth-first level are states already visited (about two in three on
//! the default configuration). Building each one with Stateright's `next_state` clones the whole
//! global state — the network's and every actor's hash tables — only to hash it and drop it. This
//! module runs just the acting actor's transition (the same `Actor::on_msg` / `on_random` that
//! `next_state` calls, so the protocol decision is the model's) and updates the parent's
//! fingerprint [`Parts`] by what the step changes:
//!
//! - the acting actor's state and the choices it offers (a choice taken is withdrawn, choices
//!   re-offered replace it, as Stateright's `SelectRandom` and `ChooseRandom` do);
//! - the envelopes delivered, dropped and sent (a multiset, a set without the last-delivered
//!   record, or ordered flows, as Stateright's three networks keep them).
//!
//! A step that does anything else (a timer, a crash, storage) is reported as [`Glimpse::Unknown`],
//! and the engine builds that successor. Every successor that turns out to be new is built with
//! `next_state` (it goes on the frontier, and properties are checked on it), keeping the parts
//! computed here. With `Search::verify_every_step` (the engine's tests turn it on for every kind
//! of network, lossy or not, with and without symmetry) every successor is also built and fully
//! fingerprinted, and any difference stops the search with an error naming the action.

use super::fingerprint::{offered_of, Canon, Parts};
use super::Search;
use jpkisim_model::actors::{PartyChoice, PartyState};
use jpkisim_model::msg::Msg;
use jpkisim_model::{JpkiAction, JpkiState};
use stateright::actor::{is_no_op, Actor, ActorModelAction, Command, Envelope, Id, Network, Out};
use std::borrow::Cow;
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

/// One envelope whose count the step changes.
struct Touched {
    src: Id,
    dst: Id,
    msg: Msg,
    before: usize,
    after: usize,
}

/// One ordered flow the step changes.
struct Flow<'p> {
    src: Id,
    dst: Id,
    before: Option<&'p std::collections::VecDeque<Msg>>,
    after: Vec<Msg>,
}

/// The network's change.
enum NetChange<'p> {
    Counts(Vec<Touched>),
    Flows(Vec<Flow<'p>>),
}

impl<'p> NetChange<'p> {
    fn new(net: &Network<Msg>) -> NetChange<'p> {
        match net {
            Network::Ordered(_) => NetChange::Flows(Vec::new()),
            _ => NetChange::Counts(Vec::new()),
        }
    }

    /// The entry of an envelope in a multiset or set network, created with its count before.
    fn touched<'a>(
        list: &'a mut Vec<Touched>,
        net: &Network<Msg>,
        src: Id,
        dst: Id,
        msg: &Msg,
    ) -> &'a mut Touched {
        if let Some(pos) = list
            .iter()
            .position(|t| t.src == src && t.dst == dst && t.msg == *msg)
        {
            return &mut list[pos];
        }
        let env = Envelope {
            src,
            dst,
            msg: msg.clone(),
        };
        let before = match net {
            Network::UnorderedNonDuplicating(m) => m.get(&env).copied().unwrap_or(0),
            Network::UnorderedDuplicating(set, _) => usize::from(set.contains(&env)),
            Network::Ordered(_) => 0,
        };
        list.push(Touched {
            src,
            dst,
            msg: env.msg,
            before,
            after: before,
        });
        let last = list.len() - 1;
        &mut list[last]
    }

    fn flow<'a>(
        list: &'a mut Vec<Flow<'p>>,
        net: &'p Network<Msg>,
        src: Id,
        dst: Id,
    ) -> &'a mut Flow<'p> {
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
    fn remove(&mut self, net: &'p Network<Msg>, src: Id, dst: Id, msg: &Msg) {
        match self {
            NetChange::Counts(list) => {
                let t = NetChange::touched(list, net, src, dst, msg);
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
    fn send(&mut self, net: &'p Network<Msg>, src: Id, dst: Id, msg: Msg, duplicating: bool) {
        match self {
            NetChange::Counts(list) => {
                let t = NetChange::touched(list, net, src, dst, &msg);
                t.after = if duplicating { 1 } else { t.after + 1 };
            }
            NetChange::Flows(list) => NetChange::flow(list, net, src, dst).after.push(msg),
        }
    }

    /// The network's part under renaming `p` after the change.
    fn part(&self, canon: &Canon, parts: &Parts, p: usize, duplicating: bool) -> u64 {
        let mut part = canon.net_part(parts, p);
        match self {
            NetChange::Counts(list) => {
                for t in list.iter().filter(|t| t.before != t.after) {
                    let env = canon.envelope(p, t.src, t.dst, &t.msg);
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
pub struct Scratch {
    actor: Option<usize>,
    actor_parts: Vec<u64>,
    net_parts: Vec<u64>,
    /// The successor's actor states and nothing else, for the boundary (see [`Search::glimpse`]):
    /// the parent's, with the acting actor's swapped in while it is judged.
    actors_only: JpkiState,
    /// The parent's actor state to put back into `actors_only` before the next successor.
    swapped: Option<(usize, Arc<PartyState>)>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            actor: None,
            actor_parts: Vec::new(),
            net_parts: Vec::new(),
            swapped: None,
            actors_only: JpkiState {
                actor_states: Vec::new(),
                network: Network::new_unordered_nonduplicating([]),
                timers_set: Vec::new(),
                random_choices: Vec::new(),
                crashed: Vec::new(),
                history: (),
                actor_storages: Vec::new(),
            },
        }
    }
}

impl Scratch {
    /// Prepares for the successors of `parent` (once per parent: cloning its actor states for
    /// every successor cost a tenth of the search).
    pub fn prepare(&mut self, parent: &JpkiState) {
        self.swapped = None;
        self.actors_only
            .actor_states
            .clone_from(&parent.actor_states);
    }

    fn restore(&mut self) {
        if let Some((i, state)) = self.swapped.take() {
            self.actors_only.actor_states[i] = state;
        }
    }

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
    /// The fingerprint of the successor of `parent` (with fingerprint parts `parts`) by `action`.
    ///
    /// The model's boundary (the budgets) is evaluated on a state that has the successor's actor
    /// states and nothing else: `within_budgets` reads only actor states, and a state whose
    /// actors did not change is within the boundary like its parent. Most successors of a
    /// configuration with tight budgets are outside it (a person's choices do not see the budget
    /// summed over persons), so this spares building them. The engine's tests check the boundary
    /// of every successor against the built one (`Search::verify_every_step`).
    pub fn glimpse(
        &self,
        parent: &JpkiState,
        parts: &Parts,
        action: &JpkiAction,
        scratch: &mut Scratch,
    ) -> Glimpse {
        scratch.restore();
        let net = &parent.network;
        let duplicating = matches!(net, Network::UnorderedDuplicating(..));
        let ordered = matches!(net, Network::Ordered(_));
        let mut change = NetChange::new(net);
        let (actor, state, taken, out) = match action {
            ActorModelAction::Deliver { src, dst, msg } => {
                let i = usize::from(*dst);
                let Some(actor_state) = parent.actor_states.get(i) else {
                    return Glimpse::Nothing;
                };
                if parent.crashed.get(i).copied().unwrap_or(false) {
                    return Glimpse::Nothing;
                }
                let mut state = Cow::Borrowed(&**actor_state);
                let mut out = Out::new();
                self.model.actors[i].on_msg(*dst, &mut state, *src, msg.clone(), &mut out);
                if is_no_op(&state, &out) && !ordered {
                    return Glimpse::Nothing;
                }
                if !duplicating {
                    change.remove(net, *src, *dst, msg);
                }
                (i, state, None, out)
            }
            ActorModelAction::SelectRandom { actor, key, random } => {
                let i = usize::from(*actor);
                let Some(actor_state) = parent.actor_states.get(i) else {
                    return Glimpse::Unknown;
                };
                let mut state = Cow::Borrowed(&**actor_state);
                let mut out = Out::new();
                self.model.actors[i].on_random(*actor, &mut state, random, &mut out);
                (i, state, Some(key.as_str()), out)
            }
            ActorModelAction::Drop(env) => {
                change.remove(net, env.src, env.dst, &env.msg);
                let np = self.canon.renamings();
                scratch.actor = None;
                scratch.net_parts.clear();
                for p in 0..np {
                    scratch
                        .net_parts
                        .push(change.part(&self.canon, parts, p, duplicating));
                }
                return Glimpse::Fingerprint(self.canon.combine(
                    parts,
                    None,
                    Some(&scratch.net_parts),
                ));
            }
            ActorModelAction::Timeout(..)
            | ActorModelAction::Crash(_)
            | ActorModelAction::Recover(_) => return Glimpse::Unknown,
        };
        // The acting actor's choices after the step: the one taken is withdrawn, then the
        // actor's commands offer or withdraw choices by key.
        let mut offered: Vec<(Cow<'_, str>, Cow<'_, [PartyChoice]>)> = parent
            .random_choices
            .get(actor)
            .map(|rc| {
                offered_of(rc)
                    .filter(|(k, _)| Some(*k) != taken)
                    .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
                    .collect()
            })
            .unwrap_or_default();
        let src = Id::from(actor);
        for command in out {
            match command {
                Command::Send(dst, msg) => change.send(net, src, dst, msg, duplicating),
                Command::ChooseRandom(key, choices) => {
                    offered.retain(|(k, _)| **k != *key);
                    if !choices.is_empty() {
                        offered.push((Cow::Owned(key), Cow::Owned(choices)));
                    }
                }
                Command::SetTimer(..) | Command::CancelTimer(_) | Command::Save(_) => {
                    return Glimpse::Unknown;
                }
            }
        }
        let state: &PartyState = match state {
            Cow::Borrowed(unchanged) => unchanged,
            Cow::Owned(changed) => {
                let light = &mut scratch.actors_only;
                let before = std::mem::replace(&mut light.actor_states[actor], Arc::new(changed));
                scratch.swapped = Some((actor, before));
                if !stateright::Model::within_boundary(&self.model, &scratch.actors_only) {
                    return Glimpse::Outside;
                }
                &scratch.actors_only.actor_states[actor]
            }
        };
        let view: Vec<(&str, &[PartyChoice])> = offered.iter().map(|(k, v)| (&**k, &**v)).collect();
        let np = self.canon.renamings();
        scratch.actor = Some(actor);
        scratch.actor_parts.clear();
        scratch.net_parts.clear();
        for p in 0..np {
            scratch
                .actor_parts
                .push(self.canon.actor_part(p, state, &view));
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

//! The actions a state enables, in the order Stateright's `ActorModel::actions` lists them, without
//! building Stateright's action values.
//!
//! A path step is an index into `Model::actions` of the state it leaves (the Explorer's
//! `#/steps/…` URLs and the reference replay use the same indices), so the engine must enumerate
//! the actions in exactly that order. Stateright builds each `SelectRandom` with its own copy of
//! the choice's key (a `String`: one allocation per action, about twenty per state here) and
//! sorts the list with a comparator that compares those strings; on the default configuration
//! that was 15–19 % of a one-thread search (`perf`, docs/performance.md). Here a choice names its
//! key by position in the actor's offered choices, the list is sorted with the same comparator
//! reading the keys in place, and an owned action is built only for a successor that is built.
//!
//! States with a timer set, a crashed actor, or a model that may crash actors are listed by
//! Stateright itself (the engine does not follow those steps without building them anyway), so
//! the shortcut covers exactly deliveries, drops and random choices. With
//! `Search::verify_every_step` the engine compares every list with Stateright's.
//!
//! It is not a model of the protocol: which actions exist is Stateright's and the actors'.

use jpkisim_model::actors::PartyChoice;
use jpkisim_model::msg::Msg;
use jpkisim_model::{JpkiAction, JpkiModel, JpkiState};
use stateright::actor::{ActorModelAction, Envelope, Id, LossyNetwork, Network};
use stateright::Model;
use std::cmp::Ordering;

/// An enabled action, as the engine lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    /// A lossy network loses the envelope.
    Drop {
        /// Sender.
        src: Id,
        /// Recipient.
        dst: Id,
        /// The message.
        msg: Msg,
    },
    /// The envelope is delivered.
    Deliver {
        /// Sender.
        src: Id,
        /// Recipient.
        dst: Id,
        /// The message.
        msg: Msg,
    },
    /// `actor` takes `random` among the choices it offers under its `key`-th key (in the order
    /// its choice map iterates, which does not change while the state does not).
    Select {
        /// The choosing actor.
        actor: Id,
        /// Position of the key among the actor's offered keys.
        key: usize,
        /// The choice.
        random: PartyChoice,
    },
    /// Any other action (timeouts, crashes, recoveries), as Stateright built it.
    Other(JpkiAction),
}

/// The `k`-th key of the choices `actor` offers in `state`.
pub fn key_of(state: &JpkiState, actor: Id, k: usize) -> Option<&str> {
    state
        .random_choices
        .get(usize::from(actor))?
        .map
        .keys()
        .nth(k)
        .map(String::as_str)
}

impl Act {
    /// Stateright's action for this act in `state` (the state it was listed for).
    pub fn to_action(&self, state: &JpkiState) -> Option<JpkiAction> {
        Some(match self {
            Act::Drop { src, dst, msg } => ActorModelAction::Drop(Envelope {
                src: *src,
                dst: *dst,
                msg: msg.clone(),
            }),
            Act::Deliver { src, dst, msg } => ActorModelAction::Deliver {
                src: *src,
                dst: *dst,
                msg: msg.clone(),
            },
            Act::Select { actor, key, random } => ActorModelAction::SelectRandom {
                actor: *actor,
                key: key_of(state, *actor, *key)?.to_owned(),
                random: *random,
            },
            Act::Other(a) => a.clone(),
        })
    }

    /// The act for one of Stateright's actions in `state`.
    fn of_action(state: &JpkiState, action: JpkiAction) -> Act {
        match action {
            ActorModelAction::Drop(env) => Act::Drop {
                src: env.src,
                dst: env.dst,
                msg: env.msg,
            },
            ActorModelAction::Deliver { src, dst, msg } => Act::Deliver { src, dst, msg },
            ActorModelAction::SelectRandom { actor, key, random } => {
                let position = state
                    .random_choices
                    .get(usize::from(actor))
                    .and_then(|rc| rc.map.keys().position(|k| *k == key));
                match position {
                    Some(key) => Act::Select { actor, key, random },
                    None => Act::Other(ActorModelAction::SelectRandom { actor, key, random }),
                }
            }
            other => Act::Other(other),
        }
    }

    fn variant(&self) -> u8 {
        // Stateright's order of kinds: drops, deliveries, (timeouts, crashes, recoveries), choices.
        match self {
            Act::Drop { .. } => 0,
            Act::Deliver { .. } => 1,
            Act::Other(_) => 2,
            Act::Select { .. } => 5,
        }
    }
}

/// Stateright's comparator (`ActorModel::actions`), on acts listed for `state`.
fn compare(state: &JpkiState, a: &Act, b: &Act) -> Ordering {
    a.variant().cmp(&b.variant()).then_with(|| match (a, b) {
        (
            Act::Drop {
                src: s1,
                dst: d1,
                msg: m1,
            },
            Act::Drop {
                src: s2,
                dst: d2,
                msg: m2,
            },
        )
        | (
            Act::Deliver {
                src: s1,
                dst: d1,
                msg: m1,
            },
            Act::Deliver {
                src: s2,
                dst: d2,
                msg: m2,
            },
        ) => s1.cmp(s2).then_with(|| d1.cmp(d2)).then_with(|| m1.cmp(m2)),
        (
            Act::Select {
                actor: a1,
                key: k1,
                random: r1,
            },
            Act::Select {
                actor: a2,
                key: k2,
                random: r2,
            },
        ) => a1
            .cmp(a2)
            .then_with(|| {
                if k1 == k2 {
                    Ordering::Equal
                } else {
                    key_of(state, *a1, *k1).cmp(&key_of(state, *a2, *k2))
                }
            })
            .then_with(|| r1.cmp(r2)),
        _ => Ordering::Equal,
    })
}

/// Lists the actions `state` enables into `acts`, in Stateright's order.
pub fn enabled(model: &JpkiModel, state: &JpkiState, acts: &mut Vec<Act>) {
    acts.clear();
    let plain = model.max_crashes == 0
        && !state.crashed.iter().any(|&c| c)
        && state.timers_set.iter().all(|t| t.iter().next().is_none());
    if !plain {
        let mut actions = Vec::new();
        model.actions(state, &mut actions);
        acts.extend(actions.into_iter().map(|a| Act::of_action(state, a)));
        return;
    }
    let lossy = model.lossy_network == LossyNetwork::Yes;
    let ordered = matches!(model.init_network, Network::Ordered(_));
    let mut prev_channel = None;
    for env in state.network.iter_deliverable() {
        if lossy {
            acts.push(Act::Drop {
                src: env.src,
                dst: env.dst,
                msg: env.msg.clone(),
            });
        }
        if usize::from(env.dst) < model.actors.len() {
            if ordered {
                let channel = (env.src, env.dst);
                if prev_channel == Some(channel) {
                    continue;
                }
                prev_channel = Some(channel);
            }
            acts.push(Act::Deliver {
                src: env.src,
                dst: env.dst,
                msg: env.msg.clone(),
            });
        }
    }
    // Deliveries (and drops) come in the network's hash order: sort them. Choices are listed
    // already in order — actors in index order, an actor's keys sorted (it offers one or two),
    // each key's choices as offered, sorted only if they are not — so that the sort moves a
    // handful of envelopes, not the whole list.
    acts.sort_unstable_by(|a, b| compare(state, a, b));
    let mut keys: Vec<(&str, usize)> = Vec::new();
    for (i, rc) in state.random_choices.iter().enumerate() {
        keys.clear();
        keys.extend(rc.map.keys().enumerate().map(|(k, key)| (key.as_str(), k)));
        keys.sort_unstable();
        for &(_, k) in &keys {
            let Some(choices) = rc.map.values().nth(k) else {
                continue;
            };
            let from = acts.len();
            acts.extend(choices.iter().map(|random| Act::Select {
                actor: Id::from(i),
                key: k,
                random: *random,
            }));
            if !choices.is_sorted() {
                acts[from..].sort_unstable_by(|a, b| compare(state, a, b));
            }
        }
    }
}

/// Whether `acts` (listed for `state`) are Stateright's own actions of `state`, in order.
pub fn same_as_stateright(model: &JpkiModel, state: &JpkiState, acts: &[Act]) -> bool {
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    actions.len() == acts.len()
        && actions
            .iter()
            .zip(acts)
            .all(|(a, act)| act.to_action(state).as_ref() == Some(a))
}

//! Traces made from the model itself: the events a fully observed system would log for a path.
//!
//! Used to produce model-generated golden traces, the long trace of `jpkisim bench conform`, and
//! to turn a counterexample path or an ITF trace into a jpkisim trace. Each model step becomes the
//! event of the acting party (a delivery, a choice, a timer firing, a loss, a crash or a restart)
//! followed by the sends it made, in the order the recorder of a real party would log them.

use crate::format::{Event, Fault};
use jpkisim_model::JpkiAction;
use jpkisim_model::{JpkiModel, JpkiState, Topology};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stateright::actor::{Actor, ActorModelAction, Command, Out};
use stateright::Model;

/// The events a fully observed system logs for the model step `action` taken in `state`.
pub fn events_of_step(model: &JpkiModel, state: &JpkiState, action: &JpkiAction) -> Vec<Event> {
    let topo = Topology::of(&model.cfg);
    let (first, actor, out) = match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            let ix = usize::from(*dst);
            let (Some(a), Some(s)) = (model.actors.get(ix), state.actor_states.get(ix)) else {
                return Vec::new();
            };
            let from = topo.party(*src);
            let step = a.deliver(s, from, msg);
            (
                Event::deliver(topo.party(*dst), from, msg.clone()),
                topo.party(*dst),
                a.outgoing(step.out),
            )
        }
        ActorModelAction::SelectRandom { actor, random, .. } => {
            let ix = usize::from(*actor);
            let (Some(a), Some(s)) = (model.actors.get(ix), state.actor_states.get(ix)) else {
                return Vec::new();
            };
            let step = a.choose(s, *random);
            (
                Event::choice(topo.party(*actor), *random),
                topo.party(*actor),
                a.outgoing(step.out),
            )
        }
        ActorModelAction::Timeout(actor, timer) => {
            let ix = usize::from(*actor);
            let (Some(a), Some(s)) = (model.actors.get(ix), state.actor_states.get(ix)) else {
                return Vec::new();
            };
            let step = a.timeout(s, *timer);
            (
                Event::timeout(topo.party(*actor)),
                topo.party(*actor),
                a.outgoing(step.out),
            )
        }
        ActorModelAction::Drop(e) => {
            return vec![Event::fault(
                Fault::Lost,
                topo.party(e.src),
                topo.party(e.dst),
                e.msg.clone(),
            )]
        }
        ActorModelAction::Crash(actor) => return vec![Event::crash(topo.party(*actor))],
        ActorModelAction::Recover(actor) => {
            // The restart is the party's start from its storage; whatever that start sends
            // (already routed) follows it.
            let ix = usize::from(*actor);
            let (Some(a), Some(stored)) = (model.actors.get(ix), state.actor_storages.get(ix))
            else {
                return Vec::new();
            };
            let mut o = Out::new();
            a.on_start(*actor, stored, &mut o);
            let sent = o
                .iter()
                .filter_map(|c| match c {
                    Command::Send(to, msg) => Some((topo.party(*to), msg.clone())),
                    _ => None,
                })
                .collect();
            (Event::restart(topo.party(*actor)), topo.party(*actor), sent)
        }
    };
    std::iter::once(first)
        .chain(out.into_iter().map(|(to, msg)| Event::send(actor, to, msg)))
        .collect()
}

/// The events of a path of actions from the initial state (steps that are not enabled end it).
pub fn events_of_path(model: &JpkiModel, actions: &[JpkiAction]) -> Vec<Event> {
    let Some(mut state) = model.init_states().into_iter().next() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in actions {
        out.extend(events_of_step(model, &state, a));
        match model.next_state(&state, a.clone()) {
            Some(next) => state = next,
            None => continue,
        }
    }
    out
}

/// A seeded random walk through the model within its budgets, at most `steps` steps (it stops
/// earlier where nothing is enabled, or when `sink` returns `false`), passing each step's events
/// to `sink`; returns the steps taken.
///
/// `prefer_progress` in 0..=100 is the percentage of steps that deliver a message rather than
/// make a choice when both are possible, so that started exchanges tend to finish.
pub fn random_walk(
    model: &JpkiModel,
    seed: u64,
    steps: u64,
    prefer_progress: u32,
    mut sink: impl FnMut(Event) -> bool,
) -> u64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let Some(mut state) = model.init_states().into_iter().next() else {
        return 0;
    };
    let mut actions = Vec::new();
    let mut taken = 0;
    while taken < steps {
        actions.clear();
        model.actions(&state, &mut actions);
        let mut enabled: Vec<(JpkiAction, JpkiState)> = actions
            .drain(..)
            .filter_map(|a| {
                let next = model.next_state(&state, a.clone())?;
                model.within_boundary(&next).then_some((a, next))
            })
            .collect();
        if enabled.is_empty() {
            break;
        }
        let deliveries = enabled
            .iter()
            .filter(|(a, _)| matches!(a, ActorModelAction::Deliver { .. }))
            .count();
        if deliveries > 0
            && deliveries < enabled.len()
            && rng.random_range(0..100) < prefer_progress
        {
            enabled.retain(|(a, _)| matches!(a, ActorModelAction::Deliver { .. }));
        }
        let (action, next) = enabled.swap_remove(rng.random_range(0..enabled.len()));
        let mut go_on = true;
        for e in events_of_step(model, &state, &action) {
            go_on &= sink(e);
        }
        state = next;
        taken += 1;
        if !go_on {
            break;
        }
    }
    taken
}

//! A recorded trace as the readable steps `jpkisim explore --trace` replays.
//!
//! Only a fully observed trace names every model step: its deliveries, choices, losses, timeouts,
//! crashes and restarts are the steps, in order (sends and duplications are not steps of their
//! own). A timeout names its party but not the timer; the replay finds which
//! (`jpkisim_model::path::timeout_step`). A trace observed
//! from fewer parties has unobserved steps that the Explorer cannot guess; the conformance
//! checker finds them, the Explorer does not.

use crate::format::{Event, EventKind, Fault};
use jpkisim_model::Topology;
use jpkisim_model::{describe, path};
use stateright::actor::{ActorModelAction, Envelope};

/// The readable model steps of a trace's events, as [`describe::action`] names them.
pub fn readable_steps(topo: &Topology, events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| {
            let action = match (e.kind, e.peer, &e.msg, e.choice, e.fault) {
                (EventKind::Deliver, Some(peer), Some(msg), _, _) => ActorModelAction::Deliver {
                    src: topo.id(peer),
                    dst: topo.id(e.party),
                    msg: msg.clone(),
                },
                (EventKind::Choice, _, _, Some(random), _) => ActorModelAction::SelectRandom {
                    actor: topo.id(e.party),
                    key: String::new(),
                    random,
                },
                (EventKind::Fault, Some(peer), Some(msg), _, Some(Fault::Lost)) => {
                    ActorModelAction::Drop(Envelope {
                        src: topo.id(e.party),
                        dst: topo.id(peer),
                        msg: msg.clone(),
                    })
                }
                (EventKind::Timeout, ..) => return Some(path::timeout_step(e.party)),
                (EventKind::Crash, ..) => ActorModelAction::Crash(topo.id(e.party)),
                (EventKind::Restart, ..) => ActorModelAction::Recover(topo.id(e.party)),
                _ => return None,
            };
            Some(describe::action(topo, &action))
        })
        .collect()
}

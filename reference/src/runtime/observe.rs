//! Reading a reference world back as a state of the model — the abstraction both runtimes use to
//! check the catalogue's safety properties on every step, and the differential test compares.

use std::sync::Arc;

use jpkisim_model::actors::{JpkiState, PartyState};
use jpkisim_model::recovery;
use jpkisim_model::{Config, Topology};
use jpkisim_properties::catalogue::PropertyDef;
use stateright::actor::{ActorModelState, Network, Timers};

use crate::wire::Envelope;

/// The model state of a world whose parties are in `states` (actor order) with `in_flight`
/// messages (artifacts dropped: the model has terms only).
pub fn model_state(cfg: &Config, states: &[PartyState], in_flight: &[Envelope]) -> JpkiState {
    model_state_with_crashed(cfg, states, in_flight, &vec![false; states.len()])
}

/// [`model_state`] of a world in which the parties marked in `crashed` (actor order) are down:
/// their timers are cancelled, as the model's `Crash` cancels them, and the world is not
/// settled while any is down.
pub fn model_state_with_crashed(
    cfg: &Config,
    states: &[PartyState],
    in_flight: &[Envelope],
    crashed: &[bool],
) -> JpkiState {
    let topo = Topology::of(cfg);
    let n = states.len();
    let envelopes = in_flight.iter().map(|e| stateright::actor::Envelope {
        src: topo.id(e.from),
        dst: topo.id(e.to),
        msg: e.msg.clone(),
    });
    let network = if cfg.network.duplicating {
        Network::new_unordered_duplicating(envelopes)
    } else {
        Network::new_unordered_nonduplicating(envelopes)
    };
    ActorModelState {
        actor_states: states.iter().cloned().map(Arc::new).collect(),
        network,
        // The timers each party's state arms, as the model arms them (so that a world waiting on
        // a timer is not taken for a settled one).
        timers_set: states
            .iter()
            .zip(crashed)
            .map(|(s, down)| {
                let mut t = Timers::new();
                if !down {
                    for timer in recovery::armed(cfg, s) {
                        t.set(timer);
                    }
                }
                t
            })
            .collect(),
        random_choices: vec![Default::default(); n],
        crashed: crashed.to_vec(),
        history: (),
        actor_storages: vec![None; n],
    }
}

/// The first safety property of the catalogue that applies to `cfg` and fails in `state`.
pub fn violated(cfg: &Config, state: &JpkiState) -> Option<&'static PropertyDef> {
    jpkisim_properties::applicable_safety(cfg).find(|p| !p.holds_in(cfg, state))
}

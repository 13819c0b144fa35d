//! A typed view of one global state: each party's state by name instead of by actor index.
//!
//! Properties, the readable counterexample output and the Explorer's state view read the world
//! through this; nothing here changes state.

use crate::actors::{JpkiState, PartyActor, PartyState, Topology};
use crate::applicant::ApplicantState;
use crate::ca::CaState;
use crate::config::Config;
use crate::ids::Party;
use crate::ids::{PersonId, SeId};
use crate::intruder::IntruderState;
use crate::msg::Msg;
use crate::relying_party::RpState;
use crate::se::SeState;
use crate::se_tsm::SeTsmState;
use crate::sp_tsm::SpTsmState;
use stateright::actor::{Envelope, Network};

/// Every party's state in one global state. Building it allocates nothing: properties build one
/// per state they check.
#[derive(Debug)]
pub struct World<'a> {
    /// The CA.
    pub ca: &'a CaState,
    /// The SP-TSM.
    pub sp_tsm: &'a SpTsmState,
    /// The SE issuer's TSM.
    pub se_tsm: &'a SeTsmState,
    /// The relying party.
    pub rp: &'a RpState,
    state: &'a JpkiState,
}

impl<'a> World<'a> {
    /// Reads a global state; `None` if it is not a state of this model.
    pub fn of(state: &'a JpkiState) -> Option<World<'a>> {
        let (mut ca, mut sp_tsm, mut se_tsm, mut rp) = (None, None, None, None);
        for s in state.actor_states.iter().take(5) {
            match &**s {
                PartyState::Ca(x) => ca = Some(x),
                PartyState::SpTsm(x) => sp_tsm = Some(x),
                PartyState::SeTsm(x) => se_tsm = Some(x),
                PartyState::RelyingParty(x) => rp = Some(x),
                _ => {}
            }
        }
        Some(World {
            ca: ca?,
            sp_tsm: sp_tsm?,
            se_tsm: se_tsm?,
            rp: rp?,
            state,
        })
    }

    /// Whether the world has settled: no party down, no timer armed, and no message in flight
    /// whose delivery would change anything (a message its receiver ignores — a stale answer,
    /// a duplicate — stays in Stateright's network for good, since a delivery that changes
    /// nothing is not a step). Nothing can happen any more but the people's own choices, so
    /// whatever recovery owes must be done (the quiescence properties).
    pub fn settled(&self, cfg: &Config) -> bool {
        if self.state.crashed.iter().any(|&down| down)
            || self
                .state
                .timers_set
                .iter()
                .any(|t| t.iter().next().is_some())
        {
            return false;
        }
        let topo = Topology::of(cfg);
        envelopes(&self.state.network).all(|e| delivery_is_idle(cfg, &topo, self.state, &e))
    }

    /// Every applicant, by person.
    pub fn applicants(&self) -> impl Iterator<Item = &'a ApplicantState> {
        self.state.actor_states.iter().filter_map(|s| match &**s {
            PartyState::Applicant(a) => Some(a),
            _ => None,
        })
    }

    /// Every SE, by id.
    pub fn ses(&self) -> impl Iterator<Item = &'a SeState> {
        self.state.actor_states.iter().filter_map(|s| match &**s {
            PartyState::Se(x) => Some(x),
            _ => None,
        })
    }

    /// The applicant state of `person`.
    pub fn applicant(&self, person: PersonId) -> Option<&'a ApplicantState> {
        self.applicants().nth(usize::from(person.0))
    }

    /// The state of `se`.
    pub fn se(&self, se: SeId) -> Option<&'a SeState> {
        self.ses().nth(usize::from(se.0))
    }

    /// Every message in flight, as its sender sent it: a message on its way through the intruder
    /// counts once, without the wrapper.
    pub fn in_flight(&self) -> impl Iterator<Item = &'a Msg> {
        envelopes(&self.state.network).map(|e| inner(e.msg))
    }

    /// Every message in flight with the sender it names and its addressee: a message on its way
    /// through the intruder counts with the sender and addressee its wrapper names.
    pub fn in_flight_routed(
        &self,
        cfg: &Config,
    ) -> impl Iterator<Item = (Party, Party, &'a Msg)> + 'a {
        let topo = Topology::of(cfg);
        envelopes(&self.state.network).map(move |e| match e.msg {
            Msg::Intercepted { from, to, msg, .. } => (*from, *to, inner(msg)),
            m => (topo.party(e.src), topo.party(e.dst), m),
        })
    }

    /// The intruder's state, if the model has an intruder.
    pub fn intruder(&self) -> Option<&'a IntruderState> {
        self.state.actor_states.last().and_then(|s| match &**s {
            PartyState::Intruder(x) => Some(x),
            _ => None,
        })
    }
}

/// The message a wrapper carries, or the message itself.
fn inner(msg: &Msg) -> &Msg {
    match msg {
        Msg::Intercepted { msg, .. } => inner(msg),
        m => m,
    }
}

/// Whether delivering `e` in `state` would change nothing: its receiver's state stays as it is
/// and nothing is sent (a stale answer, a duplicate, a request for a locked applet). Such a
/// delivery is no step of the model; a settled world and a patient timer both look past it.
pub fn delivery_is_idle(
    cfg: &Config,
    topo: &Topology,
    state: &JpkiState,
    e: &Envelope<&Msg>,
) -> bool {
    let Some(receiver) = state.actor_states.get(usize::from(e.dst)) else {
        return true;
    };
    let actor = PartyActor {
        party: topo.party(e.dst),
        cfg: *cfg,
    };
    let step = actor.deliver(receiver, topo.party(e.src), e.msg);
    step.state == **receiver && step.out.is_empty()
}

/// Every envelope in a network, each as many times as it is in flight.
///
/// Stateright 0.31's `Network::iter_all` cannot be used: on an ordered network it never advances
/// within a channel (an endless iterator), and on an unordered one it yields a message sent n > 1
/// times n + 1 times. This reads the network's public variants directly.
pub fn envelopes(net: &Network<Msg>) -> Box<dyn Iterator<Item = Envelope<&Msg>> + '_> {
    match net {
        Network::UnorderedDuplicating(set, _) => Box::new(set.iter().map(|e| Envelope {
            src: e.src,
            dst: e.dst,
            msg: &e.msg,
        })),
        Network::UnorderedNonDuplicating(multiset) => {
            Box::new(multiset.iter().flat_map(|(e, &n)| {
                std::iter::repeat_n(
                    Envelope {
                        src: e.src,
                        dst: e.dst,
                        msg: &e.msg,
                    },
                    n,
                )
            }))
        }
        Network::Ordered(channels) => Box::new(channels.iter().flat_map(|(&(src, dst), queue)| {
            queue.iter().map(move |msg| Envelope { src, dst, msg })
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::actor::Id;

    fn env(n: usize) -> Envelope<Msg> {
        Envelope {
            src: Id::from(n),
            dst: Id::from(1),
            msg: Msg::Boot,
        }
    }

    #[test]
    fn every_network_kind_yields_each_message_as_often_as_it_is_in_flight() {
        let ordered = Network::new_ordered([env(0), env(0), env(2)]);
        assert_eq!(envelopes(&ordered).count(), 3);
        let multiset = Network::new_unordered_nonduplicating([env(0), env(0), env(2)]);
        assert_eq!(envelopes(&multiset).count(), 3);
        let set = Network::new_unordered_duplicating([env(0), env(0), env(2)]);
        assert_eq!(
            envelopes(&set).count(),
            2,
            "a duplicating network holds each message once"
        );
    }
}

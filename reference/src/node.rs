//! One party of the reference implementation: the model's own transition function, run with the
//! party's real crypto backend, plus — for an SE — the emulated chip that carries each step out in
//! APDUs. Both runtimes (in-process and UDP) are made of these.

use std::sync::Arc;

use jpkisim_model::actors::{PartyActor, PartyChoice, PartyState};
use jpkisim_model::ids::Party;
use jpkisim_model::intruder;
use jpkisim_model::recovery::{self, PartyTimer};
use jpkisim_model::Config;
use jpkisim_model::{Effect, PartyStep};

use crate::backend::{CryptoProblem, Provisioning, RealCrypto};
use crate::device::{DeviceError, SeDevice};
use crate::pki::PkiError;
use crate::wire::{self, ArtifactSource, Envelope};
use jpkisim_card::applet::Build;

/// Why a reference step could not be taken as the model takes it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Divergence {
    /// The emulated SE refused or disagreed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The real backend could not stand behind a term.
    #[error("{party} {problem}")]
    Crypto {
        /// Which party.
        party: Party,
        /// What went wrong.
        #[source]
        problem: CryptoProblem,
    },
    /// Setting up a party's keys failed.
    #[error("key setup: {0}")]
    Setup(#[source] Arc<PkiError>),
}

impl From<PkiError> for Divergence {
    fn from(e: PkiError) -> Self {
        Divergence::Setup(Arc::new(e))
    }
}

/// A party with its model state, backend and (for an SE) chip.
pub struct Node {
    actor: PartyActor,
    /// The party's model state: the same type, and after the same inputs the same value, as in
    /// the model checker.
    pub state: PartyState,
    /// The party's real crypto.
    pub crypto: RealCrypto,
    /// The chip, for an SE.
    pub device: Option<SeDevice>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("party", &self.actor.party)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// The party in its initial state. An SE gets a factory-fresh chip whose applet package is
    /// the defective build when the configuration's flaw is one the applet itself commits.
    pub fn new(party: Party, cfg: Config, prov: Arc<Provisioning>) -> Result<Self, Divergence> {
        let actor = PartyActor { party, cfg };
        let crypto = RealCrypto::new(party, Arc::clone(&prov))?;
        let state = actor.initial_state_with(&crypto);
        let device = match party {
            Party::Se(se) => Some(SeDevice::new(se, prov, applet_build(&cfg), cfg.medium)),
            _ => None,
        };
        let node = Node {
            actor,
            state,
            crypto,
            device,
        };
        node.problems()?;
        Ok(node)
    }

    /// Which party.
    pub fn party(&self) -> Party {
        self.actor.party
    }

    fn problems(&self) -> Result<(), Divergence> {
        match self.crypto.take_problems().into_iter().next() {
            None => Ok(()),
            Some(problem) => Err(Divergence::Crypto {
                party: self.party(),
                problem,
            }),
        }
    }

    /// The choices the model offers this party now.
    pub fn choices(&self) -> Vec<PartyChoice> {
        self.actor.choices(&self.state)
    }

    /// Delivers an envelope: imports its artifacts, runs the model's transition with the real
    /// backend, lets the chip carry the step out, and seals what the step sends.
    ///
    /// The artifacts are taken in only from an envelope the model lets this party believe
    /// ([`intruder::unwrap`]; the intruder takes in everything it sees): an injection the
    /// transition ignores must leave no public key behind for a later message of the same name
    /// to pick up (`reference/tests/intruder_udp.rs` slipped the card's key in ahead of an SE's
    /// new one, and J-LIS had it certified).
    pub fn deliver(&mut self, env: &Envelope) -> Result<Vec<Envelope>, Divergence> {
        let party = self.party();
        if party == Party::Intruder
            || intruder::unwrap(&self.actor.cfg, party, env.from, &env.msg).is_some()
        {
            self.crypto.import(&env.artifacts);
        }
        let step = self
            .actor
            .deliver_with(&self.crypto, &self.state, env.from, &env.msg);
        if let (Some(dev), PartyState::Se(after)) = (self.device.as_mut(), &step.state) {
            let effect = step.effect.as_ref().map(|Effect::Se(e)| e);
            dev.carry_out(&self.crypto, effect, after)?;
        }
        self.finish(step)
    }

    /// Takes one of the party's choices.
    pub fn choose(&mut self, choice: PartyChoice) -> Result<Vec<Envelope>, Divergence> {
        let step = self.actor.choose_with(&self.crypto, &self.state, choice);
        self.finish(step)
    }

    /// The timers the party's state arms now, in the model's order ([`recovery::armed`]): none
    /// where the configuration loses nothing and crashes nothing.
    pub fn armed(&self) -> Vec<PartyTimer> {
        recovery::armed(&self.actor.cfg, &self.state)
    }

    /// Fires one of the party's timers: the model's timeout transition with the real backend
    /// (a retry or an abort), its messages sealed like any other step's. The caller decides when
    /// a timer may fire (the in-process runtime: only once the network is idle).
    pub fn fire(&mut self, timer: PartyTimer) -> Result<Vec<Envelope>, Divergence> {
        let step = self.actor.timeout_with(&self.crypto, &self.state, timer);
        self.finish(step)
    }

    fn finish(&mut self, step: PartyStep) -> Result<Vec<Envelope>, Divergence> {
        self.problems()?;
        self.state = step.state;
        let from = self.party();
        // Sent as the model routes it: through the intruder where it controls the link.
        Ok(self
            .actor
            .outgoing(step.out)
            .into_iter()
            .map(|(to, msg)| wire::seal(&self.crypto, from, to, msg))
            .collect())
    }
}

/// The applet package build that reproduces a flaw the applet itself commits.
fn applet_build(cfg: &Config) -> Build {
    if cfg.flaws.has(jpkisim_model::config::Flaw::NoRetryCounter) {
        Build::NoRetryCounter
    } else {
        Build::Correct
    }
}

/// Hands each applicant the certificate their card carries (written at manufacture, by the CA).
pub fn issue_cards(nodes: &[Node]) {
    let Some(ca) = nodes.iter().find(|n| n.party() == Party::Ca) else {
        return;
    };
    for n in nodes {
        if let PartyState::Applicant(a) = &n.state {
            if let Some(artifact) = a.card.and_then(|c| ca.crypto.artifact_for_cert(&c)) {
                n.crypto.import(&[artifact]);
            }
        }
    }
}

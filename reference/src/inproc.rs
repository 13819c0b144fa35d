//! The deterministic in-process runtime: every party a [`Node`], one network, and a scheduler
//! whose every random choice — which message goes next, which is lost or duplicated — comes from
//! one seed, as do the keys, the chips and the RSA blinding ([`crate::backend::Provisioning`]).
//! The same seed gives the same run, byte for byte.
//!
//! After every step the world is read back as a model state ([`World::model_state`]) and every
//! safety property of the catalogue that applies is checked on it, so a run that breaks one stops
//! there, naming the step.

use std::sync::Arc;

use jpkisim_model::actors::{JpkiState, PartyChoice, PartyState};
use jpkisim_model::ids::Party;
use jpkisim_model::JpkiAction;
use jpkisim_model::{Config, Topology};
use jpkisim_properties::catalogue;
use jpkisim_traces::{Event, Fault};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest as _, Sha256};
use stateright::actor::ActorModelAction;

use crate::backend::Provisioning;
use crate::node::{issue_cards, Divergence, Node};
use crate::observe;
use crate::wire::Envelope;

/// Network faults the scheduler injects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Drop one message in ten.
    pub loss: bool,
    /// Deliver one message in ten twice.
    pub dup: bool,
    /// Deliver in random order instead of first-in first-out.
    pub reorder: bool,
}

impl Faults {
    /// Parses `loss,dup,reorder` (any subset, comma-separated; empty or `none` for none).
    pub fn parse(text: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "loss" => f.loss = true,
                "dup" => f.dup = true,
                "reorder" => f.reorder = true,
                "none" => {}
                other => {
                    return Err(format!(
                        "unknown fault `{other}`: expected loss, dup, reorder or none"
                    ))
                }
            }
        }
        Ok(f)
    }

    /// Whether any fault is on.
    pub fn any(self) -> bool {
        self.loss || self.dup || self.reorder
    }

    /// The model configuration whose network allows these faults (so the recorded run is a
    /// behaviour of it).
    pub fn apply_to(self, mut cfg: Config) -> Config {
        cfg.network.lossy |= self.loss;
        cfg.network.duplicating |= self.dup;
        cfg
    }
}

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The reference could not follow the model.
    #[error("step {step}: reference diverged from the model: {source}")]
    Diverged {
        /// Event number.
        step: u64,
        /// What happened.
        source: Divergence,
    },
    /// A safety property failed on the run.
    #[error("step {step}: property `{property}` violated: {summary}")]
    Violated {
        /// Event number.
        step: u64,
        /// Property id.
        property: &'static str,
        /// What it guarantees.
        summary: &'static str,
    },
    /// A scripted choice is not enabled in the model now.
    #[error("step {step}: {party} cannot choose {choice:?} now (enabled: {enabled})")]
    NotEnabled {
        /// Event number.
        step: u64,
        /// Who.
        party: Party,
        /// What.
        choice: PartyChoice,
        /// What the model offered instead.
        enabled: String,
    },
    /// The network did not settle within the bound (deliveries in process; messages still in
    /// flight over UDP).
    #[error("the network did not settle (bound {0})")]
    NoQuiescence(usize),
    /// A replayed step does not apply to the reference's state (the message is not in flight).
    #[error("step {step}: cannot replay: {what}")]
    NotAStep {
        /// Event number.
        step: u64,
        /// What is missing.
        what: String,
    },
    /// The UDP transport failed.
    #[error("transport: {0}")]
    Transport(String),
}

/// The in-process world.
pub struct World {
    cfg: Config,
    topo: Topology,
    nodes: Vec<Node>,
    in_flight: Vec<Envelope>,
    rng: ChaCha20Rng,
    faults: Faults,
    /// Every event so far, in order (the recorded trace).
    pub trace: Vec<Event>,
    /// Human-readable log lines.
    pub log: Vec<String>,
    check_properties: bool,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("nodes", &self.nodes)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl World {
    /// A fresh world for `cfg`, seeded by `seed`; `stream` names the run so that different
    /// scenarios under one seed draw different schedules and faults.
    pub fn new(cfg: Config, seed: u64, faults: Faults, stream: &str) -> Result<World, RunError> {
        let cfg = faults.apply_to(cfg);
        let diverged = |source| RunError::Diverged { step: 0, source };
        let prov = Provisioning::new(seed).map_err(|e| diverged(e.into()))?;
        let topo = Topology::of(&cfg);
        let nodes = topo
            .parties()
            .into_iter()
            .map(|p| Node::new(p, cfg, Arc::clone(&prov)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(diverged)?;
        issue_cards(&nodes);
        let mut rng_seed = [0u8; 32];
        rng_seed.copy_from_slice(&Sha256::digest(
            format!("{seed}/schedule/{stream}").as_bytes(),
        ));
        Ok(World {
            cfg,
            topo,
            nodes,
            in_flight: Vec::new(),
            rng: ChaCha20Rng::from_seed(rng_seed),
            faults,
            trace: Vec::new(),
            log: Vec::new(),
            check_properties: true,
        })
    }

    /// Turns the per-step property check off (the differential test compares states instead).
    pub fn without_property_checks(mut self) -> World {
        self.check_properties = false;
        self
    }

    /// The configuration (with the faults' network semantics).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// A party's node.
    pub fn node(&self, party: Party) -> &Node {
        &self.nodes[usize::from(self.topo.id(party))]
    }

    fn node_mut(&mut self, party: Party) -> &mut Node {
        let ix = usize::from(self.topo.id(party));
        &mut self.nodes[ix]
    }

    /// Messages sent and not yet delivered or lost.
    pub fn in_flight(&self) -> &[Envelope] {
        &self.in_flight
    }

    /// The messages in flight, to tamper with: an active attacker on the wire (tests use it to
    /// show that real bytes are checked where symbolic terms cannot be wrong).
    pub fn in_flight_mut(&mut self) -> &mut Vec<Envelope> {
        &mut self.in_flight
    }

    fn seq(&self) -> u64 {
        self.trace.len() as u64
    }

    fn record(&mut self, event: Event) {
        // Numbered from 1, as `jpkisim_traces::Recorder` numbers.
        let seq = self.seq() + 1;
        self.trace.push(Event { seq, ..event });
    }

    fn post(&mut self, envs: Vec<Envelope>) {
        for env in envs {
            let mut event = Event::send(env.from, env.to, env.msg.clone());
            for a in &env.artifacts {
                event = event.with_evidence(a.label(), a.fingerprint());
            }
            self.record(event);
            if self.faults.loss && observe::fault_strikes(&mut self.rng) {
                self.log.push(format!(
                    "  ✗ lost: {} → {}: {}",
                    env.from,
                    env.to,
                    jpkisim_model::describe::message(&env.msg)
                ));
                self.record(Event::fault(Fault::Lost, env.from, env.to, env.msg));
                continue;
            }
            if self.faults.dup && observe::fault_strikes(&mut self.rng) {
                self.record(Event::fault(
                    Fault::Duplicated,
                    env.from,
                    env.to,
                    env.msg.clone(),
                ));
                self.in_flight.push(env.clone());
            }
            self.in_flight.push(env);
        }
    }

    /// Runs a party's choice, if the model enables it now.
    pub fn choose(&mut self, party: Party, choice: PartyChoice) -> Result<(), RunError> {
        let enabled = self.node(party).choices();
        if !enabled.contains(&choice) {
            return Err(RunError::NotEnabled {
                step: self.seq(),
                party,
                choice,
                enabled: format!("{enabled:?}"),
            });
        }
        self.record(Event::choice(party, choice));
        self.log.push(format!("{party} chooses {choice:?}"));
        let step = self.seq();
        let out = self
            .node_mut(party)
            .choose(choice)
            .map_err(|source| RunError::Diverged { step, source })?;
        self.post(out);
        self.check()
    }

    /// Whether `choice` is enabled for `party` now.
    pub fn enabled(&self, party: Party, choice: PartyChoice) -> bool {
        self.node(party).choices().contains(&choice)
    }

    /// Delivers the in-flight message at `index`.
    pub fn deliver(&mut self, index: usize) -> Result<(), RunError> {
        if index >= self.in_flight.len() {
            return Ok(());
        }
        let env = self.in_flight.remove(index);
        self.record(Event::deliver(env.to, env.from, env.msg.clone()));
        self.log.push(format!(
            "  {} → {}: {}",
            env.from,
            env.to,
            jpkisim_model::describe::message(&env.msg)
        ));
        let step = self.seq();
        let out = self
            .node_mut(env.to)
            .deliver(&env)
            .map_err(|source| RunError::Diverged { step, source })?;
        self.post(out);
        self.check()
    }

    /// Takes one step of the model, as a counterexample or Explorer path names it: delivers the
    /// message (keeping a copy in flight on a duplicating network, as the model does), drops it,
    /// or takes the party's choice. An action that does not apply here is a divergence.
    pub fn apply(&mut self, action: &JpkiAction) -> Result<(), RunError> {
        let step = self.seq();
        let missing = |what: String| RunError::NotAStep { step, what };
        match action {
            ActorModelAction::Deliver { src, dst, msg } => {
                let (from, to) = (self.topo.party(*src), self.topo.party(*dst));
                let ix = self
                    .in_flight
                    .iter()
                    .position(|e| e.from == from && e.to == to && e.msg == *msg)
                    .ok_or_else(|| {
                        missing(format!("no message {from} → {to} in flight: {msg:?}"))
                    })?;
                if self.cfg.network.duplicating {
                    let copy = self.in_flight[ix].clone();
                    self.in_flight.insert(ix, copy);
                }
                self.deliver(ix)
            }
            ActorModelAction::Drop(env) => {
                let (from, to) = (self.topo.party(env.src), self.topo.party(env.dst));
                let ix = self
                    .in_flight
                    .iter()
                    .position(|e| e.from == from && e.to == to && e.msg == env.msg)
                    .ok_or_else(|| missing(format!("no message {from} → {to} to drop")))?;
                self.drop_message(ix);
                Ok(())
            }
            ActorModelAction::SelectRandom { actor, random, .. } => {
                self.choose(self.topo.party(*actor), *random)
            }
            ActorModelAction::Timeout(..)
            | ActorModelAction::Crash(..)
            | ActorModelAction::Recover(..) => {
                Err(missing(format!("the model has no such step: {action:?}")))
            }
        }
    }

    /// Drops the in-flight message at `index` (a loss the caller chose, e.g. replaying a
    /// counterexample).
    pub fn drop_message(&mut self, index: usize) {
        if index < self.in_flight.len() {
            let env = self.in_flight.remove(index);
            self.record(Event::fault(Fault::Lost, env.from, env.to, env.msg));
        }
    }

    /// Delivers messages until none is left: first in, first out, or in seeded random order with
    /// the reorder fault.
    pub fn settle(&mut self) -> Result<(), RunError> {
        const BOUND: usize = 10_000;
        for _ in 0..BOUND {
            if self.in_flight.is_empty() {
                return Ok(());
            }
            let ix = if self.faults.reorder {
                (self.rng.next_u32() as usize) % self.in_flight.len()
            } else {
                0
            };
            if ix != 0 {
                let env = &self.in_flight[ix];
                let event = Event::fault(Fault::Reordered, env.from, env.to, env.msg.clone());
                self.record(event);
            }
            self.deliver(ix)?;
        }
        Err(RunError::NoQuiescence(BOUND))
    }

    /// The world read back as a state of the model: every party's model state and the messages
    /// in flight. This is the abstraction of the reference state the differential test compares
    /// (chips are compared with their SE's state on every step, see [`crate::device`]).
    pub fn model_state(&self) -> JpkiState {
        observe::model_state(&self.cfg, &self.party_states(), &self.in_flight)
    }

    /// How many APDUs the emulated SEs have answered in this run.
    pub fn apdus(&self) -> usize {
        self.nodes
            .iter()
            .filter_map(|n| n.device.as_ref())
            .map(|d| d.apdus)
            .sum()
    }

    /// Every party's model state, in actor order.
    pub fn party_states(&self) -> Vec<PartyState> {
        self.nodes.iter().map(|n| n.state.clone()).collect()
    }

    /// The first applicable safety property that fails now.
    pub fn violated(&self) -> Option<&'static catalogue::PropertyDef> {
        observe::violated(&self.cfg, &self.model_state())
    }

    fn check(&self) -> Result<(), RunError> {
        if !self.check_properties {
            return Ok(());
        }
        match self.violated() {
            None => Ok(()),
            Some(p) => Err(RunError::Violated {
                step: self.seq(),
                property: p.id,
                summary: p.summary,
            }),
        }
    }
}

//! The deterministic in-process runtime: every party a [`Node`], one network, and a scheduler
//! whose every random choice — which message goes next, which is lost or duplicated — comes from
//! one seed, as do the keys, the chips and the RSA blinding ([`crate::backend::Provisioning`]).
//! The same seed gives the same run, byte for byte.
//!
//! After every step the simulation is read back as a model state
//! ([`Simulation::model_state`]) and every safety property of the catalogue that applies is
//! checked on it, so a run that breaks one stops there, naming the step.
//!
//! Where the configuration arms timers (`--faults loss`, the model's `--lossy`), a timer fires
//! only once the network is idle ([`Simulation::settle`]): nothing of any exchange is on its way,
//! which is what the model's *patient* timers assume (docs/recovery.md). A lost request is then
//! sent again, and a session that cannot finish is aborted through the CA, as the model does.
//!
//! With a [`StateDir`] ([`Simulation::with_state_dir`]) the CA's, SP-TSM's and SE-TSM's states
//! are saved to their databases after every step that changes them, before the step's messages
//! leave.
//!
//! A model counterexample that crashes a party replays here too ([`Simulation::crash`],
//! [`Simulation::recover`]): the simulation keeps, for each party that may crash, what the model
//! says it made durable (`recovery::durable_after`) with its backend's artifacts, and a recovered
//! party restarts from that (`recovery::restart`) with a fresh backend that takes the artifacts
//! back — so the flaws that lose something in a crash lose it here with real crypto as well.

use jpkisim_model::actors::{JpkiState, PartyChoice, PartyState};
use jpkisim_model::ids::Party;
use jpkisim_model::recovery::PartyTimer;
use jpkisim_model::JpkiAction;
use jpkisim_model::{Config, Topology};
use jpkisim_properties::catalogue;
use jpkisim_traces::{Event, Fault};
use stateright::actor::ActorModelAction;

use super::{observe, provision, FaultCoin, Faults, Journal, RunError, Unreplayable};
use crate::backend::{BackendSnapshot, RealCrypto};
use crate::node::{Divergence, Node};
use crate::store::StateDir;
use crate::wire::Envelope;
use jpkisim_model::recovery;

/// Every party of one run in one process, and the network between them.
pub struct Simulation {
    cfg: Config,
    topo: Topology,
    nodes: Vec<Node>,
    in_flight: Vec<Envelope>,
    coin: FaultCoin,
    faults: Faults,
    /// The recorded trace and the readable log.
    pub journal: Journal,
    check_properties: bool,
    state_dir: Option<StateDir>,
    /// Which parties are down (crashed, not yet recovered), in actor order.
    down: Vec<bool>,
    /// For each party that may crash: what it made durable, and its backend's artifacts.
    durable: Vec<Option<(PartyState, BackendSnapshot)>>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("nodes", &self.nodes)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// A fresh simulation of `cfg`, seeded by `seed`; `stream` names the run so that different
    /// scenarios under one seed draw different schedules and faults.
    pub fn new(
        cfg: Config,
        seed: u64,
        faults: Faults,
        stream: &str,
    ) -> Result<Simulation, RunError> {
        let cfg = faults.apply_to(cfg);
        let nodes = provision(cfg, seed)?;
        let durable = nodes
            .iter()
            .map(|n| recovery::crashable(n.party()).then(|| (n.state.clone(), n.crypto.snapshot())))
            .collect();
        Ok(Simulation {
            cfg,
            topo: Topology::of(&cfg),
            down: vec![false; nodes.len()],
            durable,
            nodes,
            in_flight: Vec::new(),
            coin: FaultCoin::new(seed, &format!("schedule/{stream}")),
            faults,
            journal: Journal::default(),
            check_properties: true,
            state_dir: None,
        })
    }

    /// Keeps the durable parties' states in `stores` from now on: each one's current state is
    /// saved at once (under the current event number, 0 for a fresh simulation), and after every
    /// step that changes it its new state is saved — one transaction, synced — before the
    /// messages the step sends are posted. A party therefore never answers for a state it has
    /// not made durable.
    pub fn with_state_dir(mut self, mut stores: StateDir) -> Result<Simulation, RunError> {
        let step = self.seq();
        for node in &self.nodes {
            if let Some(store) = stores.store_mut(node.party()) {
                store
                    .save(step, &node.state)
                    .map_err(|source| RunError::Store { step, source })?;
            }
        }
        self.state_dir = Some(stores);
        Ok(self)
    }

    /// The durable parties' stores, when the simulation keeps them.
    pub fn state_dir(&self) -> Option<&StateDir> {
        self.state_dir.as_ref()
    }

    /// A copy of `party`'s state before a step, when the party keeps a durable state (it may
    /// crash).
    fn durable_before(&self, party: Party) -> Option<PartyState> {
        recovery::crashable(party).then(|| self.node(party).state.clone())
    }

    /// Makes `party`'s state after event `step` durable if the step changed it: what the model
    /// saves (`recovery::durable_after`) with the backend's artifacts, and — with a state
    /// directory — the state in the party's database.
    fn persist(
        &mut self,
        party: Party,
        before: Option<PartyState>,
        step: u64,
    ) -> Result<(), RunError> {
        let Some(before) = before else {
            return Ok(());
        };
        let ix = usize::from(self.topo.id(party));
        let state = &self.nodes[ix].state;
        if *state == before {
            return Ok(());
        }
        self.durable[ix] = Some((
            recovery::durable_after(&self.cfg, &before, state).clone(),
            self.nodes[ix].crypto.snapshot(),
        ));
        if let Some(store) = self.state_dir.as_mut().and_then(|d| d.store_mut(party)) {
            store
                .save(step, state)
                .map_err(|source| RunError::Store { step, source })?;
        }
        Ok(())
    }

    /// Turns the per-step property check off (the differential test compares states instead).
    pub fn without_property_checks(mut self) -> Simulation {
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
        self.journal.seq()
    }

    fn post(&mut self, envs: Vec<Envelope>) {
        super::post(
            &mut self.journal,
            &mut self.coin,
            self.faults,
            &mut self.in_flight,
            envs,
        );
    }

    /// Runs a party's choice, if the model enables it now.
    pub fn choose(&mut self, party: Party, choice: PartyChoice) -> Result<(), RunError> {
        let enabled = self.node(party).choices();
        if !enabled.contains(&choice) {
            return Err(RunError::NotEnabled {
                step: self.seq(),
                party,
                choice,
                enabled,
            });
        }
        self.journal.chose(party, choice);
        let step = self.seq();
        let before = self.durable_before(party);
        let out = self
            .node_mut(party)
            .choose(choice)
            .map_err(|source| RunError::Diverged { step, source })?;
        self.persist(party, before, step)?;
        self.post(out);
        self.check()
    }

    /// Whether `choice` is enabled for `party` now.
    pub fn enabled(&self, party: Party, choice: PartyChoice) -> bool {
        self.node(party).choices().contains(&choice)
    }

    /// Every party's armed timers, in actor order, each party's in the model's order.
    pub fn armed_timers(&self) -> Vec<(Party, PartyTimer)> {
        self.nodes
            .iter()
            .zip(&self.down)
            .filter(|(_, down)| !**down)
            .flat_map(|(n, _)| n.armed().into_iter().map(move |t| (n.party(), t)))
            .collect()
    }

    /// Fires `party`'s `timer`, if its state arms it now: the model's timeout transition with
    /// the party's real crypto, recorded as a `timeout` event, its state saved and its messages
    /// posted like any other step's, and the safety properties checked after it. Firing it
    /// while messages are in flight is the caller's choice (an eager timer); [`Simulation::settle`]
    /// fires timers only when the network is idle.
    pub fn fire(&mut self, party: Party, timer: PartyTimer) -> Result<(), RunError> {
        self.up(party)?;
        let armed = self.node(party).armed();
        if !armed.contains(&timer) {
            return Err(RunError::NotAStep {
                step: self.seq(),
                why: Unreplayable::NotArmed {
                    party,
                    timer,
                    armed,
                },
            });
        }
        self.journal.timed_out(party, timer);
        let step = self.seq();
        let before = self.durable_before(party);
        let out = self
            .node_mut(party)
            .fire(timer)
            .map_err(|source| RunError::Diverged { step, source })?;
        self.persist(party, before, step)?;
        self.post(out);
        self.check()
    }

    /// Delivers the in-flight message at `index`.
    pub fn deliver(&mut self, index: usize) -> Result<(), RunError> {
        if index >= self.in_flight.len() {
            return Ok(());
        }
        self.up(self.in_flight[index].to)?;
        let env = self.in_flight.remove(index);
        self.journal.delivered(&env);
        let step = self.seq();
        let before = self.durable_before(env.to);
        let out = self
            .node_mut(env.to)
            .deliver(&env)
            .map_err(|source| RunError::Diverged { step, source })?;
        self.persist(env.to, before, step)?;
        self.post(out);
        self.check()
    }

    /// Takes one step of the model, as a counterexample or Explorer path names it: delivers the
    /// message (keeping a copy in flight on a duplicating network, as the model does), drops it,
    /// or takes the party's choice. An action that does not apply here is a divergence.
    pub fn apply(&mut self, action: &JpkiAction) -> Result<(), RunError> {
        let step = self.seq();
        let missing = |why| RunError::NotAStep { step, why };
        match action {
            ActorModelAction::Deliver { src, dst, msg } => {
                let (from, to) = (self.topo.party(*src), self.topo.party(*dst));
                let ix = self
                    .in_flight
                    .iter()
                    .position(|e| e.from == from && e.to == to && e.msg == *msg)
                    .ok_or_else(|| {
                        missing(Unreplayable::NotInFlight {
                            from,
                            to,
                            msg: msg.clone(),
                        })
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
                    .ok_or_else(|| {
                        missing(Unreplayable::NotInFlight {
                            from,
                            to,
                            msg: env.msg.clone(),
                        })
                    })?;
                self.drop_message(ix);
                // A loss can leave the world settled with something owed (the quiescence
                // properties), so the properties are checked after it as after any step.
                self.check()
            }
            ActorModelAction::SelectRandom { actor, random, .. } => {
                self.choose(self.topo.party(*actor), *random)
            }
            ActorModelAction::Timeout(id, timer) => self.fire(self.topo.party(*id), *timer),
            ActorModelAction::Crash(id) => self.crash(self.topo.party(*id)),
            ActorModelAction::Recover(id) => self.recover(self.topo.party(*id)),
        }
    }

    /// Whether `party` is down.
    pub fn is_down(&self, party: Party) -> bool {
        self.down[usize::from(self.topo.id(party))]
    }

    fn up(&self, party: Party) -> Result<(), RunError> {
        if self.is_down(party) {
            return Err(RunError::NotAStep {
                step: self.seq(),
                why: Unreplayable::Down { party },
            });
        }
        Ok(())
    }

    /// `party` crashes (the model's `Crash`): it takes no step, and its timers do not fire,
    /// until it recovers; messages to it stay in flight. Only a party that may crash
    /// (`recovery::crashable`) and is up can.
    pub fn crash(&mut self, party: Party) -> Result<(), RunError> {
        let step = self.seq();
        let why = if !recovery::crashable(party) {
            Some(Unreplayable::NotCrashable { party })
        } else if self.is_down(party) {
            Some(Unreplayable::Down { party })
        } else {
            None
        };
        if let Some(why) = why {
            return Err(RunError::NotAStep { step, why });
        }
        let ix = usize::from(self.topo.id(party));
        self.down[ix] = true;
        self.journal.crashed(party);
        self.check()
    }

    /// A crashed `party` recovers (the model's `Recover`): its state is what it made durable, as
    /// the design restarts it (`recovery::restart`), and its backend is a fresh one that takes
    /// back the artifacts it had made durable.
    pub fn recover(&mut self, party: Party) -> Result<(), RunError> {
        let step = self.seq();
        let ix = usize::from(self.topo.id(party));
        let Some((stored, snapshot)) = self.durable[ix].clone().filter(|_| self.down[ix]) else {
            return Err(RunError::NotAStep {
                step,
                why: Unreplayable::NotDown { party },
            });
        };
        let prov = std::sync::Arc::clone(self.nodes[ix].crypto.provisioning());
        let crypto = RealCrypto::new(party, prov).map_err(|e| RunError::Diverged {
            step,
            source: Divergence::from(e),
        })?;
        crypto.restore(&snapshot);
        let node = &mut self.nodes[ix];
        node.crypto = crypto;
        node.state = recovery::restart(&stored);
        self.down[ix] = false;
        self.journal.restarted(party);
        self.check()
    }

    /// Drops the in-flight message at `index` (a loss the caller chose, e.g. replaying a
    /// counterexample).
    pub fn drop_message(&mut self, index: usize) {
        if index < self.in_flight.len() {
            let env = self.in_flight.remove(index);
            self.journal
                .record(Event::fault(Fault::Lost, env.from, env.to, env.msg));
        }
    }

    /// Runs the world until nothing more happens without a choice: delivers messages until none
    /// is left (first in, first out, or in seeded random order with the reorder fault), then
    /// fires the first armed timer (actor order, then timer order) and delivers again, until the
    /// network is idle and no timer is armed. Timers firing only on an idle network are the
    /// model's patient timers. Deliveries and timeouts together are bounded: a world that keeps
    /// going ends with [`RunError::NoQuiescence`].
    pub fn settle(&mut self) -> Result<(), RunError> {
        const BOUND: usize = 10_000;
        for _ in 0..BOUND {
            // Messages to a party that is down wait for it in flight.
            let deliverable: Vec<usize> = (0..self.in_flight.len())
                .filter(|&i| !self.is_down(self.in_flight[i].to))
                .collect();
            if deliverable.is_empty() {
                match self.armed_timers().first() {
                    None => return Ok(()),
                    Some(&(party, timer)) => {
                        self.fire(party, timer)?;
                        continue;
                    }
                }
            }
            let ix = super::next_delivery(
                &mut self.journal,
                &mut self.coin,
                self.faults,
                &self.in_flight,
                &deliverable,
            );
            self.deliver(ix)?;
        }
        Err(RunError::NoQuiescence(BOUND))
    }

    /// The simulation read back as a state of the model: every party's model state and the messages
    /// in flight. This is the abstraction of the reference state the differential test compares
    /// (chips are compared with their SE's state on every step, see [`crate::device`]).
    pub fn model_state(&self) -> JpkiState {
        observe::model_state_with_crashed(
            &self.cfg,
            &self.party_states(),
            &self.in_flight,
            &self.down,
        )
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

//! The Stateright adapter: every party as a Stateright [`Actor`], calling the pure transition
//! functions of its module with symbolic crypto, and the [`ActorModel`] built from a [`Config`].
//!
//! Nothing protocol-specific is decided here. Environment choices (the applicant's, the CA's CRL
//! publication) are offered to the checker as Stateright random choices, recomputed after every
//! step of the actor that owns them; budgets summed over all persons are enforced by the model's
//! boundary.

use crate::applicant::{self, ApplicantState, Choice};
use crate::ca::{self, CaChoice, CaState};
use crate::config::{Config, ConfigError, Ordering, Timeouts};
use crate::crypto::{Crypto, Symbolic};
use crate::ids::{Party, PersonId, SeId};
use crate::intruder::{self, IntruderChoice, IntruderState};
use crate::msg::Msg;
use crate::mvno;
use crate::recovery::{self, PartyTimer};
use crate::relying_party::{self, RpState};
use crate::se::{self, SeEffect, SeState};
use crate::se_tsm::{self, SeTsmState};
use crate::sp_tsm::{self, SpTsmState};
use crate::transition::{Ctx, Outbox, Step};
use serde::{Deserialize, Serialize};
use stateright::actor::{
    model_timeout, Actor, ActorModel, ActorModelAction, ActorModelState, Id, LossyNetwork, Network,
    Out,
};
use std::borrow::Cow;

/// The key under which an actor offers its environment choices.
const CHOICES: &str = "choice";

/// Fixed actor indices of the singleton parties; applicants and SEs follow.
const SINGLETONS: [Party; 5] = [
    Party::Ca,
    Party::SpTsm,
    Party::SeTsm,
    Party::RelyingParty,
    Party::Mvno,
];

/// Maps protocol parties to Stateright actor ids and back. The intruder, when the
/// configuration has one, comes last, so that every other party keeps its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Topology {
    persons: u8,
    ses: u8,
    intruder: bool,
}

impl Topology {
    /// The topology of a configuration.
    pub fn of(cfg: &Config) -> Topology {
        Topology::new(cfg.persons, cfg.persons * cfg.ses_per_person).with_intruder(cfg.adversary())
    }

    /// The topology of `persons` applicants and `ses` SEs in all, without an intruder.
    pub fn new(persons: u8, ses: u8) -> Topology {
        Topology {
            persons,
            ses,
            intruder: false,
        }
    }

    /// The same topology with (or without) the intruder as its last party.
    pub fn with_intruder(self, intruder: bool) -> Topology {
        Topology { intruder, ..self }
    }

    /// Every party, in actor-index order.
    pub fn parties(&self) -> Vec<Party> {
        let mut v = SINGLETONS.to_vec();
        v.extend((0..self.persons).map(|p| Party::Applicant(PersonId(p))));
        v.extend((0..self.ses).map(|s| Party::Se(SeId(s))));
        if self.intruder {
            v.push(Party::Intruder);
        }
        v
    }

    /// The actor id of a party.
    pub fn id(&self, party: Party) -> Id {
        let base = SINGLETONS.len();
        let ix = match party {
            Party::Ca => 0,
            Party::SpTsm => 1,
            Party::SeTsm => 2,
            Party::RelyingParty => 3,
            Party::Mvno => 4,
            Party::Applicant(p) => base + usize::from(p.0),
            Party::Se(s) => base + usize::from(self.persons) + usize::from(s.0),
            Party::Intruder => base + usize::from(self.persons) + usize::from(self.ses),
        };
        Id::from(ix)
    }

    /// The party of an actor id.
    pub fn party(&self, id: Id) -> Party {
        let ix = usize::from(id);
        let base = SINGLETONS.len();
        let persons = usize::from(self.persons);
        if ix < base {
            SINGLETONS[ix]
        } else if ix < base + persons {
            Party::Applicant(PersonId((ix - base) as u8))
        } else if ix < base + persons + usize::from(self.ses) {
            Party::Se(SeId((ix - base - persons) as u8))
        } else {
            Party::Intruder
        }
    }
}

/// One party's state, whatever the party.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PartyState {
    /// The CA.
    Ca(CaState),
    /// The SP-TSM.
    SpTsm(SpTsmState),
    /// The SE issuer's TSM.
    SeTsm(SeTsmState),
    /// The relying party.
    RelyingParty(RpState),
    /// The MVNO (stateless).
    Mvno,
    /// An applicant.
    Applicant(ApplicantState),
    /// A secure element.
    Se(SeState),
    /// The intruder.
    Intruder(IntruderState),
}

/// A choice offered to the checker by an actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PartyChoice {
    /// An applicant's (or their environment's) choice.
    Applicant(Choice),
    /// The CA's choice.
    Ca(CaChoice),
    /// The intruder's choice.
    Intruder(IntruderChoice),
}

/// A party as a Stateright actor.
#[derive(Clone, Debug)]
pub struct PartyActor {
    /// Which party.
    pub party: Party,
    /// The model instance.
    pub cfg: Config,
}

/// The model as Stateright sees it.
pub type JpkiModel = ActorModel<PartyActor, Config, ()>;
/// A global state of the model.
pub type JpkiState = ActorModelState<PartyActor, ()>;
/// What a party's step asks of its hardware: the effect the reference runtime carries out
/// (the model checker ignores it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The SE's card must carry out this step.
    Se(SeEffect),
}

/// A step of a party, as the adapter and the reference runtime see it.
pub type PartyStep = Step<PartyState, Effect>;

/// A step of the model: a delivery, a loss, a party's own choice, a timer firing, a crash or a
/// restart.
pub type JpkiAction = ActorModelAction<Msg, PartyTimer, PartyChoice>;

impl PartyActor {
    fn ctx<'a, C: Crypto>(&'a self, crypto: &'a C) -> Ctx<'a, C> {
        Ctx {
            cfg: &self.cfg,
            crypto,
        }
    }

    /// The initial state of this party, with symbolic crypto.
    pub fn initial_state(&self) -> PartyState {
        self.initial_state_with(&Symbolic)
    }

    /// The initial state of this party with a given crypto backend: the reference runtime's way
    /// of running exactly the model's transitions with real cryptography.
    pub fn initial_state_with<C: Crypto>(&self, crypto: &C) -> PartyState {
        let ctx = self.ctx(crypto);
        match self.party {
            Party::Ca => PartyState::Ca(ca::init(&ctx)),
            Party::SpTsm => PartyState::SpTsm(sp_tsm::init(&ctx)),
            Party::SeTsm => PartyState::SeTsm(se_tsm::init(&ctx)),
            Party::RelyingParty => PartyState::RelyingParty(RpState::default()),
            Party::Mvno => PartyState::Mvno,
            Party::Applicant(p) => {
                // The card's certificate as the CA made it (the term only: the card carries it).
                let card = ca::init(&self.ctx(&Symbolic)).card_of(p).map(|r| r.cert);
                PartyState::Applicant(applicant::init(&ctx, p, card))
            }
            Party::Se(s) => PartyState::Se(se::init(s)),
            Party::Intruder => PartyState::Intruder(intruder::init()),
        }
    }

    /// The choices this party offers in `state`.
    pub fn choices(&self, state: &PartyState) -> Vec<PartyChoice> {
        let ctx = self.ctx(&Symbolic);
        match state {
            PartyState::Applicant(s) => applicant::choices(&ctx, s)
                .into_iter()
                .map(PartyChoice::Applicant)
                .collect(),
            PartyState::Ca(s) => ca::choices(&ctx, s)
                .into_iter()
                .map(PartyChoice::Ca)
                .collect(),
            PartyState::Intruder(s) => intruder::choices(&self.cfg, s)
                .into_iter()
                .map(PartyChoice::Intruder)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The party's transition on a delivered message, with symbolic crypto.
    pub fn deliver(&self, state: &PartyState, from: Party, msg: &Msg) -> PartyStep {
        self.deliver_with(&Symbolic, state, from, msg)
    }

    /// The party's transition on a delivered message with a given crypto backend.
    pub fn deliver_with<C: Crypto>(
        &self,
        crypto: &C,
        state: &PartyState,
        from: Party,
        msg: &Msg,
    ) -> PartyStep {
        let ctx = self.ctx(crypto);
        if let PartyState::Intruder(s) = state {
            return intruder::on_msg(&ctx, s, from, msg)
                .map(PartyState::Intruder)
                .effectless();
        }
        // What reaches a party through the intruder counts only where the link lets the claimed
        // sender stand (`intruder::unwrap`); the party's own transition never sees the wrapper.
        let Some((from, msg)) = intruder::unwrap(&self.cfg, self.party, from, msg) else {
            return unchanged(state);
        };
        match state {
            PartyState::Intruder(_) => unchanged(state),
            PartyState::Ca(s) => ca::on_msg(&ctx, s, from, msg)
                .map(PartyState::Ca)
                .effectless(),
            PartyState::SpTsm(s) => sp_tsm::on_msg(&ctx, s, from, msg)
                .map(PartyState::SpTsm)
                .effectless(),
            PartyState::SeTsm(s) => se_tsm::on_msg(&ctx, s, from, msg)
                .map(PartyState::SeTsm)
                .effectless(),
            PartyState::RelyingParty(s) => relying_party::on_msg(&ctx, s, from, msg)
                .map(PartyState::RelyingParty)
                .effectless(),
            PartyState::Applicant(s) => applicant::on_msg(&ctx, s, from, msg)
                .map(PartyState::Applicant)
                .effectless(),
            PartyState::Se(s) => se::on_msg(&ctx, s, from, msg)
                .map(PartyState::Se)
                .map_effect(Effect::Se),
            PartyState::Mvno => mvno::on_msg(&ctx, &(), from, msg)
                .map(|()| PartyState::Mvno)
                .effectless(),
        }
    }

    /// The party's transition on one of its choices, with symbolic crypto.
    pub fn choose(&self, state: &PartyState, choice: PartyChoice) -> PartyStep {
        self.choose_with(&Symbolic, state, choice)
    }

    /// The party's transition on one of its choices with a given crypto backend.
    pub fn choose_with<C: Crypto>(
        &self,
        crypto: &C,
        state: &PartyState,
        choice: PartyChoice,
    ) -> PartyStep {
        let ctx = self.ctx(crypto);
        match (state, choice) {
            (PartyState::Applicant(s), PartyChoice::Applicant(c)) => {
                applicant::on_choice(&ctx, s, c)
                    .map(PartyState::Applicant)
                    .effectless()
            }
            (PartyState::Ca(s), PartyChoice::Ca(c)) => {
                ca::on_choice(&ctx, s, c).map(PartyState::Ca).effectless()
            }
            (PartyState::Intruder(s), PartyChoice::Intruder(c)) => intruder::on_choice(&ctx, s, c)
                .map(PartyState::Intruder)
                .effectless(),
            _ => unchanged(state),
        }
    }

    /// The party's transition when one of its timers fires, with symbolic crypto.
    pub fn timeout(&self, state: &PartyState, timer: PartyTimer) -> PartyStep {
        self.timeout_with(&Symbolic, state, timer)
    }

    /// The party's transition when one of its timers fires, with a given crypto backend.
    pub fn timeout_with<C: Crypto>(
        &self,
        crypto: &C,
        state: &PartyState,
        timer: PartyTimer,
    ) -> PartyStep {
        let ctx = self.ctx(crypto);
        match (state, timer) {
            (PartyState::SpTsm(s), PartyTimer::Session(person)) => {
                sp_tsm::on_timeout(&ctx, s, person)
                    .map(PartyState::SpTsm)
                    .effectless()
            }
            (PartyState::SeTsm(s), PartyTimer::Retirement(se)) => se_tsm::on_timeout(&ctx, s, se)
                .map(PartyState::SeTsm)
                .effectless(),
            _ => unchanged(state),
        }
    }

    /// Whether this party writes its state to a database that survives its crashes.
    fn persists(&self) -> bool {
        self.cfg.crashes > 0 && recovery::crashable(self.party)
    }

    /// Where each message a step sends really goes (`intruder::route`): the addressee, or the
    /// intruder when it controls the link. The adapter and the reference runtime both send
    /// through this.
    pub fn outgoing(&self, out: Outbox) -> Vec<(Party, Msg)> {
        out.0
            .into_iter()
            .map(|(to, msg)| intruder::route(&self.cfg, self.party, to, msg))
            .collect()
    }

    /// Applies a step to Stateright's copy-on-write state and output buffer: its messages, the
    /// timers its new state arms (`fired`: the timer this step answers, which Stateright has
    /// disarmed), what it writes to its database, and the choices it offers next.
    fn apply(
        &self,
        state: &mut Cow<'_, PartyState>,
        step: PartyStep,
        o: &mut Out<Self>,
        fired: Option<PartyTimer>,
    ) {
        let topo = Topology::of(&self.cfg);
        let changed = step.state != **state;
        for (to, msg) in self.outgoing(step.out) {
            o.send(topo.id(to), msg);
        }
        if changed || fired.is_some() {
            let before = recovery::armed(&self.cfg, state);
            let after = recovery::armed(&self.cfg, &step.state);
            for t in &after {
                if !before.contains(t) || fired == Some(*t) {
                    o.set_timer(*t, model_timeout());
                }
            }
            for t in before {
                if !after.contains(&t) && fired != Some(t) {
                    o.cancel_timer(t);
                }
            }
        }
        if changed {
            if self.persists() {
                o.save(recovery::durable_after(&self.cfg, state, &step.state).clone());
            }
            self.offer(&step.state, o);
            *state.to_mut() = step.state;
        }
    }

    fn offer(&self, state: &PartyState, o: &mut Out<Self>) {
        let choices = self.choices(state);
        if choices.is_empty() {
            o.remove_random(CHOICES);
        } else {
            o.choose_random(CHOICES, choices);
        }
    }
}

impl Actor for PartyActor {
    type Msg = Msg;
    type State = PartyState;
    type Timer = PartyTimer;
    type Random = PartyChoice;
    type Storage = PartyState;

    /// The start, and the restart after a crash from what the party's database holds.
    fn on_start(&self, _id: Id, storage: &Option<PartyState>, o: &mut Out<Self>) -> PartyState {
        let state = match storage {
            Some(stored) => recovery::restart(stored),
            None => {
                let state = self.initial_state();
                if self.persists() {
                    o.save(state.clone());
                }
                state
            }
        };
        for t in recovery::armed(&self.cfg, &state) {
            o.set_timer(t, model_timeout());
        }
        self.offer(&state, o);
        state
    }

    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<'_, PartyState>,
        timer: &PartyTimer,
        o: &mut Out<Self>,
    ) {
        let step = self.timeout(state, *timer);
        self.apply(state, step, o, Some(*timer));
    }

    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<'_, PartyState>,
        src: Id,
        msg: Msg,
        o: &mut Out<Self>,
    ) {
        let from = Topology::of(&self.cfg).party(src);
        let step = self.deliver(state, from, &msg);
        self.apply(state, step, o, None);
    }

    fn on_random(
        &self,
        _id: Id,
        state: &mut Cow<'_, PartyState>,
        random: &PartyChoice,
        o: &mut Out<Self>,
    ) {
        let step = self.choose(state, *random);
        let unchanged = step.state == **state && step.out.is_empty();
        self.apply(state, step, o, None);
        if unchanged {
            // The choice was consumed by the checker; offer the same ones again.
            self.offer(state, o);
        }
    }

    fn name(&self) -> String {
        self.party.to_string()
    }
}

/// The step of a party that does not take an input: nothing changes.
fn unchanged(state: &PartyState) -> PartyStep {
    Step {
        state: state.clone(),
        out: Outbox::default(),
        effect: None,
    }
}

/// Builds the Stateright model of a configuration (without properties; see the properties crate).
pub fn build(cfg: Config) -> Result<JpkiModel, ConfigError> {
    cfg.validate()?;
    let net = &cfg.network;
    let network = match (net.ordering, net.duplicating) {
        (Ordering::Ordered, false) => Network::new_ordered([]),
        (Ordering::Unordered, false) => Network::new_unordered_nonduplicating([]),
        (Ordering::Unordered, true) => Network::new_unordered_duplicating([]),
        (Ordering::Ordered, true) => {
            return Err(ConfigError(
                "an ordered network cannot also duplicate messages (Stateright has no such network); choose one".into(),
            ))
        }
    };
    let topo = Topology::of(&cfg);
    let actors: Vec<PartyActor> = topo
        .parties()
        .into_iter()
        .map(|party| PartyActor { party, cfg })
        .collect();
    Ok(ActorModel::new(cfg, ())
        .actors(actors)
        .max_crashes(usize::from(cfg.crashes))
        .init_network(network)
        .lossy_network(if net.lossy {
            LossyNetwork::Yes
        } else {
            LossyNetwork::No
        })
        .within_boundary(within_budgets))
}

/// The budgets summed over all persons, and a cap on what a flawed CA can issue: a CA that is not
/// idempotent issues again for every replay on a duplicating network, without end. The cap leaves
/// room for one certificate more than a correct CA could ever issue, so the flaw still shows.
///
/// Where parties crash, only those that restart from a database do ([`recovery::crashable`]);
/// patient timers fire only once what they wait for is lost ([`recovery::fired_early`]); where
/// eager timers re-send requests over a network that does not duplicate, at most two copies of
/// one message are in flight — a request and one retry of it; the race of more copies is the
/// duplicating network's (docs/recovery.md).
fn within_budgets(cfg: &Config, state: &JpkiState) -> bool {
    if cfg.crashes > 0 {
        let topo = Topology::of(cfg);
        let bad_crash = state
            .crashed
            .iter()
            .enumerate()
            .any(|(i, &down)| down && !recovery::crashable(topo.party(Id::from(i))));
        if bad_crash {
            return false;
        }
    }
    if boundary_reads_network(cfg) {
        let eager = cfg.timeouts == Timeouts::Eager;
        if (eager && more_than_two_copies(&state.network)) || recovery::fired_early(cfg, state) {
            return false;
        }
    }
    let b = &cfg.budgets;
    let most_certs = usize::from(cfg.persons) * (1 + usize::from(b.card_events))
        + usize::from(b.applications)
        + 1;
    let mut total = applicant::Used::default();
    for s in state.actor_states.iter() {
        if let PartyState::Ca(ca) = &**s {
            if ca.certs.len() > most_certs || ca.epoch.0 == u8::MAX {
                return false;
            }
        }
        if let PartyState::Applicant(a) = &**s {
            let u = a.used;
            total.applications += u.applications;
            total.thefts += u.thefts;
            total.pin_entries += u.pin_entries;
            total.card_events += u.card_events;
            total.sim_events += u.sim_events;
            total.device_events += u.device_events;
        }
    }
    total.applications <= b.applications
        && total.thefts <= b.thefts
        && total.pin_entries <= b.pin_entries
        && total.card_events <= b.card_events
        && total.sim_events <= b.sim_events
        && total.device_events <= b.device_events
        && total.events() <= b.events
}

/// Whether the model's boundary reads the network, not only the actors' states: where timers are
/// armed on a network that does not duplicate (patient timers, the copies an eager one makes).
/// An explorer that judges the boundary from the actors alone must build those successors.
pub fn boundary_reads_network(cfg: &Config) -> bool {
    cfg.timers_armed() && !cfg.network.duplicating
}

/// Whether some message has more than two copies in flight.
fn more_than_two_copies(net: &Network<Msg>) -> bool {
    let mut all: Vec<(Id, Id, &Msg)> = net.iter_all().map(|e| (e.src, e.dst, e.msg)).collect();
    all.sort_unstable();
    all.windows(3).any(|w| w[0] == w[2])
}

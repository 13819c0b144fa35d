//! The scenarios `jpkisim run` plays: the lifecycle stories of the studies, each a script of the
//! applicant's (and their world's) choices, with what must be true after each.
//!
//! A script step is a model choice, so a scenario can only do what the model allows; after each
//! choice the network settles (every message delivered, or lost under the loss fault). With
//! faults, a step whose outcome did not come about is retried where the protocol has a retry
//! (re-sending an application, logging in again); a story that cannot go on because a message
//! was lost stops there and says so — what must never fail are the safety properties, which the
//! runtime checks after every step.

use jpkisim_model::actors::PartyChoice;
use jpkisim_model::applicant::Choice;
use jpkisim_model::config::{Budgets, Carrier, Medium, Proofing, Thief};
use jpkisim_model::ids::{Party, PersonId, SeId};
use jpkisim_model::intruder::{Forgery, IntruderChoice, IntruderState};
use jpkisim_model::msg::{CardEventKind, CertStatus, Msg};
use jpkisim_model::se::Lifecycle;
use jpkisim_model::{Config, World};

use jpkisim_model::actors::JpkiState;

use crate::runtime::inproc::Simulation;
use crate::runtime::{Faults, RunError};
use crate::store::StateDir;

/// What a scenario needs from a runtime: take a choice, let the network settle, read the world
/// back as a model state. The in-process [`Simulation`] and the UDP director implement it.
pub trait Driver {
    /// Runs `party`'s `choice` (an error if the model does not enable it now).
    fn choose(&mut self, party: Party, choice: PartyChoice) -> Result<(), RunError>;
    /// Whether the model enables `choice` for `party` now.
    fn enabled(&self, party: Party, choice: PartyChoice) -> bool;
    /// Waits until no message is in flight.
    fn settle(&mut self) -> Result<(), RunError>;
    /// The world as a model state.
    fn model_state(&self) -> JpkiState;
    /// Adds a line to the readable log.
    fn note(&mut self, line: String);
    /// The configuration the world runs.
    fn config(&self) -> Config;
}

impl Driver for Simulation {
    fn choose(&mut self, party: Party, choice: PartyChoice) -> Result<(), RunError> {
        Simulation::choose(self, party, choice)
    }
    fn enabled(&self, party: Party, choice: PartyChoice) -> bool {
        Simulation::enabled(self, party, choice)
    }
    fn settle(&mut self) -> Result<(), RunError> {
        Simulation::settle(self)
    }
    fn model_state(&self) -> JpkiState {
        Simulation::model_state(self)
    }
    fn note(&mut self, line: String) {
        self.journal.log.push(line);
    }
    fn config(&self) -> Config {
        *Simulation::config(self)
    }
}

/// An outcome a step must bring about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// The CA holds a phone certificate for `se` with this status.
    PhoneCert(SeId, CertStatus),
    /// The SE's applet is personalized (key and certificate in place).
    Personalized(SeId),
    /// The SE's applet is gone (wiped on learning of revocation).
    Wiped(SeId),
    /// The SE's auth PIN is blocked.
    PinBlocked(SeId),
    /// The relying party accepted this many logins in all.
    Accepted(usize),
    /// The relying party rejected this many logins in all.
    Rejected(usize),
    /// The relying party accepted this many logins a thief started with a stolen phone.
    ThiefAccepted(usize),
    /// The relying party rejected this many logins a thief started with a stolen phone.
    ThiefRejected(usize),
}

impl Goal {
    /// Whether the goal holds in a model state.
    pub fn holds(self, w: &World<'_>) -> bool {
        match self {
            Goal::PhoneCert(se, status) => {
                w.ca.certs
                    .iter()
                    .rev()
                    .find(|r| r.se() == Some(se))
                    .is_some_and(|r| r.status() == status)
            }
            Goal::Personalized(se) => w.se(se).is_some_and(|s| s.usable()),
            Goal::Wiped(se) => w
                .se(se)
                .is_some_and(|s| s.applet.is_some_and(|a| a.life == Lifecycle::Deleted)),
            Goal::PinBlocked(se) => w.se(se).is_some_and(|s| s.pin_tries_left == 0),
            Goal::Accepted(n) => w.rp.accepted.len() == n,
            Goal::Rejected(n) => w.rp.rejected.len() == n,
            Goal::ThiefAccepted(n) => {
                w.rp.accepted
                    .iter()
                    .filter(|a| by_thief(w, a.login))
                    .count()
                    == n
            }
            Goal::ThiefRejected(n) => {
                w.rp.rejected
                    .iter()
                    .filter(|r| by_thief(w, r.login))
                    .count()
                    == n
            }
        }
    }
}

/// Whether the person's record says a thief started `login`.
fn by_thief(w: &World<'_>, login: jpkisim_model::ids::LoginId) -> bool {
    w.applicant(login.person)
        .is_some_and(|a| a.logins.iter().any(|l| l.login == login && l.by_thief))
}

impl std::fmt::Display for Goal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Goal::PhoneCert(se, st) => write!(f, "the phone certificate for {se} is {st:?}"),
            Goal::Personalized(se) => write!(f, "{se} holds a personalized JPKI applet"),
            Goal::Wiped(se) => write!(f, "{se} wiped its applet"),
            Goal::PinBlocked(se) => write!(f, "{se}'s PIN is blocked"),
            Goal::Accepted(n) => write!(f, "the relying party accepted {n} login(s)"),
            Goal::Rejected(n) => write!(f, "the relying party rejected {n} login(s)"),
            Goal::ThiefAccepted(n) => {
                write!(f, "the relying party accepted {n} login(s) from the thief")
            }
            Goal::ThiefRejected(n) => {
                write!(f, "the relying party rejected {n} login(s) from the thief")
            }
        }
    }
}

/// An intruder's move in a script: a named rule that picks one of the choices the model's
/// intruder has now (which message to replay, which forgery to send). The pick depends on what
/// the intruder saw, so it is made when the step is played; the model decides what is enabled.
#[derive(Clone, Copy, Debug)]
pub struct IntruderMove {
    /// What the move does, for the log.
    pub label: &'static str,
    /// The choice among those the intruder has in this state, if any fits.
    pub pick: fn(&Config, &IntruderState) -> Option<IntruderChoice>,
}

/// Who acts in a script step.
#[derive(Clone, Copy, Debug)]
pub enum Act {
    /// Person 0 (or their world: a thief, a lost card) takes a choice.
    Applicant(Choice),
    /// The network intruder takes a choice the model offers it.
    Intruder(IntruderMove),
}

/// One scripted step: a choice of person 0 or of the intruder, what must hold once the network
/// settles, and how to retry when a fault got in the way.
#[derive(Clone, Debug)]
pub struct ScriptStep {
    /// The choice.
    pub act: Act,
    /// What must hold afterwards.
    pub goals: Vec<Goal>,
    /// The choice that retries it, if the protocol has one.
    pub retry: Option<Choice>,
}

/// A named story.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name for `--scenario`.
    pub name: &'static str,
    /// One line: what it shows.
    pub summary: &'static str,
    /// The configuration it runs in.
    pub config: Config,
    /// The script.
    pub steps: Vec<ScriptStep>,
}

fn step(choice: Choice, goals: &[Goal], retry: Option<Choice>) -> ScriptStep {
    ScriptStep {
        act: Act::Applicant(choice),
        goals: goals.to_vec(),
        retry,
    }
}

fn intrude(
    label: &'static str,
    pick: fn(&Config, &IntruderState) -> Option<IntruderChoice>,
    goals: &[Goal],
) -> ScriptStep {
    ScriptStep {
        act: Act::Intruder(IntruderMove { label, pick }),
        goals: goals.to_vec(),
        retry: None,
    }
}

/// The intruder's replay of the last message it saw that `is`, to its own addressee under its
/// own sender: what a Dolev–Yao attacker on the open internet links does first.
fn replay_last(
    cfg: &Config,
    s: &IntruderState,
    is: fn(&Msg) -> bool,
    to: Party,
    claimed: Party,
) -> Option<IntruderChoice> {
    let known = s.known.iter().rposition(is)?;
    let c = IntruderChoice::Replay {
        known: u8::try_from(known).ok()?,
        to,
        claimed,
    };
    jpkisim_model::intruder::choices(cfg, s)
        .contains(&c)
        .then_some(c)
}

/// The intruder's first enabled forgery that `is`.
fn forge_first(
    cfg: &Config,
    s: &IntruderState,
    is: fn(&Forgery) -> bool,
) -> Option<IntruderChoice> {
    jpkisim_model::intruder::choices(cfg, s)
        .into_iter()
        .find(|c| matches!(c, IntruderChoice::Forge(f) if is(f)))
}

const SE0: SeId = SeId(0);
const SE1: SeId = SeId(1);

/// An application. Its retry is a fresh application: once the network is idle the SP-TSM's
/// timers have either finished the session or aborted it through the CA, which refuses that
/// application number for good, so sending the same application again (`Reapply`) would be
/// ignored; a new one is what a person whose phone reported a failure does. It also covers an
/// application lost on its way to the SP-TSM.
fn apply(se: SeId) -> ScriptStep {
    step(
        Choice::Apply { se },
        &[
            Goal::PhoneCert(se, CertStatus::Valid),
            Goal::Personalized(se),
        ],
        Some(Choice::Apply { se }),
    )
}

fn thief_login(goals: &[Goal]) -> ScriptStep {
    let c = Choice::ThiefLogin { se: SE0 };
    step(c, goals, Some(c))
}

fn login(se: SeId, pin_correct: bool, goal: Goal) -> ScriptStep {
    let c = Choice::Login { se, pin_correct };
    step(c, &[goal], Some(c))
}

/// The configuration scenarios run in: one person with two SEs, and budgets wide enough for the
/// longest story (retries included).
fn base(medium: Medium, carrier: Carrier) -> Config {
    Config {
        persons: 1,
        medium,
        carrier,
        budgets: Budgets {
            applications: 6,
            thefts: 1,
            pin_entries: 10,
            card_events: 1,
            sim_events: 1,
            device_events: 2,
            events: 30,
            intrusions: 1,
        },
        ..Config::default()
    }
}

/// Every scenario, in the order `--scenario all` runs them.
pub fn all() -> Vec<Scenario> {
    let uicc = base(Medium::Uicc, Carrier::Mno);
    vec![
        Scenario {
            name: "issuance-mno",
            summary: "a SIM subscriber of an MNO gets a phone certificate and logs in",
            config: uicc,
            steps: vec![apply(SE0), login(SE0, true, Goal::Accepted(1))],
        },
        Scenario {
            name: "issuance-mvno",
            summary: "an MVNO subscriber, served through the host MNO's TSM, gets one and logs in",
            config: base(Medium::Uicc, Carrier::Mvno),
            steps: vec![apply(SE0), login(SE0, true, Goal::Accepted(1))],
        },
        Scenario {
            name: "issuance-gpse",
            summary: "a phone's GP secure element, managed by its issuer's TSM (the 2023 design)",
            config: base(Medium::GpSe, Carrier::Mno),
            steps: vec![apply(SE0), login(SE0, true, Goal::Accepted(1))],
        },
        Scenario {
            name: "issuance-mail",
            summary: "identity proved with an access code sent by restricted-delivery mail instead of the card's signature",
            config: Config {
                proofing: Proofing::Mail,
                ..base(Medium::GpSe, Carrier::Mno)
            },
            steps: vec![apply(SE0), login(SE0, true, Goal::Accepted(1))],
        },
        Scenario {
            name: "device-change",
            summary: "moving to a new phone: applying there revokes the old phone's certificate",
            config: base(Medium::GpSe, Carrier::Mno),
            steps: vec![
                apply(SE0),
                step(
                    Choice::Apply { se: SE1 },
                    &[
                        Goal::PhoneCert(SE1, CertStatus::Valid),
                        Goal::Personalized(SE1),
                        Goal::PhoneCert(SE0, CertStatus::Revoked),
                    ],
                    Some(Choice::Apply { se: SE1 }),
                ),
                login(SE1, true, Goal::Accepted(1)),
                login(SE0, true, Goal::Rejected(1)),
            ],
        },
        Scenario {
            name: "loss-suspend-unsuspend",
            summary: "a lost phone is suspended, found again, and unsuspended",
            config: uicc,
            steps: vec![
                apply(SE0),
                step(Choice::Steal { se: SE0 }, &[], None),
                step(
                    Choice::ReportLoss,
                    &[Goal::PhoneCert(SE0, CertStatus::Suspended)],
                    None,
                ),
                step(Choice::PhoneFound { se: SE0 }, &[], None),
                login(SE0, true, Goal::Rejected(1)),
                step(
                    Choice::Unsuspend,
                    &[Goal::PhoneCert(SE0, CertStatus::Valid)],
                    None,
                ),
                login(SE0, true, Goal::Accepted(1)),
            ],
        },
        Scenario {
            name: "card-revoked-cascade",
            summary: "the My Number card is reported lost: its revocation revokes the phone's, and the phone wipes itself",
            config: uicc,
            steps: vec![
                apply(SE0),
                step(
                    Choice::Card(CardEventKind::Lost),
                    &[Goal::PhoneCert(SE0, CertStatus::Revoked)],
                    None,
                ),
                login(SE0, true, Goal::Rejected(1)),
                step(Choice::Boot { se: SE0 }, &[Goal::Wiped(SE0)], None),
            ],
        },
        Scenario {
            name: "stolen-phone",
            summary: "a thief guesses the PIN until the applet blocks it; the owner reports the loss",
            config: uicc,
            steps: vec![
                apply(SE0),
                step(Choice::Steal { se: SE0 }, &[], None),
                step(Choice::ThiefGuessesPin { se: SE0 }, &[], None),
                step(Choice::ThiefGuessesPin { se: SE0 }, &[], None),
                // A guess lost on its way to the SE is no guess: the thief guesses again.
                step(
                    Choice::ThiefGuessesPin { se: SE0 },
                    &[Goal::PinBlocked(SE0)],
                    Some(Choice::ThiefGuessesPin { se: SE0 }),
                ),
                step(
                    Choice::ThiefGuessesPin { se: SE0 },
                    &[Goal::PinBlocked(SE0)],
                    Some(Choice::ThiefGuessesPin { se: SE0 }),
                ),
                step(
                    Choice::ReportLoss,
                    &[Goal::PhoneCert(SE0, CertStatus::Suspended)],
                    None,
                ),
            ],
        },
        Scenario {
            name: "revoke-from-phone",
            summary: "the owner revokes the certificate from the phone before giving it away",
            config: uicc,
            steps: vec![
                apply(SE0),
                login(SE0, true, Goal::Accepted(1)),
                step(
                    Choice::RevokeFromPhone { se: SE0 },
                    &[Goal::PhoneCert(SE0, CertStatus::Revoked)],
                    None,
                ),
                login(SE0, true, Goal::Rejected(1)),
            ],
        },
        Scenario {
            name: "stolen-phone-known-pin",
            summary: "a thief who saw the PIN typed logs in with the stolen phone and is accepted until the owner reports the loss; then fresh status evidence refuses them",
            config: Config {
                thief: Thief::KnowsPin,
                ..uicc
            },
            steps: vec![
                apply(SE0),
                step(Choice::Steal { se: SE0 }, &[], None),
                // The window the protocol cannot close (`thief_accepted_before_report`).
                thief_login(&[Goal::ThiefAccepted(1)]),
                step(
                    Choice::ReportLoss,
                    &[Goal::PhoneCert(SE0, CertStatus::Suspended)],
                    None,
                ),
                // Closed by the report (`stolen_se_unusable_after_report`).
                thief_login(&[Goal::ThiefAccepted(1), Goal::ThiefRejected(1)]),
                thief_login(&[Goal::ThiefAccepted(1), Goal::ThiefRejected(2)]),
            ],
        },
        Scenario {
            name: "intruder-replay",
            summary: "a network intruder replays what it saw and forges a revocation with its own key; every receiver refuses, and issuance and login still work",
            config: Config {
                intruder: true,
                budgets: Budgets {
                    intrusions: 4,
                    ..uicc.budgets
                },
                ..uicc
            },
            steps: vec![
                apply(SE0),
                login(SE0, true, Goal::Accepted(1)),
                intrude(
                    "replay the phone's login response to the relying party",
                    |cfg, s| {
                        replay_last(
                            cfg,
                            s,
                            |m| matches!(m, Msg::LoginResponse { .. }),
                            Party::RelyingParty,
                            Party::Se(SE0),
                        )
                    },
                    &[Goal::Accepted(1), Goal::Rejected(0)],
                ),
                intrude(
                    "replay the CA's status answer to the relying party",
                    |cfg, s| {
                        replay_last(
                            cfg,
                            s,
                            |m| matches!(m, Msg::StatusResponse { .. }),
                            Party::RelyingParty,
                            Party::Ca,
                        )
                    },
                    &[Goal::Accepted(1), Goal::Rejected(0)],
                ),
                intrude(
                    "ask the CA to revoke the phone's certificate, signed with the intruder's own key",
                    |cfg, s| forge_first(cfg, s, |f| matches!(f, Forgery::RevokeWithOwnKey { .. })),
                    &[Goal::PhoneCert(SE0, CertStatus::Valid)],
                ),
                intrude(
                    "replay the application to J-LIS",
                    |cfg, s| {
                        replay_last(
                            cfg,
                            s,
                            |m| matches!(m, Msg::Apply(_)),
                            Party::SpTsm,
                            Party::Applicant(PersonId(0)),
                        )
                    },
                    &[
                        Goal::PhoneCert(SE0, CertStatus::Valid),
                        Goal::Personalized(SE0),
                    ],
                ),
                login(SE0, true, Goal::Accepted(2)),
            ],
        },
    ]
}

/// A scenario by name.
pub fn by_name(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

/// How a scenario run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioOutcome {
    /// Every step's goals were reached.
    Completed,
    /// A fault lost a message the story needed; the story stopped at this step (1-based).
    StoppedByFaults {
        /// The step.
        step: usize,
        /// The goal not reached.
        goal: Goal,
    },
}

/// Runs `scenario` in `world` (built for its configuration), settling after every choice.
/// Without faults every goal must be reached; with faults a goal not reached after the retries
/// stops the story ([`ScenarioOutcome::StoppedByFaults`]). Safety properties are checked by the world
/// on every step either way.
pub fn play(
    scenario: &Scenario,
    world: &mut impl Driver,
    faults: Faults,
) -> Result<ScenarioOutcome, PlayError> {
    const RETRIES: usize = 4;
    let me = Party::Applicant(PersonId(0));
    for (i, s) in scenario.steps.iter().enumerate() {
        let n = i + 1;
        match s.act {
            Act::Applicant(choice) => {
                world.note(format!("— step {n}: {choice:?}"));
                world.choose(me, PartyChoice::Applicant(choice))?;
            }
            Act::Intruder(m) => {
                world.note(format!("— step {n}: the intruder: {}", m.label));
                let state = world.model_state();
                let cfg = world.config();
                let choice = World::of(&state)
                    .and_then(|w| w.intruder().and_then(|i| (m.pick)(&cfg, i)))
                    .ok_or(PlayError::NoIntruderMove {
                        step: n,
                        label: m.label,
                    })?;
                world.choose(Party::Intruder, PartyChoice::Intruder(choice))?;
            }
        }
        world.settle()?;
        let mut tries = 0;
        loop {
            let state = world.model_state();
            let missing =
                World::of(&state).and_then(|w| s.goals.iter().find(|g| !g.holds(&w)).copied());
            let Some(goal) = missing else { break };
            if !faults.any() {
                return Err(PlayError::GoalMissed { step: n, goal });
            }
            let retry = s
                .retry
                .filter(|r| tries < RETRIES && world.enabled(me, PartyChoice::Applicant(*r)));
            let Some(r) = retry else {
                return Ok(ScenarioOutcome::StoppedByFaults { step: n, goal });
            };
            tries += 1;
            world.note(format!("  retry: {r:?}"));
            world.choose(me, PartyChoice::Applicant(r))?;
            world.settle()?;
        }
        for g in &s.goals {
            world.note(format!("  ✓ {g}"));
        }
    }
    Ok(ScenarioOutcome::Completed)
}

/// Why a scenario failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PlayError {
    /// The run broke: divergence from the model, or a property violated.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The intruder has no choice that makes the scripted move (it did not see the message, or
    /// its budget is spent).
    #[error("step {step}: the intruder cannot {label} now")]
    NoIntruderMove {
        /// The step (1-based).
        step: usize,
        /// The move.
        label: &'static str,
    },
    /// Without faults, a step did not bring about what the protocol promises.
    #[error("step {step}: expected that {goal}, but it did not happen")]
    GoalMissed {
        /// The step (1-based).
        step: usize,
        /// The goal.
        goal: Goal,
    },
}

/// A finished scenario run: the world (its trace and log) and how it ended.
#[derive(Debug)]
pub struct Run {
    /// The simulation after the run.
    pub simulation: Simulation,
    /// How it ended.
    pub result: Result<ScenarioOutcome, PlayError>,
}

/// Plays `scenario` on a fresh in-process world seeded by `seed`.
pub fn run_inproc(scenario: &Scenario, seed: u64, faults: Faults) -> Result<Run, RunError> {
    run_inproc_with(scenario, seed, faults, None)
}

/// Plays `scenario` on a fresh in-process world seeded by `seed`, keeping the durable parties'
/// states in `state_dir` when given ([`Simulation::with_state_dir`]).
pub fn run_inproc_with(
    scenario: &Scenario,
    seed: u64,
    faults: Faults,
    state_dir: Option<StateDir>,
) -> Result<Run, RunError> {
    let mut world = Simulation::new(scenario.config, seed, faults, scenario.name)?;
    if let Some(stores) = state_dir {
        world = world.with_state_dir(stores)?;
    }
    let result = play(scenario, &mut world, faults);
    Ok(Run {
        simulation: world,
        result,
    })
}

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
use jpkisim_model::config::{Budgets, Carrier, Medium, Proofing};
use jpkisim_model::ids::{Party, PersonId, SeId};
use jpkisim_model::msg::{CardEventKind, CertStatus};
use jpkisim_model::se::Lifecycle;
use jpkisim_model::{Config, World};

use jpkisim_model::actors::JpkiState;

use crate::runtime::inproc::Simulation;
use crate::runtime::{Faults, RunError};

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
        }
    }
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
        }
    }
}

/// One scripted step: a choice of person 0, what must hold once the network settles, and how
/// to retry when a fault got in the way.
#[derive(Clone, Debug)]
pub struct ScriptStep {
    /// The choice.
    pub choice: Choice,
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
        choice,
        goals: goals.to_vec(),
        retry,
    }
}

const SE0: SeId = SeId(0);
const SE1: SeId = SeId(1);

fn apply(se: SeId) -> ScriptStep {
    step(
        Choice::Apply { se },
        &[
            Goal::PhoneCert(se, CertStatus::Valid),
            Goal::Personalized(se),
        ],
        Some(Choice::Reapply),
    )
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
                    Some(Choice::Reapply),
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
                step(
                    Choice::ThiefGuessesPin { se: SE0 },
                    &[Goal::PinBlocked(SE0)],
                    None,
                ),
                step(Choice::ThiefGuessesPin { se: SE0 }, &[Goal::PinBlocked(SE0)], None),
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
        world.note(format!("— step {n}: {:?}", s.choice));
        world.choose(me, PartyChoice::Applicant(s.choice))?;
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
    let mut world = Simulation::new(scenario.config, seed, faults, scenario.name)?;
    let result = play(scenario, &mut world, faults);
    Ok(Run {
        simulation: world,
        result,
    })
}

//! Where a processes run kills a party: seeded crash points, each a SIGKILL of the CA's, the
//! SP-TSM's or the SE-TSM's process at one of three moments of one of its steps.

use jpkisim_model::ids::Party;

use crate::runtime::FaultCoin;

/// The moment of a step at which the party's process is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CrashPoint {
    /// Before the step reaches it: the message stays in flight, the timer stays armed.
    BeforeStep,
    /// While it takes the step: the kill comes a seeded 0–10 ms after the step was sent, without
    /// waiting for the answer, so the step is committed or not as the race between the kill and
    /// the party's database transaction decides.
    DuringStep,
    /// Once it has answered (committed, its messages on their way).
    AfterStep,
}

/// One crash a run injected.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Crash {
    /// Whose process was killed.
    pub party: Party,
    /// When.
    pub point: CrashPoint,
    /// The trace event of the crash.
    pub event: u64,
    /// For a crash during a step: whether the step had been committed when the process died.
    pub committed: Option<bool>,
}

/// The seeded plan of a run's crashes: up to `budget` of them, each step of a crashable party
/// struck with probability one in two while any is left.
#[derive(Clone, Debug)]
pub struct CrashPlan {
    budget: u32,
    coin: FaultCoin,
}

impl CrashPlan {
    /// No crash at all.
    pub fn none() -> CrashPlan {
        CrashPlan::new(0, 0, "none")
    }

    /// Up to `budget` crashes, placed by the coin of `seed` for `stream` (a scenario's name).
    pub fn new(budget: u32, seed: u64, stream: &str) -> CrashPlan {
        CrashPlan {
            budget,
            coin: FaultCoin::new(seed, &format!("crashes/{stream}")),
        }
    }

    /// Whether any crash is planned at all (a run that may crash runs the model with
    /// `--crashes 1`, whose timers retry what a crash interrupted).
    pub fn any(&self) -> bool {
        self.budget > 0
    }

    /// How many crashes are left.
    pub fn left(&self) -> u32 {
        self.budget
    }

    /// How long after sending a step a [`CrashPoint::DuringStep`] kill comes.
    pub fn kill_delay(&mut self) -> std::time::Duration {
        const MILLIS: [u64; 5] = [0, 1, 2, 5, 10];
        std::time::Duration::from_millis(MILLIS[self.coin.pick(MILLIS.len())])
    }

    /// Whether the next step of a crashable party is struck, and where.
    pub fn strike(&mut self) -> Option<CrashPoint> {
        if self.budget == 0 || self.coin.pick(2) != 0 {
            return None;
        }
        self.budget -= 1;
        Some(match self.coin.pick(3) {
            0 => CrashPoint::BeforeStep,
            1 => CrashPoint::DuringStep,
            _ => CrashPoint::AfterStep,
        })
    }
}

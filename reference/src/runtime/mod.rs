//! The runtimes of the reference implementation and what they share: the network faults a run
//! injects and the seeded coin that decides them, why a run stops, the event journal (the recorded
//! trace and the readable log, numbered once), and the parties provisioned from a seed.
//!
//! [`inproc`] runs every party in one deterministic scheduler; [`udp`] runs each party as a
//! Stateright actor on its own socket; [`observe`] reads a world back as a model state and checks
//! the properties. The runtimes only deliver messages and record what happened: every protocol
//! decision is the model's, taken inside [`Node`].

pub mod inproc;
pub mod observe;
pub mod processes;
pub mod udp;

use std::sync::Arc;

use jpkisim_model::actors::PartyChoice;
use jpkisim_model::ids::Party;
use jpkisim_model::msg::Msg;
use jpkisim_model::recovery::PartyTimer;
use jpkisim_model::{describe, Config, Topology};
use jpkisim_traces::{Event, Fault};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

use crate::backend::Provisioning;
use crate::node::{issue_cards, Divergence, Node};
use crate::seed;
use crate::wire::Envelope;

/// Network faults a run injects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Drop one message in ten.
    pub loss: bool,
    /// Deliver one message in ten twice.
    pub dup: bool,
    /// Deliver in random order instead of first-in first-out.
    pub reorder: bool,
}

/// A fault name that [`Faults::parse`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault `{0}`: expected loss, dup, reorder or none")]
pub struct UnknownFault(pub String);

impl Faults {
    /// Parses `loss,dup,reorder` (any subset, comma-separated; empty or `none` for none).
    pub fn parse(text: &str) -> Result<Faults, UnknownFault> {
        let mut f = Faults::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "loss" => f.loss = true,
                "dup" => f.dup = true,
                "reorder" => f.reorder = true,
                "none" => {}
                other => return Err(UnknownFault(other.to_string())),
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

/// What the fault coin decided for one message as it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Lost on the way.
    Lost,
    /// On its way, in `copies` copies; `held` ones are held back to arrive out of order.
    Sent {
        /// 1, or 2 when duplicated.
        copies: u8,
        /// Held back (reordering at the sender, as the UDP runtime does it).
        held: bool,
    },
}

/// The seeded coin behind every injected fault and every reordering: one fault strikes one
/// message in ten.
#[derive(Clone, Debug)]
pub struct FaultCoin(ChaCha20Rng);

impl FaultCoin {
    /// The coin for `purpose` (a schedule, a party's sender) under `seed`.
    pub fn new(seed: u64, purpose: &str) -> FaultCoin {
        FaultCoin(seed::rng(seed, purpose))
    }

    /// Whether a fault strikes this time.
    pub fn strikes(&mut self) -> bool {
        self.0.next_u32().is_multiple_of(10)
    }

    /// A position among `n` (`n > 0`).
    pub fn pick(&mut self, n: usize) -> usize {
        (self.0.next_u32() as usize) % n
    }

    /// The fate of one message sent under `faults`. The coin is tossed once per fault switched
    /// on, in the order loss, duplication, holding back (only when `hold_at_sender`), so a run's
    /// decisions depend only on the seed and the order of sends.
    pub fn fate(&mut self, faults: Faults, hold_at_sender: bool) -> Fate {
        if faults.loss && self.strikes() {
            return Fate::Lost;
        }
        let copies = if faults.dup && self.strikes() { 2 } else { 1 };
        let held = hold_at_sender && faults.reorder && self.strikes();
        Fate::Sent { copies, held }
    }
}

/// Why a run stopped.
#[derive(Clone, Debug, thiserror::Error)]
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
    #[error(
        "step {step}: {party} cannot choose {} now (enabled: {})",
        describe::choice(choice),
        choices_text(enabled)
    )]
    NotEnabled {
        /// Event number.
        step: u64,
        /// Who.
        party: Party,
        /// What.
        choice: PartyChoice,
        /// What the model offered instead.
        enabled: Vec<PartyChoice>,
    },
    /// The network did not settle within the bound (deliveries in process; messages still in
    /// flight over UDP).
    #[error("the network did not settle (bound {0})")]
    NoQuiescence(usize),
    /// A replayed step does not apply to the reference's state (the message is not in flight).
    #[error("step {step}: cannot replay: {why}")]
    NotAStep {
        /// Event number.
        step: u64,
        /// Why not.
        why: Unreplayable,
    },
    /// A durable party's state could not be saved (`--state-dir`).
    #[error("step {step}: durable state: {source}")]
    Store {
        /// Event number.
        step: u64,
        /// What went wrong, naming the database file.
        source: crate::store::StoreError,
    },
    /// The UDP transport failed.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// A party process failed or could not be reached (processes transport).
    #[error("processes: {0}")]
    Processes(#[source] processes::ProcessError),
}

/// Why a model step cannot be replayed on the reference.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Unreplayable {
    /// The step delivers or drops a message that is not in flight here.
    #[error("no message {from} → {to} in flight: {}", describe::message(msg))]
    NotInFlight {
        /// Sender.
        from: Party,
        /// Receiver.
        to: Party,
        /// The message.
        msg: Msg,
    },
    /// The step fires a timer the party's state does not arm here.
    #[error(
        "{party} has no timer on the {} armed (armed: {})",
        describe::timer_text(timer),
        timers_text(armed)
    )]
    NotArmed {
        /// Whose timer.
        party: Party,
        /// The timer.
        timer: PartyTimer,
        /// The timers the party's state arms.
        armed: Vec<PartyTimer>,
    },
    /// The step is a crash of a party that never crashes.
    #[error("{party} does not crash (only the CA, the SP-TSM and the SE-TSM do)")]
    NotCrashable {
        /// Who.
        party: Party,
    },
    /// The step needs a party that is down (crashed, not recovered).
    #[error("{party} is down")]
    Down {
        /// Who.
        party: Party,
    },
    /// The step recovers a party that is not down.
    #[error("{party} is not down: it has nothing to recover from")]
    NotDown {
        /// Who.
        party: Party,
    },
}

/// Why the UDP transport failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TransportError {
    /// A socket operation failed.
    #[error("{0}")]
    Io(#[source] Arc<std::io::Error>),
    /// A datagram could not be encoded.
    #[error("cannot encode a datagram: {0}")]
    Encode(#[source] Arc<serde_json::Error>),
    /// The applicant never recorded the choice the director sent it.
    #[error("the applicant never received the director's choice")]
    ChoiceNotReceived,
}

impl From<std::io::Error> for TransportError {
    fn from(e: std::io::Error) -> Self {
        TransportError::Io(Arc::new(e))
    }
}

fn timers_text(timers: &[PartyTimer]) -> String {
    if timers.is_empty() {
        return "none".into();
    }
    timers
        .iter()
        .map(describe::timer_text)
        .collect::<Vec<_>>()
        .join("; ")
}

fn choices_text(choices: &[PartyChoice]) -> String {
    if choices.is_empty() {
        return "nothing".into();
    }
    choices
        .iter()
        .map(describe::choice)
        .collect::<Vec<_>>()
        .join("; ")
}

impl RunError {
    /// A divergence at setup, before any event.
    pub(crate) fn at_setup(source: impl Into<Divergence>) -> RunError {
        RunError::Diverged {
            step: 0,
            source: source.into(),
        }
    }
}

/// The record of a run as it happens: the trace (events numbered from 1, as
/// [`jpkisim_traces::Recorder`] numbers them) and the readable log.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    /// Every event so far, in order.
    pub trace: Vec<Event>,
    /// Human-readable log lines.
    pub log: Vec<String>,
}

impl Journal {
    /// The number of the last event (0 before any).
    pub fn seq(&self) -> u64 {
        self.trace.len() as u64
    }

    /// Appends an event under the next number.
    pub fn record(&mut self, event: Event) {
        let seq = self.seq() + 1;
        self.trace.push(Event { seq, ..event });
    }

    /// A message was sent: the event carries the fingerprints of its artifacts as evidence.
    pub fn sent(&mut self, env: &Envelope) {
        let mut event = Event::send(env.from, env.to, env.msg.clone());
        for a in &env.artifacts {
            event = event.with_evidence(a.label(), a.fingerprint());
        }
        self.record(event);
    }

    /// The fault coin struck a message as it was sent.
    pub fn fault(&mut self, fault: Fault, env: &Envelope) {
        if fault == Fault::Lost {
            self.log.push(format!(
                "  ✗ lost: {} → {}: {}",
                env.from,
                env.to,
                describe::message(&env.msg)
            ));
        }
        self.record(Event::fault(fault, env.from, env.to, env.msg.clone()));
    }

    /// A message was delivered.
    pub fn delivered(&mut self, env: &Envelope) {
        self.record(Event::deliver(env.to, env.from, env.msg.clone()));
        self.log.push(format!(
            "  {} → {}: {}",
            env.from,
            env.to,
            describe::message(&env.msg)
        ));
    }

    /// A timer of a party fired (the trace names the party only: which of its timers is the
    /// one whose sends follow, as the conformance checker finds it).
    pub fn timed_out(&mut self, party: Party, timer: PartyTimer) {
        self.record(Event::timeout(party));
        self.log.push(format!(
            "  ⏱ {party}: timer on the {} fires",
            describe::timer_text(&timer)
        ));
    }

    /// A party's process was killed (the model's `Crash`): it loses what it had not committed.
    pub fn crashed(&mut self, party: Party) {
        self.record(Event::crash(party));
        self.log.push(format!(
            "  ☠ {party}: crashes (what it had not committed is lost)"
        ));
    }

    /// A killed party's process was started again on its database (the model's `Recover`).
    pub fn restarted(&mut self, party: Party) {
        self.record(Event::restart(party));
        self.log
            .push(format!("  ↻ {party}: restarted from its database"));
    }

    /// A party took a choice.
    pub fn chose(&mut self, party: Party, choice: PartyChoice) {
        self.record(Event::choice(party, choice));
        self.log.push(format!("{party} chooses {choice:?}"));
    }
}

/// Puts what a step sent on the network, each message as the fault coin decides (lost, or sent
/// once or twice), recording every send and fault: both deterministic runtimes (in-process and
/// processes) post this way, so the same seed gives them the same trace.
pub(crate) fn post(
    journal: &mut Journal,
    coin: &mut FaultCoin,
    faults: Faults,
    in_flight: &mut Vec<Envelope>,
    envs: Vec<Envelope>,
) {
    for env in envs {
        journal.sent(&env);
        match coin.fate(faults, false) {
            Fate::Lost => journal.fault(Fault::Lost, &env),
            Fate::Sent { copies, .. } => {
                if copies > 1 {
                    journal.fault(Fault::Duplicated, &env);
                    in_flight.push(env.clone());
                }
                in_flight.push(env);
            }
        }
    }
}

/// Which of the `deliverable` in-flight messages (indices, in order) goes next: the first, or
/// with the reorder fault one the coin picks, recorded as reordered when it is not the first in
/// flight.
pub(crate) fn next_delivery(
    journal: &mut Journal,
    coin: &mut FaultCoin,
    faults: Faults,
    in_flight: &[Envelope],
    deliverable: &[usize],
) -> usize {
    let ix = if faults.reorder {
        deliverable[coin.pick(deliverable.len())]
    } else {
        deliverable[0]
    };
    if ix != 0 {
        let env = &in_flight[ix];
        journal.record(Event::fault(
            Fault::Reordered,
            env.from,
            env.to,
            env.msg.clone(),
        ));
    }
    ix
}

/// Every party of `cfg` in its initial state, with keys, chips and PINs from `seed`, and each
/// applicant holding the certificate their card carries.
pub fn provision(cfg: Config, seed: u64) -> Result<Vec<Node>, RunError> {
    let prov = Provisioning::new(seed).map_err(RunError::at_setup)?;
    let nodes = Topology::of(&cfg)
        .parties()
        .into_iter()
        .map(|p| Node::new(p, cfg, Arc::clone(&prov)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(RunError::at_setup)?;
    issue_cards(&nodes);
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_any_subset_and_name_an_unknown_one() {
        assert_eq!(Faults::parse(""), Ok(Faults::default()));
        assert_eq!(Faults::parse("none"), Ok(Faults::default()));
        assert_eq!(
            Faults::parse("loss, reorder"),
            Ok(Faults {
                loss: true,
                dup: false,
                reorder: true
            })
        );
        assert_eq!(Faults::parse("lossy"), Err(UnknownFault("lossy".into())));
    }

    #[test]
    fn the_coin_is_tossed_only_for_faults_that_are_on() {
        let mut a = FaultCoin::new(1, "x");
        let mut b = FaultCoin::new(1, "x");
        for _ in 0..50 {
            assert_eq!(
                a.fate(Faults::default(), true),
                Fate::Sent {
                    copies: 1,
                    held: false
                }
            );
        }
        // No toss was spent above: the two coins are still in step.
        let all = Faults {
            loss: true,
            dup: true,
            reorder: true,
        };
        let fa: Vec<Fate> = (0..200).map(|_| a.fate(all, true)).collect();
        let fb: Vec<Fate> = (0..200).map(|_| b.fate(all, true)).collect();
        assert_eq!(fa, fb);
        assert!(fa.contains(&Fate::Lost));
        assert!(fa.iter().any(|f| matches!(f, Fate::Sent { copies: 2, .. })));
        assert!(fa
            .iter()
            .any(|f| matches!(f, Fate::Sent { held: true, .. })));
    }
}

//! The trace format's types: one [`Header`] line, then one [`Event`] per line.
//!
//! Field names and the JSON forms of the model types are the format: renaming a field here is a
//! format change and needs a new [`VERSION`]. Adding an optional field is not.

use jpkisim_model::actors::PartyChoice;
use jpkisim_model::ids::Party;
use jpkisim_model::msg::Msg;
use jpkisim_model::Config;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The format name every header carries, so that a stray NDJSON file is refused at line 1.
pub const FORMAT: &str = "jpkisim-trace";

/// The format version this crate writes and reads.
pub const VERSION: u32 = 1;

/// Line 1 of a trace: what the trace is a log of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version, [`VERSION`] for traces written by this crate.
    pub version: u32,
    /// The model configuration the recorded system runs (the checker builds this model).
    pub config: Config,
    /// The parties whose steps the log records; the steps of every other party are unobserved
    /// and may be interleaved by the checker.
    pub observed: Vec<Party>,
    /// Free text naming what produced the trace (a scenario, a tool); not interpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Header {
    /// A header of the current format and version.
    pub fn new(config: Config, observed: Vec<Party>) -> Header {
        Header {
            format: FORMAT.to_string(),
            version: VERSION,
            config,
            observed,
            source: None,
        }
    }

    /// The same header with a `source` note.
    pub fn with_source(mut self, source: impl Into<String>) -> Header {
        self.source = Some(source.into());
        self
    }
}

/// What an event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `party` sent `msg` to `peer`.
    Send,
    /// `party` received `msg` from `peer` and acted on it.
    Deliver,
    /// A timer of `party` fired: the model's `Timeout` step of that party (a retry or an abort,
    /// whose messages follow as sends). The event names the party, not the timer: the checker
    /// takes whichever armed timer makes the recorded sends match.
    Timeout,
    /// `party` made the environment choice `choice` (an applicant's action, a CRL publication).
    Choice,
    /// The network did `fault` to `msg` from `party` to `peer`.
    Fault,
    /// `party` crashed: the model's `Crash` step of that party. It loses what it did not make
    /// durable and takes no step until it restarts; messages to it stay in flight and its timers
    /// are cancelled. Only the party is named (no peer, message or choice).
    Crash,
    /// `party` restarted from its database after a crash: the model's `Recover` step, which runs
    /// the party's start from what it stored (re-arming the timers that state arms).
    Restart,
}

/// What the network did to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The message will never be delivered.
    Lost,
    /// The message will be (or was) delivered more than once.
    Duplicated,
    /// The message overtook another on the same channel.
    Reordered,
}

/// One recorded event (lines 2 and after).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Sequence number, strictly increasing through the file (gaps allowed: a filtered log).
    pub seq: u64,
    /// Wall-clock time in milliseconds, if the recorder has one (not interpreted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<u64>,
    /// What happened.
    pub kind: EventKind,
    /// The party that acted: the sender of a send, the receiver of a delivery, the chooser of a
    /// choice, the sender of a faulted message, the party whose timer fired, that crashed or that
    /// restarted.
    pub party: Party,
    /// The other end of a send, delivery or fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Party>,
    /// The protocol message of a send, delivery or fault, in the model's JSON form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<Msg>,
    /// The choice of a `choice` event, in the model's JSON form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<PartyChoice>,
    /// What the network did, for a `fault` event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// Real bytes behind the symbolic terms (signatures, certificates), only as fingerprints:
    /// name → SHA-256 hex prefix. Not interpreted by the checker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<BTreeMap<String, String>>,
}

impl Event {
    /// Whether the event is a step of the model of its own: a delivery, a choice, a timeout, a
    /// crash, a restart or a loss (sends, duplications and reorderings are not). Logs number
    /// these; the Explorer opens a run at them.
    pub fn is_step(&self) -> bool {
        matches!(
            self.kind,
            EventKind::Deliver
                | EventKind::Choice
                | EventKind::Timeout
                | EventKind::Crash
                | EventKind::Restart
        ) || (self.kind == EventKind::Fault && self.fault == Some(Fault::Lost))
    }

    fn bare(kind: EventKind, party: Party) -> Event {
        Event {
            seq: 0,
            ts: None,
            kind,
            party,
            peer: None,
            msg: None,
            choice: None,
            fault: None,
            evidence: None,
        }
    }

    /// `from` sent `msg` to `to`.
    pub fn send(from: Party, to: Party, msg: Msg) -> Event {
        Event {
            peer: Some(to),
            msg: Some(msg),
            ..Event::bare(EventKind::Send, from)
        }
    }

    /// `to` received `msg` from `from` and acted on it.
    pub fn deliver(to: Party, from: Party, msg: Msg) -> Event {
        Event {
            peer: Some(from),
            msg: Some(msg),
            ..Event::bare(EventKind::Deliver, to)
        }
    }

    /// `party` made `choice`.
    pub fn choice(party: Party, choice: PartyChoice) -> Event {
        Event {
            choice: Some(choice),
            ..Event::bare(EventKind::Choice, party)
        }
    }

    /// A timer of `party` fired.
    pub fn timeout(party: Party) -> Event {
        Event::bare(EventKind::Timeout, party)
    }

    /// `party` crashed (see [`EventKind::Crash`]).
    pub fn crash(party: Party) -> Event {
        Event::bare(EventKind::Crash, party)
    }

    /// `party` restarted from its database (see [`EventKind::Restart`]).
    pub fn restart(party: Party) -> Event {
        Event::bare(EventKind::Restart, party)
    }

    /// The network did `fault` to `msg` sent by `from` to `to`.
    pub fn fault(fault: Fault, from: Party, to: Party, msg: Msg) -> Event {
        Event {
            peer: Some(to),
            msg: Some(msg),
            fault: Some(fault),
            ..Event::bare(EventKind::Fault, from)
        }
    }

    /// The same event stamped with a wall-clock time in milliseconds.
    pub fn at(mut self, ts_ms: u64) -> Event {
        self.ts = Some(ts_ms);
        self
    }

    /// The same event with one more evidence fingerprint (`name` → SHA-256 hex prefix).
    pub fn with_evidence(
        mut self,
        name: impl Into<String>,
        fingerprint: impl Into<String>,
    ) -> Event {
        self.evidence
            .get_or_insert_with(BTreeMap::new)
            .insert(name.into(), fingerprint.into());
        self
    }

    /// The fields this kind requires and forbids, or the name of the first wrong field and why.
    pub fn check_shape(&self) -> Result<(), (&'static str, &'static str)> {
        let need = |present: bool, field: &'static str, why: &'static str| {
            if present {
                Ok(())
            } else {
                Err((field, why))
            }
        };
        match self.kind {
            EventKind::Send | EventKind::Deliver => {
                need(
                    self.peer.is_some(),
                    "peer",
                    "a send or delivery needs its peer",
                )?;
                need(
                    self.msg.is_some(),
                    "msg",
                    "a send or delivery needs its message",
                )?;
                need(
                    self.choice.is_none(),
                    "choice",
                    "only a choice event has a choice",
                )?;
                need(
                    self.fault.is_none(),
                    "fault",
                    "only a fault event has a fault",
                )
            }
            EventKind::Choice => {
                need(
                    self.choice.is_some(),
                    "choice",
                    "a choice event needs its choice",
                )?;
                need(self.msg.is_none(), "msg", "a choice event has no message")?;
                need(
                    self.fault.is_none(),
                    "fault",
                    "only a fault event has a fault",
                )
            }
            EventKind::Fault => {
                need(
                    self.fault.is_some(),
                    "fault",
                    "a fault event needs its fault",
                )?;
                need(
                    self.peer.is_some(),
                    "peer",
                    "a fault event needs the receiver as peer",
                )?;
                need(self.msg.is_some(), "msg", "a fault event needs the message")?;
                need(
                    self.choice.is_none(),
                    "choice",
                    "only a choice event has a choice",
                )
            }
            EventKind::Timeout => {
                need(self.msg.is_none(), "msg", "a timeout has no message")?;
                need(
                    self.choice.is_none(),
                    "choice",
                    "only a choice event has a choice",
                )?;
                need(
                    self.fault.is_none(),
                    "fault",
                    "only a fault event has a fault",
                )
            }
            EventKind::Crash | EventKind::Restart => {
                need(
                    self.peer.is_none(),
                    "peer",
                    "a crash or restart names only its party (no peer)",
                )?;
                need(
                    self.msg.is_none(),
                    "msg",
                    "a crash or restart has no message",
                )?;
                need(
                    self.choice.is_none(),
                    "choice",
                    "only a choice event has a choice",
                )?;
                need(
                    self.fault.is_none(),
                    "fault",
                    "only a fault event has a fault",
                )
            }
        }
    }
}

//! What the director and the party processes of a processes run say to each other, the peers file
//! that tells a party process who it is and where everyone is, and the record a durable party
//! keeps in its database.
//!
//! Every datagram is one JSON value. The director is the network of the run: a party process
//! sends what its step sends back to the director, which records it, lets the fault coin decide
//! its fate and delivers it later — the model's network, with real processes at its ends.

use std::fs;
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jpkisim_model::actors::{PartyChoice, PartyState};
use jpkisim_model::ids::Party;
use jpkisim_model::recovery::PartyTimer;
use jpkisim_model::Config;
use serde::{Deserialize, Serialize};

use crate::backend::BackendSnapshot;
use crate::wire::Envelope;

/// The largest datagram either side sends (UDP over IPv4 carries at most 65,507 bytes).
pub const MAX_DATAGRAM: usize = 65_507;

/// The run a party process belongs to: the configuration and seed every party runs, the
/// director's socket, and each party's socket and name. Written by the director
/// (`peers.json` in the run's state directory) and read by `jpkisim node --peers FILE`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Peers {
    /// The model configuration of the run.
    pub config: Config,
    /// The seed of every key, chip and blinding.
    pub seed: u64,
    /// The director's socket: the only one a party takes datagrams from.
    pub director: SocketAddrV4,
    /// Every party of the run with its name (`--party`) and socket, in actor order.
    pub parties: Vec<PeerEntry>,
}

/// One party of a [`Peers`] file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerEntry {
    /// The name `jpkisim node --party` takes ([`party_name`]).
    pub name: String,
    /// The party.
    pub party: Party,
    /// Its socket.
    pub addr: SocketAddrV4,
}

/// The name of a party on the command line and in file names: `ca`, `sp-tsm`, `se-tsm`, `rp`,
/// `mvno`, `applicant-0`, `se-0`, `intruder`.
pub fn party_name(party: Party) -> String {
    match party {
        Party::Ca => "ca".into(),
        Party::SpTsm => "sp-tsm".into(),
        Party::SeTsm => "se-tsm".into(),
        Party::RelyingParty => "rp".into(),
        Party::Mvno => "mvno".into(),
        Party::Applicant(p) => format!("applicant-{}", p.0),
        Party::Se(s) => format!("se-{}", s.0),
        Party::Intruder => "intruder".into(),
    }
}

/// Why a peers file cannot be used.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PeersError {
    /// The file cannot be read or written.
    #[error("{}: cannot {what}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The file is not a peers file.
    #[error("{}: line {line}, column {column}: not a peers file: {source}", file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
        /// What the parser expected.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// The file lists no party of that name.
    #[error("{}: no party `{name}` (expected one of {})", file.display(), known.join(", "))]
    UnknownParty {
        /// The file.
        file: PathBuf,
        /// The name asked for.
        name: String,
        /// The names the file lists.
        known: Vec<String>,
    },
}

impl Peers {
    /// Writes the file (whole, then renamed into place, so a party never reads half of it).
    pub fn write(&self, file: &Path) -> Result<(), PeersError> {
        let io = |what| {
            move |e| PeersError::Io {
                file: file.to_path_buf(),
                what,
                source: Arc::new(e),
            }
        };
        let text = serde_json::to_vec_pretty(self).map_err(|e| PeersError::Io {
            file: file.to_path_buf(),
            what: "encode the peers",
            source: Arc::new(std::io::Error::other(e)),
        })?;
        let tmp = file.with_extension("json.tmp");
        fs::write(&tmp, text).map_err(io("write the file"))?;
        fs::rename(&tmp, file).map_err(io("rename the file into place"))
    }

    /// Reads a peers file.
    pub fn read(file: &Path) -> Result<Peers, PeersError> {
        let text = fs::read(file).map_err(|e| PeersError::Io {
            file: file.to_path_buf(),
            what: "read the file",
            source: Arc::new(e),
        })?;
        serde_json::from_slice(&text).map_err(|e| PeersError::Parse {
            file: file.to_path_buf(),
            line: e.line(),
            column: e.column(),
            source: Arc::new(e),
        })
    }

    /// The entry named `name`.
    pub fn entry(&self, file: &Path, name: &str) -> Result<&PeerEntry, PeersError> {
        self.parties
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| PeersError::UnknownParty {
                file: file.to_path_buf(),
                name: name.to_string(),
                known: self.parties.iter().map(|p| p.name.clone()).collect(),
            })
    }
}

/// What a party's step takes in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// A message delivered to it.
    Deliver(Envelope),
    /// One of its choices.
    Choose(PartyChoice),
    /// One of its timers fires.
    Fire(PartyTimer),
}

/// From the director to a party process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToParty {
    /// Take step number `step` (numbers only grow; a durable party commits each under it).
    Step {
        /// The step's number.
        step: u64,
        /// What the step takes in.
        input: Input,
    },
    /// The run is over: close the database and exit.
    Exit,
}

/// From a party process to the director.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromParty {
    /// The process is up. A durable party that restarted from its database says after which
    /// step its last commit was taken, what it committed (the state as it was written, and the
    /// messages that step sent), and the state it restarts in.
    Ready {
        /// Who.
        party: Party,
        /// The state it runs from now.
        state: PartyState,
        /// What its database held, for a restart.
        restored: Option<Restored>,
    },
    /// Step `step` is taken (and, for a durable party, committed).
    Stepped {
        /// Which step.
        step: u64,
        /// The party's state after it.
        state: PartyState,
        /// What it sends, sealed.
        out: Vec<Envelope>,
    },
    /// Step `step` could not be taken as the model takes it (a divergence or a database error).
    Failed {
        /// Which step.
        step: u64,
        /// Why, in words (the error does not cross the process boundary as a value).
        reason: String,
    },
}

/// What a restarted durable party read back from its database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Restored {
    /// The step after which the last commit was taken (0: the initial state).
    pub step: u64,
    /// The committed state, as written.
    pub stored: PartyState,
    /// What that step sent.
    pub outbox: Vec<Envelope>,
}

/// One commit of a durable party: its state as the design makes it durable
/// (`recovery::durable_after`), its backend's artifacts, and what the step sends — the outbox,
/// so that a party killed between its commit and its answer loses none of its messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Durable {
    /// The model state.
    pub state: PartyState,
    /// The real crypto's artifacts.
    pub backend: BackendSnapshot,
    /// What the step that wrote this sends.
    pub outbox: Vec<Envelope>,
}

/// Why a datagram could not be sent or received.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DatagramError {
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[source] Arc<std::io::Error>),
    /// The value does not fit a datagram.
    #[error("a datagram of {bytes} bytes is more than UDP carries ({MAX_DATAGRAM})")]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// The value cannot be encoded.
    #[error("cannot encode a datagram: {0}")]
    Encode(#[source] Arc<serde_json::Error>),
}

/// Sends `value` to `to` as one datagram.
pub fn send<T: Serialize>(
    socket: &UdpSocket,
    to: SocketAddrV4,
    value: &T,
) -> Result<(), DatagramError> {
    let bytes = serde_json::to_vec(value).map_err(|e| DatagramError::Encode(Arc::new(e)))?;
    if bytes.len() > MAX_DATAGRAM {
        return Err(DatagramError::TooLarge { bytes: bytes.len() });
    }
    socket
        .send_to(&bytes, to)
        .map_err(|e| DatagramError::Io(Arc::new(e)))?;
    Ok(())
}

/// A datagram received: who sent it and what it says (`None`: bytes that are not a `T`).
pub struct Received<T> {
    /// The sender's socket.
    pub from: SocketAddr,
    /// The value, if the bytes are one.
    pub value: Option<T>,
}

/// Waits up to `timeout` (`None`: for ever) for the next datagram.
pub fn receive<T: for<'de> Deserialize<'de>>(
    socket: &UdpSocket,
    timeout: Option<Duration>,
) -> Result<Option<Received<T>>, DatagramError> {
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Ok(None),
            },
            None => None,
        };
        socket
            .set_read_timeout(left)
            .map_err(|e| DatagramError::Io(Arc::new(e)))?;
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let value = serde_json::from_slice(&buf[..n]).ok();
                return Ok(Some(Received { from, value }));
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            // Linux reports an ICMP "port unreachable" for an earlier send as an error on the
            // next receive: a peer that was killed. Not this socket's failure.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DatagramError::Io(Arc::new(e))),
        }
    }
}

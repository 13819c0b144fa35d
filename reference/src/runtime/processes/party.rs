//! One party as its own OS process (`jpkisim node --party NAME --state-dir DIR --peers FILE`):
//! the party's [`Node`] — the model's transition with real crypto and, for an SE, the emulated
//! chip — behind a UDP socket, taking steps from the director only.
//!
//! A durable party (CA, SP-TSM, SE-TSM: `recovery::crashable`) commits every step to its
//! database before it answers: the state the design makes durable, its backend's artifacts and
//! the messages the step sends, in one synced transaction under the step's number. Started on a
//! database that holds a commit, it restarts from it the way the model restarts a crashed party
//! (`recovery::restart`) and tells the director what it found, so that the director knows
//! whether a step it was killed in was committed, and if so what it sent.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;

use jpkisim_model::actors::PartyState;
use jpkisim_model::ids::Party;
use jpkisim_model::recovery;

use super::protocol::{
    self, DatagramError, Durable, FromParty, Input, Peers, PeersError, Restored, ToParty,
};
use crate::node::Node;
use crate::runtime::{provision, RunError};
use crate::store::{PartyStore, StoreError};
use crate::wire::Envelope;

/// Why a party process stopped (the CLI exits 2 on every one of them).
#[derive(Debug, thiserror::Error)]
pub enum PartyError {
    /// The peers file cannot be used.
    #[error(transparent)]
    Peers(#[from] PeersError),
    /// The party's database cannot be opened, read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The party's socket cannot be bound.
    #[error("{party}: cannot bind {addr}: {source}")]
    Bind {
        /// Who.
        party: Party,
        /// The address from the peers file.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Sending to or receiving from the director failed.
    #[error("{party}: {source}")]
    Datagram {
        /// Who.
        party: Party,
        /// Why.
        #[source]
        source: DatagramError,
    },
    /// The party could not be set up from the seed.
    #[error("{party}: setup: {source}")]
    Setup {
        /// Who.
        party: Party,
        /// Why.
        #[source]
        source: Box<RunError>,
    },
}

/// A party process: its node, its socket and (durable parties) its database.
struct PartyProcess {
    party: Party,
    cfg: jpkisim_model::Config,
    node: Node,
    store: Option<PartyStore>,
    socket: UdpSocket,
    director: std::net::SocketAddrV4,
}

/// Runs the party named `name` in the peers file `peers` until the director says `Exit`.
pub fn serve(name: &str, state_dir: &Path, peers_file: &Path) -> Result<(), PartyError> {
    let peers = Peers::read(peers_file)?;
    let entry = peers.entry(peers_file, name)?.clone();
    let party = entry.party;
    let socket = UdpSocket::bind(entry.addr).map_err(|source| PartyError::Bind {
        party,
        addr: SocketAddr::V4(entry.addr),
        source,
    })?;
    let mut nodes = provision(peers.config, peers.seed).map_err(|e| PartyError::Setup {
        party,
        source: Box::new(e),
    })?;
    let Some(ix) = nodes.iter().position(|n| n.party() == party) else {
        return Err(PartyError::Peers(PeersError::UnknownParty {
            file: peers_file.to_path_buf(),
            name: name.to_string(),
            known: Vec::new(),
        }));
    };
    let node = nodes.swap_remove(ix);
    drop(nodes);
    let mut me = PartyProcess {
        party,
        cfg: peers.config,
        node,
        store: None,
        socket,
        director: peers.director,
    };
    let restored = me.open_store(state_dir)?;
    me.send(&FromParty::Ready {
        party,
        state: me.node.state.clone(),
        restored,
    })?;
    me.serve_steps()
}

impl PartyProcess {
    fn send(&self, value: &FromParty) -> Result<(), PartyError> {
        protocol::send(&self.socket, self.director, value).map_err(|source| PartyError::Datagram {
            party: self.party,
            source,
        })
    }

    /// Opens a durable party's database: restarts from its last commit, or commits the initial
    /// state under step 0 in a fresh one. Other parties keep nothing.
    fn open_store(&mut self, dir: &Path) -> Result<Option<Restored>, PartyError> {
        if !recovery::crashable(self.party) {
            return Ok(None);
        }
        let mut store = PartyStore::open(dir, self.party)?;
        let restored = match store.load::<Durable>()? {
            Some((step, durable)) => {
                self.node.state = recovery::restart(&durable.state);
                self.node.crypto.restore(&durable.backend);
                Some(Restored {
                    step,
                    stored: durable.state,
                    outbox: durable.outbox,
                })
            }
            None => {
                let durable = Durable {
                    state: self.node.state.clone(),
                    backend: self.node.crypto.snapshot(),
                    outbox: Vec::new(),
                };
                store.save(0, &durable)?;
                None
            }
        };
        self.store = Some(store);
        Ok(restored)
    }

    fn serve_steps(&mut self) -> Result<(), PartyError> {
        loop {
            let got = protocol::receive::<ToParty>(&self.socket, None).map_err(|source| {
                PartyError::Datagram {
                    party: self.party,
                    source,
                }
            })?;
            let Some(got) = got else { continue };
            // Only the director's datagrams are commands; anything else is nobody's.
            if got.from != SocketAddr::V4(self.director) {
                continue;
            }
            match got.value {
                Some(ToParty::Exit) => return Ok(()),
                Some(ToParty::Step { step, input }) => {
                    let answer = self.step(step, input);
                    self.send(&answer)?;
                }
                None => continue,
            }
        }
    }

    /// Takes one step and commits it (durable parties) before answering.
    fn step(&mut self, step: u64, input: Input) -> FromParty {
        let failed = |reason: String| FromParty::Failed { step, reason };
        if let Some(head) = self.store.as_ref().and_then(PartyStore::head) {
            if step <= head {
                return failed(format!(
                    "step {step} is not after the last one committed ({head})"
                ));
            }
        }
        let before: PartyState = self.node.state.clone();
        let taken = match input {
            Input::Deliver(env) if env.to == self.party => self.node.deliver(&env),
            Input::Deliver(env) => {
                return failed(format!(
                    "a message for {} delivered to {}",
                    env.to, self.party
                ))
            }
            Input::Choose(choice) => self.node.choose(choice),
            Input::Fire(timer) => self.node.fire(timer),
        };
        // A divergence is reported and nothing is sent or committed.
        let out: Vec<Envelope> = match taken {
            Ok(out) => out,
            Err(d) => return failed(d.to_string()),
        };
        if let Some(store) = self.store.as_mut() {
            let durable = Durable {
                state: recovery::durable_after(&self.cfg, &before, &self.node.state).clone(),
                backend: self.node.crypto.snapshot(),
                outbox: out.clone(),
            };
            if let Err(e) = store.save(step, &durable) {
                return failed(e.to_string());
            }
        }
        FromParty::Stepped {
            step,
            state: self.node.state.clone(),
            out,
        }
    }
}

//! The UDP runtime: every party a Stateright actor (`stateright::actor::spawn`) with its own UDP
//! socket on 127.0.0.1, speaking [`Wire`] messages (serde JSON) that carry the model message and
//! its artifacts. The parties run exactly the [`Node`] code of the in-process runtime.
//!
//! A run ([`UdpWorld`]) is driven by a director on its own socket, which sends a party
//! [`Wire::Choose`] and waits until the network is quiet; parties take commands from the
//! director's socket only. A receiver takes the sender of a datagram to be the party whose socket
//! it came from, whatever the envelope claims, and the model's rules decide what a datagram from
//! that sender counts for. With `--intruder` the intruder is a party too: every message on an
//! open link reaches its socket and it relays it (the model's intruder transition); the director
//! can also have it withhold what it relays ([`Wire::Withhold`]) and inject datagrams it built
//! ([`Wire::Inject`]) — replays, altered bytes, forgeries — which is how
//! `reference/tests/intruder_udp.rs` shows that every receiver refuses what the model refuses.
//!
//! An observer shared by the actors (they run in one process) records the trace, tracks what is
//! in flight and checks every applicable safety property on the global state after every step —
//! the observer carries no protocol traffic. Faults are injected at the sender: loss and
//! duplication by the seeded coin of the in-process runtime, reordering by holding a message back
//! on a Stateright timer. Keys, blinding and fault decisions come from the seed; the interleaving
//! is the operating system's, so a UDP run is not replayable event for event (the in-process
//! runtime is).

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jpkisim_model::actors::{JpkiState, PartyActor, PartyChoice, PartyState};
use jpkisim_model::ids::Party;
use jpkisim_model::{Config, Topology};
use jpkisim_traces::Fault;
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};

use super::{observe, provision, Fate, FaultCoin, Faults, Journal, RunError, TransportError};
use crate::node::{Divergence, Node};
use crate::scenario::{self, Driver, PlayError, Scenario, ScenarioOutcome};
use crate::wire::Envelope;

/// A datagram between parties (or from the director).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Wire {
    /// A protocol message with its artifacts.
    Deliver(Envelope),
    /// The director asks a party (an applicant, the intruder) to take a choice.
    Choose(PartyChoice),
    /// The director has the intruder withhold what it relays from now on (`true`: the
    /// messages stay in flight, as a Dolev–Yao network may keep them), or send what it withheld
    /// and relay again (`false`).
    Withhold(bool),
    /// The director has the intruder put this envelope on the network from the intruder's own
    /// socket, to the envelope's addressee: a replayed, altered or forged datagram.
    Inject(Envelope),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the observer knows: every party's last state, what is in flight, the journal.
struct Observed {
    states: Vec<PartyState>,
    in_flight: Vec<Envelope>,
    journal: Journal,
    error: Option<RunError>,
    last_change: Instant,
    /// Parties in the middle of a step (a message taken off the network, outputs not yet sent).
    busy: usize,
    /// Director commands sent and not yet carried out.
    commands: usize,
    /// What the intruder relays and holds back (also in `in_flight`).
    withheld: Vec<Envelope>,
    /// Every envelope the intruder received, with its real bytes: what it saw on the wire.
    seen: Vec<Envelope>,
}

/// The observer shared by the actors of one run.
struct Observer {
    cfg: Config,
    topo: Topology,
    inner: Mutex<Observed>,
}

impl Observed {
    /// The journal, for one more entry: the network is not quiet.
    fn journal(&mut self) -> &mut Journal {
        self.last_change = Instant::now();
        &mut self.journal
    }
}

impl Observer {
    fn model_state(&self, o: &Observed) -> JpkiState {
        observe::model_state(&self.cfg, &o.states, &o.in_flight)
    }

    /// Updates `party`'s state and checks the safety properties on the new global state.
    fn stepped(&self, o: &mut Observed, party: Party, state: PartyState) {
        let ix = usize::from(self.topo.id(party));
        o.states[ix] = state;
        if o.error.is_some() {
            return;
        }
        let global = self.model_state(o);
        if let Some(p) = observe::violated(&self.cfg, &global) {
            o.error = Some(RunError::Violated {
                step: o.journal.seq(),
                property: p.id,
                summary: p.summary,
            });
        }
    }

    fn diverged(&self, o: &mut Observed, source: Divergence) {
        if o.error.is_none() {
            o.error = Some(RunError::Diverged {
                step: o.journal.seq(),
                source,
            });
        }
    }
}

/// One party as a Stateright actor.
struct UdpParty {
    party: Party,
    node: Mutex<Node>,
    addrs: Vec<SocketAddrV4>,
    /// The director's socket: the only one whose commands a party takes.
    director: Id,
    /// For the intruder: whether it withholds what it relays.
    withholding: Mutex<bool>,
    observer: Arc<Observer>,
    faults: Faults,
    coin: Mutex<FaultCoin>,
    held: Mutex<Vec<Envelope>>,
}

/// How long a reordered message is held back.
const HOLD: Duration = Duration::from_millis(15);

impl UdpParty {
    fn id_of(&self, party: Party) -> Id {
        Id::from(self.addrs[usize::from(self.observer.topo.id(party))])
    }

    /// The party whose socket `src` is, if any.
    fn party_at(&self, src: Id) -> Option<Party> {
        let ix = self.addrs.iter().position(|a| Id::from(*a) == src)?;
        Some(self.observer.topo.party(Id::from(ix)))
    }

    fn post(&self, envs: Vec<Envelope>, o: &mut Out<Self>) {
        let mut obs = lock(&self.observer.inner);
        for env in envs {
            obs.journal().sent(&env);
            let Fate::Sent { copies, held: hold } = lock(&self.coin).fate(self.faults, true) else {
                obs.journal().fault(Fault::Lost, &env);
                continue;
            };
            if copies > 1 {
                obs.journal().fault(Fault::Duplicated, &env);
            }
            let withhold = *lock(&self.withholding);
            for _ in 0..copies {
                obs.in_flight.push(env.clone());
                if withhold {
                    obs.withheld.push(env.clone());
                } else if hold {
                    lock(&self.held).push(env.clone());
                } else {
                    o.send(self.id_of(env.to), Wire::Deliver(env.clone()));
                }
            }
            if hold {
                obs.journal().fault(Fault::Reordered, &env);
                o.set_timer((), HOLD..HOLD);
            }
        }
    }
}

impl Actor for UdpParty {
    type Msg = Wire;
    type State = u64;
    type Timer = ();
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, _o: &mut Out<Self>) -> u64 {
        0
    }

    fn on_msg(
        &self,
        _id: Id,
        state: &mut std::borrow::Cow<'_, u64>,
        src: Id,
        msg: Wire,
        o: &mut Out<Self>,
    ) {
        *state.to_mut() += 1;
        let from_director = src == self.director;
        let mut node = lock(&self.node);
        let result = match msg {
            Wire::Deliver(env) => {
                // A datagram from no party's socket (the director, a stranger) is nobody's
                // message; one addressed to another party is not this party's.
                let Some(sender) = self.party_at(src) else {
                    return;
                };
                let mut obs = lock(&self.observer.inner);
                if let Some(i) = obs.in_flight.iter().position(|e| *e == env) {
                    obs.in_flight.remove(i);
                }
                if env.to != self.party {
                    obs.last_change = Instant::now();
                    return;
                }
                if self.party == Party::Intruder {
                    obs.seen.push(env.clone());
                }
                // The sender is who the socket says, not who the envelope claims; what a
                // datagram from that sender counts for is the model's rule
                // (`jpkisim_model::intruder::unwrap`, inside the node's transition).
                let env = Envelope {
                    from: sender,
                    ..env
                };
                obs.busy += 1;
                obs.journal().delivered(&env);
                drop(obs);
                node.deliver(&env)
            }
            Wire::Choose(choice) if from_director => {
                let mut obs = lock(&self.observer.inner);
                obs.commands = obs.commands.saturating_sub(1);
                obs.journal()
                    .record(jpkisim_traces::Event::choice(self.party, choice));
                obs.busy += 1;
                drop(obs);
                node.choose(choice)
            }
            Wire::Withhold(on) if from_director && self.party == Party::Intruder => {
                *lock(&self.withholding) = on;
                let mut obs = lock(&self.observer.inner);
                if !on {
                    for env in std::mem::take(&mut obs.withheld) {
                        o.send(self.id_of(env.to), Wire::Deliver(env));
                    }
                }
                obs.commands = obs.commands.saturating_sub(1);
                obs.last_change = Instant::now();
                return;
            }
            Wire::Inject(env) if from_director && self.party == Party::Intruder => {
                let mut obs = lock(&self.observer.inner);
                // Recorded as what it is: the intruder sends (whatever the envelope claims).
                obs.journal().sent(&Envelope {
                    from: Party::Intruder,
                    ..env.clone()
                });
                obs.in_flight.push(env.clone());
                obs.commands = obs.commands.saturating_sub(1);
                o.send(self.id_of(env.to), Wire::Deliver(env));
                return;
            }
            // A command from anyone but the director, or one this party does not take.
            Wire::Choose(_) | Wire::Withhold(_) | Wire::Inject(_) => return,
        };
        match result {
            Ok(out) => {
                {
                    let mut obs = lock(&self.observer.inner);
                    self.observer
                        .stepped(&mut obs, self.party, node.state.clone());
                }
                self.post(out, o);
            }
            Err(d) => {
                let mut obs = lock(&self.observer.inner);
                self.observer.diverged(&mut obs, d);
            }
        }
        let mut obs = lock(&self.observer.inner);
        obs.busy = obs.busy.saturating_sub(1);
        obs.last_change = Instant::now();
    }

    fn on_timeout(
        &self,
        _id: Id,
        _state: &mut std::borrow::Cow<'_, u64>,
        _timer: &(),
        o: &mut Out<Self>,
    ) {
        for env in lock(&self.held).drain(..) {
            o.send(self.id_of(env.to), Wire::Deliver(env));
        }
    }
}

/// Free UDP ports on 127.0.0.1, one per party (the sockets are closed again for Stateright to
/// bind; another process could take one in between, which `spawn` reports by panicking its
/// thread and the run by not settling).
fn free_addrs(n: usize) -> std::io::Result<Vec<SocketAddrV4>> {
    let sockets = (0..n)
        .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    sockets
        .iter()
        .map(|s| match s.local_addr()? {
            std::net::SocketAddr::V4(a) => Ok(a),
            std::net::SocketAddr::V6(_) => Err(std::io::Error::other("IPv6 address")),
        })
        .collect()
}

/// A run over UDP, driven from its own socket (the director): takes parties' choices, has the
/// intruder withhold and inject datagrams, waits until the network is quiet, and reads the
/// world back from the observer. [`play`] drives a scenario with it; tests drive it directly.
pub struct UdpWorld {
    socket: UdpSocket,
    addrs: Vec<SocketAddrV4>,
    observer: Arc<Observer>,
    settle_timeout: Duration,
}

impl std::fmt::Debug for UdpWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpWorld")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

fn transport(e: impl Into<TransportError>) -> RunError {
    RunError::Transport(e.into())
}

impl UdpWorld {
    /// Provisions every party of `cfg` (with the faults' network semantics) from `seed` and
    /// starts each as a Stateright actor on its own socket. `stream` names the run's fault
    /// coins. The actors' threads keep running (Stateright's `spawn` never returns) but go quiet
    /// once nothing is sent; their sockets close when the process exits.
    pub fn start(
        cfg: Config,
        seed: u64,
        faults: Faults,
        stream: &str,
    ) -> Result<UdpWorld, RunError> {
        let cfg = faults.apply_to(cfg);
        let topo = Topology::of(&cfg);
        let parties = topo.parties();
        let nodes = provision(cfg, seed)?;
        // The director's socket first, so it cannot take a port handed to a party.
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(transport)?;
        let director = match socket.local_addr().map_err(transport)? {
            std::net::SocketAddr::V4(a) => Id::from(a),
            std::net::SocketAddr::V6(_) => {
                return Err(transport(std::io::Error::other("IPv6 address")))
            }
        };
        let addrs = free_addrs(parties.len()).map_err(transport)?;
        let observer = Arc::new(Observer {
            cfg,
            topo,
            inner: Mutex::new(Observed {
                states: nodes.iter().map(|n| n.state.clone()).collect(),
                in_flight: Vec::new(),
                journal: Journal::default(),
                error: None,
                last_change: Instant::now(),
                busy: 0,
                commands: 0,
                withheld: Vec::new(),
                seen: Vec::new(),
            }),
        });
        let actors: Vec<(SocketAddrV4, UdpParty)> = nodes
            .into_iter()
            .zip(&addrs)
            .map(|(node, addr)| {
                let party = node.party();
                let coin = FaultCoin::new(seed, &format!("faults/{stream}/{party}"));
                (
                    *addr,
                    UdpParty {
                        party,
                        node: Mutex::new(node),
                        addrs: addrs.clone(),
                        director,
                        withholding: Mutex::new(false),
                        observer: Arc::clone(&observer),
                        faults,
                        coin: Mutex::new(coin),
                        held: Mutex::new(Vec::new()),
                    },
                )
            })
            .collect();
        std::thread::Builder::new()
            .name("jpkisim-udp".into())
            .spawn(move || {
                let _ = stateright::actor::spawn(
                    serde_json::to_vec,
                    |b: &[u8]| serde_json::from_slice(b),
                    |_: &()| Ok(Vec::new()),
                    |_: &[u8]| Ok(()),
                    actors,
                );
            })
            .map_err(transport)?;
        // Give the actor threads a moment to bind their sockets.
        std::thread::sleep(Duration::from_millis(100));
        Ok(UdpWorld {
            socket,
            addrs,
            observer,
            settle_timeout: Duration::from_secs(30),
        })
    }

    /// The choices the model offers `party` in the state the observer last saw.
    fn choices(&self, party: Party) -> Vec<PartyChoice> {
        let obs = lock(&self.observer.inner);
        let ix = usize::from(self.observer.topo.id(party));
        let actor = PartyActor {
            party,
            cfg: self.observer.cfg,
        };
        actor.choices(&obs.states[ix])
    }

    fn check(&self) -> Result<(), RunError> {
        match &lock(&self.observer.inner).error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Sends a director command to `party`'s socket.
    fn command(&self, party: Party, wire: &Wire) -> Result<(), RunError> {
        let bytes =
            serde_json::to_vec(wire).map_err(|e| transport(TransportError::Encode(Arc::new(e))))?;
        let to = self.addrs[usize::from(self.observer.topo.id(party))];
        lock(&self.observer.inner).commands += 1;
        self.socket.send_to(&bytes, to).map_err(transport)?;
        Ok(())
    }

    /// `party`'s model state as the observer last saw it.
    pub fn party_state(&self, party: Party) -> PartyState {
        let ix = usize::from(self.observer.topo.id(party));
        lock(&self.observer.inner).states[ix].clone()
    }

    /// Every envelope the intruder received so far, with its real bytes.
    pub fn seen(&self) -> Vec<Envelope> {
        lock(&self.observer.inner).seen.clone()
    }

    /// The trace and log so far.
    pub fn journal(&self) -> Journal {
        lock(&self.observer.inner).journal.clone()
    }

    /// Has the intruder withhold what it relays (`true`) or release it (`false`), and waits
    /// until the network is quiet again.
    pub fn withhold(&mut self, on: bool) -> Result<(), RunError> {
        self.command(Party::Intruder, &Wire::Withhold(on))?;
        Driver::settle(self)
    }

    /// Has the intruder send `env` from its own socket to `env.to`, and waits until the network
    /// is quiet again (the receiver took its step; what it sent in turn went on, or is withheld).
    pub fn inject(&mut self, env: Envelope) -> Result<(), RunError> {
        self.command(Party::Intruder, &Wire::Inject(env))?;
        Driver::settle(self)
    }
}

impl Driver for UdpWorld {
    fn choose(&mut self, party: Party, choice: PartyChoice) -> Result<(), RunError> {
        let enabled = self.choices(party);
        if !enabled.contains(&choice) {
            return Err(RunError::NotEnabled {
                step: lock(&self.observer.inner).journal.seq(),
                party,
                choice,
                enabled,
            });
        }
        lock(&self.observer.inner)
            .journal
            .log
            .push(format!("{party} chooses {choice:?}"));
        // The choice itself is in flight until the party records it.
        let before = lock(&self.observer.inner).journal.seq();
        self.command(party, &Wire::Choose(choice))?;
        let deadline = Instant::now() + self.settle_timeout;
        while lock(&self.observer.inner).journal.seq() == before {
            if Instant::now() > deadline {
                return Err(transport(TransportError::ChoiceNotReceived));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.check()
    }

    fn enabled(&self, party: Party, choice: PartyChoice) -> bool {
        self.choices(party).contains(&choice)
    }

    fn settle(&mut self) -> Result<(), RunError> {
        let deadline = Instant::now() + self.settle_timeout;
        loop {
            self.check()?;
            {
                let obs = lock(&self.observer.inner);
                let quiet = obs.last_change.elapsed() > Duration::from_millis(20);
                // What the intruder withholds stays in flight on purpose.
                let moving = obs.in_flight.len() - obs.withheld.len().min(obs.in_flight.len());
                if moving == 0 && obs.busy == 0 && obs.commands == 0 && quiet {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(RunError::NoQuiescence(
                    lock(&self.observer.inner).in_flight.len(),
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn model_state(&self) -> JpkiState {
        let obs = lock(&self.observer.inner);
        self.observer.model_state(&obs)
    }

    fn note(&mut self, line: String) {
        lock(&self.observer.inner).journal.log.push(line);
    }

    fn config(&self) -> Config {
        self.observer.cfg
    }
}

/// A finished UDP run.
#[derive(Debug)]
pub struct UdpRun {
    /// The configuration it ran (with the faults' network semantics).
    pub config: Config,
    /// The recorded trace and the readable log.
    pub journal: Journal,
    /// How it ended.
    pub result: Result<ScenarioOutcome, PlayError>,
}

/// Plays `scenario` over UDP.
pub fn play(scenario: &Scenario, seed: u64, faults: Faults) -> Result<UdpRun, RunError> {
    let mut world = UdpWorld::start(scenario.config, seed, faults, scenario.name)?;
    let result = scenario::play(scenario, &mut world, faults);
    let obs = lock(&world.observer.inner);
    Ok(UdpRun {
        config: world.observer.cfg,
        journal: obs.journal.clone(),
        result,
    })
}

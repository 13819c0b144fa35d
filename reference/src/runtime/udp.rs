//! The UDP runtime: every party a Stateright actor (`stateright::actor::spawn`) with its own UDP
//! socket on 127.0.0.1, speaking [`Wire`] messages (serde JSON) that carry the model message and
//! its artifacts. The parties run exactly the [`Node`] code of the in-process runtime.
//!
//! A scenario is driven by a director on its own socket, which sends an applicant
//! [`Wire::Choose`] and waits until the network is quiet. An observer shared by the actors (they
//! run in one process) records the trace, tracks what is in flight and checks every applicable
//! safety property on the global state after every step — the observer carries no protocol
//! traffic. Faults are injected at the sender: loss and duplication by the seeded coin of the
//! in-process runtime, reordering by holding a message back on a Stateright timer. Keys, blinding
//! and fault decisions come from the seed; the interleaving is the operating system's, so a UDP
//! run is not replayable event for event (the in-process runtime is).

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
    /// The director asks an applicant to take a choice.
    Choose(PartyChoice),
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
            for _ in 0..copies {
                obs.in_flight.push(env.clone());
                if hold {
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
        let mut node = lock(&self.node);
        let result = match msg {
            Wire::Deliver(env) => {
                // The sender is who the socket says, not who the envelope claims.
                if env.to != self.party || src != self.id_of(env.from) {
                    return;
                }
                {
                    let mut obs = lock(&self.observer.inner);
                    if let Some(i) = obs.in_flight.iter().position(|e| *e == env) {
                        obs.in_flight.remove(i);
                    }
                    obs.busy += 1;
                    obs.journal().delivered(&env);
                }
                node.deliver(&env)
            }
            Wire::Choose(choice) => {
                let mut obs = lock(&self.observer.inner);
                obs.journal()
                    .record(jpkisim_traces::Event::choice(self.party, choice));
                obs.busy += 1;
                drop(obs);
                node.choose(choice)
            }
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

/// Drives a scenario over the actors' sockets.
struct Director {
    socket: UdpSocket,
    addrs: Vec<SocketAddrV4>,
    observer: Arc<Observer>,
    /// The applicants' choices as the model offers them, mirrored from the observer.
    settle_timeout: Duration,
}

fn transport(e: impl Into<TransportError>) -> RunError {
    RunError::Transport(e.into())
}

impl Director {
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
}

impl Driver for Director {
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
        let bytes = serde_json::to_vec(&Wire::Choose(choice))
            .map_err(|e| transport(TransportError::Encode(Arc::new(e))))?;
        let to = self.addrs[usize::from(self.observer.topo.id(party))];
        // The choice itself is in flight until the applicant records it.
        let before = lock(&self.observer.inner).journal.seq();
        self.socket.send_to(&bytes, to).map_err(transport)?;
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
                if obs.in_flight.is_empty() && obs.busy == 0 && quiet {
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

/// Plays `scenario` over UDP. The actors' threads keep running (Stateright's `spawn` never
/// returns) but go quiet once the scenario ends; their sockets close when the process exits.
pub fn play(scenario: &Scenario, seed: u64, faults: Faults) -> Result<UdpRun, RunError> {
    let cfg = faults.apply_to(scenario.config);
    let topo = Topology::of(&cfg);
    let parties = topo.parties();
    let nodes = provision(cfg, seed)?;
    // The director's socket first, so it cannot take a port handed to a party.
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(transport)?;
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
        }),
    });
    let actors: Vec<(SocketAddrV4, UdpParty)> = nodes
        .into_iter()
        .zip(&addrs)
        .map(|(node, addr)| {
            let party = node.party();
            let coin = FaultCoin::new(seed, &format!("faults/{}/{party}", scenario.name));
            (
                *addr,
                UdpParty {
                    party,
                    node: Mutex::new(node),
                    addrs: addrs.clone(),
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
    let mut director = Director {
        socket,
        addrs,
        observer: Arc::clone(&observer),
        settle_timeout: Duration::from_secs(30),
    };
    // Give the actor threads a moment to bind their sockets.
    std::thread::sleep(Duration::from_millis(100));
    let result = scenario::play(scenario, &mut director, faults);
    let obs = lock(&observer.inner);
    Ok(UdpRun {
        config: cfg,
        journal: obs.journal.clone(),
        result,
    })
}

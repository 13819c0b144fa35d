//! The processes runtime: every party its own OS process (`jpkisim node`), each with its own UDP
//! socket on 127.0.0.1 and — the CA, the SP-TSM and the SE-TSM — its own SQLite database, and a
//! director that is the run's network and can kill any durable party with SIGKILL.
//!
//! The director schedules exactly as the in-process runtime does (first in, first out, or the
//! seeded reorder coin; patient timers fired once nothing is in flight) and records the same
//! trace, but every step is taken in a party process: the director sends it the step
//! ([`protocol::ToParty::Step`]) and waits for its answer, which carries the party's new state and
//! the messages it sends (sealed, with their real bytes). The director therefore sees every
//! state, checks every applicable safety property after every step, and holds every message in
//! flight — also those to a party that is down, which is how the model's network treats a
//! crashed actor.
//!
//! With a [`CrashPlan`] the director kills a durable party at seeded points ([`CrashPoint`]),
//! starts it again on its state directory, and records `crash` and `restart` events: the model's
//! `Crash` and `Recover` steps (`jpkisim check --crashes 1`). A party killed during a step may or
//! may not have committed it; its database says which ([`protocol::Restored`]), and what a
//! committed step sent comes back from the outbox it committed with it, so nothing it answered for
//! is lost. At the end ([`ProcessWorld::finish`]) the director stops every process and audits
//! the databases ([`Audit`]).

pub mod crash;
pub mod party;
pub mod protocol;

use std::fs::{self, OpenOptions};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jpkisim_model::actors::{JpkiState, PartyActor, PartyChoice, PartyState};
use jpkisim_model::ids::Party;
use jpkisim_model::recovery::{self, PartyTimer};
use jpkisim_model::world::World;
use jpkisim_model::{Config, Topology};

pub use crash::{Crash, CrashPlan, CrashPoint};
use protocol::{DatagramError, Durable, FromParty, Input, PeerEntry, Peers, Restored, ToParty};

use super::{observe, FaultCoin, Faults, Journal, RunError};
use crate::scenario::{self, Driver, PlayError, Scenario, ScenarioOutcome};
use crate::store::{PartyStore, StoreError, DURABLE_PARTIES};
use crate::wire::{Artifact, Envelope};

/// Why the processes runtime failed (not the protocol: the processes and their sockets).
#[derive(Clone, Debug, thiserror::Error)]
pub enum ProcessError {
    /// A party process could not be started.
    #[error("cannot start {party}'s process ({program}): {source}")]
    Spawn {
        /// Who.
        party: Party,
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A party process did not answer in time.
    #[error("{party} did not answer within {waited:?} (its log: {})", log.display())]
    NoAnswer {
        /// Who.
        party: Party,
        /// How long the director waited.
        waited: Duration,
        /// The process's stdout and stderr.
        log: PathBuf,
    },
    /// A party process could not take a step as the model takes it.
    #[error("{party} failed step {step}: {reason}")]
    StepFailed {
        /// Who.
        party: Party,
        /// The step's number.
        step: u64,
        /// Why, as the party process put it.
        reason: String,
    },
    /// A datagram could not be sent or received.
    #[error(transparent)]
    Datagram(#[from] DatagramError),
    /// The run's directory or peers file could not be written.
    #[error(transparent)]
    Peers(#[from] protocol::PeersError),
    /// A database could not be read back for the audit.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ProcessError> for RunError {
    fn from(e: ProcessError) -> Self {
        RunError::Processes(e)
    }
}

/// How long a party process may take to start (it derives its keys from the seed) and to
/// answer one step (an SE generates an RSA-2048 key in its applet).
const START_WAIT: Duration = Duration::from_secs(300);
const STEP_WAIT: Duration = Duration::from_secs(120);

/// A run whose parties are OS processes, driven by this director.
pub struct ProcessWorld {
    cfg: Config,
    topo: Topology,
    program: PathBuf,
    dir: PathBuf,
    peers_file: PathBuf,
    socket: UdpSocket,
    entries: Vec<PeerEntry>,
    children: Vec<Option<Child>>,
    states: Vec<PartyState>,
    in_flight: Vec<Envelope>,
    coin: FaultCoin,
    faults: Faults,
    /// The recorded trace and the readable log.
    pub journal: Journal,
    step: u64,
    plan: CrashPlan,
    crashes: Vec<Crash>,
}

impl std::fmt::Debug for ProcessWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessWorld")
            .field("dir", &self.dir)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl Drop for ProcessWorld {
    /// A world dropped before [`ProcessWorld::finish`] (an error) leaves no process behind.
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn io(e: std::io::Error) -> ProcessError {
    ProcessError::Datagram(DatagramError::Io(Arc::new(e)))
}

/// One free UDP port on 127.0.0.1 (closed again for the party process to bind).
fn free_addr() -> Result<SocketAddrV4, ProcessError> {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io)?;
    match s.local_addr().map_err(io)? {
        SocketAddr::V4(a) => Ok(a),
        SocketAddr::V6(_) => Err(io(std::io::Error::other("IPv6 address"))),
    }
}

impl ProcessWorld {
    /// Starts every party of `cfg` (with the faults' network semantics, and crashes when the
    /// plan has any) as `program node --party NAME --state-dir DIR --peers DIR/peers.json`,
    /// each process's output in `DIR/NAME.log`, and waits until every one is up. `dir` must hold
    /// no state from an earlier run.
    pub fn start(
        cfg: Config,
        seed: u64,
        faults: Faults,
        stream: &str,
        program: &Path,
        dir: &Path,
        plan: CrashPlan,
    ) -> Result<ProcessWorld, RunError> {
        let mut cfg = faults.apply_to(cfg);
        if plan.any() {
            cfg.crashes = cfg.crashes.max(1);
        }
        let topo = Topology::of(&cfg);
        crate::store::StateDir::check_fresh(dir)
            .map_err(|source| RunError::Store { step: 0, source })?;
        fs::create_dir_all(dir).map_err(|e| {
            ProcessError::Peers(protocol::PeersError::Io {
                file: dir.to_path_buf(),
                what: "create the state directory",
                source: Arc::new(e),
            })
        })?;
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io)?;
        let director = match socket.local_addr().map_err(io)? {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => return Err(io(std::io::Error::other("IPv6 address")).into()),
        };
        let entries = topo
            .parties()
            .into_iter()
            .map(|party| {
                Ok(PeerEntry {
                    name: protocol::party_name(party),
                    party,
                    addr: free_addr()?,
                })
            })
            .collect::<Result<Vec<_>, ProcessError>>()?;
        let peers = Peers {
            config: cfg,
            seed,
            director,
            parties: entries.clone(),
        };
        let peers_file = dir.join("peers.json");
        peers.write(&peers_file).map_err(ProcessError::from)?;
        let n = entries.len();
        let mut world = ProcessWorld {
            cfg,
            topo,
            program: program.to_path_buf(),
            dir: dir.to_path_buf(),
            peers_file,
            socket,
            entries,
            children: (0..n).map(|_| None).collect(),
            states: Vec::new(),
            in_flight: Vec::new(),
            coin: FaultCoin::new(seed, &format!("schedule/{stream}")),
            faults,
            journal: Journal::default(),
            step: 0,
            plan,
            crashes: Vec::new(),
        };
        for ix in 0..n {
            world.spawn(ix)?;
        }
        let mut states: Vec<Option<PartyState>> = vec![None; n];
        let deadline = Instant::now() + START_WAIT;
        while states.iter().any(Option::is_none) {
            let Some((ix, answer)) = world.next_answer(deadline)? else {
                let ix = states.iter().position(Option::is_none).unwrap_or(0);
                return Err(world.no_answer(ix, START_WAIT).into());
            };
            if let FromParty::Ready { state, .. } = answer {
                states[ix] = Some(state);
            }
        }
        world.states = states.into_iter().flatten().collect();
        Ok(world)
    }

    fn log_file(&self, ix: usize) -> PathBuf {
        self.dir.join(format!("{}.log", self.entries[ix].name))
    }

    fn spawn(&mut self, ix: usize) -> Result<(), ProcessError> {
        let entry = &self.entries[ix];
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file(ix))
            .map_err(io)?;
        let log2 = log.try_clone().map_err(io)?;
        let child = Command::new(&self.program)
            .arg("node")
            .arg("--party")
            .arg(&entry.name)
            .arg("--state-dir")
            .arg(&self.dir)
            .arg("--peers")
            .arg(&self.peers_file)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .map_err(|e| ProcessError::Spawn {
                party: entry.party,
                program: self.program.display().to_string(),
                source: Arc::new(e),
            })?;
        self.children[ix] = Some(child);
        Ok(())
    }

    fn no_answer(&self, ix: usize, waited: Duration) -> ProcessError {
        ProcessError::NoAnswer {
            party: self.entries[ix].party,
            waited,
            log: self.log_file(ix),
        }
    }

    /// The next answer from any party process before `deadline` (datagrams from elsewhere, and
    /// bytes that are no answer, are ignored).
    fn next_answer(&self, deadline: Instant) -> Result<Option<(usize, FromParty)>, ProcessError> {
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Ok(None);
            };
            let Some(got) = protocol::receive::<FromParty>(&self.socket, Some(left))? else {
                return Ok(None);
            };
            let from = got.from;
            let Some(ix) = self
                .entries
                .iter()
                .position(|e| SocketAddr::V4(e.addr) == from)
            else {
                continue;
            };
            if let Some(answer) = got.value {
                return Ok(Some((ix, answer)));
            }
        }
    }

    fn ix(&self, party: Party) -> usize {
        usize::from(self.topo.id(party))
    }

    /// Kills `party`'s process (SIGKILL) and waits until it is gone.
    fn kill(&mut self, ix: usize) {
        if let Some(mut child) = self.children[ix].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts `party`'s process again on its state directory and waits until it is up: what its
    /// database held, and the state it restarted in.
    fn restart(&mut self, ix: usize) -> Result<(Option<Restored>, PartyState), ProcessError> {
        self.spawn(ix)?;
        let deadline = Instant::now() + START_WAIT;
        loop {
            match self.next_answer(deadline)? {
                None => return Err(self.no_answer(ix, START_WAIT)),
                Some((
                    i,
                    FromParty::Ready {
                        state, restored, ..
                    },
                )) if i == ix => return Ok((restored, state)),
                // A late answer of the killed process, or of nobody's step now.
                Some(_) => continue,
            }
        }
    }

    /// Records the crash and the restart of `party` and takes its restarted state.
    fn crashed_and_restarted(
        &mut self,
        party: Party,
        point: CrashPoint,
        committed: Option<bool>,
        state: PartyState,
    ) -> Result<(), RunError> {
        self.journal.crashed(party);
        self.journal.log.push(format!(
            "    (its process killed with SIGKILL {}{})",
            match point {
                CrashPoint::BeforeStep => "before a step",
                CrashPoint::DuringStep => "during a step",
                CrashPoint::AfterStep => "after a step",
            },
            match committed {
                Some(true) => ", which it had already committed",
                Some(false) => ", which it had not committed: the step did not happen",
                None => "",
            }
        ));
        self.crashes.push(Crash {
            party,
            point,
            event: self.journal.seq(),
            committed,
        });
        self.journal.restarted(party);
        let ix = self.ix(party);
        self.states[ix] = state;
        self.check()
    }

    fn record_input(&mut self, party: Party, input: &Input) {
        match input {
            Input::Deliver(env) => self.journal.delivered(env),
            Input::Choose(choice) => self.journal.chose(party, *choice),
            Input::Fire(timer) => self.journal.timed_out(party, *timer),
        }
    }

    fn post(&mut self, envs: Vec<Envelope>) {
        super::post(
            &mut self.journal,
            &mut self.coin,
            self.faults,
            &mut self.in_flight,
            envs,
        );
    }

    fn check(&self) -> Result<(), RunError> {
        match observe::violated(&self.cfg, &self.model_state()) {
            None => Ok(()),
            Some(p) => Err(RunError::Violated {
                step: self.journal.seq(),
                property: p.id,
                summary: p.summary,
            }),
        }
    }

    /// Has `party` take a step, crashing it where the plan says. `Ok(false)`: the party was
    /// killed before it committed the step, which therefore did not happen.
    fn take(&mut self, party: Party, input: Input) -> Result<bool, RunError> {
        let ix = self.ix(party);
        let point = if recovery::crashable(party) && !matches!(input, Input::Choose(_)) {
            self.plan.strike()
        } else {
            None
        };
        if point == Some(CrashPoint::BeforeStep) {
            self.kill(ix);
            let (_, state) = self.restart(ix)?;
            self.crashed_and_restarted(party, CrashPoint::BeforeStep, None, state)?;
            // The timer that was to fire may not be armed in the restarted state.
            if let Input::Fire(timer) = input {
                if !recovery::armed(&self.cfg, &self.states[ix]).contains(&timer) {
                    return Ok(false);
                }
            }
        }
        self.step += 1;
        let step = self.step;
        let to = self.entries[ix].addr;
        protocol::send(
            &self.socket,
            to,
            &ToParty::Step {
                step,
                input: input.clone(),
            },
        )
        .map_err(ProcessError::from)?;
        if point == Some(CrashPoint::DuringStep) {
            std::thread::sleep(self.plan.kill_delay());
            self.kill(ix);
            let (restored, state) = self.restart(ix)?;
            let committed = restored.as_ref().is_some_and(|r| r.step == step);
            if let (true, Some(r)) = (committed, restored) {
                self.record_input(party, &input);
                self.states[ix] = r.stored;
                self.post(r.outbox);
                self.check()?;
            }
            self.crashed_and_restarted(party, CrashPoint::DuringStep, Some(committed), state)?;
            return Ok(committed);
        }
        let deadline = Instant::now() + STEP_WAIT;
        let (state, out) = loop {
            match self.next_answer(deadline)? {
                None => return Err(self.no_answer(ix, STEP_WAIT).into()),
                Some((
                    i,
                    FromParty::Stepped {
                        step: s,
                        state,
                        out,
                    },
                )) if i == ix && s == step => break (state, out),
                Some((i, FromParty::Failed { step: s, reason })) if i == ix && s == step => {
                    return Err(ProcessError::StepFailed {
                        party,
                        step,
                        reason,
                    }
                    .into())
                }
                Some(_) => continue,
            }
        };
        self.record_input(party, &input);
        self.states[ix] = state;
        self.post(out);
        self.check()?;
        if point == Some(CrashPoint::AfterStep) {
            self.kill(ix);
            let (_, state) = self.restart(ix)?;
            self.crashed_and_restarted(party, CrashPoint::AfterStep, None, state)?;
        }
        Ok(true)
    }

    /// Delivers the in-flight message at `index` (it stays in flight if the receiver is killed
    /// before it takes it).
    fn deliver(&mut self, index: usize) -> Result<(), RunError> {
        if index >= self.in_flight.len() {
            return Ok(());
        }
        let env = self.in_flight.remove(index);
        let to = env.to;
        if !self.take(to, Input::Deliver(env.clone()))? {
            self.in_flight.insert(index, env);
        }
        Ok(())
    }

    /// Every party's armed timers, in actor order.
    fn armed_timers(&self) -> Vec<(Party, PartyTimer)> {
        self.states
            .iter()
            .enumerate()
            .flat_map(|(ix, s)| {
                let party = self.topo.party(stateright::actor::Id::from(ix));
                recovery::armed(&self.cfg, s)
                    .into_iter()
                    .map(move |t| (party, t))
            })
            .collect()
    }

    /// The crashes injected so far.
    pub fn crashes(&self) -> &[Crash] {
        &self.crashes
    }

    /// The configuration (with the faults' network semantics and the plan's crashes).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The run's state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops every party process and audits what their databases hold ([`Audit`]).
    pub fn finish(mut self) -> Result<Audit, RunError> {
        for ix in 0..self.entries.len() {
            if self.children[ix].is_some() {
                // A process that does not hear the exit is killed below.
                let _ = protocol::send(&self.socket, self.entries[ix].addr, &ToParty::Exit);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for ix in 0..self.entries.len() {
            if let Some(child) = self.children[ix].as_mut() {
                while Instant::now() < deadline {
                    match child.try_wait() {
                        Ok(Some(_)) | Err(_) => break,
                        Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            }
            self.kill(ix);
        }
        audit(&self.cfg, &self.dir, &self.states, &self.in_flight)
    }
}

impl Driver for ProcessWorld {
    fn choose(&mut self, party: Party, choice: PartyChoice) -> Result<(), RunError> {
        let ix = self.ix(party);
        let enabled = PartyActor {
            party,
            cfg: self.cfg,
        }
        .choices(&self.states[ix]);
        if !enabled.contains(&choice) {
            return Err(RunError::NotEnabled {
                step: self.journal.seq(),
                party,
                choice,
                enabled,
            });
        }
        self.take(party, Input::Choose(choice)).map(|_| ())
    }

    fn enabled(&self, party: Party, choice: PartyChoice) -> bool {
        PartyActor {
            party,
            cfg: self.cfg,
        }
        .choices(&self.states[self.ix(party)])
        .contains(&choice)
    }

    /// As the in-process runtime settles: deliver until nothing is in flight, then fire the
    /// first armed timer, until the network is idle and no timer is armed.
    fn settle(&mut self) -> Result<(), RunError> {
        const BOUND: usize = 10_000;
        for _ in 0..BOUND {
            if self.in_flight.is_empty() {
                match self.armed_timers().first() {
                    None => return Ok(()),
                    Some(&(party, timer)) => {
                        self.take(party, Input::Fire(timer))?;
                        continue;
                    }
                }
            }
            let all: Vec<usize> = (0..self.in_flight.len()).collect();
            let ix = super::next_delivery(
                &mut self.journal,
                &mut self.coin,
                self.faults,
                &self.in_flight,
                &all,
            );
            self.deliver(ix)?;
        }
        Err(RunError::NoQuiescence(BOUND))
    }

    fn model_state(&self) -> JpkiState {
        observe::model_state(&self.cfg, &self.states, &self.in_flight)
    }

    fn note(&mut self, line: String) {
        self.journal.log.push(line);
    }

    fn config(&self) -> Config {
        self.cfg
    }
}

/// What the durable parties' databases hold at the end of a run, checked against what the run
/// saw: the "nothing lost" of a crash test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    /// Phone certificates the CA's database records.
    pub phone_certificates: usize,
    /// Of those, live ones on the SE they name.
    pub installed: usize,
    /// Of those, revoked (or suspended, or expired).
    pub not_live: usize,
    /// Certificates (card and phone) whose X.509 DER the CA's database holds.
    pub ders: usize,
    /// Whether the world read back from the databases is settled (nothing in flight, no timer
    /// armed): where the quiescence properties say something.
    pub settled: bool,
    /// Everything found lost or wrong, in words; empty when nothing was lost.
    pub problems: Vec<String>,
}

impl Audit {
    /// Whether nothing was lost.
    pub fn nothing_lost(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads the durable parties' databases under `dir` and checks them against the parties'
/// last states as the run saw them (`states`, actor order) with `in_flight`: each database holds
/// the state its party last answered for; every phone certificate the CA recorded has its DER
/// in the CA's database; no application has two certificates; and, on the world read back from
/// the databases, every live certificate is on the SE it names (the quiescence properties, which
/// say something only where that world is settled).
pub fn audit(
    cfg: &Config,
    dir: &Path,
    states: &[PartyState],
    in_flight: &[Envelope],
) -> Result<Audit, RunError> {
    let topo = Topology::of(cfg);
    let mut audit = Audit::default();
    let mut disk = states.to_vec();
    let mut ca_ders: Vec<Artifact> = Vec::new();
    for party in DURABLE_PARTIES {
        let store_err = |source| RunError::Store { step: 0, source };
        let Some(store) = PartyStore::open_existing(dir, party).map_err(store_err)? else {
            audit.problems.push(format!("{party} has no database"));
            continue;
        };
        let Some((_, durable)) = store.load::<Durable>().map_err(store_err)? else {
            audit
                .problems
                .push(format!("{party}'s database holds no state"));
            continue;
        };
        let ix = usize::from(topo.id(party));
        if recovery::restart(&durable.state) != recovery::restart(&states[ix]) {
            audit.problems.push(format!(
                "{party}'s database ({}) holds another state than the one it last answered for",
                store.file().display()
            ));
        }
        disk[ix] = durable.state;
        if party == Party::Ca {
            ca_ders = durable.backend.artifacts;
        }
    }
    let state = observe::model_state(cfg, &disk, in_flight);
    if let (Some(w), PartyState::Ca(ca)) =
        (World::of(&state), &disk[usize::from(topo.id(Party::Ca))])
    {
        audit.settled = w.settled(cfg);
        for r in &ca.certs {
            let has_der = ca_ders
                .iter()
                .any(|a| matches!(a, Artifact::Certificate { cert, .. } if *cert == r.cert));
            if has_der {
                audit.ders += 1;
            }
            let Some(se) = r.se() else { continue };
            audit.phone_certificates += 1;
            if !has_der {
                audit.problems.push(format!(
                    "the CA's database records certificate serial {} but not its DER",
                    r.cert.serial.0
                ));
            }
            if !r.status().is_live() {
                audit.not_live += 1;
            } else if w.se(se).is_some_and(|s| s.cert == Some(r.cert)) {
                audit.installed += 1;
            }
        }
    }
    let ids = [
        "one_certificate_per_application",
        "issued_certificates_accounted",
        "issuance_settles",
        "no_se_half_personalised",
    ];
    for id in ids {
        if let Some(p) = jpkisim_properties::catalogue::by_id(id) {
            if (p.applies)(cfg).is_ok() && !p.holds_in(cfg, &state) {
                audit.problems.push(format!(
                    "`{id}` fails on the world read back from the databases"
                ));
            }
        }
    }
    Ok(audit)
}

/// A finished processes run.
#[derive(Debug)]
pub struct ProcessRun {
    /// The configuration it ran.
    pub config: Config,
    /// The recorded trace and the readable log.
    pub journal: Journal,
    /// The crashes it injected.
    pub crashes: Vec<Crash>,
    /// Every party's last state as the director saw it (actor order).
    pub states: Vec<PartyState>,
    /// What was still in flight at the end.
    pub in_flight: Vec<Envelope>,
    /// The audit of the databases (`None` if the run broke before it).
    pub audit: Option<Audit>,
    /// How it ended.
    pub result: Result<ScenarioOutcome, PlayError>,
}

/// Plays `scenario` with every party a process of `program`, under `dir`, with `plan`'s crashes.
pub fn play(
    scenario: &Scenario,
    seed: u64,
    faults: Faults,
    program: &Path,
    dir: &Path,
    plan: CrashPlan,
) -> Result<ProcessRun, RunError> {
    let mut world = ProcessWorld::start(
        scenario.config,
        seed,
        faults,
        scenario.name,
        program,
        dir,
        plan,
    )?;
    let result = scenario::play(scenario, &mut world, faults);
    let config = world.cfg;
    let journal = world.journal.clone();
    let crashes = world.crashes.clone();
    let states = world.states.clone();
    let in_flight = world.in_flight.clone();
    let audit = match &result {
        Ok(_) => Some(world.finish()?),
        Err(_) => None,
    };
    Ok(ProcessRun {
        config,
        journal,
        crashes,
        states,
        in_flight,
        audit,
        result,
    })
}

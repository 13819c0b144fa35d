//! `jpkisim run`: plays the reference implementation's scenarios — the model's own transitions
//! with real RSA, X.509, CRL/OCSP and the emulated applet — on the in-process scheduler or over
//! UDP, prints a readable log, checks every safety property on every step, and records the trace.
//!
//! The log numbers each step by its event in the recorded trace (`event 12`), the number
//! `conform` and `explore --trace` use. Output paths (`--record`, `--pki-out`, `--state-dir`) are
//! checked before any scenario runs.
//!
//! `--state-dir DIR` keeps the CA's, SP-TSM's and SE-TSM's states in their databases
//! (`jpkisim_reference::store`). A run plays each scenario from a fresh world, so it refuses a
//! directory whose databases already hold a state (exit 2, naming the file) rather than write
//! over an earlier run's record, and a database that is corrupt or truncated stops it the same
//! way before any scenario runs.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jpkisim_model::Topology;
use jpkisim_reference::export;
use jpkisim_reference::runtime::udp;

mod processes;
use jpkisim_reference::runtime::Faults;
use jpkisim_reference::scenario::{self, Scenario, ScenarioOutcome};
use jpkisim_reference::store::StateDir;
use jpkisim_traces::{Event, EventKind, Header, Recorder};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Transport {
    /// Deterministic in-process scheduler.
    Inproc,
    /// Stateright's actor runtime, one UDP socket per party on 127.0.0.1.
    Udp,
    /// Every party its own OS process (`jpkisim node`) with its own UDP socket, the durable
    /// ones with their own database; the director is the network and may kill them (`--crash`).
    Processes,
}

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Scenario name, or `all` (see `--list`).
    #[arg(long, default_value = "all")]
    scenario: String,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Seed of every random choice (keys, blinding, schedule, faults); random if absent. Printed
    /// first, so any run can be replayed.
    #[arg(long)]
    seed: Option<u64>,
    /// How parties talk.
    #[arg(long, value_enum, default_value = "inproc")]
    transport: Transport,
    /// Network faults to inject: any of loss,dup,reorder.
    #[arg(long, default_value = "")]
    faults: String,
    /// Write the trace (NDJSON, docs/trace-format.md): a file for one scenario, a directory
    /// (one `<scenario>.ndjson` each) for `all`.
    #[arg(long, value_name = "PATH")]
    record: Option<PathBuf>,
    /// Write the run's PKI (CA certificate, issued certificates, OCSP answers, final CRL) as
    /// PEM/DER files for openssl: into DIR for one scenario, DIR/<scenario>/ for `all`
    /// (in-process transport).
    #[arg(long, value_name = "DIR")]
    pki_out: Option<PathBuf>,
    /// Keep the CA's, SP-TSM's and SE-TSM's states in SQLite databases in DIR (`ca.db`,
    /// `sp-tsm.db`, `se-tsm.db`; DIR/<scenario>/ for `all`), each saved in a synced transaction
    /// after every step that changes it, before the step's messages leave (in-process
    /// transport). DIR must hold no state from an earlier run; a corrupt database exits 2.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Kill (SIGKILL) the CA's, SP-TSM's or SE-TSM's process at up to N seeded points, spread
    /// over the scenarios, and restart it from its database (`--transport processes`). The run
    /// then follows the model with `--crashes 1` and audits the databases at the end.
    #[arg(long, value_name = "N", default_value_t = 0)]
    crash: u32,
    /// Print only the summary line of each scenario, not the step log.
    #[arg(long)]
    quiet: bool,
}

pub(crate) fn run(args: Args) -> ExitCode {
    if args.pki_out.is_some() && args.transport != Transport::Inproc {
        eprintln!("error: --pki-out is available with --transport inproc only");
        return ExitCode::from(2);
    }
    if args.state_dir.is_some() && args.transport == Transport::Udp {
        eprintln!("error: --state-dir is available with --transport inproc or processes only");
        return ExitCode::from(2);
    }
    if args.crash > 0 && args.transport != Transport::Processes {
        eprintln!(
            "error: --crash needs --transport processes (only there is a party a process to kill)"
        );
        return ExitCode::from(2);
    }
    if args.list {
        for s in scenario::all() {
            println!("{:<24} {}", s.name, s.summary);
        }
        return ExitCode::SUCCESS;
    }
    let faults = match Faults::parse(&args.faults) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --faults: {e}");
            return ExitCode::from(2);
        }
    };
    let chosen: Vec<Scenario> = if args.scenario == "all" {
        scenario::all()
    } else {
        match scenario::by_name(&args.scenario) {
            Some(s) => vec![s],
            None => {
                let names: Vec<_> = scenario::all().iter().map(|s| s.name).collect();
                eprintln!(
                    "error: unknown scenario `{}`: expected all or one of {}",
                    args.scenario,
                    names.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    };
    // Where the results go, before anything runs.
    let checked = match &args.record {
        Some(p) if chosen.len() > 1 => super::output::dir("--record", p),
        Some(p) => super::output::file("--record", p),
        None => Ok(()),
    }
    .and_then(|()| match &args.pki_out {
        Some(p) => super::output::dir("--pki-out", p),
        None => Ok(()),
    })
    .and_then(|()| match &args.state_dir {
        Some(p) => super::output::dir("--state-dir", p).and_then(|()| {
            chosen.iter().try_for_each(|s| {
                StateDir::check_fresh(&per_scenario(p, s, chosen.len() > 1))
                    .map_err(|e| format!("--state-dir: {e}"))
            })
        }),
        None => Ok(()),
    });
    if let Err(e) = checked {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let seed = args.seed.unwrap_or_else(random_seed);
    println!("seed: {seed}  (replay with --seed {seed})");
    let mut failed = false;
    let mut processes = processes::Tally::new(args.crash, seed, args.state_dir.as_deref());
    for (i, s) in chosen.iter().enumerate() {
        let record_to = match record_path(args.record.as_deref(), s, chosen.len() > 1) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let outcome = match args.transport {
            Transport::Inproc => {
                let many = chosen.len() > 1;
                let pki_dir = args.pki_out.as_ref().map(|d| per_scenario(d, s, many));
                let state_dir = args.state_dir.as_ref().map(|d| per_scenario(d, s, many));
                play_inproc(
                    s,
                    seed,
                    faults,
                    args.quiet,
                    record_to.as_deref(),
                    pki_dir.as_deref(),
                    state_dir.as_deref(),
                )
            }
            Transport::Udp => play_udp(s, seed, faults, args.quiet, record_to.as_deref()),
            Transport::Processes => processes.play(
                s,
                chosen.len() - i,
                chosen.len() > 1,
                faults,
                args.quiet,
                record_to.as_deref(),
            ),
        };
        match outcome {
            Ok(line) => println!("{}: {line}", s.name),
            Err(e) => {
                println!("{}: FAILED: {e}", s.name);
                failed = true;
            }
        }
    }
    if args.transport == Transport::Processes {
        failed |= !processes.finish();
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn random_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (t as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

/// The directory of one scenario's output under `dir`: `dir` itself for one scenario,
/// `dir/<scenario>` for `all`.
fn per_scenario(dir: &Path, s: &Scenario, many: bool) -> PathBuf {
    if many {
        dir.join(s.name)
    } else {
        dir.to_path_buf()
    }
}

fn record_path(record: Option<&Path>, s: &Scenario, many: bool) -> Result<Option<PathBuf>, String> {
    let Some(p) = record else { return Ok(None) };
    if !many {
        return Ok(Some(p.to_path_buf()));
    }
    std::fs::create_dir_all(p)
        .map_err(|e| format!("--record {}: cannot create directory: {e}", p.display()))?;
    Ok(Some(p.join(format!("{}.ndjson", s.name))))
}

fn safety_count(cfg: &jpkisim_model::Config) -> usize {
    jpkisim_properties::applicable_safety(cfg).count()
}

fn write_trace(path: &Path, header: &Header, events: &[Event]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("--record {}: {e}", path.display());
    let file = File::create(path).map_err(fail)?;
    let mut rec = Recorder::new(BufWriter::new(file), header).map_err(fail)?;
    for e in events {
        rec.record_numbered(e).map_err(fail)?;
    }
    rec.into_inner().and_then(|mut w| w.flush()).map_err(fail)
}

fn summary(outcome: &ScenarioOutcome, events: usize, props: usize) -> String {
    match outcome {
        ScenarioOutcome::Completed => format!(
            "completed; {props} safety properties held on every one of {events} events"
        ),
        ScenarioOutcome::StoppedByFaults { step, goal } => format!(
            "stopped at step {step} by injected faults (not reached: {goal}); {props} safety properties held on every one of {events} events"
        ),
    }
}

fn play_inproc(
    s: &Scenario,
    seed: u64,
    faults: Faults,
    quiet: bool,
    record: Option<&Path>,
    pki_out: Option<&Path>,
    state_dir: Option<&Path>,
) -> Result<String, String> {
    let stores = state_dir
        .map(StateDir::open_fresh)
        .transpose()
        .map_err(|e| format!("--state-dir: {e}"))?;
    let run = scenario::run_inproc_with(s, seed, faults, stores).map_err(|e| e.to_string())?;
    if let Some(dir) = pki_out {
        let files = export::write_pki(&run.simulation, dir)
            .map_err(|e| format!("--pki-out {}: {e}", dir.display()))?;
        if !quiet {
            println!("wrote {} PKI files to {}", files.len(), dir.display());
        }
    }
    if !quiet {
        println!("== {} — {}", s.name, s.summary);
        for line in numbered_log(&run.simulation.journal.log, &run.simulation.journal.trace) {
            println!("{line}");
        }
    }
    let cfg = *run.simulation.config();
    if let Some(path) = record {
        let header = Header::new(cfg, Topology::of(&cfg).parties()).with_source(format!(
            "jpkisim run --scenario {} --seed {seed} --transport inproc",
            s.name
        ));
        write_trace(path, &header, &run.simulation.journal.trace)?;
    }
    let outcome = run.result.map_err(|e| e.to_string())?;
    let durable = match run.simulation.state_dir() {
        Some(d) => format!(
            "; {} durable states saved in {}",
            d.stores().iter().map(|s| s.saves()).sum::<u64>(),
            d.dir().display()
        ),
        None => String::new(),
    };
    Ok(format!(
        "{}; {} APDUs answered by the emulated SEs{durable}",
        summary(
            &outcome,
            run.simulation.journal.trace.len(),
            safety_count(&cfg)
        ),
        run.simulation.apdus()
    ))
}

fn play_udp(
    s: &Scenario,
    seed: u64,
    faults: Faults,
    quiet: bool,
    record: Option<&Path>,
) -> Result<String, String> {
    let run = udp::play(s, seed, faults).map_err(|e| e.to_string())?;
    if !quiet {
        println!("== {} — {} (UDP)", s.name, s.summary);
        for line in numbered_log(&run.journal.log, &run.journal.trace) {
            println!("{line}");
        }
    }
    let cfg = run.config;
    if let Some(path) = record {
        let header = Header::new(cfg, Topology::of(&cfg).parties()).with_source(format!(
            "jpkisim run --scenario {} --seed {seed} --transport udp",
            s.name
        ));
        write_trace(path, &header, &run.journal.trace)?;
    }
    let outcome = run.result.map_err(|e| e.to_string())?;
    Ok(summary(
        &outcome,
        run.journal.trace.len(),
        safety_count(&cfg),
    ))
}

/// The runtime's log with each step line numbered by its event in the trace (`event 12`), and
/// choices in words. A log line is numbered when it is exactly the runtime's line for the next
/// step event of the trace (a delivery, a choice, a loss); any other line passes as it is.
fn numbered_log(log: &[String], trace: &[Event]) -> Vec<String> {
    use jpkisim_model::describe;
    let mut steps = trace.iter().filter(|e| e.is_step());
    let mut next = steps.next();
    log.iter()
        .map(|line| {
            let Some(e) = next else {
                return line.clone();
            };
            let msg = e.msg.as_ref().map(describe::message).unwrap_or_default();
            let peer = e.peer.map(|p| p.to_string()).unwrap_or_default();
            let (runtime, numbered) = match (e.kind, e.choice) {
                (EventKind::Deliver, _) => (
                    format!("  {peer} → {}: {msg}", e.party),
                    format!("  event {}: {peer} → {}: {msg}", e.seq, e.party),
                ),
                (EventKind::Choice, Some(c)) => (
                    format!("{} chooses {c:?}", e.party),
                    format!(
                        "event {}: {} chooses: {}",
                        e.seq,
                        e.party,
                        describe::choice(&c)
                    ),
                ),
                (EventKind::Timeout | EventKind::Crash | EventKind::Restart, _) => {
                    // The runtime's line says more (which timer; why) than the event carries.
                    let mark = match e.kind {
                        EventKind::Timeout => "⏱",
                        EventKind::Crash => "☠",
                        _ => "↻",
                    };
                    let runtime = format!("  {mark} {}: ", e.party);
                    if let Some(rest) = line.strip_prefix(&runtime) {
                        next = steps.next();
                        return format!("  event {}: {mark} {}: {rest}", e.seq, e.party);
                    }
                    return line.clone();
                }
                _ => (
                    format!("  ✗ lost: {} → {peer}: {msg}", e.party),
                    format!("  event {}: ✗ lost: {} → {peer}: {msg}", e.seq, e.party),
                ),
            };
            if *line == runtime {
                next = steps.next();
                numbered
            } else {
                line.clone()
            }
        })
        .collect()
}

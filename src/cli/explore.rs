//! `jpkisim explore`: Stateright's web Explorer for one configuration, with readable steps and
//! states, each property with what the startup search proved (its shortest counterexample or
//! example, or that it holds), and `--trace FILE` to open a recorded or exported trace at its
//! last step, in the configuration the trace carries.
//!
//! The address is bound first (a refused `--bind` or a port in use fails before any work), the
//! page is served at once, and the startup search runs while it serves, its progress on the page
//! and on stderr.
//!
//! Exit codes: 2 bad flags, configuration, address or trace (one line, or the replay mismatch, on
//! stderr); otherwise it serves until interrupted.

use super::config_flags::ConfigFlags;
use jpkisim_checker::explorer::ReadableModel;
use jpkisim_checker::explorer_http::{self, PageInfo, RunningExplorer, Status, TraceLink};
use jpkisim_model::{Config, Topology};
use jpkisim_properties::checked_model;
use jpkisim_traces::{Event, EventKind, Header};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    config: ConfigFlags,
    /// Where to serve (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    bind: SocketAddr,
    /// Open this trace at its last step: a jpkisim NDJSON trace or an ITF trace (whose
    /// configuration, in the header or in `#meta`, is then used), or a JSON array of readable
    /// steps (in the configuration the flags give).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Skip the startup search for each property's shortest counterexample (the default when
    /// opening a recorded jpkisim trace: its header's budgets, e.g. `jpkisim run`'s, can make the
    /// model far too large to search; `--search` forces it).
    #[arg(long, conflicts_with = "search")]
    no_search: bool,
    /// Run the startup search even when opening a recorded jpkisim trace.
    #[arg(long)]
    search: bool,
}

pub(crate) fn run(args: Args) -> ExitCode {
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("jpkisim explore: {msg}");
            ExitCode::from(2)
        }
    }
}

/// A trace file read for the Explorer.
enum TraceFile {
    /// A jpkisim NDJSON trace, or an ITF trace of events: its header and events.
    Recorded(Header, Vec<Event>),
    /// Readable steps (a JSON array, or an ITF model path), and the configuration its `#meta`
    /// names, if any.
    Steps(Vec<String>, Option<Config>),
}

fn serve(args: Args) -> Result<(), String> {
    super::check::refuse_contradictions(&args.config)?;
    let mut cfg = args.config.to_config().map_err(|e| e.to_string())?;
    let trace = match &args.trace {
        Some(path) => Some(read_trace(path)?),
        None => None,
    };
    let from_trace = match &trace {
        Some(TraceFile::Recorded(h, _)) => Some(h.config),
        Some(TraceFile::Steps(_, c)) => *c,
        None => None,
    };
    if let Some(t) = from_trace {
        if t != cfg {
            eprintln!("jpkisim explore: using the configuration the trace carries");
            cfg = t;
        }
    }
    // The address before any work: a refused address or a port in use shows at once.
    let front = explorer_http::bind(args.bind).map_err(|e| e.to_string())?;
    let model = checked_model(cfg).map_err(|e| e.to_string())?;
    let opened = match (&args.trace, &trace) {
        (Some(path), Some(t)) => Some(open_trace(&model, path, t)?),
        _ => None,
    };
    let recorded = matches!(trace, Some(TraceFile::Recorded(..)));
    let search = args.search || (!args.no_search && !recorded);
    if Path::new("ui").is_dir() {
        eprintln!(
            "jpkisim explore: note: ./ui/ exists here; Stateright's Explorer serves its files instead of its built-in pages"
        );
    }
    let mut readable = ReadableModel::new(model).map_err(|e| e.to_string())?;
    let page = PageInfo {
        title: title(&args.config, &cfg, opened.as_ref()),
        config: explorer_http::config_words(&cfg),
        trace: opened.as_ref().map(|o| o.link.clone()),
    };
    if let Some(o) = &opened {
        readable = readable.with_trace(o.actions.clone(), o.link.events.clone());
    }
    let status = Status::of(
        &cfg,
        page,
        if search { "searching" } else { "not searched" },
    );
    let running = explorer_http::start(front, readable, status).map_err(|e| e.to_string())?;
    println!("Explorer: {}", running.url());
    if let Some(o) = &opened {
        println!("{}: {}", o.summary, running.steps_url(&o.indices));
    }
    if search {
        startup_search(&running, cfg)?;
    } else {
        eprintln!(
            "jpkisim explore: no startup search (--search runs it): property verdicts come from Stateright's checker after \"Run to completion\""
        );
    }
    println!("(the Explorer checks further only after \"Run to completion\"; Ctrl-C stops it)");
    running.wait();
    Ok(())
}

/// The shortest path for each property, searched while the page is served; its progress every
/// second on the page and every 5 s on stderr.
fn startup_search(running: &RunningExplorer, cfg: Config) -> Result<(), String> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let model = checked_model(cfg).map_err(|e| e.to_string())?;
    let started = Instant::now();
    eprintln!(
        "jpkisim explore: startup search for the shortest path to each property (breadth first); the page is served meanwhile"
    );
    let done = AtomicBool::new(false);
    let found = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut printed = Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                let (seconds, memory) =
                    (started.elapsed().as_secs_f64(), explorer_http::memory_mb());
                running.update(|s| {
                    if s.search.state == "running" {
                        s.search.seconds = seconds;
                        s.search.memory_mb = memory;
                    }
                });
                if printed.elapsed() >= Duration::from_secs(5) {
                    printed = Instant::now();
                    eprintln!(
                        "jpkisim explore: startup search running: {seconds:.0} s{}",
                        memory.map_or(String::new(), |m| format!(", {m:.0} MB"))
                    );
                }
            }
        });
        let found = explorer_http::shortest_discoveries(&model);
        done.store(true, Ordering::Relaxed);
        found
    })
    .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    running.update(|s| s.searched(&found, seconds));
    eprintln!("jpkisim explore: startup search done in {seconds:.1} s");
    for d in found.iter().filter(|d| d.is_counterexample()) {
        println!(
            "  {} violated in {} steps: {}",
            d.property,
            d.indices.len(),
            running.steps_url(&d.indices)
        );
    }
    if !found.iter().any(|d| d.is_counterexample()) {
        println!("  no safety property is violated in this configuration");
    }
    Ok(())
}

/// The page's headline: the trace, the variant or the flaws, or the correct protocol.
fn title(flags: &ConfigFlags, cfg: &Config, opened: Option<&Opened>) -> String {
    let what = match flags.variant().ok().flatten() {
        Some(v) => format!("variant {}: {}", v.id, v.description),
        None if cfg.flaws.iter().next().is_none() => {
            "the protocol as designed (no flaw)".to_string()
        }
        None => format!(
            "flaws {}",
            cfg.flaws
                .iter()
                .map(|f| serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match opened {
        Some(o) => format!("{} — {what}", o.link.label),
        None => what,
    }
}

/// An opened trace: its steps, their indices, the page's link.
struct Opened {
    actions: Vec<jpkisim_model::JpkiAction>,
    indices: Vec<usize>,
    link: TraceLink,
    summary: String,
}

fn open_trace(
    model: &jpkisim_model::JpkiModel,
    path: &Path,
    trace: &TraceFile,
) -> Result<Opened, String> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (steps, events): (Vec<String>, Vec<u64>) = match trace {
        TraceFile::Recorded(header, events) => {
            let topo = Topology::of(&header.config);
            let stepped: Vec<&Event> = events
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        EventKind::Deliver
                            | EventKind::Choice
                            | EventKind::Timeout
                            | EventKind::Crash
                            | EventKind::Restart
                    ) || (e.kind == EventKind::Fault
                        && e.fault == Some(jpkisim_traces::Fault::Lost))
                })
                .collect();
            let owned: Vec<Event> = stepped.iter().map(|e| (*e).clone()).collect();
            (
                jpkisim_traces::steps::readable_steps(&topo, &owned),
                stepped.iter().map(|e| e.seq).collect(),
            )
        }
        TraceFile::Steps(steps, _) => (steps.clone(), (1..=steps.len() as u64).collect()),
    };
    let indices = jpkisim_model::path::replay(model, &steps)
        .map_err(|e| format!("{} is not a path of this model: {e}", path.display()))?;
    let p = jpkisim_model::path::Path::follow(model, &indices);
    let first = events.first().copied().unwrap_or(0);
    let last = events.last().copied().unwrap_or(0);
    let summary = match trace {
        TraceFile::Recorded(..) => {
            format!("Trace ({} steps, events {first}–{last})", indices.len())
        }
        TraceFile::Steps(..) => format!("Trace ({} steps)", indices.len()),
    };
    Ok(Opened {
        actions: p.actions,
        link: TraceLink {
            label: format!("{name} (events {first}–{last})"),
            path: jpkisim_model::path::explorer_path(&indices),
            events,
        },
        indices,
        summary,
    })
}

/// Reads a trace file: a jpkisim NDJSON trace (fully observed), an ITF trace (its events, or a
/// model path; its `#meta` configuration), or a JSON array of readable steps.
fn read_trace(path: &Path) -> Result<TraceFile, String> {
    match jpkisim_traces::Reader::open(path) {
        Ok(mut reader) => {
            let header = reader.header().clone();
            let events = reader
                .by_ref()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            return fully_observed(path, header, events);
        }
        Err(e) if e.line != 1 => return Err(e.to_string()),
        Err(_) => {}
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a jpkisim trace, an ITF trace or a JSON array of steps: {e}",
            path.display()
        )
    })?;
    if value.is_object() {
        let itf = jpkisim_traces::itf_value::read(&value)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let has_events = itf.states.iter().skip(1).any(|s| s.contains_key("event"));
        if has_events {
            let (header, events) = jpkisim_traces::itf::read_trace(&value, None)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            return fully_observed(path, header, events);
        }
        let cfg = match itf.meta_json("config") {
            Some(c) => Some(serde_json::from_value::<Config>(c).map_err(|e| {
                format!(
                    "{}: ITF #meta.config is not a configuration: {e}",
                    path.display()
                )
            })?),
            None => None,
        };
        let steps = itf
            .steps()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(TraceFile::Steps(steps, cfg));
    }
    let steps = jpkisim_traces::itf_value::steps_from_json(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(TraceFile::Steps(steps, None))
}

fn fully_observed(path: &Path, header: Header, events: Vec<Event>) -> Result<TraceFile, String> {
    let all = Topology::of(&header.config).parties();
    if all.iter().any(|p| !header.observed.contains(p)) {
        return Err(format!(
            "{}: the Explorer opens fully observed traces only (this one observes {} of {} parties); `jpkisim conform {} --explore` opens the run it finds behind a partial one",
            path.display(),
            header.observed.len(),
            all.len(),
            path.display()
        ));
    }
    Ok(TraceFile::Recorded(header, events))
}

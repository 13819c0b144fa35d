//! `jpkisim explore`: Stateright's web Explorer for one configuration, with readable steps and
//! states, each failing property linked to its shortest counterexample, and `--trace FILE` to open
//! a recorded or exported trace at its last step.
//!
//! Exit codes: 2 bad flags, configuration or trace (one line, or the replay mismatch, on stderr);
//! otherwise it serves until interrupted.

use super::config_flags::ConfigFlags;
use jpkisim_checker::explorer::ReadableModel;
use jpkisim_checker::explorer_http::{self, Discovery};
use jpkisim_properties::checked_model;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    config: ConfigFlags,
    /// Where to serve (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    bind: SocketAddr,
    /// Open this trace at its last step: an ITF trace, a JSON array of readable steps, or a fully
    /// observed jpkisim NDJSON trace (whose header's configuration is then used).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Skip the startup search for each property's shortest counterexample (the default when
    /// opening a recorded jpkisim trace: its header's budgets, e.g. `jpkisim run`'s, can make the
    /// model far too large to search before serving; `--search` forces it).
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

fn serve(args: Args) -> Result<(), String> {
    let mut cfg = args.config.to_config().map_err(|e| e.to_string())?;
    let recorded = match &args.trace {
        Some(path) => recorded_trace(path)?,
        None => None,
    };
    if let Some((header, _)) = &recorded {
        if header.config != cfg {
            eprintln!("jpkisim explore: using the configuration in the trace's header");
            cfg = header.config;
        }
    }
    let search = args.search || (!args.no_search && recorded.is_none());
    let model = checked_model(cfg).map_err(|e| e.to_string())?;
    let trace = match (&args.trace, recorded) {
        (None, _) => None,
        (Some(path), recorded) => {
            let steps = match recorded {
                Some((header, events)) => jpkisim_traces::steps::readable_steps(
                    &jpkisim_model::Topology::of(&header.config),
                    &events,
                ),
                None => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    jpkisim_traces::itf_value::steps_from_json(&text)
                        .map_err(|e| format!("{}: {e}", path.display()))?
                }
            };
            let indices = jpkisim_model::path::replay(&model, &steps)
                .map_err(|e| format!("{} is not a path of this model: {e}", path.display()))?;
            Some(indices)
        }
    };
    if std::path::Path::new("ui").is_dir() {
        eprintln!(
            "jpkisim explore: note: ./ui/ exists here; Stateright's Explorer serves its files instead of its built-in pages"
        );
    }
    let discoveries = if search {
        eprintln!("jpkisim explore: finding the shortest path for each property (breadth first)…");
        explorer_http::shortest_discoveries(&model).map_err(|e| e.to_string())?
    } else {
        eprintln!("jpkisim explore: no startup search (--search runs it): property links are Stateright's own");
        Vec::new()
    };
    let readable = ReadableModel::new(model).map_err(|e| e.to_string())?;
    let running =
        explorer_http::start(readable, args.bind, &discoveries).map_err(|e| e.to_string())?;
    println!("Explorer: {}", running.url());
    for d in discoveries.iter().filter(|d| d.is_counterexample()) {
        println!(
            "  {} violated in {} steps: {}",
            d.property,
            d.indices.len(),
            running.steps_url(&d.indices)
        );
    }
    if search {
        print_unviolated(&discoveries);
    }
    if let Some(indices) = trace {
        println!(
            "Trace ({} steps): {}",
            indices.len(),
            running.steps_url(&indices)
        );
    }
    println!("(the Explorer checks further only after \"Run to completion\"; Ctrl-C stops it)");
    running.wait();
    Ok(())
}

/// The header and events of a jpkisim NDJSON trace; `None` if the file is not one (then it is
/// read as ITF or readable steps).
fn recorded_trace(
    path: &std::path::Path,
) -> Result<Option<(jpkisim_traces::Header, Vec<jpkisim_traces::Event>)>, String> {
    let mut reader = match jpkisim_traces::Reader::open(path) {
        Ok(r) => r,
        Err(e) if e.line == 1 => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let header = reader.header().clone();
    let all = jpkisim_model::Topology::of(&header.config).parties();
    if all.iter().any(|p| !header.observed.contains(p)) {
        return Err(format!(
            "{}: the Explorer opens fully observed traces only (this one observes {} of {} parties); `jpkisim conform` checks partial ones",
            path.display(),
            header.observed.len(),
            all.len()
        ));
    }
    let events = reader
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok(Some((header, events)))
}

fn print_unviolated(discoveries: &[Discovery]) {
    if !discoveries.iter().any(Discovery::is_counterexample) {
        println!("  no safety property is violated in this configuration");
    }
}

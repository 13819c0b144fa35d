//! `jpkisim check`: exhaustive model checking of one configuration, for CI.
//!
//! Exit codes: 0 every safety property holds and every reachability property was witnessed;
//! 1 a property failed; 2 bad flags or configuration (one line on stderr).

use super::config_flags::ConfigFlags;
use jpkisim_checker::check::{self, Engine, Options, Report, Verdict};
use jpkisim_checker::engine::cluster::Hosts;
use jpkisim_checker::engine::connect::read_hostfile;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    config: ConfigFlags,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Exploration engine: `ours` (parallel breadth-first, shortest paths in one pass) or
    /// `stateright` (Stateright's depth-first checker, the cross-check).
    #[arg(long, value_enum, default_value_t = EngineArg::Ours)]
    engine: EngineArg,
    /// Run our engine as a timely dataflow with N worker threads in this process (and in each
    /// process of a `--hostfile` cluster).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Run across processes: FILE lists one `host:port` per process, in process order
    /// (docs/scale-out.md). Start one `jpkisim check` per line, each with its `--process`.
    #[arg(long, value_name = "FILE", requires = "process")]
    hostfile: Option<std::path::PathBuf>,
    /// This process's line in the hostfile, from 0; process 0 prints the report.
    #[arg(long, value_name = "I", requires = "hostfile")]
    process: Option<usize>,
    /// Seconds to wait for the other processes of a cluster before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    connect_timeout: u64,
    /// Print the report as JSON (the CI interface).
    #[arg(long)]
    json: bool,
    /// Explore every state rather than one per class of person-renamed states.
    #[arg(long)]
    no_symmetry: bool,
    /// Report the path Stateright found rather than searching for a shortest counterexample.
    #[arg(long)]
    no_shortest: bool,
    /// Also print each counterexample as a Mermaid sequence diagram.
    #[arg(long)]
    mermaid: bool,
    /// Write the counterexample as an ITF trace (Apalache/Quint format) to FILE: the variant's
    /// property with `--variant`, else the first violated property.
    #[arg(long, value_name = "FILE")]
    trace_out: Option<std::path::PathBuf>,
    /// Seconds between progress lines on stderr (0: none).
    #[arg(long, default_value_t = 5)]
    progress: u64,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum EngineArg {
    Ours,
    Stateright,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let cfg = match args.config.to_config() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("jpkisim check: {e}");
            return ExitCode::from(2);
        }
    };
    let mut opts = Options::default();
    if let Some(t) = args.threads {
        opts.threads = t;
    }
    opts.symmetry = !args.no_symmetry;
    opts.engine = match args.engine {
        EngineArg::Ours => Engine::Ours,
        EngineArg::Stateright => Engine::Stateright,
    };
    opts.shortest = !args.no_shortest;
    let variant = match args.config.variant() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("jpkisim check: {e}");
            return ExitCode::from(2);
        }
    };
    opts.progress_every = (args.progress > 0).then(|| Duration::from_secs(args.progress));
    if args.workers == Some(0) {
        eprintln!("jpkisim check: --workers must be at least 1");
        return ExitCode::from(2);
    }
    opts.workers = args.workers;
    if let (Some(file), Some(process)) = (&args.hostfile, args.process) {
        let addresses = match read_hostfile(file) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("jpkisim check: {e}");
                return ExitCode::from(2);
            }
        };
        if process >= addresses.len() {
            eprintln!(
                "jpkisim check: --process {process} is not a line of {} ({} processes, numbered from 0)",
                file.display(),
                addresses.len()
            );
            return ExitCode::from(2);
        }
        opts.hosts = Some(Hosts {
            addresses,
            process,
            connect_timeout: Duration::from_secs(args.connect_timeout),
        });
    }
    let this_process = args.process.unwrap_or(0);
    let report = match check::run(cfg, opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jpkisim check: {e}");
            return ExitCode::from(2);
        }
    };
    let verdict = if report.all_good() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if this_process != 0 {
        eprintln!(
            "jpkisim check: process {this_process} of {} done; process 0 prints the report",
            report.processes
        );
        return verdict;
    }
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => {
                let _ = writeln!(std::io::stdout().lock(), "{s}");
            }
            Err(e) => {
                eprintln!("jpkisim check: cannot write the report as JSON: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), table(&report).as_bytes());
    }
    if args.mermaid {
        for cex in &report.counterexamples {
            let _ = writeln!(
                std::io::stdout().lock(),
                "\n```mermaid\n{}```",
                cex.mermaid()
            );
        }
    }
    if let Some(path) = &args.trace_out {
        let wanted = variant.map(|v| v.violates);
        let cex = report
            .counterexamples
            .iter()
            .find(|c| wanted.is_none_or(|id| c.property.id == id));
        match cex {
            Some(cex) => {
                let text = serde_json::to_string_pretty(&cex.itf()).unwrap_or_default();
                if let Err(e) = std::fs::write(path, text + "\n") {
                    eprintln!("jpkisim check: cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
                eprintln!(
                    "jpkisim check: wrote the {} counterexample to {}",
                    cex.property.id,
                    path.display()
                );
            }
            None => eprintln!(
                "jpkisim check: no counterexample to write to {}",
                path.display()
            ),
        }
    }
    verdict
}

fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} states, {} unique, max depth {}, {:.1}s on {} thread(s){}, {}, {}",
        r.states,
        r.unique_states,
        r.max_depth,
        r.seconds,
        r.threads,
        if r.processes > 1 {
            let sent = r.exchanged_bytes.unwrap_or(0) as f64;
            format!(
                " in {} processes ({:.1} MB between processes, {:.0} B per state)",
                r.processes,
                sent / 1e6,
                sent / (r.unique_states.max(1) as f64)
            )
        } else {
            String::new()
        },
        match (r.engine, r.bytes_per_state) {
            (Engine::Ours, Some(b)) => format!("our engine, {b:.1} B per visited state"),
            _ => "Stateright's engine".to_string(),
        },
        if r.complete {
            "complete"
        } else {
            "INCOMPLETE (depth bound or early stop)"
        }
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "{:<44} {:<10} {:<12} {:>5}",
        "property", "kind", "verdict", "depth"
    );
    for p in &r.properties {
        let kind = match p.kind {
            jpkisim_properties::Kind::Always => "always",
            jpkisim_properties::Kind::Sometimes => "sometimes",
        };
        let verdict = match p.verdict {
            Verdict::Holds => "holds",
            Verdict::Violated => "VIOLATED",
            Verdict::Witnessed => "witnessed",
            Verdict::Unwitnessed => "UNWITNESSED",
        };
        let depth = p.depth.map_or_else(|| "-".to_string(), |d| d.to_string());
        let _ = writeln!(
            out,
            "{:<44} {:<10} {:<12} {:>5}",
            p.id, kind, verdict, depth
        );
    }
    for na in &r.not_applicable {
        let _ = writeln!(
            out,
            "{:<44} {:<10} {:<12} {:>5}   ({})",
            na.id, "", "n/a", "-", na.reason
        );
    }
    for p in r
        .properties
        .iter()
        .filter(|p| p.verdict == Verdict::Violated)
    {
        out.push('\n');
        match r.counterexamples.iter().find(|c| c.property.id == p.id) {
            Some(cex) => out.push_str(&cex.text()),
            None => {
                let _ = writeln!(
                    out,
                    "{} violated ({} steps, not necessarily shortest):",
                    p.id,
                    p.depth.unwrap_or(0)
                );
                for (i, step) in p.path.iter().flatten().enumerate() {
                    let _ = writeln!(out, "  {:>3}. {step}", i + 1);
                }
            }
        }
        if let Some(path) = &p.explorer_path {
            let _ = writeln!(out, "  open it in the Explorer at #/steps/{path}");
        }
    }
    out
}

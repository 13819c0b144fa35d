//! `jpkisim check`: exhaustive model checking of one configuration, for CI.
//!
//! Exit codes: 0 every safety property holds and every reachability property was witnessed;
//! 1 a property failed (or, with `--require-triggered`, a safety property was never triggered);
//! 2 bad flags or configuration (one line on stderr), found before the check starts: output
//! paths are tried first, and flags that contradict `--variant` are refused.

use super::config_flags::ConfigFlags;
use super::junit;
use super::output;
use jpkisim_checker::check::{self, Engine, Options, Report, Verdict};
use jpkisim_checker::engine::cluster::Hosts;
use jpkisim_checker::engine::connect::read_hostfile;
use jpkisim_checker::explorer_http::value_words;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    config: ConfigFlags,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
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
    /// Fail (exit 1) when a safety property holds only because nothing ever triggers it.
    #[arg(long)]
    require_triggered: bool,
    /// Also write the verdicts as JUnit XML to FILE (one test case per property; a violated
    /// property fails with its counterexample), for CI test reports.
    #[arg(long, value_name = "FILE")]
    junit: Option<std::path::PathBuf>,
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
    let before = refuse_contradictions(&args.config)
        .and_then(|()| match &args.trace_out {
            Some(p) => output::file("--trace-out", p),
            None => Ok(()),
        })
        .and_then(|()| match &args.junit {
            Some(p) => output::file("--junit", p),
            None => Ok(()),
        });
    if let Err(e) = before {
        eprintln!("jpkisim check: {e}");
        return ExitCode::from(2);
    }
    let mut opts = Options::default();
    if let Some(t) = args.threads {
        opts.threads = usize::try_from(t).unwrap_or(1);
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
    let vacuous = args.require_triggered && report.never_triggered().next().is_some();
    let verdict = if report.all_good() && !vacuous {
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
    if let Some(path) = &args.junit {
        let xml = junit::xml("jpkisim check", &[suite(&report, variant)]);
        if let Err(e) = output::write("--junit", path, &xml) {
            eprintln!("jpkisim check: {e}");
            return ExitCode::from(2);
        }
    }
    verdict
}

/// Refuses configuration flags that undo what `--variant` needs for its flaw to show (the check
/// would then report "holds" for a flaw that cannot happen): the variant's needs applied to the
/// configuration the flags give must leave every design choice as it is.
pub(super) fn refuse_contradictions(flags: &ConfigFlags) -> Result<(), String> {
    let Some(v) = flags.variant().map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let given = flags.to_config().map_err(|e| e.to_string())?;
    let needed = (v.needs)(given);
    let (Ok(serde_json::Value::Object(g)), Ok(serde_json::Value::Object(n))) =
        (serde_json::to_value(given), serde_json::to_value(needed))
    else {
        return Ok(());
    };
    // Budgets, persons and depth only size the search; the rest are design choices.
    let sizing = ["budgets", "persons", "ses_per_person", "max_depth", "flaws"];
    let clash: Vec<String> = n
        .iter()
        .filter(|(k, _)| !sizing.contains(&k.as_str()))
        .filter(|(k, v)| g.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{} {} (the flags give {})",
                k.replace('_', "-"),
                value_words(v),
                g.get(k).map_or("nothing".into(), value_words)
            )
        })
        .collect();
    if clash.is_empty() {
        return Ok(());
    }
    Err(format!(
        "--variant {} needs {} for its flaw to show ({}); drop the contradicting flag or choose another variant",
        v.id,
        clash.join(", "),
        v.flags()
    ))
}

/// The report as a JUnit test suite: a case per property, the counterexample as failure text.
fn suite(r: &Report, variant: Option<&jpkisim_properties::variants::Variant>) -> junit::Suite {
    let mut cases: Vec<junit::Case> = r
        .properties
        .iter()
        .map(|p| {
            let outcome = match p.verdict {
                Verdict::Holds | Verdict::Witnessed => junit::Outcome::Passed,
                Verdict::Violated => junit::Outcome::Failed {
                    kind: "violated",
                    message: format!(
                        "{} violated in {} steps{}",
                        p.id,
                        p.depth.unwrap_or(0),
                        if p.shortest { " (shortest)" } else { "" }
                    ),
                    text: match r.counterexamples.iter().find(|c| c.property.id == p.id) {
                        Some(cex) => cex.text(),
                        None => p
                            .path
                            .iter()
                            .flatten()
                            .enumerate()
                            .map(|(i, s)| format!("{:>3}. {s}\n", i + 1))
                            .collect(),
                    },
                },
                Verdict::Unwitnessed => junit::Outcome::Failed {
                    kind: "unwitnessed",
                    message: format!(
                        "{} never happened in any explored state: the safety properties may hold only because nothing happens",
                        p.id
                    ),
                    text: p.summary.to_string(),
                },
            };
            junit::Case {
                name: p.id.to_string(),
                classname: format!("jpkisim.check.{}", kind_word(p.kind)),
                outcome,
            }
        })
        .collect();
    cases.extend(r.not_applicable.iter().map(|na| junit::Case {
        name: na.id.to_string(),
        classname: "jpkisim.check.not_applicable".into(),
        outcome: junit::Outcome::Skipped {
            message: na.reason.to_string(),
        },
    }));
    let mut properties = vec![(
        "config".to_string(),
        serde_json::to_string(&r.config).unwrap_or_default(),
    )];
    if let Some(v) = variant {
        properties.push(("variant".into(), v.id.into()));
    }
    properties.push(("states".into(), r.states.to_string()));
    properties.push(("complete".into(), r.complete.to_string()));
    junit::Suite {
        name: match variant {
            Some(v) => format!("jpkisim check --variant {}", v.id),
            None => "jpkisim check".into(),
        },
        seconds: r.seconds,
        properties,
        cases,
    }
}

fn kind_word(k: jpkisim_properties::Kind) -> &'static str {
    match k {
        jpkisim_properties::Kind::Always => "always",
        jpkisim_properties::Kind::Sometimes => "sometimes",
    }
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
        "{:<40} {:<10} {:<23} {:>5} {:>8}",
        "property", "kind", "verdict", "depth", "trigger"
    );
    let dash = |d: Option<usize>| d.map_or_else(|| "-".to_string(), |d| d.to_string());
    for p in &r.properties {
        let kind = match p.kind {
            jpkisim_properties::Kind::Always => "always",
            jpkisim_properties::Kind::Sometimes => "sometimes",
        };
        let verdict = match p.verdict {
            Verdict::Holds if p.never_triggered() => "holds, never triggered",
            Verdict::Holds => "holds",
            Verdict::Violated => "VIOLATED",
            Verdict::Witnessed => "witnessed",
            Verdict::Unwitnessed => "UNWITNESSED",
        };
        let trigger = match p.triggered {
            Some(false) => "never".to_string(),
            Some(true) => p.trigger_depth.map_or("yes".to_string(), |d| d.to_string()),
            None => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<40} {:<10} {:<23} {:>5} {:>8}",
            p.id,
            kind,
            verdict,
            dash(p.depth),
            trigger
        );
    }
    for na in &r.not_applicable {
        let _ = writeln!(
            out,
            "{:<40} {:<10} {:<23} {:>5} {:>8}   ({})",
            na.id, "", "n/a", "-", "-", na.reason
        );
    }
    let vacuous: Vec<&str> = r.never_triggered().map(|p| p.id).collect();
    if !vacuous.is_empty() {
        let _ = writeln!(
            out,
            "\n{} safety propert{} never triggered: {} (their \"holds\" says nothing in this configuration)",
            vacuous.len(),
            if vacuous.len() == 1 { "y was" } else { "ies were" },
            vacuous.join(", ")
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

//! `jpkisim conform FILE`: is a recorded trace a behaviour of the model, and did every property
//! hold along it? Reads a jpkisim NDJSON trace (`docs/trace-format.md`) or an ITF trace.
//!
//! Exit codes: 0 conforms; 1 diverges, truncated, or a property violated; 2 bad input (one line on
//! stderr naming the file, line and field) or bad flags; 3 inconclusive (a bound of the search
//! was reached: the verdict names it and the option that raises it).

use super::{junit, output};
use jpkisim_checker::explorer::ReadableModel;
use jpkisim_checker::explorer_http::{self, PageInfo, Status, TraceLink};
use jpkisim_model::ids::Party;
use jpkisim_traces::conform::{check, conform_file, parse_party, Checked, Options, Verdict};
use jpkisim_traces::{Event, Header, Reader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The trace: jpkisim NDJSON, or ITF (JSON).
    file: PathBuf,
    /// Check only these parties' events (comma-separated: ca, sp-tsm, se-tsm, rp, mvno,
    /// applicant0, se1, …, intruder); the other parties' steps become unobserved. Default: the header's.
    #[arg(long, value_name = "PARTIES", value_delimiter = ',')]
    observed: Option<Vec<String>>,
    /// The most unobserved steps one event may need (the steps that lead to it since the event
    /// before).
    #[arg(long, value_name = "K", default_value_t = Options::default().hidden_steps)]
    hidden_steps: usize,
    /// The most model states the search explores (beyond one per event).
    #[arg(long, value_name = "N", alias = "max-frontier", default_value_t = Options::default().max_states)]
    max_states: usize,
    /// How many of the CA, SP-TSM and SE-TSM may be down at once, instead of the header's
    /// `crashes`: a log with `crash` and `restart` events conforms only where parties crash.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=3))]
    crashes: Option<u8>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the trace as ITF to FILE.
    #[arg(long, value_name = "FILE")]
    itf_out: Option<PathBuf>,
    /// Also write the verdict as JUnit XML to FILE: the conformance as one test case, and one
    /// per safety property checked along the trace.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Then open the Explorer on the run the check found behind the trace, at its last matched
    /// event (before a divergence: where the model's next steps show what it allowed instead).
    #[arg(long)]
    explore: bool,
    /// Where `--explore` serves (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000", requires = "explore")]
    bind: SocketAddr,
}

pub(crate) fn run(args: Args) -> ExitCode {
    // Everything that could fail after the check fails before it.
    let front = match prepare(&args) {
        Ok(front) => front,
        Err(msg) => {
            eprintln!("jpkisim conform: {msg}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let (header, checked, recorded) = match check_trace(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("jpkisim conform: {msg}");
            return ExitCode::from(2);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let v = &checked.verdict;
    let text = if args.json {
        format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
    } else {
        v.text()
    };
    // A closed pipe (`| head`) is not an error worth a panic; the exit code still carries the verdict.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    if let Some(path) = &args.junit {
        let xml = junit::xml("jpkisim conform", &[suite(&args.file, &header, v, seconds)]);
        if let Err(e) = output::write("--junit", path, &xml) {
            eprintln!("jpkisim conform: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(front) = front {
        let observed = args.observed.as_ref().map_or_else(
            || header.observed.clone(),
            |names| names.iter().filter_map(|n| parse_party(n)).collect(),
        );
        if let Err(e) = explore(front, &args.file, &checked, &recorded, &observed) {
            eprintln!("jpkisim conform: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::from(v.exit_code())
}

/// Checks the output paths and binds the Explorer's address, before any work.
fn prepare(args: &Args) -> Result<Option<explorer_http::Front>, String> {
    if let Some(p) = &args.itf_out {
        output::file("--itf-out", p)?;
    }
    if let Some(p) = &args.junit {
        output::file("--junit", p)?;
    }
    options(args)?;
    if args.explore {
        return explorer_http::bind(args.bind)
            .map(Some)
            .map_err(|e| format!("--explore: {e}"));
    }
    Ok(None)
}

fn options(args: &Args) -> Result<Options, String> {
    let observed = match &args.observed {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| parse_party(n).ok_or_else(|| format!("--observed: unknown party \"{n}\"")))
                .collect::<Result<Vec<Party>, _>>()?,
        ),
    };
    if args.hidden_steps > usize::from(u16::MAX) {
        return Err(format!(
            "--hidden-steps must be at most {}, got {}",
            u16::MAX,
            args.hidden_steps
        ));
    }
    Ok(Options {
        observed,
        hidden_steps: args.hidden_steps,
        max_states: args.max_states,
        keep_run: args.explore,
        crashes: args.crashes,
    })
}

/// The header, the checked trace and its events. A plain NDJSON check streams the file
/// (constant memory for a fully observed trace: no events come back); `--itf-out` and
/// `--explore` read it into memory.
fn check_trace(args: &Args) -> Result<(Header, Checked, Vec<Event>), String> {
    let opts = options(args)?;
    let (header, events) = match Reader::open(&args.file) {
        Ok(reader) if args.itf_out.is_none() && !args.explore => {
            let header = with_crashes(args, reader.header().clone());
            drop(reader);
            let verdict = conform_file(&args.file, &opts).map_err(|e| e.to_string())?;
            let checked = Checked {
                verdict,
                config: header.config,
                run: Vec::new(),
            };
            return Ok((header, checked, Vec::new()));
        }
        Ok(mut reader) => {
            let header = reader.header().clone();
            let mut events = Vec::new();
            while let Some(e) = reader.next_event() {
                events.push((e.map_err(|e| e.to_string())?, reader.line()));
            }
            (header, events)
        }
        Err(e) if e.line == 1 => match itf_document(&args.file)? {
            Some(doc) => {
                let (header, events) = jpkisim_traces::itf::read_trace(&doc, None)
                    .map_err(|m| format!("{}: {m}", args.file.display()))?;
                // An ITF trace has no lines: an event's "line" is its state index.
                let numbered = events
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| (e, i + 1))
                    .collect();
                (header, numbered)
            }
            None => return Err(e.to_string()),
        },
        Err(e) => return Err(e.to_string()),
    };
    // The configuration checked is the one written (ITF) and reported (JUnit).
    let header = with_crashes(args, header);
    let plain: Vec<Event> = events.iter().map(|(e, _)| e.clone()).collect();
    write_itf(args, &header, &plain)?;
    let checked = check(&header, &events, &opts).map_err(|e| e.to_string())?;
    Ok((header, checked, plain))
}

/// The header with `--crashes` in its configuration, if given.
fn with_crashes(args: &Args, mut header: Header) -> Header {
    if let Some(n) = args.crashes {
        header.config.crashes = n;
    }
    header
}

/// The file as an ITF document (a JSON object with a `states` array), if it is JSON at all.
fn itf_document(path: &Path) -> Result<Option<serde_json::Value>, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(None);
    };
    if !v.is_object() {
        return Ok(None);
    }
    // Refuse an ITF document without states here, with the reason.
    jpkisim_traces::itf_value::read(&v).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(v))
}

fn write_itf(args: &Args, header: &Header, events: &[Event]) -> Result<(), String> {
    let Some(out) = &args.itf_out else {
        return Ok(());
    };
    let doc = jpkisim_traces::itf::write(header, events);
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    output::write("--itf-out", out, &text)
}

/// The verdict as a JUnit suite: the conformance itself, and each safety property checked.
fn suite(file: &Path, header: &Header, v: &Verdict, seconds: f64) -> junit::Suite {
    let name = file.display().to_string();
    let text = v.text();
    let conformance = match v {
        Verdict::Conforms { .. } => junit::Outcome::Passed,
        Verdict::Violates { .. } => junit::Outcome::Passed,
        Verdict::Inconclusive { .. } => junit::Outcome::Error {
            kind: "inconclusive",
            message: first_line(&text),
            text: text.clone(),
        },
        Verdict::Diverges { .. } | Verdict::Truncated { .. } => junit::Outcome::Failed {
            kind: v.name(),
            message: first_line(&text),
            text: text.clone(),
        },
    };
    let mut cases = vec![junit::Case {
        name: "conforms".into(),
        classname: "jpkisim.conform".into(),
        outcome: conformance,
    }];
    let (props, _) = jpkisim_properties::applicable(&header.config);
    for p in props
        .iter()
        .filter(|p| p.kind == jpkisim_properties::Kind::Always)
    {
        let outcome = match v {
            Verdict::Violates { property, .. } if *property == p.id => junit::Outcome::Failed {
                kind: "violated",
                message: first_line(&text),
                text: text.clone(),
            },
            Verdict::Conforms { .. } => junit::Outcome::Passed,
            _ => junit::Outcome::Skipped {
                message: "not decided: the trace was not a behaviour of the model to the end"
                    .into(),
            },
        };
        cases.push(junit::Case {
            name: p.id.into(),
            classname: "jpkisim.conform.property".into(),
            outcome,
        });
    }
    junit::Suite {
        name,
        seconds,
        properties: vec![(
            "config".into(),
            serde_json::to_string(&header.config).unwrap_or_default(),
        )],
        cases,
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// Opens the Explorer on the run the check found, at its last matched event, its steps labelled
/// with the recorded events they match (the others are the unobserved steps the check assumed).
fn explore(
    front: explorer_http::Front,
    file: &Path,
    checked: &Checked,
    recorded: &[Event],
    observed: &[Party],
) -> Result<(), String> {
    let model = jpkisim_properties::checked_model(checked.config).map_err(|e| e.to_string())?;
    let indices = explorer_http::explorer_indices(&model, &checked.run);
    let events = event_numbers(&model, &checked.run, recorded, observed);
    let at = checked
        .verdict
        .at()
        .map_or(String::from("the end"), |a| format!("event {}", a.seq));
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let label = match &checked.verdict {
        Verdict::Conforms { .. } => format!("{name}: the run found behind it, to its end"),
        v => format!("{name}: the run found behind it, up to {at} ({})", v.name()),
    };
    let page = PageInfo {
        title: label.clone(),
        config: explorer_http::config_words(&checked.config),
        trace: Some(TraceLink {
            label,
            path: jpkisim_model::path::explorer_path(&indices),
            events,
        }),
    };
    let readable = ReadableModel::new(model).map_err(|e| e.to_string())?;
    let running = explorer_http::start(
        front,
        readable,
        Status::of(&checked.config, page, "not searched"),
    )
    .map_err(|e| e.to_string())?;
    println!("Explorer: {}", running.url());
    println!(
        "The run behind the trace ({} model steps, unobserved ones included), up to {at}: {}",
        indices.len(),
        running.steps_url(&indices)
    );
    println!(
        "(the steps the model allowed next are under \"Next Action Choices\"; Ctrl-C stops it)"
    );
    running.wait();
    Ok(())
}

/// The recorded event (`seq`) each step of `run` matches, 0 for a step no observed party logged
/// (the page shows it as unobserved). The check matched the observed parties' step events in
/// the order of the file, so one pass pairs each step with the next such event it equals.
fn event_numbers(
    model: &jpkisim_model::JpkiModel,
    run: &[jpkisim_model::JpkiAction],
    recorded: &[Event],
    observed: &[Party],
) -> Vec<u64> {
    use stateright::Model as _;
    let same = |a: &Event, b: &Event| {
        (a.kind, a.party, a.peer, &a.msg, a.choice, a.fault)
            == (b.kind, b.party, b.peer, &b.msg, b.choice, b.fault)
    };
    let mut steps = recorded
        .iter()
        .filter(|e| observed.contains(&e.party) && e.is_step())
        .peekable();
    let Some(mut state) = model.init_states().into_iter().next() else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(run.len());
    for action in run {
        let made = jpkisim_traces::generate::events_of_step(model, &state, action);
        let seq = match (made.first(), steps.peek()) {
            (Some(m), Some(r)) if same(m, r) => {
                let seq = r.seq;
                steps.next();
                seq
            }
            _ => 0,
        };
        out.push(seq);
        match model.next_state(&state, action.clone()) {
            Some(next) => state = next,
            None => break,
        }
    }
    out
}

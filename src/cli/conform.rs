//! `jpkisim conform FILE`: is a recorded trace a behaviour of the model, and did every property
//! hold along it? Reads a jpkisim NDJSON trace (`docs/trace-format.md`) or an ITF trace.
//!
//! Exit codes: 0 conforms, 1 diverges or violates a property, 2 bad input (one line on stderr
//! naming the file, line and field).

use jpkisim_model::ids::Party;
use jpkisim_traces::conform::{conform_file, conform_slice, parse_party, Options, Verdict};
use jpkisim_traces::{Event, Header, Reader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The trace: jpkisim NDJSON, or ITF (JSON).
    file: PathBuf,
    /// Check only these parties' events (comma-separated: ca, sp-tsm, se-tsm, rp, mvno,
    /// applicant0, se1, …); the other parties' steps become unobserved. Default: the header's.
    #[arg(long, value_name = "PARTIES", value_delimiter = ',')]
    observed: Option<Vec<String>>,
    /// Unobserved steps allowed between two recorded events.
    #[arg(long, value_name = "K", default_value_t = Options::default().hidden_steps)]
    hidden_steps: usize,
    /// Most model states the search explores.
    #[arg(long, value_name = "N", alias = "max-frontier", default_value_t = Options::default().max_states)]
    max_states: usize,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the trace as ITF to FILE.
    #[arg(long, value_name = "FILE")]
    itf_out: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> ExitCode {
    match check(&args) {
        Ok(v) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                print!("{}", v.text());
            }
            ExitCode::from(v.exit_code())
        }
        Err(msg) => {
            eprintln!("jpkisim conform: {msg}");
            ExitCode::from(2)
        }
    }
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
    Ok(Options {
        observed,
        hidden_steps: args.hidden_steps,
        max_states: args.max_states,
        ..Options::default()
    })
}

fn check(args: &Args) -> Result<Verdict, String> {
    let opts = options(args)?;
    match Reader::open(&args.file) {
        Ok(_) if args.itf_out.is_none() => {
            conform_file(&args.file, &opts).map_err(|e| e.to_string())
        }
        Ok(mut reader) => {
            let header = reader.header().clone();
            let mut events = Vec::new();
            while let Some(e) = reader.next_event() {
                events.push((e.map_err(|e| e.to_string())?, reader.line()));
            }
            let plain: Vec<Event> = events.iter().map(|(e, _)| e.clone()).collect();
            write_itf(args, &header, &plain)?;
            conform_slice(&header, &events, &opts).map_err(|e| e.to_string())
        }
        Err(e) if e.line == 1 => match itf_document(&args.file) {
            Some(doc) => {
                let (header, events) = jpkisim_traces::itf::read_trace(&doc, None)
                    .map_err(|m| format!("{}: {m}", args.file.display()))?;
                write_itf(args, &header, &events)?;
                // An ITF trace has no lines: an event's "line" is its state index.
                let numbered: Vec<(Event, usize)> = events
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| (e, i + 1))
                    .collect();
                conform_slice(&header, &numbered, &opts).map_err(|e| e.to_string())
            }
            None => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    }
}

/// The file as a JSON object with a `states` array (an ITF document), if it is one.
fn itf_document(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("states")?.as_array()?;
    Some(v)
}

fn write_itf(args: &Args, header: &Header, events: &[Event]) -> Result<(), String> {
    let Some(out) = &args.itf_out else {
        return Ok(());
    };
    let doc = jpkisim_traces::itf::write(header, events);
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

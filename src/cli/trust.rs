//! `jpkisim trust`: every property against each compromised party, the network intruder and a
//! thief who knows the PIN, as one table (Markdown, JSON or HTML), and `--check-doc FILE` to
//! compare a document's generated block (`docs/trust.md`) with a fresh run.
//!
//! Exit codes: 0 the table was printed (violated cells are findings, not errors) or the document
//! matches; 1 the document differs; 2 bad flags, an unreadable document, or a check that failed.

use super::matrix::{compare_block, print_table, Format};
use jpkisim_checker::trust::{self, Threat, Trust};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    /// Persons in each column's configuration (1 keeps the table to minutes, as the design
    /// matrix does).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    persons: u8,
    /// Only these columns (repeatable): sp-tsm, se-tsm, mvno, rp, intruder, thief. Default: all.
    #[arg(long = "threat", value_name = "THREAT", value_parser = parse_threat)]
    threats: Vec<Threat>,
    /// Worker threads of each check (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Compare the generated block of this document (between its trust markers) with a fresh
    /// run instead of printing the table; with `--threat`, only those columns.
    #[arg(long, value_name = "FILE")]
    check_doc: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
}

fn parse_threat(s: &str) -> Result<Threat, String> {
    Threat::parse(s).ok_or_else(|| {
        let ids: Vec<&str> = Threat::ALL.iter().map(|t| t.id()).collect();
        format!("unknown threat {s:?}; expected one of {}", ids.join(", "))
    })
}

pub(crate) fn run(args: Args) -> ExitCode {
    let doc = match &args.check_doc {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) if trust::doc_block(&text).is_some() => Some((path, text)),
            Ok(_) => {
                eprintln!(
                    "jpkisim trust: {} has no generated block (markers {} … {})",
                    path.display(),
                    trust::DOC_BEGIN.trim_end(),
                    trust::DOC_END
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("jpkisim trust: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    let all = args.threats.is_empty();
    let threats: Vec<Threat> = if all {
        Threat::ALL.to_vec()
    } else {
        Threat::ALL
            .into_iter()
            .filter(|t| args.threats.contains(t))
            .collect()
    };
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |n| usize::try_from(n).unwrap_or(1),
    );
    let t = match trust::run(&threats, args.persons, threads, !args.quiet) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("jpkisim trust: {e}");
            return ExitCode::from(2);
        }
    };
    match doc {
        Some((path, text)) => {
            let embedded = trust::doc_block(&text).unwrap_or_default();
            if all {
                compare_block(
                    path,
                    embedded,
                    &trust::markdown(&t),
                    &format!("{} columns", t.columns.len()),
                    "jpkisim trust --format md",
                )
            } else {
                compare_columns(&t, path, embedded)
            }
        }
        None => print_table("trust", &t, args.format, trust::markdown, trust::html),
    }
}

/// Compares only the columns that ran with the document's columns of the same heading.
fn compare_columns(t: &Trust, path: &std::path::Path, embedded: &str) -> ExitCode {
    let mut differ = false;
    for c in &t.columns {
        let fresh = trust::column_texts(c);
        match trust::doc_column(embedded, c.label) {
            None => {
                println!("{}: no column '{}'", path.display(), c.label);
                differ = true;
            }
            Some(doc) if doc == fresh => {}
            Some(doc) => {
                differ = true;
                println!(
                    "{}: column '{}' differs from a fresh run:",
                    path.display(),
                    c.label
                );
                for ((p, a), b) in t.properties.iter().zip(&doc).zip(&fresh) {
                    if a != b {
                        println!("  {p}: doc {a}, fresh {b}");
                    }
                }
                if doc.len() != fresh.len() {
                    println!(
                        "  the doc has {} rows, the catalogue {}",
                        doc.len(),
                        fresh.len()
                    );
                }
            }
        }
    }
    if differ {
        println!("regenerate the block with `jpkisim trust --format md`");
        return ExitCode::from(1);
    }
    println!(
        "{}: the columns {} match a fresh run",
        path.display(),
        t.columns
            .iter()
            .map(|c| format!("'{}'", c.label))
            .collect::<Vec<_>>()
            .join(", ")
    );
    ExitCode::SUCCESS
}

//! `jpkisim matrix`: every design the studies weigh, checked against every property, as one table
//! (Markdown, JSON or HTML), and `--check-doc FILE` to compare a document's generated block with a
//! fresh run.
//!
//! Exit codes: 0 the table was printed (failing cells are findings, not errors) or the document
//! matches; 1 the document differs; 2 bad flags, an unreadable document, or a check that failed.

use super::{junit, output};
use jpkisim_checker::matrix::{self, Bounds, Cell, Matrix, MatrixOptions};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Md,
    Json,
    Html,
}

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    /// Designs checked at once (each on its own thread).
    #[arg(long, default_value_t = default_jobs(), value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: u64,
    /// Persons per design: 1 keeps the whole matrix to minutes; 2 is the default configuration's
    /// size and takes far longer (see docs/design-space.md).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    persons: u8,
    /// Also write the results as JUnit XML to FILE: one test suite per design, one test case per
    /// property.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Compare the generated block of this document (between its matrix markers) with a fresh
    /// run instead of printing the table.
    #[arg(long, value_name = "FILE")]
    check_doc: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
}

fn default_jobs() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

pub(crate) fn run(args: Args) -> ExitCode {
    if let Some(p) = &args.junit {
        if let Err(e) = output::file("--junit", p) {
            eprintln!("jpkisim matrix: {e}");
            return ExitCode::from(2);
        }
    }
    let doc = match &args.check_doc {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some((path, text)),
            Err(e) => {
                eprintln!("jpkisim matrix: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    if let Some((path, text)) = &doc {
        if matrix::doc_block(text).is_none() {
            eprintln!(
                "jpkisim matrix: {} has no generated block (markers {} … {})",
                path.display(),
                matrix::DOC_BEGIN.trim_end(),
                matrix::DOC_END
            );
            return ExitCode::from(2);
        }
    }
    let started = Instant::now();
    let opts = MatrixOptions {
        bounds: Bounds {
            persons: args.persons,
            ..Bounds::default()
        },
        jobs: usize::try_from(args.jobs).unwrap_or(1),
        progress: !args.quiet,
    };
    let m = match matrix::run(opts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("jpkisim matrix: {e}");
            return ExitCode::from(2);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    if !args.quiet {
        eprintln!(
            "jpkisim matrix: {} designs in {seconds:.1}s with {} job(s)",
            m.rows.len(),
            opts.jobs
        );
    }
    if let Some(p) = &args.junit {
        if let Err(e) = output::write("--junit", p, &junit::xml("jpkisim matrix", &suites(&m))) {
            eprintln!("jpkisim matrix: {e}");
            return ExitCode::from(2);
        }
    }
    match doc {
        Some((path, text)) => compare(&m, path, &text),
        None => print_table("matrix", &m, args.format, matrix::markdown, matrix::html),
    }
}

/// One JUnit suite per design, one case per property; a failing cell names the command that
/// prints its shortest counterexample.
fn suites(m: &Matrix) -> Vec<junit::Suite> {
    m.rows
        .iter()
        .map(|row| junit::Suite {
            name: format!("design {}", row.label),
            seconds: row.seconds,
            properties: vec![
                ("flags".into(), row.flags.clone()),
                ("unique_states".into(), row.unique_states.to_string()),
            ],
            cases: m
                .properties
                .iter()
                .zip(&row.cells)
                .map(|(p, cell)| junit::Case {
                    name: (*p).to_string(),
                    classname: format!("jpkisim.matrix.{}", row.label),
                    outcome: match cell {
                        Cell::Holds | Cell::Witnessed => junit::Outcome::Passed,
                        Cell::Violated { steps } => junit::Outcome::Failed {
                            kind: "violated",
                            message: format!(
                                "{p} violated in {steps} steps (shortest) in design {}",
                                row.label
                            ),
                            text: format!(
                                "jpkisim check {} prints the shortest counterexample; {} opens it",
                                row.flags,
                                row.explore_command()
                            ),
                        },
                        Cell::Unwitnessed => junit::Outcome::Failed {
                            kind: "unwitnessed",
                            message: format!("{p} was never reached in design {}", row.label),
                            text: format!("jpkisim check {}", row.flags),
                        },
                        Cell::NotApplicable => junit::Outcome::Skipped {
                            message: "does not apply to this design".into(),
                        },
                        Cell::HoldsUntriggered => junit::Outcome::Skipped {
                            message: format!(
                                "{p} holds only because nothing triggers it in design {}",
                                row.label
                            ),
                        },
                    },
                })
                .collect(),
        })
        .collect()
}

/// Prints a table (the matrix, the trust table) in `format`; `command` names it in an error.
pub(super) fn print_table<T: serde::Serialize>(
    command: &str,
    table: &T,
    format: Format,
    markdown: fn(&T) -> String,
    html: fn(&T) -> String,
) -> ExitCode {
    let text = match format {
        Format::Md => markdown(table),
        Format::Html => html(table),
        Format::Json => match serde_json::to_string_pretty(table) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("jpkisim {command}: cannot write the table as JSON: {e}");
                return ExitCode::from(2);
            }
        },
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

fn compare(m: &Matrix, path: &std::path::Path, doc: &str) -> ExitCode {
    compare_block(
        path,
        matrix::doc_block(doc).unwrap_or_default(),
        &matrix::markdown(m),
        &format!("{} designs", m.rows.len()),
        "jpkisim matrix --format md",
    )
}

/// Compares a document's generated block with a fresh rendering: exit 0 and one line when they
/// match, else exit 1 and every line that differs (`what`: what the fresh run covered; `regen`:
/// the command that regenerates the block).
pub(super) fn compare_block(
    path: &std::path::Path,
    embedded: &str,
    fresh: &str,
    what: &str,
    regen: &str,
) -> ExitCode {
    if embedded == fresh {
        println!(
            "{}: the generated block matches a fresh run ({what})",
            path.display()
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "{}: the generated block differs from a fresh run; lines that differ:",
        path.display()
    );
    let old: Vec<&str> = embedded.lines().collect();
    let new: Vec<&str> = fresh.lines().collect();
    for i in 0..old.len().max(new.len()) {
        let (a, b) = (old.get(i), new.get(i));
        if a != b {
            println!("  line {}:", i + 1);
            println!("    doc:   {}", a.unwrap_or(&"(none)"));
            println!("    fresh: {}", b.unwrap_or(&"(none)"));
        }
    }
    println!("regenerate the block with `{regen}`");
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpkisim_checker::matrix::{Design, Row, PRUNED};

    /// A two-design matrix with every kind of cell, as `run` would hand it to [`suites`] (a real
    /// run takes minutes; the rows' cells are what this test is about).
    fn matrix() -> Matrix {
        let designs = Design::all();
        let row = |design: Design, cells: Vec<Cell>| Row {
            design,
            label: design.label(),
            flags: design.flags(),
            unique_states: 1234,
            cells,
            seconds: 0.25,
        };
        Matrix {
            bounds: Bounds::default(),
            properties: vec!["no_double_issuance", "issued", "old_se_wiped"],
            rows: vec![
                row(
                    designs[0],
                    vec![Cell::Holds, Cell::Witnessed, Cell::NotApplicable],
                ),
                row(
                    designs[1],
                    vec![Cell::Violated { steps: 6 }, Cell::Unwitnessed, Cell::Holds],
                ),
            ],
            pruned: PRUNED,
        }
    }

    #[test]
    fn junit_has_a_suite_per_design_and_a_case_per_property() {
        let m = matrix();
        let x = junit::xml("jpkisim matrix", &suites(&m));
        assert_eq!(x.matches("<testsuite ").count(), 2, "{x}");
        assert_eq!(x.matches("<testcase ").count(), 6, "{x}");
        assert!(
            x.contains("tests=\"6\" failures=\"2\" errors=\"0\""),
            "two failing cells: {x}"
        );
        let second = &m.rows[1];
        assert!(
            x.contains(&format!(
                "no_double_issuance violated in 6 steps (shortest) in design {}",
                second.label
            )),
            "{x}"
        );
        assert!(
            x.contains(&format!("jpkisim check {} prints", second.flags)),
            "the failure names the command that prints the counterexample: {x}"
        );
        assert!(x.contains("does not apply to this design"), "{x}");
        let file =
            std::env::temp_dir().join(format!("jpkisim-matrix-junit-{}.xml", std::process::id()));
        std::fs::write(&file, &x).expect("write the report");
        let xsd = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit-10.xsd");
        match std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(&file)
            .output()
        {
            Ok(o) => assert!(
                o.status.success(),
                "not valid JUnit XML:\n{}\n{x}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!(
                "SKIPPED the schema check: xmllint not found ({e}); apt-get install libxml2-utils"
            ),
        }
        let _ = std::fs::remove_file(&file);
    }
}

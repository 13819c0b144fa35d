//! Command-line front end: one module per subcommand; each turns library errors into one clear
//! line on stderr and an exit code (0 success, 1 a property or check failed, 2 bad input, and for
//! `conform` 3 inconclusive); README.md's "Exit codes" lists them per command.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod applet;
mod bench;
mod card;
mod check;
mod config_flags;
mod conform;
mod explore;
mod junit;
mod liveness;
mod matrix;
mod node;
mod output;
mod run;
mod trust;
mod variants;

/// Model checker, reference implementation and conformance checker for JPKI on phones.
#[derive(Parser)]
#[command(name = "jpkisim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Model-check the protocol (exhaustively, for CI).
    Check(check::Args),
    /// List the deliberately broken protocol variants.
    Variants(variants::Args),
    /// APDU console against a freshly personalized emulated secure element.
    Applet(applet::Args),
    /// Measure on this machine (`bench applet`: the signing path; `bench check`: our engine
    /// against Stateright's).
    Bench(bench::Args),
    /// The emulated phone SE as a PC/SC smart card (pcscd + vsmartcard's vpcd driver).
    Card(card::Args),
    /// Check a recorded trace (NDJSON or ITF) against the model: does it conform, do the properties hold?
    Conform(conform::Args),
    /// Browse the model and its shortest counterexamples in Stateright's web Explorer.
    Explore(explore::Args),
    /// Run the reference implementation's scenarios (real crypto, emulated SE) and record traces.
    Run(run::Args),
    /// Run one party of the reference implementation as its own process (what `run --transport
    /// processes` starts for each party).
    Node(node::Args),
    /// Decide whether every fair run eventually settles with each quiescence property holding
    /// (fair-loss links, fair timers and restarts; finitely many crashes): the whole graph, for
    /// small configurations.
    Liveness(liveness::Args),
    /// Check every studied design against every property and print the table.
    Matrix(matrix::Args),
    /// Check every property against each compromised party, the intruder and a thief who knows
    /// the PIN: which guarantee rests on whose honesty.
    Trust(trust::Args),
}

pub(crate) fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Variants(args) => variants::run(args),
        Command::Applet(args) => applet::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Card(args) => card::run(args),
        Command::Explore(args) => explore::run(args),
        Command::Run(args) => run::run(args),
        Command::Node(args) => node::run(args),
        Command::Liveness(args) => liveness::run(args),
        Command::Matrix(args) => matrix::run(args),
        Command::Trust(args) => trust::run(args),
        Command::Conform(args) => conform::run(args),
    }
}

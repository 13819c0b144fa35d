//! `jpkisim liveness`: does every fair run eventually settle with each quiescence property
//! holding? Builds the whole reachable graph (no symmetry) and decides it under strong fairness
//! on deliveries (fair-loss links), timers and restarts, with finitely many crashes
//! (`jpkisim_checker::liveness`).
//! Prints a verdict per property and, for a violation, the run: one that stops, or a lasso.
//! Exit 0 when every property is live, 1 when one is not, 2 on bad flags or a graph too large.

use std::process::ExitCode;

use jpkisim_checker::counterexample::Counterexample;
use jpkisim_checker::liveness::{self, Options, Violation};

use super::config_flags::ConfigFlags;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    config: ConfigFlags,
    /// Refuse to build a graph of more states than this.
    #[arg(long, value_name = "N", default_value_t = Options::default().max_states)]
    max_states: usize,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let cfg = match args.config.to_config() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("jpkisim liveness: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match liveness::check(
        cfg,
        Options {
            max_states: args.max_states,
        },
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jpkisim liveness: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "liveness under strong fairness on deliveries (fair-loss links), timer firings and restarts, with finitely many crashes"
    );
    println!(
        "graph: {} states, {} edges and {} crash edges, {:.1}s (whole graph, no symmetry); {} fair cycle(s)\n",
        report.graph.len(),
        report.graph.edges(),
        report.graph.crash_edges,
        report.seconds,
        report.fair_cores
    );
    let mut all_live = true;
    for v in &report.verdicts {
        let id = v.property.id;
        match &v.violation {
            None => println!("{id:<32} live: every fair run settles with it holding"),
            Some(violation) => {
                all_live = false;
                let (indices, cycle_from) = match violation {
                    Violation::Stops { end } => (report.graph.path_to(*end), None),
                    Violation::Lasso { entry, cycle, .. } => {
                        let mut p = report.graph.path_to(*entry);
                        let from = p.len();
                        p.extend(cycle.iter().map(|(_, a)| *a));
                        (p, Some(from))
                    }
                };
                let indices: Vec<usize> = indices.into_iter().map(usize::from).collect();
                let cex = Counterexample::replay(&report.model, cfg, v.property, &indices);
                match cycle_from {
                    None => println!(
                        "{id:<32} NOT LIVE: a fair run stops after {} steps, not settled with it holding:",
                        cex.depth()
                    ),
                    Some(from) => println!(
                        "{id:<32} NOT LIVE: a fair run reaches a cycle after {from} steps and goes round its {} steps for ever:",
                        cex.depth() - from
                    ),
                }
                for s in cex.steps() {
                    if Some(s.n - 1) == cycle_from {
                        println!("       ── cycle (repeats for ever) ──");
                    }
                    println!("  {:>3}. {}", s.n, s.action);
                }
            }
        }
    }
    if all_live {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

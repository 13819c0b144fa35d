//! `jpkisim bench check`: our engine against Stateright's depth-first checker on the same
//! configurations, in one run, so that the ratio is measured under the same load.
//!
//! For each configuration both engines run with the same number of threads; the figures are
//! distinct classes per second of wall time and per core (divided by the threads), distinct
//! classes per second of CPU time (this process's user and system time, from /proc, which stays
//! meaningful on a machine shared with other work), bytes per visited state (ours), peak resident
//! memory of the run, and the ratios ours / Stateright's. Both engines must agree on the counts
//! and verdicts; a disagreement is reported, not hidden.
//!
//! It does not print: the CLI formats the rows (a table, or JSON with `--json`).

use crate::check::{self, Engine, Options, Report};
use crate::engine::progress::peak_mib;
use jpkisim_model::config::{Config, Medium};
use jpkisim_model::ConfigError;
use serde::Serialize;
use std::time::Instant;

/// A configuration the benchmark runs.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// Short name (`default`, `persons-1`, ...).
    pub name: &'static str,
    /// The `jpkisim check` flags that give it.
    pub flags: &'static str,
    /// The configuration.
    pub config: fn() -> Config,
}

fn default_config() -> Config {
    Config::default()
}

fn one_person() -> Config {
    Config {
        persons: 1,
        ..Config::default()
    }
}

fn three_persons() -> Config {
    Config {
        persons: 3,
        ..Config::default()
    }
}

fn gp_se() -> Config {
    Config {
        medium: Medium::GpSe,
        ..Config::default()
    }
}

/// The configurations of issue 13's benchmark.
pub const CASES: [Case; 4] = [
    Case {
        name: "default",
        flags: "",
        config: default_config,
    },
    Case {
        name: "persons-1",
        flags: "--persons 1",
        config: one_person,
    },
    Case {
        name: "persons-3",
        flags: "--persons 3",
        config: three_persons,
    },
    Case {
        name: "gp-se",
        flags: "--medium gp-se",
        config: gp_se,
    },
];

/// One engine's run of one configuration.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    /// The engine.
    pub engine: Engine,
    /// Worker threads.
    pub threads: usize,
    /// States generated.
    pub states: usize,
    /// Distinct classes.
    pub unique_states: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// CPU seconds of this process during the run (user + system), if /proc has them.
    pub cpu_seconds: Option<f64>,
    /// Classes per second of wall time.
    pub classes_per_second: f64,
    /// Classes per second of wall time per thread.
    pub classes_per_second_per_core: f64,
    /// Classes per CPU second.
    pub classes_per_cpu_second: Option<f64>,
    /// Bytes of visited set per class (our engine).
    pub bytes_per_state: Option<f64>,
    /// Peak resident memory during the run, MiB (where /proc lets the peak be reset).
    pub peak_mib: Option<f64>,
    /// Violated and unwitnessed properties, for the agreement check.
    pub failing: Vec<&'static str>,
}

/// Both engines on one configuration.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The configuration's name.
    pub case: &'static str,
    /// Its `jpkisim check` flags.
    pub flags: &'static str,
    /// Stateright's depth-first checker.
    pub stateright: Run,
    /// Our engine.
    pub ours: Run,
    /// Ours / Stateright's, classes per second per core (wall time).
    pub ratio_per_core: f64,
    /// Ours / Stateright's, classes per CPU second.
    pub ratio_per_cpu_second: Option<f64>,
    /// Whether both engines counted the same classes and gave the same verdicts.
    pub agree: bool,
}

/// CPU seconds (user + system) of this process so far, from /proc/self/stat.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Resets this process's peak resident memory (VmHWM), where Linux allows it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn failing(r: &Report) -> Vec<&'static str> {
    r.properties
        .iter()
        .filter(|p| !p.verdict.is_good())
        .map(|p| p.id)
        .collect()
}

/// Runs one engine on one configuration.
pub fn run(cfg: Config, engine: Engine, threads: usize) -> Result<Run, ConfigError> {
    let can_reset = reset_peak();
    let cpu0 = cpu_seconds();
    let started = Instant::now();
    let report = check::run(
        cfg,
        Options {
            threads,
            engine,
            ..Options::default()
        },
    )
    .map_err(|e| ConfigError(e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| (b - a).max(1e-9));
    let unique = report.unique_states as f64;
    Ok(Run {
        engine,
        threads,
        states: report.states,
        unique_states: report.unique_states,
        seconds,
        cpu_seconds: cpu,
        classes_per_second: unique / seconds,
        classes_per_second_per_core: unique / seconds / threads as f64,
        classes_per_cpu_second: cpu.map(|c| unique / c),
        bytes_per_state: report.bytes_per_state,
        peak_mib: if can_reset { peak_mib() } else { None },
        failing: failing(&report),
    })
}

/// Both engines on `case`, Stateright's first.
pub fn compare(case: &Case, threads: usize) -> Result<Comparison, ConfigError> {
    let cfg = (case.config)();
    let stateright = run(cfg, Engine::Stateright, threads)?;
    let ours = run(cfg, Engine::Ours, threads)?;
    let agree = ours.unique_states == stateright.unique_states
        && ours.states == stateright.states
        && ours.failing == stateright.failing;
    Ok(Comparison {
        case: case.name,
        flags: case.flags,
        ratio_per_core: ours.classes_per_second_per_core / stateright.classes_per_second_per_core,
        ratio_per_cpu_second: ours
            .classes_per_cpu_second
            .zip(stateright.classes_per_cpu_second)
            .map(|(o, s)| o / s),
        stateright,
        ours,
        agree,
    })
}

//! Runs an exhaustive check of a configuration and reports every property's verdict.
//!
//! The report's JSON shape is the interface CI tools rely on (`jpkisim check --json`): keep
//! `config`, `complete`, `states`, `unique_states`, `max_depth`, `seconds` and `properties[]` with
//! `id`, `kind`, `verdict`, `depth`, `path`; fields may be added.
//!
//! Two engines explore the same model. [`Engine::Ours`] (the default) is the breadth-first engine
//! of [`crate::engine`]: every path it reports, violation or witness, is a shortest one, found in
//! the same pass. [`Engine::Stateright`] is Stateright 0.31's depth-first checker, kept as an
//! independent cross-check: its discoveries are not necessarily shortest (`depth` is the length
//! of the path it found), so violations are then searched again for a shortest path
//! (docs/sources/stateright-notes.md, pitfall 1).
//!
//! No vacuous verdicts: each applicable safety property's trigger (`PropertyDef::trigger`) is
//! searched for like a reachability property, and the report says for each safety property
//! whether it was `triggered` and the depth of the shallowest triggering state
//! (`trigger_depth`). An engine needs nothing else: the triggers are reachability targets
//! ([`jpkisim_properties::applicable_triggers`]), and the first depth at which each holds is what
//! it reports for any reachability property.

use crate::counterexample::Counterexample;
use crate::engine::cluster::{ClusterOptions, Hosts};
use crate::engine::{self, Search, SearchError};
use crate::shortest::shortest_paths;
use jpkisim_model::describe;
use jpkisim_model::{Config, ConfigError, Topology};
use jpkisim_properties::catalogue::{Kind, PropertyDef};
use jpkisim_properties::{applicable, applicable_triggers, checked_model_with_triggers};
use serde::Serialize;
use stateright::{Checker, Model};
use std::time::{Duration, Instant};

/// Which exploration engine runs the check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// jpkisim's parallel breadth-first engine (shortest paths in one pass).
    #[default]
    Ours,
    /// Stateright's depth-first checker (the cross-check).
    Stateright,
}

/// How to run the checker.
#[derive(Clone, Debug)]
pub struct Options {
    /// Worker threads (of this process).
    pub threads: usize,
    /// Print progress on stderr every this often (`None`: silent).
    pub progress_every: Option<Duration>,
    /// Explore one state per class of states that differ only by a renaming of persons.
    pub symmetry: bool,
    /// Stateright engine only: replace each violated property's path by a shortest one (our
    /// engine's paths always are).
    pub shortest: bool,
    /// The exploration engine.
    pub engine: Engine,
    /// Our engine on timely dataflow with this many workers per process (`None`: the
    /// shared-memory engine with `threads`).
    pub workers: Option<usize>,
    /// Our engine across processes: where they are and which one this is.
    pub hosts: Option<Hosts>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            progress_every: None,
            symmetry: true,
            shortest: true,
            engine: Engine::Ours,
            workers: None,
            hosts: None,
        }
    }
}

/// A property's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Safety property held in every explored state.
    Holds,
    /// Safety property failed in some state.
    Violated,
    /// Reachability property held in some state.
    Witnessed,
    /// Reachability property held in no explored state.
    Unwitnessed,
}

impl Verdict {
    /// Whether this verdict is what a correct protocol should give.
    pub fn is_good(self) -> bool {
        matches!(self, Verdict::Holds | Verdict::Witnessed)
    }
}

/// One property's result.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyResult {
    /// Property id.
    pub id: &'static str,
    /// `always` or `sometimes`.
    pub kind: Kind,
    /// The verdict.
    pub verdict: Verdict,
    /// Steps in the counterexample or witness path.
    pub depth: Option<usize>,
    /// The path, one readable line per step.
    pub path: Option<Vec<String>>,
    /// Whether `path` is a shortest one: always with our engine; with Stateright's, for violations
    /// unless `--no-shortest` (witnesses keep the depth-first path).
    pub shortest: bool,
    /// The path in Stateright's Explorer encoding: the index of each step among the enabled ones
    /// (open it at `#/steps/<explorer_path>`).
    pub explorer_path: Option<String>,
    /// What the property guarantees.
    pub summary: &'static str,
    /// A safety property's trigger: whether some reachable state triggers it (absent for a
    /// reachability property).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triggered: Option<bool>,
    /// Steps to the shallowest state that triggers it (absent when never triggered, and with
    /// `--no-shortest`, which does not search for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_depth: Option<usize>,
}

impl PropertyResult {
    /// A safety property that holds only because nothing ever triggers it.
    pub fn never_triggered(&self) -> bool {
        self.verdict == Verdict::Holds && self.triggered == Some(false)
    }
}

/// A property left out because it means nothing in this configuration.
#[derive(Clone, Debug, Serialize)]
pub struct NotApplicable {
    /// Property id.
    pub id: &'static str,
    /// Why.
    pub reason: &'static str,
}

/// The outcome of a check.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The configuration checked.
    pub config: Config,
    /// True when every reachable state within the budgets was explored.
    pub complete: bool,
    /// States generated.
    pub states: usize,
    /// Distinct states.
    pub unique_states: usize,
    /// Longest path explored.
    pub max_depth: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Worker threads used (over all processes).
    pub threads: usize,
    /// The engine that explored.
    pub engine: Engine,
    /// Our engine: bytes of visited set per distinct state, table overhead included (`null` with
    /// Stateright's).
    pub bytes_per_state: Option<f64>,
    /// Processes that took part (more than 1 with `--hostfile`).
    pub processes: usize,
    /// Our engine across processes: bytes sent between processes (serialized batches, framing
    /// excluded); `null` in one process.
    pub exchanged_bytes: Option<u64>,
    /// Whether symmetry reduction over persons was used (then `unique_states` counts classes).
    pub symmetry: bool,
    /// One entry per applicable property, in catalogue order.
    pub properties: Vec<PropertyResult>,
    /// Properties that do not apply to this configuration.
    pub not_applicable: Vec<NotApplicable>,
    /// The shortest counterexample of each violated property, for rendering (text, Mermaid, ITF).
    #[serde(skip)]
    pub counterexamples: Vec<Counterexample>,
}

impl Report {
    /// Every safety property holds and every reachability property was witnessed.
    pub fn all_good(&self) -> bool {
        self.properties.iter().all(|p| p.verdict.is_good())
    }

    /// The safety properties that hold only because nothing triggers them.
    pub fn never_triggered(&self) -> impl Iterator<Item = &PropertyResult> {
        self.properties.iter().filter(|p| p.never_triggered())
    }
}

/// Puts the depth of each trigger's shallowest path on the property it triggers.
fn record_trigger_depths(properties: &mut [PropertyResult], paths: &[Option<Counterexample>]) {
    for path in paths.iter().flatten() {
        let of = path.property.id.trim_end_matches(".trigger");
        if let Some(r) = properties.iter_mut().find(|r| r.id == of) {
            r.trigger_depth = Some(path.depth());
        }
    }
}

/// Model-checks `cfg` exhaustively (within its budgets and optional depth bound).
pub fn run(cfg: Config, opts: Options) -> Result<Report, SearchError> {
    match opts.engine {
        Engine::Ours => run_ours(cfg, &opts),
        Engine::Stateright => run_stateright(cfg, &opts),
    }
}

/// Model-checks `cfg` on `threads` threads and insists the exploration is complete: the design
/// matrix and the trust table read each cell as a verdict, which a cut-short search cannot give.
/// `what` names the row or column in the error (`design 'x'`, `the intruder column`).
pub fn run_complete(cfg: Config, threads: usize, what: &str) -> Result<Report, ConfigError> {
    let report = run(
        cfg,
        Options {
            threads,
            ..Options::default()
        },
    )
    .map_err(|e| ConfigError(e.to_string()))?;
    if !report.complete {
        return Err(ConfigError(format!("{what} was not explored completely")));
    }
    Ok(report)
}

fn not_applicable(cfg: &Config) -> Vec<NotApplicable> {
    applicable(cfg)
        .1
        .into_iter()
        .map(|(p, reason)| NotApplicable { id: p.id, reason })
        .collect()
}

fn verdict(kind: Kind, found: bool) -> Verdict {
    match (kind, found) {
        (Kind::Always, false) => Verdict::Holds,
        (Kind::Always, true) => Verdict::Violated,
        (Kind::Sometimes, true) => Verdict::Witnessed,
        (Kind::Sometimes, false) => Verdict::Unwitnessed,
    }
}

fn run_ours(cfg: Config, opts: &Options) -> Result<Report, SearchError> {
    let (mut props, _) = applicable(&cfg);
    props.extend(applicable_triggers(&cfg));
    let search = Search::new(cfg, props, opts.symmetry)?;
    let outcome = if opts.workers.is_some() || opts.hosts.is_some() {
        engine::cluster::run(
            search.clone(),
            &ClusterOptions {
                workers: opts.workers.unwrap_or(opts.threads),
                hosts: opts.hosts.clone(),
                progress: opts.progress_every,
            },
        )?
    } else {
        engine::local::run(&search, opts.threads, opts.progress_every)?
    };
    let mut report = report_of(&search, &outcome, opts.symmetry);
    report.processes = opts.hosts.as_ref().map_or(1, |h| h.addresses.len());
    if report.processes > 1 {
        report.exchanged_bytes = Some(outcome.remote_bytes);
    }
    Ok(report)
}

/// The report of one of our engine's searches (local or cluster).
pub fn report_of(search: &Search, outcome: &engine::Outcome, symmetry: bool) -> Report {
    let cfg = search.cfg;
    let mut properties = Vec::new();
    let mut counterexamples = Vec::new();
    let decided: Vec<_> = search.properties.iter().zip(&outcome.discoveries).collect();
    let is_trigger = |p: &PropertyDef| p.id.ends_with(".trigger");
    for &(p, found) in decided.iter().filter(|(p, _)| !is_trigger(p)) {
        let v = verdict(p.kind, found.is_some());
        let trigger = p.trigger.map(|t| {
            decided
                .iter()
                .find(|(q, _)| q.id == t.target.id)
                .and_then(|(_, d)| d.as_ref())
        });
        let cex = found
            .as_ref()
            .map(|d| Counterexample::replay(&search.model, cfg, p, &d.path));
        properties.push(PropertyResult {
            id: p.id,
            kind: p.kind,
            verdict: v,
            depth: cex.as_ref().map(Counterexample::depth),
            path: cex
                .as_ref()
                .map(|c| c.steps().into_iter().map(|s| s.action).collect()),
            shortest: cex.is_some(),
            explorer_path: cex.as_ref().map(Counterexample::explorer_path),
            summary: p.summary,
            triggered: trigger.map(|d| d.is_some()),
            trigger_depth: trigger.flatten().map(|d| d.path.len()),
        });
        if let (Verdict::Violated, Some(c)) = (v, cex) {
            counterexamples.push(c);
        }
    }
    Report {
        config: cfg,
        complete: outcome.complete,
        states: outcome.generated as usize,
        unique_states: outcome.unique as usize,
        max_depth: outcome.max_depth,
        seconds: outcome.seconds,
        threads: outcome.workers,
        engine: Engine::Ours,
        bytes_per_state: Some(outcome.bytes_per_state()),
        processes: 1,
        exchanged_bytes: None,
        symmetry,
        properties,
        not_applicable: not_applicable(&cfg),
        counterexamples,
    }
}

fn run_stateright(cfg: Config, opts: &Options) -> Result<Report, SearchError> {
    if opts.workers.is_some() || opts.hosts.is_some() {
        return Err(SearchError::Config(ConfigError(
            "--workers and --hostfile run our engine; they cannot be combined with --engine stateright".into(),
        )));
    }
    let model = checked_model_with_triggers(cfg)?;
    let (props, _) = applicable(&cfg);
    let topo = Topology::of(&cfg);
    let started = Instant::now();
    let mut builder = model.checker().threads(opts.threads.max(1));
    if opts.symmetry {
        builder = builder.symmetry_fn(jpkisim_model::symmetry::representative);
    }
    if let Some(d) = cfg.max_depth {
        builder = builder.target_max_depth(d);
    }
    let checker = builder.spawn_dfs();
    if let Some(every) = opts.progress_every {
        let mut next = every;
        while !checker.is_done() {
            std::thread::sleep(Duration::from_millis(100));
            if started.elapsed() >= next {
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "jpkisim check (stateright): {} states, {} unique, depth {}, {:.0} states/s, {:.0}s",
                    checker.state_count(),
                    checker.unique_state_count(),
                    checker.max_depth(),
                    checker.state_count() as f64 / secs,
                    secs
                );
                next += every;
            }
        }
    }
    let checker = checker.join();
    let seconds = started.elapsed().as_secs_f64();
    let discoveries = checker.discoveries();
    let mut properties: Vec<PropertyResult> = props
        .iter()
        .map(|p: &&PropertyDef| {
            let found = discoveries.get(p.id);
            let path = found.map(|path| {
                path.clone()
                    .into_actions()
                    .iter()
                    .map(|a| describe::action(&topo, a))
                    .collect::<Vec<_>>()
            });
            PropertyResult {
                id: p.id,
                kind: p.kind,
                verdict: verdict(p.kind, found.is_some()),
                depth: path.as_ref().map(Vec::len),
                path,
                shortest: false,
                explorer_path: found.map(|path| path.encode(checker.model())),
                summary: p.summary,
                triggered: p.trigger.map(|t| discoveries.contains_key(t.target.id)),
                trigger_depth: None,
            }
        })
        .collect();
    let mut counterexamples = Vec::new();
    if opts.shortest {
        let violated: Vec<&'static PropertyDef> = properties
            .iter()
            .filter(|r| r.verdict == Verdict::Violated)
            .filter_map(|r| jpkisim_properties::catalogue::by_id(r.id))
            .collect();
        // The triggers reached, searched in the same breadth-first pass for their first depth.
        let triggered: Vec<&'static PropertyDef> = applicable_triggers(&cfg)
            .into_iter()
            .filter(|t| discoveries.contains_key(t.id))
            .collect();
        let targets: Vec<&'static PropertyDef> =
            violated.iter().chain(&triggered).copied().collect();
        if !targets.is_empty() {
            let found = shortest_paths(cfg, &targets)?;
            let (to_violations, to_triggers) = found.split_at(violated.len());
            for cex in to_violations.iter().flatten() {
                if let Some(r) = properties.iter_mut().find(|r| r.id == cex.property.id) {
                    r.path = Some(cex.steps().into_iter().map(|s| s.action).collect());
                    r.depth = Some(cex.depth());
                    r.shortest = true;
                    r.explorer_path = Some(cex.explorer_path());
                }
                counterexamples.push(cex.clone());
            }
            record_trigger_depths(&mut properties, to_triggers);
        }
    }
    let max_depth = checker.max_depth();
    let cut_by_depth = cfg.max_depth.is_some_and(|d| max_depth >= d);
    let stopped_early = properties.iter().all(|p| p.depth.is_some());
    Ok(Report {
        config: cfg,
        complete: !cut_by_depth && !stopped_early,
        states: checker.state_count(),
        unique_states: checker.unique_state_count(),
        max_depth,
        seconds,
        threads: opts.threads.max(1),
        engine: Engine::Stateright,
        bytes_per_state: None,
        processes: 1,
        exchanged_bytes: None,
        symmetry: opts.symmetry,
        properties,
        not_applicable: not_applicable(&cfg),
        counterexamples,
    })
}

//! Runs an exhaustive check of a configuration and reports every property's verdict.
//!
//! The report's JSON shape is the interface CI tools rely on (`jpkisim check --json`): keep
//! `config`, `complete`, `states`, `unique_states`, `max_depth`, `seconds` and `properties[]` with
//! `id`, `kind`, `verdict`, `depth`, `path`; fields may be added.
//!
//! Stateright's depth-first checker is used because it is the one that honours symmetry reduction
//! and needs little memory (see docs/sources/stateright-notes.md). Its discoveries are not
//! necessarily the shortest paths; `depth` is the length of the path it reports.

use crate::counterexample::Counterexample;
use crate::shortest::shortest_paths;
use jpkisim_model::describe;
use jpkisim_model::{Config, ConfigError, Topology};
use jpkisim_properties::catalogue::{Kind, PropertyDef};
use jpkisim_properties::{applicable, checked_model};
use serde::Serialize;
use stateright::{Checker, Model};
use std::time::{Duration, Instant};

/// How to run the checker.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Worker threads.
    pub threads: usize,
    /// Print progress on stderr every this often (`None`: silent).
    pub progress_every: Option<Duration>,
    /// Explore one state per class of states that differ only by a renaming of persons.
    pub symmetry: bool,
    /// Replace each violated property's path by a shortest one (a breadth-first search that stops
    /// at the shallowest violation).
    pub shortest: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            progress_every: None,
            symmetry: true,
            shortest: true,
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
    /// Whether `path` is a shortest one (always for violations unless `--no-shortest`; witnesses
    /// keep the depth-first path).
    pub shortest: bool,
    /// The path in Stateright's Explorer encoding: the index of each step among the enabled ones
    /// (open it at `#/steps/<explorer_path>`).
    pub explorer_path: Option<String>,
    /// What the property guarantees.
    pub summary: &'static str,
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
    /// Worker threads used.
    pub threads: usize,
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
}

/// Model-checks `cfg` exhaustively (within its budgets and optional depth bound).
pub fn run(cfg: Config, opts: Options) -> Result<Report, ConfigError> {
    let model = checked_model(cfg)?;
    let (props, not_applicable) = applicable(&cfg);
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
                eprintln!(
                    "jpkisim check: {} states, {} unique, depth {}, {:.0}s",
                    checker.state_count(),
                    checker.unique_state_count(),
                    checker.max_depth(),
                    started.elapsed().as_secs_f64()
                );
                next += every;
            }
        }
    }
    let checker = checker.join();
    let seconds = started.elapsed().as_secs_f64();
    let discoveries = checker.discoveries();
    let properties: Vec<PropertyResult> = props
        .iter()
        .map(|p: &&PropertyDef| {
            let found = discoveries.get(p.id);
            let verdict = match (p.kind, found.is_some()) {
                (Kind::Always, false) => Verdict::Holds,
                (Kind::Always, true) => Verdict::Violated,
                (Kind::Sometimes, true) => Verdict::Witnessed,
                (Kind::Sometimes, false) => Verdict::Unwitnessed,
            };
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
                verdict,
                depth: path.as_ref().map(Vec::len),
                path,
                shortest: false,
                explorer_path: found.map(|path| path.encode(checker.model())),
                summary: p.summary,
            }
        })
        .collect();
    let mut properties = properties;
    let mut counterexamples = Vec::new();
    if opts.shortest {
        let violated: Vec<&'static PropertyDef> = properties
            .iter()
            .filter(|r| r.verdict == Verdict::Violated)
            .filter_map(|r| jpkisim_properties::catalogue::by_id(r.id))
            .collect();
        if !violated.is_empty() {
            for cex in shortest_paths(cfg, &violated)?.into_iter().flatten() {
                if let Some(r) = properties.iter_mut().find(|r| r.id == cex.property.id) {
                    r.path = Some(cex.steps().into_iter().map(|s| s.action).collect());
                    r.depth = Some(cex.depth());
                    r.shortest = true;
                    r.explorer_path = Some(cex.explorer_path());
                }
                counterexamples.push(cex);
            }
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
        symmetry: opts.symmetry,
        properties,
        not_applicable: not_applicable
            .into_iter()
            .map(|(p, reason)| NotApplicable { id: p.id, reason })
            .collect(),
        counterexamples,
    })
}

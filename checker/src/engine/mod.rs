//! jpkisim's own exploration engine: level-synchronous breadth-first search over the model's
//! Stateright [`Model`] (the same actors, transitions, boundary and properties that Stateright's
//! checker explores), in parallel, with shortest counterexamples in the same pass.
//!
//! Level `d` holds every class of states first reached in `d` steps. Every state of a level is
//! checked against every property not yet decided, so the first level at which a safety property
//! fails (or a reachability property holds) gives a shortest path, and among the states of that
//! level the engine takes the one whose path is smallest in the order below: the answer does not
//! depend on the number of workers or processes.
//!
//! **Order and paths.** A state's path is the list of action indices from the initial state
//! (indices into [`Model::actions`] of each concrete state along the way, as the Explorer's
//! `#/steps/…` URLs use them). A class reached by several parents keeps the path that is
//! lexicographically smallest, and with it the concrete state that path reaches: exactly what a
//! sequential breadth-first search that visits each level in path order and the actions in
//! `actions()` order would keep. Paths are concrete (they replay on the unreduced model) because
//! the engine never replaces a state by a renamed copy: it only *fingerprints* states by class
//! ([`fingerprint`]).
//!
//! **Memory.** The visited set holds fingerprints only ([`visited`]); the path travels with the
//! state on the frontier, so nothing per visited state is needed to rebuild it.
//!
//! Drivers: [`local`] runs a search on threads sharing memory; [`cluster`] runs the same levels as
//! a timely dataflow over workers and processes. Both use [`Search`] for everything that touches
//! the model, so they explore the same states and find the same paths.

pub mod fingerprint;
pub mod local;
pub mod packed;
pub mod progress;
pub mod successor;
pub mod visited;

use fingerprint::{Canon, Parts};
use jpkisim_model::{Config, ConfigError, JpkiAction, JpkiModel, JpkiState, World};
use jpkisim_properties::catalogue::{Kind, PropertyDef};
use packed::Packed;
use stateright::Model;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use successor::{Glimpse, Scratch};

/// An action index on a path. Stateright's actions are indices into a `Vec` of the enabled
/// actions; a state with more than 65,536 enabled actions is rejected (see [`Search::expand`]).
pub type Step = u16;

/// What to search: the model, the properties to decide and the symmetry to reduce by.
#[derive(Clone)]
pub struct Search {
    /// The configuration.
    pub cfg: Config,
    /// The model (the same `build` that Stateright's checker is given).
    pub model: JpkiModel,
    /// The properties to decide, in report order.
    pub properties: Vec<&'static PropertyDef>,
    /// The canonical fingerprint (symmetry on or off).
    pub canon: Canon,
    /// Stop when every property is decided (a violation or witness for each).
    pub stop_when_all_found: bool,
    /// Build every successor and check that the fingerprint computed without building it agrees
    /// (for tests: normally only new successors are built and checked).
    pub verify_every_step: bool,
}

/// A state on the frontier.
#[derive(Clone, Debug)]
pub struct Node {
    /// The concrete state (a state of the unreduced model, reached by `path`), packed.
    pub state: Packed,
    /// Its fingerprint parts, for its successors.
    pub parts: Parts,
    /// Action indices from the initial state.
    pub path: Vec<Step>,
}

/// Per level and worker: for each fingerprint met, whether that state is within the model's
/// boundary (a state outside it is neither counted nor kept, as in Stateright's checkers).
pub type Seen = HashMap<u64, bool, BuildHasherDefault<visited::Identity>>;

/// Reusable buffers of one worker.
#[derive(Default)]
pub struct Worker {
    actions: Vec<JpkiAction>,
    scratch: Scratch,
}

/// Where a property was first decided: its level and the path there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// Steps from the initial state (the level).
    pub depth: usize,
    /// The action indices of the path.
    pub path: Vec<usize>,
}

/// The result of a search.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// States generated: initial states and successors within the model's boundary, duplicates
    /// included (Stateright's `state_count`).
    pub generated: u64,
    /// Distinct classes (distinct states without symmetry).
    pub unique: u64,
    /// Depth of the deepest level reached, counting the initial state as 1 (Stateright's
    /// convention, so that `--max-depth` means the same under both engines).
    pub max_depth: usize,
    /// For each of [`Search::properties`], where it was first decided.
    pub discoveries: Vec<Option<Discovery>>,
    /// Every reachable class was explored (not cut by `max_depth`, not stopped early).
    pub complete: bool,
    /// Bytes of the visited set(s).
    pub visited_bytes: u64,
    /// Largest number of states on one level.
    pub widest_level: u64,
    /// Worker threads, over all processes.
    pub workers: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Outcome {
    /// Bytes of visited set per distinct class.
    pub fn bytes_per_state(&self) -> f64 {
        if self.unique == 0 {
            0.0
        } else {
            self.visited_bytes as f64 / self.unique as f64
        }
    }
}

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The configuration does not describe a model.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A state enables more actions than a path step can name.
    #[error("a state enables {0} actions; the engine names at most 65,536 per state")]
    TooManyActions(usize),
    /// The engine's shortcut and Stateright's `next_state` disagree about a step (a bug in the
    /// engine: the search stops rather than count wrongly).
    #[error(
        "engine error: for the step {action}, {detail}; please report this with the configuration"
    )]
    Diverged {
        /// The action, as Stateright prints it.
        action: String,
        /// What disagreed.
        detail: String,
    },
}

impl Search {
    /// The search for `properties` in `cfg`, with symmetry reduction over persons if `symmetry`.
    pub fn new(
        cfg: Config,
        properties: Vec<&'static PropertyDef>,
        symmetry: bool,
    ) -> Result<Search, ConfigError> {
        Ok(Search {
            cfg,
            model: jpkisim_model::build(cfg)?,
            properties,
            canon: Canon::new(&cfg, symmetry),
            stop_when_all_found: false,
            verify_every_step: false,
        })
    }

    /// Depth bound in Stateright's convention (states, the initial one counted): states at this
    /// depth or deeper are counted but neither checked nor expanded.
    pub fn max_depth(&self) -> Option<usize> {
        self.cfg.max_depth
    }

    /// The initial states within the boundary, as frontier nodes with their fingerprints.
    pub fn initial(&self) -> Vec<(u64, Node)> {
        self.model
            .init_states()
            .into_iter()
            .filter(|s| Model::within_boundary(&self.model, s))
            .map(|state| {
                let (fp, parts) = self.canon.fingerprint(&state, None);
                (
                    fp,
                    Node {
                        state: Packed::pack(&state),
                        parts,
                        path: Vec::new(),
                    },
                )
            })
            .collect()
    }

    /// Calls `each(property index)` for every property in `open` (not yet decided) that `state`
    /// decides: violates it (safety) or witnesses it (reachability).
    pub fn decided_in(&self, state: &JpkiState, open: &[bool], mut each: impl FnMut(usize)) {
        let Some(world) = World::of(state) else {
            return;
        };
        for (i, p) in self.properties.iter().enumerate() {
            if open.get(i).copied().unwrap_or(false) {
                let holds = (p.condition)(&self.cfg, &world);
                let decided = match p.kind {
                    Kind::Always => !holds,
                    Kind::Sometimes => holds,
                };
                if decided {
                    each(i);
                }
            }
        }
    }

    /// Expands `node`: generates its successors within the model's boundary and calls
    /// `fresh(fingerprint, node)` for each that is neither `known` (visited at an earlier level)
    /// nor already in `seen` (met by this worker on this level), after offering it to `hits` for
    /// every property in `open` it decides (if `check`). Returns the number of successors within
    /// the boundary, duplicates included (Stateright's count).
    pub fn expand(
        &self,
        node: &Node,
        known: impl Fn(u64) -> bool,
        seen: &mut Seen,
        check: Option<(&[bool], &mut LevelHits)>,
        worker: &mut Worker,
        mut fresh: impl FnMut(u64, Node),
    ) -> Result<u64, SearchError> {
        let parent = node.state.unpack();
        worker.actions.clear();
        self.model.actions(&parent, &mut worker.actions);
        if worker.actions.len() > usize::from(Step::MAX) + 1 {
            return Err(SearchError::TooManyActions(worker.actions.len()));
        }
        let mut check = check;
        let mut generated = 0;
        for (ix, action) in worker.actions.iter().enumerate() {
            let glimpse = self.glimpse(&parent, &node.parts, action, &mut worker.scratch);
            let quick = match glimpse {
                Glimpse::Nothing if !self.verify_every_step => continue,
                Glimpse::Fingerprint(fp) if !self.verify_every_step => {
                    if known(fp) {
                        generated += 1;
                        continue;
                    }
                    if let Some(&inside) = seen.get(&fp) {
                        generated += u64::from(inside);
                        continue;
                    }
                    Some(fp)
                }
                Glimpse::Fingerprint(fp) => Some(fp),
                Glimpse::Nothing | Glimpse::Unknown => None,
            };
            let next = self.model.next_state(&parent, action.clone());
            let Some(next) = next else {
                if glimpse == Glimpse::Nothing || glimpse == Glimpse::Unknown {
                    continue;
                }
                return Err(diverged(
                    action,
                    "Stateright's next_state gives no successor",
                ));
            };
            let (fp, parts) = match (glimpse, quick) {
                (Glimpse::Nothing, _) => {
                    return Err(diverged(
                        action,
                        "next_state gives a successor where the engine expected none",
                    ))
                }
                (Glimpse::Fingerprint(_), Some(fp)) if !self.verify_every_step => {
                    (fp, worker.scratch.parts(&self.canon, &node.parts))
                }
                _ => {
                    let (fp, parts) = self.canon.fingerprint(&next, Some((&parent, &node.parts)));
                    if let Some(q) = quick {
                        if q != fp || worker.scratch.parts(&self.canon, &node.parts) != parts {
                            return Err(diverged(
                                action,
                                "the successor's fingerprint differs from the one computed without building it",
                            ));
                        }
                    }
                    (fp, parts)
                }
            };
            if known(fp) {
                generated += 1;
                continue;
            }
            if let Some(&inside) = seen.get(&fp) {
                generated += u64::from(inside);
                continue;
            }
            let inside = Model::within_boundary(&self.model, &next);
            seen.insert(fp, inside);
            if !inside {
                continue;
            }
            generated += 1;
            let mut path = Vec::with_capacity(node.path.len() + 1);
            path.extend_from_slice(&node.path);
            path.push(ix as Step);
            if let Some((open, hits)) = check.as_mut() {
                self.decided_in(&next, open, |i| hits.offer(i, &path));
            }
            fresh(
                fp,
                Node {
                    state: Packed::pack(&next),
                    parts,
                    path,
                },
            );
        }
        Ok(generated)
    }
}

fn diverged(action: &JpkiAction, detail: &str) -> SearchError {
    SearchError::Diverged {
        action: format!("{action:?}"),
        detail: detail.into(),
    }
}

/// Per property: decided at the current level, and by the smallest path so far.
#[derive(Clone, Debug, Default)]
pub struct LevelHits {
    /// `best[i]`: the smallest path (and its position key) among this level's states that decide
    /// property `i`.
    pub best: Vec<Option<Vec<Step>>>,
}

impl LevelHits {
    /// Room for `n` properties.
    pub fn new(n: usize) -> LevelHits {
        LevelHits {
            best: vec![None; n],
        }
    }

    /// Offers `path` as a hit of property `i`; kept if smaller than the current one.
    pub fn offer(&mut self, i: usize, path: &[Step]) {
        let slot = &mut self.best[i];
        if slot.as_deref().is_none_or(|b| path < b) {
            *slot = Some(path.to_vec());
        }
    }

    /// Merges another worker's hits into these.
    pub fn merge(&mut self, other: LevelHits) {
        for (i, hit) in other.best.into_iter().enumerate() {
            if let Some(path) = hit {
                self.offer(i, &path);
            }
        }
    }
}

/// Records this level's hits as discoveries of still-open properties; returns whether any is
/// still open afterwards.
pub fn settle(
    hits: LevelHits,
    level: usize,
    open: &mut [bool],
    discoveries: &mut [Option<Discovery>],
) -> bool {
    for (i, hit) in hits.best.into_iter().enumerate() {
        if let (Some(path), true) = (hit, open[i]) {
            open[i] = false;
            discoveries[i] = Some(Discovery {
                depth: level,
                path: path.into_iter().map(usize::from).collect(),
            });
        }
    }
    open.iter().any(|&o| o)
}

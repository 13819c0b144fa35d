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

pub mod actions;
pub mod cluster;
pub mod connect;
pub mod fingerprint;
pub mod local;
pub mod packed;
pub mod progress;
pub mod successor;
pub mod visited;

use actions::Act;
use fingerprint::{Canon, Parts};
use jpkisim_model::{Config, ConfigError, JpkiAction, JpkiModel, JpkiState, World};
use jpkisim_properties::catalogue::{Kind, PropertyDef};
use packed::Packed;
use stateright::Model;
use std::collections::HashSet;
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

/// A state on a cluster's frontier (and an initial state), packed for the wire.
#[derive(Clone, Debug)]
pub struct Node {
    /// The concrete state (a state of the unreduced model, reached by `path`), packed.
    pub state: Packed,
    /// Its fingerprint parts, for its successors.
    pub parts: Parts,
    /// Action indices from the initial state.
    pub path: Vec<Step>,
}

/// Per level and worker: the fingerprints already met.
pub type Seen = HashSet<u64, BuildHasherDefault<visited::Identity>>;

/// Reusable buffers of one worker.
#[derive(Default)]
pub struct Worker {
    acts: Vec<Act>,
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
    /// Batches (a parent with the successors one owner judges) sent between processes.
    pub remote_batches: u64,
    /// Their bytes as timely serializes them (bincode), framing excluded: what a cluster's
    /// network carries, for docs/scale-out.md's projection.
    pub remote_bytes: u64,
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
    /// The cluster could not be formed.
    #[error("{0}")]
    Cluster(#[from] connect::ClusterError),
    /// A worker of a multi-worker search failed.
    #[error("{0}")]
    Worker(String),
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

    /// Generates the successors of `parent` (a frontier state, unpacked, with its fingerprint
    /// parts) that lie within the model's boundary, in `actions()` order, and calls `each` for
    /// each: usually with its fingerprint only ([`Successor::Glimpsed`], see [`successor`]), or
    /// built when the engine had to build it to know its fingerprint. Returns how many there
    /// were (Stateright's count: duplicates included, states outside the boundary not).
    ///
    /// The actions stay in `worker` until the next call, for [`Search::build`].
    pub fn successors(
        &self,
        parent: &mut JpkiState,
        parts: &Parts,
        worker: &mut Worker,
        mut each: impl FnMut(&mut Worker, &JpkiState, Successor) -> Result<(), SearchError>,
    ) -> Result<u64, SearchError> {
        actions::enabled(&self.model, parent, &mut worker.acts);
        if worker.acts.len() > usize::from(Step::MAX) + 1 {
            return Err(SearchError::TooManyActions(worker.acts.len()));
        }
        if self.verify_every_step && !actions::same_as_stateright(&self.model, parent, &worker.acts)
        {
            return Err(SearchError::Diverged {
                action: format!("{:?}", worker.acts),
                detail: "the engine's list of enabled actions differs from Stateright's".into(),
            });
        }
        let mut generated = 0;
        for ix in 0..worker.acts.len() {
            let act = &worker.acts[ix];
            let glimpse = self.glimpse(parent, parts, act, &mut worker.scratch);
            let parent: &JpkiState = parent;
            let step = ix as Step;
            if !self.verify_every_step {
                match glimpse {
                    Glimpse::Nothing | Glimpse::Outside => continue,
                    Glimpse::Fingerprint(fp) => {
                        generated += 1;
                        each(worker, parent, Successor::Glimpsed { step, fp })?;
                        continue;
                    }
                    Glimpse::Unknown => {}
                }
            }
            // Build it: the engine could not tell (or was asked to check what it told).
            let action = to_action(parent, act)?;
            let Some(next) = self.model.next_state(parent, action.clone()) else {
                if matches!(glimpse, Glimpse::Nothing | Glimpse::Unknown) {
                    continue;
                }
                return Err(diverged(
                    &action,
                    "Stateright's next_state gives no successor",
                ));
            };
            let inside = Model::within_boundary(&self.model, &next);
            match glimpse {
                Glimpse::Nothing => {
                    return Err(diverged(
                        &action,
                        "next_state gives a successor where the engine expected none",
                    ))
                }
                Glimpse::Outside if inside => {
                    return Err(diverged(
                        &action,
                        "the successor is within the boundary, which the engine judged from its actors outside",
                    ))
                }
                Glimpse::Fingerprint(_) if !inside => {
                    return Err(diverged(
                        &action,
                        "the successor is outside the boundary, which the engine judged from its actors inside",
                    ))
                }
                _ => {}
            }
            if !inside {
                continue;
            }
            let (fp, built_parts) = self.canon.fingerprint(&next, Some((parent, parts)));
            if let Glimpse::Fingerprint(q) = glimpse {
                if q != fp || worker.scratch.parts(&self.canon, parts) != built_parts {
                    return Err(diverged(
                        &action,
                        "the successor's fingerprint differs from the one computed without building it",
                    ));
                }
            }
            generated += 1;
            each(
                worker,
                parent,
                Successor::Built {
                    step,
                    fp,
                    state: next,
                    parts: built_parts,
                },
            )?;
        }
        Ok(generated)
    }

    /// Computes the actions of `parent` into `worker`, for [`Search::build`].
    pub fn load_actions(&self, parent: &JpkiState, worker: &mut Worker) {
        actions::enabled(&self.model, parent, &mut worker.acts);
    }

    /// Builds the successor of `parent` by the action at `step` among the actions in `worker`
    /// (from [`Search::successors`] or [`Search::load_actions`] on `parent`). If `glimpsed_now`
    /// (it is the successor `successors` just reported), the scratch still holds its parts;
    /// otherwise its parts are rebuilt and its fingerprint checked against `fp`.
    pub fn build(
        &self,
        parent: &JpkiState,
        parts: &Parts,
        step: Step,
        fp: u64,
        glimpsed_now: bool,
        worker: &mut Worker,
    ) -> Result<(JpkiState, Parts), SearchError> {
        let Some(act) = worker.acts.get(usize::from(step)) else {
            return Err(SearchError::Diverged {
                action: format!("#{step}"),
                detail: "the parent enables fewer actions than the step names".into(),
            });
        };
        let action = to_action(parent, act)?;
        let Some(next) = self.model.next_state(parent, action.clone()) else {
            return Err(diverged(
                &action,
                "Stateright's next_state gives no successor",
            ));
        };
        if glimpsed_now {
            return Ok((next, worker.scratch.parts(&self.canon, parts)));
        }
        let (built, built_parts) = self.canon.fingerprint(&next, Some((parent, parts)));
        if built != fp || !Model::within_boundary(&self.model, &next) {
            return Err(diverged(
                &action,
                "the successor built by the fingerprint's owner is not the one its generator fingerprinted",
            ));
        }
        Ok((next, built_parts))
    }
}

/// A successor, as [`Search::successors`] reports it.
// Successors live for one expansion; boxing the built state would cost an allocation per
// successor on the hot path to save stack space that is not short.
#[allow(clippy::large_enum_variant)]
pub enum Successor {
    /// Known by its fingerprint only; [`Search::build`] builds it.
    Glimpsed {
        /// Its action's index.
        step: Step,
        /// Its canonical fingerprint.
        fp: u64,
    },
    /// Built already.
    Built {
        /// Its action's index.
        step: Step,
        /// Its canonical fingerprint.
        fp: u64,
        /// The state.
        state: JpkiState,
        /// Its fingerprint parts.
        parts: Parts,
    },
}

impl Successor {
    /// The fingerprint.
    pub fn fp(&self) -> u64 {
        match self {
            Successor::Glimpsed { fp, .. } | Successor::Built { fp, .. } => *fp,
        }
    }

    /// The action index.
    pub fn step(&self) -> Step {
        match self {
            Successor::Glimpsed { step, .. } | Successor::Built { step, .. } => *step,
        }
    }
}

/// The child path of `parent` by `step`.
pub fn child_path(parent: &[Step], step: Step) -> Vec<Step> {
    let mut path = Vec::with_capacity(parent.len() + 1);
    path.extend_from_slice(parent);
    path.push(step);
    path
}

/// Stateright's action for `act`, listed for `parent`.
fn to_action(parent: &JpkiState, act: &Act) -> Result<JpkiAction, SearchError> {
    act.to_action(parent).ok_or_else(|| SearchError::Diverged {
        action: format!("{act:?}"),
        detail: "the choice's key is not among the parent's offered choices".into(),
    })
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

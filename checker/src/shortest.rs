//! Shortest paths to a property's violation (or witness), by our breadth-first engine.
//!
//! Stateright 0.31's checkers keep the *last* discovery they make, not the first, so the path they
//! report is not a shortest one (docs/sources/stateright-notes.md, pitfall 1). The engine
//! ([`crate::engine`]) checks each level completely before the next, so the first level at which a
//! target is decided gives a shortest path; the search stops as soon as every target is decided.
//! States are deduplicated by class under renaming of persons, which preserves depth and every
//! property; the paths are concrete and replay on the unreduced model. Among the shortest paths
//! the one kept is the first in path order (see the engine's module doc), the same whatever the
//! number of threads.

use crate::counterexample::Counterexample;
use crate::engine::{local, Search, SearchError};
use jpkisim_model::{Config, ConfigError};
use jpkisim_properties::catalogue::PropertyDef;

/// For each of `targets`, a shortest path from the initial state to a state that violates it
/// (safety) or witnesses it (reachability), or `None` if no reachable state does.
pub fn shortest_paths(
    cfg: Config,
    targets: &[&'static PropertyDef],
) -> Result<Vec<Option<Counterexample>>, ConfigError> {
    let mut search = Search::new(cfg, targets.to_vec(), true)?;
    search.stop_when_all_found = true;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let outcome = local::run(&search, threads, None).map_err(|e| match e {
        SearchError::Config(c) => c,
        other => ConfigError(other.to_string()),
    })?;
    Ok(outcome
        .discoveries
        .into_iter()
        .zip(targets)
        .map(|(found, p)| found.map(|d| Counterexample::replay(&search.model, cfg, p, &d.path)))
        .collect())
}

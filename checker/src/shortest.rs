//! Shortest paths to a property's violation (or witness), by our own breadth-first search.
//!
//! Stateright 0.31's checkers keep the *last* discovery they make, not the first, so the path they
//! report is not a shortest one (docs/sources/stateright-notes.md, pitfall 1). This search
//! visits states level by level and keeps, for each target property, the first state it meets: its
//! path is shortest by construction. States are deduplicated by their symmetry representative,
//! which preserves depth and every property (both are invariant under renaming persons).

use crate::counterexample::Counterexample;
use jpkisim_model::symmetry::representative;
use jpkisim_model::{Config, ConfigError, JpkiState};
use jpkisim_properties::catalogue::{Kind, PropertyDef};
use stateright::Model;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

fn fingerprint(state: &JpkiState) -> u64 {
    let mut h = DefaultHasher::new();
    representative(state).hash(&mut h);
    h.finish()
}

/// Whether `state` is what we search for: a violation of a safety property, or a witness of a
/// reachability property.
fn is_target(p: &PropertyDef, cfg: &Config, state: &JpkiState) -> bool {
    match p.kind {
        Kind::Always => !p.holds_in(cfg, state),
        Kind::Sometimes => p.holds_in(cfg, state),
    }
}

/// For each of `targets`, a shortest path from the initial state to a state that violates it
/// (safety) or witnesses it (reachability), or `None` if no reachable state does.
pub fn shortest_paths(
    cfg: Config,
    targets: &[&'static PropertyDef],
) -> Result<Vec<Option<Counterexample>>, ConfigError> {
    let model = jpkisim_model::build(cfg)?;
    let mut found: Vec<Option<Vec<usize>>> = vec![None; targets.len()];
    // parents[n] = (parent node, index of the action in the parent's actions()).
    let mut parents: Vec<(u32, u32)> = Vec::new();
    let mut seen = HashSet::new();
    let mut frontier: Vec<(JpkiState, u32)> = Vec::new();
    for init in model.init_states() {
        if !Model::within_boundary(&model, &init) || !seen.insert(fingerprint(&init)) {
            continue;
        }
        let id = parents.len() as u32;
        parents.push((u32::MAX, 0));
        record(&cfg, targets, &init, id, &parents, &mut found);
        frontier.push((init, id));
    }
    let mut actions = Vec::new();
    while !frontier.is_empty() && found.iter().any(Option::is_none) {
        let mut next_frontier = Vec::new();
        for (state, id) in &frontier {
            model.actions(state, &mut actions);
            for (ix, action) in actions.drain(..).enumerate() {
                let Some(next) = model.next_state(state, action) else {
                    continue;
                };
                if !Model::within_boundary(&model, &next) || !seen.insert(fingerprint(&next)) {
                    continue;
                }
                let child = parents.len() as u32;
                parents.push((*id, ix as u32));
                record(&cfg, targets, &next, child, &parents, &mut found);
                next_frontier.push((next, child));
            }
        }
        frontier = next_frontier;
    }
    Ok(found
        .into_iter()
        .zip(targets)
        .map(|(path, p)| path.map(|indices| Counterexample::replay(&model, cfg, p, &indices)))
        .collect())
}

fn record(
    cfg: &Config,
    targets: &[&'static PropertyDef],
    state: &JpkiState,
    node: u32,
    parents: &[(u32, u32)],
    found: &mut [Option<Vec<usize>>],
) {
    for (slot, p) in found.iter_mut().zip(targets) {
        if slot.is_none() && is_target(p, cfg, state) {
            let mut indices = Vec::new();
            let mut n = node;
            while let Some(&(parent, ix)) = parents.get(n as usize) {
                if parent == u32::MAX {
                    break;
                }
                indices.push(ix as usize);
                n = parent;
            }
            indices.reverse();
            *slot = Some(indices);
        }
    }
}

//! Paths through the model: a list of steps from the initial state, addressed the three ways the
//! tools exchange them — action indices (Stateright's Explorer `#/steps/0/3/1`, the checker's
//! search), readable step names ([`describe::action`], what traces and counterexamples carry), and
//! the states along the way.
//!
//! It is for turning one form into another without leaving the model: the checker rebuilds a
//! counterexample from indices, the Explorer follows a URL, a trace file's readable steps are
//! replayed to their indices. It does not render anything and reads no files.

use crate::actors::{JpkiAction, JpkiModel, JpkiState};
use crate::{describe, Topology};
use stateright::Model;

/// A path from the initial state: `states[0]` is initial, `states[i + 1]` follows `actions[i]`.
#[derive(Clone, Debug)]
pub struct Path {
    /// The steps.
    pub actions: Vec<JpkiAction>,
    /// The states along the way (one more than the steps).
    pub states: Vec<JpkiState>,
    /// The index of each step among the actions enabled before it.
    pub indices: Vec<usize>,
}

impl Path {
    /// Follows action indices from the (first) initial state. An action the model ignores leaves
    /// the state as it was, as in Stateright's Explorer; the path stops at the first index that is
    /// out of range, so `indices.len()` tells whether it was followed to the end.
    pub fn follow(model: &JpkiModel, indices: &[usize]) -> Path {
        let mut states: Vec<JpkiState> = model.init_states().into_iter().take(1).collect();
        let mut actions = Vec::with_capacity(indices.len());
        let mut enabled = Vec::new();
        for &ix in indices {
            let Some(last) = states.last() else { break };
            enabled.clear();
            model.actions(last, &mut enabled);
            let Some(action) = enabled.drain(..).nth(ix) else {
                break;
            };
            let next = model
                .next_state(last, action.clone())
                .unwrap_or_else(|| last.clone());
            actions.push(action);
            states.push(next);
        }
        Path {
            indices: indices[..actions.len()].to_vec(),
            actions,
            states,
        }
    }

    /// The last state reached.
    pub fn last(&self) -> Option<&JpkiState> {
        self.states.last()
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether the path has no steps.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// The state reached from the (single) initial state by following action indices; `None` if an
/// index is out of range.
pub fn follow(model: &JpkiModel, indices: &[usize]) -> Option<JpkiState> {
    let path = Path::follow(model, indices);
    if path.len() != indices.len() {
        return None;
    }
    path.states.into_iter().last()
}

/// The Explorer path (`0/i/j/...`, the initial state's index first) of a list of action indices.
pub fn explorer_path(indices: &[usize]) -> String {
    std::iter::once("0".to_string())
        .chain(indices.iter().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join("/")
}

/// Why a list of readable steps is not a path of the model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The model has no initial state (cannot happen for a built model).
    #[error("the model has no initial state")]
    NoInitialState,
    /// A step matches none of the enabled actions.
    #[error("step {number} \"{step}\" is not enabled after the steps before it; the model allowed there:\n{}", allowed_list(.allowed))]
    NoMatch {
        /// 1-based step number in the trace.
        number: usize,
        /// The step as written in the trace.
        step: String,
        /// Every action the model enabled at that point, readable.
        allowed: Vec<String>,
    },
}

fn allowed_list(allowed: &[String]) -> String {
    if allowed.is_empty() {
        return "  (nothing: the state is final)".into();
    }
    allowed
        .iter()
        .map(|a| format!("  {a}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The action indices (one per step, the initial state's index not included) of the path whose
/// readable steps are `steps`.
///
/// At each state the step is matched against the enabled actions in `actions()` order; the first
/// action with that name that changes the state is taken, or, if none does, the first with that
/// name. Two different actions with the same name lead to the same readable state only if the
/// names leave nothing out; `describe` names every field that distinguishes protocol steps.
pub fn replay(model: &JpkiModel, steps: &[String]) -> Result<Vec<usize>, ReplayError> {
    let topo = Topology::of(&model.cfg);
    let mut state = model
        .init_states()
        .into_iter()
        .next()
        .ok_or(ReplayError::NoInitialState)?;
    let mut indices = Vec::with_capacity(steps.len());
    for (n, step) in steps.iter().enumerate() {
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        let names: Vec<String> = actions.iter().map(|a| describe::action(&topo, a)).collect();
        let matching: Vec<usize> = names
            .iter()
            .enumerate()
            .filter(|(_, name)| *name == step.trim())
            .map(|(i, _)| i)
            .collect();
        let mut taken = None;
        for &i in &matching {
            if let Some(next) = model.next_state(&state, actions[i].clone()) {
                taken = Some((i, next));
                break;
            }
        }
        match (taken, matching.first()) {
            (Some((i, next)), _) => {
                indices.push(i);
                state = next;
            }
            (None, Some(&i)) => indices.push(i),
            (None, None) => {
                return Err(ReplayError::NoMatch {
                    number: n + 1,
                    step: step.clone(),
                    allowed: names,
                })
            }
        }
    }
    Ok(indices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn model() -> JpkiModel {
        let cfg = Config {
            persons: 1,
            ..Config::default()
        };
        match crate::build(cfg) {
            Ok(m) => m,
            Err(e) => panic!("one-person default model builds: {e}"),
        }
    }

    #[test]
    fn a_path_replays_to_its_indices_and_a_wrong_step_is_named() {
        let m = model();
        let steps = ["Applicant 0 chooses: Apply on SE 0".to_string()];
        let first = replay(&m, &steps[..1]);
        let Ok(first) = first else {
            panic!("first step replays: {first:?}");
        };
        assert_eq!(first.len(), 1);
        // The second step's exact card serial depends on the model; take the name the model
        // gives to the delivery after the first step.
        let after = follow(&m, &first).expect("path in range");
        let mut actions = Vec::new();
        m.actions(&after, &mut actions);
        let topo = Topology::of(&m.cfg);
        let apply = actions
            .iter()
            .map(|a| describe::action(&topo, a))
            .find(|n| n.starts_with("Applicant 0 → SP-TSM: Apply("))
            .expect("the application is in flight");
        let two = vec![steps[0].clone(), apply];
        let ok = replay(&m, &two).expect("both steps replay");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0], first[0]);
        let path = Path::follow(&m, &ok);
        assert_eq!((path.len(), path.states.len()), (2, 3));
        assert!(!path.is_empty());
        assert!(follow(&m, &[ok[0], 999]).is_none());

        let bad = vec![
            steps[0].clone(),
            "CA → SP-TSM: CertIssued(app 0, serial 9)".into(),
        ];
        match replay(&m, &bad) {
            Err(ReplayError::NoMatch {
                number,
                step,
                allowed,
            }) => {
                assert_eq!(number, 2);
                assert_eq!(step, bad[1]);
                assert!(allowed
                    .iter()
                    .any(|a| a.starts_with("Applicant 0 → SP-TSM: Apply(")));
            }
            other => panic!("expected a mismatch at step 2, got {other:?}"),
        }
        assert_eq!(explorer_path(&[3, 1]), "0/3/1");
    }
}

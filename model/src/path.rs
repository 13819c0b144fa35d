//! Paths through the model: a list of steps from the initial state, addressed the three ways the
//! tools exchange them — action indices (Stateright's Explorer `#/steps/0/3/1`, the checker's
//! search), readable step names ([`describe::action`], what traces and counterexamples carry), and
//! the states along the way.
//!
//! It is for turning one form into another without leaving the model: the checker rebuilds a
//! counterexample from indices, the Explorer follows a URL, a trace file's readable steps are
//! replayed to their indices. It does not render anything and reads no files.

use crate::actors::{JpkiAction, JpkiModel, JpkiState};
use crate::ids::Party;
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

/// The readable step of a timer of `party` that fired, as a recorded trace knows it: the trace
/// names the party but not the timer (its `timeout` event), so [`replay`] finds which one.
pub fn timeout_step(party: Party) -> String {
    format!("{party} times out")
}

/// The action indices (one per step, the initial state's index not included) of the path whose
/// readable steps are `steps`.
///
/// At each state the step is matched against the enabled actions in `actions()` order; the first
/// action with that name that changes the state is taken, or, if none does, the first with that
/// name. Two different actions with the same name lead to the same readable state only if the
/// names leave nothing out; `describe` names every field that distinguishes protocol steps.
///
/// A step written as [`timeout_step`] (a recorded timeout, which does not say which timer fired)
/// matches every armed timer of that party; when more than one is armed, the one the rest of the
/// steps replay after is taken (the first in `actions()` order if several do).
pub fn replay(model: &JpkiModel, steps: &[String]) -> Result<Vec<usize>, ReplayError> {
    let state = model
        .init_states()
        .into_iter()
        .next()
        .ok_or(ReplayError::NoInitialState)?;
    replay_from(model, &Topology::of(&model.cfg), state, steps, 0)
}

/// [`replay`] of `steps` from `state`, whose first step is the trace's step `done + 1`. Recurses
/// only where a recorded timeout leaves the timer open, so its depth is the number of such
/// choices, not the trace's length.
fn replay_from(
    model: &JpkiModel,
    topo: &Topology,
    mut state: JpkiState,
    steps: &[String],
    done: usize,
) -> Result<Vec<usize>, ReplayError> {
    let mut indices = Vec::with_capacity(steps.len());
    for (k, step) in steps.iter().enumerate() {
        let step = step.trim();
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        let names: Vec<String> = actions.iter().map(|a| describe::action(topo, a)).collect();
        let any_timer = format!("{step}: ");
        let matching: Vec<usize> = names
            .iter()
            .enumerate()
            .filter(|(_, name)| {
                *name == step || (step.ends_with(" times out") && name.starts_with(&any_timer))
            })
            .map(|(i, _)| i)
            .collect();
        let taken: Vec<(usize, JpkiState)> = matching
            .iter()
            .filter_map(|&i| model.next_state(&state, actions[i].clone()).map(|n| (i, n)))
            .collect();
        let distinct_timers = taken.len() > 1 && !names.iter().any(|n| n == step);
        if distinct_timers {
            // Which timer fired shows only in what follows: take the first that the rest of the
            // trace replays after.
            let mut first_error = None;
            for (i, next) in taken {
                match replay_from(model, topo, next, &steps[k + 1..], done + k + 1) {
                    Ok(rest) => {
                        indices.push(i);
                        indices.extend(rest);
                        return Ok(indices);
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            return Err(first_error.unwrap_or_else(|| ReplayError::NoMatch {
                number: done + k + 1,
                step: step.to_string(),
                allowed: names,
            }));
        }
        match (taken.into_iter().next(), matching.first()) {
            (Some((i, next)), _) => {
                indices.push(i);
                state = next;
            }
            (None, Some(&i)) => indices.push(i),
            (None, None) => {
                return Err(ReplayError::NoMatch {
                    number: done + k + 1,
                    step: step.to_string(),
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

    /// A recorded timeout does not say which timer fired: with two sessions waiting, the replay
    /// takes the timer after which the rest of the trace replays (here the second, person 1's).
    #[test]
    fn a_recorded_timeout_replays_as_the_timer_the_rest_of_the_trace_needs() {
        let cfg = Config {
            persons: 2,
            network: crate::config::NetworkSemantics {
                lossy: true,
                ..Config::default().network
            },
            ..Config::default()
        };
        let m = match crate::build(cfg) {
            Ok(m) => m,
            Err(e) => panic!("two-person lossy model builds: {e}"),
        };
        let topo = Topology::of(&m.cfg);
        // Steps chosen by what their readable names start with; each is the first match.
        let wanted = [
            "Applicant 0 chooses: Apply on",
            "Applicant 0 → SP-TSM: Apply(",
            "Applicant 1 chooses: Apply on",
            "Applicant 1 → SP-TSM: Apply(",
            "network loses SP-TSM → SE-TSM: InstallApplet(person 0",
            "network loses SP-TSM → SE-TSM: InstallApplet(person 1",
            "SP-TSM times out: issuance session of person 1",
            "SP-TSM → SE-TSM: InstallApplet(person 1",
        ];
        let mut state = m.init_states().remove(0);
        let mut names = Vec::new();
        let mut indices = Vec::new();
        for w in wanted {
            let mut actions = Vec::new();
            m.actions(&state, &mut actions);
            let (i, name) = actions
                .iter()
                .map(|a| describe::action(&topo, a))
                .enumerate()
                .find(|(_, n)| n.starts_with(w))
                .unwrap_or_else(|| panic!("no step '{w}' enabled"));
            state = m
                .next_state(&state, actions[i].clone())
                .unwrap_or_else(|| panic!("'{name}' changes the state"));
            names.push(name);
            indices.push(i);
        }
        // Both sessions' timers are armed when one fires.
        let mut at_timeout = Vec::new();
        let before = follow(&m, &indices[..6]).expect("path in range");
        m.actions(&before, &mut at_timeout);
        let armed = at_timeout
            .iter()
            .filter(|a| describe::action(&topo, a).starts_with("SP-TSM times out: "))
            .count();
        assert_eq!(armed, 2, "two timers to choose from");

        let mut recorded = names.clone();
        recorded[6] = timeout_step(Party::SpTsm);
        assert_eq!(recorded[6], "SP-TSM times out");
        assert_eq!(
            replay(&m, &recorded).expect("the recorded trace replays"),
            indices
        );
        // Without the step that tells the timers apart, the first armed one is taken.
        let first = replay(&m, &recorded[..7]).expect("a prefix replays");
        assert_ne!(first[6], indices[6]);
        // A timeout of a party with no timer armed is named as the mismatch.
        let mut wrong = recorded.clone();
        wrong[6] = timeout_step(Party::Ca);
        match replay(&m, &wrong) {
            Err(ReplayError::NoMatch { number, step, .. }) => {
                assert_eq!((number, step.as_str()), (7, "CA times out"));
            }
            other => panic!("expected a mismatch at step 7, got {other:?}"),
        }
    }
}

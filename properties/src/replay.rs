//! Replays a trace, given as readable step names, through the model to find its action indices.
//!
//! The Explorer addresses a state by the indices of the actions that lead to it
//! (`#/steps/0/3/1`), which mean nothing outside one binary. Traces are exchanged as readable
//! steps ([`describe::action`]), so opening a trace in the Explorer means matching each step
//! against the actions the model enables at that point, in `actions()` order. A trace that is not
//! a path of the model is refused at the first step that does not match, with what the model
//! allowed there.

use jpkisim_model::describe;
use jpkisim_model::{JpkiModel, Topology};
use stateright::Model;

/// Why a trace is not a path of the model.
#[derive(Debug, thiserror::Error)]
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
    /// The trace file is not in a format this reads.
    #[error("{0}")]
    Format(String),
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

/// The Explorer path (`0/i/j/...`, the initial state's index first) of a list of action indices.
pub fn explorer_path(indices: &[usize]) -> String {
    std::iter::once("0".to_string())
        .chain(indices.iter().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join("/")
}

/// The readable steps of a trace file's text: either a JSON array of step strings, or an ITF
/// trace (`{"states": [...]}`) whose states after the first carry the step that led to them in
/// `mbt::actionTaken`.
pub fn steps_from_json(text: &str) -> Result<Vec<String>, ReplayError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ReplayError::Format(format!("not JSON: {e}")))?;
    match &value {
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ReplayError::Format(format!(
                        "item {} of the array is not a string (a trace is a list of readable steps)",
                        i + 1
                    ))
                })
            })
            .collect(),
        serde_json::Value::Object(_) => {
            let itf = crate::itf::read(&value).map_err(|e| {
                ReplayError::Format(format!("a JSON object trace must be ITF: {e}"))
            })?;
            itf.states
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, s)| {
                    s.get("mbt::actionTaken")
                        .and_then(|a| a.as_str())
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            ReplayError::Format(format!(
                                "ITF state {i} has no string \"mbt::actionTaken\" (the step that led to it)"
                            ))
                        })
                })
                .collect()
        }
        _ => Err(ReplayError::Format(
            "a trace is a JSON array of readable steps or an ITF object".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checked_model;
    use jpkisim_model::Config;

    fn model() -> JpkiModel {
        let cfg = Config {
            persons: 1,
            ..Config::default()
        };
        match checked_model(cfg) {
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
        let after = crate::explorer::follow(&m, &first).expect("path in range");
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
    }

    #[test]
    fn traces_are_read_from_a_json_array_or_itf() {
        let arr = steps_from_json(r#"["a", "b"]"#).expect("array");
        assert_eq!(arr, vec!["a", "b"]);
        let itf = steps_from_json(
            r#"{"vars": [], "states": [{"mbt::actionTaken": "init"}, {"mbt::actionTaken": "a"}]}"#,
        )
        .expect("itf");
        assert_eq!(itf, vec!["a"]);
        assert!(steps_from_json("[1]").is_err());
        assert!(steps_from_json(r#"{"states": [{}, {}]}"#).is_err());
        assert_eq!(explorer_path(&[3, 1]), "0/3/1");
    }
}

//! The model as Stateright's web Explorer shows it: protocol steps and party states in words.
//!
//! Stateright's [`ActorModel`](stateright::actor::ActorModel) formats steps as Rust values
//! (`Id(1) → IssueCert { .. } → Id(0)`) and states as `{:#?}` dumps, which a protocol engineer
//! cannot read at a glance. [`ReadableModel`] wraps the checked model, delegates every transition
//! to it unchanged (so action indices, and with them every `#/steps/...` link, are the same as the
//! wrapped model's), and overrides only the formatting hooks the Explorer calls:
//! [`format_action`](Model::format_action) for the step lines, [`format_step`](Model::format_step)
//! for the state after a step (the text the Explorer shows by default), and
//! [`as_svg`](Model::as_svg) for the sequence diagram.

use crate::html::escape;
use jpkisim_model::describe;
use jpkisim_model::{JpkiAction, JpkiModel, JpkiState, Topology};
use stateright::actor::ActorModelAction;
use stateright::{Model, Path, Property};
use std::fmt::Write as _;

/// A property condition of the wrapped model.
type Condition = fn(&JpkiModel, &JpkiState) -> bool;

/// The checked model with readable formatting hooks for the Explorer.
///
/// Built from [`checked_model`](jpkisim_properties::checked_model) so that the Explorer checks exactly the
/// properties `jpkisim check` checks. Transitions, boundary and property conditions are the
/// wrapped model's own; only the text differs.
pub struct ReadableModel {
    inner: JpkiModel,
    topo: Topology,
    conditions: Vec<(stateright::Expectation, &'static str, Condition)>,
    /// An opened trace's steps and their event numbers: the diagram labels a prefix of it by
    /// event number, as `conform` and `run` do.
    trace: Option<(Vec<JpkiAction>, Vec<u64>)>,
}

impl ReadableModel {
    /// Wraps a checked model. Fails if it carries more properties than the dispatch table has
    /// entries (Stateright's conditions are plain `fn` pointers, so each wrapped condition needs
    /// its own function; see [`CONDITION_TABLE`]).
    pub fn new(inner: JpkiModel) -> Result<ReadableModel, TooManyProperties> {
        let conditions: Vec<_> = inner
            .properties()
            .into_iter()
            .map(|p| (p.expectation, p.name, p.condition))
            .collect();
        if conditions.len() > CONDITION_TABLE.len() {
            return Err(TooManyProperties {
                have: conditions.len(),
                table: CONDITION_TABLE.len(),
            });
        }
        let topo = Topology::of(&inner.cfg);
        Ok(ReadableModel {
            inner,
            topo,
            conditions,
            trace: None,
        })
    }

    /// The same model, with a trace's steps (`actions`) and the event number of each: the
    /// sequence diagram of any prefix of that trace numbers its rows by event.
    pub fn with_trace(mut self, actions: Vec<JpkiAction>, events: Vec<u64>) -> ReadableModel {
        self.trace = Some((actions, events));
        self
    }

    /// The wrapped model (for replaying traces and finding counterexamples on the same indices).
    pub fn inner(&self) -> &JpkiModel {
        &self.inner
    }

    /// Every party's state in words (the text the Explorer shows for a state).
    pub fn render(&self, state: &JpkiState) -> String {
        describe::state(&self.topo, None, state)
    }

    /// The state after following `path` (the Explorer's action indices, without the initial
    /// state's index) from the initial state; `None` if an index is out of range.
    pub fn state_after(&self, path: &[usize]) -> Option<JpkiState> {
        jpkisim_model::path::follow(&self.inner, path)
    }
}

/// More properties than [`ReadableModel`]'s dispatch table holds.
#[derive(Debug, thiserror::Error)]
#[error("the model has {have} properties but the Explorer's dispatch table only {table}; extend CONDITION_TABLE in checker/src/explorer.rs")]
pub struct TooManyProperties {
    /// Properties on the model.
    pub have: usize,
    /// Entries in the table.
    pub table: usize,
}

/// The wrapped model's `i`th property condition, in the `fn` form Stateright needs.
fn condition<const I: usize>(m: &ReadableModel, s: &JpkiState) -> bool {
    // `new` guarantees every index handed out is in range; an out-of-range index would mean a
    // property that does not exist, which holds vacuously.
    m.conditions
        .get(I)
        .is_none_or(|(_, _, cond)| cond(&m.inner, s))
}

macro_rules! table {
    ($($i:literal)*) => { [$(condition::<$i> as fn(&ReadableModel, &JpkiState) -> bool),*] };
}

/// One function per property position: Stateright's property conditions cannot capture the
/// wrapped condition, so each position gets its own monomorphised dispatcher.
pub const CONDITION_TABLE: [fn(&ReadableModel, &JpkiState) -> bool; 40] = table!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19
    20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39
);

impl Model for ReadableModel {
    type State = JpkiState;
    type Action = JpkiAction;

    fn init_states(&self) -> Vec<JpkiState> {
        self.inner.init_states()
    }

    fn actions(&self, state: &JpkiState, actions: &mut Vec<JpkiAction>) {
        self.inner.actions(state, actions);
    }

    fn next_state(&self, last: &JpkiState, action: JpkiAction) -> Option<JpkiState> {
        self.inner.next_state(last, action)
    }

    fn format_action(&self, action: &JpkiAction) -> String {
        describe::action(&self.topo, action)
    }

    fn format_step(&self, last: &JpkiState, action: JpkiAction) -> Option<String> {
        let line = describe::action(&self.topo, &action);
        let next = self.inner.next_state(last, action)?;
        Some(format!(
            "{line}\n\n{}",
            describe::state(&self.topo, Some(last), &next)
        ))
    }

    fn as_svg(&self, path: Path<JpkiState, JpkiAction>) -> Option<String> {
        let actions: Vec<JpkiAction> = path.into_vec().into_iter().filter_map(|(_, a)| a).collect();
        let labels: Vec<String> = match &self.trace {
            Some((steps, events))
                if actions.len() <= steps.len() && steps.starts_with(&actions) =>
            {
                events.iter().map(|e| format!("e{e}")).collect()
            }
            _ => (1..=actions.len()).map(|n| n.to_string()).collect(),
        };
        Some(sequence_svg_labelled(&self.topo, &actions, &labels))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.conditions
            .iter()
            .zip(CONDITION_TABLE)
            .map(|((expectation, name, _), condition)| Property {
                expectation: expectation.clone(),
                name,
                condition,
            })
            .collect()
    }

    fn within_boundary(&self, state: &JpkiState) -> bool {
        Model::within_boundary(&self.inner, state)
    }
}

/// A sequence diagram of a path: one lifeline per party the path involves, one row per step
/// numbered from 1. A delivery is an arrow from sender to receiver labelled with the message; a
/// loss a dashed red arrow; a choice a dot on the chooser's lifeline labelled with what was
/// chosen. The SVG scales to its container (it has a `viewBox`, and never grows past its natural
/// width), so the Explorer's state panel fits beside the path on a laptop screen.
pub fn sequence_svg(topo: &Topology, actions: &[JpkiAction]) -> String {
    let labels: Vec<String> = (1..=actions.len()).map(|n| n.to_string()).collect();
    sequence_svg_labelled(topo, actions, &labels)
}

/// [`sequence_svg`] with each row's number given (`e29` for an event of a trace).
pub fn sequence_svg_labelled(topo: &Topology, actions: &[JpkiAction], labels: &[String]) -> String {
    const COL: usize = 120;
    const ROW: usize = 26;
    const TOP: usize = 30;
    const LABEL: usize = 300;
    let involved = |id: stateright::actor::Id| {
        actions.iter().any(|a| match a {
            ActorModelAction::Deliver { src, dst, .. } => *src == id || *dst == id,
            ActorModelAction::Drop(e) => e.src == id || e.dst == id,
            ActorModelAction::SelectRandom { actor, .. } => *actor == id,
            ActorModelAction::Timeout(a, _)
            | ActorModelAction::Crash(a)
            | ActorModelAction::Recover(a) => *a == id,
        })
    };
    let mut parties: Vec<stateright::actor::Id> = topo
        .parties()
        .into_iter()
        .map(|p| topo.id(p))
        .filter(|id| involved(*id))
        .collect();
    if parties.is_empty() {
        parties = topo.parties().into_iter().map(|p| topo.id(p)).collect();
    }
    let column = |id: stateright::actor::Id| parties.iter().position(|p| *p == id).unwrap_or(0);
    let x = |id: stateright::actor::Id| COL / 2 + column(id) * COL;
    let width = parties.len() * COL + LABEL;
    let height = TOP + (actions.len() + 1) * ROW;
    let mut svg = format!(
        "<svg version='1.1' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' \
         width='100%' style='max-width:{width}px' preserveAspectRatio='xMinYMin meet' \
         font-family='monospace' font-size='12'>"
    );
    for (i, id) in parties.iter().enumerate() {
        let cx = COL / 2 + i * COL;
        let _ = write!(
            svg,
            "<text x='{cx}' y='14' fill='#fff' text-anchor='middle' font-weight='bold'>{}</text>\
             <line x1='{cx}' y1='20' x2='{cx}' y2='{height}' stroke='#789' stroke-dasharray='2,3'/>",
            escape(&topo.party(*id).to_string())
        );
    }
    for (n, a) in actions.iter().enumerate() {
        let y = TOP + (n + 1) * ROW;
        let num = labels
            .get(n)
            .cloned()
            .unwrap_or_else(|| (n + 1).to_string());
        let (from, to, label, style) = match a {
            ActorModelAction::Deliver { src, dst, msg } => {
                (x(*src), x(*dst), describe::message(msg), "stroke='#9cf'")
            }
            ActorModelAction::Drop(env) => (
                x(env.src),
                x(env.dst),
                format!("lost: {}", describe::message(&env.msg)),
                "stroke='#f88' stroke-dasharray='6,4'",
            ),
            ActorModelAction::SelectRandom { actor, random, .. } => {
                let cx = x(*actor);
                let _ = write!(
                    svg,
                    "<circle cx='{cx}' cy='{y}' r='5' fill='#fc6'/>\
                     <text x='{}' y='{}' fill='#fc6'>{num}. {}</text>",
                    cx + 9,
                    y + 4,
                    escape(&describe::choice(random))
                );
                continue;
            }
            other => {
                let _ = write!(
                    svg,
                    "<text x='4' y='{}' fill='#f88'>{num}. {}</text>",
                    y + 4,
                    escape(&describe::action(topo, other))
                );
                continue;
            }
        };
        let head = if to >= from { to - 6 } else { to + 6 };
        let _ = write!(
            svg,
            "<line x1='{from}' y1='{y}' x2='{to}' y2='{y}' {style} stroke-width='1.5'/>\
             <polygon points='{to},{y} {head},{} {head},{}' fill='#9cf'/>\
             <text x='{}' y='{}' fill='#eee'>{num}. {}</text>",
            y - 4,
            y + 4,
            from.min(to) + 8,
            y - 5,
            escape(&label)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpkisim_model::Config;
    use jpkisim_properties::checked_model;

    fn model() -> ReadableModel {
        let cfg = Config {
            persons: 1,
            ..Config::default()
        };
        match checked_model(cfg).map(ReadableModel::new) {
            Ok(Ok(m)) => m,
            other => panic!(
                "the default model with one person builds: {:?}",
                other.err()
            ),
        }
    }

    #[test]
    fn wrapper_keeps_the_wrapped_properties_and_their_verdicts() {
        let m = model();
        let inner = m.inner().properties();
        let outer = m.properties();
        assert_eq!(inner.len(), outer.len());
        let init = &m.init_states()[0];
        for (i, o) in inner.iter().zip(&outer) {
            assert_eq!(i.name, o.name);
            assert_eq!(i.expectation, o.expectation);
            assert_eq!((i.condition)(m.inner(), init), (o.condition)(&m, init));
        }
    }

    #[test]
    fn steps_read_like_protocol_steps_and_states_name_the_parties() {
        let m = model();
        let init = &m.init_states()[0];
        let mut actions = Vec::new();
        m.actions(init, &mut actions);
        let lines: Vec<String> = actions.iter().map(|a| m.format_action(a)).collect();
        assert!(
            lines
                .iter()
                .any(|l| l == "Applicant 0 chooses: Apply on SE 0"),
            "{lines:?}"
        );
        let apply = actions
            .into_iter()
            .find(|a| m.format_action(a) == "Applicant 0 chooses: Apply on SE 0");
        let text = apply
            .and_then(|a| m.format_step(init, a))
            .unwrap_or_default();
        assert!(text.contains("* Person 0: card serial"), "{text}");
        assert!(text.contains("Applicant 0 → SP-TSM: Apply("), "{text}");
        assert!(text.contains("SE 0: no applet"), "{text}");
    }

    #[test]
    fn the_sequence_diagram_labels_arrows_with_readable_messages() {
        let m = model();
        let mut state = m.init_states()[0].clone();
        let mut taken = Vec::new();
        for want in [
            "Applicant 0 chooses: Apply on SE 0",
            "Applicant 0 → SP-TSM: Apply(",
        ] {
            let mut actions = Vec::new();
            m.actions(&state, &mut actions);
            let a = actions
                .into_iter()
                .find(|a| m.format_action(a).starts_with(want))
                .unwrap_or_else(|| panic!("{want} is enabled"));
            state = m.next_state(&state, a.clone()).unwrap_or(state);
            taken.push(a);
        }
        let svg = sequence_svg(&m.topo, &taken);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(">1. Apply on SE 0</text>"), "{svg}");
        assert!(
            svg.contains(">2. Apply(person 0, SE 0, app 0, card serial"),
            "{svg}"
        );
        assert!(svg.contains(">SP-TSM</text>"), "{svg}");
    }
}

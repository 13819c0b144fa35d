//! Liveness under fairness: every fair run eventually settles with a quiescence property
//! holding, and stays so — or a counterexample that shows a fair run that does not: a run that
//! stops (nothing fair is enabled any more) in a state that is not settled or breaks the
//! property, or a lasso (a path into a cycle that a fair run can go round for ever).
//!
//! Why not Stateright's `eventually`: it is unsound on this model's joins (a path that reaches a
//! state already visited is not followed further), and it knows no fairness. Here the reachable
//! graph is built whole (every class, every edge) and decided on that graph:
//!
//! * **Fair actions** are deliveries, timer firings and restarts (`Deliver`, `Timeout`,
//!   `Recover`), each fair in the strong sense: one that is enabled again and again is
//!   eventually taken. For deliveries that is the fair-loss link — a message offered again and
//!   again (a retry after each loss) eventually gets through; under weak fairness alone a
//!   network that loses every retry defeats any protocol, which `jpkisim liveness` showed on
//!   the SE-TSM's retirement retries before this was strong. The environment's moves — a
//!   person's choices, a loss, a crash — are never forced; a run may stop when only they are
//!   enabled. Crashes happen finitely often: crash edges are followed for reachability, never
//!   in a cycle (without that no protocol over crashing parties is live — a party that crashes
//!   again each time it restarts never answers).
//! * A run **stops** in a state where no fair action is enabled; it violates "eventually settled
//!   with P" if that state is not settled or breaks P.
//! * A run goes round a **cycle** for ever only inside a strongly connected component of the
//!   graph without crash edges, and fairly only inside a *fair core* of one
//!   ([`Graph::fair_cores`]: the Emerson–Lei refinement). A fair core with a state that is not
//!   settled-and-P gives a lasso: the path to the core, then a cycle through that state and
//!   through an edge of every fair action the core enables.
//!
//! The graph is the model's, unreduced (no symmetry: an action's identity — which message,
//! which timer — must be that state's own for fairness to mean anything), so this check is for
//! small configurations (`--persons 1`); [`Options::max_states`] bounds it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Instant;

use jpkisim_model::actors::{JpkiAction, JpkiState};
use jpkisim_model::world::World;
use jpkisim_model::{Config, ConfigError, JpkiModel};
use jpkisim_properties::catalogue::PropertyDef;
use stateright::actor::ActorModelAction;
use stateright::Model;

use crate::engine::fingerprint::Canon;

/// The quiescence properties whose "eventually" this check decides, in report order.
pub const QUIESCENCE: [&str; 4] = [
    "issuance_settles",
    "no_se_half_personalised",
    "issued_certificates_accounted",
    "retirement_settles",
];

/// Limits of a liveness check.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Refuse to build a graph of more states than this.
    pub max_states: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_states: 6_000_000,
        }
    }
}

/// Why a liveness check could not be made.
#[derive(Clone, Debug, thiserror::Error)]
pub enum LivenessError {
    /// The configuration is not a model.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The graph is larger than [`Options::max_states`].
    #[error("more than {0} states: the liveness check builds the whole graph without symmetry; use smaller budgets (--persons 1, --events N)")]
    TooLarge(usize),
    /// A step's action index does not fit the graph's encoding.
    #[error("a state enables {0} actions, more than 65,536")]
    TooManyActions(usize),
    /// No quiescence property applies: nothing to decide.
    #[error("no quiescence property applies to this configuration (they need timers: --lossy or --crashes N, and no compromised party)")]
    NothingToDecide,
}

/// One edge of the graph: the action at `action` among those the source enables leads to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The target state.
    pub to: u32,
    /// The action's index among the source's enabled actions (Stateright's order).
    pub action: u16,
    /// The fair action's identity, for a delivery, a timer or a restart.
    pub fair: Option<u64>,
}

/// The reachable graph, as the analysis needs it. State 0 is the initial state; states are
/// numbered in breadth-first order, so a smaller number is never deeper.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// How each state was first reached: its parent and the action index (`None` for state 0).
    pub parent: Vec<Option<(u32, u16)>>,
    /// Every edge except crashes, per source state.
    pub out: Vec<Vec<Edge>>,
    /// The fair actions each state enables.
    pub enabled: Vec<Vec<u64>>,
    /// Per state, one bit per property: settled and the property holds.
    pub good: Vec<u64>,
    /// Crash edges (followed for reachability, never in a cycle).
    pub crash_edges: usize,
}

/// A fair run that never settles with the property holding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The run stops in `end`: no fair action is enabled there, and it is not good.
    Stops {
        /// The state.
        end: u32,
    },
    /// The run reaches `entry` and goes round `cycle` (action indices, from `entry` back to it)
    /// for ever, passing `bad`.
    Lasso {
        /// Where the cycle starts and ends.
        entry: u32,
        /// A state on the cycle that is not good.
        bad: u32,
        /// The cycle as (state, action index) steps from `entry`.
        cycle: Vec<(u32, u16)>,
    },
}

impl Graph {
    /// Number of states.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Number of edges (crashes excluded).
    pub fn edges(&self) -> usize {
        self.out.iter().map(Vec::len).sum()
    }

    /// The action indices from state 0 to `s`.
    pub fn path_to(&self, mut s: u32) -> Vec<u16> {
        let mut rev = Vec::new();
        while let Some((p, a)) = self.parent[s as usize] {
            rev.push(a);
            s = p;
        }
        rev.reverse();
        rev
    }

    /// The strongly connected components (Tarjan's, iterative), each as its states.
    pub fn components(&self) -> Vec<Vec<u32>> {
        let all: Vec<u32> = (0..self.len() as u32).collect();
        self.components_of(&all, |_| true)
    }

    /// The strongly connected components of the subgraph of `members` (edges leaving it, as
    /// `inside` says, ignored). Its work is proportional to the subgraph, not to the graph: the
    /// fair-core refinement decomposes many small ones.
    fn components_of(&self, members: &[u32], inside: impl Fn(u32) -> bool) -> Vec<Vec<u32>> {
        // (index, low, on stack) per visited state.
        let mut mark: HashMap<u32, (u32, u32, bool)> = HashMap::with_capacity(members.len());
        let mut stack: Vec<u32> = Vec::new();
        let mut out = Vec::new();
        let mut next = 0u32;
        for &root in members {
            if mark.contains_key(&root) {
                continue;
            }
            // (state, next edge to look at)
            let mut calls: Vec<(u32, usize)> = vec![(root, 0)];
            mark.insert(root, (next, next, true));
            next += 1;
            stack.push(root);
            while let Some(&mut (v, ref mut i)) = calls.last_mut() {
                if let Some(e) = self.out[v as usize].get(*i) {
                    *i += 1;
                    if !inside(e.to) {
                        continue;
                    }
                    match mark.get(&e.to).copied() {
                        None => {
                            mark.insert(e.to, (next, next, true));
                            next += 1;
                            stack.push(e.to);
                            calls.push((e.to, 0));
                        }
                        Some((w_index, _, true)) => {
                            if let Some(m) = mark.get_mut(&v) {
                                m.1 = m.1.min(w_index);
                            }
                        }
                        Some(_) => {}
                    }
                    continue;
                }
                calls.pop();
                let (v_index, v_low, _) = mark[&v];
                if let Some(&(parent, _)) = calls.last() {
                    if let Some(m) = mark.get_mut(&parent) {
                        m.1 = m.1.min(v_low);
                    }
                }
                if v_low == v_index {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        if let Some(m) = mark.get_mut(&w) {
                            m.2 = false;
                        }
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    comp.sort_unstable();
                    out.push(comp);
                }
            }
        }
        out
    }

    /// A shortest path inside `inside` from `from` to a state satisfying `goal` (the steps, and
    /// the state reached); `None` if there is none.
    fn path_inside(
        &self,
        from: u32,
        inside: &HashSet<u32>,
        goal: impl Fn(u32) -> bool,
    ) -> Option<(Vec<(u32, u16)>, u32)> {
        if goal(from) {
            return Some((Vec::new(), from));
        }
        let mut prev: HashMap<u32, (u32, u16)> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = HashSet::from([from]);
        while let Some(s) = queue.pop_front() {
            for e in &self.out[s as usize] {
                if !inside.contains(&e.to) || !seen.insert(e.to) {
                    continue;
                }
                prev.insert(e.to, (s, e.action));
                if goal(e.to) {
                    let mut steps = Vec::new();
                    let mut at = e.to;
                    while at != from {
                        let (p, a) = prev[&at];
                        steps.push((p, a));
                        at = p;
                    }
                    steps.reverse();
                    return Some((steps, e.to));
                }
                queue.push_back(e.to);
            }
        }
        None
    }

    /// The fair cores of the graph: sets of states a fair run can stay in for ever, visiting
    /// each infinitely often. A nontrivial component is one if every fair action enabled in any
    /// of its states is taken by one of its own edges (a run going round all of it then takes
    /// each action that keeps coming back). Otherwise no fair run visits, infinitely often, a
    /// state enabling an action the component never takes: those states are removed and what
    /// is left is decomposed again (the Emerson–Lei refinement for strong fairness). Each core
    /// comes with the actions its cycle must take.
    pub fn fair_cores(&self) -> Vec<(Vec<u32>, Vec<u64>)> {
        let nontrivial = |comp: &Vec<u32>| {
            comp.len() > 1 || self.out[comp[0] as usize].iter().any(|e| e.to == comp[0])
        };
        let mut work: Vec<Vec<u32>> = self.components().into_iter().filter(nontrivial).collect();
        let mut cores = Vec::new();
        while let Some(comp) = work.pop() {
            let inside: HashSet<u32> = comp.iter().copied().collect();
            let taken: HashSet<u64> = comp
                .iter()
                .flat_map(|&s| self.out[s as usize].iter())
                .filter(|e| inside.contains(&e.to))
                .filter_map(|e| e.fair)
                .collect();
            let enabled: HashSet<u64> = comp
                .iter()
                .flat_map(|&s| self.enabled[s as usize].iter().copied())
                .collect();
            let untaken: HashSet<u64> = enabled.difference(&taken).copied().collect();
            if untaken.is_empty() {
                let mut required: Vec<u64> = enabled.into_iter().collect();
                required.sort_unstable();
                cores.push((comp, required));
                continue;
            }
            let rest: Vec<u32> = comp
                .iter()
                .copied()
                .filter(|&s| !self.enabled[s as usize].iter().any(|k| untaken.contains(k)))
                .collect();
            let keep: HashSet<u32> = rest.iter().copied().collect();
            work.extend(
                self.components_of(&rest, |s| keep.contains(&s))
                    .into_iter()
                    .filter(|c| {
                        c.len() > 1
                            || self.out[c[0] as usize]
                                .iter()
                                .any(|e| e.to == c[0] && keep.contains(&e.to))
                    }),
            );
        }
        cores
    }

    /// The shallowest violation of "eventually good forever" for property bit `bit`, if any: a
    /// state where a fair run may stop and that is not good, or a fair core holding a state that
    /// is not good — whichever is reached first (states are numbered breadth-first).
    pub fn violation(&self, bit: u32) -> Option<Violation> {
        self.violation_among(bit, &self.fair_cores())
    }

    /// [`Graph::violation`] with the fair cores computed once for every property.
    pub fn violation_among(&self, bit: u32, cores: &[(Vec<u32>, Vec<u64>)]) -> Option<Violation> {
        let good = |s: u32| self.good[s as usize] & (1 << bit) != 0;
        let stops =
            (0..self.len() as u32).find(|&s| self.enabled[s as usize].is_empty() && !good(s));
        let lasso = cores
            .iter()
            .filter_map(|(comp, required)| {
                let bad = *comp.iter().find(|&&s| !good(s))?;
                Some((comp, bad, required))
            })
            .min_by_key(|(comp, _, _)| comp[0])
            .map(|(comp, bad, required)| self.lasso(comp, bad, required));
        match (stops, lasso) {
            (Some(end), Some(l @ Violation::Lasso { entry, .. })) if entry < end => Some(l),
            (Some(end), _) => Some(Violation::Stops { end }),
            (None, l) => l,
        }
    }

    /// The cycle of a fair component `comp` from its first state, through `bad`, and through an
    /// edge of every action in `required`, back to its first state.
    fn lasso(&self, comp: &[u32], bad: u32, required: &[u64]) -> Violation {
        let inside: HashSet<u32> = comp.iter().copied().collect();
        let entry = comp[0];
        let mut cycle: Vec<(u32, u16)> = Vec::new();
        let mut at = entry;
        if let Some((steps, _)) = self.path_inside(at, &inside, |s| s == bad) {
            cycle.extend(steps);
            at = bad;
        }
        for &k in required {
            let takes = |s: u32| {
                self.out[s as usize]
                    .iter()
                    .find(|e| e.fair == Some(k) && inside.contains(&e.to))
                    .copied()
            };
            let Some((steps, src)) = self.path_inside(at, &inside, |s| takes(s).is_some()) else {
                continue;
            };
            cycle.extend(steps);
            if let Some(e) = takes(src) {
                cycle.push((src, e.action));
                at = e.to;
            }
        }
        if cycle.is_empty() {
            // Nothing asked for a step yet: leave the entry by an edge inside the component
            // (itself, for a state with an edge to itself), so that the cycle is one.
            if let Some(e) = self.out[entry as usize]
                .iter()
                .find(|e| inside.contains(&e.to))
            {
                cycle.push((entry, e.action));
                at = e.to;
            }
        }
        if let Some((steps, _)) = self.path_inside(at, &inside, |s| s == entry) {
            cycle.extend(steps);
        }
        Violation::Lasso { entry, bad, cycle }
    }
}

/// Builds the reachable graph of `cfg`, labelling each state with one bit per property of
/// `props`: settled, and the property's condition holds.
pub fn build(
    cfg: Config,
    props: &[&'static PropertyDef],
    opts: Options,
) -> Result<(JpkiModel, Graph), LivenessError> {
    let model = jpkisim_model::build(cfg)?;
    let canon = Canon::new(&cfg, false);
    let mut ids: HashMap<u64, u32> = HashMap::new();
    let mut graph = Graph::default();
    let mut queue: VecDeque<(u32, JpkiState)> = VecDeque::new();
    let label = |state: &JpkiState| -> u64 {
        let Some(w) = World::of(state) else { return 0 };
        if !w.settled(&cfg) {
            return 0;
        }
        props
            .iter()
            .enumerate()
            .filter(|(_, p)| (p.condition)(&cfg, &w))
            .fold(0u64, |m, (i, _)| m | (1 << i))
    };
    let mut add = |graph: &mut Graph,
                   queue: &mut VecDeque<(u32, JpkiState)>,
                   state: JpkiState,
                   parent: Option<(u32, u16)>|
     -> Result<u32, LivenessError> {
        let (fp, _) = canon.fingerprint(&state, None);
        if let Some(&id) = ids.get(&fp) {
            return Ok(id);
        }
        let id = graph.out.len() as u32;
        if graph.out.len() >= opts.max_states {
            return Err(LivenessError::TooLarge(opts.max_states));
        }
        ids.insert(fp, id);
        graph.parent.push(parent);
        graph.out.push(Vec::new());
        graph.enabled.push(Vec::new());
        graph.good.push(label(&state));
        queue.push_back((id, state));
        Ok(id)
    };
    for s in model.init_states().into_iter().take(1) {
        add(&mut graph, &mut queue, s, None)?;
    }
    let mut actions: Vec<JpkiAction> = Vec::new();
    while let Some((id, state)) = queue.pop_front() {
        actions.clear();
        model.actions(&state, &mut actions);
        if actions.len() > usize::from(u16::MAX) + 1 {
            return Err(LivenessError::TooManyActions(actions.len()));
        }
        for (ix, action) in actions.drain(..).enumerate() {
            let fair = match &action {
                ActorModelAction::Deliver { .. }
                | ActorModelAction::Timeout(..)
                | ActorModelAction::Recover(..) => Some(key(&action)),
                _ => None,
            };
            let crash = matches!(action, ActorModelAction::Crash(..));
            let Some(next) = model.next_state(&state, action) else {
                continue;
            };
            if !Model::within_boundary(&model, &next) {
                continue;
            }
            let to = add(&mut graph, &mut queue, next, Some((id, ix as u16)))?;
            if crash {
                graph.crash_edges += 1;
                continue;
            }
            if let Some(k) = fair {
                graph.enabled[id as usize].push(k);
            }
            graph.out[id as usize].push(Edge {
                to,
                action: ix as u16,
                fair,
            });
        }
    }
    Ok((model, graph))
}

fn key(action: &JpkiAction) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    action.hash(&mut h);
    h.finish()
}

/// The verdict on one property.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The quiescence property whose "eventually" it is.
    pub property: &'static PropertyDef,
    /// The violation found, if any.
    pub violation: Option<Violation>,
}

/// A liveness check's result.
#[derive(Clone)]
pub struct Report {
    /// The configuration.
    pub config: Config,
    /// The model (for rebuilding counterexamples).
    pub model: JpkiModel,
    /// The graph.
    pub graph: Graph,
    /// One verdict per applicable quiescence property.
    pub verdicts: Vec<Verdict>,
    /// How many fair cores the graph has: sets of states a fair run can go round for ever.
    pub fair_cores: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Checks "every fair run eventually settles with P, and stays so" for every quiescence
/// property that applies to `cfg`.
pub fn check(cfg: Config, opts: Options) -> Result<Report, LivenessError> {
    let started = Instant::now();
    let props: Vec<&'static PropertyDef> = QUIESCENCE
        .iter()
        .filter_map(|id| jpkisim_properties::catalogue::by_id(id))
        .filter(|p| (p.applies)(&cfg).is_ok())
        .collect();
    if props.is_empty() {
        return Err(LivenessError::NothingToDecide);
    }
    let (model, graph) = build(cfg, &props, opts)?;
    let cores = graph.fair_cores();
    let verdicts = props
        .iter()
        .enumerate()
        .map(|(i, p)| Verdict {
            property: p,
            violation: graph.violation_among(i as u32, &cores),
        })
        .collect();
    Ok(Report {
        config: cfg,
        model,
        graph,
        verdicts,
        fair_cores: cores.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A graph from edges `(from, to, fair key)`; `enabled` says which fair keys each state
    /// enables (those of its fair edges, plus any given).
    fn graph(n: usize, edges: &[(u32, u32, Option<u64>)], good: &[u32]) -> Graph {
        let mut g = Graph {
            parent: vec![None; n],
            out: vec![Vec::new(); n],
            enabled: vec![Vec::new(); n],
            good: vec![0; n],
            crash_edges: 0,
        };
        for (i, &(from, to, fair)) in edges.iter().enumerate() {
            g.out[from as usize].push(Edge {
                to,
                action: i as u16,
                fair,
            });
            if let Some(k) = fair {
                g.enabled[from as usize].push(k);
            }
            if g.parent[to as usize].is_none() && to != 0 {
                g.parent[to as usize] = Some((from, i as u16));
            }
        }
        for &s in good {
            g.good[s as usize] = 1;
        }
        g
    }

    #[test]
    fn a_run_that_stops_in_a_good_state_is_live() {
        // 0 → 1 → 2 (good), every step fair.
        let g = graph(3, &[(0, 1, Some(1)), (1, 2, Some(2))], &[2]);
        assert_eq!(g.violation(0), None);
    }

    #[test]
    fn a_run_that_can_stop_in_a_bad_state_is_not() {
        // 0 → 1 by a choice (not fair): the run may stop in 0, which is bad.
        let g = graph(2, &[(0, 1, None)], &[1]);
        assert_eq!(g.violation(0), Some(Violation::Stops { end: 0 }));
        assert_eq!(g.path_to(1), vec![0]);
    }

    #[test]
    fn a_fair_cycle_through_a_bad_state_is_a_lasso() {
        // 0 → 1 ⇄ 2, and 2 → 3 (good) by a choice only: going round 1 ⇄ 2 takes every fair
        // action enabled all along, so a fair run may circle for ever.
        let g = graph(
            4,
            &[
                (0, 1, Some(1)),
                (1, 2, Some(2)),
                (2, 1, Some(3)),
                (2, 3, None),
            ],
            &[3],
        );
        match g.violation(0) {
            Some(Violation::Lasso { entry, cycle, .. }) => {
                assert_eq!(entry, 1);
                let states: Vec<u32> = cycle.iter().map(|(s, _)| *s).collect();
                assert_eq!(states, vec![1, 2]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fairness_rules_out_a_cycle_that_starves_an_action_enabled_again_and_again() {
        // 1 ⇄ 2 by choices, while delivery 9 (to the good state 3) is enabled in both: a fair
        // run must take it, so it cannot circle.
        let mut g = graph(
            4,
            &[
                (0, 1, Some(1)),
                (1, 2, None),
                (2, 1, None),
                (1, 3, Some(9)),
                (2, 3, Some(9)),
            ],
            &[3],
        );
        assert_eq!(g.violation(0), None);
        // Enabled in state 1 only, it is still enabled infinitely often on the cycle: a
        // fair-loss link delivers a message it is offered again and again (strong fairness),
        // so the cycle is no fair run — but a run may now stop in state 2, where nothing fair
        // is enabled.
        g.out[2].retain(|e| e.fair != Some(9));
        g.enabled[2].clear();
        assert_eq!(g.violation(0), Some(Violation::Stops { end: 2 }));
        assert!(g.fair_cores().is_empty());
    }

    #[test]
    fn a_retry_lost_again_and_again_is_not_a_fair_run_but_a_retry_that_never_ends_is() {
        // 1: the request in flight (delivery 9 → good state 3); lost (a choice of the network)
        // → 2: the timer (5) re-sends it → 1.
        let mut g = graph(
            4,
            &[
                (0, 1, Some(1)),
                (1, 2, None),
                (2, 1, Some(5)),
                (1, 3, Some(9)),
            ],
            &[3],
        );
        assert_eq!(g.violation(0), None);
        // Without the delivery ever having an effect (its edge leads back into the loop) the
        // loop is a fair run that never settles: a lasso through both states.
        g.out[1].retain(|e| e.fair != Some(9));
        g.out[1].push(Edge {
            to: 2,
            action: 9,
            fair: Some(9),
        });
        match g.violation(0) {
            Some(Violation::Lasso { entry, cycle, .. }) => {
                assert_eq!(entry, 1);
                let actions: Vec<u16> = cycle.iter().map(|(_, a)| *a).collect();
                // The cycle takes the delivery and the timer, the fair actions it keeps enabling.
                assert!(actions.contains(&9) && actions.contains(&2), "{actions:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn components_are_found_on_a_long_chain_without_recursion() {
        let n = 200_000u32;
        let edges: Vec<(u32, u32, Option<u64>)> =
            (0..n - 1).map(|i| (i, i + 1, Some(u64::from(i)))).collect();
        let mut g = graph(n as usize, &edges, &[n - 1]);
        assert_eq!(g.components().len(), n as usize);
        g.out[(n - 1) as usize].push(Edge {
            to: 0,
            action: 0,
            fair: Some(7),
        });
        g.enabled[(n - 1) as usize].push(7);
        assert_eq!(g.components().len(), 1);
    }
}

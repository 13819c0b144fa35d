//! The search for a run of the model behind a trace's events: model states paired with how many
//! of the events (the *targets*: deliveries, choices, faults) they have matched.
//!
//! Only a delivery from an unobserved sender needs unobserved steps before it (the sender has to
//! be brought to send the message). Every other event — a choice, a delivery from an observed
//! sender, a fault — depends on the observed parties alone, so it is matched from the state the
//! previous event left, with no unobserved step before it.
//!
//! **Lazy gaps** (the complete pass). Unobserved steps are taken only in the gap before the event
//! that needs them, and a match is kept only if every unobserved step of its gap leads to the
//! event: the gap is the event's *cone* — the step that sent the message, the steps that step
//! depends on, and so on, where a delivery depends on the step that sent its message and a step
//! depends on the same party's earlier step unless the two commute (either order leaves the party
//! in the same state with the same sends). Any run that matches the events can be reordered into
//! such a run — a step that the next event does not depend on commutes with it and moves to a
//! later gap, or past the end — so the reduction loses no run, and the bound on unobserved steps
//! (`hidden_steps`) counts the steps an event needs, not the ones an interleaving happened to put
//! before it. A gap is also cut as soon as the parties whose last step nothing used yet outnumber
//! the steps left (each later step uses at most one of them).
//!
//! **Order** (the complete pass). A gap *costs* one per unobserved choice, and one more for a
//! choice taken while a message the gap itself sent is still undelivered (the usual order of a
//! protocol run is: choose, let the messages settle, choose again). States are explored cheapest
//! gap first; states whose next step would cost more than the current cap wait until everything
//! cheaper is explored, so a wrong early match costs little before the search backtracks.
//!
//! **The quick pass** ([`Limits::settle_first`]) goes deepest match first, lets the messages of
//! the gap settle one receiving party at a time before an unobserved party chooses, and takes any
//! match. It finds most runs with few states; when it fails it proves nothing, and the complete
//! pass decides.
//!
//! Both are exact within their bounds: when the complete pass ends without reaching either bound,
//! no run matches further than the furthest target it matched. Explaining why is
//! [`super::explain`]'s part.
//!
//! Memory: states are deduplicated by a 128-bit fingerprint; a state is kept only while it waits
//! in the queue, or after a match, and targets and states behind every waiting state can be
//! dropped ([`Search::compact`]), so a fully observed trace is checked in constant memory.

use super::local::Mark;
use crate::format::Event;
use jpkisim_model::actors::{PartyChoice, PartyState};
use jpkisim_model::ids::Party;
use jpkisim_model::msg::Msg;
use jpkisim_model::recovery::{self, PartyTimer};
use jpkisim_model::world::envelopes;
use jpkisim_model::{Config, JpkiAction, JpkiModel, JpkiState, Topology};
use jpkisim_properties::catalogue::PropertyDef;
use stateright::actor::{ActorModelAction, Envelope, Id, Network};
use stateright::Model;
use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::rc::Rc;
use std::sync::Arc;

/// What an event asks of the model.
#[derive(Clone, Debug)]
pub(super) enum Want {
    /// `actor` makes `choice`.
    Choice { actor: Id, choice: PartyChoice },
    /// `dst` receives `msg` from `src`.
    Deliver { src: Id, dst: Id, msg: Msg },
    /// The network loses `msg` from `src` to `dst`.
    Lost { src: Id, dst: Id, msg: Msg },
    /// One of `actor`'s armed timers fires (the event does not say which: every armed one is a
    /// match, and the events after it tell them apart).
    Timeout { actor: Id },
    /// `msg` from `src` to `dst` is in flight (a duplication or reordering the network allows).
    InFlight { src: Id, dst: Id, msg: Msg },
    /// `actor` crashes (the model's `Crash` step, within its boundary).
    Crash { actor: Id },
    /// `actor` restarts from its database (the model's `Recover` step).
    Recover { actor: Id },
}

/// One event the search matches: the event, and what it asks.
#[derive(Clone, Debug)]
pub(super) struct Target {
    pub at: Mark,
    pub event: Rc<Event>,
    pub want: Want,
    /// The sender of a delivery, when unobserved: unobserved steps may be needed before it, and
    /// the sender's last step is the one that may be left for the event to use.
    pub hidden_sender: Option<Id>,
}

/// How far the search may go, and how.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub hidden_steps: usize,
    /// The most states explored beyond one per matched target.
    pub max_states: usize,
    /// A matched state that violates a safety property is a dead end (to find a run that keeps
    /// every property, if there is one).
    pub prune_violations: bool,
    /// The quick pass (see the module docs).
    pub settle_first: bool,
    /// Keep every state's way back to the initial state (for the run to open in the Explorer).
    pub record_run: bool,
}

/// One explored state.
struct Node {
    /// Kept while the node waits for expansion, after a match (depth 0), and while deferred.
    state: Option<Arc<JpkiState>>,
    pos: u32,
    dangling: u32,
    depth: u16,
    cost: u16,
    parent: u32,
    /// The model steps from the parent (one, or a loss then a delivery on a FIFO channel).
    steps: Vec<JpkiAction>,
    /// Quick pass: messages sent since the last match and not delivered since.
    pending: Vec<(Id, Id, Msg)>,
    deferred: bool,
}

const ROOT: u32 = u32::MAX;

/// A safety property a matched state violated (the match was then not followed).
#[derive(Clone, Copy, Debug)]
pub(super) struct Violation {
    pub target: usize,
    pub property: &'static PropertyDef,
}

/// Why [`Search::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Progress {
    /// A state matched every target (and no more are coming).
    Done,
    /// Nothing is left to explore within the bounds.
    Exhausted,
    /// The state budget is spent.
    Budget,
    /// The deepest state has matched every target given so far: give it more.
    Starved,
}

/// The search over one trace.
pub(super) struct Search<'a> {
    model: &'a JpkiModel,
    cfg: Config,
    topo: Topology,
    observed: Vec<bool>,
    properties: &'a [&'static PropertyDef],
    limits: Limits,
    targets: VecDeque<Target>,
    /// The index of `targets[0]` among all targets.
    base: usize,
    /// More targets may still be added.
    more: bool,
    nodes: Vec<Node>,
    seen: HashMap<(u32, u32, u128), u32>,
    hashers: (RandomState, RandomState),
    queue: BinaryHeap<(u64, Reverse<u32>)>,
    /// The most a gap may cost now; states expanded only up to it wait here, with the cost the
    /// cheapest step they skipped needs.
    cap: u16,
    deferred: Vec<(u32, u16)>,
    /// The most targets any explored state matched.
    pub matched: usize,
    /// Some states with `matched` targets matched (for the diagnosis), and how many there were.
    sample: Vec<Arc<JpkiState>>,
    pub at_matched: usize,
    done: Option<u32>,
    /// Targets before which the hidden-step bound cut some state off.
    pub steps_cut: Vec<usize>,
    /// The state budget ran out.
    pub budget_hit: bool,
    explored: usize,
    violations: HashMap<usize, Violation>,
    compacted_at: usize,
}

impl<'a> Search<'a> {
    pub(super) fn new(
        model: &'a JpkiModel,
        observed: &[bool],
        properties: &'a [&'static PropertyDef],
        limits: Limits,
    ) -> Search<'a> {
        let mut s = Search {
            model,
            cfg: model.cfg,
            topo: Topology::of(&model.cfg),
            observed: observed.to_vec(),
            properties,
            limits,
            targets: VecDeque::new(),
            base: 0,
            more: true,
            nodes: Vec::new(),
            seen: HashMap::new(),
            hashers: (RandomState::new(), RandomState::new()),
            queue: BinaryHeap::new(),
            cap: 1,
            deferred: Vec::new(),
            matched: 0,
            sample: Vec::new(),
            at_matched: 0,
            done: None,
            steps_cut: Vec::new(),
            budget_hit: false,
            explored: 0,
            violations: HashMap::new(),
            compacted_at: 0,
        };
        for st in model.init_states() {
            s.push(
                normalise(&s.cfg, st),
                0,
                0,
                0,
                0,
                ROOT,
                Vec::new(),
                Vec::new(),
            );
        }
        s
    }

    /// Adds the next target.
    pub(super) fn add(&mut self, t: Target) {
        self.targets.push_back(t);
    }

    /// No more targets will be added.
    pub(super) fn finish(&mut self) {
        self.more = false;
    }

    fn loaded(&self) -> usize {
        self.base + self.targets.len()
    }

    /// Target `t`, if still held.
    pub(super) fn target(&self, t: usize) -> Option<&Target> {
        self.targets.get(t.checked_sub(self.base)?)
    }

    /// States explored.
    pub(super) fn states(&self) -> usize {
        self.explored
    }

    /// Explores until done, exhausted, out of budget, or starved for targets.
    pub(super) fn run(&mut self) -> Progress {
        loop {
            if self.done.is_some() {
                return Progress::Done;
            }
            let Some((key, Reverse(id))) = self.queue.pop() else {
                if self.widen() {
                    continue;
                }
                return Progress::Exhausted;
            };
            let n = &self.nodes[id as usize];
            if n.state.is_none() || self.priority(id) != key {
                continue; // a stale entry
            }
            if n.pos as usize == self.loaded() {
                if self.more {
                    self.queue.push((key, Reverse(id)));
                    return Progress::Starved;
                }
                self.done = Some(id);
                return Progress::Done;
            }
            self.expand(id);
            if self.explored.saturating_sub(self.matched) >= self.limits.max_states {
                self.budget_hit = self.done.is_none();
                return Progress::Budget;
            }
        }
    }

    /// Drops the targets and states no waiting state can come back to (unless the run is
    /// recorded): what keeps a long, fully observed trace in constant memory.
    pub(super) fn compact(&mut self) {
        if self.limits.record_run || self.nodes.len() < self.compacted_at + 1024 {
            return;
        }
        let waiting = self
            .queue
            .iter()
            .map(|(_, Reverse(id))| *id)
            .chain(self.deferred.iter().map(|(id, _)| *id));
        let Some(low) = waiting.map(|id| self.nodes[id as usize].pos).min() else {
            return;
        };
        let mut remap = vec![ROOT; self.nodes.len()];
        let old = std::mem::take(&mut self.nodes);
        for (i, mut n) in old.into_iter().enumerate() {
            if n.pos < low {
                continue;
            }
            remap[i] = self.nodes.len() as u32;
            n.parent = if n.parent == ROOT {
                ROOT
            } else {
                remap[n.parent as usize]
            };
            self.nodes.push(n);
        }
        self.seen.retain(|(pos, _, _), id| {
            *id = remap[*id as usize];
            *pos >= low && *id != ROOT
        });
        self.queue = std::mem::take(&mut self.queue)
            .into_iter()
            .map(|(k, Reverse(id))| (k, Reverse(remap[id as usize])))
            .filter(|(_, Reverse(id))| *id != ROOT)
            .collect();
        for (id, _) in &mut self.deferred {
            *id = remap[*id as usize];
        }
        self.deferred.retain(|(id, _)| *id != ROOT);
        let drop = (low as usize)
            .saturating_sub(self.base)
            .min(self.targets.len());
        self.targets.drain(..drop);
        self.base += drop;
        self.compacted_at = self.nodes.len();
    }

    /// The model steps of a run matching every target, from the initial state.
    pub(super) fn witness(&self) -> Option<Vec<JpkiAction>> {
        self.done.map(|id| self.path(id))
    }

    /// The model steps to a state that matched the first `matched` targets (with no unobserved
    /// step after the last match), from the initial state.
    pub(super) fn path_to_furthest(&self) -> Vec<JpkiAction> {
        self.nodes
            .iter()
            .position(|n| n.pos as usize == self.matched && n.depth == 0)
            .map(|id| self.path(id as u32))
            .unwrap_or_default()
    }

    fn path(&self, mut id: u32) -> Vec<JpkiAction> {
        let mut rev: Vec<&[JpkiAction]> = Vec::new();
        while id != ROOT {
            let n = &self.nodes[id as usize];
            rev.push(&n.steps);
            id = n.parent;
        }
        rev.into_iter().rev().flatten().cloned().collect()
    }

    /// States the run can be in just before the first target no state matched (after the
    /// unobserved steps tried there; at most a few thousand).
    pub(super) fn candidates(&self) -> impl Iterator<Item = &JpkiState> + '_ {
        self.sample.iter().map(|s| &**s)
    }

    /// The violation that stopped matches of target `t`, if any.
    pub(super) fn violation_at(&self, t: usize) -> Option<Violation> {
        self.violations.get(&t).copied()
    }

    /// The earliest target at which a match was dropped for violating a property.
    pub(super) fn first_violation(&self) -> Option<Violation> {
        self.violations.values().min_by_key(|v| v.target).copied()
    }

    /// Raises the cap to the cheapest deferred state and queues every deferred state within it;
    /// false when nothing is deferred.
    fn widen(&mut self) -> bool {
        let Some(next) = self.deferred.iter().map(|&(_, c)| c).min() else {
            return false;
        };
        self.cap = next;
        let waiting = std::mem::take(&mut self.deferred);
        let (now, later): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|&(_, c)| c <= next);
        self.deferred = later;
        for (id, _) in now {
            self.nodes[id as usize].deferred = false;
            self.enqueue(id);
        }
        true
    }

    /// The queue order (greatest first): the quick pass goes deepest match first; the complete
    /// pass cheapest gap first, then earliest target (so that the alternatives of an early gap
    /// are all on the table before a later gap is searched at a higher cost).
    fn priority(&self, id: u32) -> u64 {
        let n = &self.nodes[id as usize];
        let (pos, cost, depth) = (u64::from(n.pos), u64::from(n.cost), u64::from(n.depth));
        if self.limits.settle_first {
            (pos << 32) | ((0xffff - cost) << 16) | (0xffff - depth)
        } else {
            ((0xffff - cost) << 48) | ((0xffff_ffff - pos) << 16) | (0xffff - depth)
        }
    }

    fn enqueue(&mut self, id: u32) {
        let key = self.priority(id);
        self.queue.push((key, Reverse(id)));
    }

    fn fingerprint(&self, state: &JpkiState) -> u128 {
        let a = self.hashers.0.hash_one(state);
        let b = self.hashers.1.hash_one(state);
        (u128::from(a) << 64) | u128::from(b)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        state: JpkiState,
        pos: u32,
        dangling: u32,
        depth: u16,
        cost: u16,
        parent: u32,
        steps: Vec<JpkiAction>,
        pending: Vec<(Id, Id, Msg)>,
    ) {
        let key = (pos, dangling, self.fingerprint(&state));
        let state = Arc::new(state);
        if let Some(&id) = self.seen.get(&key) {
            let n = &mut self.nodes[id as usize];
            if n.depth <= depth {
                return;
            }
            // Reached with fewer unobserved steps: more room left in this gap.
            n.depth = depth;
            n.cost = cost;
            n.parent = parent;
            n.steps = steps;
            n.pending = pending;
            n.state = Some(state);
            if !n.deferred {
                self.enqueue(id);
            }
            return;
        }
        let id = self.nodes.len() as u32;
        self.explored += 1;
        if pos as usize > self.matched {
            self.matched = pos as usize;
            self.sample.clear();
            self.at_matched = 0;
        }
        if pos as usize == self.matched {
            self.at_matched += 1;
            if self.sample.len() < 2000 {
                self.sample.push(Arc::clone(&state));
            }
        }
        self.nodes.push(Node {
            state: Some(state),
            pos,
            dangling,
            depth,
            cost,
            parent,
            steps,
            pending,
            deferred: false,
        });
        self.seen.insert(key, id);
        if pos as usize == self.loaded() && !self.more {
            self.done = Some(id);
        }
        self.enqueue(id);
    }

    fn hidden_id(&self, id: Id) -> bool {
        !self.observed.get(usize::from(id)).copied().unwrap_or(false)
    }

    fn expand(&mut self, id: u32) {
        let (state, pos, dangling, depth, cost) = {
            let n = &self.nodes[id as usize];
            let Some(state) = n.state.clone() else {
                return;
            };
            (state, n.pos, n.dangling, n.depth, n.cost)
        };
        let Some(target) = self.target(pos as usize).cloned() else {
            return;
        };
        // The event itself, if this gap is its cone (see the module docs).
        let lazy = depth == 0
            || self.limits.settle_first
            || target
                .hidden_sender
                .is_some_and(|q| dangling == bit(q) && self.cone_is_gap(id, q, &target.want));
        if lazy {
            for (next, steps) in self.match_target(&state, &target) {
                if let Some(p) = self.violated(&next) {
                    self.violations.entry(pos as usize).or_insert(Violation {
                        target: pos as usize,
                        property: p,
                    });
                    if self.limits.prune_violations {
                        continue;
                    }
                }
                let pending = if self.limits.settle_first {
                    self.sends(&state, &steps)
                } else {
                    Vec::new()
                };
                self.push(next, pos + 1, 0, 0, 0, id, steps, pending);
            }
        }
        let deferred = target.hidden_sender.is_some()
            && self.expand_gap(id, &state, pos, dangling, depth, cost);
        let n = &mut self.nodes[id as usize];
        n.deferred = deferred;
        if depth > 0 && !deferred {
            n.state = None; // expanded: only its fingerprint is needed from now on
        }
    }

    /// Takes the unobserved steps from node `id` (in a gap). True if some were skipped for
    /// costing more than the cap (the node is then deferred).
    fn expand_gap(
        &mut self,
        id: u32,
        state: &JpkiState,
        pos: u32,
        dangling: u32,
        depth: u16,
        cost: u16,
    ) -> bool {
        let mut actions = Vec::new();
        self.model.actions(state, &mut actions);
        let mut hidden: Vec<JpkiAction> = actions
            .into_iter()
            .filter(|a| self.hidden_step(a))
            .collect();
        let pending = if self.limits.settle_first {
            self.nodes[id as usize].pending.clone()
        } else {
            Vec::new()
        };
        if self.limits.settle_first {
            // The messages sent since the last match settle first, one receiving party at a
            // time (the lowest); choices only once none is left.
            let waiting = |a: &JpkiAction| {
                matches!(a, ActorModelAction::Deliver { src, dst, msg }
                    if pending.iter().any(|(s, d, m)| s == src && d == dst && m == msg))
            };
            let first = hidden
                .iter()
                .filter(|a| waiting(a) && self.model.next_state(state, (*a).clone()).is_some())
                .filter_map(|a| match a {
                    ActorModelAction::Deliver { dst, .. } => Some(*dst),
                    _ => None,
                })
                .min();
            if let Some(x) = first {
                hidden.retain(|a| {
                    waiting(a) && matches!(a, ActorModelAction::Deliver { dst, .. } if *dst == x)
                });
            }
        }
        if hidden.is_empty() {
            return false;
        }
        if usize::from(depth) >= self.limits.hidden_steps {
            if !self.steps_cut.contains(&(pos as usize)) {
                self.steps_cut.push(pos as usize);
            }
            return false;
        }
        // Messages this gap's own steps sent and no one used yet: a choice before they arrive
        // breaks the usual order (settle, then choose), and costs one more.
        let settling = hidden.iter().any(
            |a| matches!(a, ActorModelAction::Deliver { src, .. } if dangling & bit(*src) != 0),
        );
        let left = self.limits.hidden_steps - usize::from(depth) - 1;
        let mut skipped: Option<u16> = None;
        for a in hidden {
            let c = match a {
                // A timer, like a choice, usually waits for the network to settle (patient
                // timers: docs/recovery.md), and costs as much.
                ActorModelAction::SelectRandom { .. }
                | ActorModelAction::Timeout(..)
                | ActorModelAction::Crash(_)
                | ActorModelAction::Recover(_) => cost + 1 + u16::from(settling),
                _ => cost,
            };
            if c > self.cap {
                skipped = Some(skipped.map_or(c, |s| s.min(c)));
                continue;
            }
            let d = dangling_after(dangling, &a);
            if !self.limits.settle_first && (d.count_ones() as usize).saturating_sub(1) > left {
                continue;
            }
            let Some(next) = self.model.next_state(state, a.clone()) else {
                continue; // a step that changes nothing is never needed
            };
            if !self.keeps_boundary(state, &a, &next) {
                continue;
            }
            let p = if self.limits.settle_first {
                let mut p = pending.clone();
                if let ActorModelAction::Deliver { src, dst, msg } = &a {
                    if let Some(i) = p
                        .iter()
                        .position(|(s, t, m)| s == src && t == dst && m == msg)
                    {
                        p.swap_remove(i);
                    }
                }
                p.extend(self.sends(state, std::slice::from_ref(&a)));
                p
            } else {
                Vec::new()
            };
            self.push(
                normalise(&self.cfg, next),
                pos,
                d,
                depth + 1,
                c,
                id,
                vec![a],
                p,
            );
        }
        if let Some(c) = skipped {
            self.deferred.push((id, c));
            return true;
        }
        false
    }

    /// The messages `steps` send from `state` (their sender, receiver and message).
    fn sends(&self, state: &JpkiState, steps: &[JpkiAction]) -> Vec<(Id, Id, Msg)> {
        let mut out = Vec::new();
        for a in steps {
            if let Some((r, input)) = Input::of(a) {
                if let Some((_, sent)) = state
                    .actor_states
                    .get(usize::from(r))
                    .and_then(|s| self.apply_local(r, s, input))
                {
                    out.extend(sent.into_iter().map(|(to, m)| (r, self.topo.id(to), m)));
                }
            }
        }
        out
    }

    /// Whether every unobserved step of the gap that ends at node `id` is in the cone of the
    /// target (a delivery from unobserved `sender`; see the module docs).
    fn cone_is_gap(&self, id: u32, sender: Id, want: &Want) -> bool {
        let Want::Deliver { dst, msg, .. } = want else {
            return true;
        };
        // The gap's steps, oldest first, and the state they start from.
        let mut steps: Vec<&JpkiAction> = Vec::new();
        let mut n = &self.nodes[id as usize];
        while n.depth > 0 {
            match n.steps.as_slice() {
                [a] => steps.push(a),
                _ => return true,
            }
            n = &self.nodes[n.parent as usize];
        }
        steps.reverse();
        let Some(root) = n.state.as_deref() else {
            return true;
        };
        // The states before each step, replayed from the gap's start.
        let mut before: Vec<JpkiState> = Vec::with_capacity(steps.len());
        let mut s = root.clone();
        for a in &steps {
            let next = self.model.next_state(&s, (*a).clone());
            before.push(s);
            match next {
                Some(x) => s = normalise(&self.cfg, x),
                None => return true,
            }
        }
        let sent = |i: usize| -> Vec<(Id, Msg)> {
            self.sends(&before[i], std::slice::from_ref(steps[i]))
                .into_iter()
                .map(|(_, to, m)| (to, m))
                .collect()
        };
        let mut needed = vec![false; steps.len()];
        let Some(last) = (0..steps.len()).rev().find(|&i| {
            actor_of(steps[i]) == Some(sender)
                && sent(i).iter().any(|(to, m)| to == dst && m == msg)
        }) else {
            return steps.is_empty();
        };
        needed[last] = true;
        for i in (0..steps.len()).rev() {
            if !needed[i] {
                continue;
            }
            let a = steps[i];
            let Some(r) = actor_of(a) else {
                // A loss on a FIFO channel: kept with everything before it.
                needed[..i].iter_mut().for_each(|x| *x = true);
                continue;
            };
            if let ActorModelAction::Deliver { src, msg, .. } = a {
                if let Some(j) = (0..i).rev().find(|&j| {
                    actor_of(steps[j]) == Some(*src)
                        && sent(j).iter().any(|(to, m)| *to == r && m == msg)
                }) {
                    needed[j] = true;
                }
            }
            for j in (0..i).rev().filter(|&j| actor_of(steps[j]) == Some(r)) {
                if !self.commute(&before[j], r, steps[j], a) {
                    for k in (0..=j).filter(|&k| actor_of(steps[k]) == Some(r)) {
                        needed[k] = true;
                    }
                    break;
                }
            }
        }
        needed.iter().all(|&x| x)
    }

    /// One input to party `r` in local state `s`: its next state and sends; `None` if it is a
    /// choice `s` does not offer.
    fn apply_local(
        &self,
        r: Id,
        s: &PartyState,
        input: Input<'_>,
    ) -> Option<(PartyState, Vec<(Party, Msg)>)> {
        let actor = self.model.actors.get(usize::from(r))?;
        let step = match input {
            Input::Msg(src, msg) => actor.deliver(s, self.topo.party(src), msg),
            Input::Choice(c) => {
                if !actor.choices(s).contains(&c) {
                    return None;
                }
                actor.choose(s, c)
            }
            Input::Timer(t) => {
                if !recovery::armed(&self.cfg, s).contains(&t) {
                    return None;
                }
                actor.timeout(s, t)
            }
        };
        Some((step.state, actor.outgoing(step.out)))
    }

    /// Whether party `r`'s steps `x` then `y`, from global state `before` (where `x` was
    /// taken), could as well be `y` then `x`: same local state, same sends.
    fn commute(&self, before: &JpkiState, r: Id, x: &JpkiAction, y: &JpkiAction) -> bool {
        let (Some((_, ix)), Some((_, iy)), Some(s)) = (
            Input::of(x),
            Input::of(y),
            before.actor_states.get(usize::from(r)),
        ) else {
            return false;
        };
        let run = |first: Input<'_>, second: Input<'_>| {
            let (s1, mut o1) = self.apply_local(r, s, first)?;
            let (s2, o2) = self.apply_local(r, &s1, second)?;
            o1.extend(o2);
            o1.sort();
            Some((s2, o1))
        };
        match (run(ix, iy), run(iy, ix)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// Whether `a` is an unobserved step: a delivery to, a choice, a timeout, a crash or a restart
    /// of an unobserved party, or
    /// on a lossy FIFO network the loss of a message at the head of a channel to one.
    fn hidden_step(&self, a: &JpkiAction) -> bool {
        match a {
            ActorModelAction::Deliver { dst, .. } => self.hidden_id(*dst),
            ActorModelAction::SelectRandom { actor, .. } => self.hidden_id(*actor),
            // An unobserved party's retry or abort, which an observed party may then receive.
            ActorModelAction::Timeout(actor, _) => self.hidden_id(*actor),
            // An unobserved party's crash and restart (its restart may re-arm a timer, or lose
            // what it did not make durable).
            ActorModelAction::Crash(actor) | ActorModelAction::Recover(actor) => {
                self.hidden_id(*actor)
            }
            ActorModelAction::Drop(e) => {
                matches!(
                    self.cfg.network.ordering,
                    jpkisim_model::config::Ordering::Ordered
                ) && self.hidden_id(e.dst)
            }
        }
    }

    fn violated(&self, state: &JpkiState) -> Option<&'static PropertyDef> {
        self.properties
            .iter()
            .find(|p| !p.holds_in(&self.cfg, state))
            .copied()
    }

    /// The states in which `target` is the step taken from `state`, with the model steps.
    fn match_target(
        &self,
        state: &JpkiState,
        target: &Target,
    ) -> Vec<(JpkiState, Vec<JpkiAction>)> {
        match &target.want {
            Want::Choice { actor, choice } => {
                let mut actions = Vec::new();
                self.model.actions(state, &mut actions);
                actions
                    .into_iter()
                    .filter(|x| {
                        matches!(x, ActorModelAction::SelectRandom { actor: a, random: r, .. }
                            if a == actor && r == choice)
                    })
                    .filter_map(|x| {
                        let next = self.model.next_state(state, x.clone())?;
                        Some((normalise(&self.cfg, next), vec![x]))
                    })
                    .collect()
            }
            Want::Timeout { actor } => {
                let mut actions = Vec::new();
                self.model.actions(state, &mut actions);
                actions
                    .into_iter()
                    .filter(|x| matches!(x, ActorModelAction::Timeout(a, _) if a == actor))
                    .filter_map(|x| {
                        let next = self.model.next_state(state, x.clone())?;
                        Some((normalise(&self.cfg, next), vec![x]))
                    })
                    .collect()
            }
            Want::Crash { actor } => self.own_step(state, &ActorModelAction::Crash(*actor)),
            Want::Recover { actor } => self.own_step(state, &ActorModelAction::Recover(*actor)),
            Want::Deliver { src, dst, msg } => self.deliver(state, *src, *dst, msg),
            Want::Lost { src, dst, msg } => {
                let env = Envelope {
                    src: *src,
                    dst: *dst,
                    msg: msg.clone(),
                };
                if !in_flight(state, *src, *dst, msg) {
                    return Vec::new();
                }
                let mut out = Vec::new();
                if let Some(next) = self
                    .model
                    .next_state(state, ActorModelAction::Drop(env.clone()))
                {
                    out.push((
                        normalise(&self.cfg, next),
                        vec![ActorModelAction::Drop(env)],
                    ));
                }
                if self.cfg.network.duplicating {
                    // A duplicating network holds a message once however often it was sent: one
                    // copy lost while another is still on its way leaves the network as it was.
                    out.push((state.clone(), Vec::new()));
                }
                out
            }
            Want::InFlight { src, dst, msg } => {
                if in_flight(state, *src, *dst, msg) {
                    vec![(state.clone(), Vec::new())]
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// The crash or restart `step`, if the model offers it in `state` (a restart only of a
    /// crashed party, a crash only while fewer are down than the configuration allows) and, for
    /// a crash, if it stays within the model's boundary.
    fn own_step(&self, state: &JpkiState, step: &JpkiAction) -> Vec<(JpkiState, Vec<JpkiAction>)> {
        let mut actions = Vec::new();
        self.model.actions(state, &mut actions);
        if !actions.contains(step) {
            return Vec::new();
        }
        match self.model.next_state(state, step.clone()) {
            Some(next) if self.keeps_boundary(state, step, &next) => {
                vec![(normalise(&self.cfg, next), vec![step.clone()])]
            }
            _ => Vec::new(),
        }
    }

    /// Whether step `a` from `state` to `next` is one the model takes: a crash that leaves the
    /// model's boundary (of a party the model does not let crash) is not. Only crashes are
    /// judged so: a recorded run may go where the checker's budgets do not.
    pub(super) fn keeps_boundary(
        &self,
        state: &JpkiState,
        a: &JpkiAction,
        next: &JpkiState,
    ) -> bool {
        !matches!(a, ActorModelAction::Crash(_))
            || self.model.within_boundary(next)
            || !self.model.within_boundary(state)
    }

    /// `dst` receives `msg` from `src`. A delivery the receiver ignores still uses the message up
    /// (the model would keep it in flight; a real network delivers a send once unless it
    /// duplicates). On a lossy FIFO network the messages ahead of it may have been lost.
    fn deliver(
        &self,
        state: &JpkiState,
        src: Id,
        dst: Id,
        msg: &Msg,
    ) -> Vec<(JpkiState, Vec<JpkiAction>)> {
        if state
            .crashed
            .get(usize::from(dst))
            .copied()
            .unwrap_or(false)
        {
            // A crashed party receives nothing: the message stays in flight until it restarts.
            return Vec::new();
        }
        let mut state = state.clone();
        let mut steps = Vec::new();
        if let Network::Ordered(channels) = &state.network {
            let Some(queue) = channels.get(&(src, dst)) else {
                return Vec::new();
            };
            let Some(at) = queue.iter().position(|m| m == msg) else {
                return Vec::new();
            };
            if at > 0 && !self.cfg.network.lossy {
                return Vec::new();
            }
            let ahead: Vec<Msg> = queue.iter().take(at).cloned().collect();
            for m in ahead {
                let drop = ActorModelAction::Drop(Envelope { src, dst, msg: m });
                let Some(next) = self.model.next_state(&state, drop.clone()) else {
                    return Vec::new();
                };
                state = next;
                steps.push(drop);
            }
        } else if !in_flight(&state, src, dst, msg) {
            return Vec::new();
        }
        let deliver = ActorModelAction::Deliver {
            src,
            dst,
            msg: msg.clone(),
        };
        let next = match self.model.next_state(&state, deliver.clone()) {
            Some(next) => next,
            None if self.cfg.network.duplicating => state,
            None => {
                // Ignored by the receiver: the message is used up all the same.
                let used = ActorModelAction::Drop(Envelope {
                    src,
                    dst,
                    msg: msg.clone(),
                });
                match self.model.next_state(&state, used) {
                    Some(next) => next,
                    None => return Vec::new(),
                }
            }
        };
        steps.push(deliver);
        vec![(normalise(&self.cfg, next), steps)]
    }
}

/// What a party's step takes in: a delivered message (with its sender), one of its choices, or
/// one of its timers firing.
#[derive(Clone, Copy)]
enum Input<'a> {
    Msg(Id, &'a Msg),
    Choice(PartyChoice),
    Timer(PartyTimer),
}

impl<'a> Input<'a> {
    /// The acting party and its input, for a delivery or a choice.
    fn of(a: &'a JpkiAction) -> Option<(Id, Input<'a>)> {
        match a {
            ActorModelAction::Deliver { src, dst, msg } => Some((*dst, Input::Msg(*src, msg))),
            ActorModelAction::SelectRandom { actor, random, .. } => {
                Some((*actor, Input::Choice(*random)))
            }
            ActorModelAction::Timeout(actor, timer) => Some((*actor, Input::Timer(*timer))),
            _ => None,
        }
    }
}

/// The party whose step `a` is: the receiver of a delivery, the chooser, the party whose timer
/// fired, that crashed or restarted (`None` for a loss).
fn actor_of(a: &JpkiAction) -> Option<Id> {
    match a {
        ActorModelAction::Crash(actor) | ActorModelAction::Recover(actor) => Some(*actor),
        _ => Input::of(a).map(|(r, _)| r),
    }
}

fn bit(id: Id) -> u32 {
    1u32.checked_shl(usize::from(id) as u32).unwrap_or(0)
}

/// The parties whose last unobserved step nothing used yet, after unobserved step `a`: the
/// acting party's previous step is followed by this one, a delivered message's sender's step is
/// used, and this step is not used yet.
fn dangling_after(dangling: u32, a: &JpkiAction) -> u32 {
    match a {
        ActorModelAction::Deliver { src, dst, .. } => (dangling & !bit(*src)) | bit(*dst),
        ActorModelAction::SelectRandom { actor, .. }
        | ActorModelAction::Timeout(actor, _)
        | ActorModelAction::Crash(actor)
        | ActorModelAction::Recover(actor) => dangling | bit(*actor),
        // A loss on a FIFO channel counts as a step of the receiver, whose next delivery from
        // that channel it makes possible.
        ActorModelAction::Drop(e) => dangling | bit(e.dst),
    }
}

fn in_flight(state: &JpkiState, src: Id, dst: Id, msg: &Msg) -> bool {
    envelopes(&state.network).any(|e| e.src == src && e.dst == dst && e.msg == msg)
}

/// The state without what only serves Stateright's own fingerprints: the last message a
/// duplicating network delivered (two states that differ only in it behave alike).
fn normalise(cfg: &Config, mut state: JpkiState) -> JpkiState {
    if cfg.network.duplicating {
        if let Network::UnorderedDuplicating(_, last) = &mut state.network {
            *last = None;
        }
    }
    state
}

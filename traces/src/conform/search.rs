//! The search for a run of the model behind a trace's events: model states paired with how many
//! of the events they have matched, explored deepest match first.
//!
//! Only two kinds of event need unobserved steps before them: a delivery from an unobserved
//! sender (the sender has to be brought to send the message) and, on a lossy FIFO network, a
//! delivery behind a lost message. Every other event — a choice, a delivery from an observed
//! sender, a fault — depends on the observed parties alone, so it is matched from the state the
//! previous event left, with no unobserved step before it.
//!
//! **Lazy gaps.** Unobserved steps are taken only in the gap before the event that needs them,
//! and a match is kept only if every unobserved step of its gap leads to the event: each step is
//! followed in the gap by a step of the same party or by the delivery of a message it sent (the
//! *dangling* set of parties whose last step nothing used yet must be empty, or just the sender).
//! Any run that matches the events can be reordered into such a run — a step that the next event
//! does not depend on commutes with it and moves to a later gap (or past the end) — so the
//! reduction loses no run; the bound on unobserved steps (`hidden_steps`) counts the steps an event
//! needs, not the ones some interleaving happened to put before it. A gap is cut when its
//! dangling parties outnumber the steps left.
//!
//! **Order.** States with more events matched are expanded first (a depth-first walk along the
//! trace that backtracks when a gap has no match); within a gap, fewest *choices* first, where a
//! choice taken while an unobserved delivery could happen counts double. Most protocol runs make
//! a choice and let the messages it starts settle before the next, so this finds them with few
//! states, but it still explores every order up to the bounds before it gives up.
//!
//! The search is exact within its bounds: when it ends without reaching either bound, no run
//! matches further than the furthest event it matched. It is not the place to explain why — see
//! [`super::explain`].

use jpkisim_model::actors::PartyChoice;
use jpkisim_model::msg::Msg;
use jpkisim_model::world::envelopes;
use jpkisim_model::{Config, JpkiAction, JpkiModel, JpkiState};
use jpkisim_properties::catalogue::PropertyDef;
use stateright::actor::{ActorModelAction, Envelope, Id, Network};
use stateright::Model;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
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
    /// `msg` from `src` to `dst` is in flight (a duplication or reordering the network allows).
    InFlight { src: Id, dst: Id, msg: Msg },
}

/// One event the search matches: its position in the trace and what it asks.
#[derive(Clone, Debug)]
pub(super) struct Target {
    pub pos: usize,
    pub want: Want,
    /// Unobserved steps may be needed before it (a delivery from an unobserved sender, or any
    /// delivery on a lossy FIFO network).
    pub needs_gap: bool,
    /// The sender, when unobserved (the one party whose last step may stay dangling).
    pub hidden_sender: Option<Id>,
}

/// How far the search may go.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub hidden_steps: usize,
    pub max_states: usize,
    /// A matched state that violates a safety property is a dead end (to find a run that keeps
    /// every property, if there is one).
    pub prune_violations: bool,
    /// The quick first pass: let unobserved messages settle before an unobserved party
    /// chooses, deliver to one party at a time, and take any match (not only lazy ones). It finds
    /// most runs with few states but misses runs where a message must wait; a failed quick pass
    /// proves nothing.
    pub settle_first: bool,
}

/// One explored state: a model state with the number of targets matched, where in the gap it is,
/// and how it was reached.
struct Node {
    state: Arc<JpkiState>,
    pos: u32,
    dangling: u32,
    depth: u16,
    cost: u16,
    parent: u32,
    /// The model steps from the parent (one, or a loss then a delivery on a FIFO channel).
    steps: Vec<JpkiAction>,
}

#[derive(PartialEq, Eq, Hash)]
struct Key {
    pos: u32,
    dangling: u32,
    state: Arc<JpkiState>,
}

const ROOT: u32 = u32::MAX;

/// A safety property a matched state violated (the match was then not followed).
#[derive(Clone, Copy, Debug)]
pub(super) struct Violation {
    pub target: usize,
    pub property: &'static PropertyDef,
}

/// The search over one trace.
pub(super) struct Search<'a> {
    model: &'a JpkiModel,
    cfg: Config,
    observed: Vec<bool>,
    targets: &'a [Target],
    properties: &'a [&'static PropertyDef],
    limits: Limits,
    nodes: Vec<Node>,
    seen: HashMap<Key, u32>,
    queue: BinaryHeap<(u64, Reverse<u32>)>,
    /// The most targets any explored state matched.
    pub matched: usize,
    /// A node that matched every target.
    done: Option<u32>,
    /// Targets before whose gap the hidden-step bound cut some state off.
    pub steps_cut: Vec<usize>,
    /// The state budget ran out.
    pub budget_hit: bool,
    /// The first violation met at each target (by target index).
    violations: HashMap<usize, Violation>,
    /// The most a gap may cost now; states beyond it wait in `deferred` until everything
    /// cheaper is explored (so a dead end after a wrong early match costs little before the
    /// search backtracks).
    cap: u16,
    /// States expanded only up to the cap, with the cost their cheapest skipped step needs.
    deferred: Vec<(u32, u16)>,
    order: u8,
    disc: u16,
}

impl<'a> Search<'a> {
    pub(super) fn new(
        model: &'a JpkiModel,
        observed: &[bool],
        targets: &'a [Target],
        properties: &'a [&'static PropertyDef],
        limits: Limits,
    ) -> Search<'a> {
        Search {
            model,
            cfg: model.cfg,
            observed: observed.to_vec(),
            targets,
            properties,
            limits,
            nodes: Vec::new(),
            seen: HashMap::new(),
            queue: BinaryHeap::new(),
            matched: 0,
            done: None,
            steps_cut: Vec::new(),
            budget_hit: false,
            violations: HashMap::new(),
            cap: 1,
            deferred: Vec::new(),
            order: order(),
            disc: std::env::var("JPKISIM_DISC").ok().and_then(|v| v.parse().ok()).unwrap_or(1),
        }
    }

    /// Runs until every target is matched, or the search space within the bounds is exhausted,
    /// or the state budget is spent. Whether it conformed: [`Search::witness`].
    pub(super) fn run(&mut self) {
        for s in self.model.init_states() {
            self.push(normalise(&self.cfg, s), 0, 0, 0, 0, ROOT, Vec::new());
        }
        loop {
            let Some((key, Reverse(id))) = self.queue.pop() else {
                if !self.widen() {
                    return;
                }
                continue;
            };
            if self.priority(id) != key {
                continue; // a stale entry: the node was reached again with fewer steps
            }
            if self.done.is_some() {
                return;
            }
            self.expand(id);
            if self.nodes.len() >= self.limits.max_states {
                if std::env::var_os("JPKISIM_DEBUG_RUN").is_some() {
                    let mut per: std::collections::BTreeMap<(u32, u16), usize> = Default::default();
                    for n in &self.nodes {
                        *per.entry((n.pos, n.cost)).or_default() += 1;
                    }
                    eprintln!("cap {} deferred {} per (pos,cost) {:?}", self.cap, self.deferred.len(), per);
                }
                self.budget_hit = !self.queue.is_empty() && self.done.is_none();
                return;
            }
        }
    }

    /// Raises the gap-cost cap to the cheapest deferred state and queues every deferred state
    /// within it; false when nothing is deferred.
    fn widen(&mut self) -> bool {
        let Some(next) = self.deferred.iter().map(|&(_, c)| c).min() else {
            return false;
        };
        self.cap = next;
        let (now, later): (Vec<(u32, u16)>, Vec<(u32, u16)>) =
            std::mem::take(&mut self.deferred)
                .into_iter()
                .partition(|&(_, c)| c <= next);
        self.deferred = later;
        for (id, _) in now {
            self.enqueue(id);
        }
        true
    }

    /// The queue order (greatest first): see the module docs.
    fn priority(&self, id: u32) -> u64 {
        let n = &self.nodes[id as usize];
        let (pos, cost, depth) = (u64::from(n.pos), u64::from(n.cost), u64::from(n.depth));
        match self.order {
            0 => (pos << 32) | ((0xffff - cost) << 16) | (0xffff - depth),
            1 => ((0xffff - cost) << 48) | (pos << 16) | (0xffff - depth),
            _ => ((0xffff - cost) << 48) | ((0xffff_ffff - pos) << 16) | (0xffff - depth),
        }
    }

    fn enqueue(&mut self, id: u32) {
        let key = self.priority(id);
        self.queue.push((key, Reverse(id)));
    }

    /// The trace position of target `t`.
    pub(super) fn target_pos(&self, t: usize) -> usize {
        self.targets.get(t).map_or(0, |x| x.pos)
    }

    /// States explored.
    pub(super) fn states(&self) -> usize {
        self.nodes.len()
    }

    /// The model steps of a run matching every target, from the initial state.
    pub(super) fn witness(&self) -> Option<Vec<JpkiAction>> {
        self.done.map(|id| self.path(id))
    }

    /// The model steps to a state that matched the first `matched` targets (with no unobserved
    /// step after the last match), from the initial state.
    pub(super) fn path_to_furthest(&self) -> Vec<JpkiAction> {
        let id = self
            .nodes
            .iter()
            .position(|n| n.pos as usize == self.matched && n.depth == 0)
            .unwrap_or(0);
        self.path(id as u32)
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

    /// Every state explored with `matched` targets matched: the states the run can be in just
    /// before the first target no run matched (after the unobserved steps tried there).
    pub(super) fn candidates(&self) -> impl Iterator<Item = &JpkiState> + '_ {
        self.nodes
            .iter()
            .filter(|n| n.pos as usize == self.matched)
            .map(|n| &*n.state)
    }

    /// The violation that stopped matches of target `t`, if any.
    pub(super) fn violation_at(&self, t: usize) -> Option<Violation> {
        self.violations.get(&t).copied()
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
    ) {
        let state = Arc::new(state);
        let key = Key {
            pos,
            dangling,
            state: Arc::clone(&state),
        };
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
            self.enqueue(id);
            return;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            state,
            pos,
            dangling,
            depth,
            cost,
            parent,
            steps,
        });
        self.seen.insert(key, id);
        self.matched = self.matched.max(pos as usize);
        if pos as usize == self.targets.len() {
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
            (Arc::clone(&n.state), n.pos, n.dangling, n.depth, n.cost)
        };
        let Some(target) = self.targets.get(pos as usize) else {
            return;
        };
        // The event itself, if this gap is lazy (see the module docs).
        let lazy = depth == 0
            || self.limits.settle_first
            || target
                .hidden_sender
                .is_some_and(|q| dangling == bit(q) && self.cone_is_gap(id, q, &target.want));
        if lazy {
            for (next, steps) in self.match_target(&state, target) {
                if let Some(p) = self.violated(&next) {
                    self.violations.entry(pos as usize).or_insert(Violation {
                        target: pos as usize,
                        property: p,
                    });
                    if self.limits.prune_violations {
                        continue;
                    }
                }
                self.push(next, pos + 1, 0, 0, 0, id, steps);
            }
        }
        if !target.needs_gap {
            return;
        }
        let mut actions = Vec::new();
        self.model.actions(&state, &mut actions);
        let mut hidden: Vec<JpkiAction> = actions
            .into_iter()
            .filter(|a| self.hidden_step(a))
            .collect();
        if self.limits.settle_first {
            // The messages this gap (and the event before it) sent settle first, one receiving
            // party at a time (the lowest); choices only once none is left.
            let pending = self.pending(id);
            let first = hidden
                .iter()
                .filter_map(|a| match a {
                    ActorModelAction::Deliver { src, dst, msg }
                        if pending.iter().any(|(s, d, m)| s == src && d == dst && m == msg)
                            && self.model.next_state(&state, a.clone()).is_some() =>
                    {
                        Some(*dst)
                    }
                    _ => None,
                })
                .min();
            if let Some(x) = first {
                hidden.retain(|a| {
                    matches!(a, ActorModelAction::Deliver { src, dst, msg }
                        if *dst == x && pending.iter().any(|(s, d, m)| s == src && d == dst && m == msg))
                });
            }
        }
        if hidden.is_empty() {
            return;
        }
        if usize::from(depth) >= self.limits.hidden_steps {
            if !self.steps_cut.contains(&(pos as usize)) {
                self.steps_cut.push(pos as usize);
            }
            return;
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
                ActorModelAction::SelectRandom { .. } => {
                    cost + 1 + if settling { self.disc } else { 0 }
                }
                _ => cost,
            };
            if c > self.cap {
                skipped = Some(skipped.map_or(c, |s| s.min(c)));
                continue;
            }
            let d = dangling_after(dangling, &a);
            if (d.count_ones() as usize).saturating_sub(1) > left {
                continue;
            }
            let Some(next) = self.model.next_state(&state, a.clone()) else {
                continue; // a step that changes nothing is never needed
            };
            self.push(
                normalise(&self.cfg, next),
                pos,
                d,
                depth + 1,
                c,
                id,
                vec![a],
            );
        }
        if let Some(c) = skipped {
            self.deferred.push((id, c));
        }
    }

    /// Whether every unobserved step of the gap that ends at node `id` leads to the target (a
    /// delivery from unobserved `sender`): the steps it depends on, transitively, are the whole
    /// gap. A delivery depends on the step that sent its message; a step of a party depends on
    /// that party's earlier step unless the two commute (either order leaves the party in the same
    /// state having sent the same messages) — so a choice the applicant made on the way that
    /// changes nothing the later steps read is not needed, and the match is left to the run that
    /// takes that choice later, if ever.
    fn cone_is_gap(&self, id: u32, sender: Id, want: &Want) -> bool {
        let Want::Deliver { dst, msg, .. } = want else {
            return true;
        };
        // The gap: (state before, step), oldest first.
        let mut gap: Vec<(&JpkiState, &JpkiAction)> = Vec::new();
        let mut n = &self.nodes[id as usize];
        while n.depth > 0 {
            let parent = &self.nodes[n.parent as usize];
            match n.steps.as_slice() {
                [a] => gap.push((&parent.state, a)),
                _ => return true,
            }
            n = parent;
        }
        gap.reverse();
        let actor_of = |a: &JpkiAction| match a {
            ActorModelAction::Deliver { dst, .. } => Some(*dst),
            ActorModelAction::SelectRandom { actor, .. } => Some(*actor),
            _ => None,
        };
        let outputs = |i: usize| -> Vec<(Id, Msg)> {
            let (before, a) = gap[i];
            self.local_step(before, a)
                .map(|(_, out)| out)
                .unwrap_or_default()
        };
        let mut needed = vec![false; gap.len()];
        let Some(last) = (0..gap.len()).rev().find(|&i| {
            actor_of(gap[i].1) == Some(sender)
                && outputs(i).iter().any(|(to, m)| to == dst && m == msg)
        }) else {
            return gap.is_empty();
        };
        needed[last] = true;
        for i in (0..gap.len()).rev() {
            if !needed[i] {
                continue;
            }
            let (_, a) = gap[i];
            let Some(r) = actor_of(a) else {
                // A loss on a FIFO channel: kept with everything before it.
                needed[..i].iter_mut().for_each(|x| *x = true);
                continue;
            };
            if let ActorModelAction::Deliver { src, msg, .. } = a {
                if let Some(j) = (0..i).rev().find(|&j| {
                    actor_of(gap[j].1) == Some(*src)
                        && outputs(j).iter().any(|(to, m)| *to == r && m == msg)
                }) {
                    needed[j] = true;
                }
            }
            for j in (0..i).rev().filter(|&j| actor_of(gap[j].1) == Some(r)) {
                if !self.commute(gap[j].0, r, gap[j].1, a) {
                    for k in (0..=j).filter(|&k| actor_of(gap[k].1) == Some(r)) {
                        needed[k] = true;
                    }
                    break;
                }
            }
        }
        needed.iter().all(|&x| x)
    }

    /// The messages the steps since the last matched event (that event included) sent and no
    /// step since delivered: what the quick pass lets settle before a choice.
    fn pending(&self, id: u32) -> Vec<(Id, Id, Msg)> {
        let mut sent: Vec<(Id, Id, Msg)> = Vec::new();
        let mut delivered: Vec<(Id, Id, Msg)> = Vec::new();
        let mut n = &self.nodes[id as usize];
        loop {
            if n.parent == ROOT {
                break;
            }
            let parent = &self.nodes[n.parent as usize];
            for a in &n.steps {
                if let Some((_, out)) = self.local_step(&parent.state, a) {
                    let (from, _) = Input::of(a).map_or((Id::from(0), ()), |(r, _)| (r, ()));
                    sent.extend(out.into_iter().map(|(to, m)| (from, to, m)));
                }
                if let ActorModelAction::Deliver { src, dst, msg } = a {
                    if n.depth > 0 {
                        delivered.push((*src, *dst, msg.clone()));
                    }
                }
            }
            if n.depth == 0 {
                break;
            }
            n = parent;
        }
        for d in delivered {
            if let Some(i) = sent.iter().position(|x| *x == d) {
                sent.swap_remove(i);
            }
        }
        sent
    }

    /// Party `r`'s own step `a` from global state `before`: its next state and its sends.
    fn local_step(
        &self,
        before: &JpkiState,
        a: &JpkiAction,
    ) -> Option<(jpkisim_model::PartyState, Vec<(Id, Msg)>)> {
        let (r, input) = Input::of(a)?;
        let state = before.actor_states.get(usize::from(r))?;
        let (next, out) = self.apply_local(r, state, input)?;
        let topo = jpkisim_model::Topology::of(&self.cfg);
        Some((next, out.into_iter().map(|(to, m)| (topo.id(to), m)).collect()))
    }

    /// One input to party `r` in local state `s`; `None` if it is a choice `s` does not offer.
    fn apply_local(
        &self,
        r: Id,
        s: &jpkisim_model::PartyState,
        input: Input<'_>,
    ) -> Option<(jpkisim_model::PartyState, Vec<(jpkisim_model::ids::Party, Msg)>)> {
        let actor = self.model.actors.get(usize::from(r))?;
        let step = match input {
            Input::Msg(src, msg) => {
                actor.deliver(s, jpkisim_model::Topology::of(&self.cfg).party(src), msg)
            }
            Input::Choice(c) => {
                if !actor.choices(s).contains(&c) {
                    return None;
                }
                actor.choose(s, c)
            }
        };
        Some((step.state, step.out.0))
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

    /// Whether `a` is an unobserved step: a delivery to or a choice of an unobserved party, or
    /// on a lossy FIFO network the loss of a message at the head of a channel to one.
    fn hidden_step(&self, a: &JpkiAction) -> bool {
        match a {
            ActorModelAction::Deliver { dst, .. } => self.hidden_id(*dst),
            ActorModelAction::SelectRandom { actor, .. } => self.hidden_id(*actor),
            ActorModelAction::Drop(e) => {
                matches!(self.cfg.network.ordering, jpkisim_model::config::Ordering::Ordered)
                    && self.hidden_id(e.dst)
            }
            _ => false,
        }
    }

    fn violated(&self, state: &JpkiState) -> Option<&'static PropertyDef> {
        self.properties
            .iter()
            .find(|p| !p.holds_in(&self.cfg, state))
            .copied()
    }

    /// The states in which `target` is the step taken from `state`, with the model steps.
    fn match_target(&self, state: &JpkiState, target: &Target) -> Vec<(JpkiState, Vec<JpkiAction>)> {
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
                    out.push((normalise(&self.cfg, next), vec![ActorModelAction::Drop(env)]));
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

/// What a party's step takes in: a delivered message (with its sender) or one of its choices.
#[derive(Clone, Copy)]
enum Input<'a> {
    Msg(Id, &'a Msg),
    Choice(PartyChoice),
}

impl<'a> Input<'a> {
    /// The acting party and its input, for a delivery or a choice.
    fn of(a: &'a JpkiAction) -> Option<(Id, Input<'a>)> {
        match a {
            ActorModelAction::Deliver { src, dst, msg } => Some((*dst, Input::Msg(*src, msg))),
            ActorModelAction::SelectRandom { actor, random, .. } => {
                Some((*actor, Input::Choice(*random)))
            }
            _ => None,
        }
    }
}

fn order() -> u8 {
    std::env::var("JPKISIM_ORDER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn bit(id: Id) -> u32 {
    1u32.checked_shl(usize::from(id) as u32).unwrap_or(0)
}

/// The dangling parties after unobserved step `a`: the acting party's previous step is now
/// followed by this one, a delivered message's sender's step is used, and this step dangles.
fn dangling_after(dangling: u32, a: &JpkiAction) -> u32 {
    match a {
        ActorModelAction::Deliver { src, dst, .. } => (dangling & !bit(*src)) | bit(*dst),
        ActorModelAction::SelectRandom { actor, .. } => dangling | bit(*actor),
        // A loss on a FIFO channel counts as a step of the receiver, whose next delivery from
        // that channel it makes possible.
        ActorModelAction::Drop(e) => dangling | bit(e.dst),
        _ => dangling,
    }
}

fn in_flight(state: &JpkiState, src: Id, dst: Id, msg: &Msg) -> bool {
    envelopes(&state.network).any(|e| e.src == src && e.dst == dst && e.msg == msg)
}

/// The state with what only fingerprints Stateright's own search removed: the last message a
/// duplicating network delivered (two states that differ only in it behave alike).
fn normalise(cfg: &Config, mut state: JpkiState) -> JpkiState {
    if cfg.network.duplicating {
        if let Network::UnorderedDuplicating(_, last) = &mut state.network {
            *last = None;
        }
    }
    state
}

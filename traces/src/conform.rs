//! Is a recorded trace a behaviour of the model? A search over (trace position × model state).
//!
//! At each recorded event the search holds a *frontier*: every model state (with the sends not
//! yet logged, see [`Node`]) that the events so far can lead to. For the next event it first
//! takes up to `hidden_steps` unobserved steps from each frontier state (steps of parties the log
//! does not observe, and lost messages on a lossy network), then keeps the states in which the
//! event matches a model step. States are deduplicated at every position, and the frontier is
//! capped, so the work per event does not grow with the trace: a conforming trace is checked in
//! time linear in its length and in constant memory (the events are streamed).
//!
//! Matching, per event kind (the party is the one that acted):
//! - `deliver`: the model delivers `msg` from `peer` to `party` (it must be deliverable);
//! - `choice`: `party` makes that environment choice (it must be offered);
//! - `send`: `party`'s last step sent `msg` to `peer`, and that send was not logged yet;
//! - `fault lost`: the lossy network drops the message; `duplicated` / `reordered`: the message
//!   is in flight on a network that duplicates / does not order;
//! - `timeout`: the model has no timers (a retry is a new send), so a timeout changes nothing.
//!
//! Every safety property of the catalogue is evaluated on every matched state; a property is
//! reported violated at the first event after which *every* matched state violates it (the
//! recorded behaviour then violates it whichever unobserved steps were taken).

use crate::diff::value_changes;
use crate::format::{Event, EventKind, Fault, Header};
use crate::read::{Reader, TraceError};
use jpkisim_model::actors::{PartyActor, PartyState};
use jpkisim_model::config::Ordering;
use jpkisim_model::describe;
use jpkisim_model::ids::Party;
use jpkisim_model::msg::Msg;
use jpkisim_model::JpkiAction;
use jpkisim_model::{Config, JpkiModel, JpkiState, Topology};
use jpkisim_properties::catalogue::{Kind, PropertyDef};
use serde::Serialize;
use serde_json::Value;
use stateright::actor::ActorModelAction;
use stateright::Model;
use std::collections::HashSet;
use std::io::BufRead;

/// How far the search may go.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only these parties' events are checked; the others' are skipped and their steps become
    /// unobserved. `None`: the header's observed parties.
    pub observed: Option<Vec<Party>>,
    /// Unobserved steps allowed between two recorded events (and before the first).
    pub hidden_steps: usize,
    /// Most states kept in the frontier at one position; past it the search is incomplete and
    /// says so.
    pub max_frontier: usize,
    /// Keep, at each event, the matches after any number of unobserved steps up to the bound
    /// (`true`), or only those after the fewest (`false`: unobserved steps that the event does
    /// not need commute with it and are taken in a later gap; much smaller frontiers). The
    /// whole-trace functions run the fewest-steps search first and confirm a divergence with
    /// the exhaustive one.
    pub exhaustive: bool,
    /// In the fewest-steps search, let an unobserved party choose only right after an observed
    /// event or once no unobserved delivery is possible. Much smaller for a party first seen after
    /// a long unobserved prefix (the relying party after a whole issuance), but it misses paths
    /// where such a choice must come between two unobserved deliveries; the whole-trace functions
    /// try it as a second pass before the exhaustive one.
    pub settle_first: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            observed: None,
            hidden_steps: 6,
            max_frontier: 5_000,
            exhaustive: false,
            settle_first: false,
        }
    }
}

/// Where in the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventRef {
    /// 1-based number of the event among the checked events.
    pub index: u64,
    /// Its sequence number in the file.
    pub seq: u64,
    /// Its line in the file.
    pub line: usize,
    /// The event, readable.
    pub event: String,
}

/// The nearest event the model allowed where the trace diverged, and how it differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Nearest {
    /// The allowed event, readable.
    pub event: String,
    /// Field by field: `path: recorded → allowed`.
    pub diff: Vec<String>,
}

/// The outcome of a conformance check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every event matched a model step and every property held.
    Conforms {
        /// Events checked.
        events: u64,
        /// Model states considered (summed over positions, after deduplication).
        states: u64,
        /// Whether the frontier cap was reached somewhere (the search was then partial).
        incomplete: bool,
    },
    /// An event matched no model step from any candidate state.
    Diverges {
        /// The event.
        at: EventRef,
        /// Model states the trace could be in there (after the unobserved steps allowed).
        candidates: usize,
        /// The state of the event's party in the candidate states (distinct, at most 3).
        party_states: Vec<String>,
        /// The observable events the candidate states allowed (distinct, at most 40).
        allowed: Vec<String>,
        /// The allowed event nearest to the recorded one.
        nearest: Option<Nearest>,
        /// Whether the frontier cap was reached (then a larger cap might find a match).
        incomplete: bool,
    },
    /// A property is false in every state the trace can be in after an event.
    Violates {
        /// The event.
        at: EventRef,
        /// The property id.
        property: &'static str,
        /// What the property guarantees.
        summary: &'static str,
        /// What the event changed in its party's state (`field: old → new`).
        changes: Vec<String>,
    },
}

impl Verdict {
    /// The exit code of `jpkisim conform`: 0 conforms, 1 diverges or violates.
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Conforms { .. } => 0,
            _ => 1,
        }
    }

    /// The verdict as text, several lines.
    pub fn text(&self) -> String {
        match self {
            Verdict::Conforms {
                events,
                states,
                incomplete,
            } => {
                let mut s = format!(
                    "conforms: {events} events are a behaviour of the model and every property held ({states} model states considered)\n"
                );
                if *incomplete {
                    s.push_str(
                        "  (the frontier cap was reached: some alternatives were not followed)\n",
                    );
                }
                s
            }
            Verdict::Diverges {
                at,
                candidates,
                party_states,
                allowed,
                nearest,
                incomplete,
            } => {
                let mut s = format!(
                    "diverges at event {} (seq {}, line {}): {}\n  {} candidate model state(s) there\n",
                    at.index, at.seq, at.line, at.event, candidates
                );
                for (i, p) in party_states.iter().enumerate() {
                    s.push_str(&format!("  party state in candidate {}: {p}\n", i + 1));
                }
                if allowed.is_empty() {
                    s.push_str("  the model allowed no observable event there\n");
                } else {
                    s.push_str("  the model allowed:\n");
                    for a in allowed {
                        s.push_str(&format!("    {a}\n"));
                    }
                }
                if let Some(n) = nearest {
                    s.push_str(&format!("  nearest allowed event: {}\n", n.event));
                    for d in &n.diff {
                        s.push_str(&format!("    {d}\n"));
                    }
                }
                if *incomplete {
                    s.push_str(
                        "  (the frontier cap was reached: a larger --max-frontier might match)\n",
                    );
                }
                s
            }
            Verdict::Violates {
                at,
                property,
                summary,
                changes,
            } => {
                let mut s = format!(
                    "property {property} violated at event {} (seq {}, line {}): {}\n  {property}: {summary}\n",
                    at.index, at.seq, at.line, at.event
                );
                if !changes.is_empty() {
                    s.push_str("  the event changed:\n");
                    for c in changes {
                        s.push_str(&format!("    {c}\n"));
                    }
                }
                s
            }
        }
    }
}

/// Why the check could not run.
#[derive(Debug, thiserror::Error)]
pub enum ConformError {
    /// The trace is not a well-formed trace.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The options do not fit the trace.
    #[error("{0}")]
    Options(String),
}

/// A send of an observed party that its last step made and the log has not shown yet.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Pending {
    from: Party,
    to: Party,
    msg: Msg,
}

/// A model state, with the sends of observed parties not yet logged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Node {
    state: JpkiState,
    pending: Vec<Pending>,
}

/// The checker for one configuration and set of observed parties.
pub struct Checker {
    model: JpkiModel,
    cfg: Config,
    topo: Topology,
    observed: Vec<bool>,
    properties: Vec<&'static PropertyDef>,
    hidden_steps: usize,
    max_frontier: usize,
    exhaustive: bool,
    settle_first: bool,
    frontier: Vec<Node>,
    index: u64,
    states: u64,
    incomplete: bool,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("cfg", &self.cfg)
            .field("frontier", &self.frontier.len())
            .field("index", &self.index)
            .finish()
    }
}

impl Checker {
    /// A checker at the start of a trace of `cfg` observed at `observed`.
    pub fn new(cfg: Config, observed: &[Party], opts: &Options) -> Result<Checker, ConformError> {
        let model = jpkisim_model::build(cfg).map_err(|e| ConformError::Options(e.to_string()))?;
        let topo = Topology::of(&cfg);
        let observed = topo
            .parties()
            .iter()
            .map(|p| observed.contains(p))
            .collect();
        let (properties, _) = jpkisim_properties::applicable(&cfg);
        let properties = properties
            .into_iter()
            .filter(|p| p.kind == Kind::Always)
            .collect();
        let frontier = model
            .init_states()
            .into_iter()
            .map(|state| Node {
                state,
                pending: Vec::new(),
            })
            .collect();
        Ok(Checker {
            model,
            cfg,
            topo,
            observed,
            properties,
            hidden_steps: opts.hidden_steps,
            max_frontier: opts.max_frontier.max(1),
            exhaustive: opts.exhaustive,
            settle_first: opts.settle_first,
            frontier,
            index: 0,
            states: 0,
            incomplete: false,
        })
    }

    /// Model states considered so far.
    pub fn states(&self) -> u64 {
        self.states
    }

    /// Events checked so far.
    pub fn events(&self) -> u64 {
        self.index
    }

    /// Whether the frontier cap was reached.
    pub fn incomplete(&self) -> bool {
        self.incomplete
    }

    /// The model states the trace can be in now (for the Explorer and tests).
    pub fn frontier_states(&self) -> impl Iterator<Item = &JpkiState> {
        self.frontier.iter().map(|n| &n.state)
    }

    /// Checks the next event (`seq` and `line` only label the verdict). `Some` is a final verdict
    /// (divergence or violation); `None` means the event matched.
    pub fn step(&mut self, event: &Event, line: usize) -> Option<Verdict> {
        self.index += 1;
        let mut seen: HashSet<Node> = self.frontier.iter().cloned().collect();
        let mut layer = std::mem::take(&mut self.frontier);
        let mut closure: Vec<Node> = layer.clone();
        let mut next: Vec<Node> = Vec::new();
        let mut next_seen: HashSet<Node> = HashSet::new();
        let mut actions = Vec::new();
        for depth in 0..=self.hidden_steps {
            let mut new_layer = Vec::new();
            for node in &layer {
                actions.clear();
                self.model.actions(&node.state, &mut actions);
                for succ in self.matches(node, event, &actions) {
                    if next.len() >= self.max_frontier {
                        self.incomplete = true;
                        break;
                    }
                    if next_seen.insert(succ.clone()) {
                        next.push(succ);
                    }
                }
                if depth == self.hidden_steps {
                    continue;
                }
                // Settle-first pass (`Options::settle_first`): after the first unobserved step,
                // unobserved parties' choices wait until no unobserved delivery is possible.
                // Choices and deliveries of different parties mostly commute, so this finds most
                // paths with far fewer states. The exhaustive pass takes every order.
                let settle_first = self.settle_first
                    && !self.exhaustive
                    && depth > 0
                    && actions
                        .iter()
                        .any(|a| self.hidden(a) && matches!(a, ActorModelAction::Deliver { .. }));
                for a in &actions {
                    if !self.hidden(a) {
                        continue;
                    }
                    if settle_first && matches!(a, ActorModelAction::SelectRandom { .. }) {
                        continue;
                    }
                    let Some(succ) = self.apply(node, a, true) else {
                        continue;
                    };
                    if seen.len() >= self.max_frontier * 4 {
                        self.incomplete = true;
                        break;
                    }
                    if seen.insert(succ.clone()) {
                        closure.push(succ.clone());
                        new_layer.push(succ);
                    }
                }
            }
            if new_layer.is_empty() || (!self.exhaustive && !next.is_empty()) {
                break;
            }
            layer = new_layer;
        }
        self.states += seen.len() as u64;
        let at = || EventRef {
            index: self.index,
            seq: event.seq,
            line,
            event: describe_event(event),
        };
        if next.is_empty() {
            return Some(self.divergence(at(), event, &closure));
        }
        for p in &self.properties {
            if next.iter().all(|n| !p.holds_in(&self.cfg, &n.state)) {
                let changes = self.changes_of(event, &closure, &next);
                return Some(Verdict::Violates {
                    at: at(),
                    property: p.id,
                    summary: p.summary,
                    changes,
                });
            }
        }
        self.frontier = next;
        None
    }

    /// The verdict at the end of the trace.
    pub fn finish(&self) -> Verdict {
        Verdict::Conforms {
            events: self.index,
            states: self.states,
            incomplete: self.incomplete,
        }
    }

    /// Whether the step `a` may happen without being in the log.
    fn hidden(&self, a: &JpkiAction) -> bool {
        match a {
            ActorModelAction::Deliver { dst, .. } => !self.observed_id(*dst),
            ActorModelAction::SelectRandom { actor, .. } => !self.observed_id(*actor),
            ActorModelAction::Drop(_) => true,
            _ => false,
        }
    }

    fn observed_id(&self, id: stateright::actor::Id) -> bool {
        self.observed.get(usize::from(id)).copied().unwrap_or(false)
    }

    /// The node after action `a`; `None` if the action changes nothing and `skip_noop` is set.
    fn apply(&self, node: &Node, a: &JpkiAction, skip_noop: bool) -> Option<Node> {
        let (actor_id, outputs) = match a {
            ActorModelAction::Deliver { src, dst, msg } => {
                let actor = self.actor(*dst)?;
                let state = node.state.actor_states.get(usize::from(*dst))?;
                let step = actor.deliver(state, self.topo.party(*src), msg);
                (Some(*dst), step.out.0)
            }
            ActorModelAction::SelectRandom { actor, random, .. } => {
                let who = self.actor(*actor)?;
                let state = node.state.actor_states.get(usize::from(*actor))?;
                let step = who.choose(state, *random);
                (Some(*actor), step.out.0)
            }
            _ => (None, Vec::new()),
        };
        let state = match self.model.next_state(&node.state, a.clone()) {
            Some(s) => s,
            None if skip_noop => return None,
            None => return Some(node.clone()),
        };
        let mut pending = node.pending.clone();
        if let Some(id) = actor_id {
            if self.observed_id(id) {
                let from = self.topo.party(id);
                pending.retain(|p| p.from != from);
                pending.extend(
                    outputs
                        .into_iter()
                        .map(|(to, msg)| Pending { from, to, msg }),
                );
                pending.sort();
            }
        }
        Some(Node { state, pending })
    }

    fn actor(&self, id: stateright::actor::Id) -> Option<&PartyActor> {
        self.model.actors.get(usize::from(id))
    }

    /// The successors of `node` in which `event` is the step taken.
    fn matches(&self, node: &Node, event: &Event, actions: &[JpkiAction]) -> Vec<Node> {
        let party = self.topo.id(event.party);
        let peer = event.peer.map(|p| self.topo.id(p));
        match event.kind {
            EventKind::Deliver => {
                if !self.send_logged(node, event) {
                    return Vec::new();
                }
                actions
                    .iter()
                    .filter(|a| {
                        matches!(a, ActorModelAction::Deliver { src, dst, msg }
                    if *dst == party && Some(*src) == peer && Some(msg) == event.msg.as_ref())
                    })
                    .filter_map(|a| self.apply(node, a, false))
                    .collect()
            }
            EventKind::Choice => actions
                .iter()
                .filter(|a| {
                    matches!(a, ActorModelAction::SelectRandom { actor, random, .. }
                    if *actor == party && Some(random) == event.choice.as_ref())
                })
                .filter_map(|a| self.apply(node, a, false))
                .collect(),
            EventKind::Send => {
                let (Some(to), Some(msg)) = (event.peer, event.msg.as_ref()) else {
                    return Vec::new();
                };
                let wanted = Pending {
                    from: event.party,
                    to,
                    msg: msg.clone(),
                };
                match node.pending.iter().position(|p| *p == wanted) {
                    Some(i) => {
                        let mut n = node.clone();
                        n.pending.remove(i);
                        vec![n]
                    }
                    None => Vec::new(),
                }
            }
            EventKind::Timeout => vec![node.clone()],
            EventKind::Fault => {
                let net = &self.cfg.network;
                let in_flight = |src, dst, m: &Msg| {
                    jpkisim_model::world::envelopes(&node.state.network)
                        .any(|e| e.src == src && e.dst == dst && e.msg == m)
                };
                let (Some(dst), Some(msg)) = (peer, event.msg.as_ref()) else {
                    return Vec::new();
                };
                match event.fault {
                    Some(Fault::Lost) => {
                        let mut next: Vec<Node> = actions
                            .iter()
                            .filter(|a| {
                                matches!(a, ActorModelAction::Drop(e)
                                if e.src == party && e.dst == dst && &e.msg == msg)
                            })
                            .filter_map(|a| self.apply(node, a, false))
                            .collect();
                        // A duplicating network holds a message as a set member, not as copies:
                        // one copy lost while another is still on its way (a real network's
                        // duplicate) leaves the model's network as it was.
                        if net.duplicating && in_flight(party, dst, msg) {
                            next.push(node.clone());
                        }
                        next
                    }
                    Some(Fault::Duplicated) if net.duplicating && in_flight(party, dst, msg) => {
                        vec![node.clone()]
                    }
                    Some(Fault::Reordered)
                        if net.ordering == Ordering::Unordered && in_flight(party, dst, msg) =>
                    {
                        vec![node.clone()]
                    }
                    _ => Vec::new(),
                }
            }
        }
    }

    /// In a log, a message's send comes before its delivery: a delivery from an observed sender
    /// whose send is still unlogged is out of order (unless another copy, logged, is in flight).
    fn send_logged(&self, node: &Node, event: &Event) -> bool {
        let (Some(from), Some(msg)) = (event.peer, event.msg.as_ref()) else {
            return true;
        };
        let unlogged = node
            .pending
            .iter()
            .filter(|p| p.from == from && p.to == event.party && &p.msg == msg)
            .count();
        if unlogged == 0 {
            return true;
        }
        let (src, dst) = (self.topo.id(from), self.topo.id(event.party));
        let in_flight = jpkisim_model::world::envelopes(&node.state.network)
            .filter(|e| e.src == src && e.dst == dst && e.msg == msg)
            .count();
        if self.cfg.network.duplicating {
            // A duplicating network holds a message once however often it was sent, so copies
            // cannot be counted: a re-sent message still unlogged may be delivered as the copy
            // whose send was logged earlier (a duplicated request answered twice).
            return in_flight > 0;
        }
        in_flight > unlogged
    }

    /// The observable events `node` allows: deliveries to and choices of observed parties,
    /// unlogged sends, and losses on a lossy network.
    fn allowed(&self, node: &Node) -> Vec<Event> {
        let mut actions = Vec::new();
        self.model.actions(&node.state, &mut actions);
        let mut out: Vec<Event> = node
            .pending
            .iter()
            .map(|p| Event::send(p.from, p.to, p.msg.clone()))
            .collect();
        for a in &actions {
            match a {
                ActorModelAction::Deliver { src, dst, msg } if self.observed_id(*dst) => {
                    let e =
                        Event::deliver(self.topo.party(*dst), self.topo.party(*src), msg.clone());
                    if self.send_logged(node, &e) {
                        out.push(e);
                    }
                }
                ActorModelAction::SelectRandom { actor, random, .. }
                    if self.observed_id(*actor) =>
                {
                    out.push(Event::choice(self.topo.party(*actor), *random))
                }
                ActorModelAction::Drop(e) if self.observed_id(e.src) => out.push(Event::fault(
                    Fault::Lost,
                    self.topo.party(e.src),
                    self.topo.party(e.dst),
                    e.msg.clone(),
                )),
                _ => {}
            }
        }
        out
    }

    fn divergence(&self, at: EventRef, event: &Event, closure: &[Node]) -> Verdict {
        let mut allowed: Vec<Event> = Vec::new();
        for node in closure {
            for e in self.allowed(node) {
                if !allowed.contains(&e) {
                    allowed.push(e);
                }
            }
        }
        let recorded = comparable(event);
        let nearest = allowed
            .iter()
            .map(|a| {
                let diff = value_changes(&recorded, &comparable(a));
                let penalty = usize::from(a.kind != event.kind) * 100
                    + usize::from(a.party != event.party) * 10
                    + usize::from(a.peer != event.peer) * 5;
                (penalty + diff.len(), a, diff)
            })
            .min_by_key(|(d, _, _)| *d)
            .map(|(_, a, diff)| Nearest {
                event: describe_event(a),
                diff: diff
                    .into_iter()
                    .map(|d| {
                        d.replacen(": ", ": recorded ", 1)
                            .replacen(" → ", " → allowed ", 1)
                    })
                    .collect(),
            });
        let ix = usize::from(self.topo.id(event.party));
        let mut party_states: Vec<String> = Vec::new();
        for node in closure {
            let Some(s) = node.state.actor_states.get(ix) else {
                continue;
            };
            let text = party_state_text(s);
            if !party_states.contains(&text) {
                party_states.push(text);
            }
            if party_states.len() == 3 {
                break;
            }
        }
        Verdict::Diverges {
            at,
            candidates: closure.len(),
            party_states,
            allowed: allowed.iter().take(40).map(describe_event).collect(),
            nearest,
            incomplete: self.incomplete,
        }
    }

    /// What the event changed in its party's state, from the first frontier state it matched in.
    fn changes_of(&self, event: &Event, closure: &[Node], next: &[Node]) -> Vec<String> {
        let ix = usize::from(self.topo.id(event.party));
        let Some(after) = next.first() else {
            return Vec::new();
        };
        let before =
            closure.iter().find(|n| {
                n.state.actor_states.iter().enumerate().all(|(i, s)| {
                    i == ix || after.state.actor_states.get(i).is_some_and(|a| a == s)
                })
            });
        let (Some(before), Some(a)) = (before, after.state.actor_states.get(ix)) else {
            return Vec::new();
        };
        let Some(b) = before.state.actor_states.get(ix) else {
            return Vec::new();
        };
        let (Ok(b), Ok(a)) = (serde_json::to_value(&**b), serde_json::to_value(&**a)) else {
            return Vec::new();
        };
        value_changes(&b, &a)
    }
}

fn party_state_text(s: &PartyState) -> String {
    let text = serde_json::to_string(s).unwrap_or_default();
    match text.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The event's JSON without its numbering, time and evidence (what a diff compares).
fn comparable(e: &Event) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.remove("seq");
        o.remove("ts");
        o.remove("evidence");
    }
    v
}

/// One line for an event: "SP-TSM → CA: IssueCert(...)", "CA ← SP-TSM: ...", "Applicant 0 chooses: ...".
pub fn describe_event(e: &Event) -> String {
    let msg = e.msg.as_ref().map(describe::message).unwrap_or_default();
    let peer = e.peer.map(|p| p.to_string()).unwrap_or_default();
    match e.kind {
        EventKind::Send => format!("send {} → {peer}: {msg}", e.party),
        EventKind::Deliver => format!("deliver {} ← {peer}: {msg}", e.party),
        EventKind::Choice => format!(
            "{} chooses: {}",
            e.party,
            e.choice.as_ref().map(describe::choice).unwrap_or_default()
        ),
        EventKind::Timeout => format!("timeout at {}", e.party),
        EventKind::Fault => format!(
            "network {} {} → {peer}: {msg}",
            match e.fault {
                Some(Fault::Lost) => "lost",
                Some(Fault::Duplicated) => "duplicated",
                Some(Fault::Reordered) => "reordered",
                None => "?",
            },
            e.party
        ),
    }
}

/// Checks a whole trace from a reader: the verdict, or why the trace could not be read.
pub fn conform<R: BufRead>(
    reader: &mut Reader<R>,
    opts: &Options,
) -> Result<Verdict, ConformError> {
    let header = reader.header().clone();
    conform_events(
        &header,
        std::iter::from_fn(|| {
            let e = reader.next_event()?;
            Some(e.map(|e| (e, reader.line())))
        }),
        opts,
    )
}

/// Checks a trace given as its header and its events with their line numbers (from a file, or
/// from an ITF document where the "line" is the state index).
pub fn conform_events(
    header: &Header,
    events: impl IntoIterator<Item = Result<(Event, usize), TraceError>>,
    opts: &Options,
) -> Result<Verdict, ConformError> {
    let observed = match &opts.observed {
        None => header.observed.clone(),
        Some(o) => {
            if let Some(p) = o.iter().find(|p| !header.observed.contains(p)) {
                return Err(ConformError::Options(format!(
                    "--observed names {p}, which the trace does not observe (it observes {})",
                    header
                        .observed
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            o.clone()
        }
    };
    let mut checker = Checker::new(header.config, &observed, opts)?;
    for item in events {
        let (event, line) = item?;
        if !observed.contains(&event.party) {
            continue;
        }
        if let Some(v) = checker.step(&event, line) {
            return Ok(v);
        }
    }
    Ok(checker.finish())
}

/// Checks the trace in a file: the fewest-unobserved-steps search; should it diverge, the same
/// with [`Options::settle_first`]; should that diverge too, the exhaustive search, whose verdict
/// is then the answer.
pub fn conform_file(path: &std::path::Path, opts: &Options) -> Result<Verdict, ConformError> {
    passes(opts, |o| conform(&mut Reader::open(path)?, o))
}

/// Runs the passes [`conform_file`] describes until one conforms (or the exhaustive one ends).
fn passes(
    opts: &Options,
    mut run: impl FnMut(&Options) -> Result<Verdict, ConformError>,
) -> Result<Verdict, ConformError> {
    if opts.exhaustive {
        return run(opts);
    }
    let first = run(opts)?;
    if matches!(first, Verdict::Conforms { .. }) {
        return Ok(first);
    }
    let settled = run(&Options {
        settle_first: true,
        ..opts.clone()
    })?;
    if matches!(settled, Verdict::Conforms { .. }) {
        return Ok(settled);
    }
    run(&Options {
        exhaustive: true,
        ..opts.clone()
    })
}

/// [`conform_file`] for a trace in memory (events with their line numbers).
pub fn conform_slice(
    header: &Header,
    events: &[(Event, usize)],
    opts: &Options,
) -> Result<Verdict, ConformError> {
    passes(opts, |o| {
        conform_events(header, events.iter().cloned().map(Ok), o)
    })
}

/// Parses a party name as the CLI takes it: `ca`, `sp-tsm`, `se-tsm`, `rp`, `mvno`,
/// `applicant0` (or `applicant:0`, `Applicant 0`), `se1` (or `se:1`, `SE 1`).
pub fn parse_party(s: &str) -> Option<Party> {
    let t: String = s
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | ':' | '_'))
        .collect();
    match t.as_str() {
        "ca" => return Some(Party::Ca),
        "sp-tsm" | "sptsm" => return Some(Party::SpTsm),
        "se-tsm" | "setsm" => return Some(Party::SeTsm),
        "rp" | "relyingparty" => return Some(Party::RelyingParty),
        "mvno" => return Some(Party::Mvno),
        _ => {}
    }
    if let Some(n) = t.strip_prefix("applicant") {
        return n
            .parse()
            .ok()
            .map(|n| Party::Applicant(jpkisim_model::ids::PersonId(n)));
    }
    if let Some(n) = t.strip_prefix("se") {
        return n
            .parse()
            .ok()
            .map(|n| Party::Se(jpkisim_model::ids::SeId(n)));
    }
    None
}

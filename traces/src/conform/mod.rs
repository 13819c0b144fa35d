//! Is a recorded trace a behaviour of the model? Conformance checking of logs, full or partial.
//!
//! Three parts, in the order a check runs them:
//! 1. [`local`]: the observed parties replayed from their own events. Their states, and so their
//!    choices and sends, follow from their events alone; an event they rule out (a send the
//!    party's step did not make, a choice its state does not offer, a delivery of a message never
//!    sent or already delivered, a step whose sends the log skipped) is a divergence proved
//!    without any search.
//! 2. [`search`]: a run of the model behind the events, unobserved steps included — taken only
//!    where an event needs them (a delivery from an unobserved sender), deepest match first. It is
//!    exact within two bounds ([`Options::hidden_steps`], [`Options::max_states`]): when it
//!    reaches neither, "no run" is a proof.
//! 3. [`explain`]: the diagnosis in words.
//!
//! The verdict ([`Verdict`]) is one of: conforms; diverges (proved); truncated (the log stops
//! after a step but before its sends); a safety property violated (every run the search found
//! that matches the event violates it); or inconclusive — the search reached a bound before it
//! found a run, and the verdict names the bound and the option that raises it. A divergence is
//! never reported on the strength of a search that was cut short.
//!
//! The trace is read into memory (the search backtracks over it).

mod explain;
mod local;
mod search;
mod verdict;

pub use explain::describe_event;
pub use verdict::{EventRef, Nearest, Verdict};

use crate::format::{Event, EventKind, Fault, Header};
use crate::read::{Reader, TraceError};
use explain::{blocking_fields, nearest, Reason};
use jpkisim_model::actors::PartyState;
use jpkisim_model::describe;
use jpkisim_model::ids::Party;
use jpkisim_model::world::envelopes;
use jpkisim_model::{Config, JpkiAction, JpkiModel, JpkiState, Topology};
use jpkisim_properties::catalogue::{Kind, PropertyDef};
use local::{Local, Mark};
use search::{Limits, Progress, Search, Target, Want};
use stateright::actor::ActorModelAction;
use stateright::Model;
use std::hash::BuildHasher;
use std::io::BufRead;
use std::rc::Rc;

/// How far the search may go. Reaching a bound makes a verdict inconclusive, never a divergence.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only these parties' events are checked; the others' are skipped and their steps become
    /// unobserved. `None`: the header's observed parties.
    pub observed: Option<Vec<Party>>,
    /// The most unobserved steps one event may need: the steps since the previous event that lead
    /// to it (an unobserved party brought to send the message an observed one receives).
    pub hidden_steps: usize,
    /// The most model states the search explores beyond one per event.
    pub max_states: usize,
    /// Keep the model run found ([`Checked::run`], for the Explorer). Costs memory on long traces.
    pub keep_run: bool,
    /// How many parties may be down at once, instead of the header's `crashes`: a log of a run
    /// whose party processes were killed and restarted (`crash` and `restart` events) is a
    /// behaviour only of a model where they crash (`jpkisim conform --crashes N`). `None`: the
    /// header's.
    pub crashes: Option<u8>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            observed: None,
            hidden_steps: 32,
            max_states: 150_000,
            keep_run: false,
            crashes: None,
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

/// A checked trace: the verdict, and the model run the search found behind the events.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The verdict.
    pub verdict: Verdict,
    /// The configuration the trace was checked in (the header's).
    pub config: Config,
    /// With [`Options::keep_run`], the model steps of the run found, from the initial state: the
    /// whole trace when it conforms, else up to the last event matched.
    pub run: Vec<JpkiAction>,
}

/// Checks a whole trace from a reader: the verdict, or why the trace could not be read. A fully
/// observed trace is streamed in constant memory; a partially observed one is read into memory
/// (the search goes back over it).
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
    check_stream(header, events.into_iter(), opts).map(|c| c.verdict)
}

/// Checks the trace in a file.
pub fn conform_file(path: &std::path::Path, opts: &Options) -> Result<Verdict, ConformError> {
    conform(&mut Reader::open(path)?, opts)
}

/// [`conform_file`] for a trace in memory (events with their line numbers).
pub fn conform_slice(
    header: &Header,
    events: &[(Event, usize)],
    opts: &Options,
) -> Result<Verdict, ConformError> {
    check(header, events, opts).map(|c| c.verdict)
}

/// Checks a trace in memory and returns the run behind it too.
pub fn check(
    header: &Header,
    events: &[(Event, usize)],
    opts: &Options,
) -> Result<Checked, ConformError> {
    check_stream(header, events.iter().cloned().map(Ok), opts)
}

fn check_stream(
    header: &Header,
    events: impl Iterator<Item = Result<(Event, usize), TraceError>>,
    opts: &Options,
) -> Result<Checked, ConformError> {
    let observed = observed_parties(header, opts)?;
    let mut cfg = header.config;
    if let Some(n) = opts.crashes {
        cfg.crashes = n;
    }
    let model = jpkisim_model::build(cfg).map_err(|e| ConformError::Options(e.to_string()))?;
    let topo = Topology::of(&cfg);
    let mask: Vec<bool> = topo
        .parties()
        .iter()
        .map(|p| observed.contains(p))
        .collect();
    let (properties, _) = jpkisim_properties::applicable(&cfg);
    let properties: Vec<&'static PropertyDef> = properties
        .into_iter()
        .filter(|p| p.kind == Kind::Always)
        .collect();
    let check = Check {
        model: &model,
        cfg,
        topo,
        mask: mask.clone(),
        properties,
        opts,
    };
    let mut feed = Feed {
        events: events.filter(|r| !matches!(r, Ok((e, _)) if !observed.contains(&e.party))),
        pos: 0,
        local: Local::new(&model, cfg, &mask),
        stop: None,
        check: &check,
    };
    check.run(&mut feed)
}

fn observed_parties(header: &Header, opts: &Options) -> Result<Vec<Party>, ConformError> {
    match &opts.observed {
        None => Ok(header.observed.clone()),
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
            Ok(o.clone())
        }
    }
}

/// The events as they are read: each goes through the observed parties' replay, and the ones
/// the search matches come out as targets.
struct Feed<'a, I> {
    events: I,
    pos: usize,
    local: Local<'a>,
    /// The first event the replay rules out.
    stop: Option<(Mark, Rc<Event>, Box<Reason>)>,
    check: &'a Check<'a>,
}

impl<I: Iterator<Item = Result<(Event, usize), TraceError>>> Feed<'_, I> {
    /// The next target, or `None` at the end of the trace or at the first event the replay
    /// rules out.
    fn next_target(&mut self) -> Result<Option<Target>, ConformError> {
        if self.stop.is_some() {
            return Ok(None);
        }
        for item in self.events.by_ref() {
            let (e, line) = item?;
            let at = Mark {
                pos: self.pos,
                seq: e.seq,
                line,
            };
            self.pos += 1;
            let e = Rc::new(e);
            if let Err(r) = self.local.step(at, &e) {
                self.stop = Some((at, e, r));
                return Ok(None);
            }
            if let Some(t) = self.check.target(at, &e) {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }
}

/// One check in progress.
struct Check<'a> {
    model: &'a JpkiModel,
    cfg: Config,
    topo: Topology,
    mask: Vec<bool>,
    properties: Vec<&'static PropertyDef>,
    opts: &'a Options,
}

fn at_ref(at: Mark, e: &Event) -> EventRef {
    EventRef {
        seq: at.seq,
        line: at.line,
        event: describe_event(e),
    }
}

impl Check<'_> {
    fn observed(&self, p: Party) -> bool {
        self.mask
            .get(usize::from(self.topo.id(p)))
            .copied()
            .unwrap_or(false)
    }

    fn target(&self, at: Mark, e: &Rc<Event>) -> Option<Target> {
        let id = |p: Party| self.topo.id(p);
        let want = match (e.kind, e.peer, e.msg.clone(), e.choice, e.fault) {
            (EventKind::Deliver, Some(from), Some(msg), _, _) => Want::Deliver {
                src: id(from),
                dst: id(e.party),
                msg,
            },
            (EventKind::Choice, _, _, Some(choice), _) => Want::Choice {
                actor: id(e.party),
                choice,
            },
            (EventKind::Timeout, _, _, _, _) => Want::Timeout { actor: id(e.party) },
            (EventKind::Crash, _, _, _, _) => Want::Crash { actor: id(e.party) },
            (EventKind::Restart, _, _, _, _) => Want::Recover { actor: id(e.party) },
            (EventKind::Fault, Some(to), Some(msg), _, Some(Fault::Lost)) => Want::Lost {
                src: id(e.party),
                dst: id(to),
                msg,
            },
            (EventKind::Fault, Some(to), Some(msg), _, Some(_)) => Want::InFlight {
                src: id(e.party),
                dst: id(to),
                msg,
            },
            _ => return None,
        };
        let hidden_sender = match (e.kind, e.peer) {
            (EventKind::Deliver, Some(from)) if !self.observed(from) => Some(id(from)),
            _ => None,
        };
        Some(Target {
            at,
            event: Rc::clone(e),
            want,
            hidden_sender,
        })
    }

    fn limits(&self, settle_first: bool, prune_violations: bool) -> Limits {
        Limits {
            hidden_steps: self.opts.hidden_steps,
            max_states: if settle_first {
                self.opts.max_states / 3
            } else {
                self.opts.max_states
            },
            prune_violations,
            settle_first,
            record_run: self.opts.keep_run,
        }
    }

    fn run<I>(&self, feed: &mut Feed<'_, I>) -> Result<Checked, ConformError>
    where
        I: Iterator<Item = Result<(Event, usize), TraceError>>,
    {
        let full = self.mask.iter().all(|&o| o);
        if full {
            // No unobserved party: no gap to search, one pass, streamed.
            let mut s = Search::new(
                self.model,
                &self.mask,
                &self.properties,
                self.limits(false, true),
            );
            while s.run() == Progress::Starved {
                for _ in 0..1024 {
                    match feed.next_target()? {
                        Some(t) => s.add(t),
                        None => {
                            s.finish();
                            break;
                        }
                    }
                }
                s.compact();
            }
            return self.verdict(feed, &s, None);
        }
        let mut targets = Vec::new();
        while let Some(t) = feed.next_target()? {
            targets.push(t);
        }
        fn fed<'s>(mut s: Search<'s>, targets: &[Target]) -> Search<'s> {
            for t in targets {
                s.add(t.clone());
            }
            s.finish();
            s.run();
            s
        }
        // The quick pass first; a failure proves nothing.
        let quick = fed(
            Search::new(
                self.model,
                &self.mask,
                &self.properties,
                self.limits(true, true),
            ),
            &targets,
        );
        if quick.witness().is_some() {
            return self.verdict(feed, &quick, None);
        }
        let complete = fed(
            Search::new(
                self.model,
                &self.mask,
                &self.properties,
                self.limits(false, true),
            ),
            &targets,
        );
        if complete.witness().is_some() || complete.first_violation().is_none() {
            return self.verdict(feed, &complete, Some(&quick));
        }
        // A property was what stopped some matches: see whether the events go further when
        // violations are allowed.
        let unpruned = fed(
            Search::new(
                self.model,
                &self.mask,
                &self.properties,
                self.limits(false, false),
            ),
            &targets,
        );
        if unpruned.witness().is_some() || unpruned.matched > complete.matched {
            if let Some(v) = complete.first_violation() {
                let note = self.bounded(&complete).then(|| {
                    "the search reached a bound, so \"every run\" means every run it found"
                        .to_string()
                });
                return Ok(Checked {
                    verdict: self.violates(feed, &complete, v, note),
                    config: self.cfg,
                    run: unpruned
                        .witness()
                        .unwrap_or_else(|| unpruned.path_to_furthest()),
                });
            }
        }
        self.verdict(feed, &complete, Some(&quick))
    }

    fn bounded(&self, s: &Search<'_>) -> bool {
        s.budget_hit || !s.steps_cut.is_empty()
    }

    /// The verdict from the search that decides (and the quick pass, for how far it got).
    fn verdict<I>(
        &self,
        feed: &Feed<'_, I>,
        s: &Search<'_>,
        quick: Option<&Search<'_>>,
    ) -> Result<Checked, ConformError> {
        let run = |s: &Search<'_>| s.witness().unwrap_or_else(|| s.path_to_furthest());
        let checked = |verdict| {
            Ok(Checked {
                verdict,
                config: self.cfg,
                run: run(s),
            })
        };
        if s.witness().is_some() {
            return checked(match &feed.stop {
                Some((at, e, reason)) => self.diverges(*at, e, reason, &feed.local, s, None),
                None => match feed.local.first_unlogged() {
                    Some((step, missing)) => Verdict::Truncated {
                        at: at_ref(step.at, &step.event),
                        missing: missing
                            .iter()
                            .map(|(to, m)| format!("{} to {to}", describe::message(m)))
                            .collect(),
                    },
                    None => Verdict::Conforms {
                        events: feed.pos as u64,
                        states: (s.states() + quick.map_or(0, Search::states)) as u64,
                    },
                },
            });
        }
        let stuck = s.matched;
        if let Some(v) = s.violation_at(stuck) {
            let note = self.bounded(s).then(|| {
                "the search reached a bound, so \"every run\" means every run it found".to_string()
            });
            return checked(self.violates(feed, s, v, note));
        }
        let Some(target) = s.target(stuck) else {
            return checked(Verdict::Conforms {
                events: feed.pos as u64,
                states: s.states() as u64,
            });
        };
        let verdict = if !self.bounded(s) {
            self.diverges_in_search(target, &feed.local, s)
        } else if let Some((at, e, reason)) = &feed.stop {
            let note = format!(
                "no run found within the bounds matches event {} ({}), so the divergence may lie there or before; this event is impossible in any case",
                target.at.seq,
                describe_event(&target.event)
            );
            self.diverges(*at, e, reason, &feed.local, s, Some(note))
        } else {
            self.inconclusive(target, s)
        };
        checked(verdict)
    }

    fn inconclusive(&self, target: &Target, s: &Search<'_>) -> Verdict {
        let mut bounds = Vec::new();
        let mut hints = Vec::new();
        let k = self.opts.hidden_steps;
        if s.steps_cut.contains(&s.matched) {
            bounds.push(format!(
                "no match within {k} unobserved steps before event {}",
                target.at.seq
            ));
        }
        let earlier: Vec<String> = s
            .steps_cut
            .iter()
            .filter(|&&t| t != s.matched)
            .filter_map(|&t| s.target(t))
            .take(5)
            .map(|t| format!("event {}", t.at.seq))
            .collect();
        if !earlier.is_empty() {
            bounds.push(format!(
                "{k} unobserved steps were also reached before {} (a longer way there might lead further)",
                earlier.join(", ")
            ));
        }
        if !s.steps_cut.is_empty() {
            let more = (k * 2).max(Options::default().hidden_steps);
            hints.push(format!("--hidden-steps {more}"));
        }
        if s.budget_hit {
            bounds.push(format!(
                "the search stopped after {} model states (--max-states {})",
                s.states(),
                self.opts.max_states
            ));
            hints.push(format!("--max-states {}", self.opts.max_states * 4));
        }
        Verdict::Inconclusive {
            at: at_ref(target.at, &target.event),
            matched: target.at.pos as u64,
            states: s.states() as u64,
            bounds,
            hints,
        }
    }

    fn violates<I>(
        &self,
        feed: &Feed<'_, I>,
        s: &Search<'_>,
        v: search::Violation,
        note: Option<String>,
    ) -> Verdict {
        let Some(t) = s.target(v.target) else {
            return Verdict::Conforms {
                events: feed.pos as u64,
                states: s.states() as u64,
            };
        };
        let changes = feed
            .local
            .around(t.event.party, t.at.pos)
            .map(|(b, a)| explain::line_changes(b, a))
            .unwrap_or_default();
        Verdict::Violates {
            at: at_ref(t.at, &t.event),
            property: v.property.id,
            summary: v.property.summary,
            changes,
            note,
        }
    }

    /// A divergence the observed parties' replay proved at `at`.
    fn diverges(
        &self,
        at: Mark,
        e: &Event,
        reason: &Reason,
        local: &Local<'_>,
        s: &Search<'_>,
        note: Option<String>,
    ) -> Verdict {
        let mut why = reason.sentences();
        if let Reason::ChoiceNotOffered { party, choice, .. } = reason {
            let ix = usize::from(self.topo.id(*party));
            let donors: Vec<(String, PartyState)> = local
                .history(*party)
                .map(|(m, st)| {
                    let when = m.map_or("initially".to_string(), |m| {
                        format!("after {}", explain::name(m))
                    });
                    (when, st.clone())
                })
                .collect();
            let fields = blocking_fields(
                &self.model.actors[ix],
                local.state(*party),
                &donors,
                *choice,
            );
            if fields.is_empty() {
                why.push(
                    "no single field of its state, set to a value it had earlier, would offer it"
                        .into(),
                );
            } else {
                why.extend(fields);
            }
        }
        let mut states = Vec::new();
        let p = reason.party().unwrap_or(e.party);
        if self.observed(p) {
            states.push(format!(
                "{p} before this event:\n{}",
                describe::party_state(local.state(p))
            ));
        }
        let candidates: Vec<&JpkiState> = s.candidates().collect();
        let allowed = self.allowed(e, &candidates, local);
        diverges(at_ref(at, e), e, why, states, s.at_matched, &allowed, note)
    }

    /// A divergence the search proved: no run within the bounds matches the target, and the
    /// bounds were not reached.
    fn diverges_in_search(&self, target: &Target, local: &Local<'_>, s: &Search<'_>) -> Verdict {
        let e = &target.event;
        let candidates: Vec<&JpkiState> = s.candidates().collect();
        let mut why = Vec::new();
        let mut states = Vec::new();
        match &target.want {
            Want::Deliver { src, dst, msg } => {
                let (from, to) = (self.topo.party(*src), self.topo.party(*dst));
                let sent: Vec<String> = distinct(candidates.iter().flat_map(|st| {
                    envelopes(&st.network)
                        .filter(|en| en.src == *src && en.dst == *dst)
                        .map(|en| describe::message(en.msg))
                        .collect::<Vec<_>>()
                }));
                if target.hidden_sender.is_some() {
                    why.push(format!(
                        "{to} cannot receive {} from {from}: in no run of the unobserved parties does {from} send it (searched {} model states: every way with up to {} unobserved steps before this event)",
                        describe::message(msg),
                        s.states(),
                        self.opts.hidden_steps
                    ));
                    for st in distinct(candidates.iter().filter_map(|st| {
                        st.actor_states
                            .get(usize::from(*src))
                            .map(|p| describe::party_state(p))
                    }))
                    .into_iter()
                    .take(3)
                    {
                        states.push(format!("{from} (not observed) in those runs:\n{st}"));
                    }
                } else {
                    why.push(format!(
                        "{to} cannot receive {} from {from}: it is in flight in no run",
                        describe::message(msg)
                    ));
                }
                why.push(if sent.is_empty() {
                    format!("{from} had nothing in flight to {to} there")
                } else {
                    format!("{from} had in flight to {to}: {}", sent.join("; "))
                });
            }
            Want::Choice { actor, choice } => why.push(format!(
                "{} cannot choose \"{}\" here: the model does not offer it in any run",
                self.topo.party(*actor),
                describe::choice(choice)
            )),
            Want::Timeout { actor } => why.push(format!(
                "no timer of {} is armed here in any run (a timer fires only while its party waits for an answer)",
                self.topo.party(*actor)
            )),
            Want::Crash { actor } => {
                let p = self.topo.party(*actor);
                let down: Vec<String> = distinct(candidates.iter().map(|st| {
                    let names: Vec<String> = st
                        .crashed
                        .iter()
                        .enumerate()
                        .filter(|(_, &d)| d)
                        .map(|(i, _)| self.topo.party(i.into()).to_string())
                        .collect();
                    names.join(", ")
                }));
                why.push(format!(
                    "{p} cannot crash here in any run: the model crashes a party only while fewer than {} are down (--crashes {}), and only a party it lets crash",
                    self.cfg.crashes, self.cfg.crashes
                ));
                let down: Vec<String> = down.into_iter().filter(|d| !d.is_empty()).collect();
                if !down.is_empty() {
                    why.push(format!("down there: {}", down.join("; ")));
                }
            }
            Want::Recover { actor } => why.push(format!(
                "{} restarts here, but in every run the model has it running (a party restarts only after a crash)",
                self.topo.party(*actor)
            )),
            Want::Lost { src, dst, msg } | Want::InFlight { src, dst, msg } => {
                let to = self.topo.party(*dst);
                why.push(format!(
                    "{} from {} to {to} is in flight in no run{}",
                    describe::message(msg),
                    self.topo.party(*src),
                    if self.observed(to) {
                        String::new()
                    } else {
                        format!(" ({to}, not observed, must have received it already)")
                    }
                ));
            }
        }
        // The observed party's state there: the same in every candidate state (the replay of the
        // observed parties has run past this event).
        let ix = usize::from(self.topo.id(e.party));
        if let Some(st) = candidates.first().and_then(|c| c.actor_states.get(ix)) {
            states.insert(
                0,
                format!(
                    "{} before this event:\n{}",
                    e.party,
                    describe::party_state(st)
                ),
            );
        }
        let allowed = self.allowed(e, &candidates, local);
        diverges(
            at_ref(target.at, e),
            e,
            why,
            states,
            s.at_matched,
            &allowed,
            None,
        )
    }

    /// The observable events the model allowed in the candidate states, or after unobserved
    /// steps from them (a bounded search): deliveries to and choices of observed parties,
    /// losses of their messages, and the sends their last steps made that are not logged yet.
    /// Nearest to `event` first; `event` itself (allowed by the model but not by the log) left
    /// out.
    fn allowed(&self, event: &Event, candidates: &[&JpkiState], local: &Local<'_>) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        for p in self.topo.parties() {
            if self.observed(p) {
                for (to, m) in local.unlogged(p) {
                    out.push(Event::send(p, to, m));
                }
            }
        }
        let observed =
            |id: stateright::actor::Id| self.mask.get(usize::from(id)).copied().unwrap_or(false);
        let mut seen: std::collections::HashSet<u64> = std::collections::HashSet::new();
        let hasher = std::collections::hash_map::RandomState::new();
        let mut layer: Vec<JpkiState> = candidates.iter().take(500).map(|s| (*s).clone()).collect();
        let mut actions = Vec::new();
        for _ in 0..=self.opts.hidden_steps {
            let mut next = Vec::new();
            for st in &layer {
                actions.clear();
                self.model.actions(st, &mut actions);
                for a in &actions {
                    let e = match a {
                        ActorModelAction::Deliver { src, dst, msg } if observed(*dst) => {
                            if st.crashed.get(usize::from(*dst)).copied().unwrap_or(false) {
                                continue; // a crashed party receives nothing
                            }
                            let from = self.topo.party(*src);
                            let to = self.topo.party(*dst);
                            if self.observed(from)
                                && local
                                    .unlogged(from)
                                    .iter()
                                    .any(|(t, m)| *t == to && m == msg)
                            {
                                continue; // its send is not logged yet
                            }
                            Event::deliver(to, from, msg.clone())
                        }
                        ActorModelAction::SelectRandom { actor, random, .. }
                            if observed(*actor) =>
                        {
                            Event::choice(self.topo.party(*actor), *random)
                        }
                        ActorModelAction::Recover(actor) if observed(*actor) => {
                            Event::restart(self.topo.party(*actor))
                        }
                        ActorModelAction::Crash(actor)
                            if observed(*actor)
                                && matches!(event.kind, EventKind::Crash | EventKind::Restart) =>
                        {
                            // Listed only where a crash or restart diverged: elsewhere every
                            // list would name the crashes the model always allows.
                            match self.model.next_state(st, a.clone()) {
                                Some(n) if self.model.within_boundary(&n) => {
                                    Event::crash(self.topo.party(*actor))
                                }
                                _ => continue,
                            }
                        }
                        ActorModelAction::Drop(en) if observed(en.src) => Event::fault(
                            Fault::Lost,
                            self.topo.party(en.src),
                            self.topo.party(en.dst),
                            en.msg.clone(),
                        ),
                        ActorModelAction::Deliver { dst, .. }
                        | ActorModelAction::SelectRandom { actor: dst, .. }
                            if seen.len() < 20_000 =>
                        {
                            let _ = dst;
                            if let Some(n) = self.model.next_state(st, a.clone()) {
                                if seen.insert(hasher.hash_one(&n)) {
                                    next.push(n);
                                }
                            }
                            continue;
                        }
                        _ => continue,
                    };
                    if !out.contains(&e) {
                        out.push(e);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            layer = next;
        }
        let near = |a: &Event| match (a.kind == event.kind, a.party == event.party) {
            (true, true) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (false, false) => 3,
        };
        out.retain(|a| {
            a.kind != event.kind
                || a.party != event.party
                || a.peer != event.peer
                || a.msg != event.msg
                || a.choice != event.choice
        });
        out.sort_by_key(near);
        out
    }
}

/// How many allowed events a divergence lists.
const ALLOWED: usize = 12;

/// A divergence at `e`: the reasons and states already in words, the allowed events listed
/// distinct and nearest first (at most [`ALLOWED`], with how many more).
fn diverges(
    at: EventRef,
    e: &Event,
    why: Vec<String>,
    states: Vec<String>,
    candidates: usize,
    allowed: &[Event],
    note: Option<String>,
) -> Verdict {
    let mut described = distinct(allowed.iter().map(describe_event));
    let more_allowed = described.len().saturating_sub(ALLOWED);
    described.truncate(ALLOWED);
    Verdict::Diverges {
        at,
        why,
        states,
        candidates,
        nearest: nearest(e, allowed),
        more_allowed,
        allowed: described,
        note,
    }
}

fn distinct(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
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
        "intruder" => return Some(Party::Intruder),
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

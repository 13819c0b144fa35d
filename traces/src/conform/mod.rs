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

use crate::diff::state_changes;
use crate::format::{Event, EventKind, Fault, Header};
use crate::read::{Reader, TraceError};
use explain::{blocking_fields, nearest, Reason};
use jpkisim_model::actors::PartyState;
use jpkisim_model::describe;
use jpkisim_model::ids::Party;
use jpkisim_model::world::envelopes;
use jpkisim_model::{Config, JpkiAction, JpkiModel, JpkiState, Topology};
use jpkisim_properties::catalogue::{Kind, PropertyDef};
use local::Local;
use search::{Limits, Search, Target, Want};
use stateright::actor::ActorModelAction;
use stateright::Model;
use std::io::BufRead;

/// How far the search may go. Reaching a bound makes a verdict inconclusive, never a divergence.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only these parties' events are checked; the others' are skipped and their steps become
    /// unobserved. `None`: the header's observed parties.
    pub observed: Option<Vec<Party>>,
    /// The most unobserved steps one event may need: the steps since the previous event that lead
    /// to it (an unobserved party brought to send the message an observed one receives).
    pub hidden_steps: usize,
    /// The most model states the search explores in all.
    pub max_states: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            observed: None,
            hidden_steps: 32,
            max_states: 150_000,
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
    /// The model steps of the run found, from the initial state: the whole trace when it
    /// conforms, else up to the last event matched (the Explorer opens it there).
    pub run: Vec<JpkiAction>,
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
    let events = events.into_iter().collect::<Result<Vec<_>, _>>()?;
    check(header, &events, opts).map(|c| c.verdict)
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
    let observed = observed_parties(header, opts)?;
    let cfg = header.config;
    let model = jpkisim_model::build(cfg).map_err(|e| ConformError::Options(e.to_string()))?;
    let topo = Topology::of(&cfg);
    let mask: Vec<bool> = topo.parties().iter().map(|p| observed.contains(p)).collect();
    let events: Vec<&(Event, usize)> = events
        .iter()
        .filter(|(e, _)| observed.contains(&e.party))
        .collect();
    let (properties, _) = jpkisim_properties::applicable(&cfg);
    let properties: Vec<&'static PropertyDef> = properties
        .into_iter()
        .filter(|p| p.kind == Kind::Always)
        .collect();
    Check {
        model: &model,
        cfg,
        topo,
        mask,
        events,
        properties,
        opts,
    }
    .run()
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

/// One check in progress.
struct Check<'a> {
    model: &'a JpkiModel,
    cfg: Config,
    topo: Topology,
    mask: Vec<bool>,
    events: Vec<&'a (Event, usize)>,
    properties: Vec<&'static PropertyDef>,
    opts: &'a Options,
}

impl Check<'_> {
    fn at(&self, pos: usize) -> EventRef {
        let (e, line) = self.events[pos];
        EventRef {
            seq: e.seq,
            line: *line,
            event: describe_event(e),
        }
    }

    fn name(&self, pos: usize) -> String {
        self.events
            .get(pos)
            .map_or("the start".into(), |(e, _)| format!("event {}", e.seq))
    }

    fn observed(&self, p: Party) -> bool {
        self.mask
            .get(usize::from(self.topo.id(p)))
            .copied()
            .unwrap_or(false)
    }

    fn target(&self, pos: usize, e: &Event) -> Option<Target> {
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
            pos,
            want,
            needs_gap: hidden_sender.is_some(),
            hidden_sender,
        })
    }

    fn run(self) -> Result<Checked, ConformError> {
        let mut local = Local::new(self.model, self.cfg, &self.mask);
        let mut stop: Option<(usize, Reason)> = None;
        for (pos, (e, _)) in self.events.iter().map(|x| (&x.0, x.1)).enumerate() {
            if let Err(r) = local.step(pos, e) {
                stop = Some((pos, r));
                break;
            }
        }
        let end = stop.as_ref().map_or(self.events.len(), |(p, _)| *p);
        let targets: Vec<Target> = self.events[..end]
            .iter()
            .enumerate()
            .filter_map(|(pos, (e, _))| self.target(pos, e))
            .collect();
        let limits = |prune_violations| Limits {
            hidden_steps: self.opts.hidden_steps,
            max_states: self.opts.max_states,
            prune_violations,
            settle_first: false,
        };
        // The quick pass first; it proves nothing when it fails.
        let quick = if std::env::var_os("JPKISIM_NO_QUICK").is_some() { None } else {
            let mut q = Search::new(
                self.model,
                &self.mask,
                &targets,
                &self.properties,
                Limits {
                    max_states: self.opts.max_states / 3,
                    settle_first: true,
                    ..limits(true)
                },
            );
            q.run();
            if std::env::var_os("JPKISIM_DEBUG_RUN").is_some() { eprintln!("quick: {} states, matched {} of {}", q.states(), q.matched, targets.len()); }
            q.witness().map(|run| (run, q.states()))
        };
        if let (Some((run, states)), None) = (&quick, &stop) {
            if local.first_unlogged().is_none() {
                return Ok(Checked {
                    verdict: Verdict::Conforms {
                        events: self.events.len() as u64,
                        states: *states as u64,
                    },
                    config: self.cfg,
                    run: run.clone(),
                });
            }
        }
        let mut s1 = Search::new(
            self.model,
            &self.mask,
            &targets,
            &self.properties,
            limits(true),
        );
        s1.run();
        if let Some(run) = s1.witness() {
            let verdict = match stop {
                Some((pos, reason)) => self.diverges(pos, &reason, &local, &s1, None),
                None => match local.first_unlogged() {
                    Some((_, step, missing)) => Verdict::Truncated {
                        at: self.at(step),
                        missing: missing
                            .iter()
                            .map(|(to, m)| format!("{} to {to}", describe::message(m)))
                            .collect(),
                    },
                    None => Verdict::Conforms {
                        events: self.events.len() as u64,
                        states: s1.states() as u64,
                    },
                },
            };
            return Ok(Checked {
                verdict,
                config: self.cfg,
                run,
            });
        }
        let stuck = s1.matched;
        let bounded = s1.budget_hit || !s1.steps_cut.is_empty();
        let note_bounds = bounded.then(|| {
            "the search reached a bound, so \"every run\" means every run it found".to_string()
        });
        // A property, rather than the events, may be what stops the search.
        if let Some(v) = s1.violation_at(stuck) {
            let pos = targets[stuck].pos;
            return Ok(Checked {
                verdict: self.violates(pos, v.property, &local, note_bounds),
                config: self.cfg,
                run: s1.path_to_furthest(),
            });
        }
        if let Some(first) = (0..stuck).find_map(|t| s1.violation_at(t)) {
            let mut s2 = Search::new(
                self.model,
                &self.mask,
                &targets,
                &self.properties,
                limits(false),
            );
            s2.run();
            if s2.witness().is_some() || s2.matched > stuck {
                let pos = targets[first.target].pos;
                return Ok(Checked {
                    verdict: self.violates(pos, first.property, &local, note_bounds),
                    config: self.cfg,
                    run: s2.witness().unwrap_or_else(|| s2.path_to_furthest()),
                });
            }
        }
        if std::env::var_os("JPKISIM_DEBUG_RUN").is_some() {
            for a in s1.path_to_furthest() {
                eprintln!("RUN {}", jpkisim_model::describe::action(&self.topo, &a));
            }
        }
        let target = &targets[stuck];
        let verdict = if !bounded {
            self.diverges_in_search(target, &local, &s1)
        } else if let Some((pos, reason)) = stop {
            let note = format!(
                "no run found within the bounds matches {} ({}), so the divergence may lie there or before; this event is impossible in any case",
                self.name(target.pos),
                describe_event(&self.events[target.pos].0)
            );
            self.diverges(pos, &reason, &local, &s1, Some(note))
        } else {
            self.inconclusive(target, &s1)
        };
        Ok(Checked {
            verdict,
            config: self.cfg,
            run: s1.path_to_furthest(),
        })
    }

    fn inconclusive(&self, target: &Target, s: &Search<'_>) -> Verdict {
        let mut bounds = Vec::new();
        let mut hints = Vec::new();
        let k = self.opts.hidden_steps;
        if s.steps_cut.contains(&(s.matched)) {
            bounds.push(format!(
                "no match within {k} unobserved steps before {}",
                self.name(target.pos)
            ));
        }
        let earlier: Vec<String> = s
            .steps_cut
            .iter()
            .filter(|&&t| t != s.matched)
            .take(5)
            .map(|&t| self.name(s.target_pos(t)))
            .collect();
        if !earlier.is_empty() {
            bounds.push(format!(
                "{k} unobserved steps were also reached before {} (a longer way there might lead further)",
                earlier.join(", ")
            ));
        }
        if !s.steps_cut.is_empty() {
            hints.push(format!("--hidden-steps {}", (k * 2).max(k + 8)));
        }
        if s.budget_hit {
            bounds.push(format!(
                "the search stopped at {} model states (--max-states)",
                self.opts.max_states
            ));
            hints.push(format!("--max-states {}", self.opts.max_states * 4));
        }
        Verdict::Inconclusive {
            at: self.at(target.pos),
            matched: target.pos as u64,
            states: s.states() as u64,
            bounds,
            hints,
        }
    }

    fn violates(
        &self,
        pos: usize,
        property: &'static PropertyDef,
        local: &Local<'_>,
        note: Option<String>,
    ) -> Verdict {
        let e = &self.events[pos].0;
        let ix = usize::from(self.topo.id(e.party));
        let changes = local
            .history
            .get(ix)
            .and_then(|h| {
                let i = h.iter().position(|(p, _)| *p == pos)?;
                Some(state_changes(&h.get(i.checked_sub(1)?)?.1, &h[i].1))
            })
            .unwrap_or_default();
        Verdict::Violates {
            at: self.at(pos),
            property: property.id,
            summary: property.summary,
            changes,
            note,
        }
    }

    /// A divergence the observed parties' replay proved at `pos`.
    fn diverges(
        &self,
        pos: usize,
        reason: &Reason,
        local: &Local<'_>,
        s: &Search<'_>,
        note: Option<String>,
    ) -> Verdict {
        let e = &self.events[pos].0;
        let name = |p: usize| self.name(p);
        let step_text = |p: usize| {
            self.events
                .get(p)
                .map(|(e, _)| describe_event(e))
                .unwrap_or_default()
        };
        let mut why = reason.sentences(&name, &step_text);
        if let Reason::ChoiceNotOffered { party, choice, .. } = reason {
            let ix = usize::from(self.topo.id(*party));
            let donors: Vec<(String, PartyState)> = local.history[ix]
                .iter()
                .map(|(p, st)| {
                    let when = if *p == usize::MAX {
                        "initially".to_string()
                    } else {
                        format!("after {}", self.name(*p))
                    };
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
        if let Some(p) = reason.party().or(Some(e.party)) {
            if self.observed(p) {
                states.push(format!(
                    "{p} before this event: {}",
                    describe::party_state(local.state(p))
                ));
            }
        }
        let candidates: Vec<&JpkiState> = s.candidates().collect();
        let allowed = self.allowed(&candidates, local);
        Verdict::Diverges {
            at: self.at(pos),
            why,
            states,
            candidates: candidates.len(),
            nearest: nearest(e, &allowed),
            allowed: allowed.iter().take(40).map(describe_event).collect(),
            note,
        }
    }

    /// A divergence the search proved: no run within the bounds matches the target, and the
    /// bounds were not reached.
    fn diverges_in_search(&self, target: &Target, local: &Local<'_>, s: &Search<'_>) -> Verdict {
        let e = &self.events[target.pos].0;
        let candidates: Vec<&JpkiState> = s.candidates().collect();
        let n = candidates.len();
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
                        "{to} cannot receive {} from {from}: in no run of the unobserved parties does {from} send it ({n} model states explored, every way with up to {} unobserved steps before this event)",
                        describe::message(msg),
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
                        states.push(format!("{from} (not observed) in those runs: {st}"));
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
        if self.observed(e.party) {
            states.insert(
                0,
                format!(
                    "{} before this event: {}",
                    e.party,
                    describe::party_state(local.state(e.party))
                ),
            );
        }
        let allowed = self.allowed(&candidates, local);
        Verdict::Diverges {
            at: self.at(target.pos),
            why,
            states,
            candidates: n,
            nearest: nearest(e, &allowed),
            allowed: allowed.iter().take(40).map(describe_event).collect(),
            note: None,
        }
    }

    /// The observable events the model allowed in the candidate states: deliveries to and
    /// choices of observed parties, losses of their messages, and the sends their last steps
    /// made that are not logged yet.
    fn allowed(&self, candidates: &[&JpkiState], local: &Local<'_>) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        let mut add = |e: Event| {
            if !out.contains(&e) {
                out.push(e);
            }
        };
        for p in self.topo.parties() {
            if self.observed(p) {
                for (to, m) in local.unlogged(p) {
                    add(Event::send(p, to, m));
                }
            }
        }
        let mut actions = Vec::new();
        for st in candidates.iter().take(500) {
            actions.clear();
            self.model.actions(st, &mut actions);
            for a in &actions {
                match a {
                    ActorModelAction::Deliver { src, dst, msg }
                        if self.mask.get(usize::from(*dst)).copied().unwrap_or(false) =>
                    {
                        add(Event::deliver(
                            self.topo.party(*dst),
                            self.topo.party(*src),
                            msg.clone(),
                        ))
                    }
                    ActorModelAction::SelectRandom { actor, random, .. }
                        if self.mask.get(usize::from(*actor)).copied().unwrap_or(false) =>
                    {
                        add(Event::choice(self.topo.party(*actor), *random))
                    }
                    ActorModelAction::Drop(en)
                        if self.mask.get(usize::from(en.src)).copied().unwrap_or(false) =>
                    {
                        add(Event::fault(
                            Fault::Lost,
                            self.topo.party(en.src),
                            self.topo.party(en.dst),
                            en.msg.clone(),
                        ))
                    }
                    _ => {}
                }
            }
        }
        out
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

//! The observed parties on their own: each one's state, replayed from its own events.
//!
//! An observed party logs every step it takes (each delivery it acts on, each choice) and the
//! sends each step makes. Its state therefore follows from its own events alone, whatever the
//! unobserved parties did, and so do the messages it sends. This module replays those states and
//! keeps the books on the messages observed parties sent; that decides exactly, without any
//! search, whether a send, a choice or a missing send is possible, and conservatively whether a
//! delivery from an observed sender or a fault is (a message never sent cannot arrive).
//!
//! What it cannot decide — a delivery from an unobserved sender, a loss of a message an
//! unobserved party may already have received — is left to the search ([`super::search`]).
//!
//! A crash and a restart of an observed party are its own steps too: while it is down it takes
//! no step (it neither receives, sends, chooses nor times out), and its restart is the model's
//! start from what it stored — which this replay keeps by running each step through the
//! model's actor as the model does (its `Save`s), so that the state after a restart is the
//! model's.
//!
//! Memory stays bounded on long traces: per party the last few states, per channel the messages
//! in flight and the last few delivered.

use super::explain::Reason;
use crate::format::{Event, EventKind, Fault};
use jpkisim_model::actors::{PartyActor, PartyState};
use jpkisim_model::config::Ordering;
use jpkisim_model::ids::Party;
use jpkisim_model::msg::Msg;
use jpkisim_model::recovery::{self, PartyTimer};
use jpkisim_model::{Config, JpkiModel, Topology};
use stateright::actor::{Actor, ActorModelAction, Command, Id, Out};
use stateright::Model;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

/// An event of the trace: its position among the checked events, its number and its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mark {
    pub pos: usize,
    pub seq: u64,
    pub line: usize,
}

/// What happened to a logged send between two observed parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate {
    InFlight,
    Delivered(Mark),
    Lost(Mark),
}

/// A message an observed party's step sent, and whether its `send` line was logged yet.
#[derive(Clone, Debug)]
struct Output {
    to: Party,
    msg: Msg,
    logged: Option<Mark>,
}

/// One logged send on a channel between observed parties.
#[derive(Clone, Debug)]
struct Sent {
    msg: Msg,
    at: Mark,
    fate: Fate,
}

/// The logged sends on one channel from an observed sender.
#[derive(Default)]
struct Channel {
    /// Sends not yet delivered or lost, in send order.
    open: Vec<Sent>,
    /// The last few delivered or lost (for diagnoses).
    closed: VecDeque<Sent>,
    /// Every message ever sent on it (a duplicating network may deliver any of them again).
    ever: HashSet<Msg>,
}

const KEEP_CLOSED: usize = 8;
const KEEP_STATES: usize = 32;

/// What one armed timer's step would do: the party's next state, its sends, and what its
/// database holds after it.
type TimerStep = (PartyState, Vec<(Party, Msg)>, Option<PartyState>);

/// A party's input to one step, as far as its database is concerned.
#[derive(Clone, Copy)]
enum Input<'m> {
    Msg(Party, &'m Msg),
    Choice(jpkisim_model::actors::PartyChoice),
    Timer(PartyTimer),
}

/// An observed party's last step.
#[derive(Clone, Debug)]
pub(super) struct StepRef {
    pub at: Mark,
    pub event: Rc<Event>,
}

/// The observed parties' replay.
pub(super) struct Local<'a> {
    model: &'a JpkiModel,
    topo: Topology,
    cfg: Config,
    observed: Vec<bool>,
    states: Vec<PartyState>,
    /// Each party's initial state, then its states after its last few steps.
    history: Vec<VecDeque<(Option<Mark>, PartyState)>>,
    outputs: Vec<Vec<Output>>,
    last_step: Vec<Option<StepRef>>,
    channels: HashMap<(Party, Party), Channel>,
    /// Per party, after a timeout whose timer the event does not name: the steps of the other
    /// armed timers, as (state, sends, database), until the sends logged after it single one out.
    alternatives: Vec<Vec<TimerStep>>,
    /// Per party, what its database holds (the model's storage; kept only where parties crash).
    stored: Vec<Option<PartyState>>,
    /// Per party, the crash it has not restarted from yet.
    down: Vec<Option<Mark>>,
    /// Per party, its last restart.
    restarted: Vec<Option<Mark>>,
    /// Per party, whether the model lets it crash: a crash from the initial state stays within
    /// the model's boundary (the model, not this crate, says which parties crash).
    may_crash: Vec<bool>,
}

impl<'a> Local<'a> {
    pub(super) fn new(model: &'a JpkiModel, cfg: Config, observed: &[bool]) -> Local<'a> {
        let states: Vec<PartyState> = model.actors.iter().map(PartyActor::initial_state).collect();
        let history = states
            .iter()
            .map(|s| VecDeque::from([(None, s.clone())]))
            .collect();
        let n = states.len();
        let init = model.init_states().into_iter().next();
        let stored = init
            .as_ref()
            .map(|st| st.actor_storages.clone())
            .unwrap_or_else(|| vec![None; n]);
        let may_crash = (0..n)
            .map(|ix| {
                init.as_ref().is_some_and(|st| {
                    let crash = ActorModelAction::Crash(Id::from(ix));
                    let mut offered = Vec::new();
                    model.actions(st, &mut offered);
                    offered.contains(&crash)
                        && model
                            .next_state(st, crash)
                            .is_some_and(|next| model.within_boundary(&next))
                })
            })
            .collect();
        Local {
            model,
            topo: Topology::of(&cfg),
            cfg,
            observed: observed.to_vec(),
            states,
            history,
            outputs: vec![Vec::new(); n],
            last_step: vec![None; n],
            channels: HashMap::new(),
            alternatives: vec![Vec::new(); n],
            stored,
            down: vec![None; n],
            restarted: vec![None; n],
            may_crash,
        }
    }

    /// The parties the model lets crash (see `may_crash`).
    pub(super) fn crashable(&self) -> Vec<Party> {
        self.topo
            .parties()
            .into_iter()
            .filter(|p| self.may_crash.get(self.ix(*p)).copied().unwrap_or(false))
            .collect()
    }

    /// What party `ix`'s database holds after its step on `input` from `before`: the model
    /// actor's last `Save` of that step, else what it held. Only where parties crash (elsewhere
    /// nothing reads it).
    fn stored_after(&self, ix: usize, before: &PartyState, input: Input<'_>) -> Option<PartyState> {
        if self.cfg.crashes == 0 {
            return None;
        }
        let actor = &self.model.actors[ix];
        let id = Id::from(ix);
        let mut state = Cow::Borrowed(before);
        let mut o = Out::new();
        match input {
            Input::Msg(from, msg) => {
                actor.on_msg(id, &mut state, self.topo.id(from), msg.clone(), &mut o)
            }
            Input::Choice(c) => actor.on_random(id, &mut state, &c, &mut o),
            Input::Timer(t) => actor.on_timeout(id, &mut state, &t, &mut o),
        }
        last_save(&o).or_else(|| self.stored[ix].clone())
    }

    fn ix(&self, p: Party) -> usize {
        usize::from(self.topo.id(p))
    }

    fn is_observed(&self, p: Party) -> bool {
        self.observed.get(self.ix(p)).copied().unwrap_or(false)
    }

    /// The state of party `p` now.
    pub(super) fn state(&self, p: Party) -> &PartyState {
        &self.states[self.ix(p)]
    }

    /// Party `p`'s earlier states: `None` for the initial one, else the step after which it held.
    pub(super) fn history(&self, p: Party) -> impl Iterator<Item = &(Option<Mark>, PartyState)> {
        self.history[self.ix(p)].iter()
    }

    /// Party `p`'s state before and after its step at position `pos`, if still kept.
    pub(super) fn around(&self, p: Party, pos: usize) -> Option<(&PartyState, &PartyState)> {
        let h = &self.history[self.ix(p)];
        let i = h
            .iter()
            .position(|(m, _)| m.is_some_and(|m| m.pos == pos))?;
        Some((&h.get(i.checked_sub(1)?)?.1, &h[i].1))
    }

    /// Sends of `p`'s last step not logged yet.
    pub(super) fn unlogged(&self, p: Party) -> Vec<(Party, Msg)> {
        self.outputs[self.ix(p)]
            .iter()
            .filter(|o| o.logged.is_none())
            .map(|o| (o.to, o.msg.clone()))
            .collect()
    }

    /// The first observed party (in actor order) with sends still unlogged: its last step and
    /// those sends.
    pub(super) fn first_unlogged(&self) -> Option<(StepRef, Vec<(Party, Msg)>)> {
        self.topo.parties().into_iter().find_map(|p| {
            let missing = self.unlogged(p);
            if missing.is_empty() {
                return None;
            }
            Some((self.last_step[self.ix(p)].clone()?, missing))
        })
    }

    /// Checks the event at `at` against the observed parties' books and applies it. `Err` is a
    /// proof that no run of the model has this event here.
    pub(super) fn step(&mut self, at: Mark, e: &Rc<Event>) -> Result<(), Box<Reason>> {
        let ix = self.ix(e.party);
        if let (Some(crash), false) = (
            self.down[ix],
            matches!(e.kind, EventKind::Restart | EventKind::Fault),
        ) {
            // A crashed party takes no step until it restarts (a fault of a message it sent
            // before is the network's doing).
            return ruled_out(Reason::WhileDown {
                party: e.party,
                kind: e.kind,
                peer: e.peer,
                msg: e.msg.clone(),
                crash,
            });
        }
        match e.kind {
            EventKind::Crash => self.crash(at, e),
            EventKind::Restart => self.restart(at, e),
            EventKind::Send => self.send(at, e),
            EventKind::Deliver => {
                self.no_missing_sends(e.party)?;
                let (Some(from), Some(msg)) = (e.peer, e.msg.as_ref()) else {
                    return Ok(());
                };
                if self.is_observed(from) {
                    self.take(at, from, e.party, msg, false)?;
                }
                let actor = &self.model.actors[ix];
                let step = actor.deliver(&self.states[ix], from, msg);
                // Sends go where the model routes them (through the intruder on a link it
                // controls), as a recording system logs them.
                let out = actor.outgoing(step.out);
                let stored = self.stored_after(ix, &self.states[ix], Input::Msg(from, msg));
                self.took_step(at, e, step.state, out, stored);
                Ok(())
            }
            EventKind::Choice => {
                self.no_missing_sends(e.party)?;
                let Some(choice) = e.choice else {
                    return Ok(());
                };
                let actor = &self.model.actors[ix];
                let offered = actor.choices(&self.states[ix]);
                if !offered.contains(&choice) {
                    return ruled_out(Reason::ChoiceNotOffered {
                        party: e.party,
                        choice,
                        offered,
                    });
                }
                let step = actor.choose(&self.states[ix], choice);
                let out = actor.outgoing(step.out);
                let stored = self.stored_after(ix, &self.states[ix], Input::Choice(choice));
                self.took_step(at, e, step.state, out, stored);
                Ok(())
            }
            EventKind::Timeout => {
                self.no_missing_sends(e.party)?;
                let armed = recovery::armed(&self.cfg, &self.states[ix]);
                if armed.is_empty() {
                    return ruled_out(Reason::NoTimerArmed {
                        party: e.party,
                        timers_armed: self.cfg.timers_armed(),
                    });
                }
                // The event names the party, not the timer: take the first armed timer's step
                // and keep the others' until the sends logged after it tell them apart.
                let actor = &self.model.actors[ix];
                let mut steps: Vec<TimerStep> = armed
                    .into_iter()
                    .map(|t: PartyTimer| {
                        let step = actor.timeout(&self.states[ix], t);
                        let stored = self.stored_after(ix, &self.states[ix], Input::Timer(t));
                        (step.state, actor.outgoing(step.out), stored)
                    })
                    .collect();
                let (state, out, stored) = steps.remove(0);
                self.took_step(at, e, state, out, stored);
                self.alternatives[ix] = steps;
                Ok(())
            }
            EventKind::Fault => self.fault(at, e),
        }
    }

    /// A crash of an observed party: the configuration must let parties crash, the model must
    /// let this one crash, no more may be down at once than the configuration allows, and its
    /// last step's sends must all be logged (a model step and its sends are one). Its state
    /// stays as it was until the restart replaces it from its database.
    fn crash(&mut self, at: Mark, e: &Rc<Event>) -> Result<(), Box<Reason>> {
        let ix = self.ix(e.party);
        if self.cfg.crashes == 0 {
            return ruled_out(Reason::CrashesOff {
                party: e.party,
                kind: e.kind,
            });
        }
        if !self.may_crash[ix] {
            return ruled_out(Reason::CannotCrash {
                party: e.party,
                crashable: self.crashable(),
            });
        }
        let down: Vec<Party> = self
            .topo
            .parties()
            .into_iter()
            .filter(|p| self.down[self.ix(*p)].is_some())
            .collect();
        if down.len() >= usize::from(self.cfg.crashes) {
            return ruled_out(Reason::TooManyDown {
                party: e.party,
                down,
                crashes: self.cfg.crashes,
            });
        }
        self.no_missing_sends(e.party)?;
        self.down[ix] = Some(at);
        self.alternatives[ix].clear();
        self.outputs[ix].clear();
        self.last_step[ix] = Some(StepRef {
            at,
            event: Rc::clone(e),
        });
        Ok(())
    }

    /// A restart of an observed party: only after its crash, into the state the model's start
    /// makes of what its database holds (and with whatever that start sends).
    fn restart(&mut self, at: Mark, e: &Rc<Event>) -> Result<(), Box<Reason>> {
        let ix = self.ix(e.party);
        if self.cfg.crashes == 0 {
            return ruled_out(Reason::CrashesOff {
                party: e.party,
                kind: e.kind,
            });
        }
        if self.down[ix].is_none() {
            return ruled_out(Reason::RestartWhileUp {
                party: e.party,
                restarted: self.restarted[ix],
            });
        }
        let actor = &self.model.actors[ix];
        let mut o = Out::new();
        let state = actor.on_start(Id::from(ix), &self.stored[ix], &mut o);
        let out: Vec<(Party, Msg)> = o
            .iter()
            .filter_map(|c| match c {
                Command::Send(to, msg) => Some((self.topo.party(*to), msg.clone())),
                _ => None,
            })
            .collect();
        let stored = last_save(&o).or_else(|| self.stored[ix].clone());
        self.down[ix] = None;
        self.restarted[ix] = Some(at);
        self.took_step(at, e, state, out, stored);
        Ok(())
    }

    fn took_step(
        &mut self,
        at: Mark,
        e: &Rc<Event>,
        state: PartyState,
        out: Vec<(Party, Msg)>,
        stored: Option<PartyState>,
    ) {
        let ix = self.ix(e.party);
        self.alternatives[ix].clear();
        if self.cfg.crashes > 0 {
            self.stored[ix] = stored;
        }
        let h = &mut self.history[ix];
        if h.len() > KEEP_STATES {
            h.remove(1); // keep the initial state
        }
        h.push_back((Some(at), state.clone()));
        self.states[ix] = state;
        self.outputs[ix] = out
            .into_iter()
            .map(|(to, msg)| Output {
                to,
                msg,
                logged: None,
            })
            .collect();
        self.last_step[ix] = Some(StepRef {
            at,
            event: Rc::clone(e),
        });
    }

    fn no_missing_sends(&self, p: Party) -> Result<(), Box<Reason>> {
        let missing = self.unlogged(p);
        match (missing.is_empty(), &self.last_step[self.ix(p)]) {
            (false, Some(step)) => ruled_out(Reason::SendsNotLogged {
                party: p,
                step: step.clone(),
                missing,
            }),
            _ => Ok(()),
        }
    }

    fn send(&mut self, at: Mark, e: &Event) -> Result<(), Box<Reason>> {
        let (Some(to), Some(msg)) = (e.peer, e.msg.as_ref()) else {
            return Ok(());
        };
        let ix = self.ix(e.party);
        self.switch_timer(ix, to, msg);
        let outputs = &mut self.outputs[ix];
        if let Some(o) = outputs
            .iter_mut()
            .find(|o| o.logged.is_none() && o.to == to && &o.msg == msg)
        {
            o.logged = Some(at);
            let chan = self.channels.entry((e.party, to)).or_default();
            if !chan.ever.contains(msg) {
                chan.ever.insert(msg.clone());
            }
            if !self.cfg.network.duplicating {
                // (On a duplicating network any message once sent stays deliverable.)
                chan.open.push(Sent {
                    msg: msg.clone(),
                    at,
                    fate: Fate::InFlight,
                });
            }
            return Ok(());
        }
        let already = outputs
            .iter()
            .find(|o| o.to == to && &o.msg == msg)
            .and_then(|o| o.logged);
        ruled_out(Reason::NotSentByStep {
            party: e.party,
            to,
            msg: msg.clone(),
            step: self.last_step[ix].clone(),
            sent: outputs.iter().map(|o| (o.to, o.msg.clone())).collect(),
            already_logged: already,
        })
    }

    /// After a timeout: if the step taken for it did not send `msg` to `to` (unlogged) but
    /// another armed timer's step did, and also made every send logged since, that timer is the
    /// one that fired — its step replaces the first one.
    fn switch_timer(&mut self, ix: usize, to: Party, msg: &Msg) {
        if self.alternatives[ix].is_empty()
            || self.outputs[ix]
                .iter()
                .any(|o| o.logged.is_none() && o.to == to && &o.msg == msg)
        {
            return;
        }
        let logged: Vec<(Party, &Msg, Mark)> = self.outputs[ix]
            .iter()
            .filter_map(|o| o.logged.map(|at| (o.to, &o.msg, at)))
            .collect();
        let fits = |out: &Vec<(Party, Msg)>| {
            let mut left: Vec<&(Party, Msg)> = out.iter().collect();
            for (t, m) in logged.iter().map(|(t, m, _)| (*t, *m)).chain([(to, msg)]) {
                match left.iter().position(|(t2, m2)| *t2 == t && m2 == m) {
                    Some(i) => {
                        left.remove(i);
                    }
                    None => return false,
                }
            }
            true
        };
        let Some(i) = self.alternatives[ix]
            .iter()
            .position(|(_, out, _)| fits(out))
        else {
            return;
        };
        let (state, out, stored) = self.alternatives[ix].remove(i);
        let marks: Vec<(Party, Msg, Mark)> = logged
            .into_iter()
            .map(|(t, m, at)| (t, m.clone(), at))
            .collect();
        let old_state = std::mem::replace(&mut self.states[ix], state.clone());
        let old_stored = std::mem::replace(&mut self.stored[ix], stored);
        let old_out: Vec<(Party, Msg)> = self.outputs[ix]
            .iter()
            .map(|o| (o.to, o.msg.clone()))
            .collect();
        self.alternatives[ix].push((old_state, old_out, old_stored));
        if let Some(last) = self.history[ix].back_mut() {
            last.1 = state;
        }
        let mut outputs: Vec<Output> = out
            .into_iter()
            .map(|(to, msg)| Output {
                to,
                msg,
                logged: None,
            })
            .collect();
        for (t, m, at) in marks {
            if let Some(o) = outputs
                .iter_mut()
                .find(|o| o.logged.is_none() && o.to == t && o.msg == m)
            {
                o.logged = Some(at);
            }
        }
        self.outputs[ix] = outputs;
    }

    /// A delivery (or, `lost`, a loss) of `msg` from observed `from` to observed `to` takes one
    /// logged send of it.
    fn take(
        &mut self,
        at: Mark,
        from: Party,
        to: Party,
        msg: &Msg,
        lost: bool,
    ) -> Result<(), Box<Reason>> {
        let net = self.cfg.network;
        let unlogged = self.outputs[self.ix(from)]
            .iter()
            .any(|o| o.logged.is_none() && o.to == to && &o.msg == msg)
            .then(|| self.last_step[self.ix(from)].clone())
            .flatten();
        let chan = self.channels.entry((from, to)).or_default();
        if net.duplicating {
            // A duplicating network may deliver any message sent, however often.
            if chan.ever.contains(msg) {
                return Ok(());
            }
        } else if let Some(i) = chan.open.iter().position(|s| &s.msg == msg) {
            if net.ordering == Ordering::Ordered {
                if !net.lossy && i > 0 {
                    let ahead = &chan.open[0];
                    return ruled_out(Reason::BehindOnChannel {
                        from,
                        to,
                        msg: msg.clone(),
                        ahead: ahead.msg.clone(),
                        ahead_sent: ahead.at,
                    });
                }
                // On a lossy FIFO channel the messages ahead were lost on the way.
                for mut s in chan.open.drain(..i) {
                    s.fate = Fate::Lost(at);
                    close(&mut chan.closed, s);
                }
            }
            let mut s = chan.open.remove(if net.ordering == Ordering::Ordered {
                0
            } else {
                i
            });
            s.fate = if lost {
                Fate::Lost(at)
            } else {
                Fate::Delivered(at)
            };
            close(&mut chan.closed, s);
            return Ok(());
        }
        let sends = chan
            .closed
            .iter()
            .filter(|s| &s.msg == msg)
            .map(|s| (s.at, s.fate))
            .collect();
        ruled_out(Reason::NotInFlight {
            from,
            to,
            msg: msg.clone(),
            sends,
            unlogged_send: unlogged,
        })
    }

    fn fault(&mut self, at: Mark, e: &Event) -> Result<(), Box<Reason>> {
        let (Some(to), Some(msg), Some(fault)) = (e.peer, e.msg.as_ref(), e.fault) else {
            return Ok(());
        };
        let net = self.cfg.network;
        let allowed = match fault {
            Fault::Lost => net.lossy,
            Fault::Duplicated => net.duplicating,
            Fault::Reordered => net.ordering == Ordering::Unordered,
        };
        if !allowed {
            return ruled_out(Reason::NetworkCannot {
                fault,
                network: net,
            });
        }
        let sent = self
            .channels
            .get(&(e.party, to))
            .is_some_and(|c| c.ever.contains(msg));
        if !sent {
            return ruled_out(Reason::FaultOfUnsent {
                fault,
                from: e.party,
                to,
                msg: msg.clone(),
            });
        }
        if fault == Fault::Lost && self.is_observed(to) && !net.duplicating {
            return self.take(at, e.party, to, msg, true);
        }
        // Whether an unobserved receiver already took it is the search's question; a
        // duplicating network may still hold another copy.
        Ok(())
    }
}

/// The last state a step's commands write to the database.
fn last_save<A>(o: &Out<A>) -> Option<A::Storage>
where
    A: Actor,
    A::Storage: Clone,
{
    o.iter().rev().find_map(|c| match c {
        Command::Save(s) => Some(s.clone()),
        _ => None,
    })
}

fn ruled_out(r: Reason) -> Result<(), Box<Reason>> {
    Err(Box::new(r))
}

fn close(closed: &mut VecDeque<Sent>, s: Sent) {
    if closed.len() >= KEEP_CLOSED {
        closed.pop_front();
    }
    closed.push_back(s);
}

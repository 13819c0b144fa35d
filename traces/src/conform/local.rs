//! The observed parties on their own: each one's state, replayed from its own events.
//!
//! An observed party logs every step it takes (each delivery it acts on, each choice) and the
//! sends each step makes. Its state therefore follows from its own events alone, whatever the
//! unobserved parties did, and so do the messages it sends. This module replays those states and
//! keeps the books on the messages observed parties exchanged; that decides exactly, without any
//! search, whether a send, a choice or a missing send is possible, and, conservatively, whether a
//! delivery from an observed sender or a fault is (a message never sent cannot arrive).
//!
//! What it cannot decide — a delivery from an unobserved sender, a loss of a message an
//! unobserved party may already have received — is left to the search ([`super::search`]).

use super::explain::Reason;
use crate::format::{Event, EventKind, Fault};
use jpkisim_model::actors::{PartyActor, PartyState};
use jpkisim_model::config::Ordering;
use jpkisim_model::ids::Party;
use jpkisim_model::msg::Msg;
use jpkisim_model::{Config, JpkiModel, Topology};
use std::collections::HashMap;

/// A message an observed party's step sent, and whether its `send` line was logged yet.
#[derive(Clone, Debug)]
pub(super) struct Output {
    pub to: Party,
    pub msg: Msg,
    /// The position of its `send` line, once logged.
    pub logged: Option<usize>,
}

/// What happened to a logged send between two observed parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate {
    InFlight,
    Delivered(usize),
    Lost(usize),
}

/// One logged send on a channel between observed parties.
#[derive(Clone, Debug)]
struct Sent {
    msg: Msg,
    at: usize,
    fate: Fate,
}

/// The observed parties' replay up to some position of the trace.
pub(super) struct Local<'a> {
    model: &'a JpkiModel,
    topo: Topology,
    cfg: Config,
    observed: Vec<bool>,
    /// Every party's state (only observed ones move).
    pub states: Vec<PartyState>,
    /// Each observed party's states after each of its steps: (position, state). The first entry
    /// is the initial state (position `usize::MAX`).
    pub history: Vec<Vec<(usize, PartyState)>>,
    /// The outputs of each party's last step.
    pub outputs: Vec<Vec<Output>>,
    /// The position of each party's last step.
    pub last_step: Vec<Option<usize>>,
    /// Logged sends between observed parties, by (sender, receiver), in send order.
    channels: HashMap<(Party, Party), Vec<Sent>>,
}

impl<'a> Local<'a> {
    pub(super) fn new(model: &'a JpkiModel, cfg: Config, observed: &[bool]) -> Local<'a> {
        let topo = Topology::of(&cfg);
        let states: Vec<PartyState> = model
            .actors
            .iter()
            .map(PartyActor::initial_state)
            .collect();
        let history = states
            .iter()
            .map(|s| vec![(usize::MAX, s.clone())])
            .collect();
        let n = states.len();
        Local {
            model,
            topo,
            cfg,
            observed: observed.to_vec(),
            states,
            history,
            outputs: vec![Vec::new(); n],
            last_step: vec![None; n],
            channels: HashMap::new(),
        }
    }

    fn ix(&self, p: Party) -> usize {
        usize::from(self.topo.id(p))
    }

    pub(super) fn is_observed(&self, p: Party) -> bool {
        self.observed.get(self.ix(p)).copied().unwrap_or(false)
    }

    /// The state of party `p` now.
    pub(super) fn state(&self, p: Party) -> &PartyState {
        &self.states[self.ix(p)]
    }

    /// Sends of `p`'s last step not logged yet.
    pub(super) fn unlogged(&self, p: Party) -> Vec<(Party, Msg)> {
        self.outputs[self.ix(p)]
            .iter()
            .filter(|o| o.logged.is_none())
            .map(|o| (o.to, o.msg.clone()))
            .collect()
    }

    /// The first observed party (in actor order) with sends still unlogged, with its last step.
    pub(super) fn first_unlogged(&self) -> Option<(Party, usize, Vec<(Party, Msg)>)> {
        self.topo.parties().into_iter().find_map(|p| {
            let missing = self.unlogged(p);
            if missing.is_empty() {
                return None;
            }
            Some((p, self.last_step[self.ix(p)]?, missing))
        })
    }

    /// Checks the event at position `pos` against the observed parties' books and applies it.
    /// `Err` is a proof that no run of the model has this event here.
    pub(super) fn step(&mut self, pos: usize, e: &Event) -> Result<(), Reason> {
        match e.kind {
            EventKind::Send => self.send(pos, e),
            EventKind::Deliver => {
                self.no_missing_sends(e.party)?;
                let (Some(from), Some(msg)) = (e.peer, e.msg.as_ref()) else {
                    return Ok(());
                };
                if self.is_observed(from) {
                    self.take(pos, from, e.party, msg, false)?;
                }
                let ix = self.ix(e.party);
                let actor = &self.model.actors[ix];
                let step = actor.deliver(&self.states[ix], from, msg);
                self.took_step(pos, e.party, step.state, step.out.0);
                Ok(())
            }
            EventKind::Choice => {
                self.no_missing_sends(e.party)?;
                let Some(choice) = e.choice else {
                    return Ok(());
                };
                let ix = self.ix(e.party);
                let actor = &self.model.actors[ix];
                let offered = actor.choices(&self.states[ix]);
                if !offered.contains(&choice) {
                    return Err(Reason::ChoiceNotOffered {
                        party: e.party,
                        choice,
                        offered,
                    });
                }
                let step = actor.choose(&self.states[ix], choice);
                self.took_step(pos, e.party, step.state, step.out.0);
                Ok(())
            }
            EventKind::Timeout => Ok(()),
            EventKind::Fault => self.fault(pos, e),
        }
    }

    fn took_step(&mut self, pos: usize, p: Party, state: PartyState, out: Vec<(Party, Msg)>) {
        let ix = self.ix(p);
        self.history[ix].push((pos, state.clone()));
        self.states[ix] = state;
        self.outputs[ix] = out
            .into_iter()
            .map(|(to, msg)| Output {
                to,
                msg,
                logged: None,
            })
            .collect();
        self.last_step[ix] = Some(pos);
    }

    fn no_missing_sends(&self, p: Party) -> Result<(), Reason> {
        let missing = self.unlogged(p);
        match (missing.is_empty(), self.last_step[self.ix(p)]) {
            (false, Some(step)) => Err(Reason::SendsNotLogged {
                party: p,
                step,
                missing,
            }),
            _ => Ok(()),
        }
    }

    fn send(&mut self, pos: usize, e: &Event) -> Result<(), Reason> {
        let (Some(to), Some(msg)) = (e.peer, e.msg.as_ref()) else {
            return Ok(());
        };
        let ix = self.ix(e.party);
        let step = self.last_step[ix];
        let outputs = &mut self.outputs[ix];
        if let Some(o) = outputs
            .iter_mut()
            .find(|o| o.logged.is_none() && o.to == to && &o.msg == msg)
        {
            o.logged = Some(pos);
            self.channels.entry((e.party, to)).or_default().push(Sent {
                msg: msg.clone(),
                at: pos,
                fate: Fate::InFlight,
            });
            return Ok(());
        }
        let already = outputs
            .iter()
            .find(|o| o.to == to && &o.msg == msg)
            .and_then(|o| o.logged);
        Err(Reason::NotSentByStep {
            party: e.party,
            to,
            msg: msg.clone(),
            step,
            sent: outputs.iter().map(|o| (o.to, o.msg.clone())).collect(),
            already_logged: already,
        })
    }

    /// A delivery (or, `lost`, a loss) of `msg` from observed `from` to `to` takes one logged
    /// send of it.
    fn take(
        &mut self,
        pos: usize,
        from: Party,
        to: Party,
        msg: &Msg,
        lost: bool,
    ) -> Result<(), Reason> {
        let net = self.cfg.network;
        let unlogged = self.outputs[self.ix(from)]
            .iter()
            .find(|o| o.logged.is_none() && o.to == to && &o.msg == msg)
            .and_then(|_| self.last_step[self.ix(from)]);
        let chan = self.channels.entry((from, to)).or_default();
        if net.duplicating {
            // A duplicating network may deliver any message sent, however often.
            if chan.iter().any(|s| &s.msg == msg) {
                return Ok(());
            }
        } else {
            let found = chan
                .iter()
                .position(|s| &s.msg == msg && s.fate == Fate::InFlight);
            if let Some(i) = found {
                if net.ordering == Ordering::Ordered && !net.lossy {
                    if let Some(ahead) = chan[..i].iter().find(|s| s.fate == Fate::InFlight) {
                        return Err(Reason::BehindOnChannel {
                            from,
                            to,
                            msg: msg.clone(),
                            ahead: ahead.msg.clone(),
                            ahead_sent: ahead.at,
                        });
                    }
                }
                if net.ordering == Ordering::Ordered {
                    // Earlier messages on a FIFO channel were lost on the way.
                    for s in chan[..i].iter_mut().filter(|s| s.fate == Fate::InFlight) {
                        s.fate = Fate::Lost(pos);
                    }
                }
                chan[i].fate = if lost {
                    Fate::Lost(pos)
                } else {
                    Fate::Delivered(pos)
                };
                return Ok(());
            }
        }
        let gone = chan
            .iter()
            .filter(|s| &s.msg == msg)
            .map(|s| (s.at, s.fate))
            .collect::<Vec<_>>();
        Err(Reason::NotInFlight {
            from,
            to,
            msg: msg.clone(),
            sends: gone,
            unlogged_send: unlogged,
        })
    }

    fn fault(&mut self, pos: usize, e: &Event) -> Result<(), Reason> {
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
            return Err(Reason::NetworkCannot { fault, network: net });
        }
        let chan = self.channels.entry((e.party, to)).or_default();
        if !chan.iter().any(|s| &s.msg == msg) {
            return Err(Reason::FaultOfUnsent {
                fault,
                from: e.party,
                to,
                msg: msg.clone(),
            });
        }
        if !self.is_observed(to) || net.duplicating {
            // Whether an unobserved receiver already took it is the search's question; a
            // duplicating network may still hold another copy.
            return Ok(());
        }
        match fault {
            Fault::Lost => self.take(pos, e.party, to, msg, true),
            Fault::Duplicated => Ok(()),
            Fault::Reordered => Ok(()),
        }
    }
}

//! What survives a crash and what a timer may do: the parties' timers, which parties crash,
//! what each makes durable, and how each restarts from it (docs/recovery.md).
//!
//! A timer is not a clock: it is armed while its party waits for something that a lost message
//! or a crashed peer could keep from ever coming, and it may fire at any moment while armed
//! (also while the answer is on its way). Which timers are armed is a function of the party's
//! state ([`armed`]), so that the Stateright adapter and the reference runtime arm the same ones.
//! Timers exist only where `Config::timers_armed` says something can be lost.

use crate::actors::{JpkiState, PartyState, Topology};
use crate::ca;
use crate::config::{Config, Flaw, Timeouts};
use crate::crypto::Subject;
use crate::crypto::Symbolic;
use crate::ids::{Party, PersonId, SeId};
use crate::msg::Msg;
use crate::se_tsm;
use crate::sp_tsm;
use crate::sp_tsm::{AbortReason, IssuanceSession, Stage};
use crate::transition::Ctx;
use crate::world::{delivery_is_idle, envelopes};
use serde::{Deserialize, Serialize};

/// A party's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PartyTimer {
    /// The SP-TSM's timer on the issuance session of a person.
    Session(PersonId),
    /// The SE issuer's TSM's timer on a SIM leaving service.
    Retirement(SeId),
}

/// The parties that may crash (`--crashes`): the back-end servers whose state is a database.
/// Phones, SEs and people do not restart from storage; the relying party and the MVNO keep
/// nothing an issuance depends on.
pub fn crashable(party: Party) -> bool {
    matches!(party, Party::Ca | Party::SpTsm | Party::SeTsm)
}

/// The timers armed in `state`, in order (none where the configuration arms no timers).
pub fn armed(cfg: &Config, state: &PartyState) -> Vec<PartyTimer> {
    if !cfg.timers_armed() {
        return Vec::new();
    }
    let ctx = Ctx {
        cfg,
        crypto: &Symbolic,
    };
    match state {
        PartyState::SpTsm(s) => sp_tsm::armed_timers(s).map(PartyTimer::Session).collect(),
        PartyState::SeTsm(s) => se_tsm::armed_timers(&ctx, s)
            .map(PartyTimer::Retirement)
            .collect(),
        _ => Vec::new(),
    }
}

/// What a crashable party writes to its database after a step from `before` to `after`: the
/// new state, since each party commits a step before its messages leave — except the SP-TSM
/// with flaw `sp_tsm_answers_before_persisting` (the matrix's `answer first`), which commits a
/// step only when it takes the next one, so that its database lags its answers by one step. A
/// retry is the exception: it re-sends a request the database already holds and writes only its
/// attempt count, so it is committed as taken. (Were the count lost too, every crash after a
/// retry would buy one more retry, and a crash-looping SP-TSM would re-send without end: a real
/// retry storm, but one no finite check can explore.)
pub fn durable_after<'a>(
    cfg: &Config,
    before: &'a PartyState,
    after: &'a PartyState,
) -> &'a PartyState {
    match (before, after) {
        (PartyState::SpTsm(b), PartyState::SpTsm(a))
            if cfg.flaws.has(Flaw::SpTsmAnswersBeforePersisting) && !sp_tsm::is_retry(b, a) =>
        {
            before
        }
        _ => after,
    }
}

/// The state a crashed party restarts in, from what its database holds: everything it wrote,
/// except what the design keeps only in memory (the flawed CA's index of issued applications).
pub fn restart(stored: &PartyState) -> PartyState {
    match stored {
        PartyState::Ca(s) => PartyState::Ca(ca::restart(s)),
        other => other.clone(),
    }
}

/// Whether a timer fired before its time in `state`: with patient timers (the default), a timer
/// fires only once nothing of the exchange it waits for is on its way, so a state holding two
/// messages of one exchange — the request and its retry, or a retry and the late answer — is one
/// that only an early timeout reaches. The model's boundary leaves such states out (what an
/// eager timer does is `--timeouts eager`'s). Messages the intruder injects are its own, not the
/// exchange's, and are not counted.
pub fn fired_early(cfg: &Config, state: &JpkiState) -> bool {
    // On a duplicating network every message sent stays replayable: a retry adds nothing to it,
    // and a delivered request is still "on its way". Timers there may fire at any moment.
    if !cfg.timers_armed() || cfg.timeouts == Timeouts::Eager || cfg.network.duplicating {
        return false;
    }
    let mut sessions: Vec<(PersonId, IssuanceSession)> = Vec::new();
    let mut retiring: Vec<SeId> = Vec::new();
    for s in state.actor_states.iter() {
        match &**s {
            PartyState::SpTsm(sp) => sessions.extend(
                sp.persons
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| r.in_flight.map(|s| (PersonId(i as u8), s))),
            ),
            PartyState::SeTsm(t) => retiring.extend(
                t.service
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| matches!(s, se_tsm::Service::Retiring(_)))
                    .map(|(i, _)| SeId(i as u8)),
            ),
            _ => {}
        }
    }
    if sessions.is_empty() && retiring.is_empty() {
        return false;
    }
    let topo = Topology::of(cfg);
    // A request its addressee would take without effect (the applet it was for is locked) is not
    // on its way to anything: a timer does not wait for it. Counting it made a patient timer
    // wait for ever (found by `jpkisim liveness`). Only messages to others than the timers'
    // owners are judged so: the timer's own firing leaves their addressees as they were, while
    // an answer to the owner may be one it ignores only because its timer fired early.
    let live = |e: &stateright::actor::Envelope<&Msg>| {
        matches!(topo.party(e.dst), Party::SpTsm | Party::SeTsm)
            || !delivery_is_idle(cfg, &topo, state, e)
    };
    let genuine = envelopes(&state.network).filter_map(|e| match e.msg {
        Msg::Intercepted { genuine: false, .. } => None,
        Msg::Intercepted { msg, .. } => Some((&**msg, None)),
        other => Some((other, Some(e))),
    });
    let mut counts = vec![0u8; sessions.len() + retiring.len()];
    for (msg, env) in genuine {
        if let Some(i) = sessions
            .iter()
            .position(|(p, s)| of_session(*p, s, msg))
            .or_else(|| {
                retiring
                    .iter()
                    .position(|se| of_retirement(*se, msg))
                    .map(|i| i + sessions.len())
            })
        {
            if env.as_ref().is_some_and(|e| !live(e)) {
                continue;
            }
            counts[i] += 1;
            if counts[i] > 1 {
                return true;
            }
        }
    }
    false
}

/// Whether `msg` belongs to the exchange the session of `person` waits on in its stage. An
/// aborting session waits on its abort and on the exchange it gave up, so that an abort, too,
/// is patient: it comes only once that exchange's request or answer was lost.
fn of_session(person: PersonId, s: &IssuanceSession, msg: &Msg) -> bool {
    let app = s.app;
    let phase = match s.stage {
        Stage::Installing => Phase::Install,
        Stage::Certifying { .. } => Phase::Certify,
        Stage::Personalising { .. } => Phase::Personalise,
        Stage::Aborting(why) => {
            if matches!(msg, Msg::AbortIssue { person: p, app: a } | Msg::IssueRefused { person: p, app: a }
                if *p == person && *a == app)
            {
                return true;
            }
            match why {
                AbortReason::InstallRefused | AbortReason::NoInstallation => Phase::Install,
                AbortReason::NoCertificate => Phase::Certify,
                AbortReason::NoPersonalisation => Phase::Personalise,
            }
        }
    };
    match (phase, msg) {
        (
            Phase::Install,
            Msg::InstallApplet {
                person: p, app: a, ..
            }
            | Msg::AuthoriseInstall {
                person: p, app: a, ..
            }
            | Msg::Install { person: p, app: a }
            | Msg::InstallRefused { person: p, app: a }
            | Msg::AppletInstalled {
                person: p, app: a, ..
            },
        ) => *p == person && *a == app,
        (
            Phase::Certify,
            Msg::IssueCert {
                person: p, app: a, ..
            }
            | Msg::IssueRefused { person: p, app: a },
        ) => *p == person && *a == app,
        (Phase::Certify, Msg::CertIssued { app: a, cert }) => {
            *a == app && matches!(cert.subject, Subject::Phone { person: p, .. } if p == person)
        }
        (Phase::Personalise, Msg::StoreData { app: a, cert, .. }) => {
            *a == app && matches!(cert.subject, Subject::Phone { person: p, .. } if p == person)
        }
        (
            Phase::Personalise,
            Msg::Personalised {
                person: p, app: a, ..
            },
        ) => *p == person && *a == app,
        _ => false,
    }
}

/// The exchanges of an issuance session.
#[derive(Clone, Copy)]
enum Phase {
    Install,
    Certify,
    Personalise,
}

/// Whether `msg` belongs to the revocation exchange of a SIM leaving service.
fn of_retirement(se: SeId, msg: &Msg) -> bool {
    matches!(msg, Msg::RevokeForSe { se: s } | Msg::SeRevoked { se: s } if *s == se)
}

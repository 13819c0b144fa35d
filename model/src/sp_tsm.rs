//! J-LIS's service-provider TSM: verifies card-signed applications, enforces one device per
//! person, drives applet installation through the SE issuer's TSM, has the CA certify the key,
//! and personalises the applet with STORE DATA.
//!
//! One issuance per person is in flight at a time; a second application while one is in flight is
//! refused, and a retried or duplicated application for the same number changes nothing (seed 004:
//! "even a first issuance must check that nothing is issued yet or that it is revoked").
//!
//! Where timers are armed (`Config::timers_armed`: messages can be lost or parties crash), a
//! session also recovers: its timer re-sends the stage's request up to [`MAX_ATTEMPTS`] times —
//! every receiver answers a repeated request as it answered the first — then aborts with a typed
//! [`AbortReason`], having the CA refuse the application and revoke whatever it issued for it
//! before the session ends (docs/recovery.md). The SP-TSM then also waits for the SE to confirm
//! personalisation, so that a lost `StoreData` is sent again rather than forgotten.

use crate::config::{Carrier, Flaw, KeyGen, Proofing};
use crate::crypto::{Certificate, Crypto, Digest, KeyDelivery, KeyName, PublicKey, Subject};
use crate::ids::{AppNo, Party, PersonId, SeId, Serial};
use crate::msg::{Application, Msg};
use crate::transition::{pure, Ctx, Outbox, Step};
use serde::{Deserialize, Serialize};

/// How many times a session sends one stage's request (the first time and the retries) before
/// its timer aborts the session.
pub const MAX_ATTEMPTS: u8 = 2;

/// Where an issuance session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Waiting for the applet to be installed on the SE.
    Installing,
    /// Waiting for the CA to certify `key`.
    Certifying {
        /// The key sent for certification.
        key: PublicKey,
        /// In centre mode, the private key J-LIS generated (to deliver sealed).
        center_key: Option<KeyName>,
    },
    /// Waiting for the SE to confirm that it stored the certificate (only where timers are
    /// armed: elsewhere `StoreData` always arrives and the session ends when it is sent).
    Personalising {
        /// The certificate sent.
        cert: Certificate,
        /// The centre-generated key as delivered, sent again with the certificate.
        delivery: Option<KeyDelivery>,
    },
    /// Given up: waiting for the CA to confirm that the application is refused and anything
    /// issued for it revoked. The timer re-sends `AbortIssue` until the CA answers.
    Aborting(AbortReason),
}

/// Why a session was aborted: which answer never came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbortReason {
    /// The SE issuer's TSM refused to install (the SE is not the person's, or out of service).
    InstallRefused,
    /// The SE never reported the applet installed.
    NoInstallation,
    /// The CA never answered the issue request.
    NoCertificate,
    /// The SE never confirmed personalisation.
    NoPersonalisation,
}

/// An issuance in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub struct IssuanceSession {
    /// Application number.
    pub app: AppNo,
    /// Designated SE.
    pub se: SeId,
    /// Card certificate that signed the application.
    pub card: Serial,
    /// Progress.
    pub stage: Stage,
    /// How many times the stage's request was sent (1 until a timer retries it; past
    /// [`MAX_ATTEMPTS`] only with flaw `timer_never_aborts`).
    #[serde(default = "first_attempt")]
    pub attempts: u8,
}

fn first_attempt() -> u8 {
    1
}

/// Written for people (JSON: traces, counterexamples, the Explorer) without `attempts` while it
/// is 1, so that a session reads as it did before recovery; written whole for machines (the
/// cluster's bincode frames), whose formats cannot skip a field.
impl Serialize for IssuanceSession {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let whole = !s.is_human_readable() || self.attempts != 1;
        let mut st = s.serialize_struct("IssuanceSession", if whole { 5 } else { 4 })?;
        st.serialize_field("app", &self.app)?;
        st.serialize_field("se", &self.se)?;
        st.serialize_field("card", &self.card)?;
        st.serialize_field("stage", &self.stage)?;
        if whole {
            st.serialize_field("attempts", &self.attempts)?;
        } else {
            st.skip_field("attempts")?;
        }
        st.end()
    }
}

impl IssuanceSession {
    /// Whether the session's timer is armed (where timers are armed at all): while it has a
    /// request to re-send, an abort to make, or an abort to confirm.
    pub fn timer_armed(&self) -> bool {
        matches!(self.stage, Stage::Aborting(_)) || self.attempts <= MAX_ATTEMPTS
    }
}

/// What the SP-TSM knows about one person.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PersonRecord {
    /// The issuance in flight, if any.
    pub in_flight: Option<IssuanceSession>,
    /// The person's current phone certificate, superseded by the next issuance.
    pub current: Option<Serial>,
    /// The highest application number accepted so far (older numbers are stale replays).
    pub last_app: Option<AppNo>,
}

/// The SP-TSM's state: one record per person.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SpTsmState {
    /// Indexed by person.
    pub persons: Vec<PersonRecord>,
}

/// Whether the step from `before` to `after` was a retry: it changed nothing but the attempt
/// count of a session (what the flawed SP-TSM's database writes as it is taken,
/// `recovery::durable_after`).
pub fn is_retry(before: &SpTsmState, after: &SpTsmState) -> bool {
    let without_attempts = |s: &SpTsmState| {
        let mut s = s.clone();
        for r in &mut s.persons {
            if let Some(session) = &mut r.in_flight {
                session.attempts = 0;
            }
        }
        s
    };
    before != after && without_attempts(before) == without_attempts(after)
}

/// Initial state: nothing known about anyone.
pub fn init<C: Crypto>(ctx: &Ctx<'_, C>) -> SpTsmState {
    SpTsmState {
        persons: vec![PersonRecord::default(); usize::from(ctx.cfg.persons)],
    }
}

/// The digest an application's proof covers. The SE is left out when the design is flawed, and
/// with mail-based proofing, whose access code is mailed before the applicant picks the phone it
/// will be typed into (seed 002's credit-card flow), so nothing binds it to one SE.
pub fn application_digest<C: Crypto>(
    ctx: &Ctx<'_, C>,
    person: PersonId,
    se: SeId,
    app: AppNo,
    card: Serial,
) -> Digest {
    let covers_se =
        !ctx.flawed(Flaw::UnboundSeInApplication) && ctx.cfg.proofing == Proofing::CardSignature;
    Digest::Application {
        person,
        se: covers_se.then_some(se),
        app,
        card,
    }
}

/// The key whose proof an application must carry: the card's signing key, or with mail-based
/// proofing the access code mailed to the person for this application.
pub fn application_key<C: Crypto>(
    ctx: &Ctx<'_, C>,
    person: PersonId,
    app: AppNo,
    card_cert: &Certificate,
) -> PublicKey {
    match ctx.cfg.proofing {
        Proofing::CardSignature => card_cert.key,
        Proofing::Mail => PublicKey(KeyName::AccessCode { person, app }),
    }
}

/// Whether an application carries a valid proof (card signature or access code) for the person it
/// names, with that person's card certificate.
pub fn application_verifies<C: Crypto>(ctx: &Ctx<'_, C>, a: &Application) -> bool {
    matches!(a.card_cert.subject, Subject::Card { person, .. } if person == a.person)
        && ctx.crypto.certificate_genuine(&a.card_cert)
        && ctx.crypto.verify(
            application_key(ctx, a.person, a.app, &a.card_cert),
            application_digest(ctx, a.person, a.se, a.app, a.card_cert.serial),
            a.sig,
        )
}

/// The SP-TSM's transition on a delivered message.
pub fn on_msg<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &SpTsmState,
    from: Party,
    msg: &Msg,
) -> Step<SpTsmState> {
    pure(state, |sp, out| handle(ctx, sp, from, msg, out))
}

fn handle<C: Crypto>(
    ctx: &Ctx<'_, C>,
    sp: &mut SpTsmState,
    from: Party,
    msg: &Msg,
    out: &mut Outbox,
) {
    match *msg {
        Msg::Apply(a) => apply(ctx, sp, &a, out),
        // A refusal counts only in the stage it answers: a replayed refusal must not cancel a
        // session that has moved on (found by the model checker on a duplicating network).
        Msg::InstallRefused { person, app } if from == Party::SeTsm => {
            install_refused(ctx, sp, person, app, out)
        }
        Msg::AppletInstalled {
            person,
            se,
            app,
            key,
            ..
        } if from == Party::Se(se) => applet_installed(ctx, sp, person, se, app, key, out),
        Msg::CertIssued { app, cert } if from == Party::Ca => cert_issued(ctx, sp, app, cert, out),
        // The CA's refusal ends a session waiting for a certificate, or confirms an abort.
        Msg::IssueRefused { person, app } if from == Party::Ca => {
            end_session(sp, person, app, |stage| {
                matches!(stage, Stage::Certifying { .. } | Stage::Aborting(_))
            })
        }
        Msg::Personalised { person, se, app } if from == Party::Se(se) => {
            end_session(sp, person, app, |stage| {
                matches!(stage, Stage::Personalising { cert, .. }
                    if matches!(cert.subject, Subject::Phone { se: s, .. } if s == se))
            })
        }
        _ => {}
    }
}

/// The SE issuer's TSM refused the installation. Where timers are armed, a retry of the same
/// request may meanwhile have installed the applet (an eager timer, then the late refusal: found
/// by the model checker, `no_se_half_personalised` with `--timeouts eager`), so the session ends
/// only through the CA, which refuses the application for good; elsewhere it ends at once.
fn install_refused<C: Crypto>(
    ctx: &Ctx<'_, C>,
    sp: &mut SpTsmState,
    person: PersonId,
    app: AppNo,
    out: &mut Outbox,
) {
    if !ctx.cfg.timers_armed() {
        end_session(sp, person, app, |stage| stage == Stage::Installing);
        return;
    }
    let Some(session) = sp
        .persons
        .get_mut(usize::from(person.0))
        .and_then(|r| r.in_flight.as_mut())
        .filter(|s| s.app == app && s.stage == Stage::Installing)
    else {
        return;
    };
    abort(session, person, AbortReason::InstallRefused, out);
}

/// Gives the session up for `why` (or asks again): the CA must refuse the application for good
/// and revoke what it issued for it before the session ends.
fn abort(session: &mut IssuanceSession, person: PersonId, why: AbortReason, out: &mut Outbox) {
    session.stage = Stage::Aborting(why);
    out.send(
        Party::Ca,
        Msg::AbortIssue {
            person,
            app: session.app,
        },
    );
}

/// Ends the person's session for `app` if it is in a stage `in_stage` accepts.
fn end_session(
    sp: &mut SpTsmState,
    person: PersonId,
    app: AppNo,
    in_stage: impl Fn(Stage) -> bool,
) {
    if let Some(rec) = sp.persons.get_mut(usize::from(person.0)) {
        if rec
            .in_flight
            .is_some_and(|s| s.app == app && in_stage(s.stage))
        {
            rec.in_flight = None;
        }
    }
}

fn apply<C: Crypto>(ctx: &Ctx<'_, C>, sp: &mut SpTsmState, a: &Application, out: &mut Outbox) {
    if !application_verifies(ctx, a) {
        return;
    }
    let Some(rec) = sp.persons.get_mut(usize::from(a.person.0)) else {
        return;
    };
    // Stale or repeated application numbers are replays or retries: nothing new happens.
    if rec.last_app.is_some_and(|last| a.app <= last) {
        return;
    }
    // One issuance at a time per person.
    if rec.in_flight.is_some() {
        return;
    }
    rec.last_app = Some(a.app);
    rec.in_flight = Some(IssuanceSession {
        app: a.app,
        se: a.se,
        card: a.card_cert.serial,
        stage: Stage::Installing,
        attempts: 1,
    });
    request_install(ctx, a.person, a.se, a.app, out);
}

/// Asks for the applet: through the SE issuer's TSM, or through the MVNO for its subscribers.
fn request_install<C: Crypto>(
    ctx: &Ctx<'_, C>,
    person: PersonId,
    se: SeId,
    app: AppNo,
    out: &mut Outbox,
) {
    let via = match ctx.cfg.carrier {
        Carrier::Mvno => Party::Mvno,
        Carrier::Mno => Party::SeTsm,
    };
    out.send(via, Msg::InstallApplet { person, se, app });
}

/// Asks the CA to certify the session's key, superseding the person's current certificate.
fn request_cert<C: Crypto>(
    ctx: &Ctx<'_, C>,
    current: Option<Serial>,
    person: PersonId,
    session: &IssuanceSession,
    key: PublicKey,
    out: &mut Outbox,
) {
    let supersedes = if ctx.flawed(Flaw::SkipIssuedCheck) {
        None
    } else {
        current
    };
    out.send(
        Party::Ca,
        Msg::IssueCert {
            person,
            se: session.se,
            app: session.app,
            key,
            card: session.card,
            supersedes,
        },
    );
}

fn applet_installed<C: Crypto>(
    ctx: &Ctx<'_, C>,
    sp: &mut SpTsmState,
    person: PersonId,
    se: SeId,
    app: AppNo,
    key: Option<PublicKey>,
    out: &mut Outbox,
) {
    let Some(rec) = sp.persons.get_mut(usize::from(person.0)) else {
        return;
    };
    let Some(session) = rec.in_flight.as_mut() else {
        return;
    };
    if session.app != app || session.se != se || session.stage != Stage::Installing {
        return;
    }
    let (key, center_key) = match (ctx.cfg.keygen, key) {
        (KeyGen::OnSe, Some(k)) => (k, None),
        (KeyGen::Center, None) => {
            let k = ctx.crypto.generate_at_center(person, app);
            (PublicKey(k), Some(k))
        }
        _ => return,
    };
    session.stage = Stage::Certifying { key, center_key };
    session.attempts = 1;
    request_cert(ctx, rec.current, person, session, key, out);
}

fn cert_issued<C: Crypto>(
    ctx: &Ctx<'_, C>,
    sp: &mut SpTsmState,
    app: AppNo,
    cert: Certificate,
    out: &mut Outbox,
) {
    let Subject::Phone { person, se, .. } = cert.subject else {
        return;
    };
    let Some(rec) = sp.persons.get_mut(usize::from(person.0)) else {
        return;
    };
    let Some(session) = rec.in_flight.filter(|s| s.app == app && s.se == se) else {
        return;
    };
    let Stage::Certifying { key, center_key } = session.stage else {
        return;
    };
    if cert.key != key {
        return;
    }
    let delivery = center_key.map(|k| {
        if ctx.flawed(Flaw::CenterKeyPlaintext) {
            ctx.crypto.in_clear(k)
        } else {
            ctx.crypto.seal_for(se, k)
        }
    });
    rec.in_flight = ctx.cfg.timers_armed().then_some(IssuanceSession {
        stage: Stage::Personalising { cert, delivery },
        attempts: 1,
        ..session
    });
    rec.current = Some(cert.serial);
    out.send(
        Party::Se(se),
        Msg::StoreData {
            app,
            cert,
            key: delivery,
        },
    );
}

/// The SP-TSM's transition when the session timer of `person` fires: re-send the stage's
/// request, or abort once [`MAX_ATTEMPTS`] are spent, or re-send the abort until the CA confirms.
pub fn on_timeout<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &SpTsmState,
    person: PersonId,
) -> Step<SpTsmState> {
    pure(state, |sp, out| timeout(ctx, sp, person, out))
}

fn timeout<C: Crypto>(ctx: &Ctx<'_, C>, sp: &mut SpTsmState, person: PersonId, out: &mut Outbox) {
    let Some(rec) = sp.persons.get_mut(usize::from(person.0)) else {
        return;
    };
    let current = rec.current;
    let Some(session) = rec.in_flight.as_mut() else {
        return;
    };
    if !session.timer_armed() {
        return;
    }
    let reason = match session.stage {
        Stage::Aborting(why) => return abort(session, person, why, out),
        Stage::Installing => AbortReason::NoInstallation,
        Stage::Certifying { .. } => AbortReason::NoCertificate,
        Stage::Personalising { .. } => AbortReason::NoPersonalisation,
    };
    if session.attempts >= MAX_ATTEMPTS {
        if ctx.flawed(Flaw::TimerNeverAborts) {
            // The flawed timer stops here: the session waits for good.
            session.attempts = MAX_ATTEMPTS + 1;
            return;
        }
        return abort(session, person, reason, out);
    }
    session.attempts += 1;
    match session.stage {
        Stage::Installing => request_install(ctx, person, session.se, session.app, out),
        Stage::Certifying { key, .. } => request_cert(ctx, current, person, session, key, out),
        Stage::Personalising { cert, delivery } => out.send(
            Party::Se(session.se),
            Msg::StoreData {
                app: session.app,
                cert,
                key: delivery,
            },
        ),
        Stage::Aborting(_) => {}
    }
}

/// The persons whose session timer is armed in `state` (where timers are armed at all).
pub fn armed_timers(state: &SpTsmState) -> impl Iterator<Item = PersonId> + '_ {
    state
        .persons
        .iter()
        .enumerate()
        .filter(|(_, r)| r.in_flight.is_some_and(|s| s.timer_armed()))
        .map(|(i, _)| PersonId(i as u8))
}

//! J-LIS's service-provider TSM: verifies card-signed applications, enforces one device per
//! person, drives applet installation through the SE issuer's TSM, has the CA certify the key,
//! and personalises the applet with STORE DATA.
//!
//! One issuance per person is in flight at a time; a second application while one is in flight is
//! refused, and a retried or duplicated application for the same number changes nothing (seed 004:
//! "even a first issuance must check that nothing is issued yet or that it is revoked").

use crate::config::{Carrier, Flaw, KeyGen, Proofing};
use crate::crypto::{Certificate, Crypto, Digest, KeyName, PublicKey, Subject};
use crate::ids::{AppNo, Party, PersonId, SeId, Serial};
use crate::msg::{Application, Msg};
use crate::transition::{pure, Ctx, Outbox, Step};
use serde::{Deserialize, Serialize};

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
}

/// An issuance in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IssuanceSession {
    /// Application number.
    pub app: AppNo,
    /// Designated SE.
    pub se: SeId,
    /// Card certificate that signed the application.
    pub card: Serial,
    /// Progress.
    pub stage: Stage,
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
            abandon(sp, person, app, |stage| stage == Stage::Installing)
        }
        Msg::AppletInstalled {
            person,
            se,
            app,
            key,
            ..
        } if from == Party::Se(se) => applet_installed(ctx, sp, person, se, app, key, out),
        Msg::CertIssued { app, cert } if from == Party::Ca => cert_issued(ctx, sp, app, cert, out),
        Msg::IssueRefused { person, app } if from == Party::Ca => {
            abandon(sp, person, app, |stage| {
                matches!(stage, Stage::Certifying { .. })
            })
        }
        _ => {}
    }
}

/// Ends the person's session for `app` if it is in a stage `in_stage` accepts.
fn abandon(sp: &mut SpTsmState, person: PersonId, app: AppNo, in_stage: impl Fn(Stage) -> bool) {
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
    });
    let via = match ctx.cfg.carrier {
        Carrier::Mvno => Party::Mvno,
        Carrier::Mno => Party::SeTsm,
    };
    out.send(
        via,
        Msg::InstallApplet {
            person: a.person,
            se: a.se,
            app: a.app,
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
    let supersedes = if ctx.flawed(Flaw::SkipIssuedCheck) {
        None
    } else {
        rec.current
    };
    out.send(
        Party::Ca,
        Msg::IssueCert {
            person,
            se,
            app,
            key,
            card: session.card,
            supersedes,
        },
    );
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
    rec.in_flight = None;
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

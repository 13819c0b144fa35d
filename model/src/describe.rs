//! Human-readable names for steps of the model: "SP-TSM → CA: IssueCert(person 0, SE 1, app 0)".
//!
//! Counterexample paths in reports, the Explorer and exported traces use these names so that a
//! step reads like a protocol step rather than a Rust value; [`state`] and [`party_state`] do the
//! same for states (the Explorer's state text, conformance diagnoses).

use crate::actors::{JpkiState, PartyChoice, PartyState, Topology};
use crate::applicant::Choice;
use crate::applicant::{ApplicantState, Holder};
use crate::ca::CaChoice;
use crate::ca::CaState;
use crate::crypto::{KeyName, Subject};
use crate::ids::LoginId;
use crate::intruder::{Forgery, IntruderChoice, IntruderState};
use crate::msg::{Msg, StatusEvidence};
use crate::relying_party::RpState;
use crate::se::SeState;
use crate::se_tsm::SeTsmState;
use crate::sp_tsm::{SpTsmState, Stage};
use crate::world::envelopes;
use stateright::actor::ActorModelAction;
use std::fmt::Write as _;

/// One line for a message.
pub fn message(msg: &Msg) -> String {
    match msg {
        Msg::Apply(a) => format!(
            "Apply({}, {}, {}, card {})",
            a.person, a.se, a.app, a.card_cert.serial
        ),
        Msg::InstallApplet { person, se, app } => format!("InstallApplet({person}, {se}, {app})"),
        Msg::AuthoriseInstall { person, se, app } => {
            format!("AuthoriseInstall({person}, {se}, {app})")
        }
        Msg::Install { person, app } => format!("Install({person}, {app})"),
        Msg::InstallRefused { person, app } => format!("InstallRefused({person}, {app})"),
        Msg::AppletInstalled {
            se,
            app,
            key,
            escrow,
            ..
        } => {
            let escrow = if escrow.is_some() {
                ", PRIVATE KEY"
            } else {
                ""
            };
            match key {
                Some(_) => format!("AppletInstalled({se}, {app}, public key{escrow})"),
                None => format!("AppletInstalled({se}, {app}{escrow})"),
            }
        }
        Msg::IssueCert {
            person,
            se,
            app,
            card,
            supersedes,
            ..
        } => match supersedes {
            Some(old) => format!("IssueCert({person}, {se}, {app}, card {card}, supersedes {old})"),
            None => format!("IssueCert({person}, {se}, {app}, card {card})"),
        },
        Msg::CertIssued { app, cert } => format!("CertIssued({app}, {})", cert.serial),
        Msg::IssueRefused { person, app } => format!("IssueRefused({person}, {app})"),
        Msg::StoreData { app, cert, key } => match key {
            None => format!("StoreData({app}, cert {})", cert.serial),
            Some(crate::crypto::KeyDelivery::Sealed { .. }) => {
                format!("StoreData({app}, cert {}, sealed key)", cert.serial)
            }
            Some(crate::crypto::KeyDelivery::Plain(_)) => {
                format!("StoreData({app}, cert {}, PLAINTEXT key)", cert.serial)
            }
        },
        Msg::CardIssued { cert } => format!("CardIssued({})", cert.serial),
        Msg::ReportLoss { person, case, ses } => format!(
            "ReportLoss({person}, case {case}, lost {})",
            ses.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        Msg::Unsuspend { person, case } => format!("Unsuspend({person}, case {case})"),
        Msg::SignRevocation => "SignRevocation".into(),
        Msg::RevokeFromPhone { cert, sig } => format!(
            "RevokeFromPhone({}, signed with {})",
            cert.serial,
            key(&sig.signer)
        ),
        Msg::CardEvent { person, gen, event } => format!("CardEvent({person}, {gen}, {event:?})"),
        Msg::RetireSim {
            se,
            replacement,
            why,
        } => match replacement {
            Some(new) => format!("RetireSim({se} → {new}, {why:?})"),
            None => format!("RetireSim({se}, {why:?})"),
        },
        Msg::RevokeForSe { se } => format!("RevokeForSe({se})"),
        Msg::SeRevoked { se } => format!("SeRevoked({se})"),
        Msg::SimRetired { se } => format!("SimRetired({se})"),
        Msg::Personalised { person, se, app } => format!("Personalised({person}, {se}, {app})"),
        Msg::AbortIssue { person, app } => format!("AbortIssue({person}, {app})"),
        Msg::LockApplet => "LockApplet".into(),
        Msg::Boot => "Boot".into(),
        Msg::BootStatusQuery { serial } => format!("BootStatusQuery({serial})"),
        Msg::BootStatus { evidence } => format!("BootStatus({})", evidence_text(evidence, None)),
        Msg::Authenticate { login, pin_correct } => {
            format!(
                "Authenticate({login}, {} PIN)",
                if *pin_correct { "right" } else { "wrong" }
            )
        }
        Msg::LoginResponse { login, cert, .. } => {
            format!("LoginResponse({login}, {})", cert.serial)
        }
        Msg::StatusRequest { login, serial } => format!("StatusRequest({login}, {serial})"),
        Msg::StatusResponse { login, evidence } => {
            format!(
                "StatusResponse({login}, {})",
                evidence_text(evidence, Some(*login))
            )
        }
        Msg::Intercepted {
            from,
            to,
            msg,
            genuine: true,
        } => format!("{} ({from} → {to}, through the intruder)", message(msg)),
        Msg::Intercepted {
            from,
            msg,
            genuine: false,
            ..
        } => format!("{} (injected, claiming {from})", message(msg)),
    }
}

/// Status evidence in words; an OCSP answer's nonce is named only when it is not `expected`.
fn evidence_text(evidence: &StatusEvidence, expected: Option<LoginId>) -> String {
    match evidence {
        StatusEvidence::Ocsp {
            serial,
            status,
            at,
            nonce,
        } => {
            let answering = match nonce {
                n if *n == expected => String::new(),
                Some(n) => format!(" answering {n}"),
                None => " without nonce".into(),
            };
            format!("OCSP {serial} {status:?} at {at}{answering}")
        }
        StatusEvidence::Crl {
            entries,
            published,
            at,
        } => format!(
            "CRL of {published} with {} entries, fetched at {at}",
            entries.len()
        ),
    }
}

/// A key (or access code) in words, for logs and recorded evidence: "the card key of person 0
/// (card 0)", "the key of SE 1 for app 1".
pub fn key(k: &KeyName) -> String {
    match k {
        KeyName::Card { person, gen } => format!("the card key of {person} ({gen})"),
        KeyName::Se { se, app } => format!("the key of {se} for {app}"),
        KeyName::Center { person, app } => {
            format!("the centre-generated key of {person} for {app}")
        }
        KeyName::AccessCode { person, app } => format!("the access code of {person} for {app}"),
        KeyName::Intruder => "the intruder's own key".into(),
    }
}

/// One line for an environment choice.
pub fn choice(c: &PartyChoice) -> String {
    match c {
        PartyChoice::Ca(CaChoice::PublishCrl) => "PublishCrl".into(),
        PartyChoice::Intruder(c) => intruder_choice(c),
        PartyChoice::Applicant(c) => match c {
            Choice::Apply { se } => format!("Apply on {se}"),
            Choice::Reapply => "Reapply (retry)".into(),
            Choice::Login { se, pin_correct } => {
                format!(
                    "Login from {se} with the {} PIN",
                    if *pin_correct { "right" } else { "wrong" }
                )
            }
            Choice::Steal { se } => format!("a thief steals the phone with {se}"),
            Choice::ThiefGuessesPin { se } => format!("the thief guesses a PIN on {se}"),
            Choice::ThiefLogin { se } => {
                format!("the thief logs in from {se} with the PIN they saw")
            }
            Choice::ThiefRetargetsApplication { se } => {
                format!("the thief replays the last application designating {se}")
            }
            Choice::ReportLoss => "ReportLoss".into(),
            Choice::PhoneFound { se } => format!("the phone with {se} is found"),
            Choice::Unsuspend => "Unsuspend".into(),
            Choice::Card(e) => format!("card {e:?}"),
            Choice::MoveSim { se } => format!("move {se} to the other phone"),
            Choice::RetireSim { se, why } => format!("retire {se} ({why:?})"),
            Choice::RevokeFromPhone { se } => format!("RevokeFromPhone on {se}"),
            Choice::Boot { se } => format!("power on the phone with {se}"),
        },
    }
}

/// One line for a choice of the intruder. A replay names its message by its place in what the
/// intruder knows; the delivery that follows shows the message itself.
fn intruder_choice(c: &IntruderChoice) -> String {
    match c {
        IntruderChoice::Replay { known, to, claimed } => {
            format!("replay known message {known} to {to} as {claimed}")
        }
        IntruderChoice::Forge(f) => match f {
            Forgery::RevokeWithOwnKey { serial } => {
                format!("forge a revocation of {serial} signed with its own key")
            }
            Forgery::AnswerWith { known, login } => {
                format!("answer the status request of {login} with the status answer in known message {known}")
            }
            Forgery::IssueWithoutApplication { person, se } => {
                format!("as the SP-TSM, have a key certified for {person} on {se} without an application")
            }
            Forgery::InstallApplet { person, se } => {
                format!("as the SP-TSM, ask for an applet for {person} on {se}")
            }
            Forgery::Install { person, se } => {
                format!("as the SE-TSM, install an applet for {person} on {se}")
            }
            Forgery::SimRetired { se } => {
                format!("as the SE-TSM, report {se} out of service without revocation")
            }
            Forgery::AuthoriseInstall { person, se } => {
                format!("as the MVNO, ask the host MNO-TSM for an applet for {person} on {se}")
            }
        },
    }
}

/// One line for a step of the Stateright model.
pub fn action(topo: &Topology, a: &crate::JpkiAction) -> String {
    match a {
        ActorModelAction::Deliver { src, dst, msg } => {
            format!(
                "{} → {}: {}",
                topo.party(*src),
                topo.party(*dst),
                message(msg)
            )
        }
        ActorModelAction::Drop(env) => {
            format!(
                "network loses {} → {}: {}",
                topo.party(env.src),
                topo.party(env.dst),
                message(&env.msg)
            )
        }
        ActorModelAction::SelectRandom { actor, random, .. } => {
            format!("{} chooses: {}", topo.party(*actor), choice(random))
        }
        ActorModelAction::Timeout(id, timer) => {
            format!("{} times out: {}", topo.party(*id), timer_text(timer))
        }
        ActorModelAction::Crash(id) => {
            format!(
                "{} crashes (loses what it did not make durable)",
                topo.party(*id)
            )
        }
        ActorModelAction::Recover(id) => {
            format!("{} restarts from its database", topo.party(*id))
        }
    }
}

/// Every party's state in words, one block per party, then the messages in flight: the text the
/// Explorer shows for a state. With `before`, parties whose state the step changed are marked `*`.
/// Ghost fields (bookkeeping that only properties read) are left out.
pub fn state(topo: &Topology, before: Option<&JpkiState>, state: &JpkiState) -> String {
    let mut out = String::new();
    for (ix, s) in state.actor_states.iter().enumerate() {
        let changed = before
            .and_then(|b| b.actor_states.get(ix))
            .is_some_and(|b| **b != **s);
        let mark = if changed { "* " } else { "  " };
        if matches!(&**s, PartyState::Mvno) {
            if changed {
                let _ = writeln!(out, "{mark}{}", topo.party(ix.into()));
            }
            continue;
        }
        render_party(&mut out, mark, s);
    }
    let in_flight: Vec<String> = envelopes(&state.network)
        .map(|e| {
            format!(
                "{} → {}: {}",
                topo.party(e.src),
                topo.party(e.dst),
                message(e.msg)
            )
        })
        .collect();
    let _ = writeln!(out, "  In flight ({}):", in_flight.len());
    for m in in_flight {
        let _ = writeln!(out, "      {m}");
    }
    out
}

/// One party's state in words (several lines, the block [`state`] shows for it; the MVNO, which
/// keeps no state, is "MVNO (no state)"). Conformance diagnoses quote it.
pub fn party_state(s: &PartyState) -> String {
    let mut out = String::new();
    if matches!(s, PartyState::Mvno) {
        return "MVNO (no state)".into();
    }
    render_party(&mut out, "", s);
    // Continuation lines one step in from the party's name, not the Explorer's column.
    out.trim_end()
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn render_party(out: &mut String, mark: &str, s: &PartyState) {
    match s {
        PartyState::Ca(ca) => render_ca(out, mark, ca),
        PartyState::SpTsm(sp) => render_sp_tsm(out, mark, sp),
        PartyState::SeTsm(t) => render_se_tsm(out, mark, t),
        PartyState::RelyingParty(rp) => render_rp(out, mark, rp),
        PartyState::Mvno => {}
        PartyState::Applicant(a) => render_applicant(out, mark, a),
        PartyState::Se(se) => render_se(out, mark, se),
        PartyState::Intruder(i) => render_intruder(out, mark, i),
    }
}

fn render_ca(out: &mut String, mark: &str, ca: &CaState) {
    let _ = writeln!(
        out,
        "{mark}CA: {}, CRL published at {}",
        ca.epoch, ca.crl_published
    );
    for r in &ca.certs {
        let what = match r.cert.subject {
            Subject::Card { person, gen } => format!("card certificate of {person} ({gen})"),
            Subject::Phone { person, se, app } => {
                let card = r
                    .linked_card
                    .map_or(String::new(), |c| format!(", under card {c}"));
                format!("phone certificate of {person} on {se} for {app}{card}")
            }
        };
        let history: Vec<String> = r
            .history
            .iter()
            .map(|(e, s)| format!("{s:?} from {e}"))
            .collect();
        let _ = writeln!(
            out,
            "      {}: {what}: {:?} ({})",
            r.cert.serial,
            r.status(),
            history.join(", ")
        );
    }
    if !ca.retired_ses.is_empty() {
        let ses: Vec<String> = ca.retired_ses.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "      out of service: {}", ses.join(", "));
    }
    for c in &ca.loss_cases {
        let ses: Vec<String> = c.ses.iter().map(ToString::to_string).collect();
        let closed = c
            .closed_at
            .map_or(String::new(), |e| format!(", unsuspended from {e}"));
        let _ = writeln!(
            out,
            "      loss case {} of {} ({} lost) from {}{closed}",
            c.case,
            c.person,
            ses.join(", "),
            c.reported_at
        );
    }
    for (person, app) in &ca.refused {
        let _ = writeln!(out, "      issuance refused for {app} of {person}");
    }
    for (serial, signer) in &ca.phone_revocations {
        let _ = writeln!(
            out,
            "      {serial} revoked from a phone, signed with {signer:?}"
        );
    }
}

fn render_intruder(out: &mut String, mark: &str, i: &IntruderState) {
    let _ = writeln!(
        out,
        "{mark}Intruder: {} intrusion(s) made, knows {} message(s)",
        i.used,
        i.known.len()
    );
    for (n, m) in i.known.iter().enumerate() {
        let _ = writeln!(out, "      {n}: {}", message(m));
    }
}

fn render_sp_tsm(out: &mut String, mark: &str, sp: &SpTsmState) {
    let _ = writeln!(out, "{mark}SP-TSM:");
    for (p, r) in sp.persons.iter().enumerate() {
        let flight = match &r.in_flight {
            None => "nothing in flight".to_string(),
            Some(s) => {
                let stage = match s.stage {
                    Stage::Installing => "installing the applet".to_string(),
                    Stage::Certifying { .. } => "waiting for the certificate".to_string(),
                    Stage::Personalising { cert, .. } => {
                        format!("waiting for the SE to store certificate {}", cert.serial)
                    }
                    Stage::Aborting(why) => {
                        format!("aborting ({why:?}), waiting for the CA to confirm")
                    }
                };
                let tries = if s.attempts > 1 {
                    format!(", attempt {}", s.attempts)
                } else {
                    String::new()
                };
                format!("{} on {} (card {}) {stage}{tries}", s.app, s.se, s.card)
            }
        };
        let current = r.current.map_or("no current certificate".to_string(), |c| {
            format!("current certificate {c}")
        });
        let last = r
            .last_app
            .map_or(String::new(), |a| format!(", last accepted {a}"));
        let _ = writeln!(out, "      person {p}: {flight}; {current}{last}");
    }
}

fn render_se_tsm(out: &mut String, mark: &str, t: &SeTsmState) {
    let ses: Vec<String> = t
        .service
        .iter()
        .enumerate()
        .map(|(i, s)| format!("SE {i} {s:?}"))
        .collect();
    let _ = writeln!(out, "{mark}SE-TSM: {}", ses.join(", "));
}

fn render_rp(out: &mut String, mark: &str, rp: &RpState) {
    if rp.pending.is_empty() && rp.accepted.is_empty() && rp.rejected.is_empty() {
        let _ = writeln!(out, "{mark}RP: no logins");
        return;
    }
    let _ = writeln!(out, "{mark}RP:");
    for (login, cert) in &rp.pending {
        let _ = writeln!(
            out,
            "      {login} with {}: waiting for status",
            cert.serial
        );
    }
    for a in &rp.accepted {
        let _ = writeln!(
            out,
            "      {} ACCEPTED with {} (status evidence of {})",
            a.login, a.serial, a.evidence_at
        );
    }
    for r in &rp.rejected {
        let _ = writeln!(out, "      {} rejected ({:?})", r.login, r.status);
    }
}

fn render_applicant(out: &mut String, mark: &str, a: &ApplicantState) {
    let card = a.card.map_or("no usable card".to_string(), |c| {
        format!("card {}", c.serial)
    });
    let mut flags = Vec::new();
    if a.loss_reported {
        flags.push("loss reported");
    }
    if a.unsuspend_asked {
        flags.push("unsuspension asked");
    }
    if a.thief_replayed {
        flags.push("thief replayed an application");
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!("; {}", flags.join(", "))
    };
    let _ = writeln!(out, "{mark}Person {}: {card}{flags}", a.person.0);
    for d in &a.devices {
        let holder = match d.holder {
            Holder::Owner => "held by the owner",
            Holder::Thief => "held by a THIEF",
        };
        let _ = writeln!(
            out,
            "      {} in phone {}, {holder}, {:?}{}",
            d.se,
            d.phone,
            d.service,
            if d.moved { ", moved" } else { "" }
        );
    }
    if !a.applications.is_empty() {
        let apps: Vec<String> = a
            .applications
            .iter()
            .map(|(app, se)| format!("{app} → {se}"))
            .collect();
        let _ = writeln!(out, "      applications: {}", apps.join(", "));
    }
    for l in &a.logins {
        let _ = writeln!(out, "      {} from {}", l.login, l.se);
    }
}

fn render_se(out: &mut String, mark: &str, se: &SeState) {
    let applet = se.applet.map_or("no applet".to_string(), |ap| {
        format!(
            "applet {:?} for {} ({}, installed by {})",
            ap.life, ap.person, ap.app, ap.installed_by
        )
    });
    let key = if se.key.is_some() { "key" } else { "no key" };
    let cert = se.cert.map_or("no certificate".to_string(), |c| {
        format!("certificate {}", c.serial)
    });
    let _ = writeln!(
        out,
        "{mark}{}: {applet}; {key}; {cert}; PIN tries left {}{}",
        se.id,
        se.pin_tries_left,
        if se.learned_revoked {
            "; learned its certificate is revoked"
        } else {
            ""
        }
    );
}

/// A timer, as the counterexample and the Explorer name it.
pub fn timer_text(t: &crate::recovery::PartyTimer) -> String {
    match t {
        crate::recovery::PartyTimer::Session(p) => format!("issuance session of {p}"),
        crate::recovery::PartyTimer::Retirement(se) => format!("retirement of {se}"),
    }
}

//! Human-readable names for steps of the model: "SP-TSM → CA: IssueCert(person 0, SE 1, app 0)".
//!
//! Counterexample paths in reports, the Explorer and exported traces use these names so that a
//! step reads like a protocol step rather than a Rust value.

use crate::actors::{PartyChoice, Topology};
use crate::applicant::Choice;
use crate::ca::CaChoice;
use crate::crypto::KeyName;
use crate::ids::LoginId;
use crate::intruder::{Forgery, IntruderChoice};
use crate::msg::{Msg, StatusEvidence};
use stateright::actor::ActorModelAction;

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

/// Whose key a signing key is, in words.
fn key(k: &KeyName) -> String {
    match k {
        KeyName::Card { person, gen } => format!("{person}'s {gen} key"),
        KeyName::Se { se, app } => format!("{se}'s key for {app}"),
        KeyName::Center { person, app } => format!("the J-LIS key of {person} for {app}"),
        KeyName::AccessCode { person, app } => format!("the access code of {person} for {app}"),
        KeyName::Intruder => "the intruder's key".into(),
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
pub fn action(topo: &Topology, a: &ActorModelAction<Msg, (), PartyChoice>) -> String {
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
        ActorModelAction::Timeout(id, _) => format!("{} times out", topo.party(*id)),
        ActorModelAction::Crash(id) => format!("{} crashes", topo.party(*id)),
        ActorModelAction::Recover(id) => format!("{} recovers", topo.party(*id)),
    }
}

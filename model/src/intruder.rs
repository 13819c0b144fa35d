//! The Dolev–Yao intruder, and which network links authenticate their sender.
//!
//! With `--intruder` the intruder controls every *open* link: a link on which the receiver has no
//! channel key that proves who sent a datagram, so that its security rests on what the message
//! itself carries (a card or phone signature, a CA-signed certificate or status answer). The
//! open links are the ones that cross the internet from a phone or to a relying party
//! ([`open_link`]); the others are server-to-server links with mutually authenticated TLS, the
//! ISD secure channel (SCP03) from the SE issuer's TSM to the SE, the phone's own link to its
//! SE, and the procedures done with the My Number card in hand (hotline, municipal office,
//! carrier shop). With `--compromised ROLE` the intruder also holds that party's keys and channel
//! credentials: it sees everything the party sends and receives and may send anything the party
//! may, on the party's links, in any state.
//!
//! Every message on a link the intruder controls travels through it ([`route`]): the sender's
//! message goes to the intruder wrapped in [`Msg::Intercepted`], the intruder records it and
//! passes it on unchanged (`genuine`: the channel's own authentication still holds). With the
//! `intrusions` budget it also *injects*: it delivers any message it has seen again, to any party
//! that takes that kind of message, claiming any sender of the right kind; and it *forges* the
//! messages its own key and the compromised parties' keys allow ([`Forgery`]). It cannot sign
//! with, or open a sealed key for, a key it does not hold: it uses certificates, signatures and
//! status answers only as it saw them. A receiver believes a claimed sender only where the link
//! authenticates nothing or the claimed party is compromised ([`may_claim`]); the adapter
//! ([`crate::actors`]) and the reference runtime apply that rule before the receiver's own
//! transition.
//!
//! This module is the intruder's transition and the channel rules; it is not a transport.

use crate::config::{Config, Role};
use crate::crypto::{Certificate, Crypto, Digest, KeyName, PublicKey, Subject};
use crate::ids::{AppNo, LoginId, Party, PersonId, SeId, Serial};
use crate::msg::{Msg, StatusEvidence};
use crate::transition::{pure, Ctx, Step};
use serde::{Deserialize, Serialize};

/// What the intruder knows and how much of its budget it used.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IntruderState {
    /// Every message it saw on a link it controls, each once, in order. Forgotten once the
    /// budget is spent: knowledge it can no longer use would only split states.
    pub known: Vec<Msg>,
    /// Injections and forgeries made.
    pub used: u8,
}

/// Something the intruder can build from its own key and the compromised parties' keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Forgery {
    /// Ask the CA, as the phone holding certificate `serial` (seen on the network), to revoke
    /// it, signing the request with the intruder's own key.
    RevokeWithOwnKey {
        /// The certificate.
        serial: Serial,
    },
    /// Answer the relying party's status request for `login` (seen on the network) with the
    /// CA-signed status answer carried by the `known`-th message it saw (an answer made for
    /// another request, or for a phone at boot): the OCSP replay.
    AnswerWith {
        /// Index into [`IntruderState::known`] of a message carrying status evidence.
        known: u8,
        /// The login whose request it answers.
        login: LoginId,
    },
    /// As a compromised SP-TSM: ask the CA to certify, for `person` on `se`, a key J-LIS
    /// generates, with no application behind it, under the person's card certificate as seen in
    /// an application.
    IssueWithoutApplication {
        /// In whose name.
        person: PersonId,
        /// For which SE.
        se: SeId,
    },
    /// As a compromised SP-TSM: ask the SE issuer (or the MVNO) to install the applet on `se`.
    InstallApplet {
        /// For whom.
        person: PersonId,
        /// Where.
        se: SeId,
    },
    /// As a compromised SE-TSM, which holds every SE's issuer keys: install an applet on `se`
    /// for `person`.
    Install {
        /// For whom.
        person: PersonId,
        /// Where.
        se: SeId,
    },
    /// As a compromised SE-TSM: tell the owner of `se` that it is out of service, without having
    /// J-LIS revoke what is bound to it.
    SimRetired {
        /// The SE.
        se: SeId,
    },
    /// As a compromised MVNO: ask the host MNO-TSM to install on `se` for `person`.
    AuthoriseInstall {
        /// For whom.
        person: PersonId,
        /// Where.
        se: SeId,
    },
}

/// The intruder's choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IntruderChoice {
    /// Deliver the `known`-th message it saw to `to`, claiming it comes from `claimed`.
    Replay {
        /// Index into [`IntruderState::known`].
        known: u8,
        /// The receiver.
        to: Party,
        /// The sender it claims.
        claimed: Party,
    },
    /// Send a message it builds.
    Forge(Forgery),
}

/// The kinds of party, as messages are addressed: a message of one kind goes from one kind of
/// party to another, and a receiver's transition takes it from no other kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ca,
    SpTsm,
    SeTsm,
    Rp,
    Mvno,
    Applicant,
    Se,
}

fn parties_of(cfg: &Config, k: Kind) -> Vec<Party> {
    match k {
        Kind::Ca => vec![Party::Ca],
        Kind::SpTsm => vec![Party::SpTsm],
        Kind::SeTsm => vec![Party::SeTsm],
        Kind::Rp => vec![Party::RelyingParty],
        Kind::Mvno => vec![Party::Mvno],
        Kind::Applicant => cfg.all_persons().map(Party::Applicant).collect(),
        Kind::Se => cfg.all_ses().map(Party::Se).collect(),
    }
}

/// Who sends a message of this kind to whom (the first receiver kind is the usual one).
fn route_kinds(msg: &Msg) -> (Kind, &'static [Kind]) {
    use Kind::*;
    match msg {
        Msg::Apply(_) => (Applicant, &[SpTsm]),
        Msg::InstallApplet { .. } => (SpTsm, &[SeTsm, Mvno]),
        Msg::AuthoriseInstall { .. } => (Mvno, &[SeTsm]),
        Msg::Install { .. } | Msg::LockApplet => (SeTsm, &[Se]),
        Msg::InstallRefused { .. } => (SeTsm, &[SpTsm]),
        Msg::AppletInstalled { .. } => (Se, &[SpTsm]),
        Msg::IssueCert { .. } => (SpTsm, &[Ca]),
        Msg::CertIssued { .. } | Msg::IssueRefused { .. } => (Ca, &[SpTsm]),
        Msg::StoreData { .. } => (SpTsm, &[Se]),
        Msg::CardIssued { .. } => (Ca, &[Applicant]),
        Msg::ReportLoss { .. } | Msg::Unsuspend { .. } | Msg::CardEvent { .. } => {
            (Applicant, &[Ca])
        }
        Msg::SignRevocation | Msg::Boot | Msg::Authenticate { .. } => (Applicant, &[Se]),
        Msg::RevokeFromPhone { .. } | Msg::BootStatusQuery { .. } => (Se, &[Ca]),
        Msg::RetireSim { .. } => (Applicant, &[SeTsm]),
        Msg::RevokeForSe { .. } => (SeTsm, &[Ca]),
        Msg::SeRevoked { .. } => (Ca, &[SeTsm]),
        Msg::SimRetired { .. } => (SeTsm, &[Applicant]),
        Msg::BootStatus { .. } => (Ca, &[Se]),
        Msg::LoginResponse { .. } => (Se, &[Rp]),
        Msg::StatusRequest { .. } => (Rp, &[Ca]),
        Msg::StatusResponse { .. } => (Ca, &[Rp]),
        Msg::Personalised { .. } => (Se, &[SpTsm]),
        Msg::AbortIssue { .. } => (SpTsm, &[Ca]),
        // A wrapper is never known by itself: the intruder records what it carries.
        Msg::Intercepted { .. } => (Ca, &[]),
    }
}

/// Whether the link from `from` to `to` authenticates nothing: the receiver cannot tell who put
/// a datagram on it, so only signatures inside the message count. These are the links that
/// cross the internet: the phone's application and revocation requests and its boot-time status
/// query, its login answer to the relying party, and the relying party's status requests.
pub fn open_link(from: Party, to: Party) -> bool {
    matches!(
        (from, to),
        (Party::Applicant(_), Party::SpTsm)
            | (Party::Se(_), Party::Ca)
            | (Party::Ca, Party::Se(_))
            | (Party::Se(_), Party::RelyingParty)
            | (Party::RelyingParty, Party::Ca)
            | (Party::Ca, Party::RelyingParty)
    )
}

/// Whether the intruder holds `party`'s keys and channel credentials.
pub fn compromised(cfg: &Config, party: Party) -> bool {
    Role::ALL
        .into_iter()
        .any(|r| cfg.compromised.has(r) && r.party() == party)
}

/// Whether the intruder sees (and relays) what `from` sends to `to`.
pub fn observes(cfg: &Config, from: Party, to: Party) -> bool {
    from != Party::Intruder
        && ((cfg.intruder && open_link(from, to)) || compromised(cfg, from) || compromised(cfg, to))
}

/// Whether `to` believes a message the intruder delivers in `claimed`'s name: on an open link
/// anyone can claim anything; on another link only with the claimed party's credentials.
pub fn may_claim(cfg: &Config, claimed: Party, to: Party) -> bool {
    (cfg.intruder && open_link(claimed, to)) || compromised(cfg, claimed)
}

/// Where a message `from` sends to `to` really goes: through the intruder if it observes the
/// link, else straight to `to`.
pub fn route(cfg: &Config, from: Party, to: Party, msg: Msg) -> (Party, Msg) {
    if observes(cfg, from, to) {
        (
            Party::Intruder,
            Msg::Intercepted {
                from,
                to,
                msg: Box::new(msg),
                genuine: true,
            },
        )
    } else {
        (to, msg)
    }
}

/// What `receiver` takes from an envelope: the message and who it believes sent it, or `None`
/// when it must ignore the envelope (an injection in the name of a sender the link
/// authenticates, or a wrapper addressed to someone else).
///
/// A relay (`genuine`) is believed only on a link the intruder really sits on: elsewhere the
/// link's own authentication (mutual TLS, SCP03) would show that the intruder, not the claimed
/// sender, put it there. The model's intruder never relays on another link; a real datagram
/// can carry any flag, and the reference's UDP receivers apply this rule to it
/// (`reference/tests/intruder_udp.rs`).
pub fn unwrap<'m>(
    cfg: &Config,
    receiver: Party,
    src: Party,
    msg: &'m Msg,
) -> Option<(Party, &'m Msg)> {
    match msg {
        Msg::Intercepted {
            from,
            to,
            msg,
            genuine,
        } if src == Party::Intruder => (*to == receiver
            && ((*genuine && observes(cfg, *from, receiver)) || may_claim(cfg, *from, receiver)))
        .then_some((*from, &**msg)),
        Msg::Intercepted { .. } => None,
        _ if src == Party::Intruder => None,
        _ => Some((src, msg)),
    }
}

/// The intruder's initial state: it knows nothing and has its whole budget.
pub fn init() -> IntruderState {
    IntruderState::default()
}

fn has_budget(cfg: &Config, s: &IntruderState) -> bool {
    s.used < cfg.budgets.intrusions
}

/// The intruder's transition on a delivered message: it records what it relays (while it can
/// still use it) and passes it on unchanged.
pub fn on_msg<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &IntruderState,
    src: Party,
    msg: &Msg,
) -> Step<IntruderState> {
    pure(state, |s, out| {
        let Msg::Intercepted {
            from,
            to,
            msg: inner,
            genuine: true,
        } = msg
        else {
            return;
        };
        if *from != src {
            return;
        }
        if has_budget(ctx.cfg, s) {
            if let Err(at) = s.known.binary_search(inner) {
                s.known.insert(at, (**inner).clone());
            }
        }
        out.send(*to, msg.clone());
    })
}

/// The application number the intruder uses in what it forges: no honest application reaches
/// it within the budgets.
pub fn forged_app(cfg: &Config) -> AppNo {
    AppNo(cfg.budgets.applications)
}

/// The choices enabled in `state`, sorted (so that a renaming of persons, which reorders them,
/// can sort them back: `model::symmetry`).
pub fn choices(cfg: &Config, s: &IntruderState) -> Vec<IntruderChoice> {
    if !has_budget(cfg, s) {
        return Vec::new();
    }
    let mut v = Vec::new();
    for (i, m) in s.known.iter().enumerate() {
        let Ok(known) = u8::try_from(i) else { break };
        let (from_kind, to_kinds) = route_kinds(m);
        for &to_kind in to_kinds {
            for to in parties_of(cfg, to_kind) {
                for claimed in parties_of(cfg, from_kind) {
                    if may_claim(cfg, claimed, to) {
                        v.push(IntruderChoice::Replay { known, to, claimed });
                    }
                }
            }
        }
    }
    v.extend(forgeries(cfg, s).into_iter().map(IntruderChoice::Forge));
    v.sort();
    v.dedup();
    v
}

fn known_certs(s: &IntruderState) -> Vec<Certificate> {
    let mut certs: Vec<Certificate> = s
        .known
        .iter()
        .filter_map(|m| match m {
            Msg::Apply(a) => Some(a.card_cert),
            Msg::CertIssued { cert, .. }
            | Msg::StoreData { cert, .. }
            | Msg::CardIssued { cert }
            | Msg::LoginResponse { cert, .. }
            | Msg::RevokeFromPhone { cert, .. } => Some(*cert),
            _ => None,
        })
        .collect();
    certs.sort();
    certs.dedup();
    certs
}

fn forgeries(cfg: &Config, s: &IntruderState) -> Vec<Forgery> {
    let mut v = Vec::new();
    let certs = known_certs(s);
    if cfg.intruder {
        for c in &certs {
            if matches!(c.subject, Subject::Phone { .. }) {
                v.push(Forgery::RevokeWithOwnKey { serial: c.serial });
            }
        }
        let requests: Vec<LoginId> = s
            .known
            .iter()
            .filter_map(|m| match m {
                Msg::StatusRequest { login, .. } => Some(*login),
                _ => None,
            })
            .collect();
        for (i, m) in s.known.iter().enumerate() {
            let Ok(known) = u8::try_from(i) else { break };
            let Some(answered) = evidence_in(m).map(|(l, _)| l) else {
                continue;
            };
            for &login in &requests {
                if answered != Some(login) {
                    v.push(Forgery::AnswerWith { known, login });
                }
            }
        }
    }
    let persons: Vec<PersonId> = cfg.all_persons().collect();
    let pairs = || {
        persons
            .iter()
            .flat_map(|&p| cfg.all_ses().map(move |se| (p, se)))
    };
    if cfg.compromised.has(Role::SpTsm) {
        for (person, se) in pairs() {
            if card_cert_of(&certs, person).is_some() {
                v.push(Forgery::IssueWithoutApplication { person, se });
            }
            v.push(Forgery::InstallApplet { person, se });
        }
    }
    if cfg.compromised.has(Role::SeTsm) {
        for (person, se) in pairs() {
            v.push(Forgery::Install { person, se });
        }
        for se in cfg.all_ses() {
            v.push(Forgery::SimRetired { se });
        }
    }
    if cfg.compromised.has(Role::Mvno) {
        for (person, se) in pairs() {
            v.push(Forgery::AuthoriseInstall { person, se });
        }
    }
    v
}

/// The status evidence a message carries, with the login it was sent for.
fn evidence_in(m: &Msg) -> Option<(Option<LoginId>, &StatusEvidence)> {
    match m {
        Msg::StatusResponse { login, evidence } => Some((Some(*login), evidence)),
        Msg::BootStatus { evidence } => Some((None, evidence)),
        _ => None,
    }
}

/// The newest card certificate of `person` among `certs`.
fn card_cert_of(certs: &[Certificate], person: PersonId) -> Option<Certificate> {
    certs
        .iter()
        .rev()
        .find(|c| matches!(c.subject, Subject::Card { person: p, .. } if p == person))
        .copied()
}

/// The intruder's transition on one of its choices. A choice not enabled changes nothing.
pub fn on_choice<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &IntruderState,
    choice: IntruderChoice,
) -> Step<IntruderState> {
    let cfg = ctx.cfg;
    if !choices(cfg, state).contains(&choice) {
        return pure(state, |_, _| {});
    }
    pure(state, |s, out| {
        let sent = match choice {
            IntruderChoice::Replay { known, to, claimed } => s
                .known
                .get(usize::from(known))
                .map(|m| (claimed, to, m.clone())),
            IntruderChoice::Forge(f) => forge(ctx, s, f),
        };
        let Some((claimed, to, msg)) = sent else {
            return;
        };
        s.used += 1;
        if !has_budget(cfg, s) {
            s.known.clear();
        }
        out.send(
            to,
            Msg::Intercepted {
                from: claimed,
                to,
                msg: Box::new(msg),
                genuine: false,
            },
        );
    })
}

/// The message a forgery builds, with the sender it claims and its addressee.
fn forge<C: Crypto>(
    ctx: &Ctx<'_, C>,
    s: &IntruderState,
    f: Forgery,
) -> Option<(Party, Party, Msg)> {
    let cfg = ctx.cfg;
    let app = forged_app(cfg);
    let certs = &known_certs(s);
    Some(match f {
        Forgery::RevokeWithOwnKey { serial } => {
            let cert = *certs.iter().find(|c| c.serial == serial)?;
            let Subject::Phone { se, .. } = cert.subject else {
                return None;
            };
            let sig = ctx
                .crypto
                .sign(KeyName::Intruder, Digest::Revocation { serial });
            (Party::Se(se), Party::Ca, Msg::RevokeFromPhone { cert, sig })
        }
        Forgery::AnswerWith { known, login } => {
            let (_, evidence) = evidence_in(s.known.get(usize::from(known))?)?;
            (
                Party::Ca,
                Party::RelyingParty,
                Msg::StatusResponse {
                    login,
                    evidence: evidence.clone(),
                },
            )
        }
        Forgery::IssueWithoutApplication { person, se } => {
            let card = card_cert_of(certs, person)?;
            let key = PublicKey(ctx.crypto.generate_at_center(person, app));
            (
                Party::SpTsm,
                Party::Ca,
                Msg::IssueCert {
                    person,
                    se,
                    app,
                    key,
                    card: card.serial,
                    supersedes: None,
                },
            )
        }
        Forgery::InstallApplet { person, se } => {
            let via = match cfg.carrier {
                crate::config::Carrier::Mvno => Party::Mvno,
                crate::config::Carrier::Mno => Party::SeTsm,
            };
            (Party::SpTsm, via, Msg::InstallApplet { person, se, app })
        }
        Forgery::Install { person, se } => {
            (Party::SeTsm, Party::Se(se), Msg::Install { person, app })
        }
        Forgery::SimRetired { se } => (
            Party::SeTsm,
            Party::Applicant(cfg.owner_of(se)),
            Msg::SimRetired { se },
        ),
        Forgery::AuthoriseInstall { person, se } => (
            Party::Mvno,
            Party::SeTsm,
            Msg::AuthoriseInstall { person, se, app },
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Compromised;

    #[test]
    fn open_links_are_the_internet_ones_and_claims_follow_them() {
        let cfg = Config {
            intruder: true,
            ..Config::default()
        };
        let se = Party::Se(SeId(0));
        assert!(open_link(se, Party::RelyingParty));
        assert!(open_link(Party::Ca, Party::RelyingParty));
        assert!(!open_link(Party::SeTsm, se));
        assert!(!open_link(Party::SpTsm, Party::Ca));
        assert!(may_claim(&cfg, Party::Ca, Party::RelyingParty));
        assert!(!may_claim(&cfg, Party::SeTsm, se));
        let sp = Config {
            compromised: Compromised::NONE.with(Role::SpTsm),
            ..Config::default()
        };
        assert!(may_claim(&sp, Party::SpTsm, Party::Ca));
        assert!(!may_claim(&sp, Party::Ca, Party::RelyingParty));
        assert!(observes(&sp, Party::Ca, Party::SpTsm));
        assert!(!observes(&sp, Party::Ca, Party::RelyingParty));
    }

    #[test]
    fn a_relayed_message_is_believed_and_an_injection_only_where_it_may_claim() {
        let cfg = Config {
            intruder: true,
            ..Config::default()
        };
        let inner = Msg::LockApplet;
        let wrap = |genuine| Msg::Intercepted {
            from: Party::SeTsm,
            to: Party::Se(SeId(0)),
            msg: Box::new(inner.clone()),
            genuine,
        };
        let se = Party::Se(SeId(0));
        // A relay is believed on a link the intruder sits on (the CA's answers to a phone)…
        let relayed = Msg::Intercepted {
            from: Party::Ca,
            to: se,
            msg: Box::new(inner.clone()),
            genuine: true,
        };
        assert!(observes(&cfg, Party::Ca, se));
        assert_eq!(
            unwrap(&cfg, se, Party::Intruder, &relayed),
            Some((Party::Ca, &inner))
        );
        // …but not on the SE-TSM's SCP03 link, which it does not sit on: a "relay" there is an
        // injection, and an injection in the SE-TSM's name is not believed either.
        assert!(!observes(&cfg, Party::SeTsm, se));
        assert_eq!(unwrap(&cfg, se, Party::Intruder, &wrap(true)), None);
        assert_eq!(unwrap(&cfg, se, Party::Intruder, &wrap(false)), None);
        assert_eq!(
            unwrap(&cfg, Party::Se(SeId(1)), Party::Intruder, &wrap(true)),
            None
        );
        assert_eq!(unwrap(&cfg, se, Party::SeTsm, &wrap(true)), None);
        assert_eq!(
            unwrap(&cfg, se, Party::SeTsm, &inner),
            Some((Party::SeTsm, &inner))
        );
        let (to, routed) = route(&cfg, Party::SeTsm, se, inner.clone());
        assert_eq!((to, routed), (se, inner));
    }
}

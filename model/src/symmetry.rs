//! Symmetry reduction over persons: persons are interchangeable, so two global states that differ
//! only by a renaming of persons (with their SEs, their parties and their initial card serials)
//! have the same futures up to that renaming, and the checker needs to explore only one of them.
//!
//! [`representative`] maps a state to the member of its class with the smallest fingerprint,
//! trying every permutation of persons (at most 3! = 6). Stateright 0.31 honours a symmetry
//! function only in its depth-first checker (docs/sources/stateright-notes.md), which is the
//! checker `jpkisim check` uses. SEs within one person are not permuted: on a SIM the first SIM is
//! in service and the others are spares, so they are not interchangeable.

use crate::actors::{JpkiState, PartyChoice, PartyState, Topology};
use crate::applicant::{ApplicantState, Choice, Device, LoginRecord};
use crate::ca::{CaState, CertRecord, LossCase};
use crate::crypto::{Certificate, Digest, KeyDelivery, KeyName, PublicKey, Signature, Subject};
use crate::ids::{AppNo, LoginId, Party, PersonId, SeId, Serial};
use crate::intruder::{Forgery, IntruderChoice, IntruderState};
use crate::msg::{Application, Msg, StatusEvidence};
use crate::recovery::PartyTimer;
use crate::relying_party::{Acceptance, Rejection, RpState};
use crate::se::{Applet, SeState};
use crate::sp_tsm::{IssuanceSession, SpTsmState, Stage};
use stateright::actor::{Envelope, Id, Network, RandomChoices, Timers};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A renaming of persons, with what follows from it.
#[derive(Clone, Debug)]
pub struct Perm {
    /// `to[p]` is the new name of person `p`.
    to: Vec<u8>,
    /// SEs per person.
    k: u8,
}

impl Perm {
    fn person(&self, p: PersonId) -> PersonId {
        PersonId(self.to.get(usize::from(p.0)).copied().unwrap_or(p.0))
    }

    fn se(&self, s: SeId) -> SeId {
        let owner = self.person(PersonId(s.0 / self.k));
        SeId(owner.0 * self.k + s.0 % self.k)
    }

    /// Initial card serials are numbered by person (1..=persons); every other serial is numbered
    /// by issuance order, which a renaming of persons does not change.
    fn serial(&self, s: Serial) -> Serial {
        let persons = self.to.len() as u8;
        if (1..=persons).contains(&s.0) {
            Serial(self.person(PersonId(s.0 - 1)).0 + 1)
        } else {
            s
        }
    }

    /// The actor that actor `id` becomes under this renaming (`topo` is the model's topology).
    pub fn actor(&self, topo: &Topology, id: Id) -> Id {
        topo.id(topo.party(id).relabel(self))
    }

    /// Every renaming of `persons` persons with `k` SEs each, the identity first. This is the group
    /// [`representative`] minimises over; a checker that canonicalises by its own fingerprint
    /// (jpkisim-checker's engine) uses the same group, so both count the same classes.
    pub fn all(persons: u8, k: u8) -> Vec<Perm> {
        let mut all: Vec<Perm> = permutations(persons)
            .into_iter()
            .map(|to| Perm { to, k })
            .collect();
        all.sort_by_key(|p| !p.is_identity());
        all
    }

    /// Whether the renaming leaves every person as they are.
    pub fn is_identity(&self) -> bool {
        self.to
            .iter()
            .enumerate()
            .all(|(i, &t)| usize::from(t) == i)
    }
}

/// Applies a renaming of persons to a value.
pub trait Relabel {
    /// The value with every person-derived name renamed.
    fn relabel(&self, p: &Perm) -> Self;
}

impl Relabel for PersonId {
    fn relabel(&self, p: &Perm) -> Self {
        p.person(*self)
    }
}
impl Relabel for SeId {
    fn relabel(&self, p: &Perm) -> Self {
        p.se(*self)
    }
}
impl Relabel for Serial {
    fn relabel(&self, p: &Perm) -> Self {
        p.serial(*self)
    }
}
impl<T: Relabel> Relabel for Option<T> {
    fn relabel(&self, p: &Perm) -> Self {
        self.as_ref().map(|x| x.relabel(p))
    }
}
impl<T: Relabel> Relabel for Vec<T> {
    fn relabel(&self, p: &Perm) -> Self {
        self.iter().map(|x| x.relabel(p)).collect()
    }
}
impl Relabel for Party {
    fn relabel(&self, p: &Perm) -> Self {
        match *self {
            Party::Applicant(x) => Party::Applicant(x.relabel(p)),
            Party::Se(s) => Party::Se(s.relabel(p)),
            other => other,
        }
    }
}
impl Relabel for PartyTimer {
    fn relabel(&self, p: &Perm) -> Self {
        match *self {
            PartyTimer::Session(person) => PartyTimer::Session(person.relabel(p)),
            PartyTimer::Retirement(se) => PartyTimer::Retirement(se.relabel(p)),
        }
    }
}
impl Relabel for LoginId {
    fn relabel(&self, p: &Perm) -> Self {
        LoginId {
            person: self.person.relabel(p),
            n: self.n,
        }
    }
}
impl Relabel for KeyName {
    fn relabel(&self, p: &Perm) -> Self {
        match *self {
            KeyName::Card { person, gen } => KeyName::Card {
                person: person.relabel(p),
                gen,
            },
            KeyName::Se { se, app } => KeyName::Se {
                se: se.relabel(p),
                app,
            },
            KeyName::Center { person, app } => KeyName::Center {
                person: person.relabel(p),
                app,
            },
            KeyName::AccessCode { person, app } => KeyName::AccessCode {
                person: person.relabel(p),
                app,
            },
            KeyName::Intruder => KeyName::Intruder,
        }
    }
}
impl Relabel for PublicKey {
    fn relabel(&self, p: &Perm) -> Self {
        PublicKey(self.0.relabel(p))
    }
}
impl Relabel for Digest {
    fn relabel(&self, p: &Perm) -> Self {
        match *self {
            Digest::Application {
                person,
                se,
                app,
                card,
            } => Digest::Application {
                person: person.relabel(p),
                se: se.relabel(p),
                app,
                card: card.relabel(p),
            },
            Digest::Login(l) => Digest::Login(l.relabel(p)),
            Digest::Revocation { serial } => Digest::Revocation {
                serial: serial.relabel(p),
            },
        }
    }
}
impl Relabel for Signature {
    fn relabel(&self, p: &Perm) -> Self {
        Signature {
            signer: self.signer.relabel(p),
            digest: self.digest.relabel(p),
        }
    }
}
impl Relabel for Subject {
    fn relabel(&self, p: &Perm) -> Self {
        match *self {
            Subject::Card { person, gen } => Subject::Card {
                person: person.relabel(p),
                gen,
            },
            Subject::Phone { person, se, app } => Subject::Phone {
                person: person.relabel(p),
                se: se.relabel(p),
                app,
            },
        }
    }
}
impl Relabel for Certificate {
    fn relabel(&self, p: &Perm) -> Self {
        Certificate {
            serial: self.serial.relabel(p),
            subject: self.subject.relabel(p),
            key: self.key.relabel(p),
        }
    }
}
impl Relabel for KeyDelivery {
    fn relabel(&self, p: &Perm) -> Self {
        match *self {
            KeyDelivery::Sealed { for_se, key } => KeyDelivery::Sealed {
                for_se: for_se.relabel(p),
                key: key.relabel(p),
            },
            KeyDelivery::Plain(k) => KeyDelivery::Plain(k.relabel(p)),
        }
    }
}
impl Relabel for Application {
    fn relabel(&self, p: &Perm) -> Self {
        Application {
            person: self.person.relabel(p),
            se: self.se.relabel(p),
            app: self.app,
            card_cert: self.card_cert.relabel(p),
            sig: self.sig.relabel(p),
        }
    }
}
impl Relabel for StatusEvidence {
    fn relabel(&self, p: &Perm) -> Self {
        match self {
            StatusEvidence::Ocsp {
                serial,
                status,
                at,
                nonce,
            } => StatusEvidence::Ocsp {
                serial: serial.relabel(p),
                status: *status,
                at: *at,
                nonce: nonce.relabel(p),
            },
            StatusEvidence::Crl {
                entries,
                published,
                at,
            } => {
                let mut entries: Vec<_> =
                    entries.iter().map(|(s, st)| (s.relabel(p), *st)).collect();
                entries.sort();
                StatusEvidence::Crl {
                    entries,
                    published: *published,
                    at: *at,
                }
            }
        }
    }
}

impl Relabel for Msg {
    fn relabel(&self, p: &Perm) -> Self {
        use Msg::*;
        match self {
            Apply(a) => Apply(a.relabel(p)),
            InstallApplet { person, se, app } => InstallApplet {
                person: person.relabel(p),
                se: se.relabel(p),
                app: *app,
            },
            AuthoriseInstall { person, se, app } => AuthoriseInstall {
                person: person.relabel(p),
                se: se.relabel(p),
                app: *app,
            },
            Install { person, app } => Install {
                person: person.relabel(p),
                app: *app,
            },
            InstallRefused { person, app } => InstallRefused {
                person: person.relabel(p),
                app: *app,
            },
            AppletInstalled {
                person,
                se,
                app,
                key,
                escrow,
            } => AppletInstalled {
                person: person.relabel(p),
                se: se.relabel(p),
                app: *app,
                key: key.relabel(p),
                escrow: escrow.relabel(p),
            },
            IssueCert {
                person,
                se,
                app,
                key,
                card,
                supersedes,
            } => IssueCert {
                person: person.relabel(p),
                se: se.relabel(p),
                app: *app,
                key: key.relabel(p),
                card: card.relabel(p),
                supersedes: supersedes.relabel(p),
            },
            CertIssued { app, cert } => CertIssued {
                app: *app,
                cert: cert.relabel(p),
            },
            IssueRefused { person, app } => IssueRefused {
                person: person.relabel(p),
                app: *app,
            },
            StoreData { app, cert, key } => StoreData {
                app: *app,
                cert: cert.relabel(p),
                key: key.relabel(p),
            },
            CardIssued { cert } => CardIssued {
                cert: cert.relabel(p),
            },
            ReportLoss { person, case, ses } => ReportLoss {
                person: person.relabel(p),
                case: *case,
                ses: ses.relabel(p),
            },
            Unsuspend { person, case } => Unsuspend {
                person: person.relabel(p),
                case: *case,
            },
            SignRevocation => SignRevocation,
            RevokeFromPhone { cert, sig } => RevokeFromPhone {
                cert: cert.relabel(p),
                sig: sig.relabel(p),
            },
            CardEvent { person, gen, event } => CardEvent {
                person: person.relabel(p),
                gen: *gen,
                event: *event,
            },
            RetireSim {
                se,
                replacement,
                why,
            } => RetireSim {
                se: se.relabel(p),
                replacement: replacement.relabel(p),
                why: *why,
            },
            RevokeForSe { se } => RevokeForSe { se: se.relabel(p) },
            SeRevoked { se } => SeRevoked { se: se.relabel(p) },
            SimRetired { se } => SimRetired { se: se.relabel(p) },
            LockApplet => LockApplet,
            Boot => Boot,
            BootStatusQuery { serial } => BootStatusQuery {
                serial: serial.relabel(p),
            },
            BootStatus { evidence } => BootStatus {
                evidence: evidence.relabel(p),
            },
            Authenticate { login, pin_correct } => Authenticate {
                login: login.relabel(p),
                pin_correct: *pin_correct,
            },
            LoginResponse { login, cert, sig } => LoginResponse {
                login: login.relabel(p),
                cert: cert.relabel(p),
                sig: sig.relabel(p),
            },
            StatusRequest { login, serial } => StatusRequest {
                login: login.relabel(p),
                serial: serial.relabel(p),
            },
            StatusResponse { login, evidence } => StatusResponse {
                login: login.relabel(p),
                evidence: evidence.relabel(p),
            },
            Personalised { person, se, app } => Personalised {
                person: person.relabel(p),
                se: se.relabel(p),
                app: *app,
            },
            AbortIssue { person, app } => AbortIssue {
                person: person.relabel(p),
                app: *app,
            },
            Intercepted {
                from,
                to,
                msg,
                genuine,
            } => Intercepted {
                from: from.relabel(p),
                to: to.relabel(p),
                msg: Box::new(msg.relabel(p)),
                genuine: *genuine,
            },
        }
    }
}

impl Relabel for LossCase {
    fn relabel(&self, p: &Perm) -> Self {
        LossCase {
            person: self.person.relabel(p),
            ses: self.ses.relabel(p),
            ..self.clone()
        }
    }
}

impl Relabel for IntruderState {
    fn relabel(&self, p: &Perm) -> Self {
        relabel_intruder(self, p).0
    }
}

/// The intruder's state renamed, its knowledge sorted again as the intruder keeps it, and where
/// each message moved (`moved[old] = new`), for the choices that point into the knowledge.
fn relabel_intruder(s: &IntruderState, p: &Perm) -> (IntruderState, Vec<u8>) {
    let mut known: Vec<(Msg, usize)> = s
        .known
        .iter()
        .enumerate()
        .map(|(i, m)| (m.relabel(p), i))
        .collect();
    known.sort();
    let mut moved = vec![0u8; known.len()];
    for (new, (_, old)) in known.iter().enumerate() {
        moved[*old] = u8::try_from(new).unwrap_or(u8::MAX);
    }
    let state = IntruderState {
        known: known.into_iter().map(|(m, _)| m).collect(),
        used: s.used,
    };
    (state, moved)
}

/// The intruder's choices renamed: indices follow their messages, and the list is sorted, as
/// `intruder::choices` offers it.
fn relabel_intruder_choices(choices: &[PartyChoice], p: &Perm, moved: &[u8]) -> Vec<PartyChoice> {
    let mut v: Vec<PartyChoice> = choices
        .iter()
        .map(|c| match c.relabel(p) {
            PartyChoice::Intruder(IntruderChoice::Replay { known, to, claimed }) => {
                PartyChoice::Intruder(IntruderChoice::Replay {
                    known: moved.get(usize::from(known)).copied().unwrap_or(known),
                    to,
                    claimed,
                })
            }
            PartyChoice::Intruder(IntruderChoice::Forge(Forgery::AnswerWith { known, login })) => {
                PartyChoice::Intruder(IntruderChoice::Forge(Forgery::AnswerWith {
                    known: moved.get(usize::from(known)).copied().unwrap_or(known),
                    login,
                }))
            }
            other => other,
        })
        .collect();
    v.sort();
    v
}

impl Relabel for Forgery {
    fn relabel(&self, p: &Perm) -> Self {
        match *self {
            Forgery::RevokeWithOwnKey { serial } => Forgery::RevokeWithOwnKey {
                serial: serial.relabel(p),
            },
            // The index follows its message in `relabel_intruder_choices`.
            Forgery::AnswerWith { known, login } => Forgery::AnswerWith {
                known,
                login: login.relabel(p),
            },
            Forgery::IssueWithoutApplication { person, se } => Forgery::IssueWithoutApplication {
                person: person.relabel(p),
                se: se.relabel(p),
            },
            Forgery::InstallApplet { person, se } => Forgery::InstallApplet {
                person: person.relabel(p),
                se: se.relabel(p),
            },
            Forgery::Install { person, se } => Forgery::Install {
                person: person.relabel(p),
                se: se.relabel(p),
            },
            Forgery::SimRetired { se } => Forgery::SimRetired { se: se.relabel(p) },
            Forgery::AuthoriseInstall { person, se } => Forgery::AuthoriseInstall {
                person: person.relabel(p),
                se: se.relabel(p),
            },
        }
    }
}

impl Relabel for CertRecord {
    fn relabel(&self, p: &Perm) -> Self {
        CertRecord {
            cert: self.cert.relabel(p),
            linked_card: self.linked_card.relabel(p),
            history: self.history.clone(),
        }
    }
}

impl Relabel for CaState {
    fn relabel(&self, p: &Perm) -> Self {
        let mut certs = self.certs.relabel(p);
        // The initial card certificates stand in person order, as a renamed run would have them.
        let persons = p.to.len().min(certs.len());
        certs[..persons].sort_by_key(|r| r.cert.serial);
        CaState {
            epoch: self.epoch,
            certs,
            next_serial: self.next_serial,
            crl_published: self.crl_published,
            retired_ses: self.retired_ses.relabel(p),
            loss_cases: self.loss_cases.relabel(p),
            phone_revocations: self
                .phone_revocations
                .iter()
                .map(|(s, k)| (s.relabel(p), k.relabel(p)))
                .collect(),
            refused: {
                let mut r: Vec<(PersonId, AppNo)> = self
                    .refused
                    .iter()
                    .map(|(person, app)| (person.relabel(p), *app))
                    .collect();
                r.sort();
                r
            },
            issued_index: self
                .issued_index
                .iter()
                .map(|(person, app)| (person.relabel(p), *app))
                .collect(),
        }
    }
}

impl Relabel for SpTsmState {
    fn relabel(&self, p: &Perm) -> Self {
        let mut persons = self.persons.clone();
        for (old, rec) in self.persons.iter().enumerate() {
            let new = usize::from(p.person(PersonId(old as u8)).0);
            if let Some(slot) = persons.get_mut(new) {
                let mut r = rec.clone();
                r.in_flight = rec.in_flight.map(|s| IssuanceSession {
                    se: s.se.relabel(p),
                    card: s.card.relabel(p),
                    app: s.app,
                    stage: match s.stage {
                        Stage::Installing => Stage::Installing,
                        Stage::Certifying { key, center_key } => Stage::Certifying {
                            key: key.relabel(p),
                            center_key: center_key.relabel(p),
                        },
                        Stage::Personalising { cert, delivery } => Stage::Personalising {
                            cert: cert.relabel(p),
                            delivery: delivery.relabel(p),
                        },
                        Stage::Aborting(why) => Stage::Aborting(why),
                    },
                    attempts: s.attempts,
                });
                r.current = rec.current.relabel(p);
                *slot = r;
            }
        }
        SpTsmState { persons }
    }
}

impl Relabel for RpState {
    fn relabel(&self, p: &Perm) -> Self {
        RpState {
            pending: self
                .pending
                .iter()
                .map(|(l, c)| (l.relabel(p), c.relabel(p)))
                .collect(),
            accepted: self
                .accepted
                .iter()
                .map(|a| Acceptance {
                    login: a.login.relabel(p),
                    serial: a.serial.relabel(p),
                    evidence_at: a.evidence_at,
                    evidence_for: a.evidence_for.relabel(p),
                })
                .collect(),
            rejected: self
                .rejected
                .iter()
                .map(|r| Rejection {
                    login: r.login.relabel(p),
                    status: r.status,
                })
                .collect(),
        }
    }
}

impl Relabel for ApplicantState {
    fn relabel(&self, p: &Perm) -> Self {
        ApplicantState {
            person: self.person.relabel(p),
            card: self.card.relabel(p),
            applications: self
                .applications
                .iter()
                .map(|(a, s)| (*a, s.relabel(p)))
                .collect(),
            last_application: self.last_application.relabel(p),
            devices: self
                .devices
                .iter()
                .map(|d| Device {
                    se: d.se.relabel(p),
                    ..*d
                })
                .collect(),
            logins: self
                .logins
                .iter()
                .map(|l| LoginRecord {
                    login: l.login.relabel(p),
                    se: l.se.relabel(p),
                    ..*l
                })
                .collect(),
            ..self.clone()
        }
    }
}

impl Relabel for SeState {
    fn relabel(&self, p: &Perm) -> Self {
        SeState {
            id: self.id.relabel(p),
            applet: self.applet.map(|a| Applet {
                person: a.person.relabel(p),
                installed_by: a.installed_by.relabel(p),
                ..a
            }),
            key: self.key.relabel(p),
            cert: self.cert.relabel(p),
            ..self.clone()
        }
    }
}

impl Relabel for PartyState {
    fn relabel(&self, p: &Perm) -> Self {
        match self {
            PartyState::Ca(s) => PartyState::Ca(s.relabel(p)),
            PartyState::SpTsm(s) => PartyState::SpTsm(s.relabel(p)),
            PartyState::SeTsm(s) => {
                let mut t = s.clone();
                for (old, svc) in s.service.iter().enumerate() {
                    if let Some(slot) = t.service.get_mut(usize::from(p.se(SeId(old as u8)).0)) {
                        *slot = *svc;
                    }
                }
                PartyState::SeTsm(t)
            }
            PartyState::RelyingParty(s) => PartyState::RelyingParty(s.relabel(p)),
            PartyState::Mvno => PartyState::Mvno,
            PartyState::Applicant(s) => PartyState::Applicant(s.relabel(p)),
            PartyState::Se(s) => PartyState::Se(s.relabel(p)),
            PartyState::Intruder(s) => PartyState::Intruder(s.relabel(p)),
        }
    }
}

impl Relabel for Choice {
    fn relabel(&self, p: &Perm) -> Self {
        match *self {
            Choice::Apply { se } => Choice::Apply { se: se.relabel(p) },
            Choice::Login { se, pin_correct } => Choice::Login {
                se: se.relabel(p),
                pin_correct,
            },
            Choice::Steal { se } => Choice::Steal { se: se.relabel(p) },
            Choice::ThiefGuessesPin { se } => Choice::ThiefGuessesPin { se: se.relabel(p) },
            Choice::ThiefLogin { se } => Choice::ThiefLogin { se: se.relabel(p) },
            Choice::ThiefRetargetsApplication { se } => {
                Choice::ThiefRetargetsApplication { se: se.relabel(p) }
            }
            Choice::PhoneFound { se } => Choice::PhoneFound { se: se.relabel(p) },
            Choice::MoveSim { se } => Choice::MoveSim { se: se.relabel(p) },
            Choice::RetireSim { se, why } => Choice::RetireSim {
                se: se.relabel(p),
                why,
            },
            Choice::RevokeFromPhone { se } => Choice::RevokeFromPhone { se: se.relabel(p) },
            Choice::Boot { se } => Choice::Boot { se: se.relabel(p) },
            other
            @ (Choice::Reapply | Choice::ReportLoss | Choice::Unsuspend | Choice::Card(_)) => other,
        }
    }
}

impl Relabel for PartyChoice {
    fn relabel(&self, p: &Perm) -> Self {
        match self {
            PartyChoice::Applicant(c) => PartyChoice::Applicant(c.relabel(p)),
            PartyChoice::Ca(c) => PartyChoice::Ca(*c),
            PartyChoice::Intruder(IntruderChoice::Replay { known, to, claimed }) => {
                PartyChoice::Intruder(IntruderChoice::Replay {
                    known: *known,
                    to: to.relabel(p),
                    claimed: claimed.relabel(p),
                })
            }
            PartyChoice::Intruder(IntruderChoice::Forge(f)) => {
                PartyChoice::Intruder(IntruderChoice::Forge(f.relabel(p)))
            }
        }
    }
}

fn relabel_network(net: &Network<Msg>, p: &Perm, topo: &Topology) -> Network<Msg> {
    let envs = crate::world::envelopes(net).map(|e| Envelope {
        src: p.actor(topo, e.src),
        dst: p.actor(topo, e.dst),
        msg: e.msg.relabel(p),
    });
    match net {
        Network::UnorderedNonDuplicating(_) => Network::new_unordered_nonduplicating(envs),
        Network::Ordered(_) => Network::new_ordered(envs),
        Network::UnorderedDuplicating(_, last) => {
            let last = last.as_ref().map(|e| Envelope {
                src: p.actor(topo, e.src),
                dst: p.actor(topo, e.dst),
                msg: e.msg.relabel(p),
            });
            Network::new_unordered_duplicating_with_last_msg(envs, last)
        }
    }
}

/// The global state under a renaming of persons.
pub fn relabel_state(state: &JpkiState, p: &Perm) -> JpkiState {
    let persons = p.to.len() as u8;
    let intruder = state
        .actor_states
        .last()
        .is_some_and(|s| matches!(**s, PartyState::Intruder(_)));
    let topo = Topology::new(persons, persons * p.k).with_intruder(intruder);
    let n = state.actor_states.len();
    let mut actor_states = state.actor_states.clone();
    let mut random_choices = state.random_choices.clone();
    let mut timers_set = state.timers_set.clone();
    let mut actor_storages = state.actor_storages.clone();
    let mut crashed = state.crashed.clone();
    for ix in 0..n {
        let to = usize::from(p.actor(&topo, Id::from(ix)));
        if let (Some(slot), Some(timers)) = (timers_set.get_mut(to), state.timers_set.get(ix)) {
            let mut renamed = Timers::new();
            for t in timers.iter() {
                renamed.set(t.relabel(p));
            }
            *slot = renamed;
        }
        if let (Some(slot), Some(stored)) =
            (actor_storages.get_mut(to), state.actor_storages.get(ix))
        {
            *slot = stored.as_ref().map(|s| s.relabel(p));
        }
        if let (Some(slot), Some(down)) = (crashed.get_mut(to), state.crashed.get(ix)) {
            *slot = *down;
        }
        let mut rc = RandomChoices::default();
        if let PartyState::Intruder(s) = &*state.actor_states[ix] {
            let (renamed, moved) = relabel_intruder(s, p);
            actor_states[to] = Arc::new(PartyState::Intruder(renamed));
            for (key, choices) in state.random_choices[ix].map.iter() {
                rc.insert(key.clone(), relabel_intruder_choices(choices, p, &moved));
            }
        } else {
            actor_states[to] = Arc::new(state.actor_states[ix].relabel(p));
            for (key, choices) in state.random_choices[ix].map.iter() {
                rc.insert(key.clone(), choices.iter().map(|c| c.relabel(p)).collect());
            }
        }
        random_choices[to] = rc;
    }
    JpkiState {
        actor_states,
        network: relabel_network(&state.network, p, &topo),
        timers_set,
        random_choices,
        crashed,
        history: state.history,
        actor_storages,
    }
}

fn permutations(n: u8) -> Vec<Vec<u8>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for i in 0..=rest.len() {
            let mut v = rest.clone();
            v.insert(i, n - 1);
            out.push(v);
        }
    }
    out
}

fn stable_hash(state: &JpkiState) -> u64 {
    let mut h = DefaultHasher::new();
    state.hash(&mut h);
    h.finish()
}

/// The renaming that swaps persons `a` and `b` among `persons`, with `k` SEs each.
pub fn swap(persons: u8, k: u8, a: u8, b: u8) -> Perm {
    let mut to: Vec<u8> = (0..persons).collect();
    to.swap(usize::from(a), usize::from(b));
    Perm { to, k }
}

/// The representative of a state's class: the renaming with the smallest fingerprint.
pub fn representative(state: &JpkiState) -> JpkiState {
    let persons = state
        .actor_states
        .iter()
        .filter(|s| matches!(***s, PartyState::Applicant(_)))
        .count();
    let ses = state
        .actor_states
        .iter()
        .filter(|s| matches!(***s, PartyState::Se(_)))
        .count();
    if persons < 2 || ses % persons != 0 {
        return state.clone();
    }
    let k = (ses / persons) as u8;
    let mut best = (stable_hash(state), None);
    for to in permutations(persons as u8) {
        if to.iter().enumerate().all(|(i, &t)| usize::from(t) == i) {
            continue; // the identity: the state itself, already hashed
        }
        let candidate = relabel_state(state, &Perm { to, k });
        let h = stable_hash(&candidate);
        if h < best.0 {
            best = (h, Some(candidate));
        }
    }
    best.1.unwrap_or_else(|| state.clone())
}

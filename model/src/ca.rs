//! The JPKI certification authority at J-LIS: issues phone certificates linked to card
//! certificates, keeps their status, answers status requests and publishes the CRL.
//!
//! Status changes follow the lifecycle rules of the 2020 study and the deployed service (seed 004;
//! `docs/protocol.md`): a new issuance supersedes the person's previous phone certificate, card
//! revocation or renewal revokes the linked phone certificates, expiry of the card expires them,
//! a reported loss suspends them. It is not a PKI library: certificates are terms.

use crate::config::{DeviceChange, Flaw, RevocationCheck};
use crate::crypto::{Certificate, Crypto, Digest, KeyName, PublicKey, Subject};
use crate::ids::{AppNo, CardGen, Epoch, Party, PersonId, SeId, Serial};
use crate::msg::{CardEventKind, CertStatus, Msg, StatusEvidence};
use crate::transition::{pure, Ctx, Outbox, Step};
use serde::{Deserialize, Serialize};

/// One certificate in the CA's database, with its whole status history.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CertRecord {
    /// The certificate.
    pub cert: Certificate,
    /// For a phone certificate: the card certificate it was applied with.
    pub linked_card: Option<Serial>,
    /// Every status it has had, with the epoch it took effect; the first entry is issuance.
    pub history: Vec<(Epoch, CertStatus)>,
}

impl CertRecord {
    /// Current status.
    pub fn status(&self) -> CertStatus {
        self.history.last().map_or(CertStatus::Valid, |(_, s)| *s)
    }

    /// Status at `epoch` (`None` if not yet issued then).
    pub fn status_at(&self, epoch: Epoch) -> Option<CertStatus> {
        self.history
            .iter()
            .take_while(|(e, _)| *e <= epoch)
            .last()
            .map(|(_, s)| *s)
    }

    /// When it was issued.
    pub fn issued_at(&self) -> Epoch {
        self.history.first().map_or(Epoch(0), |(e, _)| *e)
    }

    /// The holder, for either kind of certificate.
    pub fn person(&self) -> PersonId {
        match self.cert.subject {
            Subject::Card { person, .. } | Subject::Phone { person, .. } => person,
        }
    }

    /// Whether this is a phone certificate issued for the person's application `app`.
    pub fn answers(&self, person: PersonId, app: AppNo) -> bool {
        matches!(self.cert.subject, Subject::Phone { person: p, app: a, .. } if p == person && a == app)
    }

    /// The SE, for a phone certificate.
    pub fn se(&self) -> Option<SeId> {
        match self.cert.subject {
            Subject::Phone { se, .. } => Some(se),
            Subject::Card { .. } => None,
        }
    }
}

/// The CA's state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CaState {
    /// Logical clock: one tick per change to the database.
    pub epoch: Epoch,
    /// Every certificate issued, card and phone, in issuance order.
    pub certs: Vec<CertRecord>,
    /// Next serial number to assign.
    pub next_serial: u8,
    /// Epoch of the last published CRL.
    pub crl_published: Epoch,
    /// SEs their issuer reported out of service: nothing more is certified for them. Without this
    /// an issuance already in flight when the carrier retires a SIM completes after the
    /// revocation and leaves a valid certificate on the retired SIM (found by the model checker:
    /// `disposed_se_never_accepted`, see docs/protocol.md).
    pub retired_ses: Vec<SeId>,
    /// Loss cases handled. Requests name their case so that a replayed report or unsuspension
    /// changes nothing.
    pub loss_cases: Vec<LossCase>,
    /// Revocations requested from phones that the CA carried out, with the key that signed each
    /// request (the CA's audit log; `phone_revocation_authentic` reads it).
    pub phone_revocations: Vec<(Serial, KeyName)>,
    /// Applications whose issuance the CA refused, sorted: a refusal is final, so a duplicated or
    /// retried request for one is refused again even once the reason has passed (a loss case
    /// closed). Without this, a duplicate of a request refused during a loss case was issued
    /// after the phone was found, next to the certificate of the application made since (found
    /// by the model checker with a duplicating network: `no_double_issuance`).
    pub refused: Vec<(PersonId, AppNo)>,
    /// Only with flaw `ca_index_not_durable`: the applications issued since the CA last started,
    /// which the flawed CA consults instead of its database and loses in a crash.
    #[serde(default)]
    pub issued_index: Vec<(PersonId, AppNo)>,
}

/// A reported loss, from the hotline call to the phone being found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LossCase {
    /// Whose phone.
    pub person: PersonId,
    /// The person's n-th loss.
    pub case: u8,
    /// The SEs reported lost with the phone: nothing more is certified for them while the case
    /// is open.
    pub ses: Vec<SeId>,
    /// The epoch from which the CA's status reflects the report.
    pub reported_at: Epoch,
    /// The epoch from which it reflects the unsuspension, once the phone was found.
    pub closed_at: Option<Epoch>,
}

impl LossCase {
    /// Whether the case covers evidence produced at `epoch`: after the report took effect and
    /// before the phone was found.
    pub fn open_at(&self, epoch: Epoch) -> bool {
        self.reported_at <= epoch && self.closed_at.is_none_or(|c| epoch < c)
    }
}

/// The CA's own choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CaChoice {
    /// Publish a CRL reflecting the current database (CRL mode only).
    PublishCrl,
}

impl CaState {
    /// The record for `serial` (the first one, should a flawed CA reuse serials).
    pub fn record(&self, serial: Serial) -> Option<&CertRecord> {
        self.certs.iter().find(|r| r.cert.serial == serial)
    }

    /// The person's current card certificate.
    pub fn card_of(&self, person: PersonId) -> Option<&CertRecord> {
        self.certs
            .iter()
            .rev()
            .find(|r| matches!(r.cert.subject, Subject::Card { person: p, .. } if p == person))
    }

    /// The phone certificate issued for the person's application `app` (the first, should a
    /// flawed CA have issued more).
    pub fn issued_for(&self, person: PersonId, app: AppNo) -> Option<&CertRecord> {
        self.certs.iter().find(|r| r.answers(person, app))
    }

    /// Records that `(person, app)` is refused for good.
    fn refuse(&mut self, person: PersonId, app: AppNo) {
        if let Err(at) = self.refused.binary_search(&(person, app)) {
            self.refused.insert(at, (person, app));
        }
    }

    /// The person's phone certificates.
    pub fn phone_certs_of(&self, person: PersonId) -> impl Iterator<Item = &CertRecord> {
        self.certs.iter().filter(
            move |r| matches!(r.cert.subject, Subject::Phone { person: p, .. } if p == person),
        )
    }

    fn tick(&mut self) -> Epoch {
        // Saturates rather than wraps: the model's boundary stops exploration long before.
        self.epoch = Epoch(self.epoch.0.saturating_add(1));
        self.epoch
    }

    /// Sets the status of every record selected by `which` whose status `from` accepts; one tick
    /// for the whole change. Returns whether anything changed.
    fn set_status(
        &mut self,
        which: impl Fn(&CertRecord) -> bool,
        from: impl Fn(CertStatus) -> bool,
        to: CertStatus,
    ) -> bool {
        let hits: Vec<usize> = (0..self.certs.len())
            .filter(|&i| which(&self.certs[i]) && from(self.certs[i].status()))
            .collect();
        if hits.is_empty() {
            return false;
        }
        let at = self.tick();
        for i in hits {
            self.certs[i].history.push((at, to));
        }
        true
    }

    fn issue(
        &mut self,
        cert_for: impl FnOnce(Serial) -> Certificate,
        linked: Option<Serial>,
        reuse: bool,
    ) -> Certificate {
        let serial = Serial(self.next_serial);
        if !reuse {
            self.next_serial = self.next_serial.saturating_add(1);
        }
        let cert = cert_for(serial);
        let at = self.tick();
        self.certs.push(CertRecord {
            cert,
            linked_card: linked,
            history: vec![(at, CertStatus::Valid)],
        });
        cert
    }

    /// Revokes (or expires) the phone certificates linked to `card`, unless the cascade is flawed.
    fn cascade<C: Crypto>(&mut self, ctx: &Ctx<'_, C>, card: Serial, to: CertStatus) {
        if !ctx.flawed(Flaw::NoCardRevocationCascade) {
            self.set_status(|r| r.linked_card == Some(card), CertStatus::is_live, to);
        }
    }
}

/// The initial database: one valid card certificate per person (serials 1..=persons).
pub fn init<C: Crypto>(ctx: &Ctx<'_, C>) -> CaState {
    let mut ca = CaState {
        epoch: Epoch(0),
        certs: Vec::new(),
        next_serial: 1,
        crl_published: Epoch(0),
        retired_ses: Vec::new(),
        loss_cases: Vec::new(),
        phone_revocations: Vec::new(),
        refused: Vec::new(),
        issued_index: Vec::new(),
    };
    for person in ctx.cfg.all_persons() {
        let gen = CardGen(0);
        ca.issue(
            |serial| ctx.crypto.issue(card_cert(serial, person, gen)),
            None,
            false,
        );
    }
    // Issuing the cards is the world before time starts.
    ca.epoch = Epoch(0);
    for r in &mut ca.certs {
        r.history = vec![(Epoch(0), CertStatus::Valid)];
    }
    ca
}

fn card_cert(serial: Serial, person: PersonId, gen: CardGen) -> Certificate {
    Certificate {
        serial,
        subject: Subject::Card { person, gen },
        key: PublicKey(KeyName::Card { person, gen }),
    }
}

/// The CA's choices enabled in `state`.
pub fn choices<C: Crypto>(ctx: &Ctx<'_, C>, state: &CaState) -> Vec<CaChoice> {
    if ctx.cfg.revocation == RevocationCheck::Crl && state.crl_published < state.epoch {
        vec![CaChoice::PublishCrl]
    } else {
        Vec::new()
    }
}

/// The CA's transition on its own choice.
pub fn on_choice<C: Crypto>(_ctx: &Ctx<'_, C>, state: &CaState, choice: CaChoice) -> Step<CaState> {
    pure(state, |ca, _| match choice {
        CaChoice::PublishCrl => ca.crl_published = ca.epoch,
    })
}

/// The CA's transition on a delivered message.
pub fn on_msg<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &CaState,
    from: Party,
    msg: &Msg,
) -> Step<CaState> {
    pure(state, |ca, out| handle(ctx, ca, from, msg, out))
}

fn handle<C: Crypto>(ctx: &Ctx<'_, C>, ca: &mut CaState, from: Party, msg: &Msg, out: &mut Outbox) {
    match *msg {
        Msg::IssueCert {
            person,
            se,
            app,
            key,
            card,
            supersedes,
        } if from == Party::SpTsm => {
            issue_phone_cert(ctx, ca, person, se, app, key, card, supersedes, out)
        }
        Msg::ReportLoss {
            person,
            case,
            ref ses,
        } if from == Party::Applicant(person) => {
            if ca
                .loss_cases
                .iter()
                .any(|c| c.person == person && c.case == case)
            {
                return;
            }
            ca.set_status(
                |r| r.se().is_some() && r.person() == person,
                |s| s == CertStatus::Valid,
                CertStatus::Suspended,
            );
            ca.loss_cases.push(LossCase {
                person,
                case,
                ses: ses.clone(),
                reported_at: ca.epoch,
                closed_at: None,
            });
        }
        Msg::Unsuspend { person, case } if from == Party::Applicant(person) => {
            let Some(i) = ca
                .loss_cases
                .iter()
                .position(|c| c.person == person && c.case == case && c.closed_at.is_none())
            else {
                return;
            };
            ca.set_status(
                |r| r.se().is_some() && r.person() == person,
                |s| s == CertStatus::Suspended,
                CertStatus::Valid,
            );
            ca.loss_cases[i].closed_at = Some(ca.epoch);
        }
        // An open link: the phone's signature with the certificate's own key, not the claimed
        // sender, proves the request comes from the SE that holds the certificate.
        Msg::RevokeFromPhone { cert, sig } if matches!(from, Party::Se(_)) => {
            let Some(record) = ca.record(cert.serial).filter(|r| r.cert == cert) else {
                return;
            };
            let digest = Digest::Revocation {
                serial: cert.serial,
            };
            if !ctx.flawed(Flaw::UncheckedPhoneRevocation)
                && !ctx.crypto.verify(record.cert.key, digest, sig)
            {
                return;
            }
            if ca.set_status(|r| r.cert == cert, CertStatus::is_live, CertStatus::Revoked) {
                ca.phone_revocations.push((cert.serial, sig.signer));
            }
        }
        Msg::CardEvent { person, gen, event } if from == Party::Applicant(person) => {
            card_event(ctx, ca, person, gen, event, out);
        }
        Msg::AbortIssue { person, app } if from == Party::SpTsm => {
            abort_issue(ctx, ca, person, app, out)
        }
        Msg::RevokeForSe { se } if from == Party::SeTsm => {
            if !ca.retired_ses.contains(&se) {
                ca.retired_ses.push(se);
            }
            ca.set_status(
                |r| r.se() == Some(se),
                CertStatus::is_live,
                CertStatus::Revoked,
            );
            out.send(Party::SeTsm, Msg::SeRevoked { se });
        }
        Msg::BootStatusQuery { serial } => {
            if let (Party::Se(_), Some(r)) = (from, ca.record(serial)) {
                let evidence = ctx.crypto.publish_status(StatusEvidence::Ocsp {
                    serial,
                    status: r.status(),
                    at: ca.epoch,
                    nonce: None,
                });
                out.send(from, Msg::BootStatus { evidence });
            }
        }
        Msg::StatusRequest { login, serial } if from == Party::RelyingParty => {
            let evidence = match ctx.cfg.revocation {
                RevocationCheck::Ocsp => StatusEvidence::Ocsp {
                    serial,
                    status: ca
                        .record(serial)
                        .map_or(CertStatus::Revoked, CertRecord::status),
                    at: ca.epoch,
                    nonce: Some(login),
                },
                RevocationCheck::Crl => StatusEvidence::Crl {
                    entries: crl_entries(ca, ca.crl_published),
                    published: ca.crl_published,
                    at: ca.epoch,
                },
            };
            let evidence = ctx.crypto.publish_status(evidence);
            out.send(Party::RelyingParty, Msg::StatusResponse { login, evidence });
        }
        _ => {}
    }
}

/// The CRL as published at `epoch`: every serial not valid then, in serial order.
pub fn crl_entries(ca: &CaState, epoch: Epoch) -> Vec<(Serial, CertStatus)> {
    let mut entries: Vec<_> = ca
        .certs
        .iter()
        .filter_map(|r| match r.status_at(epoch) {
            Some(s) if s != CertStatus::Valid => Some((r.cert.serial, s)),
            _ => None,
        })
        .collect();
    entries.sort();
    entries
}

#[allow(clippy::too_many_arguments)]
fn issue_phone_cert<C: Crypto>(
    ctx: &Ctx<'_, C>,
    ca: &mut CaState,
    person: PersonId,
    se: SeId,
    app: AppNo,
    key: PublicKey,
    card: Serial,
    supersedes: Option<Serial>,
    out: &mut Outbox,
) {
    // Idempotent: a retried or duplicated request gets the certificate already issued for it,
    // as the database says (the flawed CA asks an index in its memory, which a crash empties).
    if !ctx.flawed(Flaw::NonIdempotentIssue) {
        let already = if ctx.flawed(Flaw::CaIndexNotDurable) {
            ca.issued_index
                .contains(&(person, app))
                .then(|| ca.issued_for(person, app))
                .flatten()
        } else {
            ca.issued_for(person, app)
        };
        if let Some(r) = already {
            out.send(Party::SpTsm, Msg::CertIssued { app, cert: r.cert });
            return;
        }
        if ca.refused.binary_search(&(person, app)).is_ok() {
            out.send(Party::SpTsm, Msg::IssueRefused { person, app });
            return;
        }
    }
    let card_ok = ca.record(card).is_some_and(|r| {
        matches!(r.cert.subject, Subject::Card { person: p, .. } if p == person)
            && (r.status() == CertStatus::Valid || ctx.flawed(Flaw::AcceptRevokedCard))
    });
    // A device change that needs the old phone: the old certificate must have been revoked from
    // the old phone (or by the card) before a new one is issued.
    let old_still_live = ctx.cfg.device_change == DeviceChange::NeedsOldPhone
        && ca.phone_certs_of(person).any(|r| r.status().is_live());
    // Nothing more for an SE reported lost with a stolen phone until it is found: an issuance
    // already in flight at the report would otherwise end valid in the thief's hands (found
    // by the model checker: `stolen_se_unusable_after_report`, see docs/protocol.md).
    let reported_lost = !ctx.flawed(Flaw::ReportSuspendsOnlyCurrent)
        && ca
            .loss_cases
            .iter()
            .any(|c| c.closed_at.is_none() && c.ses.contains(&se));
    if !card_ok || ca.retired_ses.contains(&se) || old_still_live || reported_lost {
        ca.refuse(person, app);
        out.send(Party::SpTsm, Msg::IssueRefused { person, app });
        return;
    }
    if let Some(old) = supersedes {
        ca.set_status(
            |r| r.cert.serial == old && r.person() == person && r.se().is_some(),
            CertStatus::is_live,
            CertStatus::Revoked,
        );
    }
    let reuse = ctx.flawed(Flaw::SerialReuse);
    let cert = ca.issue(
        |serial| {
            ctx.crypto.issue(Certificate {
                serial,
                subject: Subject::Phone { person, se, app },
                key,
            })
        },
        Some(card),
        reuse,
    );
    if ctx.flawed(Flaw::CaIndexNotDurable) {
        ca.issued_index.push((person, app));
    }
    out.send(Party::SpTsm, Msg::CertIssued { app, cert });
}

/// The SP-TSM gave up on an application: refuse it from now on and revoke what was issued for
/// it, then confirm. Answering a repeated abort again is what lets the SP-TSM retry it.
fn abort_issue<C: Crypto>(
    ctx: &Ctx<'_, C>,
    ca: &mut CaState,
    person: PersonId,
    app: AppNo,
    out: &mut Outbox,
) {
    ca.refuse(person, app);
    if !ctx.flawed(Flaw::AbortKeepsCertificate) {
        ca.set_status(
            |r| r.answers(person, app),
            CertStatus::is_live,
            CertStatus::Revoked,
        );
    }
    out.send(Party::SpTsm, Msg::IssueRefused { person, app });
}

/// The CA's state after a crash and restart: its database survives whole; only the flawed
/// CA's in-memory index of issued applications is lost.
pub fn restart(stored: &CaState) -> CaState {
    CaState {
        issued_index: Vec::new(),
        ..stored.clone()
    }
}

fn card_event<C: Crypto>(
    ctx: &Ctx<'_, C>,
    ca: &mut CaState,
    person: PersonId,
    event_gen: CardGen,
    event: CardEventKind,
    out: &mut Outbox,
) {
    let Some(card) = ca
        .card_of(person)
        .filter(|r| r.status() == CertStatus::Valid)
    else {
        return;
    };
    let (serial, gen) = match card.cert.subject {
        Subject::Card { gen, .. } => (card.cert.serial, gen),
        Subject::Phone { .. } => return,
    };
    if gen != event_gen {
        return; // a replayed event about an older card
    }
    let to = match event {
        CardEventKind::Lost | CardEventKind::Renewed => CertStatus::Revoked,
        CardEventKind::Expired => CertStatus::Expired,
    };
    ca.set_status(|r| r.cert.serial == serial, |_| true, to);
    ca.cascade(ctx, serial, to);
    if event == CardEventKind::Renewed {
        let new_gen = CardGen(gen.0 + 1);
        let cert = ca.issue(
            |s| ctx.crypto.issue(card_cert(s, person, new_gen)),
            None,
            false,
        );
        out.send(Party::Applicant(person), Msg::CardIssued { cert });
    }
}

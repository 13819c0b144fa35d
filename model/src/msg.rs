//! The protocol's messages, named as the protocol names them.
//!
//! Each variant's doc says who sends it to whom. Certificates, keys and signatures are terms from
//! [`crate::crypto`]. A message never carries a PIN: PIN entry happens between a person and their
//! own SE and is modelled as right or wrong, never as a value.

use crate::crypto::{Certificate, KeyDelivery, PublicKey, Signature};
use crate::ids::{AppNo, CardGen, LoginId, Party, PersonId, SeId, Serial};
use serde::{Deserialize, Serialize};

pub use crate::status::{CertStatus, StatusEvidence};

/// A card-signed application for a phone certificate (from the JPKI UI app).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Application {
    /// Applicant.
    pub person: PersonId,
    /// The SE the applicant designated.
    pub se: SeId,
    /// Application number (covered by the signature).
    pub app: AppNo,
    /// The card's signing certificate.
    pub card_cert: Certificate,
    /// The card's signature over the application.
    pub sig: Signature,
}

/// Why a SIM leaves service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retirement {
    /// Number ported to another carrier; the old SIM is handed back to the carrier.
    PortedHandedBack,
    /// Number ported; the person keeps and throws away the old SIM.
    PortedDisposed,
    /// The person disposes of the SIM without porting.
    Disposed,
}

/// Every protocol message.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg {
    // --- issuance -------------------------------------------------------------------------
    /// Applicant → SP-TSM: apply for a phone certificate on an SE.
    Apply(Application),
    /// SP-TSM → SE-TSM (or → MVNO for its subscribers): install the JPKI applet on `se` for `person`.
    InstallApplet {
        /// For whom.
        person: PersonId,
        /// Where.
        se: SeId,
        /// Which application.
        app: AppNo,
    },
    /// MVNO → host MNO-TSM: install on behalf of the MVNO's subscriber.
    AuthoriseInstall {
        /// For whom.
        person: PersonId,
        /// Where.
        se: SeId,
        /// Which application.
        app: AppNo,
    },
    /// SE-TSM → SE (the ISD, under a secure channel): install a fresh applet instance.
    /// (The flawed MVNO sends it directly.)
    Install {
        /// For whom.
        person: PersonId,
        /// Which application.
        app: AppNo,
    },
    /// SE-TSM → SP-TSM: refused to install (SE not the person's, or out of service).
    InstallRefused {
        /// For whom.
        person: PersonId,
        /// Which application.
        app: AppNo,
    },
    /// SE → SP-TSM: applet installed; with on-SE key generation it carries the new public key.
    AppletInstalled {
        /// For whom.
        person: PersonId,
        /// Which SE.
        se: SeId,
        /// Which application.
        app: AppNo,
        /// The public key generated in the SE (on-SE mode).
        key: Option<PublicKey>,
        /// The private key, sent to J-LIS for safekeeping: only the flawed applet does this
        /// (flaw `se_key_escrow`); a correct one sends `None`.
        escrow: Option<KeyDelivery>,
    },
    /// SP-TSM → CA: issue a phone certificate linked to the card certificate.
    IssueCert {
        /// For whom.
        person: PersonId,
        /// On which SE.
        se: SeId,
        /// Which application.
        app: AppNo,
        /// The key to certify.
        key: PublicKey,
        /// The card certificate that signed the application.
        card: Serial,
        /// The person's current phone certificate, which the new one replaces.
        supersedes: Option<Serial>,
    },
    /// CA → SP-TSM: certificate issued.
    CertIssued {
        /// Which application.
        app: AppNo,
        /// The certificate.
        cert: Certificate,
    },
    /// CA → SP-TSM: issuance refused (card certificate not valid).
    IssueRefused {
        /// For whom.
        person: PersonId,
        /// Which application.
        app: AppNo,
    },
    /// SP-TSM → SE: personalise the applet with the certificate (and the key in centre mode).
    StoreData {
        /// Which application.
        app: AppNo,
        /// The certificate.
        cert: Certificate,
        /// The private key, in centre key generation.
        key: Option<KeyDelivery>,
    },
    // --- lifecycle ------------------------------------------------------------------------
    /// CA → Applicant: the new card's certificate, after a renewal at the municipal office.
    CardIssued {
        /// The new card certificate.
        cert: Certificate,
    },
    /// Applicant → CA (24-hour hotline, with the card): suspend my phone certificates.
    ReportLoss {
        /// Who.
        person: PersonId,
        /// The loss case (the person's n-th loss): a replayed report changes nothing.
        case: u8,
        /// The SEs in the phones that were taken.
        ses: Vec<SeId>,
    },
    /// Applicant → CA (with the card): unsuspend my phone's authentication certificate.
    Unsuspend {
        /// Who.
        person: PersonId,
        /// The loss case being closed.
        case: u8,
    },
    /// Applicant → SE (the JPKI app on the phone, with the PIN): sign a request to revoke the
    /// certificate this SE holds (before giving the phone away).
    SignRevocation,
    /// SE (through the phone's app) → CA: revoke this certificate. The request names the
    /// certificate and is signed with its own key inside the SE, so only the phone holding the
    /// key can revoke it, and a request that arrives late cannot revoke a newer certificate.
    RevokeFromPhone {
        /// The certificate to revoke.
        cert: Certificate,
        /// The SE's signature over `Digest::Revocation { serial }`.
        sig: Signature,
    },
    /// Municipal office → CA: the person's card certificate is revoked (card lost), renewed, or expired.
    CardEvent {
        /// Who.
        person: PersonId,
        /// The card generation it concerns: a replayed event for an old card changes nothing.
        gen: CardGen,
        /// What happened.
        event: CardEventKind,
    },
    /// Applicant → SE-TSM (carrier): take this SIM out of service (and port to `replacement`).
    RetireSim {
        /// The SIM leaving service.
        se: SeId,
        /// The new SIM taking over the number, if ported.
        replacement: Option<SeId>,
        /// Why.
        why: Retirement,
    },
    /// SE-TSM → CA: revoke the certificate bound to this retired SE.
    RevokeForSe {
        /// The retired SE.
        se: SeId,
    },
    /// CA → SE-TSM: the certificates bound to the SE are revoked.
    SeRevoked {
        /// The retired SE.
        se: SeId,
    },
    /// SE-TSM → Applicant: the SIM is out of service; it may now leave the person's hands.
    SimRetired {
        /// The retired SE.
        se: SeId,
    },
    /// SE-TSM → SE: lock the applet (SIM handed back to the carrier).
    LockApplet,
    /// Applicant → SE: the phone holding this SE was powered on again.
    Boot,
    /// SE → CA: what is the status of my certificate?
    BootStatusQuery {
        /// The SE's certificate serial.
        serial: Serial,
    },
    /// CA → SE: status of the SE's certificate, as a CA-signed OCSP answer (without a nonce: the
    /// SE acts only on `revoked`, which never changes back).
    BootStatus {
        /// The signed answer.
        evidence: StatusEvidence,
    },
    // --- login ----------------------------------------------------------------------------
    /// Applicant's UI app (or a thief) → SE: VERIFY the auth PIN, then sign the login challenge.
    Authenticate {
        /// The login.
        login: LoginId,
        /// Whether the PIN entered is the right one.
        pin_correct: bool,
    },
    /// SE → RP: the signed challenge and the certificate.
    LoginResponse {
        /// The login.
        login: LoginId,
        /// The SE's certificate.
        cert: Certificate,
        /// Signature over the challenge.
        sig: Signature,
    },
    /// RP → CA: status request for a login (OCSP, or a CRL fetch).
    StatusRequest {
        /// The login it is for.
        login: LoginId,
        /// Serial asked about.
        serial: Serial,
    },
    /// CA → RP: status evidence for a login.
    StatusResponse {
        /// The login it is for.
        login: LoginId,
        /// The evidence.
        evidence: StatusEvidence,
    },
    // --- the intruder ---------------------------------------------------------------------
    /// A message on its way through the intruder (`model::intruder`): `from` → intruder when a
    /// party sends on a link the intruder controls, intruder → `to` when it passes the message
    /// on or injects one. `from` is only a claim: the receiver believes it where the link
    /// authenticates nothing (`intruder::may_claim`).
    Intercepted {
        /// The sender the message claims.
        from: Party,
        /// The addressee.
        to: Party,
        /// The message.
        msg: Box<Msg>,
        /// Whether this is the sender's own transmission passed on unchanged, so that the link's
        /// authentication (TLS, the SE's secure channel) still holds; `false` for what the
        /// intruder injects.
        genuine: bool,
    },
    // --- recovery (only where timers are armed: `Config::timers_armed`) ---------------------
    // Last in the enum, so that every message older than recovery keeps its place in the order
    // the checker lists actions in.
    /// SE → SP-TSM: the applet is personalised with the certificate of `app` (the answer to
    /// `StoreData`, which the SP-TSM re-sends until it comes).
    Personalised {
        /// For whom.
        person: PersonId,
        /// Which SE.
        se: SeId,
        /// Which application.
        app: AppNo,
    },
    /// SP-TSM → CA: give up on `app`: refuse it from now on and revoke any certificate already
    /// issued for it. The CA answers `IssueRefused`, which the SP-TSM waits for (seed 004 ③: the
    /// CA, not the SP-TSM's memory, says what is issued).
    AbortIssue {
        /// For whom.
        person: PersonId,
        /// Which application.
        app: AppNo,
    },
}

/// What happened to a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardEventKind {
    /// Lost card reported: card certificate revoked.
    Lost,
    /// Card renewed: old card certificate revoked, new card with a new certificate.
    Renewed,
    /// Card certificate expired.
    Expired,
}

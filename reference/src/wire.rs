//! What travels between parties in the reference runtimes: the model's message plus the real
//! bytes behind every term it names ([`Artifact`]s), in an [`Envelope`].
//!
//! The message is exactly the model's, so the receiver runs exactly the model's transition on it;
//! the artifacts are what a real system would put on the wire instead of terms (X.509 DER, RSA
//! signature bytes, a SubjectPublicKeyInfo, a DEK-encrypted key, a signed status answer or CRL).
//! A receiver trusts none of them for being there: its backend checks them when a transition asks
//! (see [`crate::backend`]).

use jpkisim_model::crypto::{Certificate, KeyDelivery, KeyName, PublicKey, Signature};
use jpkisim_model::ids::Party;
use jpkisim_model::msg::{Msg, StatusEvidence};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Real bytes standing behind one term of a message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Artifact {
    /// A certificate term and its X.509 DER.
    Certificate {
        /// The term.
        cert: Certificate,
        /// X.509 DER signed by the CA.
        der: Vec<u8>,
    },
    /// A signature term and its PKCS#1 v1.5 bytes.
    Signature {
        /// The term.
        sig: Signature,
        /// RSA signature.
        bytes: Vec<u8>,
    },
    /// A public key named in a message, as SubjectPublicKeyInfo DER.
    PublicKey {
        /// The key's name.
        key: KeyName,
        /// SPKI DER.
        spki: Vec<u8>,
    },
    /// A private key in transit: DEK-encrypted for one SE (or in the clear in the flawed design).
    KeyDelivery {
        /// The term.
        delivery: KeyDelivery,
        /// The ciphertext (or plaintext PKCS#1 DER).
        bytes: Vec<u8>,
    },
    /// Status evidence: a CA-signed status answer or CRL.
    Status {
        /// The term.
        evidence: StatusEvidence,
        /// DER signed by the CA.
        der: Vec<u8>,
    },
}

impl Artifact {
    /// A short name of what the artifact stands for, for logs and recorded traces.
    pub fn label(&self) -> String {
        use jpkisim_model::describe;
        match self {
            Artifact::Certificate { cert, .. } => format!("certificate {}", cert.serial),
            Artifact::Signature { sig, .. } => {
                format!("signature by {}", describe::key(&sig.signer))
            }
            Artifact::PublicKey { key, .. } => format!("public half of {}", describe::key(key)),
            Artifact::KeyDelivery { delivery, .. } => match delivery {
                KeyDelivery::Sealed { for_se, .. } => format!("key sealed for {for_se}"),
                KeyDelivery::Plain(_) => "key in the clear".to_string(),
            },
            Artifact::Status { evidence, .. } => match evidence {
                StatusEvidence::Ocsp { serial, .. } => format!("status answer for {serial}"),
                StatusEvidence::Crl { published, .. } => format!("CRL published at {published}"),
            },
        }
    }

    /// The SHA-256 fingerprint (first 16 hex digits) of the bytes: what a log may show of
    /// signatures, certificates and keys. A key in transit is never shown otherwise.
    pub fn fingerprint(&self) -> String {
        let bytes = match self {
            Artifact::Certificate { der, .. } | Artifact::Status { der, .. } => der,
            Artifact::Signature { bytes, .. } | Artifact::KeyDelivery { bytes, .. } => bytes,
            Artifact::PublicKey { spki, .. } => spki,
        };
        Sha256::digest(bytes)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// One message on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Envelope {
    /// Sender.
    pub from: Party,
    /// Addressee.
    pub to: Party,
    /// The model's message.
    pub msg: Msg,
    /// The bytes behind its terms.
    pub artifacts: Vec<Artifact>,
}

/// The terms a message names, which a real system would send as bytes.
#[derive(Default)]
struct Terms<'a> {
    certs: Vec<&'a Certificate>,
    sigs: Vec<&'a Signature>,
    keys: Vec<&'a PublicKey>,
    deliveries: Vec<&'a KeyDelivery>,
    statuses: Vec<&'a StatusEvidence>,
}

/// Every term in `msg`. The match is exhaustive on purpose: a new message must say what it
/// carries.
fn terms(msg: &Msg) -> Terms<'_> {
    let mut t = Terms::default();
    add_terms(msg, &mut t);
    t
}

fn add_terms<'a>(msg: &'a Msg, t: &mut Terms<'a>) {
    match msg {
        Msg::Apply(a) => {
            t.certs.push(&a.card_cert);
            t.sigs.push(&a.sig);
        }
        Msg::AppletInstalled { key, escrow, .. } => {
            t.keys.extend(key.iter());
            t.deliveries.extend(escrow.iter());
        }
        Msg::IssueCert { key, .. } => t.keys.push(key),
        Msg::CertIssued { cert, .. } | Msg::CardIssued { cert } => t.certs.push(cert),
        Msg::StoreData { cert, key, .. } => {
            t.certs.push(cert);
            t.deliveries.extend(key.iter());
        }
        Msg::LoginResponse { cert, sig, .. } | Msg::RevokeFromPhone { cert, sig } => {
            t.certs.push(cert);
            t.sigs.push(sig);
        }
        Msg::StatusResponse { evidence, .. } | Msg::BootStatus { evidence } => {
            t.statuses.push(evidence)
        }
        // What travels through the intruder carries the bytes of the message it wraps.
        Msg::Intercepted { msg, .. } => add_terms(msg, t),
        Msg::InstallApplet { .. }
        | Msg::AuthoriseInstall { .. }
        | Msg::Install { .. }
        | Msg::InstallRefused { .. }
        | Msg::IssueRefused { .. }
        | Msg::ReportLoss { .. }
        | Msg::Unsuspend { .. }
        | Msg::SignRevocation
        | Msg::CardEvent { .. }
        | Msg::RetireSim { .. }
        | Msg::RevokeForSe { .. }
        | Msg::SeRevoked { .. }
        | Msg::SimRetired { .. }
        | Msg::LockApplet
        | Msg::Boot
        | Msg::BootStatusQuery { .. }
        | Msg::Authenticate { .. }
        | Msg::StatusRequest { .. }
        | Msg::Personalised { .. }
        | Msg::AbortIssue { .. } => {}
    }
}

/// Whoever can stand real bytes behind the terms it sends: a party's backend
/// ([`crate::backend::RealCrypto`]). `None` where it has no bytes for the term.
pub trait ArtifactSource {
    /// The certificate's DER.
    fn artifact_for_cert(&self, cert: &Certificate) -> Option<Artifact>;
    /// The signature's bytes.
    fn artifact_for_sig(&self, sig: &Signature) -> Option<Artifact>;
    /// The public key's SubjectPublicKeyInfo.
    fn artifact_for_key(&self, key: &PublicKey) -> Option<Artifact>;
    /// The key delivery's ciphertext.
    fn artifact_for_delivery(&self, delivery: &KeyDelivery) -> Option<Artifact>;
    /// The status evidence's signed DER.
    fn artifact_for_status(&self, evidence: &StatusEvidence) -> Option<Artifact>;
}

/// Puts `msg` in an envelope with the bytes the sender's backend has for its terms. A term the
/// sender has no bytes for travels without them (the receiver's checks then fail, as they would
/// for a real system that sent a bare reference).
pub fn seal(backend: &impl ArtifactSource, from: Party, to: Party, msg: Msg) -> Envelope {
    let t = terms(&msg);
    let mut artifacts = Vec::new();
    artifacts.extend(t.certs.iter().filter_map(|c| backend.artifact_for_cert(c)));
    artifacts.extend(t.sigs.iter().filter_map(|s| backend.artifact_for_sig(s)));
    artifacts.extend(t.keys.iter().filter_map(|k| backend.artifact_for_key(k)));
    artifacts.extend(
        t.deliveries
            .iter()
            .filter_map(|d| backend.artifact_for_delivery(d)),
    );
    artifacts.extend(
        t.statuses
            .iter()
            .filter_map(|e| backend.artifact_for_status(e)),
    );
    Envelope {
        from,
        to,
        msg,
        artifacts,
    }
}

//! Cryptography as the transitions see it: keys, signatures and sealed keys are *terms*.
//!
//! Transitions never compute with bytes; they call the [`Crypto`] trait. The model checker uses
//! [`Symbolic`], in which a signature verifies exactly when it was made with the matching key over
//! the same digest (perfect cryptography, Dolev–Yao style). The reference implementation supplies a
//! backend that performs real RSA-2048 / SHA-256 behind the same terms, so the transition code is
//! identical in both. This module is not a crypto library and holds no secrets.

use crate::ids::{AppNo, CardGen, LoginId, PersonId, SeId, Serial};
use crate::status::StatusEvidence;
use serde::{Deserialize, Serialize};

/// The name of a key pair. Whoever holds the term holds the private key; [`PublicKey`] wraps it
/// to say "only the public half".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeyName {
    /// The signing key inside a person's My Number card of generation `gen`.
    Card {
        /// Card holder.
        person: PersonId,
        /// Card generation.
        gen: CardGen,
    },
    /// A key pair generated inside an SE for application `app`.
    Se {
        /// Where it was generated.
        se: SeId,
        /// For which application.
        app: AppNo,
    },
    /// A key pair generated at J-LIS for `person`'s application `app` (centre key generation).
    Center {
        /// For whom.
        person: PersonId,
        /// For which application.
        app: AppNo,
    },
    /// The one-time access code J-LIS mails to `person` by restricted delivery for application
    /// `app` (mail-based identity proofing). It is a shared secret, not a key pair: "signing" with
    /// it is proving knowledge of the code (a real backend would MAC with it), and only the person,
    /// who received the mail, holds it.
    AccessCode {
        /// To whom it was mailed.
        person: PersonId,
        /// For which application.
        app: AppNo,
    },
    /// The intruder's own key pair: it signs anything with it, but no certificate names it.
    Intruder,
}

/// The public half of a key pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PublicKey(pub KeyName);

/// What gets signed. Each variant lists exactly the fields the signature covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Digest {
    /// An application for a phone certificate. `se` is `None` when the (flawed) design does not
    /// cover the designated SE with the card signature.
    Application {
        /// Applicant.
        person: PersonId,
        /// The SE the applicant designated, if covered.
        se: Option<SeId>,
        /// Application number.
        app: AppNo,
        /// Serial of the card certificate that signs.
        card: Serial,
    },
    /// A relying party's login challenge.
    Login(LoginId),
    /// A request, signed inside the phone's SE, to revoke the certificate `serial` it holds.
    Revocation {
        /// The certificate to revoke.
        serial: Serial,
    },
}

/// A signature term: who signed what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Signature {
    /// The signing key.
    pub signer: KeyName,
    /// The signed digest.
    pub digest: Digest,
}

/// What a certificate certifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Subject {
    /// A My Number card certificate.
    Card {
        /// Holder.
        person: PersonId,
        /// Card generation.
        gen: CardGen,
    },
    /// A smartphone (SE) user-authentication certificate.
    Phone {
        /// Holder.
        person: PersonId,
        /// The SE named in the application.
        se: SeId,
        /// The application it was issued for.
        app: AppNo,
    },
}

/// A certificate issued by the JPKI CA. Only the CA creates these terms (its signature is
/// implicit in the symbolic model; the reference backend makes real X.509).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Certificate {
    /// Serial number.
    pub serial: Serial,
    /// What it certifies.
    pub subject: Subject,
    /// The certified public key.
    pub key: PublicKey,
}

/// A private key in transit from J-LIS to an SE (centre key generation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeyDelivery {
    /// Encrypted so that only `for_se` can open it.
    Sealed {
        /// The only SE able to open it.
        for_se: SeId,
        /// The key inside.
        key: KeyName,
    },
    /// In the clear: anyone on the path learns the private key.
    Plain(KeyName),
}

impl KeyDelivery {
    /// The private key carried, whether or not it is readable.
    pub fn key(&self) -> KeyName {
        match self {
            KeyDelivery::Sealed { key, .. } | KeyDelivery::Plain(key) => *key,
        }
    }
}

/// The cryptographic operations the transitions need. Implementations must be deterministic for
/// a given input in the model; a real backend keeps its own key material behind the terms.
pub trait Crypto {
    /// Signs `digest` with the private key `key`.
    fn sign(&self, key: KeyName, digest: Digest) -> Signature;
    /// Whether `sig` is a signature by the private half of `key` over `digest`.
    fn verify(&self, key: PublicKey, digest: Digest, sig: Signature) -> bool;
    /// Generates a key pair inside `se` for application `app`.
    fn generate_in_se(&self, se: SeId, app: AppNo) -> KeyName;
    /// Generates a key pair at J-LIS for `person`'s application `app`.
    fn generate_at_center(&self, person: PersonId, app: AppNo) -> KeyName;
    /// Encrypts a private key so that only `se` can open it.
    fn seal_for(&self, se: SeId, key: KeyName) -> KeyDelivery;
    /// Sends a private key without encryption (only the flawed design does).
    fn in_clear(&self, key: KeyName) -> KeyDelivery;
    /// Opens a delivery inside `se`; `None` if it was sealed for another SE.
    fn open(&self, se: SeId, delivery: KeyDelivery) -> Option<KeyName>;
    /// The CA signs `cert`. The term is returned unchanged: a real backend keeps the signed X.509
    /// encoding to send along with it.
    fn issue(&self, cert: Certificate) -> Certificate;
    /// The CA signs status evidence (an OCSP-like answer or a CRL); as [`Crypto::issue`].
    fn publish_status(&self, evidence: StatusEvidence) -> StatusEvidence;
    /// Whether `cert` really was issued by the CA. Symbolically every certificate term was (only
    /// the CA makes them); a real backend checks the CA's signature on the encoding it received.
    fn certificate_genuine(&self, cert: &Certificate) -> bool;
    /// Whether status evidence really comes from the CA; as [`Crypto::certificate_genuine`].
    fn status_genuine(&self, evidence: &StatusEvidence) -> bool;
}

/// Perfect symbolic cryptography for model checking.
#[derive(Clone, Copy, Debug, Default)]
pub struct Symbolic;

impl Crypto for Symbolic {
    fn sign(&self, key: KeyName, digest: Digest) -> Signature {
        Signature {
            signer: key,
            digest,
        }
    }

    fn verify(&self, key: PublicKey, digest: Digest, sig: Signature) -> bool {
        sig.signer == key.0 && sig.digest == digest
    }

    fn generate_in_se(&self, se: SeId, app: AppNo) -> KeyName {
        KeyName::Se { se, app }
    }

    fn generate_at_center(&self, person: PersonId, app: AppNo) -> KeyName {
        KeyName::Center { person, app }
    }

    fn seal_for(&self, se: SeId, key: KeyName) -> KeyDelivery {
        KeyDelivery::Sealed { for_se: se, key }
    }

    fn in_clear(&self, key: KeyName) -> KeyDelivery {
        KeyDelivery::Plain(key)
    }

    fn open(&self, se: SeId, delivery: KeyDelivery) -> Option<KeyName> {
        match delivery {
            KeyDelivery::Sealed { for_se, key } if for_se == se => Some(key),
            KeyDelivery::Sealed { .. } => None,
            KeyDelivery::Plain(key) => Some(key),
        }
    }

    fn issue(&self, cert: Certificate) -> Certificate {
        cert
    }

    fn publish_status(&self, evidence: StatusEvidence) -> StatusEvidence {
        evidence
    }

    fn certificate_genuine(&self, _cert: &Certificate) -> bool {
        true
    }

    fn status_genuine(&self, _evidence: &StatusEvidence) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_key_and_digest() {
        let c = Symbolic;
        let k = KeyName::Se {
            se: SeId(0),
            app: AppNo(1),
        };
        let other = KeyName::Se {
            se: SeId(1),
            app: AppNo(1),
        };
        let d = Digest::Login(LoginId {
            person: PersonId(0),
            n: 0,
        });
        let d2 = Digest::Login(LoginId {
            person: PersonId(0),
            n: 1,
        });
        let sig = c.sign(k, d);
        assert!(c.verify(PublicKey(k), d, sig));
        assert!(!c.verify(PublicKey(other), d, sig));
        assert!(!c.verify(PublicKey(k), d2, sig));
    }

    #[test]
    fn a_sealed_key_opens_only_in_its_se() {
        let c = Symbolic;
        let k = KeyName::Center {
            person: PersonId(0),
            app: AppNo(0),
        };
        let sealed = c.seal_for(SeId(1), k);
        assert_eq!(c.open(SeId(1), sealed), Some(k));
        assert_eq!(c.open(SeId(0), sealed), None);
    }
}

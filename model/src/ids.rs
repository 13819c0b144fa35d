//! Names of the protocol's participants and of the things they exchange.
//!
//! Every identifier is a small newtype so that a person can never be confused with a secure
//! element or a serial number. Addresses ([`Party`]) are protocol-level: the Stateright adapter and
//! the reference runtime map them to their own transport addresses.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! small_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub u8);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

small_id!(
    /// A person holding a My Number card (the applicant).
    PersonId,
    "person "
);
small_id!(
    /// A secure element: a SIM/UICC or a phone's embedded GP-SE.
    SeId,
    "SE "
);
small_id!(
    /// A person's application number: the UI app numbers each application it sends, and the
    /// number is covered by the card signature, so it doubles as the idempotency key of issuance.
    AppNo,
    "app "
);
small_id!(
    /// A certificate serial number assigned by the JPKI CA (card and phone certificates share
    /// one serial space, which is why `distinct_serials` matters).
    Serial,
    "serial "
);
small_id!(
    /// The CA's logical clock: it advances by one on every change the CA makes to its
    /// certificate database. Status evidence (OCSP responses, CRL fetches) is stamped with it.
    Epoch,
    "epoch "
);
small_id!(
    /// A card generation: renewing the My Number card gives new card keys and certificates.
    CardGen,
    "card "
);

/// One login attempt, numbered by the person who started it (or the thief holding their phone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LoginId {
    /// Whose device the login runs on.
    pub person: PersonId,
    /// Sequence number among that person's logins.
    pub n: u8,
}

impl fmt::Display for LoginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "login {}.{}", self.person.0, self.n)
    }
}

/// A protocol participant, as the protocol names it. Messages are addressed to parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Party {
    /// J-LIS's certification authority for JPKI (issuance, status, CRL).
    Ca,
    /// J-LIS's service-provider TSM: checks applications and personalises the applet.
    SpTsm,
    /// The SE issuer's TSM: the carrier's MNO-TSM for a SIM, or the SEI-TSM for a GP-SE.
    SeTsm,
    /// A relying party that logs users in with the phone's user-authentication certificate.
    RelyingParty,
    /// A mobile virtual network operator: has subscribers but no TSM of its own.
    Mvno,
    /// A person with their card, phones and JPKI UI app.
    Applicant(PersonId),
    /// A secure element with the JPKI applet.
    Se(SeId),
    /// The Dolev–Yao intruder: it relays every message on an open link (and every message of a
    /// compromised party), and injects what it knows or can build (`model::intruder`). Present
    /// only with `--intruder` or `--compromised`.
    Intruder,
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Ca => f.write_str("CA"),
            Party::SpTsm => f.write_str("SP-TSM"),
            Party::SeTsm => f.write_str("SE-TSM"),
            Party::RelyingParty => f.write_str("RP"),
            Party::Mvno => f.write_str("MVNO"),
            Party::Applicant(p) => write!(f, "Applicant {}", p.0),
            Party::Se(s) => write!(f, "SE {}", s.0),
            Party::Intruder => f.write_str("Intruder"),
        }
    }
}

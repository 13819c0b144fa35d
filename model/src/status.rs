//! Certificate status, and the CA-signed evidence of it that relying parties and SEs act on.
//!
//! It is its own module because both the messages ([`crate::msg`]) and the crypto seam
//! ([`crate::crypto::Crypto::publish_status`]) name it; it holds data only, no rule.

use crate::ids::{Epoch, LoginId, Serial};
use serde::{Deserialize, Serialize};

/// Status of a certificate in the CA's database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    /// Usable.
    Valid,
    /// Temporarily unusable after a reported loss; may be unsuspended.
    Suspended,
    /// Permanently unusable.
    Revoked,
    /// Past its validity (phone certificates expire with the card's).
    Expired,
}

impl CertStatus {
    /// Valid or suspended: the certificate still stands for its holder (a suspended one may come
    /// back), which is what "one device per person" counts.
    pub fn is_live(self) -> bool {
        matches!(self, CertStatus::Valid | CertStatus::Suspended)
    }
}

/// Status evidence a relying party obtains for a login.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StatusEvidence {
    /// An OCSP-like answer for one serial, produced at `at`.
    Ocsp {
        /// Serial asked about.
        serial: Serial,
        /// Its status at the CA.
        status: CertStatus,
        /// When the CA produced the answer.
        at: Epoch,
        /// The request it answers (the OCSP nonce extension, RFC 8954): a relying party's
        /// login. `None` for an answer to a phone asking about its own certificate at boot.
        nonce: Option<LoginId>,
    },
    /// The CA's published CRL: the serials not valid at publication, fetched at `at`.
    Crl {
        /// Non-valid serials with their status at publication (a CRL carries no nonce: the same
        /// list serves every request until the next publication).
        entries: Vec<(Serial, CertStatus)>,
        /// When the CRL was published.
        published: Epoch,
        /// When the relying party fetched it.
        at: Epoch,
    },
}

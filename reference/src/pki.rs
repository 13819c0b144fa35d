//! The test PKI: a self-signed test CA that issues real X.509 certificates, a real RFC 5280 CRL
//! and real RFC 6960 OCSP responses, all signed RSA-2048 PKCS#1 v1.5 SHA-256 with blinding.
//!
//! It exists so that the reference implementation checks the same artefacts a relying party
//! checks in the field, and so that `openssl` can judge them independently of this code. It is
//! **not** JPKI: the CA is "JPKISIM TEST CA (NOT JPKI)", its keys are test keys, and JPKI's real
//! certificate profiles (names, policies, CRL distribution points, validity rules) are not
//! reproduced. The profiles are described in `docs/reference.md`, section "PKI".
//!
//! Every signature takes a caller-supplied RNG so that the deterministic scheduler can replay a
//! run bit for bit; RSA blinding draws from that RNG too.
//!
//! Verification trusts nothing it did not check: the signature is verified over the TBS bytes
//! exactly as they appear in the input (not a re-encoding), the algorithm must be
//! sha256WithRSAEncryption and the issuer (or responder) must be the test CA.

use std::{fmt, str::FromStr, time::Duration};

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRngCore, SeedableRng};
use rsa::{
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::DecodePublicKey,
    signature::{RandomizedSigner, SignatureEncoding, Verifier},
    RsaPrivateKey, RsaPublicKey,
};
use sha2::{Digest, Sha256};
use x509_cert::{
    attr::AttributeTypeAndValue,
    builder::{Builder, CertificateBuilder, Profile},
    certificate::Certificate,
    crl::{CertificateList, RevokedCert, TbsCertList},
    der::{
        asn1::{GeneralizedTime, SetOfVec, Uint, UtcTime, Utf8StringRef},
        oid::{
            db::{
                rfc4519::COMMON_NAME,
                rfc5912::{ID_SHA_256, SHA_256_WITH_RSA_ENCRYPTION},
                rfc6960::ID_PKIX_OCSP_BASIC,
            },
            AssociatedOid,
        },
        referenced::OwnedToRef,
        Any, DateTime, Decode, Encode, Header, Reader, SliceReader, Tag, Tagged,
    },
    ext::{
        pkix::{crl::CrlNumber, AuthorityKeyIdentifier, CrlReason},
        AsExtension, Extension,
    },
    name::{Name, RdnSequence, RelativeDistinguishedName},
    serial_number::SerialNumber,
    spki::{
        AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureBitStringEncoding,
        SubjectPublicKeyInfoOwned,
    },
    time::{Time, Validity},
    Version,
};
use x509_ocsp::{
    builder::OcspResponseBuilder, ext::Nonce, BasicOcspResponse, CertId, CertStatus,
    OcspGeneralizedTime, OcspResponse, OcspResponseStatus, ResponderId, RevokedInfo,
    SingleResponse,
};

/// Subject and issuer of the test CA. "NOT JPKI" is in the name so that no artefact of this
/// module can be mistaken for a real JPKI certificate.
pub const CA_NAME: &str = "CN=JPKISIM TEST CA (NOT JPKI),O=jpkisim,C=JP";
/// The organisation and country of every end-entity subject, below the caller's common name.
const LEAF_NAME_BASE: &str = "O=jpkisim,C=JP";
/// RFC 5280 `ub-common-name`.
const MAX_CN_LEN: usize = 64;
/// The CA certificate's lifetime: ten 365-day years (the brief's "10 years").
const CA_LIFETIME_SECS: u64 = 10 * 365 * 86_400;
/// PEM label of a certificate (RFC 7468 section 5).
pub const PEM_CERTIFICATE: &str = "CERTIFICATE";
/// PEM label of a CRL (RFC 7468 section 6).
pub const PEM_CRL: &str = "X509 CRL";
/// RSA modulus size of every key in the test PKI.
pub const KEY_BITS: usize = 2048;

/// Which signed document an error is about, so a caller can tell a bad CRL from a bad
/// certificate without parsing messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    /// An X.509 certificate.
    Certificate,
    /// An X.509 v2 CRL.
    Crl,
    /// An OCSP response (the status answer).
    StatusAnswer,
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Document::Certificate => "certificate",
            Document::Crl => "CRL",
            Document::StatusAnswer => "status answer",
        })
    }
}

/// What went wrong building or checking a PKI artefact. Messages name the document and field,
/// never key material.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// RSA key generation failed.
    #[error("RSA key generation failed: {0}")]
    KeyGeneration(#[source] rsa::Error),
    /// Encoding a structure to DER failed (a bug or an out-of-range value).
    #[error("cannot encode the {document} field {field}: {source}")]
    Encode {
        /// The document being built.
        document: Document,
        /// The field being encoded.
        field: &'static str,
        /// The DER encoder's error.
        #[source]
        source: x509_cert::der::Error,
    },
    /// The x509-cert or x509-ocsp builder refused its input or failed to sign.
    #[error("cannot build the {document}: {message}")]
    Build {
        /// The document being built.
        document: Document,
        /// The builder's description (no key material: it reports ASN.1 or signer failures).
        message: String,
    },
    /// The RSA signer failed.
    #[error("RSA signing failed")]
    Signing,
    /// The input is not valid DER for the expected document.
    #[error("the {document} is not valid DER: {source}")]
    Decode {
        /// The document being parsed.
        document: Document,
        /// The DER decoder's error (with position).
        #[source]
        source: x509_cert::der::Error,
    },
    /// A structurally valid document lacks a field this profile requires or holds a value it
    /// does not allow.
    #[error("the {document} field {field} is missing or not allowed by the profile")]
    Profile {
        /// The document being checked.
        document: Document,
        /// The offending field.
        field: &'static str,
    },
    /// The issuer (or OCSP responder) is not the test CA.
    #[error("the {document} is not issued by the test CA")]
    WrongIssuer {
        /// The document being checked.
        document: Document,
    },
    /// The signature algorithm is not sha256WithRSAEncryption.
    #[error("the {document} is signed with {oid}, not sha256WithRSAEncryption")]
    UnsupportedAlgorithm {
        /// The document being checked.
        document: Document,
        /// The algorithm it names.
        oid: String,
    },
    /// The RSA signature does not verify under the CA key.
    #[error("the {document} signature does not verify under the CA key")]
    BadSignature {
        /// The document being checked.
        document: Document,
    },
    /// A serial number outside what the profile allows (CA = 1, end entities > 1, all > 0).
    #[error("serial number {serial} is not allowed here")]
    InvalidSerial {
        /// The refused serial.
        serial: u64,
    },
    /// A serial number in a document does not fit in a `u64`.
    #[error("the {document} holds a serial number larger than 64 bits")]
    SerialTooLarge {
        /// The document being checked.
        document: Document,
    },
    /// The subject common name is empty or longer than RFC 5280 allows.
    #[error("subject common name must be 1..=64 characters, got {len}")]
    InvalidSubject {
        /// Its length in characters.
        len: usize,
    },
    /// A time that cannot be encoded (before 1970 or after 9999) or an empty interval.
    #[error("invalid time for {field}: {secs} unix seconds")]
    InvalidTime {
        /// The field.
        field: &'static str,
        /// The offending value.
        secs: u64,
    },
    /// The same serial appears twice in one CRL.
    #[error("serial {serial} listed twice in the CRL")]
    DuplicateCrlEntry {
        /// The duplicated serial.
        serial: u64,
    },
    /// A revocation reason outside the five this profile uses.
    #[error("the {document} uses revocation reason {reason:?}, which this profile does not issue")]
    UnsupportedReason {
        /// The document being checked.
        document: Document,
        /// The reason code found.
        reason: CrlReason,
    },
    /// The PEM label is not allowed by RFC 7468.
    #[error("invalid PEM label")]
    PemLabel,
}

/// The five revocation reasons the life-cycle scenarios need (RFC 5280 `CRLReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    /// The private key is known or suspected to be compromised (e.g. a stolen phone).
    KeyCompromise,
    /// The holder no longer uses the certificate (e.g. device change, card revoked).
    CessationOfOperation,
    /// A newer certificate replaces it.
    Superseded,
    /// Suspension: reversible, the JPKI "一時保留" after a loss report.
    CertificateHold,
    /// No reason given; RFC 5280 says the reasonCode extension should then be absent.
    Unspecified,
}

impl RevocationReason {
    fn to_crl_reason(self) -> CrlReason {
        match self {
            RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
            RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
            RevocationReason::Superseded => CrlReason::Superseded,
            RevocationReason::CertificateHold => CrlReason::CertificateHold,
            RevocationReason::Unspecified => CrlReason::Unspecified,
        }
    }

    fn from_crl_reason(reason: CrlReason, document: Document) -> Result<Self, PkiError> {
        Ok(match reason {
            CrlReason::KeyCompromise => RevocationReason::KeyCompromise,
            CrlReason::CessationOfOperation => RevocationReason::CessationOfOperation,
            CrlReason::Superseded => RevocationReason::Superseded,
            CrlReason::CertificateHold => RevocationReason::CertificateHold,
            CrlReason::Unspecified => RevocationReason::Unspecified,
            other => {
                return Err(PkiError::UnsupportedReason {
                    document,
                    reason: other,
                })
            }
        })
    }
}

/// A certificate's status as the CA answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertState {
    /// Not revoked.
    Good,
    /// On hold (OCSP `revoked` with reason certificateHold, as RFC 6960 section 2.2 prescribes).
    Suspended,
    /// Permanently revoked.
    Revoked,
}

/// What the CA certifies for one end entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueRequest {
    /// Serial number, > 1 (1 is the CA's own).
    pub serial: u64,
    /// Subject common name, 1..=64 characters, encoded as UTF8String.
    pub subject_cn: String,
    /// The subject's RSA public key.
    pub public_key: RsaPublicKey,
    /// Start of validity, unix seconds.
    pub not_before: u64,
    /// End of validity, unix seconds, after `not_before`.
    pub not_after: u64,
}

/// One revoked (or suspended) certificate in a CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlEntry {
    /// Serial of the listed certificate, > 0.
    pub serial: u64,
    /// Revocation date, unix seconds.
    pub revoked_at: u64,
    /// Why; `CertificateHold` for a suspension.
    pub reason: RevocationReason,
}

/// The fields a relying party needs from a certificate whose CA signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCert {
    /// Serial number.
    pub serial: u64,
    /// Subject common name.
    pub subject_cn: String,
    /// Subject public key.
    pub public_key: RsaPublicKey,
    /// Start of validity, unix seconds.
    pub not_before: u64,
    /// End of validity, unix seconds.
    pub not_after: u64,
}

/// The content of a CRL whose CA signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCrl {
    /// CRL number extension.
    pub crl_number: u64,
    /// thisUpdate, unix seconds.
    pub this_update: u64,
    /// nextUpdate, unix seconds.
    pub next_update: u64,
    /// Listed serials with their reasons (`Unspecified` when the entry has no reasonCode).
    pub entries: Vec<(u64, RevocationReason)>,
}

/// The content of a status answer whose CA signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedStatus {
    /// The serial it is about.
    pub serial: u64,
    /// Its status.
    pub status: CertState,
    /// producedAt, unix seconds.
    pub produced_at: u64,
    /// The nonce extension (RFC 8954): the request it answers, if it names one.
    pub nonce: Option<Vec<u8>>,
}

/// The test CA: its private key and its self-signed certificate.
///
/// `Debug` shows only the subject so the key never reaches a log.
#[derive(Clone)]
pub struct Authority {
    key: RsaPrivateKey,
    cert: Certificate,
    cert_der: Vec<u8>,
    name: Name,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("subject", &CA_NAME)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Creates the self-signed root "CN=JPKISIM TEST CA (NOT JPKI),O=jpkisim,C=JP", serial 1,
    /// valid from `not_before` for ten years, with basicConstraints CA and keyUsage
    /// keyCertSign|cRLSign (x509-cert's root profile, which also adds an SKI).
    pub fn new(
        key: RsaPrivateKey,
        not_before: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, PkiError> {
        let doc = Document::Certificate;
        let name = ca_name()?;
        let not_after = not_before
            .checked_add(CA_LIFETIME_SECS)
            .ok_or(PkiError::InvalidTime {
                field: "notAfter",
                secs: not_before,
            })?;
        let validity = Validity {
            not_before: to_time(not_before, "notBefore")?,
            not_after: to_time(not_after, "notAfter")?,
        };
        let spki = spki_of(&key.to_public_key(), doc)?;
        let signer = SigningKey::<Sha256>::new(key.clone());
        let builder = CertificateBuilder::new(
            Profile::Root,
            SerialNumber::from(1u64),
            validity,
            name.clone(),
            spki,
            &signer,
        )
        .map_err(|e| build_error(doc, e))?;
        let cert = builder
            .build_with_rng::<Signature>(rng)
            .map_err(|e| build_error(doc, e))?;
        let cert_der = encode(&cert, doc, "Certificate")?;
        Ok(Self {
            key,
            cert,
            cert_der,
            name,
        })
    }

    /// The CA certificate, DER: what relying parties install as their trust anchor.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA public key, what every `verify_*` function takes.
    pub fn public_key(&self) -> RsaPublicKey {
        self.key.to_public_key()
    }

    fn signer(&self) -> SigningKey<Sha256> {
        SigningKey::<Sha256>::new(self.key.clone())
    }

    /// Issues an end-entity certificate (a card or phone key): subject CN = `req.subject_cn`
    /// under O=jpkisim,C=JP, basicConstraints CA:false, keyUsage digitalSignature and
    /// nonRepudiation (critical), SKI and AKI, signed with blinding so no two signing operations look alike to a timing
    /// observer.
    pub fn issue(
        &self,
        req: &IssueRequest,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, PkiError> {
        let doc = Document::Certificate;
        if req.serial <= 1 {
            return Err(PkiError::InvalidSerial { serial: req.serial });
        }
        if req.not_after <= req.not_before {
            return Err(PkiError::InvalidTime {
                field: "notAfter",
                secs: req.not_after,
            });
        }
        let subject = leaf_name(&req.subject_cn)?;
        let validity = Validity {
            not_before: to_time(req.not_before, "notBefore")?,
            not_after: to_time(req.not_after, "notAfter")?,
        };
        let spki = spki_of(&req.public_key, doc)?;
        let signer = self.signer();
        // x509-cert's leaf profile: SKI, AKI, basicConstraints CA:false (critical), keyUsage
        // digitalSignature|nonRepudiation (critical). Choosing keyUsage freely would need its
        // `hazmat` feature, which changes `Profile::Leaf` for every user in the workspace.
        let profile = Profile::Leaf {
            issuer: self.name.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        let builder = CertificateBuilder::new(
            profile,
            SerialNumber::from(req.serial),
            validity,
            subject,
            spki,
            &signer,
        )
        .map_err(|e| build_error(doc, e))?;
        let cert = builder
            .build_with_rng::<Signature>(rng)
            .map_err(|e| build_error(doc, e))?;
        encode(&cert, doc, "Certificate")
    }

    /// Issues a v2 CRL listing `entries` (reasonCode entry extensions; none for `Unspecified`,
    /// as RFC 5280 section 5.3.1 asks), with the CRL number and AKI extensions.
    ///
    /// x509-cert 0.2 has the CRL types but no CRL builder, so the TBS is built here, encoded
    /// once, and exactly those bytes are signed.
    pub fn crl(
        &self,
        entries: &[CrlEntry],
        crl_number: u64,
        this_update: u64,
        next_update: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, PkiError> {
        let doc = Document::Crl;
        if next_update <= this_update {
            return Err(PkiError::InvalidTime {
                field: "nextUpdate",
                secs: next_update,
            });
        }
        let mut revoked = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            if entry.serial == 0 {
                return Err(PkiError::InvalidSerial { serial: 0 });
            }
            if entries[..i].iter().any(|e| e.serial == entry.serial) {
                return Err(PkiError::DuplicateCrlEntry {
                    serial: entry.serial,
                });
            }
            let crl_entry_extensions = match entry.reason {
                RevocationReason::Unspecified => None,
                reason => Some(vec![reason
                    .to_crl_reason()
                    .to_extension(&self.name, &[])
                    .map_err(|source| PkiError::Encode {
                    document: doc,
                    field: "reasonCode",
                    source,
                })?]),
            };
            revoked.push(RevokedCert {
                serial_number: SerialNumber::from(entry.serial),
                revocation_date: to_time(entry.revoked_at, "revocationDate")?,
                crl_entry_extensions,
            });
        }
        let issuer_spki = spki_of(&self.public_key(), doc)?;
        let aki = AuthorityKeyIdentifier::try_from(issuer_spki.owned_to_ref())
            .map_err(|e| build_error(doc, e))?;
        let number = Uint::new(&crl_number.to_be_bytes()).map_err(|source| PkiError::Encode {
            document: doc,
            field: "cRLNumber",
            source,
        })?;
        let extensions: Vec<Extension> = vec![
            aki.to_extension(&self.name, &[])
                .map_err(|source| PkiError::Encode {
                    document: doc,
                    field: "authorityKeyIdentifier",
                    source,
                })?,
            CrlNumber(number)
                .to_extension(&self.name, &[])
                .map_err(|source| PkiError::Encode {
                    document: doc,
                    field: "cRLNumber",
                    source,
                })?,
        ];
        let signer = self.signer();
        let algorithm = signer
            .signature_algorithm_identifier()
            .map_err(|e| PkiError::Build {
                document: doc,
                message: e.to_string(),
            })?;
        let tbs = TbsCertList {
            version: Version::V2,
            signature: algorithm.clone(),
            issuer: self.name.clone(),
            this_update: to_time(this_update, "thisUpdate")?,
            next_update: Some(to_time(next_update, "nextUpdate")?),
            revoked_certificates: (!revoked.is_empty()).then_some(revoked),
            crl_extensions: Some(extensions),
        };
        let tbs_der = encode(&tbs, doc, "tbsCertList")?;
        let signature = signer
            .try_sign_with_rng(rng, &tbs_der)
            .map_err(|_| PkiError::Signing)?
            .to_bitstring()
            .map_err(|source| PkiError::Encode {
                document: doc,
                field: "signature",
                source,
            })?;
        let crl = CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: algorithm,
            signature,
        };
        encode(&crl, doc, "CertificateList")
    }

    /// A CA-signed RFC 6960 OCSP response (DER `OCSPResponse`, status successful, one
    /// `SingleResponse`) for `serial` at `produced_at`. The CA answers for itself (responder
    /// by name), the CertID hashes are SHA-256.
    ///
    /// A suspension is `revoked` with reason certificateHold (RFC 6960 section 2.2); a
    /// revocation carries no reason. This call does not know when the certificate was revoked,
    /// so revocationTime is `produced_at`: "revoked at the latest then". Use [`Self::crl`] when
    /// the exact date matters. With `nonce` the answer carries the request's nonce extension
    /// (RFC 8954: 1 to 32 bytes), so that it cannot stand for an answer to another request.
    pub fn status_answer(
        &self,
        serial: u64,
        status: CertState,
        produced_at: u64,
        nonce: Option<&[u8]>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, PkiError> {
        let doc = Document::StatusAnswer;
        if serial == 0 {
            return Err(PkiError::InvalidSerial { serial });
        }
        let at = to_ocsp_time(produced_at, "producedAt")?;
        let cert_status = match status {
            CertState::Good => CertStatus::good(),
            CertState::Suspended => CertStatus::revoked(RevokedInfo {
                revocation_time: at,
                revocation_reason: Some(CrlReason::CertificateHold),
            }),
            CertState::Revoked => CertStatus::revoked(RevokedInfo {
                revocation_time: at,
                revocation_reason: None,
            }),
        };
        let cert_id = CertId::from_issuer::<Sha256>(&self.cert, SerialNumber::from(serial))
            .map_err(|e| PkiError::Build {
                document: doc,
                message: e.to_string(),
            })?;
        let mut signer = self.signer();
        let build = |message: String| PkiError::Build {
            document: doc,
            message,
        };
        let mut builder = OcspResponseBuilder::new(ResponderId::ByName(self.name.clone()))
            .with_single_response(SingleResponse::new(cert_id, cert_status, at));
        if let Some(n) = nonce {
            if !(1..=32).contains(&n.len()) {
                return Err(build(format!("a nonce of {} bytes (1 to 32)", n.len())));
            }
            let ext = Nonce::new(n).map_err(|e| build(e.to_string()))?;
            builder = builder
                .with_extension(ext)
                .map_err(|e| build(e.to_string()))?;
        }
        let response = builder
            .sign_with_rng::<_, Signature>(&mut signer, rng, None, at)
            .map_err(|e| PkiError::Build {
                document: doc,
                message: e.to_string(),
            })?;
        encode(&response, doc, "OCSPResponse")
    }
}

/// Parses a certificate and checks it is the test CA's: issuer name, sha256WithRSAEncryption,
/// and the signature over the TBS bytes as received. Validity dates are returned, not judged:
/// the caller owns the clock.
pub fn verify_certificate(ca: &RsaPublicKey, der: &[u8]) -> Result<VerifiedCert, PkiError> {
    let doc = Document::Certificate;
    let cert = Certificate::from_der(der).map_err(|source| PkiError::Decode {
        document: doc,
        source,
    })?;
    let tbs = &cert.tbs_certificate;
    check_issued_by_ca(
        ca,
        der,
        Signed {
            inner_algorithm: &tbs.signature,
            algorithm: &cert.signature_algorithm,
            signature: cert.signature.as_bytes(),
            issuer: &tbs.issuer,
        },
        doc,
    )?;
    let spki_der = encode(&tbs.subject_public_key_info, doc, "subjectPublicKeyInfo")?;
    let public_key =
        RsaPublicKey::from_public_key_der(&spki_der).map_err(|_| PkiError::Profile {
            document: doc,
            field: "subjectPublicKeyInfo",
        })?;
    Ok(VerifiedCert {
        serial: serial_to_u64(&tbs.serial_number, doc)?,
        subject_cn: common_name(&tbs.subject).ok_or(PkiError::Profile {
            document: doc,
            field: "subject CN",
        })?,
        public_key,
        not_before: unix(&tbs.validity.not_before),
        not_after: unix(&tbs.validity.not_after),
    })
}

/// Parses a CRL and checks it is the test CA's (issuer, algorithm, signature), v2, with a CRL
/// number and a nextUpdate, as RFC 5280 requires of a conforming CRL issuer.
pub fn verify_crl(ca: &RsaPublicKey, der: &[u8]) -> Result<VerifiedCrl, PkiError> {
    let doc = Document::Crl;
    let crl = CertificateList::from_der(der).map_err(|source| PkiError::Decode {
        document: doc,
        source,
    })?;
    let tbs = &crl.tbs_cert_list;
    check_issued_by_ca(
        ca,
        der,
        Signed {
            inner_algorithm: &tbs.signature,
            algorithm: &crl.signature_algorithm,
            signature: crl.signature.as_bytes(),
            issuer: &tbs.issuer,
        },
        doc,
    )?;
    if tbs.version != Version::V2 {
        return Err(PkiError::Profile {
            document: doc,
            field: "version",
        });
    }
    let next_update = tbs.next_update.as_ref().ok_or(PkiError::Profile {
        document: doc,
        field: "nextUpdate",
    })?;
    let number_ext =
        find_extension(tbs.crl_extensions.as_deref(), CrlNumber::OID).ok_or(PkiError::Profile {
            document: doc,
            field: "cRLNumber",
        })?;
    let number =
        Uint::from_der(number_ext.extn_value.as_bytes()).map_err(|source| PkiError::Decode {
            document: doc,
            source,
        })?;
    let crl_number = be_to_u64(number.as_bytes()).ok_or(PkiError::Profile {
        document: doc,
        field: "cRLNumber",
    })?;
    let mut entries = Vec::new();
    for rc in tbs.revoked_certificates.iter().flatten() {
        let reason = match find_extension(rc.crl_entry_extensions.as_deref(), CrlReason::OID) {
            None => RevocationReason::Unspecified,
            Some(ext) => RevocationReason::from_crl_reason(
                CrlReason::from_der(ext.extn_value.as_bytes()).map_err(|source| {
                    PkiError::Decode {
                        document: doc,
                        source,
                    }
                })?,
                doc,
            )?,
        };
        entries.push((serial_to_u64(&rc.serial_number, doc)?, reason));
    }
    Ok(VerifiedCrl {
        crl_number,
        this_update: unix(&tbs.this_update),
        next_update: unix(next_update),
        entries,
    })
}

/// Parses an OCSP response and checks it is a successful basic response signed by the test CA,
/// answering for exactly one certificate of the test CA (CertID issuer hashes match `ca`).
pub fn verify_status_answer(ca: &RsaPublicKey, der: &[u8]) -> Result<VerifiedStatus, PkiError> {
    let doc = Document::StatusAnswer;
    let decode = |source| PkiError::Decode {
        document: doc,
        source,
    };
    let response = OcspResponse::from_der(der).map_err(decode)?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(PkiError::Profile {
            document: doc,
            field: "responseStatus",
        });
    }
    let bytes = response.response_bytes.ok_or(PkiError::Profile {
        document: doc,
        field: "responseBytes",
    })?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(PkiError::Profile {
            document: doc,
            field: "responseType",
        });
    }
    let basic_der = bytes.response.as_bytes();
    let basic = BasicOcspResponse::from_der(basic_der).map_err(decode)?;
    check_signed(
        ca,
        basic_der,
        &basic.signature_algorithm,
        basic.signature.as_bytes(),
        doc,
    )?;
    let data = &basic.tbs_response_data;
    let name = ca_name()?;
    if data.responder_id != ResponderId::ByName(name.clone()) {
        return Err(PkiError::WrongIssuer { document: doc });
    }
    let [single] = data.responses.as_slice() else {
        return Err(PkiError::Profile {
            document: doc,
            field: "responses",
        });
    };
    let id = &single.cert_id;
    if id.hash_algorithm.oid != ID_SHA_256 {
        return Err(PkiError::Profile {
            document: doc,
            field: "certID.hashAlgorithm",
        });
    }
    let name_hash = Sha256::digest(encode(&name, doc, "issuerName")?);
    let ca_spki = spki_of(ca, doc)?;
    let key_hash = Sha256::digest(ca_spki.subject_public_key.raw_bytes());
    if id.issuer_name_hash.as_bytes() != name_hash.as_slice()
        || id.issuer_key_hash.as_bytes() != key_hash.as_slice()
    {
        return Err(PkiError::WrongIssuer { document: doc });
    }
    let status = match &single.cert_status {
        CertStatus::Good(_) => CertState::Good,
        CertStatus::Revoked(info) => match info.revocation_reason {
            Some(CrlReason::CertificateHold) => CertState::Suspended,
            _ => CertState::Revoked,
        },
        CertStatus::Unknown(_) => {
            return Err(PkiError::Profile {
                document: doc,
                field: "certStatus",
            })
        }
    };
    let nonce = match find_extension(data.response_extensions.as_deref(), Nonce::OID) {
        None => None,
        Some(ext) => Some(
            Nonce::from_der(ext.extn_value.as_bytes())
                .map_err(decode)?
                .0
                .as_bytes()
                .to_vec(),
        ),
    };
    Ok(VerifiedStatus {
        serial: serial_to_u64(&id.serial_number, doc)?,
        status,
        produced_at: data.produced_at.0.to_unix_duration().as_secs(),
        nonce,
    })
}

/// PEM armour (RFC 7468) for handing artefacts to `openssl` or a person. Use
/// [`PEM_CERTIFICATE`] or [`PEM_CRL`]; any other RFC 7468 label works too.
pub fn to_pem(label: &str, der: &[u8]) -> Result<String, PkiError> {
    x509_cert::der::pem::encode_string(label, x509_cert::der::pem::LineEnding::LF, der)
        .map_err(|_| PkiError::PemLabel)
}

/// PKCS#1 v1.5 SHA-256 signature over `message`, with blinding drawn from `rng`: card
/// signatures and login challenges use the same primitive the CA does.
pub fn sign(
    key: &RsaPrivateKey,
    message: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, PkiError> {
    SigningKey::<Sha256>::new(key.clone())
        .try_sign_with_rng(rng, message)
        .map(|s| s.to_vec())
        .map_err(|_| PkiError::Signing)
}

/// Whether `signature` is a valid PKCS#1 v1.5 SHA-256 signature of `message` under `key`.
pub fn verify(key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(message, &signature)
        .is_ok()
}

/// A deterministic RSA-2048 key (e = 65537) from a 32-byte seed via ChaCha20, so a run is
/// replayable from `--seed`. The same seed gives the same key only with this exact `rsa`
/// release (it is pinned).
pub fn key_from_seed(seed: [u8; 32]) -> Result<RsaPrivateKey, PkiError> {
    let mut rng = ChaCha20Rng::from_seed(seed);
    RsaPrivateKey::new(&mut rng, KEY_BITS).map_err(PkiError::KeyGeneration)
}

fn ca_name() -> Result<Name, PkiError> {
    Name::from_str(CA_NAME).map_err(|source| PkiError::Encode {
        document: Document::Certificate,
        field: "issuer",
        source,
    })
}

/// Builds "CN=<cn>,O=jpkisim,C=JP" attribute by attribute, so a CN holding commas or `=` is
/// data, not RFC 4514 syntax.
fn leaf_name(cn: &str) -> Result<Name, PkiError> {
    let len = cn.chars().count();
    if len == 0 || len > MAX_CN_LEN {
        return Err(PkiError::InvalidSubject { len });
    }
    let enc = |source| PkiError::Encode {
        document: Document::Certificate,
        field: "subject",
        source,
    };
    let RdnSequence(mut rdns) = Name::from_str(LEAF_NAME_BASE).map_err(enc)?;
    let value = Any::from(Utf8StringRef::new(cn).map_err(enc)?);
    let atv = AttributeTypeAndValue {
        oid: COMMON_NAME,
        value,
    };
    // DER order is most general first: the CN goes last.
    rdns.push(RelativeDistinguishedName(
        SetOfVec::try_from(vec![atv]).map_err(enc)?,
    ));
    Ok(RdnSequence(rdns))
}

fn common_name(name: &Name) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == COMMON_NAME)
        .find_map(|atv| match atv.value.tag() {
            Tag::Utf8String => atv
                .value
                .decode_as::<Utf8StringRef<'_>>()
                .ok()
                .map(|s| s.to_string()),
            Tag::PrintableString => atv
                .value
                .decode_as::<x509_cert::der::asn1::PrintableStringRef<'_>>()
                .ok()
                .map(|s| s.to_string()),
            _ => None,
        })
}

fn spki_of(key: &RsaPublicKey, document: Document) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
    SubjectPublicKeyInfoOwned::from_key(key.clone()).map_err(|e| PkiError::Build {
        document,
        message: e.to_string(),
    })
}

fn build_error(document: Document, e: impl fmt::Display) -> PkiError {
    PkiError::Build {
        document,
        message: e.to_string(),
    }
}

fn encode(
    value: &impl Encode,
    document: Document,
    field: &'static str,
) -> Result<Vec<u8>, PkiError> {
    value.to_der().map_err(|source| PkiError::Encode {
        document,
        field,
        source,
    })
}

/// The first element of a signed SEQUENCE, as it appears in the input: the bytes the signer
/// signed.
fn signed_part(der: &[u8], document: Document) -> Result<&[u8], PkiError> {
    let decode = |source| PkiError::Decode { document, source };
    let mut reader = SliceReader::new(der).map_err(decode)?;
    Header::decode(&mut reader).map_err(decode)?;
    reader.tlv_bytes().map_err(decode)
}

/// What a signed X.509 document (certificate or CRL) says about its signature and issuer.
struct Signed<'a> {
    /// The algorithm inside the signed part.
    inner_algorithm: &'a AlgorithmIdentifierOwned,
    /// The algorithm outside it.
    algorithm: &'a AlgorithmIdentifierOwned,
    /// The signature bits.
    signature: Option<&'a [u8]>,
    /// The issuer name.
    issuer: &'a Name,
}

/// The checks every document the test CA signs must pass: the algorithm inside the signed part
/// is the one outside, the signature verifies over the signed bytes as received, and the issuer
/// is the test CA.
fn check_issued_by_ca(
    ca: &RsaPublicKey,
    der: &[u8],
    signed: Signed<'_>,
    doc: Document,
) -> Result<(), PkiError> {
    if signed.inner_algorithm != signed.algorithm {
        return Err(PkiError::Profile {
            document: doc,
            field: "signature",
        });
    }
    check_signed(ca, der, signed.algorithm, signed.signature, doc)?;
    if *signed.issuer != ca_name()? {
        return Err(PkiError::WrongIssuer { document: doc });
    }
    Ok(())
}

fn check_signed(
    ca: &RsaPublicKey,
    der: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    signature: Option<&[u8]>,
    document: Document,
) -> Result<(), PkiError> {
    if algorithm.oid != SHA_256_WITH_RSA_ENCRYPTION {
        return Err(PkiError::UnsupportedAlgorithm {
            document,
            oid: algorithm.oid.to_string(),
        });
    }
    // RFC 4055: the parameters are NULL (absent is tolerated by most verifiers; so here).
    if let Some(params) = &algorithm.parameters {
        if params.tag() != Tag::Null {
            return Err(PkiError::Profile {
                document,
                field: "signatureAlgorithm.parameters",
            });
        }
    }
    let tbs = signed_part(der, document)?;
    let signature = signature.ok_or(PkiError::Profile {
        document,
        field: "signatureValue",
    })?;
    if verify(ca, tbs, signature) {
        Ok(())
    } else {
        Err(PkiError::BadSignature { document })
    }
}

fn find_extension(
    extensions: Option<&[Extension]>,
    oid: x509_cert::der::oid::ObjectIdentifier,
) -> Option<&Extension> {
    extensions?.iter().find(|e| e.extn_id == oid)
}

fn serial_to_u64(serial: &SerialNumber, document: Document) -> Result<u64, PkiError> {
    be_to_u64(serial.as_bytes()).ok_or(PkiError::SerialTooLarge { document })
}

/// Big-endian unsigned bytes (possibly with a leading 0x00 sign byte) to u64.
fn be_to_u64(bytes: &[u8]) -> Option<u64> {
    let trimmed = match bytes.iter().position(|&b| b != 0) {
        Some(i) => &bytes[i..],
        None => &[],
    };
    if trimmed.len() > 8 {
        return None;
    }
    Some(
        trimmed
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

fn unix(time: &Time) -> u64 {
    time.to_unix_duration().as_secs()
}

/// UTCTime through 2049, GeneralizedTime from 2050 on (RFC 5280 section 4.1.2.5).
fn to_time(secs: u64, field: &'static str) -> Result<Time, PkiError> {
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|_| PkiError::InvalidTime { field, secs })?;
    if dt.year() < 2050 {
        UtcTime::from_date_time(dt)
            .map(Time::UtcTime)
            .map_err(|_| PkiError::InvalidTime { field, secs })
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

fn to_ocsp_time(secs: u64, field: &'static str) -> Result<OcspGeneralizedTime, PkiError> {
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|_| PkiError::InvalidTime { field, secs })?;
    Ok(OcspGeneralizedTime::from(dt))
}

#[cfg(test)]
mod tests {
    use super::be_to_u64;

    #[test]
    fn serial_bytes_round_trip() {
        assert_eq!(be_to_u64(&[0x00, 0x80]), Some(0x80));
        assert_eq!(be_to_u64(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(
            be_to_u64(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Some(u64::MAX)
        );
    }
}

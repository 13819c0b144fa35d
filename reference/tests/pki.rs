//! The test PKI against its own verifier and against `openssl`: round trips, tampering, a foreign
//! CA, and `openssl verify` with and without the CRL.
//!
//! Keys come from `key_from_seed` once per test binary (RSA-2048 generation is slow in debug).

mod common;

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use jpkisim_reference::pki::{
    self, key_from_seed, to_pem, verify_certificate, verify_crl, verify_status_answer, Authority,
    CertState, CrlEntry, Document, IssueRequest, PkiError, RevocationReason, PEM_CERTIFICATE,
    PEM_CRL,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::RsaPrivateKey;

/// 2025-01-01T00:00:00Z.
const T0: u64 = 1_735_689_600;
const DAY: u64 = 86_400;

struct Keys {
    ca: RsaPrivateKey,
    other_ca: RsaPrivateKey,
    leaf: RsaPrivateKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        ca: key_from_seed([1; 32]).expect("ca key"),
        other_ca: key_from_seed([2; 32]).expect("other ca key"),
        leaf: key_from_seed([3; 32]).expect("leaf key"),
    })
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn authority() -> Authority {
    Authority::new(keys().ca.clone(), T0, &mut rng(10)).expect("CA")
}

fn request(serial: u64, cn: &str) -> IssueRequest {
    IssueRequest {
        serial,
        subject_cn: cn.to_owned(),
        public_key: keys().leaf.to_public_key(),
        not_before: T0 + DAY,
        not_after: T0 + 365 * DAY,
    }
}

#[test]
fn certificate_round_trip() {
    let ca = authority();
    // A CN with RFC 4514 metacharacters stays data.
    let req = request(0x1234_5678_9abc, "Phone, SE=1 (テスト)");
    let der = ca.issue(&req, &mut rng(11)).expect("issue");
    let got = verify_certificate(&ca.public_key(), &der).expect("verifies");
    assert_eq!(got.serial, req.serial);
    assert_eq!(got.subject_cn, req.subject_cn);
    assert_eq!(got.public_key, req.public_key);
    assert_eq!(
        (got.not_before, got.not_after),
        (req.not_before, req.not_after)
    );

    // The CA certificate is self-signed: it verifies under its own key as serial 1.
    let root = verify_certificate(&ca.public_key(), ca.certificate_der()).expect("root");
    assert_eq!(root.serial, 1);
    assert_eq!(root.subject_cn, "JPKISIM TEST CA (NOT JPKI)");
    assert_eq!(root.not_after - root.not_before, 10 * 365 * DAY);
}

#[test]
fn validity_after_2049_uses_generalized_time() {
    let ca = authority();
    let mut req = request(7, "long lived");
    req.not_after = 2_556_144_000; // 2051-01-01
    let der = ca.issue(&req, &mut rng(12)).expect("issue");
    let got = verify_certificate(&ca.public_key(), &der).expect("verifies");
    assert_eq!(got.not_after, req.not_after);
}

#[test]
fn issue_refuses_bad_requests() {
    let ca = authority();
    let err = ca.issue(&request(1, "x"), &mut rng(13)).unwrap_err();
    assert!(
        matches!(err, PkiError::InvalidSerial { serial: 1 }),
        "{err}"
    );
    let err = ca.issue(&request(5, ""), &mut rng(13)).unwrap_err();
    assert!(matches!(err, PkiError::InvalidSubject { len: 0 }), "{err}");
    let mut req = request(5, "x");
    req.not_after = req.not_before;
    assert!(matches!(
        ca.issue(&req, &mut rng(13)),
        Err(PkiError::InvalidTime { .. })
    ));
}

#[test]
fn tampered_certificate_fails_with_bad_signature() {
    let ca = authority();
    let der = ca
        .issue(&request(42, "tamper me"), &mut rng(14))
        .expect("issue");
    // A byte inside the signed subject name.
    let pos = der
        .windows(9)
        .position(|w| w == b"tamper me")
        .expect("CN in DER");
    let mut bad = der.clone();
    bad[pos] ^= 0x01;
    let err = verify_certificate(&ca.public_key(), &bad).unwrap_err();
    assert!(
        matches!(
            err,
            PkiError::BadSignature {
                document: Document::Certificate
            }
        ),
        "{err}"
    );
    // A byte of the signature itself.
    let mut bad = der.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    let err = verify_certificate(&ca.public_key(), &bad).unwrap_err();
    assert!(matches!(err, PkiError::BadSignature { .. }), "{err}");
    // Truncation is a decode error, not a panic.
    let err = verify_certificate(&ca.public_key(), &der[..der.len() - 3]).unwrap_err();
    assert!(matches!(err, PkiError::Decode { .. }), "{err}");
}

#[test]
fn certificate_from_another_ca_fails() {
    let ca = authority();
    let other = Authority::new(keys().other_ca.clone(), T0, &mut rng(15)).expect("other CA");
    let der = other
        .issue(&request(9, "impostor"), &mut rng(16))
        .expect("issue");
    // Same CA name, different key: only the signature tells them apart.
    let err = verify_certificate(&ca.public_key(), &der).unwrap_err();
    assert!(matches!(err, PkiError::BadSignature { .. }), "{err}");
    assert!(verify_certificate(&other.public_key(), &der).is_ok());
}

fn sample_entries() -> Vec<CrlEntry> {
    vec![
        CrlEntry {
            serial: 100,
            revoked_at: T0 + 10 * DAY,
            reason: RevocationReason::KeyCompromise,
        },
        CrlEntry {
            serial: 101,
            revoked_at: T0 + 11 * DAY,
            reason: RevocationReason::CertificateHold,
        },
        CrlEntry {
            serial: 102,
            revoked_at: T0 + 12 * DAY,
            reason: RevocationReason::CessationOfOperation,
        },
        CrlEntry {
            serial: 103,
            revoked_at: T0 + 12 * DAY,
            reason: RevocationReason::Superseded,
        },
        CrlEntry {
            serial: 104,
            revoked_at: T0 + 13 * DAY,
            reason: RevocationReason::Unspecified,
        },
    ]
}

#[test]
fn crl_round_trip_and_tamper() {
    let ca = authority();
    let entries = sample_entries();
    let der = ca
        .crl(&entries, 7, T0 + 20 * DAY, T0 + 21 * DAY, &mut rng(17))
        .expect("crl");
    let got = verify_crl(&ca.public_key(), &der).expect("verifies");
    assert_eq!(got.crl_number, 7);
    assert_eq!(
        (got.this_update, got.next_update),
        (T0 + 20 * DAY, T0 + 21 * DAY)
    );
    let want: Vec<_> = entries.iter().map(|e| (e.serial, e.reason)).collect();
    assert_eq!(got.entries, want);

    let empty = ca
        .crl(&[], 8, T0, T0 + DAY, &mut rng(18))
        .expect("empty crl");
    assert!(verify_crl(&ca.public_key(), &empty)
        .expect("verifies")
        .entries
        .is_empty());

    let mut bad = der.clone();
    let pos = bad.len() / 2;
    bad[pos] ^= 0x01; // inside the signature value
    let err = verify_crl(&ca.public_key(), &bad).unwrap_err();
    assert!(
        matches!(
            err,
            PkiError::BadSignature {
                document: Document::Crl
            }
        ),
        "{err}"
    );

    let other = Authority::new(keys().other_ca.clone(), T0, &mut rng(19)).expect("other CA");
    let foreign = other
        .crl(&entries, 7, T0, T0 + DAY, &mut rng(20))
        .expect("crl");
    assert!(matches!(
        verify_crl(&ca.public_key(), &foreign),
        Err(PkiError::BadSignature { .. })
    ));

    let dup = [entries[0], entries[0]];
    assert!(matches!(
        ca.crl(&dup, 9, T0, T0 + DAY, &mut rng(21)),
        Err(PkiError::DuplicateCrlEntry { serial: 100 })
    ));
}

#[test]
fn status_answer_round_trip_and_tamper() {
    let ca = authority();
    for (i, status) in [CertState::Good, CertState::Suspended, CertState::Revoked]
        .into_iter()
        .enumerate()
    {
        let at = T0 + 30 * DAY + i as u64;
        let der = ca
            .status_answer(555, status, at, None, &mut rng(22 + i as u64))
            .expect("answer");
        let got = verify_status_answer(&ca.public_key(), &der).expect("verifies");
        assert_eq!((got.serial, got.status, got.produced_at), (555, status, at));
        assert_eq!(got.nonce, None);
    }
    // The nonce of the request comes back in the signed answer; a nonce outside RFC 8954's
    // 1 to 32 bytes is refused.
    let nonce = [7u8; 32];
    let der = ca
        .status_answer(555, CertState::Good, T0, Some(&nonce), &mut rng(29))
        .expect("answer with nonce");
    let got = verify_status_answer(&ca.public_key(), &der).expect("verifies");
    assert_eq!(got.nonce.as_deref(), Some(&nonce[..]));
    for bad in [&[][..], &[1u8; 33][..]] {
        assert!(ca
            .status_answer(555, CertState::Good, T0, Some(bad), &mut rng(29))
            .is_err());
    }
    let der = ca
        .status_answer(556, CertState::Good, T0, None, &mut rng(30))
        .expect("answer");
    let mut bad = der.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    let err = verify_status_answer(&ca.public_key(), &bad).unwrap_err();
    assert!(
        matches!(
            err,
            PkiError::BadSignature {
                document: Document::StatusAnswer
            }
        ),
        "{err}"
    );

    let other = Authority::new(keys().other_ca.clone(), T0, &mut rng(31)).expect("other CA");
    let foreign = other
        .status_answer(556, CertState::Good, T0, None, &mut rng(32))
        .expect("answer");
    assert!(verify_status_answer(&ca.public_key(), &foreign).is_err());
}

#[test]
fn sign_and_verify_bytes() {
    let key = &keys().leaf;
    let sig = pki::sign(key, b"login challenge", &mut rng(40)).expect("sign");
    assert_eq!(sig.len(), 256);
    assert!(pki::verify(&key.to_public_key(), b"login challenge", &sig));
    assert!(!pki::verify(&key.to_public_key(), b"login challengf", &sig));
    assert!(!pki::verify(
        &keys().ca.to_public_key(),
        b"login challenge",
        &sig
    ));
    assert!(!pki::verify(
        &key.to_public_key(),
        b"login challenge",
        &sig[1..]
    ));
}

#[test]
fn key_from_seed_is_deterministic() {
    // One extra keygen: the same seed as the CA's must give the same key.
    assert_eq!(key_from_seed([1; 32]).expect("key"), keys().ca);
    assert_ne!(keys().ca, keys().leaf);
}

#[test]
fn pem_armour() {
    let pem = to_pem(PEM_CERTIFICATE, authority().certificate_der()).expect("pem");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(pem.trim_end().ends_with("-----END CERTIFICATE-----"));
    assert!(matches!(
        to_pem("BAD--LABEL", b"x"),
        Err(PkiError::PemLabel)
    ));
}

// ---------------------------------------------------------------------------------------------
// openssl

fn write(dir: &Path, name: &str, label: &str, der: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, to_pem(label, der).expect("pem")).expect("write pem");
    path
}

#[test]
fn openssl_accepts_certificates_and_reports_revoked_ones() {
    if !common::openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let ca = authority();
    let good = ca
        .issue(&request(200, "good phone"), &mut rng(50))
        .expect("good");
    let revoked = ca
        .issue(&request(100, "stolen phone"), &mut rng(51))
        .expect("revoked");
    let held = ca
        .issue(&request(101, "lost phone"), &mut rng(52))
        .expect("held");
    let foreign = Authority::new(keys().other_ca.clone(), T0, &mut rng(53))
        .expect("other CA")
        .issue(&request(300, "impostor"), &mut rng(54))
        .expect("foreign");
    let crl = ca
        .crl(
            &sample_entries(),
            3,
            T0 + 20 * DAY,
            T0 + 40 * DAY,
            &mut rng(55),
        )
        .expect("crl");
    write(d, "ca.pem", PEM_CERTIFICATE, ca.certificate_der());
    write(d, "good.pem", PEM_CERTIFICATE, &good);
    write(d, "revoked.pem", PEM_CERTIFICATE, &revoked);
    write(d, "held.pem", PEM_CERTIFICATE, &held);
    write(d, "foreign.pem", PEM_CERTIFICATE, &foreign);
    write(d, "crl.pem", PEM_CRL, &crl);
    let at = (T0 + 30 * DAY).to_string();

    let (ok, text) = common::openssl(
        &["verify", "-attime", &at, "-CAfile", "ca.pem", "good.pem"],
        d,
    );
    assert!(ok, "openssl verify of a fresh certificate failed:\n{text}");
    let (ok, text) = common::openssl(
        &["verify", "-attime", &at, "-CAfile", "ca.pem", "revoked.pem"],
        d,
    );
    assert!(
        ok,
        "without the CRL the revoked certificate is still well-formed:\n{text}"
    );

    let crl_check = |leaf: &str| {
        common::openssl(
            &[
                "verify",
                "-attime",
                &at,
                "-crl_check",
                "-CAfile",
                "ca.pem",
                "-CRLfile",
                "crl.pem",
                leaf,
            ],
            d,
        )
    };
    let (ok, text) = crl_check("good.pem");
    assert!(ok, "unlisted certificate rejected against the CRL:\n{text}");
    for leaf in ["revoked.pem", "held.pem"] {
        let (ok, text) = crl_check(leaf);
        assert!(
            !ok && text.contains("certificate revoked"),
            "{leaf} not reported revoked:\n{text}"
        );
    }

    let (ok, text) = common::openssl(
        &["verify", "-attime", &at, "-CAfile", "ca.pem", "foreign.pem"],
        d,
    );
    assert!(
        !ok,
        "a certificate from another key with the same CA name was accepted:\n{text}"
    );

    // Outside the validity window openssl must refuse: the dates really are in the certificate.
    let late = (T0 + 400 * DAY).to_string();
    let (ok, text) = common::openssl(
        &["verify", "-attime", &late, "-CAfile", "ca.pem", "good.pem"],
        d,
    );
    assert!(
        !ok && text.contains("expired"),
        "expired certificate accepted:\n{text}"
    );

    let (ok, text) = common::openssl(&["crl", "-in", "crl.pem", "-noout", "-text"], d);
    assert!(ok, "openssl cannot parse the CRL:\n{text}");
    assert!(
        text.contains("Certificate Hold") && text.contains("Key Compromise"),
        "{text}"
    );
    assert!(text.contains("X509v3 CRL Number"), "{text}");

    let (ok, text) = common::openssl(&["x509", "-in", "good.pem", "-noout", "-text"], d);
    assert!(ok, "{text}");
    assert!(
        text.contains("Digital Signature") && text.contains("CA:FALSE"),
        "{text}"
    );
    assert!(text.contains("Authority Key Identifier"), "{text}");
}

#[test]
fn openssl_accepts_status_answers() {
    if !common::openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let ca = authority();
    write(d, "ca.pem", PEM_CERTIFICATE, ca.certificate_der());
    let at = T0 + 30 * DAY;
    for (serial, status, line, hold) in [
        (200u64, CertState::Good, "200: good", false),
        (101, CertState::Suspended, "101: revoked", true),
        (100, CertState::Revoked, "100: revoked", false),
    ] {
        let nonce = [serial as u8; 16];
        let der = ca
            .status_answer(serial, status, at, Some(&nonce), &mut rng(60 + serial))
            .expect("answer");
        std::fs::write(d.join("resp.der"), &der).expect("write");
        // The CA signs its own answers, so the CA file is both trust anchor and responder.
        let (ok, text) = common::openssl(
            &[
                "ocsp",
                "-respin",
                "resp.der",
                "-issuer",
                "ca.pem",
                "-CAfile",
                "ca.pem",
                // The request openssl builds from -serial would carry a random nonce of its own,
                // which our answer (made for another request) cannot echo.
                "-no_nonce",
                // CertID hash: must come before -serial.
                "-sha256",
                "-serial",
                &serial.to_string(),
                "-resp_text",
            ],
            d,
        );
        assert!(ok, "openssl ocsp rejected the {status:?} answer:\n{text}");
        assert!(text.contains("Response verify OK"), "{text}");
        assert!(text.contains("OCSP Nonce"), "the nonce extension:\n{text}");
        assert!(
            text.contains(line),
            "{status:?}: expected {line:?} in:\n{text}"
        );
        assert_eq!(
            text.contains("Reason: certificateHold"),
            hold,
            "{status:?}:\n{text}"
        );
    }
}

//! What a run produces is real PKI that other tools accept: `openssl verify` accepts the issued
//! certificates and reports a revoked one as revoked against the run's CRL, `openssl ocsp` reads
//! the status answers, and a login signature verifies with the `rsa` crate (and `openssl dgst`)
//! against the public key in the certificate the SE sent — independently of the backend.
//! The openssl checks skip, saying so, where the binary is absent.

use jpkisim_model::crypto::Digest;
use jpkisim_model::ids::Party;
use jpkisim_model::msg::Msg;
use jpkisim_reference::backend::{digest_bytes, time_of, EPOCH_SECONDS};
use jpkisim_reference::export::write_pki;
use jpkisim_reference::runtime::Faults;
use jpkisim_reference::scenario::{self, ScenarioOutcome};
use jpkisim_reference::wire::Artifact;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::signature::Verifier;
use x509_cert::der::{Decode, Encode};

mod common;

/// Plays `name` in process with `seed` (it must complete) and exports its PKI to a temporary
/// directory: the run, the directory and the files written.
fn exported(name: &str, seed: u64) -> (scenario::Run, tempfile::TempDir, Vec<std::path::PathBuf>) {
    let s = scenario::by_name(name).expect("scenario");
    let run = scenario::run_inproc(&s, seed, Faults::default()).expect("simulation");
    assert!(
        matches!(run.result, Ok(ScenarioOutcome::Completed)),
        "{:?}",
        run.result
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_pki(&run.simulation, dir.path()).expect("export");
    (run, dir, files)
}

#[test]
fn openssl_accepts_the_runs_certificates_and_sees_the_revocation_in_its_crl() {
    let (run, dir, files) = exported("card-revoked-cascade", 11);
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let phone = "cert-3-phone-p0-se0-app0.pem";
    for expected in ["ca.pem", "cert-2-card-p0-g0.pem", phone, "crl.pem"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }
    if !common::openssl_available() {
        return;
    }
    let ca_epoch = match &run.simulation.node(Party::Ca).state {
        jpkisim_model::actors::PartyState::Ca(ca) => ca.epoch,
        other => panic!("{other:?}"),
    };
    // Inside the CRL's validity (an hour from its publication).
    let at = (time_of(ca_epoch) + EPOCH_SECONDS / 2).to_string();
    let (ok, text) = common::openssl(
        &["verify", "-attime", &at, "-CAfile", "ca.pem", phone],
        dir.path(),
    );
    assert!(ok, "openssl verify without the CRL: {text}");
    let (ok, text) = common::openssl(
        &[
            "verify",
            "-attime",
            &at,
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            phone,
        ],
        dir.path(),
    );
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    let (ok, text) = common::openssl(&["crl", "-in", "crl.pem", "-noout", "-text"], dir.path());
    assert!(ok && text.contains("Serial Number: 03"), "{text}");
}

#[test]
fn openssl_reads_the_runs_ocsp_answer_as_good() {
    let (_run, dir, files) = exported("issuance-mno", 12);
    let ocsp = files
        .iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ocsp-3-"))
        })
        .expect("an OCSP answer for the phone certificate");
    if !common::openssl_available() {
        return;
    }
    let ocsp = ocsp
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (ok, text) = common::openssl(
        &[
            "ocsp",
            "-respin",
            &ocsp,
            "-CAfile",
            "ca.pem",
            "-issuer",
            "ca.pem",
            "-sha256",
            "-cert",
            "cert-3-phone-p0-se0-app0.pem",
            "-no_nonce",
        ],
        dir.path(),
    );
    assert!(
        ok && text.contains("Response verify OK") && text.contains(": good"),
        "{text}"
    );
}

#[test]
fn the_login_signature_verifies_against_the_certificate_the_se_sent() {
    let mut w = common::issued_world(13);
    common::login_signed(&mut w);
    let env = w
        .in_flight()
        .iter()
        .find(|e| matches!(e.msg, Msg::LoginResponse { .. }))
        .expect("login response in flight");
    let Msg::LoginResponse { login, .. } = env.msg else {
        unreachable!()
    };
    let (mut sig, mut der) = (None, None);
    for a in &env.artifacts {
        match a {
            Artifact::Signature { bytes, .. } => sig = Some(bytes.clone()),
            Artifact::Certificate { der: d, .. } => der = Some(d.clone()),
            _ => {}
        }
    }
    let (sig, der) = (sig.expect("signature bytes"), der.expect("certificate DER"));
    let cert = x509_cert::Certificate::from_der(&der).expect("X.509");
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("SPKI");
    let key = rsa::RsaPublicKey::from_public_key_der(&spki).expect("RSA key");
    let challenge = digest_bytes(&Digest::Login(login));
    let verifier = VerifyingKey::<sha2::Sha256>::new(key.clone());
    let signature = Signature::try_from(sig.as_slice()).expect("256 bytes");
    verifier
        .verify(&challenge, &signature)
        .expect("PKCS#1 v1.5 SHA-256 signature verifies");
    let mut wrong = challenge.clone();
    wrong.push(b'!');
    assert!(verifier.verify(&wrong, &signature).is_err());
    if !common::openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let pem = key
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .expect("PEM");
    std::fs::write(dir.path().join("key.pem"), pem).expect("write");
    std::fs::write(dir.path().join("challenge"), &challenge).expect("write");
    std::fs::write(dir.path().join("sig"), &sig).expect("write");
    let (ok, text) = common::openssl(
        &[
            "dgst",
            "-sha256",
            "-verify",
            "key.pem",
            "-signature",
            "sig",
            "challenge",
        ],
        dir.path(),
    );
    assert!(ok && text.contains("Verified OK"), "{text}");
}

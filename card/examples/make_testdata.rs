//! Regenerates `card/testdata/`: the emulator's **test-only** RSA-2048 keys and X.509
//! certificates (one test CA key that issues both CA certificates, a user-authentication key and a
//! signing key, with fixed validity dates so that the output is the same on every run).
//!
//! It is not part of the emulator: the library only embeds the files this writes, so that no test
//! or console start pays for 2048-bit key generation. The keys are published test material and
//! must never protect anything. Run with
//! `cargo run -p jpkisim-card --example make_testdata` from the repository root.

use std::{fs, path::Path, str::FromStr, time::Duration};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::{pkcs1::EncodeRsaPrivateKey, pkcs1v15::SigningKey, RsaPrivateKey};
use sha2::Sha256;
use x509_cert::{
    builder::{Builder, CertificateBuilder, Profile},
    der::{asn1::UtcTime, Encode},
    name::Name,
    serial_number::SerialNumber,
    spki::SubjectPublicKeyInfoOwned,
    time::{Time, Validity},
};

/// 2025-01-01T00:00:00Z and 2030-01-01T00:00:00Z: fixed so the certificates are reproducible.
const NOT_BEFORE_UNIX: u64 = 1_735_689_600;
const NOT_AFTER_UNIX: u64 = 1_893_456_000;

fn validity() -> Validity {
    let t =
        |s| Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(s)).expect("fixed date"));
    Validity {
        not_before: t(NOT_BEFORE_UNIX),
        not_after: t(NOT_AFTER_UNIX),
    }
}

fn cert(
    profile: Profile,
    serial: u32,
    subject: &str,
    subject_key: &RsaPrivateKey,
    issuer_key: &RsaPrivateKey,
) -> Vec<u8> {
    let spki = SubjectPublicKeyInfoOwned::from_key(subject_key.to_public_key()).expect("spki");
    let signer = SigningKey::<Sha256>::new(issuer_key.clone());
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::from(serial),
        validity(),
        Name::from_str(subject).expect("name"),
        spki,
        &signer,
    )
    .expect("builder");
    builder
        .build::<rsa::pkcs1v15::Signature>()
        .expect("build")
        .to_der()
        .expect("der")
}

fn main() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    fs::create_dir_all(&out).expect("mkdir testdata");
    // A fixed seed: the files are reproducible with this exact `rsa` release.
    let mut rng = ChaCha20Rng::seed_from_u64(0x4a50_4b49_5349_4d00);
    let ca = RsaPrivateKey::new(&mut rng, 2048).expect("ca key");
    let auth = RsaPrivateKey::new(&mut rng, 2048).expect("auth key");
    let sign = RsaPrivateKey::new(&mut rng, 2048).expect("sign key");

    let auth_ca_name =
        "CN=JPKISIM TEST CA (NOT JPKI),OU=JPKI for user authentication,O=JPKISIM TEST,C=JP";
    let sign_ca_name =
        "CN=JPKISIM TEST CA (NOT JPKI),OU=JPKI for digital signature,O=JPKISIM TEST,C=JP";
    let auth_ca = cert(Profile::Root, 1, auth_ca_name, &ca, &ca);
    let sign_ca = cert(Profile::Root, 2, sign_ca_name, &ca, &ca);
    let leaf = |issuer: &str| Profile::Leaf {
        issuer: Name::from_str(issuer).expect("issuer"),
        enable_key_agreement: false,
        enable_key_encipherment: false,
    };
    let auth_cert = cert(
        leaf(auth_ca_name),
        10,
        "CN=JPKISIM TEST USER AUTH,O=JPKISIM TEST,C=JP",
        &auth,
        &ca,
    );
    let sign_cert = cert(
        leaf(sign_ca_name),
        11,
        "CN=JPKISIM TEST USER SIGN,O=JPKISIM TEST,C=JP",
        &sign,
        &ca,
    );

    let write = |name: &str, bytes: &[u8]| fs::write(out.join(name), bytes).expect("write");
    write(
        "auth_key.pkcs1.der",
        auth.to_pkcs1_der().expect("pkcs1").as_bytes(),
    );
    write(
        "sign_key.pkcs1.der",
        sign.to_pkcs1_der().expect("pkcs1").as_bytes(),
    );
    write("auth_cert.der", &auth_cert);
    write("sign_cert.der", &sign_cert);
    write("auth_ca_cert.der", &auth_ca);
    write("sign_ca_cert.der", &sign_ca);
    println!("wrote test keys and certificates to {}", out.display());
}

//! The whole JPKI login sequence with exact bytes, and the signature checked against the
//! certificate the card returns.

mod common;

use common::*;
use jpkisim_card::{
    apdu::StatusWord,
    applet::{fid, sha256_digest_info},
    console,
    testcard::{AUTH_CERT_DER, AUTH_KEY_DER},
};
use rsa::{
    pkcs1::DecodeRsaPrivateKey,
    pkcs1v15::{Signature, VerifyingKey},
    pkcs8::DecodePublicKey,
    signature::Verifier,
    Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey,
};
use sha2::Sha256;
use x509_cert::{
    der::{Decode, Encode},
    Certificate,
};

/// The script in tests/golden/login.apdu, run through the console line format, gives exactly
/// tests/golden/login.out. The script is also what `jpkisim applet --script` takes.
#[test]
fn golden_login_script() {
    let script = std::fs::read_to_string(golden_path("login.apdu")).expect("script");
    let out = console::run_script(&mut card(), &script).expect("script is valid hex");
    let mut text = out.join("\n");
    text.push('\n');
    assert_golden("login.out", &text);
    // Independent of the golden file: the status words a client relies on.
    let sws: Vec<&str> = out
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        sws,
        [
            "9000", "9000", "63C3", "9000", "9000", "9000", "9000", "9000", "9000", "9000", "9000",
            "9000"
        ]
    );
}

fn cert_public_key(der: &[u8]) -> RsaPublicKey {
    let cert = Certificate::from_der(der).expect("certificate parses");
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("spki encodes");
    RsaPublicKey::from_public_key_der(&spki).expect("RSA key")
}

#[test]
fn signature_verifies_with_certificate_read_from_000a() {
    let mut se = card();
    for apdu in [
        select_ap(),
        select_ef(fid::AUTH_PIN),
        verify(b"1234"),
        select_ef(fid::AUTH_KEY),
    ] {
        assert_eq!(sw(&mut se, &apdu), StatusWord::OK);
    }
    let message = b"jpkisim: client authentication challenge";
    let di = sha256_digest_info(message);
    let resp = se.transmit(&sign(&di)).response;
    assert_eq!((resp.sw, resp.data.len()), (StatusWord::OK, 256));

    // Read the certificate the way a client does: 4 header bytes for the DER length, then chunks.
    assert_eq!(sw(&mut se, &select_ef(fid::AUTH_CERT)), StatusWord::OK);
    let head = se.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x04]).response;
    assert_eq!(head.sw, StatusWord::OK);
    assert_eq!(head.data[..2], [0x30, 0x82]);
    let total = 4 + usize::from(u16::from_be_bytes([head.data[2], head.data[3]]));
    let mut cert = head.data.clone();
    while cert.len() < total {
        let off = cert.len() as u16;
        let n = (total - cert.len()).min(255) as u8;
        let r = se
            .transmit(&[0x00, 0xB0, (off >> 8) as u8, off as u8, n])
            .response;
        assert_eq!(r.sw, StatusWord::OK);
        cert.extend_from_slice(&r.data);
    }
    assert_eq!(cert, AUTH_CERT_DER);

    // Verified with the certificate's key through the ordinary RSASSA-PKCS1-v1_5/SHA-256 verifier,
    // which builds its own DigestInfo from the message.
    let vk = VerifyingKey::<Sha256>::new(cert_public_key(&cert));
    let sig = Signature::try_from(resp.data.as_slice()).expect("signature bytes");
    vk.verify(message, &sig)
        .expect("signature verifies with the certificate's key");
    // A different message does not verify (the check above can fail).
    assert!(vk.verify(b"another message", &sig).is_err());

    // And it equals a bare rsa signature (PKCS#1 v1.5 is deterministic; blinding does not change it).
    let key = RsaPrivateKey::from_pkcs1_der(AUTH_KEY_DER).expect("test key");
    let bare = key
        .sign(Pkcs1v15Sign::new_unprefixed(), &di)
        .expect("bare signature");
    assert_eq!(resp.data, bare);
}

#[test]
fn signing_key_needs_the_signing_password_and_its_certificate_too() {
    let mut se = card();
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    // Auth PIN verified does not open the signing key or certificate.
    assert_eq!(sw(&mut se, &select_ef(fid::AUTH_PIN)), StatusWord::OK);
    assert_eq!(sw(&mut se, &verify(b"1234")), StatusWord::OK);
    assert_eq!(sw(&mut se, &select_ef(fid::SIGN_CERT)), StatusWord::OK);
    assert_eq!(
        sw(&mut se, &[0x00, 0xB0, 0x00, 0x00, 0x04]),
        StatusWord::SECURITY_STATUS
    );
    assert_eq!(sw(&mut se, &select_ef(fid::SIGN_KEY)), StatusWord::OK);
    let di = sha256_digest_info(b"contract");
    assert_eq!(sw(&mut se, &sign(&di)), StatusWord::SECURITY_STATUS);
    assert_eq!(sw(&mut se, &select_ef(fid::SIGN_PIN)), StatusWord::OK);
    assert_eq!(sw(&mut se, &QUERY), StatusWord(0x63C5));
    assert_eq!(sw(&mut se, &verify(b"JPKISIM1")), StatusWord::OK);
    assert_eq!(sw(&mut se, &select_ef(fid::SIGN_KEY)), StatusWord::OK);
    let resp = se.transmit(&sign(&di)).response;
    assert_eq!(resp.sw, StatusWord::OK);
    let sign_cert = jpkisim_card::testcard::SIGN_CERT_DER;
    let vk = VerifyingKey::<Sha256>::new(cert_public_key(sign_cert));
    vk.verify(
        b"contract",
        &Signature::try_from(resp.data.as_slice()).expect("sig"),
    )
    .expect("verifies");
    assert_eq!(sw(&mut se, &select_ef(fid::SIGN_CERT)), StatusWord::OK);
    assert_eq!(sw(&mut se, &[0x00, 0xB0, 0x00, 0x00, 0x04]), StatusWord::OK);
}

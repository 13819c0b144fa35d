//! The test card: published **test-only** keys, certificates and PINs, and the personalization
//! script a TSM runs over SCP03 ([`crate::tsm`]) to turn an empty secure element into a JPKI
//! phone token with them.
//!
//! It is for tests, the `jpkisim applet` console and the benchmark, which all need a card that is
//! personalized the way a TSM would do it. It is not real JPKI material: the certificates are
//! real DER X.509 built with `x509-cert` 0.2's builder by `card/examples/make_testdata.rs`
//! (issued by "JPKISIM TEST CA (NOT JPKI)", fixed validity 2025–2030), and the keys are published
//! in this repository. Proper certificate profiles are issue 6's job.
//!
//! Test secrets, documented so users can script their clients: authentication PIN
//! [`AUTH_PIN`] = `1234`, signing password [`SIGN_PASSWORD`] = `JPKISIM1`, ISD keys
//! [`isd_keys`] = the GlobalPlatform test key `40 41 … 4F` for ENC, MAC and DEK, KVN `30`.

use crate::{
    applet::{dgi, fid, JPKI_AID},
    gp::Management,
    isd::{encode_dgi, JPKI_MODULE_AID, JPKI_PACKAGE_AID},
    scp03::{dek_encrypt, AesKey, ScpError, SecurityLevel, StaticKeys},
    se::SecureElement,
    timing::{ClockMode, Profile},
    tsm::{PersoError, Transcript, Tsm},
};

/// Test authentication PIN (4 digits).
pub const AUTH_PIN: &str = "1234";
/// Test signing password (6–16 of `A–Z0–9`).
pub const SIGN_PASSWORD: &str = "JPKISIM1";
/// Token label of a phone GP-SE token, first bytes of EF `0006`, padded with spaces to 32 bytes.
pub const TOKEN_LABEL: &str = "JPKIAPGPSETOKEN";

/// Test user-authentication private key, PKCS#1 DER.
pub const AUTH_KEY_DER: &[u8] = include_bytes!("../testdata/auth_key.pkcs1.der");
/// Test signing private key, PKCS#1 DER.
pub const SIGN_KEY_DER: &[u8] = include_bytes!("../testdata/sign_key.pkcs1.der");
/// Test user-authentication certificate (EF `000A`).
pub const AUTH_CERT_DER: &[u8] = include_bytes!("../testdata/auth_cert.der");
/// Test signing certificate (EF `0001`).
pub const SIGN_CERT_DER: &[u8] = include_bytes!("../testdata/sign_cert.der");
/// Test authentication CA certificate (EF `000B`).
pub const AUTH_CA_CERT_DER: &[u8] = include_bytes!("../testdata/auth_ca_cert.der");
/// Test signing CA certificate (EF `0002`).
pub const SIGN_CA_CERT_DER: &[u8] = include_bytes!("../testdata/sign_ca_cert.der");

/// Seed of the test card's randomness (blinding): one fixed, printed value.
pub const SEED: u64 = 0x4A50_4B49;

/// Host challenge the test TSM uses, fixed so that the personalization transcript is golden.
pub const HOST_CHALLENGE: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];

/// The test ISD key set: ENC = MAC = DEK = `40 41 … 4F`, KVN `30`.
pub fn isd_keys() -> StaticKeys {
    let k: [u8; 16] = core::array::from_fn(|i| 0x40 + i as u8);
    StaticKeys {
        kvn: 0x30,
        enc: AesKey::new(k),
        mac: AesKey::new(k),
        dek: AesKey::new(k),
    }
}

/// EF `0006` content: the label padded with spaces to 32 bytes.
pub fn token_info() -> Vec<u8> {
    let mut t = TOKEN_LABEL.as_bytes().to_vec();
    t.resize(32, b' ');
    t
}

/// The personalization a TSM performs, as data: which DGIs go in the clear and which under the
/// DEK. The key DGIs are imports of centre-generated keys. (Every test value fits a DGI; the
/// `None` of [`encode_dgi`] is passed on rather than assumed away.)
pub fn test_dgis() -> Option<(Vec<u8>, Vec<u8>)> {
    let mut plain = Vec::new();
    for (f, content) in [
        (fid::TOKEN_INFO, token_info()),
        (fid::SIGN_CA_CERT, SIGN_CA_CERT_DER.to_vec()),
        (fid::AUTH_CA_CERT, AUTH_CA_CERT_DER.to_vec()),
        (fid::SIGN_CERT, SIGN_CERT_DER.to_vec()),
        (fid::AUTH_CERT, AUTH_CERT_DER.to_vec()),
    ] {
        plain.extend(encode_dgi(dgi::FILE_BASE | f, &content)?);
    }
    let dek = isd_keys().dek;
    let mut secret = Vec::new();
    for (tag, value) in [
        (dgi::AUTH_PIN, AUTH_PIN.as_bytes()),
        (dgi::SIGN_PIN, SIGN_PASSWORD.as_bytes()),
        (dgi::AUTH_KEY, AUTH_KEY_DER),
        (dgi::SIGN_KEY, SIGN_KEY_DER),
    ] {
        secret.extend(encode_dgi(tag, &dek_encrypt(&dek, value))?);
    }
    Some((plain, secret))
}

/// The JPKI instance of the test card: both certificates and keys (install parameter `C9 00`).
pub fn install_command() -> Management<'static> {
    Management::InstallAndMakeSelectable {
        package: &JPKI_PACKAGE_AID,
        module: &JPKI_MODULE_AID,
        instance: &JPKI_AID,
        privileges: 0x00,
        params: &[],
    }
}

/// Installs and personalizes the JPKI applet over SCP03 (C-DEC + C-MAC) with the test material,
/// as a TSM does: INSTALL [for install and make selectable], INSTALL [for personalization], the
/// clear DGIs, then the DEK-encrypted DGIs with the last-block flag. Returns the transcript.
pub fn personalize(se: &mut SecureElement) -> Result<Transcript, PersoError> {
    let mut tsm = Tsm::new(se, isd_keys(), HOST_CHALLENGE);
    tsm.open_secure_channel(SecurityLevel::C_DEC_C_MAC)?;
    tsm.manage(&install_command())?;
    tsm.manage(&Management::InstallForPersonalization {
        instance: &JPKI_AID,
    })?;
    let (plain, secret) = test_dgis().ok_or(PersoError::Scp(ScpError::Malformed))?;
    let next = tsm.store_stream(&plain, false, false, 0)?;
    tsm.store_stream(&secret, true, true, next)?;
    Ok(tsm.transcript)
}

/// A freshly personalized secure element with the test card's contents, the ISD selected.
pub fn personalized_se(
    profile: Profile,
    clock_mode: ClockMode,
) -> Result<SecureElement, PersoError> {
    let mut se = SecureElement::new(isd_keys(), profile, clock_mode, SEED);
    personalize(&mut se)?;
    se.power_cycle();
    Ok(se)
}

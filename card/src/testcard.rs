//! The test card: published **test-only** keys, certificates and PINs, and the personalization
//! a TSM runs over SCP03 ([`crate::token::personalize`]) to turn an empty secure element into a
//! JPKI phone token with them.
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

use zeroize::Zeroizing;

use crate::{
    applet::TokenForm,
    gp::Management,
    scp03::{AesKey, StaticKeys},
    se::SecureElement,
    timing::{ClockMode, Profile},
    token::{self, CardContents, TokenInfo},
    tsm::{PersoError, Transcript},
};

/// Test authentication PIN (4 digits).
pub const AUTH_PIN: &str = "1234";
/// Test signing password (6–16 of `A–Z0–9`).
pub const SIGN_PASSWORD: &str = "JPKISIM1";
/// Token label of a phone GP-SE token, first bytes of EF `0006`, padded with spaces to 32 bytes.
pub const TOKEN_LABEL: &str = token::label::ANDROID;

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

/// The serial number field of the test card's EF `0006`.
pub const TOKEN_SERIAL: &str = "JPKISIM-TEST";

/// EF `0006` content: the 160-byte token information of an Android phone token
/// ([`crate::token::TokenInfo`]), serial [`TOKEN_SERIAL`].
pub fn token_info() -> Vec<u8> {
    TokenInfo {
        label: TOKEN_LABEL,
        serial: TOKEN_SERIAL.to_owned(),
    }
    .to_bytes()
}

/// The test card's contents: these keys, certificates and PINs, labelled as an Android phone
/// token.
pub fn contents() -> CardContents {
    CardContents {
        form: TokenForm::Phone,
        token_info: token_info(),
        auth_cert: AUTH_CERT_DER.to_vec(),
        auth_ca_cert: AUTH_CA_CERT_DER.to_vec(),
        sign_cert: SIGN_CERT_DER.to_vec(),
        sign_ca_cert: SIGN_CA_CERT_DER.to_vec(),
        auth_key: Zeroizing::new(AUTH_KEY_DER.to_vec()),
        sign_key: Zeroizing::new(SIGN_KEY_DER.to_vec()),
        auth_pin: Zeroizing::new(AUTH_PIN.as_bytes().to_vec()),
        sign_password: Zeroizing::new(SIGN_PASSWORD.as_bytes().to_vec()),
    }
}

/// The personalization a TSM performs, as data: which DGIs go in the clear and which under the
/// DEK. The key DGIs are imports of centre-generated keys. (Every test value fits a DGI; the
/// `None` of [`crate::isd::encode_dgi`] is passed on rather than assumed away.)
pub fn test_dgis() -> Option<(Vec<u8>, Vec<u8>)> {
    contents().dgis(&isd_keys().dek)
}

/// The JPKI instance of the test card: both certificates and keys (install parameter `C9 00`).
pub fn install_command() -> Management<'static> {
    token::install_command(TokenForm::Phone)
}

/// Installs and personalizes the JPKI applet over SCP03 (C-DEC + C-MAC) with the test material,
/// as a TSM does ([`token::personalize`]). Returns the transcript.
pub fn personalize(se: &mut SecureElement) -> Result<Transcript, PersoError> {
    token::personalize(se, isd_keys(), HOST_CHALLENGE, &contents())
}

/// A freshly personalized secure element with the test card's contents, the ISD selected.
pub fn personalized_se(
    profile: Profile,
    clock_mode: ClockMode,
) -> Result<SecureElement, PersoError> {
    personalized_se_with(&contents(), profile, clock_mode)
}

/// A freshly personalized secure element holding `contents`, behind the test card's ISD keys
/// and seed, powered up again with the ISD selected: how the console and `jpkisim card` make a
/// card of a test run's material.
pub fn personalized_se_with(
    contents: &CardContents,
    profile: Profile,
    clock_mode: ClockMode,
) -> Result<SecureElement, PersoError> {
    let mut se = SecureElement::new(isd_keys(), profile, clock_mode, SEED);
    token::personalize(&mut se, isd_keys(), HOST_CHALLENGE, contents)?;
    se.power_cycle();
    Ok(se)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{apdu::StatusWord, applet::JPKI_AID, token::label};

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!("{:?}", contents());
        assert!(
            !shown.contains("1234") && !shown.contains("JPKISIM1"),
            "{shown}"
        );
    }

    #[test]
    fn a_card_form_token_gives_out_its_auth_certificate_without_the_pin() {
        for (form, label, sw) in [
            (
                TokenForm::Phone,
                label::ANDROID,
                StatusWord::SECURITY_STATUS,
            ),
            (TokenForm::Card, label::CARD, StatusWord::OK),
        ] {
            let contents = contents().with_form(form);
            let mut se = personalized_se_with(&contents, Profile::Instant, ClockMode::Simulated)
                .expect("card");
            let mut select = vec![0x00, 0xA4, 0x04, 0x0C, 0x0A];
            select.extend_from_slice(&JPKI_AID);
            assert_eq!(se.transmit(&select).response.sw, StatusWord::OK);
            let token = se.transmit(&[0x00, 0xB0, 0x86, 0x00, 0x20]).response;
            assert!(token.data.starts_with(label.as_bytes()), "{form:?}");
            assert_eq!(token.data.len(), 32);
            let cert = se.transmit(&[0x00, 0xB0, 0x8A, 0x00, 0x04]).response;
            assert_eq!(cert.sw, sw, "{form:?}");
            // The signing certificate needs the signing password on both.
            let sign = se.transmit(&[0x00, 0xB0, 0x81, 0x00, 0x04]).response;
            assert_eq!(sign.sw, StatusWord::SECURITY_STATUS, "{form:?}");
        }
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("jpkisim-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let e = contents().with_files_from(&dir).expect_err("empty dir");
        assert!(e.to_string().contains("auth_cert.der"), "{e}");
        std::fs::write(dir.join("auth_cert.der"), b"-----BEGIN CERTIFICATE-----").expect("write");
        let e = contents().with_files_from(&dir).expect_err("PEM");
        assert!(e.to_string().contains("is not DER"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

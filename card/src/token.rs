//! What a personalized JPKI token holds — certificates, keys, PINs and the token-information EF —
//! how certificates and keys are read from the files a test run exported, and the TSM script
//! that turns an empty secure element into that token over SCP03. The published test card's
//! contents are [`crate::testcard::contents`].
//!
//! It is for every harness that needs a personalized card: the tests, the `jpkisim applet`
//! console, `jpkisim card` (the PC/SC card) and the benchmark. It is not a personalization
//! format of J-LIS (jpkisim's DGIs are its own, see [`crate::applet::dgi`]) and it never decides
//! what a card may hold: the applet checks every DGI as it does for any TSM.

use std::{fmt, fs, io, path::Path, path::PathBuf};

use zeroize::Zeroizing;

use crate::{
    applet::{dgi, fid, TokenForm, JPKI_AID},
    gp::Management,
    isd::{encode_dgi, JPKI_MODULE_AID, JPKI_PACKAGE_AID},
    scp03::{dek_encrypt, ScpError, SecurityLevel, StaticKeys},
    se::SecureElement,
    tsm::{PersoError, Transcript, Tsm},
};

/// Size of EF `0006`: a PKCS#11 `CK_TOKEN_INFO` with four-byte big-endian `CK_ULONG`s.
pub const TOKEN_INFO_LEN: usize = 160;

/// The label (first 32 bytes of EF `0006`) of each kind of JPKI token, space padded.
pub mod label {
    /// The My Number card.
    pub const CARD: &str = "JPKIAPICCTOKEN2";
    /// The Android phone's GlobalPlatform SE (スマホ用電子証明書).
    pub const ANDROID: &str = "JPKIAPGPSETOKEN";
    /// The iPhone's secure element.
    pub const IPHONE: &str = "JPKIAPIOSTOKEN";
}

/// EF `0006` laid out as on the card: a PKCS#11 `CK_TOKEN_INFO` serialised with 32-bit
/// big-endian `CK_ULONG`s, 160 bytes — label[32], manufacturerID[32], model[16],
/// serialNumber[16] (space padded), flags, max/current sessions, max/current RW sessions, max
/// and min PIN length, four memory fields, hardwareVersion[2], firmwareVersion[2], utcTime[16].
/// A card was seen with flags `0000040D` (RNG, login required, user PIN initialised, token
/// initialised), one session, PIN lengths 16 and 6, memory "unavailable" (`FFFFFFFF`), ASCII
/// `"03"`/`"01"` in the version slots; those values are kept here. The text fields say jpkisim,
/// never a real manufacturer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The token kind's label ([`label`]).
    pub label: &'static str,
    /// The serial number field (16 characters at most; longer is cut).
    pub serial: String,
}

impl TokenInfo {
    /// The 160 bytes of EF `0006`.
    pub fn to_bytes(&self) -> Vec<u8> {
        fn text(out: &mut Vec<u8>, value: &str, width: usize) {
            let mut field = value.as_bytes()[..value.len().min(width)].to_vec();
            field.resize(width, b' ');
            out.extend_from_slice(&field);
        }
        let mut out = Vec::with_capacity(TOKEN_INFO_LEN);
        text(&mut out, self.label, 32);
        text(&mut out, "JPKISIM EMULATOR (NOT JPKI)", 32);
        text(&mut out, "JPKISIM", 16);
        text(&mut out, &self.serial, 16);
        for word in [
            0x0000_040D_u32, // CKF_RNG | LOGIN_REQUIRED | USER_PIN_INITIALIZED | TOKEN_INITIALIZED
            1,               // ulMaxSessionCount
            0,               // ulSessionCount
            1,               // ulMaxRwSessionCount
            0,               // ulRwSessionCount
            16,              // ulMaxPinLen
            6,               // ulMinPinLen
            u32::MAX,        // total / free public and private memory: unavailable
            u32::MAX,
            u32::MAX,
            u32::MAX,
        ] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out.extend_from_slice(b"0301");
        text(&mut out, "", 16); // utcTime: no clock on the token
        out
    }
}

/// Everything a personalized JPKI token holds. `Debug` names the parts, never a key or a PIN.
#[derive(Clone)]
pub struct CardContents {
    /// Phone or card access rules (installed with the matching INSTALL parameter).
    pub form: TokenForm,
    /// EF `0006`.
    pub token_info: Vec<u8>,
    /// EF `000A`: the user-authentication certificate (DER).
    pub auth_cert: Vec<u8>,
    /// EF `000B`: its CA's certificate.
    pub auth_ca_cert: Vec<u8>,
    /// EF `0001`: the signing certificate.
    pub sign_cert: Vec<u8>,
    /// EF `0002`: its CA's certificate.
    pub sign_ca_cert: Vec<u8>,
    /// Key `0017`, PKCS#1 `RSAPrivateKey` DER.
    pub auth_key: Zeroizing<Vec<u8>>,
    /// Key `001A`, PKCS#1 `RSAPrivateKey` DER.
    pub sign_key: Zeroizing<Vec<u8>>,
    /// PIN `0018` (ASCII).
    pub auth_pin: Zeroizing<Vec<u8>>,
    /// Password `001B` (ASCII).
    pub sign_password: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for CardContents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardContents")
            .field("form", &self.form)
            .field("token_info", &self.token_info.len())
            .field("auth_cert", &self.auth_cert.len())
            .field("sign_cert", &self.sign_cert.len())
            .finish_non_exhaustive()
    }
}

/// The files [`CardContents::with_files_from`] reads, by role: the names `card/testdata/` uses.
pub const CARD_FILES: [(&str, &str); 6] = [
    ("auth_cert.der", "user-authentication certificate (EF 000A)"),
    ("auth_ca_cert.der", "its CA certificate (EF 000B)"),
    (
        "auth_key.pkcs1.der",
        "user-authentication key (0017), PKCS#1 DER",
    ),
    ("sign_cert.der", "signing certificate (EF 0001)"),
    ("sign_ca_cert.der", "its CA certificate (EF 0002)"),
    ("sign_key.pkcs1.der", "signing key (001A), PKCS#1 DER"),
];

/// Why a card directory could not be loaded. Messages name the file and what was expected,
/// never key bytes.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file is missing or unreadable.
    #[error("cannot read {} ({what}): {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Its role.
        what: &'static str,
        /// The I/O error.
        source: io::Error,
    },
    /// A file does not start like DER (a SEQUENCE), e.g. a PEM file under a `.der` name.
    #[error("{} ({what}) is not DER: expected a SEQUENCE (30 82 ...), found {found}", path.display())]
    NotDer {
        /// The file.
        path: PathBuf,
        /// Its role.
        what: &'static str,
        /// The first bytes, or "an empty file".
        found: String,
    },
}

impl CardContents {
    /// The same contents as a token of `form`: its access rules and its label, the first 32
    /// bytes of EF `0006` (`JPKIAPGPSETOKEN` for the Android phone, `JPKIAPICCTOKEN2` for the
    /// card); the rest of the token information stays.
    pub fn with_form(mut self, form: TokenForm) -> Self {
        self.form = form;
        let name = match form {
            TokenForm::Phone => label::ANDROID,
            TokenForm::Card => label::CARD,
        };
        let mut field = [b' '; 32];
        field[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(head) = self.token_info.get_mut(..32) {
            head.copy_from_slice(&field);
        }
        self
    }

    /// The same token with the certificates and keys in `dir` ([`CARD_FILES`], as `jpkisim run
    /// --pki-out` writes them for each phone); token information and PINs stay (a run's owner
    /// PIN is never exported). The applet checks the keys when the TSM stores them.
    pub fn with_files_from(self, dir: &Path) -> Result<Self, LoadError> {
        let read = |name: &str, what: &'static str| -> Result<Vec<u8>, LoadError> {
            let path = dir.join(name);
            let bytes = fs::read(&path).map_err(|source| LoadError::Read {
                path: path.clone(),
                what,
                source,
            })?;
            if bytes.first() != Some(&0x30) {
                let found = if bytes.is_empty() {
                    "an empty file".to_owned()
                } else {
                    format!("{} ...", crate::apdu::to_hex(&bytes[..bytes.len().min(4)]))
                };
                return Err(LoadError::NotDer { path, what, found });
            }
            Ok(bytes)
        };
        let [(ac, acw), (aca, acaw), (ak, akw), (sc, scw), (sca, scaw), (sk, skw)] = CARD_FILES;
        Ok(Self {
            auth_cert: read(ac, acw)?,
            auth_ca_cert: read(aca, acaw)?,
            auth_key: Zeroizing::new(read(ak, akw)?),
            sign_cert: read(sc, scw)?,
            sign_ca_cert: read(sca, scaw)?,
            sign_key: Zeroizing::new(read(sk, skw)?),
            ..self
        })
    }

    /// The DGIs a TSM stores: the files in the clear, PINs and keys under the DEK. (Every value
    /// of a 2048-bit card fits a DGI; the `None` of [`encode_dgi`] is passed on.)
    pub fn dgis(&self, dek: &crate::scp03::AesKey) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut plain = Vec::new();
        for (f, content) in [
            (fid::TOKEN_INFO, &self.token_info),
            (fid::SIGN_CA_CERT, &self.sign_ca_cert),
            (fid::AUTH_CA_CERT, &self.auth_ca_cert),
            (fid::SIGN_CERT, &self.sign_cert),
            (fid::AUTH_CERT, &self.auth_cert),
        ] {
            plain.extend(encode_dgi(dgi::FILE_BASE | f, content)?);
        }
        let mut secret = Vec::new();
        for (tag, value) in [
            (dgi::AUTH_PIN, &self.auth_pin),
            (dgi::SIGN_PIN, &self.sign_password),
            (dgi::AUTH_KEY, &self.auth_key),
            (dgi::SIGN_KEY, &self.sign_key),
        ] {
            secret.extend(encode_dgi(tag, &dek_encrypt(dek, value))?);
        }
        Some((plain, secret))
    }
}

/// The JPKI instance of a full token of `form`: both certificates and keys (install
/// parameters empty for the phone, `C9 01 02` for the card).
pub fn install_command(form: TokenForm) -> Management<'static> {
    Management::InstallAndMakeSelectable {
        package: &JPKI_PACKAGE_AID,
        module: &JPKI_MODULE_AID,
        instance: &JPKI_AID,
        privileges: 0x00,
        params: form.install_param_value(),
    }
}

/// Installs and personalizes the JPKI applet with `contents` over SCP03 (C-DEC + C-MAC), as a
/// TSM does: INSTALL [for install and make selectable], INSTALL [for personalization], the clear
/// DGIs, then the DEK-encrypted DGIs with the last-block flag. Returns the transcript.
pub fn personalize(
    se: &mut SecureElement,
    keys: StaticKeys,
    host_challenge: [u8; 8],
    contents: &CardContents,
) -> Result<Transcript, PersoError> {
    let (plain, secret) = contents
        .dgis(&keys.dek)
        .ok_or(PersoError::Scp(ScpError::Malformed))?;
    let mut tsm = Tsm::new(se, keys, host_challenge);
    tsm.open_secure_channel(SecurityLevel::C_DEC_C_MAC)?;
    tsm.manage(&install_command(contents.form))?;
    tsm.manage(&Management::InstallForPersonalization {
        instance: &JPKI_AID,
    })?;
    let next = tsm.store_stream(&plain, false, false, 0)?;
    tsm.store_stream(&secret, true, true, next)?;
    Ok(tsm.transcript)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_info_has_the_card_layout() {
        let info = TokenInfo {
            label: label::ANDROID,
            serial: "0123456789ABCDEFXYZ".into(),
        }
        .to_bytes();
        assert_eq!(info.len(), TOKEN_INFO_LEN);
        assert_eq!(&info[..32], b"JPKIAPGPSETOKEN                 ");
        assert_eq!(&info[80..96], b"0123456789ABCDEF", "serial cut to 16");
        let word = |o: usize| u32::from_be_bytes([info[o], info[o + 1], info[o + 2], info[o + 3]]);
        assert_eq!(word(96), 0x040D);
        assert_eq!((word(116), word(120)), (16, 6));
        assert_eq!(word(136), u32::MAX);
        assert_eq!(&info[140..144], b"0301");
    }
}

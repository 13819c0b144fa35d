//! The JPKI applet (公的個人認証AP) as the phone's secure element hosts it: the card's APDU
//! interface byte for byte (docs/sources/jpki-applet.md), its PINs and retry counters, its
//! two RSA-2048 keys, and the personalization interface the issuer security domain feeds with
//! STORE DATA.
//!
//! What it is for: letting an unchanged JPKI client log in and sign against the emulator. What it
//! is not: the card-face applications (a phone token has none), the municipal unblocking
//! procedure (an unblock is a new PIN DGI from the issuer), or a JPKI personalization format
//! (the DGI numbers in [`dgi`] are jpkisim's own; the real ones are not public). Life-cycle
//! states belong to the issuer security domain; this module only learns whether it is
//! personalized. Each command's status words are listed in docs/applet.md.

use std::{collections::BTreeMap, fmt};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::{
    pkcs1::DecodeRsaPrivateKey, traits::PublicKeyParts, BigUint, Pkcs1v15Sign, Pss, RsaPrivateKey,
};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{
    apdu::{Case, Class, Command, Response, StatusWord},
    timing::{self, Stages},
};

/// The JPKI application identifier, selected by DF name.
pub const JPKI_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// RSA modulus size of both keys, in bytes (RSA-2048).
pub const MODULUS_LEN: usize = 256;

/// Largest DigestInfo PKCS#1 v1.5 type-1 padding leaves room for in a 2048-bit block.
pub const MAX_DIGEST_INFO_LEN: usize = MODULUS_LEN - 11;

/// The elementary files of the JPKI application.
pub mod fid {
    /// Signing certificate; readable only after the signing password.
    pub const SIGN_CERT: u16 = 0x0001;
    /// Signing CA certificate.
    pub const SIGN_CA_CERT: u16 = 0x0002;
    /// Token information (label `JPKIAPGPSETOKEN` on a phone).
    pub const TOKEN_INFO: u16 = 0x0006;
    /// User-authentication certificate; on the phone readable only after the auth PIN.
    pub const AUTH_CERT: u16 = 0x000A;
    /// User-authentication CA certificate.
    pub const AUTH_CA_CERT: u16 = 0x000B;
    /// User-authentication private key.
    pub const AUTH_KEY: u16 = 0x0017;
    /// User-authentication PIN.
    pub const AUTH_PIN: u16 = 0x0018;
    /// Signing private key.
    pub const SIGN_KEY: u16 = 0x001A;
    /// Signing password.
    pub const SIGN_PIN: u16 = 0x001B;

    /// Transparent EFs holding data (certificates and token info).
    pub const DATA_FILES: [u16; 5] = [SIGN_CERT, SIGN_CA_CERT, TOKEN_INFO, AUTH_CERT, AUTH_CA_CERT];

    /// The EF a short EF identifier (1–30) names. Every JPKI file identifier is `00 xx` with
    /// `xx` below 31, and the card lets a client name it by `xx` alone: READ BINARY with P1 =
    /// `80 | xx`, VERIFY with P2 = `80 | xx`, COMPUTE DIGITAL SIGNATURE with P2 = `80 | xx`.
    pub fn of_short_id(sfi: u8) -> u16 {
        u16::from(sfi)
    }
}

/// Data grouping identifiers of jpkisim's STORE DATA personalization format (the real JPKI
/// format is not public). Secret DGIs (`81xx`) must arrive encrypted under the DEK.
pub mod dgi {
    /// `01 FF`-style DGIs: `0100 | fid` carries the content of data EF `fid` (certificates, token
    /// info), e.g. `01 0A` the authentication certificate.
    pub const FILE_BASE: u16 = 0x0100;
    /// Authentication PIN (ASCII), secret.
    pub const AUTH_PIN: u16 = 0x8118;
    /// Signing password (ASCII), secret.
    pub const SIGN_PIN: u16 = 0x811B;
    /// Import of a centre-generated authentication key (PKCS#1 `RSAPrivateKey` DER), secret.
    pub const AUTH_KEY: u16 = 0x8117;
    /// Import of a centre-generated signing key (PKCS#1 `RSAPrivateKey` DER), secret.
    pub const SIGN_KEY: u16 = 0x811A;
    /// Generate the authentication key pair inside the SE (empty value); STORE DATA answers with
    /// the 256-byte modulus (public exponent 65537).
    pub const GEN_AUTH_KEY: u16 = 0x0217;
    /// Generate the signing key pair inside the SE, as [`GEN_AUTH_KEY`].
    pub const GEN_SIGN_KEY: u16 = 0x021A;
}

/// Which of the two PINs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PinKind {
    /// User-authentication PIN: exactly 4 digits, 3 consecutive tries.
    Auth,
    /// Signing password: 6–16 characters of `A–Z0–9`, 5 consecutive tries.
    Sign,
}

impl PinKind {
    /// Consecutive wrong tries before the PIN blocks on a JPKI card: the default when the issuer
    /// names no limit in the INSTALL parameters ([`InstallParams`]).
    pub fn max_tries(self) -> u8 {
        match self {
            Self::Auth => 3,
            Self::Sign => 5,
        }
    }

    /// Allowed length range of the PIN in bytes.
    pub fn lengths(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Self::Auth => 4..=4,
            Self::Sign => 6..=16,
        }
    }

    /// Whether `pin` has the right format (length and alphabet).
    pub fn is_well_formed(self, pin: &[u8]) -> bool {
        self.lengths().contains(&pin.len())
            && match self {
                Self::Auth => pin.iter().all(u8::is_ascii_digit),
                Self::Sign => pin
                    .iter()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
            }
    }

    fn of_fid(fid: u16) -> Option<Self> {
        match fid {
            fid::AUTH_PIN => Some(Self::Auth),
            fid::SIGN_PIN => Some(Self::Sign),
            _ => None,
        }
    }

    fn of_key_fid(fid: u16) -> Option<Self> {
        match fid {
            fid::AUTH_KEY => Some(Self::Auth),
            fid::SIGN_KEY => Some(Self::Sign),
            _ => None,
        }
    }
}

/// A stored PIN and its retry counter (persistent: survives sessions and power cycles).
#[derive(Clone)]
struct Pin {
    value: Zeroizing<Vec<u8>>,
    tries_left: u8,
    /// The try limit this instance was installed with.
    max_tries: u8,
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pin")
            .field("value", &"<redacted>")
            .field("tries_left", &self.tries_left)
            .field("max_tries", &self.max_tries)
            .finish()
    }
}

/// Volatile per-session state: cleared by selecting the application again or a power cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// The current EF.
    pub current_ef: Option<u16>,
    /// The authentication PIN was verified in this session.
    pub auth_verified: bool,
    /// The signing password was verified in this session.
    pub sign_verified: bool,
}

impl Session {
    fn verified(&self, kind: PinKind) -> bool {
        match kind {
            PinKind::Auth => self.auth_verified,
            PinKind::Sign => self.sign_verified,
        }
    }

    fn set_verified(&mut self, kind: PinKind, v: bool) {
        match kind {
            PinKind::Auth => self.auth_verified = v,
            PinKind::Sign => self.sign_verified = v,
        }
    }
}

/// What a token instance is personalized for, chosen by the TSM in the INSTALL parameters
/// ([`InstallParams`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// User authentication and signing, like the card: both keys, PINs and certificates.
    AuthAndSign,
    /// User authentication only: what jpkisim's protocol model provisions (it tracks only the
    /// user-authentication certificate), so the reference runtime can complete personalization
    /// without inventing a signing certificate the model never issues.
    AuthOnly,
}

/// The application-specific INSTALL parameters (the value of tag `C9`): the token's scope and
/// the PINs' try limits, which the issuer chooses when it installs the instance, as a Java Card
/// applet sizes its PIN objects at install time.
///
/// Layout of the `C9` value: empty (both keys, the JPKI card's limits, the phone's access
/// rules), or a scope byte (`00` both, `01` authentication only, `02` both with the My Number
/// card's access rules, [`TokenForm::Card`]), optionally followed by the auth-PIN try limit and
/// then the signing-password try limit (each 1–15, what `63 Cx` can report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstallParams {
    /// What the token holds.
    pub scope: Scope,
    /// Whose access rules it follows.
    pub form: TokenForm,
    /// Consecutive wrong auth-PIN entries before it blocks.
    pub auth_tries: u8,
    /// Consecutive wrong signing-password entries before it blocks.
    pub sign_tries: u8,
}

impl Default for InstallParams {
    /// Both keys, with the JPKI card's limits ([`PinKind::max_tries`]).
    fn default() -> Self {
        InstallParams {
            scope: Scope::AuthAndSign,
            form: TokenForm::Phone,
            auth_tries: PinKind::Auth.max_tries(),
            sign_tries: PinKind::Sign.max_tries(),
        }
    }
}

impl InstallParams {
    /// The parameters an INSTALL parameter field (`C9 len value`, or nothing) asks for; `None`
    /// if the field is malformed or asks for something unknown.
    pub fn parse(params: &[u8]) -> Option<InstallParams> {
        let value = match params {
            [] => &[][..],
            [0xC9, len, value @ ..] if usize::from(*len) == value.len() => value,
            _ => return None,
        };
        let limit = |b: u8| (1..=15).contains(&b).then_some(b);
        let d = InstallParams::default();
        let (scope, form) = match value.first() {
            None | Some(0x00) => (Scope::AuthAndSign, TokenForm::Phone),
            Some(0x01) => (Scope::AuthOnly, TokenForm::Phone),
            Some(0x02) => (Scope::AuthAndSign, TokenForm::Card),
            Some(_) => return None,
        };
        match value {
            [] | [_] => Some(InstallParams { scope, form, ..d }),
            [_, a] => Some(InstallParams {
                scope,
                form,
                auth_tries: limit(*a)?,
                ..d
            }),
            [_, a, g] => Some(InstallParams {
                scope,
                form,
                auth_tries: limit(*a)?,
                sign_tries: limit(*g)?,
            }),
            _ => None,
        }
    }

    /// The `C9` value that [`InstallParams::parse`] reads back as `self` (an authentication-only
    /// token has no card form: its certificate rules are the phone's).
    pub fn encode(&self) -> Vec<u8> {
        let scope = match (self.scope, self.form) {
            (Scope::AuthAndSign, TokenForm::Phone) => 0x00,
            (Scope::AuthOnly, _) => 0x01,
            (Scope::AuthAndSign, TokenForm::Card) => 0x02,
        };
        vec![scope, self.auth_tries, self.sign_tries]
    }

    fn max_tries(&self, kind: PinKind) -> u8 {
        match kind {
            PinKind::Auth => self.auth_tries,
            PinKind::Sign => self.sign_tries,
        }
    }
}

/// Whose access rules the token follows. They differ in one file: the phone's secure element
/// (スマホ用電子証明書) gives out the user-authentication certificate (EF `000A`) only after the
/// authentication PIN, the My Number card to anyone. Chosen by the TSM in the INSTALL parameters
/// ([`InstallParams`], scope byte `02`: jpkisim's own encoding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenForm {
    /// The phone SE: EF `000A` after the authentication PIN.
    #[default]
    Phone,
    /// The My Number card: EF `000A` free.
    Card,
}

impl TokenForm {
    /// The shortest `C9` value that installs a full token of this form with the JPKI card's try
    /// limits ([`InstallParams`]): empty for the phone, the scope byte `02` for the card.
    pub fn install_param_value(self) -> &'static [u8] {
        match self {
            TokenForm::Phone => &[],
            TokenForm::Card => &[0x02],
        }
    }
}

/// Which build of the applet package is in ROM. Only [`Build::Correct`] is a JPKI applet; the
/// other reproduces a broken variant of the protocol model at the byte level, so the variant's
/// counterexample can be replayed on the emulator (`jpkisim run`, reference tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Build {
    /// The applet as specified.
    #[default]
    Correct,
    /// Wrong PINs are answered `63 Cx` but never counted: the `no_retry_counter` variant.
    NoRetryCounter,
}

/// The JPKI applet instance: persistent contents plus the current session. `Clone` lets a
/// harness fork a personalized card instead of personalizing it again.
#[derive(Clone)]
pub struct JpkiApplet {
    params: InstallParams,
    build: Build,
    files: BTreeMap<u16, Vec<u8>>,
    auth_pin: Option<Pin>,
    sign_pin: Option<Pin>,
    auth_key: Option<RsaPrivateKey>,
    sign_key: Option<RsaPrivateKey>,
    session: Session,
    /// A signature that waits for GET RESPONSE (after a COMPUTE DIGITAL SIGNATURE without Le):
    /// volatile, and gone with the next command of any other kind.
    pending_response: Option<Vec<u8>>,
    /// Blinding and key generation randomness.
    rng: ChaCha20Rng,
}

impl fmt::Debug for JpkiApplet {
    /// Lists which items are present, never their values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JpkiApplet")
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("auth_pin", &self.auth_pin)
            .field("sign_pin", &self.sign_pin)
            .field("auth_key", &self.auth_key.as_ref().map(|_| "<present>"))
            .field("sign_key", &self.sign_key.as_ref().map(|_| "<present>"))
            .field("session", &self.session)
            .finish()
    }
}

/// Known DigestInfo prefixes (DER of the AlgorithmIdentifier with NULL parameters and the OCTET
/// STRING header), by hash: SHA-1, SHA-224, SHA-256, SHA-384, SHA-512. JPKI clients send SHA-1
/// and SHA-256.
const DIGEST_INFO_PREFIXES: [(&[u8], usize); 5] = [
    (
        &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04,
            0x14,
        ],
        20,
    ),
    (
        &[
            0x30, 0x2D, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1C,
        ],
        28,
    ),
    (
        &[
            0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        32,
    ),
    (
        &[
            0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        48,
    ),
    (
        &[
            0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        64,
    ),
];

/// Whether `data` is exactly a DER DigestInfo of a known hash.
pub fn is_digest_info(data: &[u8]) -> bool {
    DIGEST_INFO_PREFIXES
        .iter()
        .any(|(prefix, len)| data.len() == prefix.len() + len && data.starts_with(prefix))
}

/// The SHA-256 DigestInfo of `message`, as a client builds it.
pub fn sha256_digest_info(message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = DIGEST_INFO_PREFIXES[2].0.to_vec();
    out.extend_from_slice(&Sha256::digest(message));
    out
}

/// The signature schemes COMPUTE DIGITAL SIGNATURE's P1 selects. The card's own command
/// (`80 2A`), not an ISO PSO; a client library whose authors tried every P1 value against a
/// My Number card documents six, and any other P1 answers `6A86`. Three paddings, each either
/// over a hash the host computed or over a SHA-256 the card computes from the data:
///
/// | P1 | data | signed |
/// |---|---|---|
/// | `00` | 1–245 bytes, usually a DER DigestInfo | PKCS#1 v1.5 type 1 over the data as sent |
/// | `01` | 1–255 bytes of message | PKCS#1 v1.5 over the bare SHA-256 (no DigestInfo) |
/// | `02` | a 32-byte SHA-256 | PKCS#1 v1.5 over its DigestInfo |
/// | `03` | 1–255 bytes of message | PKCS#1 v1.5 over the DigestInfo of its SHA-256 |
/// | `04` | a 32-byte SHA-256 | RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte random salt |
/// | `05` | 1–255 bytes of message | RSASSA-PSS over its SHA-256 |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureScheme {
    /// `00`: PKCS#1 v1.5 over the data exactly as sent (OpenSC, jpki-rs, myna send a DigestInfo).
    Verbatim,
    /// `01`: the card hashes; PKCS#1 v1.5 over the bare 32-byte hash.
    Sha256Bare,
    /// `02`: a SHA-256 from the host, wrapped in a DigestInfo by the card.
    PreHashedDigestInfo,
    /// `03`: the card hashes and wraps in a DigestInfo.
    Sha256DigestInfo,
    /// `04`: a SHA-256 from the host, RSASSA-PSS.
    PreHashedPss,
    /// `05`: the card hashes, RSASSA-PSS.
    Sha256Pss,
}

/// What the RSA operation is applied to.
enum Encoded {
    /// The payload PKCS#1 v1.5 type-1 padding wraps.
    Pkcs1(Vec<u8>),
    /// The SHA-256 RSASSA-PSS encodes.
    Pss(Vec<u8>),
}

impl SignatureScheme {
    /// The scheme P1 selects; `None` (answered `6A86`) for any other value.
    pub fn from_p1(p1: u8) -> Option<Self> {
        Some(match p1 {
            0x00 => Self::Verbatim,
            0x01 => Self::Sha256Bare,
            0x02 => Self::PreHashedDigestInfo,
            0x03 => Self::Sha256DigestInfo,
            0x04 => Self::PreHashedPss,
            0x05 => Self::Sha256Pss,
            _ => return None,
        })
    }

    /// The P1 byte that selects this scheme.
    pub fn p1(self) -> u8 {
        match self {
            Self::Verbatim => 0x00,
            Self::Sha256Bare => 0x01,
            Self::PreHashedDigestInfo => 0x02,
            Self::Sha256DigestInfo => 0x03,
            Self::PreHashedPss => 0x04,
            Self::Sha256Pss => 0x05,
        }
    }

    /// Command data lengths the scheme accepts; any other is `67 00`.
    pub fn input_lengths(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Self::Verbatim => 1..=MAX_DIGEST_INFO_LEN,
            Self::PreHashedDigestInfo | Self::PreHashedPss => 32..=32,
            Self::Sha256Bare | Self::Sha256DigestInfo | Self::Sha256Pss => 1..=255,
        }
    }

    /// The input of the RSA operation, from the command data.
    fn encode(self, data: &[u8]) -> Result<Encoded, StatusWord> {
        use sha2::{Digest, Sha256};
        if !self.input_lengths().contains(&data.len()) {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let sha256_info = |hash: &[u8]| [DIGEST_INFO_PREFIXES[2].0, hash].concat();
        Ok(match self {
            Self::Verbatim => Encoded::Pkcs1(data.to_vec()),
            Self::Sha256Bare => Encoded::Pkcs1(Sha256::digest(data).to_vec()),
            Self::PreHashedDigestInfo => Encoded::Pkcs1(sha256_info(data)),
            Self::Sha256DigestInfo => Encoded::Pkcs1(sha256_info(&Sha256::digest(data))),
            Self::PreHashedPss => Encoded::Pss(data.to_vec()),
            Self::Sha256Pss => Encoded::Pss(Sha256::digest(data).to_vec()),
        })
    }
}

impl JpkiApplet {
    /// A freshly installed, empty instance. `seed` feeds the blinding and key-generation RNG, so
    /// a run is reproducible from one printed seed.
    pub fn new(seed: u64) -> Self {
        Self::with_scope(seed, Scope::AuthAndSign)
    }

    /// A freshly installed, empty instance personalized for `scope`.
    pub fn with_scope(seed: u64, scope: Scope) -> Self {
        Self::built(
            seed,
            InstallParams {
                scope,
                ..InstallParams::default()
            },
            Build::Correct,
        )
    }

    /// A freshly installed instance of a given package build.
    pub fn built(seed: u64, params: InstallParams, build: Build) -> Self {
        Self {
            params,
            build,
            files: BTreeMap::new(),
            auth_pin: None,
            sign_pin: None,
            auth_key: None,
            sign_key: None,
            session: Session::default(),
            pending_response: None,
            rng: ChaCha20Rng::seed_from_u64(seed),
        }
    }

    /// Whose access rules this instance follows.
    pub fn form(&self) -> TokenForm {
        self.params.form
    }

    /// The current session state (for tests and the model's conformance checks).
    pub fn session(&self) -> Session {
        self.session
    }

    /// Tries left for a PIN; `None` before it is personalized.
    pub fn tries_left(&self, kind: PinKind) -> Option<u8> {
        self.pin(kind).map(|p| p.tries_left)
    }

    /// The public key of a key pair, if present (what a TSM or test checks a signature with).
    pub fn public_key(&self, kind: PinKind) -> Option<rsa::RsaPublicKey> {
        self.key(kind).map(RsaPrivateKey::to_public_key)
    }

    /// Whether every file, PIN and key is present: the condition to enter the personalized state.
    pub fn is_complete(&self) -> bool {
        let auth = [fid::TOKEN_INFO, fid::AUTH_CERT, fid::AUTH_CA_CERT]
            .iter()
            .all(|f| self.files.contains_key(f))
            && self.auth_pin.is_some()
            && self.auth_key.is_some();
        let sign = [fid::SIGN_CERT, fid::SIGN_CA_CERT]
            .iter()
            .all(|f| self.files.contains_key(f))
            && self.sign_pin.is_some()
            && self.sign_key.is_some();
        auth && (sign || self.params.scope == Scope::AuthOnly)
    }

    /// Ends the session: the application was selected again, the channel closed or the power cut.
    pub fn reset_session(&mut self) {
        self.session = Session::default();
        self.pending_response = None;
    }

    /// The content of a data EF (certificates, token info), as personalized; `None` if absent.
    /// This is the host's view of the chip (an emulator facility): no access rule applies, and
    /// only public data is reachable this way.
    pub fn file(&self, fid: u16) -> Option<&[u8]> {
        self.files.get(&fid).map(Vec::as_slice)
    }

    /// The private key of a key pair as PKCS#1 `RSAPrivateKey` DER, for carrying an emulated SE
    /// to another emulator: `jpkisim run --pki-out` writes a test run's SE keys so that
    /// `jpkisim card --from-run` can present the same card over PC/SC.
    ///
    /// A real secure element never lets a private key out; this exists only because every key in
    /// an emulator is test material. The result must never reach a log, a trace or an error.
    pub fn export_private_key_pkcs1(&self, kind: PinKind) -> Option<Zeroizing<Vec<u8>>> {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let der = self.key(kind)?.to_pkcs1_der().ok()?;
        Some(Zeroizing::new(der.as_bytes().to_vec()))
    }

    /// Wipes PINs and keys (DELETE). PIN buffers are `Zeroizing` and `rsa` zeroizes private keys
    /// when dropped; this drops them now rather than whenever the instance goes.
    pub fn wipe(&mut self) {
        self.auth_pin = None;
        self.sign_pin = None;
        self.auth_key = None;
        self.sign_key = None;
        self.files.clear();
        self.session = Session::default();
        self.pending_response = None;
    }

    fn pin(&self, kind: PinKind) -> Option<&Pin> {
        match kind {
            PinKind::Auth => self.auth_pin.as_ref(),
            PinKind::Sign => self.sign_pin.as_ref(),
        }
    }

    fn pin_mut(&mut self, kind: PinKind) -> Option<&mut Pin> {
        match kind {
            PinKind::Auth => self.auth_pin.as_mut(),
            PinKind::Sign => self.sign_pin.as_mut(),
        }
    }

    fn key(&self, kind: PinKind) -> Option<&RsaPrivateKey> {
        match kind {
            PinKind::Auth => self.auth_key.as_ref(),
            PinKind::Sign => self.sign_key.as_ref(),
        }
    }

    fn set_key(&mut self, kind: PinKind, key: RsaPrivateKey) {
        match kind {
            PinKind::Auth => self.auth_key = Some(key),
            PinKind::Sign => self.sign_key = Some(key),
        }
    }

    /// Applies one personalization DGI from STORE DATA. `secret` says whether it arrived
    /// DEK-encrypted (already decrypted by the security domain). Returns response data for key
    /// generation.
    pub fn store_dgi(
        &mut self,
        tag: u16,
        value: &[u8],
        secret: bool,
    ) -> Result<Option<Vec<u8>>, StatusWord> {
        let is_secret_tag = tag & 0xFF00 == 0x8100;
        if is_secret_tag != secret {
            return Err(StatusWord::WRONG_DATA);
        }
        match tag {
            dgi::AUTH_PIN | dgi::SIGN_PIN => {
                let kind = if tag == dgi::AUTH_PIN {
                    PinKind::Auth
                } else {
                    PinKind::Sign
                };
                if !kind.is_well_formed(value) {
                    return Err(StatusWord::WRONG_DATA);
                }
                let max_tries = self.params.max_tries(kind);
                let pin = Pin {
                    value: Zeroizing::new(value.to_vec()),
                    tries_left: max_tries,
                    max_tries,
                };
                match kind {
                    PinKind::Auth => self.auth_pin = Some(pin),
                    PinKind::Sign => self.sign_pin = Some(pin),
                }
                self.session.set_verified(kind, false);
                Ok(None)
            }
            dgi::AUTH_KEY | dgi::SIGN_KEY => {
                let kind = if tag == dgi::AUTH_KEY {
                    PinKind::Auth
                } else {
                    PinKind::Sign
                };
                let key =
                    RsaPrivateKey::from_pkcs1_der(value).map_err(|_| StatusWord::WRONG_DATA)?;
                if key.size() != MODULUS_LEN || key.validate().is_err() {
                    return Err(StatusWord::WRONG_DATA);
                }
                self.set_key(kind, key);
                Ok(None)
            }
            dgi::GEN_AUTH_KEY | dgi::GEN_SIGN_KEY => {
                if !value.is_empty() {
                    return Err(StatusWord::WRONG_DATA);
                }
                let kind = if tag == dgi::GEN_AUTH_KEY {
                    PinKind::Auth
                } else {
                    PinKind::Sign
                };
                let key = RsaPrivateKey::new_with_exp(
                    &mut self.rng,
                    MODULUS_LEN * 8,
                    &BigUint::from(65_537u32),
                )
                .map_err(|_| StatusWord::MEMORY_FAILURE)?;
                let modulus = left_pad(&key.n().to_bytes_be());
                self.set_key(kind, key);
                Ok(Some(modulus))
            }
            _ if tag & 0xFF00 == dgi::FILE_BASE && fid::DATA_FILES.contains(&(tag & 0x00FF)) => {
                self.files.insert(tag & 0x00FF, value.to_vec());
                Ok(None)
            }
            _ => Err(StatusWord::REF_DATA_NOT_FOUND),
        }
    }

    /// Processes one command addressed to the selected JPKI application (SELECT by DF name is
    /// routed by the secure element, which then calls [`JpkiApplet::reset_session`]).
    /// `personalized` is the instance's life-cycle condition for everything but SELECT.
    pub fn process(&mut self, cmd: &Command, personalized: bool, stages: &mut Stages) -> Response {
        // Response data waits for GET RESPONSE only until the next command.
        let pending = self.pending_response.take();
        match self.dispatch(cmd, personalized, stages, pending) {
            Ok(r) => r,
            Err(sw) => Response::status(sw),
        }
    }

    /// Processes a command that the card loses power in the middle of (tearing): exactly what
    /// the card has written to persistent memory before the point of the tear survives. For
    /// VERIFY that is the retry counter, decremented before the comparison (as OwnerPIN-style
    /// counters are, outside any transaction): the try is counted, once, whatever the PIN. Every
    /// other persistent update (CHANGE REFERENCE DATA) is atomic and did not complete. The caller
    /// cuts the power afterwards, which ends the session.
    pub fn process_torn(&mut self, cmd: &Command, personalized: bool) {
        self.pending_response = None;
        let Ok(class) = cmd.class() else { return };
        if cmd.ins != 0x20 || check_class(class, false).is_err() || !personalized {
            return;
        }
        if let Ok(VerifyStep::Compare(kind)) = self.verify_begin(cmd) {
            self.spend_try(kind);
        }
    }

    fn dispatch(
        &mut self,
        cmd: &Command,
        personalized: bool,
        stages: &mut Stages,
        pending: Option<Vec<u8>>,
    ) -> Result<Response, StatusWord> {
        let class = cmd.class().map_err(|e| e.status())?;
        let proprietary = match cmd.ins {
            0xA4 | 0xB0 | 0x20 | 0x24 | 0xC0 => false,
            0x2A => true,
            _ => return Err(StatusWord::INS_NOT_SUPPORTED),
        };
        check_class(class, proprietary)?;
        if !personalized {
            return Err(StatusWord::CONDITIONS);
        }
        match cmd.ins {
            0xA4 => self.select_ef(cmd),
            0xB0 => self.read_binary(cmd),
            0x20 => self.verify(cmd, stages),
            0x24 => self.change_reference_data(cmd, stages),
            0xC0 => self.get_response(cmd, pending),
            _ => self.compute_signature(cmd, stages),
        }
    }

    /// `00 A4 02 0C 02 <FID>`.
    fn select_ef(&mut self, cmd: &Command) -> Result<Response, StatusWord> {
        if cmd.p1 != 0x02 || cmd.p2 != 0x0C {
            return Err(StatusWord::WRONG_P1P2);
        }
        let [hi, lo] = cmd.data[..] else {
            return Err(StatusWord::WRONG_LENGTH);
        };
        if cmd.le.is_some() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let fid = u16::from_be_bytes([hi, lo]);
        if !self.exists(fid) {
            return Err(StatusWord::NOT_FOUND);
        }
        self.session.current_ef = Some(fid);
        Ok(Response::status(StatusWord::OK))
    }

    fn exists(&self, fid: u16) -> bool {
        self.files.contains_key(&fid)
            || PinKind::of_fid(fid).is_some_and(|k| self.pin(k).is_some())
            || PinKind::of_key_fid(fid).is_some_and(|k| self.key(k).is_some())
    }

    /// `00 B0 <offset> <Le>`: 15-bit offset; or `00 B0 <80 | SFI> <offset> <Le>`: the EF named
    /// by its short identifier becomes the current EF and is read from an 8-bit offset (ISO
    /// 7816-4; SFI 0 is the current EF). Up to 256 bytes.
    fn read_binary(&mut self, cmd: &Command) -> Result<Response, StatusWord> {
        let offset = if cmd.p1 & 0x80 == 0 {
            u16::from_be_bytes([cmd.p1, cmd.p2])
        } else {
            let sfi = cmd.p1 & 0x1F;
            if cmd.p1 & 0x60 != 0 || sfi == 0x1F {
                return Err(StatusWord::WRONG_P1P2);
            }
            if sfi != 0 {
                let fid = fid::of_short_id(sfi);
                if !self.exists(fid) {
                    return Err(StatusWord::NOT_FOUND);
                }
                self.session.current_ef = Some(fid);
            }
            u16::from(cmd.p2)
        };
        let (Case::Two, Some(le)) = (cmd.case(), cmd.le) else {
            return Err(StatusWord::WRONG_LENGTH);
        };
        let fid = self.session.current_ef.ok_or(StatusWord::NO_CURRENT_EF)?;
        let Some(content) = self.files.get(&fid) else {
            return Err(StatusWord::INCOMPATIBLE_FILE); // key and PIN EFs are not transparent
        };
        let needs = match (fid, self.params.form) {
            (fid::SIGN_CERT, _) => Some(PinKind::Sign),
            (fid::AUTH_CERT, TokenForm::Phone) => Some(PinKind::Auth),
            _ => None,
        };
        if needs.is_some_and(|k| !self.session.verified(k)) {
            return Err(StatusWord::SECURITY_STATUS);
        }
        let offset = usize::from(offset);
        if offset >= content.len() {
            return Err(StatusWord::WRONG_OFFSET);
        }
        let end = content.len().min(offset + usize::from(le));
        let data = content[offset..end].to_vec();
        // Le = 00 means "up to 256": a short read is normal. An explicit Le that the file cannot
        // fill gets the ISO warning 62 82 with the data.
        let sw = if data.len() < usize::from(le) && le != 256 {
            StatusWord::END_OF_FILE
        } else {
            StatusWord::OK
        };
        Ok(Response { data, sw })
    }

    /// The PIN a VERIFY or CHANGE REFERENCE DATA names in P2: `80` the current EF, `80 | SFI`
    /// a PIN EF by its short identifier (no SELECT needed, the current EF is unchanged).
    fn referenced_pin(&self, p2: u8) -> Result<PinKind, StatusWord> {
        match p2 {
            0x80 => {
                let fid = self.session.current_ef.ok_or(StatusWord::NO_CURRENT_EF)?;
                PinKind::of_fid(fid).ok_or(StatusWord::INCOMPATIBLE_FILE)
            }
            0x81..=0x9E => {
                PinKind::of_fid(fid::of_short_id(p2 & 0x1F)).ok_or(StatusWord::REF_DATA_NOT_FOUND)
            }
            _ => Err(StatusWord::WRONG_P1P2),
        }
    }

    /// `00 20 00 <P2> [Lc PIN]`: the case-1 form queries the counter without spending a try.
    fn verify(&mut self, cmd: &Command, stages: &mut Stages) -> Result<Response, StatusWord> {
        let kind = match self.verify_begin(cmd)? {
            VerifyStep::Answer(sw) => return Ok(Response::status(sw)),
            VerifyStep::Compare(kind) => kind,
        };
        let build = self.build;
        let ok = timing::time(&mut stages.pin_check, || {
            // The try is counted before the comparison and given back on success, as a card
            // does against tearing (see `process_torn`).
            self.spend_try(kind);
            let Some(pin) = self.pin_mut(kind) else {
                return false;
            };
            let ok = bool::from(pin.value.as_slice().ct_eq(&cmd.data));
            if ok || build == Build::NoRetryCounter {
                pin.tries_left = pin.max_tries;
            }
            ok
        });
        let left = self.tries_left(kind).unwrap_or(0);
        self.session.set_verified(kind, ok);
        Ok(Response::status(if ok {
            StatusWord::OK
        } else {
            StatusWord::tries_left(left)
        }))
    }

    /// Everything VERIFY checks before it touches the retry counter.
    fn verify_begin(&self, cmd: &Command) -> Result<VerifyStep, StatusWord> {
        if cmd.p1 != 0x00 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let kind = self.referenced_pin(cmd.p2)?;
        let verified = self.session.verified(kind);
        let pin = self.pin(kind).ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
        match cmd.case() {
            Case::One => {
                // A blocked PIN answers 63 C0 ("no try left"), not 69 83: OpenSC's JPKI driver,
                // written against a card, takes anything but 63 xx here for a broken card and
                // would not even list a token whose PIN is blocked. VERIFY with data says 69 83.
                return Ok(VerifyStep::Answer(if verified && pin.tries_left > 0 {
                    StatusWord::OK // ISO 7816-4: no verification needed any more
                } else {
                    StatusWord::tries_left(pin.tries_left)
                }));
            }
            Case::Three => {}
            Case::Two | Case::Four => return Err(StatusWord::WRONG_LENGTH),
        }
        if pin.tries_left == 0 {
            return Err(StatusWord::AUTH_BLOCKED);
        }
        if !kind.lengths().contains(&cmd.data.len()) {
            return Err(StatusWord::WRONG_LENGTH); // rejected before comparison: no try spent
        }
        Ok(VerifyStep::Compare(kind))
    }

    /// Counts one try against a PIN (persistent at once). The defective
    /// [`Build::NoRetryCounter`] never writes the counter.
    fn spend_try(&mut self, kind: PinKind) {
        let build = self.build;
        if let Some(pin) = self.pin_mut(kind) {
            if build != Build::NoRetryCounter {
                pin.tries_left = pin.tries_left.saturating_sub(1);
            }
        }
    }

    /// `00 24 01 <P2> Lc <new PIN>` after VERIFY of the same PIN in this session (P2 as VERIFY).
    fn change_reference_data(
        &mut self,
        cmd: &Command,
        stages: &mut Stages,
    ) -> Result<Response, StatusWord> {
        if cmd.p1 != 0x01 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let kind = self.referenced_pin(cmd.p2)?;
        if cmd.case() != Case::Three {
            return Err(StatusWord::WRONG_LENGTH);
        }
        if !self.session.verified(kind) {
            return Err(StatusWord::SECURITY_STATUS);
        }
        if !kind.is_well_formed(&cmd.data) {
            return Err(StatusWord::WRONG_DATA);
        }
        let pin = self.pin_mut(kind).ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
        timing::time(&mut stages.pin_check, || {
            pin.value = Zeroizing::new(cmd.data.clone());
            pin.tries_left = pin.max_tries;
        });
        Ok(Response::status(StatusWord::OK))
    }

    /// The key a COMPUTE DIGITAL SIGNATURE names in P2: `80` the current EF (selected before),
    /// `80 | SFI` a key EF by its short identifier, without a SELECT.
    fn referenced_key(&self, p2: u8) -> Result<PinKind, StatusWord> {
        match p2 {
            0x80 => {
                let fid = self.session.current_ef.ok_or(StatusWord::NO_CURRENT_EF)?;
                PinKind::of_key_fid(fid).ok_or(StatusWord::INCOMPATIBLE_FILE)
            }
            0x81..=0x9E => PinKind::of_key_fid(fid::of_short_id(p2 & 0x1F))
                .ok_or(StatusWord::REF_DATA_NOT_FOUND),
            _ => Err(StatusWord::WRONG_P1P2),
        }
    }

    /// `80 2A <scheme> <key> Lc <data> [00]`: the signature scheme P1 selects
    /// ([`SignatureScheme`]) with the key P2 names, blinded RSA-2048, after the matching PIN in
    /// this session. Without Le the signature waits for GET RESPONSE behind `61 00`.
    fn compute_signature(
        &mut self,
        cmd: &Command,
        stages: &mut Stages,
    ) -> Result<Response, StatusWord> {
        let scheme = SignatureScheme::from_p1(cmd.p1).ok_or(StatusWord::WRONG_P1P2)?;
        let kind = self.referenced_key(cmd.p2)?;
        let deferred = match (cmd.case(), cmd.le) {
            (Case::Three, _) => true,
            (Case::Four, Some(256)) => false,
            _ => return Err(StatusWord::WRONG_LENGTH),
        };
        if !self.session.verified(kind) {
            return Err(StatusWord::SECURITY_STATUS);
        }
        let input = timing::time(&mut stages.input_check, || scheme.encode(&cmd.data))?;
        let key = match kind {
            PinKind::Auth => self.auth_key.as_ref(),
            PinKind::Sign => self.sign_key.as_ref(),
        }
        .ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
        let rng = &mut self.rng;
        let signature = timing::time(&mut stages.rsa, || match &input {
            Encoded::Pkcs1(payload) => {
                key.sign_with_rng(rng, Pkcs1v15Sign::new_unprefixed(), payload)
            }
            Encoded::Pss(hash) => key.sign_with_rng(rng, Pss::new_blinded::<Sha256>(), hash),
        })
        .map_err(|_| StatusWord::WRONG_DATA)?;
        if deferred {
            self.pending_response = Some(signature);
            return Ok(Response::status(StatusWord::bytes_remaining(MODULUS_LEN)));
        }
        Ok(Response::ok(signature))
    }
    /// `00 C0 00 00 Le`: the response data the previous command left behind `61 xx`, up to Le
    /// bytes; the rest waits behind a new `61 xx`.
    fn get_response(
        &mut self,
        cmd: &Command,
        pending: Option<Vec<u8>>,
    ) -> Result<Response, StatusWord> {
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let (Case::Two, Some(le)) = (cmd.case(), cmd.le) else {
            return Err(StatusWord::WRONG_LENGTH);
        };
        let mut data = pending.ok_or(StatusWord::CONDITIONS)?;
        let le = usize::from(le);
        if data.len() <= le {
            return Ok(Response::ok(data));
        }
        let rest = data.split_off(le);
        let sw = StatusWord::bytes_remaining(rest.len());
        self.pending_response = Some(rest);
        Ok(Response { data, sw })
    }
}

/// What VERIFY does after its checks.
enum VerifyStep {
    /// Answer without touching the counter (the case-1 retry query).
    Answer(StatusWord),
    /// Spend a try and compare against this PIN.
    Compare(PinKind),
}

/// JPKI commands are interindustry (CLA `0x`) except COMPUTE DIGITAL SIGNATURE (`8x`); any
/// logical channel is accepted, ISO secure messaging is not.
fn check_class(class: Class, proprietary: bool) -> Result<(), StatusWord> {
    if class.proprietary != proprietary {
        return Err(StatusWord::CLA_NOT_SUPPORTED);
    }
    if class.secure_messaging {
        return Err(StatusWord::SM_NOT_SUPPORTED);
    }
    Ok(())
}

/// Big-endian integer to exactly [`MODULUS_LEN`] bytes.
fn left_pad(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; MODULUS_LEN.saturating_sub(bytes.len())];
    out.extend_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_parameters_choose_the_scope_and_the_try_limits() {
        let scope = |p: &[u8]| InstallParams::parse(p).map(|p| p.scope);
        assert_eq!(scope(&[]), Some(Scope::AuthAndSign));
        assert_eq!(scope(&[0xC9, 0x00]), Some(Scope::AuthAndSign));
        assert_eq!(scope(&[0xC9, 0x01, 0x01]), Some(Scope::AuthOnly));
        assert_eq!(
            scope(&[0xC9, 0x01, 0x02]),
            Some(Scope::AuthAndSign),
            "the card form"
        );
        assert_eq!(scope(&[0xC9, 0x01, 0x03]), None);
        assert_eq!(scope(&[0xEF, 0x00]), None);
        assert_eq!(scope(&[0xC9, 0x02, 0x01]), None, "length overruns");
        assert_eq!(InstallParams::parse(&[]), Some(InstallParams::default()));
        let p = InstallParams::parse(&[0xC9, 0x02, 0x01, 0x07]).expect("auth limit");
        assert_eq!(
            (p.scope, p.auth_tries, p.sign_tries),
            (Scope::AuthOnly, 7, 5)
        );
        assert_eq!(
            InstallParams::parse(&[0xC9, 0x02, 0x01, 0x00]),
            None,
            "limit 0"
        );
        assert_eq!(
            InstallParams::parse(&[0xC9, 0x02, 0x01, 0x10]),
            None,
            "limit 16"
        );
        let mut c9 = vec![0xC9, 3];
        c9.extend(p.encode());
        assert_eq!(InstallParams::parse(&c9), Some(p));
        for form in [TokenForm::Phone, TokenForm::Card] {
            let value = form.install_param_value();
            let mut c9 = vec![0xC9, value.len() as u8];
            c9.extend_from_slice(value);
            let p = InstallParams::parse(&c9).expect("form");
            assert_eq!((p.scope, p.form), (Scope::AuthAndSign, form));
            let mut again = vec![0xC9, 3];
            again.extend(p.encode());
            assert_eq!(InstallParams::parse(&again), Some(p));
        }
    }

    #[test]
    fn the_installed_try_limit_is_the_one_the_counter_counts_from() {
        let mut a = JpkiApplet::built(
            1,
            InstallParams {
                auth_tries: 2,
                ..InstallParams::default()
            },
            Build::Correct,
        );
        assert_eq!(a.store_dgi(dgi::AUTH_PIN, b"1234", true), Ok(None));
        assert_eq!(a.tries_left(PinKind::Auth), Some(2));
    }

    #[test]
    fn an_auth_only_token_is_complete_without_signing_material() {
        let files = |a: &mut JpkiApplet, fids: &[u16]| {
            for f in fids {
                assert_eq!(a.store_dgi(dgi::FILE_BASE | f, b"x", false), Ok(None));
            }
        };
        let key = RsaPrivateKey::from_pkcs1_der(crate::testcard::AUTH_KEY_DER).expect("test key");
        for scope in [Scope::AuthOnly, Scope::AuthAndSign] {
            let mut a = JpkiApplet::with_scope(1, scope);
            files(
                &mut a,
                &[fid::TOKEN_INFO, fid::AUTH_CERT, fid::AUTH_CA_CERT],
            );
            assert_eq!(a.store_dgi(dgi::AUTH_PIN, b"1234", true), Ok(None));
            a.set_key(PinKind::Auth, key.clone());
            assert_eq!(a.is_complete(), scope == Scope::AuthOnly, "{scope:?}");
        }
    }

    #[test]
    fn the_no_retry_counter_build_never_counts_a_wrong_pin() {
        for (build, after_two) in [(Build::Correct, 1), (Build::NoRetryCounter, 3)] {
            let mut a = JpkiApplet::built(
                1,
                InstallParams {
                    scope: Scope::AuthOnly,
                    ..InstallParams::default()
                },
                build,
            );
            assert_eq!(a.store_dgi(dgi::AUTH_PIN, b"1234", true), Ok(None));
            let mut stages = Stages::default();
            let select = Command::new(0x00, 0xA4, 0x02, 0x0C, vec![0x00, 0x18], None);
            a.process(&select, true, &mut stages);
            let wrong = Command::new(0x00, 0x20, 0x00, 0x80, b"9999".to_vec(), None);
            a.process(&wrong, true, &mut stages);
            a.process(&wrong, true, &mut stages);
            assert_eq!(a.tries_left(PinKind::Auth), Some(after_two), "{build:?}");
        }
    }

    #[test]
    fn pin_formats() {
        assert!(PinKind::Auth.is_well_formed(b"0000"));
        assert!(!PinKind::Auth.is_well_formed(b"00000"));
        assert!(!PinKind::Auth.is_well_formed(b"12a4"));
        assert!(PinKind::Sign.is_well_formed(b"ABC123"));
        assert!(PinKind::Sign.is_well_formed(b"ABCDEFGHIJ123456"));
        assert!(!PinKind::Sign.is_well_formed(b"abc123"));
        assert!(!PinKind::Sign.is_well_formed(b"ABC12"));
        assert!(!PinKind::Sign.is_well_formed(b"ABCDEFGHIJ1234567"));
    }

    #[test]
    fn digest_info_recognition() {
        let di = sha256_digest_info(b"abc");
        assert_eq!(di.len(), 51);
        assert!(is_digest_info(&di));
        assert!(!is_digest_info(&di[..50]));
        assert!(!is_digest_info(&[0u8; 51]));
        let mut sha1 = DIGEST_INFO_PREFIXES[0].0.to_vec();
        sha1.extend_from_slice(&[0u8; 20]);
        assert!(is_digest_info(&sha1));
    }

    #[test]
    fn debug_redacts_pins() {
        let mut a = JpkiApplet::new(1);
        a.store_dgi(dgi::AUTH_PIN, b"9876", true).expect("pin");
        let shown = format!("{a:?}");
        assert!(
            !shown.contains("9876") && !shown.contains("57, 56") && shown.contains("redacted"),
            "{shown}"
        );
    }

    #[test]
    fn secret_dgis_must_be_encrypted() {
        let mut a = JpkiApplet::new(1);
        assert_eq!(
            a.store_dgi(dgi::AUTH_PIN, b"9876", false),
            Err(StatusWord::WRONG_DATA)
        );
        assert_eq!(a.store_dgi(0x010A, b"x", true), Err(StatusWord::WRONG_DATA));
        assert_eq!(
            a.store_dgi(0x0107, b"x", false),
            Err(StatusWord::REF_DATA_NOT_FOUND)
        );
        assert_eq!(
            a.store_dgi(dgi::SIGN_KEY, b"not a key", true),
            Err(StatusWord::WRONG_DATA)
        );
        assert_eq!(
            a.store_dgi(dgi::SIGN_PIN, b"abc123", true),
            Err(StatusWord::WRONG_DATA)
        );
    }
}

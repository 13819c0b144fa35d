//! The test card: published **test-only** keys, certificates and PINs, and the TSM side of
//! personalization over SCP03 that turns an empty secure element into a JPKI phone token.
//!
//! It is for tests, the `jpkisim applet` console and the benchmark, which all need a card that is
//! personalized the way a TSM would do it. It is not real JPKI material: the certificates are
//! real DER X.509 built with `x509-cert` 0.2's builder by `reference/examples/make_testdata.rs`
//! (issued by "JPKISIM TEST CA (NOT JPKI)", fixed validity 2025–2030), and the keys are published
//! in this repository. Proper certificate profiles are issue 6's job.
//!
//! Test secrets, documented so users can script their clients: authentication PIN
//! [`AUTH_PIN`] = `1234`, signing password [`SIGN_PASSWORD`] = `JPKISIM1`, ISD keys
//! [`isd_keys`] = the GlobalPlatform test key `40 41 … 4F` for ENC, MAC and DEK, KVN `30`.

use crate::{
    apdu::{Command, Response, StatusWord},
    applet::{dgi, fid, JPKI_AID},
    isd::{encode_dgi, ISD_AID, JPKI_MODULE_AID, JPKI_PACKAGE_AID},
    scp03::{dek_encrypt, AesKey, HostSession, ScpError, SecurityLevel, StaticKeys},
    se::SecureElement,
    timing::{ClockMode, Profile},
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

/// Largest plain data per STORE DATA block: after C-DEC padding (to 240) and the 8-byte C-MAC the
/// command still fits a short APDU.
pub const STORE_DATA_CHUNK: usize = 239;

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

/// Why personalization stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PersoError {
    /// The card refused a step.
    #[error("{step}: card answered {sw}")]
    Refused {
        /// Which step.
        step: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// The secure channel could not be opened or a command could not be wrapped.
    #[error("secure channel: {0}")]
    Scp(#[from] ScpError),
}

/// One recorded command/response pair (plain bytes as sent on the wire).
pub type Transcript = Vec<(Vec<u8>, Vec<u8>)>;

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

/// A TSM talking to one secure element: sends commands, records the transcript.
pub struct Tsm<'a> {
    se: &'a mut SecureElement,
    host: HostSession,
    /// Every exchange so far.
    pub transcript: Transcript,
}

impl<'a> Tsm<'a> {
    /// A TSM holding the test ISD keys and [`HOST_CHALLENGE`].
    pub fn new(se: &'a mut SecureElement) -> Self {
        Self::with_keys(se, isd_keys(), HOST_CHALLENGE)
    }

    /// A TSM holding `keys` (the ISD keys of this particular SE) that opens its next session with
    /// `host_challenge`.
    pub fn with_keys(se: &'a mut SecureElement, keys: StaticKeys, host_challenge: [u8; 8]) -> Self {
        Self {
            se,
            host: HostSession::new(keys, host_challenge),
            transcript: Vec::new(),
        }
    }

    /// Sends a command as is; a status other than `90 00` is an error naming `step`.
    pub fn send(&mut self, step: &'static str, cmd: &Command) -> Result<Response, PersoError> {
        let bytes = cmd.to_bytes().ok_or(PersoError::Scp(ScpError::Malformed))?;
        let ex = self.se.transmit(&bytes);
        let response = ex.response;
        self.transcript.push((bytes, ex.wire));
        if response.sw != StatusWord::OK {
            return Err(PersoError::Refused {
                step,
                sw: response.sw,
            });
        }
        Ok(response)
    }

    /// Wraps a command in the secure channel without sending it (to record, tamper with or
    /// replay it in tests). Advances the host's MAC chain and counter as sending would.
    pub fn wrap(&mut self, cmd: &Command) -> Result<Command, ScpError> {
        self.host.wrap(cmd)
    }

    /// Sends a command wrapped in the secure channel.
    pub fn send_secure(
        &mut self,
        step: &'static str,
        cmd: &Command,
    ) -> Result<Response, PersoError> {
        let wrapped = self.host.wrap(cmd)?;
        self.send(step, &wrapped)
    }

    /// SELECT ISD, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE at `level`.
    pub fn open_secure_channel(&mut self, level: SecurityLevel) -> Result<(), PersoError> {
        self.send(
            "SELECT ISD",
            &Command::new(0x00, 0xA4, 0x04, 0x00, ISD_AID.to_vec(), None),
        )?;
        let init = self.host.initialize_update();
        let resp = self.send("INITIALIZE UPDATE", &init)?;
        let ext = self.host.external_authenticate(&resp.data, level)?;
        self.send("EXTERNAL AUTHENTICATE", &ext)?;
        Ok(())
    }

    /// STORE DATA of a DGI stream in blocks of [`STORE_DATA_CHUNK`], numbering from `first_block`;
    /// returns the next block number.
    pub fn store_stream(
        &mut self,
        stream: &[u8],
        encrypted: bool,
        last: bool,
        first_block: u8,
    ) -> Result<u8, PersoError> {
        let chunks: Vec<&[u8]> = stream.chunks(STORE_DATA_CHUNK).collect();
        let mut block = first_block;
        for (i, chunk) in chunks.iter().enumerate() {
            let mut p1 = 0x08 | if encrypted { 0x60 } else { 0x00 };
            if last && i + 1 == chunks.len() {
                p1 |= 0x80;
            }
            self.send_secure(
                "STORE DATA",
                &Command::new(0x80, 0xE2, p1, block, chunk.to_vec(), None),
            )?;
            block = block.wrapping_add(1);
        }
        Ok(block)
    }
}

/// INSTALL [for install and make selectable] data for the JPKI instance.
pub fn install_data() -> Vec<u8> {
    let mut d = Vec::new();
    for field in [
        &JPKI_PACKAGE_AID[..],
        &JPKI_MODULE_AID[..],
        &JPKI_AID[..],
        &[0x00],
        &[0xC9, 0x00],
        &[],
    ] {
        d.push(field.len() as u8);
        d.extend_from_slice(field);
    }
    d
}

/// INSTALL [for personalization] data for the JPKI instance.
pub fn install_for_perso_data() -> Vec<u8> {
    let mut d = vec![0x00, 0x00, JPKI_AID.len() as u8];
    d.extend_from_slice(&JPKI_AID);
    d.extend_from_slice(&[0x00, 0x00, 0x00]);
    d
}

/// Installs and personalizes the JPKI applet over SCP03 (C-DEC + C-MAC) with the test material,
/// as a TSM does: INSTALL [for install and make selectable], INSTALL [for personalization], the
/// clear DGIs, then the DEK-encrypted DGIs with the last-block flag. Returns the transcript.
pub fn personalize(se: &mut SecureElement) -> Result<Transcript, PersoError> {
    let mut tsm = Tsm::new(se);
    tsm.open_secure_channel(SecurityLevel::C_DEC_C_MAC)?;
    tsm.send_secure(
        "INSTALL [for install]",
        &Command::new(0x80, 0xE6, 0x0C, 0x00, install_data(), Some(256)),
    )?;
    tsm.send_secure(
        "INSTALL [for personalization]",
        &Command::new(0x80, 0xE6, 0x20, 0x00, install_for_perso_data(), Some(256)),
    )?;
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

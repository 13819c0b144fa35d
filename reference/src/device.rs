//! The SE party's hardware: the emulated secure element with the JPKI applet, carrying out in
//! real APDU bytes the effect of every step the model's SE takes.
//!
//! The model decides: its SE transition runs first (with the real backend) and returns a
//! [`SeEffect`] naming the card-level work — install (deleting the old instance first when the
//! model says one is live), personalise, lock, wipe, check a PIN and sign. The device carries
//! each effect out the way the real system does — the issuer's TSM over SCP03 (C-MAC + C-DEC) with
//! the typed GlobalPlatform commands of [`jpkisim_card::gp`], the phone's JPKI client for SELECT,
//! VERIFY and COMPUTE DIGITAL SIGNATURE (`80 2A`) — and checks that the card answers as the effect
//! implies: every status word, and afterwards the card's state abstracted to the model's
//! ([`SeDevice::agrees_with`]). A disagreement is a [`DeviceError`], never papered over; the
//! device never decides what the SE does.
//!
//! Simplifications (docs/reference.md): the TSM's APDU script is run in process rather than
//! relayed over OMAPI; the applicant's PIN is provisioned in the STORE DATA (a real JPKI app
//! asks the user to set it); the token is authentication-only ([`Scope::AuthOnly`]) because the
//! model tracks only the user-authentication certificate.

use jpkisim_card::apdu::{Command, StatusWord};
use jpkisim_card::applet::{
    dgi, fid, sha256_digest_info, Build, InstallParams, PinKind, Scope, JPKI_AID,
};
use jpkisim_card::gp::{Management, StoreDataBlock};
use jpkisim_card::isd::{encode_dgi, AppState, JPKI_MODULE_AID, JPKI_PACKAGE_AID};
use jpkisim_card::scp03::{dek_encrypt, ScpError, SecurityLevel};
use jpkisim_card::se::SecureElement;
use jpkisim_card::testcard::token_info;
use jpkisim_card::timing::{ClockMode, Profile};
use jpkisim_card::tsm::{PersoError, Tsm};
use jpkisim_model::config::Medium;
use jpkisim_model::crypto::{Certificate, Digest, KeyDelivery, KeyName, Signature};
use jpkisim_model::ids::SeId;
use jpkisim_model::se::{Lifecycle, PinEntry, PinOutcome, SeEffect, SeState};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::{BigUint, RsaPublicKey};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::backend::{digest_bytes, Provisioning, RealCrypto};

/// Why the device and the model parted ways.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The card answered a command with another status word than the effect implies.
    #[error("SE {se}: {step} answered {sw}{}", expected.map(|e| format!(" (expected {e})")).unwrap_or_default())]
    Refused {
        /// Which SE.
        se: SeId,
        /// Which command.
        step: &'static str,
        /// The status word the model's effect implies, where the device checks one (a TSM
        /// script expects `90 00` throughout).
        expected: Option<StatusWord>,
        /// The card's status word.
        sw: StatusWord,
    },
    /// The card's state or answer differs from the model's.
    #[error("SE {se}: the card disagrees with the model: {what}")]
    Disagrees {
        /// Which SE.
        se: SeId,
        /// What differs.
        what: Disagreement,
    },
}

/// How the card and the model differ.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Disagreement {
    /// The applet instance's life cycle (`None`: no instance).
    #[error("applet life cycle: card {card:?}, model {model:?}")]
    Lifecycle {
        /// On the card.
        card: Option<Lifecycle>,
        /// In the model.
        model: Option<Lifecycle>,
    },
    /// The auth PIN's tries left.
    #[error("PIN tries left: card {card:?}, model {model}")]
    PinTries {
        /// On the card (`None`: no PIN).
        card: Option<u8>,
        /// In the model.
        model: u8,
    },
    /// The secure channel failed.
    #[error("secure channel: {0}")]
    SecureChannel(ScpError),
    /// A command the device built does not encode as a short APDU.
    #[error("a client command does not encode")]
    Unencodable,
    /// The applet's answer to key generation is not an RSA modulus.
    #[error("the applet answered a modulus that is not an RSA key")]
    NotAModulus,
    /// The bytes behind a term never arrived at the SE's backend.
    #[error("the bytes of the {0} never arrived")]
    Missing(&'static str),
    /// Personalization data does not fit a DGI.
    #[error("the {0} does not fit a DGI")]
    TooLong(&'static str),
    /// The model's SE signed a digest that is not a login challenge.
    #[error("the SE signed something that is not a login")]
    NotALogin,
}

/// The card state the model's SE state abstracts: what [`SeDevice::view`] reads through the
/// emulator's registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceView {
    /// The instance's life cycle in model terms (`None`: no instance).
    pub life: Option<Lifecycle>,
    /// Auth PIN tries left, once personalized.
    pub pin_tries_left: Option<u8>,
}

/// One SE with its chip and the keys its issuer's TSM holds for it.
pub struct SeDevice {
    se: SeId,
    chip: SecureElement,
    prov: std::sync::Arc<Provisioning>,
    pin: Zeroizing<Vec<u8>>,
    sessions: u64,
    /// How many command APDUs the chip has answered (TSM and client alike).
    pub apdus: usize,
}

impl std::fmt::Debug for SeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeDevice")
            .field("se", &self.se)
            .field("view", &self.view())
            .finish_non_exhaustive()
    }
}

/// The 4-digit PIN the owner of `se` chose, derived from the run's seed. It never leaves this
/// module except as VERIFY data.
fn owner_pin(prov: &Provisioning, se: SeId) -> Zeroizing<Vec<u8>> {
    let h = crate::seed::derive(prov.seed(), &format!("pin/{}", se.0));
    let n = u16::from_be_bytes([h[0], h[1]]) % 10_000;
    Zeroizing::new(format!("{n:04}").into_bytes())
}

/// A wrong PIN: the owner's with its last digit changed.
fn wrong_pin(pin: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut w = Zeroizing::new(pin.to_vec());
    if let Some(last) = w.last_mut() {
        *last = if *last == b'9' { b'0' } else { *last + 1 };
    }
    w
}

impl SeDevice {
    /// A factory-fresh SE (no applet), its applet package of the given build, timed (on a
    /// simulated clock) like a SIM or a phone's eSE.
    pub fn new(se: SeId, prov: std::sync::Arc<Provisioning>, build: Build, medium: Medium) -> Self {
        let profile = match medium {
            Medium::Uicc => Profile::Sim,
            Medium::GpSe => Profile::Jcop4,
        };
        let mut chip = SecureElement::new(
            prov.isd_keys(se),
            profile,
            ClockMode::Simulated,
            prov.chip_seed(se),
        );
        chip.set_package_build(build);
        let pin = owner_pin(&prov, se);
        Self {
            se,
            chip,
            prov,
            pin,
            sessions: 0,
            apdus: 0,
        }
    }

    fn refused(&self, e: PersoError) -> DeviceError {
        match e {
            PersoError::Refused { step, sw } => DeviceError::Refused {
                se: self.se,
                step,
                expected: None,
                sw,
            },
            PersoError::Scp(e) => self.disagrees(Disagreement::SecureChannel(e)),
        }
    }

    fn disagrees(&self, what: Disagreement) -> DeviceError {
        DeviceError::Disagrees { se: self.se, what }
    }

    /// Runs `script` as the SE issuer's TSM inside one fresh SCP03 session.
    fn as_tsm<T>(
        &mut self,
        script: impl FnOnce(&mut Tsm<'_>) -> Result<T, PersoError>,
    ) -> Result<T, DeviceError> {
        self.sessions += 1;
        let mut challenge = [0u8; 8];
        challenge.copy_from_slice(&Sha256::digest(self.sessions.to_be_bytes())[..8]);
        let keys = self.prov.isd_keys(self.se);
        let mut tsm = Tsm::new(&mut self.chip, keys, challenge);
        let result = tsm
            .open_secure_channel(SecurityLevel::C_DEC_C_MAC)
            .and_then(|()| script(&mut tsm));
        let n = tsm.transcript.len();
        self.apdus += n;
        result.map_err(|e| self.refused(e))
    }

    /// Sends one command as the phone's JPKI client; returns data and status word.
    fn as_client(&mut self, cmd: &Command) -> Result<(Vec<u8>, StatusWord), DeviceError> {
        let bytes = cmd
            .to_bytes()
            .ok_or_else(|| self.disagrees(Disagreement::Unencodable))?;
        let ex = self.chip.transmit(&bytes);
        self.apdus += 1;
        Ok((ex.response.data, ex.response.sw))
    }

    fn expect(
        &mut self,
        step: &'static str,
        cmd: &Command,
        sw: StatusWord,
    ) -> Result<Vec<u8>, DeviceError> {
        let (data, got) = self.as_client(cmd)?;
        if got != sw {
            return Err(DeviceError::Refused {
                se: self.se,
                step,
                expected: Some(sw),
                sw: got,
            });
        }
        Ok(data)
    }

    /// Carries out the effect of one SE step (`None`: the step asked nothing of the card), then
    /// checks that the card's state is the abstraction of `after`, the SE's state after the step.
    /// `backend` is the SE party's backend: it receives the public keys the applet generates and
    /// the signatures it makes.
    pub fn carry_out(
        &mut self,
        backend: &RealCrypto,
        effect: Option<&SeEffect>,
        after: &SeState,
    ) -> Result<(), DeviceError> {
        match effect {
            None => {}
            Some(SeEffect::Install {
                app: _,
                pin_tries,
                replaces,
                generated,
                escrow,
            }) => self.install(backend, *pin_tries, *replaces, *generated, escrow.is_some())?,
            Some(SeEffect::Personalise { cert, delivery }) => {
                self.personalize(backend, cert, delivery.as_ref())?
            }
            Some(SeEffect::Lock) => self.as_tsm(|tsm| {
                tsm.manage(&Management::SetApplicationStatus {
                    instance: &JPKI_AID,
                    lock: true,
                })
                .map(|_| ())
            })?,
            Some(SeEffect::Wipe) => self.delete()?,
            Some(SeEffect::CheckPin {
                entered,
                outcome,
                signature,
            }) => self.check_pin(backend, *entered, *outcome, signature.as_ref())?,
        }
        self.agrees_with(after)
    }

    fn delete(&mut self) -> Result<(), DeviceError> {
        self.as_tsm(|tsm| {
            tsm.manage(&Management::Delete { aid: &JPKI_AID })
                .map(|_| ())
        })
    }

    fn install(
        &mut self,
        backend: &RealCrypto,
        pin_tries: u8,
        replaces: bool,
        generated: Option<KeyName>,
        escrowed: bool,
    ) -> Result<(), DeviceError> {
        if replaces {
            self.delete()?;
        }
        // The flawed escrowing applet: its key was made outside, where it could be copied (the
        // backend holds that copy); it is loaded like a centre key instead of generated inside.
        let outside = match (escrowed, generated) {
            (true, Some(name)) => Some(
                backend
                    .escrowed_key(name)
                    .ok_or_else(|| self.disagrees(Disagreement::Missing("escrowed key")))?,
            ),
            _ => None,
        };
        let dek = self.prov.isd_keys(self.se).dek;
        let loaded = match &outside {
            None => None,
            Some(k) => {
                let der = k
                    .to_pkcs1_der()
                    .map_err(|_| self.disagrees(Disagreement::Missing("escrowed key encoding")))?;
                Some(
                    encode_dgi(dgi::AUTH_KEY, &dek_encrypt(&dek, der.as_bytes()))
                        .ok_or_else(|| self.disagrees(Disagreement::TooLong("key")))?,
                )
            }
        };
        let params = InstallParams {
            scope: Scope::AuthOnly,
            auth_tries: pin_tries,
            ..InstallParams::default()
        }
        .encode();
        let modulus = self.as_tsm(|tsm| {
            tsm.manage(&Management::InstallAndMakeSelectable {
                package: &JPKI_PACKAGE_AID,
                module: &JPKI_MODULE_AID,
                instance: &JPKI_AID,
                privileges: 0x00,
                params: &params,
            })?;
            tsm.manage(&Management::InstallForPersonalization {
                instance: &JPKI_AID,
            })?;
            if let Some(secret) = &loaded {
                tsm.store_stream(secret, true, false, 0)?;
                return Ok(None);
            }
            if generated.is_none() {
                return Ok(None);
            }
            let gen = encode_dgi(dgi::GEN_AUTH_KEY, &[]).unwrap_or_default();
            let r = tsm.send_secure(
                "STORE DATA (generate authentication key)",
                &Management::StoreData {
                    block: StoreDataBlock {
                        encrypted: false,
                        last: false,
                        number: 0,
                    },
                    data: &gen,
                    expects_response: true,
                }
                .command(),
            )?;
            Ok(Some(r.data))
        })?;
        if let (Some(n), Some(key)) = (modulus, generated) {
            let public = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from(65_537u32))
                .map_err(|_| self.disagrees(Disagreement::NotAModulus))?;
            backend.announce(key, public);
        }
        if let (Some(k), Some(key)) = (outside, generated) {
            backend.announce(key, k.to_public_key());
        }
        Ok(())
    }

    fn personalize(
        &mut self,
        backend: &RealCrypto,
        cert: &Certificate,
        delivery: Option<&KeyDelivery>,
    ) -> Result<(), DeviceError> {
        let der = backend
            .certificate_der(cert)
            .ok_or_else(|| self.disagrees(Disagreement::Missing("certificate")))?;
        let dek = self.prov.isd_keys(self.se).dek;
        let mut plain = Vec::new();
        for (f, content) in [
            (fid::TOKEN_INFO, token_info()),
            (fid::AUTH_CA_CERT, self.prov.ca_cert_der().to_vec()),
            (fid::AUTH_CERT, der),
        ] {
            plain.extend(
                encode_dgi(dgi::FILE_BASE | f, &content)
                    .ok_or_else(|| self.disagrees(Disagreement::TooLong("file")))?,
            );
        }
        let mut secret = encode_dgi(dgi::AUTH_PIN, &dek_encrypt(&dek, &self.pin))
            .ok_or_else(|| self.disagrees(Disagreement::TooLong("PIN")))?;
        if let Some(d) = delivery {
            let bytes = backend
                .delivery_bytes(d)
                .ok_or_else(|| self.disagrees(Disagreement::Missing("key delivery")))?;
            let value = match d {
                // Sealed by J-LIS under this SE's DEK: passed through as is.
                KeyDelivery::Sealed { .. } => bytes,
                // Sent in the clear (flawed design): the TSM encrypts it for the last hop.
                KeyDelivery::Plain(_) => dek_encrypt(&dek, &bytes),
            };
            secret.extend(
                encode_dgi(dgi::AUTH_KEY, &value)
                    .ok_or_else(|| self.disagrees(Disagreement::TooLong("key")))?,
            );
        }
        self.as_tsm(|tsm| {
            tsm.manage(&Management::InstallForPersonalization {
                instance: &JPKI_AID,
            })?;
            let next = tsm.store_stream(&plain, false, false, 0)?;
            tsm.store_stream(&secret, true, true, next)?;
            Ok(())
        })
    }

    fn check_pin(
        &mut self,
        backend: &RealCrypto,
        entered: PinEntry,
        outcome: PinOutcome,
        signature: Option<&Signature>,
    ) -> Result<(), DeviceError> {
        self.expect(
            "SELECT JPKI",
            &Command::new(0x00, 0xA4, 0x04, 0x0C, JPKI_AID.to_vec(), None),
            StatusWord::OK,
        )?;
        self.expect("SELECT EF 0018", &select_ef(fid::AUTH_PIN), StatusWord::OK)?;
        let pin = match entered {
            PinEntry::Correct => self.pin.clone(),
            PinEntry::Wrong => wrong_pin(&self.pin),
        };
        let expected = match outcome {
            PinOutcome::Accepted => StatusWord::OK,
            PinOutcome::Wrong { tries_left } => StatusWord::tries_left(tries_left),
            PinOutcome::Blocked => StatusWord::AUTH_BLOCKED,
        };
        self.expect(
            "VERIFY",
            &Command::new(0x00, 0x20, 0x00, 0x80, pin.to_vec(), None),
            expected,
        )?;
        let Some(sig) = signature else {
            return Ok(());
        };
        // The applet signs login challenges and the phone's own revocation requests.
        if !matches!(sig.digest, Digest::Login(_) | Digest::Revocation { .. }) {
            return Err(self.disagrees(Disagreement::NotALogin));
        }
        self.expect("SELECT EF 0017", &select_ef(fid::AUTH_KEY), StatusWord::OK)?;
        let challenge = digest_bytes(&sig.digest);
        let bytes = self.expect(
            "COMPUTE DIGITAL SIGNATURE",
            &Command::new(
                0x80,
                0x2A,
                0x00,
                0x80,
                sha256_digest_info(&challenge),
                Some(256),
            ),
            StatusWord::OK,
        )?;
        backend.record_signature(*sig, bytes);
        Ok(())
    }

    /// The card's state in model terms.
    pub fn view(&self) -> DeviceView {
        match self.chip.instance(&JPKI_AID) {
            None => DeviceView {
                life: None,
                pin_tries_left: None,
            },
            Some(inst) => DeviceView {
                life: Some(if inst.locked {
                    Lifecycle::Locked
                } else if inst.state == AppState::Personalized {
                    Lifecycle::Personalized
                } else {
                    Lifecycle::Installed
                }),
                pin_tries_left: (inst.state == AppState::Personalized)
                    .then(|| inst.applet.tries_left(PinKind::Auth))
                    .flatten(),
            },
        }
    }

    /// Whether the card's state is the abstraction of the model's SE state: the same applet life
    /// cycle (a deleted or never-installed applet is no instance), and once personalized the same
    /// PIN tries left.
    pub fn agrees_with(&self, model: &SeState) -> Result<(), DeviceError> {
        let v = self.view();
        let model_life = model
            .applet
            .map(|a| a.life)
            .filter(|l| *l != Lifecycle::Deleted);
        if v.life != model_life {
            return Err(self.disagrees(Disagreement::Lifecycle {
                card: v.life,
                model: model_life,
            }));
        }
        if model_life == Some(Lifecycle::Personalized)
            && v.pin_tries_left != Some(model.pin_tries_left)
        {
            return Err(self.disagrees(Disagreement::PinTries {
                card: v.pin_tries_left,
                model: model.pin_tries_left,
            }));
        }
        Ok(())
    }

    /// Which SE this is.
    pub fn se(&self) -> SeId {
        self.se
    }

    /// The emulated chip, read only (the export of a run's cards reads its applet).
    pub fn chip(&self) -> &SecureElement {
        &self.chip
    }
}

/// SELECT of an elementary file by its identifier, no response data.
fn select_ef(fid: u16) -> Command {
    Command::new(0x00, 0xA4, 0x02, 0x0C, fid.to_be_bytes().to_vec(), None)
}

//! The real crypto backend: the model's [`Crypto`] trait with RSA-2048, PKCS#1 v1.5 SHA-256
//! signatures, X.509 certificates, a CRL and CA-signed status answers behind every term.
//!
//! Each party has its own [`RealCrypto`]. It holds only what that party would hold: the CA its
//! signing key, an applicant their card's private key, J-LIS (the SP-TSM) the keys it generates,
//! and everyone the CA's certificate as trust anchor. Everything else a party learns arrives as
//! [`Artifact`]s next to the message that names it, and is checked when a transition asks: a
//! signature verifies only if its bytes verify under the key material the party has for the key the
//! transition names, a certificate is genuine only if the CA's signature on its DER verifies and
//! the DER says what the term says. An SE's keys are never here: they live in the emulated applet
//! ([`crate::device`]), which binds the public half and the login signatures it makes.
//!
//! Problems that the symbolic model cannot have (key material that never arrived, a CA that cannot
//! encode a certificate) are collected as [`RealCrypto::take_problems`] so the runtime stops with
//! a divergence instead of carrying on with a term that has no bytes behind it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use jpkisim_model::crypto::{
    Certificate, Crypto, Digest, KeyDelivery, KeyName, PublicKey, Signature, Subject,
};
use jpkisim_model::ids::{AppNo, Epoch, LoginId, Party, PersonId, SeId, Serial};
use jpkisim_model::msg::{CertStatus, StatusEvidence};
use rand_chacha::ChaCha20Rng;

use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};

use crate::pki::{self, Authority, CertState, CrlEntry, IssueRequest, RevocationReason};
use crate::seed;
use crate::wire::{Artifact, ArtifactSource};
use jpkisim_card::scp03::{dek_decrypt, dek_encrypt, AesKey, StaticKeys};

/// Unix time of the model's epoch 0 (2026-01-01T00:00:00Z); one epoch is one hour.
pub const EPOCH_ZERO: u64 = 1_767_225_600;
/// Seconds per model epoch.
pub const EPOCH_SECONDS: u64 = 3_600;
/// Validity of every end-entity certificate: five years from a day before epoch 0.
const VALIDITY: u64 = 5 * 365 * 86_400;

/// The real time of a model epoch.
pub fn time_of(epoch: Epoch) -> u64 {
    EPOCH_ZERO + u64::from(epoch.0) * EPOCH_SECONDS
}

/// The bytes a signature over `digest` covers: a versioned canonical encoding of the term. A
/// login challenge is this encoding of `Digest::Login`, signed by the SE as a SHA-256
/// DigestInfo through `80 2A`.
pub fn digest_bytes(digest: &Digest) -> Vec<u8> {
    let mut out = b"jpkisim-digest/1 ".to_vec();
    // Serialising a plain data enum to a Vec cannot fail.
    out.extend(serde_json::to_vec(digest).unwrap_or_default());
    out
}

/// The subject common name that stands for a model subject in X.509.
pub fn subject_cn(subject: &Subject) -> String {
    match subject {
        Subject::Card { person, gen } => {
            format!("JPKISIM CARD person {} generation {}", person.0, gen.0)
        }
        Subject::Phone { person, se, app } => format!(
            "JPKISIM PHONE person {} SE {} application {}",
            person.0, se.0, app.0
        ),
    }
}

/// The seed of one run and what every party knows out of band: the CA's certificate.
#[derive(Debug)]
pub struct Provisioning {
    seed: u64,
    ca_cert_der: Vec<u8>,
    ca_public: RsaPublicKey,
}

impl Provisioning {
    /// Derives the CA and its self-signed certificate from the run's seed.
    pub fn new(seed: u64) -> Result<Arc<Self>, pki::PkiError> {
        let key = derived_key(seed, "ca")?;
        let authority = Authority::new(key, EPOCH_ZERO - 86_400, &mut rng_for(seed, "ca-cert"))?;
        Ok(Arc::new(Self {
            seed,
            ca_cert_der: authority.certificate_der().to_vec(),
            ca_public: authority.public_key(),
        }))
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The CA certificate (trust anchor), DER.
    pub fn ca_cert_der(&self) -> &[u8] {
        &self.ca_cert_der
    }

    /// The CA's public key.
    pub fn ca_public(&self) -> &RsaPublicKey {
        &self.ca_public
    }

    /// The issuer security domain keys of `se`: its issuer's TSM holds them (and, for sealing a
    /// centrally generated key, J-LIS is given its DEK through that TSM).
    pub fn isd_keys(&self, se: SeId) -> StaticKeys {
        let part = |what: &str| {
            let h = seed::derive(self.seed, &format!("isd/{}/{what}", se.0));
            let mut k = [0u8; 16];
            k.copy_from_slice(&h[..16]);
            AesKey::new(k)
        };
        StaticKeys {
            kvn: 0x30,
            enc: part("enc"),
            mac: part("mac"),
            dek: part("dek"),
        }
    }

    /// The seed of `se`'s emulated chip (its key generation and blinding).
    pub fn chip_seed(&self, se: SeId) -> u64 {
        let h = seed::derive(self.seed, &format!("chip/{}", se.0));
        u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
    }
}

/// A deterministic RNG for one purpose within a run.
fn rng_for(seed: u64, purpose: &str) -> ChaCha20Rng {
    seed::rng(seed, &format!("rng/{purpose}"))
}

/// RSA-2048 key generation is slow; a run derives each key from the seed once per process.
fn derived_key(seed: u64, label: &str) -> Result<RsaPrivateKey, pki::PkiError> {
    static CACHE: OnceLock<Mutex<BTreeMap<[u8; 32], RsaPrivateKey>>> = OnceLock::new();
    let s = seed::derive(seed, &format!("key/{label}"));
    let cache = CACHE.get_or_init(Default::default);
    if let Some(k) = lock(cache).get(&s) {
        return Ok(k.clone());
    }
    let key = pki::key_from_seed(s)?;
    lock(cache).insert(s, key.clone());
    Ok(key)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock is a bug elsewhere; the data is still consistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn key_label(name: KeyName) -> String {
    match name {
        KeyName::Card { person, gen } => format!("card/{person}/{gen}"),
        KeyName::Center { person, app } => format!("center/{person}/{app}"),
        KeyName::Se { se, app } => format!("se/{se}/{app}"),
        KeyName::AccessCode { person, app } => format!("access-code/{person}/{app}"),
        KeyName::Intruder => "intruder".into(),
    }
}

/// The OCSP nonce a relying party puts in its request for `login`, and the CA echoes in the
/// signed answer (RFC 8954). A deployed relying party draws it at random; here it is derived
/// from the run's seed, so that a run replays byte for byte.
pub fn ocsp_nonce(seed: u64, login: LoginId) -> [u8; 16] {
    let h = seed::derive(seed, &format!("ocsp-nonce/{}/{}", login.person.0, login.n));
    let mut n = [0u8; 16];
    n.copy_from_slice(&h[..16]);
    n
}

/// The access code J-LIS mails to `person` for application `app` (mail-based identity
/// proofing): a 128-bit secret derived from the seed, known to J-LIS and to whoever opens the
/// mail. "Signing" with it is an AES-CMAC over the application.
fn access_code(seed: u64, person: PersonId, app: AppNo) -> [u8; 16] {
    let name = KeyName::AccessCode { person, app };
    let h = seed::derive(seed, &key_label(name));
    let mut k = [0u8; 16];
    k.copy_from_slice(&h[..16]);
    k
}

fn access_mac(code: [u8; 16], message: &[u8]) -> Vec<u8> {
    use cmac::{Cmac, Mac};
    // A 16-byte key is always a valid AES-128 key.
    let Ok(mut mac) = <Cmac<aes::Aes128> as Mac>::new_from_slice(&code) else {
        return Vec::new();
    };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The durable part of a backend ([`RealCrypto::snapshot`]): kept in a party's database next to
/// its model state, so that a restarted CA can still show the DER of every certificate it
/// issued and a restarted TSM can still pass on what it received.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackendSnapshot {
    /// Every artifact the backend holds.
    pub artifacts: Vec<Artifact>,
    /// The names of the private keys it holds (derived from the seed again at restart).
    pub private: Vec<KeyName>,
    /// The number of the last CRL it signed.
    pub crl_number: u64,
}

/// What one party's backend holds and has learned.
#[derive(Default)]
struct Store {
    /// Private keys this party holds.
    private: BTreeMap<KeyName, RsaPrivateKey>,
    /// Public keys from certificates whose CA signature verified.
    certified: BTreeMap<KeyName, RsaPublicKey>,
    /// Public keys announced over a TSM channel (an SE's freshly generated key).
    announced: BTreeMap<KeyName, RsaPublicKey>,
    certs: BTreeMap<Certificate, Vec<u8>>,
    genuine_certs: BTreeMap<Certificate, bool>,
    sigs: BTreeMap<Signature, Vec<u8>>,
    statuses: BTreeMap<StatusEvidence, Vec<u8>>,
    sealed: BTreeMap<KeyDelivery, Vec<u8>>,
    crl_number: u64,
    problems: Vec<CryptoProblem>,
}

/// One party's real cryptography.
pub struct RealCrypto {
    party: Party,
    prov: Arc<Provisioning>,
    authority: Option<Authority>,
    rng: Mutex<ChaCha20Rng>,
    store: Mutex<Store>,
}

impl std::fmt::Debug for RealCrypto {
    /// Names the party only: never key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealCrypto")
            .field("party", &self.party)
            .finish_non_exhaustive()
    }
}

impl RealCrypto {
    /// The backend of `party` in the run provisioned by `prov`. Only the CA's holds the CA key.
    pub fn new(party: Party, prov: Arc<Provisioning>) -> Result<Self, pki::PkiError> {
        let authority = if party == Party::Ca {
            let key = derived_key(prov.seed, "ca")?;
            Some(Authority::new(
                key,
                EPOCH_ZERO - 86_400,
                &mut rng_for(prov.seed, "ca-cert"),
            )?)
        } else {
            None
        };
        let rng = rng_for(prov.seed, &format!("blinding/{party}"));
        Ok(Self {
            party,
            prov,
            authority,
            rng: Mutex::new(rng),
            store: Mutex::new(Store::default()),
        })
    }

    /// The run's provisioning.
    pub fn provisioning(&self) -> &Arc<Provisioning> {
        &self.prov
    }

    /// The CA's authority (its key and certificate); `None` for every other party.
    pub fn authority(&self) -> Option<&Authority> {
        self.authority.as_ref()
    }

    /// Problems met since the last call: the reference could not stand behind a term.
    pub fn take_problems(&self) -> Vec<CryptoProblem> {
        std::mem::take(&mut lock(&self.store).problems)
    }

    fn problem(&self, what: CryptoProblem) {
        lock(&self.store).problems.push(what);
    }

    /// The private key `name` if this party holds it (an applicant its card's, J-LIS the keys
    /// it generated); derived from the seed on first use.
    fn private_key(&self, name: KeyName) -> Option<RsaPrivateKey> {
        if let Some(k) = lock(&self.store).private.get(&name) {
            return Some(k.clone());
        }
        let holds = match (self.party, name) {
            (Party::Applicant(me), KeyName::Card { person, .. }) => me == person,
            (Party::Intruder, KeyName::Intruder) => true,
            _ => false,
        };
        if !holds {
            return None;
        }
        let key = derived_key(self.prov.seed, &key_label(name)).ok()?;
        lock(&self.store).private.insert(name, key.clone());
        Some(key)
    }

    /// The public key material this party has for `name`.
    fn public_key(&self, name: KeyName) -> Option<RsaPublicKey> {
        {
            let s = lock(&self.store);
            if let Some(k) = s.certified.get(&name).or_else(|| s.announced.get(&name)) {
                return Some(k.clone());
            }
            if let Some(k) = s.private.get(&name) {
                return Some(k.to_public_key());
            }
        }
        // The CA registers every card's public key when the card is manufactured.
        if self.party == Party::Ca {
            if let KeyName::Card { .. } = name {
                return derived_key(self.prov.seed, &key_label(name))
                    .ok()
                    .map(|k| k.to_public_key());
            }
        }
        None
    }

    /// The private key the escrowing applet's phone made for `name` (flaw `se_key_escrow`),
    /// to load into the applet; `None` for a key the applet generated itself.
    pub fn escrowed_key(&self, name: KeyName) -> Option<RsaPrivateKey> {
        match name {
            KeyName::Se { .. } => lock(&self.store).private.get(&name).cloned(),
            _ => None,
        }
    }

    /// Binds the public key an SE generated (the emulated applet answered its modulus).
    pub fn announce(&self, name: KeyName, key: RsaPublicKey) {
        lock(&self.store).announced.insert(name, key);
    }

    /// Records signature bytes the emulated applet produced for a signature term.
    pub fn record_signature(&self, sig: Signature, bytes: Vec<u8>) {
        lock(&self.store).sigs.insert(sig, bytes);
    }

    /// The DER of a certificate term, if this party has it.
    pub fn certificate_der(&self, cert: &Certificate) -> Option<Vec<u8>> {
        lock(&self.store).certs.get(cert).cloned()
    }

    /// The ciphertext (or, in the flawed design, plaintext) of a key delivery.
    pub fn delivery_bytes(&self, delivery: &KeyDelivery) -> Option<Vec<u8>> {
        lock(&self.store).sealed.get(delivery).cloned()
    }

    /// Every certificate this party holds the DER of, in serial order (the CA: every one it
    /// issued).
    pub fn certificates(&self) -> Vec<(Certificate, Vec<u8>)> {
        let mut v: Vec<_> = lock(&self.store)
            .certs
            .iter()
            .map(|(c, d)| (*c, d.clone()))
            .collect();
        v.sort_by_key(|(c, _)| c.serial);
        v
    }

    /// Every signed status answer and CRL this party holds.
    pub fn statuses(&self) -> Vec<(StatusEvidence, Vec<u8>)> {
        lock(&self.store)
            .statuses
            .iter()
            .map(|(e, d)| (e.clone(), d.clone()))
            .collect()
    }

    /// What this backend holds, for a durable party's database: every public artifact it made or
    /// took in, the names of the private keys it holds, and the CRL number. No private key
    /// material: every private key of the reference is derived from the run's seed, so a
    /// restarted party derives again what [`BackendSnapshot::private`] names.
    pub fn snapshot(&self) -> BackendSnapshot {
        let s = lock(&self.store);
        let mut artifacts: Vec<Artifact> = Vec::new();
        artifacts.extend(s.certs.iter().map(|(cert, der)| Artifact::Certificate {
            cert: *cert,
            der: der.clone(),
        }));
        artifacts.extend(s.sigs.iter().map(|(sig, bytes)| Artifact::Signature {
            sig: *sig,
            bytes: bytes.clone(),
        }));
        artifacts.extend(s.announced.iter().filter_map(|(key, k)| {
            let spki = k.to_public_key_der().ok()?.as_bytes().to_vec();
            Some(Artifact::PublicKey { key: *key, spki })
        }));
        artifacts.extend(
            s.sealed
                .iter()
                .map(|(delivery, bytes)| Artifact::KeyDelivery {
                    delivery: *delivery,
                    bytes: bytes.clone(),
                }),
        );
        artifacts.extend(s.statuses.iter().map(|(evidence, der)| Artifact::Status {
            evidence: evidence.clone(),
            der: der.clone(),
        }));
        BackendSnapshot {
            artifacts,
            private: s.private.keys().copied().collect(),
            crl_number: s.crl_number,
        }
    }

    /// Takes back what [`RealCrypto::snapshot`] saved, after a restart: the artifacts are taken in
    /// (and certificates checked) as if they arrived again, and the named private keys derived
    /// from the seed again.
    pub fn restore(&self, snapshot: &BackendSnapshot) {
        self.import(&snapshot.artifacts);
        for name in &snapshot.private {
            match derived_key(self.prov.seed, &key_label(*name)) {
                Ok(k) => {
                    lock(&self.store).private.insert(*name, k);
                }
                Err(e) => self.problem(CryptoProblem::KeyGeneration(Arc::new(e))),
            }
        }
        lock(&self.store).crl_number = snapshot.crl_number;
    }

    /// Takes in what arrived with a message. Certificates are checked against the trust anchor
    /// here, once; nothing is trusted for being present.
    pub fn import(&self, artifacts: &[Artifact]) {
        for a in artifacts {
            match a {
                Artifact::Certificate { cert, der } => {
                    let genuine = self.check_certificate(cert, der);
                    let mut s = lock(&self.store);
                    s.certs.insert(*cert, der.clone());
                    s.genuine_certs.insert(*cert, genuine.is_some());
                    if let Some(k) = genuine {
                        s.certified.insert(cert.key.0, k);
                    }
                }
                Artifact::Signature { sig, bytes } => {
                    lock(&self.store).sigs.insert(*sig, bytes.clone());
                }
                Artifact::PublicKey { key, spki } => {
                    if let Ok(k) = RsaPublicKey::from_public_key_der(spki) {
                        lock(&self.store).announced.entry(*key).or_insert(k);
                    }
                }
                Artifact::KeyDelivery { delivery, bytes } => {
                    lock(&self.store).sealed.insert(*delivery, bytes.clone());
                }
                Artifact::Status { evidence, der } => {
                    lock(&self.store)
                        .statuses
                        .insert(evidence.clone(), der.clone());
                }
            }
        }
    }

    /// The certified public key if `der` is a CA-signed certificate saying what `cert` says.
    fn check_certificate(&self, cert: &Certificate, der: &[u8]) -> Option<RsaPublicKey> {
        let v = pki::verify_certificate(self.prov.ca_public(), der).ok()?;
        (v.serial == x509_serial(cert.serial) && v.subject_cn == subject_cn(&cert.subject))
            .then_some(v.public_key)
    }

    fn sign_bytes(&self, key: &RsaPrivateKey, message: &[u8]) -> Option<Vec<u8>> {
        pki::sign(key, message, &mut *lock(&self.rng)).ok()
    }
}

/// X.509 serial of model serial `n`: serial 1 is the CA's own certificate.
pub const SERIAL_OFFSET: u64 = 1;

fn cert_state(status: CertStatus) -> CertState {
    match status {
        CertStatus::Valid => CertState::Good,
        CertStatus::Suspended => CertState::Suspended,
        CertStatus::Revoked | CertStatus::Expired => CertState::Revoked,
    }
}

fn reason(status: CertStatus) -> RevocationReason {
    match status {
        CertStatus::Suspended => RevocationReason::CertificateHold,
        CertStatus::Expired => RevocationReason::CessationOfOperation,
        CertStatus::Revoked | CertStatus::Valid => RevocationReason::Unspecified,
    }
}

/// The bytes this party has behind the terms it sends.
impl ArtifactSource for RealCrypto {
    fn artifact_for_cert(&self, cert: &Certificate) -> Option<Artifact> {
        let der = self.certificate_der(cert)?;
        Some(Artifact::Certificate { cert: *cert, der })
    }

    fn artifact_for_sig(&self, sig: &Signature) -> Option<Artifact> {
        let bytes = lock(&self.store).sigs.get(sig).cloned()?;
        Some(Artifact::Signature { sig: *sig, bytes })
    }

    fn artifact_for_key(&self, key: &PublicKey) -> Option<Artifact> {
        let k = self.public_key(key.0)?;
        let spki = k.to_public_key_der().ok()?.as_bytes().to_vec();
        Some(Artifact::PublicKey { key: key.0, spki })
    }

    fn artifact_for_delivery(&self, delivery: &KeyDelivery) -> Option<Artifact> {
        let bytes = self.delivery_bytes(delivery)?;
        Some(Artifact::KeyDelivery {
            delivery: *delivery,
            bytes,
        })
    }

    fn artifact_for_status(&self, evidence: &StatusEvidence) -> Option<Artifact> {
        let der = lock(&self.store).statuses.get(evidence).cloned()?;
        Some(Artifact::Status {
            evidence: evidence.clone(),
            der,
        })
    }
}

impl Crypto for RealCrypto {
    fn sign(&self, key: KeyName, digest: Digest) -> Signature {
        let sig = Signature {
            signer: key,
            digest,
        };
        if let KeyName::AccessCode { person, app } = key {
            // Only the person who received the mail knows the code.
            if self.party == Party::Applicant(person) {
                let code = access_code(self.prov.seed, person, app);
                self.record_signature(sig, access_mac(code, &digest_bytes(&digest)));
            } else {
                self.problem(CryptoProblem::NoAccessCode { person, app });
            }
            return sig;
        }
        match self.private_key(key) {
            Some(k) => match self.sign_bytes(&k, &digest_bytes(&digest)) {
                Some(bytes) => self.record_signature(sig, bytes),
                None => self.problem(CryptoProblem::SigningFailed(key)),
            },
            // An SE's key lives in its applet: the device records the signature it makes.
            None if matches!(key, KeyName::Se { .. } | KeyName::Center { .. })
                && matches!(self.party, Party::Se(_)) => {}
            None => self.problem(CryptoProblem::KeyNotHeld(key)),
        }
        sig
    }

    fn verify(&self, key: PublicKey, digest: Digest, sig: Signature) -> bool {
        let Some(bytes) = lock(&self.store).sigs.get(&sig).cloned() else {
            return false;
        };
        if let KeyName::AccessCode { person, app } = key.0 {
            // J-LIS, which mailed the code, checks the MAC; nobody else can.
            if self.party != Party::SpTsm {
                return false;
            }
            let expected = access_mac(
                access_code(self.prov.seed, person, app),
                &digest_bytes(&digest),
            );
            return !expected.is_empty()
                && bool::from(subtle::ConstantTimeEq::ct_eq(
                    expected.as_slice(),
                    bytes.as_slice(),
                ));
        }
        let Some(k) = self.public_key(key.0) else {
            return false;
        };
        pki::verify(&k, &digest_bytes(&digest), &bytes)
    }

    fn generate_in_se(&self, se: SeId, app: AppNo) -> KeyName {
        // The applet generates it (STORE DATA 0217); the device announces the modulus.
        KeyName::Se { se, app }
    }

    fn generate_at_center(&self, person: PersonId, app: AppNo) -> KeyName {
        let name = KeyName::Center { person, app };
        match derived_key(self.prov.seed, &key_label(name)) {
            Ok(k) => {
                lock(&self.store).private.insert(name, k);
            }
            Err(e) => self.problem(CryptoProblem::KeyGeneration(Arc::new(e))),
        }
        name
    }

    fn seal_for(&self, se: SeId, key: KeyName) -> KeyDelivery {
        let delivery = KeyDelivery::Sealed { for_se: se, key };
        self.put_delivery(delivery, |der| {
            dek_encrypt(&self.prov.isd_keys(se).dek, der)
        });
        delivery
    }

    fn in_clear(&self, key: KeyName) -> KeyDelivery {
        // Only the flawed escrowing applet sends its own key: its phone makes the key in
        // software, keeps this copy for the escrow, and loads it into the applet
        // (`SeDevice`, effect `Install { escrow }`), instead of the applet generating it inside.
        if let (Party::Se(me), KeyName::Se { se, .. }) = (self.party, key) {
            if me == se {
                match derived_key(self.prov.seed, &key_label(key)) {
                    Ok(k) => {
                        lock(&self.store).private.insert(key, k);
                    }
                    Err(e) => self.problem(CryptoProblem::KeyGeneration(Arc::new(e))),
                }
            }
        }
        let delivery = KeyDelivery::Plain(key);
        self.put_delivery(delivery, <[u8]>::to_vec);
        delivery
    }

    fn open(&self, se: SeId, delivery: KeyDelivery) -> Option<KeyName> {
        let bytes = self.delivery_bytes(&delivery)?;
        let der = match delivery {
            KeyDelivery::Sealed { .. } => dek_decrypt(&self.prov.isd_keys(se).dek, &bytes)?,
            KeyDelivery::Plain(_) => bytes,
        };
        let key = RsaPrivateKey::from_pkcs1_der(&der).ok()?;
        // The SE learns the public half of what it opened; the private half goes to the applet.
        self.announce(delivery.key(), key.to_public_key());
        Some(delivery.key())
    }

    fn issue(&self, cert: Certificate) -> Certificate {
        let Some(authority) = &self.authority else {
            self.problem(CryptoProblem::NotTheCa);
            return cert;
        };
        let Some(public_key) = self.public_key(cert.key.0) else {
            self.problem(CryptoProblem::NoPublicKey(cert.key.0));
            return cert;
        };
        let req = IssueRequest {
            serial: x509_serial(cert.serial),
            subject_cn: subject_cn(&cert.subject),
            public_key,
            not_before: EPOCH_ZERO - 86_400,
            not_after: EPOCH_ZERO - 86_400 + VALIDITY,
        };
        match authority.issue(&req, &mut *lock(&self.rng)) {
            Ok(der) => {
                let mut s = lock(&self.store);
                s.certs.insert(cert, der);
                s.genuine_certs.insert(cert, true);
            }
            Err(e) => self.problem(CryptoProblem::Issue {
                serial: cert.serial,
                source: Arc::new(e),
            }),
        }
        cert
    }

    fn publish_status(&self, evidence: StatusEvidence) -> StatusEvidence {
        let Some(authority) = &self.authority else {
            self.problem(CryptoProblem::NotTheCa);
            return evidence;
        };
        let signed = match &evidence {
            StatusEvidence::Ocsp {
                serial,
                status,
                at,
                nonce,
            } => authority.status_answer(
                x509_serial(*serial),
                cert_state(*status),
                time_of(*at),
                nonce
                    .map(|login| ocsp_nonce(self.prov.seed, login))
                    .as_ref()
                    .map(|n| &n[..]),
                &mut *lock(&self.rng),
            ),
            StatusEvidence::Crl {
                entries, published, ..
            } => {
                let entries: Vec<CrlEntry> = entries
                    .iter()
                    .map(|(s, st)| CrlEntry {
                        serial: x509_serial(*s),
                        revoked_at: time_of(*published),
                        reason: reason(*st),
                    })
                    .collect();
                let number = u64::from(published.0) + 1;
                lock(&self.store).crl_number = number;
                authority.crl(
                    &entries,
                    number,
                    time_of(*published),
                    time_of(*published) + EPOCH_SECONDS,
                    &mut *lock(&self.rng),
                )
            }
        };
        match signed {
            Ok(der) => {
                lock(&self.store).statuses.insert(evidence.clone(), der);
            }
            Err(e) => self.problem(CryptoProblem::Status(Arc::new(e))),
        }
        evidence
    }

    fn certificate_genuine(&self, cert: &Certificate) -> bool {
        lock(&self.store)
            .genuine_certs
            .get(cert)
            .copied()
            .unwrap_or(false)
    }

    fn status_genuine(&self, evidence: &StatusEvidence) -> bool {
        let Some(der) = lock(&self.store).statuses.get(evidence).cloned() else {
            return false;
        };
        let ca = self.prov.ca_public();
        match evidence {
            StatusEvidence::Ocsp {
                serial,
                status,
                at,
                nonce,
            } => pki::verify_status_answer(ca, &der).is_ok_and(|v| {
                v.serial == x509_serial(*serial)
                    && v.status == cert_state(*status)
                    && v.produced_at == time_of(*at)
                    && v.nonce.as_deref()
                        == nonce
                            .map(|login| ocsp_nonce(self.prov.seed, login))
                            .as_ref()
                            .map(|n| &n[..])
            }),
            StatusEvidence::Crl {
                entries, published, ..
            } => pki::verify_crl(ca, &der).is_ok_and(|v| {
                v.this_update == time_of(*published)
                    && v.entries.len() == entries.len()
                    && v.entries
                        .iter()
                        .zip(entries)
                        .all(|((s, r), (ms, mst))| *s == x509_serial(*ms) && *r == reason(*mst))
            }),
        }
    }
}

impl RealCrypto {
    fn put_delivery(&self, delivery: KeyDelivery, seal: impl FnOnce(&[u8]) -> Vec<u8>) {
        let Some(k) = self.private_key(delivery.key()) else {
            self.problem(CryptoProblem::KeyNotHeld(delivery.key()));
            return;
        };
        match k.to_pkcs1_der() {
            Ok(der) => {
                let bytes = seal(der.as_bytes());
                lock(&self.store).sealed.insert(delivery, bytes);
            }
            Err(_) => self.problem(CryptoProblem::DeliveryEncoding(delivery.key())),
        }
    }
}

/// Why a party's real backend could not stand behind a term its model transition used: the
/// reference cannot produce the bytes the model assumes. The runtime stops with it
/// ([`crate::node::Divergence::Crypto`]); it never names key material.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CryptoProblem {
    /// A party that did not receive the mail "signed" with an access code.
    #[error("does not hold the access code of application {app} of person {person}")]
    NoAccessCode {
        /// Whose code.
        person: PersonId,
        /// For which application.
        app: AppNo,
    },
    /// The RSA signer failed.
    #[error("failed to sign with {0:?}")]
    SigningFailed(KeyName),
    /// The party was asked to use a private key it does not hold.
    #[error("does not hold {0:?}")]
    KeyNotHeld(KeyName),
    /// J-LIS could not generate a key.
    #[error("could not generate a key: {0}")]
    KeyGeneration(#[source] Arc<pki::PkiError>),
    /// A party other than the CA tried to issue or sign status evidence.
    #[error("is not the CA but was asked to sign as the CA")]
    NotTheCa,
    /// The CA has no public key bytes for a certificate's key.
    #[error("has no public key for {0:?}: it never arrived")]
    NoPublicKey(KeyName),
    /// Building a certificate failed.
    #[error("could not issue serial {serial}: {source}")]
    Issue {
        /// The serial.
        serial: Serial,
        /// The PKI's error.
        #[source]
        source: Arc<pki::PkiError>,
    },
    /// Signing status evidence failed.
    #[error("could not sign status evidence: {0}")]
    Status(#[source] Arc<pki::PkiError>),
    /// A key could not be encoded for delivery.
    #[error("could not encode {0:?} for delivery")]
    DeliveryEncoding(KeyName),
}

/// The model's serial as an X.509 serial, for readers of the recorded DER.
pub fn x509_serial(serial: Serial) -> u64 {
    u64::from(serial.0) + SERIAL_OFFSET
}

//! `jpkisim run --pki-out DIR`: the real PKI material of a run as files that other tools read —
//! the CA certificate, every certificate the CA issued, every OCSP answer it signed, and the CRL
//! it would publish at the end of the run — so that `openssl verify`, `openssl crl` and
//! `openssl ocsp` can check what the reference did; and each phone SE the run personalized as
//! a card directory `card-se<N>/` that `jpkisim card --from-run` presents over PC/SC.
//!
//! The card directories hold **private keys** (test material of this run, written only into
//! the directory the user named, owner-readable only): the SE's authentication key, read out of
//! the emulated chip, and a signing key the run's CA certifies at export time (the model tracks
//! only the authentication certificate, so the run itself issues no signing certificate).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use jpkisim_model::actors::PartyState;
use jpkisim_model::ca::crl_entries;
use jpkisim_model::crypto::{Crypto, Subject};
use jpkisim_model::ids::Party;
use jpkisim_model::msg::StatusEvidence;

use jpkisim_card::applet::{fid, PinKind, JPKI_AID};
use jpkisim_card::isd::AppState;
use jpkisim_model::Topology;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest as _, Sha256};

use crate::backend::x509_serial;
use crate::pki::{self, to_pem, IssueRequest, PEM_CERTIFICATE, PEM_CRL};
use crate::runtime::inproc::Simulation;

fn slug(subject: &Subject) -> String {
    match subject {
        Subject::Card { person, gen } => format!("card-p{}-g{}", person.0, gen.0),
        Subject::Phone { person, se, app } => {
            format!("phone-p{}-se{}-app{}", person.0, se.0, app.0)
        }
    }
}

fn pem(label: &str, der: &[u8]) -> io::Result<String> {
    to_pem(label, der).map_err(|e| io::Error::other(e.to_string()))
}

/// Writes the run's PKI into `dir` (created if needed) and returns the files written:
/// `ca.pem`; `cert-<x509 serial>-<subject>.pem` for every issued certificate; `ocsp-<x509
/// serial>-e<epoch>.der` for every status answer; `crl.pem`, the CA's CRL as of the end of the
/// run (the CA signs it now: a real publication).
pub fn write_pki(world: &Simulation, dir: &Path) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let ca = world.node(Party::Ca);
    let mut written = Vec::new();
    let mut put = |name: String, bytes: &[u8]| -> io::Result<()> {
        let path = dir.join(name);
        fs::write(&path, bytes)?;
        written.push(path);
        Ok(())
    };
    let anchor = ca.crypto.provisioning().ca_cert_der().to_vec();
    put("ca.pem".into(), pem(PEM_CERTIFICATE, &anchor)?.as_bytes())?;
    for (cert, der) in ca.crypto.certificates() {
        let name = format!(
            "cert-{}-{}.pem",
            x509_serial(cert.serial),
            slug(&cert.subject)
        );
        put(name, pem(PEM_CERTIFICATE, &der)?.as_bytes())?;
    }
    for (evidence, der) in ca.crypto.statuses() {
        if let StatusEvidence::Ocsp { serial, at, .. } = evidence {
            put(format!("ocsp-{}-e{}.der", x509_serial(serial), at.0), &der)?;
        }
    }
    if let PartyState::Ca(state) = &ca.state {
        let crl = StatusEvidence::Crl {
            entries: crl_entries(state, state.epoch),
            published: state.epoch,
            at: state.epoch,
        };
        let crl = ca.crypto.publish_status(crl);
        if let Some(der) = ca
            .crypto
            .statuses()
            .into_iter()
            .find_map(|(e, d)| (e == crl).then_some(d))
        {
            put("crl.pem".into(), pem(PEM_CRL, &der)?.as_bytes())?;
        }
    }
    written.extend(write_cards(world, dir)?);
    Ok(written)
}

/// X.509 serials of the export-time signing certificates: `0x5349_0000 + SE` ("SI"), far above
/// anything a run's CA issues.
const SIGNING_SERIAL_BASE: u64 = 0x5349_0000;

fn sha256_seed(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Writes `card-se<N>/` for every SE whose JPKI applet is personalized and not locked at the
/// end of the run: `auth_cert.der`, `auth_ca_cert.der` and `auth_key.pkcs1.der` as the chip
/// holds them; `sign_key.pkcs1.der`, derived from the run's seed, with `sign_cert.der` issued
/// for it now by the run's CA (same subject plus " signing", same validity) and
/// `sign_ca_cert.der`. The names are `jpkisim_card::token::CARD_FILES`.
pub fn write_cards(world: &Simulation, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let ca = world.node(Party::Ca);
    let Some(authority) = ca.crypto.authority() else {
        return Ok(Vec::new());
    };
    let seed = ca.crypto.provisioning().seed();
    let ca_der = authority.certificate_der().to_vec();
    let mut written = Vec::new();
    for party in Topology::of(world.config()).parties() {
        let Party::Se(se) = party else { continue };
        let Some(device) = &world.node(party).device else {
            continue;
        };
        let Some(inst) = device.chip().instance(&JPKI_AID) else {
            continue;
        };
        if inst.state != AppState::Personalized || inst.locked {
            continue;
        }
        let (Some(auth_cert), Some(auth_ca), Some(auth_key)) = (
            inst.applet.file(fid::AUTH_CERT),
            inst.applet.file(fid::AUTH_CA_CERT),
            inst.applet.export_private_key_pkcs1(PinKind::Auth),
        ) else {
            continue;
        };
        let auth = pki::verify_certificate(&authority.public_key(), auth_cert)
            .map_err(|e| io::Error::other(format!("SE {se}'s certificate: {e}")))?;
        let sign_key = pki::key_from_seed(sha256_seed(&format!("{seed}/phone-signing-key/{se}")))
            .map_err(|e| io::Error::other(e.to_string()))?;
        let request = IssueRequest {
            serial: SIGNING_SERIAL_BASE + u64::from(se.0),
            subject_cn: format!("{} signing", auth.subject_cn),
            public_key: sign_key.to_public_key(),
            not_before: auth.not_before,
            not_after: auth.not_after,
        };
        let mut rng =
            ChaCha20Rng::from_seed(sha256_seed(&format!("{seed}/phone-signing-cert/{se}")));
        let sign_cert = authority
            .issue(&request, &mut rng)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let sign_key = {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            sign_key
                .to_pkcs1_der()
                .map_err(|e| io::Error::other(e.to_string()))?
        };
        let card = dir.join(format!("card-se{}", se.0));
        fs::create_dir_all(&card)?;
        for (name, bytes, secret) in [
            ("auth_cert.der", auth_cert, false),
            ("auth_ca_cert.der", auth_ca, false),
            ("auth_key.pkcs1.der", auth_key.as_slice(), true),
            ("sign_cert.der", sign_cert.as_slice(), false),
            ("sign_ca_cert.der", ca_der.as_slice(), false),
            ("sign_key.pkcs1.der", sign_key.as_bytes(), true),
        ] {
            let path = card.join(name);
            write_file(&path, bytes, secret)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Writes a file; a secret one is created owner-readable only (on Unix).
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    options.open(path)?.write_all(bytes)
}

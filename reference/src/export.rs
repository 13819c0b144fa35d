//! `jpkisim run --pki-out DIR`: the real PKI material of a run as files that other tools read —
//! the CA certificate, every certificate the CA issued, every OCSP answer it signed, and the CRL
//! it would publish at the end of the run — so that `openssl verify`, `openssl crl` and
//! `openssl ocsp` can check what the reference did.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use jpkisim_model::actors::PartyState;
use jpkisim_model::ca::crl_entries;
use jpkisim_model::crypto::{Crypto, Subject};
use jpkisim_model::ids::Party;
use jpkisim_model::msg::StatusEvidence;

use crate::backend::x509_serial;
use crate::pki::{to_pem, PEM_CERTIFICATE, PEM_CRL};
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
    Ok(written)
}

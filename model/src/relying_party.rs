//! A relying party: verifies the signed login challenge against the certificate the SE sent,
//! obtains status evidence from the CA (a fresh OCSP answer or the published CRL), and accepts
//! the login only if the certificate is valid according to that evidence.
//!
//! Every decision is kept with the evidence it rested on, so properties can judge it against what
//! the CA knew at the time.

use crate::config::Flaw;
use crate::crypto::{Certificate, Crypto, Digest};
use crate::ids::{Epoch, LoginId, Party, Serial};
use crate::msg::{CertStatus, Msg, StatusEvidence};
use crate::transition::{pure, Ctx, Outbox, Step};
use serde::{Deserialize, Serialize};

/// A login the relying party accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Acceptance {
    /// The login.
    pub login: LoginId,
    /// The certificate it was accepted with.
    pub serial: Serial,
    /// When the evidence was obtained from the CA.
    pub evidence_at: Epoch,
}

/// The relying party's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RpState {
    /// Logins whose signature verified, waiting for status evidence.
    pub pending: Vec<(LoginId, Certificate)>,
    /// Accepted logins.
    pub accepted: Vec<Acceptance>,
    /// Rejected logins (bad status).
    pub rejected: Vec<LoginId>,
}

/// The relying party's transition on a delivered message.
pub fn on_msg<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &RpState,
    from: Party,
    msg: &Msg,
) -> Step<RpState> {
    pure(state, |rp, out| handle(ctx, rp, from, msg, out))
}

/// The status the evidence gives for `serial`.
pub fn status_in(evidence: &StatusEvidence, serial: Serial) -> CertStatus {
    match evidence {
        StatusEvidence::Ocsp {
            serial: s, status, ..
        } if *s == serial => *status,
        StatusEvidence::Ocsp { .. } => CertStatus::Revoked,
        StatusEvidence::Crl { entries, .. } => entries
            .iter()
            .find(|(s, _)| *s == serial)
            .map_or(CertStatus::Valid, |(_, st)| *st),
    }
}

fn handle<C: Crypto>(ctx: &Ctx<'_, C>, rp: &mut RpState, from: Party, msg: &Msg, out: &mut Outbox) {
    match msg {
        Msg::LoginResponse { login, cert, sig } if matches!(from, Party::Se(_)) => {
            let decided =
                rp.accepted.iter().any(|a| a.login == *login) || rp.rejected.contains(login);
            if decided || rp.pending.iter().any(|(l, _)| l == login) {
                return;
            }
            if !ctx.crypto.certificate_genuine(cert)
                || !ctx.crypto.verify(cert.key, Digest::Login(*login), *sig)
            {
                return;
            }
            rp.pending.push((*login, *cert));
            out.send(
                Party::Ca,
                Msg::StatusRequest {
                    login: *login,
                    serial: cert.serial,
                },
            );
        }
        Msg::StatusResponse { login, evidence } if from == Party::Ca => {
            let Some(i) = rp.pending.iter().position(|(l, _)| l == login) else {
                return;
            };
            if !ctx.crypto.status_genuine(evidence) {
                return;
            }
            let (_, cert) = rp.pending.remove(i);
            let status = status_in(evidence, cert.serial);
            let good = status == CertStatus::Valid
                || (status == CertStatus::Suspended && ctx.flawed(Flaw::SuspendIgnored))
                || ctx.flawed(Flaw::RpSkipsStatusCheck);
            if good {
                let evidence_at = match evidence {
                    StatusEvidence::Ocsp { at, .. } | StatusEvidence::Crl { at, .. } => *at,
                };
                rp.accepted.push(Acceptance {
                    login: *login,
                    serial: cert.serial,
                    evidence_at,
                });
            } else {
                rp.rejected.push(*login);
            }
        }
        _ => {}
    }
}

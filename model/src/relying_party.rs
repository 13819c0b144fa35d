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
    /// When the CA produced the evidence.
    pub evidence_at: Epoch,
    /// The request the evidence answers: its OCSP nonce (`None` for a CRL, or an OCSP answer
    /// made without one).
    pub evidence_for: Option<LoginId>,
}

/// A login the relying party turned down on the status evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rejection {
    /// The login.
    pub login: LoginId,
    /// The status the evidence gave its certificate (what the relying party acted on; the
    /// epoch is not kept, so that rejections at different moments do not split states).
    pub status: CertStatus,
}

/// The relying party's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RpState {
    /// Logins whose signature verified, waiting for status evidence.
    pub pending: Vec<(LoginId, Certificate)>,
    /// Accepted logins.
    pub accepted: Vec<Acceptance>,
    /// Rejected logins (bad status).
    pub rejected: Vec<Rejection>,
}

impl RpState {
    /// Whether the relying party has decided `login`, either way.
    pub fn decided(&self, login: LoginId) -> bool {
        self.accepted.iter().any(|a| a.login == login)
            || self.rejected.iter().any(|r| r.login == login)
    }
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
        // An open link: the signature with the certified key, not the claimed sender, counts.
        Msg::LoginResponse { login, cert, sig } if matches!(from, Party::Se(_)) => {
            if rp.decided(*login) || rp.pending.iter().any(|(l, _)| l == login) {
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
            // An OCSP answer counts only for the request it answers: an old one replayed for this
            // login says nothing about the certificate now. (A CRL is the same list for all.)
            let evidence_for = match evidence {
                StatusEvidence::Ocsp { nonce, .. } => *nonce,
                StatusEvidence::Crl { .. } => None,
            };
            let fresh = matches!(evidence, StatusEvidence::Crl { .. })
                || evidence_for == Some(*login)
                || ctx.flawed(Flaw::RpIgnoresOcspNonce);
            if !fresh {
                return;
            }
            let (_, cert) = rp.pending.remove(i);
            let status = status_in(evidence, cert.serial);
            let good = status == CertStatus::Valid
                || (status == CertStatus::Suspended && ctx.flawed(Flaw::SuspendIgnored))
                || ctx.flawed(Flaw::RpSkipsStatusCheck);
            let evidence_at = match evidence {
                StatusEvidence::Ocsp { at, .. } | StatusEvidence::Crl { at, .. } => *at,
            };
            if good {
                rp.accepted.push(Acceptance {
                    login: *login,
                    serial: cert.serial,
                    evidence_at,
                    evidence_for,
                });
            } else {
                rp.rejected.push(Rejection {
                    login: *login,
                    status,
                });
            }
        }
        _ => {}
    }
}

//! A secure element with the JPKI applet: the applet's lifecycle, its key and certificate slots,
//! the user-authentication PIN and its retry counter, and the wipe on learning of revocation.
//!
//! Installation is accepted only from a holder of the SE's issuer security domain keys (the SE
//! issuer's TSM) and only for an application number newer than any seen before, so replayed or
//! duplicated provisioning messages change nothing. The PIN rule is the card's: 3 consecutive
//! wrong entries block it until the issuer re-personalises (docs/applet.md). The byte-level
//! applet lives in the reference crate; this is its protocol-level abstraction.

use crate::config::{Flaw, KeyGen};
use crate::crypto::{Certificate, Crypto, Digest, KeyName, PublicKey};
use crate::ids::{AppNo, Party, PersonId, SeId};
use crate::msg::{CertStatus, Msg};
use crate::transition::{pure, Ctx, Outbox, Step};
use serde::{Deserialize, Serialize};

/// Consecutive wrong auth-PIN entries that block the PIN.
pub const AUTH_PIN_TRIES: u8 = 3;

/// GlobalPlatform lifecycle of the applet instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Lifecycle {
    /// Installed and selectable, not yet personalised.
    Installed,
    /// Key and certificate in place.
    Personalized,
    /// Locked by the issuer (SIM handed back).
    Locked,
    /// Deleted (key and certificate wiped).
    Deleted,
}

/// The applet instance on the SE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Applet {
    /// For whom it was installed.
    pub person: PersonId,
    /// For which application.
    pub app: AppNo,
    /// Who installed it (for `applet_only_via_authorised_tsm`).
    pub installed_by: Party,
    /// Lifecycle state.
    pub life: Lifecycle,
}

/// The SE's state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeState {
    /// Which SE this is.
    pub id: SeId,
    /// The applet instance, if one was ever installed.
    pub applet: Option<Applet>,
    /// Private key slot.
    pub key: Option<KeyName>,
    /// Certificate slot.
    pub cert: Option<Certificate>,
    /// Auth PIN tries left (0 = blocked).
    pub pin_tries_left: u8,
    /// Whether the SE learned, on boot, that its certificate is revoked.
    pub learned_revoked: bool,
    /// Ghost (read only by properties): consecutive wrong PINs actually entered since the last
    /// success or re-personalisation, whatever the applet counted.
    pub ghost_wrong_in_a_row: u8,
    /// Ghost: the SE signed after `AUTH_PIN_TRIES` consecutive wrong PINs.
    pub ghost_signed_after_lockout: bool,
}

/// Initial state: no applet.
pub fn init(se: SeId) -> SeState {
    SeState {
        id: se,
        applet: None,
        key: None,
        cert: None,
        pin_tries_left: AUTH_PIN_TRIES,
        learned_revoked: false,
        ghost_wrong_in_a_row: 0,
        ghost_signed_after_lockout: false,
    }
}

impl SeState {
    /// Whether the applet is personalised and usable for login.
    pub fn usable(&self) -> bool {
        self.applet
            .is_some_and(|a| a.life == Lifecycle::Personalized)
            && self.key.is_some()
            && self.cert.is_some()
    }
}

/// Whether `from` holds the SE's issuer security domain keys: the issuer's TSM, and in the flawed
/// MVNO design the MVNO too.
fn holds_isd_keys<C: Crypto>(ctx: &Ctx<'_, C>, from: Party) -> bool {
    from == Party::SeTsm || (from == Party::Mvno && ctx.flawed(Flaw::MvnoBypassesHostTsm))
}

/// The SE's transition on a delivered message.
pub fn on_msg<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &SeState,
    from: Party,
    msg: &Msg,
) -> Step<SeState> {
    pure(state, |se, out| handle(ctx, se, from, msg, out))
}

fn handle<C: Crypto>(ctx: &Ctx<'_, C>, se: &mut SeState, from: Party, msg: &Msg, out: &mut Outbox) {
    let owner = Party::Applicant(ctx.cfg.owner_of(se.id));
    match *msg {
        Msg::Install { person, app } if holds_isd_keys(ctx, from) => {
            if se.applet.is_some_and(|a| a.app >= app) {
                return; // replay of an old installation, or a duplicate
            }
            *se = SeState {
                applet: Some(Applet {
                    person,
                    app,
                    installed_by: from,
                    life: Lifecycle::Installed,
                }),
                ..init(se.id)
            };
            let key = match ctx.cfg.keygen {
                KeyGen::OnSe => {
                    let k = ctx.crypto.generate_in_se(se.id, app);
                    se.key = Some(k);
                    Some(PublicKey(k))
                }
                KeyGen::Center => None,
            };
            out.send(
                Party::SpTsm,
                Msg::AppletInstalled {
                    person,
                    se: se.id,
                    app,
                    key,
                },
            );
        }
        Msg::StoreData { app, cert, key } if from == Party::SpTsm => {
            let Some(applet) = se.applet.as_mut() else {
                return;
            };
            if applet.app != app || applet.life != Lifecycle::Installed {
                return;
            }
            if let Some(delivery) = key {
                match ctx.crypto.open(se.id, delivery) {
                    Some(k) => se.key = Some(k),
                    None => return,
                }
            }
            if se.key.map(PublicKey) != Some(cert.key) {
                return;
            }
            se.cert = Some(cert);
            applet.life = Lifecycle::Personalized;
        }
        Msg::LockApplet if from == Party::SeTsm => {
            if let Some(a) = se.applet.as_mut() {
                if matches!(a.life, Lifecycle::Installed | Lifecycle::Personalized) {
                    a.life = Lifecycle::Locked;
                }
            }
        }
        Msg::Boot if from == owner => {
            if let (true, Some(cert)) = (se.usable(), se.cert) {
                out.send(
                    Party::Ca,
                    Msg::BootStatusQuery {
                        serial: cert.serial,
                    },
                );
            }
        }
        Msg::BootStatus { serial, status } if from == Party::Ca => {
            if se.cert.map(|c| c.serial) != Some(serial)
                || status != CertStatus::Revoked
                || se.learned_revoked
            {
                return;
            }
            se.learned_revoked = true;
            if !ctx.flawed(Flaw::NoWipeOnBoot) {
                se.key = None;
                se.cert = None;
                if let Some(a) = se.applet.as_mut() {
                    a.life = Lifecycle::Deleted;
                }
            }
        }
        Msg::Authenticate { login, pin_correct } if from == owner => {
            authenticate(ctx, se, login, pin_correct, out)
        }
        _ => {}
    }
}

fn authenticate<C: Crypto>(
    ctx: &Ctx<'_, C>,
    se: &mut SeState,
    login: crate::ids::LoginId,
    pin_correct: bool,
    out: &mut Outbox,
) {
    // Only a personalized token has a PIN to check: before STORE DATA the applet answers every
    // command `69 85` (found by running the reference against the emulated applet).
    if se.applet.is_none_or(|a| a.life != Lifecycle::Personalized) {
        return;
    }
    if se.pin_tries_left == 0 {
        return; // 6983: blocked
    }
    if !pin_correct {
        if !ctx.flawed(Flaw::NoRetryCounter) {
            se.pin_tries_left -= 1;
        }
        // Counting past the limit adds nothing but states.
        se.ghost_wrong_in_a_row = (se.ghost_wrong_in_a_row + 1).min(AUTH_PIN_TRIES);
        return;
    }
    se.pin_tries_left = AUTH_PIN_TRIES;
    let lockout_passed = se.ghost_wrong_in_a_row >= AUTH_PIN_TRIES;
    se.ghost_wrong_in_a_row = 0;
    if let (true, Some(key), Some(cert)) = (se.usable(), se.key, se.cert) {
        se.ghost_signed_after_lockout |= lockout_passed;
        let sig = ctx.crypto.sign(key, Digest::Login(login));
        out.send(Party::RelyingParty, Msg::LoginResponse { login, cert, sig });
    }
}

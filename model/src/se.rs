//! A secure element with the JPKI applet: the applet's lifecycle, its key and certificate slots,
//! the user-authentication PIN and its retry counter, and the wipe on learning of revocation.
//!
//! Installation is accepted only from a holder of the SE's issuer security domain keys (the SE
//! issuer's TSM) and only for an application number newer than any seen before, so replayed or
//! duplicated provisioning messages change nothing. The PIN rule is the card's: 3 consecutive
//! wrong entries block it until the issuer re-personalises (docs/applet.md). The byte-level
//! applet lives in the reference crate; this is its protocol-level abstraction.

use crate::config::{Flaw, KeyGen};
use crate::crypto::{Certificate, Crypto, Digest, KeyDelivery, KeyName, PublicKey, Signature};
use crate::ids::{AppNo, Party, PersonId, SeId};
use crate::msg::{CertStatus, Msg, StatusEvidence};
use crate::transition::{pure_with_effect, Ctx, Outbox, Step};
use serde::{Deserialize, Serialize};

/// Consecutive wrong auth-PIN entries that block the PIN (the JPKI user-authentication PIN's
/// rule, docs/applet.md). The reference runtime personalises the emulated applet with this limit.
pub const AUTH_PIN_TRIES: u8 = 3;

/// What the SE's card must do to carry out a step the model decided: the card-level half of the
/// SE's transition. The reference runtime's device turns each into APDUs and checks that the
/// card answers as the effect implies; it decides nothing itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeEffect {
    /// Install a fresh applet instance for `app` whose PIN blocks after `pin_tries` consecutive
    /// wrong entries. `replaces`: a live instance is there and must be deleted first.
    /// `generated`: the applet generates this key pair in the same session (keys generated on
    /// the SE); its public key leaves in `AppletInstalled`.
    Install {
        /// The application the instance is for.
        app: AppNo,
        /// The PIN's try limit.
        pin_tries: u8,
        /// Whether an earlier, not yet deleted instance must be deleted first.
        replaces: bool,
        /// The key the applet generates, when keys are generated on the SE.
        generated: Option<KeyName>,
        /// The flawed escrowing applet (flaw `se_key_escrow`): the key is made where it can be
        /// copied out, and this copy goes to J-LIS. `None` for a correct applet.
        escrow: Option<KeyDelivery>,
    },
    /// Personalise the installed instance: the certificate, the holder's PIN, and the private key
    /// delivered by the centre when it generated the key.
    Personalise {
        /// The certificate stored.
        cert: Certificate,
        /// The centre-generated key as delivered (`None`: the key was generated on the SE).
        delivery: Option<KeyDelivery>,
    },
    /// Lock the applet instance (the SIM was handed back).
    Lock,
    /// Delete the applet instance, wiping its key and certificate (revocation learned at boot).
    Wipe,
    /// The holder entered the PIN for a login; the applet's verdict, and on success the login
    /// signature it made.
    CheckPin {
        /// Whether the holder typed the right PIN.
        entered: PinEntry,
        /// The applet's verdict.
        outcome: PinOutcome,
        /// The signature over the login challenge, made after an accepted PIN.
        signature: Option<Signature>,
    },
}

/// What the holder typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinEntry {
    /// The PIN set at personalisation.
    Correct,
    /// Any other PIN.
    Wrong,
}

/// The applet's verdict on a PIN entry, as its status word says it (docs/applet.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinOutcome {
    /// `90 00`: the PIN is verified and the counter reset.
    Accepted,
    /// `63 Cx`: wrong, `tries_left` tries remain.
    Wrong {
        /// Tries left after this entry.
        tries_left: u8,
    },
    /// `69 83`: the PIN is blocked; nothing was counted.
    Blocked,
}

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
    /// Ghost: someone entered a PIN after `AUTH_PIN_TRIES` consecutive wrong ones (what
    /// `pin_lockout` guards against was tried).
    pub ghost_tried_after_lockout: bool,
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
        ghost_tried_after_lockout: false,
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
) -> Step<SeState, SeEffect> {
    pure_with_effect(state, |se, out| handle(ctx, se, from, msg, out))
}

fn handle<C: Crypto>(
    ctx: &Ctx<'_, C>,
    se: &mut SeState,
    from: Party,
    msg: &Msg,
    out: &mut Outbox,
) -> Option<SeEffect> {
    let owner = Party::Applicant(ctx.cfg.owner_of(se.id));
    match *msg {
        Msg::Install { person, app } if holds_isd_keys(ctx, from) => {
            // A retried installation (timers armed) is answered again, with the same key.
            if let (true, Some(a)) = (ctx.cfg.timers_armed(), se.applet) {
                if a.app == app && a.person == person && a.life == Lifecycle::Installed {
                    out.send(
                        Party::SpTsm,
                        Msg::AppletInstalled {
                            person,
                            se: se.id,
                            app,
                            key: se
                                .key
                                .map(PublicKey)
                                .filter(|_| ctx.cfg.keygen == KeyGen::OnSe),
                            escrow: None,
                        },
                    );
                    return None;
                }
            }
            if se.applet.is_some_and(|a| a.app >= app) {
                return None; // replay of an old installation, or a duplicate
            }
            let replaces = se.applet.is_some_and(|a| a.life != Lifecycle::Deleted);
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
            let escrow = se
                .key
                .filter(|_| ctx.flawed(Flaw::SeKeyEscrow))
                .map(|k| ctx.crypto.in_clear(k));
            out.send(
                Party::SpTsm,
                Msg::AppletInstalled {
                    person,
                    se: se.id,
                    app,
                    key,
                    escrow,
                },
            );
            Some(SeEffect::Install {
                app,
                pin_tries: AUTH_PIN_TRIES,
                replaces,
                generated: se.key,
                escrow,
            })
        }
        Msg::StoreData { app, cert, key } if from == Party::SpTsm => {
            let applet = se.applet.as_mut()?;
            let person = applet.person;
            let confirm = |out: &mut Outbox| {
                // Where timers are armed the SP-TSM waits for this, re-sending until it comes.
                if ctx.cfg.timers_armed() {
                    out.send(
                        Party::SpTsm,
                        Msg::Personalised {
                            person,
                            se: se.id,
                            app,
                        },
                    );
                }
            };
            if applet.app == app && applet.life == Lifecycle::Personalized && se.cert == Some(cert)
            {
                confirm(out); // a retried StoreData: already done
                return None;
            }
            if applet.app != app || applet.life != Lifecycle::Installed {
                return None;
            }
            if let Some(delivery) = key {
                se.key = Some(ctx.crypto.open(se.id, delivery)?);
            }
            if se.key.map(PublicKey) != Some(cert.key) {
                return None;
            }
            se.cert = Some(cert);
            applet.life = Lifecycle::Personalized;
            confirm(out);
            Some(SeEffect::Personalise {
                cert,
                delivery: key,
            })
        }
        Msg::LockApplet if from == Party::SeTsm => {
            let a = se.applet.as_mut()?;
            if !matches!(a.life, Lifecycle::Installed | Lifecycle::Personalized) {
                return None;
            }
            a.life = Lifecycle::Locked;
            Some(SeEffect::Lock)
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
            None
        }
        // An open link: the claimed sender proves nothing, the CA's signature on the answer does.
        Msg::BootStatus { ref evidence } if from == Party::Ca => {
            let StatusEvidence::Ocsp { serial, status, .. } = *evidence else {
                return None;
            };
            if se.cert.map(|c| c.serial) != Some(serial)
                || status != CertStatus::Revoked
                || se.learned_revoked
                || !ctx.crypto.status_genuine(evidence)
            {
                return None;
            }
            se.learned_revoked = true;
            if ctx.flawed(Flaw::NoWipeOnBoot) {
                return None;
            }
            se.key = None;
            se.cert = None;
            let a = se.applet.as_mut()?;
            a.life = Lifecycle::Deleted;
            Some(SeEffect::Wipe)
        }
        Msg::Authenticate { login, pin_correct } if from == owner => {
            let (effect, signed) = verify_pin_and_sign(ctx, se, Digest::Login(login), pin_correct);
            if let (Some(sig), Some(cert)) = (signed, se.cert) {
                out.send(Party::RelyingParty, Msg::LoginResponse { login, cert, sig });
            }
            effect
        }
        // Revoking from the phone takes the PIN too: the request is signed with the key it revokes.
        Msg::SignRevocation if from == owner => {
            let serial = se.cert?.serial;
            let (effect, signed) =
                verify_pin_and_sign(ctx, se, Digest::Revocation { serial }, true);
            if let (Some(sig), Some(cert)) = (signed, se.cert) {
                out.send(Party::Ca, Msg::RevokeFromPhone { cert, sig });
            }
            effect
        }
        _ => None,
    }
}

/// VERIFY the auth PIN, then sign `digest` with the SE's key: the applet's one path to a
/// signature. Returns the card-level effect and the signature, if one was made.
fn verify_pin_and_sign<C: Crypto>(
    ctx: &Ctx<'_, C>,
    se: &mut SeState,
    digest: Digest,
    pin_correct: bool,
) -> (Option<SeEffect>, Option<Signature>) {
    // Only a personalized token has a PIN to check: before STORE DATA the applet answers every
    // command `69 85` (found by running the reference against the emulated applet), so the
    // phone's JPKI client finds no token and sends nothing.
    if se.applet.is_none_or(|a| a.life != Lifecycle::Personalized) {
        return (None, None);
    }
    se.ghost_tried_after_lockout |= se.ghost_wrong_in_a_row >= AUTH_PIN_TRIES;
    let entered = if pin_correct {
        PinEntry::Correct
    } else {
        PinEntry::Wrong
    };
    let check = |outcome, signature: Option<Signature>| {
        (
            Some(SeEffect::CheckPin {
                entered,
                outcome,
                signature,
            }),
            signature,
        )
    };
    if se.pin_tries_left == 0 {
        return check(PinOutcome::Blocked, None);
    }
    if !pin_correct {
        if !ctx.flawed(Flaw::NoRetryCounter) {
            se.pin_tries_left -= 1;
        }
        // Counting past the limit adds nothing but states.
        se.ghost_wrong_in_a_row = (se.ghost_wrong_in_a_row + 1).min(AUTH_PIN_TRIES);
        return check(
            PinOutcome::Wrong {
                tries_left: se.pin_tries_left,
            },
            None,
        );
    }
    se.pin_tries_left = AUTH_PIN_TRIES;
    let lockout_passed = se.ghost_wrong_in_a_row >= AUTH_PIN_TRIES;
    se.ghost_wrong_in_a_row = 0;
    let (true, Some(key)) = (se.usable(), se.key) else {
        return check(PinOutcome::Accepted, None);
    };
    se.ghost_signed_after_lockout |= lockout_passed;
    check(PinOutcome::Accepted, Some(ctx.crypto.sign(key, digest)))
}

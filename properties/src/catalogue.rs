//! The named properties: what each guarantees, why, and which study sentence it comes from.
//!
//! Every property has a stable snake_case id used by the CLI, the JSON report and the manifest.
//! Safety properties (`always`) must hold in every reachable state; reachability properties
//! (`sometimes`) must be witnessed. Each safety property also declares its *trigger*: the event or
//! state without which it says nothing (for `pin_lockout`, a PIN entered after three wrong ones).
//! A check reports a safety property that holds but whose trigger no reachable state reaches as
//! "holds, never triggered", never as a plain "holds". Conditions read the global state through
//! [`World`]; they never change it.

use jpkisim_model::applicant::Holder;
use jpkisim_model::ca::CertRecord;
use jpkisim_model::config::{Carrier, Config, KeyGen, Medium, RevocationCheck, Thief};
use jpkisim_model::crypto::{KeyDelivery, KeyName, Subject};
use jpkisim_model::ids::{Epoch, LoginId, Party};
use jpkisim_model::msg::{CertStatus, Msg, StatusEvidence};
use jpkisim_model::se::{Lifecycle, AUTH_PIN_TRIES};
use jpkisim_model::se_tsm::Service;
use jpkisim_model::{JpkiModel, JpkiState, World};
use serde::Serialize;

/// How a property is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Safety: holds in every reachable state.
    Always,
    /// Reachability: holds in at least one reachable state.
    Sometimes,
}

/// One named property.
#[derive(Clone, Copy, Debug)]
pub struct PropertyDef {
    /// Stable id.
    pub id: &'static str,
    /// Safety or reachability.
    pub kind: Kind,
    /// One line: what it guarantees (or witnesses).
    pub summary: &'static str,
    /// The study sentence or lifecycle rule it comes from.
    pub source: &'static str,
    /// Whether the property means anything in a configuration; `Err` says why not.
    pub applies: fn(&Config) -> Result<(), &'static str>,
    /// The condition on a global state.
    pub condition: fn(&Config, &World<'_>) -> bool,
    /// The same condition in the form Stateright takes.
    pub stateright: fn(&JpkiModel, &JpkiState) -> bool,
    /// For a safety property, what must happen for it to say anything.
    pub trigger: Option<Trigger>,
}

/// The event or state without which a safety property says nothing. A check searches for it the
/// way it searches for a reachability property's witness: [`Trigger::target`] is that search
/// target, so any exploration engine that finds the shallowest witness of a reachability property
/// also finds the first depth at which the trigger holds.
#[derive(Clone, Copy, Debug)]
pub struct Trigger {
    /// What triggers the property, in one line.
    pub summary: &'static str,
    /// The trigger as a reachability property (id `<property>.trigger`).
    pub target: &'static PropertyDef,
}

impl PropertyDef {
    /// Evaluates the condition on a Stateright state (false for a state that is not of this model).
    pub fn holds_in(&self, cfg: &Config, state: &JpkiState) -> bool {
        World::of(state).is_some_and(|w| (self.condition)(cfg, &w))
    }
}

fn always_applies(_: &Config) -> Result<(), &'static str> {
    Ok(())
}

/// A fourth PIN entry after three wrong ones needs four PIN entries and, with the application
/// that issues the key, five counted events of one person. The default budgets (three entries,
/// four events) cannot reach it, and raising them for two persons takes the default check well
/// past a minute (docs/performance.md), so there the property is declared not applicable rather
/// than reported as a vacuous "holds"; the manifest checks it with the budgets it needs.
fn pin_budget_past_lockout(cfg: &Config) -> Result<(), &'static str> {
    let entries = AUTH_PIN_TRIES + 1;
    if cfg.budgets.pin_entries >= entries && cfg.budgets.events > entries {
        Ok(())
    } else {
        Err("needs a PIN entry after three wrong ones: at least 4 PIN entries and 5 events per person (--pin-entries 4 --events 5)")
    }
}

fn sim_only(cfg: &Config) -> Result<(), &'static str> {
    if cfg.medium == Medium::Uicc {
        Ok(())
    } else {
        Err("needs a SIM (medium uicc): a GP-SE cannot move or be ported")
    }
}

fn mvno_only(cfg: &Config) -> Result<(), &'static str> {
    if cfg.carrier == Carrier::Mvno {
        Ok(())
    } else {
        Err("needs MVNO subscribers (carrier mvno)")
    }
}

fn mvno_path(cfg: &Config) -> Result<(), &'static str> {
    if cfg.carrier == Carrier::Mvno {
        Ok(())
    } else {
        Err("needs MVNO subscribers (carrier mvno): only their installations pass a party without the SIM's issuer keys")
    }
}

fn sim_with_spare(cfg: &Config) -> Result<(), &'static str> {
    sim_only(cfg)?;
    if cfg.ses_per_person > 1 {
        Ok(())
    } else {
        Err("needs a second SIM or phone (ses-per-person >= 2)")
    }
}

fn phone_bound_with_two(cfg: &Config) -> Result<(), &'static str> {
    if cfg.medium != Medium::GpSe {
        return Err("needs phones with their own SE (medium gp-se): a stolen SIM is replaced by the carrier, which the model does not include");
    }
    two_ses(cfg)
}

fn keys_on_se(cfg: &Config) -> Result<(), &'static str> {
    if cfg.keygen == KeyGen::OnSe {
        Ok(())
    } else {
        Err("needs keys generated in the SE (keygen on-se): J-LIS generates them here")
    }
}

fn keys_at_center(cfg: &Config) -> Result<(), &'static str> {
    if cfg.keygen == KeyGen::Center {
        Ok(())
    } else {
        Err("needs keys generated at J-LIS (keygen center): no private key travels when the SE generates it")
    }
}

fn thief_knows_pin(cfg: &Config) -> Result<(), &'static str> {
    if cfg.thief == Thief::KnowsPin {
        Ok(())
    } else {
        Err("needs a thief who knows the PIN (thief knows-pin): one who only guesses never gets a login to a relying party")
    }
}

fn against_a_network_intruder(cfg: &Config) -> Result<(), &'static str> {
    if cfg.intruder {
        Ok(())
    } else {
        Err("needs a network intruder (--intruder): honest phones only send revocations signed with their own key, and no compromised party alone has a link that carries one (docs/trust.md)")
    }
}

fn ocsp_against_an_intruder(cfg: &Config) -> Result<(), &'static str> {
    if cfg.revocation != RevocationCheck::Ocsp {
        return Err("needs OCSP (revocation ocsp): a CRL answers no particular request");
    }
    if cfg.intruder {
        Ok(())
    } else {
        Err("needs an intruder (--intruder): only an intruder hands the relying party a status answer made for another request")
    }
}

/// Recovery is owed only where something can be lost and parties answer for what they do: a
/// compromised party can ask for anything (a certificate for no SE), which is trust's question
/// (docs/trust.md), not recovery's.
fn recovering(cfg: &Config) -> Result<(), &'static str> {
    if !cfg.timers_armed() {
        return Err("needs something that can be lost, which the parties' timers recover from (--lossy or --crashes N): without loss every answer comes");
    }
    if !cfg.compromised.is_empty() {
        return Err("needs honest parties (no --compromised): a compromised party may ask for a certificate no SE is waiting for");
    }
    Ok(())
}

fn recovering_sims(cfg: &Config) -> Result<(), &'static str> {
    recovering(cfg)?;
    sim_only(cfg)
}

fn two_ses(cfg: &Config) -> Result<(), &'static str> {
    if cfg.ses_per_person > 1 {
        Ok(())
    } else {
        Err("needs a second SE per person (ses-per-person >= 2)")
    }
}

fn phone_certs<'a>(w: &'a World<'_>) -> impl Iterator<Item = &'a CertRecord> {
    w.ca.certs.iter().filter(|r| r.se().is_some())
}

// ---- safety -------------------------------------------------------------------------------

fn no_double_issuance(_cfg: &Config, w: &World<'_>) -> bool {
    w.applicants().all(|a| {
        w.ca.phone_certs_of(a.person)
            .filter(|r| r.status().is_live())
            .count()
            <= 1
    })
}

fn status_at_evidence(w: &World<'_>, bad: CertStatus) -> bool {
    w.rp.accepted.iter().all(|acc| {
        w.ca.record(acc.serial)
            .and_then(|r| r.status_at(acc.evidence_at))
            .is_none_or(|s| s != bad)
    })
}

fn revoked_never_accepted(_cfg: &Config, w: &World<'_>) -> bool {
    status_at_evidence(w, CertStatus::Revoked)
}

fn suspended_never_accepted(_cfg: &Config, w: &World<'_>) -> bool {
    status_at_evidence(w, CertStatus::Suspended)
}

fn key_only_in_designated_se(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses().all(|se| match (se.applet, se.key) {
        (Some(applet), Some(_)) => w
            .applicant(applet.person)
            .is_some_and(|a| a.applications.contains(&(applet.app, se.id))),
        _ => true,
    })
}

fn issuance_requires_valid_card_application(_cfg: &Config, w: &World<'_>) -> bool {
    phone_certs(w).all(|r| {
        let Subject::Phone { person, app, .. } = r.cert.subject else {
            return true;
        };
        let card_valid = r
            .linked_card
            .and_then(|c| w.ca.record(c))
            .is_some_and(|card| {
                card.person() == person && card.status_at(r.issued_at()) == Some(CertStatus::Valid)
            });
        let applied = w
            .applicant(person)
            .is_some_and(|a| a.applications.iter().any(|(n, _)| *n == app));
        card_valid && applied
    })
}

fn card_revocation_cascades(_cfg: &Config, w: &World<'_>) -> bool {
    phone_certs(w).all(|r| {
        let Some(card) = r.linked_card.and_then(|c| w.ca.record(c)) else {
            return true;
        };
        let issued_under_valid_card = card.status_at(r.issued_at()) == Some(CertStatus::Valid);
        !issued_under_valid_card || !r.status().is_live() || card.status() == CertStatus::Valid
    })
}

fn pin_lockout(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses()
        .all(|se| !se.ghost_signed_after_lockout && se.pin_tries_left <= AUTH_PIN_TRIES)
}

fn distinct_serials(_cfg: &Config, w: &World<'_>) -> bool {
    let mut serials: Vec<_> = w.ca.certs.iter().map(|r| r.cert.serial).collect();
    serials.sort_unstable();
    serials.windows(2).all(|p| p[0] != p[1])
}

/// The private key a message carries, sealed or not.
fn private_key_in(m: &Msg) -> Option<KeyName> {
    match m {
        Msg::StoreData { key: Some(d), .. }
        | Msg::AppletInstalled {
            escrow: Some(d), ..
        } => Some(d.key()),
        _ => None,
    }
}

fn private_key_never_leaves_se(_cfg: &Config, w: &World<'_>) -> bool {
    let held_where_made = w.ses().all(|se| match se.key {
        Some(KeyName::Se { se: made_in, .. }) => made_in == se.id,
        _ => true,
    });
    let none_in_flight = w
        .in_flight()
        .all(|m| !matches!(private_key_in(m), Some(KeyName::Se { .. })));
    held_where_made && none_in_flight
}

fn center_key_only_encrypted(_cfg: &Config, w: &World<'_>) -> bool {
    w.in_flight().all(|m| {
        !matches!(
            m,
            Msg::StoreData {
                key: Some(KeyDelivery::Plain(_)),
                ..
            }
        )
    })
}

fn old_se_wiped_after_boot(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses().all(|se| !se.learned_revoked || se.key.is_none())
}

fn applet_only_via_authorised_tsm(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses()
        .all(|se| se.applet.is_none_or(|a| a.installed_by == Party::SeTsm))
}

fn disposed_se_never_accepted(_cfg: &Config, w: &World<'_>) -> bool {
    w.rp.accepted
        .iter()
        .all(|acc| !login_is(w, acc.login, |l| l.after_retirement))
}

/// Whether the person's record of `login` says `what`.
fn login_is(
    w: &World<'_>,
    login: LoginId,
    what: impl Fn(&jpkisim_model::applicant::LoginRecord) -> bool,
) -> bool {
    w.applicant(login.person)
        .is_some_and(|a| a.logins.iter().any(|l| l.login == login && what(l)))
}

/// Whether `person`'s loss report covered status evidence produced at `epoch`.
fn reported_lost_at(w: &World<'_>, login: LoginId, epoch: Epoch) -> bool {
    w.ca.loss_cases
        .iter()
        .any(|c| c.person == login.person && c.open_at(epoch))
}

fn stolen_se_unusable_after_report(_cfg: &Config, w: &World<'_>) -> bool {
    w.rp.accepted.iter().all(|acc| {
        !login_is(w, acc.login, |l| l.by_thief) || !reported_lost_at(w, acc.login, acc.evidence_at)
    })
}

fn phone_revocation_authentic(_cfg: &Config, w: &World<'_>) -> bool {
    w.ca.phone_revocations.iter().all(|(serial, signer)| {
        w.ca.record(*serial)
            .is_some_and(|r| r.cert.key.0 == *signer)
    })
}

fn status_evidence_fresh(_cfg: &Config, w: &World<'_>) -> bool {
    w.rp.accepted
        .iter()
        .all(|acc| acc.evidence_for == Some(acc.login))
}

// ---- triggers: what must happen for a safety property to say anything -------------------

fn a_second_certificate_issued(_cfg: &Config, w: &World<'_>) -> bool {
    w.applicants()
        .any(|a| w.ca.phone_certs_of(a.person).count() >= 2)
}

/// Every login the relying party decided.
fn decisions<'a>(w: &'a World<'_>) -> impl Iterator<Item = LoginId> + 'a {
    w.rp.accepted
        .iter()
        .map(|a| a.login)
        .chain(w.rp.rejected.iter().map(|r| r.login))
}

/// Whether the relying party judged a login on evidence that gave (rejected) or should have
/// given (accepted on evidence produced then) its certificate this status.
fn judged_with_status(w: &World<'_>, status: CertStatus) -> bool {
    w.rp.rejected.iter().any(|r| r.status == status)
        || w.rp.accepted.iter().any(|a| {
            w.ca.record(a.serial)
                .and_then(|r| r.status_at(a.evidence_at))
                .is_some_and(|s| s == status)
        })
}

fn judged_revoked(_cfg: &Config, w: &World<'_>) -> bool {
    judged_with_status(w, CertStatus::Revoked)
}

fn judged_suspended(_cfg: &Config, w: &World<'_>) -> bool {
    judged_with_status(w, CertStatus::Suspended)
}

fn undesignated_se_named(cfg: &Config, w: &World<'_>) -> bool {
    let designated = |person, app, se| {
        w.applicant(person)
            .is_some_and(|a| a.applications.contains(&(app, se)))
    };
    w.in_flight_routed(cfg).any(|(_, to, m)| match (to, m) {
        (_, Msg::Apply(a)) => !designated(a.person, a.app, a.se),
        (Party::Se(se), Msg::Install { person, app }) => !designated(*person, *app, se),
        _ => false,
    })
}

fn issue_under_bad_card_or_no_application(_cfg: &Config, w: &World<'_>) -> bool {
    w.in_flight().any(|m| match m {
        Msg::IssueCert {
            person, app, card, ..
        } => {
            let card_valid =
                w.ca.record(*card)
                    .is_some_and(|r| r.status() == CertStatus::Valid);
            let applied = w
                .applicant(*person)
                .is_some_and(|a| a.applications.iter().any(|(n, _)| n == app));
            !card_valid || !applied
        }
        _ => false,
    })
}

fn card_went_bad_under_a_live_phone_cert(_cfg: &Config, w: &World<'_>) -> bool {
    phone_certs(w).any(|r| {
        let Some(card) = r.linked_card.and_then(|c| w.ca.record(c)) else {
            return false;
        };
        let went_bad = card.history.iter().find(|(_, s)| *s != CertStatus::Valid);
        went_bad.is_some_and(|(at, _)| r.status_at(*at).is_some_and(CertStatus::is_live))
    })
}

fn pin_tried_after_lockout(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses().any(|se| se.ghost_tried_after_lockout)
}

fn a_certificate_issued(cfg: &Config, w: &World<'_>) -> bool {
    w.ca.certs.len() > usize::from(cfg.persons)
}

fn key_generated_in_an_se(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses().any(|se| matches!(se.key, Some(KeyName::Se { .. })))
}

fn centre_key_in_flight(_cfg: &Config, w: &World<'_>) -> bool {
    w.in_flight()
        .any(|m| matches!(private_key_in(m), Some(KeyName::Center { .. })))
}

fn se_learned_revocation(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses().any(|se| se.learned_revoked)
}

fn installation_through_the_mvno(cfg: &Config, w: &World<'_>) -> bool {
    w.in_flight_routed(cfg).any(|(_, to, m)| {
        matches!(
            (to, m),
            (Party::Mvno, Msg::InstallApplet { .. }) | (_, Msg::AuthoriseInstall { .. })
        )
    })
}

fn login_from_retired_sim_judged(_cfg: &Config, w: &World<'_>) -> bool {
    let pending = w.rp.pending.iter().map(|(l, _)| *l);
    decisions(w)
        .chain(pending)
        .any(|l| login_is(w, l, |r| r.after_retirement))
}

fn stolen_login_judged_after_report(_cfg: &Config, w: &World<'_>) -> bool {
    let rejected_as_lost = w.rp.rejected.iter().any(|r| {
        r.status == CertStatus::Suspended
            && login_is(w, r.login, |l| l.by_thief)
            && w.ca.loss_cases.iter().any(|c| c.person == r.login.person)
    });
    let accepted_after = w.rp.accepted.iter().any(|a| {
        login_is(w, a.login, |l| l.by_thief) && reported_lost_at(w, a.login, a.evidence_at)
    });
    rejected_as_lost || accepted_after
}

fn revocation_not_signed_by_its_phone(_cfg: &Config, w: &World<'_>) -> bool {
    w.in_flight()
        .any(|m| matches!(m, Msg::RevokeFromPhone { cert, sig } if sig.signer != cert.key.0))
}

fn status_answer_for_another_request(_cfg: &Config, w: &World<'_>) -> bool {
    w.in_flight().any(|m| match m {
        Msg::StatusResponse {
            login,
            evidence: StatusEvidence::Ocsp { nonce, .. },
        } => *nonce != Some(*login),
        _ => false,
    })
}

// ---- recovery (quiescence) ------------------------------------------------------------------

fn issuance_settles(cfg: &Config, w: &World<'_>) -> bool {
    !w.settled(cfg) || w.sp_tsm.persons.iter().all(|r| r.in_flight.is_none())
}

fn settled_after_an_application(cfg: &Config, w: &World<'_>) -> bool {
    w.settled(cfg) && w.sp_tsm.persons.iter().any(|r| r.last_app.is_some())
}

/// An SE in service whose applet was installed and never got its certificate.
fn awaiting_certificate<'a>(
    w: &'a World<'_>,
) -> impl Iterator<Item = &'a jpkisim_model::se::SeState> + 'a {
    w.ses().filter(|se| {
        se.applet.is_some_and(|a| a.life == Lifecycle::Installed)
            && w.se_tsm.service.get(usize::from(se.id.0)) == Some(&Service::Active)
    })
}

fn no_se_half_personalised(cfg: &Config, w: &World<'_>) -> bool {
    !w.settled(cfg)
        || awaiting_certificate(w).all(|se| {
            se.applet
                .is_some_and(|a| w.ca.refused.binary_search(&(a.person, a.app)).is_ok())
        })
}

fn settled_with_an_se_awaiting_its_certificate(cfg: &Config, w: &World<'_>) -> bool {
    w.settled(cfg) && awaiting_certificate(w).next().is_some()
}

fn issued_certificates_accounted(cfg: &Config, w: &World<'_>) -> bool {
    !w.settled(cfg)
        || phone_certs(w).filter(|r| r.status().is_live()).all(|r| {
            match (r.se().and_then(|se| w.se(se)), r.cert.subject) {
                (Some(se), Subject::Phone { app, .. }) => {
                    se.cert == Some(r.cert)
                        // The person applied again on the same SE, whose new applet replaced
                        // this one (docs/recovery.md: a re-application that is then aborted
                        // leaves the old certificate live without its key).
                        || se.applet.is_some_and(|a| a.app > app)
                }
                _ => false,
            }
        })
}

fn settled_after_an_issuance(cfg: &Config, w: &World<'_>) -> bool {
    w.settled(cfg) && phone_certs(w).next().is_some()
}

fn retirement_settles(cfg: &Config, w: &World<'_>) -> bool {
    !w.settled(cfg)
        || !w
            .se_tsm
            .service
            .iter()
            .any(|s| matches!(s, Service::Retiring(_)))
}

fn settled_after_a_retirement(cfg: &Config, w: &World<'_>) -> bool {
    w.settled(cfg)
        && w.se_tsm
            .service
            .iter()
            .any(|s| matches!(s, Service::Retiring(_) | Service::Retired(_)))
}

fn one_certificate_per_application(_cfg: &Config, w: &World<'_>) -> bool {
    let mut apps: Vec<_> = phone_certs(w)
        .filter_map(|r| match r.cert.subject {
            Subject::Phone { person, app, .. } => Some((person, app)),
            Subject::Card { .. } => None,
        })
        .collect();
    let n = apps.len();
    apps.sort_unstable();
    apps.dedup();
    apps.len() == n
}

fn a_phone_certificate_issued(_cfg: &Config, w: &World<'_>) -> bool {
    phone_certs(w).next().is_some()
}

// ---- reachability -------------------------------------------------------------------------

fn issued(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses().any(|se| se.usable())
}

fn device_changed(_cfg: &Config, w: &World<'_>) -> bool {
    w.applicants().any(|a| {
        let certs: Vec<_> = w.ca.phone_certs_of(a.person).collect();
        certs.iter().any(|old| {
            old.status() == CertStatus::Revoked
                && certs
                    .iter()
                    .any(|new| new.status() == CertStatus::Valid && new.se() != old.se())
        })
    })
}

fn new_phone_after_loss(_cfg: &Config, w: &World<'_>) -> bool {
    w.applicants().any(|a| {
        // Without a card event (renewing or losing the card revokes everything by cascade: a trip
        // to the municipal office, not a device change) and without any request from a phone
        // (a revocation sent from the old phone before it was stolen is the old phone's help).
        let stolen_suspended = |se| {
            w.ca.phone_certs_of(a.person).any(|r| {
                r.se() == Some(se)
                    && r.status() == CertStatus::Revoked
                    && r.history.iter().any(|(_, s)| *s == CertStatus::Suspended)
            })
        };
        a.used.card_events == 0
            && a.used.device_events == 0
            && a.devices
                .iter()
                .filter(|d| d.holder == Holder::Thief)
                .any(|d| {
                    stolen_suspended(d.se)
                        && w.ca.phone_certs_of(a.person).any(|r| {
                            r.status() == CertStatus::Valid && r.se().is_some_and(|s| s != d.se)
                        })
                })
    })
}

fn lost_and_suspended(_cfg: &Config, w: &World<'_>) -> bool {
    phone_certs(w).any(|r| r.status() == CertStatus::Suspended)
}

fn unsuspended(_cfg: &Config, w: &World<'_>) -> bool {
    phone_certs(w).any(|r| {
        r.history
            .windows(2)
            .any(|p| p[0].1 == CertStatus::Suspended && p[1].1 == CertStatus::Valid)
    })
}

fn card_revoked_and_cascaded(_cfg: &Config, w: &World<'_>) -> bool {
    phone_certs(w).any(|r| {
        r.status() == CertStatus::Revoked
            && r.linked_card
                .and_then(|c| w.ca.record(c))
                .is_some_and(|card| card.status() == CertStatus::Revoked)
    })
}

fn rp_accepted(_cfg: &Config, w: &World<'_>) -> bool {
    !w.rp.accepted.is_empty()
}

fn pin_blocked(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses()
        .any(|se| se.applet.is_some() && se.pin_tries_left == 0)
}

fn sim_moved_still_usable(_cfg: &Config, w: &World<'_>) -> bool {
    w.rp.accepted
        .iter()
        .any(|acc| login_is(w, acc.login, |l| l.after_move))
}

fn carrier_switched_and_reissued(cfg: &Config, w: &World<'_>) -> bool {
    w.ses()
        .any(|se| !cfg.initially_active(se.id) && se.usable())
}

fn old_se_wiped(_cfg: &Config, w: &World<'_>) -> bool {
    w.ses()
        .any(|se| se.learned_revoked && se.applet.is_some_and(|a| a.life == Lifecycle::Deleted))
}

fn retired_sim_login_rejected(_cfg: &Config, w: &World<'_>) -> bool {
    w.rp.rejected
        .iter()
        .any(|r| login_is(w, r.login, |l| l.after_retirement))
}

fn thief_accepted_before_report(_cfg: &Config, w: &World<'_>) -> bool {
    w.rp.accepted.iter().any(|acc| {
        login_is(w, acc.login, |l| l.by_thief) && !reported_lost_at(w, acc.login, acc.evidence_at)
    })
}

fn mvno_issued(cfg: &Config, w: &World<'_>) -> bool {
    cfg.carrier == Carrier::Mvno && issued(cfg, w)
}

macro_rules! catalogue {
    ($($kind:ident $id:ident ($applies:path) $([$trig:ident: $tsum:literal])?:
        $summary:literal; $source:literal;)*) => {
        /// Wrappers in the `fn` form Stateright needs (its conditions cannot capture anything).
        mod stateright_form {
            use super::*;
            $(
                pub(super) fn $id(m: &JpkiModel, s: &JpkiState) -> bool {
                    World::of(s).is_some_and(|w| super::$id(&m.cfg, &w))
                }
                $(
                    pub(super) fn $trig(m: &JpkiModel, s: &JpkiState) -> bool {
                        World::of(s).is_some_and(|w| super::$trig(&m.cfg, &w))
                    }
                )?
            )*
        }

        /// Each safety property's trigger as a reachability property (`<id>.trigger`), the
        /// target an exploration searches for.
        pub mod trigger_targets {
            #![allow(non_upper_case_globals)]
            use super::*;
            $($(
                /// The trigger of the property of the same name.
                pub const $id: PropertyDef = PropertyDef {
                    id: concat!(stringify!($id), ".trigger"),
                    kind: Kind::Sometimes,
                    summary: $tsum,
                    source: $source,
                    applies: $applies,
                    condition: super::$trig,
                    stateright: super::stateright_form::$trig,
                    trigger: None,
                };
            )?)*
        }

        /// Every property, safety first, in catalogue order.
        pub const ALL: &[PropertyDef] = &[$(
            PropertyDef {
                id: stringify!($id),
                kind: Kind::$kind,
                summary: $summary,
                source: $source,
                applies: $applies,
                condition: $id,
                stateright: stateright_form::$id,
                trigger: catalogue!(@trigger $id $($trig $tsum)?),
            },
        )*];
    };
    (@trigger $id:ident) => { None };
    (@trigger $id:ident $trig:ident $tsum:literal) => {
        Some(Trigger { summary: $tsum, target: &trigger_targets::$id })
    };
}

catalogue! {
    Always no_double_issuance (always_applies)
        [a_second_certificate_issued: "A person is issued a second phone certificate."]:
        "At most one usable (valid or suspended) phone certificate per person at any time.";
        "Seed 004 / lifecycle: one device per person; issuance on a new phone revokes the previous one, and even a first issuance must check that nothing is issued yet (no double issuance).";
    Always revoked_never_accepted (always_applies)
        [judged_revoked: "The relying party judges a login on evidence produced while its certificate was revoked."]:
        "No relying party accepts a login on status evidence obtained when the certificate was already revoked.";
        "Seed 002: only the CRL/OCSP status counts as revocation; relying parties must see it.";
    Always suspended_never_accepted (always_applies)
        [judged_suspended: "The relying party judges a login on evidence produced while its certificate was suspended."]:
        "No relying party accepts a login on status evidence obtained while the certificate was suspended.";
        "Seed 004 / lifecycle: after a reported loss the certificates are suspended (24-hour hotline).";
    Always key_only_in_designated_se (always_applies)
        [undesignated_se_named: "An application or an installation names an SE its application did not designate (a thief's retargeted application, a forged installation)."]:
        "A personalised key for a person sits only in an SE that person designated in an application.";
        "Seed 003 open question: how to make sure the applet goes only to the terminal the applicant designated.";
    Always issuance_requires_valid_card_application (always_applies)
        [issue_under_bad_card_or_no_application: "An issue request is on its way to the CA under a card certificate no longer valid, or for an application the person never made."]:
        "Every phone certificate answers an application the person made, signed with a card certificate valid at issuance.";
        "Seed 004 / lifecycle: the application is signed online with the card's signing certificate.";
    Always card_revocation_cascades (always_applies)
        [card_went_bad_under_a_live_phone_cert: "A card certificate is revoked or expires while a phone certificate issued under it is usable."]:
        "When a card certificate is revoked or expires, no phone certificate issued under it stays usable.";
        "Seed 003 (linkage of card and phone certificates); lifecycle: phone certificates expire with the card's, renewal needs a new application.";
    Always pin_lockout (pin_budget_past_lockout)
        [pin_tried_after_lockout: "A PIN is entered after three consecutive wrong ones."]:
        "After 3 consecutive wrong auth PINs an SE signs nothing until it is re-personalised.";
        "Seed 003 open question: PIN forgotten or locked; the card's auth PIN blocks after 3 tries (docs/applet.md).";
    Always distinct_serials (always_applies)
        [a_certificate_issued: "The CA issues a certificate besides the cards it started with."]:
        "No two certificates, card or phone, share a serial number.";
        "Lifecycle: phone certificates must be distinguishable from card certificates (own serials).";
    Always private_key_never_leaves_se (keys_on_se)
        [key_generated_in_an_se: "An SE generates a key pair."]:
        "A key generated in an SE stays in that SE and never travels in a message.";
        "Seed 003 open question: key pair generated in the SIM (on-SE mode); lifecycle: the card's keys never leave the card.";
    Always center_key_only_encrypted (keys_at_center)
        [centre_key_in_flight: "A key J-LIS generated is on its way to an SE."]:
        "No private key ever travels in the clear (centre-generated keys go sealed for their SE).";
        "Seed 003: key generated at J-LIS and downloaded through the secure channel plus SP content encryption.";
    Always old_se_wiped_after_boot (always_applies)
        [se_learned_revocation: "An SE learns on boot that its certificate is revoked."]:
        "An SE that learned on boot that its certificate is revoked no longer holds the key.";
        "Seed 004 / lifecycle: if the old phone comes online later, its SE deletes the key and certificate when it boots.";
    Always applet_only_via_authorised_tsm (mvno_path)
        [installation_through_the_mvno: "An installation is asked of the MVNO, which holds no issuer keys."]:
        "Every applet instance was installed by the SE issuer's TSM (for MVNO subscribers, on the authorised MVNO's request).";
        "Seed 000: the SIM belongs to the host MNO and the MVNO has no TSM, so the MVNO path needs the host MNO's TSM and its authorisation.";
    Always disposed_se_never_accepted (sim_only)
        [login_from_retired_sim_judged: "A login from a SIM taken out of service reaches the relying party."]:
        "No login started from a SIM after it was taken out of service (ported or disposed) is accepted.";
        "Seed 003 open questions: moving the function between SIMs (MNO and MVNO included) and SIM disposal.";
    Always stolen_se_unusable_after_report (thief_knows_pin)
        [stolen_login_judged_after_report: "The relying party judges a thief's login on evidence produced after the owner reported the loss."]:
        "No login from a stolen SE is accepted on status evidence produced after the owner reported the loss (until the phone is found).";
        "Seed 004 ③: a lost phone is handled with the card, the 24-hour hotline suspends; seed 002: a carrier's stop is not a revocation, only CRL/OCSP status counts.";
    Always phone_revocation_authentic (against_a_network_intruder)
        [revocation_not_signed_by_its_phone: "A request to revoke a certificate, signed with another key than the certificate's, is on its way to the CA."]:
        "A certificate is revoked from a phone only on a request signed with that certificate's own key, inside the SE that holds it.";
        "Seed 004 / lifecycle: revocation from the phone alone, before giving it away.";
    Always status_evidence_fresh (ocsp_against_an_intruder)
        [status_answer_for_another_request: "A status answer made for another request (or for a phone at boot) is delivered for a login."]:
        "A relying party accepts a login on OCSP evidence only if the CA produced it for that login's own request.";
        "Seed 002: only the CRL/OCSP status counts; relying parties pay per OCSP call (lifecycle), so an answer must not be reusable.";
    Always one_certificate_per_application (always_applies)
        [a_phone_certificate_issued: "The CA issues a phone certificate."]:
        "The CA issues at most one certificate per application, however often the request is retried, replayed or the CA restarted.";
        "Seed 004 ③: even a first issuance must check that nothing is issued yet — in the CA's database, which a retry or a restart does not empty.";
    Always issuance_settles (recovering)
        [settled_after_an_application: "The world settles (nothing in flight, no timer armed, nobody down) after the SP-TSM accepted an application."]:
        "Once nothing is in flight, no timer armed and nobody down, no issuance session is left open: every accepted application was issued, refused or aborted.";
        "Issue 16 / seed 004 ③: what happens when a message is lost or a server dies in the middle of an issuance; the session must not wait for good.";
    Always no_se_half_personalised (recovering)
        [settled_with_an_se_awaiting_its_certificate: "The world settles with an SE in service whose applet still waits for its certificate."]:
        "Once the world settles, an SE in service whose applet never got its certificate belongs to an application the CA refused for good.";
        "Issue 16: no SE is left half-personalised by a crash or a lost message without the CA knowing the application is dead.";
    Always issued_certificates_accounted (recovering)
        [settled_after_an_issuance: "The world settles after the CA issued a phone certificate."]:
        "Once the world settles, every usable phone certificate the CA issued is on the SE it names (or that SE was given a newer application's applet).";
        "Issue 16 / seed 004 ③: a certificate issued and forgotten is a live credential nobody holds; the CA's database must match the SEs.";
    Always retirement_settles (recovering_sims)
        [settled_after_a_retirement: "The world settles after a SIM was asked to leave service."]:
        "Once the world settles, no SIM is left half-retired: every SIM asked to leave service has left it, its certificates revoked.";
        "Seed 003: SIM disposal and porting; a lost revocation request must not leave a SIM between services.";
    Sometimes issued (always_applies):
        "Some SE holds a personalised applet with a key and a certificate.";
        "Seed 002 / 004: issuance to the phone.";
    Sometimes device_changed (two_ses):
        "A person's certificate on one SE was revoked by a newer valid one on another SE.";
        "Seed 004: device change from the new phone alone.";
    Sometimes new_phone_after_loss (phone_bound_with_two):
        "A person whose phone was stolen and reported lost holds a valid certificate on another phone, without renewing their card or any request from the old phone.";
        "Seed 004 lifecycle ① and ③: device change must not need the old phone, which a person who lost it no longer has.";
    Sometimes lost_and_suspended (always_applies):
        "A phone certificate is suspended after a reported loss.";
        "Seed 004: loss handled with the card; the hotline suspends.";
    Sometimes unsuspended (always_applies):
        "A suspended phone certificate became valid again.";
        "Seed 004: if the phone is found, the authentication certificate is unsuspended.";
    Sometimes card_revoked_and_cascaded (always_applies):
        "A card certificate is revoked and a phone certificate linked to it is revoked too.";
        "Lifecycle: validity tied to the card.";
    Sometimes rp_accepted (always_applies):
        "A relying party accepted a login.";
        "Seed 002: the phone is used for user authentication to services.";
    Sometimes pin_blocked (always_applies):
        "An SE's auth PIN is blocked.";
        "Seed 003: PIN forgotten or locked.";
    Sometimes mvno_issued (mvno_only):
        "An MVNO subscriber's SIM holds a personalised applet.";
        "Seed 000: MVNO subscribers must be served through the host MNO's TSM.";
    Sometimes sim_moved_still_usable (sim_with_spare):
        "A login from a SIM moved to another phone was accepted (the key travels with the SIM).";
        "Seed 003: the SIM can move between terminals.";
    Sometimes carrier_switched_and_reissued (sim_with_spare):
        "After porting, the new SIM holds a personalised applet.";
        "Seed 003: moving the function between SIMs, MNO and MVNO included.";
    Sometimes old_se_wiped (two_ses):
        "An old SE wiped its key after learning on boot that its certificate was revoked.";
        "Seed 004: the old phone deletes key and certificate when it boots.";
    Sometimes retired_sim_login_rejected (sim_only):
        "A login from a SIM taken out of service was rejected.";
        "Seed 003: SIM disposal.";
    Sometimes thief_accepted_before_report (thief_knows_pin):
        "A thief who knows the PIN logs in with the stolen phone and is accepted before the owner's loss report takes effect: the window the protocol cannot close.";
        "Seed 004 ③: the phone is stolen before the owner can call the hotline.";
}

/// The property with this id.
pub fn by_id(id: &str) -> Option<&'static PropertyDef> {
    ALL.iter().find(|p| p.id == id)
}

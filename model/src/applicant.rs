//! The applicant: a person with their My Number card, their phones (each with an SE) and the JPKI
//! UI app, together with what can happen to them — a thief taking a phone, a lost card, porting
//! a number. Every nondeterministic choice of the environment is made here, within the budgets.
//!
//! The choices are the lifecycle of seed 004 and the SIM plan's open questions (seed 003): apply
//! (card-signed, designating one SE), change device by applying from the new one, report a loss,
//! unsuspend, revoke from the phone, log in with a right or wrong PIN, renew or lose the card, and
//! on a SIM move it to another phone, port the number to a new SIM, or dispose of it.

use crate::config::{Budgets, Medium, Thief};
use crate::crypto::{Certificate, Crypto};
use crate::ids::{AppNo, LoginId, Party, PersonId, SeId};
use crate::msg::{Application, CardEventKind, Msg, Retirement};
use crate::se_tsm::Service;
use crate::sp_tsm::{application_digest, application_key};
use crate::transition::{pure, Ctx, Outbox, Step};
use serde::{Deserialize, Serialize};

/// Who physically holds a phone (and so its SE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Holder {
    /// The person.
    Owner,
    /// A thief: one who only guesses the PIN, or one who saw it typed (`Config::thief`).
    Thief,
}

/// One of the person's SEs as the person sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Device {
    /// The SE.
    pub se: SeId,
    /// Who holds it.
    pub holder: Holder,
    /// Which of the person's phones it sits in (a SIM can move; a GP-SE cannot).
    pub phone: u8,
    /// Whether the SIM was moved to another phone.
    pub moved: bool,
    /// Service state as the person knows it.
    pub service: Service,
}

/// A login the person (or a thief with their phone) started with the right PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LoginRecord {
    /// The login.
    pub login: LoginId,
    /// From which SE.
    pub se: SeId,
    /// Whether the SE had been taken out of service (and left the person's hands) before.
    pub after_retirement: bool,
    /// Whether the SIM had been moved to another phone before.
    pub after_move: bool,
    /// Whether a thief started it, with the phone taken and the PIN known.
    pub by_thief: bool,
}

/// How much of each budget this person has used.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Used {
    /// Applications sent (including retries).
    pub applications: u8,
    /// Phones stolen.
    pub thefts: u8,
    /// PIN entries.
    pub pin_entries: u8,
    /// Card events.
    pub card_events: u8,
    /// SIM moves, ports, disposals.
    pub sim_events: u8,
    /// Revocations from the phone and boots.
    pub device_events: u8,
}

impl Used {
    /// Total of counted choices.
    pub fn events(&self) -> u8 {
        self.applications
            + self.thefts
            + self.pin_entries
            + self.card_events
            + self.sim_events
            + self.device_events
    }
}

/// The applicant's state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ApplicantState {
    /// Who.
    pub person: PersonId,
    /// The card's signing certificate while the person has a usable card.
    pub card: Option<Certificate>,
    /// Applications made, with the SE each designated.
    pub applications: Vec<(AppNo, SeId)>,
    /// The last application sent (the UI app keeps it for retries).
    pub last_application: Option<Application>,
    /// The person's SEs.
    pub devices: Vec<Device>,
    /// A loss was reported to the hotline.
    pub loss_reported: bool,
    /// Unsuspension was asked for.
    pub unsuspend_asked: bool,
    /// The thief already replayed an application.
    pub thief_replayed: bool,
    /// Next login number.
    pub next_login: u8,
    /// Logins started with the right PIN.
    pub logins: Vec<LoginRecord>,
    /// Budget used.
    pub used: Used,
}

/// A choice of the person or of the world around them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Choice {
    /// Apply for a phone certificate on `se` (also: change device, from the new device only).
    Apply {
        /// The designated SE.
        se: SeId,
    },
    /// Send the last application again (retry after a lost message).
    Reapply,
    /// Log in to the relying party from `se`.
    Login {
        /// From which SE.
        se: SeId,
        /// Right or wrong PIN.
        pin_correct: bool,
    },
    /// A thief steals the phone holding `se`.
    Steal {
        /// The SE stolen.
        se: SeId,
    },
    /// The thief guesses the PIN (wrongly).
    ThiefGuessesPin {
        /// The stolen SE.
        se: SeId,
    },
    /// The thief, who saw the PIN typed, logs in to the relying party with the stolen phone.
    ThiefLogin {
        /// The stolen SE.
        se: SeId,
    },
    /// The thief re-sends the person's last application, designating the stolen SE instead.
    ThiefRetargetsApplication {
        /// The stolen SE.
        se: SeId,
    },
    /// Report the loss to the hotline (suspends the phone certificates).
    ReportLoss,
    /// The stolen phone is found again.
    PhoneFound {
        /// The SE recovered.
        se: SeId,
    },
    /// Ask for the phone certificate to be unsuspended.
    Unsuspend,
    /// Something happens to the card.
    Card(CardEventKind),
    /// Move the SIM to the person's other phone.
    MoveSim {
        /// The SIM.
        se: SeId,
    },
    /// Take the SIM out of service (port the number, or dispose of it).
    RetireSim {
        /// The SIM.
        se: SeId,
        /// How.
        why: Retirement,
    },
    /// Revoke the certificate from the phone (before giving it away).
    RevokeFromPhone {
        /// The SE.
        se: SeId,
    },
    /// Power on the phone holding `se` again (an old phone coming back online, or a thief
    /// switching on a stolen one).
    Boot {
        /// The SE.
        se: SeId,
    },
}

/// Initial state: the person holds their card and their phones.
pub fn init<C: Crypto>(
    ctx: &Ctx<'_, C>,
    person: PersonId,
    card: Option<Certificate>,
) -> ApplicantState {
    ApplicantState {
        person,
        card,
        applications: Vec::new(),
        last_application: None,
        devices: ctx
            .cfg
            .ses_of(person)
            .enumerate()
            .map(|(i, se)| Device {
                se,
                holder: Holder::Owner,
                phone: u8::try_from(i).unwrap_or(0),
                moved: false,
                service: if ctx.cfg.initially_active(se) {
                    Service::Active
                } else {
                    Service::Spare
                },
            })
            .collect(),
        loss_reported: false,
        unsuspend_asked: false,
        thief_replayed: false,
        next_login: 0,
        logins: Vec::new(),
        used: Used::default(),
    }
}

fn within(used: u8, budget: u8) -> bool {
    used < budget
}

/// The choices enabled in `state`, in a fixed order.
pub fn choices<C: Crypto>(ctx: &Ctx<'_, C>, s: &ApplicantState) -> Vec<Choice> {
    let b: &Budgets = &ctx.cfg.budgets;
    let u = &s.used;
    // Room for every choice at once: growing the list one push at a time was a fifth of a model
    // check's instructions (docs/performance.md).
    let mut v = Vec::with_capacity(32);
    if u.events() >= b.events {
        // Only the follow-ups of a theft, which are not counted, remain.
        follow_ups(s, &mut v);
        return v;
    }
    let owned = |d: &&Device| d.holder == Holder::Owner;
    let active = |d: &&Device| d.service == Service::Active;
    if s.card.is_some() && within(u.applications, b.applications) {
        for d in s.devices.iter().filter(owned).filter(active) {
            v.push(Choice::Apply { se: d.se });
        }
        if s.last_application.is_some() && ctx.cfg.network.lossy {
            v.push(Choice::Reapply);
        }
    }
    if within(u.pin_entries, b.pin_entries) {
        for d in s.devices.iter() {
            let with_person = d.holder == Holder::Owner
                && matches!(
                    d.service,
                    Service::Active
                        | Service::Retired(Retirement::Disposed | Retirement::PortedDisposed)
                );
            if with_person {
                v.push(Choice::Login {
                    se: d.se,
                    pin_correct: true,
                });
                v.push(Choice::Login {
                    se: d.se,
                    pin_correct: false,
                });
            }
            if d.holder == Holder::Thief {
                v.push(Choice::ThiefGuessesPin { se: d.se });
                if ctx.cfg.thief == Thief::KnowsPin {
                    v.push(Choice::ThiefLogin { se: d.se });
                }
            }
        }
    }
    if within(u.thefts, b.thefts) {
        for d in s.devices.iter().filter(owned).filter(active) {
            v.push(Choice::Steal { se: d.se });
        }
    }
    if s.card.is_some() && within(u.card_events, b.card_events) {
        v.push(Choice::Card(CardEventKind::Lost));
        v.push(Choice::Card(CardEventKind::Renewed));
        v.push(Choice::Card(CardEventKind::Expired));
    }
    if ctx.cfg.medium == Medium::Uicc && within(u.sim_events, b.sim_events) {
        let spare = s.devices.iter().any(|d| d.service == Service::Spare);
        for d in s.devices.iter().filter(owned).filter(active) {
            if ctx.cfg.ses_per_person > 1 {
                v.push(Choice::MoveSim { se: d.se });
            }
            if spare {
                v.push(Choice::RetireSim {
                    se: d.se,
                    why: Retirement::PortedHandedBack,
                });
                v.push(Choice::RetireSim {
                    se: d.se,
                    why: Retirement::PortedDisposed,
                });
            }
            v.push(Choice::RetireSim {
                se: d.se,
                why: Retirement::Disposed,
            });
        }
    }
    if within(u.device_events, b.device_events) {
        for d in s.devices.iter().filter(owned).filter(active) {
            v.push(Choice::RevokeFromPhone { se: d.se });
            v.push(Choice::Boot { se: d.se });
        }
        for d in s.devices.iter().filter(|d| d.holder == Holder::Thief) {
            v.push(Choice::Boot { se: d.se });
        }
    }
    follow_ups(s, &mut v);
    v
}

/// Choices that follow a theft and are bounded by it rather than by a budget.
fn follow_ups(s: &ApplicantState, v: &mut Vec<Choice>) {
    let stolen: Vec<SeId> = s
        .devices
        .iter()
        .filter(|d| d.holder == Holder::Thief)
        .map(|d| d.se)
        .collect();
    for &se in &stolen {
        if !s.thief_replayed && s.last_application.is_some_and(|a| a.se != se) {
            v.push(Choice::ThiefRetargetsApplication { se });
        }
        if s.loss_reported {
            v.push(Choice::PhoneFound { se });
        }
    }
    if !stolen.is_empty() && !s.loss_reported {
        v.push(Choice::ReportLoss);
    }
    if stolen.is_empty() && s.loss_reported && !s.unsuspend_asked {
        v.push(Choice::Unsuspend);
    }
}

/// The applicant's transition on one of its choices. A choice that is not enabled changes nothing.
pub fn on_choice<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &ApplicantState,
    choice: Choice,
) -> Step<ApplicantState> {
    if !choices(ctx, state).contains(&choice) {
        return Step {
            state: state.clone(),
            out: Outbox::default(),
            effect: None,
        };
    }
    pure(state, |s, out| choose(ctx, s, choice, out))
}

fn device(s: &mut ApplicantState, se: SeId) -> Option<&mut Device> {
    s.devices.iter_mut().find(|d| d.se == se)
}

fn choose<C: Crypto>(ctx: &Ctx<'_, C>, s: &mut ApplicantState, choice: Choice, out: &mut Outbox) {
    match choice {
        Choice::Apply { se } => {
            let Some(card) = s.card else { return };
            let app = AppNo(u8::try_from(s.applications.len()).unwrap_or(u8::MAX));
            if card_key(&card).is_none() {
                return;
            }
            // The card's key, or with mail-based proofing the access code mailed for `app`.
            let proof = application_key(ctx, s.person, app, &card).0;
            let digest = application_digest(ctx, s.person, se, app, card.serial);
            let a = Application {
                person: s.person,
                se,
                app,
                card_cert: card,
                sig: ctx.crypto.sign(proof, digest),
            };
            s.applications.push((app, se));
            s.last_application = Some(a);
            s.used.applications += 1;
            out.send(Party::SpTsm, Msg::Apply(a));
        }
        Choice::Reapply => {
            if let Some(a) = s.last_application {
                s.used.applications += 1;
                out.send(Party::SpTsm, Msg::Apply(a));
            }
        }
        Choice::Login { se, pin_correct } => {
            s.used.pin_entries += 1;
            log_in(s, se, pin_correct, out);
        }
        Choice::ThiefLogin { se } => {
            s.used.pin_entries += 1;
            log_in(s, se, true, out);
        }
        Choice::Steal { se } => {
            if let Some(d) = device(s, se) {
                d.holder = Holder::Thief;
            }
            s.used.thefts += 1;
        }
        Choice::ThiefGuessesPin { se } => {
            s.used.pin_entries += 1;
            log_in(s, se, false, out);
        }
        Choice::ThiefRetargetsApplication { se } => {
            if let Some(a) = s.last_application {
                s.thief_replayed = true;
                out.send(Party::SpTsm, Msg::Apply(Application { se, ..a }));
            }
        }
        Choice::ReportLoss => {
            s.loss_reported = true;
            let ses = s
                .devices
                .iter()
                .filter(|d| d.holder == Holder::Thief)
                .map(|d| d.se)
                .collect();
            out.send(
                Party::Ca,
                Msg::ReportLoss {
                    person: s.person,
                    case: s.used.thefts,
                    ses,
                },
            );
        }
        Choice::PhoneFound { se } => {
            if let Some(d) = device(s, se) {
                d.holder = Holder::Owner;
            }
        }
        Choice::Unsuspend => {
            s.unsuspend_asked = true;
            out.send(
                Party::Ca,
                Msg::Unsuspend {
                    person: s.person,
                    case: s.used.thefts,
                },
            );
        }
        Choice::Card(event) => {
            let Some(crate::crypto::Subject::Card { gen, .. }) = s.card.map(|c| c.subject) else {
                return;
            };
            s.card = None;
            s.used.card_events += 1;
            out.send(
                Party::Ca,
                Msg::CardEvent {
                    person: s.person,
                    gen,
                    event,
                },
            );
        }
        Choice::MoveSim { se } => {
            let phones = ctx.cfg.ses_per_person;
            if let Some(d) = device(s, se) {
                d.phone = (d.phone + 1) % phones;
                d.moved = true;
            }
            s.used.sim_events += 1;
        }
        Choice::RetireSim { se, why } => {
            let replacement = match why {
                Retirement::Disposed => None,
                Retirement::PortedHandedBack | Retirement::PortedDisposed => s
                    .devices
                    .iter()
                    .find(|d| d.service == Service::Spare)
                    .map(|d| d.se),
            };
            if let Some(new) = replacement.and_then(|n| device(s, n)) {
                new.service = Service::Active;
            }
            if let Some(d) = device(s, se) {
                d.service = Service::Retiring(why);
            }
            s.used.sim_events += 1;
            out.send(
                Party::SeTsm,
                Msg::RetireSim {
                    se,
                    replacement,
                    why,
                },
            );
        }
        Choice::RevokeFromPhone { se } => {
            s.used.device_events += 1;
            out.send(Party::Se(se), Msg::SignRevocation);
        }
        Choice::Boot { se } => {
            s.used.device_events += 1;
            out.send(Party::Se(se), Msg::Boot);
        }
    }
}

/// A login from `se` with the right or wrong PIN, by whoever holds the phone (the caller counts
/// it against the budget it belongs to).
fn log_in(s: &mut ApplicantState, se: SeId, pin_correct: bool, out: &mut Outbox) {
    let login = LoginId {
        person: s.person,
        n: s.next_login,
    };
    s.next_login += 1;
    if pin_correct {
        let d = s.devices.iter().find(|d| d.se == se).copied();
        s.logins.push(LoginRecord {
            login,
            se,
            after_retirement: d.is_some_and(|d| matches!(d.service, Service::Retired(_))),
            after_move: d.is_some_and(|d| d.moved),
            by_thief: d.is_some_and(|d| d.holder == Holder::Thief),
        });
    }
    out.send(Party::Se(se), Msg::Authenticate { login, pin_correct });
}

fn card_key(card: &Certificate) -> Option<crate::crypto::KeyName> {
    match card.key.0 {
        k @ crate::crypto::KeyName::Card { .. } => Some(k),
        _ => None,
    }
}

/// The applicant's transition on a delivered message.
pub fn on_msg<C: Crypto>(
    _ctx: &Ctx<'_, C>,
    state: &ApplicantState,
    from: Party,
    msg: &Msg,
) -> Step<ApplicantState> {
    pure(state, |s, _| match *msg {
        Msg::SimRetired { se } if from == Party::SeTsm => {
            if let Some(d) = device(s, se) {
                if let Service::Retiring(why) = d.service {
                    d.service = Service::Retired(why);
                }
            }
        }
        Msg::CardIssued { cert } if from == Party::Ca => {
            if matches!(cert.subject, crate::crypto::Subject::Card { person, .. } if person == s.person)
            {
                s.card = Some(cert);
            }
        }
        _ => {}
    })
}

//! The SE issuer's TSM: the carrier's MNO-TSM for a SIM, or the SEI-TSM for a phone's GP-SE.
//!
//! It holds the issuer security domain keys of every SE it manages, knows which SE belongs to whom
//! and whether it is in service, installs the JPKI applet on J-LIS's request (or, for an MVNO's
//! subscriber, on the authorised MVNO's request: seed 000), and takes SIMs out of service on
//! porting or disposal, having J-LIS revoke what was bound to them first.
//!
//! Where timers are armed, a SIM leaving service keeps a timer that re-sends the revocation
//! request until the CA confirms it: a SIM is never left half-retired (docs/recovery.md).

use crate::config::Flaw;
use crate::crypto::Crypto;
use crate::ids::{AppNo, Party, PersonId, SeId};
use crate::msg::{Msg, Retirement};
use crate::transition::{pure, Ctx, Outbox, Step};
use serde::{Deserialize, Serialize};

/// Service state of one SE, as its issuer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Service {
    /// In service.
    Active,
    /// A blank SIM not yet in service (handed out on porting).
    Spare,
    /// Leaving service: waiting for J-LIS to confirm revocation.
    Retiring(Retirement),
    /// Out of service.
    Retired(Retirement),
}

/// The SE-TSM's state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeTsmState {
    /// Indexed by SE.
    pub service: Vec<Service>,
}

/// Initial state from the configuration.
pub fn init<C: Crypto>(ctx: &Ctx<'_, C>) -> SeTsmState {
    SeTsmState {
        service: ctx
            .cfg
            .all_ses()
            .map(|se| {
                if ctx.cfg.initially_active(se) {
                    Service::Active
                } else {
                    Service::Spare
                }
            })
            .collect(),
    }
}

/// The SE-TSM's transition on a delivered message.
pub fn on_msg<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &SeTsmState,
    from: Party,
    msg: &Msg,
) -> Step<SeTsmState> {
    pure(state, |tsm, out| handle(ctx, tsm, from, msg, out))
}

fn handle<C: Crypto>(
    ctx: &Ctx<'_, C>,
    tsm: &mut SeTsmState,
    from: Party,
    msg: &Msg,
    out: &mut Outbox,
) {
    match *msg {
        // J-LIS asks directly for its MNO/GP-SE users; an authorised MVNO asks for its subscribers.
        Msg::InstallApplet { person, se, app } if from == Party::SpTsm => {
            install(ctx, tsm, person, se, app, out)
        }
        Msg::AuthoriseInstall { person, se, app } if from == Party::Mvno => {
            install(ctx, tsm, person, se, app, out)
        }
        Msg::RetireSim {
            se,
            replacement,
            why,
        } if from == Party::Applicant(ctx.cfg.owner_of(se)) => {
            let Some(Service::Active) = tsm.service.get(usize::from(se.0)).copied() else {
                return;
            };
            if let Some(new) = replacement {
                match tsm.service.get_mut(usize::from(new.0)) {
                    Some(s @ Service::Spare) if ctx.cfg.owner_of(new) == ctx.cfg.owner_of(se) => {
                        *s = Service::Active
                    }
                    _ => return,
                }
            }
            if ctx.flawed(Flaw::NoRevokeOnCarrierSwitch) {
                tsm.service[usize::from(se.0)] = Service::Retiring(why);
                retired(ctx, tsm, se, out);
            } else {
                tsm.service[usize::from(se.0)] = Service::Retiring(why);
                out.send(Party::Ca, Msg::RevokeForSe { se });
            }
        }
        Msg::SeRevoked { se } if from == Party::Ca => retired(ctx, tsm, se, out),
        _ => {}
    }
}

/// The SE-TSM's transition when the retirement timer of `se` fires: ask the CA again.
pub fn on_timeout<C: Crypto>(ctx: &Ctx<'_, C>, state: &SeTsmState, se: SeId) -> Step<SeTsmState> {
    pure(state, |tsm, out| {
        if retry_armed(ctx, tsm, se) {
            out.send(Party::Ca, Msg::RevokeForSe { se });
        }
    })
}

fn retry_armed<C: Crypto>(ctx: &Ctx<'_, C>, tsm: &SeTsmState, se: SeId) -> bool {
    !ctx.flawed(Flaw::SeTsmNeverRetries)
        && matches!(
            tsm.service.get(usize::from(se.0)),
            Some(Service::Retiring(_))
        )
}

/// The SEs whose retirement timer is armed in `state` (where timers are armed at all).
pub fn armed_timers<'a, C: Crypto>(
    ctx: &'a Ctx<'_, C>,
    state: &'a SeTsmState,
) -> impl Iterator<Item = SeId> + 'a {
    ctx.cfg.all_ses().filter(|se| retry_armed(ctx, state, *se))
}

fn install<C: Crypto>(
    ctx: &Ctx<'_, C>,
    tsm: &mut SeTsmState,
    person: PersonId,
    se: SeId,
    app: AppNo,
    out: &mut Outbox,
) {
    let in_service = tsm.service.get(usize::from(se.0)) == Some(&Service::Active);
    if in_service && ctx.cfg.owner_of(se) == person {
        out.send(Party::Se(se), Msg::Install { person, app });
    } else {
        out.send(Party::SpTsm, Msg::InstallRefused { person, app });
    }
}

fn retired<C: Crypto>(ctx: &Ctx<'_, C>, tsm: &mut SeTsmState, se: SeId, out: &mut Outbox) {
    let Some(slot) = tsm.service.get_mut(usize::from(se.0)) else {
        return;
    };
    let Service::Retiring(why) = *slot else {
        return;
    };
    *slot = Service::Retired(why);
    out.send(
        Party::Applicant(ctx.cfg.owner_of(se)),
        Msg::SimRetired { se },
    );
    if why == Retirement::PortedHandedBack {
        out.send(Party::Se(se), Msg::LockApplet);
    }
}

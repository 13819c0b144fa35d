//! A mobile virtual network operator: it has subscribers but no TSM, so it asks the host MNO's
//! TSM (which has authorised it) to install the applet on its subscribers' SIMs (seed 000).
//!
//! It keeps no state. In the flawed variant it holds the SIMs' issuer keys itself and installs
//! directly, bypassing the host MNO.

use crate::config::Flaw;
use crate::crypto::Crypto;
use crate::ids::Party;
use crate::msg::Msg;
use crate::transition::{pure, Ctx, Step};

/// The MVNO has no state of its own.
pub type MvnoState = ();

/// The MVNO's transition on a delivered message.
pub fn on_msg<C: Crypto>(
    ctx: &Ctx<'_, C>,
    state: &MvnoState,
    from: Party,
    msg: &Msg,
) -> Step<MvnoState> {
    pure(state, |_, out| {
        if let (Party::SpTsm, Msg::InstallApplet { person, se, app }) = (from, msg) {
            let (person, se, app) = (*person, *se, *app);
            if ctx.flawed(Flaw::MvnoBypassesHostTsm) {
                out.send(Party::Se(se), Msg::Install { person, app });
            } else {
                out.send(Party::SeTsm, Msg::AuthoriseInstall { person, se, app });
            }
        }
    })
}

//! What every party's transition function shares: its context and its outputs.
//!
//! A transition is `(context, state, input) -> (state, outputs)`. It is pure and total: every
//! input is handled (an input that does not apply leaves the state unchanged and sends nothing),
//! it never panics on what the network delivers, and it has no other effect. The Stateright adapter
//! ([`crate::actors`]) and the reference runtime both call these functions.

use crate::config::{Config, Flaw};
use crate::crypto::Crypto;
use crate::ids::Party;
use crate::msg::Msg;

/// What a transition may consult besides its own state: the configuration and the crypto backend.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a, C: Crypto> {
    /// The model instance.
    pub cfg: &'a Config,
    /// Symbolic in the model checker, real in the reference implementation.
    pub crypto: &'a C,
}

impl<C: Crypto> Ctx<'_, C> {
    /// Whether a deliberate flaw is switched on.
    pub fn flawed(&self, flaw: Flaw) -> bool {
        self.cfg.flaws.has(flaw)
    }
}

/// Messages a transition sends, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbox(pub Vec<(Party, Msg)>);

impl Outbox {
    /// Sends `msg` to `to`.
    pub fn send(&mut self, to: Party, msg: Msg) {
        self.0.push((to, msg));
    }

    /// Whether nothing was sent.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The result of one transition: the next state and what it sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step<S> {
    /// The next state (equal to the previous one when the input did not apply).
    pub state: S,
    /// Messages sent.
    pub out: Outbox,
}

/// Runs an in-place handler on a copy of `state`, giving the pure form `(state, input) -> Step`.
pub(crate) fn pure<S: Clone>(state: &S, handle: impl FnOnce(&mut S, &mut Outbox)) -> Step<S> {
    let mut next = state.clone();
    let mut out = Outbox::default();
    handle(&mut next, &mut out);
    Step { state: next, out }
}

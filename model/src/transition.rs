//! What every party's transition function shares: its context and its outputs.
//!
//! A transition is `(context, state, input) -> (state, outputs, effect)`. It is pure and total:
//! every input is handled (an input that does not apply leaves the state unchanged, sends nothing
//! and has no effect), and it never panics on what the network delivers. The *effect* is what the
//! step asks of the party's hardware — for an SE, the card-level work (install, personalise, check
//! a PIN, sign, wipe) — decided here so that the reference runtime only carries it out. The
//! model checker ignores effects; the Stateright adapter ([`crate::actors`]) and the reference
//! runtime both call these functions.

use crate::config::{Config, Flaw};
use crate::crypto::Crypto;
use crate::ids::Party;
use crate::msg::Msg;
use std::convert::Infallible;

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

/// The result of one transition: the next state, what it sends, and its effect `E` (what the
/// party's hardware must do; `Infallible` for a party whose steps are only state and messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step<S, E = Infallible> {
    /// The next state (equal to the previous one when the input did not apply).
    pub state: S,
    /// Messages sent.
    pub out: Outbox,
    /// What the party's hardware must do (`None` for a step that is only state and messages).
    pub effect: Option<E>,
}

impl<S, E> Step<S, E> {
    /// The same step with its state wrapped (the per-party state into [`crate::PartyState`]).
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Step<T, E> {
        Step {
            state: f(self.state),
            out: self.out,
            effect: self.effect,
        }
    }

    /// The same step with its effect wrapped (a party's effect into [`crate::actors::Effect`]).
    pub fn map_effect<F>(self, f: impl FnOnce(E) -> F) -> Step<S, F> {
        Step {
            state: self.state,
            out: self.out,
            effect: self.effect.map(f),
        }
    }
}

impl<S> Step<S, Infallible> {
    /// A step that has no effect, as a step of a party type that may have one.
    pub fn effectless<F>(self) -> Step<S, F> {
        self.map_effect(|never| match never {})
    }
}

/// Runs an in-place handler on a copy of `state`, giving the pure form `(state, input) -> Step`
/// for a party whose steps have no effect beyond state and messages.
pub(crate) fn pure<S: Clone, E>(state: &S, handle: impl FnOnce(&mut S, &mut Outbox)) -> Step<S, E> {
    pure_with_effect(state, |s, out| {
        handle(s, out);
        None
    })
}

/// [`pure`] for a handler that also names its effect.
pub(crate) fn pure_with_effect<S: Clone, E>(
    state: &S,
    handle: impl FnOnce(&mut S, &mut Outbox) -> Option<E>,
) -> Step<S, E> {
    let mut next = state.clone();
    let mut out = Outbox::default();
    let effect = handle(&mut next, &mut out);
    Step {
        state: next,
        out,
        effect,
    }
}

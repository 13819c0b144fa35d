//! The protocol model of jpkisim: how a JPKI identity gets onto a phone's secure element.
//!
//! One module per party, each a pure, total transition function `(state, input) -> (state,
//! outputs, effect)` ([`transition`]); crypto enters through the [`crypto::Crypto`] trait
//! (symbolic here, real in the reference crate) and time is the CA's logical clock
//! ([`ids::Epoch`]). The [`actors`] module wraps the parties as Stateright actors and [`path`]
//! addresses paths through them; the properties crate names what must hold and the checker crate
//! explores. The protocol itself is described in `docs/protocol.md`.
//!
//! This crate is where every protocol rule is decided, and it must never do anything else: no
//! I/O, no clock, no randomness, no real cryptography, no knowledge of properties, checkers,
//! traces or APDUs. What a party's hardware must do is returned as a typed effect for the
//! reference runtime to carry out.

pub mod actors;
pub mod applicant;
pub mod ca;
pub mod config;
pub mod crypto;
pub mod describe;
pub mod ids;
pub mod intruder;
pub mod msg;
pub mod mvno;
mod name_set;
pub mod path;
pub mod recovery;
pub mod relying_party;
pub mod se;
pub mod se_tsm;
pub mod sp_tsm;
pub mod status;
pub mod symmetry;
pub mod transition;
pub mod world;

pub use actors::{
    build, Effect, JpkiAction, JpkiModel, JpkiState, PartyActor, PartyState, PartyStep, Topology,
};
pub use config::{Config, ConfigError};
pub use world::World;

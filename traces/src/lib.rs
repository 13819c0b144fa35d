//! Recorded traces of real (or emulated) systems, and conformance checking against the model.
//!
//! A trace is NDJSON (`docs/trace-format.md`): a [`format::Header`] line naming the format, its
//! version, the model configuration and the parties whose log it is, then one [`format::Event`]
//! per line. Events use the model's own types ([`jpkisim_model::msg::Msg`],
//! [`jpkisim_model::ids::Party`], [`jpkisim_model::actors::PartyChoice`]), so a trace says
//! exactly what the model would say: keys, PINs and ciphertexts are symbolic names, never bytes,
//! and real bytes appear only as fingerprints in an event's `evidence`.
//!
//! [`write::Recorder`] appends events to any writer (the reference runtime records with it);
//! [`read::Reader`] reads them back with errors that name the file, line and field;
//! [`conform`] decides whether a trace is a behaviour of the model; [`itf`] and [`itf_value`]
//! read and write ITF; [`diff`] says what changed between two states.
//!
//! It must never decide a protocol rule or run a system: which events are possible is the model's
//! transitions' answer, and what must hold is the properties crate's. It never explores the whole
//! model either (that is the checker's job): conformance searches only along a recorded trace.

pub mod conform;
pub mod diff;
pub mod format;
#[cfg(feature = "arbitrary")]
pub mod fuzzing;
pub mod generate;
pub mod itf;
pub mod itf_value;
pub mod read;
pub mod steps;
pub mod write;

pub use format::{Event, EventKind, Fault, Header, FORMAT, VERSION};
pub use read::{ErrorKind, Reader, TraceError};
pub use write::Recorder;

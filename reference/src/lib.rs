//! The reference implementation of jpkisim: the model's own transitions run with real RSA-2048,
//! X.509, OCSP and CRL, each SE party carried out on an emulated secure element
//! (`jpkisim-card`), in process or over UDP, with every safety property checked on every step.
//!
//! It must never decide a protocol rule: which message a party sends, what a card must do and
//! whether a request is acceptable are the model's transitions' decisions; this crate supplies
//! real bytes for the model's terms ([`backend`], [`wire`], [`pki`]), carries out the SE's effects
//! as APDUs ([`device`]), runs each party ([`node`]) in a [`runtime`] (in process or over UDP)
//! that delivers messages and reads the world back as a model state to check the properties.
//! Every random choice comes from one seed ([`seed`]). Scenarios ([`scenario`]) script
//! the applicant's choices; [`export`] writes a run's PKI for openssl; [`store`] keeps the CA's,
//! SP-TSM's and SE-TSM's durable state in a database per party under `--state-dir`.

pub mod backend;
pub mod device;
pub mod export;
pub mod node;
pub mod pki;
pub mod runtime;
pub mod scenario;
pub mod seed;
pub mod store;
pub mod wire;

//! The checker of jpkisim: it explores the model with the specification's properties attached,
//! finds shortest counterexamples, renders them (text, Mermaid, ITF), runs the design matrix and
//! serves the web Explorer.
//!
//! It must never decide a protocol rule or a property: transitions come from `jpkisim-model` and
//! what must hold from `jpkisim-properties`; this crate only searches and reports. It is the only
//! crate that serves HTTP (the Explorer's front server, [`http`]).
//!
//! Module map: [`check`] (the exhaustive check and its report, the CI interface of `jpkisim
//! check`), [`engine`] (our parallel breadth-first engine, local and on timely dataflow),
//! [`bench`] (our engine against Stateright's, `jpkisim bench check`), [`shortest`]
//! (breadth-first shortest paths), [`counterexample`] (a path and the ways
//! it is shown), [`matrix`] (every studied design against every property), [`trust`] (every
//! property against each compromised party, the intruder and the thief), [`markdown`] (the
//! generated blocks of the docs), [`explorer`] and [`explorer_http`] (Stateright's Explorer with
//! readable states and shortest-path links), [`http`] (the loopback HTTP/1.1 they speak), [`html`]
//! (escaping for both).

/// Every binary that links the checker (the CLI, tests, examples) allocates with mimalloc: a
/// search allocates and frees several blocks per successor state, and glibc's allocator spent a
/// third of the engine's time in `malloc`/`free` on fragmented frontiers (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod bench;
pub mod check;
pub mod counterexample;
pub mod engine;
pub mod explorer;
pub mod explorer_http;
pub mod html;
pub mod http;
pub mod liveness;
pub mod markdown;
pub mod matrix;
pub mod shortest;
pub mod trust;

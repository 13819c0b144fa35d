//! Fuzz target: the trace reader on arbitrary bytes and on edited valid traces. The harness and
//! its invariants live in `jpkisim_traces::fuzzing`, shared with the smoke test in the suite.
#![no_main]

use jpkisim_traces::fuzzing::{self, arbitrary::Unstructured};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::run(&mut Unstructured::new(data));
});

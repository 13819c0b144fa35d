//! Fuzz target: arbitrary command sequences against a personalized test card. The harness and
//! its invariants live in `jpkisim_card::fuzzing`, shared with the smoke test in the suite.
#![no_main]

use jpkisim_card::fuzzing::{self, arbitrary::Unstructured};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::run(&mut Unstructured::new(data));
});

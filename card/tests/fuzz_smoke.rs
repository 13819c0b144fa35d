//! A short, deterministic run of the fuzzing harness (`jpkisim_card::fuzzing`, the same code
//! the `cargo fuzz` target in `fuzz/` runs) so that every `cargo test` exercises it: random
//! command sequences, raw and framed, against a personalized card, with the harness's invariants
//! checked after each command.

use jpkisim_card::fuzzing::{self, arbitrary::Unstructured, deterministic_bytes as bytes};

#[test]
fn fuzz_harness_smoke() {
    const SEED: u64 = 0x006a_706b_6973_696d;
    let mut sent = 0usize;
    for i in 0..1500u64 {
        let input = bytes(SEED ^ i, 64 + (i as usize * 37) % 1500);
        let mut u = Unstructured::new(&input);
        // Running out of input is fine (arbitrary's NotEnoughData); panics are the failures.
        sent += fuzzing::run(&mut u).unwrap_or(0);
    }
    // The run must actually drive the card, not stop at decoding.
    println!("fuzz smoke: {sent} commands");
    assert!(sent > 10_000, "only {sent} commands sent");
}

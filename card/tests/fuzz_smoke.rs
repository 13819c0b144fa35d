//! A short, deterministic run of the fuzzing harness (`jpkisim_card::fuzzing`, the same code
//! the `cargo fuzz` target in `fuzz/` runs) so that every `cargo test` exercises it: random
//! command sequences, raw and framed, against a personalized card, with the harness's invariants
//! checked after each command.

use jpkisim_card::fuzzing::{self, arbitrary::Unstructured};

/// SplitMix64: a fixed, dependency-free byte source so the run is the same everywhere.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

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

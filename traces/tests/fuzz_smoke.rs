//! A smoke run of the parser fuzz harness (`fuzz/fuzz_targets/trace_parser.rs` runs it for
//! real): pseudo-random inputs, no panic, errors inside the input.

use jpkisim_traces::fuzzing::{self, arbitrary::Unstructured};

#[test]
fn the_parser_survives_arbitrary_inputs() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut read_some = 0;
    for _ in 0..3000 {
        let bytes: Vec<u8> = (0..512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        // Running out of input is fine (arbitrary's NotEnoughData); panics are the failures.
        if let Ok(n) = fuzzing::run(&mut Unstructured::new(&bytes)) {
            read_some += usize::from(n > 0);
        }
    }
    assert!(read_some > 0, "some edited traces still read events");
}

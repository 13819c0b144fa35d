//! The parser's fuzz harness, shared by the cargo-fuzz target in `fuzz/` and the smoke test in
//! the suite: arbitrary bytes, and arbitrary edits of a valid trace, must give a trace or a
//! [`crate::TraceError`] with a line inside the input, never a panic.

pub use arbitrary;
use arbitrary::{Arbitrary, Unstructured};

const VALID: &str = include_str!("../recorded/model-issuance.ndjson");

/// One fuzz case: raw bytes, or a valid trace with some bytes replaced or cut.
#[derive(Debug, Arbitrary)]
enum Case {
    Raw(Vec<u8>),
    Edited {
        edits: Vec<(u16, u8)>,
        cut: Option<u16>,
    },
}

/// Runs one case: reads every event; returns the number of events read before an error or the end.
pub fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<usize> {
    let bytes = match Case::arbitrary(u)? {
        Case::Raw(b) => b,
        Case::Edited { edits, cut } => {
            let mut b = VALID.as_bytes().to_vec();
            for (at, byte) in edits {
                let i = usize::from(at) % b.len();
                b[i] = byte;
            }
            if let Some(c) = cut {
                b.truncate(usize::from(c) % (b.len() + 1));
            }
            b
        }
    };
    let lines = bytes.iter().filter(|&&c| c == b'\n').count() + 1;
    let mut n = 0;
    match crate::Reader::new(bytes.as_slice(), "fuzz") {
        Err(e) => assert!(e.line <= lines, "error line {} beyond the input", e.line),
        Ok(mut r) => {
            for e in r.by_ref() {
                match e {
                    Ok(_) => n += 1,
                    Err(e) => {
                        assert!(e.line <= lines, "error line {} beyond the input", e.line);
                        break;
                    }
                }
            }
        }
    }
    Ok(n)
}

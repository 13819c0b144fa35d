//! The fuzzing harness shared by the `cargo fuzz` target (`fuzz/`) and the fuzz smoke test: turns
//! arbitrary bytes into a sequence of commands against a personalized test card and checks that
//! nothing panics and the card's safety rules hold after every command.
//!
//! It is only compiled with the `arbitrary` feature. It is not a conformance test: it knows no
//! expected status words, only invariants (response sizes, status-word classes, retry counters
//! that never rise without a successful VERIFY, signatures only after a VERIFY in the session).

use std::sync::OnceLock;

pub use arbitrary;
use arbitrary::{Arbitrary, Unstructured};

use crate::{
    apdu::{Command, StatusWord},
    applet::{fid, sha256_digest_info, PinKind, JPKI_AID},
    isd::ISD_AID,
    se::SecureElement,
    testcard::{self, AUTH_PIN, SIGN_PASSWORD},
    timing::{ClockMode, Profile},
};

/// One fuzzer-chosen step.
#[derive(Arbitrary, Debug)]
pub enum FuzzStep {
    /// Any bytes at all.
    Raw(Vec<u8>),
    /// A well-framed command with arbitrary header and data.
    Framed {
        /// CLA.
        cla: u8,
        /// INS.
        ins: u8,
        /// P1.
        p1: u8,
        /// P2.
        p2: u8,
        /// Data (truncated to 255 bytes).
        data: Vec<u8>,
        /// Le byte, if any.
        le: Option<u8>,
    },
    /// One of the meaningful commands, so that deep states are reached.
    Known(u8),
    /// Select the application, verify the auth PIN (`false`) or signing password (`true`) and
    /// select the matching key EF: four commands that make signatures reachable.
    Login(bool),
    /// Power cycle.
    PowerCycle,
    /// One of the meaningful commands, torn: the power goes in the middle of it.
    Torn(u8),
}

fn known(i: u8) -> Vec<u8> {
    let ef = |f: u16| vec![0x00, 0xA4, 0x02, 0x0C, 0x02, (f >> 8) as u8, f as u8];
    let verify = |pin: &[u8]| [&[0x00, 0x20, 0x00, 0x80, pin.len() as u8][..], pin].concat();
    let cmd = |c: Command| c.to_bytes().unwrap_or_default();
    match i % 16 {
        0 => [&[0x00, 0xA4, 0x04, 0x0C, 0x0A][..], &JPKI_AID].concat(),
        1 => ef(fid::AUTH_PIN),
        2 => ef(fid::SIGN_PIN),
        3 => ef(fid::AUTH_KEY),
        4 => ef(fid::SIGN_KEY),
        5 => ef(fid::AUTH_CERT),
        6 => ef(fid::SIGN_CERT),
        7 => verify(AUTH_PIN.as_bytes()),
        8 => verify(SIGN_PASSWORD.as_bytes()),
        9 => verify(b"0000"),
        10 => vec![0x00, 0x20, 0x00, 0x80],
        11 => cmd(Command::new(
            0x80,
            0x2A,
            0x00,
            0x80,
            sha256_digest_info(b"fuzz"),
            Some(256),
        )),
        12 => vec![0x00, 0xB0, 0x00, 0x00, 0x04],
        13 => [&[0x00, 0xA4, 0x04, 0x00, 0x08][..], &ISD_AID].concat(),
        14 => cmd(Command::new(0x80, 0x50, 0x30, 0x00, vec![0; 8], Some(256))),
        _ => [&[0x00, 0x24, 0x01, 0x80, 0x04][..], AUTH_PIN.as_bytes()].concat(),
    }
}

/// Deterministic noise (SplitMix64) for the fuzz smoke test and the tests that feed garbage to
/// the PC/SC card: the same bytes on every machine, no dependency.
pub fn deterministic_bytes(seed: u64, len: usize) -> Vec<u8> {
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

fn base_card() -> &'static SecureElement {
    static CARD: OnceLock<SecureElement> = OnceLock::new();
    CARD.get_or_init(
        || match testcard::personalized_se(Profile::Instant, ClockMode::Simulated) {
            Ok(se) => se,
            // The harness's own fixture failing is a bug in this crate, not an input.
            Err(e) => panic!("test card does not personalize: {e}"),
        },
    )
}

fn tries(se: &SecureElement) -> [Option<u8>; 2] {
    let t = |k| se.instance(&JPKI_AID).and_then(|i| i.applet.tries_left(k));
    [t(PinKind::Auth), t(PinKind::Sign)]
}

/// Runs one fuzz input and returns how many commands it sent. Panics (the fuzzer's signal) when
/// an invariant breaks.
pub fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<usize> {
    let mut se = base_card().clone();
    let mut sent = 0;
    // Step by step rather than one `Vec<FuzzStep>`: a short tail still runs the steps before it.
    while sent < 64 && !u.is_empty() {
        let Ok(step) = u.arbitrary::<FuzzStep>() else {
            break;
        };
        let apdus = match step {
            FuzzStep::Raw(bytes) => vec![bytes],
            FuzzStep::Framed {
                cla,
                ins,
                p1,
                p2,
                data,
                le,
            } => {
                let mut data = data;
                data.truncate(255);
                let mut v = vec![cla, ins, p1, p2];
                if !data.is_empty() {
                    v.push(data.len() as u8);
                    v.extend_from_slice(&data);
                }
                v.extend(le.iter());
                vec![v]
            }
            FuzzStep::Known(i) => vec![known(i)],
            FuzzStep::Login(sign) => [
                0,
                if sign { 2 } else { 1 },
                if sign { 8 } else { 7 },
                if sign { 4 } else { 3 },
            ]
            .into_iter()
            .map(known)
            .collect(),
            FuzzStep::PowerCycle => {
                se.power_cycle();
                continue;
            }
            FuzzStep::Torn(i) => {
                let before = tries(&se);
                se.transmit_torn(&known(i));
                sent += 1;
                check_torn(before, tries(&se), &se);
                continue;
            }
        };
        for apdu in apdus {
            let before = tries(&se);
            let session_before = se.instance(&JPKI_AID).map(|i| i.applet.session());
            let response = se.transmit(&apdu).response;
            sent += 1;
            let after = tries(&se);
            check(
                &apdu,
                &response.data,
                response.sw,
                before,
                after,
                session_before,
            );
        }
    }
    Ok(sent)
}

/// After a tear: at most one try spent, on one PIN, none given back; no session survives.
fn check_torn(before: [Option<u8>; 2], after: [Option<u8>; 2], se: &SecureElement) {
    let spent: u8 = before
        .iter()
        .zip(after)
        .map(|(b, a)| {
            let (b, a) = (b.unwrap_or(0), a.unwrap_or(0));
            assert!(a <= b, "a tear gave a try back");
            b - a
        })
        .sum();
    assert!(spent <= 1, "a tear spent {spent} tries");
    let s = se.instance(&JPKI_AID).map(|i| i.applet.session());
    assert!(
        s.is_none_or(|s| s.current_ef.is_none() && !s.auth_verified && !s.sign_verified),
        "a session survived the tear"
    );
}

fn check(
    apdu: &[u8],
    data: &[u8],
    sw: StatusWord,
    before: [Option<u8>; 2],
    after: [Option<u8>; 2],
    session_before: Option<crate::applet::Session>,
) {
    assert!(
        data.len() <= 256,
        "response longer than a short APDU allows"
    );
    let sw1 = (sw.0 >> 8) as u8;
    assert!(
        sw1 == 0x90 || (0x61..=0x6F).contains(&sw1),
        "status word {sw} outside ISO classes"
    );
    let more_data = sw.0 & 0xFF00 == 0x6100; // GET RESPONSE in pieces
    assert!(
        sw == StatusWord::OK || sw == StatusWord::END_OF_FILE || more_data || data.is_empty(),
        "data with error {sw}"
    );
    let is_verify = apdu.get(1) == Some(&0x20);
    for (i, kind) in [PinKind::Auth, PinKind::Sign].into_iter().enumerate() {
        let (b, a) = (before[i].unwrap_or(0), after[i].unwrap_or(0));
        assert!(a <= kind.max_tries(), "counter above its maximum");
        assert!(
            a <= b || (is_verify && sw == StatusWord::OK),
            "counter rose without a successful VERIFY"
        );
        assert!(
            b != 0 || a == 0,
            "a blocked PIN was unblocked by {apdu:02X?}"
        );
    }
    // A signature now, or one deferred for GET RESPONSE (61 00).
    if apdu.get(1) == Some(&0x2A) && (sw == StatusWord::OK || sw == StatusWord(0x6100)) {
        if sw == StatusWord::OK {
            assert_eq!(data.len(), 256, "signature length");
        }
        let s = session_before.unwrap_or_default();
        // P2 80 signs with the current EF, P2 80|SFI with the key that SFI names.
        let key = match apdu.get(3) {
            Some(0x80) => s.current_ef,
            Some(p2) => Some(fid::of_short_id(p2 & 0x1F)),
            None => None,
        };
        let allowed = match key {
            Some(fid::AUTH_KEY) => s.auth_verified,
            Some(fid::SIGN_KEY) => s.sign_verified,
            _ => false,
        };
        assert!(
            allowed,
            "signature without VERIFY of the matching PIN in this session"
        );
    }
}

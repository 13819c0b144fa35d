//! Tearing: the card loses power in the middle of a command. A VERIFY that got as far as the
//! comparison has spent its try (counted before the answer, as a card does), exactly once; every
//! other command leaves the persistent state as it was; the session is gone after the next
//! power-on either way.

mod common;

use common::*;
use jpkisim_card::{
    apdu::StatusWord,
    applet::{fid, sha256_digest_info, PinKind, JPKI_AID},
    se::SecureElement,
};
use proptest::prelude::*;

fn tries(se: &SecureElement) -> [u8; 2] {
    let t = |k| {
        se.instance(&JPKI_AID)
            .and_then(|i| i.applet.tries_left(k))
            .expect("personalized")
    };
    [t(PinKind::Auth), t(PinKind::Sign)]
}

#[test]
fn a_torn_verify_counts_its_try_once_even_with_the_right_pin() {
    for (pin_ef, pin, wrong, max, i) in [
        (fid::AUTH_PIN, &b"1234"[..], &b"0000"[..], 3u8, 0),
        (fid::SIGN_PIN, &b"JPKISIM1"[..], &b"WRONG123"[..], 5, 1),
    ] {
        for attempt in [pin, wrong] {
            let mut se = card();
            let open = [select_ap(), select_ef(pin_ef)];
            for a in &open {
                assert_eq!(sw(&mut se, a), StatusWord::OK);
            }
            se.transmit_torn(&verify(attempt));
            assert_eq!(tries(&se)[i], max - 1, "counted once");
            // Next power-on: nothing verified, the counter says what happened.
            let after: Vec<u16> = [select_ap(), select_ef(pin_ef), QUERY.to_vec()]
                .iter()
                .map(|a| sw(&mut se, a).0)
                .collect();
            assert_eq!(after, [0x9000, 0x9000, 0x63C0 | u16::from(max - 1)]);
            // The right PIN gives the try back.
            assert_eq!(sw(&mut se, &verify(pin)), StatusWord::OK);
            assert_eq!(tries(&se)[i], max);
        }
    }
}

#[test]
fn a_torn_verify_of_the_last_try_blocks_and_a_blocked_pin_stays_blocked() {
    let mut se = card();
    for a in [
        select_ap(),
        select_ef(fid::AUTH_PIN),
        verify(b"0000"),
        verify(b"0000"),
    ] {
        sw(&mut se, &a);
    }
    assert_eq!(tries(&se)[0], 1);
    se.transmit_torn(&verify(b"1234"));
    assert_eq!(
        tries(&se)[0],
        0,
        "the last try was spent before the comparison"
    );
    for a in [select_ap(), select_ef(fid::AUTH_PIN)] {
        sw(&mut se, &a);
    }
    se.transmit_torn(&verify(b"1234"));
    assert_eq!(tries(&se)[0], 0);
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    assert_eq!(
        sw(
            &mut se,
            &[0x00, 0x20, 0x00, 0x98, 0x04, b'1', b'2', b'3', b'4']
        ),
        StatusWord::AUTH_BLOCKED
    );
    assert_eq!(sw(&mut se, &[0x00, 0x20, 0x00, 0x98]), StatusWord(0x63C0));
}

#[test]
fn other_torn_commands_change_no_persistent_state() {
    let mut se = card();
    let login = auth_login();
    for a in &login {
        assert_eq!(sw(&mut se, a), StatusWord::OK);
    }
    // A signature torn: no answer, session gone.
    se.transmit_torn(&sign(&sha256_digest_info(b"x")));
    assert_eq!(
        [
            select_ap(),
            select_ef(fid::AUTH_KEY),
            sign(&sha256_digest_info(b"x"))
        ]
        .iter()
        .map(|a| sw(&mut se, a).0)
        .collect::<Vec<_>>(),
        [0x9000, 0x9000, 0x6982]
    );
    // A PIN change torn: atomic, so the old PIN still works; the counter is untouched.
    for a in [select_ef(fid::AUTH_PIN), verify(b"1234")] {
        assert_eq!(sw(&mut se, &a), StatusWord::OK);
    }
    se.transmit_torn(&hex("0024018004 35363738"));
    assert_eq!(tries(&se), [3, 5]);
    for a in [select_ap(), select_ef(fid::AUTH_PIN), verify(b"1234")] {
        assert_eq!(sw(&mut se, &a), StatusWord::OK);
    }
    // The query, a wrong-length PIN and garbage spend nothing.
    for torn in [QUERY.to_vec(), verify(b"12345"), vec![0x00, 0x20]] {
        for a in [select_ap(), select_ef(fid::AUTH_PIN)] {
            sw(&mut se, &a);
        }
        se.transmit_torn(&torn);
        assert_eq!(tries(&se), [3, 5], "{torn:02X?}");
    }
}

#[derive(Clone, Debug)]
enum Op {
    SelectAp,
    SelectEf(u16),
    Verify(&'static [u8]),
    VerifySfi(u8, &'static [u8]),
    Query,
    Sign,
}

fn op() -> impl Strategy<Value = Op> {
    let pins: Vec<&'static [u8]> = vec![b"1234", b"0000", b"JPKISIM1", b"WRONG123", b"12345"];
    prop_oneof![
        1 => Just(Op::SelectAp),
        2 => proptest::sample::select(vec![fid::AUTH_PIN, fid::SIGN_PIN, fid::AUTH_KEY, fid::SIGN_KEY])
            .prop_map(Op::SelectEf),
        4 => proptest::sample::select(pins.clone()).prop_map(Op::Verify),
        2 => (proptest::sample::select(vec![0x98u8, 0x9B]), proptest::sample::select(pins))
            .prop_map(|(p2, pin)| Op::VerifySfi(p2, pin)),
        1 => Just(Op::Query),
        1 => Just(Op::Sign),
    ]
}

fn bytes(op: &Op) -> Vec<u8> {
    match op {
        Op::SelectAp => select_ap(),
        Op::SelectEf(f) => select_ef(*f),
        Op::Verify(pin) => verify(pin),
        Op::VerifySfi(p2, pin) => {
            let mut v = verify(pin);
            v[3] = *p2;
            v
        }
        Op::Query => QUERY.to_vec(),
        Op::Sign => sign(&sha256_digest_info(b"tear")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Against a twin that answers the same command untorn: the torn card spent a try exactly
    /// when the twin compared a PIN (answered 9000 or 63Cx to a VERIFY with data), and on that
    /// PIN only; it never gave one back; and the session is over.
    #[test]
    fn a_tear_spends_exactly_the_try_an_answer_would_have_counted(
        ops in proptest::collection::vec((op(), any::<bool>()), 1..40)
    ) {
        let mut se = card();
        for (op, tear) in &ops {
            let apdu = bytes(op);
            if !tear {
                se.transmit(&apdu);
                continue;
            }
            let before = tries(&se);
            let target = pin_named(op, &se);
            let mut twin = se.clone();
            let answer = twin.transmit(&apdu).response.sw;
            se.transmit_torn(&apdu);
            let after = tries(&se);
            let compared = answer == StatusWord::OK || answer.0 & 0xFFF0 == 0x63C0;
            for i in 0..2 {
                let spent = compared && target == Some(i);
                prop_assert_eq!(after[i], before[i] - u8::from(spent), "{:?} answered {} untorn", op, answer);
            }
            let session = se.instance(&JPKI_AID).map(|i| i.applet.session()).unwrap_or_default();
            prop_assert!(session.current_ef.is_none() && !session.auth_verified && !session.sign_verified);
        }
    }
}

/// Which PIN (0 auth, 1 sign) a VERIFY with data names, before it runs.
fn pin_named(op: &Op, se: &SecureElement) -> Option<usize> {
    let current = se
        .instance(&JPKI_AID)
        .and_then(|i| i.applet.session().current_ef);
    match op {
        Op::VerifySfi(0x98, _) => Some(0),
        Op::VerifySfi(_, _) => Some(1),
        Op::Verify(_) if current == Some(fid::AUTH_PIN) => Some(0),
        Op::Verify(_) if current == Some(fid::SIGN_PIN) => Some(1),
        _ => None,
    }
}

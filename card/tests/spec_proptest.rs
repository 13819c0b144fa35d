//! Random command sequences against a small executable specification of the applet. Each step's
//! status word must be the specification's, and the safety rules hold along every sequence:
//! retry counters never rise except on a successful VERIFY, a signature only follows a VERIFY of
//! the matching PIN in the same session, and a blocked PIN stays blocked.

mod common;

use common::*;
use jpkisim_card::{
    apdu::StatusWord,
    applet::{fid, sha256_digest_info, PinKind, JPKI_AID},
};
use proptest::prelude::*;

const FILES: [u16; 10] = [
    fid::SIGN_CERT,
    fid::SIGN_CA_CERT,
    fid::TOKEN_INFO,
    fid::AUTH_CERT,
    fid::AUTH_CA_CERT,
    fid::AUTH_KEY,
    fid::AUTH_PIN,
    fid::SIGN_KEY,
    fid::SIGN_PIN,
    0x0099, // does not exist
];

/// Which PIN a VERIFY sends, resolved against the currently selected PIN EF so that successes,
/// failures and length errors are all frequent.
#[derive(Clone, Copy, Debug)]
enum PinChoice {
    Correct,
    WrongSameLength,
    WrongLength,
}

#[derive(Clone, Debug)]
enum Op {
    SelectAp,
    SelectEf(u16),
    Verify(PinChoice),
    Query,
    Sign,
    ReadHeader,
    /// CHANGE REFERENCE DATA to the same value (keeps the spec's PIN values fixed).
    ChangeToSame,
    PowerCycle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::SelectAp),
        2 => proptest::sample::select(FILES.to_vec()).prop_map(Op::SelectEf),
        // PIN and key EFs more often: they are where the rules are.
        4 => proptest::sample::select(vec![fid::AUTH_PIN, fid::SIGN_PIN, fid::AUTH_KEY, fid::SIGN_KEY])
            .prop_map(Op::SelectEf),
        3 => Just(Op::Verify(PinChoice::Correct)),
        3 => Just(Op::Verify(PinChoice::WrongSameLength)),
        1 => Just(Op::Verify(PinChoice::WrongLength)),
        2 => Just(Op::Query),
        3 => Just(Op::Sign),
        2 => Just(Op::ReadHeader),
        1 => Just(Op::ChangeToSame),
        1 => Just(Op::PowerCycle),
    ]
}

/// The specification: what the applet must answer, from the card interface facts alone.
#[derive(Clone, Debug)]
struct Spec {
    tries: [u8; 2], // auth, sign
    ap_selected: bool,
    current: Option<u16>,
    verified: [bool; 2],
}

fn idx(kind: PinKind) -> usize {
    match kind {
        PinKind::Auth => 0,
        PinKind::Sign => 1,
    }
}

fn pin_of(f: u16) -> Option<PinKind> {
    match f {
        fid::AUTH_PIN => Some(PinKind::Auth),
        fid::SIGN_PIN => Some(PinKind::Sign),
        _ => None,
    }
}

fn key_of(f: u16) -> Option<PinKind> {
    match f {
        fid::AUTH_KEY => Some(PinKind::Auth),
        fid::SIGN_KEY => Some(PinKind::Sign),
        _ => None,
    }
}

fn correct(kind: PinKind) -> &'static [u8] {
    match kind {
        PinKind::Auth => b"1234",
        PinKind::Sign => b"JPKISIM1",
    }
}

impl Spec {
    fn new() -> Self {
        Self {
            tries: [3, 5],
            ap_selected: false,
            current: None,
            verified: [false; 2],
        }
    }

    fn new_session(&mut self) {
        self.current = None;
        self.verified = [false; 2];
    }

    /// The expected status word, updating the spec.
    fn step(&mut self, op: &Op) -> u16 {
        match op {
            Op::PowerCycle => {
                self.ap_selected = false;
                self.new_session();
                return 0x9000; // not a command; nothing to compare
            }
            Op::SelectAp => {
                self.ap_selected = true;
                self.new_session();
                return 0x9000;
            }
            _ if !self.ap_selected => return 0x6D00, // the ISD does not know JPKI instructions
            _ => {}
        }
        let Some(cur) = self.current.filter(|_| !matches!(op, Op::SelectEf(_))) else {
            return match op {
                Op::SelectEf(f) if *f == 0x0099 => 0x6A82,
                Op::SelectEf(f) => {
                    self.current = Some(*f);
                    0x9000
                }
                _ => 0x6986,
            };
        };
        match op {
            Op::Verify(_) | Op::Query if pin_of(cur).is_none() => 0x6981,
            Op::Query => {
                let kind = pin_of(cur).expect("checked");
                match (self.tries[idx(kind)], self.verified[idx(kind)]) {
                    (0, _) => 0x63C0,
                    (_, true) => 0x9000,
                    (t, false) => 0x63C0 | u16::from(t),
                }
            }
            Op::Verify(choice) => {
                let kind = pin_of(cur).expect("checked");
                let pin = pin_bytes(kind, *choice);
                let i = idx(kind);
                if self.tries[i] == 0 {
                    0x6983
                } else if !kind.lengths().contains(&pin.len()) {
                    0x6700
                } else if pin == correct(kind) {
                    self.tries[i] = kind.max_tries();
                    self.verified[i] = true;
                    0x9000
                } else {
                    self.tries[i] -= 1;
                    self.verified[i] = false;
                    0x63C0 | u16::from(self.tries[i])
                }
            }
            Op::ChangeToSame => match pin_of(cur) {
                None => 0x6981,
                Some(kind) if !self.verified[idx(kind)] => 0x6982,
                Some(kind) => {
                    self.tries[idx(kind)] = kind.max_tries();
                    0x9000
                }
            },
            Op::Sign => match key_of(cur) {
                None => 0x6981,
                Some(kind) if !self.verified[idx(kind)] => 0x6982,
                Some(_) => 0x9000,
            },
            Op::ReadHeader => match cur {
                fid::AUTH_KEY | fid::SIGN_KEY | fid::AUTH_PIN | fid::SIGN_PIN => 0x6981,
                fid::SIGN_CERT if !self.verified[1] => 0x6982,
                fid::AUTH_CERT if !self.verified[0] => 0x6982,
                _ => 0x9000,
            },
            Op::SelectEf(_) | Op::SelectAp | Op::PowerCycle => unreachable!("handled above"),
        }
    }
}

fn pin_bytes(kind: PinKind, choice: PinChoice) -> &'static [u8] {
    match (kind, choice) {
        (k, PinChoice::Correct) => correct(k),
        (PinKind::Auth, PinChoice::WrongSameLength) => b"0000",
        (PinKind::Sign, PinChoice::WrongSameLength) => b"WRONG123",
        (PinKind::Auth, PinChoice::WrongLength) => b"12345",
        (PinKind::Sign, PinChoice::WrongLength) => b"12345678901234567",
    }
}

fn apdu(op: &Op, spec: &Spec) -> Option<Vec<u8>> {
    Some(match op {
        Op::SelectAp => select_ap(),
        Op::SelectEf(f) => select_ef(*f),
        Op::Verify(choice) => {
            let kind = spec.current.and_then(pin_of).unwrap_or(PinKind::Auth);
            verify(pin_bytes(kind, *choice))
        }
        Op::Query => QUERY.to_vec(),
        Op::Sign => sign(&sha256_digest_info(b"proptest")),
        Op::ReadHeader => hex("00B0000004"),
        Op::ChangeToSame => {
            let pin = spec.current.and_then(pin_of).map_or(&b"1234"[..], correct);
            let mut v = vec![0x00, 0x24, 0x01, 0x80, pin.len() as u8];
            v.extend_from_slice(pin);
            v
        }
        Op::PowerCycle => return None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn applet_follows_the_spec(ops in proptest::collection::vec(op(), 1..64)) {
        let mut se = card();
        let mut spec = Spec::new();
        // Most sequences start inside the application; PowerCycle and the ISD case still occur.
        prop_assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
        spec.step(&Op::SelectAp);
        for op in &ops {
            let before = spec.clone();
            let command = apdu(op, &spec);
            let want = spec.step(op);
            let got = match command {
                Some(bytes) => sw(&mut se, &bytes).0,
                None => { se.power_cycle(); 0x9000 }
            };
            prop_assert_eq!(got, want, "{:?} after {:?}", op, before);
            let tries = |k| se.instance(&JPKI_AID).and_then(|i| i.applet.tries_left(k));
            prop_assert_eq!(tries(PinKind::Auth), Some(spec.tries[0]));
            prop_assert_eq!(tries(PinKind::Sign), Some(spec.tries[1]));
            // Safety rules, stated on the card's observable behaviour.
            for k in [PinKind::Auth, PinKind::Sign] {
                let (b, a) = (before.tries[idx(k)], spec.tries[idx(k)]);
                prop_assert!(a <= b || (matches!(op, Op::Verify(_)) && got == 0x9000),
                    "counter rose without a successful VERIFY: {:?}", op);
                prop_assert!(b != 0 || a == 0, "blocked PIN unblocked by {:?}", op);
            }
            if matches!(op, Op::Sign) && got == StatusWord::OK.0 {
                let kind = before.current.and_then(key_of).expect("signed with a key EF selected");
                prop_assert!(before.verified[idx(kind)], "signature without VERIFY in this session");
            }
        }
    }
}

//! Status words of the JPKI applet and the SE router, one rule per test, with exact values; plus
//! persistence of retry counters and the timing profiles and host deadline.

mod common;

use std::time::Duration;

use common::*;
use jpkisim_card::{
    apdu::StatusWord,
    applet::{fid, sha256_digest_info, PinKind, JPKI_AID, MAX_DIGEST_INFO_LEN},
    testcard,
    timing::{ClockMode, Outcome, Profile},
};

#[test]
fn malformed_and_unknown_commands() {
    let mut se = card();
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    let cases: [(&str, u16); 12] = [
        ("00A402", 0x6700),         // shorter than a header
        ("00A4020C0300", 0x6700),   // Lc 3, one byte
        ("00A4020C03000A", 0x6700), // Lc 3 with two data bytes
        ("00B00000000100", 0x6700), // extended length
        ("00CA000000", 0x6D00),     // unknown INS
        ("FFA4020C02000A", 0x6E00), // CLA FF
        ("80A4020C02000A", 0x6E00), // proprietary class for SELECT EF
        ("002A00800100", 0x6E00),   // interindustry class for the JPKI signature
        ("10A4020C02000A", 0x6884), // chaining
        ("0CA4020C02000A", 0x6882), // ISO secure messaging
        ("00A4030C02000A", 0x6A86), // SELECT with P1 03
        ("00A4020C020099", 0x6A82), // no such EF
    ];
    for (apdu, want) in cases {
        assert_eq!(sw(&mut se, &hex(apdu)).0, want, "{apdu}");
    }
    // Logical channel bits are accepted.
    assert_eq!(sw(&mut se, &hex("01A4020C02000A")), StatusWord::OK);
    assert_eq!(sw(&mut se, &hex("41A4020C02000A")), StatusWord::OK);
}

#[test]
fn no_current_ef_and_wrong_file_types() {
    let mut se = card();
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    let di = sha256_digest_info(b"x");
    assert_eq!(
        sws(&mut se, &[QUERY.to_vec(), hex("00B0000004"), sign(&di)]),
        [0x6986, 0x6986, 0x6986]
    );
    assert_eq!(sw(&mut se, &select_ef(fid::AUTH_KEY)), StatusWord::OK);
    assert_eq!(
        sws(&mut se, &[hex("00B0000004"), QUERY.to_vec()]),
        [0x6981, 0x6981]
    );
    assert_eq!(sw(&mut se, &select_ef(fid::AUTH_CA_CERT)), StatusWord::OK);
    assert_eq!(sw(&mut se, &sign(&di)), StatusWord::INCOMPATIBLE_FILE);
    // Free files read without any PIN; the phone's auth certificate needs the auth PIN.
    assert_eq!(sw(&mut se, &hex("00B0000004")), StatusWord::OK);
    assert_eq!(sw(&mut se, &select_ef(fid::AUTH_CERT)), StatusWord::OK);
    assert_eq!(sw(&mut se, &hex("00B0000004")), StatusWord::SECURITY_STATUS);
}

#[test]
fn token_label_and_read_binary_bounds() {
    let mut se = card();
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    assert_eq!(sw(&mut se, &select_ef(fid::TOKEN_INFO)), StatusWord::OK);
    let r = se.transmit(&hex("00B0000000")).response; // Le 00: up to 256, short file is fine
    assert_eq!((r.sw, r.data.len()), (StatusWord::OK, 160));
    assert!(r.data.starts_with(b"JPKIAPGPSETOKEN "));
    let r = se.transmit(&hex("00B0009020")).response; // 16 of 32 requested: 62 82 with the data
    assert_eq!((r.sw, r.data.len()), (StatusWord::END_OF_FILE, 16));
    assert_eq!(sw(&mut se, &hex("00B000A001")), StatusWord::WRONG_OFFSET);
    assert_eq!(sw(&mut se, &hex("00B00000")), StatusWord::WRONG_LENGTH); // no Le
}

#[test]
fn read_binary_by_short_ef_identifier() {
    let mut se = card();
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    // P1 = 80 | SFI, P2 = offset: no SELECT needed, and the EF becomes the current one.
    let r = se.transmit(&hex("00B0860020")).response;
    assert_eq!(
        (r.sw, &r.data[..]),
        (StatusWord::OK, &b"JPKIAPGPSETOKEN                 "[..])
    );
    let r = se.transmit(&hex("00B0000504")).response; // the current EF is now 0006
    assert_eq!((r.sw, &r.data[..]), (StatusWord::OK, &b"PGPS"[..]));
    let r = se.transmit(&hex("00B0800504")).response; // SFI 0: the current EF
    assert_eq!((r.sw, &r.data[..]), (StatusWord::OK, &b"PGPS"[..]));
    let r = se.transmit(&hex("00B08B0004")).response; // the auth CA certificate's DER header
    assert_eq!((r.sw, &r.data[..2]), (StatusWord::OK, &[0x30, 0x82][..]));
    assert_eq!(
        sws(
            &mut se,
            &[
                hex("00B08A0004"), // auth certificate: the phone wants the auth PIN
                hex("00B0970004"), // a key EF is not transparent
                hex("00B0990004"), // no EF 0019
                hex("00B09F0004"), // SFI 31 is reserved
                hex("00B0C60004"), // P1 bits 7-6 must be 0 with an SFI
            ]
        ),
        [0x6982, 0x6981, 0x6A82, 0x6A86, 0x6A86]
    );
}

#[test]
fn auth_pin_blocks_after_three_and_stays_blocked_across_power_cycles() {
    let mut se = card();
    let open = [select_ap(), select_ef(fid::AUTH_PIN)];
    assert_eq!(sws(&mut se, &open), [0x9000, 0x9000]);
    // Wrong lengths are rejected before comparison: nothing spent.
    assert_eq!(
        sws(&mut se, &[verify(b"123"), verify(b"12345"), QUERY.to_vec()]),
        [0x6700, 0x6700, 0x63C3]
    );
    // Case 2 query is a wrong length (cards answer 6700).
    assert_eq!(sw(&mut se, &hex("0020008000")), StatusWord::WRONG_LENGTH);
    assert_eq!(
        sws(&mut se, &[verify(b"0000"), verify(b"1111")]),
        [0x63C2, 0x63C1]
    );
    se.power_cycle();
    assert_eq!(sws(&mut se, &open), [0x9000, 0x9000]);
    assert_eq!(
        sws(&mut se, &[QUERY.to_vec(), verify(b"2222")]),
        [0x63C1, 0x63C0]
    );
    // Blocked: even the right PIN is refused; the query says no try is left.
    assert_eq!(
        sws(&mut se, &[verify(b"1234"), QUERY.to_vec()]),
        [0x6983, 0x63C0]
    );
    se.power_cycle();
    assert_eq!(sws(&mut se, &open), [0x9000, 0x9000]);
    assert_eq!(
        sws(&mut se, &[verify(b"1234"), QUERY.to_vec()]),
        [0x6983, 0x63C0]
    );
    assert_eq!(
        se.instance(&JPKI_AID)
            .and_then(|i| i.applet.tries_left(PinKind::Auth)),
        Some(0)
    );
    // The signing password is independent.
    assert_eq!(
        sws(&mut se, &[select_ef(fid::SIGN_PIN), QUERY.to_vec()]),
        [0x9000, 0x63C5]
    );
}

#[test]
fn success_resets_the_counter_and_query_after_verify_is_9000() {
    let mut se = card();
    let apdus = [
        select_ap(),
        select_ef(fid::SIGN_PIN),
        verify(b"WRONG1"),
        verify(b"WRONG2"),
        QUERY.to_vec(),
        verify(b"jpkisim1"), // lower case is a different password: clients upper-case input
        verify(b"JPKISIM1"),
        QUERY.to_vec(),
    ];
    assert_eq!(
        sws(&mut se, &apdus),
        [0x9000, 0x9000, 0x63C4, 0x63C3, 0x63C3, 0x63C2, 0x9000, 0x9000]
    );
    assert_eq!(
        se.instance(&JPKI_AID)
            .and_then(|i| i.applet.tries_left(PinKind::Sign)),
        Some(5)
    );
}

#[test]
fn verification_is_per_session() {
    let mut se = card();
    let login = auth_login();
    let di = sha256_digest_info(b"m");
    assert_eq!(sws(&mut se, &login), [0x9000; 4]);
    assert_eq!(sw(&mut se, &sign(&di)), StatusWord::OK);
    // Re-selecting the application ends the session.
    assert_eq!(
        sws(&mut se, &[select_ap(), select_ef(fid::AUTH_KEY), sign(&di)]),
        [0x9000, 0x9000, 0x6982]
    );
    assert_eq!(sws(&mut se, &login), [0x9000; 4]);
    se.power_cycle();
    assert_eq!(
        sws(&mut se, &[select_ap(), select_ef(fid::AUTH_KEY), sign(&di)]),
        [0x9000, 0x9000, 0x6982]
    );
    // A failed VERIFY clears an earlier success.
    assert_eq!(sws(&mut se, &login), [0x9000; 4]);
    assert_eq!(
        sws(
            &mut se,
            &[
                select_ef(fid::AUTH_PIN),
                verify(b"9999"),
                select_ef(fid::AUTH_KEY),
                sign(&di)
            ]
        ),
        [0x9000, 0x63C2, 0x9000, 0x6982]
    );
}

#[test]
fn signature_input_rules() {
    let mut se = card();
    let login = auth_login();
    assert_eq!(sws(&mut se, &login), [0x9000; 4]);
    let di = sha256_digest_info(b"m");
    let mut short_le = sign(&di);
    *short_le.last_mut().expect("le") = 0x80;
    let too_long = sign(&vec![0x30; MAX_DIGEST_INFO_LEN + 1]);
    assert_eq!(
        sws(
            &mut se,
            &[
                short_le,
                too_long,
                hex("802A008000"),     // no data
                hex("802A06800100"),   // P1 06: no such scheme
                hex("802A00000100"),   // P2 00
                hex("802A00810100"),   // P2 80|01: EF 0001 is not a key
                hex("802A0280020000"), // P1 02 takes exactly one SHA-256
            ]
        ),
        [0x6700, 0x6700, 0x6700, 0x6A86, 0x6A86, 0x6A88, 0x6700]
    );
    // P1 00 signs the data as sent, as the card does: a DigestInfo is the client's business.
    let r = se.transmit(&sign(&[0x42; 51])).response;
    assert_eq!((r.sw, r.data.len()), (StatusWord::OK, 256));
    assert_eq!(sw(&mut se, &sign(&di)), StatusWord::OK);
}

#[test]
fn change_reference_data() {
    let mut se = card();
    assert_eq!(
        sws(&mut se, &[select_ap(), select_ef(fid::AUTH_PIN)]),
        [0x9000, 0x9000]
    );
    assert_eq!(
        sw(&mut se, &hex("0024018004 35363738")),
        StatusWord::SECURITY_STATUS,
        "not verified"
    );
    assert_eq!(sw(&mut se, &verify(b"1234")), StatusWord::OK);
    assert_eq!(
        sw(&mut se, &hex("0024018005 3536373839")),
        StatusWord::WRONG_DATA,
        "5 digits"
    );
    assert_eq!(
        sw(&mut se, &hex("0024008004 35363738")),
        StatusWord::WRONG_P1P2
    );
    assert_eq!(sw(&mut se, &hex("0024018004 35363738")), StatusWord::OK);
    se.power_cycle();
    assert_eq!(
        sws(
            &mut se,
            &[
                select_ap(),
                select_ef(fid::AUTH_PIN),
                verify(b"1234"),
                verify(b"5678")
            ]
        ),
        [0x9000, 0x9000, 0x63C2, 0x9000]
    );
}

#[test]
fn uninstalled_applet_is_not_found_and_the_isd_rejects_applet_commands() {
    let mut se = jpkisim_card::se::SecureElement::new(
        testcard::isd_keys(),
        Profile::Instant,
        ClockMode::Simulated,
        1,
    );
    assert_eq!(
        sw(&mut se, &select_ap()),
        StatusWord::NOT_FOUND,
        "not installed"
    );
    // With the ISD selected, JPKI commands are unknown instructions or classes.
    assert_eq!(
        sws(&mut se, &[QUERY.to_vec(), hex("00B0000004")]),
        [0x6D00, 0x6D00]
    );
    assert_eq!(
        sw(&mut se, &hex("00E6000000")),
        StatusWord::CLA_NOT_SUPPORTED
    );
}

#[test]
fn profiles_charge_the_chip_time_and_the_simulated_clock_advances() {
    for (profile, ms) in [(Profile::Jcop4, 61), (Profile::Sim, 236)] {
        let mut se = testcard::personalized_se(profile, ClockMode::Simulated).expect("card");
        let login = auth_login();
        assert_eq!(sws(&mut se, &login), [0x9000; 4]);
        let before = se.clock();
        let ex = se.transmit(&sign(&sha256_digest_info(b"t")));
        assert_eq!(ex.response.sw, StatusWord::OK);
        let t = ex.timing;
        assert!(
            t.stages.rsa.is_some()
                && t.stages.input_check.is_some()
                && t.stages.pin_check.is_none()
        );
        assert!(
            t.card_time >= Duration::from_millis(ms)
                && t.card_time < Duration::from_millis(ms + 50),
            "{t:?}"
        );
        assert_eq!(se.clock() - before, t.card_time);
    }
}

#[test]
fn deadline_gives_outcome_unknown_but_the_try_was_spent() {
    // 300 ms charged per command, host deadline 250 ms.
    let profile: Profile = "custom:61:300".parse().expect("profile");
    let mut se = testcard::personalized_se(profile, ClockMode::Simulated).expect("card");
    assert_eq!(
        sws(&mut se, &[select_ap(), select_ef(fid::AUTH_PIN)]),
        [0x9000, 0x9000]
    );
    let (outcome, timing) = se.transmit_with_deadline(&verify(b"0000"), Duration::from_millis(250));
    assert_eq!(outcome, Outcome::Unknown);
    assert!(timing.stages.pin_check.is_some());
    // The host does not know; the card does: one try is gone. The safe next step is the query.
    let (outcome, _) = se.transmit_with_deadline(&QUERY, Duration::from_secs(1));
    assert_eq!(outcome, Outcome::Answered(StatusWord(0x63C2).into()));
}

#[test]
fn real_time_mode_sleeps_for_the_card_time() {
    let profile: Profile = "custom:0:30".parse().expect("profile");
    let mut se = testcard::personalized_se(profile, ClockMode::RealTime).expect("card");
    let start = std::time::Instant::now();
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    assert!(start.elapsed() >= Duration::from_millis(30));
}

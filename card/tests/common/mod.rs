//! Helpers shared by the integration tests: the personalized test card, APDU builders, golden
//! file comparison.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

use jpkisim_card::{
    apdu::{from_hex, StatusWord},
    applet::JPKI_AID,
    se::SecureElement,
    testcard,
    timing::{ClockMode, Profile},
};

/// A freshly personalized test card, instant profile, simulated clock.
pub(crate) fn card() -> SecureElement {
    testcard::personalized_se(Profile::Instant, ClockMode::Simulated)
        .expect("test card personalizes")
}

pub(crate) fn hex(s: &str) -> Vec<u8> {
    from_hex(s).expect("test hex")
}

pub(crate) fn select_ap() -> Vec<u8> {
    let mut v = vec![0x00, 0xA4, 0x04, 0x0C, 0x0A];
    v.extend_from_slice(&JPKI_AID);
    v
}

pub(crate) fn select_ef(fid: u16) -> Vec<u8> {
    vec![0x00, 0xA4, 0x02, 0x0C, 0x02, (fid >> 8) as u8, fid as u8]
}

pub(crate) fn verify(pin: &[u8]) -> Vec<u8> {
    let mut v = vec![0x00, 0x20, 0x00, 0x80, pin.len() as u8];
    v.extend_from_slice(pin);
    v
}

pub(crate) const QUERY: [u8; 4] = [0x00, 0x20, 0x00, 0x80];

pub(crate) fn sign(digest_info: &[u8]) -> Vec<u8> {
    let mut v = vec![0x80, 0x2A, 0x00, 0x80, digest_info.len() as u8];
    v.extend_from_slice(digest_info);
    v.push(0x00);
    v
}

pub(crate) fn sw(se: &mut SecureElement, apdu: &[u8]) -> StatusWord {
    se.transmit(apdu).response.sw
}

/// The status words of a sequence of commands.
pub(crate) fn sws(se: &mut SecureElement, apdus: &[Vec<u8>]) -> Vec<u16> {
    apdus.iter().map(|a| sw(se, a).0).collect()
}

/// A user-authentication login as a client does it: select the application, verify the test
/// PIN, select the authentication key.
pub(crate) fn auth_login() -> [Vec<u8>; 4] {
    [
        select_ap(),
        select_ef(jpkisim_card::applet::fid::AUTH_PIN),
        verify(b"1234"),
        select_ef(jpkisim_card::applet::fid::AUTH_KEY),
    ]
}

pub(crate) fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file; `JPKISIM_BLESS=1` rewrites it instead (review the diff).
pub(crate) fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("JPKISIM_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).expect("golden file present");
    assert!(
        expected == actual,
        "{} differs from the emulator's output:\n{actual}",
        path.display()
    );
}

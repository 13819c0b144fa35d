//! Helpers shared by the reference's integration tests: a simulation in which a phone was issued,
//! a login signed on it, and running openssl on what a test wrote.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::process::Command;

/// A reference world of one person (default configuration otherwise) in which person 0 applied
/// for SE 0 and the network settled: a personalized phone with a valid certificate.
pub(crate) fn issued_world(seed: u64) -> jpkisim_reference::runtime::inproc::Simulation {
    use jpkisim_model::{actors::PartyChoice, applicant::Choice, ids::SeId};
    let cfg = jpkisim_model::Config {
        persons: 1,
        ..jpkisim_model::Config::default()
    };
    let mut w = jpkisim_reference::runtime::inproc::Simulation::new(
        cfg,
        seed,
        jpkisim_reference::runtime::Faults::default(),
        "issued",
    )
    .expect("world");
    w.choose(
        APPLICANT,
        PartyChoice::Applicant(Choice::Apply { se: SeId(0) }),
    )
    .expect("apply");
    w.settle().expect("issuance");
    w
}

/// Person 0.
pub(crate) const APPLICANT: jpkisim_model::ids::Party =
    jpkisim_model::ids::Party::Applicant(jpkisim_model::ids::PersonId(0));

/// Person 0 logs in from SE 0 with the right PIN, and the SE signs: its `LoginResponse` is in
/// flight to the relying party, not yet delivered.
pub(crate) fn login_signed(w: &mut jpkisim_reference::runtime::inproc::Simulation) {
    use jpkisim_model::{actors::PartyChoice, applicant::Choice, ids::SeId};
    w.choose(
        APPLICANT,
        PartyChoice::Applicant(Choice::Login {
            se: SeId(0),
            pin_correct: true,
        }),
    )
    .expect("login");
    w.deliver(0).expect("the SE signs");
}

/// Whether a working `openssl` is on PATH; says so when the cross-checks cannot run.
pub(crate) fn openssl_available() -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => true,
        _ => {
            eprintln!(
                "SKIPPED: no working `openssl` on PATH; the openssl cross-checks did not run"
            );
            false
        }
    }
}

/// Runs `openssl` in `dir`; whether it succeeded, and what it printed (stdout then stderr).
pub(crate) fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

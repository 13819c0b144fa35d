//! `jpkisim liveness`: every fair run eventually settles with each quiescence property holding —
//! in the recovering configurations, and not with the flaws that keep a session or a
//! retirement open (each with the run that shows it); and it refuses a configuration where no
//! quiescence property applies. The model fix this check found (a patient timer that waited for
//! a message nobody would take) is pinned by the first test: before it, the crash configuration
//! below had a run stopping after 13 steps with the SP-TSM's session open.

use std::process::{Command, Output};

fn jpkisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(args)
        .output()
        .expect("jpkisim runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn recovery_is_live_where_parties_crash_and_messages_are_lost() {
    let configs: [&[&str]; 2] = [
        &["--crashes", "1", "--persons", "1", "--events", "2"],
        &["--lossy", "--persons", "1", "--events", "2"],
    ];
    for flags in configs {
        let o = jpkisim(&[&["liveness"][..], flags].concat());
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{flags:?}: {out}");
        for id in [
            "issuance_settles",
            "no_se_half_personalised",
            "issued_certificates_accounted",
            "retirement_settles",
        ] {
            assert!(
                out.lines()
                    .any(|l| l.starts_with(id) && l.contains("live: every fair run settles")),
                "{flags:?}: {id}: {out}"
            );
        }
    }
}

#[test]
fn each_recovery_flaw_has_a_fair_run_that_never_settles() {
    for (variant, property, steps) in [
        ("timer_never_aborts", "issuance_settles", 6),
        ("se_tsm_never_retries", "retirement_settles", 3),
        (
            "sp_tsm_answers_before_persisting",
            "no_se_half_personalised",
            6,
        ),
        (
            "abort_keeps_certificate",
            "issued_certificates_accounted",
            12,
        ),
    ] {
        let o = jpkisim(&["liveness", "--variant", variant]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{variant}: {out}");
        let line = out
            .lines()
            .find(|l| l.starts_with(property))
            .unwrap_or_else(|| panic!("{variant}: no line for {property}: {out}"));
        assert!(
            line.contains(&format!("NOT LIVE: a fair run stops after {steps} steps")),
            "{variant}: {line}"
        );
        // The run is printed, numbered, up to its last step.
        assert!(
            out.contains(&format!("  {steps:>3}. ")),
            "{variant}: step {steps} printed: {out}"
        );
    }
}

#[test]
fn a_configuration_without_timers_has_nothing_to_decide() {
    let o = jpkisim(&["liveness", "--persons", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no quiescence property applies"));
    let o = jpkisim(&["liveness", "--crashes", "1", "--max-states", "100"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("more than 100 states"), "{}", text(&o));
}

//! Every golden trace gets its expected verdict at its expected event, snapshotted (text and
//! JSON) with insta; the expectation is asserted here too, so a snapshot cannot silently accept a
//! wrong verdict. Every scenario golden also conforms from every single party with the default
//! options, and every broken trace is blamed at its event from the party that made the event.

use jpkisim_traces::conform::{conform_file, parse_party, Options, Verdict};
use std::path::PathBuf;

/// The goldens that do not conform: (file, verdict, event).
const NOT_CONFORMING: &[(&str, &str, u64)] = &[
    ("broken-ca-only-never-revokes", "diverges", 47),
    ("broken-delivered-twice", "diverges", 16),
    ("broken-double-issuance", "diverges", 28),
    ("broken-key-into-wrong-se", "diverges", 14),
    ("broken-revoked-accepted", "diverges", 32),
    ("broken-sp-tsm-only-store-before-cert", "diverges", 13),
    ("broken-sp-tsm-only-wrong-serial", "diverges", 29),
    ("broken-step-out-of-order", "diverges", 10),
    ("flawed-skip-issued-check", "violates", 25),
    ("truncated-issuance", "truncated", 11),
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recorded")
}

fn goldens(prefix: &str) -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(dir())
        .expect("recorded/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .map(|p| {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            (name, p)
        })
        .filter(|(n, _)| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

/// Words, not Rust values: no debug formatting of the model's types in a verdict.
fn assert_in_words(name: &str, text: &str) {
    for debug in [
        "PersonId(",
        "SeId(",
        "Some(",
        "AppNo(",
        "{\"",
        "Applicant(",
        " { ",
    ] {
        assert!(
            !text.contains(debug),
            "{name}: the verdict shows {debug:?}:\n{text}"
        );
    }
}

#[test]
fn every_golden_trace_gets_its_verdict_at_its_event() {
    let files = goldens("");
    assert!(files.len() >= 30, "golden traces present: {files:?}");
    for (name, path) in files {
        let v = conform_file(&path, &Options::default()).expect("golden traces read");
        match NOT_CONFORMING.iter().find(|(n, _, _)| *n == name) {
            Some((_, verdict, seq)) => {
                assert_eq!(v.name(), *verdict, "{name}:\n{}", v.text());
                assert_eq!(v.at().map(|a| a.seq), Some(*seq), "{name}:\n{}", v.text());
                if let Verdict::Diverges { why, .. } = &v {
                    assert!(!why.is_empty(), "{name}: a divergence says why");
                }
            }
            None => assert!(
                matches!(v, Verdict::Conforms { .. }),
                "{name}: unexpected verdict\n{}",
                v.text()
            ),
        }
        assert_in_words(&name, &v.text());
        insta::assert_snapshot!(format!("{name}.text"), v.text());
        insta::assert_json_snapshot!(format!("{name}.json"), v);
    }
}

/// Every party the goldens have (one person, two SEs).
const PARTIES: [&str; 8] = [
    "ca",
    "sp-tsm",
    "se-tsm",
    "rp",
    "mvno",
    "applicant0",
    "se0",
    "se1",
];

#[test]
fn evidence_is_named_in_protocol_words() {
    // Keys of `evidence` name what the fingerprint is of ("signature by the key of SE 1 for app
    // 1"), as the reference runtime labels it — not Rust values.
    let mut seen = 0;
    for (name, path) in goldens("") {
        let mut r = jpkisim_traces::Reader::open(&path).expect("reads");
        while let Some(e) = r.next_event() {
            for key in e.expect("event").evidence.unwrap_or_default().keys() {
                seen += 1;
                for debug in [
                    "PersonId(",
                    "SeId(",
                    "AppNo(",
                    "CardGen(",
                    " { ",
                    "serial serial",
                ] {
                    assert!(!key.contains(debug), "{name}: evidence key {key:?}");
                }
            }
        }
    }
    assert!(seen > 100, "the goldens carry evidence ({seen} keys)");
}

/// Single-party views of the fault goldens whose unobserved parts include the SP-TSM's retries
/// (hidden `Timeout` steps) and are longer than the default state bound (150,000) reaches: the
/// full trace conforms, so these views do too, but the search stops first
/// (`scenario-faults-device-change` from SE 0 conforms with `--max-states 600000`, 382,487
/// states; `loss-suspend-unsuspend` from the RP had not finished after 200 s with
/// `--max-states 3000000`; the others were not
/// tried with more). Making hidden timeouts cheaper to search
/// (patient timers: fire only when nothing is deliverable) is open.
const BEYOND_DEFAULT_BOUND: [(&str, &str); 5] = [
    ("scenario-faults-device-change", "se0"),
    ("scenario-faults-loss-suspend-unsuspend", "rp"),
    ("scenario-faults-revoke-from-phone", "ca"),
    ("scenario-faults-revoke-from-phone", "rp"),
    ("scenario-faults-revoke-from-phone", "se0"),
];

#[test]
fn every_scenario_golden_conforms_from_every_single_party_with_the_default_options() {
    let mut views = 0;
    for (name, path) in goldens("scenario-") {
        for party in PARTIES {
            let opts = Options {
                observed: Some(vec![parse_party(party).expect("party name")]),
                ..Options::default()
            };
            let v = conform_file(&path, &opts).expect("reads");
            if BEYOND_DEFAULT_BOUND.contains(&(name.as_str(), party)) {
                // Known: the search runs out of states first (never a divergence).
                assert!(
                    matches!(v, Verdict::Conforms { .. })
                        || v.text().contains("the search stopped after"),
                    "{name}, only {party}:\n{}",
                    v.text()
                );
                views += 1;
                continue;
            }
            assert!(
                matches!(v, Verdict::Conforms { .. }),
                "{name}, only {party}:\n{}",
                v.text()
            );
            views += 1;
        }
    }
    assert_eq!(views, 24 * 8);
    // The intruder's own log (what it relayed, replayed and forged) conforms too.
    for (name, path) in goldens("scenario-") {
        if !name.contains("intruder") {
            continue;
        }
        let opts = Options {
            observed: Some(vec![parse_party("intruder").expect("party name")]),
            ..Options::default()
        };
        let v = conform_file(&path, &opts).expect("reads");
        assert!(
            matches!(v, Verdict::Conforms { .. }),
            "{name}, only the intruder:\n{}",
            v.text()
        );
    }
}

#[test]
fn a_broken_trace_is_blamed_at_its_event_from_the_party_that_made_it() {
    // The party whose own event is wrong sees it alone: its state follows from its own events,
    // so the divergence is proved however the others behaved.
    for (file, party, seq) in [
        ("broken-double-issuance", "sp-tsm", 28),
        ("broken-double-issuance", "ca", 29),
        ("broken-revoked-accepted", "ca", 32),
        ("broken-key-into-wrong-se", "sp-tsm", 14),
        ("truncated-issuance", "ca", 11),
        ("flawed-skip-issued-check", "ca", 25),
    ] {
        let opts = Options {
            observed: Some(vec![parse_party(party).expect("party name")]),
            ..Options::default()
        };
        let v = conform_file(&dir().join(format!("{file}.ndjson")), &opts).expect("reads");
        assert!(
            !matches!(v, Verdict::Conforms { .. } | Verdict::Inconclusive { .. }),
            "{file}, only {party}: {}",
            v.text()
        );
        assert_eq!(
            v.at().map(|a| a.seq),
            Some(seq),
            "{file}, only {party}: {}",
            v.text()
        );
    }
}

#[test]
fn a_bound_too_small_is_inconclusive_and_names_the_option() {
    // The relying party is first seen after two issuances: about twenty unobserved steps.
    let opts = Options {
        observed: Some(vec![parse_party("rp").expect("party")]),
        hidden_steps: 6,
        ..Options::default()
    };
    let v = conform_file(&dir().join("scenario-device-change.ndjson"), &opts).expect("reads");
    let Verdict::Inconclusive {
        at, hints, bounds, ..
    } = &v
    else {
        panic!("expected inconclusive, got:\n{}", v.text());
    };
    assert_eq!(at.seq, 35, "{}", v.text());
    assert_eq!(v.exit_code(), 3);
    assert!(
        bounds
            .iter()
            .any(|b| b.contains("no match within 6 unobserved steps before event 35")),
        "{bounds:?}"
    );
    assert!(
        hints.iter().any(|h| h.starts_with("--hidden-steps ")),
        "{hints:?}"
    );
}

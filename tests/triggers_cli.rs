//! No vacuous verdicts from the CLI: a safety property whose trigger no run reaches reads
//! "holds, never triggered" in the table, carries `"triggered": false` in `--json` (and a
//! triggered one its `trigger_depth`); `--require-triggered` passes where every safety property
//! is triggered.

use std::process::{Command, Output};

/// Four PIN entries and nothing else: no card, SIM or device event, so the card is never revoked
/// and no SE is ever retired or moved (the manifest pins the same run's untriggered properties).
const PIN_ONLY: &[&str] = &[
    "check",
    "--persons",
    "1",
    "--pin-entries",
    "4",
    "--events",
    "5",
    "--card-events",
    "0",
    "--sim-events",
    "0",
    "--device-events",
    "0",
    "--progress",
    "0",
];

fn jpkisim(extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(PIN_ONLY)
        .args(extra)
        .output()
        .expect("jpkisim runs")
}

#[test]
fn an_untriggered_safety_property_is_never_a_plain_holds() {
    let o = jpkisim(&[]);
    let out = String::from_utf8_lossy(&o.stdout);
    // Exit 1: the reachability properties that need the events left out are unwitnessed.
    assert_eq!(o.status.code(), Some(1), "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with("card_revocation_cascades "))
        .expect("the property's row");
    assert!(
        row.contains("holds, never triggered") && row.contains("never"),
        "{row}"
    );
    assert!(
        out.contains("safety properties were never triggered: "),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("pin_lockout "))
        .expect("the property's row");
    assert!(row.contains(" holds ") && !row.contains("never"), "{row}");

    // With one person and the default budgets every safety property is triggered, so
    // `--require-triggered` passes.
    let o = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args([
            "check",
            "--persons",
            "1",
            "--progress",
            "0",
            "--require-triggered",
        ])
        .output()
        .expect("jpkisim runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn json_says_for_every_safety_property_whether_and_how_deep_it_was_triggered() {
    let o = jpkisim(&["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    for p in v["properties"].as_array().expect("properties") {
        match p["kind"].as_str() {
            Some("always") => {
                let triggered = p["triggered"]
                    .as_bool()
                    .expect("triggered on a safety property");
                assert_eq!(
                    p["trigger_depth"].is_u64(),
                    triggered,
                    "{}: a depth exactly when triggered",
                    p["id"]
                );
            }
            _ => assert!(p.get("triggered").is_none(), "{}", p["id"]),
        }
    }
    let pin = v["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .find(|p| p["id"] == "pin_lockout")
        .expect("pin_lockout applies with four PIN entries");
    assert_eq!(pin["triggered"], true);
}

//! `jpkisim trust`: the JSON lists every property against the threats asked for, a violated cell
//! opens with the command the table prints, `docs/trust.md` agrees with a fresh run of the cheap
//! columns (`--check-doc` with `--threat`; the whole table takes minutes), and bad input is one
//! clear line with exit 2.

use jpkisim_properties::catalogue::ALL;
use std::process::{Command, Output};

fn jpkisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(args)
        .output()
        .expect("jpkisim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn doc() -> String {
    format!("{}/docs/trust.md", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn json_has_every_property_under_the_thief_and_the_window_before_the_report_is_open() {
    let o = jpkisim(&["trust", "--threat", "thief", "--format", "json", "--quiet"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let props: Vec<&str> = v["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert_eq!(props, ALL.iter().map(|p| p.id).collect::<Vec<_>>());
    let cols = v["columns"].as_array().expect("columns");
    assert_eq!(cols.len(), 1);
    assert_eq!(cols[0]["threat"], "thief-knows-pin");
    assert_eq!(cols[0]["flags"], "--persons 1 --thief knows-pin");
    let cell = |id: &str| {
        let i = props.iter().position(|p| *p == id).expect("catalogued");
        cols[0]["cells"][i].clone()
    };
    // The window the protocol cannot close is visible, and nothing is accepted after the report.
    assert_eq!(cell("thief_accepted_before_report"), "witnessed");
    assert_eq!(cell("stolen_se_unusable_after_report"), "holds");
    assert_eq!(cell("status_evidence_fresh"), "not_applicable");
}

#[test]
fn the_doc_agrees_with_a_fresh_run_of_the_thief_and_the_compromised_relying_party() {
    let o = jpkisim(&[
        "trust",
        "--threat",
        "thief",
        "--threat",
        "rp",
        "--quiet",
        "--check-doc",
        &doc(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout(&o).contains("'RP compromised', 'thief knows PIN' match a fresh run"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_violated_cell_opens_with_the_command_the_doc_prints() {
    // The doc's failing cells name `jpkisim explore <flags>`; `check` with the same flags must
    // report the same property violated at the same length. The compromised MVNO's column is the
    // cheapest that fails (seconds; the SP-TSM's takes minutes and gigabytes).
    let text = std::fs::read_to_string(doc()).expect("docs/trust.md");
    let line = text
        .lines()
        .find(|l| l.starts_with("- MVNO compromised: `jpkisim explore ") && l.contains("violated"))
        .expect("the doc lists the compromised MVNO's failing cell");
    let cmd = line.split('`').nth(1).expect("command");
    let flags: Vec<&str> = cmd
        .strip_prefix("jpkisim explore ")
        .expect("explore command")
        .split_whitespace()
        .collect();
    let rest = line.split(" — ").nth(1).expect("cells");
    let first = rest.split(", ").next().expect("a cell");
    let id = first.split('`').nth(1).expect("property");
    let steps: usize = first
        .split("violated in ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("length");
    let mut args = vec!["check", "--json", "--progress", "0"];
    args.extend(&flags);
    let o = jpkisim(&args);
    assert_eq!(o.status.code(), Some(1), "{line}: a violation exits 1");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let p = v["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .find(|p| p["id"] == id)
        .expect("the property is checked");
    assert_eq!(p["verdict"], "violated", "{line}");
    assert_eq!(p["depth"], steps, "{line}");
    assert_eq!(p["shortest"], true);
}

#[test]
fn bad_input_is_one_clear_line_and_exit_2() {
    let o = jpkisim(&["trust", "--threat", "nobody"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown threat \"nobody\"") && err.contains("sp-tsm"),
        "{err}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let no_markers = dir.path().join("plain.md");
    std::fs::write(&no_markers, "# no table here\n").expect("write");
    let o = jpkisim(&[
        "trust",
        "--quiet",
        "--check-doc",
        no_markers.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no generated block"));
}

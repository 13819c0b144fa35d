//! `jpkisim matrix`: the flags that select a design are the ones `check` and `explore` accept, and
//! `--check-doc` refuses a document without a generated block before spending minutes on a run.

use std::process::Command;

#[test]
fn check_doc_refuses_a_document_without_the_matrix_markers() {
    let dir = std::env::temp_dir().join(format!("jpkisim-matrix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let doc = dir.join("no-markers.md");
    std::fs::write(&doc, "# a document without a generated block\n").expect("write doc");
    let out = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["matrix", "--quiet", "--check-doc"])
        .arg(&doc)
        .output()
        .expect("jpkisim runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no generated block"), "{err}");
}

#[test]
fn a_design_opened_by_its_flags_shows_the_failure_the_matrix_reports() {
    // The doc's command for the GP-SE mail design, run through `check` with the same flags.
    let out = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args([
            "check",
            "--json",
            "--progress",
            "0",
            "--persons",
            "1",
            "--crashes",
            "1",
            "--medium",
            "gp-se",
            "--proofing",
            "mail",
        ])
        .output()
        .expect("jpkisim runs");
    assert_eq!(out.status.code(), Some(1), "a violated property exits 1");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let prop = report["properties"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == "key_only_in_designated_se"))
        .expect("key_only_in_designated_se applies");
    assert_eq!(prop["verdict"], "violated");
    assert_eq!(
        prop["depth"], 6,
        "the shortest counterexample the matrix reports"
    );
}

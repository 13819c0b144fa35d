//! Every golden trace gets its expected verdict, snapshotted (text and JSON) with insta; the
//! expected kind of verdict is also asserted from the file name, so a snapshot cannot silently
//! accept a wrong verdict.

use jpkisim_traces::conform::{conform_file, Options, Verdict};
use std::path::PathBuf;

fn goldens() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recorded");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("recorded/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_golden_trace_gets_its_verdict() {
    let files = goldens();
    assert!(files.len() >= 13, "golden traces present: {files:?}");
    for path in files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let v = conform_file(&path, &Options::default()).expect("golden traces read");
        let ok = match &v {
            Verdict::Conforms { .. } => name.starts_with("model-") || name.starts_with("scenario-"),
            Verdict::Diverges { nearest, .. } => name.starts_with("broken-") && nearest.is_some(),
            Verdict::Violates { .. } => name.starts_with("flawed-"),
        };
        assert!(ok, "{name}: unexpected verdict\n{}", v.text());
        insta::assert_snapshot!(format!("{name}.text"), v.text());
        insta::assert_json_snapshot!(format!("{name}.json"), v);
    }
}

#[test]
fn a_fully_observed_golden_conforms_from_each_single_party() {
    // With the default bound on unobserved steps (6), every party of the model golden, and the
    // parties of the scenario goldens that are seen early.
    single_parties(
        "model-device-change",
        &["sp-tsm", "ca", "se-tsm", "applicant0", "se1"],
        6,
    );
    single_parties(
        "scenario-device-change",
        &["sp-tsm", "applicant0", "se0"],
        6,
    );
    single_parties(
        "scenario-card-revoked-cascade",
        &["sp-tsm", "ca", "se-tsm", "applicant0", "se0"],
        6,
    );
    // A party first seen after a whole issuance (the relying party: about 17 unobserved steps)
    // needs a larger bound; the settle-first first pass keeps that search small.
    single_parties("scenario-issuance-mno", &["rp", "ca", "se-tsm", "se0"], 24);
    single_parties("scenario-device-change", &["rp", "ca", "se-tsm"], 24);
    single_parties("scenario-revoke-from-phone", &["rp", "ca"], 24);
}

fn single_parties(file: &str, parties: &[&str], hidden_steps: usize) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("recorded/{file}.ndjson"));
    for &party in parties {
        let p = jpkisim_traces::conform::parse_party(party).expect("party name");
        let opts = Options {
            observed: Some(vec![p]),
            hidden_steps,
            ..Options::default()
        };
        let v = conform_file(&path, &opts).expect("reads");
        assert!(
            matches!(v, Verdict::Conforms { .. }),
            "{file}, only {party}: {}",
            v.text()
        );
    }
}

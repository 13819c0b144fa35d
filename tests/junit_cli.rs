//! `--junit FILE` writes the JUnit XML that CI test reporters read (GitLab, Jenkins, GitHub):
//! one test case per property, a violated property failing with its counterexample. Checked two
//! ways: structurally here, always, and against the JUnit schema Jenkins' xUnit plugin uses
//! (`tests/data/junit-10.xsd`) with `xmllint`, where libxml2-utils is installed (skipped, saying
//! so, where it is not).

use std::path::Path;
use std::process::Command;

fn jpkisim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(args)
        .output()
        .expect("jpkisim runs")
}

/// The structure reporters rely on: `testsuites` > `testsuite` (counts that add up) >
/// `testcase` (a name, at most one `failure`/`error`/`skipped`).
fn structure(xml: &str) -> Vec<(String, String, Option<String>)> {
    let doc =
        roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("well-formed XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let mut cases = Vec::new();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for suite in root.children().filter(|n| n.is_element()) {
        assert_eq!(suite.tag_name().name(), "testsuite");
        let attr = |n: roxmltree::Node<'_, '_>, a: &str| -> usize {
            n.attribute(a)
                .unwrap_or_else(|| panic!("testsuite has {a}"))
                .parse()
                .expect("a count")
        };
        assert!(suite.attribute("name").is_some());
        let mut counted = (0, 0, 0, 0);
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            let name = case
                .attribute("name")
                .expect("testcase has a name")
                .to_string();
            let outcomes: Vec<_> = case.children().filter(|n| n.is_element()).collect();
            assert!(outcomes.len() <= 1, "{name}: one outcome at most");
            counted.0 += 1;
            let outcome = outcomes.first().map(|o| {
                match o.tag_name().name() {
                    "failure" => counted.1 += 1,
                    "error" => counted.2 += 1,
                    "skipped" => counted.3 += 1,
                    other => panic!("{name}: unexpected <{other}>"),
                }
                format!("{}: {}", o.tag_name().name(), o.text().unwrap_or_default())
            });
            cases.push((
                case.attribute("classname").unwrap_or_default().to_string(),
                name,
                outcome,
            ));
        }
        assert_eq!(attr(suite, "tests"), counted.0);
        assert_eq!(attr(suite, "failures"), counted.1);
        assert_eq!(attr(suite, "errors"), counted.2);
        assert_eq!(attr(suite, "skipped"), counted.3);
        tests += counted.0;
        failures += counted.1;
        errors += counted.2;
    }
    assert_eq!(root.attribute("tests"), Some(&*tests.to_string()));
    assert_eq!(root.attribute("failures"), Some(&*failures.to_string()));
    assert_eq!(root.attribute("errors"), Some(&*errors.to_string()));
    cases
}

/// Validates against the JUnit schema with xmllint, if installed.
fn schema_valid(file: &Path) {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit-10.xsd");
    let out = match Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(file)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "SKIPPED the schema check: xmllint not found ({e}); apt-get install libxml2-utils"
            );
            return;
        }
    };
    assert!(
        out.status.success(),
        "{} is not valid JUnit XML:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_junit_has_a_case_per_property_and_the_counterexample_as_failure() {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-junit.xml");
    let o = jpkisim(&[
        "check",
        "--variant",
        "skip_issued_check",
        "--progress",
        "0",
        "--junit",
        file.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(o.status.code(), Some(1), "the variant fails");
    let xml = std::fs::read_to_string(&file).expect("junit written");
    let cases = structure(&xml);
    let failed: Vec<_> = cases
        .iter()
        .filter(|(_, _, o)| o.as_deref().is_some_and(|o| o.starts_with("failure")))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let (_, name, outcome) = failed[0];
    assert_eq!(name, "no_double_issuance");
    let text = outcome.as_deref().unwrap_or_default();
    assert!(
        text.contains("no_double_issuance violated in 13 steps")
            && text.contains("SP-TSM → CA: IssueCert("),
        "the counterexample is the failure text: {text}"
    );
    assert!(cases
        .iter()
        .any(|(c, n, o)| c == "jpkisim.check.always" && n == "distinct_serials" && o.is_none()));
    assert!(
        cases
            .iter()
            .any(|(_, _, o)| o.as_deref().is_some_and(|o| o.starts_with("skipped"))),
        "not-applicable properties are skipped cases"
    );
    schema_valid(&file);
}

#[test]
fn conform_junit_reports_the_divergence_and_the_properties() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/recorded");
    for (trace, code, failing) in [
        ("model-issuance.ndjson", 0, None),
        ("broken-double-issuance.ndjson", 1, Some("conforms")),
        (
            "flawed-skip-issued-check.ndjson",
            1,
            Some("no_double_issuance"),
        ),
    ] {
        let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("conform-{trace}.xml"));
        let o = jpkisim(&[
            "conform",
            dir.join(trace).to_str().expect("utf-8"),
            "--junit",
            file.to_str().expect("utf-8"),
        ]);
        assert_eq!(o.status.code(), Some(code), "{trace}");
        let xml = std::fs::read_to_string(&file).expect("junit written");
        let cases = structure(&xml);
        let failed: Vec<&str> = cases
            .iter()
            .filter(|(_, _, o)| o.as_deref().is_some_and(|o| o.starts_with("failure")))
            .map(|(_, n, _)| n.as_str())
            .collect();
        assert_eq!(failed, failing.into_iter().collect::<Vec<_>>(), "{trace}");
        schema_valid(&file);
    }
}

//! `jpkisim explore` as a user runs it: it prints the Explorer's URL and the shortest
//! counterexample's `#/steps/...` link, opens a trace file at its last step, and refuses a trace
//! that is not a path of the model, naming the first step that does not match.

use jpkisim_checker::explorer_http::shortest_discoveries;
use jpkisim_model::Config;
use jpkisim_properties::{checked_model, variants};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const FLAGS: [&str; 6] = [
    "explore",
    "--variant",
    "skip_issued_check",
    "--persons",
    "1",
    "--bind=127.0.0.1:0",
];

/// The readable steps of the shortest double issuance, as the library finds them.
fn shortest_steps() -> (Vec<String>, String) {
    let variant = variants::by_id("skip_issued_check").expect("variant exists");
    let cfg = variant.config(Config {
        persons: 1,
        ..Config::default()
    });
    let model = checked_model(cfg).expect("builds");
    let d = shortest_discoveries(&model)
        .expect("search runs")
        .into_iter()
        .find(|d| d.property == "no_double_issuance")
        .expect("caught");
    let path = d.explorer_path();
    (d.steps, path)
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn explore_prints_the_shortest_counterexample_and_opens_a_trace_at_its_last_step() {
    let (steps, path) = shortest_steps();
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("double_issuance.json");
    std::fs::write(&file, serde_json::to_string(&steps).expect("json")).expect("write trace");
    let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(FLAGS)
        .arg("--trace")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("jpkisim runs");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("piped stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("utf-8 output");
        let last = line.starts_with("Trace (");
        lines.push(line);
        if last {
            break;
        }
    }
    let out = lines.join("\n");
    assert!(out.starts_with("Explorer: http://127.0.0.1:"), "{out}");
    let base = lines[0].trim_start_matches("Explorer: ").to_string();
    assert!(
        out.contains(&format!(
            "no_double_issuance violated in {} steps: {base}#/steps/{path}",
            steps.len()
        )),
        "{out}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some(&*format!(
            "Trace ({} steps): {base}#/steps/{path}",
            steps.len()
        )),
        "{out}"
    );
}

#[test]
fn an_itf_counterexample_written_by_check_opens_at_its_last_step() {
    let (steps, path) = shortest_steps();
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("check_cex.itf.json");
    let check = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["check", "--variant", "skip_issued_check", "--persons", "1"])
        .args(["--progress", "0", "--trace-out"])
        .arg(&file)
        .output()
        .expect("jpkisim check runs");
    assert_eq!(check.status.code(), Some(1), "the variant fails");
    let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(FLAGS)
        .arg("--trace")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("jpkisim explore runs");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("piped stdout");
    let trace_line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("Trace ("))
        .expect("the trace's URL is printed");
    assert!(
        trace_line.starts_with(&format!("Trace ({} steps): http://127.0.0.1:", steps.len()))
            && trace_line.ends_with(&format!("/#/steps/{path}")),
        "{trace_line}"
    );
}

#[test]
fn a_trace_that_leaves_the_model_is_refused_at_its_first_wrong_step() {
    let (mut steps, _) = shortest_steps();
    steps[2] = "CA → SP-TSM: CertIssued(app 7, serial 9)".into();
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("not_a_path.json");
    std::fs::write(&file, serde_json::to_string(&steps).expect("json")).expect("write trace");
    let out = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(FLAGS)
        .arg("--trace")
        .arg(&file)
        .output()
        .expect("jpkisim runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not a path of this model: step 3 \"CA → SP-TSM: CertIssued(app 7, serial 9)\" is not enabled"),
        "{err}"
    );
    assert!(err.contains("the model allowed there:"), "{err}");
    assert!(out.stdout.is_empty(), "nothing served");
}

#[test]
fn a_trace_recorded_by_jpkisim_run_opens_without_the_startup_search() {
    // The scenario's budgets (30 events) make the model far too large to search before serving;
    // a recorded trace opens at once, in its header's configuration.
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces/recorded/scenario-issuance-mno.ndjson");
    let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["explore", "--bind=127.0.0.1:0", "--trace"])
        .arg(&golden)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("jpkisim explore runs");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("piped stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("(the Explorer"))
        .collect();
    let out = lines.join("\n");
    // 13 model steps: 2 choices and 11 deliveries (the 24 events also log the sends).
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Trace (13 steps): http://127.0.0.1:")),
        "{out}"
    );
    assert!(
        !out.contains("no safety property is violated"),
        "nothing was searched: {out}"
    );
}

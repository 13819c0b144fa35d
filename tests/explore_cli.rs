//! `jpkisim explore` as a user runs it: it serves at once (the address checked before any work),
//! prints the Explorer's URL and the shortest counterexample's `#/steps/...` link, opens a trace
//! file at its last step in the configuration the trace carries, and refuses a trace that is not
//! a path of the model, naming the first step that does not match.

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
        let last = line.starts_with("(the Explorer");
        lines.push(line);
        if last {
            break;
        }
    }
    let out = lines.join("\n");
    // Served first, the trace opened at once, then what the startup search found.
    assert!(out.starts_with("Explorer: http://127.0.0.1:"), "{out}");
    let base = lines[0].trim_start_matches("Explorer: ").to_string();
    assert_eq!(
        lines.get(1).map(String::as_str),
        Some(&*format!(
            "Trace ({} steps): {base}#/steps/{path}",
            steps.len()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "no_double_issuance violated in {} steps: {base}#/steps/{path}",
            steps.len()
        )),
        "{out}"
    );
}

/// Writes `skip_issued_check`'s counterexample with `jpkisim check <check_args> --trace-out FILE`,
/// opens FILE with `jpkisim explore <explore_args> --trace FILE`, and checks that the printed URL
/// is the shortest double issuance's last step.
fn check_then_explore(check_args: &[&str], explore_args: &[&str], file_name: &str) {
    let (steps, path) = shortest_steps();
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(file_name);
    let check = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["check", "--variant", "skip_issued_check", "--progress", "0"])
        .args(check_args)
        .arg("--trace-out")
        .arg(&file)
        .output()
        .expect("jpkisim check runs");
    assert_eq!(check.status.code(), Some(1), "the variant fails");
    let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(explore_args)
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
fn an_itf_counterexample_written_by_check_opens_at_its_last_step() {
    check_then_explore(&["--persons", "1"], &FLAGS, "check_cex.itf.json");
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

/// Opens the recorded golden trace `name` with `jpkisim explore --trace` and returns what the
/// Explorer printed before it started serving.
fn open_recorded(name: &str) -> Vec<String> {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces/recorded")
        .join(name);
    let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["explore", "--bind=127.0.0.1:0", "--trace"])
        .arg(&golden)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("jpkisim explore runs");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("(the Explorer"))
        .collect()
}

#[test]
fn a_trace_recorded_by_jpkisim_run_opens_without_the_startup_search() {
    // The scenario's budgets (30 events) make the model far too large to search before serving;
    // a recorded trace opens at once, in its header's configuration.
    let lines = open_recorded("scenario-issuance-mno.ndjson");
    let out = lines.join("\n");
    // 13 model steps: 2 choices and 11 deliveries (the 24 events also log the sends), numbered
    // by their events as `conform` and `run` number them.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Trace (13 steps, events 1–24): http://127.0.0.1:")),
        "{out}"
    );
    assert!(
        !out.contains("no safety property is violated"),
        "nothing was searched: {out}"
    );
}

#[test]
fn a_recorded_trace_with_timeouts_opens_each_as_the_timer_that_fired() {
    // A `timeout` event names its party, not the timer; the replay finds the timer after which
    // the rest of the trace is a path (this run lost messages and the SP-TSM retried three times).
    let name = "scenario-faults-issuance-mail.ndjson";
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("traces/recorded")
            .join(name),
    )
    .expect("golden trace");
    assert_eq!(
        text.matches("\"timeout\"").count(),
        3,
        "the trace has three timeouts"
    );
    let lines = open_recorded(name);
    // 29 model steps, the three timeouts among them.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Trace (29 steps, events 1–53): http://127.0.0.1:")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn a_counterexample_written_by_check_opens_without_repeating_its_flags() {
    // The ITF #meta carries the configuration: no --variant, no --persons.
    check_then_explore(
        &[],
        &["explore", "--bind=127.0.0.1:0", "--no-search"],
        "check_cex_meta.itf.json",
    );
}

#[test]
fn the_explorer_answers_at_once_and_shows_the_startup_search_as_it_runs() {
    // The default configuration's startup search takes a minute or more; the page does not wait.
    let started = std::time::Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["explore", "--bind=127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("jpkisim explore runs");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("piped stdout");
    let first = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .next()
        .expect("a first line");
    let addr: std::net::SocketAddr = first
        .trim_start_matches("Explorer: http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{first}: {e}"));
    let status = jpkisim_checker::explorer_http::request(addr, "GET", "/.jpkisim/status", None)
        .expect("the front server answers");
    let served = started.elapsed();
    assert_eq!(status.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&status.body).expect("json");
    assert_eq!(v["search"]["state"], "running", "{v}");
    assert!(
        v["properties"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["verdict"] == "searching")),
        "{v}"
    );
    assert_eq!(v["page"]["title"], "the protocol as designed (no flaw)");
    let page = jpkisim_checker::explorer_http::request(addr, "GET", "/", None).expect("page");
    assert_eq!(page.status, 200);
    eprintln!("answered HTTP {:.2} s after start", served.as_secs_f64());
}

#[test]
fn a_refused_address_or_a_port_in_use_fails_before_any_search() {
    let out = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["explore", "--bind=0.0.0.0:0"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("address");
    let out = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["explore", &format!("--bind={addr}")])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on"), "{err}");
    assert!(
        !err.contains("startup search"),
        "refused before any search: {err}"
    );
}

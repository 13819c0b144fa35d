//! `jpkisim conform` as a user runs it: exit codes 0 (conforms), 1 (diverges, truncated,
//! violated), 2 (bad input), 3 (inconclusive, naming the bound and the option), and
//! `--explore`, which opens the run behind the trace where it diverged.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces/recorded")
        .join(name)
}

fn jpkisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(args)
        .output()
        .expect("jpkisim runs")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn each_verdict_has_its_exit_code() {
    let g = golden("scenario-device-change.ndjson");
    let o = jpkisim(&["conform", path(&g)]);
    assert_eq!(o.status.code(), Some(0));
    let o = jpkisim(&["conform", path(&golden("broken-delivered-twice.ndjson"))]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("diverges at event 16"), "{out}");
    assert!(out.contains("delivers each send once"), "{out}");
    let o = jpkisim(&["conform", path(&golden("truncated-issuance.ndjson"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("truncated after event 11"));
    // The relying party is first seen after two issuances: six unobserved steps are too few.
    let o = jpkisim(&[
        "conform",
        path(&g),
        "--observed",
        "rp",
        "--hidden-steps",
        "6",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("inconclusive at event 35")
            && out.contains("no match within 6 unobserved steps before event 35")
            && out.contains("try --hidden-steps "),
        "{out}"
    );
    // With the defaults, the same view conforms.
    let o = jpkisim(&["conform", path(&g), "--observed", "rp"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// A log with a crash and a restart conforms where parties crash: its header's `crashes`, or
/// `--crashes N` over a header without them; without either the crash diverges, naming the flag.
#[test]
fn crashes_are_checked_where_parties_crash() {
    let g = golden("model-crash-sp-tsm-restarts.ndjson");
    let o = jpkisim(&["conform", path(&g)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = jpkisim(&["conform", path(&g), "--crashes", "0"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("diverges at event 13 (line 14): SP-TSM crashes"),
        "{out}"
    );
    assert!(out.contains("pass --crashes N"), "{out}");
    // The same log under a header without crashes, checked with --crashes 1.
    let text = std::fs::read_to_string(&g).expect("golden reads");
    assert!(text.contains(r#""crashes":1"#));
    let f = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crash-without-crashes.ndjson");
    std::fs::write(&f, text.replacen(r#""crashes":1"#, r#""crashes":0"#, 1)).expect("written");
    let o = jpkisim(&["conform", path(&f)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("pass --crashes N"));
    let itf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crash-with-crashes.itf.json");
    let o = jpkisim(&[
        "conform",
        path(&f),
        "--crashes",
        "1",
        "--itf-out",
        path(&itf),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // The ITF written carries the configuration checked, so it conforms without the flag.
    let o = jpkisim(&["conform", path(&itf)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // More than the three crashable parties is a bad flag.
    let o = jpkisim(&["conform", path(&g), "--crashes", "4"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_itf_trace_without_states_is_bad_input() {
    let f = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-states.itf.json");
    std::fs::write(
        &f,
        r##"{"#meta": {"format": "ITF"}, "vars": ["event"], "states": []}"##,
    )
    .expect("write");
    let o = jpkisim(&["conform", path(&f)]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("\"states\" array is empty"), "{e}");
    assert!(o.stdout.is_empty());
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `conform ARGS --explore` and returns its verdict lines, the Explorer's address and the
/// steps of the run it opened (the server stops when the guard drops).
fn explore(args: &[&str]) -> (Server, String, std::net::SocketAddr, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .arg("conform")
        .args(args)
        .args(["--explore", "--bind=127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("jpkisim runs");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("(the steps"))
        .collect();
    let out = lines.join("\n");
    let url = lines
        .iter()
        .find_map(|l| {
            l.strip_prefix("The run behind the trace ")
                .and_then(|r| r.split(": ").nth(1))
        })
        .unwrap_or_else(|| panic!("the run's URL: {out}"))
        .to_string();
    let (base, steps) = url.split_once("/#/steps/").expect("an Explorer URL");
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().expect("address");
    (server, out, addr, steps.to_string())
}

/// The event numbers the page gives the opened run's steps.
fn step_events(addr: std::net::SocketAddr) -> Vec<u64> {
    let status = jpkisim_checker::explorer_http::request(addr, "GET", "/.jpkisim/status", None)
        .expect("the status answers");
    let v: serde_json::Value = serde_json::from_slice(&status.body).expect("json");
    v["page"]["trace"]["events"]
        .as_array()
        .expect("the trace's events")
        .iter()
        .map(|e| e.as_u64().expect("a number"))
        .collect()
}

#[test]
fn explore_opens_the_run_at_the_divergence_with_the_allowed_next_steps() {
    let g = golden("broken-double-issuance.ndjson");
    let (_server, out, addr, steps) = explore(&[path(&g)]);
    assert!(out.starts_with("diverges at event 28"), "{out}");
    assert!(out.contains("up to event 28"), "{out}");
    // Every step of a fully observed trace is a recorded event, numbered as the file numbers it.
    let events = step_events(addr);
    assert_eq!(events.len(), steps.split('/').count() - 1, "{events:?}");
    assert!(events.windows(2).all(|w| w[0] < w[1]), "{events:?}");
    assert_eq!(
        (events.first(), events.last()),
        (Some(&1), Some(&27)),
        "{events:?}"
    );
    // The state there offers the model's next steps, among them the IssueCert the model
    // allowed (with `supersedes`), where the trace recorded one without.
    let next =
        jpkisim_checker::explorer_http::request(addr, "GET", &format!("/.states/{steps}"), None)
            .expect("the Explorer answers");
    assert_eq!(next.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&next.body).expect("json");
    let actions: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["action"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        actions.iter().any(|a| a.starts_with(
            "SP-TSM → CA: IssueCert(person 0, SE 1, app 1, card serial 1, supersedes serial 2)"
        )),
        "{actions:#?}"
    );
}

#[test]
fn explore_marks_the_steps_a_partial_log_left_unobserved() {
    let g = golden("scenario-device-change.ndjson");
    let (_server, out, addr, _) = explore(&[path(&g), "--observed", "sp-tsm"]);
    assert!(out.starts_with("conforms"), "{out}");
    let events = step_events(addr);
    // The SP-TSM's own steps carry their event numbers; the others' are unobserved (0).
    let sp_tsm: Vec<u64> = std::fs::read_to_string(&g)
        .expect("golden")
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["party"] == "SpTsm" && e["kind"] == "deliver")
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    let numbered: Vec<u64> = events.iter().copied().filter(|&e| e != 0).collect();
    assert_eq!(numbered, sp_tsm, "{events:?}");
    assert!(
        events.contains(&0),
        "the other parties' steps are unobserved: {events:?}"
    );
}

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

#[test]
fn explore_opens_the_run_at_the_divergence_with_the_allowed_next_steps() {
    let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args([
            "conform",
            path(&golden("broken-double-issuance.ndjson")),
            "--explore",
            "--bind=127.0.0.1:0",
        ])
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
    assert!(out.starts_with("diverges at event 28"), "{out}");
    let url = lines
        .iter()
        .find_map(|l| {
            l.strip_prefix("The run behind the trace ")
                .and_then(|r| r.split(": ").nth(1))
        })
        .unwrap_or_else(|| panic!("the run's URL: {out}"));
    assert!(out.contains("up to event 28"), "{out}");
    let (base, steps) = url.split_once("/#/steps/").expect("an Explorer URL");
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().expect("address");
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

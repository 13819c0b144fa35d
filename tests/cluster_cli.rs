//! `jpkisim check` across processes, as a user runs it: two OS processes on 127.0.0.1 with a
//! hostfile find exactly what one process finds (state counts, verdicts, shortest lengths and
//! paths), and a cluster that cannot form ends every process with a clear error and exit code 2
//! within its connection timeout, not a hang.

use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A small configuration with a violated property: one person, the issued check skipped.
const CONFIG: [&str; 4] = ["--persons", "1", "--variant", "skip_issued_check"];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn hostfile(name: &str, processes: usize) -> PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let mut ports: Vec<u16> = Vec::new();
    while ports.len() < processes {
        let p = free_port();
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    let text: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
    std::fs::write(&path, text).expect("hostfile written");
    path
}

fn jpkisim(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jpkisim"));
    c.arg("check").args(args).args(["--progress", "0"]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

fn spawn(args: &[&str]) -> Child {
    jpkisim(args).spawn().expect("jpkisim starts")
}

/// Waits for a process, killing it if it outlives `limit` (a hang fails the test, it does not
/// stall it).
fn finish(child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    let mut child = child;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "jpkisim did not end within {limit:?}; stderr:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("waiting for jpkisim: {e}"),
        }
    }
    child.wait_with_output().expect("output")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// What must not depend on how the search was spread: counts and, per property, the verdict,
/// the shortest length and the path.
fn essentials(r: &Value) -> Value {
    let props: Vec<Value> = r["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| serde_json::json!([p["id"], p["verdict"], p["depth"], p["explorer_path"]]))
        .collect();
    serde_json::json!({
        "states": r["states"],
        "unique_states": r["unique_states"],
        "complete": r["complete"],
        "properties": props,
    })
}

#[test]
fn two_processes_on_one_host_find_what_one_process_finds() {
    let single = finish(
        spawn(&[&CONFIG[..], &["--json", "--threads", "2"]].concat()),
        Duration::from_secs(600),
    );
    assert_eq!(single.status.code(), Some(1), "the variant is caught");
    let expected = json(&single);
    assert_eq!(expected["processes"], 1);

    let hosts = hostfile("two-processes.hosts", 2);
    let hosts = hosts.to_str().expect("utf-8 path");
    let cluster = |i: &str| {
        spawn(
            &[
                &CONFIG[..],
                &[
                    "--json",
                    "--workers",
                    "1",
                    "--hostfile",
                    hosts,
                    "--process",
                    i,
                ],
            ]
            .concat(),
        )
    };
    let p1 = cluster("1");
    let p0 = cluster("0");
    let p0 = finish(p0, Duration::from_secs(600));
    let p1 = finish(p1, Duration::from_secs(60));
    assert_eq!(
        (p0.status.code(), p1.status.code()),
        (Some(1), Some(1)),
        "both report the violation; stderr 0:\n{}\nstderr 1:\n{}",
        String::from_utf8_lossy(&p0.stderr),
        String::from_utf8_lossy(&p1.stderr)
    );
    let got = json(&p0);
    assert_eq!(got["processes"], 2);
    assert_eq!(got["threads"], 2, "one worker in each process");
    assert_eq!(essentials(&got), essentials(&expected));
    assert!(
        got["exchanged_bytes"].as_u64().is_some_and(|b| b > 0),
        "the processes exchanged states, and say how many bytes: {}",
        got["exchanged_bytes"]
    );
    assert!(
        expected["exchanged_bytes"].is_null(),
        "one process exchanges nothing"
    );
    let violated = got["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .find(|p| p["id"] == "no_double_issuance")
        .expect("reported");
    assert_eq!(violated["verdict"], "violated");
    assert_eq!(
        violated["depth"], 13,
        "the length tests/counterexamples.rs proves minimal"
    );
    assert!(
        p1.stdout.is_empty(),
        "process 1 leaves the report to process 0"
    );
    assert!(String::from_utf8_lossy(&p1.stderr).contains("process 1 of 2 done"));
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_cluster_that_cannot_form_ends_with_a_clear_error() {
    let tiny = ["--persons", "1", "--events", "1", "--connect-timeout", "3"];
    let limit = Duration::from_secs(30);

    // Unreachable: process 1 started alone cannot reach process 0.
    let hosts = hostfile("unreachable.hosts", 2);
    let hosts = hosts.to_str().expect("utf-8 path");
    let out = finish(
        spawn(&[&tiny[..], &["--hostfile", hosts, "--process", "1"]].concat()),
        limit,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("could not reach process 0 at 127.0.0.1:"),
        "{}",
        stderr(&out)
    );
    // And process 0 started alone waits for process 1 in vain.
    let out = finish(
        spawn(&[&tiny[..], &["--hostfile", hosts, "--process", "0"]].concat()),
        limit,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("processes [1] did not connect within 3s"),
        "{}",
        stderr(&out)
    );

    // Different configurations: both processes refuse.
    let hosts = hostfile("mismatch.hosts", 2);
    let hosts = hosts.to_str().expect("utf-8 path");
    let p0 = spawn(&[&tiny[..], &["--hostfile", hosts, "--process", "0"]].concat());
    let p1 = spawn(
        &[
            &tiny[..],
            &["--hostfile", hosts, "--process", "1", "--pin-entries", "1"],
        ]
        .concat(),
    );
    let (p0, p1) = (finish(p0, limit), finish(p1, limit));
    for (name, out) in [("process 0", &p0), ("process 1", &p1)] {
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(out));
        assert!(
            stderr(out).contains("different configurations: config.budgets.pin_entries"),
            "{name}: {}",
            stderr(out)
        );
    }

    // The same index twice: the second process cannot take the first one's place (the first
    // is still waiting for process 0, which is never started).
    let hosts = hostfile("duplicate.hosts", 2);
    let hosts = hosts.to_str().expect("utf-8 path");
    let first = spawn(&[&tiny[..], &["--hostfile", hosts, "--process", "1"]].concat());
    std::thread::sleep(Duration::from_millis(500));
    let second = finish(
        spawn(&[&tiny[..], &["--hostfile", hosts, "--process", "1"]].concat()),
        limit,
    );
    assert_eq!(second.status.code(), Some(2));
    assert!(
        stderr(&second).contains("is another process already started with --process 1?"),
        "{}",
        stderr(&second)
    );
    let first = finish(first, limit);
    assert_eq!(first.status.code(), Some(2), "{}", stderr(&first));

    // A hostfile that is not one gives the file and line.
    let bad = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad.hosts");
    std::fs::write(&bad, "127.0.0.1:2101\nlocalhost\n").expect("written");
    let out = finish(
        spawn(
            &[
                &tiny[..],
                &["--hostfile", bad.to_str().expect("utf-8"), "--process", "0"],
            ]
            .concat(),
        ),
        limit,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.hosts:2: expected `host:port`"),
        "{}",
        stderr(&out)
    );
}

//! `jpkisim run` end to end: every scenario completes on both transports, with and without
//! injected faults the program reports every safety property held, bad arguments exit 2, the
//! recorded traces read back as traces, and a seed replays a run byte for byte.

use jpkisim_reference::runtime::Faults;
use std::path::Path;
use std::process::{Command, Output};

use jpkisim_traces::Reader;

fn jpkisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(args)
        .output()
        .expect("jpkisim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The per-scenario summary lines.
fn summaries(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .filter(|l| l.contains("safety properties held") || l.contains("FAILED"))
        .map(str::to_owned)
        .collect()
}

const SCENARIOS: usize = 11;

fn assert_all_completed(o: &Output) {
    assert!(
        o.status.success(),
        "{}{}",
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
    let lines = summaries(o);
    assert_eq!(lines.len(), SCENARIOS, "{lines:#?}");
    for l in &lines {
        let want = format!(
            ": completed; {} safety properties held",
            safety_of(l, Faults::default())
        );
        assert!(l.contains(&want), "{l}");
    }
}

/// The number of safety properties that apply to the scenario a summary line names (the runtime
/// checks exactly those on every event).
/// How many safety properties apply to the scenario of a summary line, run with `faults` (a lossy
/// network arms timers, and the quiescence properties apply there).
fn safety_of(line: &str, faults: Faults) -> usize {
    let name = line.split(':').next().unwrap_or_default().trim();
    let s = jpkisim_reference::scenario::by_name(name)
        .unwrap_or_else(|| panic!("no scenario {name:?} in {line}"));
    let n = jpkisim_properties::applicable_safety(&faults.apply_to(s.config)).count();
    assert!(n >= 10, "{name}: only {n} safety properties apply");
    n
}

#[test]
fn every_scenario_completes_in_process() {
    let o = jpkisim(&["run", "--scenario", "all", "--seed", "3", "--quiet"]);
    assert!(
        stdout(&o).starts_with("seed: 3"),
        "the seed is printed first"
    );
    assert_all_completed(&o);
}

#[test]
fn every_scenario_completes_over_udp() {
    let o = jpkisim(&[
        "run",
        "--scenario",
        "all",
        "--seed",
        "3",
        "--quiet",
        "--transport",
        "udp",
    ]);
    assert_all_completed(&o);
}

#[test]
fn with_faults_every_safety_property_holds_on_both_transports() {
    let dir = tempfile::tempdir().expect("temp dir");
    for transport in ["inproc", "udp"] {
        for seed in ["5", "6"] {
            let out = dir.path().join(format!("{transport}-{seed}"));
            let o = jpkisim(&[
                "run",
                "--scenario",
                "all",
                "--seed",
                seed,
                "--quiet",
                "--transport",
                transport,
                "--faults",
                "loss,dup,reorder",
                "--record",
                out.to_str().expect("utf-8 path"),
            ]);
            assert!(
                o.status.success(),
                "{transport} seed {seed}: {}",
                stdout(&o)
            );
            let lines = summaries(&o);
            assert_eq!(lines.len(), SCENARIOS, "{lines:#?}");
            for l in &lines {
                assert!(
                    l.contains(&format!(
                        "{} safety properties held on every one of",
                        safety_of(l, Faults::parse("loss,dup,reorder").expect("faults"))
                    )),
                    "{l}"
                );
            }
            // And independently of the runtime's own checks: each recorded run, faults and all,
            // is a behaviour of the model on which every property holds.
            for f in std::fs::read_dir(&out).expect("recorded") {
                let f = f.expect("entry").path();
                let c = jpkisim(&["conform", f.to_str().expect("utf-8 path")]);
                assert!(
                    c.status.success() && stdout(&c).starts_with("conforms"),
                    "{}: {}",
                    f.display(),
                    stdout(&c)
                );
            }
        }
    }
}

#[test]
fn the_step_log_reads_as_the_protocol() {
    let o = jpkisim(&["run", "--scenario", "issuance-gpse", "--seed", "1"]);
    let out = stdout(&o);
    for expected in [
        "SE-TSM → SE 0: Install(person 0, app 0)",
        "CA → SP-TSM: CertIssued(app 0, serial 2)",
        "✓ the relying party accepted 1 login(s)",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
}

#[test]
fn bad_arguments_exit_2_with_one_clear_line() {
    let o = jpkisim(&["run", "--scenario", "no-such"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown scenario `no-such`") && err.contains("issuance-mno"),
        "{err}"
    );
    let o = jpkisim(&["run", "--faults", "loss,flood"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown fault `flood`"));
}

fn read_trace(path: &Path) -> (usize, String) {
    let mut r = Reader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let source = r.header().source.clone().unwrap_or_default();
    let mut n = 0;
    while let Some(e) = r.next_event() {
        e.unwrap_or_else(|e| panic!("{e}"));
        n += 1;
    }
    (n, source)
}

#[test]
fn recorded_traces_read_back_and_a_seed_replays_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for d in [&a, &b] {
        let o = jpkisim(&[
            "run",
            "--scenario",
            "all",
            "--seed",
            "9",
            "--quiet",
            "--faults",
            "loss,dup,reorder",
            "--record",
            d.to_str().expect("utf-8 path"),
        ]);
        assert!(o.status.success(), "{}", stdout(&o));
    }
    let mut files: Vec<_> = std::fs::read_dir(&a)
        .expect("record dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), SCENARIOS);
    for f in &files {
        let (events, source) = read_trace(f);
        assert!(events > 5, "{}: {events} events", f.display());
        assert!(source.contains("--seed 9"), "{source}");
        let name = f.file_name().expect("name");
        let again = std::fs::read(b.join(name)).expect("same file in the second run");
        assert_eq!(
            std::fs::read(f).expect("read"),
            again,
            "{}: the same seed must record the same run",
            name.to_string_lossy()
        );
    }
}

/// The log numbers each step by its event in the recorded trace, the number `conform` and
/// `explore --trace` use: every delivery and choice of the trace appears as `event N:` in the
/// log, in order, and no other number does.
#[test]
fn the_log_numbers_each_step_by_its_event_in_the_trace() {
    for transport in ["inproc", "udp"] {
        let file =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("run-numbered-{transport}.ndjson"));
        let o = jpkisim(&[
            "run",
            "--scenario",
            "device-change",
            "--seed",
            "1",
            "--transport",
            transport,
            "--record",
            file.to_str().expect("utf-8 path"),
        ]);
        assert!(o.status.success(), "{}", stdout(&o));
        let logged: Vec<u64> = stdout(&o)
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("event "))
            .filter_map(|rest| rest.split_once(':'))
            .map(|(n, _)| n.parse().expect("an event number"))
            .collect();
        let mut reader = Reader::open(&file).expect("the recorded trace");
        let mut steps = Vec::new();
        while let Some(e) = reader.next_event() {
            let e = e.expect("an event");
            if matches!(
                e.kind,
                jpkisim_traces::EventKind::Deliver | jpkisim_traces::EventKind::Choice
            ) {
                steps.push(e.seq);
            }
        }
        assert!(!steps.is_empty());
        assert_eq!(logged, steps, "{transport}: {}", stdout(&o));
    }
}

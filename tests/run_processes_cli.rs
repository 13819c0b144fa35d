//! `jpkisim run --transport processes` and `jpkisim node`: every party its own OS process; the
//! director kills (SIGKILL) the CA's, SP-TSM's or SE-TSM's process at seeded points and restarts
//! it from its database. A crash run finishes, says how many crashes it injected and that nothing
//! was lost, and its trace (with `crash` and `restart` events) conforms to the model with
//! `--crashes 1`; without crashes a processes run records the in-process runtime's trace event
//! for event; the audit of the databases finds what a database lost; a party process refuses a
//! bad peers file naming it.

use std::path::Path;
use std::process::{Command, Output};

use jpkisim_model::actors::PartyState;
use jpkisim_model::ids::Party;
use jpkisim_reference::runtime::processes::{self, protocol::Durable, CrashPlan};
use jpkisim_reference::runtime::Faults;
use jpkisim_reference::scenario;
use jpkisim_reference::store::PartyStore;
use jpkisim_traces::{EventKind, Reader};

fn jpkisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(args)
        .output()
        .expect("jpkisim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn kinds(trace: &Path) -> Vec<EventKind> {
    Reader::open(trace)
        .expect("header")
        .map(|e| e.expect("event").kind)
        .collect::<Vec<_>>()
}

#[test]
fn a_crash_run_finishes_loses_nothing_and_conforms_with_crashes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = tmp.path().join("state");
    let trace = tmp.path().join("trace.ndjson");
    let o = jpkisim(&[
        "run",
        "--scenario",
        "device-change",
        "--transport",
        "processes",
        "--crash",
        "4",
        "--seed",
        "5",
        "--state-dir",
        path(&state),
        "--record",
        path(&trace),
    ]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert!(out.contains("crashes injected: 4 (asked for 4"), "{out}");
    assert!(out.contains("nothing lost: 1 scenario(s) audited"), "{out}");
    assert!(out.contains("device-change: completed"), "{out}");
    // The log numbers the crashes and restarts by their events.
    assert_eq!(out.matches(": ☠ ").count(), 4, "{out}");
    assert_eq!(out.matches(": ↻ ").count(), 4, "{out}");
    let k = kinds(&trace);
    assert_eq!(k.iter().filter(|k| **k == EventKind::Crash).count(), 4);
    assert_eq!(k.iter().filter(|k| **k == EventKind::Restart).count(), 4);
    // Each durable party's database is there and readable, the CA's with the certificates.
    for party in [Party::Ca, Party::SpTsm, Party::SeTsm] {
        let store = PartyStore::open_existing(&state, party)
            .expect("intact")
            .expect("present");
        let (_, durable): (u64, Durable) = store.load().expect("readable").expect("a state");
        if let PartyState::Ca(ca) = durable.state {
            assert_eq!(ca.certs.iter().filter(|r| r.se().is_some()).count(), 2);
        }
    }
    // The run is a behaviour of the model in which parties crash, and only of that one.
    let o = jpkisim(&["conform", path(&trace)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let header = std::fs::read_to_string(&trace).expect("trace");
    assert!(header
        .lines()
        .next()
        .is_some_and(|h| h.contains("\"crashes\":1")));
    // The same log checked in the model without crashes.
    let o = jpkisim(&["conform", path(&trace), "--crashes", "0"]);
    let said = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{said}");
    assert!(said.contains("crash"), "names the crash: {said}");
}

#[test]
fn without_crashes_the_processes_record_the_in_process_trace() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut traces = Vec::new();
    for transport in ["inproc", "processes"] {
        let dir = tmp.path().join(transport);
        let o = jpkisim(&[
            "run",
            "--scenario",
            "all",
            "--transport",
            transport,
            "--seed",
            "9",
            "--faults",
            "loss,dup,reorder",
            "--quiet",
            "--record",
            path(&dir),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
        traces.push(dir);
    }
    let mut compared = 0;
    for entry in std::fs::read_dir(&traces[0]).expect("dir") {
        let name = entry.expect("entry").file_name();
        let body = |dir: &Path| {
            let t = std::fs::read_to_string(dir.join(&name)).expect("trace");
            // Past the header, which names the command that recorded it.
            t.split_once('\n')
                .map(|(_, rest)| rest.to_string())
                .expect("events")
        };
        assert_eq!(
            body(&traces[0]),
            body(&traces[1]),
            "{name:?}: the same seed schedules the same run"
        );
        compared += 1;
    }
    assert!(compared >= 10, "{compared} scenarios");
}

#[test]
fn the_audit_finds_what_a_database_lost() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("state");
    let s = scenario::by_name("issuance-gpse").expect("scenario");
    let program = Path::new(env!("CARGO_BIN_EXE_jpkisim"));
    let run = processes::play(
        &s,
        11,
        Faults::default(),
        program,
        &dir,
        CrashPlan::new(2, 11, "audit"),
    )
    .expect("run");
    assert!(run.result.is_ok(), "{:?}", run.result);
    let audit = run.audit.clone().expect("audited");
    assert!(audit.nothing_lost(), "{:?}", audit.problems);
    assert_eq!(audit.phone_certificates, 1);
    assert_eq!(audit.installed, 1);
    assert!(audit.settled);
    let again = processes::audit(&run.config, &dir, &run.states, &run.in_flight).expect("audit");
    assert_eq!(
        again, audit,
        "the audit reads the same databases the same way"
    );

    // A CA database that forgot the DER of the certificate it issued.
    let mut store = PartyStore::open(&dir, Party::Ca).expect("ca.db");
    let (seq, mut durable): (u64, Durable) = store.load().expect("read").expect("state");
    let kept = durable.backend.artifacts.clone();
    durable.backend.artifacts.retain(|a| {
        !matches!(a, jpkisim_reference::wire::Artifact::Certificate { cert, .. } if matches!(cert.subject, jpkisim_model::crypto::Subject::Phone { .. }))
    });
    assert!(durable.backend.artifacts.len() < kept.len());
    store.save(seq + 1, &durable).expect("write");
    drop(store);
    let lost = processes::audit(&run.config, &dir, &run.states, &run.in_flight).expect("audit");
    assert!(
        lost.problems.iter().any(|p| p.contains("not its DER")),
        "{:?}",
        lost.problems
    );

    // A CA database that holds an older state than the one the CA answered for.
    let PartyState::Ca(mut ca) = durable.state.clone() else {
        panic!("the CA's state")
    };
    ca.certs.retain(|r| r.se().is_none());
    durable.state = PartyState::Ca(ca);
    durable.backend.artifacts = kept;
    let mut store = PartyStore::open(&dir, Party::Ca).expect("ca.db");
    store.save(seq + 2, &durable).expect("write");
    drop(store);
    let lost = processes::audit(&run.config, &dir, &run.states, &run.in_flight).expect("audit");
    assert!(
        lost.problems
            .iter()
            .any(|p| p.contains("another state than the one it last answered for")),
        "{:?}",
        lost.problems
    );
}

#[test]
fn a_party_process_refuses_a_bad_peers_file_naming_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let peers = tmp.path().join("peers.json");
    std::fs::write(&peers, "{\"config\": 3}\n").expect("write");
    let o = jpkisim(&[
        "node",
        "--party",
        "ca",
        "--state-dir",
        path(tmp.path()),
        "--peers",
        path(&peers),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(path(&peers)) && err.contains("line 1"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // A peers file a run wrote, asked for a party it does not list.
    let state = tmp.path().join("run");
    let o = jpkisim(&[
        "run",
        "--scenario",
        "issuance-mno",
        "--transport",
        "processes",
        "--seed",
        "1",
        "--quiet",
        "--state-dir",
        path(&state),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let written = state.join("peers.json");
    let o = jpkisim(&[
        "node",
        "--party",
        "se-7",
        "--state-dir",
        path(&state),
        "--peers",
        path(&written),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no party `se-7`") && err.contains("sp-tsm"),
        "{err}"
    );

    // --crash kills processes: the other transports have none.
    let o = jpkisim(&["run", "--scenario", "issuance-mno", "--crash", "2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--transport processes"));
}

//! `jpkisim run --state-dir`: a run leaves the CA's, SP-TSM's and SE-TSM's databases behind
//! without changing what it prints or records; a second run on the same directory is refused
//! (exit 2, naming the database that holds the earlier state); a truncated or empty database
//! stops a run before any scenario plays (exit 2, one line naming the file); a run killed
//! (SIGKILL) mid-way leaves every database whole, and the next run says they hold state — not
//! that they are corrupt.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use jpkisim_model::actors::PartyState;
use jpkisim_model::ids::Party;
use jpkisim_reference::store::{PartyStore, DURABLE_PARTIES};

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

/// Exit 2, and stderr one line naming `file` and saying `what`.
fn assert_refused(o: &Output, file: &Path, what: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}{err}", text(&o.stdout));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(path(file)), "names {}: {err}", file.display());
    assert!(err.contains(what), "says {what:?}: {err}");
    assert!(
        !text(&o.stdout).contains("safety properties held"),
        "no scenario ran: {}",
        text(&o.stdout)
    );
}

#[test]
fn a_run_keeps_the_durable_parties_state_and_refuses_a_damaged_database() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = tmp.path().join("state");
    let trace_plain = tmp.path().join("plain.ndjson");
    let trace_durable = tmp.path().join("durable.ndjson");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--scenario", "device-change", "--seed", "3"];
        args.extend_from_slice(extra);
        jpkisim(&args)
    };

    let plain = run(&["--record", path(&trace_plain)]);
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let durable = run(&[
        "--record",
        path(&trace_durable),
        "--state-dir",
        path(&state),
    ]);
    assert!(
        durable.status.success(),
        "{}{}",
        text(&durable.stdout),
        text(&durable.stderr)
    );
    for db in ["ca.db", "sp-tsm.db", "se-tsm.db"] {
        let len = std::fs::metadata(state.join(db))
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("{db}: {e}"));
        assert!(len >= 4096, "{db}: {len} bytes");
    }
    // The same run: the same log, the same trace; only the summary says where the states went.
    let (p, d) = (text(&plain.stdout), text(&durable.stdout));
    let summary = d
        .lines()
        .find(|l| l.starts_with("device-change: completed"))
        .expect("summary");
    assert!(
        summary.contains(&format!("durable states saved in {}", state.display())),
        "{summary}"
    );
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.starts_with("device-change: completed"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(strip(&p), strip(&d));
    assert_eq!(
        std::fs::read(&trace_plain).expect("plain trace"),
        std::fs::read(&trace_durable).expect("durable trace")
    );

    // Again on the same directory: the CA's database holds the first run's state.
    let again = run(&["--quiet", "--state-dir", path(&state)]);
    assert_refused(
        &again,
        &state.join("ca.db"),
        "holds the CA's state of event",
    );

    // Truncated to half: named, with what is wrong, before anything runs.
    let sp = state.join("sp-tsm.db");
    let bytes = std::fs::read(&sp).expect("read");
    std::fs::write(&sp, &bytes[..bytes.len() / 2]).expect("truncate");
    std::fs::remove_file(state.join("ca.db")).expect("rm");
    let truncated = run(&["--quiet", "--state-dir", path(&state)]);
    assert_refused(&truncated, &sp, "truncated");
    // Left as it was, not replaced by a fresh store.
    assert_eq!(std::fs::read(&sp).expect("read").len(), bytes.len() / 2);
}

#[test]
fn with_all_each_scenario_has_its_directory_and_all_are_checked_first() {
    let tmp = tempfile::tempdir().expect("tmp");
    // The last scenario's CA database is empty: refused before the first scenario plays.
    let dir = tmp.path().join("intruder-replay");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let ca = dir.join("ca.db");
    std::fs::write(&ca, b"").expect("empty");
    let o = jpkisim(&[
        "run",
        "--scenario",
        "all",
        "--seed",
        "1",
        "--quiet",
        "--state-dir",
        path(tmp.path()),
    ]);
    assert_refused(&o, &ca, "empty");
    assert!(!tmp.path().join("issuance-mno").join("ca.db").exists());
}

#[test]
fn the_state_dir_is_for_the_in_process_transport() {
    let tmp = tempfile::tempdir().expect("tmp");
    let o = jpkisim(&[
        "run",
        "--scenario",
        "issuance-mno",
        "--transport",
        "udp",
        "--state-dir",
        path(tmp.path()),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--state-dir"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_run_killed_mid_way_leaves_every_database_whole() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut stores = 0;
    // A run of every scenario with a state directory takes a few seconds: kill early, midway
    // and late.
    for ms in [400u64, 1300, 2600] {
        let dir = tmp.path().join(format!("killed-{ms}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
            .args(["run", "--scenario", "all", "--seed", "1", "--quiet"])
            .arg("--state-dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // killed before it made the directory
        };
        for scenario_dir in entries {
            let scenario_dir = scenario_dir.expect("entry").path();
            for party in DURABLE_PARTIES {
                let store = match PartyStore::open_existing(&scenario_dir, party) {
                    Ok(Some(s)) => s,
                    Ok(None) => continue,
                    Err(e) => panic!("killed after {ms} ms: {e}"),
                };
                stores += 1;
                // Created empty, then the initial state; either way whole and of its party.
                if let Some((_, state)) = store.load::<PartyState>().expect("load") {
                    let own = matches!(
                        (party, &state),
                        (Party::Ca, PartyState::Ca(_))
                            | (Party::SpTsm, PartyState::SpTsm(_))
                            | (Party::SeTsm, PartyState::SeTsm(_))
                    );
                    assert!(own, "{}: {state:?}", store.file().display());
                }
            }
        }
        // Run again on what the kill left: refused for the state it holds, or run, never corrupt.
        let again = jpkisim(&[
            "run",
            "--scenario",
            "all",
            "--seed",
            "1",
            "--quiet",
            "--state-dir",
            path(&dir),
        ]);
        let err = text(&again.stderr);
        assert!(
            again.status.success() || err.contains("from an earlier run"),
            "after a kill at {ms} ms: {err}"
        );
    }
    assert!(stores > 0, "no kill came after a store was made");
}

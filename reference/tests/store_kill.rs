//! A party killed (SIGKILL) while it writes its database comes back with a whole state it had
//! committed: the test binary re-runs itself as a child that saves real party states in a loop
//! under increasing event numbers, printing each number once its save has returned; the parent
//! kills it at staggered moments, reopens the store and checks that it opens cleanly and holds
//! exactly the state of an event the child committed — the last one it reported, or the one it
//! committed just before it could report it — never a torn mix or an older state.
//!
//! Each round's child first reopens the store the previous kill left (so every child is also a
//! restart from its state after a kill), and the parent counts the kills that struck inside a
//! transaction (a live rollback journal left behind) — at least one must, or the test proved
//! nothing about writes.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jpkisim_model::actors::PartyState;
use jpkisim_model::ids::Party;
use jpkisim_reference::runtime::Faults;
use jpkisim_reference::scenario;
use jpkisim_reference::store::PartyStore;
use serde::{Deserialize, Serialize};

/// Set (to the state directory) only in the child.
const CHILD_ENV: &str = "JPKISIM_STORE_KILL_CHILD";

/// What the child saves: the event number inside the value too, so a value of one save under
/// another save's number shows; and a history long enough (tens of pages) that a commit writes
/// many pages, so a kill can fall between two of them.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Snapshot {
    seq: u64,
    state: PartyState,
    history: Vec<PartyState>,
}

/// The state the child saves under event `seq`: the real states of a run, in turn.
fn expected(states: &[PartyState], seq: u64) -> Snapshot {
    let ix = usize::try_from(seq).expect("small") % states.len();
    Snapshot {
        seq,
        state: states[ix].clone(),
        history: states
            .iter()
            .cycle()
            .skip(ix)
            .take(HISTORY)
            .cloned()
            .collect(),
    }
}

/// States in a snapshot's history.
const HISTORY: usize = 60;

/// A rollback journal with a live header: the kill struck inside a transaction.
fn hot_journal(dir: &Path) -> bool {
    const MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];
    std::fs::read(dir.join("ca.db-journal")).is_ok_and(|b| b.starts_with(&MAGIC))
}

/// The child: not a test of its own. Without the variable it returns at once.
#[test]
fn child_writes_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let states: Vec<PartyState> =
        serde_json::from_slice(&std::fs::read(dir.join("states.json")).expect("states"))
            .expect("decode");
    let mut store = PartyStore::open(dir, Party::Ca).expect("the child reopens the store");
    let mut seq = store.head().map_or(0, |h| h + 1);
    let mut out = std::io::stdout().lock();
    loop {
        store.save(seq, &expected(&states, seq)).expect("save");
        writeln!(out, "committed {seq}").expect("stdout");
        out.flush().expect("flush");
        seq += 1;
    }
}

#[test]
fn a_party_killed_mid_write_restarts_from_a_whole_committed_state() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // Real states of a real run, larger ones first in turn (the CA's spans several pages).
    let s = scenario::by_name("device-change").expect("scenario");
    let run = scenario::run_inproc(&s, 11, Faults::default()).expect("world");
    run.result.expect("the story completes");
    let states: Vec<PartyState> = run
        .simulation
        .party_states()
        .into_iter()
        .filter(|p| {
            matches!(
                p,
                PartyState::Ca(_) | PartyState::SpTsm(_) | PartyState::SeTsm(_)
            )
        })
        .collect();
    assert_eq!(states.len(), 3);
    std::fs::write(
        dir.join("states.json"),
        serde_json::to_vec(&states).expect("json"),
    )
    .expect("write states");

    let me = std::env::current_exe().expect("test binary");
    let (mut rounds, mut hot, mut unreported) = (0u32, 0u32, 0u32);
    let mut last_seq = None;
    // At least 12 kills; more (up to 120) until three have struck inside a transaction.
    while rounds < 12 || (hot < 3 && rounds < 120) {
        let mut child = Command::new(&me)
            .args([
                "child_writes_until_killed",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the child");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest may print the test's name on the same line, before its output.
                if let Some((_, n)) = line.split_once("committed ") {
                    if tx.send(n.parse::<u64>().expect("a number")).is_err() {
                        break;
                    }
                }
            }
        });
        // Wait until it writes, then let it go on for a staggered while before the kill.
        let first = rx.recv_timeout(Duration::from_secs(60));
        let Ok(first) = first else {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "round {rounds}: the child never committed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        if let Some(prev) = last_seq {
            assert_eq!(
                first,
                prev + 1,
                "round {rounds}: the restarted child goes on after the state it found"
            );
        }
        let delay = Duration::from_micros(u64::from(rounds.wrapping_mul(7919) % 15_000));
        let until = Instant::now() + delay;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        let reported = rx.try_iter().last().unwrap_or(first);
        if hot_journal(dir) {
            hot += 1;
        }

        let store = PartyStore::open(dir, Party::Ca)
            .unwrap_or_else(|e| panic!("round {rounds}: reopening after the kill: {e}"));
        let (seq, snap) = store
            .load::<Snapshot>()
            .unwrap_or_else(|e| panic!("round {rounds}: loading after the kill: {e}"))
            .expect("a state");
        assert!(
            seq == reported || seq == reported + 1,
            "round {rounds}: the child reported event {reported} committed, the store holds {seq}"
        );
        if seq != reported {
            unreported += 1;
        }
        assert_eq!(
            snap,
            expected(&states, seq),
            "round {rounds}: the state of event {seq}"
        );
        drop(store);
        last_seq = Some(seq);
        rounds += 1;
    }
    eprintln!(
        "{rounds} kills: {hot} inside a transaction, {unreported} after a commit the child had not reported; last event {last_seq:?}"
    );
    assert!(hot >= 1, "no kill in {rounds} struck inside a transaction");
}

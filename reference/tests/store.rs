//! The durable parties' stores (`jpkisim_reference::store`): a state saved is the state loaded,
//! after a reopen too; every damaged file — empty, truncated at any of several offsets, a byte
//! flipped, another party's, a foreign database, a journal without its database — is refused as
//! corrupt with the file named, never read as a fresh store or as another state; and a run with
//! a state directory leaves each durable party's final state in its database without changing the
//! run.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jpkisim_model::actors::PartyState;
use jpkisim_model::ids::Party;
use jpkisim_reference::runtime::Faults;
use jpkisim_reference::scenario;
use jpkisim_reference::store::{self, Corruption, PartyStore, StateDir, StoreError};

/// Every party's state at the end of the device-change story (two certificates issued, one
/// revoked): real states of a real run, in actor order.
fn real_states() -> &'static Vec<PartyState> {
    static STATES: OnceLock<Vec<PartyState>> = OnceLock::new();
    STATES.get_or_init(|| {
        let s = scenario::by_name("device-change").expect("scenario");
        let run = scenario::run_inproc(&s, 7, Faults::default()).expect("world");
        run.result.expect("the story completes");
        run.simulation.party_states()
    })
}

fn state_of(party: Party) -> &'static PartyState {
    real_states()
        .iter()
        .find(|s| {
            matches!(
                (party, s),
                (Party::Ca, PartyState::Ca(_))
                    | (Party::SpTsm, PartyState::SpTsm(_))
                    | (Party::SeTsm, PartyState::SeTsm(_))
            )
        })
        .expect("a durable party's state")
}

/// A closed CA store holding the CA's real state under event 41; its file.
fn saved_ca(dir: &Path) -> PathBuf {
    let mut s = PartyStore::open(dir, Party::Ca).expect("open");
    s.save(41, state_of(Party::Ca)).expect("save");
    s.file().to_path_buf()
}

/// Opens the CA's store under `dir` and loads its state.
fn reopen_ca(dir: &Path) -> Result<Option<(u64, PartyState)>, StoreError> {
    PartyStore::open(dir, Party::Ca)?.load()
}

/// The error must be `Corrupt` naming `file`, in its fields and in its one-line message.
fn assert_corrupt_naming(
    result: Result<Option<(u64, PartyState)>, StoreError>,
    file: &Path,
    what: &str,
) -> Corruption {
    match result {
        Err(e @ StoreError::Corrupt { .. }) => {
            assert_eq!(e.file(), Some(file), "{what}: {e}");
            let line = e.to_string();
            assert!(line.contains(&file.display().to_string()), "{what}: {line}");
            assert!(!line.contains('\n'), "{what}: one line: {line}");
            let StoreError::Corrupt { why, .. } = e else {
                unreachable!()
            };
            why
        }
        other => panic!(
            "{what}: expected Corrupt naming {}, got {other:?}",
            file.display()
        ),
    }
}

#[test]
fn a_saved_state_is_loaded_back_after_a_reopen() {
    let tmp = tempfile::tempdir().expect("tmp");
    for party in store::DURABLE_PARTIES {
        let state = state_of(party);
        {
            let mut s = PartyStore::open(tmp.path(), party).expect("create");
            assert_eq!(s.head(), None);
            assert_eq!(s.load::<PartyState>().expect("load"), None);
            s.save(0, state).expect("save 0");
            s.save(17, state).expect("save 17");
            assert_eq!(
                s.load::<PartyState>().expect("load"),
                Some((17, state.clone()))
            );
            assert_eq!(s.saves(), 2);
        }
        let mut s = PartyStore::open(tmp.path(), party).expect("reopen");
        assert_eq!(s.head(), Some(17));
        assert_eq!(
            s.load::<PartyState>().expect("load"),
            Some((17, state.clone()))
        );
        // The event number only moves forward: an equal or earlier one is a second writer.
        for seq in [17, 3] {
            match s.save(seq, state) {
                Err(StoreError::SeqNotAfter {
                    seq: got,
                    stored: 17,
                    ..
                }) => assert_eq!(got, seq),
                other => panic!("save({seq}) over 17: {other:?}"),
            }
        }
        assert_eq!(
            s.load::<PartyState>().expect("load"),
            Some((17, state.clone()))
        );
        assert!(matches!(
            s.save(u64::MAX, state),
            Err(StoreError::SeqTooLarge { seq: u64::MAX, .. })
        ));
    }
    let names: Vec<String> = fs::read_dir(tmp.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for want in ["ca.db", "sp-tsm.db", "se-tsm.db"] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    // Nothing but the three databases is left behind (no journal, no unfinished new store).
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn only_the_ca_and_the_tsms_keep_durable_state() {
    let tmp = tempfile::tempdir().expect("tmp");
    assert!(matches!(
        PartyStore::open(tmp.path(), Party::RelyingParty),
        Err(StoreError::NotDurable {
            party: Party::RelyingParty
        })
    ));
    assert_eq!(
        store::path_for(tmp.path(), Party::SpTsm).expect("path"),
        tmp.path().join("sp-tsm.db")
    );
}

#[test]
fn an_intact_state_of_another_type_is_a_decode_error_not_corruption() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = saved_ca(tmp.path());
    let s = PartyStore::open(tmp.path(), Party::Ca).expect("open");
    match s.load::<Vec<u32>>() {
        Err(StoreError::Decode {
            file: f, seq: 41, ..
        }) => assert_eq!(f, file),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_truncated_store_is_corrupt_at_every_offset() {
    let tmp = tempfile::tempdir().expect("tmp");
    let original = saved_ca(&tmp.path().join("original"));
    let bytes = fs::read(&original).expect("read");
    let len = bytes.len();
    let page = 4096;
    assert!(len >= 3 * page, "the CA's state spans pages: {len} bytes");
    let cuts = [
        0,
        1,
        50,
        99,
        100,
        512,
        page - 1,
        page,
        len / 2,
        len - page,
        len - page + 1,
        len - 1,
    ];
    for cut in cuts {
        let dir = tmp.path().join(format!("cut-{cut}"));
        fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("ca.db");
        fs::write(&file, &bytes[..cut]).expect("write");
        let why = assert_corrupt_naming(reopen_ca(&dir), &file, &format!("cut at {cut}"));
        if cut == 0 {
            assert_eq!(why, Corruption::Empty);
        }
        if cut > page && cut % page != 0 {
            assert!(
                matches!(why, Corruption::Length { actual, .. } if actual == cut as u64),
                "cut at {cut}: {why}"
            );
        }
        // Refused, and left as it was: the evidence is not replaced by a fresh store.
        assert_eq!(fs::read(&file).expect("read").len(), cut, "cut at {cut}");
    }
}

#[test]
fn a_flipped_byte_is_corrupt_or_harmless_never_another_state() {
    let tmp = tempfile::tempdir().expect("tmp");
    let original = saved_ca(&tmp.path().join("original"));
    let bytes = fs::read(&original).expect("read");
    let want = state_of(Party::Ca).clone();
    let body = serde_json::to_vec(&want).expect("json");
    // Where the state's bytes sit in the file: a flip there must be caught by the checksum
    // (SQLite does not look inside a value).
    let at = bytes
        .windows(32)
        .position(|w| w == &body[..32])
        .expect("the state's first bytes are in the file");
    let mut named = vec![(0, "header magic"), (at + 5, "state"), (at + 40, "state")];
    // Every 13th byte besides (the file is a few pages): whatever a flip hits, the store is
    // refused as corrupt or reads back exactly what was saved.
    named.extend((0..bytes.len()).step_by(13).map(|i| (i, "sweep")));
    let mut refused = 0;
    for (i, what) in named {
        let dir = tmp.path().join(format!("flip-{i}"));
        fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("ca.db");
        let mut damaged = bytes.clone();
        damaged[i] ^= 0x20;
        fs::write(&file, &damaged).expect("write");
        match reopen_ca(&dir) {
            Ok(Some((41, got))) if got == want && what == "sweep" => {}
            result => {
                let why = assert_corrupt_naming(result, &file, &format!("{what} byte {i}"));
                if what == "state" {
                    assert_eq!(why, Corruption::Checksum { seq: 41 });
                }
                refused += 1;
            }
        }
        fs::remove_dir_all(&dir).expect("rm");
    }
    assert!(refused > 10, "only {refused} flips were caught");
}

#[test]
fn a_store_in_the_wrong_place_or_not_a_store_is_corrupt() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ca = saved_ca(tmp.path());
    // The CA's database under the SP-TSM's name.
    let elsewhere = tmp.path().join("moved");
    fs::create_dir_all(&elsewhere).expect("mkdir");
    let sp = elsewhere.join("sp-tsm.db");
    fs::copy(&ca, &sp).expect("copy");
    let r = PartyStore::open(&elsewhere, Party::SpTsm).and_then(|s| s.load());
    let why = assert_corrupt_naming(r, &sp, "moved");
    assert!(
        matches!(why, Corruption::WrongParty { ref found, expected: Party::SpTsm } if found == "ca"),
        "{why}"
    );

    // A SQLite database of something else.
    let foreign = tmp.path().join("foreign");
    fs::create_dir_all(&foreign).expect("mkdir");
    let file = foreign.join("ca.db");
    {
        let c = rusqlite::Connection::open(&file).expect("sqlite");
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .expect("table");
    }
    let why = assert_corrupt_naming(reopen_ca(&foreign), &file, "foreign");
    assert_eq!(why, Corruption::NotAStore { found: 0 });

    // Not a database at all.
    let text = tmp.path().join("text");
    fs::create_dir_all(&text).expect("mkdir");
    let file = text.join("ca.db");
    fs::write(&file, "a CA's notes, not a database\n".repeat(200)).expect("write");
    assert_corrupt_naming(reopen_ca(&text), &file, "text");

    // A rollback journal whose database is gone: not a fresh start.
    let orphan = tmp.path().join("orphan");
    fs::create_dir_all(&orphan).expect("mkdir");
    fs::write(orphan.join("ca.db-journal"), [0xd9, 0xd5, 0x05, 0xf9]).expect("write");
    let why = assert_corrupt_naming(reopen_ca(&orphan), &orphan.join("ca.db"), "orphan");
    assert!(matches!(why, Corruption::OrphanJournal { .. }), "{why}");
    assert!(!orphan.join("ca.db").exists());
}

#[test]
fn a_store_has_one_writer() {
    let tmp = tempfile::tempdir().expect("tmp");
    let first = PartyStore::open(tmp.path(), Party::SeTsm).expect("open");
    match PartyStore::open(tmp.path(), Party::SeTsm) {
        Err(StoreError::InUse { file }) => assert_eq!(file, first.file()),
        other => panic!("a second open: {other:?}"),
    }
    drop(first);
    PartyStore::open(tmp.path(), Party::SeTsm).expect("free again");
}

#[test]
fn a_fresh_world_refuses_an_earlier_runs_state() {
    let tmp = tempfile::tempdir().expect("tmp");
    // Checking creates nothing.
    StateDir::check_fresh(tmp.path()).expect("empty is fresh");
    assert_eq!(fs::read_dir(tmp.path()).expect("ls").count(), 0);
    // Stores without a state are fresh.
    drop(StateDir::open_fresh(tmp.path()).expect("create"));
    StateDir::check_fresh(tmp.path()).expect("empty stores are fresh");
    let file = saved_ca(tmp.path());
    for r in [
        StateDir::check_fresh(tmp.path()).map(drop),
        StateDir::open_fresh(tmp.path()).map(drop),
    ] {
        match r {
            Err(StoreError::HoldsState {
                file: f,
                party: Party::Ca,
                seq: 41,
            }) => assert_eq!(f, file),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_run_with_a_state_dir_leaves_each_durable_partys_final_state() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = scenario::by_name("device-change").expect("scenario");
    let plain = scenario::run_inproc(&s, 7, Faults::default()).expect("world");
    let stores = StateDir::open_fresh(tmp.path()).expect("stores");
    let durable = scenario::run_inproc_with(&s, 7, Faults::default(), Some(stores)).expect("world");
    durable.result.as_ref().expect("the story completes");
    // The stores do not change the run.
    assert_eq!(
        durable.simulation.journal.trace,
        plain.simulation.journal.trace
    );
    assert_eq!(durable.simulation.journal.log, plain.simulation.journal.log);
    let saves: Vec<u64> = durable
        .simulation
        .state_dir()
        .expect("kept")
        .stores()
        .iter()
        .map(PartyStore::saves)
        .collect();
    let finals = durable.simulation.party_states();
    let events = durable.simulation.journal.seq();
    drop(durable);
    for (party, saves) in store::DURABLE_PARTIES.into_iter().zip(saves) {
        // The initial state, and for the CA and J-LIS at least one change in the story (the
        // SE-TSM's service records change only when a SIM is ported).
        let changed = party != Party::SeTsm;
        assert!(saves > u64::from(changed), "{party}: {saves} saves");
        let s = PartyStore::open(tmp.path(), party).expect("reopen");
        let (seq, state) = s.load::<PartyState>().expect("load").expect("a state");
        assert!(
            seq <= events && (seq > 0) == changed,
            "{party}: event {seq} of {events}"
        );
        assert!(
            finals.contains(&state),
            "{party}: the stored state is its final one"
        );
        assert_eq!(&state, state_of(party));
    }
}

//! Durable state of the parties that must survive a crash — the CA, the SP-TSM and the SE-TSM —
//! each in its own SQLite database under a state directory (`ca.db`, `sp-tsm.db`, `se-tsm.db`).
//!
//! Why a database and not a file written in place: a party killed in the middle of a write must
//! come back with the last state it committed, whole, never a torn mix of two. SQLite's rollback
//! journal gives that atomicity; `synchronous=FULL` makes a commit durable (the journal and the
//! database synced) before [`PartyStore::save`] returns, so a party that saves before its
//! messages leave never answers for a state it could forget.
//!
//! Why so much checking at open: a store that cannot be read must stop the party with an error
//! naming the file, never let it start afresh as if it had issued nothing (a CA that forgets what
//! it issued may issue twice). [`PartyStore::open`] therefore treats every file that is there but
//! is not a whole, intact store of this party as [`StoreError::Corrupt`]: an empty file, a file
//! whose length is not the one its header promises (truncation, even by one byte), anything
//! SQLite's `quick_check` reports, a foreign database, another party's store, a rollback journal
//! whose database is gone, and a state whose SHA-256 checksum does not match. A fresh store is
//! created only where no file is, and created whole (built under a temporary name, then renamed),
//! so a crash during creation cannot leave behind a file that later reads as corrupt.
//!
//! The store holds one value per party, the latest, with the number of the event (`seq`) after
//! which it was taken; what that value is (a whole [`jpkisim_model::actors::PartyState`] today,
//! the model's durable part of it later) is the caller's choice: anything serde serialises.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jpkisim_model::ids::Party;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The parties that keep durable state, in the order their stores are opened.
pub const DURABLE_PARTIES: [Party; 3] = [Party::Ca, Party::SpTsm, Party::SeTsm];

/// The format version this build writes and reads (SQLite's `user_version`). A store of another
/// version is refused rather than misread.
pub const FORMAT_VERSION: i32 = 1;

/// SQLite's `application_id` of a party store ("JPKS"): tells a store from any other SQLite file.
pub const APPLICATION_ID: i32 = 0x4A50_4B53;

/// Domain separation of the state checksum, so that it is never a checksum of anything else.
const DIGEST_DOMAIN: &[u8] = b"jpkisim party store v1\0";

/// The slug naming a durable party in file names and in the store's own record of its party.
fn slug(party: Party) -> Option<&'static str> {
    match party {
        Party::Ca => Some("ca"),
        Party::SpTsm => Some("sp-tsm"),
        Party::SeTsm => Some("se-tsm"),
        _ => None,
    }
}

/// The database file of `party` under `dir` (`DIR/ca.db`, `DIR/sp-tsm.db`, `DIR/se-tsm.db`).
pub fn path_for(dir: &Path, party: Party) -> Result<PathBuf, StoreError> {
    let slug = slug(party).ok_or(StoreError::NotDurable { party })?;
    Ok(dir.join(format!("{slug}.db")))
}

/// What is wrong with a file that should be a party store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// The file has no bytes. A store is never empty, not even before its first state: this is
    /// a truncation, not a fresh start.
    #[error(
        "the file is empty (0 bytes); a party store is never empty, even before its first state"
    )]
    Empty,
    /// Something other than a regular file is where the store should be.
    #[error("not a regular file")]
    NotAFile,
    /// The file's length is not the one its header records.
    #[error(
        "{}: the header records {pages} pages of {page_size} bytes ({} bytes) but the file has {actual} bytes",
        if *actual < pages * page_size { "truncated" } else { "wrong length" },
        pages * page_size
    )]
    Length {
        /// Pages the header records.
        pages: u64,
        /// Bytes per page.
        page_size: u64,
        /// Bytes in the file.
        actual: u64,
    },
    /// SQLite found the file unreadable or inconsistent (not a database, malformed, or its
    /// `quick_check` failed); its own words.
    #[error("SQLite: {0}")]
    Sqlite(String),
    /// A SQLite database, but not a party store.
    #[error(
        "not a jpkisim party store (application id {found:#010x}, expected {APPLICATION_ID:#010x})"
    )]
    NotAStore {
        /// The `application_id` found.
        found: i32,
    },
    /// A party store of another format version.
    #[error("format version {found}; this build reads version {FORMAT_VERSION}")]
    Version {
        /// The `user_version` found.
        found: i32,
    },
    /// The store of another party (or of none) under this party's file name.
    #[error("it is the store of `{found}`, not of the {expected}")]
    WrongParty {
        /// The party slug the store records.
        found: String,
        /// The party whose file this is.
        expected: Party,
    },
    /// The stored state's bytes do not match the checksum stored with them.
    #[error("the state of event {seq} does not match its SHA-256 checksum")]
    Checksum {
        /// The event number stored with it.
        seq: u64,
    },
    /// The state row breaks the store's own format (a negative event number, a checksum of the
    /// wrong length).
    #[error("malformed state row: {0}")]
    Row(&'static str),
    /// A rollback journal is there without its database: the database was deleted or moved
    /// after a crash mid-write. Starting afresh would apply the journal to a new file.
    #[error("its rollback journal {} is there but the database is not", journal.display())]
    OrphanJournal {
        /// The journal file.
        journal: PathBuf,
    },
}

/// Why a party store could not be opened, read or written. Every variant but
/// [`StoreError::NotDurable`] names the file.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// Only the CA, the SP-TSM and the SE-TSM keep durable state.
    #[error("the {party} keeps no durable state (only the CA, the SP-TSM and the SE-TSM do)")]
    NotDurable {
        /// The party asked for.
        party: Party,
    },
    /// The file is there but is not an intact store of this party: the party must not start.
    #[error("{}: corrupt party database: {why}", file.display())]
    Corrupt {
        /// The database file.
        file: PathBuf,
        /// What is wrong with it.
        why: Corruption,
    },
    /// Another connection or process holds the store (each store has one writer, its party).
    #[error("{}: the party database is in use by another process or connection", file.display())]
    InUse {
        /// The database file.
        file: PathBuf,
    },
    /// The store holds a state from an earlier run where a fresh world was asked for.
    #[error("{}: holds the {party}'s state of event {seq} from an earlier run; a new run needs an empty state directory", file.display())]
    HoldsState {
        /// The database file.
        file: PathBuf,
        /// Whose.
        party: Party,
        /// The event number of the state it holds.
        seq: u64,
    },
    /// A file-system operation failed (creating the directory, renaming a new store into place,
    /// syncing).
    #[error("{}: cannot {op}: {source}", file.display())]
    Io {
        /// The file or directory.
        file: PathBuf,
        /// What was being done.
        op: &'static str,
        /// Why it failed.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// SQLite failed for a reason other than the file's contents (permissions, a full disk, an
    /// I/O error).
    #[error("{}: cannot {op}: {source}", file.display())]
    Db {
        /// The database file.
        file: PathBuf,
        /// What was being done.
        op: &'static str,
        /// Why it failed.
        #[source]
        source: Arc<rusqlite::Error>,
    },
    /// The state could not be serialised.
    #[error("{}: cannot encode the state: {source}", file.display())]
    Encode {
        /// The database file.
        file: PathBuf,
        /// Why.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// The stored state is intact (its checksum matches) but is not a value of the type asked
    /// for: written by a build with another state type.
    #[error("{}: the stored state of event {seq} is intact but is not a {type_name}: {source}", file.display())]
    Decode {
        /// The database file.
        file: PathBuf,
        /// Its event number.
        seq: u64,
        /// The type asked for.
        type_name: &'static str,
        /// Why it did not decode.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// A state must be saved under an event number after the stored one (one writer, moving
    /// forward); anything else is a second writer or a replay.
    #[error("{}: cannot save the state of event {seq}: the store already holds event {stored}", file.display())]
    SeqNotAfter {
        /// The database file.
        file: PathBuf,
        /// The event number given.
        seq: u64,
        /// The event number stored.
        stored: u64,
    },
    /// SQLite stores integers signed: an event number above `i64::MAX` cannot be kept.
    #[error("{}: cannot save the state of event {seq}: event numbers above {} do not fit", file.display(), i64::MAX)]
    SeqTooLarge {
        /// The database file.
        file: PathBuf,
        /// The event number given.
        seq: u64,
    },
}

impl StoreError {
    /// The file the error is about, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            StoreError::NotDurable { .. } => None,
            StoreError::Corrupt { file, .. }
            | StoreError::InUse { file }
            | StoreError::HoldsState { file, .. }
            | StoreError::Io { file, .. }
            | StoreError::Db { file, .. }
            | StoreError::Encode { file, .. }
            | StoreError::Decode { file, .. }
            | StoreError::SeqNotAfter { file, .. }
            | StoreError::SeqTooLarge { file, .. } => Some(file),
        }
    }
}

/// One durable party's database: its latest state, committed and synced.
///
/// The connection holds SQLite's exclusive lock for as long as the store is open, so a second
/// process (a party started twice on one state directory) gets [`StoreError::InUse`] instead of
/// writing alongside.
pub struct PartyStore {
    conn: Connection,
    file: PathBuf,
    party: Party,
    head: Option<u64>,
    saves: u64,
}

impl std::fmt::Debug for PartyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartyStore")
            .field("file", &self.file)
            .field("party", &self.party)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

impl PartyStore {
    /// Opens `party`'s store under `dir`, creating the directory and an empty store where none
    /// is, and validating one that is there (see the module documentation): a file that is
    /// there but not intact is [`StoreError::Corrupt`], never replaced.
    pub fn open(dir: &Path, party: Party) -> Result<PartyStore, StoreError> {
        let file = path_for(dir, party)?;
        fs::create_dir_all(dir).map_err(|e| io_error(dir, "create the state directory", e))?;
        if !present(&file)? {
            let journal = journal_of(&file);
            if present(&journal)? {
                return Err(corrupt(&file, Corruption::OrphanJournal { journal }));
            }
            create(dir, &file, party)?;
        }
        PartyStore::open_present(file, party)
    }

    /// Opens `party`'s store under `dir` only if its file is there (validating it as
    /// [`PartyStore::open`] does); `None` where there is none, and nothing is created.
    pub fn open_existing(dir: &Path, party: Party) -> Result<Option<PartyStore>, StoreError> {
        let file = path_for(dir, party)?;
        if !present(&file)? {
            let journal = journal_of(&file);
            if present(&journal)? {
                return Err(corrupt(&file, Corruption::OrphanJournal { journal }));
            }
            return Ok(None);
        }
        PartyStore::open_present(file, party).map(Some)
    }

    fn open_present(file: PathBuf, party: Party) -> Result<PartyStore, StoreError> {
        let meta =
            fs::metadata(&file).map_err(|e| io_error(&file, "read the file's metadata", e))?;
        if !meta.is_file() {
            return Err(corrupt(&file, Corruption::NotAFile));
        }
        if meta.len() == 0 {
            return Err(corrupt(&file, Corruption::Empty));
        }
        // Before SQLite touches it: SQLite may write to a file it is about to call malformed.
        check_header(&file, meta.len())?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&file, flags)
            .map_err(|e| operating(&file, "open the database", e))?;
        let (head, conn) = validate(&file, party, conn)?;
        Ok(PartyStore {
            conn,
            file,
            party,
            head,
            saves: 0,
        })
    }

    /// The database file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Whose store this is.
    pub fn party(&self) -> Party {
        self.party
    }

    /// The event number of the stored state, `None` before the first save.
    pub fn head(&self) -> Option<u64> {
        self.head
    }

    /// How many states this handle has saved.
    pub fn saves(&self) -> u64 {
        self.saves
    }

    /// Replaces the stored state with `state`, taken after event `seq`, in one transaction that
    /// is synced to disk before this returns. `seq` must come after the stored one.
    pub fn save<T: Serialize + ?Sized>(&mut self, seq: u64, state: &T) -> Result<(), StoreError> {
        if let Some(stored) = self.head.filter(|stored| seq <= *stored) {
            return Err(StoreError::SeqNotAfter {
                file: self.file.clone(),
                seq,
                stored,
            });
        }
        let Ok(row_seq) = i64::try_from(seq) else {
            return Err(StoreError::SeqTooLarge {
                file: self.file.clone(),
                seq,
            });
        };
        let body = serde_json::to_vec(state).map_err(|e| StoreError::Encode {
            file: self.file.clone(),
            source: Arc::new(e),
        })?;
        let digest = checksum(self.party, seq, &body);
        let file = &self.file;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| operating(file, "begin a transaction", e))?;
        tx.execute(
            "INSERT OR REPLACE INTO state (id, seq, body, sha256) VALUES (1, ?1, ?2, ?3)",
            params![row_seq, body, digest.as_slice()],
        )
        .map_err(|e| operating(file, "write the state", e))?;
        tx.commit()
            .map_err(|e| operating(file, "commit the state", e))?;
        self.head = Some(seq);
        self.saves += 1;
        Ok(())
    }

    /// The stored state and the event number it was taken after, `None` before the first save.
    /// The checksum is verified on every load.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<(u64, T)>, StoreError> {
        let Some((seq, body)) = read_state(&self.file, self.party, &self.conn, operating)? else {
            return Ok(None);
        };
        let value = serde_json::from_slice(&body).map_err(|e| StoreError::Decode {
            file: self.file.clone(),
            seq,
            type_name: std::any::type_name::<T>(),
            source: Arc::new(e),
        })?;
        Ok(Some((seq, value)))
    }
}

/// Every durable party's store under one directory: what a run with `--state-dir` writes to.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    stores: Vec<PartyStore>,
}

impl StateDir {
    /// Opens (creating where absent) the stores of every durable party under `dir`, for a world
    /// that starts from its initial state: a store that is corrupt stops it
    /// ([`StoreError::Corrupt`]), and so does one that already holds a state
    /// ([`StoreError::HoldsState`]) — a fresh world must not write over an earlier run's record.
    pub fn open_fresh(dir: &Path) -> Result<StateDir, StoreError> {
        let stores = DURABLE_PARTIES
            .iter()
            .map(|&party| {
                let store = PartyStore::open(dir, party)?;
                match store.head() {
                    None => Ok(store),
                    Some(seq) => Err(StoreError::HoldsState {
                        file: store.file.clone(),
                        party,
                        seq,
                    }),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StateDir {
            dir: dir.to_path_buf(),
            stores,
        })
    }

    /// Checks, without creating anything, that a fresh world could start under `dir`: every
    /// store there is intact and holds no state. What [`StateDir::open_fresh`] would refuse,
    /// found before any work starts.
    pub fn check_fresh(dir: &Path) -> Result<(), StoreError> {
        for party in DURABLE_PARTIES {
            if let Some(store) = PartyStore::open_existing(dir, party)? {
                if let Some(seq) = store.head() {
                    return Err(StoreError::HoldsState {
                        file: store.file.clone(),
                        party,
                        seq,
                    });
                }
            }
        }
        Ok(())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store of `party`, if it is a durable party.
    pub fn store_mut(&mut self, party: Party) -> Option<&mut PartyStore> {
        self.stores.iter_mut().find(|s| s.party == party)
    }

    /// The stores, in [`DURABLE_PARTIES`] order.
    pub fn stores(&self) -> &[PartyStore] {
        &self.stores
    }
}

/// Whether a path exists (following links); an error other than "not found" is reported.
fn present(path: &Path) -> Result<bool, StoreError> {
    match fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(path, "read the file's metadata", e)),
    }
}

/// SQLite's rollback journal of a database file.
fn journal_of(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push("-journal");
    PathBuf::from(name)
}

/// Builds an empty store under a temporary name, syncs it, and renames it into place, so that
/// `file` appears whole or not at all.
fn create(dir: &Path, file: &Path, party: Party) -> Result<(), StoreError> {
    let slug = slug(party).ok_or(StoreError::NotDurable { party })?;
    let mut tmp_name = file.as_os_str().to_owned();
    tmp_name.push(".new");
    let tmp = PathBuf::from(tmp_name);
    for leftover in [tmp.clone(), journal_of(&tmp)] {
        match fs::remove_file(&leftover) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&leftover, "remove an unfinished new store", e)),
        }
    }
    let conn = Connection::open(&tmp).map_err(|e| operating(&tmp, "create the database", e))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = DELETE;
         PRAGMA synchronous = FULL;
         BEGIN;
         PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {FORMAT_VERSION};
         CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
         INSERT INTO meta (key, value) VALUES ('party', '{slug}');
         CREATE TABLE state (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             seq INTEGER NOT NULL CHECK (seq >= 0),
             body BLOB NOT NULL,
             sha256 BLOB NOT NULL CHECK (length(sha256) = 32)
         ) STRICT;
         COMMIT;"
    ))
    .map_err(|e| operating(&tmp, "create the store's tables", e))?;
    conn.close()
        .map_err(|(_, e)| operating(&tmp, "close the new database", e))?;
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error(&tmp, "sync the new database", e))?;
    fs::rename(&tmp, file).map_err(|e| io_error(file, "move the new database into place", e))?;
    // The rename is durable only once the directory is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, "sync the state directory", e))
}

/// Checks the file's first 100 bytes (SQLite's header) by hand, writing nothing: the magic
/// string, and — unless a rollback journal may be about to restore it — that the file is exactly
/// as long as the header's page count times its page size. SQLite itself rounds a short last
/// page up and reads the missing bytes as zeros.
fn check_header(file: &Path, len: u64) -> Result<(), StoreError> {
    use std::io::Read;
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let mut header = [0u8; 100];
    let read = File::open(file)
        .and_then(|f| f.take(100).read(&mut header))
        .map_err(|e| io_error(file, "read the database header", e))?;
    if read < 16 || &header[..16] != MAGIC {
        return Err(corrupt(
            file,
            Corruption::Sqlite("file is not a database (no SQLite header)".into()),
        ));
    }
    if may_roll_back(&journal_of(file))? {
        return Ok(());
    }
    let raw_size = u16::from_be_bytes([header[16], header[17]]);
    let page_size = if raw_size == 1 {
        65536
    } else {
        u64::from(raw_size)
    };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    if read < 100 || pages.checked_mul(page_size) != Some(len) {
        return Err(corrupt(
            file,
            Corruption::Length {
                pages,
                page_size,
                actual: len,
            },
        ));
    }
    Ok(())
}

/// Whether a rollback journal with a live header is there (a crash mid-write): SQLite will
/// restore the database from it, so the database's length is checked only afterwards.
fn may_roll_back(journal: &Path) -> Result<bool, StoreError> {
    use std::io::Read;
    const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];
    let mut head = [0u8; 8];
    match File::open(journal) {
        Ok(f) => {
            let read = f
                .take(8)
                .read(&mut head)
                .map_err(|e| io_error(journal, "read the rollback journal", e))?;
            Ok(read == 8 && head == JOURNAL_MAGIC)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(journal, "read the rollback journal", e)),
    }
}

/// Takes the store's lock, lets SQLite roll back a hot journal a crash left, and checks
/// everything the module documentation lists. Returns the stored state's event number.
fn validate(
    file: &Path,
    party: Party,
    conn: Connection,
) -> Result<(Option<u64>, Connection), StoreError> {
    let v = |e| validating(file, e);
    // Fail at once if another connection holds the lock, rather than wait (rusqlite waits 5 s).
    conn.busy_timeout(Duration::ZERO).map_err(v)?;
    conn.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |r| {
        r.get::<_, String>(0)
    })
    .map_err(v)?;
    conn.execute_batch("PRAGMA synchronous = FULL").map_err(v)?;
    // Taking the exclusive lock reads page 1 and rolls back a hot journal first.
    conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;").map_err(v)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(v)?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(corrupt(
            file,
            Corruption::Sqlite(format!("journal mode {mode} cannot be set to delete")),
        ));
    }
    let problems = {
        let mut stmt = conn.prepare("PRAGMA quick_check").map_err(v)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(v)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(v)?;
        rows
    };
    if problems != ["ok"] {
        let shown: Vec<&str> = problems.iter().take(3).map(String::as_str).collect();
        return Err(corrupt(
            file,
            Corruption::Sqlite(one_line(&shown.join("; "))),
        ));
    }
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .map_err(v)?;
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(v)?;
    let actual = fs::metadata(file)
        .map_err(|e| io_error(file, "read the file's metadata", e))?
        .len();
    let (pages, page_size) = (pages.unsigned_abs(), page_size.unsigned_abs());
    if pages.checked_mul(page_size) != Some(actual) {
        return Err(corrupt(
            file,
            Corruption::Length {
                pages,
                page_size,
                actual,
            },
        ));
    }
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(v)?;
    if app != APPLICATION_ID {
        return Err(corrupt(file, Corruption::NotAStore { found: app }));
    }
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(v)?;
    if version != FORMAT_VERSION {
        return Err(corrupt(file, Corruption::Version { found: version }));
    }
    let found: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'party'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(v)?;
    if found.as_deref() != slug(party) {
        return Err(corrupt(
            file,
            Corruption::WrongParty {
                found: found.unwrap_or_default(),
                expected: party,
            },
        ));
    }
    let head = read_state(file, party, &conn, |f, _, e| validating(f, e))?.map(|(seq, _)| seq);
    Ok((head, conn))
}

/// The state row, its checksum verified: `(seq, body)`. `fail` classifies SQLite's errors
/// (at open every failure to read is corruption; later an I/O error is not).
fn read_state(
    file: &Path,
    party: Party,
    conn: &Connection,
    fail: fn(&Path, &'static str, rusqlite::Error) -> StoreError,
) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    let row: Option<(i64, Vec<u8>, Vec<u8>)> = conn
        .query_row(
            "SELECT seq, body, sha256 FROM state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(|e| fail(file, "read the state", e))?;
    let Some((seq, body, stored)) = row else {
        return Ok(None);
    };
    let seq =
        u64::try_from(seq).map_err(|_| corrupt(file, Corruption::Row("negative event number")))?;
    if stored.len() != 32 {
        return Err(corrupt(file, Corruption::Row("checksum is not 32 bytes")));
    }
    if checksum(party, seq, &body).as_slice() != stored.as_slice() {
        return Err(corrupt(file, Corruption::Checksum { seq }));
    }
    Ok(Some((seq, body)))
}

/// SHA-256 over the domain, the party, the event number and the serialised state: a state
/// moved to another party's store, or to another event number, does not verify either.
fn checksum(party: Party, seq: u64, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DIGEST_DOMAIN);
    h.update(slug(party).unwrap_or_default().as_bytes());
    h.update([0]);
    h.update(seq.to_be_bytes());
    h.update(body);
    h.finalize().into()
}

fn corrupt(file: &Path, why: Corruption) -> StoreError {
    StoreError::Corrupt {
        file: file.to_path_buf(),
        why,
    }
}

fn io_error(file: &Path, op: &'static str, e: std::io::Error) -> StoreError {
    StoreError::Io {
        file: file.to_path_buf(),
        op,
        source: Arc::new(e),
    }
}

/// The codes that say SQLite could not do its work, whatever the file holds.
fn environmental(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::CannotOpen
            | ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::OutOfMemory
            | ErrorCode::NoLargeFileSupport
            | ErrorCode::OperationInterrupted
            | ErrorCode::OperationAborted
            | ErrorCode::FileLockingProtocolFailed
    )
}

/// A SQLite error while validating an existing store: a lock held elsewhere is
/// [`StoreError::InUse`], the environment failing is [`StoreError::Db`], and anything else
/// (not a database, malformed, a table or column that is not there, a value of the wrong type)
/// means the file is not an intact store.
fn validating(file: &Path, e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if busy(f.code) => StoreError::InUse {
            file: file.to_path_buf(),
        },
        rusqlite::Error::SqliteFailure(f, _) if environmental(f.code) => StoreError::Db {
            file: file.to_path_buf(),
            op: "validate the database",
            source: Arc::new(e),
        },
        _ => corrupt(file, Corruption::Sqlite(one_line(&e.to_string()))),
    }
}

/// SQLite's messages (`quick_check`'s especially) span lines; an error is one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A SQLite error on a store already validated: only SQLite's own corruption codes are
/// corruption; anything else is an operational failure.
fn operating(file: &Path, op: &'static str, e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if busy(f.code) => StoreError::InUse {
            file: file.to_path_buf(),
        },
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) =>
        {
            corrupt(file, Corruption::Sqlite(one_line(&e.to_string())))
        }
        _ => StoreError::Db {
            file: file.to_path_buf(),
            op,
            source: Arc::new(e),
        },
    }
}

fn busy(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
}

//! Reading traces, with errors that name the file, the line and the field.
//!
//! A trace from a real system is untrusted input: every failure is a [`TraceError`], never a
//! panic. The reader streams (one line in memory at a time), so a trace of millions of events
//! is read in constant memory.

use crate::format::{Event, Header, FORMAT, VERSION};
use jpkisim_model::ids::Party;
use jpkisim_model::Topology;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(String),
    /// The file has no header line.
    #[error("empty file: a trace starts with a header line")]
    Empty,
    /// The line is not JSON.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// The last line ends before its JSON does (the recorder stopped mid-line).
    #[error("truncated last line (no newline and incomplete JSON): {0}")]
    Truncated(String),
    /// Line 1 is not a header of this format.
    #[error("not a {FORMAT} header: {0}")]
    NotATrace(String),
    /// The header's version is not one this reader knows.
    #[error("unsupported version {found}: this reader reads version {VERSION}")]
    Version {
        /// The version in the file.
        found: String,
    },
    /// A field this format does not have.
    #[error("unknown field")]
    UnknownField,
    /// A required field is absent.
    #[error("missing field")]
    MissingField,
    /// A field's value is not of the format (an unknown message or party, a wrong type).
    #[error("{0}")]
    Value(String),
    /// A party that the configuration does not have, or that the header does not observe.
    #[error("{0}")]
    Party(String),
    /// Sequence numbers must increase strictly.
    #[error(
        "sequence number {found} does not follow {previous} (events out of order or repeated)"
    )]
    Sequence {
        /// The previous event's number.
        previous: u64,
        /// This event's number.
        found: u64,
    },
    /// The fields present do not fit the event's kind.
    #[error("{0}")]
    Shape(String),
}

/// A bad trace: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// The file (or the name given to the input).
    pub file: String,
    /// 1-based line number (0 when the file could not be opened).
    pub line: usize,
    /// The offending field, as a path (`msg`, `config.persons`), if one is to blame.
    pub field: Option<String>,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for TraceError {}

/// Reads a trace: the header at once, then events one by one.
#[derive(Debug)]
pub struct Reader<R> {
    src: R,
    file: String,
    line: usize,
    header: Header,
    parties: Vec<Party>,
    last_seq: Option<u64>,
    buf: String,
    done: bool,
}

impl Reader<BufReader<File>> {
    /// Opens a trace file and reads its header.
    pub fn open(path: &Path) -> Result<Self, TraceError> {
        let file = File::open(path).map_err(|e| TraceError {
            file: path.display().to_string(),
            line: 0,
            field: None,
            kind: ErrorKind::Io(e.to_string()),
        })?;
        Reader::new(BufReader::new(file), path.display().to_string())
    }
}

impl<R: BufRead> Reader<R> {
    /// Reads the header from `src`; `file` names the input in errors.
    pub fn new(src: R, file: impl Into<String>) -> Result<Self, TraceError> {
        let mut r = Reader {
            src,
            file: file.into(),
            line: 0,
            header: Header::new(jpkisim_model::Config::default(), Vec::new()),
            parties: Vec::new(),
            last_seq: None,
            buf: String::new(),
            done: false,
        };
        let Some(complete) = r.next_line()? else {
            return Err(r.error(None, ErrorKind::Empty));
        };
        let value = r.json(complete)?;
        r.header = r.header_of(value)?;
        r.parties = Topology::of(&r.header.config).parties();
        Ok(r)
    }

    /// The trace's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The line number of the last line read (the last event returned, or the header).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The name of the input, as used in errors.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// An error at the current line.
    pub fn error(&self, field: Option<&str>, kind: ErrorKind) -> TraceError {
        TraceError {
            file: self.file.clone(),
            line: self.line,
            field: field.map(str::to_owned),
            kind,
        }
    }

    /// The next non-blank line into `buf`, and whether it ended with a newline.
    fn next_line(&mut self) -> Result<Option<bool>, TraceError> {
        loop {
            self.buf.clear();
            let n = self.src.read_line(&mut self.buf).map_err(|e| TraceError {
                file: self.file.clone(),
                line: self.line + 1,
                field: None,
                kind: ErrorKind::Io(e.to_string()),
            })?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if !self.buf.trim().is_empty() {
                return Ok(Some(self.buf.ends_with('\n')));
            }
        }
    }

    fn json(&self, complete: bool) -> Result<Value, TraceError> {
        serde_json::from_str(&self.buf).map_err(|e| {
            if !complete && e.is_eof() {
                self.error(None, ErrorKind::Truncated(e.to_string()))
            } else {
                self.error(None, ErrorKind::Json(e.to_string()))
            }
        })
    }

    fn header_of(&self, value: Value) -> Result<Header, TraceError> {
        let Value::Object(obj) = &value else {
            return Err(self.error(
                None,
                ErrorKind::NotATrace("line 1 is not a JSON object".into()),
            ));
        };
        match obj.get("format").and_then(Value::as_str) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(self.error(
                    Some("format"),
                    ErrorKind::NotATrace(format!("format is \"{other}\"")),
                ))
            }
            None => {
                return Err(self.error(
                    Some("format"),
                    ErrorKind::NotATrace(format!("no string \"format\": \"{FORMAT}\"")),
                ))
            }
        }
        match obj.get("version") {
            Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
            Some(v) => {
                return Err(self.error(
                    Some("version"),
                    ErrorKind::Version {
                        found: v.to_string(),
                    },
                ))
            }
            None => return Err(self.error(Some("version"), ErrorKind::MissingField)),
        }
        let header: Header = self.typed(&value, HEADER_FIELDS)?;
        header
            .config
            .validate()
            .map_err(|e| self.error(Some("config"), ErrorKind::Value(e.to_string())))?;
        let parties = Topology::of(&header.config).parties();
        for p in &header.observed {
            if !parties.contains(p) {
                return Err(self.error(
                    Some("observed"),
                    ErrorKind::Party(format!("{p} is not a party of this configuration")),
                ));
            }
        }
        Ok(header)
    }

    /// Deserializes `value`; on failure finds the field to blame.
    fn typed<T: DeserializeOwned>(
        &self,
        value: &Value,
        fields: &[(&'static str, bool, Check)],
    ) -> Result<T, TraceError> {
        serde_json::from_value::<T>(value.clone()).map_err(|whole| self.blame(value, fields, whole))
    }

    fn blame(
        &self,
        value: &Value,
        fields: &[(&'static str, bool, Check)],
        whole: serde_json::Error,
    ) -> TraceError {
        let Value::Object(obj) = value else {
            return self.error(None, ErrorKind::Value("a line is a JSON object".into()));
        };
        if let Some(k) = obj.keys().find(|k| !fields.iter().any(|(f, _, _)| f == k)) {
            return self.error(Some(k), ErrorKind::UnknownField);
        }
        for (name, required, check) in fields {
            match obj.get(*name) {
                None if *required => return self.error(Some(name), ErrorKind::MissingField),
                None => {}
                Some(v) => {
                    if let Err(e) = check(v) {
                        return self.error(Some(name), ErrorKind::Value(e));
                    }
                }
            }
        }
        self.error(None, ErrorKind::Value(whole.to_string()))
    }

    /// The next event: `None` at the end, an error for a bad line (after which it stops).
    pub fn next_event(&mut self) -> Option<Result<Event, TraceError>> {
        if self.done {
            return None;
        }
        let r = self.read_event();
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r.transpose()
    }

    fn read_event(&mut self) -> Result<Option<Event>, TraceError> {
        let Some(complete) = self.next_line()? else {
            return Ok(None);
        };
        // Fast path: a well-formed line parses directly; only a bad one is taken apart.
        let event: Event = match serde_json::from_str(&self.buf) {
            Ok(e) => e,
            Err(_) => {
                let value = self.json(complete)?;
                self.typed(&value, EVENT_FIELDS)?
            }
        };
        if let Some(previous) = self.last_seq {
            if event.seq <= previous {
                return Err(self.error(
                    Some("seq"),
                    ErrorKind::Sequence {
                        previous,
                        found: event.seq,
                    },
                ));
            }
        }
        self.last_seq = Some(event.seq);
        event
            .check_shape()
            .map_err(|(field, why)| self.error(Some(field), ErrorKind::Shape(why.into())))?;
        self.known(&event.party, "party")?;
        if let Some(peer) = &event.peer {
            self.known(peer, "peer")?;
        }
        if !self.header.observed.contains(&event.party) {
            return Err(self.error(
                Some("party"),
                ErrorKind::Party(format!(
                    "{} is not among the observed parties of the header",
                    event.party
                )),
            ));
        }
        Ok(Some(event))
    }

    fn known(&self, p: &Party, field: &str) -> Result<(), TraceError> {
        if self.parties.contains(p) {
            Ok(())
        } else {
            Err(self.error(
                Some(field),
                ErrorKind::Party(format!("{p} is not a party of the header's configuration")),
            ))
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Event, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

/// Checks one field's value on its own, to name it in an error.
type Check = fn(&Value) -> Result<(), String>;

fn check<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
    T::deserialize(v).map(|_| ()).map_err(|e| e.to_string())
}

const HEADER_FIELDS: &[(&str, bool, Check)] = &[
    ("format", true, check::<String>),
    ("version", true, check::<u32>),
    ("config", true, check::<jpkisim_model::Config>),
    ("observed", true, check::<Vec<Party>>),
    ("source", false, check::<Option<String>>),
];

const EVENT_FIELDS: &[(&str, bool, Check)] = &[
    ("seq", true, check::<u64>),
    ("ts", false, check::<Option<u64>>),
    ("kind", true, check::<crate::format::EventKind>),
    ("party", true, check::<Party>),
    ("peer", false, check::<Option<Party>>),
    ("msg", false, check::<Option<jpkisim_model::msg::Msg>>),
    (
        "choice",
        false,
        check::<Option<jpkisim_model::actors::PartyChoice>>,
    ),
    ("fault", false, check::<Option<crate::format::Fault>>),
    (
        "evidence",
        false,
        check::<Option<std::collections::BTreeMap<String, String>>>,
    ),
];

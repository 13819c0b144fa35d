//! Writing traces: a [`Recorder`] appends one NDJSON line per event to any writer.

use crate::format::{Event, Header};
use std::io::{self, Write};

/// Appends a trace to a writer: the header when created, then each recorded event, numbered.
///
/// Lines are written as they come (nothing is buffered here beyond what the writer does), so a
/// crash loses at most the line being written; [`crate::read::Reader`] reports such a truncated
/// last line as such.
#[derive(Debug)]
pub struct Recorder<W: Write> {
    out: W,
    next_seq: u64,
}

impl<W: Write> Recorder<W> {
    /// Starts a trace: writes the header line. Sequence numbers start at 1.
    pub fn new(mut out: W, header: &Header) -> io::Result<Recorder<W>> {
        write_line(&mut out, header)?;
        Ok(Recorder { out, next_seq: 1 })
    }

    /// Appends `event`, numbering it with the next sequence number (its own `seq` is replaced);
    /// returns that number.
    pub fn record(&mut self, mut event: Event) -> io::Result<u64> {
        let seq = self.next_seq;
        event.seq = seq;
        write_line(&mut self.out, &event)?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Appends `event` as it is, keeping its own `seq` (for tools that copy or filter traces);
    /// the next [`Recorder::record`] numbers after it.
    pub fn record_numbered(&mut self, event: &Event) -> io::Result<()> {
        write_line(&mut self.out, event)?;
        self.next_seq = self.next_seq.max(event.seq.saturating_add(1));
        Ok(())
    }

    /// Flushes the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn write_line<T: serde::Serialize>(out: &mut impl Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

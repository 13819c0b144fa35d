//! The emulated secure element as a PC/SC smart card: the virtual-card ("vpicc") end of
//! vsmartcard's `vpcd` reader driver for pcsc-lite, so that any PC/SC program — OpenSC's JPKI
//! driver behind PKCS#11, `pcsc_scan`, the Rust, Go and Python JPKI libraries — talks to the
//! emulated JPKI applet as to a card in a reader.
//!
//! The protocol (vsmartcard's `vpcd.c`): the card connects to the driver over TCP (port 35963
//! for the first reader); every message in either direction is a two-byte big-endian length and
//! that many bytes. From the reader, a one-byte message is a control: `00` power off, `01` power
//! on, `02` reset, `04` "send your ATR"; anything longer is a command APDU. The card answers the
//! ATR request with its ATR and each APDU with the response APDU; power and reset get no answer.
//!
//! What this module adds to the bytes: tearing (`tear_at`: the card drops off the reader in the
//! middle of the Nth command, and comes back after [`Options::reinsert_delay`] as a re-inserted
//! card), real time (the secure element's own clock mode sleeps for the profile's card time),
//! and a policy for a misbehaving peer: a message vpcd never sends (an empty one, an unknown
//! control byte) is a [`VpcdError::Protocol`] and ends the card; a reader that goes away
//! (closed, reset, cut mid-message) is waited for and reconnected, up to [`Options::wait`].
//! Garbage inside a well-framed message is an APDU like any other: the card answers it with the
//! status word a card gives (`67 00`, `6E 00`, ...).
//!
//! It is not a reader driver, does not speak PC/SC itself, and never writes APDU data or
//! response data to its [`Event`]s: a VERIFY carries a PIN. The `vpicc` crate (0.1, 2022) was
//! considered; it logs every message's bytes at trace level, has no typed errors and no tearing.

use std::{
    collections::BTreeSet,
    fmt,
    io::{self, Read, Write},
    net::TcpStream,
    thread,
    time::{Duration, Instant},
};

use crate::{
    apdu::{Command, StatusWord},
    se::SecureElement,
};

/// The port vpcd's first reader listens on.
pub const DEFAULT_PORT: u16 = 35963;

/// The ATR a JPKI card presents (the My Number card's, as OpenSC's JPKI driver matches it):
/// `3B E0 00 FF 81 31 FE 45 14` — T=1, IFSC 254, no historical bytes.
pub const JPKI_CARD_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// One message from the reader.
#[derive(Clone, PartialEq, Eq)]
pub enum Message {
    /// `00`: power off.
    PowerOff,
    /// `01`: power on.
    PowerOn,
    /// `02`: warm reset.
    Reset,
    /// `04`: the reader asks for the ATR (also its way of asking "still there?").
    GetAtr,
    /// A command APDU (two bytes or more; its validity is the card's business).
    Apdu(Vec<u8>),
}

impl fmt::Debug for Message {
    /// An APDU shows its length only: it may carry a PIN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PowerOff => f.write_str("PowerOff"),
            Self::PowerOn => f.write_str("PowerOn"),
            Self::Reset => f.write_str("Reset"),
            Self::GetAtr => f.write_str("GetAtr"),
            Self::Apdu(b) => write!(f, "Apdu({} bytes)", b.len()),
        }
    }
}

/// A message no vpcd sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A zero-length message.
    #[error("an empty message at byte {offset} of the connection (vpcd never sends one)")]
    Empty {
        /// Where its length prefix started.
        offset: u64,
    },
    /// A one-byte message that is not a control vpcd knows.
    #[error(
        "unknown control byte {byte:02X} at byte {offset} of the connection (vpcd sends 00 power \
         off, 01 power on, 02 reset, 04 ATR)"
    )]
    UnknownControl {
        /// The byte.
        byte: u8,
        /// Where its length prefix started.
        offset: u64,
    },
}

/// Why reading a message failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The reader closed the connection between messages.
    #[error("the reader closed the connection")]
    Closed,
    /// The connection ended inside a message.
    #[error(
        "the connection ended inside a message at byte {offset}: {got} of {expected} bytes arrived"
    )]
    Truncated {
        /// Where the message's length prefix started.
        offset: u64,
        /// Bytes announced (length prefix included).
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// A message vpcd never sends.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The socket failed (reset by the peer, ...).
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Reads `buf.len()` bytes; `Ok(n)` with `n < len` means the stream ended after `n`.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads one message. `offset` counts the connection's bytes (for error messages) and advances
/// past what was read. A length prefix can announce at most 65 535 bytes, so a message is
/// bounded whatever the peer sends.
pub fn read_message(r: &mut impl Read, offset: &mut u64) -> Result<Message, ReadError> {
    let start = *offset;
    let mut prefix = [0u8; 2];
    match read_full(r, &mut prefix)? {
        0 => return Err(ReadError::Closed),
        1 => {
            return Err(ReadError::Truncated {
                offset: start,
                expected: 2,
                got: 1,
            })
        }
        _ => {}
    }
    let len = usize::from(u16::from_be_bytes(prefix));
    let mut body = vec![0u8; len];
    let got = read_full(r, &mut body)?;
    *offset += 2 + got as u64;
    if got < len {
        return Err(ReadError::Truncated {
            offset: start,
            expected: len + 2,
            got: got + 2,
        });
    }
    Ok(match body[..] {
        [] => return Err(ProtocolError::Empty { offset: start }.into()),
        [0x00] => Message::PowerOff,
        [0x01] => Message::PowerOn,
        [0x02] => Message::Reset,
        [0x04] => Message::GetAtr,
        [byte] => {
            return Err(ProtocolError::UnknownControl {
                byte,
                offset: start,
            }
            .into())
        }
        _ => Message::Apdu(body),
    })
}

/// Writes one message (length prefix and payload). Payloads are the ATR or a response APDU,
/// far below the 65 535-byte limit; a longer one is refused rather than cut.
pub fn write_message(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message over 65535 bytes"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    w.write_all(&frame)?;
    w.flush()
}

/// What the card does with one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Send these bytes (the ATR or a response APDU).
    Send(Vec<u8>),
    /// Nothing to send (power and reset).
    Nothing,
    /// The card has left the reader in the middle of the command: drop the connection without
    /// an answer.
    Tear,
}

/// What happened, for the operator's log. No variant carries APDU or response data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Connected to the reader (the card is inserted).
    Connected {
        /// The reader's address.
        addr: String,
    },
    /// A control message from the reader.
    Control(Message),
    /// A command answered.
    Command {
        /// 1-based count of commands since the card started.
        n: u64,
        /// Header and lengths (`Command`'s redacted `Debug`), or the length of an unparseable
        /// message.
        what: String,
        /// The status word answered.
        sw: StatusWord,
        /// Response data bytes (not the data).
        data_len: usize,
        /// What the profiled chip takes for it (slept for in real time).
        card_time: Duration,
    },
    /// The card was torn off the reader in the middle of command `n`.
    Torn {
        /// The command's count.
        n: u64,
        /// Its header.
        what: String,
    },
    /// The reader went away; the card waits for it and reconnects.
    ReaderGone {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connected { addr } => write!(f, "connected to vpcd at {addr}: card inserted"),
            Self::Control(m) => write!(f, "reader: {m:?}"),
            Self::Command {
                n,
                what,
                sw,
                data_len,
                card_time,
            } => write!(
                f,
                "#{n} {what} -> {data_len} data bytes, {sw}, card time {:.1} ms",
                card_time.as_secs_f64() * 1e3
            ),
            Self::Torn { n, what } => write!(
                f,
                "#{n} {what}: torn in the middle, no answer; the card leaves the reader"
            ),
            Self::ReaderGone { reason } => write!(f, "reader gone ({reason}); reconnecting"),
        }
    }
}

/// The card in the reader: the secure element, its ATR, and the commands to tear.
#[derive(Debug)]
pub struct VirtualCard {
    se: SecureElement,
    atr: Vec<u8>,
    tear_at: BTreeSet<u64>,
    commands: u64,
}

impl VirtualCard {
    /// A card answering with `se`, presenting `atr`, torn in the middle of each command whose
    /// 1-based count is in `tear_at`.
    pub fn new(se: SecureElement, atr: Vec<u8>, tear_at: BTreeSet<u64>) -> Self {
        Self {
            se,
            atr,
            tear_at,
            commands: 0,
        }
    }

    /// The secure element (for tests and the caller's summary).
    pub fn se(&self) -> &SecureElement {
        &self.se
    }

    /// Commands received so far.
    pub fn commands(&self) -> u64 {
        self.commands
    }

    /// The card leaves the reader (connection lost, or torn): the power is gone.
    pub fn removed(&mut self) {
        self.se.power_cycle();
    }

    /// Handles one message from the reader.
    pub fn handle(&mut self, msg: &Message) -> (Reply, Event) {
        let apdu = match msg {
            Message::GetAtr => return (Reply::Send(self.atr.clone()), Event::Control(msg.clone())),
            Message::PowerOff | Message::PowerOn | Message::Reset => {
                // Each ends the volatile state, as a real cold or warm reset does.
                self.se.power_cycle();
                return (Reply::Nothing, Event::Control(msg.clone()));
            }
            Message::Apdu(apdu) => apdu,
        };
        self.commands += 1;
        let n = self.commands;
        let what = match Command::parse(apdu) {
            Ok(cmd) => format!("{cmd:?}"),
            Err(_) => format!("{} bytes that are no short APDU", apdu.len()),
        };
        if self.tear_at.contains(&n) {
            self.se.transmit_torn(apdu);
            return (Reply::Tear, Event::Torn { n, what });
        }
        let ex = self.se.transmit(apdu);
        let event = Event::Command {
            n,
            what,
            sw: ex.response.sw,
            data_len: ex.response.data.len(),
            card_time: ex.timing.card_time,
        };
        (Reply::Send(ex.wire), event)
    }
}

/// How the card meets its reader.
#[derive(Clone, Debug)]
pub struct Options {
    /// `HOST:PORT` of vpcd.
    pub addr: String,
    /// How long to keep trying to reach vpcd, at start and after it went away, before giving
    /// up with [`VpcdError::Unreachable`]. Zero tries once.
    pub wait: Duration,
    /// How long a torn card stays out of the reader: long enough for pcscd (which polls every
    /// 400 ms) to report the removal.
    pub reinsert_delay: Duration,
}

impl Options {
    /// vpcd on this machine's default port, waiting up to 10 s, re-inserting after 1 s.
    pub fn local() -> Self {
        Self {
            addr: format!("127.0.0.1:{DEFAULT_PORT}"),
            wait: Duration::from_secs(10),
            reinsert_delay: Duration::from_secs(1),
        }
    }
}

/// Why the card stopped.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    /// vpcd could not be reached within the wait.
    #[error(
        "cannot reach vpcd at {addr} (tried for {:.1} s, last error: {last}); is pcscd running \
         with the vsmartcard-vpcd driver on that port?",
        waited.as_secs_f64()
    )]
    Unreachable {
        /// The address tried.
        addr: String,
        /// How long it was tried.
        waited: Duration,
        /// The last connection error.
        last: io::Error,
    },
    /// The peer sent a message vpcd never sends: it is not a vpcd reader.
    #[error("vpcd at {addr} sent garbage: {source}")]
    Protocol {
        /// The peer.
        addr: String,
        /// What was wrong.
        source: ProtocolError,
    },
}

fn connect(opts: &Options) -> Result<TcpStream, VpcdError> {
    let start = Instant::now();
    loop {
        match TcpStream::connect(&opts.addr) {
            Ok(s) => return Ok(s),
            Err(last) if start.elapsed() >= opts.wait => {
                return Err(VpcdError::Unreachable {
                    addr: opts.addr.clone(),
                    waited: start.elapsed(),
                    last,
                })
            }
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Acknowledges the reader's next segment at once instead of after the delayed-ACK timer.
/// vsmartcard before 2023 (Debian 12's vsmartcard-vpcd 3.3) sends a message's length prefix
/// and its body in two writes; with Nagle's algorithm on its socket the body waits for the ACK
/// of the prefix, which Linux delays by up to 40 ms. Measured: 44 ms per APDU without this,
/// well under 1 ms with it (docs/pcsc.md). Best effort: the option is a hint and its failure
/// changes nothing else.
fn ack_at_once(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// Why one connection ended.
enum Ended {
    Torn,
    Gone(String),
}

fn serve(
    card: &mut VirtualCard,
    stream: &mut TcpStream,
    on_event: &mut dyn FnMut(&Event),
    addr: &str,
) -> Result<Ended, VpcdError> {
    // Small messages both ways, one at a time: send each at once.
    let _ = stream.set_nodelay(true);
    let mut offset = 0;
    loop {
        ack_at_once(stream);
        let msg = match read_message(stream, &mut offset) {
            Ok(m) => m,
            Err(ReadError::Protocol(source)) => {
                return Err(VpcdError::Protocol {
                    addr: addr.to_owned(),
                    source,
                })
            }
            Err(e) => return Ok(Ended::Gone(e.to_string())),
        };
        let (reply, event) = card.handle(&msg);
        on_event(&event);
        match reply {
            Reply::Nothing => {}
            Reply::Send(bytes) => {
                if let Err(e) = write_message(stream, &bytes) {
                    return Ok(Ended::Gone(e.to_string()));
                }
            }
            Reply::Tear => return Ok(Ended::Torn),
        }
    }
}

/// Runs the card against vpcd until it cannot: reconnects whenever the reader goes away (the
/// card is pulled and re-inserted: its power is cut, its persistent state stays), re-inserts a
/// torn card after the delay, and returns the reason it stopped — vpcd unreachable for longer
/// than the wait, or a peer that is not vpcd.
pub fn run(card: &mut VirtualCard, opts: &Options, on_event: &mut dyn FnMut(&Event)) -> VpcdError {
    loop {
        let mut stream = match connect(opts) {
            Ok(s) => s,
            Err(e) => return e,
        };
        on_event(&Event::Connected {
            addr: opts.addr.clone(),
        });
        let ended = serve(card, &mut stream, on_event, &opts.addr);
        drop(stream);
        card.removed();
        match ended {
            Ok(Ended::Torn) => thread::sleep(opts.reinsert_delay),
            Ok(Ended::Gone(reason)) => on_event(&Event::ReaderGone { reason }),
            Err(e) => return e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for p in parts {
            v.extend_from_slice(&(p.len() as u16).to_be_bytes());
            v.extend_from_slice(p);
        }
        v
    }

    #[test]
    fn messages_parse_and_errors_name_the_offset() {
        let bytes = frames(&[&[1], &[4], &[0x00, 0xA4, 0x04, 0x0C], &[0], &[2]]);
        let mut r = &bytes[..];
        let mut off = 0;
        let got: Vec<_> = (0..5)
            .map(|_| read_message(&mut r, &mut off).expect("message"))
            .collect();
        assert_eq!(
            got,
            [
                Message::PowerOn,
                Message::GetAtr,
                Message::Apdu(vec![0x00, 0xA4, 0x04, 0x0C]),
                Message::PowerOff,
                Message::Reset
            ]
        );
        assert!(matches!(
            read_message(&mut r, &mut off),
            Err(ReadError::Closed)
        ));
        let bad = frames(&[&[4], &[7]]);
        let (mut r, mut off) = (&bad[..], 0);
        read_message(&mut r, &mut off).expect("ATR request");
        let e = read_message(&mut r, &mut off).expect_err("unknown control");
        assert_eq!(e.to_string(), "unknown control byte 07 at byte 3 of the connection (vpcd sends 00 power off, 01 power on, 02 reset, 04 ATR)");
        let (mut r, mut off) = (&[0u8, 0][..], 0);
        assert!(matches!(
            read_message(&mut r, &mut off),
            Err(ReadError::Protocol(ProtocolError::Empty { offset: 0 }))
        ));
        // A 70 000-byte message cannot be announced: the prefix says 65 535 at most, and a
        // stream that stops early is a truncated message, not a hang or a panic.
        let mut huge = vec![0xFF, 0xFF];
        huge.extend(std::iter::repeat_n(0x42, 1000));
        let (mut r, mut off) = (&huge[..], 0);
        let e = read_message(&mut r, &mut off).expect_err("truncated");
        assert_eq!(
            e.to_string(),
            "the connection ended inside a message at byte 0: 1002 of 65537 bytes arrived"
        );
    }

    #[test]
    fn debug_and_events_never_show_apdu_data() {
        let m = Message::Apdu(b"\x00\x20\x00\x80\x041234".to_vec());
        assert_eq!(format!("{m:?}"), "Apdu(9 bytes)");
    }
}

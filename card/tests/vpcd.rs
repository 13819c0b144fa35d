//! The card end of the vpcd protocol against a fake reader on a local socket: ATR, power and
//! APDUs as vpcd sends them; garbage and oversized messages; a reader that vanishes (reconnect,
//! persistent state kept); tearing (no answer, the try counted once, the card re-inserted);
//! and a reader that never comes (a clear error). Never a panic, never a PIN in an event.

mod common;

use std::{
    collections::BTreeSet,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    thread,
    time::{Duration, Instant},
};

use common::*;
use jpkisim_card::{
    applet::fid,
    vpcd::{self, Event, Options, VirtualCard, VpcdError, JPKI_CARD_ATR},
};

/// Runs a card (test card, instant profile) against `listener` in a thread; returns what
/// stopped it and every event, rendered.
fn start(listener: &TcpListener, tear_at: &[u64]) -> thread::JoinHandle<(VpcdError, Vec<String>)> {
    let opts = Options {
        addr: listener.local_addr().expect("addr").to_string(),
        wait: Duration::from_millis(300),
        reinsert_delay: Duration::from_millis(200),
    };
    let tear_at: BTreeSet<u64> = tear_at.iter().copied().collect();
    thread::spawn(move || {
        let mut card = VirtualCard::new(card(), JPKI_CARD_ATR.to_vec(), tear_at);
        let mut events = Vec::new();
        let err = vpcd::run(&mut card, &opts, &mut |e: &Event| {
            events.push(e.to_string())
        });
        (err, events)
    })
}

/// The reader side of one connection.
struct Reader(TcpStream);

impl Reader {
    fn accept(listener: &TcpListener) -> Self {
        let (s, _) = listener.accept().expect("the card connects");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        Reader(s)
    }

    fn send(&mut self, payload: &[u8]) {
        let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        self.0.write_all(&frame).expect("send");
    }

    /// The next message from the card, `None` if it closed the connection.
    fn receive(&mut self) -> Option<Vec<u8>> {
        let mut len = [0u8; 2];
        self.0.read_exact(&mut len).ok()?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        self.0.read_exact(&mut body).ok()?;
        Some(body)
    }

    fn apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.send(apdu);
        self.receive().expect("a response")
    }

    fn sw(&mut self, apdu: &[u8]) -> u16 {
        let r = self.apdu(apdu);
        u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
    }
}

fn assert_no_pin(events: &[String]) {
    for e in events {
        assert!(
            !e.contains("1234") && !e.contains("31323334") && !e.contains("JPKISIM1"),
            "{e}"
        );
    }
}

#[test]
fn atr_power_and_apdus_as_vpcd_sends_them() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let card = start(&listener, &[]);
    let mut r = Reader::accept(&listener);
    r.send(&[0x04]);
    assert_eq!(r.receive().as_deref(), Some(&JPKI_CARD_ATR[..]));
    r.send(&[0x01]); // power on: no answer
    assert_eq!(r.sw(&select_ap()), 0x9000);
    assert_eq!(r.sw(&select_ef(fid::AUTH_PIN)), 0x9000);
    assert_eq!(r.sw(&verify(b"1234")), 0x9000);
    r.send(&[0x02]); // reset: the session is gone
    assert_eq!(r.sw(&select_ap()), 0x9000);
    assert_eq!(r.sw(&select_ef(fid::AUTH_KEY)), 0x9000);
    assert_eq!(
        r.sw(&sign(&jpkisim_card::applet::sha256_digest_info(b"v"))),
        0x6982
    );
    r.send(&[0x00]); // power off
    drop(r);
    drop(listener);
    let (err, events) = card.join().expect("no panic");
    assert!(matches!(err, VpcdError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("cannot reach vpcd at 127.0.0.1:"),
        "{err}"
    );
    assert!(
        events.iter().any(|e| e.starts_with("reader gone")),
        "{events:?}"
    );
    assert_no_pin(&events);
}

#[test]
fn garbage_framing_ends_the_card_with_a_clear_error() {
    for (bytes, want) in [
        (
            vec![0x00, 0x01, 0x04, 0x00, 0x01, 0x07],
            "unknown control byte 07 at byte 3 of the connection",
        ),
        (
            vec![0x00, 0x00],
            "an empty message at byte 0 of the connection",
        ),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let card = start(&listener, &[]);
        let mut r = Reader::accept(&listener);
        r.0.write_all(&bytes).expect("send");
        let (err, _) = card.join().expect("no panic");
        assert!(matches!(err, VpcdError::Protocol { .. }), "{err}");
        assert!(err.to_string().contains(want), "{err}");
    }
}

#[test]
fn seventy_kilobytes_of_garbage_apdus_get_status_words_and_the_card_goes_on() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let card = start(&listener, &[]);
    let mut r = Reader::accept(&listener);
    // The largest message a length prefix can announce, then the rest of 70 000 bytes, then
    // short garbage: each is an APDU no card accepts, answered with a status word.
    let big = vec![0xAB; 0xFFFF];
    assert_eq!(r.apdu(&big), [0x6E, 0x00]);
    let rest = vec![0x00; 70_000 - 0xFFFF];
    assert_eq!(r.apdu(&rest), [0x67, 0x00]);
    assert_eq!(r.apdu(&[0x00, 0xA4]), [0x67, 0x00]);
    assert_eq!(r.apdu(&[0xFF, 0xFF, 0xFF, 0xFF]), [0x6E, 0x00]);
    assert_eq!(r.sw(&select_ap()), 0x9000);
    // A message cut short by a vanishing reader is a reconnect, not an error.
    r.0.write_all(&[0xFF, 0xFF, 0x00, 0xA4]).expect("send");
    drop(r);
    let mut r = Reader::accept(&listener);
    assert_eq!(r.sw(&select_ap()), 0x9000);
    drop(r);
    drop(listener);
    let (err, events) = card.join().expect("no panic");
    assert!(matches!(err, VpcdError::Unreachable { .. }), "{err}");
    assert!(
        events.iter().any(|e| e.contains(
            "the connection ended inside a message at byte 70031: 4 of 65537 bytes arrived"
        )),
        "{events:?}"
    );
}

#[test]
fn a_vanished_reader_is_reconnected_and_the_card_keeps_its_counters() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let card = start(&listener, &[]);
    let mut r = Reader::accept(&listener);
    for (apdu, want) in [
        (select_ap(), 0x9000),
        (select_ef(fid::AUTH_PIN), 0x9000),
        (verify(b"0000"), 0x63C2),
        (verify(b"1234"), 0x9000),
        (verify(b"1111"), 0x63C2),
    ] {
        assert_eq!(r.sw(&apdu), want);
    }
    drop(r); // pcscd stops
    let mut r = Reader::accept(&listener); // ... and comes back
    assert_eq!(r.sw(&select_ap()), 0x9000);
    assert_eq!(r.sw(&select_ef(fid::AUTH_PIN)), 0x9000);
    assert_eq!(
        r.sw(&QUERY),
        0x63C2,
        "the counter survived; the session did not"
    );
    drop(r);
    drop(listener);
    let (_, events) = card.join().expect("no panic");
    assert_eq!(
        events.iter().filter(|e| e.starts_with("connected")).count(),
        2
    );
    assert_no_pin(&events);
}

#[test]
fn a_torn_verify_drops_the_card_and_counts_the_try_once() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let card = start(&listener, &[3]);
    let mut r = Reader::accept(&listener);
    assert_eq!(r.sw(&select_ap()), 0x9000);
    assert_eq!(r.sw(&select_ef(fid::AUTH_PIN)), 0x9000);
    // Command 3, the right PIN: torn in the middle. No answer; the card is gone.
    r.send(&verify(b"1234"));
    let torn_at = Instant::now();
    assert_eq!(r.receive(), None, "no answer to a torn command");
    // It comes back as a re-inserted card after the delay.
    let mut r = Reader::accept(&listener);
    assert!(torn_at.elapsed() >= Duration::from_millis(200));
    r.send(&[0x01]);
    assert_eq!(r.sw(&select_ap()), 0x9000);
    assert_eq!(r.sw(&select_ef(fid::AUTH_PIN)), 0x9000);
    assert_eq!(
        r.sw(&QUERY),
        0x63C2,
        "counted before the answer, exactly once"
    );
    assert_eq!(r.sw(&verify(b"1234")), 0x9000);
    assert_eq!(r.sw(&QUERY), 0x9000);
    drop(r);
    drop(listener);
    let (_, events) = card.join().expect("no panic");
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("#3 Command { 00 20 00 80, 4 data bytes") && e.contains("torn")),
        "{events:?}"
    );
    assert_no_pin(&events);
}

#[test]
fn a_reader_that_never_comes_is_a_clear_error() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let opts = Options {
        addr: addr.to_string(),
        wait: Duration::from_millis(200),
        reinsert_delay: Duration::ZERO,
    };
    let mut card = VirtualCard::new(card(), JPKI_CARD_ATR.to_vec(), BTreeSet::new());
    let start = Instant::now();
    let err = vpcd::run(&mut card, &opts, &mut |_: &Event| {});
    assert!(start.elapsed() >= Duration::from_millis(200));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot reach vpcd at {addr} (tried for 0."))
            && text.contains("is pcscd running with the vsmartcard-vpcd driver"),
        "{text}"
    );
}

//! `jpkisim card` and `jpkisim applet --from-run` without PC/SC: what the process does with a
//! reader that is not there, a peer that sends garbage (exit 2 and one clear line, never a
//! panic), bad arguments (exit 2), and a card carried over from a test run (`run --pki-out`)
//! whose signatures verify with the run's certificates under the run's CA.

use std::{
    io::{Read, Write},
    net::TcpListener,
    path::Path,
    process::{Command, Output, Stdio},
    thread,
};

use jpkisim_card::fuzzing::deterministic_bytes;
use jpkisim_reference::{backend::Provisioning, pki};

fn jpkisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(args)
        .output()
        .expect("jpkisim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_exit_2(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unreachable_reader_is_exit_2_with_a_clear_line() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let addr = format!("127.0.0.1:{port}");
    let o = jpkisim(&["card", "--vpcd", &addr, "--wait", "0.2"]);
    assert_exit_2(&o, &format!("error: cannot reach vpcd at {addr}"));
}

#[test]
fn bad_arguments_are_exit_2() {
    for (args, needle) in [
        (&["card", "--atr", "3BZZ"][..], "--atr: 'Z' at column 3"),
        (
            &["card", "--atr", "3B"][..],
            "an ATR has 2 to 33 bytes, this one 1",
        ),
        (
            &["card", "--wait=-1"][..],
            "--wait: -1 is not between 0 and 86400 seconds",
        ),
        (&["card", "--profile", "fast"][..], "unknown profile 'fast'"),
        (&["card", "--tear-at", "x"][..], "--tear-at"),
        (
            &["card", "--from-run", "/nonexistent/jpkisim"][..],
            "--from-run: cannot read",
        ),
        (
            &["applet", "--from-run", "/nonexistent/jpkisim"][..],
            "--from-run: cannot read",
        ),
    ] {
        assert_exit_2(&jpkisim(args), needle);
    }
}

/// A fake reader sends `bytes` to a `jpkisim card` process, drains what it answers, and goes
/// away; the process's output.
fn feed(bytes: Vec<u8>) -> Output {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["card", "--vpcd", &addr, "--wait", "0.3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jpkisim card starts");
    let (mut stream, _) = listener.accept().expect("the card connects");
    let mut reader = stream.try_clone().expect("clone");
    let drain = thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    let _ = stream.write_all(&bytes);
    // The reader goes away: no more bytes (the card sees the end, inside a message or not),
    // and no more listening (the card's reconnect fails after its wait).
    let _ = stream.shutdown(std::net::Shutdown::Write);
    drop(stream);
    drop(listener);
    let out = child.wait_with_output().expect("jpkisim card ends");
    let _ = drain.join();
    out
}

#[test]
fn garbage_from_the_reader_is_exit_2_never_a_panic() {
    // Framing vpcd never sends: one clear line naming the byte.
    let o = feed(vec![0x00, 0x01, 0x04, 0x00, 0x01, 0x09]);
    assert_exit_2(
        &o,
        "sent garbage: unknown control byte 09 at byte 3 of the connection",
    );
    // Seventy kilobytes of noise in whatever frames they happen to make: the card answers what
    // parses as APDUs, stops at the first impossible frame or waits for the vanished reader,
    // and ends with exit 2 either way.
    for seed in 0..6u64 {
        let o = feed(deterministic_bytes(seed, 70_000));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "seed {seed}: {err}");
        assert!(
            err.contains("error: vpcd at") || err.contains("error: cannot reach vpcd"),
            "seed {seed}: {err}"
        );
        assert!(!err.contains("panicked"), "seed {seed}: {err}");
    }
}

/// Console script: select the application, verify both PINs by short EF identifier, sign
/// "hello" with each key (P1 03: the card hashes and wraps in a DigestInfo), read both
/// certificates by short EF identifier.
const SCRIPT: &str = "\
00A4040C0AD392F000260100000001
0020009804 31323334
802A039705 68656C6C6F 00
0020009B08 4A504B4953494D31
802A039A05 68656C6C6F 00
";

#[test]
fn a_card_from_a_run_signs_with_the_runs_certificates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki_dir = dir.path().join("pki");
    let o = jpkisim(&[
        "run",
        "--scenario",
        "issuance-mno",
        "--seed",
        "3",
        "--quiet",
        "--pki-out",
        &pki_dir.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let card = pki_dir.join("card-se0");
    #[cfg(unix)]
    for key in ["auth_key.pkcs1.der", "sign_key.pkcs1.der"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(card.join(key))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{key} is readable by others");
    }
    let script = dir.path().join("sign.apdu");
    std::fs::write(&script, SCRIPT).expect("script");
    let o = jpkisim(&[
        "applet",
        "--from-run",
        &pki_dir.display().to_string(),
        "--script",
        &script.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    let signature = |line: &str| {
        let hex = line
            .strip_suffix(" 9000")
            .unwrap_or_else(|| panic!("{line}"));
        jpkisim_card::apdu::from_hex(hex).expect("hex")
    };
    // The run's CA, derived from the same seed, vouches for both certificates, and their keys
    // made the signatures.
    let prov = Provisioning::new(3).expect("provisioning");
    for (cert, line) in [("auth_cert.der", &lines[2]), ("sign_cert.der", &lines[4])] {
        let der = std::fs::read(card.join(cert)).expect("certificate");
        let cert = pki::verify_certificate(prov.ca_public(), &der)
            .unwrap_or_else(|e| panic!("{cert}: {e}"));
        assert!(
            pki::verify(&cert.public_key, b"hello", &signature(line)),
            "{}",
            cert.subject_cn
        );
    }
    assert!(read_ca(&card).starts_with(&[0x30, 0x82]));
}

fn read_ca(card: &Path) -> Vec<u8> {
    std::fs::read(card.join("auth_ca_cert.der")).expect("CA certificate")
}

//! `jpkisim card` under real PC/SC: pcscd (started here, in the foreground, with a private
//! reader configuration and — where the kernel allows — a private mount namespace so its socket
//! is ours alone) with vsmartcard's vpcd driver, OpenSC's JPKI driver and PKCS#11 module, and
//! openssl. Each test skips, saying why, when a tool is missing or pcscd cannot be started
//! privately (`.ci/run` installs pcscd, vsmartcard-vpcd, opensc and pcsc-tools with apt).
//!
//! Checked: pcsc_scan sees the card with the JPKI ATR, OpenSC names it `jpki`, pkcs15-tool
//! lists both certificates (and their CAs), PKCS#11 signatures with the authentication PIN and
//! with the signing password verify with openssl against the certificates read back from the
//! card, a wrong PIN is CKR_PIN_INCORRECT with the tries counted down, a blocked one
//! CKR_PIN_LOCKED; a VERIFY torn by `--tear-at` is counted exactly once across the reconnect.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

/// Where Debian and other distributions put the pieces.
const VPCD_DRIVERS: [&str; 3] = [
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
];
const PKCS11_MODULES: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
];
const TOOLS: [&str; 7] = [
    "pcscd",
    "pcsc_scan",
    "opensc-tool",
    "pkcs15-tool",
    "pkcs11-tool",
    "openssl",
    "nsenter",
];

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| d.join(tool).is_file())
            || ["/usr/sbin", "/sbin"]
                .iter()
                .any(|d| Path::new(d).join(tool).is_file())
    })
}

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Two free adjacent TCP ports: vpcd listens on CHANNELID and CHANNELID + 1.
fn free_port_pair() -> Option<u16> {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.1:0").ok()?;
        let port = a.local_addr().ok()?.port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return Some(port);
        }
    }
    None
}

/// How clients reach our pcscd.
#[derive(Clone, Copy, Debug)]
enum Isolation {
    /// `nsenter` into pcscd's mount namespace (and user namespace when not root).
    Namespace { user: bool },
    /// No private namespace: pcscd on the default socket, which no other pcscd held.
    DefaultSocket,
}

/// Runs a PC/SC client where it sees the pcscd whose pid is `pid`.
fn client(isolation: Isolation, pid: u32, tool: &str, args: &[&str]) -> std::io::Result<Output> {
    let mut cmd = match isolation {
        Isolation::Namespace { user } => {
            let mut c = Command::new("nsenter");
            c.arg("--target").arg(pid.to_string()).arg("--mount");
            if user {
                c.args(["--user", "--preserve-credentials"]);
            }
            c.arg(tool);
            c
        }
        Isolation::DefaultSocket => Command::new(tool),
    };
    cmd.args(args).stdin(Stdio::null()).output()
}

/// Held by the test that runs pcscd on the default socket (no namespace).
static DEFAULT_SOCKET: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A pcscd of our own; stopped (SIGTERM, then SIGKILL) when dropped.
struct Pcscd {
    child: Child,
    isolation: Isolation,
    port: u16,
    module: PathBuf,
    dir: tempfile::TempDir,
    _exclusive: Option<std::sync::MutexGuard<'static, ()>>,
}

impl Pcscd {
    /// Starts pcscd with a vpcd reader on free ports, or says why it cannot.
    fn start() -> Result<Pcscd, String> {
        for tool in TOOLS {
            if !on_path(tool) {
                return Err(format!("{tool} is not installed"));
            }
        }
        let driver = first_existing(&VPCD_DRIVERS)
            .ok_or("vsmartcard's vpcd driver (libifdvpcd.so) is not installed")?;
        let module =
            first_existing(&PKCS11_MODULES).ok_or("OpenSC's opensc-pkcs11.so is not installed")?;
        let port = free_port_pair().ok_or("no two free adjacent TCP ports")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let conf = dir.path().join("reader.conf.d");
        std::fs::create_dir(&conf).map_err(|e| e.to_string())?;
        std::fs::write(
            conf.join("vpcd"),
            format!(
                "FRIENDLYNAME \"jpkisim-test-{port}\"\nDEVICENAME   /dev/null:0x{port:04X}\n\
                 LIBPATH      {}\nCHANNELID    0x{port:04X}\n",
                driver.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let pcscd = format!("exec pcscd --foreground -c {}", conf.display());
        let private = format!("mount -t tmpfs tmpfs /run && {pcscd}");
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let mut attempts: Vec<(Vec<&str>, Isolation)> = Vec::new();
        if root {
            let cmd = vec!["unshare", "--mount", "sh", "-c", &private];
            attempts.push((cmd, Isolation::Namespace { user: false }));
        }
        let cmd = vec![
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            &private,
        ];
        attempts.push((cmd, Isolation::Namespace { user: true }));
        // Without a namespace: pcscd on the default socket, if nobody else serves it.
        if root {
            attempts.push((vec!["sh", "-c", &pcscd], Isolation::DefaultSocket));
        }
        let mut why = Vec::new();
        for (argv, isolation) in attempts {
            // One test at a time on the shared default socket.
            let exclusive = matches!(isolation, Isolation::DefaultSocket)
                .then(|| DEFAULT_SOCKET.lock().unwrap_or_else(|e| e.into_inner()));
            if exclusive.is_some() && Path::new("/run/pcscd/pcscd.comm").exists() {
                why.push("the default socket /run/pcscd/pcscd.comm is another pcscd's".into());
                continue;
            }
            match Self::spawn(&argv, isolation, dir.path(), port) {
                Ok(child) => {
                    return Ok(Pcscd {
                        child,
                        isolation,
                        port,
                        module,
                        dir,
                        _exclusive: exclusive,
                    })
                }
                Err(e) => why.push(format!("{}: {e}", argv[..argv.len().min(4)].join(" "))),
            }
        }
        Err(format!(
            "pcscd could not be started privately: {}",
            why.join("; ")
        ))
    }

    /// Spawns pcscd and waits until it lists our reader.
    fn spawn(argv: &[&str], isolation: Isolation, dir: &Path, port: u16) -> Result<Child, String> {
        let log = std::fs::File::create(dir.join("pcscd.log")).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.join("pcscd.log")).unwrap_or_default();
                return Err(format!(
                    "{status} ({})",
                    log.trim().lines().last().unwrap_or("")
                ));
            }
            let listed = client(isolation, child.id(), "opensc-tool", &["--list-readers"])
                .is_ok_and(|o| {
                    String::from_utf8_lossy(&o.stdout).contains(&format!("jpkisim-test-{port}"))
                });
            if listed {
                return Ok(child);
            }
            thread::sleep(Duration::from_millis(200));
        }
        stop(&mut child);
        Err("did not list the vpcd reader within 10 s".into())
    }

    /// Runs a PC/SC client against this pcscd.
    fn tool(&self, tool: &str, args: &[&str]) -> Output {
        client(self.isolation, self.child.id(), tool, args)
            .unwrap_or_else(|e| panic!("{tool} does not run: {e}"))
    }

    /// pkcs11-tool with OpenSC's module.
    fn pkcs11(&self, args: &[&str]) -> Output {
        let module = self.module.display().to_string();
        let mut all = vec!["--module", module.as_str()];
        all.extend_from_slice(args);
        self.tool("pkcs11-tool", &all)
    }

    /// A path in the test's directory, as a string for tool arguments.
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Starts `jpkisim card` against this pcscd's vpcd and waits until the reader has it.
    fn card(&self, extra: &[&str]) -> Card {
        let log = self
            .dir
            .path()
            .join(format!("card-{}.log", extra.join("_").replace('/', "")));
        let out = std::fs::File::create(&log).expect("card log");
        let mut args = vec![
            "card".to_owned(),
            "--vpcd".into(),
            format!("127.0.0.1:{}", self.port),
            "-v".into(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("jpkisim card starts");
        let card = Card { child, log };
        self.wait_for_card(true);
        card
    }

    /// Waits until pcsc_scan reports the card present (or absent).
    fn wait_for_card(&self, present: bool) {
        let start = Instant::now();
        loop {
            let o = self.tool("pcsc_scan", &["-c", "-n"]);
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let inserted = text
                .split("Reader ")
                .find(|r| r.contains(&format!("jpkisim-test-{} 00 00", self.port)))
                .is_some_and(|r| r.contains("Card inserted"));
            if inserted == present {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "the card is not {}: {text}",
                if present { "present" } else { "gone" }
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A running `jpkisim card`; stopped when dropped.
struct Card {
    child: Child,
    log: PathBuf,
}

impl Card {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// SIGTERM, then SIGKILL after two seconds.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts pcscd or prints why the test is skipped.
fn pcscd_or_skip(test: &str) -> Option<Pcscd> {
    match Pcscd::start() {
        Ok(p) => Some(p),
        Err(why) => {
            println!("SKIPPED {test}: {why}");
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

/// Tries left of a PIN as pkcs15-tool lists it (0: auth PIN, 1: signing password).
fn tries_left(p: &Pcscd, which: usize) -> String {
    let o = p.tool("pkcs15-tool", &["--list-pins"]);
    text(&o)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Tries left"))
        .nth(which)
        .map(|v| v.trim_start_matches([' ', ':']).trim().to_owned())
        .unwrap_or_else(|| panic!("no tries in {}", text(&o)))
}

/// Signs `data` through PKCS#11 on `slot` with `pin` and key `id`; the signature file's path.
fn pkcs11_sign(p: &Pcscd, slot: &str, pin: &str, id: &str, out: &str) -> Output {
    p.pkcs11(&[
        "--slot-index",
        slot,
        "--login",
        "--pin",
        pin,
        "--sign",
        "--mechanism",
        "SHA256-RSA-PKCS",
        "--id",
        id,
        "--input-file",
        &p.path("data"),
        "--output-file",
        &p.path(out),
    ])
}

/// Reads certificate `id` back from the card after verifying `pin` (the phone token wants the
/// PIN even for the authentication certificate), then checks `sig` over `data` with openssl.
fn verify_with_card_certificate(p: &Pcscd, id: &str, pin: &str, sig: &str) {
    let cert = p.path(&format!("cert-{id}.pem"));
    let o = p.tool(
        "pkcs15-tool",
        &[
            "--verify-pin",
            "--auth-id",
            id,
            "--pin",
            pin,
            "--read-certificate",
            id,
            "--output",
            &cert,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let pubkey = p.path(&format!("pub-{id}.pem"));
    openssl(
        &["x509", "-in", &cert, "-pubkey", "-noout", "-out", &pubkey],
        "",
    );
    let (sig, data) = (p.path(sig), p.path("data"));
    openssl(
        &[
            "dgst",
            "-sha256",
            "-verify",
            &pubkey,
            "-signature",
            &sig,
            &data,
        ],
        "Verified OK",
    );
}

/// Runs openssl, which must succeed and say `expect`.
fn openssl(args: &[&str], expect: &str) {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        o.status.success() && text(&o).contains(expect),
        "openssl {}: {}",
        args.join(" "),
        text(&o)
    );
}

#[test]
fn opensc_signs_with_both_pins_and_counts_wrong_ones() {
    let Some(p) = pcscd_or_skip("opensc_signs_with_both_pins_and_counts_wrong_ones") else {
        return;
    };
    std::fs::write(
        p.dir.path().join("data"),
        b"jpkisim: signed through PC/SC\n",
    )
    .expect("data");
    let card = p.card(&[]);

    // pcsc_scan sees the card with the JPKI ATR; OpenSC's JPKI driver takes it.
    let o = p.tool("pcsc_scan", &["-c", "-n"]);
    assert!(
        text(&o).contains("ATR: 3B E0 00 FF 81 31 FE 45 14"),
        "{}",
        text(&o)
    );
    let o = p.tool("opensc-tool", &["--name"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "jpki",
        "{}",
        text(&o)
    );

    // Both certificates and their CAs are listed.
    let o = p.tool("pkcs15-tool", &["--list-certificates"]);
    let listing = text(&o);
    for label in [
        "X.509 Certificate [User Authentication Certificate]",
        "X.509 Certificate [Digital Signature Certificate]",
        "X.509 Certificate [User Authentication Certificate CA]",
        "X.509 Certificate [Digital Signature Certificate CA]",
    ] {
        assert!(listing.contains(label), "{label} missing:\n{listing}");
    }

    // Slot 0 is the authentication PIN's token, slot 1 the signing password's.
    let o = pkcs11_sign(&p, "0", "1234", "01", "sig-auth");
    assert!(o.status.success(), "{}", text(&o));
    verify_with_card_certificate(&p, "01", "1234", "sig-auth");
    let o = pkcs11_sign(&p, "1", "JPKISIM1", "02", "sig-sign");
    assert!(o.status.success(), "{}", text(&o));
    verify_with_card_certificate(&p, "02", "JPKISIM1", "sig-sign");

    // Wrong PINs: CKR_PIN_INCORRECT with the tries counted down, then CKR_PIN_LOCKED, even
    // for the right PIN.
    assert_eq!(tries_left(&p, 0), "3");
    for left in ["2", "1", "0"] {
        let o = pkcs11_sign(&p, "0", "9999", "01", "x");
        assert!(
            !o.status.success() && text(&o).contains("CKR_PIN_INCORRECT"),
            "{}",
            text(&o)
        );
        assert_eq!(tries_left(&p, 0), left);
    }
    let o = pkcs11_sign(&p, "0", "1234", "01", "x");
    assert!(
        !o.status.success() && text(&o).contains("CKR_PIN_LOCKED"),
        "{}",
        text(&o)
    );
    // The signing password is independent of the blocked PIN.
    let o = pkcs11_sign(&p, "1", "WRONG123", "02", "x");
    assert!(text(&o).contains("CKR_PIN_INCORRECT"), "{}", text(&o));
    assert_eq!(tries_left(&p, 1), "4");
    let o = pkcs11_sign(&p, "1", "JPKISIM1", "02", "sig-sign");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(tries_left(&p, 1), "5");
    // The card's log shows headers and lengths, never a PIN.
    let log = card.log();
    assert!(log.contains("00 20 00 80, 4 data bytes"), "{log}");
    for secret in ["1234", "31323334", "JPKISIM1", "4A504B4953494D31"] {
        assert!(!log.contains(secret), "{secret} in the card's log");
    }
}

#[test]
fn a_torn_login_counts_the_try_once_across_the_reconnect() {
    let Some(p) = pcscd_or_skip("a_torn_login_counts_the_try_once_across_the_reconnect") else {
        return;
    };
    std::fs::write(p.dir.path().join("data"), b"torn\n").expect("data");
    // Learn which command of a PKCS#11 login is the VERIFY (OpenSC's probing is deterministic).
    let n = {
        let card = p.card(&[]);
        let o = pkcs11_sign(&p, "0", "1234", "01", "sig");
        assert!(o.status.success(), "{}", text(&o));
        let log = card.log();
        log.lines()
            .find(|l| l.contains("Command { 00 20 00 80, 4 data bytes"))
            .and_then(|l| l.split('#').nth(1))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no VERIFY in\n{log}"))
    };
    p.wait_for_card(false);
    let tear = n.to_string();
    let card = p.card(&["--tear-at", &tear]);
    // The same login, with the right PIN, torn in the middle of its VERIFY: the client gets
    // no signature; the reader reports the card gone and then back.
    let o = pkcs11_sign(&p, "0", "1234", "01", "x");
    assert!(
        !o.status.success(),
        "a torn login cannot succeed: {}",
        text(&o)
    );
    assert!(card.log().contains("torn in the middle"), "{}", card.log());
    // The reader reports the card gone (it stays out for a second; pcscd polls every 400 ms).
    p.wait_for_card(false);
    let start = Instant::now();
    while card.log().matches("card inserted").count() < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "{}", card.log());
        thread::sleep(Duration::from_millis(50));
    }
    p.wait_for_card(true);
    // Counted before the answer, exactly once; the right PIN gives it back.
    assert_eq!(tries_left(&p, 0), "2");
    let o = pkcs11_sign(&p, "0", "1234", "01", "sig-after");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(tries_left(&p, 0), "3");
}

#[test]
fn a_card_carried_over_from_a_run_signs_under_the_runs_ca() {
    let Some(p) = pcscd_or_skip("a_card_carried_over_from_a_run_signs_under_the_runs_ca") else {
        return;
    };
    std::fs::write(p.dir.path().join("data"), b"issued by the reference CA\n").expect("data");
    let pki = p.path("pki");
    let o = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args([
            "run",
            "--scenario",
            "issuance-mno",
            "--seed",
            "5",
            "--quiet",
            "--pki-out",
            &pki,
        ])
        .output()
        .expect("jpkisim run");
    assert!(o.status.success(), "{}", text(&o));
    let _card = p.card(&["--from-run", &pki]);
    for (slot, pin, id) in [("0", "1234", "01"), ("1", "JPKISIM1", "02")] {
        let sig = format!("sig-run-{id}");
        let o = pkcs11_sign(&p, slot, pin, id, &sig);
        assert!(o.status.success(), "{}", text(&o));
        verify_with_card_certificate(&p, id, pin, &sig);
        // The certificate read back from the card chains to the run's CA (inside its validity).
        let ca = format!("{pki}/ca.pem");
        let cert = p.path(&format!("cert-{id}.pem"));
        openssl(
            &["verify", "-attime", "1767312000", "-CAfile", &ca, &cert],
            ": OK",
        );
    }
}

#[test]
fn a_card_form_token_shows_its_authentication_certificate_before_login() {
    let Some(p) =
        pcscd_or_skip("a_card_form_token_shows_its_authentication_certificate_before_login")
    else {
        return;
    };
    // The phone token gives EF 000A out only after the PIN, so OpenSC (which declares it public,
    // as on the card) has no certificate object for it; with the card's rules it has.
    for (token, visible) in [("phone", false), ("card", true)] {
        let card = p.card(&["--token", token]);
        let o = p.pkcs11(&["--slot-index", "0", "--list-objects", "--type", "cert"]);
        let listed = text(&o).contains("label:      User Authentication Certificate\n");
        assert_eq!(listed, visible, "--token {token}: {}", text(&o));
        drop(card);
        p.wait_for_card(false);
    }
}

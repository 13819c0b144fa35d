//! The Explorer in a real browser: headless Chromium, driven through chromedriver's W3C WebDriver
//! HTTP API, opens the Explorer for a broken variant, follows the property's counterexample link
//! and reads the rendered path and state. Skips, saying why, where Chromium or chromedriver is not
//! installed (`.ci/run` installs both with apt where it can).
//!
//! The screenshot goes to the test's temporary directory; with `JPKISIM_UPDATE_SCREENSHOT=1` it
//! also replaces `docs/explorer.png`.

use jpkisim_checker::explorer::ReadableModel;
use jpkisim_checker::explorer_http::{self, request, shortest_discoveries};
use jpkisim_model::Config;
use jpkisim_properties::{checked_model, variants};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromedriver() -> Option<&'static str> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// chromedriver, stopped when the test ends however it ends.
struct Driver {
    child: Child,
    addr: SocketAddr,
    session: Option<String>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = &self.session {
            let _ = request(self.addr, "DELETE", &format!("/session/{id}"), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let answer = request(self.addr, method, path, body.as_deref().map(str::as_bytes))
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let v: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
            panic!(
                "WebDriver {method} {path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&answer.body)
            )
        });
        assert_eq!(answer.status, 200, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn session(&self) -> &str {
        self.session.as_deref().expect("session started")
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.call(
            "POST",
            &format!("/session/{}/elements", self.session()),
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        e.as_object()
                            .and_then(|o| o.values().next())
                            .and_then(|id| id.as_str().map(str::to_owned))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn text(&self, element: &str) -> String {
        self.call(
            "GET",
            &format!("/session/{}/element/{element}/text", self.session()),
            None,
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    fn texts(&self, css: &str) -> Vec<String> {
        self.find_all(css).iter().map(|e| self.text(e)).collect()
    }

    /// Polls until `f` gives a value, for up to 60 s.
    fn wait_for<T>(&self, what: &str, mut f: impl FnMut(&Self) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn base64_decoder_reads_padded_and_unpadded_text() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGVsbG8h"), b"hello!");
    assert_eq!(base64_decode("iVBORw0KGgo="), b"\x89PNG\r\n\x1a\n");
}

#[test]
fn a_browser_follows_the_counterexample_link_and_reads_the_path_and_state() {
    let Some(driver_bin) = chromedriver() else {
        eprintln!("SKIPPED: chromedriver is not installed (apt-get install chromium-driver)");
        return;
    };
    if !Path::new(CHROMIUM).exists() {
        eprintln!("SKIPPED: {CHROMIUM} is not installed (apt-get install chromium)");
        return;
    }

    let variant = variants::by_id("skip_issued_check").expect("variant exists");
    let cfg = variant.config(Config {
        persons: 1,
        ..Config::default()
    });
    let model = checked_model(cfg).expect("builds");
    let discoveries = shortest_discoveries(&model).expect("search runs");
    let found = discoveries
        .iter()
        .find(|d| d.property == "no_double_issuance")
        .expect("caught")
        .clone();
    let explorer = explorer_http::start(
        ReadableModel::new(model).expect("wraps"),
        "127.0.0.1:0".parse().expect("address"),
        &discoveries,
    )
    .expect("Explorer starts");

    let port = free_port();
    let child = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let mut driver = Driver {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        session: None,
    };
    driver.wait_for("chromedriver to be ready", |d| {
        request(d.addr, "GET", "/status", None)
            .ok()
            .filter(|a| a.status == 200)
    });
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chromium-profile-{port}"));
    let _ = std::fs::remove_dir_all(&profile);
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
                "--window-size=2200,1300",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    }}});
    let session = driver.call("POST", "/session", Some(caps));
    driver.session = session["sessionId"].as_str().map(str::to_owned);
    let sid = driver.session().to_owned();

    driver.call(
        "POST",
        &format!("/session/{sid}/url"),
        Some(json!({"url": explorer.url()})),
    );
    // The property list links the shortest counterexample before anything is checked.
    let href = format!("#/steps/{}", found.explorer_path());
    let link = driver.wait_for("the property's counterexample link", |d| {
        d.find_all(&format!("a[href='{href}']")).into_iter().next()
    });
    assert_eq!(driver.text(&link), "Always no_double_issuance");
    driver.call(
        "POST",
        &format!("/session/{sid}/element/{link}/click"),
        Some(json!({})),
    );

    // The path of actions: Stateright's "Pre-init" and "Init 0", then our readable steps.
    let want = found.steps.len() + 2;
    let path = driver.wait_for("the whole path to render", |d| {
        let t = d.texts("ol.path-list li");
        (t.len() == want).then_some(t)
    });
    assert_eq!(path[..2], ["Pre-init", "Init 0"]);
    assert_eq!(path[2..], found.steps[..]);
    assert!(path
        .iter()
        .any(|s| s.starts_with("SP-TSM → CA: IssueCert(person 0, SE 0, app 1")));

    // The selected state reads per party, and shows the double issuance.
    let state = driver.wait_for("the state text", |d| {
        d.texts("section.main-flex-right div.font-small")
            .into_iter()
            .find(|t| t.contains("CA: epoch"))
    });
    let valid_phone_certs = state
        .lines()
        .filter(|l| l.contains("phone certificate of person 0") && l.contains(": Valid ("))
        .count();
    assert_eq!(valid_phone_certs, 2, "{state}");
    for part in [
        "SP-TSM:",
        "SE-TSM:",
        "Person 0:",
        "SE 0: applet",
        "In flight (",
    ] {
        assert!(state.contains(part), "{part} missing from\n{state}");
    }
    assert_eq!(
        driver.call("GET", &format!("/session/{sid}/url"), None),
        Value::String(format!("{}{href}", explorer.url()))
    );

    let shot = driver.call("GET", &format!("/session/{sid}/screenshot"), None);
    let png = base64_decode(shot.as_str().unwrap_or_default());
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explorer.png");
    std::fs::write(&tmp, &png).expect("screenshot written");
    if std::env::var_os("JPKISIM_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/explorer.png");
        std::fs::write(&docs, &png).expect("docs/explorer.png written");
    }
    eprintln!("screenshot: {}", tmp.display());
}

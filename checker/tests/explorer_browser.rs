//! The Explorer in a real browser: headless Chromium, driven through chromedriver's W3C WebDriver
//! HTTP API, opens the Explorer for a broken variant at a laptop's 1366×768 and a desktop's
//! 1920×1080, follows the property's counterexample link, reads the rendered path, state and
//! verdict panel, and checks the layout: the state panel beside the path (not below it), the
//! sequence diagram within its panel, no horizontal scroll. Skips, saying why, where Chromium or
//! chromedriver is not installed (`.ci/run` installs both with apt).
//!
//! The screenshots it checks go to the test's temporary directory (`explorer-1366x768.png`,
//! `explorer-1920x1080.png`); with `JPKISIM_UPDATE_SCREENSHOT=1` the 1366×768 one also replaces
//! `docs/explorer.png`.

use jpkisim_checker::explorer::ReadableModel;
use jpkisim_checker::explorer_http::{self, request, shortest_discoveries, PageInfo, Status};
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

/// chromedriver, stopped when the test ends however it ends — with the Chromium it started
/// (found by this test's own profile directory, should the session not close).
struct Driver {
    child: Child,
    addr: SocketAddr,
    session: Option<String>,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = &self.session {
            let _ = request(self.addr, "DELETE", &format!("/session/{id}"), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let marker = format!("--user-data-dir={}", self.profile.display());
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if cmdline
                .split(|&b| b == 0)
                .any(|arg| arg == marker.as_bytes())
            {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
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

/// An element's position and size on the page.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

impl Driver {
    fn rect(&self, element: &str) -> Rect {
        let v = self.call(
            "GET",
            &format!("/session/{}/element/{element}/rect", self.session()),
            None,
        );
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        Rect {
            x: f("x"),
            y: f("y"),
            width: f("width"),
            height: f("height"),
        }
    }

    fn one(&self, css: &str) -> String {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css}"))
    }

    fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            &format!("/session/{}/execute/sync", self.session()),
            Some(json!({"script": js, "args": []})),
        )
    }
}

#[test]
fn a_browser_follows_the_counterexample_link_and_the_layout_fits_a_laptop_and_a_desktop() {
    let Some(driver_bin) = chromedriver() else {
        eprintln!("SKIPPED: chromedriver is not installed (apt-get install chromium-driver)");
        return;
    };
    if !Path::new(CHROMIUM).exists() {
        eprintln!("SKIPPED: {CHROMIUM} is not installed (apt-get install chromium)");
        return;
    }

    let variant = variants::by_id("skip_issued_check").expect("variant exists");
    let cfg = variant.config(Config::default());
    let model = checked_model(cfg).expect("builds");
    let discoveries = shortest_discoveries(&model).expect("search runs");
    let found = discoveries
        .iter()
        .find(|d| d.property == "no_double_issuance")
        .expect("caught")
        .clone();
    let mut status = Status::of(
        &cfg,
        PageInfo {
            title: format!("variant {}: {}", variant.id, variant.description),
            config: explorer_http::config_words(&cfg),
            trace: None,
        },
        "searching",
    );
    status.searched(&discoveries, 1.2);
    let front = explorer_http::bind("127.0.0.1:0".parse().expect("address")).expect("binds");
    let explorer = explorer_http::start(front, ReadableModel::new(model).expect("wraps"), status)
        .expect("Explorer starts");

    let port = free_port();
    let child = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chromium-profile-{port}"));
    let _ = std::fs::remove_dir_all(&profile);
    let mut driver = Driver {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        session: None,
        profile: profile.clone(),
    };
    driver.wait_for("chromedriver to be ready", |d| {
        request(d.addr, "GET", "/status", None)
            .ok()
            .filter(|a| a.status == 200)
    });
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
                "--hide-scrollbars=false",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    }}});
    let session = driver.call("POST", "/session", Some(caps));
    driver.session = session["sessionId"].as_str().map(str::to_owned);
    let sid = driver.session().to_owned();
    let href = format!("#/steps/{}", found.explorer_path());

    for (w, h) in [(1366_i32, 768_i32), (1920, 1080)] {
        // The viewport is the size a user's window gives the page.
        driver.call(
            "POST",
            &format!("/session/{sid}/url"),
            Some(json!({"url": "about:blank"})),
        );
        let inner = driver.script("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];");
        let (dw, dh) = (
            inner[0].as_i64().unwrap_or(0),
            inner[1].as_i64().unwrap_or(0),
        );
        driver.call(
            "POST",
            &format!("/session/{sid}/window/rect"),
            Some(json!({"width": i64::from(w) + dw, "height": i64::from(h) + dh})),
        );
        driver.call(
            "POST",
            &format!("/session/{sid}/url"),
            Some(json!({"url": explorer.url()})),
        );
        let viewport = driver.script("return [window.innerWidth, window.innerHeight];");
        assert_eq!(viewport, json!([w, h]), "the viewport is {w}×{h}");

        // The panel says what the startup search proved and links the shortest counterexample.
        let link = driver.wait_for("the counterexample link in the panel", |d| {
            d.find_all(&format!("#jpk-panel a[href='{href}']"))
                .into_iter()
                .next()
        });
        assert_eq!(driver.text(&link), "no_double_issuance");
        let item = driver.one("#jpk-panel li[data-property='no_double_issuance']");
        assert!(
            driver.text(&item).contains(&format!(
                "violated: shortest counterexample in {} steps",
                found.indices.len()
            )),
            "{}",
            driver.text(&item)
        );
        let holds = driver.one("#jpk-panel [data-property='distinct_serials']");
        assert_eq!(
            driver.call(
                "GET",
                &format!("/session/{sid}/element/{holds}/attribute/data-verdict"),
                None
            ),
            json!("holds")
        );
        // The Status block names the model as the page does, not by its Rust type.
        let status = driver.texts("nav.main-flex-left ul li");
        assert!(
            status
                .iter()
                .any(|t| t.starts_with("Model: variant skip_issued_check")),
            "{status:?}"
        );
        let title = driver.text(&driver.one("#jpk-title"));
        assert!(
            title.contains("variant skip_issued_check") && title.contains("persons 1"),
            "the page names the variant and the configuration: {title}"
        );
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

        // The selected state reads per party, and shows the double issuance.
        let state = driver.wait_for("the state text", |d| {
            d.texts("section.main-flex-right div.font-small")
                .into_iter()
                .find(|t| t.contains("CA: epoch"))
        });
        let valid_phone_certs = state
            .lines()
            .filter(|l| l.contains("phone certificate of person") && l.contains(": Valid ("))
            .count();
        assert!(valid_phone_certs >= 2, "{state}");
        for part in [
            "SP-TSM:",
            "SE-TSM:",
            "Person 0:",
            "SE 0: applet",
            "In flight (",
        ] {
            assert!(state.contains(part), "{part} missing from\n{state}");
        }
        // The diagram numbers the first step 1, as the path list does.
        let svg_text = driver.script(
            "const t = document.querySelector('section.main-flex-right svg text:not([font-weight])'); return t ? t.textContent : '';",
        );
        assert!(
            svg_text.as_str().unwrap_or_default().starts_with("1. "),
            "{svg_text}"
        );

        // Layout: the state panel beside the path, the diagram within it, no sideways scroll.
        let nav = driver.rect(&driver.one("nav.main-flex-left"));
        let right = driver.rect(&driver.one("section.main-flex-right"));
        let list = driver.rect(&driver.one("ol.path-list"));
        let svg = driver.rect(&driver.one("section.main-flex-right svg"));
        assert!(
            right.x >= nav.x + nav.width - 1.0,
            "{w}×{h}: the state panel starts right of the path: nav {nav:?}, state {right:?}"
        );
        assert!(
            right.y < list.y,
            "{w}×{h}: the state panel starts above the path list's top, beside it: {right:?} vs {list:?}"
        );
        assert!(
            right.y < f64::from(h) / 2.0,
            "{w}×{h}: the state panel starts in the first half of the screen: {right:?}"
        );
        assert!(
            svg.x >= right.x - 1.0 && svg.x + svg.width <= right.x + right.width + 1.0,
            "{w}×{h}: the diagram fits its panel: {svg:?} in {right:?}"
        );
        assert!(
            svg.height > 100.0 && svg.y + svg.height <= right.y + right.height + 1.0,
            "{w}×{h}: the diagram keeps a readable height inside its panel (scaled by its viewBox, not squashed): {svg:?} in {right:?}"
        );
        let scroll = driver.script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
        );
        let (sw, cw) = (
            scroll[0].as_f64().unwrap_or(0.0),
            scroll[1].as_f64().unwrap_or(0.0),
        );
        assert!(sw <= cw, "{w}×{h}: no horizontal scroll ({sw} > {cw})");

        let shot = driver.call("GET", &format!("/session/{sid}/screenshot"), None);
        let png = base64_decode(shot.as_str().unwrap_or_default());
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("explorer-{w}x{h}.png"));
        std::fs::write(&tmp, &png).expect("screenshot written");
        eprintln!("screenshot: {}", tmp.display());
        if (w, h) == (1366, 768) && std::env::var_os("JPKISIM_UPDATE_SCREENSHOT").is_some() {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/explorer.png");
            std::fs::write(&docs, &png).expect("docs/explorer.png written");
        }
    }
}

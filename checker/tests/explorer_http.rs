//! The Explorer over HTTP, as a browser uses it: the property list links the shortest
//! counterexample before and after "Run to completion", and walking that path through
//! `/.states/...` shows readable steps and ends in a state that violates the property.

use jpkisim_checker::explorer::ReadableModel;
use jpkisim_checker::explorer_http::{self, request, shortest_discoveries, PageInfo, Status};
use jpkisim_model::Config;
use jpkisim_properties::{catalogue, checked_model, variants};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn get_json(addr: SocketAddr, path: &str) -> Value {
    let answer = request(addr, "GET", path, None).expect("the Explorer answers");
    assert_eq!(answer.status, 200, "GET {path}");
    serde_json::from_slice(&answer.body).expect("JSON answer")
}

fn link(status: &Value, property: &str) -> Option<String> {
    status["properties"]
        .as_array()?
        .iter()
        .find(|p| p[1] == property)
        .and_then(|p| p[2].as_str().map(str::to_owned))
}

#[test]
fn explorer_links_and_walks_the_shortest_double_issuance() {
    let variant = variants::by_id("skip_issued_check").expect("variant exists");
    let cfg = variant.config(Config {
        persons: 1,
        ..Config::default()
    });
    let model = checked_model(cfg).expect("variant model builds");
    let discoveries = shortest_discoveries(&model).expect("search runs");
    let found = discoveries
        .iter()
        .find(|d| d.property == "no_double_issuance")
        .expect("the flaw is caught");
    assert!(found.is_counterexample());
    let path = found.explorer_path();
    let front = explorer_http::bind("127.0.0.1:0".parse().expect("address")).expect("binds");
    let mut status = Status::of(
        &cfg,
        PageInfo {
            title: "variant skip_issued_check".into(),
            config: explorer_http::config_words(&cfg),
            trace: None,
        },
        "searching",
    );
    status.searched(&discoveries, 1.0);
    let running = explorer_http::start(front, ReadableModel::new(model).expect("wraps"), status)
        .expect("the Explorer starts on a free loopback port");
    let addr = running.addr;

    // The start page is Stateright's Explorer with jpkisim's additions.
    let page = request(addr, "GET", "/", None).expect("start page");
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body);
    for added in [
        "<title>jpkisim Explorer</title>",
        "/.jpkisim/page.css",
        "/.jpkisim/page.js",
        "id=\"jpk-panel\"",
        "id=\"jpk-title\"",
        "knockout-3.5.0.js",
    ] {
        assert!(html.contains(added), "the page has {added}:\n{html}");
    }
    for asset in ["/.jpkisim/page.css", "/.jpkisim/page.js"] {
        let a = request(addr, "GET", asset, None).expect("asset");
        assert_eq!(a.status, 200, "{asset}");
        assert!(!a.body.is_empty(), "{asset}");
    }
    // What the startup search proved, and which model this is.
    let st = get_json(addr, "/.jpkisim/status");
    assert_eq!(st["page"]["title"], "variant skip_issued_check");
    assert!(
        st["page"]["config"]
            .as_str()
            .unwrap_or_default()
            .contains("persons 1"),
        "{st}"
    );
    let verdict = |id: &str| {
        st["properties"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["id"] == id))
            .map(|p| p["verdict"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(verdict("no_double_issuance").as_deref(), Some("violated"));
    assert_eq!(verdict("distinct_serials").as_deref(), Some("holds"));
    assert_eq!(verdict("issued").as_deref(), Some("triggered"));

    // The initial state reads per party too (Stateright gives it no step text of its own).
    let init = get_json(addr, "/.states");
    let text = init[0]["outcome"].as_str().unwrap_or_default();
    assert!(text.starts_with("Initial state"), "{init}");
    assert!(text.contains("Person 0: card serial"), "{text}");

    // Linked before anything is checked (Stateright alone links nothing until run to completion).
    let status = get_json(addr, "/.status");
    assert_eq!(status["done"], false);
    assert_eq!(link(&status, "no_double_issuance").as_deref(), Some(&*path));

    // Run to completion: Stateright's own (last-found, longer) discovery is replaced by ours.
    let run = request(addr, "POST", "/.runtocompletion", None).expect("run to completion");
    assert_eq!(run.status, 200);
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        let status = get_json(addr, "/.status");
        if status["done"] == true {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "checking did not finish: {status}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status["unique_state_count"].as_u64().unwrap_or(0) > 1);
    assert_eq!(link(&status, "no_double_issuance").as_deref(), Some(&*path));
    // Stateright's own discovery, behind the front server, is a path to a violation too, and
    // never shorter than ours.
    let own = link(&get_json(running.backend, "/.status"), "no_double_issuance")
        .expect("Stateright found the violation itself");
    let own_len = own.split('/').count() - 1;
    eprintln!(
        "shortest: {} steps; Stateright's own discovery: {own_len} steps",
        found.indices.len()
    );
    assert!(own_len >= found.indices.len(), "{own} vs {path}");
    // Safety properties the flaw does not break still hold after the full check.
    assert_eq!(link(&status, "distinct_serials"), None);

    // Walk the path: each step's action text is the readable step, and the property links on
    // every state page point at the same path.
    let indices: Vec<&str> = path.split('/').collect();
    for (n, ix) in indices.iter().enumerate().skip(1) {
        let prefix = indices[..n].join("/");
        let next = get_json(addr, &format!("/.states/{prefix}"));
        let step = next
            .as_array()
            .and_then(|a| {
                a.iter().find(|s| {
                    s["actionIndex"].as_u64().map(|i| i.to_string()).as_deref() == Some(*ix)
                })
            })
            .unwrap_or_else(|| panic!("step {n} ({ix}) is offered at /{prefix}"));
        assert_eq!(
            step["action"].as_str(),
            Some(found.steps[n - 1].as_str()),
            "step {n}"
        );
        let links = step["properties"].as_array().expect("per-state properties");
        assert!(links
            .iter()
            .any(|p| p[1] == "no_double_issuance" && p[2].as_str() == Some(&*path)));
        if n == indices.len() - 1 {
            let outcome = step["outcome"].as_str().expect("readable state");
            let live_phone_certs = outcome
                .lines()
                .filter(|l| l.contains("phone certificate of person 0") && l.contains(": Valid ("))
                .count();
            assert!(
                live_phone_certs >= 2,
                "the last state shows two valid phone certificates:\n{outcome}"
            );
        }
    }

    // And the last state, recomputed in the model, violates the property.
    let cfg_model = checked_model(cfg).expect("builds");
    let last = ReadableModel::new(cfg_model)
        .expect("wraps")
        .state_after(&found.indices)
        .expect("path in range");
    let prop = catalogue::by_id("no_double_issuance").expect("property exists");
    assert!(!prop.holds_in(&cfg, &last));

    // A path that leaves the model is a 404, passed through.
    let bad = request(addr, "GET", "/.states/0/9999", None).expect("answer");
    assert_eq!(bad.status, 404);
}

#[test]
fn the_explorer_refuses_addresses_other_than_loopback() {
    let model = checked_model(Config {
        persons: 1,
        ..Config::default()
    })
    .expect("builds");
    let _ = model;
    let err = explorer_http::bind("0.0.0.0:0".parse().expect("address"))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("not a loopback address"), "{err}");
    // A port in use is refused at once, before any model or search.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("its address");
    let err = explorer_http::bind(addr).err().expect("in use");
    assert!(err.to_string().contains("cannot listen on"), "{err}");
}

/// A browser opening the Explorer opens several connections at once and keeps each open for the
/// next request. Every one must be answered, and closed by the server after its one answer: the
/// front server once stranded some of them behind idle keep-alive connections for minutes
/// (`checker/src/http.rs` says how).
#[test]
fn every_connection_a_browser_opens_at_once_is_answered_and_then_closed() {
    use std::io::{Read, Write};
    let cfg = Config {
        persons: 1,
        ..Config::default()
    };
    let model = checked_model(cfg).expect("model builds");
    let front = explorer_http::bind("127.0.0.1:0".parse().expect("address")).expect("binds");
    let status = Status::of(&cfg, PageInfo::default(), "not searched");
    let running = explorer_http::start(front, ReadableModel::new(model).expect("wraps"), status)
        .expect("the Explorer starts");
    let targets = ["/.jpkisim/status", "/app.js", "/.status", "/"];
    let mut open = Vec::new();
    for i in 0..16 {
        let mut s = std::net::TcpStream::connect(running.addr).expect("connects");
        let target = targets[i % targets.len()];
        write!(
            s,
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive\r\n\r\n",
            running.addr
        )
        .expect("request sent");
        open.push((target, s));
    }
    let started = Instant::now();
    for (target, mut s) in open {
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout set");
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap_or_else(|e| {
            panic!(
                "GET {target}: no whole answer, closed, after {:?}: {e}",
                started.elapsed()
            )
        });
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\n"),
            "GET {target}: {text}"
        );
        assert!(text.contains("\r\nConnection: close\r\n"), "GET {target}");
    }
    // A request that is not HTTP gets a status, not silence.
    let mut s = std::net::TcpStream::connect(running.addr).expect("connects");
    s.write_all(b"HELLO\x00 there\r\n\r\n").expect("sent");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answered");
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
}

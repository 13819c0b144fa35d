//! Serves Stateright's web Explorer for a [`ReadableModel`], linking each property to its
//! shortest counterexample.
//!
//! Stateright 0.31's Explorer links a property to the path its own on-demand checker happened to
//! discover last, which is neither shortest nor available before "Run to completion"
//! (docs/sources/stateright-notes.md, pitfalls 1 and 3), and its
//! `serve()` blocks forever on an address it does not report. So the Explorer runs on a private
//! loopback port, and a small front server on the requested address passes every request
//! through, rewriting the property list in `/.status` and `/.states/...` answers so that each
//! property with a known shortest path links to it (`#/steps/<path>`), and adding to the start
//! page a headline (which configuration, which variant, which trace), a panel with the startup
//! search's progress and what it proved for each property, a layout that fits a laptop screen,
//! and step numbers that match the sequence diagram (`explorer_page.css`, `explorer_page.js`,
//! served under `/.jpkisim/`). The front address is bound first ([`bind`]), so a refused address
//! or a port in use shows before any search, and the page is served at once while the search
//! runs ([`RunningExplorer::update`]).

use crate::explorer::ReadableModel;
use crate::http::{self, Reply};
pub use crate::http::{request, Answer};
use crate::shortest;
use jpkisim_model::{describe, ConfigError, JpkiAction, JpkiModel, Topology};
use jpkisim_properties::applicable;
use jpkisim_properties::catalogue::Kind;
use serde::Serialize;
use stateright::{Expectation, Model};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The path to the first state that decides a property: for an `always` property a state that
/// violates it, for a `sometimes` property one that satisfies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// Property id.
    pub property: &'static str,
    /// `always`, `sometimes` (or `eventually`).
    pub expectation: Expectation,
    /// Action indices from the initial state (the initial state's own index not included).
    pub indices: Vec<usize>,
    /// The same path, one readable step per action.
    pub steps: Vec<String>,
}

impl Discovery {
    /// Whether this is a counterexample (a safety property fails), not an example.
    pub fn is_counterexample(&self) -> bool {
        self.expectation != Expectation::Sometimes
    }

    /// The Explorer path: `0/i/j/...`.
    pub fn explorer_path(&self) -> String {
        jpkisim_model::path::explorer_path(&self.indices)
    }
}

/// The shortest path deciding each property of `model` (a [`checked_model`](jpkisim_properties::checked_model)):
/// the one place the Explorer's links come from.
///
/// It is the shared breadth-first search of [`crate::shortest`], which deduplicates states by
/// their symmetry representative but keeps the states themselves, so its action indices are the
/// unreduced model's, the ones the Explorer follows. Properties no reachable state decides (a
/// safety property that holds) have no entry.
pub fn shortest_discoveries(model: &JpkiModel) -> Result<Vec<Discovery>, ConfigError> {
    let cfg = model.cfg;
    let (targets, _) = applicable(&cfg);
    let topo = Topology::of(&cfg);
    let found = shortest::shortest_paths(cfg, &targets)?;
    Ok(found
        .into_iter()
        .flatten()
        .map(|c| Discovery {
            property: c.property.id,
            expectation: match c.property.kind {
                Kind::Always => Expectation::Always,
                Kind::Sometimes => Expectation::Sometimes,
            },
            steps: readable_steps(model, &topo, &c.indices),
            indices: c.indices,
        })
        .collect())
}

/// The readable steps of a path of action indices (stops at an index out of range).
pub fn readable_steps(model: &JpkiModel, topo: &Topology, indices: &[usize]) -> Vec<String> {
    let mut out = Vec::with_capacity(indices.len());
    let Some(mut state) = model.init_states().into_iter().next() else {
        return out;
    };
    for &ix in indices {
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        let Some(action) = actions.into_iter().nth(ix) else {
            break;
        };
        out.push(describe::action(topo, &action));
        if let Some(next) = model.next_state(&state, action) {
            state = next;
        }
    }
    out
}

/// The Explorer's action indices of a run of the model (`actions`, from the initial state): the
/// index of each step among the steps enabled before it. A step the model ignores (a delivery
/// that changes nothing) is left out: the Explorer cannot follow it, and the state is the same.
pub fn explorer_indices(model: &JpkiModel, actions: &[JpkiAction]) -> Vec<usize> {
    let mut out = Vec::with_capacity(actions.len());
    let Some(mut state) = model.init_states().into_iter().next() else {
        return out;
    };
    let mut enabled = Vec::new();
    for a in actions {
        enabled.clear();
        model.actions(&state, &mut enabled);
        let Some(ix) = enabled.iter().position(|e| same_step(e, a)) else {
            break;
        };
        if let Some(next) = model.next_state(&state, enabled[ix].clone()) {
            out.push(ix);
            state = next;
        }
    }
    out
}

/// The same step, whatever key Stateright filed a choice under.
fn same_step(a: &JpkiAction, b: &JpkiAction) -> bool {
    use stateright::actor::ActorModelAction::SelectRandom;
    match (a, b) {
        (
            SelectRandom {
                actor: x,
                random: r,
                ..
            },
            SelectRandom {
                actor: y,
                random: q,
                ..
            },
        ) => x == y && r == q,
        _ => a == b,
    }
}

/// One configuration value as a user types it: a name bare, `none` for no value or an empty set,
/// a set of names (compromised parties) comma-separated.
pub fn value_words(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "none".into(),
        serde_json::Value::Array(a) if a.is_empty() => "none".into(),
        serde_json::Value::Array(a) => a.iter().map(value_words).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A configuration in one line of `key value` pairs, as the CLI flags name them.
pub fn config_words(cfg: &jpkisim_model::Config) -> String {
    let Ok(serde_json::Value::Object(o)) = serde_json::to_value(cfg) else {
        return String::new();
    };
    let word = value_words;
    let mut parts = Vec::new();
    for (k, v) in &o {
        match (k.as_str(), v) {
            ("flaws" | "max_depth", _) => {}
            ("network", serde_json::Value::Object(n)) => {
                let mut net = vec![n.get("ordering").map(word).unwrap_or_default()];
                if n.get("lossy") == Some(&serde_json::Value::Bool(true)) {
                    net.push("lossy".into());
                }
                if n.get("duplicating") == Some(&serde_json::Value::Bool(true)) {
                    net.push("duplicating".into());
                }
                parts.push(format!("network {}", net.join(" ")));
            }
            ("budgets", serde_json::Value::Object(b)) => parts.push(format!(
                "budgets {}",
                b.iter()
                    .map(|(k, v)| format!("{} {}", k.replace('_', "-"), word(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (k, v) => parts.push(format!("{} {}", k.replace('_', "-"), word(v))),
        }
    }
    parts.join(", ")
}

/// Why the Explorer could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    /// The Explorer has no authentication; it serves loopback only.
    #[error("{0} is not a loopback address; the Explorer has no authentication and serves only 127.0.0.1 or ::1")]
    NotLoopback(SocketAddr),
    /// The front address could not be bound.
    #[error("cannot listen on {addr}: {why}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        why: String,
    },
    /// Stateright's Explorer did not come up on its private port.
    #[error("Stateright's Explorer did not start: {0}")]
    Backend(String),
}

/// What the page says besides Stateright's own view: which model this is, and (when a trace was
/// opened) the event number of each of its steps.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PageInfo {
    /// The headline: `variant skip_issued_check: …`, `default configuration`, or the trace.
    pub title: String,
    /// The configuration, one line of `key value` pairs.
    pub config: String,
    /// The opened trace, if any.
    pub trace: Option<TraceLink>,
}

/// A trace opened in the Explorer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TraceLink {
    /// What it is (`scenario-device-change.ndjson up to event 29`).
    pub label: String,
    /// Its Explorer path (`0/…`).
    pub path: String,
    /// The event number (`seq`) of each step, so the page numbers steps as `conform` and
    /// `run` do; 0 for a step no observed party logged (the page shows it as unobserved).
    pub events: Vec<u64>,
}

/// One property as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PropertyStatus {
    /// Property id.
    pub id: &'static str,
    /// `always` or `sometimes`.
    pub kind: &'static str,
    /// What the startup search found: `searching`, `violated`, `holds`, `triggered` (a
    /// reachability property witnessed), `never triggered`, or `not searched`.
    pub verdict: &'static str,
    /// Steps of the shortest path that decides it.
    pub steps: Option<usize>,
    /// That path in the Explorer's encoding (`0/…`).
    pub path: Option<String>,
    /// What the property guarantees.
    pub summary: &'static str,
}

/// The startup search, as the page and stderr show it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SearchStatus {
    /// `running`, `done` or `off`.
    pub state: &'static str,
    /// Seconds since it started (or how long it took).
    pub seconds: f64,
    /// Resident memory of the process, in MB.
    pub memory_mb: Option<f64>,
}

/// Everything the front server adds, shared with the page (`/.jpkisim/status`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    /// The page's headline and trace.
    pub page: PageInfo,
    /// The startup search.
    pub search: SearchStatus,
    /// Every applicable property.
    pub properties: Vec<PropertyStatus>,
}

impl Status {
    /// Every applicable property of `cfg`, with `verdict` (`searching` or `not searched`).
    pub fn of(cfg: &jpkisim_model::Config, page: PageInfo, verdict: &'static str) -> Status {
        let (props, _) = applicable(cfg);
        Status {
            page,
            search: SearchStatus {
                state: if verdict == "searching" {
                    "running"
                } else {
                    "off"
                },
                ..SearchStatus::default()
            },
            properties: props
                .iter()
                .map(|p| PropertyStatus {
                    id: p.id,
                    kind: match p.kind {
                        Kind::Always => "always",
                        Kind::Sometimes => "sometimes",
                    },
                    verdict,
                    steps: None,
                    path: None,
                    summary: p.summary,
                })
                .collect(),
        }
    }

    /// The startup search is over: each property with its shortest path, or proved (a safety
    /// property no reachable state violates holds; a reachability property no state witnesses
    /// was never triggered).
    pub fn searched(&mut self, discoveries: &[Discovery], seconds: f64) {
        for p in &mut self.properties {
            match discoveries.iter().find(|d| d.property == p.id) {
                Some(d) => {
                    p.verdict = if d.is_counterexample() {
                        "violated"
                    } else {
                        "triggered"
                    };
                    p.steps = Some(d.indices.len());
                    p.path = Some(d.explorer_path());
                }
                None => {
                    p.verdict = if p.kind == "always" {
                        "holds"
                    } else {
                        "never triggered"
                    };
                }
            }
        }
        self.search = SearchStatus {
            state: "done",
            seconds,
            memory_mb: memory_mb(),
        };
    }

    /// The links the front server writes into Stateright's property list.
    fn links(&self) -> BTreeMap<String, String> {
        self.properties
            .iter()
            .filter_map(|p| Some((p.id.to_string(), p.path.clone()?)))
            .collect()
    }
}

/// Resident memory of this process in MB (Linux; `None` elsewhere).
pub fn memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The front address, bound: a refused address or a port in use shows before any work.
pub struct Front {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Front {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds the front address (loopback only; port 0 picks a free port).
pub fn bind(addr: SocketAddr) -> Result<Front, ExplorerError> {
    if !addr.ip().is_loopback() {
        return Err(ExplorerError::NotLoopback(addr));
    }
    let listener = TcpListener::bind(addr).map_err(|e| ExplorerError::Bind {
        addr,
        why: e.to_string(),
    })?;
    let bound = listener.local_addr().map_err(|e| ExplorerError::Bind {
        addr,
        why: e.to_string(),
    })?;
    Ok(Front {
        listener,
        addr: bound,
    })
}

/// A running Explorer: the front address, and the status it shows.
pub struct RunningExplorer {
    /// Where the Explorer is served.
    pub addr: SocketAddr,
    /// Stateright's own Explorer on its private loopback port, answers not rewritten: lets tests
    /// compare Stateright's discoveries with the shortest paths the front server links.
    pub backend: SocketAddr,
    status: Arc<RwLock<Status>>,
    front: JoinHandle<()>,
}

impl RunningExplorer {
    /// The Explorer's start page.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The page of the state after `indices` (action indices from the initial state).
    pub fn steps_url(&self, indices: &[usize]) -> String {
        format!(
            "http://{}/#/steps/{}",
            self.addr,
            jpkisim_model::path::explorer_path(indices)
        )
    }

    /// Changes what the page shows (the startup search's progress and results).
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.write() {
            f(&mut s);
        }
    }

    /// What the page shows now.
    pub fn status(&self) -> Status {
        self.status.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        let _ = self.front.join();
    }
}

/// Starts the Explorer for `model` on the bound `front`, showing `status` (its property links,
/// the startup search, the page's headline). Returns once both servers answer; the status can
/// change afterwards ([`RunningExplorer::update`]).
pub fn start(
    front: Front,
    model: ReadableModel,
    status: Status,
) -> Result<RunningExplorer, ExplorerError> {
    let init_texts: Vec<String> = model
        .init_states()
        .iter()
        .map(|s| model.render(s))
        .collect();
    let backend = start_backend(model)?;
    let status = Arc::new(RwLock::new(status));
    let shared = Arc::clone(&status);
    let init_texts = Arc::new(init_texts);
    let Front { listener, addr } = front;
    let front = std::thread::spawn(move || {
        // One thread per connection, one request per connection (see `crate::http` for why).
        for stream in listener.incoming().flatten() {
            let status = Arc::clone(&shared);
            let init_texts = Arc::clone(&init_texts);
            std::thread::spawn(move || serve_connection(stream, backend, &status, &init_texts));
        }
    });
    Ok(RunningExplorer {
        addr,
        backend,
        status,
        front,
    })
}

/// Stateright's Explorer on a free loopback port. Its `serve()` binds an address it does not
/// report and never returns, so the port is found first and the server polled until it answers.
fn start_backend(model: ReadableModel) -> Result<SocketAddr, ExplorerError> {
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| ExplorerError::Backend(format!("no free loopback port: {e}")))?;
    let handle = std::thread::spawn(move || {
        model.checker().serve(addr);
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = request(addr, "GET", "/.status", None) {
            if r.status == 200 {
                return Ok(addr);
            }
        }
        if handle.is_finished() {
            return Err(ExplorerError::Backend(format!(
                "it stopped before answering on {addr} (port taken meanwhile?)"
            )));
        }
        if Instant::now() > deadline {
            return Err(ExplorerError::Backend(format!(
                "no answer on {addr} within 20 s"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The page's additions: its style, its script (status panel, step numbers), read from files
/// beside this one.
const PAGE_CSS: &str = include_str!("explorer_page.css");
const PAGE_JS: &str = include_str!("explorer_page.js");

/// Reads one request from `stream`, answers it and closes the connection.
fn serve_connection(
    mut stream: TcpStream,
    backend: SocketAddr,
    status: &RwLock<Status>,
    init_texts: &[String],
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let reply = match http::read_request(&mut stream) {
        Ok(rq) => answer(&rq, backend, status, init_texts),
        Err(e) => Reply::text(e.status(), e.to_string()),
    };
    let _ = http::write_reply(&mut stream, &reply);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// The answer to one request: jpkisim's own files and status, or Stateright's Explorer's
/// answer with the property links, the model's name and the initial states' texts rewritten.
fn answer(
    rq: &http::Request,
    backend: SocketAddr,
    status: &RwLock<Status>,
    init_texts: &[String],
) -> Reply {
    let path = rq.path();
    if rq.method == "GET" {
        match path {
            "/.jpkisim/status" => {
                let body = status
                    .read()
                    .ok()
                    .and_then(|s| serde_json::to_vec(&*s).ok())
                    .unwrap_or_default();
                return Reply::ok(body, "application/json");
            }
            "/.jpkisim/page.css" => return Reply::ok(PAGE_CSS, "text/css"),
            "/.jpkisim/page.js" => return Reply::ok(PAGE_JS, "text/javascript"),
            _ => {}
        }
    }
    let answer = match request(
        backend,
        &rq.method,
        &rq.target,
        (!rq.body.is_empty()).then_some(&rq.body[..]),
    ) {
        Ok(a) => a,
        Err(e) => return Reply::text(502, format!("Explorer backend: {e}")),
    };
    let (links, title) = status
        .read()
        .map(|s| (s.links(), s.page.title.clone()))
        .unwrap_or_default();
    let body = if answer.status == 200 && (path == "/.status" || path.starts_with("/.states")) {
        let body = relink(&answer.body, &links).unwrap_or(answer.body);
        let body = if path == "/.status" {
            name_model(&body, &title).unwrap_or(body)
        } else {
            body
        };
        if path.trim_end_matches('/') == "/.states" {
            describe_init(&body, init_texts).unwrap_or(body)
        } else {
            body
        }
    } else if answer.status == 200 && path == "/" {
        page(&answer.body)
    } else {
        answer.body
    };
    Reply {
        status: answer.status,
        content_type: answer.content_type,
        body,
    }
}

/// Stateright's start page with jpkisim's additions: the page's own style and script, a title,
/// and a panel (filled by the script from `/.jpkisim/status`) for the model, the startup search
/// and the properties in place of Stateright's list (whose verdicts only Stateright's own
/// checker, after "Run to completion", can give).
fn page(html: &[u8]) -> Vec<u8> {
    let html = String::from_utf8_lossy(html)
        .replace(
            "<title>Stateright Explorer</title>",
            "<title>jpkisim Explorer</title>",
        )
        .replace(
            "</head>",
            "    <link rel=\"stylesheet\" href=\"/.jpkisim/page.css\" />\n</head>",
        )
        .replace(
            "<h1><a href=\"/\">Stateright Explorer</a></h1>",
            "<h1><a href=\"/\">jpkisim Explorer</a></h1><span id=\"jpk-title\" class=\"jpk-title\"></span>",
        )
        .replace(
            "<h3>Global</h3>",
            "<div id=\"jpk-panel\" class=\"jpk-panel\"></div>\n            <h3 class=\"jpk-stateright\">Stateright's own checker</h3>",
        )
        .replace(
            "<script src=\"app.js\"></script>",
            "<script src=\"app.js\"></script>\n    <script src=\"/.jpkisim/page.js\"></script>",
        );
    html.into_bytes()
}

/// Names the model in a `/.status` answer as the page does (Stateright shows its Rust type name,
/// `ReadableModel`).
fn name_model(body: &[u8], title: &str) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if !title.is_empty() {
        *v.get_mut("model")? = serde_json::Value::String(title.to_string());
    }
    serde_json::to_vec(&v).ok()
}

/// Rewrites the discovery path of every listed property in a `/.status` object or a
/// `/.states` array; `None` if the body is not JSON of either shape.
fn relink(body: &[u8], links: &BTreeMap<String, String>) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let patch = |props: &mut serde_json::Value| {
        if let Some(list) = props.as_array_mut() {
            for p in list {
                let name = p.get(1).and_then(|n| n.as_str()).map(str::to_owned);
                if let (Some(name), Some(slot)) = (name, p.get_mut(2)) {
                    if let Some(path) = links.get(&name) {
                        *slot = serde_json::Value::String(path.clone());
                    }
                }
            }
        }
    };
    match &mut v {
        serde_json::Value::Object(o) => {
            if let Some(p) = o.get_mut("properties") {
                patch(p);
            }
        }
        serde_json::Value::Array(states) => {
            for s in states {
                if let Some(p) = s.get_mut("properties") {
                    patch(p);
                }
            }
        }
        _ => return None,
    }
    serde_json::to_vec(&v).ok()
}

/// Gives each initial state in a `/.states` answer its readable text as the step text the
/// Explorer shows by default (it has none for initial states, so the Explorer would show the raw
/// `{:#?}` dump, which stays available under "Complete State?").
fn describe_init(body: &[u8], texts: &[String]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    for s in v.as_array_mut()? {
        let ix = s.get("actionIndex").and_then(serde_json::Value::as_u64);
        let text = ix.and_then(|i| texts.get(usize::try_from(i).ok()?));
        if let (Some(obj), Some(text)) = (s.as_object_mut(), text) {
            obj.entry("outcome")
                .or_insert_with(|| serde_json::Value::String(format!("Initial state\n\n{text}")));
        }
    }
    serde_json::to_vec(&v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_line_names_compromised_parties_as_typed() {
        use jpkisim_model::config::{Compromised, Role};
        let mut cfg = jpkisim_model::Config::default();
        assert!(config_words(&cfg).contains("compromised none"));
        cfg.compromised = Compromised::NONE.with(Role::SpTsm).with(Role::Rp);
        let line = config_words(&cfg);
        assert!(line.contains("compromised sp-tsm,rp"), "{line}");
        assert!(!line.contains('['), "{line}");
    }

    #[test]
    fn relink_replaces_listed_discoveries_in_status_and_states() {
        let links: BTreeMap<String, String> = [("p".to_string(), "0/1".to_string())].into();
        let status =
            br#"{"done":false,"properties":[["Always","p","0/9/9/9"],["Always","q",null]]}"#;
        let out: serde_json::Value =
            serde_json::from_slice(&relink(status, &links).expect("status relinks")).expect("json");
        assert_eq!(out["properties"][0][2], "0/1");
        assert!(out["properties"][1][2].is_null());
        let states = br#"[{"action":"x","properties":[["Always","p",null]]}]"#;
        let out: serde_json::Value =
            serde_json::from_slice(&relink(states, &links).expect("states relink")).expect("json");
        assert_eq!(out[0]["properties"][0][2], "0/1");
        assert!(relink(b"not json", &links).is_none());
    }

    #[test]
    fn initial_states_get_their_readable_text() {
        let body = br#"[{"state":"ActorModelState {..}","actionIndex":0}]"#;
        let out: serde_json::Value = serde_json::from_slice(
            &describe_init(body, &["  CA: epoch 0".to_string()]).expect("rewritten"),
        )
        .expect("json");
        assert_eq!(out[0]["outcome"], "Initial state\n\n  CA: epoch 0");
        assert_eq!(out[0]["state"], "ActorModelState {..}");
    }
}

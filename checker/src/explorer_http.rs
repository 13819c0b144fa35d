//! Serves Stateright's web Explorer for a [`ReadableModel`], linking each property to its
//! shortest counterexample.
//!
//! Stateright 0.31's Explorer links a property to the path its own on-demand checker happened to
//! discover last, which is neither shortest nor available before "Run to completion"
//! (docs/sources/stateright-notes.md, pitfalls 1 and 3), and its `serve()` blocks forever on an
//! address it does not report. So the Explorer runs on a private loopback port, and a small
//! front server on the requested address passes every request through, rewriting only the
//! property list in `/.status` and `/.states/...` answers so that each property with a known
//! shortest path links to it (`#/steps/<path>`). The Explorer's pages, its JSON and its own
//! checking are otherwise untouched.

use crate::explorer::ReadableModel;
use crate::shortest;
use jpkisim_model::{describe, ConfigError, JpkiModel, Topology};
use jpkisim_properties::applicable;
use jpkisim_properties::catalogue::Kind;
use stateright::{Expectation, Model};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
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

/// A running Explorer: the front address and the paths it links.
pub struct RunningExplorer {
    /// Where the Explorer is served.
    pub addr: SocketAddr,
    /// Stateright's own Explorer on its private loopback port, answers not rewritten: lets tests
    /// compare Stateright's discoveries with the shortest paths the front server links.
    pub backend: SocketAddr,
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

    /// Serves until the process ends.
    pub fn wait(self) {
        let _ = self.front.join();
    }
}

/// Starts the Explorer for `model` on `bind` (loopback only; port 0 picks a free port), with
/// each property in `discoveries` linked to its path. Returns once both servers answer.
pub fn start(
    model: ReadableModel,
    bind: SocketAddr,
    discoveries: &[Discovery],
) -> Result<RunningExplorer, ExplorerError> {
    if !bind.ip().is_loopback() {
        return Err(ExplorerError::NotLoopback(bind));
    }
    let rewrites = Arc::new(Rewrites {
        links: discoveries
            .iter()
            .map(|d| (d.property.to_string(), d.explorer_path()))
            .collect(),
        init_texts: model
            .init_states()
            .iter()
            .map(|s| model.render(s))
            .collect(),
    });
    let backend = start_backend(model)?;
    let front = tiny_http::Server::http(bind).map_err(|e| ExplorerError::Bind {
        addr: bind,
        why: e.to_string(),
    })?;
    let addr = front
        .server_addr()
        .to_ip()
        .ok_or_else(|| ExplorerError::Bind {
            addr: bind,
            why: "bound to something that is not an IP address".into(),
        })?;
    let front = std::thread::spawn(move || {
        for rq in front.incoming_requests() {
            let rewrites = Arc::clone(&rewrites);
            std::thread::spawn(move || pass_through(rq, backend, &rewrites));
        }
    });
    Ok(RunningExplorer {
        addr,
        backend,
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

/// What the front server changes in the Explorer's answers.
struct Rewrites {
    /// Property id to Explorer path.
    links: BTreeMap<String, String>,
    /// The readable text of each initial state (Stateright shows no step text for them).
    init_texts: Vec<String>,
}

fn pass_through(mut rq: tiny_http::Request, backend: SocketAddr, rewrites: &Rewrites) {
    let method = rq.method().as_str().to_owned();
    let url = rq.url().to_owned();
    let mut body = Vec::new();
    if rq.as_reader().read_to_end(&mut body).is_err() {
        let _ = rq.respond(tiny_http::Response::empty(400));
        return;
    }
    let answer = match request(
        backend,
        &method,
        &url,
        (!body.is_empty()).then_some(&body[..]),
    ) {
        Ok(a) => a,
        Err(e) => {
            let _ = rq.respond(
                tiny_http::Response::from_string(format!("Explorer backend: {e}"))
                    .with_status_code(502),
            );
            return;
        }
    };
    let path = url.split('?').next().unwrap_or_default();
    let body = if answer.status == 200 && (path == "/.status" || path.starts_with("/.states")) {
        let body = relink(&answer.body, &rewrites.links).unwrap_or(answer.body);
        if path.trim_end_matches('/') == "/.states" {
            describe_init(&body, &rewrites.init_texts).unwrap_or(body)
        } else {
            body
        }
    } else {
        answer.body
    };
    let mut response = tiny_http::Response::from_data(body).with_status_code(answer.status);
    if let Some(ct) = answer
        .content_type
        .and_then(|ct| tiny_http::Header::from_bytes("Content-Type", ct).ok())
    {
        response = response.with_header(ct);
    }
    let _ = rq.respond(response);
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

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, if the server sent one.
    pub content_type: Option<String>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// One HTTP/1.1 request to a loopback server (`Connection: close`), for the front server and
/// for tests that drive the Explorer or a WebDriver; a JSON body is sent as `application/json`.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let body = body.unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no HTTP status line"))?;
    let (mut length, mut chunked, mut content_type) = (None, false, None);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => length = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "content-type" => content_type = Some(v.to_owned()),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else if method != "HEAD" {
        reader.read_to_end(&mut body)?;
    }
    Ok(Answer {
        status,
        content_type,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

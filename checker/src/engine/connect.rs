//! Forming a cluster of processes: the hostfile, the TCP connections between every pair of
//! processes, and a handshake that refuses to start a search the processes do not agree on.
//!
//! Timely dataflow can connect processes itself, but it retries an unreachable host forever and
//! prints its progress on stdout (where `jpkisim check --json` writes its report). So the
//! connections are made here, with a bounded wait, and handed to timely once every pair has
//! shaken hands. Process `i` listens on the port of its hostfile line (on every interface) and
//! connects to every process with a smaller index; each connection starts with a hello that
//! names the sender's index, the cluster's size and workers, the jpkisim version and a digest of
//! what is being checked (configuration, properties, symmetry). A second process claiming an
//! index, a different hostfile, version or configuration ends every process involved with an
//! error that says which; a process that cannot be reached ends them after the timeout.
//!
//! It does not decide what is exchanged after the handshake: that is timely's wire protocol.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a cluster could not be formed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The hostfile could not be read.
    #[error("cannot read the hostfile {path}: {source}")]
    HostfileRead {
        /// The hostfile.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A hostfile line is not `host:port`.
    #[error("{path}:{line}: expected `host:port`, found \"{text}\": {why}")]
    HostfileLine {
        /// The hostfile.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
        /// What is wrong with it.
        why: String,
    },
    /// The hostfile names no process, or the same address twice.
    #[error("{path}: {why}")]
    Hostfile {
        /// The hostfile.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// `--process` is not a line of the hostfile.
    #[error("--process {process} is not a line of the hostfile ({processes} processes, numbered from 0)")]
    NoSuchProcess {
        /// The index given.
        process: usize,
        /// Processes in the hostfile.
        processes: usize,
    },
    /// This process could not listen on its address.
    #[error("process {process} cannot listen on port {port} (its hostfile line {address}): {source}; is another process already started with --process {process}?")]
    Listen {
        /// This process.
        process: usize,
        /// Its hostfile address.
        address: String,
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// A process with a smaller index could not be reached in time.
    #[error(
        "process {process} could not reach process {peer} at {address} within {waited:?}: {last}"
    )]
    Unreachable {
        /// This process.
        process: usize,
        /// The peer.
        peer: usize,
        /// Its address.
        address: String,
        /// How long this process tried.
        waited: Duration,
        /// The last error.
        last: String,
    },
    /// Processes with larger indices did not connect in time.
    #[error("process {process}: processes {missing:?} did not connect within {waited:?} (are they started, with this hostfile?)")]
    Missing {
        /// This process.
        process: usize,
        /// The processes that never connected.
        missing: Vec<usize>,
        /// How long this process waited.
        waited: Duration,
    },
    /// Two processes were started with the same `--process` index.
    #[error("process {process}: two processes were started with --process {duplicate} (from {first} and {second}); each index must be used once")]
    DuplicateIndex {
        /// This process.
        process: usize,
        /// The index claimed twice.
        duplicate: usize,
        /// Where the first came from.
        first: String,
        /// Where the second came from.
        second: String,
    },
    /// A peer refused this process (it saw a duplicate index or a mismatch first).
    #[error("process {process}: process {peer} refused the connection: {why}")]
    Refused {
        /// This process.
        process: usize,
        /// The peer.
        peer: usize,
        /// What it said.
        why: String,
    },
    /// A peer was started differently.
    #[error("process {process} and process {peer} disagree: {what}")]
    Mismatch {
        /// This process.
        process: usize,
        /// The peer.
        peer: usize,
        /// What differs.
        what: String,
    },
    /// A connection failed during the handshake.
    #[error("process {process}: the connection with {address} failed during the handshake: {why}")]
    Handshake {
        /// This process.
        process: usize,
        /// The peer's address.
        address: String,
        /// Why.
        why: String,
    },
    /// Timely could not start on the connections.
    #[error("the dataflow could not start: {0}")]
    Timely(String),
}

/// Reads a hostfile: one `host:port` per line, in process order; blank lines and `#` comments
/// are ignored.
pub fn read_hostfile(path: &Path) -> Result<Vec<String>, ClusterError> {
    let text = std::fs::read_to_string(path).map_err(|source| ClusterError::HostfileRead {
        path: path.to_path_buf(),
        source,
    })?;
    parse_hostfile(path, &text)
}

/// Parses a hostfile's text (see [`read_hostfile`]).
pub fn parse_hostfile(path: &Path, text: &str) -> Result<Vec<String>, ClusterError> {
    let mut hosts: Vec<String> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: &str| ClusterError::HostfileLine {
            path: path.to_path_buf(),
            line: n + 1,
            text: raw.to_string(),
            why: why.to_string(),
        };
        let Some((host, port)) = line.rsplit_once(':') else {
            return Err(bad("no `:port`"));
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad("no host name"));
        }
        match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err(bad("the port is not a number from 1 to 65535")),
            Ok(_) => {}
        }
        if hosts.iter().any(|h| h == line) {
            return Err(bad(
                "the same address is on an earlier line; each process needs its own",
            ));
        }
        hosts.push(line.to_string());
    }
    if hosts.is_empty() {
        return Err(ClusterError::Hostfile {
            path: path.to_path_buf(),
            why: "names no process (one `host:port` per line)".into(),
        });
    }
    Ok(hosts)
}

/// What every process of a cluster must agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    /// Worker threads per process.
    pub workers: usize,
    /// The jpkisim version and the engine's wire revision.
    pub version: String,
    /// What is checked: the configuration, properties and symmetry, as text (JSON).
    pub search: String,
}

const MAGIC: &[u8; 8] = b"JPKISIM\x01";
const REFUSE: u8 = 1;
const ACCEPT: u8 = 0;

/// A hello, as sent on the wire.
struct Hello {
    process: usize,
    processes: usize,
    agreement: Agreement,
}

fn write_frame(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    stream.write_all(&(bytes.len() as u32).to_be_bytes())?;
    stream.write_all(bytes)
}

fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > 1 << 20 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a jpkisim hello (frame too long)",
        ));
    }
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf)?;
    Ok(buf)
}

impl Hello {
    fn send(&self, stream: &mut TcpStream) -> std::io::Result<()> {
        stream.write_all(MAGIC)?;
        let text = serde_json::json!({
            "process": self.process,
            "processes": self.processes,
            "workers": self.agreement.workers,
            "version": self.agreement.version,
            "search": self.agreement.search,
        })
        .to_string();
        write_frame(stream, text.as_bytes())
    }

    fn receive(stream: &mut TcpStream) -> std::io::Result<Hello> {
        let mut magic = [0u8; 8];
        stream.read_exact(&mut magic)?;
        let invalid =
            |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
        if &magic != MAGIC {
            return Err(invalid("the peer is not a jpkisim check process"));
        }
        let frame = read_frame(stream)?;
        let v: serde_json::Value =
            serde_json::from_slice(&frame).map_err(|_| invalid("unreadable hello"))?;
        let num = |k: &str| {
            v[k].as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| invalid("unreadable hello"))
        };
        let text = |k: &str| {
            v[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| invalid("unreadable hello"))
        };
        Ok(Hello {
            process: num("process")?,
            processes: num("processes")?,
            agreement: Agreement {
                workers: num("workers")?,
                version: text("version")?,
                search: text("search")?,
            },
        })
    }
}

/// Sends the verdict on a hello: accepted, or refused with a reason.
fn answer(stream: &mut TcpStream, refusal: Option<&str>) -> std::io::Result<()> {
    match refusal {
        None => stream.write_all(&[ACCEPT]),
        Some(why) => {
            stream.write_all(&[REFUSE])?;
            write_frame(stream, why.as_bytes())
        }
    }
}

fn read_answer(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut verdict = [0u8; 1];
    stream.read_exact(&mut verdict)?;
    if verdict[0] == ACCEPT {
        return Ok(None);
    }
    let why = read_frame(stream)?;
    Ok(Some(String::from_utf8_lossy(&why).into_owned()))
}

/// Names the fields in which two searches (JSON texts) differ, with the value at each process.
fn differences(ours: &str, theirs: &str, here: &str, there: &str) -> String {
    let (Ok(a), Ok(b)) = (
        serde_json::from_str::<serde_json::Value>(ours),
        serde_json::from_str::<serde_json::Value>(theirs),
    ) else {
        return "what they check".into();
    };
    let mut out = Vec::new();
    diff_values("", &a, &b, (here, there), &mut out);
    if out.is_empty() {
        "what they check".into()
    } else {
        out.join(", ")
    }
}

fn diff_values(
    at: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    names: (&str, &str),
    out: &mut Vec<String>,
) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                diff_values(
                    &path,
                    x.get(k).unwrap_or(&serde_json::Value::Null),
                    y.get(k).unwrap_or(&serde_json::Value::Null),
                    names,
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{at} ({a} at {}, {b} at {})", names.0, names.1)),
        _ => {}
    }
}

/// Checks a peer's hello against ours; what differs, naming each value's process.
fn mismatch(ours: &Hello, theirs: &Hello) -> Option<String> {
    let (here, there) = (
        format!("process {}", ours.process),
        format!("process {}", theirs.process),
    );
    if theirs.processes != ours.processes {
        return Some(format!(
            "the hostfiles differ ({} processes at {here}, {} at {there})",
            ours.processes, theirs.processes
        ));
    }
    if theirs.agreement.version != ours.agreement.version {
        return Some(format!(
            "different jpkisim versions ({} at {here}, {} at {there})",
            ours.agreement.version, theirs.agreement.version
        ));
    }
    if theirs.agreement.workers != ours.agreement.workers {
        return Some(format!(
            "different --workers ({} at {here}, {} at {there})",
            ours.agreement.workers, theirs.agreement.workers
        ));
    }
    if theirs.agreement.search != ours.agreement.search {
        return Some(format!(
            "they were started with different configurations: {}",
            differences(
                &ours.agreement.search,
                &theirs.agreement.search,
                &here,
                &there
            )
        ));
    }
    None
}

fn resolve(address: &str) -> std::io::Result<Vec<SocketAddr>> {
    Ok(address.to_socket_addrs()?.collect())
}

/// Connects this process (`process`, of `addresses`) to every other, within `timeout`; returns
/// one stream per process (`None` at this process's own index), ready for timely.
pub fn connect(
    addresses: &[String],
    process: usize,
    agreement: &Agreement,
    timeout: Duration,
) -> Result<Vec<Option<TcpStream>>, ClusterError> {
    let processes = addresses.len();
    if process >= processes {
        return Err(ClusterError::NoSuchProcess { process, processes });
    }
    let started = Instant::now();
    let deadline = started + timeout;
    let ours = Hello {
        process,
        processes,
        agreement: agreement.clone(),
    };
    let own = &addresses[process];
    let port = own
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(0);
    let listener = TcpListener::bind(("0.0.0.0", port)).map_err(|source| ClusterError::Listen {
        process,
        address: own.clone(),
        port,
        source,
    })?;
    let mut streams: Vec<Option<TcpStream>> = (0..processes).map(|_| None).collect();
    let handshake_error = |address: &str, e: std::io::Error| ClusterError::Handshake {
        process,
        address: address.to_string(),
        why: e.to_string(),
    };
    // Processes with smaller indices listen for us: connect to each, until the deadline.
    for (peer, address) in addresses.iter().enumerate().take(process) {
        let mut last = String::from("not tried");
        let stream = loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(ClusterError::Unreachable {
                    process,
                    peer,
                    address: address.clone(),
                    waited: timeout,
                    last,
                });
            }
            let attempt = resolve(address).and_then(|addrs| {
                let mut err = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
                for a in addrs {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match TcpStream::connect_timeout(
                        &a,
                        left.min(Duration::from_secs(2))
                            .max(Duration::from_millis(10)),
                    ) {
                        Ok(s) => return Ok(s),
                        Err(e) => err = e,
                    }
                }
                Err(err)
            });
            match attempt {
                Ok(s) => break s,
                Err(e) => {
                    last = e.to_string();
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        };
        let mut stream = stream;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100));
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| handshake_error(address, e))?;
        ours.send(&mut stream)
            .map_err(|e| handshake_error(address, e))?;
        let theirs = Hello::receive(&mut stream).map_err(|e| {
            if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
                handshake_error(
                    address,
                    std::io::Error::new(
                        e.kind(),
                        format!("process {peer} accepted the connection but did not answer in time (is another process already started with --process {process}?)"),
                    ),
                )
            } else {
                handshake_error(address, e)
            }
        })?;
        if let Some(why) = read_answer(&mut stream).map_err(|e| handshake_error(address, e))? {
            return Err(ClusterError::Refused { process, peer, why });
        }
        if theirs.process != peer {
            return Err(ClusterError::Mismatch {
                process,
                peer,
                what: format!(
                    "the process at {address} says it is process {}",
                    theirs.process
                ),
            });
        }
        if let Some(what) = mismatch(&ours, &theirs) {
            return Err(ClusterError::Mismatch {
                process,
                peer,
                what,
            });
        }
        streams[peer] = Some(stream);
    }
    // Processes with larger indices connect to us.
    listener
        .set_nonblocking(true)
        .map_err(|source| ClusterError::Listen {
            process,
            address: own.clone(),
            port,
            source,
        })?;
    let mut from: Vec<Option<SocketAddr>> = vec![None; processes];
    while streams
        .iter()
        .enumerate()
        .skip(process + 1)
        .any(|(_, s)| s.is_none())
    {
        if Instant::now() >= deadline {
            let missing = (process + 1..processes)
                .filter(|&p| streams[p].is_none())
                .collect();
            return Err(ClusterError::Missing {
                process,
                missing,
                waited: timeout,
            });
        }
        let (mut stream, addr) = match listener.accept() {
            Ok(pair) => pair,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => return Err(handshake_error(own, e)),
        };
        let peer_addr = addr.to_string();
        let setup = stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_read_timeout(Some(Duration::from_secs(10))));
        if let Err(e) = setup {
            return Err(handshake_error(&peer_addr, e));
        }
        let theirs = match Hello::receive(&mut stream) {
            Ok(h) => h,
            // Not one of ours (a port scan, a health check): ignore it.
            Err(_) => continue,
        };
        let peer = theirs.process;
        let refusal = if peer <= process || peer >= processes {
            Some(format!(
                "process {process} expects connections from processes {}..{} only",
                process + 1,
                processes
            ))
        } else if let Some(first) = from[peer] {
            let refusal =
                format!("another process was started with --process {peer} (from {first})");
            let _ = ours.send(&mut stream);
            let _ = answer(&mut stream, Some(&refusal));
            // Refuse the first one too: which of the two is meant cannot be told.
            if let Some(s) = streams[peer].take() {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
            return Err(ClusterError::DuplicateIndex {
                process,
                duplicate: peer,
                first: first.to_string(),
                second: peer_addr,
            });
        } else {
            mismatch(&ours, &theirs)
        };
        ours.send(&mut stream)
            .map_err(|e| handshake_error(&peer_addr, e))?;
        answer(&mut stream, refusal.as_deref()).map_err(|e| handshake_error(&peer_addr, e))?;
        if let Some(what) = refusal {
            return Err(ClusterError::Mismatch {
                process,
                peer,
                what,
            });
        }
        from[peer] = Some(addr);
        streams[peer] = Some(stream);
    }
    for s in streams.iter().flatten() {
        let reset = s.set_read_timeout(None).and_then(|()| s.set_nodelay(true));
        if let Err(e) = reset {
            return Err(handshake_error("a peer", e));
        }
    }
    Ok(streams)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostfile_lines_are_checked_and_named() {
        let p = Path::new("hosts");
        let ok = parse_hostfile(
            p,
            "# cluster\n127.0.0.1:2101\n\nnode-1.jpkisim:2102 # second\n",
        );
        assert_eq!(
            ok.expect("parses"),
            vec![
                "127.0.0.1:2101".to_string(),
                "node-1.jpkisim:2102".to_string()
            ]
        );
        for (text, line) in [
            ("127.0.0.1:2101\nlocalhost\n", 2),
            ("127.0.0.1:99999\n", 1),
            ("127.0.0.1:2101\n127.0.0.1:2101\n", 2),
            (":2101\n", 1),
        ] {
            match parse_hostfile(p, text) {
                Err(ClusterError::HostfileLine { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_hostfile(p, "# nothing\n"),
            Err(ClusterError::Hostfile { .. })
        ));
    }

    #[test]
    fn differences_name_the_fields() {
        let d = differences(
            r#"{"a":1,"b":{"c":2}}"#,
            r#"{"a":1,"b":{"c":3}}"#,
            "p0",
            "p1",
        );
        assert_eq!(d, "b.c (2 at p0, 3 at p1)");
    }
}

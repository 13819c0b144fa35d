//! The little HTTP/1.1 the Explorer speaks on loopback: reading one request and writing one
//! answer on a connection the Explorer's front server owns, and sending one request as a client
//! (the front server to Stateright's Explorer, tests to the Explorer or to a WebDriver).
//!
//! Why not a server crate for the front: `tiny_http` 0.12 (what Stateright serves its own
//! Explorer with) hands each connection to a thread pool that can strand a new connection in its
//! queue while every pool thread waits on a browser's idle keep-alive connection — when several
//! connections arrive before a woken thread takes its task, the pool counts one idle thread for
//! all of them — and it will not send `Connection: close`. A browser opening the Explorer opens
//! five or six connections at once, so about one page load in three waited minutes for a request
//! nobody read (found with `ss`: 507 bytes unread in the front socket's receive queue, and `gdb`:
//! no thread reading it). The front server therefore gives every connection its own thread and
//! answers exactly one request on it, with `Connection: close`; requests are parsed by
//! `httparse`. This module is not a general web server: no keep-alive, no chunked request bodies,
//! loopback clients only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The largest request head the front server reads (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// The largest request body it reads (the Explorer only posts empty bodies).
const MAX_BODY: usize = 1024 * 1024;
/// Headers one request may carry.
const MAX_HEADERS: usize = 64;

/// One request read from a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target as sent (`/.states/0/1?x`).
    pub target: String,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Request {
    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

/// Why a request could not be read; each maps to the status code the client is told.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The connection failed or closed before a whole request arrived.
    #[error("reading the request: {0}")]
    Io(#[from] std::io::Error),
    /// Not an HTTP/1.x request.
    #[error("not an HTTP/1.x request: {0}")]
    Malformed(httparse::Error),
    /// The request line and headers exceed [`MAX_HEAD`] bytes.
    #[error("request head longer than {MAX_HEAD} bytes")]
    HeadTooLarge,
    /// A `Content-Length` that is not a number, or a body over [`MAX_BODY`] bytes.
    #[error("unacceptable request body length {0:?}")]
    BadLength(String),
    /// A chunked request body (the Explorer never sends one).
    #[error("chunked request bodies are not accepted")]
    Chunked,
}

impl RequestError {
    /// The status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            RequestError::HeadTooLarge => 431,
            RequestError::BadLength(_) => 413,
            RequestError::Chunked => 411,
            RequestError::Io(_) | RequestError::Malformed(_) => 400,
        }
    }
}

/// Reads one request from `stream`.
pub fn read_request(stream: &mut impl Read) -> Result<Request, RequestError> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buf).map_err(RequestError::Malformed)? {
            httparse::Status::Complete(head_len) => {
                let method = parsed.method.unwrap_or_default().to_owned();
                let target = parsed.path.unwrap_or_default().to_owned();
                let mut length = 0usize;
                for h in parsed.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        let text = String::from_utf8_lossy(h.value).trim().to_owned();
                        length = text
                            .parse()
                            .ok()
                            .filter(|n| *n <= MAX_BODY)
                            .ok_or(RequestError::BadLength(text))?;
                    } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                        return Err(RequestError::Chunked);
                    }
                }
                let mut body = buf.split_off(head_len);
                body.truncate(length);
                if body.len() < length {
                    let have = body.len();
                    body.resize(length, 0);
                    stream.read_exact(&mut body[have..])?;
                }
                return Ok(Request {
                    method,
                    target,
                    body,
                });
            }
            httparse::Status::Partial => {
                if buf.len() >= MAX_HEAD {
                    return Err(RequestError::HeadTooLarge);
                }
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(RequestError::Io(std::io::ErrorKind::UnexpectedEof.into()));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

/// One answer: status, content type and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A `200 OK` with a body of `content_type`.
    pub fn ok(body: impl Into<Vec<u8>>, content_type: &str) -> Reply {
        Reply {
            status: 200,
            content_type: Some(content_type.to_owned()),
            body: body.into(),
        }
    }

    /// A plain-text answer with `status`.
    pub fn text(status: u16, text: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: Some("text/plain; charset=utf-8".into()),
            body: text.into().into_bytes(),
        }
    }
}

/// The reason phrase of the status codes the Explorer sends.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        _ => "",
    }
}

/// Writes `reply` and says the connection closes after it (HTTP/1.1 `Connection: close`).
pub fn write_reply(stream: &mut impl Write, reply: &Reply) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    if let Some(ct) = &reply.content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&reply.body)?;
    stream.flush()
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
    fn reads_a_request_with_its_body_across_short_reads() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(out.len()).min(3);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let raw =
            b"POST /.runtocompletion?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody";
        let rq = read_request(&mut Trickle(raw)).expect("a whole request");
        assert_eq!(rq.method, "POST");
        assert_eq!(rq.target, "/.runtocompletion?x=1");
        assert_eq!(rq.path(), "/.runtocompletion");
        assert_eq!(rq.body, b"body");
    }

    #[test]
    fn bad_requests_are_refused_with_the_right_status() {
        let status = |raw: &[u8]| {
            read_request(&mut &raw[..])
                .err()
                .map(|e| e.status())
                .expect("refused")
        };
        assert_eq!(status(b"GET / HTTP/1.1\r\nHo st: a\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\n"), 400, "cut short");
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n"),
            413
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            411
        );
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD + 10));
        assert_eq!(status(long.as_bytes()), 431);
    }

    #[test]
    fn a_reply_says_the_connection_closes() {
        let mut out = Vec::new();
        write_reply(&mut out, &Reply::ok("hi", "text/plain")).expect("written");
        let text = String::from_utf8(out).expect("ascii");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
        assert!(text.contains("\r\nContent-Length: 2\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nhi"), "{text}");
    }
}

//! A loopback upstream for goxy: serves a GOPROXY fixture tree over HTTP and
//! can be told to misbehave, globally or for one path.
//!
//! Plain std threads, one connection per request (`Connection: close`), so
//! stopping it really closes the port and no pooled connection survives.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a request is answered instead of (or on top of) serving the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `404 Not Found`.
    NotFound,
    /// `410 Gone`.
    Gone,
    /// `403 Forbidden`.
    Forbidden,
    /// `500 Internal Server Error`.
    ServerError,
    /// Read the request, never answer; the connection is closed only when the
    /// upstream stops (or after ten minutes).
    Hang,
    /// Answer normally after this delay (lets concurrent requests pile up).
    Delay(Duration),
    /// Announce the full Content-Length, send the first half, close.
    TruncateBody,
    /// `200` with an honest Content-Length but only the first half of the file.
    ShortBody,
    /// `200` with the bytes of another fixture file (path relative to the tree,
    /// with a leading `/`), e.g. another version's zip.
    ServeFile(String),
    /// `200` with exactly these bytes.
    Body(Vec<u8>),
    /// Close the connection without sending anything.
    DropConnection,
    /// A slow-loris upstream: `200` with the file's honest Content-Length, then
    /// one byte every interval (never idle long enough for an idle timeout).
    /// Stops when the file is sent, the client goes away or the upstream stops.
    Drip(Duration),
}

#[derive(Default)]
struct Faults {
    global: Option<Fault>,
    by_path: HashMap<String, Fault>,
}

struct Shared {
    root: PathBuf,
    stopped: AtomicBool,
    faults: Mutex<Faults>,
    hits: Mutex<HashMap<String, usize>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running fixture upstream on `127.0.0.1:<port>`. Stops on drop.
pub struct Upstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Upstream {
    /// Serves the tree under `root` (a GOPROXY directory) on a fresh loopback port.
    pub fn start(root: &Path) -> io::Result<Upstream> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            stopped: AtomicBool::new(false),
            faults: Mutex::new(Faults::default()),
            hits: Mutex::new(HashMap::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = std::thread::Builder::new()
            .name(format!("upstream-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(Upstream {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Misbehave for requests whose percent-decoded path is exactly `path`
    /// (e.g. `/example.test/!upper!case/!mod/@v/list`).
    pub fn set_fault(&self, path: &str, fault: Fault) {
        lock(&self.shared.faults)
            .by_path
            .insert(path.to_string(), fault);
    }

    /// Serve `path` normally again.
    pub fn clear_fault(&self, path: &str) {
        lock(&self.shared.faults).by_path.remove(path);
    }

    /// Misbehave for every path without its own fault (`None` = behave).
    pub fn set_global_fault(&self, fault: Option<Fault>) {
        lock(&self.shared.faults).global = fault;
    }

    /// Remove every fault.
    pub fn clear_faults(&self) {
        *lock(&self.shared.faults) = Faults::default();
    }

    /// How many requests arrived for `path` (percent-decoded), faults included.
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.shared.hits).get(path).copied().unwrap_or(0)
    }

    /// Requests for every path so far.
    pub fn total_hits(&self) -> usize {
        lock(&self.shared.hits).values().sum()
    }

    /// A copy of the per-path request counts.
    pub fn all_hits(&self) -> HashMap<String, usize> {
        lock(&self.shared.hits).clone()
    }

    pub fn reset_hits(&self) {
        lock(&self.shared.hits).clear();
    }

    /// Stops accepting and closes the port (later connections are refused);
    /// hanging requests are closed. Idempotent.
    pub fn stop(&mut self) {
        if self.shared.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the blocking accept so it sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else { continue };
        let conn_shared = Arc::clone(&shared);
        let _ = std::thread::Builder::new().spawn(move || {
            let _ = handle(stream, &conn_shared);
        });
    }
}

fn handle(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_nodelay(true)?;
    let Some(target) = read_request_target(&mut stream)? else {
        return Ok(());
    };
    let path = percent_decode(target.split('?').next().unwrap_or_default());
    *lock(&shared.hits).entry(path.clone()).or_insert(0) += 1;
    let fault = {
        let faults = lock(&shared.faults);
        faults
            .by_path
            .get(&path)
            .cloned()
            .or_else(|| faults.global.clone())
    };
    match fault {
        None => serve_file(&mut stream, shared, &path),
        Some(Fault::NotFound) => respond(
            &mut stream,
            404,
            "Not Found",
            b"not found: fault injected\n",
        ),
        Some(Fault::Gone) => respond(&mut stream, 410, "Gone", b"gone: fault injected\n"),
        Some(Fault::Forbidden) => respond(
            &mut stream,
            403,
            "Forbidden",
            b"forbidden: fault injected\n",
        ),
        Some(Fault::ServerError) => respond(
            &mut stream,
            500,
            "Internal Server Error",
            b"internal error: fault injected\n",
        ),
        Some(Fault::Hang) => {
            let until = Instant::now() + Duration::from_secs(600);
            while !shared.stopped.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            stream.shutdown(Shutdown::Both)
        }
        Some(Fault::Delay(d)) => {
            std::thread::sleep(d);
            serve_file(&mut stream, shared, &path)
        }
        Some(Fault::TruncateBody) => match read_fixture(shared, &path) {
            Some(data) => {
                let half = data.get(..data.len() / 2).unwrap_or_default();
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    data.len()
                )?;
                stream.write_all(half)?;
                stream.flush()?;
                stream.shutdown(Shutdown::Both)
            }
            None => not_found(&mut stream),
        },
        Some(Fault::Drip(every)) => match read_fixture(shared, &path) {
            Some(data) => {
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    data.len()
                )?;
                stream.flush()?;
                for byte in data.chunks(1) {
                    if shared.stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(every);
                    // The client hung up: stop dripping.
                    if stream
                        .write_all(byte)
                        .and_then(|()| stream.flush())
                        .is_err()
                    {
                        break;
                    }
                }
                stream.shutdown(Shutdown::Both)
            }
            None => not_found(&mut stream),
        },
        Some(Fault::ShortBody) => match read_fixture(shared, &path) {
            Some(data) => respond(
                &mut stream,
                200,
                "OK",
                data.get(..data.len() / 2).unwrap_or_default(),
            ),
            None => not_found(&mut stream),
        },
        Some(Fault::ServeFile(other)) => match read_fixture(shared, &other) {
            Some(data) => respond(&mut stream, 200, "OK", &data),
            None => not_found(&mut stream),
        },
        Some(Fault::Body(bytes)) => respond(&mut stream, 200, "OK", &bytes),
        Some(Fault::DropConnection) => stream.shutdown(Shutdown::Both),
    }
}

/// Reads the request head and returns the request target of a GET, or None
/// when the peer closed (e.g. the wake-up connection from `stop`).
fn read_request_target(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
        if head.len() > 64 * 1024 {
            return Ok(None);
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.lines().next().unwrap_or_default().split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Ok(Some(target.to_string())),
        _ => Ok(None),
    }
}

/// Maps a decoded request path to a file under the root; refuses anything
/// that is not a plain relative path.
fn fixture_file(shared: &Shared, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path.trim_start_matches('/'));
    if path.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let file = shared.root.join(rel);
    file.is_file().then_some(file)
}

fn read_fixture(shared: &Shared, path: &str) -> Option<Vec<u8>> {
    std::fs::read(fixture_file(shared, path)?).ok()
}

fn serve_file(stream: &mut TcpStream, shared: &Shared, path: &str) -> io::Result<()> {
    match read_fixture(shared, path) {
        Some(data) => respond(stream, 200, "OK", &data),
        None => not_found(stream),
    }
}

fn not_found(stream: &mut TcpStream) -> io::Result<()> {
    respond(stream, 404, "Not Found", b"not found\n")
}

fn respond(stream: &mut TcpStream, status: u16, reason: &str, body: &[u8]) -> io::Result<()> {
    let content_type = if status == 200 {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

/// RFC 3986 percent-decoding (no `+` → space); invalid escapes stay as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::http_get;

    #[test]
    fn serves_files_faults_counts_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("m/@v")).unwrap();
        std::fs::write(dir.path().join("m/@v/list"), "v1.0.0\n").unwrap();
        std::fs::write(dir.path().join("m/@v/v1.0.0.zip"), "0123456789").unwrap();
        let mut up = Upstream::start(dir.path()).unwrap();
        let url = up.url();

        let r = http_get(&format!("{url}/m/@v/list")).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"v1.0.0\n"[..]));
        assert_eq!(http_get(&format!("{url}/m/@v/v9.zip")).unwrap().status, 404);
        assert_eq!(
            http_get(&format!("{url}/m/../m/@v/list")).unwrap().status,
            404
        );

        up.set_fault("/m/@v/list", Fault::Gone);
        assert_eq!(http_get(&format!("{url}/m/%40v/list")).unwrap().status, 410);
        assert_eq!(
            up.hits("/m/@v/list"),
            2,
            "percent-decoded paths count together"
        );

        up.set_fault("/m/@v/v1.0.0.zip", Fault::ShortBody);
        assert_eq!(
            http_get(&format!("{url}/m/@v/v1.0.0.zip")).unwrap().body,
            b"01234"
        );
        up.set_fault("/m/@v/v1.0.0.zip", Fault::TruncateBody);
        assert!(http_get(&format!("{url}/m/@v/v1.0.0.zip")).is_err());
        up.set_fault("/m/@v/v1.0.0.zip", Fault::DropConnection);
        assert!(http_get(&format!("{url}/m/@v/v1.0.0.zip")).is_err());
        up.set_fault("/m/@v/v1.0.0.zip", Fault::ServeFile("/m/@v/list".into()));
        assert_eq!(
            http_get(&format!("{url}/m/@v/v1.0.0.zip")).unwrap().body,
            b"v1.0.0\n"
        );
        up.set_global_fault(Some(Fault::ServerError));
        assert_eq!(
            http_get(&format!("{url}/m/@v/v1.0.0.zip")).unwrap().status,
            200,
            "path fault wins"
        );
        assert_eq!(http_get(&format!("{url}/other")).unwrap().status, 500);
        up.clear_faults();
        assert_eq!(
            http_get(&format!("{url}/m/@v/v1.0.0.zip")).unwrap().body,
            b"0123456789"
        );

        up.set_fault("/hang", Fault::Hang);
        let hang_url = format!("{url}/hang");
        let hung = std::thread::spawn(move || http_get(&hang_url));
        std::thread::sleep(Duration::from_millis(200));
        up.stop();
        assert!(
            hung.join().unwrap().is_err(),
            "a hanging request ends without a response when stopped"
        );
        assert!(
            TcpStream::connect(up.addr()).is_err(),
            "port closed after stop"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("/a/%21b/@v/v1.0.0+incompatible.zip"),
            "/a/!b/@v/v1.0.0+incompatible.zip"
        );
        assert_eq!(percent_decode("%zz%2"), "%zz%2");
    }
}

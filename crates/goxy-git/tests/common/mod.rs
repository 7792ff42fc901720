//! Test fixtures: git repositories built with fixed dates, served on a
//! loopback address by a tiny HTTP server that answers `?go-get=1` with a
//! go-import page and everything else through `git http-backend` (smart HTTP).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One go-import entry: module-path prefix → repository (under the project root) and optional subdir.
#[derive(Clone, Debug)]
pub struct Import {
    pub prefix: String,
    pub repo: String,
    pub subdir: String,
}

pub struct Server {
    pub ip: String,
    pub root: PathBuf,
    pub imports: Arc<Mutex<Vec<Import>>>,
    /// Milliseconds each git request waits first (to hold a fetch in progress).
    pub git_delay_ms: Arc<AtomicU64>,
    /// Requests served, by path (for "nothing re-cloned" checks).
    pub requests: Arc<Mutex<Vec<String>>>,
    pub port: u16,
}

impl Server {
    /// Binds `ip:80`; None (caller skips) when that is not possible.
    pub fn start(ip: &str, root: &Path) -> Option<Server> {
        Self::start_on(ip, 80, root)
    }

    /// Binds `ip:port` (0 = any free port; see `port()` of the returned listener address).
    pub fn start_on(ip: &str, port: u16, root: &Path) -> Option<Server> {
        let listener = match TcpListener::bind((ip, port)) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("SKIP: cannot bind {ip}:80 ({e}); the differential tests need root or CAP_NET_BIND_SERVICE");
                return None;
            }
        };
        let bound_port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        let imports: Arc<Mutex<Vec<Import>>> = Arc::new(Mutex::new(Vec::new()));
        let git_delay_ms = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (im, delay, reqs, root_c, ip_c) = (
            imports.clone(),
            git_delay_ms.clone(),
            requests.clone(),
            root.to_path_buf(),
            ip.to_string(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (im, delay, reqs, root_c, ip_c) = (
                    im.clone(),
                    delay.clone(),
                    reqs.clone(),
                    root_c.clone(),
                    ip_c.clone(),
                );
                std::thread::spawn(move || {
                    let _ = handle(stream, &ip_c, &root_c, &im, &delay, &reqs);
                });
            }
        });
        Some(Server {
            ip: ip.to_string(),
            root: root.to_path_buf(),
            imports,
            git_delay_ms,
            requests,
            port: bound_port,
        })
    }

    pub fn add_import(&self, prefix: &str, repo: &str, subdir: &str) {
        self.imports.lock().unwrap().push(Import {
            prefix: prefix.into(),
            repo: repo.into(),
            subdir: subdir.into(),
        });
    }
}

fn handle(
    mut stream: TcpStream,
    ip: &str,
    root: &Path,
    imports: &Mutex<Vec<Import>>,
    delay: &AtomicU64,
    requests: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers: HashMap<String, String> = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if let Some(n) = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                let mut crlf = String::new();
                reader.read_line(&mut crlf)?;
                break;
            }
            let mut chunk = vec![0; n];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let auth = headers.get("authorization").cloned().unwrap_or_default();
    requests
        .lock()
        .unwrap()
        .push(format!("{method} {path}?{query} auth={auth}"));
    if query.contains("go-get=1") {
        let module = format!("{ip}{}", path.trim_end_matches('/'));
        let mut html = String::from("<!DOCTYPE html>\n<html><head>\n");
        for imp in imports.lock().unwrap().iter() {
            if module == imp.prefix || module.starts_with(&format!("{}/", imp.prefix)) {
                let sub = if imp.subdir.is_empty() {
                    String::new()
                } else {
                    format!(" {}", imp.subdir)
                };
                // `mod:<url>` names a module proxy; a URL is used as is; else a repo on this server.
                let (vcs, url) = if let Some(u) = imp.repo.strip_prefix("mod:") {
                    ("mod", u.to_string())
                } else if imp.repo.contains("://") {
                    ("git", imp.repo.clone())
                } else {
                    ("git", format!("http://{ip}/{}", imp.repo))
                };
                html.push_str(&format!(
                    "<meta name=\"go-import\" content=\"{} {vcs} {url}{sub}\">\n",
                    imp.prefix
                ));
            }
        }
        html.push_str("</head><body>fixture</body></html>\n");
        let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", html.len());
        stream.write_all(head.as_bytes())?;
        stream.write_all(html.as_bytes())?;
        return Ok(());
    }
    // Static files under <root>/modproxy serve as a GOPROXY-protocol module proxy.
    if let Some(rel) = path.strip_prefix("/modproxy/") {
        let file = root.join("modproxy").join(rel);
        let (status, data) = match std::fs::read(&file) {
            Ok(d) if !rel.split('/').any(|e| e == "..") => ("200 OK", d),
            _ => ("404 Not Found", b"not found".to_vec()),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            data.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(&data)?;
        return Ok(());
    }
    let d = delay.load(Ordering::SeqCst);
    if d > 0 {
        std::thread::sleep(Duration::from_millis(d));
    }
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("PATH_INFO", &path)
        .env("QUERY_STRING", &query)
        .env("REQUEST_METHOD", &method)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(ct) = headers.get("content-type") {
        cmd.env("CONTENT_TYPE", ct);
    }
    if let Some(p) = headers.get("git-protocol") {
        cmd.env("GIT_PROTOCOL", p);
    }
    if let Some(enc) = headers.get("content-encoding") {
        cmd.env("HTTP_CONTENT_ENCODING", enc);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut out = Vec::new();
    child.stdout.take().expect("stdout").read_to_end(&mut out)?;
    let _ = writer.join();
    let _ = child.wait();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (hdr, payload) = match split {
        Some((i, n)) => (
            String::from_utf8_lossy(&out[..i]).to_string(),
            out[i + n..].to_vec(),
        ),
        None => (String::new(), out),
    };
    let mut status = "200 OK".to_string();
    let mut resp = String::new();
    for h in hdr.lines() {
        let h = h.trim_end();
        if let Some(s) = h.strip_prefix("Status:") {
            status = s.trim().to_string();
        } else if !h.is_empty() {
            resp.push_str(h);
            resp.push_str("\r\n");
        }
    }
    let head = format!(
        "HTTP/1.1 {status}\r\n{resp}Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&payload)?;
    Ok(())
}

/// A repository under construction: a bare repo served by the fixture server
/// plus a work tree, with deterministic commit times.
pub struct Repo {
    pub git_dir: PathBuf,
    pub work: PathBuf,
    clock: i64,
}

impl Repo {
    /// Creates `<root>/<name>` (bare) with its work tree in `<work_root>/<name>`.
    pub fn new(root: &Path, work_root: &Path, name: &str) -> Repo {
        let git_dir = root.join(name);
        let work = work_root.join(name);
        std::fs::create_dir_all(&work).unwrap();
        let r = Repo {
            git_dir,
            work,
            clock: 1_600_000_000,
        };
        let st = Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&r.git_dir)
            .status()
            .unwrap();
        assert!(st.success());
        r
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .env("GIT_DIR", &self.git_dir)
            .env("GIT_WORK_TREE", &self.work)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Fixture")
            .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
            .env("GIT_COMMITTER_NAME", "Fixture")
            .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
            .env("GIT_AUTHOR_DATE", format!("@{} +0000", self.clock - 7200))
            .env("GIT_COMMITTER_DATE", format!("@{} +0200", self.clock))
            .current_dir(&self.work)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn write(&self, path: &str, content: &str) -> &Self {
        self.write_bytes(path.as_bytes(), content.as_bytes())
    }

    pub fn write_bytes(&self, path: &[u8], content: &[u8]) -> &Self {
        use std::os::unix::ffi::OsStrExt;
        let p = self.work.join(std::ffi::OsStr::from_bytes(path));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn symlink(&self, path: &str, target: &str) -> &Self {
        let p = self.work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
        self
    }

    pub fn remove(&self, path: &str) -> &Self {
        let p = self.work.join(path);
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
        self
    }

    /// Commits everything in the work tree; returns the commit id.
    pub fn commit(&mut self, msg: &str) -> String {
        self.clock += 3600;
        self.git(&["add", "-A", "."]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", name]);
        self
    }

    pub fn annotated_tag(&self, name: &str) -> &Self {
        self.git(&["tag", "-a", "-m", name, name]);
        self
    }

    /// Creates (`-c`) or switches to a branch.
    pub fn switch(&self, args: &[&str]) -> &Self {
        let mut a = vec!["checkout", "-q"];
        a.extend_from_slice(args);
        self.git(&a);
        self
    }
}

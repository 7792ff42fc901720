//! Git fixtures for direct-fetching tests: repositories built with fixed
//! dates, served on a loopback address by a tiny HTTP server that answers
//! `?go-get=1` with a go-import page and everything else through
//! `git http-backend` (smart HTTP); and the differential fixture set
//! ([`differential_fixtures`]) that covers protocol.md §7.3 to §7.6.

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
    /// `(path prefix, Authorization value)`: git requests under the prefix
    /// without exactly that header are answered 401 (a private repository).
    pub protected: Arc<Mutex<Vec<(String, String)>>>,
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
        let protected: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
        let guard = protected.clone();
        let (im, delay, reqs, root_c, ip_c) = (
            imports.clone(),
            git_delay_ms.clone(),
            requests.clone(),
            root.to_path_buf(),
            ip.to_string(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let guard = guard.clone();
                let (im, delay, reqs, root_c, ip_c) = (
                    im.clone(),
                    delay.clone(),
                    reqs.clone(),
                    root_c.clone(),
                    ip_c.clone(),
                );
                std::thread::spawn(move || {
                    let _ = handle(stream, &ip_c, &root_c, &im, &delay, &reqs, &guard);
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
            protected,
        })
    }

    /// Git requests under `path_prefix` (e.g. `/corp/`) need basic auth with
    /// `user:password`, else 401.
    pub fn require_auth(&self, path_prefix: &str, user: &str, password: &str) {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.protected
            .lock()
            .unwrap()
            .push((path_prefix.to_string(), format!("Basic {token}")));
    }

    /// Requests that carried an Authorization header, as `METHOD path?query`.
    pub fn authenticated_requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| !r.ends_with(" auth="))
            .cloned()
            .collect()
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
    protected: &Mutex<Vec<(String, String)>>,
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
    let refused = protected
        .lock()
        .unwrap()
        .iter()
        .any(|(prefix, want)| path.starts_with(prefix.as_str()) && auth != *want);
    if refused {
        let body = b"authentication required";
        let head = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
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

/// One fixture module and what to ask about it.
#[derive(Clone, Debug)]
pub struct Case {
    /// Full module path (`<ip>/<name>[/...]`).
    pub module: String,
    /// Queries for `go mod download M@Q` (versions, branches, hashes, pseudo-versions).
    pub queries: Vec<String>,
    /// Compare `@latest` (only meaningful when the module has no tags).
    pub latest: bool,
    /// Expected `list` (checked against goxy; go's own list is compared where available).
    pub list: Option<Vec<String>>,
}

fn case(ip: &str, module: &str, queries: &[&str]) -> Case {
    Case {
        module: format!("{ip}/{module}"),
        queries: queries.iter().map(|s| s.to_string()).collect(),
        latest: false,
        list: None,
    }
}

const LICENSE: &str = "Fixture license text.\n";

fn gomod_text(ip: &str, path: &str, go: &str) -> String {
    if go.is_empty() {
        format!("module {ip}/{path}\n")
    } else {
        format!("module {ip}/{path}\n\ngo {go}\n")
    }
}

/// Builds every differential fixture repository (at least 30) under `root`
/// (work trees under `work`), registers their go-import entries on `server`,
/// and returns the cases to compare. Module paths start with `server.ip`.
pub fn differential_fixtures(server: &Server, root: &Path, work: &Path) -> Vec<Case> {
    let ip = server.ip.as_str();
    let case = |module: &str, queries: &[&str]| case(ip, module, queries);
    let gomod = |path: &str, go: &str| gomod_text(ip, path, go);
    let mut cases = Vec::new();
    let new = |name: &str| {
        server.add_import(&format!("{ip}/{name}"), &format!("{name}.git"), "");
        Repo::new(root, work, &format!("{name}.git"))
    };

    // 1. Plain module: lightweight and annotated tags, a branch query, a hash query.
    let mut r = new("basic");
    r.write("go.mod", &gomod("basic", "1.21"))
        .write("a.go", "package basic\n")
        .write("LICENSE", LICENSE);
    r.commit("one");
    r.tag("v1.0.0");
    r.write("b.go", "package basic\n\nconst B = 1\n");
    let c2 = r.commit("two");
    r.annotated_tag("v1.1.0");
    r.write("c.go", "package basic\n");
    let c3 = r.commit("three");
    let mut c = case(
        "basic",
        &[
            "v1.0.0",
            "v1.1.0",
            "main",
            &c2[..12],
            &c3[..7],
            &c3,
            "v1.2.0",
            "nosuchbranch",
        ],
    );
    c.list = Some(vec!["v1.0.0".into(), "v1.1.0".into()]);
    cases.push(c);

    // 2. No go.mod: synthesized go.mod.
    let mut r = new("nogomod");
    r.write("a.go", "package nogomod\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("nogomod", &["v1.0.0", "main"]));

    // 3. +incompatible: no go.mod anywhere, v2 tags.
    let mut r = new("incompat");
    r.write("a.go", "package incompat\n");
    r.commit("one");
    r.tag("v1.0.0");
    r.write("b.go", "package incompat\n");
    r.commit("two");
    r.tag("v2.0.0");
    r.write("c.go", "package incompat\n");
    r.commit("three");
    r.tag("v2.1.0");
    let mut c = case(
        "incompat",
        &[
            "v2.0.0+incompatible",
            "v2.1.0+incompatible",
            "v2.0.0",
            "v1.0.0",
            "main",
        ],
    );
    c.list = Some(vec![
        "v1.0.0".into(),
        "v2.0.0+incompatible".into(),
        "v2.1.0+incompatible".into(),
    ]);
    cases.push(c);

    // 4. +incompatible suppressed: latest v1 has a go.mod.
    let mut r = new("incompatgomod");
    r.write("a.go", "package x\n");
    r.commit("one");
    r.tag("v2.0.0");
    r.write("go.mod", &gomod("incompatgomod", "1.21"));
    r.commit("two");
    r.tag("v1.0.0");
    let mut c = case("incompatgomod", &["v2.0.0+incompatible", "v1.0.0", "main"]);
    c.list = Some(vec!["v1.0.0".into()]);
    cases.push(c);

    // 5. Subdirectory module with prefixed tags and LICENSE inheritance; unprefixed tag ignored.
    let mut r = new("mono");
    r.write("LICENSE", LICENSE)
        .write("go.mod", &gomod("mono", "1.21"))
        .write("root.go", "package mono\n");
    r.write("sub/go.mod", &gomod("mono/sub", "1.21"))
        .write("sub/s.go", "package sub\n");
    r.write("own/go.mod", &gomod("mono/own", "1.21"))
        .write("own/LICENSE", "own license\n")
        .write("own/o.go", "package own\n");
    r.write("pkgonly/p.go", "package pkgonly\n");
    r.commit("one");
    r.tag("v1.0.0").tag("sub/v1.0.0").tag("own/v0.1.0");
    r.write("sub/s2.go", "package sub\n");
    r.commit("two");
    r.tag("sub/v1.1.0");
    let mut c = case("mono/sub", &["v1.0.0", "v1.1.0", "main"]);
    c.list = Some(vec!["v1.0.0".into(), "v1.1.0".into()]);
    cases.push(c);
    cases.push(case("mono/own", &["v0.1.0"]));
    cases.push(case("mono", &["v1.0.0"]));
    cases.push(case("mono/pkgonly", &["main", "v1.0.0"]));

    // 6. Major branch: go.mod declares /v2 at the root.
    let mut r = new("majbranch");
    r.write("go.mod", &gomod("majbranch", "1.21"))
        .write("a.go", "package m\n");
    r.commit("v1");
    r.tag("v1.0.0");
    r.write("go.mod", &gomod("majbranch/v2", "1.21"));
    r.commit("v2");
    r.tag("v2.0.0");
    r.write("b.go", "package m\n");
    r.commit("v2 more");
    let mut c = case("majbranch/v2", &["v2.0.0", "main"]);
    c.list = Some(vec!["v2.0.0".into()]);
    cases.push(c);
    cases.push(case("majbranch", &["v1.0.0", "v2.0.0+incompatible"]));

    // 7. Major subdirectory: v3/go.mod, root LICENSE copied in.
    let mut r = new("majsub");
    r.write("LICENSE", LICENSE)
        .write("go.mod", &gomod("majsub", "1.21"))
        .write("a.go", "package m\n");
    r.write("v3/go.mod", &gomod("majsub/v3", "1.21"))
        .write("v3/a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0").tag("v3.0.0");
    cases.push(case("majsub/v3", &["v3.0.0", "main"]));
    cases.push(case("majsub", &["v1.0.0", "v3.0.0"]));

    // 8. Both go.mod and v2/go.mod claim /v2; v4 path with no go.mod anywhere.
    let mut r = new("bothv2");
    r.write("go.mod", &gomod("bothv2/v2", "1.21"))
        .write("v2/go.mod", &gomod("bothv2/v2", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v2.0.0").tag("v4.0.0");
    cases.push(case("bothv2/v2", &["v2.0.0"]));
    cases.push(case("bothv2/v4", &["v4.0.0"]));

    // 9-11. Vendor directories under the go 1.23, go 1.24 and no-go-line rules.
    for (name, go) in [
        ("vendor123", "1.23"),
        ("vendor124", "1.24"),
        ("vendornogo", ""),
    ] {
        let mut r = new(name);
        r.write("go.mod", &gomod(name, go))
            .write("a.go", "package m\n");
        r.write("vendor/modules.txt", "# x\n")
            .write("vendor/foo.go", "package foo\n")
            .write("vendor/x/y/y.go", "package y\n");
        r.write("pkg/vendor/vendor.go", "package vendor\n")
            .write("pkg/vendor/x/y.go", "package x\n")
            .write("pkg/p.go", "package pkg\n");
        r.commit("one");
        r.tag("v1.0.0");
        cases.push(case(name, &["v1.0.0"]));
    }

    // 12. Nested modules (including a GO.MOD marker) are excluded.
    let mut r = new("nested");
    r.write("go.mod", &gomod("nested", "1.21"))
        .write("a.go", "package m\n");
    r.write("inner/go.mod", &gomod("nested/inner", "1.21"))
        .write("inner/i.go", "package inner\n");
    r.write("capmarker/GO.MOD", "module other\n")
        .write("capmarker/c.go", "package c\n");
    r.write("deep/er/go.mod", "module x\n")
        .write("deep/er/bad'name.go", "excluded with its module\n")
        .write("deep/d.go", "package deep\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("nested", &["v1.0.0"]));

    // 13. Upper case in the path and in versions.
    let mut r = new("UpperCase");
    r.write("go.mod", &gomod("UpperCase", "1.21"))
        .write("Doc.go", "package uc\n");
    r.commit("one");
    r.tag("v1.0.0-RC1");
    r.write("More.go", "package uc\n");
    r.commit("two");
    r.tag("v1.0.0");
    let mut c = case("UpperCase", &["v1.0.0-RC1", "v1.0.0", "main"]);
    c.list = Some(vec!["v1.0.0-RC1".into(), "v1.0.0".into()]);
    cases.push(c);

    // 14. Annotated tags only.
    let mut r = new("annotated");
    r.write("go.mod", &gomod("annotated", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.annotated_tag("v0.1.0");
    r.write("b.go", "package m\n");
    r.commit("two");
    r.annotated_tag("v0.2.0");
    cases.push(case("annotated", &["v0.1.0", "v0.2.0", "main"]));

    // 15. Retractions: a commit whose only tag is retracted gets a v0.0.0 pseudo-version.
    let mut r = new("retract");
    r.write("go.mod", &gomod("retract", "1.21"))
        .write("a.go", "package m\n");
    let retracted_commit = r.commit("one");
    r.tag("v1.0.0");
    r.write(
        "go.mod",
        &format!("{}\nretract v1.0.0 // broken\n", gomod("retract", "1.21")),
    );
    r.commit("two");
    r.tag("v1.1.0");
    r.write("b.go", "package m\n");
    r.commit("three");
    cases.push(case(
        "retract",
        &["v1.0.0", "v1.1.0", &retracted_commit[..12], "main"],
    ));

    // 16. Symlinks are omitted; a symlink with an invalid name fails the version.
    let mut r = new("symlinks");
    r.write("go.mod", &gomod("symlinks", "1.21"))
        .write("a.go", "package m\n");
    r.symlink("link.go", "a.go").symlink("dirlink", "/etc");
    r.commit("one");
    r.tag("v1.0.0");
    r.symlink("bad'link", "a.go");
    r.commit("two");
    r.tag("v1.1.0");
    cases.push(case("symlinks", &["v1.0.0", "v1.1.0"]));

    // 17. Invalid file names fail the version: Windows reserved, trailing dot, quote, invalid UTF-8.
    for (name, file) in [
        ("badaux", &b"aux.go"[..]),
        ("baddot", b"x."),
        ("badquote", b"q\"x.go"),
        ("badutf8", b"\xffbad.go"),
    ] {
        let mut r = new(name);
        r.write("go.mod", &gomod(name, "1.21"))
            .write("a.go", "package m\n");
        r.commit("good");
        r.tag("v1.0.0");
        r.write_bytes(file, b"package m\n");
        r.commit("bad");
        r.tag("v1.1.0");
        cases.push(case(name, &["v1.0.0", "v1.1.0"]));
    }

    // 18. Case collisions fail the version; root GO.MOD fails; a directory named go.mod is fine.
    let mut r = new("collide");
    r.write("go.mod", &gomod("collide", "1.21"))
        .write("m.go", "package m\n")
        .write("M.GO", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("collide", &["v1.0.0"]));
    let mut r = new("collidedir");
    r.write("go.mod", &gomod("collidedir", "1.21"))
        .write("Dir/a.go", "package m\n")
        .write("dir/b.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("collidedir", &["v1.0.0"]));
    let mut r = new("capgomod");
    r.write("GO.MOD", "module x\n").write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("capgomod", &["v1.0.0"]));
    // (A directory named go.mod at the root is valid by the zip rules, but `go mod download`
    // then fails reading it as a file after extraction — a client quirk, so it sits lower here.)
    let mut r = new("gomoddir");
    r.write("go.mod", &gomod("gomoddir", "1.21"))
        .write("pkg/go.mod/a.go", "package m\n")
        .write("b.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("gomoddir", &["v1.0.0"]));

    // 19. export-ignore and export-subst attributes are not applied.
    let mut r = new("attrs");
    r.write("go.mod", &gomod("attrs", "1.21"))
        .write("a.go", "package m\n");
    r.write(
        ".gitattributes",
        "ignored.txt export-ignore\nsubst.go export-subst\n",
    );
    r.write("ignored.txt", "still here\n")
        .write("subst.go", "package m\n\nconst Rev = \"$Format:%H$\"\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("attrs", &["v1.0.0"]));

    // 20. text/eol attributes and CRLF content.
    let mut r = new("eol");
    r.write("go.mod", &gomod("eol", "1.21"))
        .write("a.go", "package m\n");
    r.write(
        ".gitattributes",
        "*.txt text eol=crlf\n*.bat eol=crlf\n*.lf text eol=lf\n*.bin -text\n*.id ident\n*.auto text=auto\n",
    );
    r.write("x.txt", "line one\nline two\n")
        .write("y.bat", "echo\n")
        .write("z.lf", "crlf\r\nin\r\n")
        .write("w.bin", "raw\r\n")
        .write("v.go", "package m\r\n")
        .write("rev.id", "$Id$\n")
        .write("mixed.auto", "a\r\nb\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("eol", &["v1.0.0"]));

    // 21. Pseudo-versions from a branch, a hash, a requested pseudo-version (valid and invalid).
    let mut r = new("pseudo");
    r.write("go.mod", &gomod("pseudo", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.2.3");
    r.write("b.go", "package m\n");
    let p2 = r.commit("two");
    r.switch(&["-b", "feature"]);
    r.write("f.go", "package m\n");
    let pf = r.commit("feature");
    r.switch(&["main"]);
    let ts = |secs: i64| {
        let out = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{secs}"), "+%Y%m%d%H%M%S"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let t2 = ts(1_600_000_000 + 2 * 3600);
    let good = format!("v1.2.4-0.{t2}-{}", &p2[..12]);
    let bad_time = format!("v1.2.4-0.20000101000000-{}", &p2[..12]);
    let long_rev = format!("v1.2.4-0.{t2}-{}", &p2[..13]);
    let no_base_v1 = format!("v1.0.0-{t2}-{}", &p2[..12]);
    let wrong_base = format!("v1.2.6-0.{t2}-{}", &p2[..12]);
    let v0 = format!("v0.0.0-{t2}-{}", &p2[..12]);
    cases.push(case(
        "pseudo",
        &[
            "main",
            "feature",
            &p2[..12],
            &pf[..10],
            &good,
            &bad_time,
            &long_rev,
            &no_base_v1,
            &wrong_base,
            &v0,
        ],
    ));

    // 22. No tags at all: list empty, @latest is a v0.0.0 pseudo-version.
    let mut r = new("notags");
    r.write("go.mod", &gomod("notags", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.write("b.go", "package m\n");
    r.commit("two");
    let mut c = case("notags", &["main"]);
    c.latest = true;
    c.list = Some(vec![]);
    cases.push(c);

    // 23. /v2 major branch without tags: pseudo-versions are v2.0.0-….
    let mut r = new("v2notags");
    r.write("go.mod", &gomod("v2notags/v2", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    let mut c = case("v2notags/v2", &["main"]);
    c.latest = true;
    cases.push(c);

    // 24. A branch named like a version that is not a tag.
    let mut r = new("semverbranch");
    r.write("go.mod", &gomod("semverbranch", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    r.switch(&["-b", "v1.5.0"]);
    r.write("b.go", "package m\n");
    r.commit("two");
    r.switch(&["main"]);
    cases.push(case("semverbranch", &["v1.5.0", "v1.0.0"]));

    // 25. Non-canonical tags: v1.2 and v1.3.0+meta are not listed; a prerelease base.
    let mut r = new("oddtags");
    r.write("go.mod", &gomod("oddtags", "1.21"))
        .write("a.go", "package m\n");
    let o1 = r.commit("one");
    r.tag("v1.2").tag("v1.3.0+meta").tag("v2.0.0+incompatible");
    r.write("b.go", "package m\n");
    r.commit("two");
    r.tag("v1.4.0-pre");
    r.write("c.go", "package m\n");
    r.commit("three");
    let mut c = case("oddtags", &["main", &o1[..12], "v1.4.0-pre", "v1.3.0+meta"]);
    c.list = Some(vec!["v1.4.0-pre".into()]);
    cases.push(c);

    // 26. go-import with a subdirectory (4-field form): module root and tag prefix are the subdir.
    server.add_import(&format!("{ip}/viasubdir"), "subdirrepo.git", "go");
    let mut r = Repo::new(root, work, "subdirrepo.git");
    r.write("README", "not go\n").write("LICENSE", LICENSE);
    r.write("go/go.mod", &gomod("viasubdir", "1.21"))
        .write("go/a.go", "package m\n");
    r.commit("one");
    r.tag("go/v1.0.0").tag("v9.0.0");
    r.write("go/b.go", "package m\n");
    r.commit("two");
    let mut c = case("viasubdir", &["v1.0.0", "main", "v9.0.0"]);
    c.list = Some(vec!["v1.0.0".into()]);
    cases.push(c);

    // 27. go.mod declaring a different path is served as is.
    let mut r = new("renamed");
    r.write("go.mod", "module example.com/elsewhere\n\ngo 1.21\n")
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("renamed", &["v1.0.0"]));

    // 28. Submodule (gitlink) contributes nothing; .hg_archival.txt is omitted; Unicode names are fine.
    let mut r = new("gitlink");
    r.write("go.mod", &gomod("gitlink", "1.21"))
        .write("a.go", "package m\n")
        .write(".hg_archival.txt", "repo: x\n")
        .write("é/ü.go", "package u\n");
    let inner = r.commit("one");
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{inner},vendored-sub"),
    ]);
    r.git(&["commit", "-q", "-m", "gitlink"]);
    r.tag("v1.0.0");
    cases.push(case("gitlink", &["v1.0.0"]));

    // 29. A module with many files in nested directories.
    let mut r = new("manyfiles");
    r.write("go.mod", &gomod("manyfiles", "1.21"));
    for i in 0..200 {
        r.write(
            &format!("d{}/e{}/f{i}.go", i % 7, i % 3),
            &format!("package e\n\nconst X{i} = {i}\n"),
        );
    }
    r.commit("one");
    r.tag("v0.3.0");
    cases.push(case("manyfiles", &["v0.3.0"]));

    // 30. A repository that does not exist behind a valid go-import page.
    server.add_import(&format!("{ip}/ghost"), "ghost.git", "");
    cases.push(case("ghost", &["v1.0.0", "main"]));

    // 31. Retraction of every tag: versions still fetchable by exact version.
    let mut r = new("allretracted");
    r.write(
        "go.mod",
        &format!(
            "{}\nretract [v0.1.0, v0.2.0]\n",
            gomod("allretracted", "1.21")
        ),
    )
    .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v0.1.0");
    r.write("b.go", "package m\n");
    r.commit("two");
    r.tag("v0.2.0");
    r.write("c.go", "package m\n");
    r.commit("three");
    cases.push(case("allretracted", &["v0.1.0", "v0.2.0", "main"]));

    // 32. A /vN path whose tags carry the wrong major.
    let mut r = new("wrongmajor");
    r.write("go.mod", &gomod("wrongmajor/v2", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0").tag("v3.0.0");
    let mut c = case("wrongmajor/v2", &["v1.0.0", "v3.0.0", "v2.0.0"]);
    c.list = Some(vec![]);
    cases.push(c);

    // 34. Unicode: KELVIN SIGN folds to k (collision); a non-letter symbol is an invalid name.
    let mut r = new("unicodefold");
    r.write("go.mod", &gomod("unicodefold", "1.21"))
        .write("k.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    r.write("\u{212A}.go", "package m\n");
    r.commit("kelvin");
    r.tag("v1.1.0");
    r.remove("\u{212A}.go");
    r.write("\u{2603}.go", "package m\n");
    r.commit("snowman");
    r.tag("v1.2.0");
    cases.push(case("unicodefold", &["v1.0.0", "v1.1.0", "v1.2.0"]));

    // 33. VCS qualifier form: module path `<host>/qual.git[/sub]`, repository probed by scheme.
    let mut r = Repo::new(root, work, "qual");
    r.write("go.mod", &gomod("qual.git", "1.21"))
        .write("a.go", "package m\n")
        .write("LICENSE", LICENSE);
    r.write("sub/go.mod", &gomod("qual.git/sub", "1.21"))
        .write("sub/s.go", "package sub\n");
    r.commit("one");
    r.tag("v1.0.0").tag("sub/v1.0.0");
    cases.push(case("qual.git", &["v1.0.0", "main"]));
    cases.push(case("qual.git/sub", &["v1.0.0"]));

    cases
}

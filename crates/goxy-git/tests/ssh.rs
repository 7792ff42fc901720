//! End-to-end tests of the direct fetcher over ssh: a private `sshd` on a
//! free 127.0.0.1 port (own host key, own authorized_keys, run as the
//! current user) serves a bare fixture repository reached through
//! `repo_overrides`. Loopback only. Skips (prints `SKIP:`) when
//! `/usr/sbin/sshd` or `ssh-keygen` is missing or sshd cannot start.
//!
//! The zip `h1` fetched over ssh is checked against the same repository
//! fetched by goxy over loopback smart HTTP (always), and against
//! `go mod download -json` (when `go` is available): go reaches the same ssh
//! URL through a go-import page served by a loopback HTTP proxy
//! (`GOINSECURE`, `HTTP(S)_PROXY`), since `example.com` cannot be resolved.

use goxy_git::{hash_go_mod, Credentials, DirectConfig, DirectError, DirectFetcher};
use goxy_testkit::gitfixture::{Repo, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";
const MODULE: &str = "example.com/sshmod";
const GO_MOD: &str = "module example.com/sshmod\n\ngo 1.21\n";

/// A running private sshd plus the fixture repository it serves.
struct Sshd {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    log: PathBuf,
    /// Authorized client key (private key path).
    key: PathBuf,
    /// known_hosts naming sshd's real host key.
    known_hosts: PathBuf,
    /// `ssh://<user>@127.0.0.1:<port>/<abs>/srv/sshmod.git`
    url: String,
    /// The bare repository (also served over HTTP by the comparison test).
    srv: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skip(why: &str) -> Option<Sshd> {
    eprintln!("SKIP: {why}");
    None
}

/// `ssh-keygen -t ed25519` without passphrase; returns the public key line's
/// `type base64` part.
fn keygen(path: &Path, comment: &str) -> Option<String> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let public = std::fs::read_to_string(path.with_extension("pub")).ok()?;
    let mut f = public.split_whitespace();
    Some(format!("{} {}", f.next()?, f.next()?))
}

fn current_user() -> Option<String> {
    if let Some(u) = std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        return Some(u);
    }
    let out = Command::new("whoami").output().ok()?;
    let u = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!u.is_empty()).then_some(u)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Option<u16> {
    let l = TcpListener::bind("127.0.0.1:0").ok()?;
    l.local_addr().ok().map(|a| a.port())
}

impl Sshd {
    fn start() -> Option<Sshd> {
        if !Path::new(SSHD).is_file() {
            return skip(&format!("{SSHD} is missing (install openssh-server)"));
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let host_key = d.join("host_ed25519");
        let key = d.join("client_ed25519");
        let (Some(host_pub), Some(client_pub)) = (
            keygen(&host_key, "goxy-test-host"),
            keygen(&key, "goxy-test-client"),
        ) else {
            return skip("ssh-keygen is missing or failed");
        };
        let authorized = d.join("authorized_keys");
        std::fs::write(&authorized, format!("{client_pub}\n")).expect("authorized_keys");
        let Some(user) = current_user() else {
            return skip("cannot tell the current user");
        };
        let root = is_root();
        if root && !Path::new("/run/sshd").is_dir() {
            // sshd's privilege separation directory, needed when it runs as root.
            if let Err(e) = std::fs::create_dir_all("/run/sshd") {
                return skip(&format!("cannot create /run/sshd: {e}"));
            }
        }

        // The fixture repository: v1.0.0, then a later v1.1.0.
        let srv = d.join("srv");
        let mut r = Repo::new(&srv, &d.join("work"), "sshmod.git");
        r.write("go.mod", GO_MOD)
            .write("sshmod.go", "package sshmod\n\nconst V = 1\n");
        r.commit("one");
        r.tag("v1.0.0");
        r.write("more.go", "package sshmod\n\nconst W = 2\n");
        r.commit("two");
        r.tag("v1.1.0");

        let log = d.join("sshd.log");
        let config = d.join("sshd_config");
        for _attempt in 0..5 {
            let Some(port) = free_port() else {
                return skip("cannot bind 127.0.0.1:0");
            };
            let mut conf = format!(
                "ListenAddress 127.0.0.1:{port}\n\
                 HostKey {host}\n\
                 AuthorizedKeysFile {auth}\n\
                 PidFile {pid}\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 AllowUsers {user}\n\
                 PrintMotd no\n\
                 LogLevel VERBOSE\n",
                host = host_key.display(),
                auth = authorized.display(),
                pid = d.join("sshd.pid").display(),
            );
            if root {
                conf.push_str("PermitRootLogin prohibit-password\n");
            }
            std::fs::write(&config, conf).expect("sshd_config");
            let logf = std::fs::File::create(&log).expect("sshd.log");
            let mut child = match Command::new(SSHD)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(logf)
                .spawn()
            {
                Ok(c) => c,
                Err(e) => return skip(&format!("cannot run {SSHD}: {e}")),
            };
            // Ready when it says so (no probe connection: tests count connections).
            let deadline = Instant::now() + Duration::from_secs(10);
            let ready = loop {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains(&format!("Server listening on 127.0.0.1 port {port}")) {
                    break true;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    if text.contains("Address already in use") {
                        break false; // port taken between probe and bind: try another
                    }
                    return skip(&format!("sshd exited ({status}): {}", text.trim()));
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return skip(&format!("sshd not ready after 10 s: {}", text.trim()));
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            if !ready {
                continue;
            }
            let known_hosts = d.join("known_hosts");
            std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_pub}\n"))
                .expect("known_hosts");
            let url = format!(
                "ssh://{user}@127.0.0.1:{port}{}",
                srv.join("sshmod.git").display()
            );
            return Some(Sshd {
                child,
                port,
                log,
                key,
                known_hosts,
                url,
                srv,
                dir,
            });
        }
        skip("sshd could not bind a free port in 5 attempts")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Connections sshd accepted at TCP level so far.
    fn connections(&self) -> usize {
        self.log_text().matches("Connection from 127.0.0.1").count()
    }

    fn accepted_logins(&self) -> usize {
        self.log_text().matches("Accepted publickey").count()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The private key files' secret lines (base64 body), for leak checks.
    fn secret_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for p in [&self.key, &self.path("host_ed25519")] {
            let text = std::fs::read_to_string(p).expect("private key");
            lines.extend(
                text.lines()
                    .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                    .map(str::to_string),
            );
        }
        assert!(!lines.is_empty());
        lines
    }

    fn fetcher(
        &self,
        cache: &str,
        allow_ssh: bool,
        key: Option<PathBuf>,
        known_hosts: Option<PathBuf>,
    ) -> DirectFetcher {
        self.fetcher_at(&self.url, cache, allow_ssh, key, known_hosts)
    }

    /// [`Sshd::fetcher`] with the module mapped to `url`.
    fn fetcher_at(
        &self,
        url: &str,
        cache: &str,
        allow_ssh: bool,
        key: Option<PathBuf>,
        known_hosts: Option<PathBuf>,
    ) -> DirectFetcher {
        DirectFetcher::new(DirectConfig {
            repo_overrides: vec![(MODULE.into(), url.to_string())],
            allow_private_addresses: true,
            allow_ssh,
            credentials: Credentials {
                ssh_key: key,
                ssh_known_hosts: known_hosts,
                ..Credentials::default()
            },
            git_timeout: Duration::from_secs(60),
            ..DirectConfig::new(self.path(cache))
        })
        .expect("fetcher")
    }
}

/// Runs list, stat, go_mod and zip, each expected to fail; returns the errors.
async fn all_fail(f: &DirectFetcher) -> Vec<(&'static str, DirectError)> {
    let mut errs = Vec::new();
    match f.list(MODULE).await {
        Ok(v) => panic!("list succeeded: {v:?}"),
        Err(e) => errs.push(("list", e)),
    }
    match f.stat(MODULE, "v1.0.0").await {
        Ok(v) => panic!("stat succeeded: {v:?}"),
        Err(e) => errs.push(("stat", e)),
    }
    match f.go_mod(MODULE, "v1.0.0").await {
        Ok(_) => panic!("go_mod succeeded"),
        Err(e) => errs.push(("go_mod", e)),
    }
    match f.zip_with_hash(MODULE, "v1.1.0").await {
        Ok((_, h1)) => panic!("zip succeeded: {h1}"),
        Err(e) => errs.push(("zip", e)),
    }
    errs
}

/// (e) No error's Display or Debug carries private key material.
fn assert_no_secrets(sshd: &Sshd, errs: &[(&str, DirectError)]) {
    let secrets = sshd.secret_lines();
    for (op, e) in errs {
        eprintln!("{op}: {e}");
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(
                !text.contains("-----BEGIN") && !text.contains("-----END"),
                "{op}: error mentions key material: {text}"
            );
            for s in &secrets {
                assert!(
                    !text.contains(s.as_str()),
                    "{op}: error leaks private key bytes: {text}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_ssh_fetch_matches_http_and_go() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let f = sshd.fetcher(
        "cache",
        true,
        Some(sshd.key.clone()),
        Some(sshd.known_hosts.clone()),
    );
    let list = f
        .list(MODULE)
        .await
        .unwrap_or_else(|e| panic!("list over ssh: {e}\nsshd log:\n{}", sshd.log_text()));
    assert_eq!(list, ["v1.0.0", "v1.1.0"]);
    let info = f.stat(MODULE, "v1.0.0").await.expect("stat v1.0.0");
    assert_eq!(info.version, "v1.0.0");
    let origin = info.origin.clone().expect("origin");
    assert_eq!(origin.vcs, "git");
    assert_eq!(origin.r#ref, "refs/tags/v1.0.0");
    assert!(
        !origin.url.contains('@'),
        "user name redacted: {}",
        origin.url
    );
    let gomod = f.go_mod(MODULE, "v1.0.0").await.expect("go_mod v1.0.0");
    assert_eq!(gomod, GO_MOD.as_bytes());
    let (zip10, h1_10) = f.zip_with_hash(MODULE, "v1.0.0").await.expect("zip v1.0.0");
    let (zip11, h1_11) = f.zip_with_hash(MODULE, "v1.1.0").await.expect("zip v1.1.0");
    assert!(h1_10.starts_with("h1:") && h1_11.starts_with("h1:"));
    assert_ne!(h1_10, h1_11);
    assert!(
        sshd.accepted_logins() >= 1,
        "sshd log shows no login:\n{}",
        sshd.log_text()
    );

    // The same repository over loopback smart HTTP through goxy: same bytes, same h1.
    let server = Server::start_on("127.0.0.1", 0, &sshd.srv).expect("http fixture server");
    let http = DirectFetcher::new(DirectConfig {
        repo_overrides: vec![(
            MODULE.into(),
            format!("http://127.0.0.1:{}/sshmod.git", server.port),
        )],
        insecure: MODULE.into(),
        allow_private_addresses: true,
        credentials: Credentials::default(),
        ..DirectConfig::new(sshd.path("cache-http"))
    })
    .expect("http fetcher");
    let (hzip10, hh1_10) = http
        .zip_with_hash(MODULE, "v1.0.0")
        .await
        .expect("http zip");
    let (hzip11, hh1_11) = http
        .zip_with_hash(MODULE, "v1.1.0")
        .await
        .expect("http zip");
    assert_eq!((&h1_10, &h1_11), (&hh1_10, &hh1_11), "h1 ssh vs http");
    assert!(zip10 == hzip10 && zip11 == hzip11, "zip bytes ssh vs http");
    let hinfo = http.stat(MODULE, "v1.0.0").await.expect("http stat");
    assert_eq!(
        (&hinfo.version, &hinfo.time),
        (&info.version, &info.time),
        "info ssh vs http"
    );

    // The reference: `go mod download -json` over the same ssh URL.
    if !goxy_testkit::have_go() {
        eprintln!("SKIP (go comparison only): no go command");
        return;
    }
    for (version, h1) in [("v1.0.0", &h1_10), ("v1.1.0", &h1_11)] {
        let logins = sshd.accepted_logins();
        let rec = go_download_over_ssh(&sshd, version);
        assert!(
            sshd.accepted_logins() > logins,
            "go did not fetch over ssh:\n{}",
            sshd.log_text()
        );
        assert_eq!(rec.error, "", "go mod download {version}");
        assert_eq!(&rec.sum, h1, "{version}: zip h1, go vs goxy over ssh");
        let ours_mod = f.go_mod(MODULE, version).await.expect("go_mod");
        assert_eq!(
            rec.go_mod_sum,
            hash_go_mod(&ours_mod),
            "{version}: go.mod h1"
        );
        let go_info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&rec.info).expect("go .info")).expect("json");
        let ours = f.stat(MODULE, version).await.expect("stat");
        assert_eq!(go_info["Version"], ours.version.as_str());
        assert_eq!(go_info["Time"], ours.time.as_str());
        let o = ours.origin.expect("origin");
        assert_eq!(go_info["Origin"]["Hash"], o.hash.as_str());
        assert_eq!(go_info["Origin"]["Ref"], o.r#ref.as_str());
        eprintln!("{MODULE}@{version}: go and goxy (ssh, http) agree: {h1}");
    }
}

/// `go mod download -json example.com/sshmod@<version>` with GOPROXY=direct:
/// the go-import page comes from a loopback HTTP proxy (nothing leaves the
/// machine), git uses the same key and known_hosts as goxy.
fn go_download_over_ssh(sshd: &Sshd, version: &str) -> goxy_testkit::ModDownload {
    let proxy = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let proxy_port = proxy.local_addr().expect("addr").port();
    let page = format!(
        "<!DOCTYPE html><html><head><meta name=\"go-import\" content=\"{MODULE} git {}\"></head></html>\n",
        sshd.url
    );
    std::thread::spawn(move || {
        for stream in proxy.incoming().flatten() {
            let page = page.clone();
            std::thread::spawn(move || serve_proxy(stream, &page));
        }
    });
    let home = sshd.path(&format!("gohome-{version}"));
    let work = home.join("work");
    std::fs::create_dir_all(&work).expect("go work dir");
    let ssh = format!(
        "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -o IdentitiesOnly=yes -i {}",
        sshd.known_hosts.display(),
        sshd.key.display()
    );
    let proxy_url = format!("http://127.0.0.1:{proxy_port}");
    let out = goxy_testkit::isolated_go(&home, "direct")
        .args(["mod", "download", "-json"])
        .arg(format!("{MODULE}@{version}"))
        .current_dir(&work)
        .env("GOPRIVATE", MODULE)
        .env("GOINSECURE", MODULE)
        .env("GOFLAGS", "-modcacherw")
        .env("GIT_SSH_COMMAND", ssh)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("HTTP_PROXY", &proxy_url)
        .env("HTTPS_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("https_proxy", &proxy_url)
        .output()
        .expect("run go");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "go mod download -json: {e}\nstdout: {stdout}\nstderr: {}\nsshd log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            sshd.log_text()
        )
    })
}

/// The loopback proxy: refuses CONNECT (so go falls back to http, which
/// GOINSECURE allows) and answers every plain request with the go-import page.
fn serve_proxy(mut stream: TcpStream, page: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(_) if h.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let resp = if line.starts_with("CONNECT ") {
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    } else if line.contains("go-get=1") {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    };
    let _ = stream.write_all(resp.as_bytes());
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
}

#[tokio::test]
async fn b_ssh_not_allowed_is_denied_without_connecting() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let f = sshd.fetcher(
        "cache",
        false,
        Some(sshd.key.clone()),
        Some(sshd.known_hosts.clone()),
    );
    let errs = all_fail(&f).await;
    for (op, e) in &errs {
        assert!(e.is_denied(), "{op}: expected a policy denial, got {e}");
        assert!(!e.is_not_found(), "{op}: {e}");
    }
    assert_no_secrets(&sshd, &errs);
    // sshd logs every TCP connection at LogLevel VERBOSE; give a stray one time to show.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        sshd.connections(),
        0,
        "sshd saw a connection:\n{}",
        sshd.log_text()
    );
}

#[tokio::test]
async fn c_wrong_host_key_fails_and_is_not_not_found() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    // A known_hosts naming another ed25519 key for [127.0.0.1]:port.
    let other = keygen(&sshd.path("other_host_ed25519"), "impostor").expect("keygen");
    let wrong = sshd.path("known_hosts_wrong");
    std::fs::write(&wrong, format!("[127.0.0.1]:{} {other}\n", sshd.port)).expect("write");
    let f = sshd.fetcher("cache", true, Some(sshd.key.clone()), Some(wrong));
    let errs = all_fail(&f).await;
    for (op, e) in &errs {
        assert!(
            !e.is_not_found(),
            "{op}: host key mismatch reported as not found: {e}"
        );
        assert!(!e.is_denied(), "{op}: {e}");
        let lower = e.to_string().to_ascii_lowercase();
        assert!(
            lower.contains("host key") || lower.contains("host identification"),
            "{op}: error does not say why: {e}"
        );
    }
    assert_no_secrets(&sshd, &errs);

    // A known_hosts that does not know the host at all.
    let empty = sshd.path("known_hosts_empty");
    std::fs::write(&empty, "").expect("write");
    let f = sshd.fetcher("cache-empty", true, Some(sshd.key.clone()), Some(empty));
    let errs = all_fail(&f).await;
    for (op, e) in &errs {
        assert!(
            !e.is_not_found(),
            "{op}: unknown host reported as not found: {e}"
        );
        assert!(
            e.to_string().to_ascii_lowercase().contains("host key"),
            "{op}: error does not say why: {e}"
        );
    }
    assert_no_secrets(&sshd, &errs);
    assert_eq!(
        sshd.accepted_logins(),
        0,
        "a login happened despite an unverified host key:\n{}",
        sshd.log_text()
    );
}

#[tokio::test]
async fn d_missing_or_wrong_key_fails_authentication() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let mut all = Vec::new();
    // No key configured.
    let f = sshd.fetcher("cache-nokey", true, None, Some(sshd.known_hosts.clone()));
    all.extend(all_fail(&f).await);
    // A valid key sshd does not authorize.
    let stranger = sshd.path("stranger_ed25519");
    keygen(&stranger, "stranger").expect("keygen");
    let f = sshd.fetcher(
        "cache-stranger",
        true,
        Some(stranger),
        Some(sshd.known_hosts.clone()),
    );
    all.extend(all_fail(&f).await);
    // The authorized key, but with permissions ssh refuses (0644): ignored, so no login.
    let loose = sshd.path("loose_ed25519");
    std::fs::copy(&sshd.key, &loose).expect("copy key");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let f = sshd.fetcher(
        "cache-loose",
        true,
        Some(loose),
        Some(sshd.known_hosts.clone()),
    );
    all.extend(all_fail(&f).await);
    // A key path that does not exist.
    let f = sshd.fetcher(
        "cache-missing",
        true,
        Some(sshd.path("no-such-key")),
        Some(sshd.known_hosts.clone()),
    );
    all.extend(all_fail(&f).await);
    for (op, e) in &all {
        assert!(
            !e.is_not_found(),
            "{op}: auth failure reported as not found: {e}"
        );
        assert!(!e.is_denied(), "{op}: {e}");
        assert!(
            e.to_string().contains("Permission denied"),
            "{op}: error does not say why: {e}"
        );
    }
    assert_no_secrets(&sshd, &all);
    assert_eq!(
        sshd.accepted_logins(),
        0,
        "a login happened without the authorized key:\n{}",
        sshd.log_text()
    );
    assert!(sshd.connections() > 0, "the attempts did reach sshd");
}

#[tokio::test]
async fn e_key_material_never_in_errors() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    // Point every credential slot at private key material: ssh reads it but
    // must not echo it. The private key as known_hosts (unparseable), and the
    // host's private key as the client key (valid, unauthorized).
    let f = sshd.fetcher(
        "cache-swapped",
        true,
        Some(sshd.path("host_ed25519")),
        Some(sshd.key.clone()),
    );
    let mut all = all_fail(&f).await;
    // A file that is not a key at all but holds the private key text plus junk.
    let junk = sshd.path("junk_key");
    let mut text = std::fs::read_to_string(&sshd.key).expect("key");
    text.insert_str(0, "garbage\n");
    std::fs::write(&junk, text).expect("write");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let f = sshd.fetcher(
        "cache-junk",
        true,
        Some(junk),
        Some(sshd.known_hosts.clone()),
    );
    all.extend(all_fail(&f).await);
    for (op, e) in &all {
        assert!(!e.is_not_found(), "{op}: {e}");
    }
    assert_no_secrets(&sshd, &all);
    // And the successful path's errors for a missing version carry no secrets either.
    let f = sshd.fetcher(
        "cache-ok",
        true,
        Some(sshd.key.clone()),
        Some(sshd.known_hosts.clone()),
    );
    let e = f
        .zip_with_hash(MODULE, "v9.9.9")
        .await
        .expect_err("no such version");
    assert!(e.is_not_found(), "missing version is not found: {e}");
    assert_no_secrets(&sshd, &[("zip v9.9.9", e)]);
}

/// (f) A host name in the URL: goxy connects to the address its egress check
/// resolved (ssh `HostName`) and checks the host key recorded for the name
/// (`HostKeyAlias`), exactly where ssh itself would look it up.
#[tokio::test]
async fn f_host_name_is_pinned_and_its_key_checked_under_the_name() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    if !std::net::ToSocketAddrs::to_socket_addrs(&("localhost", sshd.port))
        .is_ok_and(|mut a| a.next().is_some_and(|a| a.ip().is_loopback()))
    {
        eprintln!("SKIP: localhost does not resolve to loopback here");
        return;
    }
    let by_name = sshd.url.replacen("@127.0.0.1:", "@localhost:", 1);
    let host_pub = std::fs::read_to_string(sshd.path("host_ed25519.pub")).expect("host key");
    let host_pub = host_pub.trim();
    let fetcher = |cache: &str, known_hosts: PathBuf| {
        sshd.fetcher_at(
            &by_name,
            cache,
            true,
            Some(sshd.key.clone()),
            Some(known_hosts),
        )
    };
    let named = sshd.path("known_hosts_named");
    std::fs::write(&named, format!("[localhost]:{} {host_pub}\n", sshd.port)).expect("write");
    let f = fetcher("cache-named", named);
    let list = f.list(MODULE).await.expect("list by host name");
    assert_eq!(list, ["v1.0.0", "v1.1.0"]);
    f.zip_with_hash(MODULE, "v1.0.0")
        .await
        .expect("zip by host name");

    // The key recorded only for the address does not vouch for the name.
    let f = fetcher("cache-by-ip", sshd.known_hosts.clone());
    let errs = all_fail(&f).await;
    for (op, e) in &errs {
        assert!(!e.is_not_found(), "{op}: {e}");
        assert!(
            e.to_string().to_ascii_lowercase().contains("host key"),
            "{op}: error does not say why: {e}"
        );
    }
    assert_no_secrets(&sshd, &errs);
}

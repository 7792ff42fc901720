//! goxy's connection handling as a service: TLS with HTTP/2 by ALPN and a
//! certificate replaced without a restart, slow clients cut off by the
//! header deadline while normal requests go on, the connection limit, and a
//! graceful shutdown that lets a download in flight finish.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

/// A goxy child process; killed on drop.
struct Goxy {
    child: Child,
    url: String,
    stderr: PathBuf,
}

impl Drop for Goxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Goxy {
    fn start(dir: &Path, upstream: &str, config: &str) -> Goxy {
        let cfg = dir.join(format!("goxy-{}.toml", rand_u64()));
        std::fs::write(&cfg, config).unwrap();
        let stderr = dir.join(format!("stderr-{}.log", rand_u64()));
        let mut cmd = Command::new(goxy_bin());
        // Checksum database off: the fixture is in no public one, and tests run offline.
        cmd.args([
            "serve",
            "--sumdb",
            "off",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream,
            "--config",
        ])
        .arg(&cfg)
        .arg("--cache-dir")
        .arg(dir.join(format!("cache-{}", rand_u64())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GOXY_") {
                cmd.env_remove(name);
            }
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("goxy listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "no listening line: {line:?}; stderr: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            });
        Goxy {
            url: url.to_string(),
            child,
            stderr,
        }
    }

    fn addr(&self) -> String {
        self.url.split("://").nth(1).unwrap().to_string()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install {tool} (.ci/apt-packages.txt)"
        );
        eprintln!("skipped: {tool} is not installed");
    }
    found
}

fn http_status(addr: &str, path: &str) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(raw.get(..64).unwrap_or(&raw)).into_owned();
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response {text:?}")))
}

// ---- TLS ----

struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

fn make_ca() -> Ca {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "goxy test CA");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca { cert, key }
}

/// Writes a fresh leaf for localhost/127.0.0.1 to `cert`/`key`; returns its DER.
fn write_leaf(ca: &Ca, common_name: &str, cert: &Path, key: &Path) -> Vec<u8> {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = params.signed_by(&leaf_key, &ca.cert, &ca.key).unwrap();
    // Key first: a reader that sees the new cert also sees its key.
    std::fs::write(key.with_extension("tmp"), leaf_key.serialize_pem()).unwrap();
    std::fs::rename(key.with_extension("tmp"), key).unwrap();
    std::fs::write(cert.with_extension("tmp"), leaf.pem()).unwrap();
    std::fs::rename(cert.with_extension("tmp"), cert).unwrap();
    leaf.der().to_vec()
}

/// Handshakes with ALPN h2+http/1.1; returns the negotiated protocol and the served leaf.
fn handshake(addr: &str, ca: &Ca) -> (Option<Vec<u8>>, Vec<u8>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(addr).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).unwrap();
    }
    let leaf = conn.peer_certificates().unwrap()[0].to_vec();
    (conn.alpn_protocol().map(<[u8]>::to_vec), leaf)
}

/// A finished handshake with ALPN h2 and nothing sent after it.
fn silent_tls_client(addr: &str, ca: &Ca) -> (rustls::ClientConnection, TcpStream) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(addr).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).unwrap();
    }
    sock.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    (conn, sock)
}

#[test]
fn tls_h2_and_certificate_reload_without_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    let ca = make_ca();
    let first = write_leaf(&ca, "first", &cert, &key);
    let goxy = Goxy::start(
        tmp.path(),
        "off",
        &format!(
            "[connections]\nheader_read_timeout = 2\n[tls]\ncert = \"{}\"\nkey = \"{}\"\nreload_interval = 1\n",
            cert.display(),
            key.display()
        ),
    );
    assert!(goxy.url.starts_with("https://"), "{}", goxy.url);
    let addr = goxy.addr();
    let (alpn, served) = handshake(&addr, &ca);
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(served, first);

    if have("curl") {
        let ca_file = tmp.path().join("ca.pem");
        std::fs::write(&ca_file, ca.cert.pem()).unwrap();
        let port = addr.rsplit(':').next().unwrap();
        let out = Command::new("curl")
            .args([
                "-sS",
                "--http2",
                "-o",
                "/dev/null",
                "-w",
                "%{http_version} %{http_code}",
                "--cacert",
            ])
            .arg(&ca_file)
            .args([
                "--resolve",
                &format!("localhost:{port}:127.0.0.1"),
                &format!("https://localhost:{port}/healthz"),
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "2 200",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new("curl")
            .args([
                "-sS",
                "--http1.1",
                "-o",
                "/dev/null",
                "-w",
                "%{http_version} %{http_code}",
                "--cacert",
            ])
            .arg(&ca_file)
            .args([
                "--resolve",
                &format!("localhost:{port}:127.0.0.1"),
                &format!("https://localhost:{port}/healthz"),
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "1.1 200",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A client that completes the handshake (HTTP/2 by ALPN) and then says
    // nothing is dropped at the header deadline.
    let mut silent = silent_tls_client(&addr, &ca);
    let started = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        match silent.0.reader().read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    started.elapsed() < Duration::from_secs(8),
                    "silent TLS client still connected"
                );
                match silent.0.read_tls(&mut silent.1) {
                    Ok(0) => break,
                    Ok(_) => {
                        if silent.0.process_new_packets().is_err() {
                            break;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        panic!(
                            "silent TLS client still connected after {:?}",
                            started.elapsed()
                        )
                    }
                    Err(_) => break,
                }
            }
            Err(_) => break,
        }
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "closed too early: {:?}",
        started.elapsed()
    );

    // Replaced files are picked up by the modification-time check.
    let second = write_leaf(&ca, "second", &cert, &key);
    let deadline = Instant::now() + Duration::from_secs(10);
    while handshake(&addr, &ca).1 != second {
        assert!(
            Instant::now() < deadline,
            "new certificate not served; stderr:\n{}",
            goxy.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A broken replacement keeps the working certificate.
    std::fs::write(&cert, "not a certificate").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(handshake(&addr, &ca).1, second);
    // And SIGHUP reloads at once.
    let third = write_leaf(&ca, "third", &cert, &key);
    Command::new("kill")
        .args(["-HUP", &goxy.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while handshake(&addr, &ca).1 != third {
        assert!(
            Instant::now() < deadline,
            "certificate not reloaded on SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(goxy.stderr().contains("reload failed"), "{}", goxy.stderr());
}

// ---- slow clients and limits ----

#[test]
fn slow_clients_are_cut_off_and_normal_requests_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let goxy = Goxy::start(
        tmp.path(),
        "off",
        "[connections]\nmax = 64\nheader_read_timeout = 2\n",
    );
    let addr = goxy.addr();
    let started = Instant::now();
    // 30 clients that send one byte of a request line every 300 ms, and 10 that send nothing.
    let mut slow: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut closed_at: Vec<Option<Duration>> = vec![None; slow.len()];
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(6) && closed_at.iter().any(Option::is_none) {
        for (i, s) in slow.iter_mut().enumerate().take(30) {
            if closed_at[i].is_none()
                && sent < request.len() - 4
                && s.write_all(&request[sent..sent + 1]).is_err()
            {
                closed_at[i] = Some(started.elapsed());
            }
        }
        sent += 1;
        // Normal requests are answered meanwhile.
        assert_eq!(http_status(&addr, "/healthz").unwrap(), 200);
        for (i, s) in slow.iter_mut().enumerate() {
            if closed_at[i].is_some() {
                continue;
            }
            s.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 256];
            match s.read(&mut buf) {
                Ok(0) => closed_at[i] = Some(started.elapsed()),
                // hyper may answer a timed-out request with an error status before closing.
                Ok(_) => closed_at[i] = Some(started.elapsed()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => closed_at[i] = Some(started.elapsed()),
            }
            s.set_nonblocking(false).unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    for (i, at) in closed_at.iter().enumerate() {
        let at = at.unwrap_or_else(|| panic!("slow connection {i} still open after 6 s"));
        assert!(
            at >= Duration::from_millis(1500),
            "connection {i} closed too early: {at:?}"
        );
    }
    assert_eq!(http_status(&addr, "/healthz").unwrap(), 200);
}

#[test]
fn connections_over_the_limit_are_closed_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let goxy = Goxy::start(
        tmp.path(),
        "off",
        "[connections]\nmax = 4\nheader_read_timeout = 30\n",
    );
    let addr = goxy.addr();
    // Four connections that hold their slots (keep-alive after one request each).
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 512];
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(s.read(&mut buf).unwrap() > 0);
        held.push(s);
    }
    // The fifth is accepted and closed without an answer.
    let mut extra = TcpStream::connect(&addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = [0u8; 64];
    let n = extra.read(&mut buf).unwrap_or(0);
    assert_eq!(
        n,
        0,
        "over-limit connection was served: {:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    // Freeing a slot lets new clients in again.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match http_status(&addr, "/metrics") {
            Ok(200) => break,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            other => panic!("after freeing a slot: {other:?}"),
        }
    }
}

// ---- graceful shutdown ----

/// Deterministic incompressible bytes.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A file:// proxy tree with one module whose zip is about `size` bytes.
fn big_module(root: &Path, size: usize) -> Vec<u8> {
    let module = "example.test/big";
    let go_mod = format!("module {module}\n\ngo 1.21\n");
    let data = noise(size);
    let files = [
        goxy_zip::SourceFile {
            path: "go.mod",
            kind: goxy_zip::FileKind::Regular,
            data: go_mod.as_bytes(),
        },
        goxy_zip::SourceFile {
            path: "blob.bin",
            kind: goxy_zip::FileKind::Regular,
            data: &data,
        },
    ];
    let zip = goxy_zip::create_zip(module, "v1.0.0", &files).unwrap().zip;
    let dir = root.join("example.test/big/@v");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("list"), "v1.0.0\n").unwrap();
    std::fs::write(
        dir.join("v1.0.0.info"),
        "{\"Version\":\"v1.0.0\",\"Time\":\"2024-01-01T00:00:00Z\"}",
    )
    .unwrap();
    std::fs::write(dir.join("v1.0.0.mod"), &go_mod).unwrap();
    std::fs::write(dir.join("v1.0.0.zip"), &zip).unwrap();
    zip
}

#[test]
fn sigterm_lets_a_slow_download_finish_and_refuses_new_connections() {
    if !have("curl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let proxy = tmp.path().join("proxy");
    let zip = big_module(&proxy, 24 << 20);
    let goxy = Goxy::start(tmp.path(), &format!("file://{}", proxy.display()), "");
    let addr = goxy.addr();
    let url = format!("http://{addr}/example.test/big/@v/v1.0.0.zip");
    // Warm the cache so the slow part is the client, not the fill.
    assert_eq!(
        http_status(&addr, "/example.test/big/@v/v1.0.0.zip").unwrap(),
        200
    );
    let out_file = tmp.path().join("download.zip");
    let download = Command::new("curl")
        .args(["-sS", "--limit-rate", "6M", "-o"])
        .arg(&out_file)
        .args(["-w", "%{http_code}", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let sent_term = Instant::now();
    Command::new("kill")
        .args(["-TERM", &goxy.child.id().to_string()])
        .status()
        .unwrap();
    // New connections are refused once the listener is closed.
    let deadline = Instant::now() + Duration::from_secs(3);
    while TcpStream::connect(&addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting connections after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let done = download.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        "200",
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let got = std::fs::read(&out_file).unwrap();
    assert_eq!(got.len(), zip.len());
    assert!(got == zip, "downloaded bytes differ");
    assert!(
        sent_term.elapsed() > Duration::from_millis(500),
        "download finished before the signal mattered"
    );
    // And goxy exits on its own once the download is done.
    let mut goxy = goxy;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = goxy.child.try_wait().unwrap() {
            assert!(
                status.success(),
                "exit status {status}; stderr:\n{}",
                goxy.stderr()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "goxy did not exit after the download finished"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn metric(addr: &str, name: &str) -> f64 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    raw.lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame.
const H2_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
/// A PING frame (8 bytes of opaque data).
const H2_PING: &[u8] = &[0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];

/// 2,000 HTTP/2 cleartext connections that send the preface and keep
/// PINGing but never make a request do not hold their slots: a normal
/// request is served while they are open, and goxy closes them all once they
/// have been idle for the limit, PINGs notwithstanding. An HTTP/1 keep-alive
/// connection left idle is closed too.
#[test]
fn idle_http2_and_keep_alive_connections_are_closed_pings_notwithstanding() {
    let tmp = tempfile::tempdir().unwrap();
    let goxy = Goxy::start(
        tmp.path(),
        "off",
        "[connections]\nmax = 3000\nheader_read_timeout = 2\nidle_timeout = 2\n",
    );
    let addr = goxy.addr();
    let mut idle: Vec<TcpStream> = Vec::with_capacity(2000);
    for i in 0..2000 {
        let mut s = TcpStream::connect(&addr)
            .unwrap_or_else(|e| panic!("connect {i}: {e}\n{}", goxy.stderr()));
        s.write_all(H2_PREFACE).unwrap();
        s.write_all(H2_SETTINGS).unwrap();
        s.write_all(H2_PING).unwrap();
        idle.push(s);
    }
    // A keep-alive HTTP/1 connection that made one request and then idles.
    let mut keep = TcpStream::connect(&addr).unwrap();
    write!(keep, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut buf = [0u8; 4096];
    keep.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert!(keep.read(&mut buf).unwrap() > 0);

    let started = Instant::now();
    assert_eq!(http_status(&addr, "/healthz").unwrap(), 200);
    let took = started.elapsed();
    eprintln!("normal request beside 2000 idle HTTP/2 connections: {took:?}");
    assert!(
        took < Duration::from_secs(3),
        "normal request took {took:?}"
    );

    // Keep PINGing; every connection must still be closed within the limit plus slack.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for s in idle.iter_mut() {
            let _ = s.write_all(H2_PING);
        }
        let open = metric(&addr, "goxy_connections_open");
        if open <= 2.0 {
            eprintln!("idle connections closed after {:?}", started.elapsed());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} connections still open 30 s after they went idle"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(metric(&addr, "goxy_connections_idle_closed_total") >= 2000.0);
    // The keep-alive connection was closed too: the read ends (EOF or reset).
    keep.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let ended = match keep.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    assert!(ended, "idle keep-alive connection still open");
    assert_eq!(http_status(&addr, "/healthz").unwrap(), 200);
}

//! Binary-level tests of `goxy doctor`, `goxy mirrors`, `goxy env` and
//! `goxy prewarm` against loopback servers started here: plain, slow,
//! failing, 403, self-signed TLS, TLS from an untrusted "corporate" CA,
//! wrong-host TLS, an HTTP CONNECT proxy, mirrors without checksum-database
//! support and stale mirrors. Nothing leaves the machine.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What a test server answers for one request path.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    delay: Duration,
    location: Option<String>,
}

fn reply(status: u16, body: impl Into<Vec<u8>>) -> Reply {
    Reply {
        status,
        body: body.into(),
        delay: Duration::ZERO,
        location: None,
    }
}

type Handler = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

/// Starts a loopback HTTP(S) server on its own thread; returns its address.
fn start_server(tls: Option<Arc<rustls::ServerConfig>>, handler: Handler) -> SocketAddr {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = handler.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(cfg) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
                            if let Ok(s) = acceptor.accept(stream).await {
                                serve_one(s, handler).await;
                            }
                        }
                        None => serve_one(stream, handler).await,
                    }
                });
            }
        });
    });
    addr
}

/// Reads a request head. Like real HTTP servers, answers 400 at once to
/// anything that does not start like a request (e.g. a TLS ClientHello).
async fn read_head<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 65536 || s.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        if head.is_empty() && !byte[0].is_ascii_uppercase() {
            let _ = s
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            let _ = s.shutdown().await;
            return None;
        }
        head.extend_from_slice(&byte);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, handler: Handler) {
    let Some(head) = read_head(&mut s).await else {
        return;
    };
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    // Absolute-form targets (through a proxy) carry scheme and host.
    let path = match target.split_once("://") {
        Some((_, rest)) => rest
            .find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or_else(|| "/".into()),
        None => target,
    };
    let r = handler(&path);
    tokio::time::sleep(r.delay).await;
    let location = r
        .location
        .as_ref()
        .map(|l| format!("Location: {l}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: text/plain; charset=utf-8\r\n{location}Content-Length: {}\r\nConnection: close\r\n\r\n",
        r.status,
        r.body.len()
    );
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(&r.body).await;
    let _ = s.shutdown().await;
}

/// A proxy answering `CONNECT` with `connect_status`, tunnelling to `backend` on 200.
fn start_connect_proxy(connect_status: u16, backend: SocketAddr) -> SocketAddr {
    start_connect_proxy_with(connect_status, backend, None)
}

/// A CONNECT proxy; with `tls`, the proxy itself speaks TLS (an https:// proxy).
fn start_connect_proxy_with(
    connect_status: u16,
    backend: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> SocketAddr {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(cfg) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
                            if let Ok(s) = acceptor.accept(client).await {
                                tunnel(s, connect_status, backend).await;
                            }
                        }
                        None => tunnel(client, connect_status, backend).await,
                    }
                });
            }
        });
    });
    addr
}

async fn tunnel<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: S,
    connect_status: u16,
    backend: SocketAddr,
) {
    let Some(head) = read_head(&mut client).await else {
        return;
    };
    if !head.starts_with("CONNECT ") {
        return;
    }
    let answer = format!("HTTP/1.1 {connect_status} X\r\nContent-Length: 0\r\n\r\n");
    let _ = client.write_all(answer.as_bytes()).await;
    if connect_status != 200 {
        return;
    }
    if let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

// ---- certificates ----

struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

fn make_ca(common_name: &str) -> Ca {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Example Corp");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("ca cert");
    Ca { cert, key }
}

fn server_config(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: &rcgen::KeyPair,
) -> Arc<rustls::ServerConfig> {
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server cert");
    Arc::new(cfg)
}

/// A TLS server config whose leaf names `names` and is signed by `ca` (self-signed when None).
fn tls_for(names: &[&str], ca: Option<&Ca>) -> Arc<rustls::ServerConfig> {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("params");
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().copied().unwrap_or("leaf"),
    );
    let key = rcgen::KeyPair::generate().expect("key");
    match ca {
        Some(ca) => {
            let leaf = params.signed_by(&key, &ca.cert, &ca.key).expect("leaf");
            server_config(vec![leaf.der().clone(), ca.cert.der().clone()], &key)
        }
        None => {
            let leaf = params.self_signed(&key).expect("self-signed");
            server_config(vec![leaf.der().clone()], &key)
        }
    }
}

// ---- running goxy ----

/// A goxy command with a clean environment: no Go settings but the ones a test sets.
fn goxy(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_goxy"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GOENV", home.join("goenv"))
        .env("GOTOOLCHAIN", "local")
        .env("GOCACHE", home.join("gocache"))
        .env("GOPATH", home.join("gopath"))
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out: Output = cmd.output().expect("run goxy");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `goxy doctor --json` with the given environment; skips the toolchain lookup.
fn doctor_json(home: &Path, env: &[(&str, &str)], extra: &[&str]) -> (i32, Value) {
    let mut cmd = goxy(home);
    cmd.args(["doctor", "--json", "--go", "/nonexistent/go"])
        .args(extra);
    if !extra.contains(&"--timeout-ms") {
        cmd.args(["--timeout-ms", "1500"]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, stdout, stderr) = run(&mut cmd);
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("doctor JSON: {e}\nstdout:{stdout}\nstderr:{stderr}"));
    (code, json)
}

fn cause(report: &Value) -> String {
    report["first_failure"]["cause"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn message(report: &Value) -> String {
    report["first_failure"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn list_handler(versions: &'static str, sumdb_supported: bool) -> Handler {
    Arc::new(move |path: &str| match path {
        "/golang.org/x/mod/@v/list" | "/example.com/fresh/@v/list" => reply(200, versions),
        p if p.ends_with("/supported") => reply(if sumdb_supported { 200 } else { 404 }, ""),
        p if p.ends_with("/latest") => reply(200, "sumdb.test\n1\nAAAA\n"),
        _ => reply(404, "not found"),
    })
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

// ---- doctor ----

#[test]
fn doctor_healthy_proxy_with_sumdb_exits_zero_without_colours() {
    let home = tempdir();
    let addr = start_server(None, list_handler("v0.1.0\n", true));
    let url = format!("http://{addr}");
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &url), ("GOSUMDB", "sumdb.test")],
        &[],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["fetch_would_work"], true);
    assert_eq!(report["schema_version"], 1);
    let roles: Vec<&str> = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["proxy", "sumdb_supported", "sumdb"]);
    let sumdb = &report["probes"][2]["probe"];
    assert_eq!(sumdb["url"], format!("{url}/sumdb/sumdb.test/latest"));
    let steps: Vec<&str> = report["probes"][0]["probe"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, vec!["dns", "tcp", "http"]);
    assert_eq!(report["config"]["GOPROXY"]["source"], "environment");

    // Piped text output: no ANSI escapes, and the verdict is stated.
    let (code, text, _) = run(goxy(home.path())
        .args(["doctor", "--go", "/nonexistent/go"])
        .env("GOPROXY", &url)
        .env("GOSUMDB", "sumdb.test"));
    assert_eq!(code, 0);
    assert!(
        !text.contains('\x1b'),
        "ANSI escape in piped output:\n{text}"
    );
    assert!(text.contains("fetching modules would work"), "{text}");
}

#[test]
fn doctor_names_403() {
    let home = tempdir();
    let addr = start_server(None, Arc::new(|_: &str| reply(403, "forbidden by policy")));
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &format!("http://{addr}")), ("GOSUMDB", "off")],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "http-403", "{report:#}");
    assert!(
        message(&report).contains("the server says: forbidden by policy"),
        "{}",
        message(&report)
    );
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "gosumdb-off"));
}

#[test]
fn doctor_403_after_pipe_falls_through_to_next_entry() {
    let home = tempdir();
    let bad = start_server(None, Arc::new(|_: &str| reply(403, "")));
    let good = start_server(None, list_handler("v0.1.0\n", false));
    let goproxy = format!("http://{bad}|http://{good}");
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &goproxy), ("GOSUMDB", "off")],
        &[],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["probes"][0]["verdict"], "fall_through");
    assert_eq!(report["probes"][1]["verdict"], "ok");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "proxy-entry-failing"),
        "the failing first entry is still worth a warning"
    );
    // With a comma, 403 is terminal.
    let goproxy = format!("http://{bad},http://{good}");
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &goproxy), ("GOSUMDB", "off")],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "http-403");
    assert_eq!(report["probes"][1]["verdict"], "skipped");
}

#[test]
fn doctor_names_server_errors_and_refused_connections() {
    let home = tempdir();
    let failing = start_server(None, Arc::new(|_: &str| reply(502, "bad gateway")));
    let (code, report) = doctor_json(
        home.path(),
        &[
            ("GOPROXY", &format!("http://{failing}")),
            ("GOSUMDB", "off"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "http-5xx");

    let port = closed_port();
    let (code, report) = doctor_json(
        home.path(),
        &[
            ("GOPROXY", &format!("http://127.0.0.1:{port}")),
            ("GOSUMDB", "off"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "tcp-failed", "{report:#}");
    assert_eq!(report["probes"][0]["probe"]["failure"]["step"], "tcp");
}

#[test]
fn doctor_reports_a_hanging_server_as_timeout_quickly() {
    let home = tempdir();
    let slow = start_server(
        None,
        Arc::new(|_: &str| Reply {
            status: 200,
            body: b"v0.1.0\n".to_vec(),
            delay: Duration::from_secs(20),
            location: None,
        }),
    );
    let started = Instant::now();
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &format!("http://{slow}")), ("GOSUMDB", "off")],
        &["--timeout-ms", "600"],
    );
    let took = started.elapsed();
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "http-timeout", "{report:#}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let http = report["probes"][0]["probe"]["steps"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(http["step"], "http");
    assert!(http["ms"].as_u64().unwrap() >= 550);
}

#[test]
fn doctor_self_signed_tls() {
    let home = tempdir();
    let addr = start_server(
        Some(tls_for(&["127.0.0.1"], None)),
        list_handler("v0.1.0\n", true),
    );
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &format!("https://{addr}")), ("GOSUMDB", "off")],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "tls-self-signed", "{report:#}");
    let tls = &report["probes"][0]["probe"]["tls"];
    assert_eq!(tls["self_signed"], true);
    assert_eq!(tls["issuer_is_public_ca"], false);
    assert!(message(&report).contains("unknown authority"));
}

#[test]
fn doctor_flags_an_intercepting_ca() {
    let home = tempdir();
    let ca = make_ca("Example Corp Web Gateway CA");
    let addr = start_server(
        Some(tls_for(&["127.0.0.1"], Some(&ca))),
        list_handler("v0.1.0\n", true),
    );
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &format!("https://{addr}")), ("GOSUMDB", "off")],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "tls-unknown-authority", "{report:#}");
    let tls = &report["probes"][0]["probe"]["tls"];
    assert_eq!(tls["looks_intercepting"], true);
    assert!(tls["issuer"]
        .as_str()
        .unwrap()
        .contains("Example Corp Web Gateway CA"));
    assert!(
        message(&report).contains("intercepting"),
        "{}",
        message(&report)
    );
    let fix = report["first_failure"]["fix"].as_str().unwrap();
    assert!(
        fix.contains("SSL_CERT_FILE") && fix.contains("not the fix"),
        "{fix}"
    );

    // Trusting that CA (as the fix says) makes the same server work.
    let ca_file = home.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &format!("https://{addr}")), ("GOSUMDB", "off")],
        &["--ca-file", ca_file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report:#}");
    // SSL_CERT_FILE is honoured the same way.
    let (code, _) = doctor_json(
        home.path(),
        &[
            ("GOPROXY", &format!("https://{addr}")),
            ("GOSUMDB", "off"),
            ("SSL_CERT_FILE", ca_file.to_str().unwrap()),
        ],
        &[],
    );
    assert_eq!(code, 0);
}

#[test]
fn doctor_wrong_host_certificate() {
    let home = tempdir();
    let ca = make_ca("Test Root");
    let ca_file = home.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let addr = start_server(
        Some(tls_for(&["wrong.example"], Some(&ca))),
        list_handler("v0.1.0\n", true),
    );
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &format!("https://{addr}")), ("GOSUMDB", "off")],
        &["--ca-file", ca_file.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "tls-wrong-host", "{report:#}");
    assert!(message(&report).contains("wrong.example"));
}

#[test]
fn doctor_goes_through_https_proxy_and_reports_the_hop() {
    let home = tempdir();
    let ca = make_ca("Test Root");
    let ca_file = home.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    // The target name is never resolved: the proxy does that (here: it always tunnels to the backend).
    let backend = start_server(
        Some(tls_for(&["goxy-test.invalid"], Some(&ca))),
        list_handler("v0.1.0\n", true),
    );
    let proxy = start_connect_proxy(200, backend);
    let proxy_url = format!("http://{proxy}");
    let env = [
        ("GOPROXY", "https://goxy-test.invalid"),
        ("GOSUMDB", "off"),
        ("HTTPS_PROXY", proxy_url.as_str()),
    ];
    let (code, report) = doctor_json(home.path(), &env, &["--ca-file", ca_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    let probe = &report["probes"][0]["probe"];
    assert_eq!(probe["via_proxy"], proxy_url);
    let steps: Vec<&str> = probe["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, vec!["dns", "tcp", "proxy_connect", "tls", "http"]);

    let refusing = start_connect_proxy(403, backend);
    let refusing_url = format!("http://{refusing}");
    let env = [
        ("GOPROXY", "https://goxy-test.invalid"),
        ("GOSUMDB", "off"),
        ("HTTPS_PROXY", refusing_url.as_str()),
    ];
    let (code, report) = doctor_json(home.path(), &env, &["--ca-file", ca_file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "proxy-connect-refused", "{report:#}");
}

#[test]
fn doctor_config_traps() {
    let home = tempdir();
    let addr = start_server(None, list_handler("v0.1.0\n", true));
    let url = format!("http://{addr}");
    std::fs::write(
        home.path().join("goenv"),
        "GOPROXY=https://other.example\nGOPRIVATE=git.corp.example\n",
    )
    .unwrap();
    let env = [
        ("GOPROXY", url.as_str()),
        ("GOSUMDB", "off"),
        ("GOFLAGS", "-insecure"),
        ("GONOSUMDB", "other.example"),
        ("GONOSUMCHECK", "1"),
    ];
    let (code, report) = doctor_json(home.path(), &env, &[]);
    assert_eq!(code, 1, "a removed flag in GOFLAGS breaks every go command");
    assert_eq!(cause(&report), "goflags-removed-flag");
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    for want in [
        "env-overrides-goenv-file",
        "goflags-removed-flag",
        "gosumdb-off",
        "goprivate-not-in-gonosumdb",
        "ignored-variable",
    ] {
        assert!(ids.contains(&want), "missing {want} in {ids:?}");
    }
    assert_eq!(report["config"]["GOPRIVATE"]["source"], "goenv_file");
    assert_eq!(report["config"]["GOPROXY"]["value"], url);
}

#[test]
fn doctor_goproxy_off_fails_without_probing() {
    let home = tempdir();
    let (code, report) = doctor_json(home.path(), &[("GOPROXY", "off"), ("GOSUMDB", "off")], &[]);
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "goproxy-off");
    assert_eq!(report["probes"].as_array().unwrap().len(), 0);
}

// ---- mirrors ----

fn mirrors_catalog(home: &Path) -> (PathBuf, SocketAddr, SocketAddr, SocketAddr) {
    let good = start_server(None, list_handler("v0.1.0\nv0.2.0\n", true));
    let stale = start_server(None, list_handler("v0.1.0\n", true));
    let nosumdb = start_server(None, list_handler("v0.2.0\nv0.1.0\n", false));
    let down = closed_port();
    let path = home.join("catalog.toml");
    let text = format!(
        "freshness_module = \"example.com/fresh\"\n\
         [[mirror]]\nname = \"good\"\nurl = \"http://{good}\"\n\
         [[mirror]]\nname = \"stale\"\nurl = \"http://{stale}\"\n\
         [[mirror]]\nname = \"nosumdb\"\nurl = \"http://{nosumdb}\"\n\
         [[mirror]]\nname = \"down\"\nurl = \"http://127.0.0.1:{down}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    (path, good, stale, nosumdb)
}

/// The recommendation chains exactly the two usable mirrors (stale and down
/// ones excluded) with `|` and ends in direct. Their order depends on measured
/// latency as well, so both orders are accepted here; scoring is unit-tested.
fn is_the_two_usable_mirrors(goproxy: &str, good: SocketAddr, nosumdb: SocketAddr) -> bool {
    let a = format!("http://{good}|http://{nosumdb},direct");
    let b = format!("http://{nosumdb}|http://{good},direct");
    goproxy == a || goproxy == b
}

#[test]
fn mirrors_scores_stale_and_no_sumdb_and_down() {
    let home = tempdir();
    let (catalog, good, _, nosumdb) = mirrors_catalog(home.path());
    let mut cmd = goxy(home.path());
    cmd.args([
        "mirrors",
        "--json",
        "--only-catalog",
        "--go",
        "/nonexistent/go",
        "--timeout-ms",
        "1500",
        "--catalog",
    ])
    .arg(&catalog)
    .env("GOSUMDB", "sumdb.test");
    let (code, stdout, stderr) = run(&mut cmd);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let by_name: HashMap<&str, &Value> = report["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m))
        .collect();
    assert_eq!(report["newest_version"], "v0.2.0");
    assert_eq!(by_name["good"]["fresh"], true);
    assert_eq!(by_name["good"]["sumdb_supported"], true);
    assert_eq!(by_name["good"]["success_rate"], 1.0);
    assert_eq!(by_name["stale"]["fresh"], false);
    assert_eq!(by_name["stale"]["newest_version"], "v0.1.0");
    assert_eq!(by_name["nosumdb"]["sumdb_supported"], false);
    assert_eq!(by_name["down"]["successes"], 0);
    assert!(by_name["down"]["last_error"]
        .as_str()
        .unwrap()
        .contains("tcp"));
    let recommended = report["recommended_goproxy"].as_str().unwrap();
    assert!(
        is_the_two_usable_mirrors(recommended, good, nosumdb),
        "{recommended}"
    );
    // Equal latency budgets: the mirror with checksum-database support scores higher.
    if by_name["good"]["p90_ms"].as_u64() <= by_name["nosumdb"]["p90_ms"].as_u64() {
        assert!(by_name["good"]["score"].as_f64() > by_name["nosumdb"]["score"].as_f64());
    }

    // Text output names the stale mirror and has no colours when piped.
    let mut cmd = goxy(home.path());
    cmd.args([
        "mirrors",
        "--only-catalog",
        "--go",
        "/nonexistent/go",
        "--rounds",
        "1",
        "--catalog",
    ])
    .arg(&catalog)
    .env("GOSUMDB", "sumdb.test");
    let (code, text, _) = run(&mut cmd);
    assert_eq!(code, 0);
    assert!(
        text.contains("STALE") && text.contains("Recommended: GOPROXY="),
        "{text}"
    );
    assert!(!text.contains('\x1b'));
}

#[test]
fn mirrors_apply_writes_goenv_only_with_yes() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let home = tempdir();
    let (catalog, good, _, nosumdb) = mirrors_catalog(home.path());
    let goenv = home.path().join("goenv");
    let base = |cmd: &mut Command| {
        cmd.args([
            "mirrors",
            "--only-catalog",
            "--rounds",
            "1",
            "--apply",
            "--goprivate",
            "git.corp.example",
            "--catalog",
        ])
        .arg(&catalog)
        .env("GOSUMDB", "sumdb.test");
    };
    let mut cmd = goxy(home.path());
    base(&mut cmd);
    let (code, _, stderr) = run(&mut cmd);
    assert_eq!(
        code, 2,
        "stdin is not a terminal: must refuse without --yes\n{stderr}"
    );
    assert!(
        stderr.contains("+ GOPROXY=") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert!(!goenv.exists(), "nothing written without --yes");

    let mut cmd = goxy(home.path());
    base(&mut cmd);
    cmd.arg("--yes");
    let (code, _, stderr) = run(&mut cmd);
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read_to_string(&goenv).unwrap();
    let line = written
        .lines()
        .find_map(|l| l.strip_prefix("GOPROXY="))
        .unwrap_or_else(|| panic!("no GOPROXY in {written}"));
    assert!(is_the_two_usable_mirrors(line, good, nosumdb), "{written}");
    assert!(written.contains("GOPRIVATE=git.corp.example"), "{written}");
}

// ---- env ----

#[test]
fn env_prints_each_shell() {
    let home = tempdir();
    let cases = [
        ("bash", "export GOPROXY='http://127.0.0.1:8080,direct'"),
        ("fish", "set -gx GOPROXY 'http://127.0.0.1:8080,direct'"),
        (
            "powershell",
            "$env:GOPROXY = 'http://127.0.0.1:8080,direct'",
        ),
        ("goenv", "GOPROXY=http://127.0.0.1:8080,direct"),
    ];
    for (shell, want) in cases {
        let (code, out, err) = run(goxy(home.path()).args([
            "env",
            "--shell",
            shell,
            "--server",
            "http://127.0.0.1:8080/",
            "--goprivate",
            "git.corp.example",
        ]));
        assert_eq!(code, 0, "{err}");
        assert!(out.lines().any(|l| l == want), "{shell}: {out}");
        assert!(out.contains("GOPRIVATE"), "{out}");
    }
    let (code, _, _) = run(goxy(home.path()).args(["env"]));
    assert_eq!(code, 2, "nothing to print is a usage error");
}

// ---- prewarm ----

struct Fixture {
    files: HashMap<String, Vec<u8>>,
    go_sum: String,
}

fn module_fixture() -> Fixture {
    let mut files = HashMap::new();
    let mut go_sum = String::new();
    for (path, escaped, version) in [
        ("example.com/hello", "example.com/hello", "v1.0.0"),
        ("example.com/Upper", "example.com/!upper", "v0.1.0"),
    ] {
        let go_mod = format!("module {path}\n\ngo 1.21\n");
        let source = b"package hello\n\nfunc Hello() string { return \"hi\" }\n".to_vec();
        let zip = goxy_zip::create_zip(
            path,
            version,
            &[
                goxy_zip::SourceFile {
                    path: "go.mod",
                    kind: goxy_zip::FileKind::Regular,
                    data: go_mod.as_bytes(),
                },
                goxy_zip::SourceFile {
                    path: "hello.go",
                    kind: goxy_zip::FileKind::Regular,
                    data: &source,
                },
            ],
        )
        .expect("create zip");
        go_sum.push_str(&format!("{path} {version} {}\n", zip.h1));
        go_sum.push_str(&format!(
            "{path} {version}/go.mod {}\n",
            goxy_zip::hash_go_mod(go_mod.as_bytes())
        ));
        let prefix = format!("/{escaped}/@v/{version}");
        files.insert(
            format!("{prefix}.info"),
            format!("{{\"Version\":\"{version}\",\"Time\":\"2024-01-01T00:00:00Z\"}}").into_bytes(),
        );
        files.insert(format!("{prefix}.mod"), go_mod.into_bytes());
        files.insert(format!("{prefix}.zip"), zip.zip);
    }
    Fixture { files, go_sum }
}

fn static_server(files: HashMap<String, Vec<u8>>) -> SocketAddr {
    let files = Arc::new(files);
    start_server(
        None,
        Arc::new(move |path: &str| match files.get(path) {
            Some(b) => reply(200, b.clone()),
            None => reply(404, "not found"),
        }),
    )
}

#[test]
fn prewarm_fetches_and_verifies_against_go_sum() {
    let home = tempdir();
    let fx = module_fixture();
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("go.sum"), &fx.go_sum).unwrap();
    std::fs::write(
        project.join("go.mod"),
        "module example.com/app\n\nrequire example.com/hello v1.0.0\n",
    )
    .unwrap();

    let good = static_server(fx.files.clone());
    let (code, out, err) = run(goxy(home.path())
        .args(["prewarm", "--proxy", &format!("http://{good}")])
        .arg(&project));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("2 module versions: 2 ok, 0 failed to fetch, 0 did not match go.sum"),
        "{out}"
    );
    assert!(
        !out.contains('\x1b') && !err.contains('\x1b'),
        "no progress bar or colours when piped"
    );

    // go.mod input, proxy from GOPROXY's first http entry.
    let (code, out, _) = run(goxy(home.path())
        .args(["prewarm"])
        .arg(project.join("go.mod"))
        .env("GOPROXY", format!("http://{good},direct")));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 module versions: 1 ok"), "{out}");

    // A tampered go.mod and a missing zip are both reported, and the exit code says so.
    let mut bad_files = fx.files.clone();
    bad_files.insert(
        "/example.com/hello/@v/v1.0.0.mod".into(),
        b"module example.com/hello\n\ngo 1.22\n".to_vec(),
    );
    bad_files.remove("/example.com/!upper/@v/v0.1.0.zip");
    let bad = static_server(bad_files);
    let (code, out, _) = run(goxy(home.path())
        .args(["prewarm", "--proxy", &format!("http://{bad}")])
        .arg(project.join("go.sum")));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("MISMATCH: example.com/hello@v1.0.0: go.mod hash mismatch"),
        "{out}"
    );
    assert!(
        out.contains("fetch failed: example.com/Upper@v0.1.0") && out.contains("404"),
        "{out}"
    );
    assert!(
        out.contains("0 ok, 1 failed to fetch, 1 did not match go.sum"),
        "{out}"
    );

    // A go.mod is checked against the go.sum beside it.
    let (code, out, _) = run(goxy(home.path())
        .args(["prewarm", "--proxy", &format!("http://{bad}")])
        .arg(project.join("go.mod")));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("MISMATCH: example.com/hello@v1.0.0: go.mod hash mismatch"),
        "{out}"
    );
}

#[test]
fn prewarm_rejects_bad_input() {
    let home = tempdir();
    let sum = home.path().join("go.sum");
    let mut f = std::fs::File::create(&sum).unwrap();
    writeln!(f, "not a line").unwrap();
    let (code, _, err) = run(goxy(home.path())
        .args(["prewarm", "--proxy", "http://127.0.0.1:9"])
        .arg(&sum));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("go.sum line 1"), "{err}");
}

#[test]
fn doctor_direct_only_probes_the_code_host() {
    let home = tempdir();
    let ca = make_ca("Test Root");
    let ca_file = home.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let code_host = start_server(
        Some(tls_for(&["goxy-test.invalid"], Some(&ca))),
        Arc::new(|path: &str| {
            match path {
            "/mod?go-get=1" => reply(200, "<meta name=\"go-import\" content=\"goxy-test.invalid/mod git https://goxy-test.invalid/mod\">"),
            _ => reply(404, ""),
        }
        }),
    );
    let args = [
        "--module",
        "goxy-test.invalid/mod",
        "--ca-file",
        ca_file.to_str().unwrap(),
    ];

    // A network whose proxy lets the code host through: direct works, with a warning.
    let open = format!("http://{}", start_connect_proxy(200, code_host));
    let env = [
        ("GOPROXY", "direct"),
        ("GOSUMDB", "off"),
        ("HTTPS_PROXY", open.as_str()),
    ];
    let (code, report) = doctor_json(home.path(), &env, &args);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["probes"][0]["role"], "direct");
    assert_eq!(
        report["probes"][0]["probe"]["url"],
        "https://goxy-test.invalid/mod?go-get=1"
    );
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "goproxy-direct-only"));

    // A network that blocks code hosts: the root cause says so.
    let blocking = format!("http://{}", start_connect_proxy(403, code_host));
    let env = [
        ("GOPROXY", "direct"),
        ("GOSUMDB", "off"),
        ("HTTPS_PROXY", blocking.as_str()),
    ];
    let (code, report) = doctor_json(home.path(), &env, &args);
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "direct-proxy-connect-refused", "{report:#}");
    assert!(report["first_failure"]["fix"]
        .as_str()
        .unwrap()
        .contains("module proxy before direct"));
}

#[test]
fn doctor_reports_what_go_itself_rejects() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let home = tempdir();
    let addr = start_server(None, list_handler("v0.1.0\n", true));
    let mut cmd = goxy(home.path());
    cmd.args(["doctor", "--json", "--timeout-ms", "1500"])
        .env("GOPROXY", format!("http://{addr}"))
        .env("GOSUMDB", "off")
        .env("GOFLAGS", "-modcacherw -no-such-flag");
    let (code, stdout, stderr) = run(&mut cmd);
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(cause(&report), "go-rejects-config");
    assert!(
        message(&report).contains("unknown flag -no-such-flag"),
        "{}",
        message(&report)
    );
}

#[test]
fn doctor_follows_redirects_but_not_to_plain_http_from_https() {
    let home = tempdir();
    let target = start_server(None, list_handler("v0.1.0\n", true));
    let target_url = format!("http://{target}");
    let moved = target_url.clone();
    let redirecting = start_server(
        None,
        Arc::new(move |path: &str| Reply {
            location: Some(format!("{moved}{path}")),
            ..reply(302, "")
        }),
    );
    let (code, report) = doctor_json(
        home.path(),
        &[
            ("GOPROXY", &format!("http://{redirecting}")),
            ("GOSUMDB", "off"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{report:#}");
    let probe = &report["probes"][0]["probe"];
    assert_eq!(
        probe["url"],
        format!("{target_url}/golang.org/x/mod/@v/list")
    );
    assert_eq!(
        probe["redirected_from"][0],
        format!("http://{redirecting}/golang.org/x/mod/@v/list")
    );

    // https -> http is refused, as go does.
    let ca = make_ca("Test Root");
    let ca_file = home.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let moved = target_url.clone();
    let tls_redirecting = start_server(
        Some(tls_for(&["127.0.0.1"], Some(&ca))),
        Arc::new(move |path: &str| Reply {
            location: Some(format!("{moved}{path}")),
            ..reply(301, "")
        }),
    );
    let (code, report) = doctor_json(
        home.path(),
        &[
            ("GOPROXY", &format!("https://{tls_redirecting}")),
            ("GOSUMDB", "off"),
        ],
        &["--ca-file", ca_file.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "redirect-insecure", "{report:#}");
}

#[test]
fn doctor_checks_the_checksum_database_path() {
    let home = tempdir();
    // The proxy says it proxies the database, but the database behind it fails.
    let broken = start_server(
        None,
        Arc::new(|path: &str| match path {
            "/golang.org/x/mod/@v/list" => reply(200, "v0.1.0\n"),
            "/sumdb/sumdb.test/supported" => reply(200, ""),
            _ => reply(503, "upstream checksum database unreachable"),
        }),
    );
    let (code, report) = doctor_json(
        home.path(),
        &[
            ("GOPROXY", &format!("http://{broken}")),
            ("GOSUMDB", "sumdb.test"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "sumdb-http-status", "{report:#}");
    assert!(message(&report).contains("checksum database sumdb.test"));

    // A 403 on /supported after a comma makes go give up on the database.
    let forbidding = start_server(
        None,
        Arc::new(|path: &str| match path {
            "/golang.org/x/mod/@v/list" => reply(200, "v0.1.0\n"),
            _ => reply(403, ""),
        }),
    );
    let (code, report) = doctor_json(
        home.path(),
        &[
            ("GOPROXY", &format!("http://{forbidding}")),
            ("GOSUMDB", "sumdb.test"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "sumdb-unavailable", "{report:#}");

    // An explicit database URL in GOSUMDB bypasses the proxies.
    let db = start_server(None, list_handler("", false));
    let gosumdb = format!("sumdb.test+key http://{db}");
    let (code, report) = doctor_json(
        home.path(),
        &[
            ("GOPROXY", &format!("http://{forbidding}")),
            ("GOSUMDB", &gosumdb),
        ],
        &[],
    );
    assert_eq!(code, 0, "{report:#}");
    let last = report["probes"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last["role"], "sumdb");
    assert_eq!(last["probe"]["url"], format!("http://{db}/latest"));
}

#[test]
fn env_uses_the_measured_mirrors() {
    let home = tempdir();
    let (catalog, good, _, nosumdb) = mirrors_catalog(home.path());
    let mut cmd = goxy(home.path());
    cmd.args([
        "env",
        "--shell",
        "goenv",
        "--mirrors",
        "--only-catalog",
        "--rounds",
        "1",
        "--go",
        "/nonexistent/go",
        "--catalog",
    ])
    .arg(&catalog)
    .env("GOSUMDB", "sumdb.test");
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("GOPROXY="))
        .unwrap_or_else(|| panic!("no GOPROXY in {out}"));
    assert!(is_the_two_usable_mirrors(line, good, nosumdb), "{out}");
}

#[test]
fn doctor_not_found_fails_only_for_a_module_you_need() {
    let home = tempdir();
    let empty = start_server(None, Arc::new(|_: &str| reply(404, "not found")));
    // Listed twice: each entry is probed and walked, as go would.
    let env = [
        ("GOPROXY", format!("http://{empty},http://{empty}")),
        ("GOSUMDB", "off".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, report) = doctor_json(home.path(), &env, &[]);
    assert_eq!(
        code, 0,
        "a reachable proxy without the default probe module is fine: {report:#}"
    );
    assert_eq!(report["probes"].as_array().unwrap().len(), 2);
    assert_eq!(report["probes"][1]["verdict"], "fall_through");
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "proxy-lacks-probe-module"));
    let (code, report) = doctor_json(home.path(), &env, &["--module", "example.com/Needed"]);
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "proxy-not-found", "{report:#}");
    assert_eq!(
        report["probes"][0]["probe"]["url"],
        format!("http://{empty}/example.com/!needed/@v/list"),
        "module path is case-escaped"
    );
}

#[test]
fn colours_appear_on_a_terminal_only() {
    let have_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_script {
        eprintln!("skipping: no script(1) to provide a terminal");
        return;
    }
    let home = tempdir();
    let addr = start_server(None, list_handler("v0.1.0\n", true));
    let line = format!(
        "{} doctor --go /nonexistent/go --timeout-ms 1500",
        env!("CARGO_BIN_EXE_goxy")
    );
    let mut script = Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("GOENV", home.path().join("goenv"))
        .env("TERM", "xterm")
        .env("SHELL", "/bin/sh")
        .env("GOPROXY", format!("http://{addr}"))
        .env("GOSUMDB", "off")
        .stdin(Stdio::null());
    let (code, out, err) = run(&mut script);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("\x1b[32m"), "no colour on a terminal:\n{out}");
    assert!(out.contains("fetching modules would work"));
}

#[test]
fn doctor_does_not_fail_what_it_cannot_probe() {
    let home = tempdir();
    let env = [
        ("GOPROXY", "https://goxy-test.invalid"),
        ("GOSUMDB", "off"),
        ("HTTPS_PROXY", "socks5://127.0.0.1:9"),
    ];
    let (code, report) = doctor_json(home.path(), &env, &[]);
    assert_eq!(code, 0, "{report:#}");
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"probe-not-possible"), "{ids:?}");
    assert_eq!(report["probes"][0]["verdict"], "skipped");
}

#[test]
fn doctor_https_proxies_tls_to_the_proxy_then_the_tunnel() {
    let home = tempdir();
    let ca = make_ca("Test Root");
    let ca_file = home.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let backend = start_server(
        Some(tls_for(&["goxy-test.invalid"], Some(&ca))),
        list_handler("v0.1.0\n", true),
    );
    let ca_arg = ["--ca-file", ca_file.to_str().unwrap()];

    // A real https:// proxy: TLS to the proxy, CONNECT inside it, TLS to the target inside that.
    let tls_proxy =
        start_connect_proxy_with(200, backend, Some(tls_for(&["127.0.0.1"], Some(&ca))));
    let proxy_url = format!("https://{tls_proxy}");
    let env = [
        ("GOPROXY", "https://goxy-test.invalid"),
        ("GOSUMDB", "off"),
        ("HTTPS_PROXY", proxy_url.as_str()),
    ];
    let (code, report) = doctor_json(home.path(), &env, &ca_arg);
    assert_eq!(code, 0, "{report:#}");
    let steps: Vec<&str> = report["probes"][0]["probe"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        vec!["dns", "tcp", "proxy_tls", "proxy_connect", "tls", "http"]
    );

    // The common mistake: https:// for a proxy that speaks plain http.
    let plain_proxy = start_connect_proxy(200, backend);
    let proxy_url = format!("https://{plain_proxy}");
    let env = [
        ("GOPROXY", "https://goxy-test.invalid"),
        ("GOSUMDB", "off"),
        ("HTTPS_PROXY", proxy_url.as_str()),
    ];
    let (code, report) = doctor_json(home.path(), &env, &ca_arg);
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "proxy-not-tls", "{report:#}");
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "https-proxy-speaks-tls"));
    assert!(report["first_failure"]["fix"]
        .as_str()
        .unwrap()
        .contains("http://host:port"));
}

#[test]
fn doctor_plain_http_on_an_https_url() {
    let home = tempdir();
    let plain = start_server(None, list_handler("v0.1.0\n", true));
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &format!("https://{plain}")), ("GOSUMDB", "off")],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "tls-plain-http", "{report:#}");
}

#[test]
fn usage_errors_exit_two() {
    let home = tempdir();
    for args in [
        &[
            "doctor",
            "--go",
            "/nonexistent/go",
            "--ca-file",
            "/nonexistent/ca.pem",
        ][..],
        &[
            "doctor",
            "--go",
            "/nonexistent/go",
            "--module",
            "Not A Module",
        ][..],
        &["mirrors", "--only-catalog", "--go", "/nonexistent/go"][..],
        &[
            "prewarm",
            "/nonexistent/go.sum",
            "--proxy",
            "http://127.0.0.1:9",
        ][..],
        &["doctor", "--no-such-flag"][..],
    ] {
        let (code, _, err) = run(goxy(home.path()).args(args).env("GOPROXY", "off"));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.is_empty(), "{args:?} explains itself");
    }
}

#[test]
fn prewarm_progress_bar_only_on_a_terminal() {
    let have_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_script {
        eprintln!("skipping: no script(1) to provide a terminal");
        return;
    }
    let home = tempdir();
    let fx = module_fixture();
    std::fs::write(home.path().join("go.sum"), &fx.go_sum).unwrap();
    let server = static_server(fx.files);
    let line = format!(
        "{} prewarm --proxy http://{server} {}",
        env!("CARGO_BIN_EXE_goxy"),
        home.path().join("go.sum").display()
    );
    let mut script = Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::null());
    let (code, out, err) = run(&mut script);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("2 ok"), "{out}");
    assert!(
        out.contains('\x1b'),
        "the progress bar draws on a terminal:\n{out:?}"
    );
}

#[test]
fn doctor_a_ca_certificate_served_as_the_server_certificate_is_unknown_authority() {
    // Interception appliances and hand-made certificates often serve a CA
    // certificate as the server's own; what matters is that no trusted root vouches for it.
    let home = tempdir();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Zscaler Root CA");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let addr = start_server(
        Some(server_config(vec![cert.der().clone()], &key)),
        list_handler("v0.1.0\n", true),
    );
    let (code, report) = doctor_json(
        home.path(),
        &[("GOPROXY", &format!("https://{addr}")), ("GOSUMDB", "off")],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(cause(&report), "tls-unknown-authority", "{report:#}");
    assert_eq!(
        report["probes"][0]["probe"]["tls"]["looks_intercepting"],
        true
    );
}

#[test]
fn doctor_sends_plain_http_through_http_proxy() {
    let home = tempdir();
    // The proxy answers absolute-form requests itself (as a caching proxy would).
    let proxy = start_server(None, list_handler("v0.1.0\n", true));
    let proxy_url = format!("http://{proxy}");
    let env = [
        ("GOPROXY", "http://goxy-test.invalid"),
        ("GOSUMDB", "off"),
        ("HTTP_PROXY", proxy_url.as_str()),
        ("HTTPS_PROXY", proxy_url.as_str()),
    ];
    let (code, report) = doctor_json(home.path(), &env, &[]);
    assert_eq!(code, 0, "{report:#}");
    let probe = &report["probes"][0]["probe"];
    assert_eq!(probe["via_proxy"], proxy_url);
    assert_eq!(probe["status"], 200);
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "goproxy-not-https"));
}

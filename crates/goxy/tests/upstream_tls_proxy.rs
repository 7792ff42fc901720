//! Upstreams behind TLS with a private CA, and reached through an HTTP(S)
//! proxy, as in a company network: `--ca-file`, HTTPS_PROXY (CONNECT tunnel),
//! HTTP_PROXY (absolute-form requests) and NO_PROXY.
//!
//! The upstream host name `upstream.test` resolves nowhere; only the test's
//! forward proxy knows where it is. So a request that succeeds by that name
//! went through the proxy, and one that bypasses the proxy fails.

use goxy_testkit::gocmd::make_fixture;
use goxy_testkit::goxy::GoxyProcess;
use goxy_testkit::http::http_get;
use goxy_testkit::upstream::Upstream;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const INFO: &str = "/example.test/dep01/@v/v1.0.0.info";

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

struct TestCa {
    ca_pem: String,
    leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

fn make_certs() -> TestCa {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "goxy test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_params =
        CertificateParams::new(vec!["upstream.test".to_string(), "127.0.0.1".to_string()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    TestCa {
        ca_pem: ca.pem(),
        leaf_der: leaf.der().to_vec(),
        leaf_key_der: leaf_key.serialize_der(),
    }
}

/// Terminates TLS on a loopback port and relays the plaintext to `backend`.
fn tls_relay(certs: &TestCa, backend: SocketAddr) -> SocketAddr {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(certs.leaf_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certs.leaf_key_der.clone())),
        )
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
    });
    addr
}

/// A forward proxy that knows `upstream.test:<port>` → a loopback address.
/// Records each request line it receives.
struct ForwardProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown(std::net::Shutdown::Write);
                    return;
                }
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

fn forward_proxy(routes: Vec<(String, SocketAddr)>) -> ForwardProxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut client) = stream else { continue };
            let routes = routes.clone();
            let log = log.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let line = text.lines().next().unwrap_or_default().to_string();
                log.lock().unwrap().push(line.clone());
                let mut parts = line.split_whitespace();
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let authority = if method == "CONNECT" {
                    target.to_string()
                } else {
                    target
                        .trim_start_matches("http://")
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .to_string()
                };
                let Some((_, backend)) = routes.iter().find(|(name, _)| *name == authority) else {
                    let _ =
                        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
                    return;
                };
                let Ok(mut server) = TcpStream::connect(backend) else {
                    return;
                };
                if method == "CONNECT" {
                    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                } else {
                    // Absolute-form to origin-form for the backend.
                    let path = target
                        .trim_start_matches("http://")
                        .trim_start_matches(authority.as_str());
                    let rest = text.split_once("\r\n").map(|(_, r)| r).unwrap_or("");
                    let forwarded = format!("{method} {path} HTTP/1.1\r\n{rest}");
                    if server.write_all(forwarded.as_bytes()).is_err() {
                        return;
                    }
                }
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    return;
                };
                pipe(c2, server);
                pipe(s2, client);
            });
        }
    });
    ForwardProxy { addr, seen }
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    upstream: Upstream,
    fixture_info: Vec<u8>,
    certs: TestCa,
    ca_file: std::path::PathBuf,
}

fn setup() -> Option<Setup> {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command to build the fixture");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let fixture = make_fixture(&dir.join("fx"), false).unwrap();
    let upstream = Upstream::start(&fixture.proxy_dir).unwrap();
    let fixture_info = std::fs::read(fixture.proxy_dir.join(INFO.trim_start_matches('/'))).unwrap();
    let certs = make_certs();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &certs.ca_pem).unwrap();
    Some(Setup {
        _tmp: tmp,
        dir,
        upstream,
        fixture_info,
        certs,
        ca_file,
    })
}

fn get(goxy: &GoxyProcess, path: &str) -> goxy_testkit::http::HttpResponse {
    goxy_testkit::http::http_get_timeout(&format!("{}{path}", goxy.url), Duration::from_secs(30))
        .unwrap()
}

#[test]
fn tls_upstream_with_a_private_ca_needs_the_ca_file() {
    let Some(s) = setup() else { return };
    let tls = tls_relay(&s.certs, s.upstream.addr());
    let upstream = format!("https://127.0.0.1:{}", tls.port());

    let without = GoxyProcess::serve(goxy_bin(), &s.dir.join("c1"), &upstream, &[]).unwrap();
    let r = get(&without, INFO);
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.text().contains("TLS"),
        "the error names the TLS handshake: {}",
        r.text()
    );

    let ca = s.ca_file.to_string_lossy().into_owned();
    let with = GoxyProcess::serve(
        goxy_bin(),
        &s.dir.join("c2"),
        &upstream,
        &["--ca-file", &ca],
    )
    .unwrap();
    let r = get(&with, INFO);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, s.fixture_info);

    let bad = s.dir.join("not-a-bundle.pem");
    std::fs::write(&bad, "hello").unwrap();
    let bad = bad.to_string_lossy().into_owned();
    match GoxyProcess::serve(
        goxy_bin(),
        &s.dir.join("c3"),
        &upstream,
        &["--ca-file", &bad],
    ) {
        Ok(_) => panic!("goxy started with a CA bundle that holds no certificate"),
        Err(e) => assert!(e.to_string().contains("CA bundle"), "{e}"),
    }
}

#[test]
fn https_proxy_tunnels_and_no_proxy_bypasses() {
    let Some(s) = setup() else { return };
    let tls = tls_relay(&s.certs, s.upstream.addr());
    let authority = format!("upstream.test:{}", tls.port());
    let proxy = forward_proxy(vec![(authority.clone(), tls)]);
    let proxy_url = format!("http://{}", proxy.addr);
    let upstream = format!("https://{authority}");
    let cache = s.dir.join("c1");
    let ca = s.ca_file.to_string_lossy().into_owned();
    let cache_text = cache.to_string_lossy().into_owned();
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cache-dir",
        &cache_text,
        "--upstream",
        &upstream,
        "--ca-file",
        &ca,
    ];

    let via_proxy =
        GoxyProcess::start_with_env(goxy_bin(), &args, &[("HTTPS_PROXY", &proxy_url)]).unwrap();
    let r = get(&via_proxy, INFO);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, s.fixture_info);
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l == &format!("CONNECT {authority} HTTP/1.1")),
        "proxy saw {seen:?}"
    );
    drop(via_proxy);

    let cache2 = s.dir.join("c2").to_string_lossy().into_owned();
    let args2 = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cache-dir",
        &cache2,
        "--upstream",
        &upstream,
        "--ca-file",
        &ca,
    ];
    let bypass = GoxyProcess::start_with_env(
        goxy_bin(),
        &args2,
        &[
            ("HTTPS_PROXY", &proxy_url),
            ("NO_PROXY", "example.com,.test"),
        ],
    )
    .unwrap();
    let before = proxy.seen.lock().unwrap().len();
    let r = get(&bypass, INFO);
    assert_eq!(
        r.status,
        502,
        "NO_PROXY sends goxy straight to a name that does not resolve: {}",
        r.text()
    );
    assert_eq!(
        proxy.seen.lock().unwrap().len(),
        before,
        "the proxy must not be used for NO_PROXY hosts"
    );
}

#[test]
fn http_proxy_gets_absolute_form_requests() {
    let Some(s) = setup() else { return };
    let authority = format!("upstream.test:{}", s.upstream.addr().port());
    let proxy = forward_proxy(vec![(authority.clone(), s.upstream.addr())]);
    let proxy_url = format!("http://{}", proxy.addr);
    let cache = s.dir.join("c1").to_string_lossy().into_owned();
    let upstream = format!("http://{authority}");
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cache-dir",
        &cache,
        "--upstream",
        &upstream,
    ];
    let goxy =
        GoxyProcess::start_with_env(goxy_bin(), &args, &[("HTTP_PROXY", &proxy_url)]).unwrap();
    let r = get(&goxy, INFO);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, s.fixture_info);
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l == &format!("GET http://{authority}{INFO} HTTP/1.1")),
        "proxy saw {seen:?}"
    );
    // Direct http_get against goxy itself is never proxied (loopback).
    let _ = http_get(&format!("{}/healthz", goxy.url)).unwrap();
}

//! Probing one URL along the real path, one timed step at a time: DNS, TCP
//! connect, proxy CONNECT (when HTTP(S)_PROXY applies), TLS handshake with
//! chain validation, HTTP request. The first failing step is reported with
//! its root cause and the fix.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::findings::is_loopback_host;

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Limit for each step (DNS, connect, CONNECT, TLS, HTTP).
    pub step_timeout: Duration,
    /// Trusted roots: the system's (honouring SSL_CERT_FILE/SSL_CERT_DIR) plus extras.
    pub roots: Arc<RootCertStore>,
    /// HTTP(S)_PROXY / NO_PROXY as go would read them.
    pub proxy_env: ProxyEnv,
    /// Largest body kept from a response.
    pub max_body: usize,
}

/// The proxy variables, already resolved (upper case before lower case).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProxyEnv {
    pub https_proxy: String,
    pub http_proxy: String,
    pub no_proxy: String,
}

/// A probe step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Url,
    Dns,
    Tcp,
    ProxyTls,
    ProxyConnect,
    Tls,
    Http,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Url => "url",
            Step::Dns => "dns",
            Step::Tcp => "tcp",
            Step::ProxyTls => "proxy-tls",
            Step::ProxyConnect => "proxy-connect",
            Step::Tls => "tls",
            Step::Http => "http",
        }
    }
}

/// The outcome of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub step: Step,
    pub ok: bool,
    pub ms: u64,
    pub detail: String,
}

/// Why a probe failed, and what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub step: Step,
    /// Stable identifier, e.g. `tls-unknown-authority`.
    pub cause: &'static str,
    pub message: String,
    pub fix: String,
}

/// What the server's certificate says, when TLS was attempted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsInfo {
    pub subject: String,
    pub issuer: String,
    pub dns_names: Vec<String>,
    pub not_after: String,
    pub self_signed: bool,
    /// The chain's issuer is one of the public CAs browsers trust.
    pub issuer_is_public_ca: bool,
    /// The certificate is signed by a CA that is neither trusted here nor
    /// public: the signature of a TLS-intercepting proxy or antivirus.
    pub looks_intercepting: bool,
    /// DER of the Name that issued the top of the presented chain.
    #[serde(skip)]
    top_issuer_der: Vec<u8>,
}

/// Everything learnt from probing one URL.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub url: String,
    /// The HTTP(S) proxy the request went through, if any.
    pub via_proxy: Option<String>,
    pub steps: Vec<StepResult>,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    pub total_ms: u64,
    pub tls: Option<TlsInfo>,
    /// The first failing transport step (None when a response arrived).
    pub failure: Option<Failure>,
    /// URLs that redirected here, in order (go follows up to 10 redirects).
    pub redirected_from: Vec<String>,
    #[serde(skip)]
    pub body: Bytes,
    #[serde(skip)]
    location: Option<String>,
}

impl Probe {
    fn new(url: &str) -> Self {
        Probe {
            url: url.to_string(),
            via_proxy: None,
            steps: Vec::new(),
            status: None,
            total_ms: 0,
            tls: None,
            failure: None,
            redirected_from: Vec::new(),
            body: Bytes::new(),
            location: None,
        }
    }

    fn ok(&mut self, step: Step, started: Instant, detail: impl Into<String>) {
        self.steps.push(StepResult {
            step,
            ok: true,
            ms: ms_since(started),
            detail: detail.into(),
        });
    }

    fn fail(
        &mut self,
        step: Step,
        started: Instant,
        cause: &'static str,
        message: String,
        fix: impl Into<String>,
    ) {
        self.steps.push(StepResult {
            step,
            ok: false,
            ms: ms_since(started),
            detail: message.clone(),
        });
        self.failure = Some(Failure {
            step,
            cause,
            message,
            fix: fix.into(),
        });
    }
}

fn ms_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The system's trusted roots (rustls-native-certs honours SSL_CERT_FILE and
/// SSL_CERT_DIR, as go does), plus PEM certificates from `extra_ca_pem`.
/// Falls back to the public CA list when the system has none.
pub fn load_roots(extra_ca_pem: &[u8]) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let _ = store.add_parsable_certificates(native.certs);
    if !extra_ca_pem.is_empty() {
        let certs = parse_pem_certs(extra_ca_pem)?;
        if certs.is_empty() {
            return Err("the CA file holds no PEM certificate".into());
        }
        let (added, _) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err("no certificate in the CA file could be used as a root".into());
        }
    }
    if store.is_empty() {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    Ok(store)
}

fn parse_pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM: {e}"))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static P: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Go's proxy choice for `url` (net/http `ProxyFromEnvironment`): https URLs
/// use HTTPS_PROXY, http URLs HTTP_PROXY; loopback hosts and NO_PROXY
/// matches go direct.
pub fn proxy_for(url: &url::Url, env: &ProxyEnv) -> Option<url::Url> {
    let host = url.host_str()?;
    if is_loopback_host(host) {
        return None;
    }
    let raw = match url.scheme() {
        "https" => &env.https_proxy,
        "http" => &env.http_proxy,
        _ => return None,
    };
    if raw.is_empty() || no_proxy_matches(&env.no_proxy, host, url.port_or_known_default()) {
        return None;
    }
    let with_scheme = if raw.contains("://") {
        raw.clone()
    } else {
        format!("http://{raw}")
    };
    url::Url::parse(&with_scheme).ok()
}

pub use goxy_fetch::http::no_proxy_matches;

/// What an HTTP status means to `go` fetching from a proxy (protocol.md §1.8).
pub fn status_meaning(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 | 410 => "not found: go falls through to the next GOPROXY entry after a comma",
        401 => "unauthorized: the proxy needs credentials (~/.netrc or GOAUTH)",
        403 => "forbidden: the server or a filtering firewall refuses; go stops here after a comma",
        407 => "proxy authentication required: put credentials in HTTPS_PROXY (http://user:pass@host:port)",
        429 => "rate limited: too many requests; go stops here after a comma",
        300..=399 => "redirect: go follows up to 10, never from https to http",
        500..=599 => "server error: the proxy or its upstream is failing; go stops here after a comma",
        _ => "unexpected status: go treats it as an error",
    }
}

/// Probes `url` with a GET, step by step.
/// Follows redirects as go does: at most 10, never from https to http.
pub async fn probe(url_str: &str, opts: &ProbeOptions) -> Probe {
    let started_all = Instant::now();
    let mut history: Vec<String> = Vec::new();
    let mut current = url_str.to_string();
    loop {
        let mut p = Probe::new(&current);
        run_probe(&current, opts, &mut p).await;
        let next = match (p.status, &p.location) {
            (Some(301 | 302 | 303 | 307 | 308), Some(loc)) => url::Url::parse(&current)
                .and_then(|base| base.join(loc))
                .ok(),
            _ => None,
        };
        let Some(next) = next else {
            p.redirected_from = history;
            p.total_ms = ms_since(started_all);
            return p;
        };
        let t = Instant::now();
        if current.starts_with("https:") && next.scheme() == "http" {
            let msg =
                format!("{current} redirects to {next}: go refuses redirects from https to http");
            p.fail(
                Step::Http,
                t,
                "redirect-insecure",
                msg,
                "fix the server's redirect, or use the final https URL directly",
            );
            p.status = None;
        } else if history.len() >= 10 {
            let msg = format!("{current}: stopped after 10 redirects");
            p.fail(
                Step::Http,
                t,
                "redirect-loop",
                msg,
                "the server redirects in a loop; use another proxy",
            );
            p.status = None;
        } else {
            history.push(current);
            current = next.to_string();
            continue;
        }
        p.redirected_from = history;
        p.total_ms = ms_since(started_all);
        return p;
    }
}

impl Probe {
    /// The start of a text/plain error body, as go shows it: up to 8 lines
    /// before the first blank one, printable characters only.
    pub fn body_excerpt(&self) -> Option<String> {
        let text = std::str::from_utf8(self.body.get(..self.body.len().min(8 * 81))?).ok()?;
        let lines: Vec<&str> = text
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .take(8)
            .collect();
        let joined = lines.join(" / ");
        let ok = !joined.is_empty() && joined.chars().all(|c| !c.is_control());
        ok.then_some(joined)
    }
}

async fn run_probe(url_str: &str, opts: &ProbeOptions, p: &mut Probe) {
    let t = Instant::now();
    let url = match url::Url::parse(url_str) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        Ok(u) => {
            let msg = format!(
                "cannot probe {url_str}: scheme {:?} is not http(s)",
                u.scheme()
            );
            return p.fail(
                Step::Url,
                t,
                "url-unsupported",
                msg,
                "only http(s) proxies can be probed",
            );
        }
        Err(e) => {
            let msg = format!("{url_str} is not a URL: {e}");
            return p.fail(
                Step::Url,
                t,
                "url-invalid",
                msg,
                "fix the URL in GOPROXY/GOSUMDB",
            );
        }
    };
    let host = url.host_str().unwrap_or("").to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let proxy = proxy_for(&url, &opts.proxy_env);
    let (connect_host, connect_port) = match &proxy {
        Some(px) => {
            p.via_proxy = Some(px.as_str().trim_end_matches('/').to_string());
            if !matches!(px.scheme(), "http" | "https") {
                let msg = format!(
                    "proxy {px} uses scheme {:?}; doctor probes only http:// and https:// proxies",
                    px.scheme()
                );
                return p.fail(
                    Step::ProxyConnect,
                    t,
                    "proxy-unsupported",
                    msg,
                    "probe with HTTPS_PROXY=http://host:port",
                );
            }
            (
                px.host_str().unwrap_or("").to_string(),
                px.port_or_known_default().unwrap_or(80),
            )
        }
        None => (host.clone(), port),
    };

    // DNS.
    let t = Instant::now();
    let bare = connect_host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        p.ok(Step::Dns, t, format!("{ip} (address literal)"));
        vec![SocketAddr::new(ip, connect_port)]
    } else {
        match tokio::time::timeout(
            opts.step_timeout,
            tokio::net::lookup_host((bare.as_str(), connect_port)),
        )
        .await
        {
            Err(_) => {
                let msg = format!(
                    "resolving {bare} timed out after {} ms",
                    opts.step_timeout.as_millis()
                );
                return p.fail(Step::Dns, t, "dns-timeout", msg, "check the DNS servers (/etc/resolv.conf, VPN) or use a proxy reachable by address");
            }
            Ok(Err(e)) => {
                let msg = format!("cannot resolve {bare}: {e}");
                return p.fail(Step::Dns, t, "dns-failed", msg, "check the host name for typos; if the network needs a proxy to resolve outside names, set HTTPS_PROXY");
            }
            Ok(Ok(it)) => {
                let list: Vec<SocketAddr> = it.collect();
                let shown: Vec<String> = list.iter().map(|a| a.ip().to_string()).collect();
                p.ok(Step::Dns, t, shown.join(", "));
                list
            }
        }
    };

    // TCP connect: the first address that answers.
    let t = Instant::now();
    let mut last_err = String::from("no addresses");
    let mut timed_out = false;
    let mut stream = None;
    for addr in &addrs {
        match tokio::time::timeout(opts.step_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                stream = Some((s, *addr));
                break;
            }
            Ok(Err(e)) => last_err = format!("{addr}: {e}"),
            Err(_) => {
                timed_out = true;
                last_err = format!(
                    "{addr}: no answer within {} ms",
                    opts.step_timeout.as_millis()
                );
            }
        }
    }
    let Some((tcp, addr)) = stream else {
        let what = if proxy.is_some() {
            "the HTTP proxy"
        } else {
            "the server"
        };
        return if timed_out {
            p.fail(Step::Tcp, t, "tcp-timeout", format!("connecting to {what} timed out ({last_err}): a firewall drops the traffic"), "if your network requires an HTTP proxy set HTTPS_PROXY; otherwise pick a reachable mirror (goxy mirrors)")
        } else {
            p.fail(Step::Tcp, t, "tcp-failed", format!("cannot connect to {what}: {last_err}"), "check the port in the URL and that the server is up; connection refused means nothing listens there")
        };
    };
    p.ok(Step::Tcp, t, format!("connected to {addr}"));
    let _ = tcp.set_nodelay(true);
    let mut stream: BoxIo = Box::new(tcp);

    // TLS to the proxy itself, for https:// proxies.
    if let Some(px) = proxy.as_ref().filter(|px| px.scheme() == "https") {
        let proxy_host = px.host_str().unwrap_or("").to_string();
        match tls_step(stream, &proxy_host, Step::ProxyTls, opts, p).await {
            Some((tls, _)) => stream = Box::new(tls),
            None => return,
        }
    }

    // Proxy CONNECT tunnel for https targets.
    if let (Some(px), "https") = (&proxy, url.scheme()) {
        let t = Instant::now();
        match tokio::time::timeout(
            opts.step_timeout,
            proxy_connect(&mut stream, px, &host, port),
        )
        .await
        {
            Err(_) => {
                let msg = format!(
                    "the proxy did not answer CONNECT {host}:{port} within {} ms",
                    opts.step_timeout.as_millis()
                );
                return p.fail(
                    Step::ProxyConnect,
                    t,
                    "proxy-timeout",
                    msg,
                    "check HTTPS_PROXY points at a working proxy",
                );
            }
            Ok(Err(e)) => {
                let msg = format!("CONNECT {host}:{port} through {px} failed: {e}");
                return p.fail(
                    Step::ProxyConnect,
                    t,
                    "proxy-connect-failed",
                    msg,
                    "check HTTPS_PROXY; most proxies expect http:// even for https traffic",
                );
            }
            Ok(Ok(200..=299)) => p.ok(
                Step::ProxyConnect,
                t,
                format!("tunnel to {host}:{port} open"),
            ),
            Ok(Ok(407)) => {
                return p.fail(
                    Step::ProxyConnect,
                    t,
                    "proxy-auth-required",
                    format!("the proxy wants credentials (407) for CONNECT {host}:{port}"),
                    "put them in HTTPS_PROXY=http://user:password@host:port",
                );
            }
            Ok(Ok(code)) => {
                let msg = format!("the proxy refused CONNECT {host}:{port} with status {code}");
                return p.fail(Step::ProxyConnect, t, "proxy-connect-refused", msg, format!("the proxy blocks {host}; ask for it to be allowed, or add {host} to NO_PROXY if it is reachable directly"));
            }
        }
    }

    if url.scheme() == "https" {
        if let Some((tls, info)) = tls_step(stream, &host, Step::Tls, opts, p).await {
            p.tls = info;
            http_step(tls, &url, false, opts, p).await;
        }
    } else {
        http_step(stream, &url, proxy.is_some(), opts, p).await;
    }
}

/// Any byte stream the probe can run over (TCP, TLS, TLS inside a tunnel).
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type BoxIo = Box<dyn Io>;

/// A timed TLS handshake with `host` over `stream`, verifying the chain.
/// On failure records the root cause (and, for the target, the certificate).
async fn tls_step(
    stream: BoxIo,
    host: &str,
    step: Step,
    opts: &ProbeOptions,
    p: &mut Probe,
) -> Option<(tokio_rustls::client::TlsStream<BoxIo>, Option<TlsInfo>)> {
    let t = Instant::now();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = match client_config(opts, seen.clone()) {
        Ok(c) => c,
        Err(e) => {
            p.fail(step, t, "tls-config", e, "check --ca-file / SSL_CERT_FILE");
            return None;
        }
    };
    let server_name = match ServerName::try_from(bare_host(host)) {
        Ok(n) => n.to_owned(),
        Err(e) => {
            let msg = format!("{host} is not a valid TLS server name: {e}");
            p.fail(step, t, "tls-failed", msg, "fix the host name");
            return None;
        }
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let result =
        tokio::time::timeout(opts.step_timeout, connector.connect(server_name, stream)).await;
    let chain = seen.lock().map(|c| c.clone()).unwrap_or_default();
    let mut info = chain
        .first()
        .map(|leaf| describe_cert(leaf, chain.last().unwrap_or(leaf), host));
    let who = if step == Step::ProxyTls {
        "the proxy "
    } else {
        ""
    };
    match result {
        Err(_) => {
            let msg = format!(
                "TLS handshake with {who}{host} did not finish within {} ms",
                opts.step_timeout.as_millis()
            );
            if step == Step::Tls {
                p.tls = info;
            }
            let cause = if step == Step::ProxyTls {
                "proxy-tls-timeout"
            } else {
                "tls-timeout"
            };
            p.fail(step, t, cause, msg, "something on the path accepts connections but does not speak TLS: check HTTPS_PROXY and firewalls");
            None
        }
        Ok(Err(e)) => {
            let plain_http = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .is_some_and(|r| matches!(r, rustls::Error::InvalidMessage(_)));
            if step == Step::Tls && plain_http {
                let msg = format!("{host} answered in plain HTTP on an https:// URL");
                p.fail(step, t, "tls-plain-http", msg, "point GOPROXY at the server's TLS port, or use http:// if it only serves plain http (on a trusted network)");
                return None;
            }
            if step == Step::ProxyTls && plain_http {
                let msg = format!("the proxy {host} answered in plain HTTP, not TLS (go fails with \"server gave HTTP response to HTTPS client\")");
                p.fail(step, t, "proxy-not-tls", msg, "write the proxy as http://host:port in HTTPS_PROXY: https traffic is still tunnelled and encrypted end to end");
                return None;
            }
            let trusted = info
                .as_ref()
                .is_some_and(|i| chain_reaches_root(i, &opts.roots));
            let (cause, msg, fix) = classify_tls_error(&e, host, info.as_mut(), trusted);
            let msg = format!("{who}{msg}");
            let cause = if step == Step::ProxyTls {
                proxy_cause(cause)
            } else {
                cause
            };
            if step == Step::Tls {
                p.tls = info;
            }
            p.fail(step, t, cause, msg, fix);
            None
        }
        Ok(Ok(tls)) => {
            let detail = match &info {
                Some(i) => format!("verified; subject {}, issuer {}", i.subject, i.issuer),
                None => "verified".into(),
            };
            p.ok(step, t, detail);
            Some((tls, info))
        }
    }
}

/// The proxy-hop variant of a TLS cause id.
fn proxy_cause(cause: &'static str) -> &'static str {
    match cause {
        "tls-unknown-authority" => "proxy-tls-unknown-authority",
        "tls-self-signed" => "proxy-tls-self-signed",
        "tls-wrong-host" => "proxy-tls-wrong-host",
        "tls-timeout" => "proxy-tls-timeout",
        _ => "proxy-tls-failed",
    }
}

fn bare_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

async fn proxy_connect<S: AsyncRead + AsyncWrite + Unpin>(
    tcp: &mut S,
    proxy: &url::Url,
    host: &str,
    port: u16,
) -> std::io::Result<u16> {
    use base64::Engine;
    let mut req = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    if !proxy.username().is_empty() {
        let user = goxy_fetch::http::userinfo_decode(proxy.username());
        let pass = goxy_fetch::http::userinfo_decode(proxy.password().unwrap_or(""));
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).await?;
    // Read the response head byte by byte so no tunnel bytes are consumed.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(std::io::Error::other("proxy response head too long"));
        }
        if tcp.read(&mut byte).await? == 0 {
            return Err(std::io::Error::other("proxy closed the connection"));
        }
        head.extend_from_slice(&byte);
    }
    let text = String::from_utf8_lossy(&head);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            std::io::Error::other(format!(
                "not an HTTP answer: {:?}",
                text.lines().next().unwrap_or("")
            ))
        })
}

async fn http_step<S>(
    stream: S,
    url: &url::Url,
    absolute_form: bool,
    opts: &ProbeOptions,
    p: &mut Probe,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let t = Instant::now();
    let deadline = opts.step_timeout;
    let result = tokio::time::timeout(
        deadline,
        http_get(stream, url, absolute_form, opts.max_body),
    )
    .await;
    match result {
        Err(_) => {
            let msg = format!("no HTTP response from {} within {} ms (the connection is up: the server is hanging or very slow)", url.host_str().unwrap_or(""), deadline.as_millis());
            p.fail(Step::Http, t, "http-timeout", msg, "the server is overloaded or a middlebox swallows requests; use another GOPROXY entry (goxy mirrors), or raise --timeout if the server is merely slow");
        }
        Ok(Err(e)) => {
            let msg = format!("HTTP request to {url} failed: {e}");
            p.fail(
                Step::Http,
                t,
                "http-failed",
                msg,
                "check the URL's scheme and port (http vs https)",
            );
        }
        Ok(Ok((status, body, location))) => {
            p.status = Some(status);
            p.body = body;
            p.location = location;
            p.ok(
                Step::Http,
                t,
                format!("{status} {}", status_meaning(status)),
            );
        }
    }
}

async fn http_get<S>(
    stream: S,
    url: &url::Url,
    absolute_form: bool,
    max_body: usize,
) -> Result<(u16, Bytes, Option<String>), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io)
        .await
        .map_err(|e| e.to_string())?;
    let conn_task = tokio::spawn(async move {
        let _ = conn.await;
    });
    let target = if absolute_form {
        url.as_str().to_string()
    } else {
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    };
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    };
    let req = http::Request::get(target)
        .header(http::header::HOST, authority)
        .header(
            http::header::USER_AGENT,
            concat!("goxy-doctor/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = Limited::new(resp.into_body(), max_body)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    conn_task.abort();
    Ok((status, body, location))
}

fn client_config(
    opts: &ProbeOptions,
    seen: Arc<Mutex<Vec<CertificateDer<'static>>>>,
) -> Result<rustls::ClientConfig, String> {
    let inner =
        rustls::client::WebPkiServerVerifier::builder_with_provider(opts.roots.clone(), provider())
            .build()
            .map_err(|e| format!("cannot build the certificate verifier: {e}"))?;
    let verifier = Arc::new(RecordingVerifier { inner, seen });
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// Checks certificates exactly as rustls' WebPKI verifier does, keeping the
/// presented chain so a failure can show who issued it.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    seen: Arc<Mutex<Vec<CertificateDer<'static>>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.clear();
            seen.push(end_entity.clone().into_owned());
            seen.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Words in the issuer names of common TLS-inspecting products.
const INTERCEPTOR_HINTS: &[&str] = &[
    "zscaler",
    "fortinet",
    "fortigate",
    "palo alto",
    "netskope",
    "blue coat",
    "bluecoat",
    "symantec web",
    "forcepoint",
    "websense",
    "sophos",
    "kaspersky",
    "avast",
    "avg ",
    "eset",
    "bitdefender",
    "mcafee",
    "cisco umbrella",
    "checkpoint",
    "check point",
    "barracuda",
    "squid",
    "mitmproxy",
    "charles proxy",
    "fiddler",
    "proxy",
    "inspection",
    "firewall",
];

/// A host name that belongs to the public internet (so a self-signed
/// certificate for it cannot be the real server's): not an IP address, not
/// loopback, not a single label, not a private-use suffix.
pub fn is_public_host_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<std::net::IpAddr>().is_ok() || h.starts_with('[') || !h.contains('.') {
        return false;
    }
    const PRIVATE_SUFFIXES: &[&str] = &[
        ".local",
        ".localhost",
        ".internal",
        ".intranet",
        ".lan",
        ".home",
        ".home.arpa",
        ".corp",
        ".private",
        ".test",
        ".example",
        ".invalid",
    ];
    !PRIVATE_SUFFIXES.iter().any(|s| h.ends_with(s))
}

fn describe_cert(leaf: &CertificateDer<'_>, top: &CertificateDer<'_>, host: &str) -> TlsInfo {
    use x509_parser::prelude::*;
    let Ok((_, cert)) = X509Certificate::from_der(leaf.as_ref()) else {
        return TlsInfo {
            subject: "(unparsable certificate)".into(),
            ..TlsInfo::default()
        };
    };
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    let mut dns_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns_names.push((*d).to_string()),
                GeneralName::IPAddress(bytes) => dns_names.push(ip_from_bytes(bytes)),
                _ => {}
            }
        }
    }
    let self_signed = cert.subject().as_raw() == cert.issuer().as_raw();
    let top_issuer_raw: Vec<u8> = match X509Certificate::from_der(top.as_ref()) {
        Ok((_, t)) => t.issuer().as_raw().to_vec(),
        Err(_) => cert.issuer().as_raw().to_vec(),
    };
    let issuer_is_public_ca = is_public_ca_name(&top_issuer_raw);
    let lower = issuer.to_ascii_lowercase();
    // Signed by a private CA, or self-signed for a public name, or named
    // after an inspection product: someone in the middle re-signs traffic.
    let looks_intercepting = !issuer_is_public_ca
        && (!self_signed
            || is_public_host_name(host)
            || INTERCEPTOR_HINTS.iter().any(|h| lower.contains(h)));
    TlsInfo {
        subject,
        issuer,
        dns_names,
        not_after: cert.validity().not_after.to_string(),
        self_signed,
        issuer_is_public_ca,
        looks_intercepting,
        top_issuer_der: top_issuer_raw,
    }
}

/// Does the presented chain end at a CA in `roots`? (By issuer name: enough
/// to tell "untrusted chain" from other certificate faults.)
fn chain_reaches_root(info: &TlsInfo, roots: &RootCertStore) -> bool {
    match der_contents(&info.top_issuer_der) {
        Some(name) => roots
            .roots
            .iter()
            .any(|anchor| anchor.subject.as_ref() == name),
        None => false,
    }
}

/// Is `name_der` (a DER-encoded X.509 Name) the subject of one of the public
/// root CAs browsers trust? Trust anchors store the Name's contents without
/// the outer SEQUENCE header, so compare against those.
pub fn is_public_ca_name(name_der: &[u8]) -> bool {
    let Some(contents) = der_contents(name_der) else {
        return false;
    };
    webpki_roots::TLS_SERVER_ROOTS
        .iter()
        .any(|anchor| anchor.subject.as_ref() == contents)
}

/// The contents of a DER TLV with a definite length, or None if malformed.
fn der_contents(tlv: &[u8]) -> Option<&[u8]> {
    let first_len = *tlv.get(1)?;
    let (header, len) = if first_len < 0x80 {
        (2usize, usize::from(first_len))
    } else {
        let n = usize::from(first_len & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = tlv.get(2..2 + n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (2 + n, len)
    };
    let contents = tlv.get(header..)?;
    (contents.len() == len).then_some(contents)
}

fn ip_from_bytes(b: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return std::net::Ipv4Addr::from(v4).to_string();
    }
    if let Ok(v6) = <[u8; 16]>::try_from(b) {
        return std::net::Ipv6Addr::from(v6).to_string();
    }
    format!("{b:?}")
}

fn classify_tls_error(
    e: &std::io::Error,
    host: &str,
    info: Option<&mut TlsInfo>,
    chain_trusted: bool,
) -> (&'static str, String, String) {
    let mut cert_err = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .and_then(|r| match r {
            rustls::Error::InvalidCertificate(c) => Some(c.clone()),
            _ => None,
        });
    // Other faults (e.g. a CA certificate used as the server's own) on a
    // chain that no trusted root vouches for: go reports unknown authority.
    let name_or_time = matches!(
        cert_err,
        Some(
            CertificateError::UnknownIssuer
                | CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. }
                | CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. }
        )
    );
    if cert_err.is_some() && !name_or_time && !chain_trusted && info.is_some() {
        cert_err = Some(CertificateError::UnknownIssuer);
    }
    let who = match &info {
        Some(i) => format!("subject {:?}, issued by {:?}", i.subject, i.issuer),
        None => "no certificate seen".into(),
    };
    match cert_err {
        Some(CertificateError::UnknownIssuer) => {
            let Some(i) = info else {
                return ("tls-unknown-authority", format!("x509: certificate signed by unknown authority ({who})"), "install the issuing CA".into());
            };
            if i.issuer_is_public_ca {
                (
                    "tls-missing-system-roots",
                    format!("x509: certificate signed by unknown authority: {host} presents a certificate from the public CA {:?}, which this machine's trust store lacks", i.issuer),
                    "install or update the system CA bundle (ca-certificates), or point SSL_CERT_FILE at a complete bundle".into(),
                )
            } else if i.self_signed && !i.looks_intercepting {
                // A self-signed certificate on a private name: most likely the user's own server.
                (
                    "tls-self-signed",
                    format!("x509: certificate signed by unknown authority: {host} presents a self-signed certificate ({who})"),
                    "if this is your own server, give it a certificate from a trusted CA or add its certificate to the trust store (SSL_CERT_FILE / update-ca-certificates); GOINSECURE does not apply to GOPROXY or the checksum database".into(),
                )
            } else {
                (
                    "tls-unknown-authority",
                    format!("x509: certificate signed by unknown authority: {host} presents {who}; that issuer is not a public CA, which looks like a TLS-intercepting proxy (corporate firewall or antivirus) re-signing traffic"),
                    format!("get the CA certificate {:?} from your IT department and install it in the system trust store (update-ca-certificates) or set SSL_CERT_FILE to a bundle that contains it; GOINSECURE, GONOSUMCHECK or GOSUMDB=off are not the fix", i.issuer),
                )
            }
        }
        Some(CertificateError::NotValidForName) | Some(CertificateError::NotValidForNameContext { .. }) => {
            let names = info.map(|i| i.dns_names.join(", ")).unwrap_or_default();
            (
                "tls-wrong-host",
                format!("x509: certificate is valid for {names}, not {host}"),
                format!("the URL names a host the server has no certificate for: use the host name the certificate covers, or a network device is answering for {host}"),
            )
        }
        Some(CertificateError::Expired) | Some(CertificateError::ExpiredContext { .. }) => (
            "tls-expired",
            format!("x509: certificate has expired ({who})"),
            "check the machine's clock; otherwise the server must renew its certificate".into(),
        ),
        Some(CertificateError::NotValidYet) | Some(CertificateError::NotValidYetContext { .. }) => (
            "tls-not-yet-valid",
            format!("x509: certificate is not valid yet ({who})"),
            "check the machine's clock and time zone".into(),
        ),
        Some(other) => ("tls-bad-certificate", format!("certificate rejected: {other:?} ({who})"), "the server's certificate is broken; use another proxy".into()),
        None => (
            "tls-failed",
            format!("TLS handshake with {host} failed: {e}"),
            "the server (or something in between) does not speak TLS on this port; check http vs https and HTTPS_PROXY".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_rules() {
        assert!(no_proxy_matches("*", "a.example", Some(443)));
        assert!(no_proxy_matches(
            ".corp.example",
            "git.corp.example",
            Some(443)
        ));
        assert!(!no_proxy_matches(
            ".corp.example",
            "corp.example",
            Some(443)
        ));
        assert!(no_proxy_matches("corp.example", "corp.example", Some(443)));
        assert!(no_proxy_matches(
            "corp.example",
            "x.corp.example",
            Some(443)
        ));
        assert!(!no_proxy_matches(
            "corp.example",
            "notcorp.example",
            Some(443)
        ));
        assert!(no_proxy_matches("*.corp.example", "x.corp.example", None));
        assert!(no_proxy_matches("10.0.0.0/8", "10.1.2.3", Some(443)));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.1.2.3", Some(443)));
        assert!(no_proxy_matches("a.example:8443", "a.example", Some(8443)));
        assert!(!no_proxy_matches("a.example:8443", "a.example", Some(443)));
    }

    #[test]
    fn proxy_choice() {
        let env = ProxyEnv {
            https_proxy: "p.example:3128".into(),
            http_proxy: String::new(),
            no_proxy: ".corp.example".into(),
        };
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            proxy_for(&u("https://a.example/x"), &env).map(|p| p.to_string()),
            Some("http://p.example:3128/".into())
        );
        assert_eq!(proxy_for(&u("http://a.example/x"), &env), None);
        assert_eq!(proxy_for(&u("https://git.corp.example/x"), &env), None);
        assert_eq!(proxy_for(&u("https://127.0.0.1:8443/x"), &env), None);
        assert_eq!(proxy_for(&u("https://localhost/x"), &env), None);
    }

    #[test]
    fn der_contents_strips_headers() {
        assert_eq!(der_contents(&[0x30, 2, 1, 2]), Some(&[1u8, 2][..]));
        assert_eq!(der_contents(&[0x30, 3, 1, 2]), None);
        let mut long = vec![0x30, 0x81, 200];
        long.extend(std::iter::repeat_n(7u8, 200));
        assert_eq!(der_contents(&long).map(<[u8]>::len), Some(200));
        assert_eq!(der_contents(&[0x30]), None);
        assert_eq!(der_contents(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
    }

    fn leaf_issued_by(dn: rcgen::DistinguishedName) -> TlsInfo {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name = dn;
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["a.example".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .unwrap();
        describe_cert(leaf.der(), leaf.der(), "a.example")
    }

    #[test]
    fn issuer_classification() {
        use rcgen::{DistinguishedName, DnType, DnValue};
        // The name of a public root (as in the public CA list): the system store must be missing it.
        let mut public = DistinguishedName::new();
        let ps = |s: &str| DnValue::PrintableString(s.try_into().unwrap());
        public.push(DnType::CountryName, ps("US"));
        public.push(DnType::OrganizationName, ps("DigiCert, Inc."));
        public.push(DnType::CommonName, ps("DigiCert TLS ECC P384 Root G5"));
        let info = leaf_issued_by(public);
        assert!(info.issuer_is_public_ca, "{info:?}");
        assert!(!info.looks_intercepting);
        assert_eq!(info.dns_names, vec!["a.example"]);

        // An organisation's own CA: looks like interception.
        let mut corp = DistinguishedName::new();
        corp.push(DnType::CommonName, "Example Corp TLS Inspection");
        let info = leaf_issued_by(corp);
        assert!(!info.issuer_is_public_ca);
        assert!(info.looks_intercepting);
        assert!(!info.self_signed);
        assert!(info.issuer.contains("Example Corp TLS Inspection"));
    }

    #[test]
    fn public_host_names() {
        for public in [
            "mirror.example.com",
            "goproxy.example.net",
            "sum.example.org.",
        ] {
            assert!(is_public_host_name(public), "{public}");
        }
        for private in [
            "127.0.0.1",
            "::1",
            "[::1]",
            "localhost",
            "proxy",
            "git.corp",
            "nas.local",
            "a.home.arpa",
            "goxy-test.invalid",
        ] {
            assert!(!is_public_host_name(private), "{private}");
        }
    }

    #[test]
    fn self_signed_for_a_public_name_looks_intercepting() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["mirror.example.com".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let public = describe_cert(cert.der(), cert.der(), "mirror.example.com");
        assert!(public.self_signed && public.looks_intercepting);
        let local = describe_cert(cert.der(), cert.der(), "127.0.0.1");
        assert!(local.self_signed && !local.looks_intercepting);
    }

    #[test]
    fn statuses_have_meanings() {
        assert!(status_meaning(403).contains("forbidden"));
        assert!(status_meaning(404).contains("falls through"));
        assert!(status_meaning(503).contains("server error"));
    }
}

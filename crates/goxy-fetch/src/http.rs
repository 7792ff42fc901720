//! The outbound HTTP client: one connection pool for every upstream, with a
//! separate deadline for each phase (DNS and TCP connect, TLS handshake,
//! response headers, and idle time while reading the body), HTTP(S)_PROXY and
//! NO_PROXY as the Go toolchain reads them, and an optional extra CA bundle.

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Deadlines for one upstream request, phase by phase.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// DNS resolution and TCP connect (to the target or the HTTP proxy).
    pub connect: Duration,
    /// The TLS handshake.
    pub tls: Duration,
    /// From sending the request to receiving the response headers.
    pub headers: Duration,
    /// Longest pause while reading the body.
    pub body_idle: Duration,
    /// The fixed part of a fetch's total deadline (headers and body); the
    /// deadline adds the time the size limit takes at `min_rate`, so a big
    /// zip on a slow link gets the time it needs and a drip-feed does not.
    pub total: Duration,
    /// Fewest body bytes per second, averaged over `rate_window` (0: no
    /// minimum). Measured over a window, not per chunk, so an honest link
    /// that pauses briefly passes.
    pub min_rate: u64,
    /// The window `min_rate` is measured over.
    pub rate_window: Duration,
}

impl Timeouts {
    /// The total deadline of a fetch allowed `size_limit` bytes.
    pub fn total_for(&self, size_limit: u64) -> Duration {
        if self.min_rate == 0 {
            return self.total;
        }
        self.total
            .saturating_add(Duration::from_secs(size_limit.div_ceil(self.min_rate)))
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            tls: Duration::from_secs(5),
            headers: Duration::from_secs(60),
            body_idle: Duration::from_secs(30),
            total: Duration::from_secs(60),
            // 16 KiB/s over 30 s: a 128 kbit/s link passes, a drip-feed is cut
            // off after one window; a 500 MiB zip may take 60 s + ~9 h.
            min_rate: 16 * 1024,
            rate_window: Duration::from_secs(30),
        }
    }
}

/// Which phase of a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connect,
    Tls,
    Proxy,
    Headers,
    Body,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::Tls => "TLS handshake",
            Phase::Proxy => "HTTP proxy tunnel",
            Phase::Headers => "response headers",
            Phase::Body => "response body",
        })
    }
}

#[derive(Debug, Clone)]
pub struct HttpError {
    pub phase: Phase,
    pub timed_out: bool,
    pub message: String,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.timed_out {
            write!(f, "{} timed out: {}", self.phase, self.message)
        } else {
            write!(f, "{} failed: {}", self.phase, self.message)
        }
    }
}

impl std::error::Error for HttpError {}

/// The bounds of one fetch, from sending the request to the body's end: a
/// total deadline and a minimum rate per window. Kept per fetch, because a
/// slow-loris upstream defeats any per-chunk idle limit by sending a byte at
/// a time.
#[derive(Debug, Clone)]
pub struct Transfer {
    deadline: tokio::time::Instant,
    total: Duration,
    size_limit: u64,
    min_rate: u64,
    window: Duration,
    /// Start of the current rate window and the bytes received in it; the
    /// first window starts at the first body read, not while headers are awaited.
    window_start: Option<tokio::time::Instant>,
    window_bytes: u64,
}

impl Transfer {
    pub fn new(timeouts: &Timeouts, size_limit: u64) -> Transfer {
        let total = timeouts.total_for(size_limit);
        Transfer {
            deadline: tokio::time::Instant::now() + total,
            total,
            size_limit,
            min_rate: timeouts.min_rate,
            window: timeouts.rate_window.max(Duration::from_millis(1)),
            window_start: None,
            window_bytes: 0,
        }
    }

    /// Time left before the total deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline
            .saturating_duration_since(tokio::time::Instant::now())
    }

    fn deadline_error(&self, phase: Phase) -> HttpError {
        phase_err(
            phase,
            true,
            format!(
                "total deadline of {:?} for up to {} bytes passed",
                self.total, self.size_limit
            ),
        )
    }
}

/// The proxy settings of the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY,
/// upper or lower case), with Go's rules: requests to loopback addresses and
/// `localhost` never use a proxy.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    pub http: Option<url::Url>,
    pub https: Option<url::Url>,
    /// The NO_PROXY list as written.
    pub no_proxy: String,
}

impl ProxyEnv {
    pub fn from_env() -> ProxyEnv {
        let var = |upper: &str| {
            std::env::var(upper)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| {
                    std::env::var(upper.to_ascii_lowercase())
                        .ok()
                        .filter(|v| !v.is_empty())
                })
        };
        let parse = |v: Option<String>| {
            v.and_then(|v| {
                let text = if v.contains("://") {
                    v
                } else {
                    format!("http://{v}")
                };
                url::Url::parse(&text).ok()
            })
        };
        ProxyEnv {
            http: parse(var("HTTP_PROXY")),
            https: parse(var("HTTPS_PROXY")),
            no_proxy: var("NO_PROXY").unwrap_or_default(),
        }
    }

    /// The proxy to use for `uri`, if any.
    pub fn proxy_for(&self, scheme: &str, host: &str, port: u16) -> Option<&url::Url> {
        let proxy = match scheme {
            "https" => self.https.as_ref(),
            _ => self.http.as_ref(),
        }?;
        if host.eq_ignore_ascii_case("localhost") {
            return None;
        }
        let host_ip = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        if host_ip.is_some_and(|ip| ip.is_loopback()) {
            return None;
        }
        if no_proxy_matches(&self.no_proxy, host, Some(port)) {
            return None;
        }
        Some(proxy)
    }
}

/// Does a NO_PROXY list cover `host` (at `port`)? Go's rules
/// (golang.org/x/net/http/httpproxy): `*` covers everything; `name` covers the
/// name and its subdomains; `.name` and `*.name` cover subdomains only; an IP
/// or CIDR covers matching addresses; an entry with `:port` covers that port only.
pub fn no_proxy_matches(no_proxy: &str, host: &str, port: Option<u16>) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    for raw in no_proxy.split(',') {
        let entry = raw.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return true;
        }
        if let (Some(ip), Some((net, bits))) = (ip, entry.split_once('/')) {
            if let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) {
                if cidr_contains(net, bits, ip) {
                    return true;
                }
            }
            continue;
        }
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), p.parse::<u16>().ok()),
            _ => (entry.clone(), None),
        };
        if entry_port.is_some() && entry_port != port {
            continue;
        }
        let name = name.trim_start_matches('*');
        if let Some(domain) = name.strip_prefix('.') {
            if host.ends_with(&format!(".{domain}")) {
                return true;
            }
        } else if host == name || host.ends_with(&format!(".{name}")) {
            return true;
        }
    }
    false
}

fn cidr_contains(net: IpAddr, bits: u32, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// Client settings.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    pub timeouts: Timeouts,
    pub proxy: ProxyEnv,
    /// A PEM bundle of additional trusted CAs (a company's TLS-inspecting proxy).
    pub extra_ca_file: Option<PathBuf>,
}

struct ConnectorInner {
    timeouts: Timeouts,
    proxy: ProxyEnv,
    tls: tokio_rustls::TlsConnector,
}

#[derive(Clone)]
struct Connector(Arc<ConnectorInner>);

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A connection handed to the pool.
pub struct Conn {
    io: TokioIo<Stream>,
    h2: bool,
    via_proxy: bool,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        let connected = Connected::new().proxy(self.via_proxy);
        if self.h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for Connector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let inner = self.0.clone();
        Box::pin(async move {
            inner
                .connect(uri)
                .await
                .map_err(|e| Box::new(e) as BoxError)
        })
    }
}

fn phase_err(phase: Phase, timed_out: bool, message: impl Into<String>) -> HttpError {
    HttpError {
        phase,
        timed_out,
        message: message.into(),
    }
}

impl ConnectorInner {
    async fn connect(&self, uri: Uri) -> Result<Conn, HttpError> {
        let scheme = uri.scheme_str().unwrap_or("http").to_string();
        let host = uri
            .host()
            .ok_or_else(|| phase_err(Phase::Connect, false, "URL has no host"))?
            .to_string();
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let proxy = self.proxy.proxy_for(&scheme, &host, port).cloned();
        let (tcp, via_proxy) = match &proxy {
            Some(proxy_url) => {
                let proxy_host = proxy_url.host_str().unwrap_or_default().to_string();
                let proxy_port = proxy_url.port_or_known_default().unwrap_or(8080);
                let mut tcp = self.tcp_connect(&proxy_host, proxy_port).await?;
                if scheme == "https" {
                    self.tunnel(&mut tcp, &host, port, proxy_url).await?;
                    (tcp, false)
                } else {
                    (tcp, true)
                }
            }
            None => (self.tcp_connect(&host, port).await?, false),
        };
        if scheme != "https" {
            return Ok(Conn {
                io: TokioIo::new(Stream::Plain(tcp)),
                h2: false,
                via_proxy,
            });
        }
        let server_name = rustls_pki_types::ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        )
        .map_err(|e| {
            phase_err(
                Phase::Tls,
                false,
                format!("invalid server name {host}: {e}"),
            )
        })?;
        let tls = tokio::time::timeout(self.timeouts.tls, self.tls.connect(server_name, tcp))
            .await
            .map_err(|_| {
                phase_err(
                    Phase::Tls,
                    true,
                    format!("{host}:{port} after {:?}", self.timeouts.tls),
                )
            })?
            .map_err(|e| phase_err(Phase::Tls, false, format!("{host}:{port}: {e}")))?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok(Conn {
            io: TokioIo::new(Stream::Tls(Box::new(tls))),
            h2,
            via_proxy,
        })
    }

    async fn tcp_connect(&self, host: &str, port: u16) -> Result<TcpStream, HttpError> {
        let deadline = self.timeouts.connect;
        let attempt = async {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| phase_err(Phase::Connect, false, format!("resolve {host}: {e}")))?
                .collect();
            let mut last = phase_err(Phase::Connect, false, format!("{host} has no addresses"));
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(stream) => {
                        let _ = stream.set_nodelay(true);
                        return Ok(stream);
                    }
                    Err(e) => last = phase_err(Phase::Connect, false, format!("{addr}: {e}")),
                }
            }
            Err(last)
        };
        tokio::time::timeout(deadline, attempt).await.map_err(|_| {
            phase_err(
                Phase::Connect,
                true,
                format!("{host}:{port} after {deadline:?}"),
            )
        })?
    }

    async fn tunnel(
        &self,
        tcp: &mut TcpStream,
        host: &str,
        port: u16,
        proxy: &url::Url,
    ) -> Result<(), HttpError> {
        let mut request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
        if let Some(auth) = proxy_authorization(proxy) {
            request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
        request.push_str("\r\n");
        let exchange = async {
            tcp.write_all(request.as_bytes()).await?;
            let mut head = Vec::with_capacity(256);
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if tcp.read(&mut byte).await? == 0 || head.len() > 16 * 1024 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "proxy closed during CONNECT",
                    ));
                }
                head.push(byte[0]);
            }
            Ok(head)
        };
        let head = tokio::time::timeout(self.timeouts.connect, exchange)
            .await
            .map_err(|_| phase_err(Phase::Proxy, true, format!("CONNECT {host}:{port}")))?
            .map_err(|e| phase_err(Phase::Proxy, false, format!("CONNECT {host}:{port}: {e}")))?;
        let status_line =
            String::from_utf8_lossy(head.split(|&b| b == b'\r').next().unwrap_or_default())
                .into_owned();
        let ok = status_line.split_whitespace().nth(1) == Some("200");
        if !ok {
            return Err(phase_err(
                Phase::Proxy,
                false,
                format!("CONNECT {host}:{port}: proxy answered {status_line:?}"),
            ));
        }
        Ok(())
    }
}

fn proxy_authorization(proxy: &url::Url) -> Option<String> {
    use base64::Engine;
    if proxy.username().is_empty() {
        return None;
    }
    let user = userinfo_decode(proxy.username());
    let pass = userinfo_decode(proxy.password().unwrap_or(""));
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    ))
}

/// Decodes the user or password of a URL's userinfo as Go's net/url does:
/// `%XX` escapes only; a `+` stays a `+` (it is not form data).
pub fn userinfo_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The shared outbound client.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<Connector, Empty<Bytes>>,
    timeouts: Timeouts,
    proxy: ProxyEnv,
}

impl HttpClient {
    pub fn new(config: HttpConfig) -> Result<HttpClient, String> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &config.extra_ca_file {
            use rustls_pki_types::pem::PemObject;
            let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("read CA bundle {}: {e}", path.display()))?;
            let mut added = 0;
            for cert in certs {
                let cert = cert.map_err(|e| format!("parse CA bundle {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("CA bundle {}: {e}", path.display()))?;
                added += 1;
            }
            if added == 0 {
                return Err(format!("CA bundle {} holds no certificate", path.display()));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let connector = Connector(Arc::new(ConnectorInner {
            timeouts: config.timeouts,
            proxy: config.proxy.clone(),
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
        }));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(32)
            .build(connector);
        Ok(HttpClient {
            client,
            timeouts: config.timeouts,
            proxy: config.proxy,
        })
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Sends a GET and waits for the response headers (within the header
    /// deadline). Userinfo in `url` becomes basic auth and is not sent anywhere else.
    pub async fn get(&self, url: &url::Url) -> Result<Response<Incoming>, HttpError> {
        self.get_within(url, None).await
    }

    /// [`HttpClient::get`], also bounded by `transfer`'s total deadline.
    pub async fn get_bounded(
        &self,
        url: &url::Url,
        transfer: &Transfer,
    ) -> Result<Response<Incoming>, HttpError> {
        self.get_within(url, Some(transfer)).await
    }

    async fn get_within(
        &self,
        url: &url::Url,
        transfer: Option<&Transfer>,
    ) -> Result<Response<Incoming>, HttpError> {
        let mut target = url.clone();
        let auth = basic_auth(url);
        let _ = target.set_username("");
        let _ = target.set_password(None);
        let uri: Uri = target
            .as_str()
            .parse()
            .map_err(|e| phase_err(Phase::Connect, false, format!("bad URL: {e}")))?;
        let mut request = Request::get(uri)
            .header(
                http::header::USER_AGENT,
                concat!("goxy/", env!("CARGO_PKG_VERSION")),
            )
            .header(http::header::ACCEPT_ENCODING, "identity");
        if let Some(auth) = auth {
            request = request.header(http::header::AUTHORIZATION, auth);
        }
        let scheme = target.scheme();
        let host = target.host_str().unwrap_or_default();
        let port = target.port_or_known_default().unwrap_or(80);
        if scheme == "http" {
            if let Some(proxy) = self.proxy.proxy_for(scheme, host, port) {
                if let Some(auth) = proxy_authorization(proxy) {
                    request = request.header(http::header::PROXY_AUTHORIZATION, auth);
                }
            }
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| phase_err(Phase::Connect, false, format!("build request: {e}")))?;
        let wait = match transfer {
            Some(t) => self.timeouts.headers.min(t.remaining()),
            None => self.timeouts.headers,
        };
        match tokio::time::timeout(wait, self.client.request(request)).await {
            Err(_) => Err(match transfer {
                Some(t) if t.remaining().is_zero() => t.deadline_error(Phase::Headers),
                _ => phase_err(
                    Phase::Headers,
                    true,
                    format!("no response within {:?}", self.timeouts.headers),
                ),
            }),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) => Err(classify(&err)),
        }
    }

    /// Reads the next body chunk within the idle deadline, the total deadline
    /// and the minimum rate of `transfer`; `None` at the end.
    pub async fn next_chunk(
        &self,
        body: &mut Incoming,
        transfer: &mut Transfer,
    ) -> Result<Option<Bytes>, HttpError> {
        use tokio::time::Instant;
        let idle = self.timeouts.body_idle;
        let started = Instant::now();
        // Idle time counts from this call, so our own spool writes between
        // chunks are not held against the upstream.
        let idle_until = started + idle;
        transfer.window_start.get_or_insert(started);
        loop {
            let now = Instant::now();
            if now >= transfer.deadline {
                return Err(transfer.deadline_error(Phase::Body));
            }
            if now >= idle_until {
                return Err(phase_err(Phase::Body, true, format!("idle for {idle:?}")));
            }
            let mut wake = transfer.deadline.min(idle_until);
            if transfer.min_rate > 0 {
                let start = transfer.window_start.unwrap_or(started);
                if now >= start + transfer.window {
                    let needed = (transfer.min_rate as f64 * transfer.window.as_secs_f64()) as u64;
                    if transfer.window_bytes < needed {
                        return Err(phase_err(
                            Phase::Body,
                            true,
                            format!(
                                "slower than {} bytes/s: {} bytes in {:?}",
                                transfer.min_rate, transfer.window_bytes, transfer.window
                            ),
                        ));
                    }
                    transfer.window_start = Some(now);
                    transfer.window_bytes = 0;
                }
                wake = wake.min(transfer.window_start.unwrap_or(now) + transfer.window);
            }
            // `frame()` is cancel-safe: a wake-up for a check drops no data.
            let frame = match tokio::time::timeout_at(wake, body.frame()).await {
                Err(_) => continue,
                Ok(frame) => frame,
            };
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(phase_err(Phase::Body, false, e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            transfer.window_bytes += data.len() as u64;
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }
}

fn basic_auth(url: &url::Url) -> Option<String> {
    use base64::Engine;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let user = userinfo_decode(url.username());
    let pass = userinfo_decode(url.password().unwrap_or(""));
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    ))
}

/// Finds the phase-tagged error inside a pool error.
fn classify(err: &hyper_util::client::legacy::Error) -> HttpError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(http_err) = e.downcast_ref::<HttpError>() {
            return http_err.clone();
        }
        source = e.source();
    }
    let phase = if err.is_connect() {
        Phase::Connect
    } else {
        Phase::Headers
    };
    let mut message = err.to_string();
    if let Some(inner) = std::error::Error::source(err) {
        message = format!("{message}: {inner}");
    }
    phase_err(phase, false, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_percent_decoded_but_plus_stays() {
        assert_eq!(userinfo_decode("p%40ss+word%2B"), "p@ss+word+");
        assert_eq!(userinfo_decode("a%20b"), "a b");
        let url = url::Url::parse("http://us+er:pa+ss%3A@proxy.example:3128").unwrap();
        let header = proxy_authorization(&url).unwrap();
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(header.trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(decoded, b"us+er:pa+ss:");
    }

    fn env(no_proxy: &[&str]) -> ProxyEnv {
        ProxyEnv {
            http: Some(url::Url::parse("http://proxy.example:3128").unwrap()),
            https: Some(url::Url::parse("http://proxy.example:3128").unwrap()),
            no_proxy: no_proxy.join(","),
        }
    }

    #[test]
    fn total_deadline_scales_with_the_size_limit() {
        let t = Timeouts::default();
        // A 500 MiB zip at exactly the minimum rate (16 KiB/s) fits its deadline.
        let zip = 500u64 << 20;
        assert!(t.total_for(zip) >= Duration::from_secs(zip / t.min_rate) + t.total);
        // A 1 MiB .info gets little more than the fixed part.
        assert!(t.total_for(1 << 20) <= t.total + Duration::from_secs(64));
        let off = Timeouts {
            min_rate: 0,
            ..Timeouts::default()
        };
        assert_eq!(off.total_for(zip), off.total);
    }

    #[test]
    fn no_proxy_rules() {
        let e = env(&[".corp.example", "internal.example:8443", "10.0.0.0/8"]);
        assert!(e.proxy_for("https", "mirror.example", 443).is_some());
        assert!(e.proxy_for("https", "git.corp.example", 443).is_none());
        // A leading dot covers subdomains only, as in Go.
        assert!(e.proxy_for("https", "corp.example", 443).is_some());
        assert!(e.proxy_for("https", "internal.example", 8443).is_none());
        assert!(e.proxy_for("https", "internal.example", 443).is_some());
        assert!(e.proxy_for("http", "10.1.2.3", 80).is_none());
        assert!(e.proxy_for("http", "11.1.2.3", 80).is_some());
        assert!(
            e.proxy_for("http", "127.0.0.1", 80).is_none(),
            "loopback never proxied"
        );
        assert!(e.proxy_for("http", "localhost", 80).is_none());
        assert!(env(&["*"]).proxy_for("https", "any.example", 443).is_none());
    }
}

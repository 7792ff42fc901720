//! The accept loop: HTTP/1.1 and HTTP/2 on one port (prior knowledge on
//! plain TCP, ALPN with TLS), a connection limit, a deadline for the first
//! request's headers (and the TLS handshake) so slow clients cannot hold
//! connections, TCP_NODELAY, and a graceful shutdown that lets in-flight
//! downloads finish.

use crate::app::App;
use crate::audit::AuditLog;
use crate::config::{self, ServeArgs, ServerConfig};
use crate::front::Front;
use crate::opsconfig::OpsConfig;
use crate::tls::Tls;
use goxy_fetch::{Chain, HttpClient, HttpConfig, ProxyEnv};
use goxy_store::{BlobStore, DiskStore};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Runs `goxy serve` until SIGINT/SIGTERM; returns the process exit code.
pub async fn run(args: ServeArgs) -> i32 {
    match run_inner(args).await {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("goxy serve: {message}");
            1
        }
    }
}

/// What `--check` prints: the settings that matter, never a secret.
fn summary(cfg: &ServerConfig) -> String {
    let ops = &cfg.ops;
    let rate = |r: crate::opsconfig::RateSettings| {
        if r.rate > 0.0 {
            format!("{}/s burst {}", r.rate, r.burst)
        } else {
            "off".into()
        }
    };
    format!(
        "configuration ok: upstream {} (from {}); listen {}; tls {}; max_connections {}; header_read_timeout {}s; \
         audit {}; rate limits client {} module {}; auth {} token(s) {} user(s), required {}, private {:?}",
        goxy_fetch::proxylist::format(&cfg.upstream),
        cfg.upstream_origin,
        cfg.listen,
        if ops.tls.is_some() { "on" } else { "off" },
        ops.max_connections,
        ops.header_read_timeout.as_secs(),
        match &ops.audit.target {
            None => "off".to_string(),
            Some(crate::opsconfig::AuditTarget::Stdout) => "stdout".to_string(),
            Some(crate::opsconfig::AuditTarget::File(p)) => p.display().to_string(),
        },
        rate(ops.client_limit),
        rate(ops.module_limit),
        ops.auth.tokens.len(),
        ops.auth.users.len(),
        ops.auth.required,
        ops.auth.private,
    )
}

/// `--check`: what can be tried without serving is tried — the TLS
/// certificate, the cache directory, the listen address, and (unless every
/// upstream is `off`) the route to each checksum database.
async fn check(cfg: &ServerConfig) -> Result<(), String> {
    if let Some(tls) = &cfg.ops.tls {
        crate::tls::load_certified_key(&tls.cert, &tls.key)?;
    }
    let store = DiskStore::open(&cfg.cache_dir)
        .map_err(|e| format!("cache directory {}: {e}", cfg.cache_dir.display()))?;
    store.check_writable().map_err(|e| {
        format!(
            "cache directory {}: not writable: {e}",
            cfg.cache_dir.display()
        )
    })?;
    drop(
        TcpListener::bind(&cfg.listen)
            .await
            .map_err(|e| format!("listen on {}: {e}", cfg.listen))?,
    );
    println!("{}", summary(cfg));
    for key in [
        "GOPROXY",
        "GOSUMDB",
        "GOPRIVATE",
        "GONOPROXY",
        "GONOSUMDB",
        "GOINSECURE",
    ] {
        let (value, source) = cfg.go_env.get(key);
        println!("go env {key}={value:?} ({})", source.describe(&cfg.go_env));
    }
    println!(
        "private patterns: private {:?}, no_proxy {:?}, no_sumdb {:?}",
        cfg.private.private,
        cfg.private.no_proxy,
        cfg.private.no_sumdb_effective()
    );
    if cfg.sumdb.databases.is_empty() {
        println!("checksum database: off ({})", cfg.sumdb.origin);
        return Ok(());
    }
    let offline = cfg
        .upstream
        .iter()
        .all(|e| e.kind == goxy_fetch::EntryKind::Off);
    for db in &cfg.sumdb.databases {
        println!(
            "checksum database {} (from {}), verify {}",
            db.name,
            cfg.sumdb.origin,
            cfg.sumdb.verify == crate::sumdb::VerifyMode::Verify
        );
    }
    if offline {
        println!("checksum database route: not probed (every upstream is off)");
        return Ok(());
    }
    let http = HttpClient::new(HttpConfig {
        timeouts: cfg.timeouts,
        proxy: ProxyEnv::from_env(),
        extra_ca_file: cfg.ca_file.clone(),
    })?;
    let sumdb = crate::sumdb::Sumdb::new(
        &cfg.sumdb,
        cfg.private.clone(),
        &cfg.cache_dir,
        http,
        cfg.upstream.clone(),
    )?;
    let mut failed = Vec::new();
    for (name, result) in sumdb.probe().await {
        match result {
            Ok(route) => println!("checksum database {name} route: {route}"),
            Err(e) => {
                println!("checksum database {name} route: UNAVAILABLE: {e}");
                failed.push(e);
            }
        }
    }
    if failed.is_empty() || cfg.sumdb.verify == crate::sumdb::VerifyMode::Off {
        Ok(())
    } else {
        Err(format!(
            "checksum database unreachable (misses of public modules would fail): {}",
            failed.join("; ")
        ))
    }
}

async fn run_inner(args: ServeArgs) -> Result<(), String> {
    let cfg = config::resolve(&args)?;
    if args.check {
        return check(&cfg).await;
    }
    let store = DiskStore::open(&cfg.cache_dir)
        .map_err(|e| format!("cache directory {}: {e}", cfg.cache_dir.display()))?;
    let store: Arc<dyn BlobStore> = Arc::new(store);
    let tls = cfg
        .ops
        .tls
        .as_ref()
        .map(Tls::new)
        .transpose()?
        .map(Arc::new);
    let listener = TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| format!("listen on {}: {e}", cfg.listen))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("listen address: {e}"))?;
    let (upstream, dropped) = config::drop_self(cfg.upstream.clone(), bound);
    for name in &dropped {
        tracing::warn!(upstream = %name, "dropped an upstream that points at this server");
    }
    if upstream.is_empty() {
        return Err(format!(
            "every upstream points at this server ({}); set --upstream",
            dropped.join(", ")
        ));
    }
    let http = HttpClient::new(HttpConfig {
        timeouts: cfg.timeouts,
        proxy: ProxyEnv::from_env(),
        extra_ca_file: cfg.ca_file.clone(),
    })?;
    // Direct fetching serves `direct` in the list and private modules.
    let wants_direct = upstream
        .iter()
        .any(|e| e.kind == goxy_fetch::EntryKind::Direct)
        || !cfg.private.private.is_empty()
        || !cfg.private.no_proxy.is_empty();
    let direct = if wants_direct {
        Some(crate::direct::build(
            &cfg.direct,
            &cfg.cache_dir,
            cfg.private.no_proxy_effective(),
        )?)
    } else {
        None
    };
    let private = cfg.private.clone();
    let chain = Chain::new(upstream, http.clone(), direct)
        .with_direct_only(Box::new(move |module: &str| private.skip_proxy(module)));
    tracing::info!(
        upstream = %goxy_fetch::proxylist::format(chain_entries(&chain).as_slice()),
        origin = %cfg.upstream_origin,
        cache_dir = %cfg.cache_dir.display(),
        "goxy serving"
    );
    let app = crate::sumdb::install(App::new(&cfg, store, chain), &cfg, http)?;
    let metrics = app.metrics.clone();
    let (audit, audit_writer) = match AuditLog::start(&cfg.ops.audit, metrics.clone())? {
        Some((log, writer)) => (Some(log), Some(writer)),
        None => (None, None),
    };
    let audit_stop = audit_writer.as_ref().map(|w| w.stopper());
    let audit_task = audit_writer.map(|w| tokio::spawn(w.run()));
    let front = Arc::new(Front::new(app, &cfg.ops, audit));
    if let Some(tls) = &tls {
        tokio::spawn(tls.clone().watch(metrics.clone()));
    }
    {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "goxy listening on {scheme}://{bound}");
        let _ = stdout.flush();
    }
    serve(front, listener, &cfg.ops, tls).await;
    if let (Some(task), Some(stop)) = (audit_task, audit_stop) {
        // Requests in flight have finished (or the grace ran out): the writer
        // writes every queued line, flushes and exits, so a SIGTERM loses none.
        stop.stop();
        if tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .is_err()
        {
            tracing::warn!("audit log writer did not finish within 10 s; lines may be lost");
        }
    }
    Ok(())
}

fn chain_entries(chain: &Chain) -> Vec<goxy_fetch::Entry> {
    chain.upstreams().iter().map(|u| u.entry.clone()).collect()
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The three protocol builders: by ALPN with TLS, by sniffing without.
struct Builders {
    auto: auto::Builder<TokioExecutor>,
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
}

fn builder(ops: &OpsConfig) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(ops.header_read_timeout)
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(ops.http2_max_concurrent_streams)
        .keep_alive_interval(Some(ops.http2_keepalive_interval))
        .keep_alive_timeout(ops.http2_keepalive_interval);
    b
}

/// Notes whether the client has sent anything: a TLS client that goes
/// silent after the handshake is dropped at the header deadline (HTTP/2 has
/// no header-read timeout of its own).
struct SeenInput<I> {
    inner: I,
    seen: Arc<std::sync::atomic::AtomicBool>,
}

impl<I: AsyncRead + Unpin> AsyncRead for SeenInput<I> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.seen.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for SeenInput<I> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Requests in flight on one connection and when it last became idle, so a
/// connection with nothing to do is closed however often it PINGs.
struct Activity {
    in_flight: std::sync::atomic::AtomicUsize,
    /// When the count last changed; only read while it is zero.
    changed: std::sync::Mutex<tokio::time::Instant>,
    /// Has any request arrived? Before the first, the header deadline applies.
    used: std::sync::atomic::AtomicBool,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            changed: std::sync::Mutex::new(tokio::time::Instant::now()),
            used: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn touch(&self) {
        if let Ok(mut changed) = self.changed.lock() {
            *changed = tokio::time::Instant::now();
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.used.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.touch();
        InFlight(self.clone())
    }

    /// Resolves once the connection has had no request in flight for
    /// `idle` (`first` before its first request).
    async fn idle(&self, idle: Duration, first: Duration) {
        loop {
            let limit = if self.used.load(Ordering::Relaxed) {
                idle
            } else {
                first.min(idle)
            };
            let since = self
                .changed
                .lock()
                .map(|c| *c)
                .unwrap_or_else(|_| tokio::time::Instant::now());
            let busy = self.in_flight.load(Ordering::SeqCst) > 0;
            if !busy && since.elapsed() >= limit {
                return;
            }
            let wake = if busy {
                tokio::time::Instant::now() + limit
            } else {
                since + limit
            };
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// One request in flight, until its response body is dropped (sent or abandoned).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted as in flight.
struct TrackedBody {
    inner: http_body_util::Full<bytes::Bytes>,
    _in_flight: InFlight,
}

impl hyper::body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// How long a connection may sit without a request in flight.
#[derive(Clone, Copy)]
struct IdleLimits {
    idle: Duration,
    first_request: Duration,
}

async fn serve_connection<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    front: Arc<Front>,
    peer: std::net::SocketAddr,
    mut shutdown: watch::Receiver<bool>,
    silent_deadline: Option<(Duration, Arc<std::sync::atomic::AtomicBool>)>,
    limits: IdleLimits,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let metrics = front.app().metrics.clone();
    let activity = Activity::new();
    let service_activity = activity.clone();
    let silent = async move {
        match silent_deadline {
            Some((deadline, seen)) => {
                tokio::time::sleep(deadline).await;
                if seen.load(Ordering::Relaxed) {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    };

    let service = service_fn(move |req| {
        let front = front.clone();
        let in_flight = service_activity.begin();
        async move {
            let resp = front.handle(req, peer).await;
            Ok::<_, std::convert::Infallible>(resp.map(|inner| TrackedBody {
                inner,
                _in_flight: in_flight,
            }))
        }
    });
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = async { let _ = shutdown.wait_for(|stop| *stop).await; } => {
            // Finish the requests in flight, accept no new ones on this connection.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
        _ = silent => {
            metrics.connections_timed_out.fetch_add(1, Ordering::Relaxed);
        }
        _ = activity.idle(limits.idle, limits.first_request) => {
            metrics.connections_idle_closed.fetch_add(1, Ordering::Relaxed);
            // GOAWAY (HTTP/2) or close (HTTP/1); a peer that ignores it is dropped.
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

/// Counts an open connection for as long as it lives.
struct OpenConnection(Arc<crate::metrics::Metrics>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts until SIGINT/SIGTERM, then stops listening and waits up to
/// `shutdown_grace` for open connections to finish their requests.
pub async fn serve(
    front: Arc<Front>,
    listener: TcpListener,
    ops: &OpsConfig,
    tls: Option<Arc<Tls>>,
) {
    let mut http1 = builder(ops);
    http1 = http1.http1_only();
    let mut http2 = builder(ops);
    http2 = http2.http2_only();
    let builders = Arc::new(Builders {
        auto: builder(ops),
        http1,
        http2,
    });
    let metrics = front.app().metrics.clone();
    let slots = Arc::new(Semaphore::new(ops.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let handshake_deadline = ops.header_read_timeout;
    let limits = IdleLimits {
        idle: ops.idle_timeout,
        first_request: ops.header_read_timeout,
    };
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    // Closing at once is cheaper than queueing behind slow clients.
                    metrics.connections_rejected.fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                metrics.connections_open.fetch_add(1, Ordering::Relaxed);
                let open = OpenConnection(metrics.clone());
                let (front, builders, tls, stop) = (front.clone(), builders.clone(), tls.clone(), stop_rx.clone());
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    let _open = open;
                    match tls {
                        Some(tls) => {
                            let stream = match tokio::time::timeout(handshake_deadline, tls.acceptor.accept(stream)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    metrics.tls_handshake_failures.fetch_add(1, Ordering::Relaxed);
                                    tracing::debug!(error = %e, %peer, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    metrics.connections_timed_out.fetch_add(1, Ordering::Relaxed);
                                    return;
                                }
                            };
                            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                            let b = if h2 { &builders.http2 } else { &builders.http1 };
                            let seen = Arc::new(std::sync::atomic::AtomicBool::new(false));
                            let stream = SeenInput { inner: stream, seen: seen.clone() };
                            serve_connection(b, stream, front, peer, stop, Some((handshake_deadline, seen)), limits).await;
                        }
                        None => {
                            // Protocol sniffing waits for bytes without a deadline of its
                            // own: give a silent client the header deadline to say anything.
                            let mut first = [0u8; 1];
                            match tokio::time::timeout(handshake_deadline, stream.peek(&mut first)).await {
                                Ok(Ok(n)) if n > 0 => {}
                                Ok(_) => return,
                                Err(_) => {
                                    metrics.connections_timed_out.fetch_add(1, Ordering::Relaxed);
                                    return;
                                }
                            }
                            // Cache hits that are memory-mapped go out with sendfile(2).
                            serve_connection(&builders.auto, crate::sendfile::SendfileStream::new(stream), front, peer, stop, None, limits).await;
                        }
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: waiting for in-flight requests");
    let _ = stop_tx.send(true);
    let all = u32::try_from(ops.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(ops.shutdown_grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            "in-flight requests still running after {:?}; exiting",
            ops.shutdown_grace
        );
    }
}

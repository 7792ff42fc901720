//! The accept loop: HTTP/1.1 and HTTP/2 (prior knowledge) on one port, a
//! header-read deadline so slow clients cannot hold connections, TCP_NODELAY,
//! and a graceful shutdown that lets in-flight downloads finish.

use crate::app::App;
use crate::config::{self, ServeArgs};
use goxy_fetch::{Chain, HttpClient, HttpConfig, ProxyEnv};
use goxy_store::{BlobStore, DiskStore};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

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

async fn run_inner(args: ServeArgs) -> Result<(), String> {
    let cfg = config::resolve(&args)?;
    if args.check {
        println!("configuration ok: upstream {} (from {})", goxy_fetch::proxylist::format(&cfg.upstream), cfg.upstream_origin);
        return Ok(());
    }
    let store = DiskStore::open(&cfg.cache_dir).map_err(|e| format!("cache directory {}: {e}", cfg.cache_dir.display()))?;
    let store: Arc<dyn BlobStore> = Arc::new(store);
    let listener = TcpListener::bind(&cfg.listen).await.map_err(|e| format!("listen on {}: {e}", cfg.listen))?;
    let bound = listener.local_addr().map_err(|e| format!("listen address: {e}"))?;
    let (upstream, dropped) = config::drop_self(cfg.upstream.clone(), bound);
    for name in &dropped {
        tracing::warn!(upstream = %name, "dropped an upstream that points at this server");
    }
    if upstream.is_empty() {
        return Err(format!("every upstream points at this server ({}); set --upstream", dropped.join(", ")));
    }
    let http = HttpClient::new(HttpConfig { timeouts: cfg.timeouts, proxy: ProxyEnv::from_env(), extra_ca_file: cfg.ca_file.clone() })?;
    let chain = Chain::new(upstream, http, None);
    tracing::info!(
        upstream = %goxy_fetch::proxylist::format(chain_entries(&chain).as_slice()),
        origin = cfg.upstream_origin,
        cache_dir = %cfg.cache_dir.display(),
        "goxy serving"
    );
    let app = Arc::new(App::new(&cfg, store, chain));
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "goxy listening on http://{bound}");
        let _ = stdout.flush();
    }
    serve(app, listener).await;
    Ok(())
}

fn chain_entries(chain: &Chain) -> Vec<goxy_fetch::Entry> {
    chain.upstreams().iter().map(|u| u.entry.clone()).collect()
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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

pub async fn serve(app: Arc<App>, listener: TcpListener) {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(256);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, std::convert::Infallible>(app.handle(req).await) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: waiting for in-flight requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("in-flight requests still running after {SHUTDOWN_GRACE:?}; exiting");
    }
}

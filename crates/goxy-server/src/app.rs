//! Request handling: the GOPROXY protocol over the caching tiers.
//!
//! Immutable artifacts (`.info` of canonical versions, `.mod`, `.zip`): memory
//! tier, then committed manifest on disk, then one single-flight fetch through
//! the upstream chain, validated before it is committed and served.
//! `list`, `@latest` and `.info` for queries: fresh for a TTL, refetched after
//! it, and served stale (marked) when every source fails.

use crate::config::ServerConfig;
use crate::route::{self, ModuleRequest, Op, Route, Version};
use bytes::Bytes;
use goxy_fetch::{Chain, FetchError, Flights, Payload, Want};
use goxy_store::{ArtifactKey, ArtifactKind, BlobStore, Manifest, Meta, MetaKind};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bytes of a response body, ready to send.
#[derive(Clone)]
pub struct Artifact {
    pub body: Bytes,
    pub etag: HeaderValue,
    pub content_type: &'static str,
    /// The source that supplied it, when this request fetched it (for the audit log).
    pub source: Option<Arc<str>>,
    /// Recorded at commit for a private module: hits need a principal allowed to read it.
    pub private_scope: Option<Arc<str>>,
}

#[derive(Clone)]
struct MetaEntry {
    body: Bytes,
    etag: HeaderValue,
    content_type: &'static str,
    fetched: Instant,
    source: Option<Arc<str>>,
}

/// Response extension: the source a miss was fetched from (audit log).
#[derive(Debug, Clone)]
pub struct SourceUsed(pub Arc<str>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
    Stale,
}

impl CacheOutcome {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Miss => "miss",
            CacheOutcome::Stale => "stale",
        })
    }
}

/// Why a request could not be answered, with the status it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeError {
    NotFound(String),
    Forbidden(String),
    BadGateway(String),
    GatewayTimeout(String),
    Storage(String),
    /// Our disk is full (or over quota): 507, a local failure like `Storage`.
    NoSpace(String),
}

impl ServeError {
    fn status(&self) -> StatusCode {
        match self {
            ServeError::NotFound(_) => StatusCode::NOT_FOUND,
            ServeError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServeError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ServeError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ServeError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::NoSpace(_) => StatusCode::INSUFFICIENT_STORAGE,
        }
    }

    fn message(&self) -> &str {
        match self {
            ServeError::NotFound(m)
            | ServeError::Forbidden(m)
            | ServeError::BadGateway(m)
            | ServeError::GatewayTimeout(m)
            | ServeError::Storage(m)
            | ServeError::NoSpace(m) => m,
        }
    }

    /// A storage error while handling `what`, 507 when the disk is full.
    fn from_store(what: &str, e: &goxy_store::StoreError) -> ServeError {
        if e.is_no_space() {
            ServeError::NoSpace(format!("storage full: {what}: {e}"))
        } else {
            ServeError::Storage(format!("storage failed: {what}: {e}"))
        }
    }

    fn from_fetch(what: &str, err: FetchError) -> ServeError {
        match err {
            FetchError::NotFound(m) => ServeError::NotFound(format!("not found: {what}: {m}")),
            FetchError::Forbidden(m) => ServeError::Forbidden(format!("forbidden: {what}: {m}")),
            FetchError::Failed {
                source,
                message,
                timed_out: true,
            } => ServeError::GatewayTimeout(format!(
                "upstream timed out: {what}: {source}: {message}"
            )),
            FetchError::Failed {
                source, message, ..
            } => ServeError::BadGateway(format!("upstream failed: {what}: {source}: {message}")),
            FetchError::Storage(fault) if fault.no_space => {
                ServeError::NoSpace(format!("storage full: {what}: {}", fault.message))
            }
            FetchError::Storage(fault) => {
                ServeError::Storage(format!("storage failed: {what}: {}", fault.message))
            }
        }
    }
}

pub struct App {
    store: Arc<dyn BlobStore>,
    chain: Chain,
    artifact_flights: Flights<Result<Artifact, ServeError>>,
    meta_flights: Flights<Result<(MetaEntry, CacheOutcome), ServeError>>,
    hot: moka::sync::Cache<String, Artifact>,
    meta: moka::sync::Cache<String, MetaEntry>,
    list_ttl: Duration,
    /// Recent "not found" answers by cache key, so repeated misses (the `go`
    /// command probing path prefixes, a client retrying, random paths) do not
    /// each reach the sources. None when `not_found_ttl` is zero.
    not_found: Option<moka::sync::Cache<String, Arc<str>>>,
    not_found_ttl: Duration,
    verifier: Option<Arc<dyn crate::hooks::ChecksumVerifier>>,
    sumdb: Option<Arc<dyn crate::hooks::SumdbRelay>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    guard: Option<Arc<dyn crate::front::ModuleGuard>>,
    /// For the home page's GOPROXY line when a request has no usable Host.
    listen: String,
    scheme: &'static str,
    private: crate::private::PrivatePatterns,
}

type Body = Full<Bytes>;

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn etag_of(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{id}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

fn content_type(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Info => "application/json",
        ArtifactKind::Mod => "text/plain; charset=utf-8",
        ArtifactKind::Zip => "application/zip",
    }
}

/// A value that passed validation and is ready to be committed.
struct Validated {
    payload: Payload,
    h1: Option<String>,
}

fn validate_artifact(
    kind: ArtifactKind,
    module: &str,
    version: &str,
    payload: Payload,
) -> Result<Validated, String> {
    match (kind, payload) {
        (ArtifactKind::Info, Payload::Memory(body)) => {
            goxy_fetch::validate::info(module, Some(version), true, body.clone())?;
            Ok(Validated {
                payload: Payload::Memory(body),
                h1: None,
            })
        }
        (ArtifactKind::Mod, Payload::Memory(body)) => {
            let h1 = goxy_fetch::validate::go_mod(module, &body)?;
            Ok(Validated {
                payload: Payload::Memory(body),
                h1: Some(h1),
            })
        }
        (ArtifactKind::Zip, payload) => {
            // Zip checking inflates every entry: keep it off the async workers.
            tokio::task::block_in_place(|| match payload {
                Payload::Memory(body) => {
                    let checked =
                        goxy_zip::check_zip(module, version, &body).map_err(|e| e.to_string())?;
                    Ok(Validated {
                        payload: Payload::Memory(body),
                        h1: Some(checked.h1),
                    })
                }
                Payload::Spooled(mut spool) => {
                    let bytes = spool.map().map_err(|e| format!("read spooled zip: {e}"))?;
                    let checked =
                        goxy_zip::check_zip(module, version, &bytes).map_err(|e| e.to_string())?;
                    drop(bytes);
                    Ok(Validated {
                        payload: Payload::Spooled(spool),
                        h1: Some(checked.h1),
                    })
                }
            })
        }
        (_, Payload::Spooled(_)) => Err("unexpected spooled body".into()),
    }
}

fn load_artifact(store: &dyn BlobStore, key: &ArtifactKey) -> Result<Option<Artifact>, ServeError> {
    let storage =
        |e: goxy_store::StoreError| ServeError::Storage(format!("storage unavailable: {key}: {e}"));
    let Some(manifest) = store.manifest(key).map_err(storage)? else {
        return Ok(None);
    };
    let body = store
        .get_blob(&manifest.blob)
        .map_err(storage)?
        .ok_or_else(|| {
            ServeError::Storage(format!(
                "storage: {key}: committed blob {} is missing",
                manifest.blob
            ))
        })?;
    Ok(Some(Artifact {
        body,
        etag: etag_of(manifest.blob.as_str()),
        content_type: content_type(key.kind),
        source: None,
        private_scope: manifest.private_scope.as_deref().map(Arc::from),
    }))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServeError> + Send + 'static,
) -> Result<T, ServeError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ServeError::Storage(format!("storage task failed: {e}"))))
}

impl App {
    pub fn new(cfg: &ServerConfig, store: Arc<dyn BlobStore>, chain: Chain) -> App {
        let hot = moka::sync::Cache::builder()
            .max_capacity(cfg.memory_cache)
            // Mapped blobs live in the page cache, not on the heap: they cost the
            // memory tier a fraction of their size, so large zips stay hot without
            // re-reading and re-hashing them. Each holds its file open (sendfile
            // reads from it), so a floor of 64 KiB bounds them to capacity/64 KiB
            // open files (4096 at the default 256 MiB).
            .weigher(|_k: &String, v: &Artifact| {
                let len = v.body.len() as u64;
                let weight = if len >= goxy_store::MMAP_THRESHOLD {
                    65_536 + len / 64
                } else {
                    len
                };
                u32::try_from(weight).unwrap_or(u32::MAX)
            })
            .build();
        let meta = moka::sync::Cache::builder().max_capacity(100_000).build();
        let metrics = Arc::new(crate::metrics::Metrics::for_chain(&chain));
        App {
            store,
            chain,
            artifact_flights: Flights::default(),
            meta_flights: Flights::default(),
            hot,
            meta,
            list_ttl: cfg.list_ttl,
            not_found: (!cfg.not_found_ttl.is_zero()).then(|| {
                moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(cfg.not_found_ttl)
                    .build()
            }),
            not_found_ttl: cfg.not_found_ttl,
            verifier: None,
            sumdb: None,
            metrics,
            guard: None,
            listen: cfg.listen.clone(),
            private: cfg.private.clone(),
            scheme: if cfg.ops.tls.is_some() {
                "https"
            } else {
                "http"
            },
        }
    }

    /// Checks every module request with `guard` (auth scopes, per-module
    /// rate limits) before any cache lookup.
    pub fn with_guard(mut self, guard: Arc<dyn crate::front::ModuleGuard>) -> App {
        self.guard = Some(guard);
        self
    }

    /// Verifies every `.mod` and `.zip` with `verifier` before it is committed.
    pub fn with_verifier(mut self, verifier: Arc<dyn crate::hooks::ChecksumVerifier>) -> App {
        self.verifier = Some(verifier);
        self
    }

    /// Answers `/sumdb/...` with `relay`.
    pub fn with_sumdb(mut self, relay: Arc<dyn crate::hooks::SumdbRelay>) -> App {
        self.sumdb = Some(relay);
        self
    }

    pub fn listen(&self) -> &str {
        &self.listen
    }

    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Each relayed checksum database's route and state (empty when none).
    pub fn sumdb_statuses(&self) -> Vec<crate::sumdb::DatabaseStatus> {
        self.sumdb
            .as_ref()
            .map(|s| s.statuses())
            .unwrap_or_default()
    }

    /// Does this server verify modules against a checksum database?
    pub fn verifies(&self) -> bool {
        self.verifier.is_some()
    }

    /// Answers one request; the response carries its [`Endpoint`](crate::metrics::Endpoint)
    /// as an extension for metrics.
    pub async fn handle<B>(self: &Arc<Self>, req: Request<B>) -> Response<Body> {
        use crate::metrics::Endpoint;
        let (endpoint, mut resp) = self.handle_routed(req).await;
        resp.extensions_mut().insert(endpoint);
        if let Some(kind) = match endpoint {
            Endpoint::Info => Some(crate::metrics::CacheKind::Info),
            Endpoint::Mod => Some(crate::metrics::CacheKind::Mod),
            Endpoint::Zip => Some(crate::metrics::CacheKind::Zip),
            Endpoint::List => Some(crate::metrics::CacheKind::List),
            Endpoint::Latest => Some(crate::metrics::CacheKind::Latest),
            _ => None,
        } {
            let outcome = match resp.headers().get("x-goxy-cache").map(|v| v.as_bytes()) {
                Some(b"hit") => Some(crate::metrics::Outcome::Hit),
                Some(b"miss") => Some(crate::metrics::Outcome::Miss),
                Some(b"stale") => Some(crate::metrics::Outcome::Stale),
                _ => None,
            };
            if let Some(outcome) = outcome {
                self.metrics.response(kind, outcome);
            }
        }
        resp
    }

    async fn handle_routed<B>(
        self: &Arc<Self>,
        req: Request<B>,
    ) -> (crate::metrics::Endpoint, Response<Body>) {
        use crate::metrics::Endpoint;
        let method = req.method().clone();
        if method != Method::GET && method != Method::HEAD {
            let mut resp = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: use GET or HEAD",
            );
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return (Endpoint::Invalid, resp);
        }
        let route = match route::parse(req.uri().path()) {
            Ok(route) => route,
            Err(e) => {
                let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::NOT_FOUND);
                return (Endpoint::Invalid, text(status, &e.message));
            }
        };
        let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
        match route {
            Route::Home => (
                Endpoint::Home,
                crate::home::page(
                    self,
                    req.headers()
                        .get(header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .or_else(|| req.uri().authority().map(|a| a.as_str())),
                ),
            ),
            Route::Healthz => (Endpoint::Healthz, text(StatusCode::OK, "ok")),
            Route::Readyz => (Endpoint::Readyz, self.ready().await),
            Route::Sumdb(rest) => (
                Endpoint::Sumdb,
                match &self.sumdb {
                    Some(relay) => relay.handle(&rest).await,
                    None => text(
                        StatusCode::NOT_FOUND,
                        "not found: no checksum database is proxied by this server",
                    ),
                },
            ),
            Route::Module(m) => {
                let endpoint = Endpoint::of_op(m.op.kind_name());
                // Policy first, so a refused module is never looked up (its
                // presence in the cache must not be observable).
                if let Some(refusal) = self
                    .guard
                    .as_ref()
                    .and_then(|g| g.check(&m.module, req.extensions()))
                {
                    return (endpoint, refusal);
                }
                let result = self.module(&m).await;
                // Decided on what is served: an artifact committed as private
                // needs a principal allowed to read it, whatever the patterns
                // (or the spelling asked for) say now.
                if let Ok((artifact, _, _)) = &result {
                    if artifact.private_scope.is_some() {
                        if let Some(refusal) = self
                            .guard
                            .as_ref()
                            .and_then(|g| g.check_private(&m.module, req.extensions()))
                        {
                            return (endpoint, refusal);
                        }
                    }
                }
                (endpoint, self.respond(&m, result, if_none_match))
            }
        }
    }

    async fn ready(self: &Arc<Self>) -> Response<Body> {
        let store = self.store.clone();
        if let Err(e) = blocking(move || {
            store
                .check_writable()
                .map_err(|e| ServeError::Storage(e.to_string()))
        })
        .await
        {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("not ready: {}", e.message()),
            );
        }
        let any_source = self
            .chain
            .upstreams()
            .iter()
            .any(|u| u.health().state != goxy_fetch::CircuitState::Open);
        if !any_source {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: every upstream's circuit is open",
            );
        }
        // Verification fails closed: while no route to the database answers,
        // misses of public modules cannot be served, so say so.
        if self.verifies() {
            for db in self.sumdb_statuses() {
                if db.status.up == Some(false) {
                    return text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &format!(
                            "not ready: checksum database {} unavailable: {}",
                            db.name,
                            db.status
                                .last_error
                                .as_deref()
                                .unwrap_or("no route answered")
                        ),
                    );
                }
            }
        }
        text(StatusCode::OK, "ready")
    }

    fn respond(
        &self,
        m: &ModuleRequest,
        result: Result<(Artifact, CacheOutcome, &'static str), ServeError>,
        if_none_match: Option<HeaderValue>,
    ) -> Response<Body> {
        match result {
            Ok((artifact, outcome, cache_control)) => {
                let not_modified = if_none_match.is_some_and(|v| v == artifact.etag);
                let source = artifact.source.clone();
                let mut resp = if not_modified {
                    let mut r = Response::new(Full::new(Bytes::new()));
                    *r.status_mut() = StatusCode::NOT_MODIFIED;
                    r
                } else {
                    let mut r = Response::new(Full::new(artifact.body));
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(artifact.content_type),
                    );
                    r
                };
                let h = resp.headers_mut();
                h.insert(header::ETAG, artifact.etag);
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(cache_control),
                );
                h.insert("x-goxy-cache", outcome.header());
                if outcome == CacheOutcome::Stale {
                    h.insert(
                        header::WARNING,
                        HeaderValue::from_static("110 goxy \"Response is Stale\""),
                    );
                }
                if let Some(source) = source {
                    resp.extensions_mut().insert(SourceUsed(source));
                }
                resp
            }
            Err(err) => {
                // An upstream 403 is how many proxies answer a path-prefix probe `go` makes
                // for every import (`example.com/a/b/c` before `example.com/a`); for `go` it
                // is a normal miss, so it is logged at debug. The status stays 502.
                let upstream_forbidden = matches!(&err, ServeError::BadGateway(msg)
                    if msg.contains(": answered 403 Forbidden"));
                if upstream_forbidden {
                    tracing::debug!(module = %m.module, op = m.op.kind_name(), error = %err.message(), "request failed");
                } else if !matches!(err, ServeError::NotFound(_)) {
                    tracing::warn!(module = %m.module, op = m.op.kind_name(), error = %err.message(), "request failed");
                }
                let mut resp = text(err.status(), err.message());
                if matches!(err, ServeError::Storage(_) | ServeError::NoSpace(_)) {
                    resp.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                }
                resp
            }
        }
    }

    async fn module(
        self: &Arc<Self>,
        m: &ModuleRequest,
    ) -> Result<(Artifact, CacheOutcome, &'static str), ServeError> {
        const IMMUTABLE: &str = "public, max-age=31536000, immutable";
        const SHORT: &str = "public, max-age=60";
        match &m.op {
            Op::Mod(v) => self
                .artifact(m, v, ArtifactKind::Mod)
                .await
                .map(|(a, o)| (a, o, IMMUTABLE)),
            Op::Zip(v) => self
                .artifact(m, v, ArtifactKind::Zip)
                .await
                .map(|(a, o)| (a, o, IMMUTABLE)),
            Op::Info(v) if v.canonical => self
                .artifact(m, v, ArtifactKind::Info)
                .await
                .map(|(a, o)| (a, o, IMMUTABLE)),
            Op::Info(v) => self
                .mutable(m, MutableKind::Query(v.clone()))
                .await
                .map(|(a, o)| (a, o, SHORT)),
            Op::List => self
                .mutable(m, MutableKind::List)
                .await
                .map(|(a, o)| (a, o, SHORT)),
            Op::Latest => self
                .mutable(m, MutableKind::Latest)
                .await
                .map(|(a, o)| (a, o, SHORT)),
        }
    }

    async fn artifact(
        self: &Arc<Self>,
        m: &ModuleRequest,
        v: &Version,
        kind: ArtifactKind,
    ) -> Result<(Artifact, CacheOutcome), ServeError> {
        let key = ArtifactKey {
            escaped_module: m.escaped_module.clone(),
            escaped_version: v.escaped.clone(),
            kind,
        };
        let key_text = key.to_string();
        let cache_kind = crate::metrics::CacheKind::of_artifact(kind);
        if let Some(hit) = self.hot.get(&key_text) {
            self.metrics
                .lookup(crate::metrics::Tier::Memory, cache_kind, true);
            return Ok((hit, CacheOutcome::Hit));
        }
        self.metrics
            .lookup(crate::metrics::Tier::Memory, cache_kind, false);
        let store = self.store.clone();
        let disk_key = key.clone();
        let on_disk = blocking(move || load_artifact(store.as_ref(), &disk_key)).await?;
        self.metrics
            .lookup(crate::metrics::Tier::Disk, cache_kind, on_disk.is_some());
        if let Some(found) = on_disk {
            self.hot.insert(key_text, found.clone());
            return Ok((found, CacheOutcome::Hit));
        }
        if let Some(err) = self.remembered_not_found(&key_text) {
            return Err(err);
        }
        let app = self.clone();
        let (module, version) = (m.module.clone(), v.version.clone());
        let (result, leader) = self
            .artifact_flights
            .run(
                &key_text,
                move || async move { app.fill(module, version, key).await },
                |panic| {
                    Err(ServeError::BadGateway(format!(
                        "fetch task failed: {panic}"
                    )))
                },
            )
            .await;
        if !leader {
            self.metrics.flight_wait(cache_kind);
        }
        self.remember_not_found(&key_text, &result);
        result.map(|a| (a, CacheOutcome::Miss))
    }

    /// The remembered "not found" for `key`, if it is recent enough.
    fn remembered_not_found(&self, key: &str) -> Option<ServeError> {
        let message = self.not_found.as_ref()?.get(key)?;
        Some(ServeError::NotFound(format!(
            "{message} (remembered: goxy asks the sources again within {}s)",
            self.not_found_ttl.as_secs()
        )))
    }

    /// Remembers a "not found" answer for `key`; any other outcome is not kept.
    fn remember_not_found<T>(&self, key: &str, result: &Result<T, ServeError>) {
        if let (Some(cache), Err(ServeError::NotFound(message))) = (&self.not_found, result) {
            cache.insert(key.to_string(), Arc::from(message.as_str()));
        }
    }

    /// Fetches, validates and commits one artifact (runs once per key at a
    /// time), counting local storage failures by kind.
    async fn fill(
        self: Arc<Self>,
        module: String,
        version: String,
        key: ArtifactKey,
    ) -> Result<Artifact, ServeError> {
        let metrics = self.metrics.clone();
        let result = self.fill_inner(module, version, key).await;
        match &result {
            Err(ServeError::NoSpace(_)) => metrics.storage_failure(true),
            Err(ServeError::Storage(_)) => metrics.storage_failure(false),
            _ => {}
        }
        result
    }

    async fn fill_inner(
        self: Arc<Self>,
        module: String,
        version: String,
        key: ArtifactKey,
    ) -> Result<Artifact, ServeError> {
        let what = format!("{module}@{version} .{}", key.kind.ext());
        let store = self.store.clone();
        let recheck_key = key.clone();
        if let Some(found) = blocking(move || load_artifact(store.as_ref(), &recheck_key)).await? {
            self.hot.insert(key.to_string(), found.clone());
            return Ok(found);
        }
        let want = match key.kind {
            ArtifactKind::Info => Want::Info(key.escaped_version.clone()),
            ArtifactKind::Mod => Want::Mod(key.escaped_version.clone()),
            ArtifactKind::Zip => Want::Zip(key.escaped_version.clone()),
        };
        let kind = key.kind;
        let started = Instant::now();
        let fetched = self
            .chain
            .fetch(
                &module,
                &key.escaped_module,
                &want,
                &self.store,
                |payload| validate_artifact(kind, &module, &version, payload),
            )
            .await;
        self.observe_fetch(&fetched, started);
        let (validated, provenance) = fetched.map_err(|e| ServeError::from_fetch(&what, e))?;
        let source: Arc<str> = Arc::from(provenance.source.as_str());
        if let (Some(verifier), Some(h1)) = (&self.verifier, &validated.h1) {
            let verified = verifier.verify(&module, &version, kind, h1).await;
            self.metrics.checksum(match &verified {
                Ok(()) => crate::metrics::ChecksumOutcome::Verified,
                Err(f) if f.unavailable => crate::metrics::ChecksumOutcome::Unavailable,
                Err(_) => crate::metrics::ChecksumOutcome::Rejected,
            });
            verified.map_err(|f| f.error)?;
        }
        // Which private patterns made this module private, kept with it.
        let private_scope = self
            .private
            .skip_proxy(&module)
            .then(|| self.private.no_proxy_effective().to_string());
        let store = self.store.clone();
        let commit_key = key.clone();
        let artifact = blocking(move || {
            let storage = |e: goxy_store::StoreError| ServeError::from_store(&what, &e);
            let (blob, size) = match validated.payload {
                Payload::Memory(body) => (store.put_blob(&body).map_err(storage)?, body.len() as u64),
                Payload::Spooled(spool) => store.put_spooled(spool).map_err(storage)?,
            };
            let manifest = Manifest { blob, size, h1: validated.h1, source: provenance.source, first_seen: now_unix(), private_scope };
            let committed = store.commit(&commit_key, &manifest).map_err(storage)?;
            if committed.blob != manifest.blob {
                tracing::warn!(artifact = %commit_key, committed = %committed.blob, offered = %manifest.blob,
                    "source content differs from the committed artifact; keeping the committed one");
            }
            load_artifact(store.as_ref(), &commit_key)?
                .ok_or_else(|| ServeError::Storage(format!("storage: {what}: committed artifact vanished")))
        })
        .await?;
        self.hot.insert(key.to_string(), artifact.clone());
        Ok(Artifact {
            source: Some(source),
            ..artifact
        })
    }

    /// Upstream latency by the source that answered (or failed last).
    fn observe_fetch<T>(
        &self,
        fetched: &Result<(T, goxy_fetch::Provenance), FetchError>,
        started: Instant,
    ) {
        let elapsed = started.elapsed();
        match fetched {
            Ok((_, provenance)) => self
                .metrics
                .upstream_fetch(&provenance.source, true, elapsed),
            Err(FetchError::Failed { source, .. }) => {
                self.metrics.upstream_fetch(source, false, elapsed)
            }
            // Not found is an answer, not an upstream failure; it has no single source.
            Err(_) => {}
        }
    }

    async fn mutable(
        self: &Arc<Self>,
        m: &ModuleRequest,
        kind: MutableKind,
    ) -> Result<(Artifact, CacheOutcome), ServeError> {
        let key = kind.key(&m.escaped_module);
        let fresh = |e: &MetaEntry| e.fetched.elapsed() < self.list_ttl;
        let cache_kind = match kind {
            MutableKind::List => crate::metrics::CacheKind::List,
            MutableKind::Latest => crate::metrics::CacheKind::Latest,
            MutableKind::Query(_) => crate::metrics::CacheKind::Info,
        };
        if let Some(entry) = self.meta.get(&key).filter(fresh) {
            self.metrics
                .lookup(crate::metrics::Tier::Meta, cache_kind, true);
            return Ok((
                Artifact {
                    source: None,
                    ..entry.into_artifact()
                },
                CacheOutcome::Hit,
            ));
        }
        self.metrics
            .lookup(crate::metrics::Tier::Meta, cache_kind, false);
        if let Some(err) = self.remembered_not_found(&key) {
            return Err(err);
        }
        let app = self.clone();
        let m2 = m.clone();
        let (result, leader) = self
            .meta_flights
            .run(
                &key,
                move || async move { app.refresh(m2, kind).await },
                |panic| {
                    Err(ServeError::BadGateway(format!(
                        "fetch task failed: {panic}"
                    )))
                },
            )
            .await;
        if !leader {
            self.metrics.flight_wait(cache_kind);
        }
        self.remember_not_found(&key, &result);
        result.map(|(entry, outcome)| (entry.into_artifact(), outcome))
    }

    async fn refresh(
        self: Arc<Self>,
        m: ModuleRequest,
        kind: MutableKind,
    ) -> Result<(MetaEntry, CacheOutcome), ServeError> {
        let key = kind.key(&m.escaped_module);
        let module = m.module.clone();
        let started = Instant::now();
        let mut source: Option<Arc<str>> = None;
        let fetched = match &kind {
            MutableKind::List => self
                .chain
                .fetch(
                    &m.module,
                    &m.escaped_module,
                    &Want::List,
                    &self.store,
                    |p| match p {
                        Payload::Memory(body) => goxy_fetch::validate::list(&module, &body),
                        Payload::Spooled(_) => Err("unexpected spooled body".into()),
                    },
                )
                .await
                .map(|(versions, provenance)| {
                    source = Some(Arc::from(provenance.source.as_str()));
                    versions
                }),
            MutableKind::Latest | MutableKind::Query(_) => {
                let want = match &kind {
                    MutableKind::Query(v) => Want::Info(v.escaped.clone()),
                    _ => Want::Latest,
                };
                self.chain
                    .fetch(
                        &m.module,
                        &m.escaped_module,
                        &want,
                        &self.store,
                        |p| match p {
                            Payload::Memory(body) => {
                                goxy_fetch::validate::info(&module, None, false, body)
                            }
                            Payload::Spooled(_) => Err("unexpected spooled body".into()),
                        },
                    )
                    .await
                    .map(|(info, provenance)| {
                        source = Some(Arc::from(provenance.source.as_str()));
                        vec![String::from_utf8_lossy(&info.body).into_owned()]
                    })
            }
        };
        match (&fetched, &source) {
            (Ok(_), Some(name)) => self.metrics.upstream_fetch(name, true, started.elapsed()),
            (Err(FetchError::Failed { source, .. }), _) => {
                self.metrics
                    .upstream_fetch(source, false, started.elapsed())
            }
            _ => {}
        }
        let what = match &kind {
            MutableKind::List => format!("{} list", m.module),
            MutableKind::Latest => format!("{}@latest", m.module),
            MutableKind::Query(v) => format!("{}@{} .info", m.module, v.version),
        };
        let committed = self.committed_versions(&m).await;
        match fetched {
            Ok(values) => {
                let body = match kind {
                    MutableKind::List => {
                        let mut all = values;
                        all.extend(committed);
                        goxy_mod::semver::sort(&mut all);
                        all.dedup();
                        goxy_fetch::validate::list_body(&all)
                    }
                    _ => Bytes::from(values.into_iter().next().unwrap_or_default()),
                };
                let mut entry = MetaEntry::new(body, kind.content_type());
                entry.source = source;
                self.meta.insert(key, entry.clone());
                if let Some(meta_kind) = kind.stored() {
                    let store = self.store.clone();
                    let escaped = m.escaped_module.clone();
                    let meta = Meta {
                        body: entry.body.clone(),
                        stored_at: SystemTime::now(),
                        source: String::new(),
                    };
                    // Persisted for stale serving after a restart; a failure here costs nothing now.
                    let _ = blocking(move || {
                        store
                            .put_meta(&escaped, meta_kind, &meta)
                            .map_err(|e| ServeError::Storage(e.to_string()))
                    })
                    .await
                    .map_err(
                        |e| tracing::warn!(error = %e.message(), "could not persist metadata"),
                    );
                }
                Ok((entry, CacheOutcome::Miss))
            }
            Err(FetchError::NotFound(reason)) => {
                // Versions this server has served stay listed even if every source forgot them.
                if matches!(kind, MutableKind::List) && !committed.is_empty() {
                    let entry = MetaEntry::new(
                        goxy_fetch::validate::list_body(&committed),
                        kind.content_type(),
                    );
                    return Ok((entry, CacheOutcome::Stale));
                }
                Err(ServeError::from_fetch(&what, FetchError::NotFound(reason)))
            }
            Err(err) => {
                if let Some(stale) = self.meta.get(&key) {
                    return Ok((stale, CacheOutcome::Stale));
                }
                if let Some(meta_kind) = kind.stored() {
                    let store = self.store.clone();
                    let escaped = m.escaped_module.clone();
                    let stored = blocking(move || {
                        store
                            .meta(&escaped, meta_kind)
                            .map_err(|e| ServeError::Storage(e.to_string()))
                    })
                    .await
                    .ok()
                    .flatten();
                    if let Some(meta) = stored {
                        let mut entry = MetaEntry::new(meta.body, kind.content_type());
                        // Mark it expired so the next request tries the sources again.
                        entry.fetched = Instant::now()
                            .checked_sub(self.list_ttl)
                            .unwrap_or_else(Instant::now);
                        self.meta.insert(key, entry.clone());
                        return Ok((entry, CacheOutcome::Stale));
                    }
                }
                if matches!(kind, MutableKind::List) && !committed.is_empty() {
                    let entry = MetaEntry::new(
                        goxy_fetch::validate::list_body(&committed),
                        kind.content_type(),
                    );
                    return Ok((entry, CacheOutcome::Stale));
                }
                Err(ServeError::from_fetch(&what, err))
            }
        }
    }

    /// Canonical versions with at least one committed artifact.
    async fn committed_versions(&self, m: &ModuleRequest) -> Vec<String> {
        let store = self.store.clone();
        let escaped = m.escaped_module.clone();
        let module = m.module.clone();
        blocking(move || {
            let versions = store
                .versions(&escaped)
                .map_err(|e| ServeError::Storage(e.to_string()))?;
            Ok(versions
                .iter()
                .filter_map(|v| goxy_mod::module::unescape_version(v).ok())
                .filter(|v| {
                    goxy_mod::module::is_canonical_version(v)
                        && goxy_mod::module::check(&module, v).is_ok()
                })
                .collect())
        })
        .await
        .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
enum MutableKind {
    List,
    Latest,
    Query(Version),
}

impl MutableKind {
    fn key(&self, escaped_module: &str) -> String {
        match self {
            MutableKind::List => format!("list:{escaped_module}"),
            MutableKind::Latest => format!("latest:{escaped_module}"),
            MutableKind::Query(v) => format!("info:{escaped_module}@{}", v.escaped),
        }
    }

    fn content_type(&self) -> &'static str {
        match self {
            MutableKind::List => "text/plain; charset=utf-8",
            _ => "application/json",
        }
    }

    fn stored(&self) -> Option<MetaKind> {
        match self {
            MutableKind::List => Some(MetaKind::List),
            MutableKind::Latest => Some(MetaKind::Latest),
            MutableKind::Query(_) => None,
        }
    }
}

impl MetaEntry {
    fn new(body: Bytes, content_type: &'static str) -> MetaEntry {
        let etag = etag_of(goxy_store::BlobId::of(&body).as_str());
        MetaEntry {
            body,
            etag,
            content_type,
            fetched: Instant::now(),
            source: None,
        }
    }

    fn into_artifact(self) -> Artifact {
        Artifact {
            body: self.body,
            etag: self.etag,
            content_type: self.content_type,
            source: self.source,
            private_scope: None,
        }
    }
}

/// A one-line plain-text response (the `go` command shows such bodies to users).
pub fn text(status: StatusCode, message: &str) -> Response<Body> {
    let line: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(1000)
        .collect();
    let mut resp = Response::new(Full::new(Bytes::from(format!("{line}\n"))));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

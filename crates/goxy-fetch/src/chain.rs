//! The upstream chain: asks each entry of a GOPROXY-syntax list in turn with
//! the `go` command's rules, validates what comes back, and reports one
//! outcome that maps onto the status-code contract:
//!
//! * every entry said "not found" (404/410, missing file, `off`) → not found;
//! * any entry failed (transport error, 5xx, 403, invalid content) and the
//!   walk could not or did not get past it → failed (time-out kept apart),
//!   even when a later entry said "not found": the source that failed might
//!   have had the module.

use crate::health::{Admission, Health, HealthSnapshot};
use crate::http::{HttpClient, Transfer};
use crate::proxylist::{Entry, EntryKind, FallThrough};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use goxy_store::{BlobStore, Spool};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// What is asked of a source. Module and version are in escaped form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    List,
    Latest,
    Info(String),
    Mod(String),
    Zip(String),
}

impl Want {
    /// The path below a proxy's base URL, as the `go` command writes it.
    pub fn proxy_path(&self, escaped_module: &str) -> String {
        let module = path_escape(escaped_module);
        match self {
            Want::List => format!("{module}/@v/list"),
            Want::Latest => format!("{module}/@latest"),
            Want::Info(v) => format!("{module}/@v/{}.info", path_escape(v)),
            Want::Mod(v) => format!("{module}/@v/{}.mod", path_escape(v)),
            Want::Zip(v) => format!("{module}/@v/{}.zip", path_escape(v)),
        }
    }

    /// The most bytes a source may send for this kind.
    pub fn size_limit(&self) -> u64 {
        match self {
            Want::List => 8 << 20,
            Want::Latest | Want::Info(_) => 1 << 20,
            Want::Mod(_) => 16 << 20,
            Want::Zip(_) => 500 << 20,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self {
            Want::List => "list",
            Want::Latest => "latest",
            Want::Info(_) => "info",
            Want::Mod(_) => "mod",
            Want::Zip(_) => "zip",
        }
    }
}

/// Go's `pathEscape`: `url.PathEscape` with `/` kept. `!` becomes `%21`, `+` stays.
pub fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~$&+:=@/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Bytes a source returned: small bodies in memory, zips spooled to disk.
pub enum Payload {
    Memory(Bytes),
    Spooled(Spool),
}

impl Payload {
    pub fn len(&self) -> u64 {
        match self {
            Payload::Memory(b) => b.len() as u64,
            Payload::Spooled(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A source's failure, from the chain's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Every source said it does not exist. Maps to 404.
    NotFound(String),
    /// A source failed or sent something invalid. Maps to 502 (504 when
    /// `timed_out`). `source` is the display name of the upstream.
    Failed {
        source: String,
        message: String,
        timed_out: bool,
    },
    /// Policy refused the request. Maps to 403.
    Forbidden(String),
    /// Writing our own storage failed (a full disk, an I/O error). A local
    /// failure: maps to 507/503 and never counts against an upstream.
    Storage(StorageFault),
}

/// A local storage failure met while taking in an upstream's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageFault {
    /// A full disk or an exceeded quota, as opposed to another I/O error.
    pub no_space: bool,
    pub message: String,
}

impl StorageFault {
    fn io(what: &str, e: &std::io::Error) -> StorageFault {
        StorageFault {
            no_space: goxy_store::is_no_space(e),
            message: format!("storage: {what}: {e}"),
        }
    }

    fn store(e: &goxy_store::StoreError) -> StorageFault {
        StorageFault {
            no_space: e.is_no_space(),
            message: e.to_string(),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::NotFound(m) => write!(f, "not found: {m}"),
            FetchError::Failed {
                source, message, ..
            } => write!(f, "upstream {source}: {message}"),
            FetchError::Forbidden(m) => write!(f, "forbidden: {m}"),
            FetchError::Storage(fault) => f.write_str(&fault.message),
        }
    }
}

impl std::error::Error for FetchError {}

/// Fetching from version control, plugged in where `direct` stands.
pub trait DirectSource: Send + Sync {
    /// `module` and the version inside `want` are unescaped here.
    fn fetch<'a>(
        &'a self,
        module: &'a str,
        want: &'a Want,
    ) -> BoxFuture<'a, Result<Bytes, FetchError>>;
}

/// One upstream with its health.
pub struct Upstream {
    pub entry: Entry,
    pub name: String,
    pub health: Health,
}

impl Upstream {
    pub fn health(&self) -> HealthSnapshot {
        self.health.snapshot()
    }
}

/// Decides which modules skip every upstream proxy (GONOPROXY semantics).
pub type DirectOnly = Box<dyn Fn(&str) -> bool + Send + Sync>;

pub struct Chain {
    upstreams: Vec<Upstream>,
    http: HttpClient,
    direct: Option<Arc<dyn DirectSource>>,
    direct_only: Option<DirectOnly>,
}

/// What the chain reports alongside a validated value.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub source: String,
}

enum Attempt {
    Got(Payload),
    NotFound(String),
    Failed {
        message: String,
        timed_out: bool,
    },
    /// Our side failed while the upstream was answering: not the upstream's fault.
    Storage(StorageFault),
}

impl Chain {
    pub fn new(
        entries: Vec<Entry>,
        http: HttpClient,
        direct: Option<Arc<dyn DirectSource>>,
    ) -> Chain {
        let upstreams = entries
            .into_iter()
            .map(|entry| Upstream {
                name: entry.display_name(),
                entry,
                health: Health::default(),
            })
            .collect();
        Chain {
            upstreams,
            http,
            direct,
            direct_only: None,
        }
    }

    /// Modules for which `direct_only` is true are fetched only from the
    /// direct source, never from an upstream proxy, whatever the list says
    /// (the `go` command's implicit `noproxy` entry for GONOPROXY).
    pub fn with_direct_only(mut self, direct_only: DirectOnly) -> Chain {
        self.direct_only = Some(direct_only);
        self
    }

    /// Is `module` kept away from upstream proxies?
    pub fn is_direct_only(&self, module: &str) -> bool {
        self.direct_only.as_ref().is_some_and(|f| f(module))
    }

    pub fn upstreams(&self) -> &[Upstream] {
        &self.upstreams
    }

    /// Walks the chain for `want` of `module` (unescaped) / `escaped_module`.
    /// `validate` checks a payload and turns it into the caller's value; an
    /// invalid payload counts as that upstream failing.
    pub async fn fetch<T>(
        &self,
        module: &str,
        escaped_module: &str,
        want: &Want,
        store: &Arc<dyn BlobStore>,
        validate: impl Fn(Payload) -> Result<T, String>,
    ) -> Result<(T, Provenance), FetchError> {
        if self.is_direct_only(module) {
            return self.fetch_direct_only(module, want, validate).await;
        }
        let mut not_found: Vec<String> = Vec::new();
        let mut failure: Option<FetchError> = None;
        for upstream in &self.upstreams {
            let attempt = self
                .attempt(upstream, module, escaped_module, want, store)
                .await;
            let outcome = match attempt {
                Attempt::Got(payload) => match validate(payload) {
                    Ok(value) => {
                        return Ok((
                            value,
                            Provenance {
                                source: upstream.name.clone(),
                            },
                        ))
                    }
                    Err(reason) => {
                        tracing::warn!(upstream = %upstream.name, module, want = want.kind_name(), %reason, "upstream sent invalid content");
                        upstream.health.record(false, std::time::Duration::ZERO);
                        Err(FetchError::Failed {
                            source: upstream.name.clone(),
                            message: format!("invalid {}: {reason}", want.kind_name()),
                            timed_out: false,
                        })
                    }
                },
                Attempt::NotFound(msg) => Ok(msg),
                // Asking the next source would only meet the same disk.
                Attempt::Storage(fault) => return Err(FetchError::Storage(fault)),
                Attempt::Failed { message, timed_out } => Err(FetchError::Failed {
                    source: upstream.name.clone(),
                    message,
                    timed_out,
                }),
            };
            match outcome {
                Ok(msg) => not_found.push(format!("{}: {msg}", upstream.name)),
                Err(err) => {
                    failure.get_or_insert(err);
                    if upstream.entry.fallthrough != FallThrough::OnAnyError {
                        break;
                    }
                }
            }
        }
        if let Some(err) = failure {
            return Err(err);
        }
        Err(FetchError::NotFound(not_found.join("; ")))
    }

    async fn fetch_direct_only<T>(
        &self,
        module: &str,
        want: &Want,
        validate: impl Fn(Payload) -> Result<T, String>,
    ) -> Result<(T, Provenance), FetchError> {
        let Some(direct) = &self.direct else {
            return Err(FetchError::NotFound(
                "private module (matches the no-proxy patterns) and direct fetching is not enabled"
                    .into(),
            ));
        };
        let unescaped_want = unescape_want(want).map_err(FetchError::NotFound)?;
        let bytes = direct.fetch(module, &unescaped_want).await?;
        match validate(Payload::Memory(bytes)) {
            Ok(value) => Ok((
                value,
                Provenance {
                    source: "direct".into(),
                },
            )),
            Err(reason) => Err(FetchError::Failed {
                source: "direct".into(),
                message: format!("invalid {}: {reason}", want.kind_name()),
                timed_out: false,
            }),
        }
    }

    async fn attempt(
        &self,
        upstream: &Upstream,
        module: &str,
        escaped_module: &str,
        want: &Want,
        store: &Arc<dyn BlobStore>,
    ) -> Attempt {
        match &upstream.entry.kind {
            EntryKind::Off => Attempt::NotFound("module lookup disabled by the upstream setting \"off\"".into()),
            EntryKind::Direct => match &self.direct {
                None => Attempt::NotFound(
                    "direct fetching from version control is not enabled in this goxy; configure an upstream proxy".into(),
                ),
                Some(direct) => {
                    let unescaped_want = match unescape_want(want) {
                        Ok(w) => w,
                        Err(e) => return Attempt::NotFound(e),
                    };
                    match direct.fetch(module, &unescaped_want).await {
                        Ok(bytes) => Attempt::Got(Payload::Memory(bytes)),
                        Err(FetchError::NotFound(m)) => Attempt::NotFound(m),
                        Err(FetchError::Failed { message, timed_out, .. }) => Attempt::Failed { message, timed_out },
                        Err(FetchError::Forbidden(m)) => Attempt::Failed { message: m, timed_out: false },
                        Err(FetchError::Storage(fault)) => Attempt::Storage(fault),
                    }
                }
            },
            EntryKind::File(dir) => read_file_entry(dir, escaped_module, want, store).await,
            EntryKind::Http(base) => {
                let admission = upstream.health.admit();
                if admission == Admission::Rejected {
                    return Attempt::Failed {
                        message: "circuit open: this upstream failed repeatedly and is being rested".into(),
                        timed_out: false,
                    };
                }
                let started = Instant::now();
                let attempt = self.http_attempt(base, escaped_module, want, store).await;
                match &attempt {
                    // A local failure says nothing about the upstream.
                    Attempt::Storage(_) => upstream.health.release_probe(),
                    attempt => upstream
                        .health
                        .record(!matches!(attempt, Attempt::Failed { .. }), started.elapsed()),
                }
                attempt
            }
        }
    }

    async fn http_attempt(
        &self,
        base: &url::Url,
        escaped_module: &str,
        want: &Want,
        store: &Arc<dyn BlobStore>,
    ) -> Attempt {
        let text = format!(
            "{}/{}",
            base.as_str().trim_end_matches('/'),
            want.proxy_path(escaped_module)
        );
        let mut url = match url::Url::parse(&text) {
            Ok(u) => u,
            Err(e) => {
                return Attempt::Failed {
                    message: format!("bad URL: {e}"),
                    timed_out: false,
                }
            }
        };
        let origin = url.origin();
        // One deadline for the whole fetch, redirects included.
        let mut transfer = Transfer::new(&self.http.timeouts(), want.size_limit());
        for _redirect in 0..=5 {
            let response = match self.http.get_bounded(&url, &transfer).await {
                Ok(r) => r,
                Err(e) => {
                    return Attempt::Failed {
                        message: e.to_string(),
                        timed_out: e.timed_out,
                    }
                }
            };
            let status = response.status();
            if status.is_redirection() {
                let Some(location) = response
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                else {
                    return Attempt::Failed {
                        message: format!("{status} without Location"),
                        timed_out: false,
                    };
                };
                let next = match url.join(location) {
                    Ok(next) => next,
                    Err(e) => {
                        return Attempt::Failed {
                            message: format!("bad redirect: {e}"),
                            timed_out: false,
                        }
                    }
                };
                if url.scheme() == "https" && next.scheme() != "https" {
                    return Attempt::Failed {
                        message: "refused redirect from https to http".into(),
                        timed_out: false,
                    };
                }
                // Credentials belong to the configured origin only.
                let mut next = next;
                if next.origin() != origin {
                    let _ = next.set_username("");
                    let _ = next.set_password(None);
                }
                url = next;
                continue;
            }
            let mut body = response.into_body();
            if status == http::StatusCode::NOT_FOUND || status == http::StatusCode::GONE {
                let detail = read_error_line(&self.http, &mut body, &mut transfer).await;
                return Attempt::NotFound(format!("{}{}", status.as_u16(), detail));
            }
            if status != http::StatusCode::OK {
                let detail = read_error_line(&self.http, &mut body, &mut transfer).await;
                return Attempt::Failed {
                    message: format!("answered {status}{detail}"),
                    timed_out: false,
                };
            }
            return self.read_body(&mut body, want, store, &mut transfer).await;
        }
        Attempt::Failed {
            message: "too many redirects".into(),
            timed_out: false,
        }
    }

    async fn read_body(
        &self,
        body: &mut hyper::body::Incoming,
        want: &Want,
        store: &Arc<dyn BlobStore>,
        transfer: &mut Transfer,
    ) -> Attempt {
        let limit = want.size_limit();
        let mut spool = match want {
            Want::Zip(_) => match store.spool() {
                Ok(spool) => Some(spool),
                Err(e) => return Attempt::Storage(StorageFault::store(&e)),
            },
            _ => None,
        };
        let mut memory = Vec::new();
        let mut total: u64 = 0;
        loop {
            let chunk = match self.http.next_chunk(body, transfer).await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    return Attempt::Failed {
                        message: format!("{e} (after {total} bytes)"),
                        timed_out: e.timed_out,
                    }
                }
            };
            total += chunk.len() as u64;
            if total > limit {
                return Attempt::Failed {
                    message: format!("{} larger than {limit} bytes", want.kind_name()),
                    timed_out: false,
                };
            }
            match &mut spool {
                Some(spool) => {
                    if let Err(e) = spool.write(&chunk) {
                        return Attempt::Storage(StorageFault::io("write spool", &e));
                    }
                }
                None => memory.extend_from_slice(&chunk),
            }
        }
        Attempt::Got(match spool {
            Some(spool) => Payload::Spooled(spool),
            None => Payload::Memory(Bytes::from(memory)),
        })
    }
}

fn unescape_want(want: &Want) -> Result<Want, String> {
    let un = |v: &str| goxy_mod::module::unescape_version(v).map_err(|e| e.to_string());
    Ok(match want {
        Want::List => Want::List,
        Want::Latest => Want::Latest,
        Want::Info(v) => Want::Info(un(v)?),
        Want::Mod(v) => Want::Mod(un(v)?),
        Want::Zip(v) => Want::Zip(un(v)?),
    })
}

/// First line of an error body, for the message passed on to clients.
async fn read_error_line(
    http: &HttpClient,
    body: &mut hyper::body::Incoming,
    transfer: &mut Transfer,
) -> String {
    let mut text = Vec::new();
    while text.len() < 512 {
        match http.next_chunk(body, transfer).await {
            Ok(Some(chunk)) => text.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let line = String::from_utf8_lossy(&text);
    let line: String = line
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if line.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", line.trim())
    }
}

async fn read_file_entry(
    dir: &std::path::Path,
    escaped_module: &str,
    want: &Want,
    store: &Arc<dyn BlobStore>,
) -> Attempt {
    let rel = want.proxy_path(escaped_module).replace("%21", "!");
    let path = dir.join(&rel);
    let limit = want.size_limit();
    let meta = match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Attempt::NotFound(format!("{rel} is not a file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Attempt::NotFound(format!("no file {rel}"))
        }
        Err(e) => {
            return Attempt::Failed {
                message: format!("read {rel}: {e}"),
                timed_out: false,
            }
        }
    };
    if meta.len() > limit {
        return Attempt::Failed {
            message: format!("{rel} larger than {limit} bytes"),
            timed_out: false,
        };
    }
    let store = store.clone();
    let is_zip = matches!(want, Want::Zip(_));
    // A read error is the source's; a spool error is ours.
    enum FileError {
        Source(String),
        Local(StorageFault),
    }
    use FileError::{Local, Source};
    let result = tokio::task::spawn_blocking(move || -> Result<Payload, FileError> {
        use std::io::Read;
        let mut file = std::fs::File::open(&path).map_err(|e| Source(format!("open: {e}")))?;
        if !is_zip {
            let mut data = Vec::with_capacity(meta.len() as usize);
            file.by_ref()
                .take(limit + 1)
                .read_to_end(&mut data)
                .map_err(|e| Source(format!("read: {e}")))?;
            return Ok(Payload::Memory(Bytes::from(data)));
        }
        let mut spool = store.spool().map_err(|e| Local(StorageFault::store(&e)))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| Source(format!("read: {e}")))?;
            if n == 0 {
                break;
            }
            spool
                .write(&buf[..n])
                .map_err(|e| Local(StorageFault::io("write spool", &e)))?;
            if spool.len() > limit {
                return Err(Source(format!("larger than {limit} bytes")));
            }
        }
        Ok(Payload::Spooled(spool))
    })
    .await;
    match result {
        Ok(Ok(payload)) => Attempt::Got(payload),
        Ok(Err(Source(message))) => Attempt::Failed {
            message: format!("{rel}: {message}"),
            timed_out: false,
        },
        Ok(Err(Local(fault))) => Attempt::Storage(fault),
        Err(join) => Attempt::Failed {
            message: format!("{rel}: {join}"),
            timed_out: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeDirect;

    impl DirectSource for FakeDirect {
        fn fetch<'a>(
            &'a self,
            module: &'a str,
            want: &'a Want,
        ) -> BoxFuture<'a, Result<Bytes, FetchError>> {
            Box::pin(async move { Ok(Bytes::from(format!("{module} {want:?}"))) })
        }
    }

    fn chain(
        direct: Option<Arc<dyn DirectSource>>,
    ) -> (Chain, Arc<dyn BlobStore>, tempfile::TempDir) {
        // A closed loopback port: any attempt to use the proxy fails fast.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let entries = crate::proxylist::parse(&format!("http://{closed}")).unwrap();
        let http = HttpClient::new(crate::http::HttpConfig::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn BlobStore> = Arc::new(goxy_store::DiskStore::open(dir.path()).unwrap());
        let chain = Chain::new(entries, http, direct).with_direct_only(Box::new(|m: &str| {
            goxy_mod::pattern::match_prefix_patterns("corp.example", m)
        }));
        (chain, store, dir)
    }

    #[tokio::test]
    async fn private_modules_never_reach_the_proxy() {
        let (chain, store, _dir) = chain(Some(Arc::new(FakeDirect)));
        let ok = |p: Payload| match p {
            Payload::Memory(b) => Ok(b),
            Payload::Spooled(_) => Err("spooled".to_string()),
        };
        let (body, prov) = chain
            .fetch("corp.example/x", "corp.example/x", &Want::List, &store, ok)
            .await
            .unwrap();
        assert_eq!(prov.source, "direct");
        assert_eq!(body, Bytes::from_static(b"corp.example/x List"));
        // A public module goes to the (closed) proxy and fails there: it was not sent direct.
        let err = chain
            .fetch(
                "public.example/y",
                "public.example/y",
                &Want::List,
                &store,
                ok,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Failed { .. }), "{err}");
    }

    #[tokio::test]
    async fn private_modules_without_direct_are_not_found() {
        let (chain, store, _dir) = chain(None);
        let err = chain
            .fetch(
                "corp.example/x",
                "corp.example/x",
                &Want::List,
                &store,
                |_p| Ok::<(), String>(()),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::NotFound(ref m) if m.contains("private module")),
            "{err}"
        );
    }

    #[test]
    fn paths_are_escaped_like_go() {
        assert_eq!(
            Want::Zip("v2.0.0+incompatible".into()).proxy_path("github.com/!burnt!sushi/toml"),
            "github.com/%21burnt%21sushi/toml/@v/v2.0.0+incompatible.zip"
        );
        assert_eq!(
            Want::Latest.proxy_path("example.com/m"),
            "example.com/m/@latest"
        );
        assert_eq!(
            Want::Info("v1.0.0-!r!c1".into()).proxy_path("x.y/z"),
            "x.y/z/@v/v1.0.0-%21r%21c1.info"
        );
    }
}

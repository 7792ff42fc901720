//! Direct fetching of Go modules from git repositories — the `direct` source
//! of goxy — producing the same `.info`, `.mod` and `.zip` content (same h1)
//! as `go mod download` with `GOPROXY=direct`, without a Go toolchain.
//!
//! # API
//!
//! ```no_run
//! # async fn demo() -> Result<(), goxy_git::DirectError> {
//! use goxy_git::{DirectConfig, DirectFetcher};
//! let fetcher = DirectFetcher::new(DirectConfig::new("/var/cache/goxy/direct"))?;
//! let versions: Vec<String> = fetcher.list("example.com/m").await?;   // `@v/list`
//! let latest = fetcher.latest("example.com/m").await?;                 // `@latest`
//! let info = fetcher.stat("example.com/m", "main").await?;             // `.info` for a query
//! let gomod: Vec<u8> = fetcher.go_mod("example.com/m", &info.version).await?;
//! let zip: Vec<u8> = fetcher.zip("example.com/m", &info.version).await?;
//! let json = serde_json::to_string(&latest).unwrap();                  // the `.info` body
//! # Ok(()) }
//! ```
//!
//! * `DirectFetcher` is `Clone + Send + Sync` (an `Arc` inside).
//! * [`DirectError::is_not_found`] is true only for authoritative answers —
//!   the module, revision or version does not exist, or the version's
//!   content can never form a valid module (bad file names, case
//!   collisions, wrong go.mod) — so a server maps it to 404/410 and
//!   everything else (network, git failure, policy) to 502/504/403.
//! * `zip` returns the whole zip in memory (≤ 500 MiB by the module rules).
//! * [`DirectFetcher::zip_with_hash`] also returns the zip's `h1:`; the
//!   go.mod `h1:` is [`hash_go_mod`].
//!
//! # Where the module is found
//!
//! 1. `repo_overrides` (module prefix → git URL), longest prefix wins;
//! 2. known hosting patterns (`github.com/<owner>/<repo>` …) and the
//!    `example.com/repo.git/sub` qualifier form (scheme probe: https, then
//!    ssh if allowed, then http if insecure);
//! 3. `https://<path>?go-get=1` go-import meta tags (3- and 4-field forms,
//!    `mod` entries preferred, prefix re-checked), plain http only for
//!    modules matching `insecure`. A `mod` entry sends the module to the
//!    named GOPROXY-protocol server; `hg`/`svn`/`bzr`/`fossil` are refused.
//!
//! Every URL passes the egress policy ([`DirectConfig`]): https; ssh only if
//! `allow_ssh`; http only under an `insecure` pattern; loopback, private and
//! link-local addresses only with `allow_private_addresses` (checked after
//! DNS resolution; for discovery also on every redirect and connection; git
//! gets the checked URL and follows no redirects).
//!
//! # Cache
//!
//! One bare repository per URL under `cache_dir/git/<sha256(url)>`.
//! `list`, `@latest` and branch/hash queries run `git ls-remote` and then
//! fetch only what is new (all branches and tags, full history — a shallow
//! cache is completed), never a re-clone. A first request for a tagged
//! version fetches just that tag with depth 1 and answers from it; the rest
//! of the repository is then fetched in the background
//! (`complete_in_background`, [`DirectFetcher::settle`] waits for it).
//! Canonical versions whose tag or commit is already cached are answered
//! without network and without waiting for a fetch in progress.
//!
//! # Zips
//!
//! A zip is built from `git ls-tree` and the blobs it names (`cat-file
//! --batch`), reading only the files the zip rules keep. Each entry's
//! hash, CRC and deflated bytes are kept by blob id (`zip_reuse_bytes`,
//! per repository and module directory), so the next version of a module
//! reads, hashes and compresses only the files that changed. A tree with a
//! `.gitattributes` file that applies to the module (eol, ident, encoding
//! conversions) is built from `git archive` instead, as cmd/go does.
//!
//! # Git hardening
//!
//! `git` only (never `go`), with its own PATH if configured, no system or
//! global config, no hooks, fsmonitor, bundle URIs, submodules, credential
//! helpers or prompts; `GIT_ALLOW_PROTOCOL` limited to the URL's scheme;
//! `--end-of-options` before every argument derived from input; refs
//! resolved to commit ids; version queries starting with `-`/`/` or holding
//! control characters, `..`, `:` or `@{` rejected before any process runs.
//! Credentials reach git through `GIT_CONFIG_*` variables scoped to the
//! credential's origin (never argv, never a file), and HTTP redirects are off.

mod coderepo;
mod discovery;
mod gitcmd;
mod gomod;
mod modpath;
mod modproxy;
mod reuse;
mod semver;
mod zipbuild;

pub use discovery::{is_private_ip, RepoRoot};
pub use reuse::ZipEntryCounts;
pub use zipbuild::hash_go_mod;

use base64::Engine as _;
use coderepo::CodeRepo;
use discovery::{Egress, StaticMatch};
use gitcmd::{GitNet, GitRepo};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why a direct fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectError {
    /// Authoritative: module, revision or version does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Authoritative: the version exists but can never be a valid module (zip rules).
    #[error("invalid module: {0}")]
    Invalid(String),
    /// The egress policy forbids the connection.
    #[error("denied: {0}")]
    Denied(String),
    /// Discovery over HTTP failed (network, TLS, 5xx).
    #[error("upstream: {0}")]
    Upstream(String),
    /// git failed for a reason other than "does not exist".
    #[error("git: {0}")]
    Git(String),
    #[error("io: {0}")]
    Io(String),
    /// A feature goxy does not implement (e.g. hg/svn repositories).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl DirectError {
    /// True only for an authoritative "does not exist" (→ 404/410).
    pub fn is_not_found(&self) -> bool {
        matches!(self, DirectError::NotFound(_) | DirectError::Invalid(_))
    }

    /// True when the egress policy refused the fetch (→ 403 or 502, the server's choice).
    pub fn is_denied(&self) -> bool {
        matches!(self, DirectError::Denied(_))
    }

    fn context(self, what: &str) -> Self {
        let wrap = |m: String| format!("{what}: {m}");
        match self {
            DirectError::NotFound(m) => DirectError::NotFound(wrap(m)),
            DirectError::Invalid(m) => DirectError::Invalid(wrap(m)),
            DirectError::Denied(m) => DirectError::Denied(wrap(m)),
            DirectError::Upstream(m) => DirectError::Upstream(wrap(m)),
            DirectError::Git(m) => DirectError::Git(wrap(m)),
            DirectError::Io(m) => DirectError::Io(wrap(m)),
            DirectError::Unsupported(m) => DirectError::Unsupported(wrap(m)),
        }
    }
}

/// A failure to find where a module's code lives is "not found", as in cmd/go:
/// `modfetch/repo.go` `lookupDirect` wraps every `vcs.RepoRootForImportPath` error
/// (DNS, connection or TLS failure fetching `?go-get=1`, a 5xx, missing or mismatched
/// go-import tags, the `.git` scheme probe) in `notExistError`, so `go` moves on to the
/// next path prefix instead of failing the build. Failures after the repository is known
/// (git ls-remote/fetch) are not discovery and stay failures (502/504).
///
/// Egress-policy denials stay `Denied`: cmd/go has no such policy, and the operator's
/// refusal must be reported as a refusal, not hidden as a miss that would let a client
/// silently resolve a different prefix. A denial never connects (checked before I/O).
/// Local I/O errors stay `Io`: they say nothing about where the code lives.
///
/// Deviation, for now: a connection or TLS failure to a host that resolved (the
/// `GET ...?go-get=1` transport error) stays a failure (502), because goxy's own egress
/// tests treat "https refused and plain http not allowed" as a refusal, not a miss.
fn discovery_failure(module: &str, e: DirectError) -> DirectError {
    match e {
        DirectError::Upstream(m) | DirectError::Git(m) => {
            let cause = m
                .strip_prefix(module)
                .and_then(|r| r.strip_prefix(": "))
                .unwrap_or(&m)
                .to_string();
            if cause.starts_with("GET ") {
                return DirectError::Upstream(m);
            }
            DirectError::NotFound(format!("{module} (discovery: {cause})"))
        }
        other => other,
    }
}

/// Provenance of a version, the `Origin` object of the `.info` JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    #[serde(rename = "VCS")]
    pub vcs: String,
    #[serde(rename = "URL")]
    pub url: String,
    #[serde(rename = "Subdir", skip_serializing_if = "String::is_empty")]
    pub subdir: String,
    #[serde(rename = "Hash")]
    pub hash: String,
    /// Full ref name (`refs/tags/v1.2.3`); empty for pseudo-versions.
    #[serde(rename = "Ref", skip_serializing_if = "String::is_empty")]
    pub r#ref: String,
}

/// The `.info` record; serialises to `{"Version":…,"Time":…,"Origin":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevInfo {
    #[serde(rename = "Version")]
    pub version: String,
    /// Commit time, RFC 3339 UTC (`2006-01-02T15:04:05Z`).
    #[serde(rename = "Time")]
    pub time: String,
    #[serde(rename = "Origin", skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// A username/password (or token) for one host.
#[derive(Clone, PartialEq, Eq)]
pub struct HostCredential {
    /// Host name, optionally with `:port`.
    pub host: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for HostCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostCredential({}, <redacted>)", self.host)
    }
}

/// Secrets for private repositories. Sent only to the host they name.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Explicit per-host credentials (win over `.netrc`).
    pub hosts: Vec<HostCredential>,
    /// A `.netrc` file to read (`machine`/`login`/`password`).
    pub netrc: Option<PathBuf>,
    /// Private key for ssh remotes (only used when `allow_ssh`).
    pub ssh_key: Option<PathBuf>,
    /// known_hosts for ssh remotes; host keys are always verified.
    pub ssh_known_hosts: Option<PathBuf>,
}

impl Credentials {
    /// From the environment: `GOXY_GIT_CREDENTIALS` (`host=user:token` items
    /// separated by `,` or newlines), `NETRC` (else `$HOME/.netrc` if present),
    /// `GOXY_GIT_SSH_KEY` and `GOXY_GIT_SSH_KNOWN_HOSTS`.
    pub fn from_env() -> Self {
        let mut c = Credentials::default();
        if let Ok(list) = std::env::var("GOXY_GIT_CREDENTIALS") {
            c.hosts = parse_credential_list(&list);
        }
        c.netrc = std::env::var_os("NETRC")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".netrc")))
            .filter(|p| p.is_file());
        c.ssh_key = std::env::var_os("GOXY_GIT_SSH_KEY").map(PathBuf::from);
        c.ssh_known_hosts = std::env::var_os("GOXY_GIT_SSH_KNOWN_HOSTS").map(PathBuf::from);
        c
    }

    /// (username, password) for `host` (`name` or `name:port`).
    pub fn for_host(&self, host: &str) -> Option<(String, String)> {
        let bare = host.split(':').next().unwrap_or(host);
        if let Some(h) = self
            .hosts
            .iter()
            .find(|h| h.host == host)
            .or_else(|| self.hosts.iter().find(|h| h.host == bare))
        {
            return Some((h.username.clone(), h.password.clone()));
        }
        let text = std::fs::read_to_string(self.netrc.as_ref()?).ok()?;
        netrc_lookup(&text, bare)
    }
}

/// Parses `host=user:token` items separated by commas or newlines.
pub fn parse_credential_list(list: &str) -> Vec<HostCredential> {
    list.split([',', '\n'])
        .filter_map(|item| {
            let (host, cred) = item.trim().split_once('=')?;
            let (user, pass) = cred.split_once(':')?;
            (!host.is_empty()).then(|| HostCredential {
                host: host.into(),
                username: user.into(),
                password: pass.into(),
            })
        })
        .collect()
}

/// `.netrc` lookup: the `machine` entry for `host`, else `default`.
pub fn netrc_lookup(text: &str, host: &str) -> Option<(String, String)> {
    let mut toks = text.split_whitespace();
    let mut found: Option<(String, String)> = None;
    let mut default: Option<(String, String)> = None;
    let mut cur: Option<(bool, bool)> = None; // (is ours, is default)
    let (mut login, mut password) = (String::new(), String::new());
    let flush = |cur: Option<(bool, bool)>,
                 login: &mut String,
                 password: &mut String,
                 found: &mut Option<(String, String)>,
                 default: &mut Option<(String, String)>| {
        if let Some((ours, dflt)) = cur {
            let pair = (std::mem::take(login), std::mem::take(password));
            if ours && found.is_none() {
                *found = Some(pair);
            } else if dflt && default.is_none() {
                *default = Some(pair);
            }
        }
    };
    while let Some(t) = toks.next() {
        match t {
            "machine" => {
                flush(cur, &mut login, &mut password, &mut found, &mut default);
                cur = Some((toks.next() == Some(host), false));
            }
            "default" => {
                flush(cur, &mut login, &mut password, &mut found, &mut default);
                cur = Some((false, true));
            }
            "login" => login = toks.next().unwrap_or("").to_string(),
            "password" => password = toks.next().unwrap_or("").to_string(),
            _ => {}
        }
    }
    flush(cur, &mut login, &mut password, &mut found, &mut default);
    found.or(default)
}

/// Configuration of the direct source.
#[derive(Debug, Clone)]
pub struct DirectConfig {
    /// Where bare repositories are cached.
    pub cache_dir: PathBuf,
    /// GOINSECURE-style patterns: modules allowed plain http and unverified TLS.
    pub insecure: String,
    /// `(module prefix, git URL)`: repositories for hosts that serve no go-import page.
    pub repo_overrides: Vec<(String, String)>,
    pub credentials: Credentials,
    /// Module path patterns (GOPRIVATE syntax, matched with every spelling
    /// that reaches the same repository) whose fetches may carry
    /// `credentials`. Some: credentials follow the module, not the host — a
    /// public-looking path whose go-import names a private repository is
    /// fetched anonymously, from a cache of its own, so no client can reach
    /// private code through a name outside these patterns. None: any module
    /// on a host with credentials uses them (library use without policy).
    pub credentialed_modules: Option<String>,
    /// Allow loopback/private/link-local destinations (tests, internal git hosts).
    pub allow_private_addresses: bool,
    /// Allow `ssh://` repository URLs.
    pub allow_ssh: bool,
    /// Limit for one git command (fetch, archive …).
    pub git_timeout: Duration,
    /// Limit for one `?go-get=1` request.
    pub http_timeout: Duration,
    /// How long a discovered repository root is reused.
    pub discovery_ttl: Duration,
    /// PATH for the `git` (and `ssh`) processes goxy runs; None inherits goxy's.
    /// Nothing else is ever executed — in particular never `go`.
    pub git_path_env: Option<std::ffi::OsString>,
    /// Memory for prepared zip entries of recently built versions, reused by
    /// the next version of the same module (0 disables reuse).
    pub zip_reuse_bytes: u64,
    /// After a first request fetched one tag with depth 1, fetch the rest of
    /// the repository (all branches and tags, full history) in the
    /// background, so later versions, lists and pseudo-versions are local.
    pub complete_in_background: bool,
    /// Build zips from the tree listing and blob contents (reusing unchanged
    /// entries); false always runs `git archive`. Both give the same zip
    /// content; the switch exists so tests and benchmarks can compare them.
    pub zip_from_tree: bool,
}

impl DirectConfig {
    /// Defaults: nothing insecure, no overrides, credentials from the
    /// environment, no private addresses, no ssh, 10 min git and 30 s HTTP limits.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        DirectConfig {
            cache_dir: cache_dir.into(),
            insecure: String::new(),
            repo_overrides: Vec::new(),
            credentials: Credentials::from_env(),
            credentialed_modules: None,
            allow_private_addresses: false,
            allow_ssh: false,
            git_timeout: Duration::from_secs(600),
            http_timeout: Duration::from_secs(30),
            discovery_ttl: Duration::from_secs(600),
            git_path_env: None,
            zip_reuse_bytes: 128 << 20,
            complete_in_background: true,
            zip_from_tree: true,
        }
    }
}

struct Inner {
    cfg: DirectConfig,
    egress: Egress,
    http: reqwest::Client,
    http_insecure: reqwest::Client,
    repos: Mutex<HashMap<String, Arc<GitRepo>>>,
    roots: Mutex<HashMap<String, (Instant, RepoRoot)>>,
    reuse: reuse::ZipReuse,
    /// Background completions of shallow caches, awaited by [`DirectFetcher::settle`].
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// Fetches modules straight from their git repositories.
#[derive(Clone)]
pub struct DirectFetcher {
    inner: Arc<Inner>,
}

/// DNS resolution for discovery that refuses private addresses unless allowed (rebinding-safe).
struct PolicyResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ok: Vec<std::net::SocketAddr> = addrs
                .into_iter()
                .filter(|a| allow || !is_private_ip(a.ip()))
                .collect();
            if ok.is_empty() {
                return Err(format!("{host}: no permitted address").into());
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn http_client(
    cfg: &DirectConfig,
    accept_invalid_certs: bool,
) -> Result<reqwest::Client, DirectError> {
    let insecure = cfg.insecure.clone();
    let allow_private = cfg.allow_private_addresses;
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects");
        }
        let u = attempt.url();
        let host = u.host_str().unwrap_or("").to_string();
        if u.scheme() == "http" && !modpath::match_prefix_patterns(&insecure, &host) {
            return attempt.error("redirect to http refused (host not insecure)");
        }
        if u.scheme() != "http" && u.scheme() != "https" {
            return attempt.error("redirect to another scheme refused");
        }
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        {
            if !allow_private && is_private_ip(ip) {
                return attempt.error("redirect to a private address refused");
            }
        }
        attempt.follow()
    });
    reqwest::Client::builder()
        .redirect(policy)
        .timeout(cfg.http_timeout)
        .danger_accept_invalid_certs(accept_invalid_certs)
        .dns_resolver(Arc::new(PolicyResolver { allow_private }))
        .no_proxy()
        .user_agent("goxy-direct")
        .build()
        .map_err(|e| DirectError::Io(format!("http client: {e}")))
}

fn has_path_prefix(s: &str, prefix: &str) -> bool {
    s == prefix || (s.starts_with(prefix) && s.as_bytes().get(prefix.len()) == Some(&b'/'))
}

impl DirectFetcher {
    pub fn new(cfg: DirectConfig) -> Result<Self, DirectError> {
        std::fs::create_dir_all(&cfg.cache_dir)
            .map_err(|e| DirectError::Io(format!("create {}: {e}", cfg.cache_dir.display())))?;
        let egress = Egress {
            insecure: cfg.insecure.clone(),
            allow_ssh: cfg.allow_ssh,
            allow_private_addresses: cfg.allow_private_addresses,
        };
        Ok(DirectFetcher {
            inner: Arc::new(Inner {
                http: http_client(&cfg, false)?,
                http_insecure: http_client(&cfg, true)?,
                egress,
                reuse: reuse::ZipReuse::new(cfg.zip_reuse_bytes),
                background: Mutex::new(Vec::new()),
                cfg,
                repos: Mutex::new(HashMap::new()),
                roots: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Canonical tagged versions, as the proxy `@v/list` gives them (unsorted
    /// order is irrelevant to clients; this returns them semver-sorted).
    pub async fn list(&self, module: &str) -> Result<Vec<String>, DirectError> {
        let what = module.to_string();
        async {
            if let Some(p) = self.mod_proxy(module).await? {
                return p.list().await;
            }
            let repo = self.code_repo(module, true).await?;
            repo.versions().await
        }
        .await
        .map_err(|e: DirectError| e.context(&what))
    }

    /// `@latest`: the version of the default branch's HEAD commit.
    pub async fn latest(&self, module: &str) -> Result<RevInfo, DirectError> {
        let what = format!("{module}@latest");
        async {
            if let Some(p) = self.mod_proxy(module).await? {
                return p.latest().await;
            }
            let repo = self.code_repo(module, true).await?;
            let r = repo.latest().await?;
            Ok(self.rev_info(&repo, r))
        }
        .await
        .map_err(|e: DirectError| e.context(&what))
    }

    /// `.info` for a version, branch, tag or commit hash prefix.
    pub async fn stat(&self, module: &str, query: &str) -> Result<RevInfo, DirectError> {
        let what = format!("{module}@{query}");
        async {
            check_query(query)?;
            if let Some(p) = self.mod_proxy(module).await? {
                return p.stat(query).await;
            }
            let repo = self.repo_for_version(module, query).await?;
            let r = repo.stat(query).await?;
            Ok(self.rev_info(&repo, r))
        }
        .await
        .map_err(|e: DirectError| e.context(&what))
    }

    /// `.mod` for a canonical version.
    pub async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, DirectError> {
        let what = format!("{module}@{version}");
        async {
            check_query(version)?;
            if let Some(p) = self.mod_proxy(module).await? {
                return p.go_mod(version).await;
            }
            let repo = self.repo_for_version(module, version).await?;
            repo.go_mod(version).await
        }
        .await
        .map_err(|e: DirectError| e.context(&what))
    }

    /// `.zip` for a canonical version.
    pub async fn zip(&self, module: &str, version: &str) -> Result<Vec<u8>, DirectError> {
        self.zip_with_hash(module, version).await.map(|(z, _)| z)
    }

    /// `.zip` bytes and their `h1:` content hash.
    pub async fn zip_with_hash(
        &self,
        module: &str,
        version: &str,
    ) -> Result<(Vec<u8>, String), DirectError> {
        let what = format!("{module}@{version}");
        async {
            check_query(version)?;
            if let Some(p) = self.mod_proxy(module).await? {
                return p.zip(version).await;
            }
            let repo = self.repo_for_version(module, version).await?;
            let z = repo.zip(version).await?;
            Ok((z.bytes, z.h1))
        }
        .await
        .map_err(|e: DirectError| e.context(&what))
    }

    /// May fetches for `module` carry credentials?
    fn uses_credentials(&self, module: &str) -> bool {
        match &self.inner.cfg.credentialed_modules {
            None => true,
            Some(patterns) => goxy_mod::pattern::match_private_patterns(patterns, module),
        }
    }

    /// The credentials for `host_port`, when `module` may use them.
    fn credential_for(&self, module: &str, host_port: &str) -> Option<(String, String)> {
        if !self.uses_credentials(module) {
            return None;
        }
        self.inner.cfg.credentials.for_host(host_port)
    }

    /// An anonymous fetch refused by the host: the repository exists but
    /// needs credentials goxy does not use for this module path. For the
    /// go command that is "not found" (a 404 with the reason).
    fn anonymous_refusal(&self, module: &str, err: DirectError) -> DirectError {
        let anonymous =
            self.inner.cfg.credentialed_modules.is_some() && !self.uses_credentials(module);
        let text = err.to_string();
        let refused = [
            "401",
            "403",
            "Authentication failed",
            "terminal prompts disabled",
            "could not read Username",
            "Permission denied",
        ]
        .iter()
        .any(|needle| text.contains(needle));
        if anonymous && refused && !err.is_not_found() {
            DirectError::NotFound(format!(
                "{module}: the repository needs credentials, and goxy uses its credentials only for \
                 module paths matching its private patterns"
            ))
        } else {
            err
        }
    }

    /// Where `module` lives (cached for `discovery_ttl`).
    pub async fn discover(&self, module: &str) -> Result<RepoRoot, DirectError> {
        if let Err(e) = modpath::check_path(module) {
            return Err(DirectError::NotFound(format!(
                "malformed module path {module:?}: {e}"
            )));
        }
        if let Ok(roots) = self.inner.roots.lock() {
            if let Some((at, r)) = roots.get(module) {
                if at.elapsed() < self.inner.cfg.discovery_ttl {
                    return Ok(r.clone());
                }
            }
        }
        let root = self
            .discover_uncached(module)
            .await
            .map_err(|e| discovery_failure(module, e))?;
        if let Ok(mut roots) = self.inner.roots.lock() {
            roots.insert(module.to_string(), (Instant::now(), root.clone()));
        }
        Ok(root)
    }

    async fn discover_uncached(&self, module: &str) -> Result<RepoRoot, DirectError> {
        let best = self
            .inner
            .cfg
            .repo_overrides
            .iter()
            .filter(|(prefix, _)| has_path_prefix(module, prefix.trim_end_matches('/')))
            .max_by_key(|(prefix, _)| prefix.len());
        if let Some((prefix, url)) = best {
            return Ok(RepoRoot {
                root: prefix.trim_end_matches('/').to_string(),
                url: url.clone(),
                subdir: String::new(),
                vcs: "git".into(),
            });
        }
        match discovery::static_lookup(module)? {
            StaticMatch::Root(r) => return Ok(r),
            StaticMatch::Qualified { root, repo } => {
                let mut schemes = vec!["https"];
                if self.inner.cfg.allow_ssh {
                    schemes.push("ssh");
                }
                if self.inner.egress.insecure_for(module) {
                    schemes.push("http");
                }
                for scheme in schemes {
                    let url = format!("{scheme}://{repo}");
                    let Ok(git) = self.git_repo(module, &url).await else {
                        continue;
                    };
                    if git.sync().await.is_ok() {
                        return Ok(RepoRoot {
                            root,
                            url,
                            subdir: String::new(),
                            vcs: "git".into(),
                        });
                    }
                }
                return Err(DirectError::NotFound(format!(
                    "{module}: no secure protocol found for repository"
                )));
            }
            StaticMatch::None => {}
        }
        let imports = self.fetch_meta(module, module).await?;
        let m = discovery::match_go_import(&imports, module)?;
        discovery::validate_import(&m, module)?;
        if m.prefix != module {
            let again = self.fetch_meta(module, &m.prefix).await?;
            let m2 = discovery::match_go_import(&again, &m.prefix)?;
            if m2 != m {
                return Err(DirectError::NotFound(format!(
                    "{module}: {} and {} disagree about go-import for {}",
                    module, m.prefix, m.prefix
                )));
            }
        }
        Ok(RepoRoot {
            root: m.prefix,
            url: m.repo,
            subdir: m.subdir,
            vcs: m.vcs,
        })
    }

    /// GET `https://<path>?go-get=1` (http only for insecure modules) and parse go-import tags.
    async fn fetch_meta(
        &self,
        module: &str,
        path: &str,
    ) -> Result<Vec<discovery::MetaImport>, DirectError> {
        let (host, rest) = match path.find('/') {
            Some(i) => (&path[..i], &path[i..]),
            None => (path, "/"),
        };
        let insecure = self.inner.egress.insecure_for(module);
        let mut schemes = vec!["https"];
        if insecure {
            schemes.push("http");
        }
        let mut last_err = DirectError::Upstream(format!("{module}: no discovery attempt"));
        for scheme in schemes {
            let url = format!("{scheme}://{host}{rest}?go-get=1");
            let parsed = match self.inner.egress.check(module, &url).await {
                Ok(u) => u,
                Err(e) => {
                    last_err = e;
                    continue;
                }
            };
            let client = if insecure {
                &self.inner.http_insecure
            } else {
                &self.inner.http
            };
            let mut req = client.get(parsed.clone());
            let host_port = match parsed.port() {
                Some(p) => format!("{}:{p}", parsed.host_str().unwrap_or("")),
                None => parsed.host_str().unwrap_or("").to_string(),
            };
            if let Some((user, pass)) = self.credential_for(module, &host_port) {
                req = req.basic_auth(user, Some(pass));
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last_err = DirectError::Upstream(format!(
                        "{module}: GET {scheme}://{host}{rest}?go-get=1: {}",
                        without_url(&e)
                    ));
                    continue;
                }
            };
            let status = resp.status();
            let body = read_limited(resp, 4 << 20).await.map_err(|e| {
                DirectError::Upstream(format!("{module}: reading go-get page: {e}"))
            })?;
            let imports = discovery::parse_meta_imports(&String::from_utf8_lossy(&body));
            if imports.is_empty() {
                if status.is_success() || status.as_u16() == 404 || status.as_u16() == 410 {
                    return Err(DirectError::NotFound(format!("{module}: no go-import meta tags at {scheme}://{host}{rest}?go-get=1 ({status})")));
                }
                last_err = DirectError::Upstream(format!(
                    "{module}: {scheme}://{host}{rest}?go-get=1: {status}"
                ));
                continue;
            }
            return Ok(imports);
        }
        Err(last_err)
    }

    async fn git_repo(&self, module: &str, url: &str) -> Result<Arc<GitRepo>, DirectError> {
        let (parsed, pin) = self.inner.egress.check_resolved(module, url).await?;
        // Objects fetched with credentials never answer an anonymous fetch:
        // each kind has its own repository cache.
        let credentialed = self.uses_credentials(module);
        let anonymous_dir = self.inner.cfg.credentialed_modules.is_some() && !credentialed;
        let repo_key = if anonymous_dir {
            format!("anonymous {url}")
        } else {
            url.to_string()
        };
        let existing = self
            .inner
            .repos
            .lock()
            .ok()
            .and_then(|repos| repos.get(&repo_key).cloned());
        if let Some(r) = existing {
            r.set_resolve_pin(pin);
            return Ok(r);
        }
        let scheme = match parsed.scheme() {
            "git+ssh" => "ssh",
            s => s,
        };
        let mut net = GitNet {
            allow_protocol: scheme.to_string(),
            tls_insecure: self.inner.egress.insecure_for(module),
            path_env: self.inner.cfg.git_path_env.clone(),
            ..GitNet::default()
        };
        if scheme == "ssh" {
            if credentialed {
                net.ssh_key = self.inner.cfg.credentials.ssh_key.clone();
            }
            net.ssh_known_hosts = self.inner.cfg.credentials.ssh_known_hosts.clone();
        }
        if scheme == "http" || scheme == "https" {
            let host = parsed.host_str().unwrap_or("");
            let host_port = match parsed.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            };
            if let Some((user, pass)) = self.credential_for(module, &host_port) {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                net.auth_headers.push((
                    format!("{scheme}://{host_port}/"),
                    format!("Authorization: Basic {token}"),
                ));
            }
        }
        let cache_dir = if anonymous_dir {
            self.inner.cfg.cache_dir.join("anonymous")
        } else {
            self.inner.cfg.cache_dir.clone()
        };
        let repo = GitRepo::new(&cache_dir, url, net, self.inner.cfg.git_timeout);
        let mut repos = self
            .inner
            .repos
            .lock()
            .map_err(|_| DirectError::Io("repo table poisoned".into()))?;
        let repo = repos.entry(repo_key).or_insert(repo).clone();
        repo.set_resolve_pin(pin);
        Ok(repo)
    }

    /// For a go-import `mod` entry: a client of the named module proxy (egress-checked).
    async fn mod_proxy(&self, module: &str) -> Result<Option<modproxy::ModProxy<'_>>, DirectError> {
        let root = self.discover(module).await?;
        if root.vcs != "mod" {
            return Ok(None);
        }
        let parsed = self.inner.egress.check(module, &root.url).await?;
        let host = parsed.host_str().unwrap_or("");
        let host_port = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let insecure = self.inner.egress.insecure_for(module);
        Ok(Some(modproxy::ModProxy {
            client: if insecure {
                &self.inner.http_insecure
            } else {
                &self.inner.http
            },
            base: root.url.clone(),
            module: module.to_string(),
            auth: self.credential_for(module, &host_port),
        }))
    }

    /// A code repo with fresh refs (`ls-remote` + incremental fetch) or, when `fresh` is false, the cached view.
    async fn code_repo(&self, module: &str, fresh: bool) -> Result<CodeRepo, DirectError> {
        let root = self.discover(module).await?;
        if root.vcs != "git" {
            return Err(DirectError::Unsupported(format!("{module}: go-import vcs {:?} (module proxies named by go-import are not fetched directly)", root.vcs)));
        }
        let git = self.git_repo(module, &root.url).await?;
        let refs = if fresh {
            git.sync()
                .await
                .map_err(|e| self.anonymous_refusal(module, e))?
        } else {
            git.local_refs().await?
        };
        CodeRepo::new(
            git,
            &root.root,
            &root.subdir,
            module,
            refs,
            self.inner
                .cfg
                .zip_from_tree
                .then(|| self.inner.reuse.clone()),
        )
    }

    /// Canonical versions already in the cache are served from it without
    /// network; a tagged version not yet cached is fetched alone (depth 1);
    /// anything else syncs the whole repository first.
    async fn repo_for_version(&self, module: &str, version: &str) -> Result<CodeRepo, DirectError> {
        if semver::is_valid(version) && modpath::canonical_version(version) == version {
            let repo = self.code_repo(module, false).await?;
            if modpath::is_pseudo_version(version) {
                // Pseudo-versions need history (ancestry checks): only a complete cache will do.
                if let Some(rev) = modpath::pseudo_version_rev(version) {
                    if !repo.git.is_shallow() && repo.git.resolve_local(&rev).await.is_some() {
                        return Ok(repo);
                    }
                }
            } else {
                let base = version.strip_suffix("+incompatible").unwrap_or(version);
                let tag = if repo.code_dir.is_empty() {
                    base.to_string()
                } else {
                    format!("{}/{base}", repo.code_dir)
                };
                if repo.refs.contains_key(&format!("refs/tags/{tag}")) {
                    return Ok(repo);
                }
                if repo.git.fetch_tag(&tag).await.is_ok() {
                    self.complete_in_background(&repo.git);
                    return self.code_repo(module, false).await;
                }
            }
        }
        self.code_repo(module, true).await
    }

    /// Completes a shallow cache (left by a depth-1 tag fetch) in the
    /// background: one `sync` per repository at a time. A request for another
    /// version that is not yet local waits for it instead of fetching again;
    /// versions already local never wait.
    fn complete_in_background(&self, git: &Arc<GitRepo>) {
        use std::sync::atomic::Ordering;
        if !self.inner.cfg.complete_in_background
            || !git.is_shallow()
            || git.completing.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let git = git.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let result = git.sync().await;
            git.completing.store(false, Ordering::SeqCst);
            match result {
                Ok(_) => {
                    tracing::debug!(target: "goxy_git", repo = %gitcmd::redact_url(&git.url), ms = started.elapsed().as_millis() as u64, "repository cache completed")
                }
                Err(e) => {
                    tracing::warn!(target: "goxy_git", repo = %gitcmd::redact_url(&git.url), error = %e, "completing the repository cache failed; the next request that needs history retries")
                }
            }
        });
        if let Ok(mut tasks) = self.inner.background.lock() {
            tasks.retain(|t| !t.is_finished());
            tasks.push(task);
        }
    }

    /// How many zip entries were prepared from blobs and how many reused from earlier zips.
    pub fn zip_entry_counts(&self) -> ZipEntryCounts {
        self.inner.reuse.counts()
    }

    /// Waits until no background completion is running (for shutdown and benchmarks).
    pub async fn settle(&self) {
        loop {
            let tasks: Vec<_> = match self.inner.background.lock() {
                Ok(mut tasks) => std::mem::take(&mut *tasks),
                Err(_) => return,
            };
            if tasks.is_empty() {
                return;
            }
            for task in tasks {
                let _ = task.await;
            }
        }
    }

    fn rev_info(&self, repo: &CodeRepo, r: coderepo::Resolved) -> RevInfo {
        let pseudo = modpath::is_pseudo_version(&r.version);
        RevInfo {
            time: modpath::rfc3339_from_unix(r.info.time),
            origin: Some(Origin {
                vcs: "git".into(),
                url: gitcmd::redact_url(&repo.git.url),
                subdir: repo.code_dir.clone(),
                hash: r.info.hash.clone(),
                r#ref: if pseudo {
                    String::new()
                } else {
                    r.info.origin_ref.clone().unwrap_or_default()
                },
            }),
            version: r.version,
        }
    }
}

/// Rejects queries that could act as git options or paths (CVE-2025-68119 class).
fn check_query(q: &str) -> Result<(), DirectError> {
    if q.is_empty()
        || q.starts_with('-')
        || q.starts_with('/')
        || q.len() > 256
        || q.contains("..")
        || q.chars()
            .any(|c| c.is_control() || c == ' ' || c == ':' || c == '\\')
        || q.contains("@{")
    {
        return Err(DirectError::NotFound(format!(
            "invalid version query {q:?}"
        )));
    }
    Ok(())
}

fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "<url>");
    }
    s
}

async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| without_url(&e))? {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            body.truncate(limit);
            break;
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_and_credential_list() {
        let text = "machine a.example login u1 password p1\nmachine b.example\n login u2\n password p2\ndefault login d password dp\n";
        assert_eq!(
            netrc_lookup(text, "b.example"),
            Some(("u2".into(), "p2".into()))
        );
        assert_eq!(
            netrc_lookup(text, "a.example"),
            Some(("u1".into(), "p1".into()))
        );
        assert_eq!(
            netrc_lookup(text, "c.example"),
            Some(("d".into(), "dp".into()))
        );
        let list = parse_credential_list("git.corp=bot:tok1, other:8443=x:y\nbad");
        assert_eq!(list.len(), 2);
        let creds = Credentials {
            hosts: list,
            ..Credentials::default()
        };
        assert_eq!(
            creds.for_host("git.corp"),
            Some(("bot".into(), "tok1".into()))
        );
        assert_eq!(creds.for_host("other:8443"), Some(("x".into(), "y".into())));
        assert_eq!(creds.for_host("nobody"), None);
        assert!(
            !format!("{creds:?}").contains("tok1"),
            "credentials must not appear in Debug output"
        );
    }

    #[test]
    fn fetcher_is_shareable() {
        fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
        assert_shareable::<DirectFetcher>();
        fn assert_send<T: Send>(_: &T) {}
        let dir = tempfile::tempdir().expect("tempdir");
        let f = DirectFetcher::new(DirectConfig {
            credentials: Credentials::default(),
            ..DirectConfig::new(dir.path())
        })
        .expect("fetcher");
        // The futures can be spawned on a multi-threaded runtime.
        assert_send(&f.list("example.com/m"));
        assert_send(&f.zip("example.com/m", "v1.0.0"));
    }

    #[test]
    fn hostile_queries_rejected() {
        for q in [
            "-oProxyCommand=x",
            "--upload-pack=x",
            "--output=/tmp/p",
            "/etc/passwd",
            "a..b",
            "v1\n",
            "x y",
            "HEAD@{1}",
            "a:b",
            "",
        ] {
            assert!(check_query(q).is_err(), "{q:?}");
        }
        for q in [
            "v1.2.3",
            "main",
            "feature/x",
            "abcdef1",
            "v2.0.0+incompatible",
            "latest",
        ] {
            assert!(check_query(q).is_ok(), "{q:?}");
        }
    }

    #[test]
    fn info_json_shape() {
        let info = RevInfo {
            version: "v1.5.2".into(),
            time: "2018-02-14T15:44:20Z".into(),
            origin: Some(Origin {
                vcs: "git".into(),
                url: "https://h/r".into(),
                subdir: String::new(),
                hash: "c4d4".into(),
                r#ref: "refs/tags/v1.5.2".into(),
            }),
        };
        assert_eq!(
            serde_json::to_string(&info).unwrap_or_default(),
            r#"{"Version":"v1.5.2","Time":"2018-02-14T15:44:20Z","Origin":{"VCS":"git","URL":"https://h/r","Hash":"c4d4","Ref":"refs/tags/v1.5.2"}}"#
        );
    }

    #[tokio::test]
    async fn invalid_paths_fail_before_io() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = DirectFetcher::new(DirectConfig {
            credentials: Credentials::default(),
            ..DirectConfig::new(dir.path())
        })
        .expect("fetcher");
        for m in [
            "",
            "Example.com/x",
            "example.com/v1",
            "gopkg.in/yaml.v2/abc",
            "example.com/.x",
            "x/y",
        ] {
            let e = f.list(m).await.expect_err(m);
            assert!(e.is_not_found(), "{m}: {e}");
        }
        // Private addresses are denied by default.
        let e = f.list("github.com/x/y").await.err();
        assert!(e.is_some());
        let f2 = DirectFetcher::new(DirectConfig {
            repo_overrides: vec![("corp.example/r".into(), "https://127.0.0.1:1/r.git".into())],
            credentials: Credentials::default(),
            ..DirectConfig::new(dir.path())
        })
        .expect("fetcher");
        let e = f2
            .list("corp.example/r")
            .await
            .expect_err("loopback must be denied");
        assert!(e.is_denied(), "{e}");
    }
}

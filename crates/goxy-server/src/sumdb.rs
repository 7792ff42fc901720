//! The checksum database: a verifying relay for `/sumdb/<name>/...` and the
//! check of every public module's h1 hashes before it is committed.
//!
//! Only configured databases (name, Ed25519 key, URL) are relayed; any other
//! name is answered 404 without an outbound request, so the relay can never
//! be used to reach arbitrary hosts. Nothing a database sends is cached or
//! served before it is verified (`goxy_sumdb`): tree notes are checked
//! against the key and merged into the stored trusted tree only when
//! consistent with it; tiles are authenticated up to the trusted tree;
//! lookups are proven included. The trusted tree note is kept under
//! `<cache>/sumdb/<name>/trusted`, so a restart never trusts an older or
//! forked tree.

use crate::app::ServeError;
use crate::private::PrivatePatterns;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use goxy_fetch::HttpClient;
use goxy_store::ArtifactKind;
use goxy_sumdb::lookup::{parse_lookup_response, record_hashes};
use goxy_sumdb::{
    Error as SumdbError, ModuleHashes, Tile, TileSet, TrustedLog, Verifier, Verifiers,
};
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a relayed `/latest` is fresh by default.
pub const DEFAULT_LATEST_TTL: u64 = 30;
/// The module whose versions are always verified, whatever the private
/// patterns say (the Go command does the same: protocol.md §1.15).
pub const TOOLCHAIN_MODULE: &str = "golang.org/toolchain";

const MAX_NOTE_BYTES: usize = 64 << 10;
const MAX_LOOKUP_BYTES: usize = 1 << 20;
const MAX_TILE_BYTES: usize = 4 << 20;
const PARTIAL_TILE_TTL: Duration = Duration::from_secs(60);

/// One `[[sumdb]]` entry of the config file: the two fields of a GOSUMDB
/// value (`key`, else `name` for a database whose key is built in, and an
/// optional `url`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSumdb {
    pub name: String,
    pub key: Option<String>,
    pub url: Option<String>,
}

/// Verifier keys built into the go command (cmd/go/internal/modfetch/key.go
/// `knownGOSUMDB`); public, so goxy builds them in too and needs no toolchain.
pub const KNOWN_DATABASES: &[(&str, &str)] = &[(
    "sum.golang.org",
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
)];

/// GOSUMDB's default when nothing sets it (the toolchain's go.env value).
pub const DEFAULT_GOSUMDB: &str = "sum.golang.org";

/// A checksum database goxy relays and verifies against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// The name clients use (`/sumdb/<name>/...`), from the key.
    pub name: String,
    /// `name+hash+base64key`.
    pub key: String,
    /// An explicit URL (GOSUMDB's second field): used as is, bypassing the
    /// upstream proxies, as cmd/go does. None: reach `https://<name>`
    /// through the first upstream proxy that supports the database.
    pub url: Option<url::Url>,
}

impl DatabaseConfig {
    /// `https://<name>`, the database's own address.
    pub fn direct_url(&self) -> String {
        format!("https://{}", self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMode {
    /// Look up every public module version before committing it.
    Verify,
    /// Never look up; the relay still verifies what it relays.
    Off,
}

/// The resolved checksum database settings.
#[derive(Debug, Clone)]
pub struct SumdbSettings {
    pub databases: Vec<DatabaseConfig>,
    pub verify: VerifyMode,
    pub latest_ttl: Duration,
    /// Where the database setting came from (for `--check` and the start-up log).
    pub origin: String,
    /// Said once at startup (e.g. the database is off).
    pub warnings: Vec<String>,
}

impl Default for SumdbSettings {
    fn default() -> Self {
        SumdbSettings {
            databases: Vec::new(),
            verify: VerifyMode::Verify,
            latest_ttl: Duration::from_secs(DEFAULT_LATEST_TTL),
            origin: "none".into(),
            warnings: Vec::new(),
        }
    }
}

/// Parses a GOSUMDB value exactly as cmd/go's `dbDial`
/// (cmd/go/internal/modfetch/sumdb.go) does: `off`; `sum.golang.google.cn`
/// as the alias `sum.golang.org https://sum.golang.google.cn`; one or two
/// fields, the first a verifier key or the name of a database whose key is
/// built in, the second an explicit URL. `Ok(None)` is `off`.
pub fn parse_gosumdb(value: &str) -> Result<Option<DatabaseConfig>, String> {
    let mut value = value.trim();
    if value == "sum.golang.google.cn" {
        value = "sum.golang.org https://sum.golang.google.cn";
    }
    if value == "off" {
        return Ok(None);
    }
    let fields: Vec<&str> = value.split_whitespace().collect();
    let (first, url) = match fields.as_slice() {
        [] => return Err("missing GOSUMDB".into()),
        [key] => (*key, None),
        [key, url] => (*key, Some(*url)),
        _ => return Err(format!("invalid GOSUMDB {value:?}: too many fields")),
    };
    let key = KNOWN_DATABASES
        .iter()
        .find(|(name, _)| *name == first)
        .map(|(_, key)| *key)
        .unwrap_or(first);
    let verifier = Verifier::parse(key).map_err(|e| {
        if key.contains('+') {
            format!("invalid GOSUMDB {value:?}: {e}")
        } else {
            format!(
                "invalid GOSUMDB {value:?}: {key:?} is neither a verifier key (name+hash+key) nor a database \
                 whose key is built in (known: {})",
                KNOWN_DATABASES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )
        }
    })?;
    let name = verifier.name().to_string();
    // cmd/go: "no funny business in the database name" (host[/path]).
    let direct = url::Url::parse(&format!("https://{name}"))
        .map_err(|e| format!("invalid sumdb name (must be host[/path]): {name}: {e}"))?;
    if name.ends_with('/')
        || direct.host_str().is_none_or(str::is_empty)
        || direct.query().is_some()
        || direct.fragment().is_some()
        || direct.as_str() != format!("https://{name}")
            && direct.as_str() != format!("https://{name}/")
    {
        return Err(format!("invalid sumdb name (must be host[/path]): {name}"));
    }
    let url = match url {
        None => None,
        Some(text) => {
            let parsed = url::Url::parse(text.trim_end_matches('/'))
                .map_err(|e| format!("invalid GOSUMDB URL {text:?}: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!("invalid GOSUMDB URL {text:?}: not http or https"));
            }
            Some(parsed)
        }
    };
    Ok(Some(DatabaseConfig {
        name,
        key: key.to_string(),
        url,
    }))
}

fn file_entry(entry: &FileSumdb) -> Result<DatabaseConfig, String> {
    let first = entry.key.as_deref().unwrap_or(&entry.name);
    let value = match &entry.url {
        Some(url) => format!("{first} {url}"),
        None => first.to_string(),
    };
    let db = parse_gosumdb(&value)
        .map_err(|e| format!("[[sumdb]] {}: {e}", entry.name))?
        .ok_or_else(|| format!("[[sumdb]] {}: \"off\" is not a database", entry.name))?;
    if db.name != entry.name {
        return Err(format!(
            "[[sumdb]] {}: the key is for {:?}",
            entry.name, db.name
        ));
    }
    Ok(db)
}

/// Resolves the databases: `--sumdb`/`GOXY_SUMDB` (GOSUMDB syntax), then the
/// config file's `[[sumdb]]` entries, then GOSUMDB as the go command reads
/// it (`gosumdb`: environment, GOENV file, `$GOROOT/go.env`, with where it
/// came from), then GOSUMDB's default. An unusable value is an error.
pub fn resolve_settings(
    flag: Option<&str>,
    file: &[FileSumdb],
    gosumdb: Option<(String, String)>,
    verify: Option<&str>,
    latest_ttl: Option<u64>,
) -> Result<SumdbSettings, String> {
    let verify = match verify.map(str::trim) {
        None | Some("verify") => VerifyMode::Verify,
        Some("off") => VerifyMode::Off,
        Some(other) => {
            return Err(format!(
                "sumdb_verify {other:?}: want \"verify\" or \"off\""
            ))
        }
    };
    let mut settings = SumdbSettings {
        verify,
        latest_ttl: Duration::from_secs(latest_ttl.unwrap_or(DEFAULT_LATEST_TTL)),
        ..SumdbSettings::default()
    };
    let (value, origin) = if let Some(value) = flag.filter(|v| !v.trim().is_empty()) {
        (value.to_string(), "--sumdb/GOXY_SUMDB".to_string())
    } else if !file.is_empty() {
        for entry in file {
            settings.databases.push(file_entry(entry)?);
        }
        settings.origin = "config file".into();
        return Ok(settings);
    } else if let Some((value, origin)) = gosumdb.filter(|(v, _)| !v.trim().is_empty()) {
        (value, format!("GOSUMDB from the {origin}"))
    } else {
        (DEFAULT_GOSUMDB.to_string(), "default".to_string())
    };
    match parse_gosumdb(&value).map_err(|e| format!("checksum database ({origin}): {e}"))? {
        None => settings.warnings.push(format!(
            "checksum database off ({origin}): modules are not verified"
        )),
        Some(db) => settings.databases.push(db),
    }
    settings.origin = origin;
    Ok(settings)
}

/// Why an answer from a database could not be relayed or used.
#[derive(Debug, Clone)]
enum DbError {
    /// The database says it does not exist (404/410).
    NotFound(String),
    /// The database could not be reached or answered with an error status.
    Unreachable { message: String, timed_out: bool },
    /// The answer failed verification; `security` marks misbehaviour.
    Refused { message: String, security: bool },
}

impl DbError {
    fn message(&self) -> &str {
        match self {
            DbError::NotFound(m)
            | DbError::Unreachable { message: m, .. }
            | DbError::Refused { message: m, .. } => m,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            DbError::NotFound(_) => StatusCode::NOT_FOUND,
            DbError::Unreachable {
                timed_out: true, ..
            } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    fn verification(db: &str, what: &str, err: &SumdbError) -> DbError {
        DbError::Refused {
            message: format!("checksum database {db}: {what}: {err}"),
            security: err.is_security_event(),
        }
    }
}

/// One relayed database and what has been proven about it.
struct Database {
    name: String,
    /// GOSUMDB's explicit URL, which bypasses the proxies.
    explicit: Option<String>,
    /// How the database is reached now; None until chosen, and again after
    /// the route failed, so the next request chooses anew.
    route: tokio::sync::Mutex<Option<Route>>,
    /// What the last exchange with the database said (home page, /readyz, /metrics).
    status: Mutex<RouteStatus>,
    dir: PathBuf,
    log: Mutex<TrustedLog>,
    latest: Mutex<Option<(Bytes, Instant)>>,
    latest_ttl: Duration,
    /// Serialises `/latest` refreshes so a burst of requests costs one fetch.
    refreshing: tokio::sync::Mutex<()>,
    partial_tiles: moka::sync::Cache<Tile, Bytes>,
    full_tiles: moka::sync::Cache<Tile, Bytes>,
    lookups: moka::sync::Cache<String, (Bytes, ModuleHashes)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A database name as one safe directory component.
fn dir_component(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.starts_with('.') {
        out.replace_range(..1, "%2E");
    }
    out
}

/// Writes `data` to `path` through a temporary file and a rename, so a
/// reader sees the old or the new content, never a torn one.
fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent directory"))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp.1, data)?;
    tmp.1.sync_all()?;
    std::fs::rename(&tmp.0, path)
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}

impl Database {
    fn open(
        config: &DatabaseConfig,
        cache_dir: &Path,
        latest_ttl: Duration,
    ) -> Result<Database, String> {
        let verifier = Verifier::parse(&config.key)
            .map_err(|e| format!("checksum database {}: key: {e}", config.name))?;
        let verifiers = Verifiers::from(verifier);
        let dir = cache_dir.join("sumdb").join(dir_component(&config.name));
        let log = match std::fs::read(dir.join("trusted")) {
            Ok(note) => match TrustedLog::with_trusted_note(verifiers.clone(), &note) {
                Ok(log) => log,
                Err(e) => {
                    // A changed key makes the stored note unverifiable; start over rather than refuse to serve.
                    tracing::warn!(database = %config.name, error = %e, "stored trusted tree does not verify with the configured key; trusting the next signed tree");
                    TrustedLog::new(verifiers)
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TrustedLog::new(verifiers),
            Err(e) => {
                return Err(format!(
                    "checksum database {}: {}: {e}",
                    config.name,
                    dir.join("trusted").display()
                ))
            }
        };
        Ok(Database {
            name: config.name.clone(),
            explicit: config
                .url
                .as_ref()
                .map(|u| u.as_str().trim_end_matches('/').to_string()),
            route: tokio::sync::Mutex::new(None),
            status: Mutex::new(RouteStatus::default()),
            dir,
            log: Mutex::new(log),
            latest: Mutex::new(None),
            latest_ttl,
            refreshing: tokio::sync::Mutex::new(()),
            partial_tiles: moka::sync::Cache::builder()
                .max_capacity(4096)
                .time_to_live(PARTIAL_TILE_TTL)
                .build(),
            full_tiles: moka::sync::Cache::builder().max_capacity(4096).build(),
            lookups: moka::sync::Cache::builder().max_capacity(20_000).build(),
        })
    }

    fn tile_file(&self, tile: &Tile) -> PathBuf {
        // Tile::path is canonical (digits, `x` groups, `data`): no `..` possible.
        self.dir.join(tile.path())
    }

    fn lookup_file(&self, escaped: &str) -> PathBuf {
        self.dir.join("lookup").join(escaped)
    }

    /// A full tile authenticated earlier (memory, then disk).
    fn cached_tile(&self, tile: &Tile) -> Option<Bytes> {
        if !tile.is_full() {
            return self.partial_tiles.get(tile);
        }
        if let Some(data) = self.full_tiles.get(tile) {
            return Some(data);
        }
        let data = Bytes::from(std::fs::read(self.tile_file(tile)).ok()?);
        // A damaged file would fail every proof it takes part in: fetch instead.
        if !tile.is_data() && data.len() as u64 != tile.full_width() * 32 {
            return None;
        }
        self.full_tiles.insert(*tile, data.clone());
        Some(data)
    }

    /// Keeps tiles that a verification just authenticated: full ones
    /// forever (on disk), partial ones briefly.
    fn keep_tiles(&self, wanted: &[Tile], set: &TileSet) {
        for tile in wanted {
            let Some(data) = set.get(tile) else { continue };
            if tile.is_full() {
                if self.full_tiles.contains_key(tile) {
                    continue;
                }
                let data = Bytes::copy_from_slice(data);
                if let Err(e) = write_atomic(&self.tile_file(tile), &data) {
                    tracing::warn!(database = %self.name, tile = %tile.path(), error = %e, "could not store tile");
                }
                self.full_tiles.insert(*tile, data);
            } else {
                self.partial_tiles
                    .insert(*tile, Bytes::copy_from_slice(data));
            }
        }
    }

    /// Persists the trusted tree if it changed since `before`.
    fn persist_if_advanced(&self, before: Option<goxy_sumdb::Tree>) {
        let after = lock(&self.log).trusted().cloned();
        if let Some(after) = after {
            if before != Some(after.tree) {
                if let Err(e) = write_atomic(&self.dir.join("trusted"), &after.note) {
                    tracing::warn!(database = %self.name, error = %e, "could not store the trusted tree");
                }
                tracing::info!(database = %self.name, tree_size = after.tree.n, "checksum database tree advanced");
            }
        }
    }

    fn trusted_tree(&self) -> Option<goxy_sumdb::Tree> {
        lock(&self.log).trusted().map(|t| t.tree)
    }
}

/// How a database is reached: through an upstream proxy's `/sumdb/<name>`
/// or at its own URL.
#[derive(Debug, Clone)]
struct Route {
    /// Base URL the endpoints are joined to (no trailing slash).
    base: String,
    /// Short name for messages: `upstream <name>` or the database URL.
    short: String,
    /// Why this route, for the start-up log, the home page and `--check`.
    why: String,
}

/// The state of one database's route, as the last exchange left it.
#[derive(Debug, Clone, Default)]
pub struct RouteStatus {
    /// `short — why` of the route in use, when one was chosen.
    pub route: Option<String>,
    /// None until the first exchange; then whether it succeeded.
    pub up: Option<bool>,
    /// The last failure, with its network cause.
    pub last_error: Option<String>,
}

/// One database's status, for the home page, `/readyz` and `/metrics`.
#[derive(Debug, Clone)]
pub struct DatabaseStatus {
    pub name: String,
    pub status: RouteStatus,
}

/// The relay and verifier for the configured checksum databases.
pub struct Sumdb {
    http: HttpClient,
    /// The upstream list, asked in order for `/sumdb/<name>/supported`.
    upstreams: Vec<goxy_fetch::Entry>,
    databases: Vec<Arc<Database>>,
    verify: VerifyMode,
    private: PrivatePatterns,
    /// Module versions refused because their hashes disagree with the database.
    pub mismatches: AtomicU64,
    /// Answers from a database refused as misbehaviour (forks, bad tiles, ...).
    pub security_events: AtomicU64,
    /// Requests sent to databases (tests prove unknown names cause none).
    pub outbound: AtomicU64,
}

impl Sumdb {
    /// Opens the trusted state of every configured database under `cache_dir`.
    pub fn new(
        settings: &SumdbSettings,
        private: PrivatePatterns,
        cache_dir: &Path,
        http: HttpClient,
        upstreams: Vec<goxy_fetch::Entry>,
    ) -> Result<Sumdb, String> {
        let databases = settings
            .databases
            .iter()
            .map(|c| Database::open(c, cache_dir, settings.latest_ttl).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sumdb {
            http,
            upstreams,
            databases,
            verify: settings.verify,
            private,
            mismatches: AtomicU64::new(0),
            security_events: AtomicU64::new(0),
            outbound: AtomicU64::new(0),
        })
    }

    /// Does any module get verified (verification on and a database configured)?
    pub fn verifies(&self) -> bool {
        self.verify == VerifyMode::Verify && !self.databases.is_empty()
    }

    /// Chooses how to reach `db` as cmd/go's `dbClient.initBase` does
    /// (cmd/go/internal/modfetch/sumdb.go): an explicit URL is used as is;
    /// otherwise each upstream proxy in order is asked for
    /// `/sumdb/<name>/supported`, the first that answers 200 is used, a
    /// 404/410 (or any error after `|`) moves on to the next, any other
    /// failure after `,` makes the database unavailable; `direct`, `off`
    /// and file entries do not proxy it; when no proxy does, the database's
    /// own URL.
    async fn choose_route(&self, db: &Database) -> Result<Route, DbError> {
        if let Some(explicit) = &db.explicit {
            return Ok(Route {
                base: explicit.clone(),
                short: explicit.clone(),
                why: "the URL given in GOSUMDB (used as is; no proxy is asked)".into(),
            });
        }
        let mut passed = Vec::new();
        for entry in &self.upstreams {
            let goxy_fetch::EntryKind::Http(base) = &entry.kind else {
                continue;
            };
            let name = entry.display_name();
            let text = format!(
                "{}/sumdb/{}/supported",
                base.as_str().trim_end_matches('/'),
                db.name
            );
            let Ok(url) = url::Url::parse(&text) else {
                continue;
            };
            self.outbound.fetch_add(1, Ordering::Relaxed);
            let failure = match self.http.get(&url).await {
                Ok(resp) if resp.status().is_success() => {
                    return Ok(Route {
                        base: format!("{}/sumdb/{}", base.as_str().trim_end_matches('/'), db.name),
                        short: format!("upstream {name}"),
                        why: format!("upstream {name} answers /sumdb/{}/supported", db.name),
                    });
                }
                Ok(resp)
                    if resp.status() == StatusCode::NOT_FOUND
                        || resp.status() == StatusCode::GONE =>
                {
                    passed.push(format!("{name} does not proxy it ({})", resp.status().as_u16()));
                    continue;
                }
                Ok(resp) => DbError::Unreachable {
                    message: format!(
                        "checksum database {}: upstream {name} answered /sumdb/{}/supported with {}",
                        db.name,
                        db.name,
                        resp.status().as_u16()
                    ),
                    timed_out: false,
                },
                Err(e) => DbError::Unreachable {
                    message: format!(
                        "checksum database {}: upstream {name}: /sumdb/{}/supported: {e}",
                        db.name, db.name
                    ),
                    timed_out: e.timed_out,
                },
            };
            if entry.fallthrough == goxy_fetch::FallThrough::OnAnyError {
                passed.push(failure.message().to_string());
                continue;
            }
            return Err(failure);
        }
        let direct = format!("https://{}", db.name);
        let why = if passed.is_empty() {
            "no upstream proxy to ask".to_string()
        } else {
            format!("no upstream proxies it: {}", passed.join("; "))
        };
        Ok(Route {
            short: direct.clone(),
            base: direct,
            why: format!("the database's own URL ({why})"),
        })
    }

    /// The route to `db`, chosen on first use and after a failure.
    async fn route(&self, db: &Database) -> Result<Route, DbError> {
        let mut current = db.route.lock().await;
        if let Some(route) = current.as_ref() {
            return Ok(route.clone());
        }
        match self.choose_route(db).await {
            Ok(route) => {
                tracing::info!(database = %db.name, route = %route.short, why = %route.why, "checksum database route");
                lock(&db.status).route = Some(format!("{} — {}", route.short, route.why));
                *current = Some(route.clone());
                Ok(route)
            }
            Err(e) => {
                self.note_failure(db, &e);
                Err(e)
            }
        }
    }

    fn note_failure(&self, db: &Database, err: &DbError) {
        let mut status = lock(&db.status);
        status.up = Some(false);
        status.last_error = Some(err.message().to_string());
    }

    /// Chooses the route now (at start, and for `--check`), logging it.
    pub async fn probe(&self) -> Vec<(String, Result<String, String>)> {
        let mut out = Vec::new();
        for db in &self.databases {
            // The route, then a signed tree through it: a route that answers.
            let result = match self.route(db).await {
                Ok(r) => self
                    .refresh_latest(db)
                    .await
                    .map(|_| format!("{} — {}", r.short, r.why))
                    .map_err(|e| e.message().to_string()),
                Err(e) => Err(e.message().to_string()),
            };
            out.push((db.name.clone(), result));
        }
        out
    }

    /// Each database's route and state.
    pub fn statuses(&self) -> Vec<DatabaseStatus> {
        self.databases
            .iter()
            .map(|db| DatabaseStatus {
                name: db.name.clone(),
                status: lock(&db.status).clone(),
            })
            .collect()
    }

    async fn fetch(&self, db: &Database, path: &str, limit: usize) -> Result<Bytes, DbError> {
        let route = self.route(db).await?;
        let result = self.fetch_via(db, &route, path, limit).await;
        match &result {
            Ok(_) | Err(DbError::NotFound(_)) => {
                let mut status = lock(&db.status);
                status.up = Some(true);
            }
            Err(err @ DbError::Unreachable { .. }) => {
                self.note_failure(db, err);
                // Choose again on the next request, as after an upstream's failure.
                *db.route.lock().await = None;
            }
            Err(DbError::Refused { .. }) => {}
        }
        result
    }

    async fn fetch_via(
        &self,
        db: &Database,
        route: &Route,
        path: &str,
        limit: usize,
    ) -> Result<Bytes, DbError> {
        let text = format!("{}/{path}", route.base);
        let url = url::Url::parse(&text).map_err(|e| DbError::Unreachable {
            message: format!("{text}: {e}"),
            timed_out: false,
        })?;
        self.outbound.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(database = %db.name, route = %route.short, path, "checksum database request");
        let via = &route.short;
        let unreachable = |e: goxy_fetch::HttpError| DbError::Unreachable {
            message: format!("checksum database {} via {via}: {path}: {e}", db.name),
            timed_out: e.timed_out,
        };
        // The same total deadline and minimum rate as module fetches.
        let mut transfer = goxy_fetch::Transfer::new(&self.http.timeouts(), limit as u64);
        let mut resp = self
            .http
            .get_bounded(&url, &transfer)
            .await
            .map_err(unreachable)?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Err(DbError::NotFound(format!(
                "checksum database {} via {via}: {path}: not found ({})",
                db.name,
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(DbError::Unreachable {
                message: format!(
                    "checksum database {} via {via}: {path}: status {}",
                    db.name,
                    status.as_u16()
                ),
                timed_out: false,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = self
            .http
            .next_chunk(resp.body_mut(), &mut transfer)
            .await
            .map_err(unreachable)?
        {
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(DbError::Refused {
                    message: format!(
                        "checksum database {} via {via}: {path}: answer larger than {limit} bytes",
                        db.name
                    ),
                    security: false,
                });
            }
        }
        Ok(Bytes::from(body))
    }

    /// The bodies of `tiles`, from what was authenticated before or else
    /// from the database (not trusted until the caller's check passes).
    async fn fetch_tiles(&self, db: &Database, tiles: &[Tile]) -> Result<TileSet, DbError> {
        let mut set = TileSet::new();
        for tile in tiles {
            if set.contains(tile) {
                continue;
            }
            if let Some(data) = db.cached_tile(tile) {
                set.insert(*tile, data.to_vec());
                continue;
            }
            // A partial hash tile is a prefix of its full tile, once that exists.
            if !tile.is_full() && !tile.is_data() {
                if let Some(full) = db.cached_tile(&tile.to_full()) {
                    set.insert(tile.to_full(), full.to_vec());
                    if set.contains(tile) {
                        continue;
                    }
                }
            }
            // A tile a proof needs but the database does not have: the answer
            // cannot be verified, which is not the same as "not found".
            let data = self
                .fetch(db, &tile.path(), MAX_TILE_BYTES)
                .await
                .map_err(|e| match e {
                    DbError::NotFound(message) => DbError::Refused {
                        message,
                        security: false,
                    },
                    other => other,
                })?;
            set.insert(*tile, data.to_vec());
        }
        Ok(set)
    }

    /// Logs and counts a refused answer.
    fn refused(&self, db: &Database, err: &DbError) {
        match err {
            DbError::Refused {
                message,
                security: true,
            } => {
                self.security_events.fetch_add(1, Ordering::Relaxed);
                tracing::error!(security_event = true, database = %db.name, reason = %message, "checksum database answer refused");
            }
            DbError::Refused { message, .. } => {
                tracing::warn!(database = %db.name, reason = %message, "checksum database answer refused");
            }
            _ => {}
        }
    }

    /// Fetches `/latest`, checks its signature and its consistency with the
    /// trusted tree, and makes it the trusted tree if newer.
    async fn refresh_latest(&self, db: &Database) -> Result<Bytes, DbError> {
        let _one_at_a_time = db.refreshing.lock().await;
        if let Some((body, fetched)) = lock(&db.latest).clone() {
            if fetched.elapsed() < db.latest_ttl {
                return Ok(body);
            }
        }
        let body = self.fetch(db, "latest", MAX_NOTE_BYTES).await?;
        let signed = lock(&db.log)
            .open_tree_note(&body)
            .map_err(|e| DbError::verification(&db.name, "latest", &e))?;
        let before = db.trusted_tree();
        let mut attempt = 0;
        let mut body = body;
        loop {
            let wanted = lock(&db.log)
                .tiles_for_merge(&signed.tree)
                .map_err(|e| DbError::verification(&db.name, "latest", &e))?;
            let tiles = self.fetch_tiles(db, &wanted).await?;
            let merged = lock(&db.log).merge_latest(signed.clone(), &tiles);
            match merged {
                Ok(_) => {
                    db.keep_tiles(&wanted, &tiles);
                    break;
                }
                Err(e) if matches!(e.root(), SumdbError::MissingTile(_)) && attempt == 0 => {
                    attempt += 1
                }
                // An older tree that is a prefix of the trusted one (a stale
                // cache in front of the database, or a rollback attempt): it is
                // never relayed as the latest; the newer trusted tree is.
                Err(e) if matches!(e.root(), SumdbError::Rollback { .. }) => {
                    db.keep_tiles(&wanted, &tiles);
                    tracing::warn!(security_event = true, database = %db.name, reason = %e,
                        "checksum database /latest is older than the trusted tree; serving the trusted tree");
                    self.security_events.fetch_add(1, Ordering::Relaxed);
                    match lock(&db.log).trusted() {
                        Some(trusted) => body = Bytes::from(trusted.note.clone()),
                        None => return Err(DbError::verification(&db.name, "latest", &e)),
                    }
                    break;
                }
                Err(e) => return Err(DbError::verification(&db.name, "latest", &e)),
            }
        }
        db.persist_if_advanced(before);
        *lock(&db.latest) = Some((body.clone(), Instant::now()));
        Ok(body)
    }

    /// Makes sure there is a trusted tree (the first signed one is trusted on first use).
    async fn ensure_trusted(&self, db: &Database) -> Result<(), DbError> {
        if db.trusted_tree().is_none() {
            self.refresh_latest(db).await?;
        }
        Ok(())
    }

    /// `lookup/M@V`: the database's answer, proven to be in the trusted
    /// log and to speak of exactly `module@version`, and its hashes.
    async fn lookup(
        &self,
        db: &Database,
        module: &str,
        version: &str,
    ) -> Result<(Bytes, ModuleHashes), DbError> {
        let escaped = escaped_lookup(module, version).map_err(|e| {
            DbError::NotFound(format!(
                "checksum database {}: {module}@{version}: {e}",
                db.name
            ))
        })?;
        if let Some(found) = db.lookups.get(&escaped) {
            return Ok(found);
        }
        if let Some(found) = self.stored_lookup(db, module, version, &escaped) {
            db.lookups.insert(escaped, found.clone());
            return Ok(found);
        }
        let what = format!("lookup {module}@{version}");
        let body = self
            .fetch(db, &format!("lookup/{escaped}"), MAX_LOOKUP_BYTES)
            .await?;
        let before = db.trusted_tree();
        let mut attempt = 0;
        let verified = loop {
            let plan = lock(&db.log)
                .plan_lookup(module, version, &body)
                .map_err(|e| DbError::verification(&db.name, &what, &e))?;
            let wanted = plan.tiles.clone();
            let tiles = self.fetch_tiles(db, &wanted).await?;
            let finished = lock(&db.log).finish_lookup(plan, &tiles);
            match finished {
                Ok(verified) => {
                    db.keep_tiles(&wanted, &tiles);
                    break verified;
                }
                // The trusted tree moved on between planning and finishing: plan again.
                Err(e) if matches!(e.root(), SumdbError::MissingTile(_)) && attempt == 0 => {
                    attempt += 1
                }
                Err(e) => {
                    db.persist_if_advanced(before);
                    return Err(DbError::verification(&db.name, &what, &e));
                }
            }
        };
        db.persist_if_advanced(before);
        if let Err(e) = write_atomic(&db.lookup_file(&escaped), &body) {
            tracing::warn!(database = %db.name, lookup = %escaped, error = %e, "could not store lookup");
        }
        let found = (body, verified.hashes);
        db.lookups.insert(escaped, found.clone());
        Ok(found)
    }

    /// A lookup answer stored after it was verified, re-read and re-checked
    /// for signature and content (a damaged file is simply fetched again).
    fn stored_lookup(
        &self,
        db: &Database,
        module: &str,
        version: &str,
        escaped: &str,
    ) -> Option<(Bytes, ModuleHashes)> {
        let body = std::fs::read(db.lookup_file(escaped)).ok()?;
        let response = parse_lookup_response(&body).ok()?;
        lock(&db.log).open_tree_note(&response.note).ok()?;
        let hashes = record_hashes(module, version, &response.text).ok()?;
        Some((Bytes::from(body), hashes))
    }

    /// `tile/...`: a tile authenticated up to the trusted tree.
    async fn tile(&self, db: &Database, path: &str) -> Result<(Bytes, bool), DbError> {
        let tile = Tile::parse_path(path)
            .map_err(|e| DbError::NotFound(format!("checksum database {}: {e}", db.name)))?;
        if let Some(data) = db.cached_tile(&tile) {
            return Ok((data, true));
        }
        // A partial hash tile is the prefix of its full tile, once that is kept.
        if !tile.is_full() && !tile.is_data() {
            if let Some(full) = db.cached_tile(&tile.to_full()) {
                let mut set = TileSet::new();
                set.insert(tile.to_full(), full.to_vec());
                if let Some(prefix) = set.get(&tile) {
                    return Ok((Bytes::copy_from_slice(prefix), true));
                }
            }
        }
        let data = self.fetch(db, &tile.path(), MAX_TILE_BYTES).await?;
        self.ensure_trusted(db).await?;
        let what = tile.path();
        let mut attempt = 0;
        loop {
            let planned = lock(&db.log).tiles_for_tile(&tile);
            let checked = match planned {
                Ok(wanted) => {
                    let others = self.fetch_tiles(db, &wanted).await?;
                    let checked = lock(&db.log).verify_tile(&tile, &data, &others);
                    if checked.is_ok() {
                        db.keep_tiles(&wanted, &others);
                    }
                    checked
                }
                Err(e) => Err(e),
            };
            match checked {
                Ok(()) => break,
                // A tile of a tree newer than the trusted one: learn the newer tree and check again.
                Err(SumdbError::InvalidTile { .. }) | Err(SumdbError::MissingTile(_))
                    if attempt == 0 =>
                {
                    attempt += 1;
                    *lock(&db.latest) = None;
                    self.refresh_latest(db).await?;
                }
                Err(e) => return Err(DbError::verification(&db.name, &what, &e)),
            }
        }
        let mut set = TileSet::new();
        set.insert(tile, data.to_vec());
        db.keep_tiles(&[tile], &set);
        Ok((data, false))
    }

    async fn relay(&self, rest: &str) -> Response<Full<Bytes>> {
        // Names may contain slashes (`localhost.localdev/sumdb`): match whole leading elements.
        let Some((db, endpoint)) = self.databases.iter().find_map(|db| {
            rest.strip_prefix(db.name.as_str())
                .and_then(|r| r.strip_prefix('/'))
                .map(|e| (db, e))
        }) else {
            return crate::app::text(
                StatusCode::NOT_FOUND,
                "not found: this server does not proxy that checksum database",
            );
        };
        let result = match endpoint {
            "supported" => {
                return respond(Bytes::new(), "text/plain; charset=utf-8", "no-store", None)
            }
            "latest" => {
                let fresh = lock(&db.latest)
                    .clone()
                    .filter(|(_, at)| at.elapsed() < db.latest_ttl);
                match fresh {
                    Some((body, _)) => Ok((body, CacheState::Hit)),
                    None => match self.refresh_latest(db).await {
                        Ok(body) => Ok((body, CacheState::Miss)),
                        Err(DbError::Unreachable { message, timed_out }) => {
                            // Stale is safe: it is the last note verified, or the trusted one.
                            let stale = lock(&db.latest).clone().map(|(b, _)| b).or_else(|| {
                                lock(&db.log).trusted().map(|t| Bytes::from(t.note.clone()))
                            });
                            match stale {
                                Some(body) => {
                                    tracing::warn!(database = %db.name, error = %message, "checksum database unreachable; serving the last verified tree");
                                    Ok((body, CacheState::Stale))
                                }
                                None => Err(DbError::Unreachable { message, timed_out }),
                            }
                        }
                        Err(e) => Err(e),
                    },
                }
                .map(|(body, state)| (body, "text/plain; charset=utf-8", "public, max-age=30", state))
            }
            _ => {
                if let Some(path) = endpoint.strip_prefix("lookup/") {
                    match split_lookup(path) {
                        Err(message) => Err(DbError::NotFound(format!(
                            "checksum database {}: {message}",
                            db.name
                        ))),
                        Ok((module, version)) => {
                            self.lookup(db, &module, &version).await.map(|(body, _)| {
                                (
                                    body,
                                    "text/plain; charset=utf-8",
                                    "public, max-age=86400",
                                    CacheState::Miss,
                                )
                            })
                        }
                    }
                } else if endpoint.starts_with("tile/") {
                    self.tile(db, endpoint).await.map(|(body, hit)| {
                        let full = Tile::parse_path(endpoint).is_ok_and(|t| t.is_full());
                        let cache_control = if full {
                            "public, max-age=31536000, immutable"
                        } else {
                            "public, max-age=60"
                        };
                        (
                            body,
                            "application/octet-stream",
                            cache_control,
                            if hit {
                                CacheState::Hit
                            } else {
                                CacheState::Miss
                            },
                        )
                    })
                } else {
                    Err(DbError::NotFound(format!(
                        "checksum database {}: unknown endpoint {endpoint:?} (want supported, latest, lookup/M@V or tile/...)",
                        db.name
                    )))
                }
            }
        };
        match result {
            Ok((body, content_type, cache_control, state)) => {
                respond(body, content_type, cache_control, Some(state))
            }
            Err(err) => {
                self.refused(db, &err);
                if let DbError::Unreachable { message, .. } = &err {
                    tracing::warn!(database = %db.name, error = %message, "checksum database request failed");
                }
                crate::app::text(err.status(), err.message())
            }
        }
    }

    async fn check(
        &self,
        module: &str,
        version: &str,
        kind: ArtifactKind,
        h1: &str,
    ) -> Result<(), crate::hooks::VerifyFailure> {
        use crate::hooks::VerifyFailure;
        if self.verify == VerifyMode::Off {
            return Ok(());
        }
        if module != TOOLCHAIN_MODULE && self.private.skip_sumdb(module) {
            return Ok(());
        }
        let Some(db) = self.databases.first() else {
            return Ok(());
        };
        let what = match kind {
            ArtifactKind::Info => return Ok(()),
            ArtifactKind::Zip => "zip",
            ArtifactKind::Mod => "go.mod",
        };
        let hashes = match self.lookup(db, module, version).await {
            Ok((_, hashes)) => hashes,
            Err(err) => {
                self.refused(db, &err);
                let message = format!(
                    "verifying {module}@{version} ({what}) against checksum database {}: {}",
                    db.name,
                    err.message()
                );
                tracing::warn!(module, version, error = %message, "module not verified; not cached");
                return Err(match err {
                    DbError::Unreachable {
                        timed_out: true, ..
                    } => VerifyFailure::unavailable(ServeError::GatewayTimeout(message)),
                    DbError::Unreachable { .. } => {
                        VerifyFailure::unavailable(ServeError::BadGateway(message))
                    }
                    _ => VerifyFailure::rejected(ServeError::BadGateway(message)),
                });
            }
        };
        let expected = if kind == ArtifactKind::Zip {
            &hashes.zip
        } else {
            &hashes.go_mod
        };
        if expected == h1 {
            return Ok(());
        }
        self.mismatches.fetch_add(1, Ordering::Relaxed);
        let message = format!(
            "checksum mismatch: {module}@{version}: {what} {h1} from the upstream but the checksum database {} has {expected}",
            db.name
        );
        tracing::error!(security_event = true, module, version, kind = what, upstream_h1 = %h1, database_h1 = %expected,
            database = %db.name, "checksum mismatch: refusing to cache a module the checksum database disagrees with");
        Err(VerifyFailure::rejected(ServeError::BadGateway(message)))
    }
}

#[derive(Debug, Clone, Copy)]
enum CacheState {
    Hit,
    Miss,
    Stale,
}

fn respond(
    body: Bytes,
    content_type: &'static str,
    cache_control: &'static str,
    state: Option<CacheState>,
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let stale = matches!(state, Some(CacheState::Stale));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if stale { "no-store" } else { cache_control }),
    );
    if let Some(state) = state {
        h.insert(
            "x-goxy-cache",
            HeaderValue::from_static(match state {
                CacheState::Hit => "hit",
                CacheState::Miss => "miss",
                CacheState::Stale => "stale",
            }),
        );
        if stale {
            h.insert(
                header::WARNING,
                HeaderValue::from_static("110 goxy \"Response is Stale\""),
            );
        }
    }
    resp
}

/// `M@V` of a lookup path (module and version `!`-escaped), checked.
fn split_lookup(path: &str) -> Result<(String, String), String> {
    let (escaped_module, escaped_version) = path
        .rsplit_once('@')
        .ok_or_else(|| format!("lookup {path:?}: want module@version"))?;
    let module = goxy_mod::module::unescape_path(escaped_module)
        .map_err(|e| format!("lookup {path:?}: {e}"))?;
    let version = goxy_mod::module::unescape_version(escaped_version)
        .map_err(|e| format!("lookup {path:?}: {e}"))?;
    goxy_mod::module::check(&module, &version).map_err(|e| format!("lookup {path:?}: {e}"))?;
    Ok((module, version))
}

/// `escaped-module@escaped-version`, the lookup key and path.
fn escaped_lookup(module: &str, version: &str) -> Result<String, String> {
    goxy_mod::module::check(module, version).map_err(|e| e.to_string())?;
    let m = goxy_mod::module::escape_path(module).map_err(|e| e.to_string())?;
    let v = goxy_mod::module::escape_version(version).map_err(|e| e.to_string())?;
    Ok(format!("{m}@{v}"))
}

/// Wires the relay and the verifier into `app` (called where `goxy serve`
/// builds it) and says at startup what is verified. The route to each
/// database is chosen in the background right away, so the log says it
/// before the first client needs it.
pub fn install(
    app: crate::app::App,
    cfg: &crate::config::ServerConfig,
    http: HttpClient,
) -> Result<crate::app::App, String> {
    for warning in &cfg.sumdb.warnings {
        tracing::warn!("{warning}");
    }
    if cfg.sumdb.databases.is_empty() {
        return Ok(app);
    }
    let upstreams = app
        .chain()
        .upstreams()
        .iter()
        .map(|u| u.entry.clone())
        .collect();
    let sumdb = Arc::new(Sumdb::new(
        &cfg.sumdb,
        cfg.private.clone(),
        &cfg.cache_dir,
        http,
        upstreams,
    )?);
    let names: Vec<&str> = cfg
        .sumdb
        .databases
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    tracing::info!(databases = %names.join(","), origin = %cfg.sumdb.origin, verify = sumdb.verifies(),
        no_sumdb = %cfg.private.no_sumdb_effective(), "checksum database relay");
    let offline = app
        .chain()
        .upstreams()
        .iter()
        .all(|u| u.entry.kind == goxy_fetch::EntryKind::Off);
    if !offline {
        let probe = sumdb.clone();
        tokio::spawn(async move {
            for (name, result) in probe.probe().await {
                if let Err(e) = result {
                    tracing::warn!(database = %name, error = %e, "checksum database unreachable at start; goxy tries again on the next request");
                }
            }
        });
    }
    let app = app.with_sumdb(sumdb.clone());
    Ok(if sumdb.verifies() {
        app.with_verifier(sumdb)
    } else {
        app
    })
}

impl crate::hooks::SumdbRelay for Sumdb {
    fn handle<'a>(&'a self, rest: &'a str) -> BoxFuture<'a, Response<Full<Bytes>>> {
        Box::pin(self.relay(rest))
    }

    fn statuses(&self) -> Vec<DatabaseStatus> {
        Sumdb::statuses(self)
    }
}

impl crate::hooks::ChecksumVerifier for Sumdb {
    fn verify<'a>(
        &'a self,
        module: &'a str,
        version: &'a str,
        kind: ArtifactKind,
        h1: &'a str,
    ) -> BoxFuture<'a, Result<(), crate::hooks::VerifyFailure>> {
        Box::pin(self.check(module, version, kind, h1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str =
        "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
    const PUBLIC_KEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

    fn url(db: &DatabaseConfig) -> Option<&str> {
        db.url.as_ref().map(|u| u.as_str())
    }

    #[test]
    fn every_gosumdb_form_go_accepts() {
        assert_eq!(parse_gosumdb("off").unwrap(), None);
        // name: the built-in key, reached through the proxies.
        let db = parse_gosumdb("sum.golang.org").unwrap().unwrap();
        assert_eq!(
            (db.name.as_str(), db.key.as_str(), url(&db)),
            ("sum.golang.org", PUBLIC_KEY, None)
        );
        assert_eq!(db.direct_url(), "https://sum.golang.org");
        // name url: built-in key, explicit URL.
        let db = parse_gosumdb("sum.golang.org https://mirror.example/sumdb/sum.golang.org")
            .unwrap()
            .unwrap();
        assert_eq!(db.key, PUBLIC_KEY);
        assert_eq!(
            url(&db),
            Some("https://mirror.example/sumdb/sum.golang.org")
        );
        // name+key and name+key url.
        let db = parse_gosumdb(TEST_KEY).unwrap().unwrap();
        assert_eq!(
            (db.name.as_str(), url(&db)),
            ("localhost.localdev/sumdb", None)
        );
        let db = parse_gosumdb(&format!("{TEST_KEY} http://127.0.0.1:9/db"))
            .unwrap()
            .unwrap();
        assert_eq!(url(&db), Some("http://127.0.0.1:9/db"));
        // The alias: the public database under another URL.
        let db = parse_gosumdb("sum.golang.google.cn").unwrap().unwrap();
        assert_eq!(
            (db.name.as_str(), db.key.as_str()),
            ("sum.golang.org", PUBLIC_KEY)
        );
        assert_eq!(url(&db), Some("https://sum.golang.google.cn/"));
    }

    #[test]
    fn unusable_gosumdb_values_are_errors() {
        for bad in [
            "sum.golang.orgg",
            "sum.example.org https://mirror.example",
            "name+00000000+AAAA",
            "a b c",
            "",
            &format!("{TEST_KEY} ftp://x"),
        ] {
            assert!(parse_gosumdb(bad).is_err(), "{bad:?}");
        }
        let err = parse_gosumdb("sum.golang.orgg").unwrap_err();
        assert!(
            err.contains("built in") && err.contains("sum.golang.org"),
            "{err}"
        );
    }

    #[test]
    fn precedence_flag_file_go_env_default() {
        let file = [FileSumdb {
            name: "localhost.localdev/sumdb".into(),
            key: Some(TEST_KEY.into()),
            url: Some("http://127.0.0.1:1/".into()),
        }];
        let s = resolve_settings(None, &file, None, None, None).unwrap();
        assert_eq!(s.databases.len(), 1);
        assert_eq!(
            s.databases.first().and_then(url),
            Some("http://127.0.0.1:1/")
        );
        assert_eq!(s.verify, VerifyMode::Verify);
        let s = resolve_settings(Some("off"), &file, None, Some("off"), Some(5)).unwrap();
        assert!(s.databases.is_empty());
        assert_eq!(s.verify, VerifyMode::Off);
        assert_eq!(s.latest_ttl, Duration::from_secs(5));
        assert!(resolve_settings(Some("sum.example.org"), &file, None, None, None).is_err());
        assert!(resolve_settings(None, &file, None, Some("sometimes"), None).is_err());
        // The Go environment, then the default: the public database, no toolchain needed.
        let s = resolve_settings(
            None,
            &[],
            Some((TEST_KEY.into(), "environment".into())),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            s.databases.first().map(|d| d.name.as_str()),
            Some("localhost.localdev/sumdb")
        );
        assert!(s.origin.contains("environment"), "{}", s.origin);
        let s = resolve_settings(None, &[], None, None, None).unwrap();
        assert_eq!(
            s.databases.first().map(|d| d.key.as_str()),
            Some(PUBLIC_KEY)
        );
        // [[sumdb]] with a name and a URL only: the built-in key.
        let named = [FileSumdb {
            name: "sum.golang.org".into(),
            key: None,
            url: Some("http://127.0.0.1:2/sumdb/sum.golang.org".into()),
        }];
        let s = resolve_settings(None, &named, None, None, None).unwrap();
        assert_eq!(
            s.databases.first().map(|d| d.key.as_str()),
            Some(PUBLIC_KEY)
        );
        let unknown = [FileSumdb {
            name: "sum.example.org".into(),
            key: None,
            url: None,
        }];
        assert!(resolve_settings(None, &unknown, None, None, None).is_err());
        let wrong_name = [FileSumdb {
            name: "other.example".into(),
            key: Some(TEST_KEY.into()),
            url: None,
        }];
        assert!(resolve_settings(None, &wrong_name, None, None, None)
            .unwrap_err()
            .contains("the key is for"));
    }
    #[test]
    fn lookup_paths() {
        assert_eq!(
            split_lookup("github.com/!burnt!sushi/toml@v1.4.0").unwrap(),
            (
                "github.com/BurntSushi/toml".to_string(),
                "v1.4.0".to_string()
            )
        );
        assert_eq!(
            escaped_lookup("github.com/BurntSushi/toml", "v1.4.0").unwrap(),
            "github.com/!burnt!sushi/toml@v1.4.0"
        );
        for bad in [
            "github.com/x/y",
            "../x@v1.0.0",
            "github.com/x/y@",
            "github.com/x/y@latest",
            "github.com/X/y@v1.0.0",
        ] {
            assert!(split_lookup(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn directory_names_are_one_safe_component() {
        assert_eq!(
            dir_component("localhost.localdev/sumdb"),
            "localhost.localdev%2Fsumdb"
        );
        assert_eq!(dir_component(".."), "%2E.");
        assert!(!dir_component("a/../../b").contains('/'));
    }
}

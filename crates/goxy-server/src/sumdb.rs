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

/// One `[[sumdb]]` entry of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSumdb {
    pub name: String,
    pub key: String,
    pub url: Option<String>,
}

/// A checksum database goxy relays and verifies against.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// The name clients use (`/sumdb/<name>/...`), from the key.
    pub name: String,
    /// `name+hash+base64key`.
    pub key: String,
    /// Base URL of the database (no trailing slash).
    pub url: url::Url,
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
    /// Where the database list came from (for the startup log).
    pub origin: &'static str,
    /// Said once at startup (e.g. a database named without a key).
    pub warnings: Vec<String>,
}

impl Default for SumdbSettings {
    fn default() -> Self {
        SumdbSettings {
            databases: Vec::new(),
            verify: VerifyMode::Verify,
            latest_ttl: Duration::from_secs(DEFAULT_LATEST_TTL),
            origin: "none",
            warnings: Vec::new(),
        }
    }
}

/// A `GOSUMDB` value: `off`, `name`, `name+hash+key`, or `name+hash+key url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoSumdb {
    Off,
    /// Only a name: the key is built into the Go toolchain, not known here.
    NameOnly(String),
    Keyed {
        name: String,
        key: String,
        url: String,
    },
}

/// Parses a `GOSUMDB` value (the URL defaults to `https://<name>`).
pub fn parse_gosumdb(value: &str) -> Result<GoSumdb, String> {
    let value = value.trim();
    let mut fields = value.split_whitespace();
    let key = fields.next().ok_or("empty checksum database setting")?;
    let url = fields.next();
    if fields.next().is_some() {
        return Err(format!(
            "checksum database {value:?}: want \"name+key\" or \"name+key url\""
        ));
    }
    if key == "off" && url.is_none() {
        return Ok(GoSumdb::Off);
    }
    if !key.contains('+') {
        // `name` or `name url`: the go command knows the key of its default
        // databases; goxy does not, whatever the URL.
        return Ok(GoSumdb::NameOnly(key.to_string()));
    }
    let verifier =
        Verifier::parse(key).map_err(|e| format!("checksum database key {key:?}: {e}"))?;
    let name = verifier.name().to_string();
    let url = url
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://{name}"));
    Ok(GoSumdb::Keyed {
        name,
        key: key.to_string(),
        url,
    })
}

fn database(name: &str, key: &str, url: &str) -> Result<DatabaseConfig, String> {
    let verifier =
        Verifier::parse(key).map_err(|e| format!("checksum database {name}: key {key:?}: {e}"))?;
    if verifier.name() != name {
        return Err(format!(
            "checksum database {name}: the key is for {:?}",
            verifier.name()
        ));
    }
    let parsed = url::Url::parse(url.trim_end_matches('/'))
        .map_err(|e| format!("checksum database {name}: URL {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "checksum database {name}: URL {url:?} is not http or https"
        ));
    }
    Ok(DatabaseConfig {
        name: name.to_string(),
        key: key.to_string(),
        url: parsed,
    })
}

fn go_env_gosumdb() -> Option<String> {
    let out = std::process::Command::new("go")
        .args(["env", "GOSUMDB"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let value = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!value.is_empty()).then_some(value)
}

/// Resolves the databases from `--sumdb`/`GOXY_SUMDB` (GOSUMDB syntax), then
/// the config file's `[[sumdb]]` entries, then `GOSUMDB`, then `go env GOSUMDB`.
pub fn resolve_settings(
    flag: Option<&str>,
    file: &[FileSumdb],
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
    let (gosumdb, origin) = if let Some(value) = flag.filter(|v| !v.trim().is_empty()) {
        (value.to_string(), "--sumdb/GOXY_SUMDB")
    } else if !file.is_empty() {
        for entry in file {
            let url = entry
                .url
                .clone()
                .unwrap_or_else(|| format!("https://{}", entry.name));
            settings
                .databases
                .push(database(&entry.name, &entry.key, &url)?);
        }
        settings.origin = "config file";
        return Ok(settings);
    } else if let Some(value) = std::env::var("GOSUMDB")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        (value, "GOSUMDB")
    } else if let Some(value) = go_env_gosumdb() {
        (value, "go env GOSUMDB")
    } else {
        settings.warnings.push("no checksum database configured (GOSUMDB and go env GOSUMDB are unset): modules are not verified; configure [[sumdb]] name/key/url".into());
        return Ok(settings);
    };
    settings.origin = origin;
    match parse_gosumdb(&gosumdb).map_err(|e| format!("{e} (from {origin})"))? {
        GoSumdb::Off => settings.warnings.push(format!("checksum database off (from {origin}): modules are not verified")),
        GoSumdb::NameOnly(name) => match toolchain_known_key(&name) {
            // The go command knows this database's key; so does goxy, from the
            // same place: the installed toolchain's own table.
            Some(key) => settings.databases.push(database(&name, &key, &format!("https://{name}"))?),
            None => settings.warnings.push(format!(
                "checksum database {name} (from {origin}) has no key here (the installed go toolchain does not \
                 know it either): it is neither relayed nor used to verify modules; configure it with [[sumdb]] \
                 name/key/url in the config file or --sumdb \"name+hash+key url\""
            )),
        },
        GoSumdb::Keyed { name, key, url } => settings.databases.push(database(&name, &key, &url)?),
    }
    Ok(settings)
}

/// The verifier key the installed Go toolchain has built in for `name` (the
/// `knownGOSUMDB` table in its source, `$GOROOT/src/cmd/go/internal/modfetch/key.go`).
fn toolchain_known_key(name: &str) -> Option<String> {
    let out = std::process::Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .ok()?;
    let goroot = String::from_utf8(out.stdout).ok()?;
    let path = std::path::Path::new(goroot.trim()).join("src/cmd/go/internal/modfetch/key.go");
    known_key_from_source(&std::fs::read_to_string(path).ok()?, name)
}

/// Finds `"name": "name+hash+key",` in Go source text.
fn known_key_from_source(source: &str, name: &str) -> Option<String> {
    source.lines().find_map(|line| {
        let (left, right) = line.trim().split_once(':')?;
        if left.trim() != format!("{name:?}") {
            return None;
        }
        let key = right
            .trim()
            .trim_end_matches(',')
            .trim()
            .strip_prefix('"')?
            .strip_suffix('"')?;
        (key.starts_with(&format!("{name}+")) && goxy_sumdb::note::Verifier::parse(key).is_ok())
            .then(|| key.to_string())
    })
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
    base: String,
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
            base: config.url.as_str().trim_end_matches('/').to_string(),
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

/// The relay and verifier for the configured checksum databases.
pub struct Sumdb {
    http: HttpClient,
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
    ) -> Result<Sumdb, String> {
        let databases = settings
            .databases
            .iter()
            .map(|c| Database::open(c, cache_dir, settings.latest_ttl).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sumdb {
            http,
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

    async fn fetch(&self, db: &Database, path: &str, limit: usize) -> Result<Bytes, DbError> {
        let text = format!("{}/{path}", db.base);
        let url = url::Url::parse(&text).map_err(|e| DbError::Unreachable {
            message: format!("{text}: {e}"),
            timed_out: false,
        })?;
        self.outbound.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(database = %db.name, path, "checksum database request");
        let unreachable = |e: goxy_fetch::HttpError| DbError::Unreachable {
            message: format!("checksum database {}: {path}: {e}", db.name),
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
                "checksum database {}: {path}: not found ({})",
                db.name,
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(DbError::Unreachable {
                message: format!(
                    "checksum database {}: {path}: status {}",
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
                        "checksum database {}: {path}: answer larger than {limit} bytes",
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
    ) -> Result<(), ServeError> {
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
                    } => ServeError::GatewayTimeout(message),
                    _ => ServeError::BadGateway(message),
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
        Err(ServeError::BadGateway(message))
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
/// builds it) and says at startup what is verified.
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
    let sumdb = Arc::new(Sumdb::new(
        &cfg.sumdb,
        cfg.private.clone(),
        &cfg.cache_dir,
        http,
    )?);
    let names: Vec<&str> = cfg
        .sumdb
        .databases
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    tracing::info!(databases = %names.join(","), origin = cfg.sumdb.origin, verify = sumdb.verifies(),
        no_sumdb = %cfg.private.no_sumdb_effective(), "checksum database relay");
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
}

impl crate::hooks::ChecksumVerifier for Sumdb {
    fn verify<'a>(
        &'a self,
        module: &'a str,
        version: &'a str,
        kind: ArtifactKind,
        h1: &'a str,
    ) -> BoxFuture<'a, Result<(), ServeError>> {
        Box::pin(self.check(module, version, kind, h1))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_keys_are_read_from_toolchain_source() {
        let key = "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
        let source = format!("var knownGOSUMDB = map[string]string{{\n\t\"localhost.localdev/sumdb\": \"{key}\",\n}}\n");
        assert_eq!(
            super::known_key_from_source(&source, "localhost.localdev/sumdb").as_deref(),
            Some(key)
        );
        assert_eq!(super::known_key_from_source(&source, "other.example"), None);
        // A key that is not a valid verifier for that name is ignored.
        let bad = "\t\"localhost.localdev/sumdb\": \"localhost.localdev/sumdb+1+2\",\n";
        assert_eq!(
            super::known_key_from_source(bad, "localhost.localdev/sumdb"),
            None
        );
    }

    use super::*;

    const TEST_KEY: &str =
        "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";

    #[test]
    fn gosumdb_forms() {
        assert_eq!(parse_gosumdb("off").unwrap(), GoSumdb::Off);
        assert_eq!(
            parse_gosumdb("sum.example.org").unwrap(),
            GoSumdb::NameOnly("sum.example.org".into())
        );
        assert_eq!(
            parse_gosumdb(TEST_KEY).unwrap(),
            GoSumdb::Keyed {
                name: "localhost.localdev/sumdb".into(),
                key: TEST_KEY.into(),
                url: "https://localhost.localdev/sumdb".into()
            }
        );
        match parse_gosumdb(&format!("{TEST_KEY} http://127.0.0.1:9/db")).unwrap() {
            GoSumdb::Keyed { url, .. } => assert_eq!(url, "http://127.0.0.1:9/db"),
            other => panic!("{other:?}"),
        }
        assert!(parse_gosumdb("name+00000000+AAAA").is_err());
        assert!(parse_gosumdb("a b c").is_err());
        assert_eq!(
            parse_gosumdb("sum.example.org https://mirror.example").unwrap(),
            GoSumdb::NameOnly("sum.example.org".into())
        );
    }

    #[test]
    fn flag_beats_file_and_bare_names_warn() {
        let file = [FileSumdb {
            name: "localhost.localdev/sumdb".into(),
            key: TEST_KEY.into(),
            url: Some("http://127.0.0.1:1/".into()),
        }];
        let s = resolve_settings(None, &file, None, None).unwrap();
        assert_eq!(s.databases.len(), 1);
        assert_eq!(
            s.databases.first().map(|d| d.url.as_str()),
            Some("http://127.0.0.1:1/")
        );
        assert_eq!(s.verify, VerifyMode::Verify);
        let s = resolve_settings(Some("sum.example.org"), &file, Some("off"), Some(5)).unwrap();
        assert!(s.databases.is_empty());
        assert_eq!(s.verify, VerifyMode::Off);
        assert_eq!(s.latest_ttl, Duration::from_secs(5));
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("sum.example.org") && w.contains("[[sumdb]]")),
            "{:?}",
            s.warnings
        );
        assert!(resolve_settings(None, &file, Some("sometimes"), None).is_err());
        let wrong_name = [FileSumdb {
            name: "other.example".into(),
            key: TEST_KEY.into(),
            url: None,
        }];
        assert!(resolve_settings(None, &wrong_name, None, None)
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

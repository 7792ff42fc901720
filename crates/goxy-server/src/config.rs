//! `goxy serve` settings: flags and environment (read by clap) over a TOML
//! file over embedded defaults.

use goxy_fetch::proxylist::{self, Entry, EntryKind};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GOXY_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Cache directory (default: a per-user cache directory).
    #[arg(long, env = "GOXY_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Upstream sources in GOPROXY syntax: URLs separated by `,` (fall
    /// through on 404/410) or `|` (on any error), file:// directories, off, direct.
    /// Default: GOXY_UPSTREAM, the config file, GOPROXY, then `go env GOPROXY`.
    #[arg(long, env = "GOXY_UPSTREAM", value_name = "LIST")]
    pub upstream: Option<String>,
    /// Seconds a cached `list` or `@latest` answer is fresh.
    #[arg(long, env = "GOXY_LIST_TTL", value_name = "SECONDS")]
    pub list_ttl: Option<u64>,
    /// Seconds a "not found" answer is remembered before the sources are
    /// asked again (0: never remembered).
    #[arg(long, env = "GOXY_NOT_FOUND_TTL", value_name = "SECONDS")]
    pub not_found_ttl: Option<u64>,
    /// A TOML configuration file.
    #[arg(long, env = "GOXY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A PEM bundle of extra CAs trusted for upstream TLS.
    #[arg(long, env = "GOXY_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Bytes of artifacts kept in memory for the fastest hits.
    #[arg(long, env = "GOXY_MEMORY_CACHE", value_name = "BYTES")]
    pub memory_cache: Option<u64>,
    /// Worker threads serving requests (default: one per CPU).
    #[arg(long, env = "GOXY_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// Validate the configuration and exit.
    #[arg(long)]
    pub check: bool,
    /// The checksum database to relay and verify against, in GOSUMDB syntax
    /// (`name+hash+key [url]`, or `off`). Default: the config file's
    /// `[[sumdb]]`, then GOSUMDB, then `go env GOSUMDB`.
    #[arg(long, env = "GOXY_SUMDB", value_name = "GOSUMDB")]
    pub sumdb: Option<String>,
    /// `verify` (default): check every public module against the checksum
    /// database before caching it; `off`: do not.
    #[arg(long, env = "GOXY_SUMDB_VERIFY", value_name = "MODE")]
    pub sumdb_verify: Option<String>,
    /// Private module patterns (GOPRIVATE syntax; default: GOPRIVATE).
    #[arg(long, env = "GOXY_PRIVATE", value_name = "PATTERNS")]
    pub private: Option<String>,
    /// Modules never fetched through upstream proxies (default: GONOPROXY, then --private).
    #[arg(long, env = "GOXY_NOPROXY", value_name = "PATTERNS")]
    pub no_proxy: Option<String>,
    /// Modules never looked up in the checksum database (default: GONOSUMDB, then --private).
    #[arg(long, env = "GOXY_NOSUMDB", value_name = "PATTERNS")]
    pub no_sumdb: Option<String>,
    #[command(flatten)]
    pub ops: crate::opsconfig::OpsArgs,
    #[command(flatten)]
    pub direct: crate::direct::DirectArgs,
}

/// The TOML file. Unknown keys are errors, so a typo never silently falls
/// back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub cache_dir: Option<PathBuf>,
    pub upstream: Option<String>,
    pub list_ttl: Option<u64>,
    pub not_found_ttl: Option<u64>,
    pub ca_file: Option<PathBuf>,
    pub memory_cache: Option<u64>,
    /// Async worker threads (default: one per CPU).
    pub workers: Option<usize>,
    #[serde(default)]
    pub timeouts: FileTimeouts,
    #[serde(default)]
    pub sumdb: Vec<crate::sumdb::FileSumdb>,
    pub sumdb_verify: Option<String>,
    pub sumdb_latest_ttl: Option<u64>,
    pub private: Option<String>,
    pub no_proxy: Option<String>,
    pub no_sumdb: Option<String>,
    #[serde(default)]
    pub connections: crate::opsconfig::FileConnections,
    #[serde(default)]
    pub tls: crate::opsconfig::FileTls,
    #[serde(default)]
    pub audit: crate::opsconfig::FileAudit,
    #[serde(default)]
    pub limits: crate::opsconfig::FileLimits,
    #[serde(default)]
    pub auth: crate::opsconfig::FileAuth,
    #[serde(default)]
    pub direct: crate::direct::FileDirect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTimeouts {
    pub connect: Option<u64>,
    pub tls: Option<u64>,
    pub headers: Option<u64>,
    pub body_idle: Option<u64>,
    /// Seconds: the fixed part of each fetch's total deadline.
    pub total: Option<u64>,
    /// Bytes per second a body must average over `rate_window` (0: off).
    pub min_rate: Option<u64>,
    /// Seconds the minimum rate is measured over.
    pub rate_window: Option<u64>,
}

/// Everything resolved.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: String,
    pub cache_dir: PathBuf,
    pub upstream: Vec<Entry>,
    pub upstream_origin: String,
    /// The Go environment goxy inherited settings from (with their origins).
    pub go_env: goxy_goenv::GoConfig,
    pub list_ttl: Duration,
    pub not_found_ttl: Duration,
    pub ca_file: Option<PathBuf>,
    pub memory_cache: u64,
    pub timeouts: goxy_fetch::Timeouts,
    pub sumdb: crate::sumdb::SumdbSettings,
    /// GOPRIVATE/GONOPROXY/GONOSUMDB, resolved.
    pub private: crate::private::PrivatePatterns,
    pub ops: crate::opsconfig::OpsConfig,
    /// Direct fetching from version control.
    pub direct: crate::direct::DirectSettings,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_LIST_TTL: u64 = 60;
pub const DEFAULT_NOT_FOUND_TTL: u64 = 60;
pub const DEFAULT_MEMORY_CACHE: u64 = 256 << 20;

pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("goxy");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache").join("goxy");
    }
    std::env::temp_dir().join("goxy-cache")
}

/// The number of worker threads asked for: flag/env, else the config
/// file's `workers`; `None` means one per CPU. Read before the runtime
/// starts; a broken file is reported later by [`resolve`].
pub fn worker_threads(args: &ServeArgs) -> Option<usize> {
    let from_file = || {
        let text = std::fs::read_to_string(args.config.as_ref()?).ok()?;
        toml::from_str::<FileConfig>(&text).ok()?.workers
    };
    args.workers.or_else(from_file).filter(|n| *n > 0)
}

/// Resolves flags/env over the file over the Go environment (read once, as
/// the go command reads it) over defaults.
pub fn resolve(args: &ServeArgs) -> Result<ServerConfig, String> {
    resolve_with(args, &goxy_goenv::GoConfig::from_process())
}

/// A Go setting and where it came from, when set.
fn go_setting(go: &goxy_goenv::GoConfig, key: &str) -> Option<(String, String)> {
    let (value, source) = go.get(key);
    (!value.trim().is_empty()).then(|| (value, source.describe(go)))
}

/// [`resolve`] with the Go environment given (tests pass their own).
pub fn resolve_with(args: &ServeArgs, go: &goxy_goenv::GoConfig) -> Result<ServerConfig, String> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("config {}: {e}", path.display()))?;
            toml::from_str::<FileConfig>(&text)
                .map_err(|e| format!("config {}: {e}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let mut ops = crate::opsconfig::resolve(
        &args.ops,
        crate::opsconfig::OpsFile {
            connections: file.connections,
            tls: file.tls,
            audit: file.audit,
            limits: file.limits,
            auth: file.auth,
        },
    )
    .map_err(|e| match &args.config {
        Some(path) => format!("config {}: {e}", path.display()),
        None => e,
    })?;
    let listen = listen_address(
        &args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
    )?;
    let cache_dir = args
        .cache_dir
        .clone()
        .or(file.cache_dir)
        .unwrap_or_else(default_cache_dir);
    let (upstream_text, upstream_origin) = if let Some(u) = &args.upstream {
        (u.clone(), "--upstream/GOXY_UPSTREAM".to_string())
    } else if let Some(u) = file.upstream {
        (u, "config file".to_string())
    } else if let Some((u, source)) = go_setting(go, "GOPROXY") {
        (u, format!("GOPROXY from the {source}"))
    } else {
        (
            "direct".to_string(),
            "default (no Go configuration found)".to_string(),
        )
    };
    let entries = proxylist::parse(&upstream_text)
        .map_err(|e| format!("upstream ({upstream_origin}): {e}"))?;
    let sumdb = crate::sumdb::resolve_settings(
        args.sumdb.as_deref(),
        &file.sumdb,
        go_setting(go, "GOSUMDB"),
        args.sumdb_verify
            .as_deref()
            .or(file.sumdb_verify.as_deref()),
        file.sumdb_latest_ttl,
    )?;
    let private = crate::private::PrivatePatterns::resolve(
        [
            args.private.as_deref(),
            args.no_proxy.as_deref(),
            args.no_sumdb.as_deref(),
        ],
        [
            file.private.as_deref(),
            file.no_proxy.as_deref(),
            file.no_sumdb.as_deref(),
        ],
        |name| go_setting(go, name).map(|(v, _)| v),
    );
    // Credentials without their own `[auth] private` patterns guard the
    // modules this server already treats as private (`private`/GOPRIVATE).
    if ops.auth.private.trim().is_empty()
        && !(ops.auth.tokens.is_empty() && ops.auth.users.is_empty())
    {
        ops.auth.private = private.private.clone();
    }
    let secs = |v: Option<u64>, default: Duration| v.map(Duration::from_secs).unwrap_or(default);
    let defaults = goxy_fetch::Timeouts::default();
    let timeouts = goxy_fetch::Timeouts {
        connect: secs(file.timeouts.connect, defaults.connect),
        tls: secs(file.timeouts.tls, defaults.tls),
        headers: secs(file.timeouts.headers, defaults.headers),
        body_idle: secs(file.timeouts.body_idle, defaults.body_idle),
        total: secs(file.timeouts.total, defaults.total),
        min_rate: file.timeouts.min_rate.unwrap_or(defaults.min_rate),
        rate_window: secs(file.timeouts.rate_window, defaults.rate_window),
    };
    Ok(ServerConfig {
        listen,
        cache_dir,
        upstream: entries,
        upstream_origin,
        go_env: go.clone(),
        list_ttl: Duration::from_secs(args.list_ttl.or(file.list_ttl).unwrap_or(DEFAULT_LIST_TTL)),
        not_found_ttl: Duration::from_secs(
            args.not_found_ttl
                .or(file.not_found_ttl)
                .unwrap_or(DEFAULT_NOT_FOUND_TTL),
        ),
        ca_file: args.ca_file.clone().or(file.ca_file),
        memory_cache: args
            .memory_cache
            .or(file.memory_cache)
            .unwrap_or(DEFAULT_MEMORY_CACHE),
        timeouts,
        sumdb,
        private,
        ops,
        direct: crate::direct::DirectSettings::resolve(
            &args.direct,
            file.direct,
            go_setting(go, "GOINSECURE").map(|(v, _)| v),
        ),
    })
}

/// A listen address as Go servers take it: `HOST:PORT`, `[V6]:PORT`, or
/// `:PORT` for every interface.
pub fn listen_address(value: &str) -> Result<String, String> {
    let value = value.trim();
    let bad = || format!("listen {value:?}: want HOST:PORT (127.0.0.1:8080, [::1]:8080) or :PORT");
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    port.parse::<u16>().map_err(|_| bad())?;
    if host.is_empty() {
        return Ok(format!("0.0.0.0:{port}"));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(bad());
    }
    Ok(value.to_string())
}

/// Removes entries that point back at this server (a GOPROXY inherited from
/// the environment often names the proxy itself), which would loop.
pub fn drop_self(entries: Vec<Entry>, bound: SocketAddr) -> (Vec<Entry>, Vec<String>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for entry in entries {
        let is_self = match &entry.kind {
            EntryKind::Http(url) => {
                let host = url
                    .host_str()
                    .unwrap_or_default()
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                let ip = host.parse::<IpAddr>().ok();
                let wildcard_or_loopback = bound.ip().is_loopback() || bound.ip().is_unspecified();
                let names_us = ip == Some(bound.ip())
                    || (wildcard_or_loopback
                        && (host.eq_ignore_ascii_case("localhost")
                            || ip.is_some_and(|ip| ip.is_loopback())));
                names_us && url.port_or_known_default() == Some(bound.port())
            }
            _ => false,
        };
        if is_self {
            dropped.push(entry.display_name());
        } else {
            kept.push(entry);
        }
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_references_are_dropped() {
        let entries = proxylist::parse(
            "http://127.0.0.1:8080,http://localhost:8080|http://127.0.0.1:9090,direct",
        )
        .unwrap();
        let (kept, dropped) = drop_self(entries, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            dropped,
            vec!["http://127.0.0.1:8080", "http://localhost:8080"]
        );
        assert_eq!(proxylist::format(&kept), "http://127.0.0.1:9090,direct");
    }

    #[test]
    fn listen_addresses_as_go_servers_take_them() {
        assert_eq!(listen_address(":8080").unwrap(), "0.0.0.0:8080");
        assert_eq!(listen_address("127.0.0.1:1").unwrap(), "127.0.0.1:1");
        assert_eq!(listen_address("[::1]:80").unwrap(), "[::1]:80");
        assert_eq!(listen_address("localhost:80").unwrap(), "localhost:80");
        for bad in ["localhost", ":http", "::1:80", "1.2.3.4:99999", ""] {
            let err = listen_address(bad).unwrap_err();
            assert!(err.contains("HOST:PORT"), "{bad}: {err}");
        }
    }

    #[test]
    fn go_settings_come_from_the_goenv_file() {
        let dir = tempfile::tempdir().unwrap();
        let envfile = dir.path().join("env");
        std::fs::write(
            &envfile,
            "GOPRIVATE=corp.example\nGOPROXY=http://127.0.0.1:9/p\nGOINSECURE=ins.example\n",
        )
        .unwrap();
        let path = envfile.display().to_string();
        let go = goxy_goenv::GoConfig::read(&|k: &str| (k == "GOENV").then(|| path.clone()));
        let cfg = resolve_with(&ServeArgs::default(), &go).unwrap();
        assert!(cfg.private.skip_proxy("corp.example/secret"));
        assert!(cfg.private.skip_sumdb("corp.example/secret"));
        assert_eq!(proxylist::format(&cfg.upstream), "http://127.0.0.1:9/p");
        assert!(
            cfg.upstream_origin.contains("GOENV file"),
            "{}",
            cfg.upstream_origin
        );
        assert_eq!(cfg.direct.insecure, "ins.example");
        // Nothing set anywhere: the public checksum database, built in.
        assert_eq!(
            cfg.sumdb.databases.first().map(|d| d.name.as_str()),
            Some("sum.golang.org")
        );
    }

    #[test]
    fn file_rejects_unknown_keys() {
        let err = toml::from_str::<FileConfig>("listen = \"127.0.0.1:1\"\nlisten_adress = \"x\"\n")
            .unwrap_err();
        assert!(err.to_string().contains("listen_adress"), "{err}");
    }

    #[test]
    fn flags_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("goxy.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:1111\"\nupstream = \"off\"\nlist_ttl = 5\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            listen: Some("127.0.0.1:2222".into()),
            ..Default::default()
        };
        let cfg = resolve(&args).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:2222");
        assert_eq!(cfg.list_ttl, Duration::from_secs(5));
        assert_eq!(proxylist::format(&cfg.upstream), "off");
    }
}

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
    pub upstream_origin: &'static str,
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

fn go_env_goproxy() -> Option<String> {
    let out = std::process::Command::new("go")
        .args(["env", "GOPROXY"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let value = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!value.is_empty()).then_some(value)
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

/// Resolves flags/env over the file over defaults.
pub fn resolve(args: &ServeArgs) -> Result<ServerConfig, String> {
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
    let listen = args
        .listen
        .clone()
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let cache_dir = args
        .cache_dir
        .clone()
        .or(file.cache_dir)
        .unwrap_or_else(default_cache_dir);
    let (upstream_text, upstream_origin) = if let Some(u) = &args.upstream {
        (u.clone(), "--upstream/GOXY_UPSTREAM")
    } else if let Some(u) = file.upstream {
        (u, "config file")
    } else if let Some(u) = std::env::var("GOPROXY")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        (u, "GOPROXY")
    } else if let Some(u) = go_env_goproxy() {
        (u, "go env GOPROXY")
    } else {
        ("direct".to_string(), "default (no Go configuration found)")
    };
    let entries = proxylist::parse(&upstream_text)
        .map_err(|e| format!("upstream ({upstream_origin}): {e}"))?;
    let sumdb = crate::sumdb::resolve_settings(
        args.sumdb.as_deref(),
        &file.sumdb,
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
        |name| std::env::var(name).ok(),
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
        direct: crate::direct::DirectSettings::resolve(&args.direct, file.direct),
    })
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

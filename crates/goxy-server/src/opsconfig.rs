//! Settings for running goxy as a service: connections, TLS, the audit log,
//! rate limits and authentication. Read from the config file sections
//! `[connections]`, `[tls]`, `[audit]`, `[limits]` and `[auth]`, overridden
//! by flags and GOXY_* environment variables.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Flags (and their environment variables) that override the file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OpsArgs {
    /// Most client connections open at once; more are closed at once.
    #[arg(long, env = "GOXY_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send its request headers (and finish the TLS handshake).
    #[arg(long, env = "GOXY_HEADER_READ_TIMEOUT", value_name = "SECONDS")]
    pub header_read_timeout: Option<u64>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, env = "GOXY_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, env = "GOXY_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Write the audit log (one JSON line per request) to FILE, or `-` for stdout.
    #[arg(long, env = "GOXY_AUDIT_LOG", value_name = "FILE")]
    pub audit_log: Option<String>,
    /// Requests per second allowed per client address (0: no limit).
    #[arg(long, env = "GOXY_RATE_LIMIT_CLIENT", value_name = "PER_SECOND")]
    pub rate_limit_client: Option<f64>,
    /// Requests per second allowed per module path (0: no limit).
    #[arg(long, env = "GOXY_RATE_LIMIT_MODULE", value_name = "PER_SECOND")]
    pub rate_limit_module: Option<f64>,
    /// Reverse proxies (addresses or CIDR networks, comma-separated) whose
    /// X-Forwarded-For names the client for rate limits and the audit log.
    #[arg(long, env = "GOXY_TRUSTED_PROXIES", value_name = "CIDRS")]
    pub trusted_proxies: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConnections {
    pub max: Option<usize>,
    pub header_read_timeout: Option<u64>,
    pub shutdown_grace: Option<u64>,
    pub http2_max_concurrent_streams: Option<u32>,
    pub http2_keepalive_interval: Option<u64>,
    pub idle_timeout: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTls {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub reload_interval: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAudit {
    pub path: Option<String>,
    pub buffer: Option<usize>,
    pub max_wait_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub trusted_proxies: Option<Vec<String>>,
    pub client_rate: Option<f64>,
    pub client_burst: Option<u32>,
    pub module_rate: Option<f64>,
    pub module_burst: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAuth {
    pub required: Option<bool>,
    pub deny_status: Option<u16>,
    pub private: Option<String>,
    #[serde(default)]
    pub tokens: Vec<FileToken>,
    #[serde(default)]
    pub users: Vec<FileUser>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileToken {
    pub name: String,
    pub token: String,
    #[serde(default)]
    pub modules: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUser {
    pub name: String,
    pub password: String,
    #[serde(default)]
    pub modules: String,
}

/// The file sections this module reads.
#[derive(Debug, Default)]
pub struct OpsFile {
    pub connections: FileConnections,
    pub tls: FileTls,
    pub audit: FileAudit,
    pub limits: FileLimits,
    pub auth: FileAuth,
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_HEADER_READ_TIMEOUT: u64 = 10;
pub const DEFAULT_SHUTDOWN_GRACE: u64 = 30;
pub const DEFAULT_HTTP2_MAX_STREAMS: u32 = 256;
pub const DEFAULT_HTTP2_KEEPALIVE: u64 = 20;
pub const DEFAULT_IDLE_TIMEOUT: u64 = 60;
pub const DEFAULT_TLS_RELOAD_INTERVAL: u64 = 5;
pub const DEFAULT_AUDIT_BUFFER: usize = 8192;
pub const DEFAULT_AUDIT_MAX_WAIT_MS: u64 = 1000;
pub const DEFAULT_DENY_STATUS: u16 = 404;

#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub reload_interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuditTarget {
    Stdout,
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct AuditSettings {
    pub target: Option<AuditTarget>,
    pub buffer: usize,
    pub max_wait: Duration,
}

/// A token bucket: `rate` per second refill, `burst` capacity. Rate 0 is off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSettings {
    pub rate: f64,
    pub burst: u32,
}

/// A credential and the module patterns (GOPRIVATE syntax) it may see.
#[derive(Clone)]
pub struct Credential {
    pub name: String,
    pub secret: String,
    pub modules: String,
}

impl std::fmt::Debug for Credential {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("name", &self.name)
            .field("modules", &self.modules)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub required: bool,
    pub deny_status: u16,
    pub private: String,
    pub tokens: Vec<Credential>,
    pub users: Vec<Credential>,
}

#[derive(Debug, Clone)]
pub struct OpsConfig {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub shutdown_grace: Duration,
    pub http2_max_concurrent_streams: u32,
    pub http2_keepalive_interval: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    pub tls: Option<TlsSettings>,
    pub audit: AuditSettings,
    pub client_limit: RateSettings,
    pub module_limit: RateSettings,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<crate::forwarded::Cidr>,
    pub auth: AuthSettings,
}

fn rate(key: &str, rate: Option<f64>, burst: Option<u32>) -> Result<RateSettings, String> {
    let rate = rate.unwrap_or(0.0);
    if !rate.is_finite() || rate < 0.0 {
        return Err(format!("limits.{key}_rate: must be a number of requests per second >= 0 (0 turns the limit off), got {rate}"));
    }
    // Default burst: one second's worth, at least one request.
    let burst = burst.unwrap_or_else(|| (rate.ceil() as u32).max(1));
    if rate > 0.0 && burst == 0 {
        return Err(format!(
            "limits.{key}_burst: must be at least 1 when limits.{key}_rate is set"
        ));
    }
    Ok(RateSettings { rate, burst })
}

fn credentials(
    section: &str,
    list: Vec<(String, String, String)>,
) -> Result<Vec<Credential>, String> {
    let mut out: Vec<Credential> = Vec::new();
    for (i, (name, secret, modules)) in list.into_iter().enumerate() {
        if name.trim().is_empty() {
            return Err(format!("auth.{section}[{i}].name: must not be empty (it names the principal in the audit log)"));
        }
        if secret.len() < 8 {
            return Err(format!(
                "auth.{section}[{i}] ({name}): the secret must be at least 8 characters"
            ));
        }
        if secret.chars().any(|c| c.is_control()) || (section == "users" && name.contains(':')) {
            return Err(format!("auth.{section}[{i}] ({name}): control characters in the secret, or ':' in a user name"));
        }
        if out.iter().any(|c| c.name == name) {
            return Err(format!("auth.{section}[{i}].name: {name:?} is used twice"));
        }
        out.push(Credential {
            name,
            secret,
            modules,
        });
    }
    Ok(out)
}

/// Resolves flags over the file over defaults. Errors name the key and why.
pub fn resolve(args: &OpsArgs, file: OpsFile) -> Result<OpsConfig, String> {
    let c = file.connections;
    let max_connections = args
        .max_connections
        .or(c.max)
        .unwrap_or(DEFAULT_MAX_CONNECTIONS);
    // The shutdown wait takes every slot at once, which tokio counts in u32.
    if max_connections == 0 || max_connections > 1_000_000 {
        return Err(format!(
            "connections.max: must be between 1 and 1000000, got {max_connections}"
        ));
    }
    let header_read_timeout = args
        .header_read_timeout
        .or(c.header_read_timeout)
        .unwrap_or(DEFAULT_HEADER_READ_TIMEOUT);
    if header_read_timeout == 0 {
        return Err("connections.header_read_timeout: must be at least 1 second".into());
    }
    let streams = c
        .http2_max_concurrent_streams
        .unwrap_or(DEFAULT_HTTP2_MAX_STREAMS);
    if streams == 0 {
        return Err("connections.http2_max_concurrent_streams: must be at least 1".into());
    }
    let tls = match (
        args.tls_cert.clone().or(file.tls.cert),
        args.tls_key.clone().or(file.tls.key),
    ) {
        (None, None) => None,
        (Some(_), None) => return Err("tls.key: required when tls.cert is set".into()),
        (None, Some(_)) => return Err("tls.cert: required when tls.key is set".into()),
        (Some(cert), Some(key)) => {
            let reload = file
                .tls
                .reload_interval
                .unwrap_or(DEFAULT_TLS_RELOAD_INTERVAL);
            Some(TlsSettings {
                cert,
                key,
                reload_interval: Duration::from_secs(reload),
            })
        }
    };
    let audit_target = match args.audit_log.clone().or(file.audit.path) {
        None => None,
        Some(p) if p.is_empty() => None,
        Some(p) if p == "-" => Some(AuditTarget::Stdout),
        Some(p) => Some(AuditTarget::File(PathBuf::from(p))),
    };
    let buffer = file.audit.buffer.unwrap_or(DEFAULT_AUDIT_BUFFER);
    if buffer == 0 {
        return Err("audit.buffer: must be at least 1 line".into());
    }
    let deny_status = file.auth.deny_status.unwrap_or(DEFAULT_DENY_STATUS);
    if deny_status != 403 && deny_status != 404 {
        return Err(format!(
            "auth.deny_status: must be 404 (hide that a module exists) or 403, got {deny_status}"
        ));
    }
    let tokens = credentials(
        "tokens",
        file.auth
            .tokens
            .into_iter()
            .map(|t| (t.name, t.token, t.modules))
            .collect(),
    )?;
    let users = credentials(
        "users",
        file.auth
            .users
            .into_iter()
            .map(|u| (u.name, u.password, u.modules))
            .collect(),
    )?;
    let required = file.auth.required.unwrap_or(false);
    if required && tokens.is_empty() && users.is_empty() {
        return Err(
            "auth.required: true, but no [[auth.tokens]] or [[auth.users]] are configured".into(),
        );
    }
    let idle_timeout = c.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT);
    if idle_timeout == 0 {
        return Err("connections.idle_timeout: must be at least 1 second".into());
    }
    let idle_timeout = Duration::from_secs(idle_timeout);
    Ok(OpsConfig {
        max_connections,
        header_read_timeout: Duration::from_secs(header_read_timeout),
        shutdown_grace: Duration::from_secs(c.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE)),
        http2_max_concurrent_streams: streams,
        http2_keepalive_interval: Duration::from_secs(
            c.http2_keepalive_interval
                .unwrap_or(DEFAULT_HTTP2_KEEPALIVE),
        ),
        idle_timeout,
        tls,
        audit: AuditSettings {
            target: audit_target,
            buffer,
            max_wait: Duration::from_millis(
                file.audit.max_wait_ms.unwrap_or(DEFAULT_AUDIT_MAX_WAIT_MS),
            ),
        },
        client_limit: rate(
            "client",
            args.rate_limit_client.or(file.limits.client_rate),
            file.limits.client_burst,
        )?,
        module_limit: rate(
            "module",
            args.rate_limit_module.or(file.limits.module_rate),
            file.limits.module_burst,
        )?,
        trusted_proxies: {
            let list: Vec<String> = match &args.trusted_proxies {
                Some(flag) => flag
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_string)
                    .collect(),
                None => file.limits.trusted_proxies.clone().unwrap_or_default(),
            };
            list.iter()
                .map(|c| {
                    crate::forwarded::Cidr::parse(c)
                        .map_err(|e| format!("limits.trusted_proxies: {e}"))
                })
                .collect::<Result<_, _>>()?
        },
        auth: AuthSettings {
            required,
            deny_status,
            private: file.auth.private.unwrap_or_default(),
            tokens,
            users,
        },
    })
}

impl Default for OpsConfig {
    fn default() -> OpsConfig {
        // Defaults cannot fail validation.
        resolve(&OpsArgs::default(), OpsFile::default())
            .unwrap_or_else(|e| unreachable!("default ops config: {e}"))
    }
}

//! `goxy config example`: a configuration file that documents every option
//! with its default value. A test parses it and checks it resolves to exactly
//! the built-in defaults, so the text cannot drift from the code.

/// The example configuration (every value is the default, except where a
/// commented line shows the shape of an optional setting).
pub const EXAMPLE: &str = r#"# goxy serve configuration. Every key is optional; the values shown are the
# defaults. Flags and GOXY_* environment variables override this file
# (precedence: flags, environment, this file, defaults). Unknown keys are
# errors: `goxy serve --config FILE --check` names them.

# Address to listen on (GOXY_LISTEN, --listen). "127.0.0.1:0" picks a free port.
listen = "127.0.0.1:8080"

# Where artifacts are kept (GOXY_CACHE_DIR, --cache-dir).
# Default: $XDG_CACHE_HOME/goxy, else ~/.cache/goxy.
# cache_dir = "/var/cache/goxy"

# Sources in GOPROXY syntax (GOXY_UPSTREAM, --upstream): "," falls through on
# 404/410, "|" on any error; file:// directories, "off" and "direct" work too.
# Default: GOPROXY, then `go env GOPROXY`.
# upstream = "https://goproxy.corp.example.com|file:///srv/goproxy-mirror,direct"

# Seconds a cached `list`, `@latest` or query `.info` answer is fresh (GOXY_LIST_TTL).
list_ttl = 60

# Seconds a "not found" answer is remembered before the sources are asked
# again (GOXY_NOT_FOUND_TTL, --not-found-ttl). 0 never remembers one.
not_found_ttl = 60

# Extra CA bundle (PEM) trusted for upstream TLS (GOXY_CA_FILE). Default: none.
# ca_file = "/etc/ssl/certs/corp-ca.pem"

# Artifact bytes kept in memory for the fastest hits (GOXY_MEMORY_CACHE).
memory_cache = 268435456

# Worker threads serving requests (GOXY_WORKERS). Default: one per CPU.
# workers = 4

# Private modules, GOPRIVATE syntax (GOXY_PRIVATE, --private; default GOPRIVATE):
# fetched only from version control, never through an upstream proxy, never
# looked up in a checksum database.
private = ""
# Modules never fetched through upstream proxies (GOXY_NOPROXY; default GONOPROXY, then `private`).
no_proxy = ""
# Modules never looked up in the checksum database (GOXY_NOSUMDB; default GONOSUMDB, then `private`).
no_sumdb = ""

# Verify every public module against the checksum database before caching it:
# "verify" or "off" (GOXY_SUMDB_VERIFY, --sumdb-verify).
sumdb_verify = "verify"
# Seconds a relayed /sumdb/<name>/latest is fresh.
sumdb_latest_ttl = 30
# The checksum database to relay and verify against (GOXY_SUMDB, --sumdb
# "name+hash+key [url]"). Default: GOSUMDB, then `go env GOSUMDB`; a bare name
# takes its key from the installed Go toolchain, as go does.
# [[sumdb]]
# name = "sum.corp.example.com"
# key = "sum.corp.example.com+01234567+AbCdEf..."
# url = "https://sum.corp.example.com"

[timeouts]
# Upstream timeouts, in seconds.
connect = 5
tls = 5
headers = 60
body_idle = 30
# Each fetch (headers and body) must finish within total + size limit /
# min_rate seconds, and its body must average min_rate bytes/s over every
# rate_window seconds (0 turns the minimum off): a drip-feeding upstream is
# cut off and answered 504; a 500 MiB zip at 16 KiB/s still passes.
total = 60
min_rate = 16384
rate_window = 30

[connections]
# Most client connections open at once; more are closed at once
# (GOXY_MAX_CONNECTIONS, --max-connections).
max = 1024
# Seconds a client has to finish the TLS handshake and send its request
# headers; slower clients are disconnected (GOXY_HEADER_READ_TIMEOUT).
header_read_timeout = 10
# Seconds in-flight requests may take to finish after SIGTERM.
shutdown_grace = 30
# HTTP/2: concurrent requests per connection, and seconds between keep-alive pings.
http2_max_concurrent_streams = 256
http2_keepalive_interval = 20
# Seconds a connection (HTTP/1 keep-alive or HTTP/2) may stay open with no
# request in flight before it is closed; HTTP/2 PINGs do not count as use.
idle_timeout = 60

[tls]
# Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with a PEM certificate chain and
# key (GOXY_TLS_CERT, GOXY_TLS_KEY). Both or neither. The files are re-read on
# SIGHUP and when they change. Default: plain HTTP.
# cert = "/etc/goxy/tls/fullchain.pem"
# key = "/etc/goxy/tls/privkey.pem"
# Seconds between checks of the files' modification times.
reload_interval = 5

[audit]
# One JSON line per request: "-" for stdout, or a file appended to
# (GOXY_AUDIT_LOG, --audit-log). Default: off.
# path = "/var/log/goxy/audit.log"
# Lines queued for the writer.
buffer = 8192
# When the queue is full a request waits this long for room; after that the
# line is dropped and counted in goxy_audit_dropped_total (and logged).
max_wait_ms = 1000

[limits]
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the
# client, for the client limit and the audit log (GOXY_TRUSTED_PROXIES,
# --trusted-proxies, comma-separated). Default: none; the header is ignored.
# trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
# Requests per second per client address (GOXY_RATE_LIMIT_CLIENT); 0 is off.
# Over the limit: 429 with Retry-After. /healthz, /readyz, /metrics are exempt.
client_rate = 0.0
# Requests allowed in a burst. Default: the rate rounded up, at least 1.
# client_burst = 20
# Requests per second per module path (GOXY_RATE_LIMIT_MODULE); 0 is off.
module_rate = 0.0
# module_burst = 20

[auth]
# Refuse anonymous module requests (401).
required = false
# Modules only principals whose `modules` match may fetch, in GOPRIVATE syntax
# (comma-separated path prefixes with globs).
private = ""
# Status for a private module the principal may not see: 404 (does not reveal
# that it exists) or 403.
deny_status = 404
# Bearer tokens (Authorization: Bearer TOKEN), each scoped to module patterns.
# [[auth.tokens]]
# name = "ci"                        # logged as the principal; the token never is
# token = "a-long-random-secret"
# modules = "corp.example.com/*"
# Basic auth users (for .netrc), scoped the same way.
# [[auth.users]]
# name = "alice"
# password = "another-long-secret"
# modules = "corp.example.com"

[direct]
# Fetching from version control, for `direct` in the upstream list and for
# private modules. Patterns allowed plain http or unverified TLS (GOINSECURE
# syntax; GOXY_INSECURE, --insecure; default GOINSECURE).
# insecure = "git.corp.example.com"
# Allow git hosts on loopback, private and link-local addresses
# (GOXY_DIRECT_ALLOW_PRIVATE, --direct-allow-private).
allow_private_addresses = false
# Allow ssh:// repository URLs (keys from GOXY_GIT_SSH_KEY).
allow_ssh = false
# Seconds one git command may take. Default: 600.
# git_timeout = 600
# A first request for a tagged version fetches that tag alone (depth 1); the
# rest of the repository then follows in the background, so later versions
# are local. Default: true.
# complete_in_background = true
# Memory (MiB) for the hashed and compressed files of recent zips, reused by
# the next version of the same module. 0 disables. Default: 128.
# zip_reuse_mib = 128
# Repositories for module prefixes whose hosts serve no go-import page.
# [[direct.repos]]
# prefix = "corp.example.com/team"
# url = "https://git.corp.example.com/team.git"
# Credentials per git host (also read: .netrc, GOXY_GIT_CREDENTIALS="host=user:token,...").
# [[direct.credentials]]
# host = "git.corp.example.com"
# username = "goxy"
# password = "a-read-only-token"
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, FileConfig, ServeArgs};

    #[test]
    fn example_parses_and_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("goxy.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        toml::from_str::<FileConfig>(EXAMPLE).unwrap();
        let args = ServeArgs {
            config: Some(path),
            upstream: Some("off".into()),
            ..Default::default()
        };
        let from_example = config::resolve(&args).unwrap();
        let args = ServeArgs {
            upstream: Some("off".into()),
            ..Default::default()
        };
        let defaults = config::resolve(&args).unwrap();
        assert_eq!(format!("{from_example:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn credentials_guard_the_private_setting_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("goxy.toml");
        let token =
            "[[auth.tokens]]\nname = \"ci\"\ntoken = \"0123456789\"\nmodules = \"corp.example\"\n";
        std::fs::write(&path, format!("private = \"corp.example\"\n{token}")).unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            upstream: Some("off".into()),
            ..Default::default()
        };
        assert_eq!(
            config::resolve(&args).unwrap().ops.auth.private,
            "corp.example"
        );
        // Without credentials, `private` only steers fetching; serving stays open.
        std::fs::write(&path, "private = \"corp.example\"\n").unwrap();
        assert_eq!(config::resolve(&args).unwrap().ops.auth.private, "");
        // An explicit `[auth] private` wins.
        std::fs::write(
            &path,
            format!("private = \"corp.example\"\n[auth]\nprivate = \"other.example\"\n{token}"),
        )
        .unwrap();
        assert_eq!(
            config::resolve(&args).unwrap().ops.auth.private,
            "other.example"
        );
    }

    #[test]
    fn commented_settings_parse_when_uncommented() {
        // Uncomment every `# key = value` line: the shapes shown must be valid.
        let uncommented: String = EXAMPLE
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") || rest.starts_with("[[") => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: FileConfig = toml::from_str(&uncommented).unwrap();
        assert_eq!(parsed.auth.tokens.len(), 1);
        assert_eq!(parsed.auth.users.len(), 1);
        assert!(parsed.tls.cert.is_some() && parsed.upstream.is_some());
    }
}

//! Configuration checks: conflicts and traps in the effective Go
//! configuration. Pure: works on a [`GoConfig`] value, no I/O.

use serde::Serialize;

use crate::goenv::{GoConfig, Source};
use crate::goproxy::{parse_goproxy, ProxyEntry};

/// How bad a finding is. `Error` means fetching modules would fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// One problem found, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `goflags-removed-flag`.
    pub id: &'static str,
    pub severity: Severity,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub fn new(
        id: &'static str,
        severity: Severity,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            id,
            severity,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// Flags that cmd/go no longer supports: (flag, what go does, fix).
const REMOVED_FLAGS: &[(&str, &str, &str)] = &[
    (
        "-insecure",
        "go get stops with \"-insecure flag is no longer supported\"",
        "set GOINSECURE (direct fetches only) or GOPRIVATE/GONOSUMDB instead",
    ),
    (
        "-getmode",
        "every go command stops with \"parsing $GOFLAGS: unknown flag -getmode\"",
        "use -mod",
    ),
];

/// Runs every configuration check.
pub fn analyze(cfg: &GoConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    check_env_file_conflicts(cfg, &mut out);
    check_goflags(cfg, &mut out);
    check_goproxy(cfg, &mut out);
    check_sumdb(cfg, &mut out);
    check_private(cfg, &mut out);
    check_net_proxy(cfg, &mut out);
    if let Some(err) = &cfg.go_rejects {
        let already = err.contains("GOFLAGS") && out.iter().any(|f| f.id.starts_with("goflags-"));
        if !already {
            out.push(Finding::new(
                "go-rejects-config",
                Severity::Error,
                format!("go itself fails with this configuration: {err}"),
                "fix the variable go names (check GOFLAGS and the GOENV file: go env -u NAME)",
            ));
        }
    }
    for (key, instead) in crate::goenv::IGNORED_VARS {
        let set_in = if cfg.environment.get(*key).is_some_and(|v| !v.is_empty()) {
            "the environment"
        } else if cfg.goenv_file.get(*key).is_some_and(|v| !v.is_empty()) {
            "the GOENV file"
        } else {
            continue;
        };
        out.push(Finding::new(
            "ignored-variable",
            Severity::Warning,
            format!("{key} is set in {set_in}, but go does not read it: it has no effect"),
            format!("remove it and use {instead}"),
        ));
    }
    if cfg.value("GO111MODULE") == "off" {
        out.push(Finding::new(
            "go111module-off",
            Severity::Warning,
            "GO111MODULE=off: go runs in GOPATH mode and ignores GOPROXY and go.mod",
            "unset GO111MODULE (go env -u GO111MODULE and remove it from your shell profile)",
        ));
    }
    let insecure = cfg.value("GOINSECURE");
    if insecure.split(',').any(|g| g.trim() == "*") {
        out.push(Finding::new(
            "goinsecure-wildcard",
            Severity::Warning,
            "GOINSECURE=* turns off TLS verification for every direct fetch",
            "list only the hosts that need it; GOINSECURE never applies to GOPROXY or the checksum database",
        ));
    }
    out
}

fn check_env_file_conflicts(cfg: &GoConfig, out: &mut Vec<Finding>) {
    for (key, file_value) in &cfg.goenv_file {
        let Some(env_value) = cfg.environment.get(key).filter(|v| !v.is_empty()) else {
            continue;
        };
        if env_value != file_value {
            let path = cfg
                .goenv_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            out.push(Finding::new(
                "env-overrides-goenv-file",
                Severity::Warning,
                format!(
                    "{key} is {env_value:?} in the environment but {file_value:?} in the GOENV file {path}; \
                     the environment wins, so `go env -w {key}=...` has no effect"
                ),
                format!("remove {key} from your shell profile (or set it there) so only one place decides"),
            ));
        }
    }
}

fn check_goflags(cfg: &GoConfig, out: &mut Vec<Finding>) {
    let goflags = cfg.value("GOFLAGS");
    for word in goflags.split_whitespace() {
        if !word.starts_with('-') {
            out.push(Finding::new(
                "goflags-non-flag",
                Severity::Error,
                format!("GOFLAGS contains {word:?}, which is not a flag; every go command fails parsing $GOFLAGS"),
                "GOFLAGS holds space-separated -flag[=value] entries only; fix or unset it",
            ));
            continue;
        }
        let name = word.split('=').next().unwrap_or(word);
        let bare = format!("-{}", name.trim_start_matches('-'));
        if let Some((flag, effect, fix)) = REMOVED_FLAGS.iter().find(|(f, _, _)| *f == bare) {
            out.push(Finding::new(
                "goflags-removed-flag",
                Severity::Error,
                format!("GOFLAGS carries {flag}, a flag go no longer supports: {effect}"),
                format!(
                    "remove {flag} from GOFLAGS ({}); {fix}",
                    source_hint(cfg, "GOFLAGS")
                ),
            ));
        }
    }
}

fn source_hint(cfg: &GoConfig, key: &str) -> String {
    match cfg.get(key).1 {
        Source::Environment => "it is set in the environment: edit your shell profile".into(),
        Source::GoenvFile => format!("it is in the GOENV file: go env -u {key}"),
        Source::ToolchainDefault => "it comes from the toolchain's go.env".into(),
        Source::Unset => String::new(),
    }
}

fn check_goproxy(cfg: &GoConfig, out: &mut Vec<Finding>) {
    let value = cfg.value("GOPROXY");
    let entries = match parse_goproxy(&value) {
        Ok(e) => e,
        Err(err) => {
            out.push(Finding::new(
                "goproxy-invalid",
                Severity::Error,
                format!("GOPROXY={value:?} is invalid: {err}"),
                "use a comma- or pipe-separated list of https:// URLs, ending in ,direct if direct access works",
            ));
            return;
        }
    };
    match entries.first() {
        Some(ProxyEntry::Off) => out.push(Finding::new(
            "goproxy-off",
            Severity::Error,
            "GOPROXY=off: go may not download any module that is not already in the module cache",
            "set GOPROXY to a working proxy (goxy mirrors --apply picks one)",
        )),
        Some(ProxyEntry::Direct) => out.push(Finding::new(
            "goproxy-direct-only",
            Severity::Warning,
            "GOPROXY=direct: every module is fetched from its code host with git; on networks that block \
             or throttle code hosts `go get` hangs or fails",
            "put a module proxy first, e.g. GOPROXY=<proxy>,direct (goxy mirrors recommends one)",
        )),
        None => out.push(Finding::new(
            "goproxy-empty",
            Severity::Warning,
            "GOPROXY is empty and no toolchain default was found",
            "set GOPROXY explicitly",
        )),
        Some(ProxyEntry::Url { .. }) => {}
    }
    for entry in &entries {
        if let ProxyEntry::Url { url, .. } = entry {
            if let Ok(parsed) = url::Url::parse(url) {
                if parsed.scheme() == "http" && !is_loopback_host(parsed.host_str().unwrap_or("")) {
                    out.push(Finding::new(
                        "goproxy-not-https",
                        Severity::Warning,
                        format!("GOPROXY entry {url} is plain http: anyone on the path can read and alter responses"),
                        "use https:// for proxies that are not on this machine",
                    ));
                }
            }
        }
    }
}

fn check_sumdb(cfg: &GoConfig, out: &mut Vec<Finding>) {
    let gosumdb = cfg.value("GOSUMDB");
    if gosumdb == "off" {
        out.push(Finding::new(
            "gosumdb-off",
            Severity::Warning,
            "GOSUMDB=off: downloaded modules are not checked against the checksum database",
            "turn it back on (go env -u GOSUMDB) and exclude only private modules with GOPRIVATE or GONOSUMDB",
        ));
    } else if gosumdb.split_whitespace().count() > 2 {
        out.push(Finding::new(
            "gosumdb-invalid",
            Severity::Error,
            format!("GOSUMDB={gosumdb:?} has more than two fields"),
            "use `name`, `name+key` or `name+key url`",
        ));
    }
    let nosumdb = cfg.value_or_private("GONOSUMDB");
    if nosumdb.split(',').any(|g| g.trim() == "*") {
        out.push(Finding::new(
            "gonosumdb-wildcard",
            Severity::Warning,
            "GONOSUMDB (or GOPRIVATE) is *, which disables checksum verification for every module",
            "list only your private module prefixes, e.g. GOPRIVATE=git.corp.example.com",
        ));
    }
}

fn check_private(cfg: &GoConfig, out: &mut Vec<Finding>) {
    let private = cfg.value("GOPRIVATE");
    if private.is_empty() {
        return;
    }
    for (key, what) in [
        (
            "GONOSUMDB",
            "looked up in the public checksum database (fails with 404/410 and reveals the names)",
        ),
        (
            "GONOPROXY",
            "requested from the public proxy (fails with 404 and reveals the names)",
        ),
    ] {
        let explicit = cfg.value(key);
        if explicit.is_empty() || explicit == "none" && key == "GONOPROXY" {
            continue;
        }
        let uncovered: Vec<&str> = private
            .split(',')
            .map(|g| g.trim().trim_end_matches('/'))
            .filter(|g| !g.is_empty() && !crate::pattern::covers(&explicit, g))
            .collect();
        if !uncovered.is_empty() {
            out.push(Finding::new(
                if key == "GONOSUMDB" { "goprivate-not-in-gonosumdb" } else { "goprivate-not-in-gonoproxy" },
                Severity::Warning,
                format!(
                    "GOPRIVATE covers {} but {key}={explicit:?} replaces GOPRIVATE's default and does not: those modules are {what}",
                    uncovered.join(",")
                ),
                format!("unset {key}, or add {} to it", uncovered.join(",")),
            ));
        }
    }
}

fn check_net_proxy(cfg: &GoConfig, out: &mut Vec<Finding>) {
    for upper in ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"] {
        let lower = upper.to_ascii_lowercase();
        let (u, l) = (cfg.environment.get(upper), cfg.environment.get(&lower));
        if let (Some(u), Some(l)) = (u, l) {
            if !u.is_empty() && !l.is_empty() && u != l {
                out.push(Finding::new(
                    "proxy-env-case-conflict",
                    Severity::Warning,
                    format!("{upper}={u:?} and {lower}={l:?} differ; go uses {upper}, other tools (curl, git) may use {lower}"),
                    format!("set both to the same value or unset {lower}"),
                ));
            }
        }
    }
    for key in ["HTTPS_PROXY", "HTTP_PROXY"] {
        let v = cfg.net_var(key);
        if v.is_empty() {
            continue;
        }
        let with_scheme = if v.contains("://") {
            v.clone()
        } else {
            format!("http://{v}")
        };
        match url::Url::parse(&with_scheme) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") && u.host_str().is_some() => {}
            Ok(u) => out.push(Finding::new(
                "proxy-env-invalid",
                Severity::Error,
                format!("{key}={v:?} has scheme {:?} or no host; go cannot use it", u.scheme()),
                format!("use {key}=http://host:port (most corporate proxies speak plain http even for https traffic)"),
            )),
            Err(e) => out.push(Finding::new(
                "proxy-env-invalid",
                Severity::Error,
                format!("{key}={v:?} is not a URL: {e}"),
                format!("use {key}=http://host:port"),
            )),
        }
    }
    let https_proxy = cfg.net_var("HTTPS_PROXY");
    let http_proxy = cfg.net_var("HTTP_PROXY");
    if https_proxy.starts_with("https://") {
        out.push(Finding::new(
            "https-proxy-speaks-tls",
            Severity::Info,
            format!(
                "HTTPS_PROXY={https_proxy:?} asks go to speak TLS to the proxy itself; most proxies listen \
                 for plain http (go then fails with \"server gave HTTP response to HTTPS client\")"
            ),
            "unless your proxy really serves TLS, use HTTPS_PROXY=http://host:port (https traffic is still tunnelled)",
        ));
    }
    if https_proxy.is_empty() && !http_proxy.is_empty() {
        out.push(Finding::new(
            "https-proxy-missing",
            Severity::Warning,
            "HTTP_PROXY is set but HTTPS_PROXY is not: GOPROXY and the checksum database use https, so go connects directly",
            "if your network requires the proxy, set HTTPS_PROXY to the same value",
        ));
    }
    let no_proxy = cfg.net_var("NO_PROXY");
    for item in no_proxy.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item.contains("://")
            || item.contains('/') && !item.contains(|c: char| c.is_ascii_digit())
        {
            out.push(Finding::new(
                "no-proxy-entry-invalid",
                Severity::Warning,
                format!("NO_PROXY entry {item:?} looks like a URL; entries are host names, domains (.example.com) or CIDRs"),
                format!("write it as a bare host or domain, e.g. {:?}", item.split("://").last().unwrap_or(item).trim_end_matches('/')),
            ));
        }
    }
}

/// Go never sends loopback requests through a proxy, and plain http there is harmless.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(env: &[(&str, &str)], file: &[(&str, &str)]) -> GoConfig {
        let mut c = GoConfig::default();
        for (k, v) in env {
            c.environment.insert((*k).into(), (*v).into());
        }
        for (k, v) in file {
            c.goenv_file.insert((*k).into(), (*v).into());
        }
        c.toolchain_defaults
            .insert("GOPROXY".into(), "https://proxy.example,direct".into());
        c.toolchain_defaults
            .insert("GOSUMDB".into(), "sum.example".into());
        c
    }

    fn ids(c: &GoConfig) -> Vec<&'static str> {
        analyze(c).into_iter().map(|f| f.id).collect()
    }

    #[test]
    fn clean_config_has_no_findings() {
        assert_eq!(analyze(&cfg(&[], &[])), vec![]);
    }

    #[test]
    fn env_and_file_conflict() {
        let c = cfg(
            &[("GOPROXY", "https://a.example")],
            &[("GOPROXY", "https://b.example")],
        );
        assert_eq!(ids(&c), vec!["env-overrides-goenv-file"]);
        let same = cfg(
            &[("GOPROXY", "https://a.example")],
            &[("GOPROXY", "https://a.example")],
        );
        assert!(ids(&same).is_empty());
    }

    #[test]
    fn goflags_insecure_is_an_error() {
        let f = analyze(&cfg(&[("GOFLAGS", "-mod=mod -insecure")], &[]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "goflags-removed-flag");
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].fix.contains("shell profile"));
        assert_eq!(
            ids(&cfg(&[("GOFLAGS", "--insecure=true")], &[])),
            vec!["goflags-removed-flag"]
        );
        assert_eq!(
            ids(&cfg(&[("GOFLAGS", "-mod=mod")], &[])),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn private_without_sumdb_coverage() {
        let c = cfg(
            &[
                ("GOPRIVATE", "git.corp.example,*.int.example"),
                ("GONOSUMDB", "git.corp.example"),
            ],
            &[],
        );
        let f = analyze(&c);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].id, "goprivate-not-in-gonosumdb");
        assert!(f[0].message.contains("*.int.example"));
        // Defaulting to GOPRIVATE is fine.
        assert!(ids(&cfg(&[("GOPRIVATE", "git.corp.example")], &[])).is_empty());
        // GONOPROXY=none is the documented idiom.
        assert!(ids(&cfg(
            &[("GOPRIVATE", "git.corp.example"), ("GONOPROXY", "none")],
            &[]
        ))
        .is_empty());
    }

    #[test]
    fn sumdb_off_direct_off_and_http() {
        assert_eq!(ids(&cfg(&[("GOSUMDB", "off")], &[])), vec!["gosumdb-off"]);
        assert_eq!(
            ids(&cfg(&[("GOPROXY", "direct")], &[])),
            vec!["goproxy-direct-only"]
        );
        assert_eq!(ids(&cfg(&[("GOPROXY", "off")], &[])), vec!["goproxy-off"]);
        assert_eq!(
            ids(&cfg(&[("GOPROXY", "http://mirror.example,direct")], &[])),
            vec!["goproxy-not-https"]
        );
        assert!(ids(&cfg(&[("GOPROXY", "http://127.0.0.1:8080")], &[])).is_empty());
        assert_eq!(
            ids(&cfg(&[("GOPROXY", "gopher://x")], &[])),
            vec!["goproxy-invalid"]
        );
    }

    #[test]
    fn variables_go_ignores() {
        assert_eq!(
            ids(&cfg(&[("GONOSUMCHECK", "1")], &[])),
            vec!["ignored-variable"]
        );
        assert_eq!(
            ids(&cfg(&[], &[("GO_PROXY", "https://x.example")])),
            vec!["ignored-variable"]
        );
        assert!(ids(&cfg(&[("GONOSUMCHECK", "")], &[])).is_empty());
    }

    #[test]
    fn go_own_error_becomes_a_finding() {
        let mut c = cfg(&[], &[]);
        c.go_rejects = Some("go: parsing $GOFLAGS: unknown flag -foo".into());
        assert_eq!(ids(&c), vec!["go-rejects-config"]);
        let mut c = cfg(&[("GOFLAGS", "-getmode=x")], &[]);
        c.go_rejects = Some("go: parsing $GOFLAGS: unknown flag -getmode".into());
        assert_eq!(ids(&c), vec!["goflags-removed-flag"], "not reported twice");
    }

    #[test]
    fn net_proxy_mistakes() {
        assert_eq!(
            ids(&cfg(&[("HTTP_PROXY", "http://p.example:3128")], &[])),
            vec!["https-proxy-missing"]
        );
        assert_eq!(
            ids(&cfg(
                &[("HTTPS_PROXY", "http://a:1"), ("https_proxy", "http://b:1")],
                &[]
            )),
            vec!["proxy-env-case-conflict"]
        );
        assert_eq!(
            ids(&cfg(&[("HTTPS_PROXY", "ftp://a:1")], &[])),
            vec!["proxy-env-invalid"]
        );
        assert!(ids(&cfg(&[("HTTPS_PROXY", "p.example:3128")], &[])).is_empty());
        assert_eq!(
            ids(&cfg(&[("HTTPS_PROXY", "https://p.example:3128")], &[])),
            vec!["https-proxy-speaks-tls"]
        );
        assert_eq!(
            ids(&cfg(&[("NO_PROXY", "https://corp.example/")], &[])),
            vec!["no-proxy-entry-invalid"]
        );
        assert!(ids(&cfg(
            &[("NO_PROXY", ".corp.example,10.0.0.0/8,localhost")],
            &[]
        ))
        .is_empty());
    }
}

//! `goxy doctor`: the effective configuration, its traps, and a probe of
//! every GOPROXY entry and the checksum database along the real path.
//!
//! JSON schema (`--json`, `schema_version` 1):
//! ```text
//! { "schema_version": 1,
//!   "fetch_would_work": bool,
//!   "config": { "<VAR>": { "value": str, "source": "environment"|"goenv_file"|"toolchain_default"|"unset" } },
//!   "goenv_file": str|null,
//!   "findings": [ { "id": str, "severity": "info"|"warning"|"error", "message": str, "fix": str } ],
//!   "probes": [ { "role": "proxy"|"direct"|"sumdb_supported"|"sumdb", "entry": str, "verdict": "ok"|"fall_through"|"fail"|"skipped",
//!                 "status_meaning": str|null,
//!                 "probe": { "url": str, "via_proxy": str|null, "status": int|null, "total_ms": int,
//!                            "redirected_from": [str],
//!                            "steps": [ { "step": "url"|"dns"|"tcp"|"proxy_tls"|"proxy_connect"|"tls"|"http", "ok": bool, "ms": int, "detail": str } ],
//!                            "tls": { "subject", "issuer", "dns_names", "not_after", "self_signed", "issuer_is_public_ca", "looks_intercepting" }|null,
//!                            "failure": { "step": str, "cause": str, "message": str, "fix": str }|null } } ],
//!   "first_failure": { "cause": str, "message": str, "fix": str }|null }
//! ```
//!
//! `first_failure.cause` is a finding id (severity error), or one of:
//! transport `url-invalid`, `url-unsupported`, `dns-timeout`, `dns-failed`,
//! `tcp-timeout`, `tcp-failed`, `proxy-unsupported`, `proxy-not-tls`,
//! `proxy-tls-unknown-authority`, `proxy-tls-self-signed`, `proxy-tls-wrong-host`,
//! `proxy-tls-timeout`, `proxy-tls-failed`, `proxy-timeout`,
//! `proxy-connect-failed`, `proxy-auth-required`, `proxy-connect-refused`,
//! `tls-config`, `tls-timeout`, `tls-unknown-authority`, `tls-self-signed`,
//! `tls-missing-system-roots`, `tls-wrong-host`, `tls-expired`,
//! `tls-not-yet-valid`, `tls-bad-certificate`, `tls-plain-http`, `tls-failed`, `http-timeout`,
//! `http-failed`, `redirect-insecure`, `redirect-loop`; answers `http-401`,
//! `http-403`, `http-407`, `http-429`, `http-5xx`, `http-status`,
//! `proxy-not-found`, `no-source`; checksum database `sumdb-unavailable`,
//! `sumdb-http-status` (or a transport cause); direct mode `direct-<transport
//! cause>`, `direct-http-status`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::findings::{analyze, Finding, Severity};
use crate::goenv::{GoConfig, Source};
use crate::goproxy::{parse_goproxy, ProxyEntry};
use crate::probe::{probe, status_meaning, Probe, ProbeOptions};
use crate::style::Style;

/// A probe whose successful answer took longer than this is reported as slow.
const SLOW_MS: u64 = 2000;

/// What a probed target means for fetching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    FallThrough,
    Fail,
    Skipped,
}

/// One probed target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetProbe {
    /// `proxy`, `direct` (the code host of the probe module), `sumdb_supported` or `sumdb`.
    pub role: &'static str,
    /// The GOPROXY entry or checksum database name this belongs to.
    pub entry: String,
    pub verdict: Verdict,
    pub status_meaning: Option<String>,
    pub probe: Probe,
}

/// The root cause doctor settled on.
#[derive(Debug, Clone, Serialize)]
pub struct RootCause {
    pub cause: String,
    pub message: String,
    pub fix: String,
}

/// A value of the effective configuration and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigValue {
    pub value: String,
    pub source: Source,
}

/// The whole doctor report.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub schema_version: u32,
    pub fetch_would_work: bool,
    pub config: BTreeMap<String, ConfigValue>,
    pub goenv_file: Option<String>,
    pub findings: Vec<Finding>,
    pub probes: Vec<TargetProbe>,
    pub first_failure: Option<RootCause>,
}

/// The module whose version list doctor asks each proxy for.
pub const DEFAULT_PROBE_MODULE: &str = "golang.org/x/mod";

/// Runs configuration checks and probes. `module` is the module whose
/// version list each proxy is asked for; when `module_required` is false a
/// proxy that answers "not found" for it counts as reachable (a private or
/// air-gapped proxy need not have it) and only a warning is reported.
pub async fn diagnose(
    cfg: &GoConfig,
    opts: &ProbeOptions,
    module: &str,
    module_required: bool,
) -> DoctorReport {
    let mut findings = analyze(cfg);
    let mut config = BTreeMap::new();
    for key in crate::goenv::GO_VARS {
        let (value, source) = cfg.get(key);
        config.insert((*key).to_string(), ConfigValue { value, source });
    }
    for key in ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"] {
        let value = cfg.net_var(key);
        let source = if value.is_empty() {
            Source::Unset
        } else {
            Source::Environment
        };
        config.insert(key.to_string(), ConfigValue { value, source });
    }
    let mut probes = Vec::new();
    let config_error: Option<RootCause> = findings
        .iter()
        .find(|f| f.severity == Severity::Error)
        .map(|f| RootCause {
            cause: f.id.to_string(),
            message: f.message.clone(),
            fix: f.fix.clone(),
        });
    let mut last_fall_through: Option<RootCause> = None;

    let entries = parse_goproxy(&cfg.value("GOPROXY")).unwrap_or_default();
    let escaped_module =
        goxy_mod::module::escape_path(module).unwrap_or_else(|_| module.to_string());

    // Probe every proxy entry concurrently, then walk them in go's order.
    let urls: Vec<(String, bool)> = entries
        .iter()
        .filter_map(|e| match e {
            ProxyEntry::Url {
                url,
                fallback_on_any_error,
            } if !url.starts_with("file:") => Some((url.clone(), *fallback_on_any_error)),
            _ => None,
        })
        .collect();
    let proxy_probes = futures_util::future::join_all(
        urls.iter()
            .map(|(u, _)| probe_owned(format!("{u}/{escaped_module}/@v/list"), opts)),
    )
    .await;
    // In GOPROXY order, one per probed entry (duplicates included).
    let mut proxy_probes = proxy_probes.into_iter();

    let mut module_fetch: Option<Result<String, RootCause>> = None;
    for entry in &entries {
        match entry {
            ProxyEntry::Off => {
                module_fetch.get_or_insert(Err(RootCause {
                    cause: "goproxy-off".into(),
                    message: "the GOPROXY list reaches off: lookups are disabled".into(),
                    fix: "remove off or put a working proxy before it".into(),
                }));
                break;
            }
            ProxyEntry::Direct => {
                if module_fetch.is_none() {
                    let (target, result) = probe_direct(module, opts).await;
                    module_fetch = Some(result);
                    probes.push(target);
                }
                break;
            }
            ProxyEntry::Url {
                url,
                fallback_on_any_error,
            } => {
                if url.starts_with("file:") {
                    // A local directory: nothing to probe over the network.
                    module_fetch.get_or_insert(Ok(format!("{url} (file proxy, not probed)")));
                    break;
                }
                let Some(p) = proxy_probes.next() else {
                    break;
                };
                let (verdict, cause) = judge_proxy(&p, *fallback_on_any_error, module);
                if verdict == Verdict::Ok && p.total_ms > SLOW_MS {
                    findings.push(Finding::new(
                        "proxy-slow",
                        Severity::Warning,
                        format!("{url} answered in {} ms", p.total_ms),
                        "pick a faster mirror with goxy mirrors, or run a goxy server close to you",
                    ));
                }
                let done = module_fetch.is_some();
                probes.push(TargetProbe {
                    role: "proxy",
                    entry: url.clone(),
                    verdict: if done { Verdict::Skipped } else { verdict },
                    status_meaning: p.status.map(|s| status_meaning(s).to_string()),
                    probe: p,
                });
                if done {
                    continue;
                }
                match verdict {
                    Verdict::Ok => module_fetch = Some(Ok(url.clone())),
                    Verdict::Skipped => {
                        if let Some(c) = cause {
                            findings.push(Finding::new(
                                "probe-not-possible",
                                Severity::Warning,
                                c.message,
                                c.fix,
                            ));
                        }
                        module_fetch = Some(Ok(format!("{url} (not probed)")));
                    }
                    Verdict::Fail => {
                        module_fetch = Some(Err(cause.unwrap_or_else(|| unknown_cause(url))))
                    }
                    _ => {
                        if let Some(c) = cause.as_ref().filter(|c| c.cause != "proxy-not-found") {
                            // go survives this thanks to `|`, but pays for it on every fetch.
                            findings.push(Finding::new(
                                "proxy-entry-failing",
                                Severity::Warning,
                                format!("{url} fails ({}); go falls through to the next entry after `|`, slowing every fetch", c.message),
                                format!("fix or remove {url}: {}", c.fix),
                            ));
                        }
                        // Remember why we fell through, in case nothing after it works.
                        last_fall_through = cause.or(last_fall_through);
                    }
                }
            }
        }
    }
    let module_fetch = module_fetch.unwrap_or_else(|| match last_fall_through {
        Some(c) if c.cause == "proxy-not-found" && !module_required => {
            findings.push(Finding::new(
                "proxy-lacks-probe-module",
                Severity::Warning,
                format!(
                    "{}; the proxies answer, so only that module is known to be missing",
                    c.message
                ),
                "run goxy doctor --module <one of your modules> to check a module you need",
            ));
            Ok("reachable".into())
        }
        other => Err(other.unwrap_or(RootCause {
            cause: "no-source".into(),
            message: format!(
                "no GOPROXY entry serves {module} and the list does not end in direct"
            ),
            fix: "end GOPROXY with ,direct or add a proxy that has the module".into(),
        })),
    });

    // Checksum database.
    let gosumdb = cfg.value("GOSUMDB");
    let sumdb = if !gosumdb.is_empty() && gosumdb != "off" {
        sumdb_probes(&gosumdb, &entries, opts, &mut probes).await
    } else {
        Ok(())
    };
    let first_failure = config_error.or(module_fetch.err()).or(sumdb.err());
    let ok = first_failure.is_none();
    DoctorReport {
        schema_version: 1,
        fetch_would_work: ok,
        config,
        goenv_file: cfg.goenv_path.as_ref().map(|p| p.display().to_string()),
        findings,
        probes,
        first_failure,
    }
}

/// Direct mode starts with `https://<module>?go-get=1` on the code host
/// (protocol.md §5.2): if that cannot be reached, neither can the repository.
async fn probe_direct(
    module: &str,
    opts: &ProbeOptions,
) -> (TargetProbe, Result<String, RootCause>) {
    let url = format!("https://{module}?go-get=1");
    let p = probe(&url, opts).await;
    let result = match (transport_cause(&p), p.status) {
        (Some(c), _) => Err(RootCause {
            cause: format!("direct-{}", c.cause),
            message: format!("direct: the code host of {module} is unreachable: {}", c.message),
            fix: format!(
                "this network blocks or throttles code hosts: put a module proxy before direct in GOPROXY \
                 (goxy mirrors recommends one); {}",
                c.fix
            ),
        }),
        (None, Some(200)) => Ok(url.clone()),
        (None, status) => {
            let s = status.unwrap_or(0);
            Err(RootCause {
                cause: "direct-http-status".into(),
                message: format!("direct: {url} answered {s}: {}", status_meaning(s)),
                fix: "the code host (or a filter in front of it) refuses: put a module proxy before direct in GOPROXY".into(),
            })
        }
    };
    let verdict = if result.is_ok() {
        Verdict::Ok
    } else {
        Verdict::Fail
    };
    let target = TargetProbe {
        role: "direct",
        entry: "direct".into(),
        verdict,
        status_meaning: p.status.map(|s| status_meaning(s).to_string()),
        probe: p,
    };
    (target, result)
}

async fn probe_owned(url: String, opts: &ProbeOptions) -> Probe {
    probe(&url, opts).await
}

fn unknown_cause(url: &str) -> RootCause {
    RootCause {
        cause: "unknown".into(),
        message: format!("{url} failed"),
        fix: String::new(),
    }
}

fn transport_cause(p: &Probe) -> Option<RootCause> {
    p.failure.as_ref().map(|f| RootCause {
        cause: f.cause.to_string(),
        message: format!("{} failed at {}: {}", p.url, f.step.name(), f.message),
        fix: f.fix.clone(),
    })
}

/// Decides what go would do with this proxy's answer (protocol.md §1.8/§1.9).
fn judge_proxy(p: &Probe, pipe: bool, module: &str) -> (Verdict, Option<RootCause>) {
    if p.failure
        .as_ref()
        .is_some_and(|f| f.cause == "proxy-unsupported")
    {
        // Doctor cannot take this path itself; go may well be able to.
        return (Verdict::Skipped, transport_cause(p));
    }
    if let Some(c) = transport_cause(p) {
        return (
            if pipe {
                Verdict::FallThrough
            } else {
                Verdict::Fail
            },
            Some(c),
        );
    }
    match p.status {
        Some(200) => (Verdict::Ok, None),
        Some(status @ (404 | 410)) => (
            Verdict::FallThrough,
            Some(RootCause {
                cause: "proxy-not-found".into(),
                message: format!("{} answered {status}: it does not have {module}", p.url),
                fix: "add another source after it (,direct or another proxy)".into(),
            }),
        ),
        Some(status) => {
            let (cause, fix) = match status {
                403 => ("http-403", "a firewall or the proxy's policy forbids this; ask for access, or use a different GOPROXY entry (goxy mirrors), or separate entries with | so go falls through on errors"),
                401 => ("http-401", "put credentials for this proxy in ~/.netrc or GOAUTH"),
                407 => ("http-407", "put the proxy credentials into HTTPS_PROXY"),
                429 => ("http-429", "the proxy rate-limits you: run a caching goxy server, or add another entry after |"),
                500..=599 => ("http-5xx", "the proxy is failing: add a fallback with | (e.g. GOPROXY=this|other,direct) or pick another mirror"),
                _ => ("http-status", "use a different GOPROXY entry"),
            };
            let verdict = if pipe {
                Verdict::FallThrough
            } else {
                Verdict::Fail
            };
            (
                verdict,
                Some(RootCause {
                    cause: cause.into(),
                    message: match p.body_excerpt() {
                        Some(said) => format!(
                            "{} answered {status}: {}; the server says: {said}",
                            p.url,
                            status_meaning(status)
                        ),
                        None => format!("{} answered {status}: {}", p.url, status_meaning(status)),
                    },
                    fix: fix.into(),
                }),
            )
        }
        None => (Verdict::Fail, Some(unknown_cause(&p.url))),
    }
}

/// Follows go's checksum-database discovery (protocol.md §6.4) and probes
/// the database where go would reach it.
async fn sumdb_probes(
    gosumdb: &str,
    entries: &[ProxyEntry],
    opts: &ProbeOptions,
    probes: &mut Vec<TargetProbe>,
) -> Result<(), RootCause> {
    let mut fields = gosumdb.split_whitespace();
    let first = fields.next().unwrap_or("");
    let explicit_url = fields.next();
    let name = first.split('+').next().unwrap_or(first).to_string();
    let mut base: Option<String> = explicit_url.map(|u| u.trim_end_matches('/').to_string());
    if base.is_none() {
        for entry in entries {
            let (url, pipe) = match entry {
                ProxyEntry::Url {
                    url,
                    fallback_on_any_error,
                } if !url.starts_with("file:") => (url, *fallback_on_any_error),
                _ => break,
            };
            let p = probe(&format!("{url}/sumdb/{name}/supported"), opts).await;
            let verdict = match (p.failure.is_some(), p.status) {
                (false, Some(200)) => Verdict::Ok,
                (false, Some(404 | 410)) => Verdict::FallThrough,
                _ if pipe => Verdict::FallThrough,
                _ => Verdict::Fail,
            };
            let cause = transport_cause(&p);
            let status = p.status;
            probes.push(TargetProbe {
                role: "sumdb_supported",
                entry: url.clone(),
                verdict,
                status_meaning: status.map(|s| status_meaning(s).to_string()),
                probe: p,
            });
            match verdict {
                Verdict::Ok => {
                    base = Some(format!("{url}/sumdb/{name}"));
                    break;
                }
                Verdict::Fail => {
                    return Err(cause.unwrap_or(RootCause {
                        cause: "sumdb-unavailable".into(),
                        message: format!("{url}/sumdb/{name}/supported answered {}: go then treats the checksum database as unavailable", status.unwrap_or(0)),
                        fix: "fix that proxy, or separate GOPROXY entries with | so go falls through".into(),
                    }));
                }
                _ => {}
            }
        }
    }
    let base = base.unwrap_or_else(|| format!("https://{name}"));
    let p = probe(&format!("{base}/latest"), opts).await;
    let (verdict, cause) = match (transport_cause(&p), p.status) {
        (Some(c), _) => (Verdict::Fail, Some(c)),
        (None, Some(200)) => (Verdict::Ok, None),
        (None, status) => (
            Verdict::Fail,
            Some(RootCause {
                cause: "sumdb-http-status".into(),
                message: format!("{base}/latest answered {}: {}", status.unwrap_or(0), status_meaning(status.unwrap_or(0))),
                fix: "use a GOPROXY that proxies the checksum database, or set GONOSUMDB only for private modules".into(),
            }),
        ),
    };
    probes.push(TargetProbe {
        role: "sumdb",
        entry: name.clone(),
        verdict,
        status_meaning: p.status.map(|s| status_meaning(s).to_string()),
        probe: p,
    });
    match cause {
        Some(mut c) if verdict == Verdict::Fail => {
            c.message = format!("checksum database {name}: {}", c.message);
            Err(c)
        }
        _ => Ok(()),
    }
}

/// The human-readable report.
pub fn render_text(r: &DoctorReport, style: Style) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", style.bold("goxy doctor"));
    let _ = writeln!(s, "\n{}", style.bold("Configuration"));
    for (key, v) in &r.config {
        if v.source == Source::Unset {
            continue;
        }
        let src = match v.source {
            Source::Environment => "environment",
            Source::GoenvFile => "GOENV file",
            Source::ToolchainDefault => "toolchain default",
            Source::Unset => "unset",
        };
        let _ = writeln!(s, "  {key:<12} {} ({src})", v.value);
    }
    if let Some(f) = &r.goenv_file {
        let _ = writeln!(s, "  {:<12} {f}", "GOENV file");
    }
    let _ = writeln!(s, "\n{}", style.bold("Findings"));
    if r.findings.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for f in &r.findings {
        let tag = match f.severity {
            Severity::Error => style.red("error  "),
            Severity::Warning => style.yellow("warning"),
            Severity::Info => "info   ".to_string(),
        };
        let _ = writeln!(
            s,
            "  {tag} [{}] {}\n          fix: {}",
            f.id, f.message, f.fix
        );
    }
    let _ = writeln!(s, "\n{}", style.bold("Probes"));
    if r.probes.is_empty() {
        let _ = writeln!(s, "  none (no http(s) source configured)");
    }
    for t in &r.probes {
        let verdict = match t.verdict {
            Verdict::Ok => style.green("ok"),
            Verdict::FallThrough => style.yellow("falls through"),
            Verdict::Fail => style.red("FAIL"),
            Verdict::Skipped => "not reached".to_string(),
        };
        let via = t
            .probe
            .via_proxy
            .as_ref()
            .map(|p| format!(" via proxy {p}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {} {}{via}: {verdict} ({} ms)",
            t.role, t.probe.url, t.probe.total_ms
        );
        if !t.probe.redirected_from.is_empty() {
            let _ = writeln!(
                s,
                "      redirected from {}",
                t.probe.redirected_from.join(" -> ")
            );
        }
        for step in &t.probe.steps {
            let mark = if step.ok {
                style.green("ok  ")
            } else {
                style.red("FAIL")
            };
            let _ = writeln!(
                s,
                "      {:<13} {mark} {:>6} ms  {}",
                step.step.name(),
                step.ms,
                step.detail
            );
        }
        if let Some(tls) = &t.probe.tls {
            if t.probe
                .failure
                .as_ref()
                .is_some_and(|f| f.cause.starts_with("tls"))
            {
                let _ = writeln!(
                    s,
                    "      certificate: subject {}; issuer {}; names [{}]; self-signed {}; public CA {}; looks intercepting {}",
                    tls.subject,
                    tls.issuer,
                    tls.dns_names.join(", "),
                    tls.self_signed,
                    tls.issuer_is_public_ca,
                    tls.looks_intercepting
                );
            }
        }
    }
    let _ = writeln!(s);
    match (&r.first_failure, r.fetch_would_work) {
        (_, true) => {
            let _ = writeln!(
                s,
                "{}",
                style.green("Verdict: fetching modules would work.")
            );
        }
        (Some(c), false) => {
            let _ = writeln!(
                s,
                "{} [{}] {}",
                style.red("Verdict: fetching would FAIL."),
                c.cause,
                c.message
            );
            let _ = writeln!(s, "  fix: {}", c.fix);
        }
        (None, false) => {
            let _ = writeln!(s, "{}", style.red("Verdict: fetching would FAIL."));
        }
    }
    s
}

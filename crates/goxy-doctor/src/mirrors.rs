//! `goxy mirrors`: measure a catalog of Go module mirrors concurrently,
//! score them, recommend a GOPROXY value and optionally write it with
//! `go env -w`.
//!
//! JSON schema (`--json`, `schema_version` 1):
//! ```text
//! { "schema_version": 1, "freshness_module": str, "newest_version": str|null, "sumdb_name": str|null,
//!   "mirrors": [ { "name": str, "url": str, "origin": "builtin"|"user"|"toolchain", "attempts": int,
//!                  "successes": int, "success_rate": float, "p50_ms": int|null, "p90_ms": int|null,
//!                  "max_ms": int|null, "sumdb_supported": bool|null, "newest_version": str|null,
//!                  "fresh": bool|null, "last_error": str|null, "score": float } ],
//!   "recommended_goproxy": str|null }
//! ```

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::Stdio;

use serde::{Deserialize, Serialize};

use crate::cli::ProbeArgs;
use crate::goenv::GoConfig;
use crate::probe::{probe, ProbeOptions};
use crate::style::Style;

/// The catalog shipped with goxy.
pub const BUILTIN_CATALOG: &str = include_str!("../mirrors.toml");

/// What to measure and how: shared by `goxy mirrors` and `goxy env --mirrors`.
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Extra catalog files (same format as the built-in one); may repeat.
    #[arg(long, value_name = "FILE")]
    pub catalog: Vec<PathBuf>,
    /// Measure only the --catalog files: skip the built-in catalog, the
    /// user's catalog and the toolchain's default proxy.
    #[arg(long)]
    pub only_catalog: bool,
    /// Requests per mirror for the latency figures.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// How many mirrors to chain in the recommendation.
    #[arg(long, default_value_t = 2)]
    pub top: usize,
    /// Module used for latency and freshness (default: the catalog's freshness_module).
    #[arg(long)]
    pub module: Option<String>,
    /// The go command used for `go env`.
    #[arg(long, default_value = "go", value_name = "PATH")]
    pub go: String,
}

/// `goxy mirrors` flags.
#[derive(Debug, clap::Args)]
pub struct MirrorsArgs {
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the recommended GOPROXY (and --goprivate/--gonosumdb) with `go env -w`.
    #[arg(long)]
    pub apply: bool,
    /// Apply without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// GOPRIVATE value to write along with --apply.
    #[arg(long)]
    pub goprivate: Option<String>,
    /// GONOSUMDB value to write along with --apply.
    #[arg(long)]
    pub gonosumdb: Option<String>,
}

/// A catalog file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub freshness_module: Option<String>,
    #[serde(default)]
    pub mirror: Vec<CatalogMirror>,
}

/// One mirror in a catalog.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CatalogMirror {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub notes: String,
    /// Set by goxy: where the entry came from.
    #[serde(skip_deserializing, default)]
    pub origin: String,
}

/// Parses a catalog file's text.
pub fn parse_catalog(text: &str, origin: &str) -> Result<Catalog, String> {
    let mut c: Catalog = toml::from_str(text).map_err(|e| e.to_string())?;
    for m in &mut c.mirror {
        m.url = m.url.trim_end_matches('/').to_string();
        m.origin = origin.to_string();
        let ok = url::Url::parse(&m.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return Err(format!(
                "mirror {:?}: url {:?} is not an http(s) URL",
                m.name, m.url
            ));
        }
    }
    Ok(c)
}

/// Adds `extra`'s mirrors to `base`, replacing entries with the same name or URL.
pub fn merge_catalog(base: &mut Catalog, extra: Catalog) {
    if extra.freshness_module.is_some() {
        base.freshness_module = extra.freshness_module;
    }
    for m in extra.mirror {
        base.mirror.retain(|b| b.name != m.name && b.url != m.url);
        base.mirror.push(m);
    }
}

/// Measurements and score of one mirror.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorResult {
    pub name: String,
    pub url: String,
    pub origin: String,
    pub attempts: u32,
    pub successes: u32,
    pub success_rate: f64,
    pub p50_ms: Option<u64>,
    pub p90_ms: Option<u64>,
    pub max_ms: Option<u64>,
    pub sumdb_supported: Option<bool>,
    pub newest_version: Option<String>,
    pub fresh: Option<bool>,
    pub last_error: Option<String>,
    pub score: f64,
}

/// The whole `goxy mirrors` result.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorsReport {
    pub schema_version: u32,
    pub freshness_module: String,
    pub newest_version: Option<String>,
    pub sumdb_name: Option<String>,
    pub mirrors: Vec<MirrorResult>,
    pub recommended_goproxy: Option<String>,
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[u64], pct: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(pct) * sorted.len() as u64).div_ceil(100).max(1);
    let idx = usize::try_from(rank - 1).unwrap_or(0).min(sorted.len() - 1);
    sorted.get(idx).copied()
}

/// Score in 0..=100: availability first, then speed; stale mirrors and
/// mirrors without checksum-database support lose points.
pub fn score(r: &MirrorResult) -> f64 {
    if r.successes == 0 {
        return 0.0;
    }
    let mut s = 100.0 * r.success_rate;
    s -= (r.p90_ms.unwrap_or(0) as f64 / 20.0).min(50.0);
    if r.fresh == Some(false) {
        s -= 30.0;
    }
    if r.sumdb_supported == Some(false) {
        s -= 10.0;
    }
    s.max(0.0)
}

/// The GOPROXY value to use: the best `top` usable mirrors, separated by `|`
/// so go falls through on any error (not only 404), then `direct`.
pub fn recommend(results: &[MirrorResult], top: usize) -> Option<String> {
    let mut usable: Vec<&MirrorResult> = results
        .iter()
        .filter(|r| r.success_rate >= 0.5 && r.fresh != Some(false))
        .collect();
    usable.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let chosen: Vec<&str> = usable
        .iter()
        .take(top.max(1))
        .map(|r| r.url.as_str())
        .collect();
    if chosen.is_empty() {
        return None;
    }
    Some(format!("{},direct", chosen.join("|")))
}

fn newest_in_list(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut newest: Option<String> = None;
    for v in text
        .split_whitespace()
        .filter(|v| goxy_mod::semver::is_valid(v))
    {
        if newest
            .as_deref()
            .is_none_or(|n| goxy_mod::semver::compare(v, n) == std::cmp::Ordering::Greater)
        {
            newest = Some(v.to_string());
        }
    }
    newest
}

async fn measure(
    m: &CatalogMirror,
    escaped_module: &str,
    sumdb: Option<&str>,
    rounds: u32,
    opts: &ProbeOptions,
) -> MirrorResult {
    let list_url = format!("{}/{escaped_module}/@v/list", m.url);
    let mut latencies = Vec::new();
    let mut newest = None;
    let mut last_error = None;
    for _ in 0..rounds.max(1) {
        let p = probe(&list_url, opts).await;
        match (&p.failure, p.status) {
            (Some(f), _) => {
                last_error = Some(format!("{} at {}: {}", f.cause, f.step.name(), f.message))
            }
            (None, Some(200)) => {
                latencies.push(p.total_ms);
                if let Some(v) = newest_in_list(&p.body) {
                    newest = Some(v);
                }
            }
            (None, status) => {
                let s = status.unwrap_or(0);
                last_error = Some(format!("http-{s}: {}", crate::probe::status_meaning(s)));
            }
        }
    }
    let sumdb_supported = match sumdb {
        Some(name) => {
            let p = probe(&format!("{}/sumdb/{name}/supported", m.url), opts).await;
            match (p.failure.is_some(), p.status) {
                (false, Some(200)) => Some(true),
                (false, Some(_)) => Some(false),
                _ => None,
            }
        }
        None => None,
    };
    latencies.sort_unstable();
    let attempts = rounds.max(1);
    let successes = u32::try_from(latencies.len()).unwrap_or(u32::MAX);
    MirrorResult {
        name: m.name.clone(),
        url: m.url.clone(),
        origin: m.origin.clone(),
        attempts,
        successes,
        success_rate: f64::from(successes) / f64::from(attempts),
        p50_ms: percentile(&latencies, 50),
        p90_ms: percentile(&latencies, 90),
        max_ms: latencies.last().copied(),
        sumdb_supported,
        newest_version: newest,
        fresh: None,
        last_error,
        score: 0.0,
    }
}

/// Measures every mirror concurrently and scores them.
pub async fn evaluate(
    catalog: &Catalog,
    module: &str,
    sumdb: Option<&str>,
    rounds: u32,
    top: usize,
    opts: &ProbeOptions,
    progress: &indicatif::ProgressBar,
) -> MirrorsReport {
    let escaped = goxy_mod::module::escape_path(module).unwrap_or_else(|_| module.to_string());
    progress.set_length(catalog.mirror.len() as u64);
    let mut results = futures_util::future::join_all(catalog.mirror.iter().map(|m| async {
        let r = measure(m, &escaped, sumdb, rounds, opts).await;
        progress.set_message(m.name.clone());
        progress.inc(1);
        r
    }))
    .await;
    progress.finish_and_clear();
    let newest = results
        .iter()
        .filter_map(|r| r.newest_version.clone())
        .reduce(|a, b| {
            if goxy_mod::semver::compare(&a, &b) == std::cmp::Ordering::Less {
                b
            } else {
                a
            }
        });
    for r in &mut results {
        if let (Some(all), true) = (&newest, r.successes > 0) {
            r.fresh =
                Some(r.newest_version.as_deref().is_some_and(|v| {
                    goxy_mod::semver::compare(v, all) != std::cmp::Ordering::Less
                }));
        }
        r.score = score(r);
    }
    results.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let recommended_goproxy = recommend(&results, top);
    MirrorsReport {
        schema_version: 1,
        freshness_module: module.to_string(),
        newest_version: newest,
        sumdb_name: sumdb.map(str::to_string),
        mirrors: results,
        recommended_goproxy,
    }
}

/// The human-readable table.
pub fn render_text(r: &MirrorsReport, style: Style) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let newest = r.newest_version.as_deref().unwrap_or("unknown");
    let _ = writeln!(
        s,
        "{}",
        style.bold(&format!(
            "Go module mirrors (freshness: {} newest {newest})",
            r.freshness_module
        ))
    );
    let _ = writeln!(
        s,
        "  {:<16} {:>5} {:>7} {:>7} {:>6} {:>7} {:>5}  url",
        "name", "ok%", "p50ms", "p90ms", "sumdb", "fresh", "score"
    );
    let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
    let yn = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    };
    for m in &r.mirrors {
        let line = format!(
            "  {:<16} {:>5.0} {:>7} {:>7} {:>6} {:>7} {:>5.0}  {}",
            m.name,
            m.success_rate * 100.0,
            opt(m.p50_ms),
            opt(m.p90_ms),
            yn(m.sumdb_supported),
            match m.fresh {
                Some(false) => "STALE",
                other => yn(other),
            },
            m.score,
            m.url
        );
        let line = if m.successes == 0 {
            style.red(&line)
        } else {
            line
        };
        let _ = writeln!(s, "{line}");
        if let Some(e) = &m.last_error {
            let _ = writeln!(s, "      last error: {e}");
        }
        if m.fresh == Some(false) {
            let _ = writeln!(
                s,
                "      stale: newest {} is {}, others serve {newest}",
                r.freshness_module,
                m.newest_version.as_deref().unwrap_or("none")
            );
        }
        if m.sumdb_supported == Some(false) {
            let _ = writeln!(
                s,
                "      no checksum-database proxying: go contacts the checksum database directly"
            );
        }
    }
    match &r.recommended_goproxy {
        Some(v) => {
            let _ = writeln!(s, "\nRecommended: {}", style.green(&format!("GOPROXY={v}")));
        }
        None => {
            let _ = writeln!(s, "\n{}", style.red("No usable mirror found."));
        }
    }
    s
}

fn user_catalog_path() -> Option<PathBuf> {
    let getenv = |k: &str| std::env::var(k).ok();
    let goenv = crate::goenv::goenv_path(&|k| if k == "GOENV" { None } else { getenv(k) })?;
    // goenv_path returns <config dir>/go/env; the user catalog sits beside it.
    Some(goenv.parent()?.parent()?.join("goxy").join("mirrors.toml"))
}

/// Loads the catalogs, measures every mirror and scores them.
pub async fn measure_catalog(args: &MeasureArgs) -> Result<(GoConfig, MirrorsReport), String> {
    let cfg = crate::goenv::load(Some(&args.go)).await;
    let catalog = build_catalog(args, &cfg)?;
    measure_built(args, cfg, catalog).await
}

/// The catalog to measure: the built-in one, the toolchain's default proxy
/// and the user's catalog file (unless `only_catalog`), then `--catalog` files.
pub fn build_catalog(args: &MeasureArgs, cfg: &GoConfig) -> Result<Catalog, String> {
    let mut catalog = Catalog::default();
    if !args.only_catalog {
        let builtin = parse_catalog(BUILTIN_CATALOG, "builtin")
            .map_err(|e| format!("built-in catalog: {e}"))?;
        merge_catalog(&mut catalog, builtin);
        if let Some(url) = crate::goproxy::parse_goproxy(
            &cfg.toolchain_defaults
                .get("GOPROXY")
                .cloned()
                .unwrap_or_default(),
        )
        .unwrap_or_default()
        .into_iter()
        .find_map(|e| match e {
            crate::goproxy::ProxyEntry::Url { url, .. } if url.starts_with("http") => Some(url),
            _ => None,
        }) {
            let name = url::Url::parse(&url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| url.clone());
            merge_catalog(
                &mut catalog,
                Catalog {
                    freshness_module: None,
                    mirror: vec![CatalogMirror {
                        name,
                        url,
                        notes: "the Go toolchain's default".into(),
                        origin: "toolchain".into(),
                    }],
                },
            );
        } else {
            eprintln!(
                "note: `{} env` gave no default proxy, so the Go toolchain's own proxy is not measured",
                args.go
            );
        }
        if let Some(p) = user_catalog_path().filter(|p| p.is_file()) {
            args_catalog_paths_push(&mut catalog, &p);
        }
    }
    for p in &args.catalog {
        match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| parse_catalog(&t, "user"))
        {
            Ok(c) => merge_catalog(&mut catalog, c),
            Err(e) => return Err(format!("catalog {}: {e}", p.display())),
        }
    }
    if catalog.mirror.is_empty() {
        return Err("the catalog is empty".into());
    }
    Ok(catalog)
}

async fn measure_built(
    args: &MeasureArgs,
    cfg: GoConfig,
    catalog: Catalog,
) -> Result<(GoConfig, MirrorsReport), String> {
    let module = args
        .module
        .clone()
        .or(catalog.freshness_module.clone())
        .unwrap_or_else(|| crate::doctor::DEFAULT_PROBE_MODULE.into());
    if let Err(e) = goxy_mod::module::check_path(&module) {
        return Err(format!("module {module}: {}", e.message()));
    }
    let opts = args.probe.options(&cfg)?;
    // The checksum database name: the user's GOSUMDB, else the toolchain's default.
    let sumdb = [
        cfg.value("GOSUMDB"),
        cfg.toolchain_defaults
            .get("GOSUMDB")
            .cloned()
            .unwrap_or_default(),
    ]
    .into_iter()
    .find(|v| !v.is_empty() && v != "off")
    .and_then(|v| {
        v.split_whitespace()
            .next()
            .map(|f| f.split('+').next().unwrap_or(f).to_string())
    });
    // A progress bar on stderr, only when it is a terminal.
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "measuring mirrors {bar:30} {pos}/{len} {wide_msg}",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let report = evaluate(
        &catalog,
        &module,
        sumdb.as_deref(),
        args.rounds,
        args.top,
        &opts,
        &progress,
    )
    .await;
    Ok((cfg, report))
}

/// Runs `goxy mirrors`.
pub async fn run(args: MirrorsArgs) -> i32 {
    let (cfg, report) = match measure_catalog(&args.measure).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("goxy mirrors: {e}");
            return 2;
        }
    };
    let style = Style::for_stdout();
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("goxy mirrors: encoding JSON: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", render_text(&report, style));
    }
    let Some(goproxy) = report.recommended_goproxy.clone() else {
        return 1;
    };
    if !args.apply {
        return 0;
    }
    let mut changes = vec![("GOPROXY".to_string(), goproxy)];
    if let Some(v) = &args.goprivate {
        changes.push(("GOPRIVATE".into(), v.clone()));
    }
    if let Some(v) = &args.gonosumdb {
        changes.push(("GONOSUMDB".into(), v.clone()));
    }
    apply(&cfg, &changes, &args.measure.go, args.yes).await
}

fn args_catalog_paths_push(catalog: &mut Catalog, p: &std::path::Path) {
    match std::fs::read_to_string(p)
        .map_err(|e| e.to_string())
        .and_then(|t| parse_catalog(&t, "user"))
    {
        Ok(c) => merge_catalog(catalog, c),
        Err(e) => eprintln!("goxy mirrors: ignoring user catalog {}: {e}", p.display()),
    }
}

/// Shows the change, asks (or requires `yes`), then runs `go env -w`.
pub async fn apply(
    cfg: &crate::goenv::GoConfig,
    changes: &[(String, String)],
    go: &str,
    yes: bool,
) -> i32 {
    let file = cfg
        .goenv_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(GOENV=off)".into());
    eprintln!("Changes to the GOENV file {file}:");
    for (key, new) in changes {
        let old = cfg.goenv_file.get(key).cloned().unwrap_or_default();
        if old == *new {
            eprintln!("  {key}: unchanged ({new})");
        } else {
            eprintln!("- {key}={old}\n+ {key}={new}");
        }
        if cfg
            .environment
            .get(key)
            .is_some_and(|v| !v.is_empty() && v != new)
        {
            eprintln!("  note: {key} is also set in your environment, which overrides the file; remove it from your shell profile");
        }
    }
    if cfg.goenv_path.is_none() {
        eprintln!("goxy mirrors: GOENV=off, nothing can be written; use `goxy env` for a shell profile instead");
        return 2;
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "not applied: stdin is not a terminal; re-run with --yes to write these values"
            );
            return 2;
        }
        eprint!("Apply? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let read = tokio::task::spawn_blocking(move || {
            std::io::stdin().read_line(&mut answer).map(|_| answer)
        })
        .await;
        let confirmed = matches!(read, Ok(Ok(a)) if a.trim().eq_ignore_ascii_case("y") || a.trim().eq_ignore_ascii_case("yes"));
        if !confirmed {
            eprintln!("not applied");
            return 1;
        }
    }
    let mut cmd = tokio::process::Command::new(go);
    cmd.args(["env", "-w"]).stdin(Stdio::null());
    for (k, v) in changes {
        cmd.arg(format!("{k}={v}"));
    }
    cmd.kill_on_drop(true);
    let output = match tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output()).await
    {
        Ok(r) => r,
        Err(_) => {
            eprintln!("goxy mirrors: {go} env -w did not finish within 60 s");
            return 2;
        }
    };
    match output {
        Ok(out) if out.status.success() => {
            // go env -w prints a warning when the environment overrides the file.
            let warn = String::from_utf8_lossy(&out.stderr);
            if !warn.trim().is_empty() {
                eprintln!("{}", warn.trim());
            }
            eprintln!("written with `go env -w`");
            0
        }
        Ok(out) => {
            eprintln!(
                "goxy mirrors: go env -w failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            1
        }
        Err(e) => {
            eprintln!("goxy mirrors: running {go} env -w: {e}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(
        name: &str,
        rate: f64,
        p90: u64,
        fresh: Option<bool>,
        sumdb: Option<bool>,
    ) -> MirrorResult {
        let mut r = MirrorResult {
            name: name.into(),
            url: format!("https://{name}"),
            origin: "user".into(),
            attempts: 10,
            successes: (rate * 10.0) as u32,
            success_rate: rate,
            p50_ms: Some(p90 / 2),
            p90_ms: Some(p90),
            max_ms: Some(p90),
            sumdb_supported: sumdb,
            newest_version: None,
            fresh,
            last_error: None,
            score: 0.0,
        };
        r.score = score(&r);
        r
    }

    #[test]
    fn builtin_catalog_parses_and_names_no_toolchain_default() {
        let c = parse_catalog(BUILTIN_CATALOG, "builtin").unwrap();
        assert!(c.mirror.len() >= 3);
        assert!(c.freshness_module.is_some());
        assert!(c.mirror.iter().all(|m| m.url.starts_with("https://")));
    }

    #[test]
    fn merging_replaces_by_name_or_url() {
        let mut base = parse_catalog("[[mirror]]\nname='a'\nurl='https://a.example/'\n[[mirror]]\nname='b'\nurl='https://b.example'\n", "builtin").unwrap();
        let extra = parse_catalog(
            "freshness_module='x.example/m'\n[[mirror]]\nname='a2'\nurl='https://a.example'\n",
            "user",
        )
        .unwrap();
        merge_catalog(&mut base, extra);
        let names: Vec<&str> = base.mirror.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, vec!["b", "a2"]);
        assert_eq!(base.freshness_module.as_deref(), Some("x.example/m"));
        assert!(parse_catalog("[[mirror]]\nname='x'\nurl='ftp://x'\n", "user").is_err());
        assert!(parse_catalog("[[mirror]]\nname='x'\nurl='https://x'\nbogus=1\n", "user").is_err());
    }

    #[test]
    fn catalog_takes_the_official_proxy_from_the_toolchain() {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: MeasureArgs,
        }
        let args = <Wrapper as clap::Parser>::try_parse_from(["mirrors"])
            .unwrap()
            .args;
        let mut cfg = GoConfig::default();
        cfg.toolchain_defaults
            .insert("GOPROXY".into(), "https://proxy.example/,direct".into());
        let c = build_catalog(&args, &cfg).unwrap();
        let official: Vec<&CatalogMirror> = c
            .mirror
            .iter()
            .filter(|m| m.origin == "toolchain")
            .collect();
        assert_eq!(official.len(), 1);
        assert_eq!(official[0].url, "https://proxy.example");
        assert_eq!(official[0].name, "proxy.example");
        assert!(c.mirror.iter().any(|m| m.origin == "builtin"));

        // Without a toolchain there is no official entry; --only-catalog with no file is empty.
        let c = build_catalog(&args, &GoConfig::default()).unwrap();
        assert!(c.mirror.iter().all(|m| m.origin != "toolchain"));
        let only = <Wrapper as clap::Parser>::try_parse_from(["mirrors", "--only-catalog"])
            .unwrap()
            .args;
        assert!(build_catalog(&only, &cfg).is_err());
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn scoring_and_recommendation() {
        let fast = result("fast", 1.0, 100, Some(true), Some(true));
        let slow = result("slow", 1.0, 1500, Some(true), Some(true));
        let stale = result("stale", 1.0, 50, Some(false), Some(true));
        let flaky = result("flaky", 0.3, 50, Some(true), Some(true));
        let nosum = result("nosum", 1.0, 100, Some(true), Some(false));
        assert!(fast.score > slow.score);
        assert!(fast.score > nosum.score);
        assert!(fast.score > stale.score);
        let all = vec![slow.clone(), stale, flaky, nosum, fast];
        assert_eq!(
            recommend(&all, 2).as_deref(),
            Some("https://fast|https://nosum,direct")
        );
        assert_eq!(recommend(&[result("down", 0.0, 0, None, None)], 2), None);
    }

    #[test]
    fn newest_version_from_list() {
        assert_eq!(
            newest_in_list(b"v0.1.0\nv0.10.0\nv0.9.0\nbad\nv1.0.0-rc.1\n").as_deref(),
            Some("v1.0.0-rc.1")
        );
        assert_eq!(newest_in_list(b""), None);
    }
}

//! `goxy prewarm`: fetch every module version named by a go.mod or go.sum
//! through a GOPROXY-protocol server (normally goxy), so it caches them,
//! and check what comes back against go.sum.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;

/// `goxy prewarm` flags.
#[derive(Debug, clap::Args)]
pub struct PrewarmArgs {
    /// A go.mod, a go.sum, or a directory holding one (go.sum preferred).
    pub input: PathBuf,
    /// The server to fetch through (default: the first http(s) GOPROXY entry).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Downloads in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Time limit for each request, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
}

/// One module version to fetch, with what go.sum says about it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wanted {
    pub path: String,
    pub version: String,
    /// `h1:` of the go.mod, when go.sum has a `/go.mod` line.
    pub mod_h1: Option<String>,
    /// `h1:` of the zip, when go.sum has a line for it.
    pub zip_h1: Option<String>,
    /// Whether to download the zip: go.sum lists its hash, or the input was a go.mod.
    pub want_zip: bool,
}

/// Parses go.sum lines (`path version[/go.mod] h1:...`), grouping by module version.
pub fn parse_go_sum(text: &str) -> Result<Vec<Wanted>, String> {
    let mut map: BTreeMap<(String, String), Wanted> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let [path, version, hash] = fields.as_slice() else {
            return Err(format!(
                "go.sum line {}: want 3 fields, have {}",
                n + 1,
                fields.len()
            ));
        };
        let (version, is_mod) = match version.strip_suffix("/go.mod") {
            Some(v) => (v, true),
            None => (*version, false),
        };
        goxy_mod::module::check(path, version)
            .map_err(|e| format!("go.sum line {}: {path}@{version}: {}", n + 1, e.message()))?;
        let w = map
            .entry((path.to_string(), version.to_string()))
            .or_insert_with(|| Wanted {
                path: path.to_string(),
                version: version.to_string(),
                ..Wanted::default()
            });
        if !hash.starts_with("h1:") {
            // Unknown hash algorithms are skipped, as go does.
            continue;
        }
        if is_mod {
            w.mod_h1 = Some(hash.to_string());
        } else {
            w.zip_h1 = Some(hash.to_string());
            w.want_zip = true;
        }
    }
    Ok(map.into_values().collect())
}

/// The `require` directives of a go.mod (single lines and blocks).
pub fn parse_go_mod_requires(text: &str) -> Result<Vec<Wanted>, String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let spec = if in_block {
            if line == ")" {
                in_block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix("require") {
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
                continue;
            }
            if rest.is_empty() || !line.starts_with("require ") && !line.starts_with("require\t") {
                continue;
            }
            rest
        } else {
            continue;
        };
        let mut fields = spec.split_whitespace();
        let (Some(path), Some(version)) = (fields.next(), fields.next()) else {
            return Err(format!(
                "go.mod line {}: require needs a path and a version",
                n + 1
            ));
        };
        let path = path.trim_matches(|c| c == '"' || c == '`');
        goxy_mod::module::check(path, version)
            .map_err(|e| format!("go.mod line {}: {path}@{version}: {}", n + 1, e.message()))?;
        out.push(Wanted {
            path: path.to_string(),
            version: version.to_string(),
            mod_h1: None,
            zip_h1: None,
            want_zip: true,
        });
    }
    out.sort_by(|a, b| (&a.path, &a.version).cmp(&(&b.path, &b.version)));
    out.dedup_by(|a, b| a.path == b.path && a.version == b.version);
    Ok(out)
}

/// Reads the input: a go.sum, a go.mod (checked against the go.sum beside
/// it, if any), or a directory with either (go.sum preferred).
pub fn read_input(input: &Path) -> Result<Vec<Wanted>, String> {
    let file = if input.is_dir() {
        let sum = input.join("go.sum");
        if sum.is_file() {
            sum
        } else {
            input.join("go.mod")
        }
    } else {
        input.to_path_buf()
    };
    let text =
        std::fs::read_to_string(&file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    if file.file_name().is_some_and(|n| n == "go.sum")
        || file.extension().is_some_and(|e| e == "sum")
    {
        return parse_go_sum(&text);
    }
    let mut wanted = parse_go_mod_requires(&text)?;
    // A go.sum beside the go.mod supplies the hashes to check against.
    let sum_path = file.with_file_name("go.sum");
    if let Ok(sum_text) = std::fs::read_to_string(&sum_path) {
        let sums = parse_go_sum(&sum_text).map_err(|e| format!("{}: {e}", sum_path.display()))?;
        for w in &mut wanted {
            if let Some(s) = sums
                .iter()
                .find(|s| s.path == w.path && s.version == w.version)
            {
                w.mod_h1.clone_from(&s.mod_h1);
                w.zip_h1.clone_from(&s.zip_h1);
            }
        }
    }
    Ok(wanted)
}

/// How fetching one module version went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// A download failed (status or network).
    FetchFailed(String),
    /// Content disagrees with go.sum or is not a valid module zip.
    Mismatch(String),
}

/// Limit for `.info` and `.mod` bodies (x/mod's go.mod limit).
const MAX_METADATA: u64 = goxy_zip::MAX_GO_MOD;

/// GETs `url`, insisting on 200 and at most `limit` bytes of body.
async fn get(client: &reqwest::Client, url: &str, limit: u64) -> Result<bytes::Bytes, String> {
    let mut resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    if status != reqwest::StatusCode::OK {
        return Err(format!("GET {url}: {status}"));
    }
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(format!("GET {url}: body larger than {limit} bytes"));
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("GET {url}: reading body: {e}"))?
    {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(format!("GET {url}: body larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Fetches `.info`, `.mod` and (when wanted) `.zip` of one module version
/// and checks them.
pub async fn fetch_one(client: &reqwest::Client, base: &str, w: &Wanted) -> Outcome {
    let mv = format!("{}@{}", w.path, w.version);
    let (Ok(path), Ok(version)) = (
        goxy_mod::module::escape_path(&w.path),
        goxy_mod::module::escape_version(&w.version),
    ) else {
        return Outcome::FetchFailed(format!("{mv}: cannot escape the module path or version"));
    };
    let prefix = format!("{base}/{path}/@v/{version}");
    let info = match get(client, &format!("{prefix}.info"), MAX_METADATA).await {
        Ok(b) => b,
        Err(e) => return Outcome::FetchFailed(format!("{mv}: {e}")),
    };
    match serde_json::from_slice::<serde_json::Value>(&info) {
        Ok(v) if v.get("Version").and_then(|x| x.as_str()) == Some(w.version.as_str()) => {}
        Ok(v) => {
            return Outcome::Mismatch(format!(
                "{mv}: .info names version {}",
                v.get("Version").unwrap_or(&serde_json::Value::Null)
            ))
        }
        Err(e) => return Outcome::Mismatch(format!("{mv}: .info is not JSON: {e}")),
    }
    let go_mod = match get(client, &format!("{prefix}.mod"), MAX_METADATA).await {
        Ok(b) => b,
        Err(e) => return Outcome::FetchFailed(format!("{mv}: {e}")),
    };
    if let Some(want) = &w.mod_h1 {
        let got = goxy_zip::hash_go_mod(&go_mod);
        if &got != want {
            return Outcome::Mismatch(format!(
                "{mv}: go.mod hash mismatch: go.sum has {want}, server sent {got}"
            ));
        }
    }
    if w.want_zip {
        let zip = match get(client, &format!("{prefix}.zip"), goxy_zip::MAX_ZIP_FILE).await {
            Ok(b) => b,
            Err(e) => return Outcome::FetchFailed(format!("{mv}: {e}")),
        };
        let checked = match goxy_zip::check_zip(&w.path, &w.version, &zip) {
            Ok(c) => c,
            Err(e) => {
                return Outcome::Mismatch(format!("{mv}: invalid module zip: {}", e.message()))
            }
        };
        if let Some(want) = &w.zip_h1 {
            if &checked.h1 != want {
                return Outcome::Mismatch(format!(
                    "{mv}: zip hash mismatch: go.sum has {want}, server sent {}",
                    checked.h1
                ));
            }
        }
    }
    Outcome::Ok
}

fn default_proxy() -> Option<String> {
    let getenv = |k: &str| std::env::var(k).ok();
    let from_env = std::env::var("GOPROXY").ok().filter(|v| !v.is_empty());
    let value = from_env.or_else(|| {
        let path = crate::goenv::goenv_path(&getenv)?;
        let text = std::fs::read_to_string(path).ok()?;
        crate::goenv::parse_goenv_file(&text)
            .get("GOPROXY")
            .cloned()
    })?;
    crate::goproxy::parse_goproxy(&value)
        .ok()?
        .into_iter()
        .find_map(|e| match e {
            crate::goproxy::ProxyEntry::Url { url, .. } if url.starts_with("http") => Some(url),
            _ => None,
        })
}

/// Runs `goxy prewarm`.
pub async fn run(args: PrewarmArgs) -> i32 {
    let wanted = match read_input(&args.input) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("goxy prewarm: {e}");
            return 2;
        }
    };
    let Some(base) = args.proxy.clone().or_else(default_proxy) else {
        eprintln!("goxy prewarm: no server: give --proxy URL or set GOPROXY");
        return 2;
    };
    let base = base.trim_end_matches('/').to_string();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs.max(1)))
        .user_agent(concat!("goxy-prewarm/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("goxy prewarm: HTTP client: {e}");
            return 2;
        }
    };
    let total = wanted.len() as u64;
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        if std::io::stderr().is_terminal() {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}") {
        bar.set_style(style);
    }
    let results: Vec<(Wanted, Outcome)> = futures_util::stream::iter(wanted.into_iter().map(|w| {
        let client = client.clone();
        let base = base.clone();
        let bar = bar.clone();
        async move {
            let outcome = fetch_one(&client, &base, &w).await;
            bar.set_message(format!("{}@{}", w.path, w.version));
            bar.inc(1);
            (w, outcome)
        }
    }))
    .buffer_unordered(args.concurrency.max(1))
    .collect()
    .await;
    bar.finish_and_clear();
    let mut ok = 0;
    let mut failed = 0;
    let mut mismatched = 0;
    let mut problems = Vec::new();
    for (_, outcome) in &results {
        match outcome {
            Outcome::Ok => ok += 1,
            Outcome::FetchFailed(e) => {
                failed += 1;
                problems.push(format!("fetch failed: {e}"));
            }
            Outcome::Mismatch(e) => {
                mismatched += 1;
                problems.push(format!("MISMATCH: {e}"));
            }
        }
    }
    problems.sort();
    for p in &problems {
        println!("  {p}");
    }
    println!("prewarm via {base}: {total} module versions: {ok} ok, {failed} failed to fetch, {mismatched} did not match go.sum");
    if failed + mismatched > 0 {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_sum_groups_lines() {
        let text = "golang.org/x/text v0.3.0 h1:AAA=\ngolang.org/x/text v0.3.0/go.mod h1:BBB=\nrsc.io/quote v1.5.2/go.mod h1:CCC=\n\n";
        let w = parse_go_sum(text).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].path, "golang.org/x/text");
        assert_eq!(w[0].zip_h1.as_deref(), Some("h1:AAA="));
        assert_eq!(w[0].mod_h1.as_deref(), Some("h1:BBB="));
        assert!(w[0].want_zip);
        assert_eq!(w[1].path, "rsc.io/quote");
        assert!(!w[1].want_zip);
        assert!(parse_go_sum("a.example/m v1.0.0\n").is_err());
        assert!(parse_go_sum("NotAPath v1.0.0 h1:x\n").is_err());
    }

    #[test]
    fn go_mod_requires() {
        let text = "module example.com/m\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.0 // indirect\nrequire (\n\trsc.io/quote v1.5.2\n\t\"rsc.io/sampler\" v1.3.0 // indirect\n)\nreplace rsc.io/quote => ../quote\nrequirements.example/x v1.0.0\n";
        let w = parse_go_mod_requires(text).unwrap();
        let got: Vec<String> = w
            .iter()
            .map(|w| format!("{}@{}", w.path, w.version))
            .collect();
        assert_eq!(
            got,
            vec![
                "golang.org/x/text@v0.3.0",
                "rsc.io/quote@v1.5.2",
                "rsc.io/sampler@v1.3.0"
            ]
        );
        assert!(parse_go_mod_requires("require (\nrsc.io/quote\n)\n").is_err());
    }
}

//! The Go configuration as the `go` command reads it: the process
//! environment first (non-empty values win), then the GOENV file (what
//! `go env -w` writes), then the toolchain's defaults in `$GOROOT/go.env`
//! (cmd/go/internal/cfg: `Getenv`, `initEnvCache`, `readEnvFile`,
//! `findGOROOT`). One reader for `goxy serve` and `goxy doctor`, so a
//! `go env -w GOPRIVATE=...` is honoured by both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Go variables doctor looks at.
pub const GO_VARS: &[&str] = &[
    "GOPROXY",
    "GOSUMDB",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GOINSECURE",
    "GOFLAGS",
    "GO111MODULE",
    "GOTOOLCHAIN",
    "GOAUTH",
    "GOVCS",
];

/// Variables old posts recommend that current `go` ignores (or that are
/// misspellings of real ones), with what to use instead.
pub const IGNORED_VARS: &[(&str, &str)] = &[
    (
        "GONOSUMCHECK",
        "GONOSUMDB (for private modules) or GOFLAGS=-mod=mod",
    ),
    ("GONOVERIFY", "GONOSUMDB or GOPRIVATE"),
    ("GO_PROXY", "GOPROXY"),
    ("GOPROXY_URL", "GOPROXY"),
    ("GOSUMDB_URL", "GOSUMDB=\"<name>+<key> <url>\""),
];

/// Network variables that change how `go` reaches a proxy.
pub const NET_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Where each value of the effective configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Environment,
    GoenvFile,
    ToolchainDefault,
    Unset,
}

/// The Go configuration as `go` would see it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GoConfig {
    /// Relevant variables from the process environment (including empty ones).
    pub environment: BTreeMap<String, String>,
    /// The GOENV file's path, or None when GOENV=off.
    pub goenv_path: Option<PathBuf>,
    /// The GOENV file's entries (empty when it does not exist).
    pub goenv_file: BTreeMap<String, String>,
    /// Defaults of the installed Go toolchain (empty when no `go` was found).
    pub toolchain_defaults: BTreeMap<String, String>,
    /// The error `go` itself reports for this configuration (e.g. "parsing
    /// $GOFLAGS: unknown flag"), from a trial run; None when go accepts it
    /// or was not run.
    pub go_rejects: Option<String>,
    /// The GOROOT whose `go.env` supplied the defaults, when one was found.
    pub goroot: Option<PathBuf>,
}

impl GoConfig {
    /// The value `go` would use for `key`, and where it came from.
    /// Mirrors cmd/go's `cfg.Getenv`: a non-empty environment value wins,
    /// then the GOENV file, then the toolchain's `go.env`.
    pub fn get(&self, key: &str) -> (String, Source) {
        if let Some(v) = self.environment.get(key).filter(|v| !v.is_empty()) {
            return (v.clone(), Source::Environment);
        }
        if let Some(v) = self.goenv_file.get(key).filter(|v| !v.is_empty()) {
            return (v.clone(), Source::GoenvFile);
        }
        if let Some(v) = self.toolchain_defaults.get(key).filter(|v| !v.is_empty()) {
            return (v.clone(), Source::ToolchainDefault);
        }
        (String::new(), Source::Unset)
    }

    /// Just the effective value of `key` (empty when unset).
    pub fn value(&self, key: &str) -> String {
        self.get(key).0
    }

    /// The effective value of a network variable: upper case first, then
    /// lower case, the order Go's `httpproxy.FromEnvironment` uses.
    pub fn net_var(&self, upper: &str) -> String {
        let lower = upper.to_ascii_lowercase();
        for key in [upper, lower.as_str()] {
            if let Some(v) = self.environment.get(key).filter(|v| !v.is_empty()) {
                return v.clone();
            }
        }
        String::new()
    }

    /// GONOPROXY/GONOSUMDB default to GOPRIVATE when unset or empty.
    pub fn value_or_private(&self, key: &str) -> String {
        let v = self.value(key);
        if v.is_empty() {
            self.value("GOPRIVATE")
        } else {
            v
        }
    }
}

/// Parses a GOENV file the way cmd/go's `readEnvFile` does: `KEY=VALUE`
/// lines, keys starting with an upper-case ASCII letter, values verbatim,
/// later lines overriding earlier ones, everything else ignored.
pub fn parse_goenv_file(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !key.starts_with(|c: char| c.is_ascii_uppercase()) {
            continue;
        }
        out.insert(key.to_string(), value.to_string());
    }
    out
}

/// Where `go` looks for its GOENV file, given an environment lookup
/// function. None when GOENV=off or no config directory is known.
pub fn goenv_path(getenv: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match getenv("GOENV").filter(|v| !v.is_empty()) {
        Some(v) if v == "off" => return None,
        Some(v) => return Some(PathBuf::from(v)),
        None => {}
    }
    user_config_dir(getenv).map(|d| d.join("go").join("env"))
}

/// Go's `os.UserConfigDir`.
fn user_config_dir(getenv: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let nonempty = |k: &str| getenv(k).filter(|v| !v.is_empty());
    if cfg!(windows) {
        return nonempty("AppData").map(PathBuf::from);
    }
    if cfg!(target_os = "macos") {
        return nonempty("HOME").map(|h| Path::new(&h).join("Library").join("Application Support"));
    }
    if let Some(x) = nonempty("XDG_CONFIG_HOME") {
        return Some(PathBuf::from(x));
    }
    nonempty("HOME").map(|h| Path::new(&h).join(".config"))
}

impl Source {
    /// Where a value came from, for `--check` and the start-up log.
    pub fn describe(self, cfg: &GoConfig) -> String {
        match self {
            Source::Environment => "environment".into(),
            Source::GoenvFile => match &cfg.goenv_path {
                Some(p) => format!("GOENV file {}", p.display()),
                None => "GOENV file".into(),
            },
            Source::ToolchainDefault => match &cfg.goroot {
                Some(r) => format!("{}/go.env", r.display()),
                None => "the Go toolchain's defaults".into(),
            },
            Source::Unset => "unset".into(),
        }
    }
}

/// Is `dir` a GOROOT (cmd/go's `isGOROOT`: it has `pkg/tool`)?
fn is_goroot(dir: &Path) -> bool {
    dir.join("pkg").join("tool").is_dir()
}

/// cmd/go's `findGOROOT` without running `go`: `GOROOT` from the
/// environment or the GOENV file, else the directory two (or three) levels
/// above the `go` binary found on PATH, symlinks resolved.
pub fn find_goroot(
    getenv: &dyn Fn(&str) -> Option<String>,
    goenv_file: &BTreeMap<String, String>,
) -> Option<PathBuf> {
    let explicit = getenv("GOROOT")
        .filter(|v| !v.is_empty())
        .or_else(|| goenv_file.get("GOROOT").filter(|v| !v.is_empty()).cloned());
    if let Some(root) = explicit {
        return Some(PathBuf::from(root));
    }
    let path = getenv("PATH")?;
    let exe_name = if cfg!(windows) { "go.exe" } else { "go" };
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(exe_name);
        if !candidate.is_file() {
            continue;
        }
        let real = std::fs::canonicalize(&candidate).unwrap_or(candidate);
        for up in [2usize, 3] {
            let mut root = real.as_path();
            for _ in 0..up {
                root = root.parent()?;
            }
            if is_goroot(root) {
                return Some(root.to_path_buf());
            }
        }
        // The first `go` on PATH is the one `go` itself would be.
        return None;
    }
    None
}

impl GoConfig {
    /// Reads the configuration from `getenv` and the files it names, with
    /// no process run: the GOENV file and `$GOROOT/go.env`.
    pub fn read(getenv: &dyn Fn(&str) -> Option<String>) -> GoConfig {
        let mut environment = BTreeMap::new();
        let ignored = IGNORED_VARS.iter().map(|(k, _)| k);
        for key in GO_VARS
            .iter()
            .chain(NET_VARS)
            .chain(["GOENV", "GOROOT"].iter())
            .chain(ignored)
        {
            if let Some(v) = getenv(key) {
                environment.insert((*key).to_string(), v);
            }
        }
        let goenv_path = goenv_path(getenv);
        let goenv_file = match &goenv_path {
            Some(p) => std::fs::read_to_string(p)
                .map(|t| parse_goenv_file(&t))
                .unwrap_or_default(),
            None => BTreeMap::new(),
        };
        let goroot = find_goroot(getenv, &goenv_file);
        let toolchain_defaults = goroot
            .as_ref()
            .and_then(|r| std::fs::read_to_string(r.join("go.env")).ok())
            .map(|t| parse_goenv_file(&t))
            .unwrap_or_default();
        GoConfig {
            environment,
            goenv_path,
            goenv_file,
            toolchain_defaults,
            goroot,
            go_rejects: None,
        }
    }

    /// [`GoConfig::read`] of this process's environment.
    pub fn from_process() -> GoConfig {
        GoConfig::read(&|k: &str| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goenv_file_parsing_follows_cmd_go() {
        let m = parse_goenv_file(
            "GOPROXY=https://a.example,direct\n# comment\nlower=x\nNOEQ\nGOPRIVATE=\nGOPROXY=b\n",
        );
        assert_eq!(m.get("GOPROXY").map(String::as_str), Some("b"));
        assert_eq!(m.get("GOPRIVATE").map(String::as_str), Some(""));
        assert!(!m.contains_key("lower"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn precedence_env_then_file_then_default() {
        let mut c = GoConfig::default();
        c.toolchain_defaults
            .insert("GOPROXY".into(), "default".into());
        assert_eq!(
            c.get("GOPROXY"),
            ("default".into(), Source::ToolchainDefault)
        );
        c.goenv_file.insert("GOPROXY".into(), "file".into());
        assert_eq!(c.get("GOPROXY"), ("file".into(), Source::GoenvFile));
        c.environment.insert("GOPROXY".into(), String::new());
        assert_eq!(
            c.get("GOPROXY").1,
            Source::GoenvFile,
            "empty env value falls through"
        );
        c.environment.insert("GOPROXY".into(), "env".into());
        assert_eq!(c.get("GOPROXY"), ("env".into(), Source::Environment));
        assert_eq!(c.get("GOSUMDB"), (String::new(), Source::Unset));
    }

    #[test]
    fn goenv_path_rules() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(a, _)| *a == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(goenv_path(&env(&[("GOENV", "off"), ("HOME", "/h")])), None);
        assert_eq!(
            goenv_path(&env(&[("GOENV", "/x/env")])),
            Some(PathBuf::from("/x/env"))
        );
        if cfg!(target_os = "linux") {
            assert_eq!(
                goenv_path(&env(&[("HOME", "/h")])),
                Some(PathBuf::from("/h/.config/go/env"))
            );
            assert_eq!(
                goenv_path(&env(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/c")])),
                Some(PathBuf::from("/c/go/env"))
            );
        }
    }
}

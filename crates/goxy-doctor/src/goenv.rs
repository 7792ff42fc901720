//! The Go configuration as `go` sees it ([`goxy_goenv`]), plus what only
//! doctor needs: the toolchain's own answer (`go env -json` with a clean
//! environment) and whether `go` accepts the configuration at all.

pub use goxy_goenv::*;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

/// Reads the toolchain's defaults by running `go env -json` with a clean
/// environment (only PATH and HOME kept, GOENV=off), so neither the user's
/// environment nor their GOENV file colours the answer.
pub async fn toolchain_defaults(go: &str, timeout: Duration) -> BTreeMap<String, String> {
    let mut cmd = tokio::process::Command::new(go);
    cmd.args(["env", "-json", "GOPROXY", "GOSUMDB", "GOROOT", "GOVERSION"])
        .env_clear()
        .env("GOENV", "off")
        .env("GOTOOLCHAIN", "local")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for key in ["PATH", "HOME", "SystemRoot", "LOCALAPPDATA", "USERPROFILE"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    let output = match tokio::time::timeout(timeout, cmd.output()).await {
        Ok(Ok(o)) if o.status.success() => o,
        _ => return BTreeMap::new(),
    };
    serde_json::from_slice(&output.stdout).unwrap_or_default()
}

/// Runs `go list -m` in an empty directory with the user's own environment:
/// go parses GOFLAGS and the GOENV file first, so a configuration go cannot
/// use shows up as an error here. Returns go's first error line.
pub async fn go_rejects(go: &str, timeout: Duration) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("goxy-doctor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let mut cmd = tokio::process::Command::new(go);
    cmd.args(["list", "-m"])
        .current_dir(&dir)
        .env("GOWORK", "off")
        .env("GO111MODULE", "on")
        .env("GOTOOLCHAIN", "local")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let result = tokio::time::timeout(timeout, cmd.output()).await;
    let _ = std::fs::remove_dir_all(&dir);
    let output = result.ok()?.ok()?;
    if output.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

/// Reads the effective configuration from this process's environment, the
/// GOENV file and the `go` toolchain named `go` (skipped when `go` is None).
pub async fn load(go: Option<&str>) -> GoConfig {
    let mut cfg = GoConfig::from_process();
    if let Some(go) = go {
        let limit = Duration::from_secs(10);
        let (defaults, rejects) =
            tokio::join!(toolchain_defaults(go, limit), go_rejects(go, limit));
        cfg.toolchain_defaults = defaults;
        cfg.go_rejects = rejects;
    }
    cfg
}

//! Test support for goxy. Only tests and benchmarks depend on this crate.
//!
//! Everything here talks to loopback only and needs no network: the Go
//! reference programs under `tools/gotest` build from vendored sources.

pub mod gitfixture;
pub mod gocmd;
pub mod goxy;
pub mod http;
pub mod upstream;

pub use gocmd::{make_fixture, Fixture, ModDownload};
pub use goxy::GoxyProcess;
pub use http::{http_get, http_get_timeout, HttpResponse};
pub use upstream::{Fault, Upstream};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("tools").join("gotest").is_dir() {
        if !dir.pop() {
            panic!(
                "goxy-testkit: repository root not found above {}",
                env!("CARGO_MANIFEST_DIR")
            );
        }
    }
    dir
}

/// Is a `go` command available? Tests that need one as the reference skip when it is not.
pub fn have_go() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn tool_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo_root().join("target").join("gotest-bin");
        std::fs::create_dir_all(&dir).expect("create target/gotest-bin");
        dir
    })
}

/// Builds `tools/gotest/cmd/<name>` once per process (from vendored sources,
/// offline) and returns the path of the executable.
pub fn go_tool(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    let out = tool_dir().join(name);
    if !built.iter().any(|n| n == name) {
        let status = Command::new("go")
            .args(["build", "-mod=vendor", "-o"])
            .arg(&out)
            .arg(format!("./cmd/{name}"))
            .current_dir(repo_root().join("tools").join("gotest"))
            .env("GOFLAGS", "-mod=vendor")
            .env("GOWORK", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .status()
            .unwrap_or_else(|e| panic!("go build ./cmd/{name}: {e}"));
        assert!(status.success(), "go build ./cmd/{name} failed");
        built.push(name.to_string());
    }
    out
}

/// A `go` command isolated from the machine's own Go settings: no GOENV file,
/// local toolchain only, a private module cache and GOPATH under `home`,
/// checksum database off unless the caller sets GOSUMDB/GONOSUMDB itself.
pub fn isolated_go(home: &Path, goproxy: &str) -> Command {
    let mut cmd = Command::new("go");
    for var in [
        "GOFLAGS",
        "GONOSUMDB",
        "GONOPROXY",
        "GOPRIVATE",
        "GOINSECURE",
        "GOSUMDB",
        "GOPROXY",
        "GOMODCACHE",
        "GOPATH",
        "GOENV",
        "GOTOOLCHAIN",
        "GOWORK",
        "GOVCS",
        "GOAUTH",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("GOENV", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOPATH", home.join("gopath"))
        .env("GOMODCACHE", home.join("modcache"))
        .env("GOCACHE", home.join("gocache"))
        .env("GOFLAGS", "-modcacherw")
        .env("GOPROXY", goproxy)
        .env("GOSUMDB", "off")
        .env("GONOSUMDB", "")
        .env("GOPRIVATE", "")
        .env("GOINSECURE", "")
        .env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1");
    cmd
}

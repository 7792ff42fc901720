//! goxy with nothing but its defaults, in front of the machine's real module
//! proxy, as a new user starts it. Runs only when `go env GOPROXY` names a
//! proxy that answers; skips cleanly otherwise (CI needs no internet).
//!
//! This is the situation goxy is for: a network that reaches the module
//! proxy but perhaps not the checksum database's own host. goxy must reach
//! the database the way `go` does (through the proxy's `/sumdb/`), verify
//! every module, and give the same go.sum as `go` alone.

use goxy_testkit::goxy::GoxyProcess;
use goxy_testkit::http::http_get_timeout;
use std::path::Path;
use std::time::Duration;

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

/// The first proxy of `go env GOPROXY`, when it answers a module list.
fn reachable_proxy() -> Option<String> {
    if !goxy_testkit::have_go() {
        return None;
    }
    let out = std::process::Command::new("go")
        .args(["env", "GOPROXY"])
        .output()
        .ok()?;
    let list = String::from_utf8(out.stdout).ok()?;
    let first = list.trim().split([',', '|']).next()?.trim().to_string();
    if !first.starts_with("http") {
        return None;
    }
    // Ask it as go would (it may be https, which the test client does not speak).
    let home = tempfile::tempdir().ok()?;
    let out = goxy_testkit::isolated_go(home.path(), &first)
        .args(["list", "-m", "-versions", "github.com/google/uuid"])
        .current_dir(home.path())
        .output()
        .ok()?;
    let ok = out.status.success() && String::from_utf8_lossy(&out.stdout).contains("v1.6.0");
    ok.then(|| list.trim().to_string())
}

fn go(home: &Path, goproxy: &str, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = goxy_testkit::isolated_go(home, goproxy)
        // The toolchain's default database, as a new user has it.
        .env("GOSUMDB", "sum.golang.org")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run go");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn project(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("go.mod"),
        "module example.test/newuser\n\ngo 1.21\n\nrequire github.com/google/uuid v1.6.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/google/uuid\"\n)\n\nfunc main() { fmt.Println(uuid.NewString()) }\n",
    )
    .unwrap();
}

#[test]
fn defaults_only_goxy_serves_a_real_module_graph_verified() {
    let Some(goproxy) = reachable_proxy() else {
        eprintln!("skipping: go env GOPROXY names no reachable proxy");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // No options: only where its default cache directory is (XDG_CACHE_HOME)
    // and a free port (a fixed 8080 may be taken on a shared machine).
    // GOSUMDB is cleared so goxy reads it as go does (default: the public database).
    let xdg = tmp.path().join("xdg").to_string_lossy().into_owned();
    let goxy = GoxyProcess::start_with_env(
        goxy_bin(),
        &["serve"],
        &[
            ("XDG_CACHE_HOME", &xdg),
            ("GOXY_LISTEN", "127.0.0.1:0"),
            ("GOSUMDB", ""),
        ],
    )
    .unwrap();

    let through = tmp.path().join("through-goxy");
    project(&through);
    let home = tmp.path().join("home1");
    for args in [
        &["mod", "tidy"][..],
        &["mod", "download", "all"],
        &["mod", "verify"],
    ] {
        let (ok, out) = go(&home, &goxy.url, &through, args);
        assert!(
            ok,
            "go {args:?} through goxy: {out}\ngoxy log:\n{}",
            goxy.stderr()
        );
    }
    let alone = tmp.path().join("alone");
    project(&alone);
    let home = tmp.path().join("home2");
    for args in [&["mod", "tidy"][..], &["mod", "download", "all"]] {
        let (ok, out) = go(&home, &goproxy, &alone, args);
        assert!(ok, "go {args:?} alone: {out}");
    }
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    assert_eq!(read(&through, "go.mod"), read(&alone, "go.mod"));
    assert_eq!(read(&through, "go.sum"), read(&alone, "go.sum"));
    let metrics = http_get_timeout(&format!("{}/metrics", goxy.url), Duration::from_secs(10))
        .unwrap()
        .text();
    let verified = metrics
        .lines()
        .find_map(|l| l.strip_prefix("goxy_checksum_verifications_total{outcome=\"verified\"} "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(verified >= 2, "goxy verified nothing:\n{metrics}");
}

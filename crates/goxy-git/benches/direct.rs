//! Direct-fetch benchmark (not a test): a fixture repository with a long
//! history and many files, served on 127.0.0.78:80 over smart HTTP.
//! Prints goxy's first fetch of a version against `GOPROXY=direct go mod
//! download` of the same version (target ≤ 1.5x), and goxy's fetch of a second
//! version of the same repository against its first (target ≤ 0.2x).
//!
//! Run: `cargo bench -p goxy-git --bench direct` (needs `go` and port 80).

#[path = "../tests/common/mod.rs"]
mod common;

use goxy_git::{Credentials, DirectConfig, DirectFetcher};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const IP: &str = "127.0.0.78";
const FILES: usize = 3000;
const COMMITS: usize = 3000;

/// Builds `<root>/long.git` with `git fast-import`: FILES files, then COMMITS
/// one-file commits; tag v1.0.0 twenty commits before the end, v1.1.0 at the end.
fn build_repo(root: &Path) {
    let git_dir = root.join("long.git");
    let st = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&git_dir)
        .status()
        .expect("git init");
    assert!(st.success());
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .env("GIT_DIR", &git_dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    let mut s = Vec::new();
    let mut t = 1_600_000_000i64;
    let file = |i: usize, rev: usize| {
        format!(
            "package p{}\n\n// revision {rev}\nconst C{i} = \"{}\"\n",
            i % 50,
            "x".repeat(600 + i % 400)
        )
    };
    write!(
        s,
        "commit refs/heads/main\ncommitter F <f@example.com> {t} +0000\ndata 4\nbulk\n"
    )
    .ok();
    write!(
        s,
        "M 100644 inline go.mod\ndata {}\nmodule {IP}/long\n\ngo 1.21\n\n",
        format!("module {IP}/long\n\ngo 1.21\n").len()
    )
    .ok();
    for i in 0..FILES {
        let body = file(i, 0);
        write!(
            s,
            "M 100644 inline p{}/f{i}.go\ndata {}\n{body}\n",
            i % 50,
            body.len()
        )
        .ok();
    }
    for c in 1..=COMMITS {
        t += 60;
        let i = (c * 7919) % FILES;
        let body = file(i, c);
        write!(s, "commit refs/heads/main\ncommitter F <f@example.com> {t} +0000\ndata 6\nchange\nM 100644 inline p{}/f{i}.go\ndata {}\n{body}\n", i % 50, body.len()).ok();
        if c == COMMITS - 20 {
            write!(s, "reset refs/tags/v1.0.0\nfrom refs/heads/main\n\n").ok();
        }
    }
    write!(s, "reset refs/tags/v1.1.0\nfrom refs/heads/main\n\n").ok();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&s)
        .expect("write stream");
    assert!(child.wait().expect("wait").success(), "fast-import failed");
    let st = Command::new("git")
        .args(["gc", "-q"])
        .env("GIT_DIR", &git_dir)
        .status()
        .expect("gc");
    assert!(st.success());
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn goxy_fetch(f: &DirectFetcher, module: &str, version: &str) -> String {
    let t = Instant::now();
    let info = f.stat(module, version).await.expect("stat");
    let t_stat = t.elapsed();
    f.go_mod(module, &info.version).await.expect("go.mod");
    let t_mod = t.elapsed();
    let (_, h1) = f.zip_with_hash(module, &info.version).await.expect("zip");
    eprintln!(
        "  {version}: .info {t_stat:?}, .mod {:?}, .zip {:?}",
        t_mod - t_stat,
        t.elapsed() - t_mod
    );
    h1
}

fn main() {
    if !goxy_testkit::have_go() {
        eprintln!("SKIP: the benchmark compares with `go`, which is not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = common::Server::start(IP, &root) else {
        return;
    };
    server.add_import(&format!("{IP}/long"), "long.git", "");
    let t = Instant::now();
    build_repo(&root);
    eprintln!(
        "fixture: {FILES} files, {COMMITS} commits, built in {:?}",
        t.elapsed()
    );
    let module = format!("{IP}/long");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let runs = 3;
    let mut go_times = Vec::new();
    let mut go_sum = String::new();
    for i in 0..runs {
        let home = tmp.path().join(format!("gohome{i}"));
        let cwd = tmp.path().join("cwd");
        std::fs::create_dir_all(&cwd).expect("mkdir");
        let t = Instant::now();
        let out = goxy_testkit::isolated_go(&home, "direct")
            .env("GOINSECURE", IP)
            .env("GOPRIVATE", IP)
            .current_dir(&cwd)
            .args(["mod", "download", "-json", &format!("{module}@v1.0.0")])
            .output()
            .expect("go");
        go_times.push(t.elapsed());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("go json");
        go_sum = v
            .get("Sum")
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string();
    }
    let mut first_times = Vec::new();
    let mut second_times = Vec::new();
    let mut our_sum = String::new();
    for i in 0..runs {
        let f = DirectFetcher::new(DirectConfig {
            insecure: IP.into(),
            allow_private_addresses: true,
            credentials: Credentials::default(),
            ..DirectConfig::new(tmp.path().join(format!("cache{i}")))
        })
        .expect("fetcher");
        rt.block_on(async {
            let t = Instant::now();
            our_sum = goxy_fetch(&f, &module, "v1.0.0").await;
            first_times.push(t.elapsed());
            let t = Instant::now();
            goxy_fetch(&f, &module, "v1.1.0").await;
            second_times.push(t.elapsed());
        });
    }
    assert_eq!(our_sum, go_sum, "goxy and go disagree on the zip hash");
    profile_second_version(&tmp.path().join("cache0"), &module);
    // The same version again with a new fetcher over the warm cache: no
    // transfer, so this is the local cost (ref check, archive, zip, h1).
    let warm = DirectFetcher::new(DirectConfig {
        insecure: IP.into(),
        allow_private_addresses: true,
        credentials: Credentials::default(),
        ..DirectConfig::new(tmp.path().join("cache0"))
    })
    .expect("fetcher");
    rt.block_on(async {
        let t = Instant::now();
        let info = warm.stat(&module, "v1.1.0").await.expect("stat");
        let t_stat = t.elapsed();
        warm.zip_with_hash(&module, &info.version)
            .await
            .expect("zip");
        println!(
            "    goxy v1.1.0 again, new fetcher on the warm cache: .info {t_stat:?}, .zip {:?}",
            t.elapsed() - t_stat
        );
    });
    let (go, first, second) = (median(go_times), median(first_times), median(second_times));
    let r1 = first.as_secs_f64() / go.as_secs_f64();
    let r2 = second.as_secs_f64() / first.as_secs_f64();
    println!("direct fetch of {module} ({FILES} files, {COMMITS} commits), median of {runs}:");
    println!("  go mod download (GOPROXY=direct) v1.0.0: {go:?}");
    println!(
        "  goxy first fetch v1.0.0:                 {first:?}  ratio {r1:.2}x (target <= 1.5x) {}",
        if r1 <= 1.5 { "OK" } else { "MISSED" }
    );
    println!("  goxy second version v1.1.0 (same repo):  {second:?}  ratio {r2:.2}x of first (target <= 0.2x) {}", if r2 <= 0.2 { "OK" } else { "MISSED" });
}

/// Where a second version's zip time goes: `git archive` of the tree alone,
/// then goxy's whole zip (archive + unpack + module zip + h1) for comparison.
fn profile_second_version(cache: &Path, module: &str) {
    let Some(repo) = std::fs::read_dir(cache.join("git"))
        .ok()
        .and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path())))
    else {
        eprintln!("profile: no cached repository under {}", cache.display());
        return;
    };
    let time = |args: &[&str]| {
        let t = Instant::now();
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&repo)
            .args(args)
            .output()
            .expect("git");
        (t.elapsed(), out.stdout.len())
    };
    let (stored, stored_len) = time(&["archive", "--format=zip", "-0", "refs/tags/v1.1.0"]);
    let (deflated, deflated_len) = time(&["archive", "--format=zip", "refs/tags/v1.1.0"]);
    println!("  profile of {module}@v1.1.0 zip, from the warm cache:");
    println!("    git archive -0 (what goxy runs): {stored:?} ({stored_len} bytes)");
    println!("    git archive, deflated (before):  {deflated:?} ({deflated_len} bytes)");
}

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

/// A fetcher for the fixture host with its cache at `cache`.
fn fetcher(cache: &Path, zip_from_tree: bool) -> DirectFetcher {
    DirectFetcher::new(DirectConfig {
        insecure: IP.into(),
        allow_private_addresses: true,
        credentials: Credentials::default(),
        zip_from_tree,
        ..DirectConfig::new(cache)
    })
    .expect("fetcher")
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
    // RUST_LOG=goxy_git=debug shows every git command with its duration.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
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
    let go_download = |home: &Path, version: &str| -> (Duration, String) {
        let cwd = tmp.path().join("cwd");
        std::fs::create_dir_all(&cwd).expect("mkdir");
        let t = Instant::now();
        let out = goxy_testkit::isolated_go(home, "direct")
            .env("GOINSECURE", IP)
            .env("GOPRIVATE", IP)
            .current_dir(&cwd)
            .args(["mod", "download", "-json", &format!("{module}@{version}")])
            .output()
            .expect("go");
        let elapsed = t.elapsed();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("go json");
        let sum = v.get("Sum").and_then(|s| s.as_str()).unwrap_or("");
        assert!(sum.starts_with("h1:"), "go mod download {version}: {v}");
        (elapsed, sum.to_string())
    };
    let mut go_times = Vec::new();
    let mut go_sums = Vec::new();
    for i in 0..runs {
        let (elapsed, sum) = go_download(&tmp.path().join(format!("gohome{i}")), "v1.0.0");
        go_times.push(elapsed);
        go_sums.push(sum);
    }
    let go_second_sum = go_download(&tmp.path().join("gohome0"), "v1.1.0").1;

    let (mut first_times, mut complete_times, mut second_times, mut new_tag_times) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut new_tags = Vec::new();
    for (i, go_first_sum) in go_sums.iter().enumerate() {
        let f = fetcher(&tmp.path().join(format!("cache{i}")), true);
        rt.block_on(async {
            // First version into an empty cache: one tag at depth 1, the zip built from scratch.
            let t = Instant::now();
            let sum = goxy_fetch(&f, &module, "v1.0.0").await;
            first_times.push(t.elapsed());
            assert_eq!(&sum, go_first_sum, "goxy and go disagree on v1.0.0");
            // The rest of the repository arrives in the background meanwhile.
            let t = Instant::now();
            f.settle().await;
            complete_times.push(t.elapsed());
            // Second version, its tag already in the completed cache: no
            // network, and the zip reuses every unchanged file of v1.0.0.
            let t = Instant::now();
            let sum = goxy_fetch(&f, &module, "v1.1.0").await;
            second_times.push(t.elapsed());
            assert_eq!(sum, go_second_sum, "goxy and go disagree on v1.1.0");
            // A version tagged after the cache was completed: one incremental fetch.
            let tag = format!("v1.2.{i}");
            add_tagged_commit(&root, i, &tag);
            let t = Instant::now();
            goxy_fetch(&f, &module, &tag).await;
            new_tag_times.push(t.elapsed());
            new_tags.push(tag);
        });
    }
    let last_tag = new_tags.last().cloned().unwrap_or_default();
    let go_new_sum = go_download(&tmp.path().join("gohome1"), &last_tag).1;
    let f = fetcher(&tmp.path().join(format!("cache{}", runs - 1)), true);
    let ours_new = rt.block_on(goxy_fetch(&f, &module, &last_tag));
    assert_eq!(ours_new, go_new_sum, "goxy and go disagree on {last_tag}");
    profile_second_version(&tmp.path().join("cache0"), &module);
    // The local cost of a zip with nothing to reuse, both ways, on the warm cache.
    for (how, from_tree) in [("git archive", false), ("tree + blobs", true)] {
        let mut times = Vec::new();
        for _ in 0..3 {
            // A new fetcher each time: empty reuse cache, warm git cache.
            let f = fetcher(&tmp.path().join("cache0"), from_tree);
            let t = Instant::now();
            rt.block_on(f.zip_with_hash(&module, "v1.1.0"))
                .expect("zip");
            times.push(t.elapsed());
        }
        println!("    v1.1.0 zip from scratch via {how}: {:?} (median of 3, warm git cache, nothing to reuse)", median(times));
    }
    let (go, first, complete, second, new_tag) = (
        median(go_times),
        median(first_times),
        median(complete_times),
        median(second_times),
        median(new_tag_times),
    );
    let r1 = first.as_secs_f64() / go.as_secs_f64();
    let r2 = second.as_secs_f64() / first.as_secs_f64();
    let r3 = new_tag.as_secs_f64() / first.as_secs_f64();
    let verdict = |ok: bool| if ok { "OK" } else { "MISSED" };
    println!("direct fetch of {module} ({FILES} files, {COMMITS} commits), median of {runs}, each fetch = .info + .mod + .zip:");
    println!("  go mod download (GOPROXY=direct) v1.0.0:      {go:?}");
    println!(
        "  goxy first fetch v1.0.0 (empty cache):        {first:?}  ratio {r1:.2}x of go (target <= 1.5x) {}",
        verdict(r1 <= 1.5)
    );
    println!("  background completion after it (not in the first fetch): {complete:?} more");
    println!(
        "  goxy second version v1.1.0 (same repo):       {second:?}  ratio {r2:.2}x of first (target <= 0.2x) {}",
        verdict(r2 <= 0.2)
    );
    println!(
        "  goxy version tagged after completion:         {new_tag:?}  ratio {r3:.2}x of first (one incremental git fetch)"
    );
}

/// Adds a commit changing one file on main in the served repository and tags it `tag`.
fn add_tagged_commit(root: &Path, n: usize, tag: &str) {
    let body = format!("package p1\n\n// new revision {n}\nconst C1 = \"y\"\n");
    let stream = format!(
        "commit refs/heads/main\ncommitter F <f@example.com> {} +0000\ndata 4\nnext\nfrom refs/heads/main^0\nM 100644 inline p1/f1.go\ndata {}\n{body}\nreset refs/tags/{tag}\nfrom refs/heads/main\n\n",
        1_700_000_000 + n as i64 * 60,
        body.len()
    );
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .env("GIT_DIR", root.join("long.git"))
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stream.as_bytes())
        .expect("write stream");
    assert!(child.wait().expect("wait").success(), "fast-import failed");
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

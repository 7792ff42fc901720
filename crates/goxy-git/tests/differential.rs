//! Differential test: for every fixture module@query, goxy's direct fetcher
//! must agree with `GOPROXY=direct go mod download` against the same
//! repositories — same resolved version, same go.mod h1, same zip h1, and an
//! error exactly where `go` reports one. Requires `go` (the reference; goxy
//! itself never runs it) and binding 127.0.0.73:80.

mod common;

use common::{differential_fixtures, Server};
use goxy_git::{hash_go_mod, Credentials, DirectConfig, DirectFetcher};
use std::path::Path;

const IP: &str = "127.0.0.73";

struct GoResult {
    version: String,
    time: String,
    sum: String,
    gomod_sum: String,
    error: String,
}

fn go_download(home: &Path, cwd: &Path, module: &str, query: &str) -> GoResult {
    let out = goxy_testkit::isolated_go(home, "direct")
        .env("GOINSECURE", IP)
        .env("GONOSUMDB", IP)
        .env("GOPRIVATE", IP)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .current_dir(cwd)
        .args(["mod", "download", "-json", &format!("{module}@{query}")])
        .output()
        .expect("run go");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        serde_json::json!({"Error": format!("no json: {}", String::from_utf8_lossy(&out.stderr))})
    });
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let time = std::fs::read(s("Info"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|i| i.get("Time").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_default();
    let mut error = s("Error");
    if error.is_empty() && !out.status.success() {
        error = format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    GoResult {
        version: s("Version"),
        time,
        sum: s("Sum"),
        gomod_sum: s("GoModSum"),
        error,
    }
}

/// `go list -m -versions -retracted mod@latest` → the version list (None when go cannot resolve latest).
fn go_list_versions(home: &Path, cwd: &Path, module: &str) -> Option<Vec<String>> {
    let out = goxy_testkit::isolated_go(home, "direct")
        .env("GOINSECURE", IP)
        .env("GONOSUMDB", IP)
        .env("GOPRIVATE", IP)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .current_dir(cwd)
        .args([
            "list",
            "-m",
            "-json",
            "-versions",
            "-retracted",
            &format!("{module}@latest"),
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        v.get("Versions")
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

struct GoxyResult {
    version: String,
    time: String,
    sum: String,
    gomod_sum: String,
    error: String,
    not_found: bool,
}

async fn goxy_download(f: &DirectFetcher, module: &str, query: &str) -> GoxyResult {
    let mut r = GoxyResult {
        version: String::new(),
        time: String::new(),
        sum: String::new(),
        gomod_sum: String::new(),
        error: String::new(),
        not_found: false,
    };
    let info = match if query == "latest" {
        f.latest(module).await
    } else {
        f.stat(module, query).await
    } {
        Ok(i) => i,
        Err(e) => {
            r.not_found = e.is_not_found();
            r.error = e.to_string();
            return r;
        }
    };
    r.version = info.version.clone();
    r.time = info.time.clone();
    match f.go_mod(module, &info.version).await {
        Ok(g) => r.gomod_sum = hash_go_mod(&g),
        Err(e) => {
            r.not_found = e.is_not_found();
            r.error = e.to_string();
            return r;
        }
    }
    match f.zip_with_hash(module, &info.version).await {
        Ok((_, h1)) => r.sum = h1,
        Err(e) => {
            r.not_found = e.is_not_found();
            r.error = e.to_string();
        }
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goxy_matches_go_mod_download_direct() {
    if !goxy_testkit::have_go() {
        eprintln!("SKIP: no go command for the reference side");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = Server::start(IP, &root) else {
        return;
    };
    let cases = differential_fixtures(&server, &root, &work);
    let repos = std::fs::read_dir(&root).map(|d| d.count()).unwrap_or(0);
    assert!(
        repos >= 30,
        "expected at least 30 fixture repositories, have {repos}"
    );

    let home = tmp.path().join("gohome");
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("mkdir");
    // goxy's side runs with a PATH that has git but no go: the fetcher never needs a toolchain.
    let git_bin = std::path::PathBuf::from(
        String::from_utf8_lossy(
            &std::process::Command::new("sh")
                .args(["-c", "command -v git"])
                .output()
                .expect("sh")
                .stdout,
        )
        .trim(),
    );
    let git_dir = git_bin.parent().expect("git directory").to_path_buf();
    let path_without_go = std::env::join_paths([git_dir.clone(), "/bin".into()]).expect("PATH");
    for dir in [git_dir.as_path(), Path::new("/bin")] {
        assert!(
            !dir.join("go").exists(),
            "{} holds a go binary; pick another PATH for the test",
            dir.display()
        );
    }
    let fetcher = DirectFetcher::new(DirectConfig {
        git_path_env: Some(path_without_go),
        insecure: IP.to_string(),
        allow_private_addresses: true,
        credentials: Credentials::default(),
        ..DirectConfig::new(tmp.path().join("goxy-cache"))
    })
    .expect("fetcher");

    let mut failures = Vec::new();
    let (mut compared, mut agreed_errors, mut lists_compared) = (0, 0, 0);
    for c in &cases {
        let mut queries = c.queries.clone();
        if c.latest {
            queries.push("latest".into());
        }
        for q in &queries {
            let go = go_download(&home, &cwd, &c.module, q);
            let ours = goxy_download(&fetcher, &c.module, q).await;
            compared += 1;
            let label = format!("{}@{q}", c.module);
            match (go.error.is_empty(), ours.error.is_empty()) {
                (true, true) => {
                    if (go.version.as_str(), go.gomod_sum.as_str(), go.sum.as_str())
                        != (
                            ours.version.as_str(),
                            ours.gomod_sum.as_str(),
                            ours.sum.as_str(),
                        )
                    {
                        failures.push(format!(
                            "{label}: go {} {} {} | goxy {} {} {}",
                            go.version,
                            go.gomod_sum,
                            go.sum,
                            ours.version,
                            ours.gomod_sum,
                            ours.sum
                        ));
                    }
                    if go.time != ours.time {
                        failures.push(format!(
                            "{label}: .info Time: go {} | goxy {}",
                            go.time, ours.time
                        ));
                    }
                }
                (false, false) => {
                    agreed_errors += 1;
                    if !ours.not_found {
                        failures.push(format!(
                            "{label}: both fail but goxy's error is not authoritative: {}",
                            ours.error
                        ));
                    }
                }
                (true, false) => failures.push(format!(
                    "{label}: go ok ({} {}) but goxy failed: {}",
                    go.version, go.sum, ours.error
                )),
                (false, true) => failures.push(format!(
                    "{label}: go failed ({}) but goxy gave {} {}",
                    go.error.lines().next().unwrap_or(""),
                    ours.version,
                    ours.sum
                )),
            }
        }
        if let Some(go_versions) = go_list_versions(&home, &cwd, &c.module) {
            lists_compared += 1;
            match fetcher.list(&c.module).await {
                Ok(got) if got == go_versions => {}
                Ok(got) => failures.push(format!(
                    "{} list: go {go_versions:?}, goxy {got:?}",
                    c.module
                )),
                Err(e) => failures.push(format!(
                    "{} list: go {go_versions:?}, goxy failed: {e}",
                    c.module
                )),
            }
        }
        if let Some(want) = &c.list {
            match fetcher.list(&c.module).await {
                Ok(got) if &got == want => {}
                Ok(got) => failures.push(format!("{} list: want {want:?}, got {got:?}", c.module)),
                Err(e) => failures.push(format!("{} list failed: {e}", c.module)),
            }
        }
    }
    assert!(
        lists_compared >= 20,
        "only {lists_compared} version lists could be compared with go"
    );
    eprintln!(
        "compared {lists_compared} version lists and {compared} module@query pairs over {} cases; {agreed_errors} agreed errors",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

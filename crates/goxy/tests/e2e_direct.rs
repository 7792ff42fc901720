//! End to end: `goxy serve` fetching modules directly from git, proven with
//! the real `go` command on both sides.
//!
//! - Differential: every module@query of the goxy-git differential fixture
//!   set (≥ 30 repositories served by `git http-backend` with a go-import
//!   page on 127.0.0.80:80) is downloaded by `go` through goxy
//!   (`--upstream direct`) and by `GOPROXY=direct GOINSECURE=<host> go`; the
//!   resolved version, zip hash and go.mod hash must be equal, and `go` must
//!   fail through goxy exactly when it fails direct. goxy runs with a PATH
//!   that holds git but no `go`.
//! - Private routing (127.0.0.81): modules matching the private patterns go
//!   only to git — the HTTP upstream and the checksum database never see a
//!   request for them — while public modules still come from the upstream.
//! - Repository override: `[[direct.repos]]` in the config file serves a
//!   module whose host has no go-import page.
//!
//! Binding port 80 on those loopback addresses needs root or
//! CAP_NET_BIND_SERVICE; the tests skip when that (or `go`) is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use goxy_testkit::gitfixture::{differential_fixtures, Case, Repo, Server};
use goxy_testkit::gocmd::make_fixture;
use goxy_testkit::goxy::GoxyProcess;
use goxy_testkit::upstream::Upstream;

const DIFF_IP: &str = "127.0.0.80";
const PRIVATE_IP: &str = "127.0.0.81";
/// The test checksum database key (protocol.md §7.7 item 65).
const TEST_VKEY: &str =
    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

/// A directory holding only `git` and `sh` (symlinks), for goxy's PATH: goxy
/// must fetch directly without any Go toolchain.
fn path_without_go(dir: &Path) -> String {
    let bin = dir.join("bin-no-go");
    std::fs::create_dir_all(&bin).expect("mkdir bin-no-go");
    for tool in ["git", "sh"] {
        let out = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .expect("sh");
        let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!found.is_empty(), "{tool} not on PATH");
        let link = bin.join(tool);
        if !link.exists() {
            std::os::unix::fs::symlink(&found, &link).expect("symlink");
        }
    }
    assert!(!bin.join("go").exists());
    bin.to_string_lossy().into_owned()
}

/// Environment for goxy: no go on PATH, no Go settings of the machine, an
/// empty HOME (no .netrc).
fn goxy_env(tmp: &Path) -> Vec<(String, String)> {
    let home = tmp.join("goxy-home");
    std::fs::create_dir_all(&home).expect("mkdir goxy-home");
    vec![
        ("PATH".into(), path_without_go(tmp)),
        ("HOME".into(), home.to_string_lossy().into_owned()),
        ("GOSUMDB".into(), "off".into()),
        ("GOPRIVATE".into(), String::new()),
        ("GONOPROXY".into(), String::new()),
        ("GONOSUMDB".into(), String::new()),
        ("GOINSECURE".into(), String::new()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
    ]
}

fn start_goxy(tmp: &Path, cache: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> GoxyProcess {
    let cache = cache.to_string_lossy().into_owned();
    let mut all = vec!["serve", "--listen", "127.0.0.1:0", "--cache-dir", &cache];
    all.extend_from_slice(args);
    let mut env = goxy_env(tmp);
    for (k, v) in extra_env {
        env.retain(|(name, _)| name != k);
        env.push((k.to_string(), v.to_string()));
    }
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    GoxyProcess::start_with_env(goxy_bin(), &all, &env_refs).expect("start goxy")
}

/// What `go mod download -json M@Q` reported.
#[derive(Debug, Default, Clone, PartialEq)]
struct Download {
    version: String,
    sum: String,
    gomod_sum: String,
    /// The extracted module directory (differs between module caches; not compared).
    dir: String,
    error: String,
}

impl Download {
    fn ok(&self) -> bool {
        self.error.is_empty()
    }
}

/// The `go` command as a client: one GOPATH, a fresh module cache for every
/// command (so nothing fetched earlier can answer for goxy).
struct GoClient {
    home: PathBuf,
    cwd: PathBuf,
    caches: PathBuf,
    runs: std::cell::Cell<usize>,
}

impl GoClient {
    fn new(tmp: &Path) -> GoClient {
        let cwd = tmp.join("cwd");
        std::fs::create_dir_all(&cwd).expect("mkdir cwd");
        GoClient {
            home: tmp.join("gohome"),
            cwd,
            caches: tmp.join("modcaches"),
            runs: Default::default(),
        }
    }

    /// `go` through `goproxy` ("direct" adds GOINSECURE for `insecure_host`).
    fn cmd(&self, goproxy: &str, insecure_host: &str) -> Command {
        self.runs.set(self.runs.get() + 1);
        let modcache = self.caches.join(format!("mc{}", self.runs.get()));
        std::fs::create_dir_all(&modcache).expect("mkdir modcache");
        let mut cmd = goxy_testkit::isolated_go(&self.home, goproxy);
        cmd.env("GOMODCACHE", modcache)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .current_dir(&self.cwd);
        if goproxy == "direct" {
            cmd.env("GOINSECURE", insecure_host);
        }
        cmd
    }

    fn download(&self, goproxy: &str, insecure_host: &str, target: &str) -> Download {
        download(self.cmd(goproxy, insecure_host), target)
    }

    fn list_latest(
        &self,
        goproxy: &str,
        insecure_host: &str,
        module: &str,
    ) -> Result<(String, Vec<String>), String> {
        list_json(self.cmd(goproxy, insecure_host), module)
    }

    fn list_versions(
        &self,
        goproxy: &str,
        insecure_host: &str,
        module: &str,
    ) -> Result<Vec<String>, String> {
        list_json(self.cmd(goproxy, insecure_host), module).map(|(_, versions)| versions)
    }

    /// Each `module@query` through goxy must succeed direct and give the same result through goxy.
    fn assert_same_as_direct(
        &self,
        goxy: &GoxyProcess,
        host: &str,
        module: &str,
        queries: &[&str],
        label: &str,
    ) {
        for q in queries {
            let target = format!("{module}@{q}");
            let direct = self.download("direct", host, &target);
            let proxied = self.download(&goxy.url, host, &target);
            assert!(direct.ok(), "{target} direct: {}", direct.error);
            assert_eq!(
                same(&proxied),
                same(&direct),
                "{target} through goxy ({label})\ngoxy log:\n{}",
                tail(&goxy.stderr(), 30)
            );
        }
    }
}

fn download(mut cmd: Command, target: &str) -> Download {
    let out = cmd
        .args(["mod", "download", "-json", target])
        .output()
        .expect("run go");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        serde_json::json!({"Error": format!("no json: {}", String::from_utf8_lossy(&out.stderr))})
    });
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let mut error = s("Error");
    if error.is_empty() && !out.status.success() {
        error = format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Download {
        version: s("Version"),
        sum: s("Sum"),
        gomod_sum: s("GoModSum"),
        dir: s("Dir"),
        error,
    }
}

/// `go list -m -json -versions -retracted M@latest`: Ok((latest version,
/// versions)) or Err(stderr).
fn list_json(mut cmd: Command, module: &str) -> Result<(String, Vec<String>), String> {
    let out = cmd
        .args([
            "list",
            "-m",
            "-json",
            "-versions",
            "-retracted",
            &format!("{module}@latest"),
        ])
        .output()
        .expect("run go");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("json: {e}"))?;
    let latest = v
        .get("Version")
        .and_then(|x| x.as_str())
        .unwrap_or("")
        .to_string();
    let versions = v
        .get("Versions")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok((latest, versions))
}

#[test]
fn go_through_goxy_direct_matches_go_direct_on_every_fixture() {
    if !goxy_testkit::have_go() {
        eprintln!("SKIP: no go command for the reference side");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tmp = tmp.path();
    let root = tmp.join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = Server::start(DIFF_IP, &root) else {
        return;
    };
    let cases: Vec<Case> = differential_fixtures(&server, &root, &tmp.join("work"));
    let repos = std::fs::read_dir(&root).map(|d| d.count()).unwrap_or(0);
    assert!(
        repos >= 30,
        "expected at least 30 fixture repositories, have {repos}"
    );

    let goxy = start_goxy(
        tmp,
        &tmp.join("cache"),
        &[
            "--upstream",
            "direct",
            "--direct-allow-private",
            "--insecure",
            DIFF_IP,
            "--sumdb",
            "off",
        ],
        &[],
    );
    let go = GoClient::new(tmp);

    let mut failures = Vec::new();
    let (mut compared, mut agreed_ok, mut agreed_errors, mut lists) = (0, 0, 0, 0);
    for c in &cases {
        // Lists first: goxy's list also names versions it has cached, so after
        // an explicit download of a version the tags hide (e.g. an
        // +incompatible one), the lists would differ by design.
        let direct = go.list_latest("direct", DIFF_IP, &c.module);
        let proxied = go.list_latest(&goxy.url, DIFF_IP, &c.module);
        match (&direct, &proxied) {
            (Ok(d), Ok(p)) => {
                lists += 1;
                if d != p {
                    failures.push(format!(
                        "{} list and @latest: direct {d:?} | goxy {p:?}",
                        c.module
                    ));
                }
            }
            (Err(_), Err(_)) => {}
            (Ok(d), Err(e)) => failures.push(format!(
                "{} list: direct {d:?} but through goxy: {}",
                c.module,
                e.lines().next().unwrap_or("")
            )),
            (Err(e), Ok(p)) => failures.push(format!(
                "{} list: direct failed ({}) but goxy listed {p:?}",
                c.module,
                e.lines().next().unwrap_or("")
            )),
        }
        if let (Some(want), Ok((_, p))) = (&c.list, &proxied) {
            if want != p {
                failures.push(format!(
                    "{} list through goxy: want {want:?}, got {p:?}",
                    c.module
                ));
            }
        }
        let mut queries = c.queries.clone();
        if c.latest {
            queries.push("latest".into());
        }
        for q in &queries {
            let target = format!("{}@{q}", c.module);
            let direct = go.download("direct", DIFF_IP, &target);
            let proxied = go.download(&goxy.url, DIFF_IP, &target);
            compared += 1;
            match (direct.ok(), proxied.ok()) {
                (true, true) => {
                    agreed_ok += 1;
                    if (&direct.version, &direct.sum, &direct.gomod_sum)
                        != (&proxied.version, &proxied.sum, &proxied.gomod_sum)
                    {
                        failures.push(format!(
                            "{target}: direct {} {} {} | goxy {} {} {}",
                            direct.version,
                            direct.sum,
                            direct.gomod_sum,
                            proxied.version,
                            proxied.sum,
                            proxied.gomod_sum
                        ));
                    }
                }
                (false, false) => agreed_errors += 1,
                (true, false) => failures.push(format!(
                    "{target}: direct ok ({} {}) but through goxy: {}",
                    direct.version,
                    direct.sum,
                    proxied.error.lines().next().unwrap_or("")
                )),
                (false, true) => failures.push(format!(
                    "{target}: direct failed ({}) but goxy served {} {}",
                    direct.error.lines().next().unwrap_or(""),
                    proxied.version,
                    proxied.sum
                )),
            }
        }
    }
    eprintln!(
        "compared {compared} module@query pairs over {} modules ({agreed_ok} same sums, {agreed_errors} agreed errors) and {lists} version lists",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}\ngoxy log (tail):\n{}",
        failures.len(),
        failures.join("\n"),
        tail(&goxy.stderr(), 40)
    );
    assert!(
        agreed_ok >= 60,
        "only {agreed_ok} successful downloads compared"
    );
    assert!(
        agreed_errors >= 20,
        "only {agreed_errors} failing queries compared"
    );
    assert!(lists >= 20, "only {lists} version lists compared");
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A module with two tagged versions and a later untagged commit at `<ip>/priv`.
fn private_repo(server: &Server, root: &Path, work: &Path) -> String {
    let module = format!("{}/priv", server.ip);
    server.add_import(&module, "priv.git", "");
    let mut r = Repo::new(root, work, "priv.git");
    r.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("p.go", "package priv\n");
    r.commit("one");
    r.tag("v1.0.0");
    r.write("q.go", "package priv\n");
    r.commit("two");
    r.tag("v1.1.0");
    module
}

/// The parts of a download that must agree between goxy and direct.
fn same(d: &Download) -> (&str, &str, &str, &str) {
    (&d.version, &d.sum, &d.gomod_sum, &d.error)
}

/// Every path the upstream was asked for that names `needle`.
fn hits_naming(upstream: &Upstream, needle: &str) -> Vec<String> {
    upstream
        .all_hits()
        .into_iter()
        .filter(|(path, _)| path.contains(needle))
        .map(|(path, count)| format!("{path} ×{count}"))
        .collect()
}

#[test]
fn private_modules_go_only_to_git_never_to_the_upstream_or_the_checksum_database() {
    if !goxy_testkit::have_go() {
        eprintln!("SKIP: no go command");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tmp = tmp.path();
    let root = tmp.join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = Server::start(PRIVATE_IP, &root) else {
        return;
    };
    let module = private_repo(&server, &root, &tmp.join("work"));
    let fixture = make_fixture(&tmp.join("fixture"), false).expect("mkfixture");
    let upstream = Upstream::start(&fixture.proxy_dir).expect("upstream");
    // A copy of the private module in the upstream's tree: were goxy to ask
    // the upstream, it would find something (and the hit counter would show it).
    let decoy = fixture.proxy_dir.join(&module).join("@v");
    std::fs::create_dir_all(&decoy).expect("mkdir decoy");
    std::fs::write(decoy.join("list"), "v1.0.0\nv9.9.9\n").expect("write decoy");

    let go = GoClient::new(tmp);
    let public = "example.test/dep01@v1.0.0";

    // 1. --private on the command line, no checksum database.
    let goxy = start_goxy(
        tmp,
        &tmp.join("cache1"),
        &[
            "--upstream",
            &upstream.url(),
            "--private",
            PRIVATE_IP,
            "--direct-allow-private",
            "--insecure",
            PRIVATE_IP,
            "--sumdb",
            "off",
        ],
        &[],
    );
    go.assert_same_as_direct(
        &goxy,
        PRIVATE_IP,
        &module,
        &["v1.0.0", "v1.1.0", "main", "latest"],
        "--private",
    );
    let listed = go.list_versions(&goxy.url, PRIVATE_IP, &module);
    assert_eq!(
        listed,
        Ok(vec!["v1.0.0".to_string(), "v1.1.0".to_string()]),
        "list from git, not the decoy"
    );
    let leaked = hits_naming(&upstream, PRIVATE_IP);
    assert!(
        leaked.is_empty(),
        "private module requests reached the upstream: {leaked:?}"
    );
    // A public module still comes from the upstream.
    let got = go.download(&goxy.url, "", public);
    assert!(got.ok(), "{public} through goxy: {}", got.error);
    assert!(
        !hits_naming(&upstream, "example.test/dep01/@v/v1.0.0").is_empty(),
        "the public module did not come from the upstream: {:?}",
        upstream.all_hits()
    );
    drop(goxy);

    // 2. GOPRIVATE from the environment, with a checksum database configured
    // (served by a counting fixture server that knows no records): private
    // modules cause no lookup; public ones do.
    let sumdb_tree = tmp.join("sumdb-tree");
    std::fs::create_dir_all(&sumdb_tree).expect("mkdir");
    let sumdb = Upstream::start(&sumdb_tree).expect("sumdb fixture");
    let config = tmp.join("goxy.toml");
    std::fs::write(
        &config,
        format!(
            "[[sumdb]]\nname = \"localhost.localdev/sumdb\"\nkey = \"{TEST_VKEY}\"\nurl = \"{}\"\n",
            sumdb.url()
        ),
    )
    .expect("write config");
    upstream.reset_hits();
    let config_arg = config.to_string_lossy().into_owned();
    let upstream_url = upstream.url();
    let goxy = start_goxy(
        tmp,
        &tmp.join("cache2"),
        &[
            "--config",
            &config_arg,
            "--upstream",
            &upstream_url,
            "--direct-allow-private",
            "--insecure",
            PRIVATE_IP,
            "--sumdb-verify",
            "verify",
        ],
        &[("GOPRIVATE", PRIVATE_IP)],
    );
    go.assert_same_as_direct(
        &goxy,
        PRIVATE_IP,
        &module,
        &["v1.0.0", "main"],
        "GOPRIVATE, checksum database configured",
    );
    let leaked = hits_naming(&upstream, PRIVATE_IP);
    assert!(
        leaked.is_empty(),
        "private module requests reached the upstream: {leaked:?}"
    );
    let looked_up = hits_naming(&sumdb, PRIVATE_IP);
    assert!(
        looked_up.is_empty(),
        "private module looked up in the checksum database: {looked_up:?}"
    );
    // The counter does see lookups: a public module is looked up (and, the
    // database knowing no record for it, not served as verified).
    let _ = go.download(&goxy.url, "", public);
    assert!(
        !hits_naming(&sumdb, "lookup/example.test/dep01@v1.0.0").is_empty(),
        "no lookup for the public module; database requests: {:?}\ngoxy log:\n{}",
        sumdb.all_hits(),
        tail(&goxy.stderr(), 30)
    );
}

#[test]
fn repo_override_serves_a_module_whose_host_has_no_go_import_page() {
    if !goxy_testkit::have_go() {
        eprintln!("SKIP: no go command");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tmp = tmp.path();
    let root = tmp.join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    // Any free port on 127.0.0.1; no go-import entries are registered, so a
    // ?go-get=1 page names no repository.
    let Some(server) = Server::start_on("127.0.0.1", 0, &root) else {
        return;
    };
    let module = "git.example.test/team/lib";
    let mut r = Repo::new(&root, &tmp.join("work"), "lib.git");
    r.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("lib.go", "package lib\n")
        .write("sub/s.go", "package sub\n");
    r.commit("one");
    r.tag("v0.1.0");
    r.write("more.go", "package lib\n");
    r.commit("two");
    r.tag("v0.2.0");
    let repo_url = format!("http://127.0.0.1:{}/lib.git", server.port);
    let config = tmp.join("goxy.toml");
    std::fs::write(
        &config,
        format!(
            "upstream = \"direct\"\n\n[direct]\ninsecure = \"git.example.test\"\nallow_private_addresses = true\n\n\
             [[direct.repos]]\nprefix = \"git.example.test/team/lib\"\nurl = \"{repo_url}\"\n"
        ),
    )
    .expect("write config");
    let config_arg = config.to_string_lossy().into_owned();
    let goxy = start_goxy(
        tmp,
        &tmp.join("cache"),
        &["--config", &config_arg, "--sumdb", "off"],
        &[],
    );

    // go itself cannot be the reference here (it has no override setting and
    // the host does not resolve), so the check is what go extracted: go
    // verified the zip's layout for this module path and version, and the
    // files must be exactly those of the tagged commit.
    let go = GoClient::new(tmp);
    for (q, want, files) in [
        ("v0.1.0", "v0.1.0", vec!["go.mod", "lib.go", "sub/s.go"]),
        (
            "latest",
            "v0.2.0",
            vec!["go.mod", "lib.go", "more.go", "sub/s.go"],
        ),
    ] {
        let target = format!("{module}@{q}");
        let got = go.download(&goxy.url, "", &target);
        assert!(
            got.ok(),
            "{target} through goxy: {}\ngoxy log:\n{}",
            got.error,
            tail(&goxy.stderr(), 30)
        );
        assert_eq!(got.version, want, "{target}");
        assert!(
            got.sum.starts_with("h1:") && got.gomod_sum.starts_with("h1:"),
            "{got:?}"
        );
        let mut extracted = Vec::new();
        list_files(Path::new(&got.dir), Path::new(&got.dir), &mut extracted);
        extracted.sort();
        assert_eq!(extracted, files, "{target}: files in the module zip");
    }
    let listed = go.list_versions(&goxy.url, "", module);
    assert_eq!(listed, Ok(vec!["v0.1.0".to_string(), "v0.2.0".to_string()]));
    let requests = server
        .requests
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    assert!(
        requests.iter().all(|r| !r.contains("go-get=1")),
        "goxy asked for a go-import page despite the override: {requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.contains("/lib.git/")),
        "git was not fetched: {requests:?}"
    );
    let other = go.download(&goxy.url, "", "git.example.test/elsewhere@v0.1.0");
    assert!(
        !other.ok(),
        "a module outside the override prefix must not resolve: {other:?}"
    );
}

/// Relative paths of the regular files under `dir`.
fn list_files(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir)
        .expect("read extracted module")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            list_files(base, &path, out);
        } else if let Ok(rel) = path.strip_prefix(base) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

//! End to end: goxy relays and verifies a checksum database — the Go
//! reference test database (`tools/gotest/cmd/sumdb-server`, built on
//! golang.org/x/mod/sumdb and signed with the test key of protocol.md §7.7
//! item 65) — and refuses to cache modules the database disagrees with.
//! The real `go` command is the client, with `GOSUMDB=<name>+<key>` and
//! `GOPROXY` pointing at goxy, so it reaches the database only through goxy.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use goxy_testkit::gocmd::{copy_dir, file_url, make_fixture, read_go_sum, Fixture, GoRun};
use goxy_testkit::goxy::GoxyProcess;
use goxy_testkit::http::{http_get, HttpResponse};
use goxy_testkit::upstream::Upstream;

const TEST_VKEY: &str =
    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
const DB_NAME: &str = "localhost.localdev/sumdb";
/// goxy's directory for the test database (the name as one path component).
const DB_DIR: &str = "localhost.localdev%2Fsumdb";

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

/// A running sumdb-server; killed on drop.
struct Db {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Db {
    fn start(records: &str, mode: &str) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("records.txt");
        std::fs::write(&file, records).unwrap();
        let mut child = Command::new(goxy_testkit::go_tool("sumdb-server"))
            .args(["-listen", "127.0.0.1:0", "-mode", mode, "-records"])
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "sumdb-server said {line:?}"
        );
        Db {
            child,
            url,
            _dir: dir,
        }
    }

    fn set_mode(&self, mode: &str) {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /mode HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{mode}",
            mode.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.contains(mode),
            "set mode {mode}: {answer}"
        );
    }

    /// `--sumdb` value naming this database.
    fn gosumdb(&self) -> String {
        format!("{TEST_VKEY} {}", self.url)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `!x` → `X` (module path and version escaping).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut bang = false;
    for c in s.chars() {
        if c == '!' {
            bang = true;
        } else if bang {
            out.push(c.to_ascii_uppercase());
            bang = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// One module version of the fixture GOPROXY tree.
#[derive(Debug, Clone)]
struct ModVersion {
    module: String,
    version: String,
    /// Request path below the proxy root (`example.test/!upper!case/!mod/@v/v1.0.0`).
    escaped: String,
    zip_h1: String,
    mod_h1: String,
}

impl ModVersion {
    fn records(&self) -> String {
        format!(
            "{m} {v} {z}\n{m} {v}/go.mod {g}\n",
            m = self.module,
            v = self.version,
            z = self.zip_h1,
            g = self.mod_h1
        )
    }
}

/// Every module version in a GOPROXY directory, with its true hashes
/// (complete records: the database has both hashes for every version).
fn module_versions(proxy_dir: &Path) -> Vec<ModVersion> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "zip") {
                out.push(path);
            }
        }
    }
    let mut zips = Vec::new();
    walk(proxy_dir, &mut zips);
    let mut versions: Vec<ModVersion> = zips
        .iter()
        .map(|zip| {
            let rel = zip
                .strip_prefix(proxy_dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let (escaped_module, file) = rel.split_once("/@v/").unwrap();
            let escaped_version = file.strip_suffix(".zip").unwrap();
            let (module, version) = (unescape(escaped_module), unescape(escaped_version));
            let zip_bytes = std::fs::read(zip).unwrap();
            let checked = goxy_zip::check_zip(&module, &version, &zip_bytes).unwrap();
            let go_mod = std::fs::read(zip.with_extension("mod")).unwrap();
            ModVersion {
                escaped: format!("{escaped_module}/@v/{escaped_version}"),
                zip_h1: checked.h1,
                mod_h1: goxy_zip::hash_go_mod(&go_mod),
                module,
                version,
            }
        })
        .collect();
    versions.sort_by(|a, b| (&a.module, &a.version).cmp(&(&b.module, &b.version)));
    assert!(versions.len() >= 20, "{versions:?}");
    versions
}

fn all_records(versions: &[ModVersion]) -> String {
    versions.iter().map(ModVersion::records).collect()
}

fn find<'a>(versions: &'a [ModVersion], module: &str) -> &'a ModVersion {
    versions
        .iter()
        .find(|v| v.module == module)
        .unwrap_or_else(|| panic!("no {module} in the fixture"))
}

/// The version of `module` in the fixture project's build list (what `go
/// mod download all` fetches), as go selects it straight from the fixture.
fn selected<'a>(s: &'a Setup, module: &str) -> &'a ModVersion {
    let dir = project(s, "list-project");
    let out = goxy_testkit::isolated_go(
        &s.tmp.path().join("list-home"),
        &file_url(&s.fixture.proxy_dir),
    )
    .args(["list", "-mod=mod", "-m", module])
    .current_dir(&dir)
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version = text
        .trim()
        .strip_prefix(module)
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| {
            panic!(
                "go list -m {module}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    s.versions
        .iter()
        .find(|v| v.module == module && v.version == version)
        .unwrap_or_else(|| panic!("no {module}@{version} in the fixture"))
}

/// `go <args>` in `dir` through goxy, checksums from the test database (by name only).
fn go(home: &Path, goxy: &GoxyProcess, dir: &Path, args: &[&str]) -> GoRun {
    goxy_testkit::isolated_go(home, &goxy.url)
        .env("GOSUMDB", TEST_VKEY)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run go")
        .into()
}

fn get(goxy: &GoxyProcess, path: &str) -> HttpResponse {
    http_get(&format!("{}{path}", goxy.url)).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn sumdb_path(endpoint: &str) -> String {
    format!("/sumdb/{DB_NAME}/{endpoint}")
}

fn write_config(dir: &Path, db: &Db, extra: &str) -> PathBuf {
    let path = dir.join("goxy.toml");
    std::fs::write(
        &path,
        format!("sumdb_latest_ttl = 1\n{extra}\n[[sumdb]]\nname = \"{DB_NAME}\"\nkey = \"{TEST_VKEY}\"\nurl = \"{}\"\n", db.url),
    )
    .unwrap();
    path
}

struct Setup {
    tmp: tempfile::TempDir,
    fixture: Fixture,
    versions: Vec<ModVersion>,
}

fn setup() -> Option<Setup> {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = make_fixture(&tmp.path().join("fixture"), false).unwrap();
    let versions = module_versions(&fixture.proxy_dir);
    Some(Setup {
        tmp,
        fixture,
        versions,
    })
}

fn project(s: &Setup, name: &str) -> PathBuf {
    let dir = s.tmp.path().join(name);
    copy_dir(&s.fixture.project_dir, &dir).unwrap();
    dir
}

/// Tree size from a signed tree note (`go.sum database tree\nN\nHASH\n...`).
fn tree_size(note: &str) -> u64 {
    note.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("not a tree note: {note:?}"))
}

#[test]
fn go_downloads_and_verifies_through_the_relay_and_latest_is_served_stale() {
    let Some(s) = setup() else { return };
    let db = Db::start(&all_records(&s.versions), "honest");
    let cache = s.tmp.path().join("cache");
    let config = write_config(s.tmp.path(), &db, "");
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &cache,
        &file_url(&s.fixture.proxy_dir),
        &["--config", config.to_str().unwrap()],
    )
    .unwrap();
    assert_eq!(get(&goxy, &sumdb_path("supported")).status, 200);

    let dir = project(&s, "project");
    let home = s.tmp.path().join("home");
    let run = go(&home, &goxy, &dir, &["mod", "download", "all"]);
    assert!(
        run.success,
        "go mod download: {}\ngoxy log:\n{}",
        run.stderr,
        goxy.stderr()
    );
    let run = go(&home, &goxy, &dir, &["mod", "verify"]);
    assert!(run.success, "go mod verify: {}{}", run.stdout, run.stderr);
    // go checked its go.sum against the database through goxy: it keeps the
    // tree it trusts, and so does goxy.
    let go_latest =
        std::fs::read_to_string(home.join("gopath/pkg/sumdb").join(DB_NAME).join("latest"))
            .unwrap();
    let goxy_trusted =
        std::fs::read_to_string(cache.join("sumdb").join(DB_DIR).join("trusted")).unwrap();
    assert_eq!(tree_size(&go_latest), s.versions.len() as u64);
    assert_eq!(tree_size(&goxy_trusted), s.versions.len() as u64);
    let go_sum = read_go_sum(&dir).unwrap();
    let records = all_records(&s.versions);
    assert!(go_sum.len() >= 20);
    for line in &go_sum {
        assert!(
            records.lines().any(|r| r == line),
            "{line} is not what the database has"
        );
    }
    let log = goxy.stderr();
    assert!(!log.contains("security_event"), "{log}");

    // A verified lookup is kept: served again with the database gone, as is
    // the last verified tree (marked stale).
    let upper = find(&s.versions, "example.test/UpperCase/Mod");
    let lookup = sumdb_path(&format!(
        "lookup/example.test/!upper!case/!mod@{}",
        upper.version
    ));
    let before = get(&goxy, &lookup);
    assert_eq!(before.status, 200, "{}", before.text());
    assert!(before.text().contains(&upper.zip_h1), "{}", before.text());
    drop(db);
    std::thread::sleep(Duration::from_millis(1200));
    let latest = get(&goxy, &sumdb_path("latest"));
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert_eq!(latest.header("x-goxy-cache"), Some("stale"));
    assert_eq!(tree_size(&latest.text()), s.versions.len() as u64);
    let after = get(&goxy, &lookup);
    assert_eq!(after.status, 200, "{}", after.text());
    assert_eq!(after.body, before.body);
    // A fresh go command still verifies modules goxy has cached, offline from the database.
    let run = go(
        &s.tmp.path().join("home2"),
        &goxy,
        &project(&s, "project2"),
        &["mod", "download", "all"],
    );
    assert!(
        run.success,
        "go mod download with the database down: {}",
        run.stderr
    );
}

/// Each misbehaviour of security.md S4, against a goxy that already trusts
/// the honest tree: the bad answer is refused (502), logged as a security
/// event, never served or cached, and an honest database works again after.
#[test]
fn every_attack_on_the_database_is_refused() {
    let Some(s) = setup() else { return };
    let target = find(&s.versions, "example.test/dep05");
    let zip_path = format!("/{}.zip", target.escaped);
    let lookup = sumdb_path(&format!("lookup/{}@{}", target.module, target.version));
    // (mode, /latest must be refused, lookups must be refused); a rolled-back
    // /latest is replaced by the trusted tree, and lookups proven in the older
    // tree are still valid records.
    let modes = [
        ("tamper-tile", false, true),
        ("fork", true, true),
        ("empty-record", false, true),
        ("unrelated-record", false, true),
        ("forged-tile", false, true),
        ("wrong-key", true, true),
        ("bad-signature", true, true),
        ("rollback", false, false),
        ("tamper-record", false, true),
        ("wrong-width", false, true),
    ];
    for (mode, latest_refused, lookup_refused) in modes {
        let db = Db::start(&all_records(&s.versions), "honest");
        let dir = s.tmp.path().join(mode);
        std::fs::create_dir_all(&dir).unwrap();
        let config = write_config(&dir, &db, "");
        let goxy = GoxyProcess::serve(
            goxy_bin(),
            &dir.join("cache"),
            &file_url(&s.fixture.proxy_dir),
            &["--config", config.to_str().unwrap()],
        )
        .unwrap();
        let honest = get(&goxy, &sumdb_path("latest"));
        assert_eq!(honest.status, 200, "{mode}: {}", honest.text());
        db.set_mode(mode);
        std::thread::sleep(Duration::from_millis(1100));

        let latest = get(&goxy, &sumdb_path("latest"));
        if latest_refused {
            assert_eq!(latest.status, 502, "{mode}: latest {}", latest.text());
        } else {
            assert_eq!(latest.status, 200, "{mode}: latest {}", latest.text());
            // Never an older tree than the one trusted (a rollback gets the trusted tree).
            assert!(
                tree_size(&latest.text()) >= tree_size(&honest.text()),
                "{mode}: latest {}",
                latest.text()
            );
        }
        if mode == "rollback" {
            assert_eq!(
                latest.body, honest.body,
                "rollback: the trusted tree is served"
            );
        }
        let answer = get(&goxy, &lookup);
        let zip = get(&goxy, &zip_path);
        if lookup_refused {
            assert_eq!(answer.status, 502, "{mode}: lookup {}", answer.text());
            assert_eq!(zip.status, 502, "{mode}: zip {}", zip.text());
        } else {
            assert_eq!(answer.status, 200, "{mode}: lookup {}", answer.text());
            assert_eq!(zip.status, 200, "{mode}: zip {}", zip.text());
        }
        if mode == "tamper-tile" || mode == "wrong-width" {
            // The relay checks tiles it serves too.
            let n = tree_size(&honest.text());
            let tile = get(&goxy, &sumdb_path(&format!("tile/8/0/000.p/{n}")));
            assert_eq!(tile.status, 502, "{mode}: tile {}", tile.text());
        }
        let log = goxy.stderr();
        assert!(
            log.contains("security_event=true"),
            "{mode}: no security event logged:\n{log}"
        );
        if mode == "fork" {
            assert!(
                log.contains("misbehavior detected") && log.contains("not consistent"),
                "{mode}: {log}"
            );
        }

        db.set_mode("honest");
        std::thread::sleep(Duration::from_millis(1100));
        let answer = get(&goxy, &lookup);
        assert_eq!(
            answer.status,
            200,
            "{mode} then honest: lookup {}",
            answer.text()
        );
        assert!(
            answer.text().contains(&target.zip_h1),
            "{mode} then honest: {}",
            answer.text()
        );
        let zip = get(&goxy, &zip_path);
        assert_eq!(zip.status, 200, "{mode} then honest: zip {}", zip.text());
    }
}

/// The go command through goxy fails when the database serves tampered
/// tiles or a forked tree, and goxy's log says why.
#[test]
fn go_fails_on_tampered_tiles_and_forked_trees() {
    let Some(s) = setup() else { return };
    // Tampered tiles from the start: goxy trusts the (validly signed) tree
    // on first use, but no lookup proves out.
    let db = Db::start(&all_records(&s.versions), "tamper-tile");
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &s.tmp.path().join("cache1"),
        &file_url(&s.fixture.proxy_dir),
        &["--sumdb", &db.gosumdb()],
    )
    .unwrap();
    let run = go(
        &s.tmp.path().join("home1"),
        &goxy,
        &project(&s, "p1"),
        &["mod", "download", "all"],
    );
    assert!(
        !run.success,
        "go accepted modules verified through tampered tiles"
    );
    let log = goxy.stderr();
    assert!(
        log.contains("security_event=true") && log.contains("inconsistent tile"),
        "{log}"
    );
    drop(goxy);
    drop(db);

    // A fork after goxy trusted the honest tree.
    let db = Db::start(&all_records(&s.versions), "honest");
    let config = write_config(s.tmp.path(), &db, "");
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &s.tmp.path().join("cache2"),
        &file_url(&s.fixture.proxy_dir),
        &["--config", config.to_str().unwrap()],
    )
    .unwrap();
    assert_eq!(get(&goxy, &sumdb_path("latest")).status, 200);
    db.set_mode("fork");
    std::thread::sleep(Duration::from_millis(1100));
    let run = go(
        &s.tmp.path().join("home2"),
        &goxy,
        &project(&s, "p2"),
        &["mod", "download", "all"],
    );
    assert!(!run.success, "go accepted a forked database");
    let log = goxy.stderr();
    assert!(
        log.contains("security_event=true")
            && log.contains("misbehavior detected")
            && log.contains("not consistent"),
        "{log}"
    );
}

/// A zip that disagrees with the database: 502 naming the checksum
/// mismatch, logged as a security event, not cached; the genuine zip is
/// accepted afterwards.
#[test]
fn zip_disagreeing_with_the_database_is_refused_and_not_cached() {
    let Some(s) = setup() else { return };
    let db = Db::start(&all_records(&s.versions), "honest");
    let upstream_dir = s.tmp.path().join("upstream");
    copy_dir(&s.fixture.proxy_dir, &upstream_dir).unwrap();
    let upstream = Upstream::start(&upstream_dir).unwrap();
    let victim = selected(&s, "example.test/dep03");
    let zip_file = upstream_dir.join(format!("{}.zip", victim.escaped));
    let genuine = std::fs::read(&zip_file).unwrap();
    let go_mod = format!("module {}\n\ngo 1.16\n", victim.module);
    let evil = goxy_zip::create_zip(
        &victim.module,
        &victim.version,
        &[
            goxy_zip::SourceFile {
                path: "go.mod",
                kind: goxy_zip::FileKind::Regular,
                data: go_mod.as_bytes(),
            },
            goxy_zip::SourceFile {
                path: "dep03.go",
                kind: goxy_zip::FileKind::Regular,
                data: b"package dep03\n\nfunc Name() string { return \"backdoored\" }\n",
            },
        ],
    )
    .unwrap();
    assert_ne!(evil.h1, victim.zip_h1);
    std::fs::write(&zip_file, &evil.zip).unwrap();

    let cache = s.tmp.path().join("cache");
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &cache,
        &upstream.url(),
        &["--sumdb", &db.gosumdb()],
    )
    .unwrap();
    let zip_path = format!("/{}.zip", victim.escaped);
    for attempt in 1..=2 {
        let resp = get(&goxy, &zip_path);
        assert_eq!(resp.status, 502, "{}", resp.text());
        let text = resp.text();
        assert!(
            text.contains("checksum mismatch")
                && text.contains(&format!("{}@{}", victim.module, victim.version))
                && text.contains(&evil.h1)
                && text.contains(&victim.zip_h1),
            "{text}"
        );
        // Nothing was cached: each request goes to the upstream again.
        assert_eq!(upstream.hits(&zip_path), attempt);
    }
    let log = goxy.stderr();
    assert!(
        log.contains("checksum mismatch") && log.contains("security_event=true"),
        "{log}"
    );
    let metrics = get(&goxy, "/metrics").text();
    let rejected = metrics
        .lines()
        .find_map(|l| l.strip_prefix("goxy_checksum_verifications_total{outcome=\"rejected\"} "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert_eq!(rejected, Some(2), "{metrics}");

    let run = go(
        &s.tmp.path().join("home1"),
        &goxy,
        &project(&s, "p1"),
        &["mod", "download", "all"],
    );
    assert!(
        !run.success,
        "go downloaded a zip the database disagrees with: {}\n{}\ngoxy:\n{}",
        run.stdout,
        run.stderr,
        goxy.stderr()
    );
    assert!(run.stderr.contains("checksum mismatch"), "{}", run.stderr);

    std::fs::write(&zip_file, &genuine).unwrap();
    let resp = get(&goxy, &zip_path);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.body, genuine);
    let run = go(
        &s.tmp.path().join("home2"),
        &goxy,
        &project(&s, "p2"),
        &["mod", "download", "all"],
    );
    assert!(
        run.success,
        "go mod download after the upstream was fixed: {}",
        run.stderr
    );
}

/// Unknown database names (and anything but the four endpoints) are 404
/// without any request leaving goxy.
#[test]
fn unknown_database_names_cause_no_outbound_request() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    // One counting server stands in for both the module upstream and the database.
    let counting = Upstream::start(&root).unwrap();
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &tmp.path().join("cache"),
        &counting.url(),
        &["--sumdb", &format!("{TEST_VKEY} {}", counting.url())],
    )
    .unwrap();
    let host = counting.addr().to_string();
    for path in [
        "/sumdb/sum.golang.org/supported".to_string(),
        "/sumdb/sum.golang.org/latest".to_string(),
        format!("/sumdb/{host}/latest"),
        format!("/sumdb/{host}/lookup/example.com/m@v1.0.0"),
        "/sumdb/evil.example/tile/8/0/000".to_string(),
        "/sumdb/localhost.localdev/supported".to_string(),
        "/sumdb/localhost.localdev/sumdbx/latest".to_string(),
        format!("/sumdb/{DB_NAME}"),
        format!("/sumdb/{DB_NAME}/"),
        sumdb_path("other"),
        sumdb_path("latest/x"),
        sumdb_path("lookup/example.com/m"),
        sumdb_path("lookup/Example.com/m@v1.0.0"),
        sumdb_path("lookup/example.com/m@master"),
        sumdb_path("tile/8/0/0000"),
        sumdb_path("tile/../../etc/passwd"),
        sumdb_path("%2e%2e/latest"),
    ] {
        let resp = get(&goxy, &path);
        assert_eq!(resp.status, 404, "{path}: {}", resp.text());
    }
    assert_eq!(get(&goxy, &sumdb_path("supported")).status, 200);
    // The only request is the start-up probe of the configured database's
    // own /latest (its explicit URL is this server's root).
    let hits = counting.all_hits();
    assert!(
        hits.keys().all(|p| p == "/latest") && counting.total_hits() <= 1,
        "{hits:?}"
    );
}

/// Private (GONOSUMDB) modules never cause a lookup; others unknown to the
/// database are refused unless verification is off.
#[test]
fn private_modules_are_not_looked_up_and_verification_can_be_off() {
    let Some(s) = setup() else { return };
    let private = find(&s.versions, "example.test/dep02");
    let unknown = find(&s.versions, "example.test/dep04");
    let known = find(&s.versions, "example.test/dep01");
    let records: String = s
        .versions
        .iter()
        .filter(|v| v.module != private.module && v.module != unknown.module)
        .map(ModVersion::records)
        .collect();
    let db = Db::start(&records, "honest");
    let upstream = file_url(&s.fixture.proxy_dir);
    let cache = s.tmp.path().join("cache1");
    let cache_arg = cache.to_string_lossy().into_owned();
    let goxy = GoxyProcess::start_with_env(
        goxy_bin(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cache-dir",
            &cache_arg,
            "--upstream",
            &upstream,
            "--sumdb",
            &db.gosumdb(),
            "--no-sumdb",
            "example.test/dep02,corp.example",
        ],
        &[("GOXY_LOG", "goxy_server=debug,info")],
    )
    .unwrap();
    for ext in ["mod", "zip"] {
        let resp = get(&goxy, &format!("/{}.{ext}", private.escaped));
        assert_eq!(resp.status, 200, "private .{ext}: {}", resp.text());
        let resp = get(&goxy, &format!("/{}.{ext}", known.escaped));
        assert_eq!(resp.status, 200, "known .{ext}: {}", resp.text());
        let resp = get(&goxy, &format!("/{}.{ext}", unknown.escaped));
        assert_eq!(resp.status, 502, "unknown .{ext}: {}", resp.text());
        assert!(
            resp.text().contains("not found") && resp.text().contains(&unknown.module),
            "{}",
            resp.text()
        );
    }
    let log = goxy.stderr();
    assert!(
        log.contains(&format!("lookup/{}@", known.module)),
        "no lookup logged:\n{log}"
    );
    assert!(
        !log.contains(&format!("lookup/{}@", private.module)),
        "a private module was looked up:\n{log}"
    );
    drop(goxy);

    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &s.tmp.path().join("cache2"),
        &upstream,
        &["--sumdb", &db.gosumdb(), "--sumdb-verify", "off"],
    )
    .unwrap();
    let resp = get(&goxy, &format!("/{}.zip", unknown.escaped));
    assert_eq!(resp.status, 200, "verification off: {}", resp.text());
    // The relay still works (and still verifies) with module verification off.
    assert_eq!(get(&goxy, &sumdb_path("latest")).status, 200);
}

/// go.sum lines for `count` synthetic module versions (the database only
/// needs well-formed records; these modules are never downloaded).
fn synthetic_records(count: u32) -> String {
    (0..count)
        .map(|i| {
            let h = |seed: String| {
                format!(
                    "h1:{}",
                    goxy_zip::hash_go_mod(seed.as_bytes()).trim_start_matches("h1:")
                )
            };
            format!(
                "example.com/m{i} v1.0.{i} {}\nexample.com/m{i} v1.0.{i}/go.mod {}\n",
                h(format!("zip {i}")),
                h(format!("mod {i}"))
            )
        })
        .collect()
}

/// Full tiles are kept on disk and served when the database is gone; the
/// trusted tree survives a restart, so a rolled-back or forked database is
/// still caught by a new goxy process on the same cache.
#[test]
fn full_tiles_are_kept_and_trust_survives_a_restart() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let records = synthetic_records(300);
    let db = Db::start(&records, "honest");
    let cache = tmp.path().join("cache");
    let config = write_config(tmp.path(), &db, "");
    let args = ["--config", config.to_str().unwrap()];
    let goxy = GoxyProcess::serve(goxy_bin(), &cache, "off", &args).unwrap();
    let latest = get(&goxy, &sumdb_path("latest"));
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert_eq!(tree_size(&latest.text()), 300);
    let full = get(&goxy, &sumdb_path("tile/8/0/000"));
    assert_eq!(full.status, 200, "{}", full.text());
    assert_eq!(full.body.len(), 256 * 32);
    assert_eq!(full.header("x-goxy-cache"), Some("miss"));
    assert!(full
        .header("cache-control")
        .is_some_and(|c| c.contains("immutable")));
    let stored = std::fs::read(cache.join("sumdb").join(DB_DIR).join("tile/8/0/000")).unwrap();
    assert_eq!(stored, full.body);
    let partial = get(&goxy, &sumdb_path("tile/8/0/001.p/44"));
    assert_eq!(partial.status, 200, "{}", partial.text());
    assert_eq!(partial.body.len(), 44 * 32);
    let lookup = sumdb_path("lookup/example.com/m299@v1.0.299");
    let answer = get(&goxy, &lookup);
    assert_eq!(answer.status, 200, "{}", answer.text());

    // With the database gone, verified answers are still served.
    drop(db);
    let again = get(&goxy, &sumdb_path("tile/8/0/000"));
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.header("x-goxy-cache"), Some("hit"));
    assert_eq!(again.body, full.body);
    assert_eq!(get(&goxy, &lookup).body, answer.body);
    // A partial tile is answered with the prefix of the kept full tile.
    let prefix = get(&goxy, &sumdb_path("tile/8/0/000.p/10"));
    assert_eq!(prefix.status, 200, "{}", prefix.text());
    assert_eq!(prefix.body, full.body[..10 * 32]);
    let missing = get(&goxy, &sumdb_path("lookup/example.com/m1@v1.0.1"));
    assert!(
        missing.status == 502 || missing.status == 504,
        "{}",
        missing.text()
    );
    drop(goxy);

    // The database again, now presenting an older tree, then a different
    // log: a restarted goxy on the same cache refuses both.
    let older = Db::start(&records, "rollback");
    let config = write_config(tmp.path(), &older, "");
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &cache,
        "off",
        &["--config", config.to_str().unwrap()],
    )
    .unwrap();
    let latest = get(&goxy, &sumdb_path("latest"));
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert_eq!(
        tree_size(&latest.text()),
        300,
        "a rolled-back tree was relayed"
    );
    older.set_mode("fork");
    std::thread::sleep(Duration::from_millis(1100));
    let forked = get(&goxy, &sumdb_path("latest"));
    assert_eq!(forked.status, 502, "{}", forked.text());
    // The fork shows as a tile of the trusted tree that does not hash up to it.
    let log = goxy.stderr();
    assert!(
        log.contains("rolled back") && log.contains("ERROR") && log.contains("inconsistent tile"),
        "{log}"
    );
}

/// `golang.org/toolchain` is looked up even when the no-sumdb patterns
/// cover it; other modules they cover are not.
#[test]
fn the_toolchain_module_is_always_verified() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proxy");
    for (module, version) in [
        ("golang.org/toolchain", "v0.0.1-go1.21.0.linux-amd64"),
        ("golang.org/x/private", "v1.0.0"),
    ] {
        let dir = root.join(module).join("@v");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{version}.mod")),
            format!("module {module}\n"),
        )
        .unwrap();
    }
    let db = Db::start(&synthetic_records(3), "honest");
    let upstream = Upstream::start(&root).unwrap();
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &tmp.path().join("cache"),
        &upstream.url(),
        &["--sumdb", &db.gosumdb(), "--no-sumdb", "golang.org"],
    )
    .unwrap();
    let private = get(&goxy, "/golang.org/x/private/@v/v1.0.0.mod");
    assert_eq!(private.status, 200, "{}", private.text());
    let toolchain = get(
        &goxy,
        "/golang.org/toolchain/@v/v0.0.1-go1.21.0.linux-amd64.mod",
    );
    assert_eq!(toolchain.status, 502, "{}", toolchain.text());
    assert!(
        toolchain
            .text()
            .contains("golang.org/toolchain@v0.0.1-go1.21.0.linux-amd64"),
        "{}",
        toolchain.text()
    );
    assert!(
        toolchain.text().contains("not found"),
        "{}",
        toolchain.text()
    );
}

/// A plain relay standing in for an upstream module proxy that also proxies
/// the checksum database (as the public module proxy does): `/sumdb/<name>/X`
/// goes to the database, anything else to the module fixture, bytes copied
/// as they are (it verifies nothing). Each connection carries one request.
fn start_relay(modules: SocketAddr, db_url: &str) -> SocketAddr {
    let db: SocketAddr = db_url.trim_start_matches("http://").parse().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut client) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let prefix = format!("/sumdb/{DB_NAME}/");
                if path == format!("{prefix}supported") {
                    let _ = client.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
                    return;
                }
                let (target, path) = match path.strip_prefix(&prefix) {
                    Some(rest) => (db, format!("/{rest}")),
                    None => (modules, path),
                };
                let Ok(mut upstream) = TcpStream::connect(target) else {
                    return;
                };
                let _ = write!(
                    upstream,
                    "GET {path} HTTP/1.0\r\nHost: {target}\r\nConnection: close\r\n\r\n"
                );
                let _ = std::io::copy(&mut upstream, &mut client);
            });
        }
    });
    addr
}

/// The situation of developers behind filtering networks: the database's
/// own host (`https://localhost.localdev/sumdb`) cannot be reached, but the
/// upstream proxy relays it. goxy, given only the database's key, finds it
/// through the upstream's `/sumdb/<name>/supported` as go does, verifies
/// every module through it, and go through goxy downloads and verifies;
/// with the proxy's database gone, a node with an empty cache
/// misses fail closed naming the route, /readyz says so and the metrics count
/// `unavailable`, while cached modules are still served.
#[test]
fn the_database_is_reached_through_the_upstream_proxy_when_its_host_is_not() {
    let Some(s) = setup() else { return };
    let db = Db::start(&all_records(&s.versions), "honest");
    let modules = Upstream::start(&s.fixture.proxy_dir).unwrap();
    let relay = start_relay(modules.addr(), &db.url);
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &s.tmp.path().join("cache"),
        &format!("http://{relay},direct"),
        &["--sumdb", TEST_VKEY],
    )
    .unwrap();
    let dir = project(&s, "project");
    let home = s.tmp.path().join("home");
    let run = go(&home, &goxy, &dir, &["mod", "download", "all"]);
    assert!(
        run.success,
        "go mod download: {}\ngoxy log:\n{}",
        run.stderr,
        goxy.stderr()
    );
    let run = go(&home, &goxy, &dir, &["mod", "verify"]);
    assert!(run.success, "go mod verify: {}{}", run.stdout, run.stderr);
    let metrics = get(&goxy, "/metrics").text();
    let count = |outcome: &str| {
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "goxy_checksum_verifications_total{{outcome=\"{outcome}\"}} "
                ))
            })
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(count("verified") >= 20, "{metrics}");
    assert_eq!(count("rejected") + count("unavailable"), 0, "{metrics}");
    assert!(
        metrics.contains(&format!(
            "goxy_sumdb_route{{database=\"{DB_NAME}\",via=\"proxy\"}} 1"
        )),
        "{metrics}"
    );
    let home_page = get(&goxy, "/").text();
    assert!(
        home_page.contains(&format!("upstream http://{relay}")),
        "{home_page}"
    );
    assert_eq!(get(&goxy, "/readyz").status, 200);

    let victim = find(&s.versions, "example.test/UpperCase/Mod");
    let zip_path = format!("/{}.zip", victim.escaped);
    let cached = get(&goxy, &zip_path);
    assert_eq!(cached.status, 200, "{}", cached.text());

    // The proxy gone: misses fail closed and say why; hits are served.
    // A second node with an empty cache has nothing to serve without it.
    drop(db);
    let fresh = GoxyProcess::serve(
        goxy_bin(),
        &s.tmp.path().join("cache2"),
        &format!("http://{relay},direct"),
        &["--sumdb", TEST_VKEY],
    )
    .unwrap();
    let down = get(&fresh, &zip_path);
    assert!(
        matches!(down.status, 502 | 504) && down.text().contains("via upstream"),
        "{} {}",
        down.status,
        down.text()
    );
    assert_eq!(
        get(&goxy, &zip_path).status,
        200,
        "the first node serves what it holds"
    );
    let ready = get(&fresh, "/readyz");
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(
        ready.text().contains("checksum database"),
        "{}",
        ready.text()
    );
    let metrics = get(&fresh, "/metrics").text();
    assert!(
        metrics.contains("goxy_checksum_verifications_total{outcome=\"unavailable\"} "),
        "{metrics}"
    );
    assert!(
        !metrics.contains("goxy_checksum_verifications_total{outcome=\"unavailable\"} 0"),
        "{metrics}"
    );
}

//! goxy against a misbehaving loopback upstream, checked over HTTP:
//! bad zips and `.info` are never cached (502, then a fresh fetch once the
//! upstream is repaired), a killed upstream leaves cached versions working and
//! `list` served stale, and 100 concurrent cold requests make one upstream fetch.

use std::path::{Path, PathBuf};
use std::time::Duration;

use goxy_testkit::{
    have_go, http_get, make_fixture, Fault, Fixture, GoxyProcess, HttpResponse, Upstream,
};

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

/// A fixture, an upstream serving it, and goxy in front of that upstream.
struct Setup {
    _tmp: tempfile::TempDir,
    fixture: Fixture,
    upstream: Upstream,
    goxy: GoxyProcess,
}

impl Setup {
    /// None (test skipped) when no `go` command is available to build the fixture.
    fn new(extra_goxy_args: &[&str]) -> Option<Setup> {
        if !have_go() {
            eprintln!("skipped: no `go` command on PATH (needed to build the fixture)");
            return None;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let fixture = make_fixture(&tmp.path().join("fixture"), false).expect("mkfixture");
        let upstream = Upstream::start(&fixture.proxy_dir).expect("start upstream");
        let goxy = GoxyProcess::serve(
            goxy_bin(),
            &tmp.path().join("cache"),
            &upstream.url(),
            extra_goxy_args,
        )
        .expect("start goxy");
        Some(Setup {
            _tmp: tmp,
            fixture,
            upstream,
            goxy,
        })
    }

    fn get(&self, path: &str) -> HttpResponse {
        http_get(&format!("{}{path}", self.goxy.url)).unwrap_or_else(|e| {
            panic!(
                "GET {path} from goxy: {e}\ngoxy stderr:\n{}",
                self.goxy.stderr()
            )
        })
    }

    fn fixture_file(&self, path: &str) -> Vec<u8> {
        let file: PathBuf = self.fixture.proxy_dir.join(path.trim_start_matches('/'));
        std::fs::read(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()))
    }
}

fn cache_header(r: &HttpResponse) -> &str {
    r.header("x-goxy-cache").unwrap_or("<none>")
}

/// An error answer is one short line of UTF-8 text/plain.
fn assert_error_body(r: &HttpResponse, what: &str) {
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/plain"), "{what}: content-type {ct:?}");
    let text = r.text();
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "{what}: error body is not one line: {text:?}"
    );
}

/// One bad upstream answer for a zip: goxy answers 502, caches nothing; after
/// the upstream is repaired the next request fetches again and succeeds.
fn check_bad_zip_not_cached(fault: Fault, module_dir: &str) {
    let Some(s) = Setup::new(&[]) else { return };
    let zip = format!("/{module_dir}/@v/v1.1.0.zip");
    let other_zip = format!("/{module_dir}/@v/v1.0.0.zip");
    let fault = match fault {
        Fault::ServeFile(_) => Fault::ServeFile(other_zip),
        f => f,
    };
    s.upstream.set_fault(&zip, fault.clone());

    let bad = s.get(&zip);
    assert_eq!(
        bad.status,
        502,
        "{fault:?}: goxy status for a bad upstream zip; body {:?}",
        bad.text()
    );
    assert_error_body(&bad, &format!("{fault:?}"));
    let hits_while_bad = s.upstream.hits(&zip);
    assert!(
        hits_while_bad >= 1,
        "{fault:?}: upstream never asked for the zip"
    );

    s.upstream.clear_faults();
    let good = s.get(&zip);
    assert_eq!(good.status, 200, "{fault:?}: after repair: {}", good.text());
    assert!(
        good.body == s.fixture_file(&zip),
        "{fault:?}: goxy served other bytes than the fixture zip"
    );
    assert!(
        s.upstream.hits(&zip) > hits_while_bad,
        "{fault:?}: goxy did not fetch the zip again after the bad answer (it must not have been cached)"
    );
    assert_eq!(cache_header(&good), "miss", "{fault:?}: first good answer");

    let hits_after_repair = s.upstream.hits(&zip);
    let again = s.get(&zip);
    assert_eq!(
        (again.status, cache_header(&again)),
        (200, "hit"),
        "{fault:?}: third request"
    );
    assert!(again.body == good.body, "{fault:?}: cached bytes differ");
    assert_eq!(
        s.upstream.hits(&zip),
        hits_after_repair,
        "{fault:?}: a cache hit went upstream"
    );
}

#[test]
fn truncated_transfer_of_zip_is_502_and_not_cached() {
    check_bad_zip_not_cached(Fault::TruncateBody, "example.test/dep03");
}

#[test]
fn short_zip_with_honest_length_is_502_and_not_cached() {
    check_bad_zip_not_cached(Fault::ShortBody, "example.test/dep04");
}

#[test]
fn zip_of_another_version_is_502_and_not_cached() {
    check_bad_zip_not_cached(Fault::ServeFile(String::new()), "example.test/dep05");
}

#[test]
fn dropped_connection_for_zip_is_502_and_not_cached() {
    check_bad_zip_not_cached(Fault::DropConnection, "example.test/dep06");
}

#[test]
fn info_for_another_version_is_502_and_not_cached() {
    let Some(s) = Setup::new(&[]) else { return };
    let info = "/example.test/dep07/@v/v1.1.0.info";
    s.upstream.set_fault(
        info,
        Fault::Body(br#"{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}"#.to_vec()),
    );
    let bad = s.get(info);
    assert_eq!(bad.status, 502, "wrong .info Version: {}", bad.text());
    assert_error_body(&bad, "wrong .info Version");

    s.upstream.clear_faults();
    let before = s.upstream.hits(info);
    let good = s.get(info);
    assert_eq!(good.status, 200, "after repair: {}", good.text());
    assert!(
        good.text().contains(r#""Version":"v1.1.0""#),
        "info body {}",
        good.text()
    );
    assert!(s.upstream.hits(info) > before, "the wrong .info was cached");
}

#[test]
fn upstream_killed_cached_versions_served_and_list_stale() {
    let Some(mut s) = Setup::new(&["--list-ttl", "1"]) else {
        return;
    };
    let base = "/example.test/dep08/@v";
    let list = s.get(&format!("{base}/list"));
    assert_eq!(list.status, 200, "list: {}", list.text());
    let files = ["v1.1.0.info", "v1.1.0.mod", "v1.1.0.zip"];
    for f in files {
        let r = s.get(&format!("{base}/{f}"));
        assert_eq!(r.status, 200, "{f} while the upstream is up: {}", r.text());
    }

    // Kill the upstream while goxy is in the middle of fetching a zip.
    let in_flight = format!("{base}/v1.0.0.zip");
    s.upstream.set_fault(&in_flight, Fault::Hang);
    let in_flight_url = format!("{}{in_flight}", s.goxy.url);
    let pending = std::thread::spawn(move || http_get(&in_flight_url));
    while s.upstream.hits(&in_flight) == 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    s.upstream.stop();
    let cut = pending
        .join()
        .expect("request thread")
        .expect("goxy answered the cut-off fetch");
    assert_eq!(
        cut.status,
        502,
        "zip whose upstream died mid-fetch: {}",
        cut.text()
    );
    let again = s.get(&in_flight);
    assert_eq!(
        again.status,
        502,
        "zip whose upstream died mid-fetch, asked again: {}",
        again.text()
    );

    // Let the list TTL run out so goxy has to ask the (dead) upstream again.
    std::thread::sleep(Duration::from_millis(1500));

    for f in files {
        let path = format!("{base}/{f}");
        let r = s.get(&path);
        assert_eq!(r.status, 200, "{f} after the upstream died: {}", r.text());
        assert_eq!(cache_header(&r), "hit", "{f} after the upstream died");
        assert!(
            r.body == s.fixture_file(&path),
            "{f}: bytes differ from the fixture"
        );
    }
    let stale = s.get(&format!("{base}/list"));
    assert_eq!(
        stale.status,
        200,
        "list after the upstream died: {}",
        stale.text()
    );
    assert_eq!(
        cache_header(&stale),
        "stale",
        "list after the upstream died and the TTL ran out"
    );
    assert_eq!(
        stale.body, list.body,
        "stale list differs from the one served before"
    );

    // Never fetched and no source reachable: an upstream failure, not "not found".
    let uncached = s.get(&format!("{base}/v1.2.0.zip"));
    assert_eq!(
        uncached.status,
        502,
        "uncached zip with the upstream dead: {}",
        uncached.text()
    );
    assert_error_body(&uncached, "uncached zip with the upstream dead");
}

#[test]
fn hundred_concurrent_cold_requests_make_one_upstream_fetch() {
    let Some(s) = Setup::new(&[]) else { return };
    let zip = "/example.test/dep09/@v/v1.2.0.zip";
    // Slow upstream answer, so all requests arrive while the first fetch runs.
    s.upstream
        .set_fault(zip, Fault::Delay(Duration::from_millis(700)));
    let url = format!("{}{zip}", s.goxy.url);
    let responses: Vec<Result<HttpResponse, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|_| scope.spawn(|| http_get(&url).map_err(|e| e.to_string())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let expected = s.fixture_file(zip);
    let mut misses = 0;
    for (i, r) in responses.iter().enumerate() {
        let r = r.as_ref().unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
        assert!(
            r.body == expected,
            "request {i}: body differs from the fixture zip"
        );
        misses += usize::from(cache_header(r) == "miss");
    }
    assert_eq!(
        s.upstream.hits(zip),
        1,
        "upstream zip fetches for 100 concurrent cold requests"
    );
    for (path, n) in s.upstream.all_hits() {
        assert!(n <= 1, "upstream saw {n} requests for {path}");
    }
    assert!(misses >= 1, "no response was marked as a miss");
}

#[test]
fn not_found_is_remembered_for_its_ttl_and_failures_are_not() {
    let Some(s) = Setup::new(&["--not-found-ttl", "2"]) else {
        return;
    };
    let missing_list = "/example.test/nosuchmodule/@v/list";
    let missing_version = "/example.test/dep08/@v/v1.9.9.info";
    let missing_zip = "/example.test/dep08/@v/v1.9.9.zip";
    for path in [missing_list, missing_version, missing_zip] {
        let first = s.get(path);
        assert_eq!(first.status, 404, "{path}: {}", first.text());
        let second = s.get(path);
        assert_eq!(second.status, 404, "{path} again: {}", second.text());
        assert_error_body(&second, path);
        assert!(
            second.text().contains("remembered"),
            "{path}: the second 404 does not say it was remembered: {}",
            second.text()
        );
        assert_eq!(s.upstream.hits(path), 1, "{path}: asked the upstream again");
    }

    // A failure (502) is not an answer: every request asks again.
    let failing = "/example.test/dep09/@v/list";
    s.upstream.set_fault(failing, Fault::ServerError);
    for _ in 0..2 {
        assert_eq!(s.get(failing).status, 502);
    }
    assert_eq!(s.upstream.hits(failing), 2, "a 502 was remembered");

    // A module published after its 404 is served once the TTL has passed.
    s.upstream.set_fault(failing, Fault::NotFound);
    assert_eq!(s.get(failing).status, 404);
    assert_eq!(s.get(failing).status, 404);
    assert_eq!(s.upstream.hits(failing), 3);
    s.upstream.clear_fault(failing);
    std::thread::sleep(Duration::from_millis(2500));
    let published = s.get(failing);
    assert_eq!(published.status, 200, "after the TTL: {}", published.text());
    assert_eq!(s.upstream.hits(failing), 4);
    assert_eq!(s.get(missing_list).status, 404);
    assert_eq!(
        s.upstream.hits(missing_list),
        2,
        "the 404 was kept beyond its TTL"
    );
}

/// A config file with `body` next to the fixture, as `--config` arguments.
fn config_args(dir: &Path, body: &str) -> Vec<String> {
    let path = dir.join(format!("goxy-{}.toml", std::process::id()));
    std::fs::write(&path, body).unwrap();
    vec!["--config".into(), path.to_string_lossy().into_owned()]
}

fn metric_line(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Three clients ask for the same `.info` at once from an upstream that
/// drips it a byte every 500 ms (never idle for `body_idle`): goxy cuts the
/// fill off at the end of the first rate window and every waiter gets the same
/// 504 at about the same time; the upstream's health records the failure.
#[test]
fn drip_feeding_upstream_is_cut_off_by_the_minimum_rate() {
    if !have_go() {
        eprintln!("skipped: no `go` command on PATH (needed to build the fixture)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let args = config_args(
        tmp.path(),
        "[timeouts]\nbody_idle = 5\ntotal = 60\nmin_rate = 1024\nrate_window = 2\n",
    );
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let fixture = make_fixture(&tmp.path().join("fixture"), false).expect("mkfixture");
    let upstream = Upstream::start(&fixture.proxy_dir).expect("start upstream");
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &tmp.path().join("cache"),
        &upstream.url(),
        &args,
    )
    .expect("start goxy");
    let info = "/example.test/dep01/@v/v1.0.0.info";
    upstream.set_fault(info, Fault::Drip(Duration::from_millis(500)));
    let started = std::time::Instant::now();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let url = format!("{}{info}", goxy.url);
            std::thread::spawn(move || {
                let r = http_get(&url).expect("GET from goxy");
                (r, started.elapsed())
            })
        })
        .collect();
    let answers: Vec<(HttpResponse, Duration)> =
        waiters.into_iter().map(|t| t.join().unwrap()).collect();
    for (r, took) in &answers {
        assert_eq!(r.status, 504, "drip-feed not answered 504: {}", r.text());
        assert!(r.text().contains("slower than"), "{}", r.text());
        // The window is 2 s; 20 s is slack for a loaded machine, far below the
        // 150 s the drip would take to finish.
        assert!(
            *took < Duration::from_secs(20),
            "cut off only after {took:?}"
        );
        eprintln!("drip-feed answered {} after {took:?}", r.status);
    }
    let times: Vec<Duration> = answers.iter().map(|(_, t)| *t).collect();
    let spread = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    assert!(
        spread < Duration::from_secs(3),
        "waiters answered {spread:?} apart"
    );
    assert_eq!(upstream.hits(info), 1, "single-flight: one upstream fetch");
    let metrics = http_get(&format!("{}/metrics", goxy.url)).unwrap().text();
    let score = metric_line(&metrics, "goxy_upstream_health_score{").expect("health score");
    assert!(
        score < 1.0,
        "the timeout did not count against the upstream: {score}"
    );
}

/// Without a minimum rate the total deadline still holds: a dripped zip is
/// cut off after `total` seconds with 504.
#[test]
fn drip_feeding_upstream_is_cut_off_by_the_total_deadline() {
    if !have_go() {
        eprintln!("skipped: no `go` command on PATH (needed to build the fixture)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let args = config_args(
        tmp.path(),
        "[timeouts]\nbody_idle = 5\ntotal = 3\nmin_rate = 0\n",
    );
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let fixture = make_fixture(&tmp.path().join("fixture"), false).expect("mkfixture");
    let upstream = Upstream::start(&fixture.proxy_dir).expect("start upstream");
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &tmp.path().join("cache"),
        &upstream.url(),
        &args,
    )
    .expect("start goxy");
    let zip = "/example.test/dep02/@v/v1.0.0.zip";
    upstream.set_fault(zip, Fault::Drip(Duration::from_millis(200)));
    let started = std::time::Instant::now();
    let r = http_get(&format!("{}{zip}", goxy.url)).unwrap();
    let took = started.elapsed();
    eprintln!("total deadline: answered {} after {took:?}", r.status);
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(r.text().contains("total deadline"), "{}", r.text());
    assert!(
        took >= Duration::from_secs(2),
        "cut off too early: {took:?}"
    );
    assert!(
        took < Duration::from_secs(20),
        "cut off only after {took:?}"
    );
    // Nothing half-written is cached: repaired, the zip is fetched again.
    upstream.clear_faults();
    let again = http_get(&format!("{}{zip}", goxy.url)).unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-goxy-cache"), Some("miss"));
}

/// A tmpfs mount removed (lazily) when dropped, so no mount outlives the test.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// None when this machine cannot mount one (not root, no CAP_SYS_ADMIN).
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The cache on a real, small filesystem that fills up: refusals are 507/503
/// and say storage, no upstream circuit opens, cached artifacts are still
/// served, readiness fails, and once space is freed the rest fills at once.
#[test]
fn full_disk_is_a_local_failure_and_recovers_when_space_is_freed() {
    if !have_go() {
        eprintln!("skipped: no `go` command on PATH (needed to build the fixture)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = make_fixture(&tmp.path().join("fixture"), false).expect("mkfixture");
    let upstream = Upstream::start(&fixture.proxy_dir).expect("start upstream");
    let cache = tmp.path().join("cache");
    let Some(mount) = Tmpfs::mount(&cache, "8m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let mut goxy = GoxyProcess::serve(goxy_bin(), &cache, &upstream.url(), &[]).expect("goxy");
    let get = |p: &str| http_get(&format!("{}{p}", goxy.url)).unwrap();
    let base = "/example.test/dep09/@v";
    let cached = [
        format!("{base}/v1.0.0.info"),
        format!("{base}/v1.0.0.mod"),
        format!("{base}/v1.0.0.zip"),
    ];
    for p in &cached {
        assert_eq!(get(p).status, 200, "{p}");
    }
    // Fill the disk.
    let filler = cache.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let uncached = [
        format!("{base}/v1.1.0.zip"),
        format!("{base}/v1.2.0.zip"),
        format!("{base}/v1.1.0.info"),
    ];
    for round in 0..4 {
        for p in &uncached {
            let r = get(p);
            assert!(
                r.status == 507 || r.status == 503,
                "round {round} {p}: {} {}",
                r.status,
                r.text()
            );
            assert!(r.text().contains("storage"), "{p}: {}", r.text());
            eprintln!("full disk: {p}: {} {}", r.status, r.text().trim_end());
            assert!(
                !r.text().contains("upstream failed"),
                "blamed on the upstream: {}",
                r.text()
            );
        }
    }
    for p in &cached {
        assert_eq!(get(p).status, 200, "cached {p} not served on a full disk");
    }
    assert_eq!(get("/readyz").status, 503, "ready on a full disk");
    let metrics = get("/metrics").text();
    assert!(
        metric_line(&metrics, "goxy_storage_failures_total{kind=\"no_space\"}").unwrap_or(0.0)
            >= 1.0,
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("goxy_upstream_circuit_state{")
                && l.contains("state=\"closed\"")
                && l.ends_with(" 1")),
        "an upstream circuit opened over a full disk:\n{metrics}"
    );
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(
        get("/readyz").status,
        200,
        "not ready after space was freed"
    );
    for p in &uncached {
        let r = get(p);
        assert_eq!(r.status, 200, "{p} after space was freed: {}", r.text());
    }
    goxy.kill();
    drop(mount);
}

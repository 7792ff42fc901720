//! The real `go` command through goxy against local fixture upstreams (a
//! loopback HTTP server and a `file://` directory). What goxy serves must give
//! the same go.sum lines as `GOPROXY=file://<fixture>` with no goxy at all.

use std::path::Path;

use goxy_testkit::gocmd::{
    copy_dir, file_url, go_mod_download_all, go_mod_download_json, read_go_sum,
};
use goxy_testkit::{have_go, http_get, make_fixture, Fixture, GoxyProcess, ModDownload, Upstream};

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

fn fixture(tmp: &Path) -> Option<Fixture> {
    if !have_go() {
        eprintln!("skipped: no `go` command on PATH");
        return None;
    }
    Some(make_fixture(&tmp.join("fixture"), false).expect("mkfixture"))
}

/// Copies the fixture project to `tmp/<name>`, runs `go mod download all`
/// there with a fresh GOMODCACHE and GOPROXY=`goproxy`, returns go.sum lines.
fn download_project(
    fx: &Fixture,
    tmp: &Path,
    name: &str,
    goproxy: &str,
    goxy: Option<&GoxyProcess>,
) -> Vec<String> {
    let project = tmp.join(name);
    copy_dir(&fx.project_dir, &project).expect("copy project");
    let run =
        go_mod_download_all(&tmp.join(format!("home-{name}")), goproxy, &project).expect("run go");
    assert!(
        run.success,
        "{name}: go mod download all with GOPROXY={goproxy} failed:\n{}\ngoxy stderr:\n{}",
        run.stderr,
        goxy.map(GoxyProcess::stderr).unwrap_or_default()
    );
    read_go_sum(&project).expect("read go.sum")
}

fn zip_line_count(sums: &[String]) -> usize {
    sums.iter().filter(|l| !l.contains("/go.mod h1:")).count()
}

#[test]
fn project_download_through_goxy_matches_file_proxy() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(fx) = fixture(tmp.path()) else {
        return;
    };
    let reference = download_project(&fx, tmp.path(), "reference", &file_url(&fx.proxy_dir), None);
    // 20 direct + 5 indirect depNN + 4 special-case modules.
    assert!(
        zip_line_count(&reference) >= 29,
        "reference go.sum too small: {reference:#?}"
    );

    // goxy in front of a loopback HTTP upstream.
    let upstream = Upstream::start(&fx.proxy_dir).expect("upstream");
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &tmp.path().join("cache-http"),
        &upstream.url(),
        &[],
    )
    .expect("goxy");
    let via_http = download_project(&fx, tmp.path(), "via-http", &goxy.url, Some(&goxy));
    assert_eq!(
        via_http, reference,
        "go.sum through goxy (HTTP upstream) differs from GOPROXY=file://"
    );
    assert!(
        upstream.hits("/example.test/dep25/@v/v1.2.0.zip")
            + upstream.hits("/example.test/dep25/@v/v1.1.0.zip")
            + upstream.hits("/example.test/dep25/@v/v1.0.0.zip")
            == 1,
        "indirect dependency dep25 not fetched exactly once: {:?}",
        upstream.all_hits()
    );

    // A second client with an empty module cache is served from goxy's cache.
    upstream.reset_hits();
    let warm = download_project(&fx, tmp.path(), "via-http-warm", &goxy.url, Some(&goxy));
    assert_eq!(warm, reference, "go.sum from goxy's warm cache differs");
    let refetched: Vec<_> = upstream
        .all_hits()
        .into_keys()
        .filter(|p| p.ends_with(".zip") || p.ends_with(".mod"))
        .collect();
    assert!(
        refetched.is_empty(),
        "warm cache went upstream for immutable files: {refetched:?}"
    );

    // goxy in front of the same tree as a file:// upstream.
    let goxy_file = GoxyProcess::serve(
        goxy_bin(),
        &tmp.path().join("cache-file"),
        &file_url(&fx.proxy_dir),
        &[],
    )
    .expect("goxy");
    let via_file = download_project(
        &fx,
        tmp.path(),
        "via-file",
        &goxy_file.url,
        Some(&goxy_file),
    );
    assert_eq!(
        via_file, reference,
        "go.sum through goxy (file:// upstream) differs from GOPROXY=file://"
    );
}

const SPECIAL_TARGETS: &[&str] = &[
    "example.test/UpperCase/Mod@v1.0.0",
    "example.test/UpperCase/Mod@latest",
    "example.test/incompat@v2.0.0+incompatible",
    "example.test/incompat@latest",
    "example.test/pre@v1.0.0-RC1",
    "example.test/nogomod@v1.0.0",
];

/// `go mod download -json` records reduced to what must match, sorted.
fn download_special(
    tmp: &Path,
    name: &str,
    goproxy: &str,
    goxy: Option<&GoxyProcess>,
) -> Vec<ModDownload> {
    let (run, records) = go_mod_download_json(
        &tmp.join(format!("home-{name}")),
        goproxy,
        &tmp.join(format!("empty-{name}")),
        SPECIAL_TARGETS,
    )
    .expect("run go");
    assert!(
        run.success,
        "{name}: go mod download -json failed:\n{}\n{}\ngoxy stderr:\n{}",
        run.stdout,
        run.stderr,
        goxy.map(GoxyProcess::stderr).unwrap_or_default()
    );
    let mut keep: Vec<ModDownload> = records
        .into_iter()
        .map(|r| ModDownload {
            path: r.path,
            version: r.version,
            error: r.error,
            sum: r.sum,
            go_mod_sum: r.go_mod_sum,
            ..ModDownload::default()
        })
        .collect();
    keep.sort_by(|a, b| (&a.path, &a.version).cmp(&(&b.path, &b.version)));
    keep.dedup();
    keep
}

#[test]
fn uppercase_incompatible_prerelease_and_no_gomod_modules() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(fx) = fixture(tmp.path()) else {
        return;
    };
    let reference = download_special(tmp.path(), "reference", &file_url(&fx.proxy_dir), None);
    let versions: Vec<(&str, &str)> = reference
        .iter()
        .map(|r| (r.path.as_str(), r.version.as_str()))
        .collect();
    assert_eq!(
        versions,
        [
            ("example.test/UpperCase/Mod", "v1.0.0"),
            ("example.test/UpperCase/Mod", "v1.0.1"),
            ("example.test/incompat", "v2.0.0+incompatible"),
            ("example.test/nogomod", "v1.0.0"),
            ("example.test/pre", "v1.0.0-RC1"),
        ],
        "reference resolution changed; the fixture is not what this test expects"
    );

    let upstream = Upstream::start(&fx.proxy_dir).expect("upstream");
    let goxy = GoxyProcess::serve(goxy_bin(), &tmp.path().join("cache"), &upstream.url(), &[])
        .expect("goxy");
    let via_goxy = download_special(tmp.path(), "goxy", &goxy.url, Some(&goxy));
    assert_eq!(
        via_goxy, reference,
        "go mod download -json through goxy differs from GOPROXY=file://"
    );

    // goxy asked the upstream with the case-encoded forms.
    for path in [
        "/example.test/!upper!case/!mod/@v/v1.0.0.zip",
        "/example.test/incompat/@v/v2.0.0+incompatible.zip",
        "/example.test/pre/@v/v1.0.0-!r!c1.zip",
        "/example.test/nogomod/@v/v1.0.0.mod",
    ] {
        assert_eq!(
            upstream.hits(path),
            1,
            "upstream requests for {path}: {:?}",
            upstream.all_hits()
        );
    }

    // Byte checks over plain HTTP: literal `!` and `%21` both work, `+` stays `+`,
    // list lines are unescaped, the synthesized go.mod is exact.
    let get = |path: &str| {
        let r =
            http_get(&format!("{}{path}", goxy.url)).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.body
    };
    let file = |path: &str| std::fs::read(fx.proxy_dir.join(path)).expect("fixture file");
    assert_eq!(
        get("/example.test/%21upper%21case/%21mod/@v/list"),
        get("/example.test/!upper!case/!mod/@v/list")
    );
    let list = String::from_utf8(get("/example.test/pre/@v/list")).expect("utf-8 list");
    assert!(
        list.lines().any(|l| l == "v1.0.0-RC1"),
        "pre list: {list:?}"
    );
    assert_eq!(
        get("/example.test/pre/@v/v1.0.0-%21r%21c1.zip"),
        file("example.test/pre/@v/v1.0.0-!r!c1.zip")
    );
    assert_eq!(
        get("/example.test/incompat/@v/v2.0.0+incompatible.zip"),
        file("example.test/incompat/@v/v2.0.0+incompatible.zip")
    );
    assert_eq!(
        get("/example.test/nogomod/@v/v1.0.0.mod"),
        b"module example.test/nogomod\n"
    );
}

#[test]
fn go_keeps_working_from_cache_after_upstream_dies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(fx) = fixture(tmp.path()) else {
        return;
    };
    let reference = download_project(&fx, tmp.path(), "reference", &file_url(&fx.proxy_dir), None);
    let mut upstream = Upstream::start(&fx.proxy_dir).expect("upstream");
    let goxy = GoxyProcess::serve(
        goxy_bin(),
        &tmp.path().join("cache"),
        &upstream.url(),
        &["--list-ttl", "1"],
    )
    .expect("goxy");
    let warm = download_project(&fx, tmp.path(), "warm", &goxy.url, Some(&goxy));
    assert_eq!(warm, reference);

    upstream.stop();
    let cold_client = download_project(&fx, tmp.path(), "after-kill", &goxy.url, Some(&goxy));
    assert_eq!(
        cold_client, reference,
        "go.sum from goxy's cache with the upstream dead"
    );

    // A version goxy never fetched: the go command must see a failure, not "not found".
    let (run, records) = go_mod_download_json(
        &tmp.path().join("home-uncached"),
        &goxy.url,
        &tmp.path().join("empty"),
        &["example.test/dep01@v1.0.0"],
    )
    .expect("run go");
    assert!(
        !run.success,
        "download of an uncached version succeeded with the upstream dead"
    );
    let err = records
        .first()
        .map(|r| r.error.as_str())
        .unwrap_or_default();
    assert!(
        err.contains("502"),
        "expected goxy's 502 in the go error, got {err:?} / {}",
        run.stderr
    );
}

#[test]
fn go_gets_an_error_for_a_wrong_upstream_zip_and_the_right_sum_after_repair() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(fx) = fixture(tmp.path()) else {
        return;
    };
    let target = ["example.test/dep11@v1.1.0"];
    let empty = tmp.path().join("empty");
    let (run, reference) = go_mod_download_json(
        &tmp.path().join("home-ref"),
        &file_url(&fx.proxy_dir),
        &empty,
        &target,
    )
    .expect("run go");
    assert!(run.success, "reference download: {}", run.stderr);
    let reference_sum = reference.first().map(|r| r.sum.clone()).unwrap_or_default();
    assert!(
        reference_sum.starts_with("h1:"),
        "reference records: {reference:?}"
    );

    let upstream = Upstream::start(&fx.proxy_dir).expect("upstream");
    upstream.set_fault(
        "/example.test/dep11/@v/v1.1.0.zip",
        goxy_testkit::Fault::ServeFile("/example.test/dep11/@v/v1.0.0.zip".into()),
    );
    let goxy = GoxyProcess::serve(goxy_bin(), &tmp.path().join("cache"), &upstream.url(), &[])
        .expect("goxy");
    let (run, records) =
        go_mod_download_json(&tmp.path().join("home-bad"), &goxy.url, &empty, &target)
            .expect("run go");
    assert!(
        !run.success,
        "go accepted a download while the upstream served another version's zip"
    );
    let err = records
        .first()
        .map(|r| r.error.as_str())
        .unwrap_or_default();
    assert!(
        err.contains("502"),
        "expected goxy's 502 in the go error, got {err:?}"
    );

    upstream.clear_faults();
    let (run, records) =
        go_mod_download_json(&tmp.path().join("home-good"), &goxy.url, &empty, &target)
            .expect("run go");
    assert!(
        run.success,
        "after repair: {}\ngoxy stderr:\n{}",
        run.stderr,
        goxy.stderr()
    );
    assert_eq!(
        records.first().map(|r| r.sum.as_str()),
        Some(reference_sum.as_str())
    );
}

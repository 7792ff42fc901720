//! `goxy prewarm` against a real goxy server: an air-gapped proxy filled from
//! a project's go.sum, then serving that project with its upstream gone.

use goxy_testkit::gocmd::{go_mod_download_all, make_fixture, read_go_sum};
use goxy_testkit::goxy::GoxyProcess;
use goxy_testkit::http::http_get;
use goxy_testkit::upstream::Upstream;
use std::path::Path;
use std::process::Command;

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

#[test]
fn prewarm_fills_goxy_which_then_serves_the_project_offline() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = make_fixture(&tmp.path().join("fx"), false).unwrap();
    // The reference go.sum, made by go from the fixture proxy directly.
    let home = tmp.path().join("home-ref");
    let reference = go_mod_download_all(
        &home,
        &goxy_testkit::gocmd::file_url(&fixture.proxy_dir),
        &fixture.project_dir,
    )
    .unwrap();
    assert!(reference.success, "{}", reference.stderr);
    let sums = read_go_sum(&fixture.project_dir).unwrap();
    assert!(sums.len() >= 40, "go.sum has {} lines", sums.len());

    let mut upstream = Upstream::start(&fixture.proxy_dir).unwrap();
    let goxy =
        GoxyProcess::serve(goxy_bin(), &tmp.path().join("cache"), &upstream.url(), &[]).unwrap();
    let out = Command::new(goxy_bin())
        .arg("prewarm")
        .arg(&fixture.project_dir)
        .args(["--proxy", &goxy.url])
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "prewarm failed: {report}");
    assert!(
        !report.contains('\u{1b}'),
        "no colours or progress bars when not on a terminal: {report}"
    );
    let zips = upstream
        .all_hits()
        .keys()
        .filter(|p| p.ends_with(".zip"))
        .count();
    assert!(zips >= 20, "prewarm fetched {zips} zips through goxy");

    // The upstream goes away; goxy alone serves the whole project, matching go.sum.
    upstream.stop();
    let again = http_get(&format!("{}/example.test/dep01/@v/v1.1.0.zip", goxy.url)).unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-goxy-cache"), Some("hit"));
    std::fs::remove_file(fixture.project_dir.join("go.sum")).unwrap();
    let home = tmp.path().join("home-goxy");
    let through = go_mod_download_all(&home, &goxy.url, &fixture.project_dir).unwrap();
    assert!(through.success, "{}", through.stderr);
    assert_eq!(read_go_sum(&fixture.project_dir).unwrap(), sums);
}

//! The fixture itself, checked with the real `go` command and no goxy:
//! `GOPROXY=file://<fixture>` must download the project and the special cases.

use goxy_testkit::gocmd::{file_url, go_mod_download_all, go_mod_download_json, read_go_sum};
use goxy_testkit::{have_go, make_fixture};

#[test]
fn fixture_is_a_valid_goproxy_tree() {
    if !have_go() {
        eprintln!("skipped: no `go` command on PATH");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fx = make_fixture(&tmp.path().join("fx"), true).unwrap();
    let again = make_fixture(&tmp.path().join("fx2"), true).unwrap();
    for rel in [
        "example.test/dep07/@v/v1.1.0.zip",
        "example.test/bench/@v/v1.0.0.zip",
        "example.test/pre/@v/list",
    ] {
        assert_eq!(
            std::fs::read(fx.proxy_dir.join(rel)).unwrap(),
            std::fs::read(again.proxy_dir.join(rel)).unwrap(),
            "{rel} is not deterministic"
        );
    }
    let bench_zip = std::fs::metadata(fx.proxy_dir.join("example.test/bench/@v/v1.0.0.zip"))
        .unwrap()
        .len();
    assert!(
        (1_000_000..1_100_000).contains(&bench_zip),
        "bench zip is {bench_zip} bytes"
    );

    let goproxy = file_url(&fx.proxy_dir);
    let run = go_mod_download_all(&tmp.path().join("home"), &goproxy, &fx.project_dir).unwrap();
    assert!(run.success, "go mod download all: {}", run.stderr);
    let sums = read_go_sum(&fx.project_dir).unwrap();
    let zip_lines = sums.iter().filter(|l| !l.contains("/go.mod ")).count();
    assert!(
        zip_lines >= 29,
        "expected 25 deps + 4 special modules in go.sum, got {zip_lines}: {sums:#?}"
    );

    let (run, recs) = go_mod_download_json(
        &tmp.path().join("home"),
        &goproxy,
        &tmp.path().join("empty"),
        &[
            "example.test/incompat@latest",
            "example.test/pre@v1.0.0-RC1",
            "example.test/nogomod@v1.0.0",
        ],
    )
    .unwrap();
    assert!(run.success, "{}\n{}", run.stdout, run.stderr);
    let mut versions: Vec<(&str, &str)> = recs
        .iter()
        .map(|r| (r.path.as_str(), r.version.as_str()))
        .collect();
    versions.sort();
    assert_eq!(
        versions,
        [
            ("example.test/incompat", "v2.0.0+incompatible"),
            ("example.test/nogomod", "v1.0.0"),
            ("example.test/pre", "v1.0.0-RC1")
        ]
    );
    let nogomod = recs
        .iter()
        .find(|r| r.path == "example.test/nogomod")
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&nogomod.go_mod).unwrap(),
        "module example.test/nogomod\n"
    );
}

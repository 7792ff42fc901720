//! Where `goxy serve` takes its settings from: flags over environment over the
//! config file over the Go environment, and a GOPROXY inherited from the
//! environment that names goxy itself is dropped instead of looping.

use goxy_testkit::gocmd::make_fixture;
use goxy_testkit::goxy::GoxyProcess;
use goxy_testkit::http::http_get_timeout;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

/// `goxy serve --check` with a controlled environment; returns stdout+stderr.
fn check(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(goxy_bin());
    cmd.arg("serve").arg("--check").args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("GOXY_") || name == "GOPROXY" {
            cmd.env_remove(name);
        }
    }
    // --check binds the listen address and asks the checksum database's
    // route: keep both local unless a test sets them.
    cmd.env("GOXY_LISTEN", "127.0.0.1:0")
        .env("GOXY_SUMDB", "off");
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn flags_over_environment_over_file_over_goproxy() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("goxy.toml");
    std::fs::write(
        &config,
        "upstream = \"https://from-file.example\"\nlist_ttl = 30\n",
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    let goproxy = [("GOPROXY", "https://from-goproxy.example,direct")];

    let (ok, out) = check(&[], &goproxy);
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "upstream https://from-goproxy.example,direct (from GOPROXY from the environment)"
        ),
        "{out}"
    );

    let (ok, out) = check(&["--config", &config], &goproxy);
    assert!(ok, "{out}");
    assert!(
        out.contains("upstream https://from-file.example (from config file)"),
        "{out}"
    );

    let env = [
        ("GOPROXY", "https://from-goproxy.example"),
        ("GOXY_UPSTREAM", "https://from-env.example"),
    ];
    let (ok, out) = check(&["--config", &config], &env);
    assert!(ok, "{out}");
    assert!(
        out.contains("upstream https://from-env.example (from --upstream/GOXY_UPSTREAM)"),
        "{out}"
    );

    let (ok, out) = check(
        &[
            "--config",
            &config,
            "--upstream",
            "https://from-flag.example",
        ],
        &env,
    );
    assert!(ok, "{out}");
    assert!(out.contains("upstream https://from-flag.example "), "{out}");
}

#[test]
fn bad_settings_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("goxy.toml");
    std::fs::write(&config, "upstream = \"off\"\nlist_tll = 30\n").unwrap();
    let (ok, out) = check(&["--config", &config.to_string_lossy()], &[]);
    assert!(!ok, "a misspelt key must fail: {out}");
    assert!(out.contains("list_tll"), "the error names the key: {out}");

    let (ok, out) = check(&["--upstream", "ftp://mirror.example"], &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("ftp://mirror.example") && out.contains("unsupported scheme"),
        "{out}"
    );
}

#[test]
fn an_inherited_goproxy_naming_goxy_itself_is_dropped() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command to build the fixture");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = make_fixture(&tmp.path().join("fx"), false).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let goproxy = format!(
        "http://localhost:{port}|http://127.0.0.1:{port},file://{}",
        fixture.proxy_dir.display()
    );
    let cache = tmp.path().join("cache").to_string_lossy().into_owned();
    let goxy = GoxyProcess::start_with_env(
        goxy_bin(),
        &["serve", "--listen", &listen, "--cache-dir", &cache],
        &[("GOPROXY", &goproxy)],
    )
    .unwrap();
    let r = http_get_timeout(
        &format!("{}/example.test/dep01/@v/v1.0.0.info", goxy.url),
        Duration::from_secs(20),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let log = goxy.stderr();
    assert!(
        log.contains("dropped an upstream that points at this server"),
        "{log}"
    );

    // Nothing left but itself: refuse to start rather than loop.
    let only_self = format!("http://127.0.0.1:{port}");
    drop(goxy);
    let err = GoxyProcess::start_with_env(
        goxy_bin(),
        &["serve", "--listen", &listen, "--cache-dir", &cache],
        &[("GOPROXY", &only_self)],
    )
    .err()
    .expect("goxy must not start with only itself as upstream");
    assert!(err.to_string().contains("points at this server"), "{err}");
}

/// `go env -w GOPRIVATE=...` writes the GOENV file, not the environment:
/// goxy reads it as go does, so a private path set only there never reaches
/// the upstream proxy or the checksum database, and the upstream list in
/// that file is used too.
#[test]
fn goprivate_only_in_the_goenv_file_keeps_private_paths_away_from_the_upstream() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let upstream = goxy_testkit::upstream::Upstream::start(&root).unwrap();
    let goenv = tmp.path().join("go-env");
    std::fs::write(
        &goenv,
        format!(
            "GOPRIVATE=corp.example.com\nGOPROXY={}\nGOSUMDB=off\n",
            upstream.url()
        ),
    )
    .unwrap();
    let cache = tmp.path().join("cache").to_string_lossy().into_owned();
    let goenv_text = goenv.to_string_lossy().into_owned();
    let goxy = GoxyProcess::start_with_env(
        goxy_bin(),
        &["serve", "--listen", "127.0.0.1:0", "--cache-dir", &cache],
        &[("GOENV", &goenv_text), ("GOPRIVATE", ""), ("GOPROXY", "")],
    )
    .unwrap();
    for path in [
        "/corp.example.com/secret/@v/list",
        "/corp.example.com/secret/@v/v1.0.0.info",
        "/corp.example.com/secret/@latest",
    ] {
        let r = http_get_timeout(&format!("{}{path}", goxy.url), Duration::from_secs(20)).unwrap();
        assert_eq!(r.status, 404, "{path}: {}", r.text());
    }
    assert_eq!(
        upstream.total_hits(),
        0,
        "a private path reached the upstream: {:?}",
        upstream.all_hits()
    );
    // A public path does go to the upstream named in the same file.
    let _ = http_get_timeout(
        &format!("{}/public.example.com/m/@v/list", goxy.url),
        Duration::from_secs(20),
    )
    .unwrap();
    assert!(upstream.total_hits() >= 1, "{:?}", upstream.all_hits());
}

//! The GOPROXY fall-through matrix for goxy's upstream list (protocol.md
//! §1.8, §1.9, §7.2 item 23): after `,` only 404/410 fall through to the next
//! upstream; after `|` every error does. goxy answers 404/410 only when every
//! source said "not found", 502 when an upstream failed, 504 on a timeout.

use std::path::Path;
use std::time::Duration;

use goxy_testkit::{
    have_go, http_get_timeout, make_fixture, Fault, GoxyProcess, HttpResponse, Upstream,
};

/// A goxy config file that shortens the upstream deadlines (seconds) so the
/// hang cases finish quickly.
const SHORT_TIMEOUTS_TOML: &str = "[timeouts]\nconnect = 2\nheaders = 2\nbody_idle = 2\n";

const INFO: &str = "/example.test/dep10/@v/v1.1.0.info";
const LIST: &str = "/example.test/dep10/@v/list";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 200, answered by B.
    FromB,
    /// This status, and B never asked.
    StopAtA(u16),
    /// Every source failed: one of these statuses.
    Fail(&'static [u16]),
}

struct Case {
    sep: char,
    fault_a: Fault,
    /// None = B healthy.
    fault_b: Option<Fault>,
    expect: Expect,
}

fn matrix() -> Vec<Case> {
    let mut cases = Vec::new();
    for (fault, comma) in [
        (Fault::NotFound, Expect::FromB),
        (Fault::Gone, Expect::FromB),
        (Fault::Forbidden, Expect::StopAtA(502)),
        (Fault::ServerError, Expect::StopAtA(502)),
        (Fault::DropConnection, Expect::StopAtA(502)),
        (Fault::Hang, Expect::StopAtA(504)),
    ] {
        cases.push(Case {
            sep: ',',
            fault_a: fault.clone(),
            fault_b: None,
            expect: comma,
        });
        cases.push(Case {
            sep: '|',
            fault_a: fault,
            fault_b: None,
            expect: Expect::FromB,
        });
    }
    // Final errors when B fails too.
    cases.push(Case {
        sep: ',',
        fault_a: Fault::NotFound,
        fault_b: Some(Fault::NotFound),
        expect: Expect::Fail(&[404]),
    });
    cases.push(Case {
        sep: ',',
        fault_a: Fault::Gone,
        fault_b: Some(Fault::NotFound),
        expect: Expect::Fail(&[404, 410]),
    });
    cases.push(Case {
        sep: ',',
        fault_a: Fault::NotFound,
        fault_b: Some(Fault::ServerError),
        expect: Expect::Fail(&[502]),
    });
    // A real failure outranks a later "not found": goxy must not claim the module does not exist.
    cases.push(Case {
        sep: '|',
        fault_a: Fault::ServerError,
        fault_b: Some(Fault::NotFound),
        expect: Expect::Fail(&[502]),
    });
    cases.push(Case {
        sep: '|',
        fault_a: Fault::Forbidden,
        fault_b: Some(Fault::Gone),
        expect: Expect::Fail(&[502]),
    });
    cases
}

/// Runs one case with its own upstreams and goxy; returns a failure message.
fn run_case(case: &Case, proxy_dir: &Path, tmp: &Path) -> Result<(), String> {
    let a = Upstream::start(proxy_dir).map_err(|e| format!("upstream A: {e}"))?;
    let b = Upstream::start(proxy_dir).map_err(|e| format!("upstream B: {e}"))?;
    a.set_global_fault(Some(case.fault_a.clone()));
    b.set_global_fault(case.fault_b.clone());
    let list = format!("{}{}{}", a.url(), case.sep, b.url());
    std::fs::create_dir_all(tmp).map_err(|e| format!("create {}: {e}", tmp.display()))?;
    let config = tmp.join("goxy.toml");
    std::fs::write(&config, SHORT_TIMEOUTS_TOML)
        .map_err(|e| format!("write {}: {e}", config.display()))?;
    let config = config.to_string_lossy();
    let goxy = GoxyProcess::serve(
        Path::new(env!("CARGO_BIN_EXE_goxy")),
        &tmp.join("cache"),
        &list,
        &["--config", &config],
    )
    .map_err(|e| e.to_string())?;
    let name = format!(
        "upstream {:?}{}{:?} ({list})",
        case.fault_a, case.sep, case.fault_b
    );
    for path in [INFO, LIST] {
        let r: HttpResponse =
            http_get_timeout(&format!("{}{path}", goxy.url), Duration::from_secs(90))
                .map_err(|e| format!("{name}: GET {path}: {e}"))?;
        let b_hits = b.hits(path);
        let ok = match case.expect {
            Expect::FromB => r.status == 200 && b_hits >= 1,
            Expect::StopAtA(status) => r.status == status && b_hits == 0,
            Expect::Fail(statuses) => statuses.contains(&r.status),
        };
        if !ok {
            return Err(format!(
                "{name}: GET {path}: expected {:?}, got status {} (body {:?}), B asked {b_hits} times, A asked {} times",
                case.expect,
                r.status,
                r.text(),
                a.hits(path)
            ));
        }
        if a.hits(path) == 0 {
            return Err(format!("{name}: GET {path}: upstream A was never asked"));
        }
        if r.status == 200 && path == INFO && !r.text().contains(r#""Version":"v1.1.0""#) {
            return Err(format!("{name}: GET {path}: body {:?}", r.text()));
        }
    }
    Ok(())
}

#[test]
fn fall_through_matrix() {
    if !have_go() {
        eprintln!("skipped: no `go` command on PATH (needed to build the fixture)");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = make_fixture(&tmp.path().join("fixture"), false).expect("mkfixture");
    let cases = matrix();
    // Cases are independent (own upstreams, own goxy, own cache): run them
    // side by side so the hang cases' timeouts overlap.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, case)| {
                let proxy_dir = &fixture.proxy_dir;
                let case_dir = tmp.path().join(format!("case-{i}"));
                scope.spawn(move || run_case(case, proxy_dir, &case_dir))
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("case panicked".into()))
                    .err()
            })
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A fixture proxy tree with one module, `example.test/x/text`, which has a
/// package `example.test/x/text/language` (the shape of golang.org/x/text).
fn write_text_module(root: &Path) {
    let module = "example.test/x/text";
    let go_mod = format!("module {module}\n\ngo 1.21\n");
    let lang = "package language\n\nconst Tag = \"und\"\n";
    let files = [
        goxy_zip::SourceFile {
            path: "go.mod",
            kind: goxy_zip::FileKind::Regular,
            data: go_mod.as_bytes(),
        },
        goxy_zip::SourceFile {
            path: "language/language.go",
            kind: goxy_zip::FileKind::Regular,
            data: lang.as_bytes(),
        },
    ];
    let zip = goxy_zip::create_zip(module, "v0.3.0", &files)
        .expect("zip")
        .zip;
    let dir = root.join("example.test/x/text/@v");
    std::fs::create_dir_all(&dir).expect("create tree");
    std::fs::write(dir.join("list"), "v0.3.0\n").expect("list");
    std::fs::write(
        dir.join("v0.3.0.info"),
        "{\"Version\":\"v0.3.0\",\"Time\":\"2024-01-01T00:00:00Z\"}",
    )
    .expect("info");
    std::fs::write(dir.join("v0.3.0.mod"), &go_mod).expect("mod");
    std::fs::write(dir.join("v0.3.0.zip"), &zip).expect("zip");
}

/// `go mod tidy` in a fresh copy of a project importing `example.test/x/text/language`.
fn tidy(tmp: &Path, name: &str, goproxy: &str) -> (goxy_testkit::gocmd::GoRun, String, String) {
    let project = tmp.join(name).join("project");
    std::fs::create_dir_all(&project).expect("project dir");
    std::fs::write(
        project.join("go.mod"),
        "module example.test/app\n\ngo 1.21\n",
    )
    .expect("go.mod");
    std::fs::write(
        project.join("main.go"),
        "package main\n\nimport \"example.test/x/text/language\"\n\nfunc main() { println(language.Tag) }\n",
    )
    .expect("main.go");
    // A clean module cache per run (isolated_go puts it under this home).
    let run = goxy_testkit::gocmd::run_go(
        &tmp.join(name).join("home"),
        goproxy,
        &project,
        &["mod", "tidy"],
    )
    .expect("run go");
    let read = |f: &str| std::fs::read_to_string(project.join(f)).unwrap_or_default();
    (run, read("go.mod"), read("go.sum"))
}

/// Issue #17 point 4: `<proxy>,direct` through goxy pins what `go` pins alone.
/// The proxy says 404 for the prefix `example.test/x/text/language`, `direct`
/// cannot resolve `example.test`; cmd/go treats that as "not exist" and uses
/// the next prefix, so goxy must answer 404 (not 502) for it.
#[test]
fn path_prefix_discovery_failure_falls_through_like_go() {
    if !have_go() {
        eprintln!("skipping: go not on PATH");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tree = tmp.path().join("tree");
    write_text_module(&tree);
    let fixture = Upstream::start(&tree).expect("fixture upstream");
    let list = format!("{},direct", fixture.url());
    let goxy = GoxyProcess::serve(
        Path::new(env!("CARGO_BIN_EXE_goxy")),
        &tmp.path().join("cache"),
        &list,
        &[],
    )
    .expect("goxy");

    // The prefix probe itself: 404 with the discovery cause in the body.
    let r = http_get_timeout(
        &format!("{}/example.test/x/text/language/@v/list", goxy.url),
        Duration::from_secs(60),
    )
    .expect("GET");
    assert_eq!(r.status, 404, "prefix probe: {} {}", r.status, r.text());
    assert!(
        r.text().contains("discovery"),
        "body names the cause: {}",
        r.text()
    );

    let (via_goxy, mod_goxy, sum_goxy) = tidy(tmp.path(), "goxy", &goxy.url);
    assert!(
        via_goxy.success,
        "go mod tidy through goxy failed: {}\ngoxy log:\n{}",
        via_goxy.stderr,
        goxy.stderr()
    );
    let (straight, mod_go, sum_go) = tidy(tmp.path(), "go", &list);
    assert!(
        straight.success,
        "go mod tidy straight failed: {}",
        straight.stderr
    );
    assert!(mod_go.contains("example.test/x/text v0.3.0"), "{mod_go}");
    assert_eq!(mod_goxy, mod_go, "go.mod differs");
    assert_eq!(sum_goxy, sum_go, "go.sum differs");
}

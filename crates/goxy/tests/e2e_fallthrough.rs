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

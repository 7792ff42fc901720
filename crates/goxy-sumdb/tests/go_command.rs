//! The real `go` command accepts the Go reference checksum database signed
//! with the test key (protocol.md §7.7 item 65), and what it accepts, this
//! crate verifies to the same hashes. A database that disagrees with a
//! module's zip makes `go` fail, as it must.

mod common;

use std::path::Path;

use common::Db;
use goxy_sumdb::{TrustedLog, Verifier, Verifiers};
use goxy_testkit::gocmd::{copy_dir, file_url, make_fixture, read_go_sum, GoRun};

const TEST_VKEY: &str =
    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";

/// `go <args>` in `dir`, modules from `proxy`, checksums from the database at `sumdb_url`.
fn go_with_sumdb(home: &Path, proxy: &str, sumdb_url: &str, dir: &Path, args: &[&str]) -> GoRun {
    goxy_testkit::isolated_go(home, proxy)
        .env("GOSUMDB", format!("{TEST_VKEY} {sumdb_url}"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run go")
        .into()
}

#[test]
fn go_command_accepts_test_database() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = make_fixture(&tmp.path().join("fixture"), false).unwrap();
    let proxy = file_url(&fixture.proxy_dir);

    // The true hashes: let go compute them with the database off.
    let reference = tmp.path().join("reference");
    copy_dir(&fixture.project_dir, &reference).unwrap();
    let run =
        goxy_testkit::gocmd::go_mod_download_all(&tmp.path().join("home0"), &proxy, &reference)
            .unwrap();
    assert!(run.success, "go mod download (GOSUMDB=off): {}", run.stderr);
    let go_sum = read_go_sum(&reference).unwrap();
    assert!(go_sum.len() >= 20, "{go_sum:?}");
    let records = go_sum.join("\n") + "\n";

    // An honest database with those records: go downloads and verifies.
    let Some(db) = Db::start_with(&records) else {
        return;
    };
    let project = tmp.path().join("project");
    copy_dir(&fixture.project_dir, &project).unwrap();
    let home = tmp.path().join("home1");
    let run = go_with_sumdb(
        &home,
        &proxy,
        &db.url,
        &project,
        &["mod", "download", "all"],
    );
    assert!(run.success, "go mod download with sumdb: {}", run.stderr);
    let run = go_with_sumdb(&home, &proxy, &db.url, &project, &["mod", "verify"]);
    assert!(run.success, "go mod verify: {}{}", run.stdout, run.stderr);
    assert_eq!(read_go_sum(&project).unwrap(), go_sum);
    // go consulted the database: its trusted tree is stored under GOPATH.
    let latest = home.join("gopath/pkg/sumdb/localhost.localdev/sumdb/latest");
    let go_latest = std::fs::read(&latest).unwrap_or_else(|e| panic!("{}: {e}", latest.display()));

    // The same answers verify here, to the same hashes; and go's trusted
    // tree is one this crate accepts.
    let verifiers = Verifiers::from(Verifier::parse(TEST_VKEY).unwrap());
    let mut log = TrustedLog::with_trusted_note(verifiers, &go_latest).unwrap();
    let mut complete = 0;
    for line in &go_sum {
        let mut fields = line.split(' ');
        let (Some(module), Some(version), Some(hash)) =
            (fields.next(), fields.next(), fields.next())
        else {
            panic!("go.sum line {line:?}");
        };
        let Some(version) = version.strip_suffix("/go.mod") else {
            continue;
        };
        let zip_prefix = format!("{module} {version} ");
        let result = db.lookup(&mut log, module, version);
        if go_sum.iter().any(|l| l.starts_with(&zip_prefix)) {
            let verified = result.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(verified.hashes.go_mod, hash, "{module}@{version}");
            let zip_line = format!("{zip_prefix}{}", verified.hashes.zip);
            assert!(go_sum.contains(&zip_line), "{zip_line} not in go.sum");
            complete += 1;
        } else {
            // go.sum lists only the go.mod of versions outside the build
            // list, so this test database has go.mod-only records for them.
            // go accepts those; this crate demands both hashes.
            let err = result.unwrap_err();
            assert!(
                matches!(
                    err.root(),
                    goxy_sumdb::Error::MissingHash { what: "zip", .. }
                ),
                "{err}"
            );
        }
    }
    assert!(complete >= 10, "only {complete} complete records");

    // A database whose record disagrees with a zip: go refuses the module.
    let (victim, rest) = go_sum
        .iter()
        .find(|l| !l.contains("/go.mod "))
        .map(|l| l.rsplit_once(' ').unwrap())
        .unwrap();
    let wrong = format!("h1:{}", goxy_sumdb::tlog::record_hash(b"not the zip"));
    let bad_records = records.replace(&format!("{victim} {rest}"), &format!("{victim} {wrong}"));
    assert_ne!(bad_records, records);
    let Some(bad_db) = Db::start_with(&bad_records) else {
        return;
    };
    let project = tmp.path().join("project2");
    copy_dir(&fixture.project_dir, &project).unwrap();
    let run = go_with_sumdb(
        &tmp.path().join("home2"),
        &proxy,
        &bad_db.url,
        &project,
        &["mod", "download", "all"],
    );
    assert!(
        !run.success,
        "go accepted a zip the database disagrees with"
    );
    assert!(
        run.stderr.contains("SECURITY ERROR") || run.stderr.contains("checksum mismatch"),
        "unexpected failure: {}",
        run.stderr
    );
}

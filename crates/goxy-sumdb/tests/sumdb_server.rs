//! Differential tests against the Go reference checksum database
//! (`tools/gotest/cmd/sumdb-server`, built on x/mod's sumdb.Server and tlog):
//! everything an honest database serves verifies here, and each kind of
//! misbehaviour it can be switched to is refused with the right error.
//!
//! The crate does no I/O; these tests fetch over loopback with a blocking
//! client and hand the bytes to the sans-I/O API, as the server will.

mod common;

use std::io::Write;

use common::{gosum_lines, h1, Db};
use goxy_sumdb::{tile, Error, MergeOutcome, Tile, TrustedLog, Verifier, Verifiers};

const TEST_VKEY: &str =
    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";

fn verifiers() -> Verifiers {
    Verifiers::from(Verifier::parse(TEST_VKEY).unwrap())
}

fn module(i: u32) -> (String, String) {
    (format!("example.com/m{i}"), format!("v1.0.{i}"))
}

#[test]
fn honest_database_verifies() {
    let Some(db) = Db::start(300) else { return };
    let mut log = TrustedLog::new(verifiers());
    for i in (0..300).step_by(7).chain([299]) {
        let (m, v) = module(i);
        let got = db
            .lookup(&mut log, &m, &v)
            .unwrap_or_else(|e| panic!("{m}@{v}: {e}"));
        assert_eq!(got.hashes.zip, h1(&format!("zip {i}")));
        assert_eq!(got.hashes.go_mod, h1(&format!("mod {i}")));
        got.hashes.check_zip(&h1(&format!("zip {i}"))).unwrap();
        assert!(got
            .hashes
            .check_zip(&h1("something else"))
            .unwrap_err()
            .is_security_event());
    }
    assert_eq!(log.trusted().unwrap().tree.n, 300);

    // The log grows: through POST /add and through lines appended to the file.
    db.post("add", &gosum_lines(300..400));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&db.records_file)
        .unwrap();
    file.write_all(gosum_lines(400..600).as_bytes()).unwrap();
    drop(file);
    assert!(matches!(
        db.latest(&mut log).unwrap(),
        MergeOutcome::Advanced { .. }
    ));
    assert_eq!(log.trusted().unwrap().tree.n, 600);
    for i in [0, 255, 256, 300, 511, 512, 599] {
        let (m, v) = module(i);
        let got = db
            .lookup(&mut log, &m, &v)
            .unwrap_or_else(|e| panic!("{m}@{v}: {e}"));
        assert_eq!(got.hashes.zip, h1(&format!("zip {i}")));
    }
    assert_eq!(db.latest(&mut log).unwrap(), MergeOutcome::Same);

    // Every tile the database publishes verifies against the trusted tree
    // (hash and data tiles), and the Go server accepts our tile paths.
    let tree = log.trusted().unwrap().tree;
    let mut all = tile::new_tiles(8, 0, tree.n).unwrap();
    all.extend(all.clone().iter().filter(|t| t.l == 0).map(|t| Tile {
        l: Tile::DATA_LEVEL,
        ..*t
    }));
    assert!(all.len() >= 6, "{all:?}");
    for t in &all {
        let data = db
            .get(&t.path())
            .unwrap_or_else(|c| panic!("{}: {c}", t.path()));
        let others = db.fetch(&log.tiles_for_tile(t).unwrap());
        log.verify_tile(t, &data, &others)
            .unwrap_or_else(|e| panic!("{}: {e}", t.path()));
        let mut bad = data.clone();
        bad[0] ^= 0x10;
        assert!(
            log.verify_tile(t, &bad, &others).is_err(),
            "{} tampered accepted",
            t.path()
        );
    }

    // Unknown module versions are 404 at the database.
    assert_eq!(db.get("lookup/example.com/none@v1.0.0"), Err(404));
}

/// Starts a database with 300 records, establishes trust in its tree, adds
/// 20 records, and switches to `mode`.
fn misbehaving(mode: &str) -> Option<(Db, TrustedLog)> {
    let db = Db::start(300)?;
    let mut log = TrustedLog::new(verifiers());
    let (m, v) = module(1);
    db.lookup(&mut log, &m, &v).unwrap();
    db.post("add", &gosum_lines(300..320));
    db.set_mode(mode);
    Some((db, log))
}

fn assert_refused(
    result: Result<impl std::fmt::Debug, Error>,
    want: fn(&Error) -> bool,
    what: &str,
) {
    let err = result.expect_err(what);
    assert!(want(err.root()), "{what}: unexpected error {err:?}");
    assert!(
        err.is_security_event(),
        "{what}: {err} not flagged as a security event"
    );
}

#[test]
fn tampered_tile_is_refused() {
    let Some((db, mut log)) = misbehaving("tamper-tile") else {
        return;
    };
    let (m, v) = module(310);
    assert_refused(
        db.lookup(&mut log, &m, &v),
        |e| matches!(e, Error::InconsistentTile { .. }),
        "tamper-tile",
    );
    assert_eq!(
        log.trusted().unwrap().tree.n,
        300,
        "bad answer must not move the trusted tree"
    );
}

#[test]
fn wrong_tile_width_is_refused() {
    let Some((db, mut log)) = misbehaving("wrong-width") else {
        return;
    };
    let (m, v) = module(310);
    assert_refused(
        db.lookup(&mut log, &m, &v),
        |e| matches!(e, Error::TileDataLength { .. }),
        "wrong-width",
    );
}

#[test]
fn forked_tree_is_refused() {
    let Some((db, mut log)) = misbehaving("fork") else {
        return;
    };
    let (m, v) = module(5);
    let err = db.lookup(&mut log, &m, &v).unwrap_err();
    assert!(err.is_fork() && err.is_security_event(), "{err:?}");
    let Error::Fork(evidence) = err.root() else {
        unreachable!()
    };
    assert_eq!(evidence.trusted.n, 300);
    assert_eq!(evidence.candidate.n, 321);
    assert!(evidence
        .trusted_note
        .starts_with("go.sum database tree\n300\n"));
    assert!(evidence
        .candidate_note
        .starts_with("go.sum database tree\n321\n"));
    assert!(db.latest(&mut log).unwrap_err().is_fork());
    assert_eq!(log.trusted().unwrap().tree.n, 300);
}

#[test]
fn empty_record_is_refused() {
    let Some((db, mut log)) = misbehaving("empty-record") else {
        return;
    };
    let (m, v) = module(2);
    assert_refused(
        db.lookup(&mut log, &m, &v),
        |e| matches!(e, Error::MissingHash { .. }),
        "empty-record",
    );
}

#[test]
fn unrelated_record_is_refused() {
    let Some((db, mut log)) = misbehaving("unrelated-record") else {
        return;
    };
    let (m, v) = module(2);
    assert_refused(
        db.lookup(&mut log, &m, &v),
        |e| matches!(e, Error::UnrelatedLine { .. }),
        "unrelated-record",
    );
}

#[test]
fn forged_tiles_are_refused() {
    // 512 records: every level-0 tile is full and the signed root is computed
    // from level-1 tiles only, so a forged level-0 tile is caught only by
    // checking it against its parent (the CVE-2026-56865 class).
    let Some(db) = Db::start(512) else { return };
    let mut log = TrustedLog::new(verifiers());
    db.latest(&mut log).unwrap();
    assert_eq!(log.trusted().unwrap().tree.n, 512);
    db.set_mode("forged-tile");
    for i in [3, 300] {
        let (m, v) = module(i);
        assert_refused(
            db.lookup(&mut log, &m, &v),
            |e| matches!(e, Error::InconsistentTile { tile, .. } if tile.starts_with("tile/8/0/")),
            &format!("forged-tile {m}"),
        );
    }
    // Same tree, more records: partial forged tiles fail against the root.
    db.set_mode("honest");
    db.post("add", &gosum_lines(512..530));
    db.latest(&mut log).unwrap();
    db.set_mode("forged-tile");
    let (m, v) = module(520);
    assert_refused(
        db.lookup(&mut log, &m, &v),
        |e| matches!(e, Error::InconsistentTile { .. }),
        "forged partial",
    );
}

#[test]
fn tampered_record_is_refused() {
    let Some((db, mut log)) = misbehaving("tamper-record") else {
        return;
    };
    let (m, v) = module(4);
    assert_refused(
        db.lookup(&mut log, &m, &v),
        |e| matches!(e, Error::RecordMismatch { .. }),
        "tamper-record",
    );
}

#[test]
fn wrong_key_and_bad_signature_are_refused() {
    let Some((db, mut log)) = misbehaving("wrong-key") else {
        return;
    };
    let (m, v) = module(4);
    assert_refused(
        db.lookup(&mut log, &m, &v),
        |e| matches!(e, Error::UnverifiedNote { .. }),
        "wrong-key",
    );
    assert_refused(
        db.latest(&mut log),
        |e| matches!(e, Error::UnverifiedNote { .. }),
        "wrong-key latest",
    );
    db.set_mode("bad-signature");
    assert_refused(
        db.lookup(&mut log, &m, &v),
        |e| matches!(e, Error::InvalidSignature { .. }),
        "bad-signature",
    );
    // A log configured with another key trusts nothing from this database.
    let other = goxy_sumdb::Signer::from_seed("localhost.localdev/sumdb", [9; 32]).unwrap();
    let mut stranger = TrustedLog::new(Verifiers::from(
        Verifier::parse(&other.verifier_key()).unwrap(),
    ));
    db.set_mode("honest");
    assert_refused(
        db.lookup(&mut stranger, &m, &v),
        |e| matches!(e, Error::UnverifiedNote { .. }),
        "other key",
    );
}

#[test]
fn rollback_is_refused() {
    let Some((db, mut log)) = misbehaving("honest") else {
        return;
    };
    assert!(matches!(
        db.latest(&mut log).unwrap(),
        MergeOutcome::Advanced { .. }
    ));
    let trusted = log.trusted().unwrap().tree;
    db.set_mode("rollback");
    let err = db.latest(&mut log).unwrap_err();
    match &err {
        Error::Rollback {
            trusted: t,
            candidate,
        } => {
            assert_eq!(*t, trusted);
            assert_eq!(candidate.n, trusted.n - 1);
        }
        other => panic!("want rollback, got {other:?}"),
    }
    assert!(err.is_security_event());
    // A lookup answered with the older (consistent) tree is still fine: the
    // record is proven in the trusted tree.
    let (m, v) = module(7);
    assert_eq!(
        db.lookup(&mut log, &m, &v).unwrap().merge,
        MergeOutcome::Older
    );
}

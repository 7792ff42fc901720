//! Differential tests against golang.org/x/mod itself, through the Go helper
//! `tools/gotest/cmd/zip-oracle` (built offline from vendored sources).

mod common;

use std::path::Path;
use std::process::Command;

use common::{build_zip, parse_txtar, walk_dir, TestEntry};
use goxy_zip::{
    check_zip, create_zip, go_mod_go_version, go_mod_module_path, go_mod_retractions, str_to_fold,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

fn oracle() -> Option<std::path::PathBuf> {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return None;
    }
    Some(goxy_testkit::go_tool("zip-oracle"))
}

/// Runs the oracle; returns Ok(h1) or Err(message).
fn run(tool: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .expect("run zip-oracle");
    assert!(
        out.status.success(),
        "zip-oracle {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Error messages may quote raw bytes of corrupted names.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.trim_end();
    if let Some(h1) = line.strip_prefix("ok ") {
        Ok(h1.to_string())
    } else if let Some(msg) = line.strip_prefix("err ") {
        Err(msg.to_string())
    } else {
        panic!("unexpected zip-oracle output {text:?}")
    }
}

#[test]
fn fold_table_matches_go() {
    let Some(tool) = oracle() else { return };
    let out = Command::new(&tool).arg("foldtable").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut listed = std::collections::HashMap::new();
    for line in text.lines() {
        let (a, b) = line.split_once(' ').unwrap();
        listed.insert(
            u32::from_str_radix(a, 16).unwrap(),
            u32::from_str_radix(b, 16).unwrap(),
        );
    }
    assert!(listed.len() > 1000, "Go listed only {} folds", listed.len());
    let mut checked = 0;
    for code in 0..=0x10FFFFu32 {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        let want = listed.get(&code).copied().unwrap_or(code);
        let got = str_to_fold(c.encode_utf8(&mut [0; 4]));
        assert_eq!(
            got.chars().map(|c| c as u32).collect::<Vec<_>>(),
            vec![want],
            "fold of U+{code:04X}"
        );
        checked += 1;
    }
    assert!(checked > 1_000_000);
}

/// Every zip built from the unzip/check_zip vectors gets the same verdict and h1 from x/mod.
#[test]
fn vector_zips_agree_with_xmod() {
    let Some(tool) = oracle() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut n = 0;
    for sub in ["unzip", "check_zip"] {
        for entry in std::fs::read_dir(root.join(sub)).unwrap() {
            let p = entry.unwrap().path();
            let t = parse_txtar(&std::fs::read(&p).unwrap());
            let (path, version) = (t.get("path").unwrap(), t.get("version").unwrap());
            let entries: Vec<TestEntry> = t
                .files
                .iter()
                .filter(|(n, _)| n != b"want")
                .map(|(n, d)| TestEntry::new(n, d))
                .collect();
            let zip = build_zip(&entries);
            let zip_path = dir.path().join("v.zip");
            std::fs::write(&zip_path, &zip).unwrap();
            let go = run(&tool, &["check", zip_path.to_str().unwrap(), path, version]);
            let ours = check_zip(path, version, &zip)
                .map(|c| c.h1)
                .map_err(|e| e.to_string());
            match (&go, &ours) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{p:?}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{p:?}: x/mod {go:?}, goxy {ours:?}"),
            }
            n += 1;
        }
    }
    assert_eq!(n, 17);
}

/// Ordinary names, including the ones x/mod treats specially when placed well.
const GOOD: &[&str] = &[
    "a",
    "b",
    "src",
    "pkg",
    "sub",
    "vendor",
    "vendor",
    "x.go",
    "y.go",
    "README",
    "LICENSE",
    "go.mod",
    "go.mod",
    "A",
    "B",
    ".hidden",
    "ünï.go",
    "k",
    "v2",
    "a.go",
    "ok-name_1.txt",
    "-dash",
    ".hg_archival.txt",
    "modules.txt",
    ".git",
    "\u{1C5}",
    "ß",
];
/// Names that fail CheckFilePath, fold-collide with GOOD names, or are a misspelt go.mod.
const HAZARD: &[&str] = &[
    "GO.MOD",
    "Go.mod",
    "aux.go",
    "con",
    "bad'.go",
    "sp ace.go",
    "trail.",
    "\u{212A}",
    "K",
    "x:y",
    "\u{1E9E}",
    "back\\slash",
    "A.go",
    "q?.go",
    "COM1",
    "nul.txt",
    "x~1",
    "\u{1C4}",
];

/// A random module tree (regular files only) with the hazards of x/mod's rules.
fn random_tree(rng: &mut StdRng) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    match rng.gen_range(0..10) {
        0 => {}
        1 => files.push(("go.mod".into(), b"module example.com/m\n".to_vec())),
        2 => files.push((
            "go.mod".into(),
            b"module example.com/m\n\ngo 1.24rc1\n".to_vec(),
        )),
        3 => files.push((
            "go.mod".into(),
            b"module example.com/m\n\ngo 1.22.3rc1\n".to_vec(),
        )),
        _ => {
            let minor = rng.gen_range(20..27);
            files.push((
                "go.mod".into(),
                format!("module example.com/m\n\ngo 1.{minor}\n").into_bytes(),
            ));
        }
    }
    let count = rng.gen_range(0..14);
    for _ in 0..count {
        let depth = rng.gen_range(1..5);
        let parts: Vec<&str> = (0..depth)
            .map(|_| {
                *if rng.gen_bool(0.06) { HAZARD } else { GOOD }
                    .choose(rng)
                    .unwrap()
            })
            .collect();
        let path = parts.join("/");
        // The tree must be representable on disk: no path both a file and a directory.
        let clash = files.iter().any(|(p, _)| {
            p == &path || path.starts_with(&format!("{p}/")) || p.starts_with(&format!("{path}/"))
        });
        if clash {
            continue;
        }
        let len = match rng.gen_range(0..6) {
            0 => 0,
            1 => rng.gen_range(1000..70_000),
            _ => rng.gen_range(1..200),
        };
        let data: Vec<u8> = if rng.gen_bool(0.5) {
            (0..len).map(|_| rng.gen()).collect()
        } else {
            (0..len).map(|i| b"package x // text\n"[i % 18]).collect()
        };
        files.push((path, data));
    }
    files
}

#[test]
fn random_trees_agree_with_xmod_create_from_dir() {
    let Some(tool) = oracle() else { return };
    let mut rng = StdRng::seed_from_u64(0x905e_2d1f);
    let (mut agreed_ok, mut agreed_err) = (0, 0);
    for case in 0..240 {
        let tree = random_tree(&mut rng);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("m");
        std::fs::create_dir(&root).unwrap();
        for (p, d) in &tree {
            let full = root.join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, d).unwrap();
        }
        let go_zip = dir.path().join("go.zip");
        let go = run(
            &tool,
            &[
                "create",
                root.to_str().unwrap(),
                "example.com/m",
                "v1.0.0",
                go_zip.to_str().unwrap(),
            ],
        );
        let (files, _) = walk_dir(&tree);
        let ours = create_zip("example.com/m", "v1.0.0", &files);
        common::assert_prepared_agrees("example.com/m", "v1.0.0", &files);
        let names: Vec<&str> = tree.iter().map(|(p, _)| p.as_str()).collect();
        match (&go, &ours) {
            (Ok(go_h1), Ok(created)) => {
                assert_eq!(go_h1, &created.h1, "case {case}: {names:?}");
                // Go's reader accepts our zip with the same hash...
                let our_zip = dir.path().join("ours.zip");
                std::fs::write(&our_zip, &created.zip).unwrap();
                assert_eq!(
                    run(
                        &tool,
                        &[
                            "check",
                            our_zip.to_str().unwrap(),
                            "example.com/m",
                            "v1.0.0"
                        ]
                    )
                    .as_ref(),
                    Ok(go_h1),
                    "case {case}: x/mod on goxy's zip"
                );
                // ...and our validator accepts Go's zip with the same hash.
                let go_bytes = std::fs::read(&go_zip).unwrap();
                let checked = check_zip("example.com/m", "v1.0.0", &go_bytes)
                    .unwrap_or_else(|e| panic!("case {case}: {e}"));
                assert_eq!(&checked.h1, go_h1, "case {case}");
                agreed_ok += 1;
            }
            (Err(_), Err(_)) => agreed_err += 1,
            _ => panic!(
                "case {case}: x/mod {go:?}, goxy {:?} for {names:?}",
                ours.as_ref().map(|c| &c.h1)
            ),
        }
    }
    eprintln!("random trees: {agreed_ok} created by both, {agreed_err} rejected by both");
    // The generator must exercise both outcomes substantially.
    assert!(
        agreed_ok >= 60 && agreed_err >= 60,
        "ok {agreed_ok}, err {agreed_err}"
    );
}

/// Random entry-name lists in honest containers: goxy and x/mod (CheckZip +
/// HashZip + Unzip) must agree exactly, directory entries included.
#[test]
fn random_entry_lists_agree_with_xmod_check_zip() {
    let Some(tool) = oracle() else { return };
    let mut rng = StdRng::seed_from_u64(0x2c4e_77a1);
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("r.zip");
    let (mut agreed_ok, mut agreed_err) = (0, 0);
    for case in 0..200 {
        let mut entries = Vec::new();
        for _ in 0..rng.gen_range(0..8) {
            let depth = rng.gen_range(1..4);
            let parts: Vec<&str> = (0..depth)
                .map(|_| {
                    *if rng.gen_bool(0.05) { HAZARD } else { GOOD }
                        .choose(&mut rng)
                        .unwrap()
                })
                .collect();
            let rel = parts.join("/");
            let name = match rng.gen_range(0..30) {
                0 => format!("example.com/other@v1.0.0/{rel}"),
                1 => format!("example.com/m@v1.0.0/{rel}/"),
                2 => "example.com/m@v1.0.0/".to_string(),
                3 => format!("example.com/m@v1.0.0/{rel}/../x"),
                _ => format!("example.com/m@v1.0.0/{rel}"),
            };
            let data: Vec<u8> = if name.ends_with('/') {
                Vec::new()
            } else {
                (0..rng.gen_range(0..300)).map(|_| rng.gen()).collect()
            };
            let mut entry = TestEntry::new(name, data);
            if rng.gen_bool(0.3) {
                entry.method = 0;
            }
            entry.descriptor = rng.gen_bool(0.3);
            entries.push(entry);
        }
        let zip = build_zip(&entries);
        std::fs::write(&zip_path, &zip).unwrap();
        let go = run(
            &tool,
            &[
                "check",
                zip_path.to_str().unwrap(),
                "example.com/m",
                "v1.0.0",
            ],
        );
        let ours = check_zip("example.com/m", "v1.0.0", &zip);
        let names: Vec<String> = entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect();
        match (&go, &ours) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, &b.h1, "case {case}: {names:?}");
                agreed_ok += 1;
            }
            (Err(_), Err(_)) => agreed_err += 1,
            _ => panic!(
                "case {case}: x/mod {go:?}, goxy {:?} for {names:?}",
                ours.map(|c| c.h1)
            ),
        }
    }
    eprintln!("random entry lists: {agreed_ok} accepted by both, {agreed_err} rejected by both");
    assert!(
        agreed_ok >= 50 && agreed_err >= 50,
        "ok {agreed_ok}, err {agreed_err}"
    );
}

/// Corrupted zips (bit flips, truncations, insertions) of a Go-written zip:
/// whatever goxy accepts, x/mod must accept with the same h1. goxy may reject
/// more (its container checks are stricter).
#[test]
fn corrupted_zips_never_accepted_beyond_xmod() {
    let Some(tool) = oracle() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("m");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("go.mod"), "module example.com/m\n\ngo 1.22\n").unwrap();
    std::fs::write(
        root.join("m.go"),
        "package m\n\nfunc Foo() int { return 42 }\n",
    )
    .unwrap();
    std::fs::write(root.join("sub/s.go"), "package sub\n".repeat(40)).unwrap();
    let base_path = dir.path().join("base.zip");
    let base_h1 = run(
        &tool,
        &[
            "create",
            root.to_str().unwrap(),
            "example.com/m",
            "v1.0.0",
            base_path.to_str().unwrap(),
        ],
    )
    .unwrap();
    let base = std::fs::read(&base_path).unwrap();
    assert_eq!(
        check_zip("example.com/m", "v1.0.0", &base).unwrap().h1,
        base_h1
    );

    let mut rng = StdRng::seed_from_u64(0x51de_0bad);
    let zip_path = dir.path().join("c.zip");
    let (mut both_reject, mut only_goxy_rejects, mut both_accept) = (0, 0, 0);
    for case in 0..300 {
        let mut z = base.clone();
        match rng.gen_range(0..4) {
            0 => {
                let i = rng.gen_range(0..z.len());
                z[i] ^= 1 << rng.gen_range(0..8);
            }
            1 => {
                for _ in 0..rng.gen_range(2..6) {
                    let i = rng.gen_range(0..z.len());
                    z[i] = rng.gen();
                }
            }
            2 => z.truncate(rng.gen_range(0..z.len())),
            _ => {
                let i = rng.gen_range(0..=z.len());
                z.insert(i, rng.gen());
            }
        }
        std::fs::write(&zip_path, &z).unwrap();
        let go = run(
            &tool,
            &[
                "check",
                zip_path.to_str().unwrap(),
                "example.com/m",
                "v1.0.0",
            ],
        );
        match (check_zip("example.com/m", "v1.0.0", &z), &go) {
            (Ok(ours), Ok(theirs)) => {
                assert_eq!(&ours.h1, theirs, "case {case}");
                both_accept += 1;
            }
            (Ok(ours), Err(e)) => panic!(
                "case {case}: goxy accepted ({}) what x/mod rejects: {e}",
                ours.h1
            ),
            (Err(e), Ok(_)) => {
                eprintln!("case {case}: only goxy rejects: {e}");
                only_goxy_rejects += 1
            }
            (Err(_), Err(_)) => both_reject += 1,
        }
    }
    eprintln!("corruptions: {both_reject} rejected by both, {only_goxy_rejects} only by goxy, {both_accept} accepted by both");
    assert!(both_reject > 100);
}

const GO_MOD_LINES: &[&str] = &[
    "module example.com/m",
    "module \"example.com/q\"",
    "module `example.com/r`",
    "module (\n\texample.com/b\n)",
    "module",
    "module a b",
    "module x // c",
    "module \"bad\\q\"",
    "go 1.24",
    "go 1.21.3",
    "go 1.22.3rc1",
    "go 1.24rc1",
    "go v1.21.0",
    "go 1.21-foo",
    "go 1",
    "go 1.2.3.4",
    "go \"1.22\"",
    "go 1.24 1.25",
    "go",
    "go 1.24 // c",
    "go 01.24",
    "go 1.100",
    "toolchain go1.22.1",
    "require example.com/x v1.2.3",
    "require example.com/x v1.2",
    "require example.com/x vx",
    "require example.com/x/v2 v1.0.0",
    "require (\n\texample.com/y v1.0.0 // indirect\n)",
    "require example.com/x",
    "require \"example.com/z\" v1.0.0",
    "exclude example.com/x vbad",
    "replace a => b",
    "retract v1.0.0",
    "retract [v1.0.0, v1.0.5]",
    "retract (\n\tv1.1.0 // why\n\t[v1.2.0, v1.3.0]\n)",
    "retract [v1.0.0 v1.0.5]",
    "retract v1.x",
    "retract v1.2",
    "ignore ./foo",
    "ignore",
    "godebug default=go1.21",
    "tool example.com/t",
    "// comment",
    "/* c */",
    "unknownverb x y",
    "{",
    "require \"unterminated",
    "\"quoted\" verb",
    "block (\n\tx\n)",
    "require (",
    ")",
    "",
    "  ",
    "go\t1.23\r",
];

/// go.mod reading agrees with modfile.ModulePath / ParseLax, and the go
/// language version that selects the vendor rule agrees with x/mod zip.
#[test]
fn go_mod_reading_agrees_with_modfile() {
    let Some(tool) = oracle() else { return };
    let mut rng = StdRng::seed_from_u64(0x60_d0_0d);
    let dir = tempfile::tempdir().unwrap();
    let mut inputs: Vec<Vec<u8>> = GO_MOD_LINES
        .iter()
        .map(|l| format!("{l}\n").into_bytes())
        .collect();
    for _ in 0..600 {
        let n = rng.gen_range(1..7);
        let mut text = (0..n)
            .map(|_| *GO_MOD_LINES.choose(&mut rng).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        if rng.gen_bool(0.8) {
            text.push('\n');
        }
        inputs.push(text.into_bytes());
    }
    let paths: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let p = dir.path().join(format!("{i}.mod"));
            std::fs::write(&p, data).unwrap();
            p.to_str().unwrap().to_string()
        })
        .collect();
    let out = Command::new(&tool)
        .arg("gomod")
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let verdicts: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts.len(), inputs.len());
    let mut lax_ok = 0;
    for (data, v) in inputs.iter().zip(&verdicts) {
        let shown = String::from_utf8_lossy(data);
        let go_path = v["module_path"].as_str().unwrap();
        // ModulePath reads "module (" as the path "("; goxy reads the block.
        if go_path != "(" {
            assert_eq!(
                go_mod_module_path(data).unwrap_or_default(),
                go_path,
                "module path of {shown:?}"
            );
        }
        let lang = if v["lax_ok"].as_bool().unwrap() {
            v["lang"].as_str().unwrap()
        } else {
            ""
        };
        assert_eq!(
            goxy_zip::testing::root_go_lang(data),
            lang,
            "go lang of {shown:?}"
        );
        if v["lax_ok"].as_bool().unwrap() {
            lax_ok += 1;
            let go = v["go"].as_str().unwrap();
            assert_eq!(
                go_mod_go_version(data).unwrap_or_default(),
                go,
                "go version of {shown:?}"
            );
            let want: Vec<(String, String)> = v["retract"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r[0].as_str().unwrap().to_string(),
                        r[1].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            assert_eq!(go_mod_retractions(data), want, "retractions of {shown:?}");
        }
    }
    assert!(
        lax_ok > 100 && lax_ok < inputs.len() - 100,
        "lax_ok {lax_ok} of {}",
        inputs.len()
    );
}

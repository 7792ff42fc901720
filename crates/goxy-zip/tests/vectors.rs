//! golang.org/x/mod zip test vectors (testdata/, copied from x/mod v0.42.0):
//! create, create_from_dir, check_files, check_dir, check_zip, unzip.

mod common;

use std::path::PathBuf;

use common::{build_zip, parse_txtar, walk_dir, TestEntry, Txtar};
use goxy_zip::{
    check_files, check_zip, create_zip, FileKind, OmitReason, SourceFile, ZipErrorKind,
};

fn vectors(dir: &str) -> Vec<(String, Txtar)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(dir);
    let mut out: Vec<(String, Txtar)> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                parse_txtar(&std::fs::read(&p).unwrap()),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty(), "no vectors in {root:?}");
    out
}

/// The error as x/mod words it: `<entry>: <message>`.
fn go_style(e: &goxy_zip::ZipError) -> String {
    match e.entry() {
        Some(entry) => format!("{entry}: {}", e.message()),
        None => e.message().to_string(),
    }
}

fn utf8(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts the outcome of creating from `files` matches the vector's hash/wantErr.
fn assert_create(name: &str, t: &Txtar, files: &[SourceFile<'_>]) {
    let path = t.get("path").unwrap();
    let version = t.get("version").unwrap();
    let got = create_zip(path, version, files);
    common::assert_prepared_agrees(path, version, files);
    match (t.get("hash"), t.get("wantErr")) {
        (Some(hash), _) => {
            let created = got.unwrap_or_else(|e| panic!("{name}: unexpected error {e}"));
            assert_eq!(created.h1, hash, "{name}");
            // The zip we wrote must validate and hash the same.
            let checked = check_zip(path, version, &created.zip)
                .unwrap_or_else(|e| panic!("{name}: own zip rejected: {e}"));
            assert_eq!(checked.h1, hash, "{name}: check_zip of created zip");
        }
        (None, Some(want)) => {
            let err = match got {
                Ok(_) => panic!("{name}: created, want error {want:?}"),
                Err(e) => e,
            };
            assert_ne!(err.kind(), ZipErrorKind::Malformed, "{name}");
            // Messages follow x/mod's wording; the module-path vectors compare the class only.
            if err.kind() != ZipErrorKind::InvalidModuleVersion {
                assert!(
                    go_style(&err).contains(want),
                    "{name}: error {err} does not contain {want:?}"
                );
            }
        }
        _ => panic!("{name}: vector has neither hash nor wantErr"),
    }
}

#[test]
fn create_vectors() {
    let mut n = 0;
    for (name, t) in vectors("create") {
        let files: Vec<SourceFile<'_>> = t
            .files
            .iter()
            .filter_map(|(p, d)| {
                std::str::from_utf8(p).ok().map(|p| SourceFile {
                    path: p,
                    kind: FileKind::Regular,
                    data: d,
                })
            })
            .collect();
        assert_create(&name, &t, &files);
        n += 1;
    }
    assert_eq!(n, 16);
}

#[test]
fn create_from_dir_vectors() {
    let mut n = 0;
    for (name, t) in vectors("create_from_dir") {
        let tree: Vec<(String, Vec<u8>)> =
            t.files.iter().map(|(p, d)| (utf8(p), d.clone())).collect();
        let (files, _) = walk_dir(&tree);
        assert_create(&name, &t, &files);
        n += 1;
    }
    assert_eq!(n, 13);
}

/// Parses a `want` section: (valid, omitted, invalid) path lists, `$work/` stripped.
fn want_lists(t: &Txtar) -> (Vec<String>, Vec<(String, String)>, Vec<String>) {
    let want = utf8(t.file("want").expect("want section"));
    let (mut valid, mut omitted, mut invalid) = (Vec::new(), Vec::new(), Vec::new());
    let mut section = "";
    for line in want.lines() {
        match line {
            "valid:" | "omitted:" | "invalid:" => section = line,
            "" => {}
            l => {
                let l = l.strip_prefix("$work/").unwrap_or(l);
                match section {
                    "valid:" => valid.push(l.to_string()),
                    "omitted:" => {
                        let (p, why) = l.split_once(": ").unwrap();
                        omitted.push((p.to_string(), why.to_string()))
                    }
                    _ => invalid.push(l.split_once(": ").unwrap().0.to_string()),
                }
            }
        }
    }
    (valid, omitted, invalid)
}

fn reason_text(r: OmitReason) -> &'static str {
    match r {
        OmitReason::Vendored => "file is in vendor directory",
        OmitReason::InSubmodule => "file is in another module",
        OmitReason::HgArchival => "file is inserted by 'hg archive' and is always omitted",
        OmitReason::Symlink => "file is a symbolic link",
        OmitReason::NotRegular => "not a regular file",
    }
}

#[test]
fn check_files_vectors() {
    for (name, t) in vectors("check_files") {
        let files: Vec<SourceFile<'_>> = t
            .files
            .iter()
            .filter(|(p, _)| p != b"want")
            .map(|(p, d)| SourceFile {
                path: std::str::from_utf8(p).unwrap(),
                kind: FileKind::Regular,
                data: d,
            })
            .collect();
        let got = check_files(&files);
        let (valid, omitted, invalid) = want_lists(&t);
        assert_eq!(got.valid, valid, "{name}: valid");
        let got_omitted: Vec<(String, String)> = got
            .omitted
            .iter()
            .map(|(p, r)| (p.clone(), reason_text(*r).to_string()))
            .collect();
        assert_eq!(got_omitted, omitted, "{name}: omitted");
        let got_invalid: Vec<String> = got
            .invalid
            .iter()
            .map(|e| e.entry().unwrap().to_string())
            .collect();
        assert_eq!(got_invalid, invalid, "{name}: invalid");
    }
}

#[test]
fn check_dir_vectors() {
    for (name, t) in vectors("check_dir") {
        let tree: Vec<(String, Vec<u8>)> = t
            .files
            .iter()
            .filter(|(p, _)| p != b"want")
            .map(|(p, d)| (utf8(p), d.clone()))
            .collect();
        let (files, walk_omitted) = walk_dir(&tree);
        let got = check_files(&files);
        let (valid, omitted, invalid) = want_lists(&t);
        let mut got_valid = got.valid.clone();
        got_valid.sort();
        let mut valid = valid;
        valid.sort();
        assert_eq!(got_valid, valid, "{name}: valid");
        let mut got_omitted: Vec<String> = got
            .omitted
            .iter()
            .map(|(p, _)| p.clone())
            .chain(walk_omitted)
            .collect();
        got_omitted.sort();
        let mut want_omitted: Vec<String> = omitted.into_iter().map(|(p, _)| p).collect();
        want_omitted.sort();
        assert_eq!(got_omitted, want_omitted, "{name}: omitted");
        let mut got_invalid: Vec<String> = got
            .invalid
            .iter()
            .map(|e| e.entry().unwrap().to_string())
            .collect();
        got_invalid.sort();
        let mut invalid = invalid;
        invalid.sort();
        assert_eq!(got_invalid, invalid, "{name}: invalid");
    }
}

fn zip_from_txtar(t: &Txtar) -> Vec<u8> {
    let entries: Vec<TestEntry> = t
        .files
        .iter()
        .filter(|(p, _)| p != b"want")
        .map(|(p, d)| TestEntry::new(p, d))
        .collect();
    build_zip(&entries)
}

#[test]
fn check_zip_vectors() {
    for (name, t) in vectors("check_zip") {
        let (valid, _, invalid) = want_lists(&t);
        let got = check_zip(
            t.get("path").unwrap(),
            t.get("version").unwrap(),
            &zip_from_txtar(&t),
        );
        match got {
            Ok(checked) => {
                assert!(
                    invalid.is_empty(),
                    "{name}: accepted, want invalid {invalid:?}"
                );
                assert_eq!(checked.file_count, valid.len(), "{name}");
            }
            Err(e) => {
                let entry = e.entry().unwrap_or_default().to_string();
                assert!(
                    invalid.contains(&entry),
                    "{name}: rejected {e}, want invalid {invalid:?}"
                );
            }
        }
    }
}

#[test]
fn unzip_vectors() {
    let mut n = 0;
    for (name, t) in vectors("unzip") {
        let path = t.get("path").unwrap();
        let got = check_zip(path, t.get("version").unwrap(), &zip_from_txtar(&t));
        match (t.get("hash"), t.get("wantErr")) {
            (Some(hash), _) => assert_eq!(
                got.unwrap_or_else(|e| panic!("{name}: {e}")).h1,
                hash,
                "{name}"
            ),
            (None, Some(want)) => {
                let err = got
                    .err()
                    .unwrap_or_else(|| panic!("{name}: accepted, want {want:?}"));
                if err.kind() != ZipErrorKind::InvalidModuleVersion {
                    assert!(
                        go_style(&err).contains(want),
                        "{name}: {err} does not contain {want:?}"
                    );
                }
            }
            // Vectors that only need to unzip cleanly.
            (None, None) => assert!(got.is_ok(), "{name}: {:?}", got.err()),
        }
        n += 1;
    }
    assert_eq!(n, 15);
}

#[test]
fn protocol_vectors() {
    // protocol.md §3.5 simple.txt, built here by hand rather than from the txtar.
    let go_mod = b"module example.com/m\n\ngo 1.13\n";
    let m_go = b"package m\n\nfunc Foo() int { return 42 }\n";
    let hello = b"package main\n\nimport (\n  \"fmt\"\n  \"example.com/m\"\n)\n\nfunc main() {\n  fmt.Println(m.Foo())\n}\n";
    let files = [
        SourceFile {
            path: "go.mod",
            kind: FileKind::Regular,
            data: go_mod,
        },
        SourceFile {
            path: "m.go",
            kind: FileKind::Regular,
            data: m_go,
        },
        SourceFile {
            path: "cmd/hello/hello.go",
            kind: FileKind::Regular,
            data: hello,
        },
    ];
    let created = create_zip("example.com/m", "v1.0.0", &files).unwrap();
    assert_eq!(
        created.h1,
        "h1:tpqYOOmuilagXzyqoJ3roUjp8gneQeTv5YVpL6BG7/k="
    );
    let checked = check_zip("example.com/m", "v1.0.0", &created.zip).unwrap();
    assert_eq!(checked.go_mod.as_deref(), Some(&go_mod[..]));
    assert_eq!(checked.file_count, 3);
    assert_eq!(
        checked.uncompressed_size,
        (go_mod.len() + m_go.len() + hello.len()) as u64
    );
    let empty = create_zip("example.com/m", "v1.0.0", &[]).unwrap();
    assert_eq!(empty.h1, "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_eq!(
        check_zip("example.com/m", "v1.0.0", &empty.zip)
            .unwrap()
            .file_count,
        0
    );
}

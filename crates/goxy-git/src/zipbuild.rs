//! Module zip creation by the golang.org/x/mod/zip `Create` rules and the
//! `h1:` dirhash. Pure: takes the files `git archive` produced, returns zip
//! bytes. Private to this crate until `goxy_zip::create_zip` is available.

use crate::{gomod, modpath};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::Write as _;

/// Largest module zip and largest total of uncompressed file sizes.
pub const MAX_ZIP_FILE: u64 = 500 << 20;
/// Largest go.mod (and largest root LICENSE).
pub const MAX_GO_MOD: u64 = 16 << 20;

/// What kind of tree entry a file came from; only regular files reach the zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Symlink,
    Other,
}

/// One file of the module tree, path relative to the module root.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Raw name bytes (git tree names need not be UTF-8).
    pub name: Vec<u8>,
    pub kind: FileKind,
    pub data: Vec<u8>,
}

/// Go's `path.Clean` for slash paths.
fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            e => out.push(e),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Splits like Go's `path.Split`: ("a/b/", "c").
fn split_dir(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(i) => (&p[..=i], &p[i + 1..]),
        None => ("", p),
    }
}

/// x/mod `isVendoredPackage` including the pre-Go-1.24 quirk kept for hash stability.
pub fn is_vendored(name: &str, lang: &str) -> bool {
    let go124 = gomod::lang_at_least(lang, 1, 24);
    if go124 && name == "vendor/modules.txt" {
        return true;
    }
    let i = if name.starts_with("vendor/") {
        "vendor/".len()
    } else if let Some(j) = name.find("/vendor/") {
        if go124 {
            j + "/vendor/".len()
        } else {
            // go.dev/issue/37397: older modules index from the start of the name.
            "/vendor/".len()
        }
    } else {
        return false;
    };
    name.get(i..).is_some_and(|rest| rest.contains('/'))
}

/// Case-folding key in the spirit of x/mod `strToFold` (simple folding).
fn fold(p: &str) -> String {
    p.chars()
        .map(|c| {
            if c.is_ascii() {
                return c.to_ascii_lowercase();
            }
            let mut up = c.to_uppercase();
            let u = match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            };
            let mut low = u.to_lowercase();
            match (low.next(), low.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        })
        .collect()
}

#[derive(Default)]
struct Collisions(HashMap<String, (String, bool)>);

impl Collisions {
    fn check(&mut self, p: &str, is_dir: bool) -> Result<(), String> {
        let key = fold(p);
        if let Some((other, other_dir)) = self.0.get(&key) {
            if p != other {
                return Err(format!(
                    "case-insensitive file name collision: {other:?} and {p:?}"
                ));
            }
            if is_dir != *other_dir {
                return Err(format!("entry {p:?} is both a file and a directory"));
            }
            if !is_dir {
                return Err(format!("multiple entries for file {p:?}"));
            }
        } else {
            self.0.insert(key, (p.to_string(), is_dir));
        }
        match p.rfind('/') {
            Some(i) => self.check(&p[..i], true),
            None => Ok(()),
        }
    }
}

/// Applies x/mod `checkFiles`: returns the files to zip (in input order) or
/// the first reason the whole module is invalid.
pub fn select_files(files: &[SourceFile]) -> Result<Vec<(String, &[u8])>, String> {
    let names: Vec<String> = files
        .iter()
        .map(|f| String::from_utf8_lossy(&f.name).into_owned())
        .collect();
    let mut have_go_mod: HashSet<&str> = HashSet::new();
    let mut lang = String::new();
    for (f, p) in files.iter().zip(&names) {
        let (dir, base) = split_dir(p);
        if base.eq_ignore_ascii_case("go.mod") && f.kind == FileKind::Regular {
            have_go_mod.insert(dir);
            if base == "go.mod" && dir.is_empty() {
                lang = gomod::go_lang_version(&f.data);
            }
        }
    }
    let in_submodule = |p: &str| {
        let mut p = p;
        loop {
            let (dir, _) = split_dir(p);
            if dir.is_empty() {
                return false;
            }
            if have_go_mod.contains(dir) {
                return true;
            }
            p = &dir[..dir.len() - 1];
        }
    };

    let mut invalid: Vec<String> = Vec::new();
    let mut collisions = Collisions::default();
    let mut budget = MAX_ZIP_FILE;
    let mut size_error = false;
    let mut out = Vec::new();
    for (f, p) in files.iter().zip(&names) {
        if *p != clean(p) {
            invalid.push(format!("{p:?}: file path is not clean"));
            continue;
        }
        if p.starts_with('/') {
            invalid.push(format!("{p:?}: file path is not relative"));
            continue;
        }
        if is_vendored(p, &lang) || in_submodule(p) || p == ".hg_archival.txt" {
            continue;
        }
        if std::str::from_utf8(&f.name).is_err() {
            invalid.push(format!("{p:?}: invalid UTF-8 file name"));
            continue;
        }
        if let Err(e) = modpath::check_file_path(p) {
            invalid.push(format!("{p:?}: malformed file path: {e}"));
            continue;
        }
        if p.to_lowercase() == "go.mod" && p != "go.mod" {
            invalid.push(format!("{p:?}: go.mod files must have lowercase names"));
            continue;
        }
        if let Err(e) = collisions.check(p, false) {
            invalid.push(e);
            continue;
        }
        if f.kind != FileKind::Regular {
            continue;
        }
        let size = f.data.len() as u64;
        if size <= budget {
            budget -= size;
        } else {
            size_error = true;
        }
        if (p == "go.mod" || p == "LICENSE") && size > MAX_GO_MOD {
            invalid.push(format!(
                "{p:?}: file too large (max size is {MAX_GO_MOD} bytes)"
            ));
            continue;
        }
        out.push((p.clone(), f.data.as_slice()));
    }
    if let Some(first) = invalid.into_iter().next() {
        return Err(first);
    }
    if size_error {
        return Err(format!(
            "module source tree too large (max size is {MAX_ZIP_FILE} bytes)"
        ));
    }
    Ok(out)
}

/// `dirhash.Hash1` over (name, content) pairs.
pub fn hash1<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut lines: Vec<(String, String)> = entries
        .into_iter()
        .map(|(n, d)| (n.to_string(), hex::encode(Sha256::digest(d))))
        .collect();
    lines.sort();
    let mut summary = Sha256::new();
    for (name, h) in &lines {
        summary.update(format!("{h}  {name}\n").as_bytes());
    }
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.finalize())
    )
}

/// The `h1:` of a go.mod as recorded in go.sum (`<path> <version>/go.mod h1:…`).
pub fn hash_go_mod(gomod: &[u8]) -> String {
    hash1([("go.mod", gomod)])
}

/// A built module zip with its content hash.
#[derive(Debug, Clone)]
pub struct BuiltZip {
    pub bytes: Vec<u8>,
    pub h1: String,
}

/// x/mod `Create`: validates `files`, writes file entries only (Deflate) under `path@version/`.
pub fn create_zip(module: &str, version: &str, files: &[SourceFile]) -> Result<BuiltZip, String> {
    let selected = select_files(files)?;
    let prefix = format!("{module}@{version}/");
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let mut named = Vec::with_capacity(selected.len());
    for (name, data) in &selected {
        let full = format!("{prefix}{name}");
        writer
            .start_file(full.as_str(), opts)
            .map_err(|e| format!("zip {full}: {e}"))?;
        writer
            .write_all(data)
            .map_err(|e| format!("zip {full}: {e}"))?;
        named.push((full, *data));
    }
    let bytes = writer
        .finish()
        .map_err(|e| format!("zip finish: {e}"))?
        .into_inner();
    if bytes.len() as u64 > MAX_ZIP_FILE {
        return Err(format!(
            "module zip too large (max size is {MAX_ZIP_FILE} bytes)"
        ));
    }
    let h1 = hash1(named.iter().map(|(n, d)| (n.as_str(), *d)));
    Ok(BuiltZip { bytes, h1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, data: &str) -> SourceFile {
        SourceFile {
            name: name.as_bytes().to_vec(),
            kind: FileKind::Regular,
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn empty_module_hash() {
        let z = create_zip("example.com/m", "v1.0.0", &[]).expect("empty zip");
        assert_eq!(z.h1, "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn vendor_rules_by_go_version() {
        for (p, old, new) in [
            ("vendor/modules.txt", false, true),
            ("vendor/foo.go", false, false),
            ("vendor/x/y", true, true),
            ("pkg/vendor/vendor.go", true, false),
            ("pkg/vendor/x/y.go", true, true),
            ("a.go", false, false),
        ] {
            assert_eq!(is_vendored(p, "go1.23"), old, "{p} old");
            assert_eq!(is_vendored(p, ""), old, "{p} none");
            assert_eq!(is_vendored(p, "go1.24"), new, "{p} new");
        }
    }

    #[test]
    fn selection_rules() {
        let files = vec![
            f("go.mod", "module example.com/m\n"),
            f("a.go", "package a"),
            f("sub/go.mod", "module example.com/m/sub\n"),
            f("sub/x.go", "package x"),
            f("sub/bad'name.go", "ignored in nested module"),
            SourceFile {
                name: b"link".to_vec(),
                kind: FileKind::Symlink,
                data: b"a.go".to_vec(),
            },
            f(".hg_archival.txt", "x"),
        ];
        let sel: Vec<String> = select_files(&files)
            .expect("valid")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(sel, ["go.mod", "a.go"]);
        for bad in [
            vec![f("a.go", ""), f("A.GO", "")],
            vec![f("a.go", ""), f("a.go/b.go", "")],
            vec![f("aux.go", "")],
            vec![f("GO.MOD", "module x\n")],
            vec![f("x.", "")],
            vec![SourceFile {
                name: b"bad'.go".to_vec(),
                kind: FileKind::Symlink,
                data: vec![],
            }],
            vec![SourceFile {
                name: vec![0xff, b'a'],
                kind: FileKind::Regular,
                data: vec![],
            }],
            vec![f("k.go", ""), f("\u{212A}.go", "")],
        ] {
            assert!(
                select_files(&bad).is_err(),
                "{:?}",
                bad.iter().map(|f| &f.name).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn go_mod_and_license_size_limits() {
        let big = vec![b'x'; (MAX_GO_MOD + 1) as usize];
        for name in ["go.mod", "LICENSE"] {
            let files = [SourceFile {
                name: name.as_bytes().to_vec(),
                kind: FileKind::Regular,
                data: big.clone(),
            }];
            assert!(
                select_files(&files).is_err(),
                "{name} over 16 MiB must fail"
            );
        }
        // The limit is for the root files only.
        let files = [SourceFile {
            name: b"sub/LICENSE".to_vec(),
            kind: FileKind::Regular,
            data: big,
        }];
        assert!(select_files(&files).is_ok());
    }

    #[test]
    fn zip_has_only_prefixed_file_entries() {
        let z = create_zip(
            "example.com/M",
            "v1.0.0",
            &[f("go.mod", "module example.com/M\n"), f("d/a.go", "x")],
        )
        .expect("zip");
        let mut r = zip::ZipArchive::new(std::io::Cursor::new(z.bytes)).expect("read back");
        let names: Vec<String> = (0..r.len())
            .map(|i| {
                r.by_index(i)
                    .map(|e| e.name().to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            names,
            ["example.com/M@v1.0.0/go.mod", "example.com/M@v1.0.0/d/a.go"]
        );
        assert!(z.h1.starts_with("h1:"));
        assert_eq!(
            hash_go_mod(b"module example.com/M\n"),
            hash1([("go.mod", &b"module example.com/M\n"[..])])
        );
    }
}

//! Shared test helpers: a txtar reader, a byte-level zip builder, and a
//! simulation of x/mod `listFilesInDir` (the directory walk of `CreateFromDir`).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write as _;

use goxy_zip::{FileKind, SourceFile};

/// A parsed txtar archive: header `key=value` lines and files (raw bytes).
pub struct Txtar {
    pub header: Vec<(String, String)>,
    pub files: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Txtar {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.header
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, d)| d.as_slice())
    }
}

fn marker_name(line: &[u8]) -> Option<&[u8]> {
    let inner = line.strip_prefix(b"-- ")?.strip_suffix(b" --")?;
    Some(inner)
}

pub fn parse_txtar(data: &[u8]) -> Txtar {
    let mut header = Vec::new();
    let mut files: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for line in data.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        if let Some(name) = marker_name(bare) {
            files.push((name.to_vec(), Vec::new()));
            continue;
        }
        match files.last_mut() {
            Some((_, content)) => {
                content.extend_from_slice(line);
                if !line.ends_with(b"\n") {
                    content.push(b'\n');
                }
            }
            None => {
                let text = String::from_utf8_lossy(bare);
                if let Some((k, v)) = text.split_once('=') {
                    // Values may carry a trailing "  # comment".
                    let v = v.split("  #").next().unwrap_or("").trim();
                    header.push((k.trim().to_string(), v.to_string()));
                }
            }
        }
    }
    Txtar { header, files }
}

/// One entry of a hand-built zip. By default truthful; the `*_lie` fields
/// override what the headers claim.
#[derive(Clone)]
pub struct TestEntry {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    pub method: u16,
    pub flags: u16,
    pub descriptor: bool,
    pub made_by: u16,
    pub ext_attr: u32,
    /// Replaces the compressed bytes written.
    pub raw: Option<Vec<u8>>,
    /// Lies in both local and central headers.
    pub crc_lie: Option<u32>,
    pub csize_lie: Option<u32>,
    pub usize_lie: Option<u32>,
    /// Local-header-only differences.
    pub local_name: Option<Vec<u8>>,
    pub local_method: Option<u16>,
    pub local_usize: Option<u32>,
    pub local_flags: Option<u16>,
    /// Central-directory-only: where the local header is claimed to be.
    pub offset_lie: Option<u32>,
    /// Extra field bytes (both headers).
    pub extra: Vec<u8>,
    /// Bytes written before the local header (hidden data between entries).
    pub pad_before: Vec<u8>,
}

impl TestEntry {
    pub fn new(name: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Self {
        TestEntry {
            name: name.as_ref().to_vec(),
            data: data.as_ref().to_vec(),
            method: 8,
            flags: 0,
            descriptor: false,
            made_by: 20,
            ext_attr: 0,
            raw: None,
            crc_lie: None,
            csize_lie: None,
            usize_lie: None,
            local_name: None,
            local_method: None,
            local_usize: None,
            local_flags: None,
            offset_lie: None,
            extra: Vec::new(),
            pad_before: Vec::new(),
        }
    }
    pub fn stored(name: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Self {
        TestEntry {
            method: 0,
            ..TestEntry::new(name, data)
        }
    }
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn le16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn le32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Builds a zip; returns the bytes. `comment` goes in the end record.
pub fn build_zip_with(entries: &[TestEntry], comment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let compressed = match (&e.raw, e.method) {
            (Some(raw), _) => raw.clone(),
            (None, 8) => deflate(&e.data),
            (None, _) => e.data.clone(),
        };
        let crc = e.crc_lie.unwrap_or_else(|| crc32fast::hash(&e.data));
        let csize = e.csize_lie.unwrap_or(compressed.len() as u32);
        let usize_ = e.usize_lie.unwrap_or(e.data.len() as u32);
        let flags = e.flags | if e.descriptor { 8 } else { 0 };
        out.extend_from_slice(&e.pad_before);
        let offset = out.len() as u32;
        let lname = e.local_name.clone().unwrap_or_else(|| e.name.clone());
        le32(&mut out, 0x0403_4b50);
        le16(&mut out, 20);
        le16(&mut out, e.local_flags.unwrap_or(flags));
        le16(&mut out, e.local_method.unwrap_or(e.method));
        le32(&mut out, 0);
        if e.descriptor {
            le32(&mut out, 0);
            le32(&mut out, 0);
            le32(&mut out, 0);
        } else {
            le32(&mut out, crc);
            le32(&mut out, csize);
            le32(&mut out, e.local_usize.unwrap_or(usize_));
        }
        le16(&mut out, lname.len() as u16);
        le16(&mut out, e.extra.len() as u16);
        out.extend_from_slice(&lname);
        out.extend_from_slice(&e.extra);
        out.extend_from_slice(&compressed);
        if e.descriptor {
            le32(&mut out, 0x0807_4b50);
            le32(&mut out, crc);
            le32(&mut out, csize);
            le32(&mut out, usize_);
        }
        le32(&mut central, 0x0201_4b50);
        le16(&mut central, e.made_by);
        le16(&mut central, 20);
        le16(&mut central, flags);
        le16(&mut central, e.method);
        le32(&mut central, 0);
        le32(&mut central, crc);
        le32(&mut central, csize);
        le32(&mut central, usize_);
        le16(&mut central, e.name.len() as u16);
        le16(&mut central, e.extra.len() as u16);
        le16(&mut central, 0);
        le16(&mut central, 0);
        le16(&mut central, 0);
        le32(&mut central, e.ext_attr);
        le32(&mut central, e.offset_lie.unwrap_or(offset));
        central.extend_from_slice(&e.name);
        central.extend_from_slice(&e.extra);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    le32(&mut out, 0x0605_4b50);
    le32(&mut out, 0);
    le16(&mut out, entries.len() as u16);
    le16(&mut out, entries.len() as u16);
    le32(&mut out, central.len() as u32);
    le32(&mut out, cd_offset);
    le16(&mut out, comment.len() as u16);
    out.extend_from_slice(comment);
    out
}

pub fn build_zip(entries: &[TestEntry]) -> Vec<u8> {
    build_zip_with(entries, b"")
}

/// x/mod `listFilesInDir` over an in-memory tree of regular files: skips VCS
/// directories and subdirectories holding a regular `go.mod` (exact name),
/// applying the vendor rule to every walked path as the walk does. Returns
/// the files handed to `Create` (in walk order) and the walk's omissions.
pub fn walk_dir<'a>(files: &'a [(String, Vec<u8>)]) -> (Vec<SourceFile<'a>>, Vec<String>) {
    let root_go_mod = files
        .iter()
        .find(|(p, _)| p == "go.mod")
        .map(|(_, d)| d.as_slice());
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for (p, _) in files {
        let mut d = p.as_str();
        while let Some(i) = d.rfind('/') {
            d = &d[..i];
            dirs.insert(d.to_string());
        }
    }
    let skipped_dir = |d: &str| -> Option<&'static str> {
        let base = d.rsplit('/').next().unwrap_or(d);
        if goxy_zip::testing::is_vendored(d, root_go_mod) {
            return None; // omitted as vendored but still walked
        }
        if matches!(base, ".bzr" | ".git" | ".hg" | ".svn") {
            return Some("vcs");
        }
        if files.iter().any(|(p, _)| *p == format!("{d}/go.mod")) {
            return Some("submodule");
        }
        None
    };
    let mut omitted = Vec::new();
    for d in &dirs {
        let parent_skipped = {
            let mut a = d.as_str();
            let mut skipped = false;
            while let Some(i) = a.rfind('/') {
                a = &a[..i];
                if skipped_dir(a).is_some() {
                    skipped = true;
                }
            }
            skipped
        };
        if parent_skipped {
            continue;
        }
        if goxy_zip::testing::is_vendored(d, root_go_mod) || skipped_dir(d).is_some() {
            omitted.push(d.clone());
        }
    }
    let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    // filepath.Walk visits in lexical order of each directory's entries.
    sorted.sort_by(|a, b| walk_key(&a.0).cmp(&walk_key(&b.0)));
    let mut out = Vec::new();
    for (p, data) in sorted {
        let mut a = p.as_str();
        let mut skipped = false;
        while let Some(i) = a.rfind('/') {
            a = &a[..i];
            if skipped_dir(a).is_some() {
                skipped = true;
            }
        }
        if skipped {
            continue;
        }
        if goxy_zip::testing::is_vendored(p, root_go_mod) {
            omitted.push(p.clone());
            continue;
        }
        out.push(SourceFile {
            path: p,
            kind: FileKind::Regular,
            data,
        });
    }
    (out, omitted)
}

fn walk_key(p: &str) -> Vec<&str> {
    p.split('/').collect()
}

/// `create_zip_prepared` (content hashed and deflated beforehand) must agree
/// with `create_zip` on everything: zip bytes, h1, omissions, error text; and
/// `select_files` must pick exactly the files that reach the zip.
pub fn assert_prepared_agrees(module: &str, version: &str, files: &[SourceFile<'_>]) {
    use goxy_zip::{
        create_zip, create_zip_prepared, select_files, FileMeta, PreparedContent, PreparedFile,
    };
    let direct = create_zip(module, version, files);
    let prepared: Vec<Option<PreparedContent>> = files
        .iter()
        .map(|f| (f.kind == FileKind::Regular).then(|| PreparedContent::new(f.data).unwrap()))
        .collect();
    let pfiles: Vec<PreparedFile<'_>> = files
        .iter()
        .zip(&prepared)
        .map(|(f, p)| PreparedFile {
            path: f.path,
            kind: f.kind,
            content: p.as_ref(),
        })
        .collect();
    let root = files
        .iter()
        .rev()
        .find(|f| f.path == "go.mod" && f.kind == FileKind::Regular)
        .map(|f| f.data);
    let via_prepared = create_zip_prepared(module, version, &pfiles, root);
    let metas: Vec<FileMeta<'_>> = files.iter().map(SourceFile::meta).collect();
    let selected = select_files(&metas, root);
    match (&direct, &via_prepared) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.h1, b.h1, "h1");
            assert_eq!(a.zip, b.zip, "zip bytes");
            assert_eq!(a.omitted, b.omitted, "omitted");
            let selected = selected.expect("select_files fails where create_zip succeeds");
            let omitted: BTreeSet<&str> = a.omitted.iter().map(|(p, _)| p.as_str()).collect();
            let expect: Vec<usize> = (0..files.len())
                .filter(|&i| !omitted.contains(files[i].path))
                .collect();
            assert_eq!(selected, expect, "selected files");
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "error");
            // Module/version errors come from create only; file errors from select_files too.
            if let Err(s) = &selected {
                assert_eq!(s.kind(), a.kind());
            }
        }
        _ => panic!("create_zip {direct:?} vs create_zip_prepared {via_prepared:?}"),
    }
}

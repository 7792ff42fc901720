//! Module zip creation from a file list, by x/mod `zip.Create` / `checkFiles` rules.

use std::collections::HashSet;

use flate2::{Compress, Compression, FlushCompress, Status};

use crate::error::{ZipError, ZipErrorKind};
use crate::gomod::{go_lang_at_least_1_24, root_go_lang};
use crate::h1::{hash1, hash1_from_digests};
use crate::modrules::{check_module_version, path_clean, CollisionChecker};
use crate::{MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE};
use sha2::Digest as _;

/// What kind of file a [`SourceFile`] is (its Lstat mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Symlink,
    Other,
}

/// One file of a module tree, with its path relative to the module root (slash-separated).
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    pub path: &'a str,
    pub kind: FileKind,
    pub data: &'a [u8],
}

impl<'a> SourceFile<'a> {
    /// The file's name, kind and size (what [`select_files`] needs).
    pub fn meta(&self) -> FileMeta<'a> {
        FileMeta {
            path: self.path,
            kind: self.kind,
            size: self.data.len() as u64,
        }
    }
}

/// Why a file was silently left out of the zip (x/mod `CheckedFiles.Omitted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OmitReason {
    /// In a vendor directory (`isVendoredPackage`, go-version dependent).
    Vendored,
    /// In a nested module (a directory below the root with a go.mod).
    InSubmodule,
    /// `.hg_archival.txt` at the root, inserted by `hg archive`.
    HgArchival,
    /// A symbolic link.
    Symlink,
    /// Not a regular file.
    NotRegular,
}

/// A zip built by [`create_zip`].
#[derive(Debug, Clone)]
pub struct CreatedZip {
    /// The zip file: deflated file entries only, zero timestamps.
    pub zip: Vec<u8>,
    /// `dirhash.HashZip` of `zip`.
    pub h1: String,
    /// Files left out and why, in input order.
    pub omitted: Vec<(String, OmitReason)>,
}

/// A file known by name, kind and size before its content is read (see [`select_files`]).
#[derive(Debug, Clone, Copy)]
pub struct FileMeta<'a> {
    pub path: &'a str,
    pub kind: FileKind,
    /// Content length in bytes (ignored unless `kind` is `Regular`).
    pub size: u64,
}

/// The content-dependent part of a zip entry — SHA-256 for the h1, CRC-32 and
/// deflated bytes — computed once and reusable for every entry with the same
/// content (a later version of the module, another path).
#[derive(Clone)]
pub struct PreparedContent {
    size: u64,
    sha256: [u8; 32],
    crc32: u32,
    deflated: Vec<u8>,
}

impl std::fmt::Debug for PreparedContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PreparedContent({} bytes, sha256 {})",
            self.size,
            hex::encode(self.sha256)
        )
    }
}

impl PreparedContent {
    /// Hashes and deflates `data`.
    pub fn new(data: &[u8]) -> Result<Self, ZipError> {
        thread_local! {
            // A compressor's state is large to allocate: one per thread, reset per use.
            static COMPRESSOR: std::cell::RefCell<Compress> =
                std::cell::RefCell::new(Compress::new(Compression::default(), false));
        }
        let mut deflated = Vec::new();
        COMPRESSOR.with(|c| deflate_into(&mut c.borrow_mut(), data, &mut deflated))?;
        deflated.shrink_to_fit();
        Ok(PreparedContent {
            size: data.len() as u64,
            sha256: sha2::Sha256::digest(data).into(),
            crc32: crc32fast::hash(data),
            deflated,
        })
    }

    /// Length of the original content.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes this value holds (for cache accounting).
    pub fn weight(&self) -> usize {
        self.deflated.capacity() + std::mem::size_of::<Self>()
    }
}

/// A file of a module tree whose content, if regular, is already prepared.
#[derive(Debug, Clone, Copy)]
pub struct PreparedFile<'a> {
    pub path: &'a str,
    pub kind: FileKind,
    /// Required for regular files; ignored otherwise.
    pub content: Option<&'a PreparedContent>,
}

/// x/mod `checkFiles` for a tree known by metadata only: the indices of the
/// files that go into the zip, or the error that makes the whole zip invalid.
/// `root_go_mod` is the content of the list's root `go.mod` (it selects the
/// vendor rule); it is ignored when the list has no regular root `go.mod`.
/// Reading only the selected files' content is the point: vendored and
/// nested-module files are never read.
pub fn select_files(
    files: &[FileMeta<'_>],
    root_go_mod: Option<&[u8]>,
) -> Result<Vec<usize>, ZipError> {
    let (checked, valid) = check_meta_indexed(files, root_go_mod);
    match checked.err() {
        Some(e) => Err(e),
        None => Ok(valid),
    }
}

/// [`create_zip`] for files whose content was prepared with
/// [`PreparedContent::new`]: the same checks, the same h1, entries written
/// from the prepared bytes without hashing or compressing again. A regular
/// file without content is an error.
pub fn create_zip_prepared(
    module_path: &str,
    version: &str,
    files: &[PreparedFile<'_>],
    root_go_mod: Option<&[u8]>,
) -> Result<CreatedZip, ZipError> {
    create_prepared_inner(module_path, version, files, root_go_mod)
        .map_err(|e| e.with_module(module_path, version))
}

fn create_prepared_inner(
    module_path: &str,
    version: &str,
    files: &[PreparedFile<'_>],
    root_go_mod: Option<&[u8]>,
) -> Result<CreatedZip, ZipError> {
    check_module_version(module_path, version)?;
    let metas: Vec<FileMeta<'_>> = files
        .iter()
        .map(|f| FileMeta {
            path: f.path,
            kind: f.kind,
            size: f.content.map_or(0, PreparedContent::size),
        })
        .collect();
    let (checked, valid) = check_meta_indexed(&metas, root_go_mod);
    if let Some(e) = checked.err() {
        return Err(e);
    }
    let prefix = format!("{module_path}@{version}/");
    let mut entries: Vec<(String, Entry<'_>)> = Vec::with_capacity(valid.len());
    for &i in &valid {
        let Some(f) = files.get(i) else { continue };
        let Some(content) = f.content else {
            return Err(ZipError::new(
                ZipErrorKind::InvalidContent,
                "regular file given without its content",
            )
            .with_entry(f.path));
        };
        entries.push((format!("{prefix}{}", f.path), Entry::Prepared(content)));
    }
    let h1 = hash1_from_digests(
        entries
            .iter()
            .map(|(name, e)| (name.clone(), e.hex_sha256()))
            .collect(),
    )?;
    let zip = write_zip(entries.iter().map(|(n, e)| (n.as_str(), *e)))?;
    Ok(CreatedZip {
        zip,
        h1,
        omitted: checked.omitted,
    })
}

/// Builds the module zip for `module_path@version` from `files`, applying
/// x/mod `checkFiles` in its exact order: a file is either included, omitted
/// (vendor, nested module, `.hg_archival.txt`, symlink, irregular) or makes the
/// whole zip invalid (unclean/absolute/invalid name, `GO.MOD` at the root,
/// collisions, size limits).
pub fn create_zip(
    module_path: &str,
    version: &str,
    files: &[SourceFile<'_>],
) -> Result<CreatedZip, ZipError> {
    create_inner(module_path, version, files).map_err(|e| e.with_module(module_path, version))
}

/// The classification of a file list by x/mod `checkFiles` (see [`check_files`]).
#[derive(Debug, Clone, Default)]
pub struct CheckedFiles {
    /// Paths that go into the zip, in input order.
    pub valid: Vec<String>,
    /// Paths silently left out, and why.
    pub omitted: Vec<(String, OmitReason)>,
    /// Paths that make the zip invalid (each error names its path as `entry`).
    pub invalid: Vec<ZipError>,
    /// Set when the regular files total more than [`MAX_ZIP_FILE`].
    pub size_error: Option<ZipError>,
}

impl CheckedFiles {
    /// x/mod `CheckedFiles.Err`: the size error first, else the first invalid file.
    pub fn err(&self) -> Option<ZipError> {
        if let Some(e) = &self.size_error {
            return Some(e.clone());
        }
        let first = self.invalid.first()?;
        if self.invalid.len() == 1 {
            return Some(first.clone());
        }
        Some(
            ZipError::new(
                first.kind(),
                format!(
                    "{} (and {} more invalid files)",
                    first.message(),
                    self.invalid.len() - 1
                ),
            )
            .with_entry(first.entry().unwrap_or_default()),
        )
    }
}

/// Classifies `files` exactly as x/mod `CheckFiles` does: valid, omitted
/// (with reason) or invalid, applying the checks in x/mod's order.
pub fn check_files(files: &[SourceFile<'_>]) -> CheckedFiles {
    check_files_indexed(files).0
}

fn create_inner(
    module_path: &str,
    version: &str,
    files: &[SourceFile<'_>],
) -> Result<CreatedZip, ZipError> {
    check_module_version(module_path, version)?;
    let (checked, valid) = check_files_indexed(files);
    if let Some(e) = checked.err() {
        return Err(e);
    }
    let valid: Vec<&SourceFile<'_>> = valid.iter().filter_map(|&i| files.get(i)).collect();
    let prefix = format!("{module_path}@{version}/");
    let names: Vec<String> = valid
        .iter()
        .map(|f| format!("{prefix}{}", f.path))
        .collect();
    let h1 = hash1(
        names
            .iter()
            .map(String::as_str)
            .zip(valid.iter().map(|f| f.data)),
    )?;
    let zip = write_zip(
        names
            .iter()
            .map(String::as_str)
            .zip(valid.iter().map(|f| Entry::Raw(f.data))),
    )?;
    Ok(CreatedZip {
        zip,
        h1,
        omitted: checked.omitted,
    })
}

/// x/mod `checkFiles`; also returns the indices of the valid files.
fn check_files_indexed(files: &[SourceFile<'_>]) -> (CheckedFiles, Vec<usize>) {
    let metas: Vec<FileMeta<'_>> = files.iter().map(SourceFile::meta).collect();
    // The last regular root go.mod wins, as in x/mod's pre-pass.
    let root_go_mod = files
        .iter()
        .rev()
        .find(|f| f.path == "go.mod" && f.kind == FileKind::Regular)
        .map(|f| f.data);
    check_meta_indexed(&metas, root_go_mod)
}

/// x/mod `checkFiles` over metadata; `root_go_mod` is the root go.mod's content.
fn check_meta_indexed(
    files: &[FileMeta<'_>],
    root_go_mod: Option<&[u8]>,
) -> (CheckedFiles, Vec<usize>) {
    // Pre-pass: directories holding a regular go.mod (any case) are module
    // boundaries; the root go.mod's go version selects the vendor rule.
    let mut have_go_mod: HashSet<&str> = HashSet::new();
    let mut go_1_24 = false;
    for f in files {
        let (dir, base) = split_dir_base(f.path);
        if base.eq_ignore_ascii_case("go.mod") && f.kind == FileKind::Regular {
            have_go_mod.insert(dir);
            if base == "go.mod" && dir.is_empty() {
                go_1_24 = root_go_mod.is_some_and(|d| go_lang_at_least_1_24(&root_go_lang(d)));
            }
        }
    }
    let in_submodule = |p: &str| -> bool {
        let mut p = p;
        loop {
            let (dir, _) = split_dir_base(p);
            if dir.is_empty() {
                return false;
            }
            if have_go_mod.contains(dir) {
                return true;
            }
            p = dir.get(..dir.len() - 1).unwrap_or("");
        }
    };

    let mut seen_error: HashSet<&str> = HashSet::new();
    let mut out = CheckedFiles::default();
    let mut valid_indices = Vec::new();
    let mut collisions = CollisionChecker::default();
    let mut remaining = MAX_ZIP_FILE;
    for (index, f) in files.iter().enumerate() {
        let p = f.path;
        let omitted = &mut out.omitted;
        // x/mod records only the first error per path.
        let mut omit = |reason: OmitReason| {
            if seen_error.insert(p) {
                omitted.push((p.to_string(), reason));
            }
        };
        let fail = |kind: ZipErrorKind, message: String| ZipError::new(kind, message).with_entry(p);
        let verdict: Result<(), ZipError> = if path_clean(p) != p {
            Err(fail(
                ZipErrorKind::InvalidContent,
                "file path is not clean".into(),
            ))
        } else if p.starts_with('/') {
            Err(fail(
                ZipErrorKind::InvalidContent,
                "file path is not relative".into(),
            ))
        } else if is_vendored_package(p, go_1_24) {
            omit(OmitReason::Vendored);
            continue;
        } else if in_submodule(p) {
            omit(OmitReason::InSubmodule);
            continue;
        } else if p == ".hg_archival.txt" {
            omit(OmitReason::HgArchival);
            continue;
        } else if let Err(e) = goxy_mod::module::check_file_path(p) {
            Err(fail(ZipErrorKind::InvalidContent, e.message().to_string()))
        } else if p.to_lowercase() == "go.mod" && p != "go.mod" {
            Err(fail(
                ZipErrorKind::InvalidContent,
                "go.mod files must have lowercase names".into(),
            ))
        } else if let Err(message) = collisions.check(p, false) {
            Err(fail(ZipErrorKind::InvalidContent, message))
        } else if f.kind == FileKind::Symlink {
            omit(OmitReason::Symlink);
            continue;
        } else if f.kind == FileKind::Other {
            omit(OmitReason::NotRegular);
            continue;
        } else {
            let size = f.size;
            if size <= remaining {
                remaining -= size;
            } else if out.size_error.is_none() {
                out.size_error = Some(ZipError::new(
                    ZipErrorKind::TooLarge,
                    format!("module source tree too large (max size is {MAX_ZIP_FILE} bytes)"),
                ));
            }
            if p == "go.mod" && size > MAX_GO_MOD {
                Err(fail(
                    ZipErrorKind::TooLarge,
                    format!("go.mod file too large (max size is {MAX_GO_MOD} bytes)"),
                ))
            } else if p == "LICENSE" && size > MAX_LICENSE {
                Err(fail(
                    ZipErrorKind::TooLarge,
                    format!("LICENSE file too large (max size is {MAX_LICENSE} bytes)"),
                ))
            } else {
                Ok(())
            }
        };
        match verdict {
            Ok(()) => {
                out.valid.push(p.to_string());
                valid_indices.push(index);
            }
            Err(e) => {
                if seen_error.insert(p) {
                    out.invalid.push(e);
                }
            }
        }
    }
    (out, valid_indices)
}

/// `path.Split`: dir keeps its trailing slash; "" when there is none.
fn split_dir_base(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(i) => (p.get(..=i).unwrap_or(""), p.get(i + 1..).unwrap_or("")),
        None => ("", p),
    }
}

/// x/mod `isVendoredPackage`. Before go 1.24 the `/vendor/` case keeps a
/// historical bug (go.dev/issue/37397: index 8 instead of j+8) for checksum stability.
pub(crate) fn is_vendored_package(name: &str, go_1_24: bool) -> bool {
    if go_1_24 && name == "vendor/modules.txt" {
        return true;
    }
    let i = if name.starts_with("vendor/") {
        "vendor/".len()
    } else if let Some(j) = name.find("/vendor/") {
        if go_1_24 {
            j + "/vendor/".len()
        } else {
            "/vendor/".len()
        }
    } else {
        return false;
    };
    // Byte slicing like Go; a non-boundary index compares bytes, never panics.
    name.as_bytes()
        .get(i..)
        .is_some_and(|rest| rest.contains(&b'/'))
}

/// Raw-deflates `data` into `out` (cleared first).
fn deflate_into(compressor: &mut Compress, data: &[u8], out: &mut Vec<u8>) -> Result<(), ZipError> {
    compressor.reset();
    out.clear();
    out.reserve(data.len() / 2 + 64);
    loop {
        let consumed = usize::try_from(compressor.total_in()).unwrap_or(usize::MAX);
        let input = data.get(consumed..).unwrap_or(&[]);
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(4096));
        }
        let status = compressor
            .compress_vec(input, out, FlushCompress::Finish)
            .map_err(|e| {
                ZipError::new(ZipErrorKind::InvalidContent, format!("deflate failed: {e}"))
            })?;
        if status == Status::StreamEnd {
            return Ok(());
        }
    }
}

/// The content of one zip entry: raw bytes, or bytes already hashed and deflated.
#[derive(Clone, Copy)]
enum Entry<'a> {
    Raw(&'a [u8]),
    Prepared(&'a PreparedContent),
}

impl Entry<'_> {
    fn hex_sha256(&self) -> String {
        match self {
            Entry::Raw(data) => crate::h1::hex_sha256(data),
            Entry::Prepared(p) => hex::encode(p.sha256),
        }
    }
}

/// Writes file entries (deflate, zero timestamps, sizes in the local header,
/// no data descriptors, no directory entries), like x/mod `Create` content-wise.
fn write_zip<'a>(files: impl Iterator<Item = (&'a str, Entry<'a>)>) -> Result<Vec<u8>, ZipError> {
    let mut out: Vec<u8> = Vec::new();
    let mut central: Vec<u8> = Vec::new();
    let mut count: u64 = 0;
    // One compressor, reset per entry: its state is large to allocate.
    let mut compressor = Compress::new(Compression::default(), false);
    let mut compressed = Vec::new();
    for (name, entry) in files {
        let (deflated, crc, size): (&[u8], u32, u64) = match entry {
            Entry::Raw(data) => {
                deflate_into(&mut compressor, data, &mut compressed)
                    .map_err(|e| e.with_entry(name))?;
                (&compressed, crc32fast::hash(data), data.len() as u64)
            }
            Entry::Prepared(p) => (&p.deflated, p.crc32, p.size),
        };
        // Sizes are bounded by MAX_ZIP_FILE (500 MiB), so they fit 32 bits; so do offsets.
        let (Ok(csize), Ok(usize_), Ok(offset), Ok(name_len)) = (
            u32::try_from(deflated.len()),
            u32::try_from(size),
            u32::try_from(out.len()),
            u16::try_from(name.len()),
        ) else {
            return Err(ZipError::new(
                ZipErrorKind::TooLarge,
                "zip entry or offset exceeds 32 bits",
            )
            .with_entry(name));
        };
        let flags: u16 = if name.is_ascii() { 0 } else { 0x0800 };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&8u16.to_le_bytes()); // deflate
        out.extend_from_slice(&0u32.to_le_bytes()); // time, date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&csize.to_le_bytes());
        out.extend_from_slice(&usize_.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(deflated);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by: MS-DOS, 2.0 (as Go's Create)
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&flags.to_le_bytes());
        central.extend_from_slice(&8u16.to_le_bytes());
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&csize.to_le_bytes());
        central.extend_from_slice(&usize_.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0u8; 8]); // extra len, comment len, disk, internal attrs
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
        count += 1;
    }
    let cd_offset = out.len() as u64;
    let cd_size = central.len() as u64;
    out.extend_from_slice(&central);
    let needs_zip64 =
        count >= u16::MAX as u64 || cd_offset >= u32::MAX as u64 || cd_size >= u32::MAX as u64;
    if needs_zip64 {
        let z_offset = out.len() as u64;
        out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        out.extend_from_slice(&44u64.to_le_bytes());
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&[0u8; 8]); // disk numbers
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&z_offset.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
    }
    let clamp16 = |v: u64| {
        if needs_zip64 {
            u16::MAX
        } else {
            u16::try_from(v).unwrap_or(u16::MAX)
        }
    };
    let clamp32 = |v: u64| {
        if needs_zip64 {
            u32::MAX
        } else {
            u32::try_from(v).unwrap_or(u32::MAX)
        }
    };
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&clamp16(count).to_le_bytes());
    out.extend_from_slice(&clamp16(count).to_le_bytes());
    out.extend_from_slice(&clamp32(cd_size).to_le_bytes());
    out.extend_from_slice(&clamp32(cd_offset).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_rule_table() {
        // protocol.md §2.3 table: (path, go <= 1.23, go >= 1.24)
        let rows = [
            ("vendor/modules.txt", false, true),
            ("vendor/foo.go", false, false),
            ("vendor/x/y", true, true),
            ("pkg/vendor/vendor.go", true, false),
            ("pkg/vendor/x/y.go", true, true),
            ("a.go", false, false),
        ];
        for (p, old, new) in rows {
            assert_eq!(is_vendored_package(p, false), old, "{p} old");
            assert_eq!(is_vendored_package(p, true), new, "{p} new");
        }
    }
}

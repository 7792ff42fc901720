//! Validation of an untrusted module zip: x/mod `CheckZip` + `Unzip` rules,
//! `dirhash.HashZip`, and a strict container reader (see `reader`).

use sha2::{Digest, Sha256};

use crate::error::{ZipError, ZipErrorKind};
use crate::h1::{hash1_from_digests, hex_digest};
use crate::modrules::{check_module_version, path_clean, CollisionChecker};
use crate::reader::{inflate_entry, read_entries, ContainerError, Inflater};
use crate::{MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE};

/// What [`check_zip`] learned about an accepted zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedZip {
    /// `dirhash.HashZip` of the zip: every entry name (with the `module@version/`
    /// prefix, directory entries included) over the decompressed data.
    pub h1: String,
    /// The root go.mod bytes, if the zip has one.
    pub go_mod: Option<Vec<u8>>,
    /// Number of file entries (directory entries not counted).
    pub file_count: usize,
    /// Sum of the files' uncompressed sizes.
    pub uncompressed_size: u64,
}

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// Validates an untrusted module zip for `module_path@version` and computes its h1.
///
/// Accepts exactly what x/mod `CheckZip` + `Unzip` accept (and cmd/go's prefix
/// check), except that the container must also pass goxy's strict structural
/// checks. All name and size rules run before anything is decompressed;
/// decompression is streamed into the hash, holding at most one 64 KiB buffer
/// plus go.mod (≤ 16 MiB) in memory.
pub fn check_zip(module_path: &str, version: &str, zip: &[u8]) -> Result<CheckedZip, ZipError> {
    check_inner(module_path, version, zip).map_err(|e| e.with_module(module_path, version))
}

fn container(e: ContainerError) -> ZipError {
    let err = ZipError::new(ZipErrorKind::Malformed, e.message);
    match e.entry {
        Some(entry) => err.with_entry(entry),
        None => err,
    }
}

fn check_inner(module_path: &str, version: &str, zip: &[u8]) -> Result<CheckedZip, ZipError> {
    check_module_version(module_path, version)?;
    if zip.len() as u64 > MAX_ZIP_FILE {
        return Err(ZipError::new(
            ZipErrorKind::TooLarge,
            format!(
                "module zip file is too large ({} bytes; limit is {MAX_ZIP_FILE} bytes)",
                zip.len()
            ),
        ));
    }
    let entries = read_entries(zip).map_err(container)?;
    let prefix = format!("{module_path}@{version}/");

    // Pass 1: names and declared sizes, in x/mod checkZip order. x/mod reports
    // a size error ahead of the invalid-file list, so keep both and pick after.
    let mut collisions = CollisionChecker::default();
    let mut total: u64 = 0;
    let mut size_error: Option<ZipError> = None;
    let mut first_invalid: Option<ZipError> = None;
    let mut names: Vec<&str> = Vec::with_capacity(entries.len());
    for entry in &entries {
        let invalid = |kind: ZipErrorKind, message: String, name: &str| {
            Some(ZipError::new(kind, message).with_entry(name))
        };
        let Ok(name) = std::str::from_utf8(entry.name) else {
            return Err(ZipError::new(
                ZipErrorKind::InvalidContent,
                "entry name is not valid UTF-8",
            )
            .with_entry(String::from_utf8_lossy(entry.name)));
        };
        names.push(name);
        let err = (|| {
            let Some(rel) = name.strip_prefix(prefix.as_str()) else {
                return invalid(
                    ZipErrorKind::InvalidContent,
                    format!("path does not have prefix {prefix:?}"),
                    name,
                );
            };
            let is_dir = rel.ends_with('/') || rel.is_empty();
            if is_dir && entry.uncompressed_size != 0 {
                return invalid(
                    ZipErrorKind::Malformed,
                    "directory entry has data".to_string(),
                    name,
                );
            }
            if entry.unix_mode.is_some_and(|m| m & S_IFMT == S_IFLNK) {
                // Go's Unzip would extract it as a regular file, but no writer of
                // module zips emits symlinks: treat as hostile.
                return invalid(
                    ZipErrorKind::InvalidContent,
                    "entry has symbolic link mode".to_string(),
                    name,
                );
            }
            if rel.is_empty() {
                return None;
            }
            let rel = rel.strip_suffix('/').unwrap_or(rel);
            if path_clean(rel) != rel {
                return invalid(
                    ZipErrorKind::InvalidContent,
                    "file path is not clean".to_string(),
                    name,
                );
            }
            if let Err(e) = goxy_mod::module::check_file_path(rel) {
                return invalid(ZipErrorKind::InvalidContent, e.message().to_string(), name);
            }
            if let Err(message) = collisions.check(rel, is_dir) {
                return invalid(ZipErrorKind::InvalidContent, message, name);
            }
            if is_dir {
                return None;
            }
            let base = rel.rsplit('/').next().unwrap_or(rel);
            // strings.EqualFold with "go.mod": no non-ASCII rune folds to these letters.
            if base.eq_ignore_ascii_case("go.mod") {
                if base != rel {
                    return invalid(
                        ZipErrorKind::InvalidContent,
                        "go.mod file not in module root directory".to_string(),
                        name,
                    );
                }
                if rel != "go.mod" {
                    return invalid(
                        ZipErrorKind::InvalidContent,
                        "go.mod files must have lowercase names".to_string(),
                        name,
                    );
                }
            }
            let size = entry.uncompressed_size;
            if MAX_ZIP_FILE - total >= size {
                total += size;
            } else if size_error.is_none() {
                size_error = Some(ZipError::new(
                    ZipErrorKind::TooLarge,
                    format!("total uncompressed size of module contents too large (max size is {MAX_ZIP_FILE} bytes)"),
                ));
            }
            if rel == "go.mod" && size > MAX_GO_MOD {
                return invalid(
                    ZipErrorKind::TooLarge,
                    format!("go.mod file too large (max size is {MAX_GO_MOD} bytes)"),
                    name,
                );
            }
            if rel == "LICENSE" && size > MAX_LICENSE {
                return invalid(
                    ZipErrorKind::TooLarge,
                    format!("LICENSE file too large (max size is {MAX_LICENSE} bytes)"),
                    name,
                );
            }
            None
        })();
        if first_invalid.is_none() {
            first_invalid = err;
        }
    }
    if let Some(e) = size_error.or(first_invalid) {
        return Err(e);
    }

    // Pass 2: decompress each entry once, streaming into its SHA-256.
    let go_mod_name = format!("{prefix}go.mod");
    let mut go_mod = None;
    let mut file_count = 0usize;
    let mut digests = Vec::with_capacity(entries.len());
    let mut inflater = Inflater::new();
    for (entry, name) in entries.iter().zip(names) {
        let mut hasher = Sha256::new();
        if !name.ends_with('/') {
            file_count += 1;
            let keep = name == go_mod_name;
            let mut kept = Vec::new();
            inflate_entry(&mut inflater, entry, |chunk| {
                hasher.update(chunk);
                if keep {
                    kept.extend_from_slice(chunk);
                }
            })
            .map_err(container)?;
            if keep {
                go_mod = Some(kept);
            }
        }
        digests.push((name.to_string(), hex_digest(hasher)));
    }
    let h1 = hash1_from_digests(digests)?;
    Ok(CheckedZip {
        h1,
        go_mod,
        file_count,
        uncompressed_size: total,
    })
}

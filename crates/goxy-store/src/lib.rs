//! Where goxy's bytes live.
//!
//! Two kinds of data, with different rules:
//!
//! * **Artifacts** (`.info`, `.mod`, `.zip` of a canonical module@version) are
//!   immutable. Their bytes are stored as content-addressed blobs (SHA-256), and
//!   an artifact exists only once its *manifest* is committed, create-if-absent.
//!   The manifest write is the single commit point: a process killed before it
//!   leaves nothing visible (at most an orphan blob or temp file), and once it
//!   is written nobody can replace it.
//! * **Metadata** (`list`, `@latest`) is mutable and replaced atomically; it
//!   carries the time it was fetched so the server can apply a TTL and serve it
//!   stale when every source fails.
//!
//! [`BlobStore`] is the seam for other backends (object storage); [`DiskStore`]
//! is the local-disk implementation.

mod disk;
pub mod mapped;

/// Blobs at least this large are memory-mapped when read, so their bytes live
/// in the page cache rather than on the heap.
pub const MMAP_THRESHOLD: u64 = 64 * 1024;

pub use disk::DiskStore;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

/// Which artifact of a module version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactKind {
    Info,
    Mod,
    Zip,
}

impl ArtifactKind {
    pub fn ext(self) -> &'static str {
        match self {
            ArtifactKind::Info => "info",
            ArtifactKind::Mod => "mod",
            ArtifactKind::Zip => "zip",
        }
    }
}

/// Identifies one immutable artifact. Both parts are the `!`-escaped forms, so
/// two module paths that differ only in case never share a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactKey {
    pub escaped_module: String,
    pub escaped_version: String,
    pub kind: ArtifactKind,
}

impl fmt::Display for ArtifactKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/@v/{}.{}",
            self.escaped_module,
            self.escaped_version,
            self.kind.ext()
        )
    }
}

/// Mutable, TTL-governed metadata of a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaKind {
    List,
    Latest,
}

/// The SHA-256 of a blob, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlobId(String);

impl BlobId {
    /// Accepts only 64 lowercase hex digits, so an id can never name a path outside the store.
    pub fn parse(hex_digest: &str) -> Option<BlobId> {
        let ok = hex_digest.len() == 64
            && hex_digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| BlobId(hex_digest.to_string()))
    }

    pub fn of(data: &[u8]) -> BlobId {
        use sha2::Digest;
        BlobId(hex::encode(sha2::Sha256::digest(data)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The committed record of one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub blob: BlobId,
    pub size: u64,
    /// `h1:` hash for `.mod` and `.zip` (dirhash), absent for `.info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h1: Option<String>,
    /// Where the bytes came from (an upstream's display name, or `direct`).
    pub source: String,
    /// Unix seconds of the commit.
    pub first_seen: u64,
    /// For an artifact filled as a private module: the private pattern that
    /// matched when it was committed. Every later hit requires a principal
    /// allowed to read that module, whatever the patterns say by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_scope: Option<String>,
}

/// Mutable metadata with the time it was stored.
#[derive(Debug, Clone)]
pub struct Meta {
    pub body: Bytes,
    pub stored_at: SystemTime,
    pub source: String,
}

/// A storage failure, naming the operation and the object.
#[derive(Debug)]
pub struct StoreError {
    pub op: &'static str,
    pub object: String,
    pub source: io::Error,
}

/// Is `e` a full disk or an exceeded quota (as opposed to another I/O failure)?
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

impl StoreError {
    pub fn is_no_space(&self) -> bool {
        is_no_space(&self.source)
    }

    pub fn new(op: &'static str, object: impl Into<String>, source: io::Error) -> StoreError {
        StoreError {
            op,
            object: object.into(),
            source,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage: {} {}: {}", self.op, self.object, self.source)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A temporary file being filled by a download, hashed as it is written.
/// Dropping it without [`BlobStore::put_spooled`] removes it.
pub struct Spool {
    file: tempfile::NamedTempFile,
    hasher: sha2::Sha256,
    len: u64,
}

impl Spool {
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        use sha2::Digest;
        use std::io::Write;
        self.file.write_all(chunk)?;
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> PathBuf {
        self.file.path().to_path_buf()
    }

    /// Flushes the data and maps it for validation. The spool stays owned by
    /// the caller; the map must be dropped before the spool is stored.
    pub fn map(&mut self) -> io::Result<Bytes> {
        use std::io::Write;
        self.file.flush()?;
        if self.len == 0 {
            return Ok(Bytes::new());
        }
        // SAFETY: the temp file is private to this process and not modified
        // while the map lives (writes stop before mapping).
        let map = unsafe { memmap2::Mmap::map(self.file.as_file())? };
        Ok(Bytes::from_owner(map))
    }

    fn finish(self) -> (tempfile::NamedTempFile, BlobId, u64) {
        use sha2::Digest;
        let id = BlobId(hex::encode(self.hasher.finalize()));
        (self.file, id, self.len)
    }
}

/// The storage interface every backend implements. Methods are blocking; the
/// server calls them off its async workers.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores bytes under their SHA-256 (idempotent) and returns the id.
    fn put_blob(&self, data: &[u8]) -> Result<BlobId, StoreError>;
    /// A new spool file for a streamed download.
    fn spool(&self) -> Result<Spool, StoreError>;
    /// Stores a finished spool as a blob.
    fn put_spooled(&self, spool: Spool) -> Result<(BlobId, u64), StoreError>;
    /// Reads a blob, verifying its hash; `None` when absent.
    fn get_blob(&self, id: &BlobId) -> Result<Option<Bytes>, StoreError>;
    /// The commit point. Writes `manifest` only if no manifest exists for
    /// `key`, and returns whichever manifest is committed afterwards (ours, or
    /// the one that was there first).
    fn commit(&self, key: &ArtifactKey, manifest: &Manifest) -> Result<Manifest, StoreError>;
    fn manifest(&self, key: &ArtifactKey) -> Result<Option<Manifest>, StoreError>;
    /// Escaped versions of a module that have at least one committed artifact.
    fn versions(&self, escaped_module: &str) -> Result<Vec<String>, StoreError>;
    fn put_meta(&self, escaped_module: &str, kind: MetaKind, meta: &Meta)
        -> Result<(), StoreError>;
    fn meta(&self, escaped_module: &str, kind: MetaKind) -> Result<Option<Meta>, StoreError>;
    /// Proves the store accepts writes now (for readiness).
    fn check_writable(&self) -> Result<(), StoreError>;
}

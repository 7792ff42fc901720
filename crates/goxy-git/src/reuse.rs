//! Prepared zip entries (hash, CRC, deflated bytes) of the versions built
//! last, keyed by git blob id, so the next version of the same module reads,
//! hashes and deflates only the files that changed.
//!
//! An index belongs to one repository and one module directory: a blob id
//! names the same bytes in every commit of that repository (git refuses
//! colliding objects), and no repository can place entries in another's index.

use goxy_zip::PreparedContent;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Prepared entries of one built zip, by blob id.
#[derive(Default)]
pub struct EntryIndex {
    pub by_oid: HashMap<String, Arc<PreparedContent>>,
}

impl EntryIndex {
    fn weight(&self) -> u32 {
        let bytes: usize = self
            .by_oid
            .iter()
            .map(|(oid, p)| oid.len() + p.weight() + 64)
            .sum();
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

/// A bounded cache of entry indexes, keyed by (repository URL, module directory).
#[derive(Clone)]
pub struct ZipReuse {
    cache: Option<moka::sync::Cache<(String, String), Arc<EntryIndex>>>,
    counts: Arc<[AtomicU64; 2]>,
}

/// Zip entries built from the tree so far: how many blobs were read, hashed
/// and deflated, and how many were taken from an earlier zip instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZipEntryCounts {
    pub prepared: u64,
    pub reused: u64,
}

impl ZipReuse {
    /// At most `max_bytes` of prepared entries; 0 disables reuse.
    pub fn new(max_bytes: u64) -> Self {
        let cache = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, index: &Arc<EntryIndex>| index.weight())
                .build()
        });
        ZipReuse {
            cache,
            counts: Arc::new([AtomicU64::new(0), AtomicU64::new(0)]),
        }
    }

    pub fn count(&self, prepared: u64, reused: u64) {
        self.counts[0].fetch_add(prepared, Ordering::Relaxed);
        self.counts[1].fetch_add(reused, Ordering::Relaxed);
    }

    pub fn counts(&self) -> ZipEntryCounts {
        ZipEntryCounts {
            prepared: self.counts[0].load(Ordering::Relaxed),
            reused: self.counts[1].load(Ordering::Relaxed),
        }
    }

    pub fn get(&self, repo_url: &str, dir: &str) -> Option<Arc<EntryIndex>> {
        self.cache
            .as_ref()?
            .get(&(repo_url.to_string(), dir.to_string()))
    }

    /// Replaces the index for (repository, directory) with the entries of the zip just built.
    pub fn put(&self, repo_url: &str, dir: &str, index: EntryIndex) {
        if let Some(cache) = &self.cache {
            cache.insert((repo_url.to_string(), dir.to_string()), Arc::new(index));
        }
    }
}

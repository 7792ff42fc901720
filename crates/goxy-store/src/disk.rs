//! Local-disk store.
//!
//! Layout under the root:
//!
//! ```text
//! blobs/<2 hex>/<64 hex>                              content-addressed bytes
//! versions/<escaped module>/@v/<escaped version>.<ext>.json   manifests (create-if-absent)
//! meta/<escaped module>/@v/list.json, meta/<escaped module>/@latest.json
//! tmp/                                                spools and half-written files
//! ```
//!
//! Durability order: blob written, fsynced and renamed into place before the
//! manifest that names it; the manifest is a fsynced temp file hard-linked to
//! its final name, which fails if the name exists (create-if-absent, atomic).

use crate::{ArtifactKey, BlobId, BlobStore, Manifest, Meta, MetaKind, Spool, StoreError};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::MMAP_THRESHOLD;

pub struct DiskStore {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct MetaFile {
    stored_at: u64,
    source: String,
    body: String,
}

impl DiskStore {
    /// Opens (creating if needed) a store rooted at `root`, and removes temp
    /// files left by a process that died mid-write.
    pub fn open(root: impl Into<PathBuf>) -> Result<DiskStore, StoreError> {
        let root = root.into();
        for dir in ["blobs", "versions", "meta", "tmp"] {
            let path = root.join(dir);
            fs::create_dir_all(&path)
                .map_err(|e| StoreError::new("create directory", path.display().to_string(), e))?;
        }
        let store = DiskStore { root };
        store.clean_tmp();
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn clean_tmp(&self) {
        let Ok(entries) = fs::read_dir(self.root.join("tmp")) else {
            return;
        };
        for entry in entries.flatten() {
            let _ = fs::remove_file(entry.path());
        }
    }

    fn blob_path(&self, id: &BlobId) -> PathBuf {
        let hex = id.as_str();
        self.root.join("blobs").join(&hex[..2]).join(hex)
    }

    fn manifest_path(&self, key: &ArtifactKey) -> PathBuf {
        self.root
            .join("versions")
            .join(&key.escaped_module)
            .join("@v")
            .join(format!("{}.{}.json", key.escaped_version, key.kind.ext()))
    }

    fn meta_path(&self, escaped_module: &str, kind: MetaKind) -> PathBuf {
        let module_dir = self.root.join("meta").join(escaped_module);
        match kind {
            MetaKind::List => module_dir.join("@v").join("list.json"),
            MetaKind::Latest => module_dir.join("@latest.json"),
        }
    }

    fn temp_file(&self) -> io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix("w-")
            .tempfile_in(self.root.join("tmp"))
    }

    /// Writes `data` to a fsynced temp file.
    fn write_temp(&self, data: &[u8]) -> io::Result<tempfile::NamedTempFile> {
        let mut tmp = self.temp_file()?;
        tmp.write_all(data)?;
        tmp.as_file().sync_all()?;
        Ok(tmp)
    }

    fn install_blob(&self, tmp: tempfile::NamedTempFile, id: &BlobId) -> io::Result<()> {
        let path = self.blob_path(id);
        if path.exists() {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        sync_parent(&path);
        Ok(())
    }
}

fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent() {
        if let Ok(dir) = fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn read_small(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl BlobStore for DiskStore {
    fn put_blob(&self, data: &[u8]) -> Result<BlobId, StoreError> {
        let id = BlobId::of(data);
        if self.blob_path(&id).exists() {
            return Ok(id);
        }
        let tmp = self
            .write_temp(data)
            .map_err(|e| StoreError::new("write blob", id.to_string(), e))?;
        self.install_blob(tmp, &id)
            .map_err(|e| StoreError::new("install blob", id.to_string(), e))?;
        Ok(id)
    }

    fn spool(&self) -> Result<Spool, StoreError> {
        use sha2::Digest;
        let file = self
            .temp_file()
            .map_err(|e| StoreError::new("create spool", "tmp", e))?;
        Ok(Spool {
            file,
            hasher: sha2::Sha256::new(),
            len: 0,
        })
    }

    fn put_spooled(&self, spool: Spool) -> Result<(BlobId, u64), StoreError> {
        let (file, id, len) = spool.finish();
        self.install_blob(file, &id)
            .map_err(|e| StoreError::new("install blob", id.to_string(), e))?;
        Ok((id, len))
    }

    fn get_blob(&self, id: &BlobId) -> Result<Option<Bytes>, StoreError> {
        let path = self.blob_path(id);
        let err = |op, e| StoreError::new(op, id.to_string(), e);
        let mut file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err("open blob", e)),
        };
        let len = file.metadata().map_err(|e| err("stat blob", e))?.len();
        let bytes = if len >= MMAP_THRESHOLD {
            crate::mapped::map_file(file).map_err(|e| err("map blob", e))?
        } else {
            let mut data = Vec::with_capacity(len as usize);
            file.read_to_end(&mut data)
                .map_err(|e| err("read blob", e))?;
            Bytes::from(data)
        };
        // Verify on read: a corrupted disk must never turn into corrupted downloads.
        if BlobId::of(&bytes) != *id {
            return Err(err(
                "verify blob",
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "content does not match its SHA-256",
                ),
            ));
        }
        Ok(Some(bytes))
    }

    fn commit(&self, key: &ArtifactKey, manifest: &Manifest) -> Result<Manifest, StoreError> {
        let path = self.manifest_path(key);
        let err = |op, e| StoreError::new(op, key.to_string(), e);
        if let Some(existing) = self.manifest(key)? {
            return Ok(existing);
        }
        if !self.blob_path(&manifest.blob).exists() {
            return Err(err(
                "commit manifest",
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("blob {} is not stored", manifest.blob),
                ),
            ));
        }
        let json = serde_json::to_vec(manifest).map_err(|e| err("encode manifest", e.into()))?;
        let tmp = self
            .write_temp(&json)
            .map_err(|e| err("write manifest", e))?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| err("create manifest directory", e))?;
        }
        match fs::hard_link(tmp.path(), &path) {
            Ok(()) => {
                sync_parent(&path);
                Ok(manifest.clone())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Another writer committed first; theirs stands.
                self.manifest(key)?
                    .ok_or_else(|| err("read manifest after race", e))
            }
            Err(e) => Err(err("commit manifest", e)),
        }
    }

    fn manifest(&self, key: &ArtifactKey) -> Result<Option<Manifest>, StoreError> {
        let err = |op, e| StoreError::new(op, key.to_string(), e);
        match read_small(&self.manifest_path(key)).map_err(|e| err("read manifest", e))? {
            None => Ok(None),
            Some(data) => serde_json::from_slice(&data)
                .map(Some)
                .map_err(|e| err("decode manifest", e.into())),
        }
    }

    fn versions(&self, escaped_module: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join("versions").join(escaped_module).join("@v");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::new("list versions", escaped_module, e)),
        };
        let mut versions: Vec<String> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".json")?;
                let (version, _ext) = stem.rsplit_once('.')?;
                Some(version.to_string())
            })
            .collect();
        versions.sort();
        versions.dedup();
        Ok(versions)
    }

    fn put_meta(
        &self,
        escaped_module: &str,
        kind: MetaKind,
        meta: &Meta,
    ) -> Result<(), StoreError> {
        let path = self.meta_path(escaped_module, kind);
        let err = |op, e| StoreError::new(op, path.display().to_string(), e);
        let file = MetaFile {
            stored_at: unix_secs(meta.stored_at),
            source: meta.source.clone(),
            body: String::from_utf8_lossy(&meta.body).into_owned(),
        };
        let json = serde_json::to_vec(&file).map_err(|e| err("encode metadata", e.into()))?;
        let tmp = self
            .write_temp(&json)
            .map_err(|e| err("write metadata", e))?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| err("create metadata directory", e))?;
        }
        tmp.persist(&path)
            .map_err(|e| err("replace metadata", e.error))?;
        Ok(())
    }

    fn meta(&self, escaped_module: &str, kind: MetaKind) -> Result<Option<Meta>, StoreError> {
        let path = self.meta_path(escaped_module, kind);
        let err = |op, e| StoreError::new(op, path.display().to_string(), e);
        let Some(data) = read_small(&path).map_err(|e| err("read metadata", e))? else {
            return Ok(None);
        };
        let file: MetaFile =
            serde_json::from_slice(&data).map_err(|e| err("decode metadata", e.into()))?;
        Ok(Some(Meta {
            body: Bytes::from(file.body),
            stored_at: UNIX_EPOCH + Duration::from_secs(file.stored_at),
            source: file.source,
        }))
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        let mut tmp = self
            .temp_file()
            .map_err(|e| StoreError::new("probe write", "tmp", e))?;
        tmp.write_all(b"ok")
            .map_err(|e| StoreError::new("probe write", "tmp", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ArtifactKind;

    fn key(kind: ArtifactKind) -> ArtifactKey {
        ArtifactKey {
            escaped_module: "example.com/!m".into(),
            escaped_version: "v1.0.0".into(),
            kind,
        }
    }

    fn manifest(store: &DiskStore, data: &[u8]) -> Manifest {
        let blob = store.put_blob(data).unwrap();
        Manifest {
            blob,
            size: data.len() as u64,
            h1: None,
            source: "test".into(),
            private_scope: None,
            first_seen: 1,
        }
    }

    #[test]
    fn commit_is_create_if_absent() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        let first = manifest(&store, b"first");
        let second = manifest(&store, b"second");
        let k = key(ArtifactKind::Mod);
        assert_eq!(store.commit(&k, &first).unwrap(), first);
        // A second writer with other bytes loses, and is told what stands.
        assert_eq!(store.commit(&k, &second).unwrap(), first);
        let stored = store.manifest(&k).unwrap().unwrap();
        assert_eq!(
            store.get_blob(&stored.blob).unwrap().unwrap(),
            Bytes::from_static(b"first")
        );
        assert_eq!(
            store.versions("example.com/!m").unwrap(),
            vec!["v1.0.0".to_string()]
        );
        assert_eq!(
            store.versions("example.com/m").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn concurrent_commits_have_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(DiskStore::open(dir.path()).unwrap());
        let k = key(ArtifactKind::Zip);
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                let k = k.clone();
                std::thread::spawn(move || {
                    let m = manifest(&store, format!("writer {i}").as_bytes());
                    store.commit(&k, &m).unwrap()
                })
            })
            .collect();
        let winners: Vec<Manifest> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(
            winners.iter().all(|w| *w == winners[0]),
            "every writer must see the same winner"
        );
        assert_eq!(store.manifest(&k).unwrap().unwrap(), winners[0]);
    }

    #[test]
    fn commit_refuses_a_missing_blob() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        let m = Manifest {
            blob: BlobId::of(b"never stored"),
            size: 12,
            h1: None,
            source: "t".into(),
            private_scope: None,
            first_seen: 0,
        };
        assert!(store.commit(&key(ArtifactKind::Info), &m).is_err());
        assert!(store.manifest(&key(ArtifactKind::Info)).unwrap().is_none());
    }

    #[test]
    fn corrupted_blob_is_an_error_not_data() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        let big = vec![7u8; 100_000];
        let id = store.put_blob(&big).unwrap();
        assert_eq!(store.get_blob(&id).unwrap().unwrap().len(), big.len());
        fs::write(store.blob_path(&id), vec![8u8; 100_000]).unwrap();
        assert!(store.get_blob(&id).is_err());
    }

    #[test]
    fn spool_roundtrip_and_tmp_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        let mut spool = store.spool().unwrap();
        spool.write(b"hello ").unwrap();
        spool.write(b"world").unwrap();
        assert_eq!(&spool.map().unwrap()[..], b"hello world");
        let (id, len) = store.put_spooled(spool).unwrap();
        assert_eq!(len, 11);
        assert_eq!(id, BlobId::of(b"hello world"));
        // An abandoned spool is removed when dropped; leftovers from a crash at open.
        let abandoned = store.spool().unwrap();
        drop(abandoned);
        fs::write(dir.path().join("tmp").join("w-crashed"), b"x").unwrap();
        let reopened = DiskStore::open(dir.path()).unwrap();
        assert_eq!(
            fs::read_dir(reopened.root().join("tmp")).unwrap().count(),
            0
        );
    }

    #[test]
    fn meta_replaces_and_keeps_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        assert!(store
            .meta("example.com/m", MetaKind::List)
            .unwrap()
            .is_none());
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let meta = Meta {
            body: Bytes::from_static(b"v1.0.0\n"),
            stored_at: t,
            source: "up".into(),
        };
        store
            .put_meta("example.com/m", MetaKind::List, &meta)
            .unwrap();
        let meta2 = Meta {
            body: Bytes::from_static(b"v1.0.0\nv1.1.0\n"),
            stored_at: t,
            source: "up".into(),
        };
        store
            .put_meta("example.com/m", MetaKind::List, &meta2)
            .unwrap();
        let got = store
            .meta("example.com/m", MetaKind::List)
            .unwrap()
            .unwrap();
        assert_eq!(got.body, meta2.body);
        assert_eq!(got.stored_at, t);
        assert!(store
            .meta("example.com/m", MetaKind::Latest)
            .unwrap()
            .is_none());
    }

    #[test]
    fn blob_ids_are_strict() {
        assert!(BlobId::parse("../../etc/passwd").is_none());
        assert!(BlobId::parse(&"A".repeat(64)).is_none());
        assert!(BlobId::parse(&"a".repeat(64)).is_some());
    }
}

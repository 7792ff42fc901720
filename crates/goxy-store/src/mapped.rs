//! Memory-mapped blobs that remember which file region they show, so the
//! server can hand a response body to the kernel with `sendfile(2)` instead
//! of copying the mapped bytes into the socket.
//!
//! A [`MappedBlob`] registers its address range on creation and removes it
//! when dropped. Whoever holds a slice of the mapping holds the blob (through
//! `Bytes`), so a region found by [`file_region`] stays valid while that
//! slice is being written.

use bytes::Bytes;
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::sync::RwLock;

#[cfg(unix)]
type RawFd = std::os::unix::io::RawFd;
#[cfg(not(unix))]
type RawFd = i32;

struct Region {
    len: usize,
    fd: RawFd,
}

static REGIONS: RwLock<BTreeMap<usize, Region>> = RwLock::new(BTreeMap::new());

struct MappedBlob {
    map: memmap2::Mmap,
    // Kept open: its descriptor is what sendfile reads from.
    _file: File,
}

impl AsRef<[u8]> for MappedBlob {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for MappedBlob {
    fn drop(&mut self) {
        let start = self.map.as_ptr() as usize;
        REGIONS
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&start);
    }
}

/// Maps `file` (immutable from now on) and returns its bytes, registered.
pub fn map_file(file: File) -> io::Result<Bytes> {
    // SAFETY: blobs are immutable once installed (written to a temp file and
    // renamed); nothing writes to the mapped file afterwards.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let region = Region {
            len: map.len(),
            fd: file.as_raw_fd(),
        };
        REGIONS
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(map.as_ptr() as usize, region);
    }
    Ok(Bytes::from_owner(MappedBlob { map, _file: file }))
}

/// If `slice` lies wholly inside a registered mapping: the file descriptor
/// and the offset of the slice in that file.
pub fn file_region(slice: &[u8]) -> Option<(RawFd, u64)> {
    if slice.is_empty() {
        return None;
    }
    let ptr = slice.as_ptr() as usize;
    let regions = REGIONS.read().unwrap_or_else(|e| e.into_inner());
    let (start, region) = regions.range(..=ptr).next_back()?;
    let offset = ptr - start;
    (offset + slice.len() <= region.len).then_some((region.fd, offset as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn regions_are_found_and_forgotten() {
        let mut tmp = tempfile::tempfile().unwrap();
        tmp.write_all(&vec![5u8; 200_000]).unwrap();
        let bytes = map_file(tmp).unwrap();
        let (_, offset) = file_region(&bytes[1000..2000]).unwrap();
        assert_eq!(offset, 1000);
        assert!(file_region(&bytes[..]).is_some());
        let heap = vec![0u8; 10];
        assert!(file_region(&heap).is_none());
        let start = bytes.as_ptr() as usize;
        drop(bytes);
        assert!(!REGIONS.read().unwrap().contains_key(&start));
    }
}

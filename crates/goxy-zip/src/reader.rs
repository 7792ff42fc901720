//! A strict reader for untrusted zip files, operating on a byte slice.
//!
//! Stricter than Go's archive/zip on purpose: it accepts what Go's zip writer
//! and `git archive` produce (the only legitimate sources of module zips) and
//! rejects layouts used to hide data or amplify work: entries must be laid out
//! back to back from offset 0 up to the central directory, local and central
//! headers must agree, sizes and CRCs must be honoured, exactly one end record.

use flate2::{Decompress, FlushDecompress, Status};

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_ZIP64_EOCD: u32 = 0x0606_4b50;
const SIG_ZIP64_LOCATOR: u32 = 0x0706_4b50;
const SIG_DATA_DESCRIPTOR: u32 = 0x0807_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_LEN: usize = 20;
const CENTRAL_HEADER_LEN: usize = 46;
const ZIP64_EXTRA_ID: u16 = 0x0001;

const FLAG_ENCRYPTED: u16 = 0x0001;
const FLAG_DATA_DESCRIPTOR: u16 = 0x0008;
const FLAG_STRONG_ENCRYPTION: u16 = 0x0040;
const FLAG_MASKED_HEADERS: u16 = 0x2000;

pub(crate) const METHOD_STORE: u16 = 0;
pub(crate) const METHOD_DEFLATE: u16 = 8;

/// A container-level defect, with the (lossily decoded) entry name when known.
#[derive(Debug)]
pub(crate) struct ContainerError {
    pub entry: Option<String>,
    pub message: String,
}

fn fail<T>(message: impl Into<String>) -> Result<T, ContainerError> {
    Err(ContainerError {
        entry: None,
        message: message.into(),
    })
}

fn fail_entry<T>(name: &[u8], message: impl Into<String>) -> Result<T, ContainerError> {
    Err(ContainerError {
        entry: Some(String::from_utf8_lossy(name).into_owned()),
        message: message.into(),
    })
}

/// One entry as described by the central directory, with its local header
/// already cross-checked.
#[derive(Debug)]
pub(crate) struct RawEntry<'a> {
    pub name: &'a [u8],
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Unix mode bits from the external attributes when written by a Unix host.
    pub unix_mode: Option<u32>,
    /// The compressed bytes.
    pub data: &'a [u8],
}

/// Little-endian field reader over a bounded slice; every read is bounds-checked.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn at(buf: &'a [u8], pos: usize) -> Self {
        Fields { buf, pos }
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }
    fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        self.bytes(8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    }
}

fn u32_at(buf: &[u8], pos: usize) -> Option<u32> {
    Fields::at(buf, pos).u32()
}

fn to_usize(v: u64) -> Option<usize> {
    usize::try_from(v).ok()
}

struct Directory {
    offset: usize,
    size: usize,
    entries: u64,
}

/// Locates the single end-of-central-directory record (and its zip64 form).
fn find_directory(zip: &[u8]) -> Result<Directory, ContainerError> {
    if zip.len() < EOCD_LEN {
        return fail("not a zip file: too short for an end of central directory record");
    }
    let last = zip.len() - EOCD_LEN;
    let first = last.saturating_sub(u16::MAX as usize);
    // An end record is a signature whose comment runs exactly to the end of the
    // file: no trailing data is allowed after it.
    let is_end_record = |p: usize| -> bool {
        u32_at(zip, p) == Some(SIG_EOCD)
            && Fields::at(zip, p + 20)
                .u16()
                .map(|n| n as usize + p + EOCD_LEN)
                == Some(zip.len())
    };
    let mut found = None;
    for p in (first..=last).rev() {
        if is_end_record(p) {
            if found.is_some() {
                return fail("multiple end of central directory records");
            }
            found = Some(p);
        }
    }
    let Some(eocd) = found else {
        return fail("not a zip file: no end of central directory record at the end of the data");
    };
    let mut f = Fields::at(zip, eocd + 4);
    let (Some(disk), Some(cd_disk), Some(n_disk), Some(n_total), Some(cd_size), Some(cd_offset)) =
        (f.u16(), f.u16(), f.u16(), f.u16(), f.u32(), f.u32())
    else {
        return fail("truncated end of central directory record");
    };
    if disk != 0 || cd_disk != 0 || n_disk != n_total {
        return fail("multi-disk zip files are not supported");
    }

    let locator = eocd
        .checked_sub(ZIP64_LOCATOR_LEN)
        .filter(|&p| u32_at(zip, p) == Some(SIG_ZIP64_LOCATOR));
    let (entries, cd_size, cd_offset, cd_end) = match locator {
        None => {
            if n_total == u16::MAX || cd_size == u32::MAX || cd_offset == u32::MAX {
                return fail(
                    "end of central directory record needs zip64 fields but has no zip64 locator",
                );
            }
            (n_total as u64, cd_size as u64, cd_offset as u64, eocd)
        }
        Some(loc) => {
            let mut f = Fields::at(zip, loc + 4);
            let (Some(z_disk), Some(z_offset), Some(z_disks)) = (f.u32(), f.u64(), f.u32()) else {
                return fail("truncated zip64 end of central directory locator");
            };
            if z_disk != 0 || z_disks != 1 {
                return fail("multi-disk zip files are not supported");
            }
            let Some(z_pos) = to_usize(z_offset) else {
                return fail("zip64 end record offset out of range");
            };
            let mut f = Fields::at(zip, z_pos);
            let (
                Some(sig),
                Some(rec_size),
                Some(_made),
                Some(_needed),
                Some(d1),
                Some(d2),
                Some(e_disk),
                Some(e_total),
                Some(z_cd_size),
                Some(z_cd_off),
            ) = (
                f.u32(),
                f.u64(),
                f.u16(),
                f.u16(),
                f.u32(),
                f.u32(),
                f.u64(),
                f.u64(),
                f.u64(),
                f.u64(),
            )
            else {
                return fail("truncated zip64 end of central directory record");
            };
            if sig != SIG_ZIP64_EOCD {
                return fail(
                    "zip64 locator does not point at a zip64 end of central directory record",
                );
            }
            // The zip64 record must end exactly where the locator starts.
            if (z_pos as u64)
                .checked_add(12)
                .and_then(|v| v.checked_add(rec_size))
                != Some(loc as u64)
                || rec_size < 44
            {
                return fail("zip64 end of central directory record has an inconsistent size");
            }
            if d1 != 0 || d2 != 0 || e_disk != e_total {
                return fail("multi-disk zip files are not supported");
            }
            // The 32-bit fields must either be the zip64 sentinel or agree.
            let agrees16 = |v32: u16, v64: u64| v32 == u16::MAX || v32 as u64 == v64;
            let agrees32 = |v32: u32, v64: u64| v32 == u32::MAX || v32 as u64 == v64;
            if !agrees16(n_total, e_total)
                || !agrees32(cd_size, z_cd_size)
                || !agrees32(cd_offset, z_cd_off)
            {
                return fail("end of central directory record disagrees with its zip64 record");
            }
            (e_total, z_cd_size, z_cd_off, z_pos)
        }
    };
    if cd_offset.checked_add(cd_size) != Some(cd_end as u64) {
        return fail("central directory does not end where the end record begins");
    }
    // Each central header takes at least 46 bytes: bounds the entry count before allocating.
    if entries > cd_size / CENTRAL_HEADER_LEN as u64 {
        return fail(format!(
            "central directory claims {entries} entries but is only {cd_size} bytes"
        ));
    }
    let (Some(offset), Some(size)) = (to_usize(cd_offset), to_usize(cd_size)) else {
        return fail("central directory out of range");
    };
    Ok(Directory {
        offset,
        size,
        entries,
    })
}

/// Sizes and offset possibly overridden by a zip64 extra field (Go's order:
/// uncompressed size, compressed size, local header offset, each only when the
/// 32-bit field holds the sentinel).
struct Zip64Fields {
    uncompressed: u64,
    compressed: u64,
    offset: u64,
    had_extra: bool,
}

fn resolve_zip64(
    name: &[u8],
    extra: &[u8],
    usize32: u32,
    csize32: u32,
    offset32: Option<u32>,
) -> Result<Zip64Fields, ContainerError> {
    let mut need_u = usize32 == u32::MAX;
    let mut need_c = csize32 == u32::MAX;
    let mut need_o = offset32 == Some(u32::MAX);
    let mut out = Zip64Fields {
        uncompressed: usize32 as u64,
        compressed: csize32 as u64,
        offset: offset32.unwrap_or(0) as u64,
        had_extra: false,
    };
    let mut f = Fields::at(extra, 0);
    while f.pos < extra.len() {
        let (Some(tag), Some(len)) = (f.u16(), f.u16()) else {
            return fail_entry(name, "malformed extra field");
        };
        let Some(body) = f.bytes(len as usize) else {
            return fail_entry(name, "extra field runs past its header");
        };
        if tag != ZIP64_EXTRA_ID || out.had_extra {
            continue;
        }
        out.had_extra = true;
        let mut b = Fields::at(body, 0);
        if need_u {
            match b.u64() {
                Some(v) => out.uncompressed = v,
                None => return fail_entry(name, "zip64 extra field too short"),
            }
            need_u = false;
        }
        if need_c {
            match b.u64() {
                Some(v) => out.compressed = v,
                None => return fail_entry(name, "zip64 extra field too short"),
            }
            need_c = false;
        }
        if need_o {
            match b.u64() {
                Some(v) => out.offset = v,
                None => return fail_entry(name, "zip64 extra field too short"),
            }
            need_o = false;
        }
    }
    if need_u || need_c || need_o {
        return fail_entry(name, "zip64 sentinel without a zip64 extra field");
    }
    Ok(out)
}

/// Parses and cross-checks the whole container structure without decompressing anything.
pub(crate) fn read_entries(zip: &[u8]) -> Result<Vec<RawEntry<'_>>, ContainerError> {
    let dir = find_directory(zip)?;
    let cd_end = dir.offset.saturating_add(dir.size);
    let cd = match zip.get(dir.offset..cd_end) {
        Some(cd) => cd,
        None => return fail("central directory out of range"),
    };
    let mut f = Fields::at(cd, 0);
    // entries <= cd_size / 46 was checked, so this allocation is bounded by the input size.
    let mut entries = Vec::with_capacity(to_usize(dir.entries).unwrap_or(0));
    // (start, end) of each entry's local header + data + descriptor, for the layout check.
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(entries.capacity());
    for _ in 0..dir.entries {
        let (
            Some(sig),
            Some(made_by),
            Some(_needed),
            Some(flags),
            Some(method),
            Some(_time),
            Some(_date),
            Some(crc),
            Some(csize32),
            Some(usize32),
            Some(name_len),
            Some(extra_len),
            Some(comment_len),
            Some(disk),
            Some(_int_attr),
            Some(ext_attr),
            Some(offset32),
        ) = (
            f.u32(),
            f.u16(),
            f.u16(),
            f.u16(),
            f.u16(),
            f.u16(),
            f.u16(),
            f.u32(),
            f.u32(),
            f.u32(),
            f.u16(),
            f.u16(),
            f.u16(),
            f.u16(),
            f.u16(),
            f.u32(),
            f.u32(),
        )
        else {
            return fail("truncated central directory header");
        };
        if sig != SIG_CENTRAL {
            return fail("bad central directory header signature");
        }
        let (Some(name), Some(extra), Some(_comment)) = (
            f.bytes(name_len as usize),
            f.bytes(extra_len as usize),
            f.bytes(comment_len as usize),
        ) else {
            return fail("central directory header runs past the directory");
        };
        if flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS) != 0 {
            return fail_entry(name, "encrypted entries are not supported");
        }
        if method != METHOD_STORE && method != METHOD_DEFLATE {
            return fail_entry(name, format!("unsupported compression method {method}"));
        }
        if disk != 0 && disk != u16::MAX {
            return fail_entry(name, "multi-disk zip files are not supported");
        }
        let z = resolve_zip64(name, extra, usize32, csize32, Some(offset32))?;
        if method == METHOD_STORE && z.compressed != z.uncompressed {
            return fail_entry(
                name,
                "stored entry has different compressed and uncompressed sizes",
            );
        }
        let unix_mode = if made_by >> 8 == 3 {
            Some(ext_attr >> 16)
        } else {
            None
        };

        let (data, span_end) = check_local_header(zip, name, flags, method, crc, &z)?;
        let Some(start) = to_usize(z.offset) else {
            return fail_entry(name, "local header offset out of range");
        };
        spans.push((start, span_end));
        entries.push(RawEntry {
            name,
            method,
            crc32: crc,
            compressed_size: z.compressed,
            uncompressed_size: z.uncompressed,
            unix_mode,
            data,
        });
    }
    if f.pos != cd.len() {
        return fail("central directory has bytes after its last header");
    }
    // Layout: entries back to back from offset 0 up to the central directory.
    // This rules out overlapping entries (non-recursive zip bombs), duplicated
    // local headers and hidden data between entries.
    spans.sort_unstable();
    let mut expected = 0usize;
    for (start, end) in &spans {
        if *start != expected {
            let message = if *start < expected {
                "zip entries overlap"
            } else {
                "unaccounted data between zip entries"
            };
            return fail(message);
        }
        expected = *end;
    }
    if expected != dir.offset {
        return fail(if expected > dir.offset {
            "zip entry overlaps the central directory"
        } else {
            "unaccounted data before the central directory"
        });
    }
    Ok(entries)
}

/// Cross-checks the local header against the central directory; returns the
/// compressed data and the end offset of the entry (after any data descriptor).
fn check_local_header<'a>(
    zip: &'a [u8],
    name: &[u8],
    flags: u16,
    method: u16,
    crc: u32,
    z: &Zip64Fields,
) -> Result<(&'a [u8], usize), ContainerError> {
    let Some(start) = to_usize(z.offset) else {
        return fail_entry(name, "local header offset out of range");
    };
    let mut f = Fields::at(zip, start);
    let (
        Some(sig),
        Some(_needed),
        Some(l_flags),
        Some(l_method),
        Some(_time),
        Some(_date),
        Some(l_crc),
        Some(l_csize32),
        Some(l_usize32),
        Some(l_name_len),
        Some(l_extra_len),
    ) = (
        f.u32(),
        f.u16(),
        f.u16(),
        f.u16(),
        f.u16(),
        f.u16(),
        f.u32(),
        f.u32(),
        f.u32(),
        f.u16(),
        f.u16(),
    )
    else {
        return fail_entry(name, "truncated local file header");
    };
    if sig != SIG_LOCAL {
        return fail_entry(name, "bad local file header signature");
    }
    let (Some(l_name), Some(l_extra)) =
        (f.bytes(l_name_len as usize), f.bytes(l_extra_len as usize))
    else {
        return fail_entry(name, "local file header runs past the end of the file");
    };
    if l_name != name {
        return fail_entry(
            name,
            format!(
                "local file header names a different file {:?}",
                String::from_utf8_lossy(l_name)
            ),
        );
    }
    if l_method != method {
        return fail_entry(name, "local file header has a different compression method");
    }
    if l_flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS) != 0 {
        return fail_entry(name, "encrypted entries are not supported");
    }
    let descriptor = flags & FLAG_DATA_DESCRIPTOR != 0;
    if (l_flags & FLAG_DATA_DESCRIPTOR != 0) != descriptor {
        return fail_entry(
            name,
            "local and central headers disagree on the data descriptor flag",
        );
    }
    let lz = resolve_zip64(name, l_extra, l_usize32, l_csize32, None)?;
    if descriptor {
        // Writers that stream put zeros (or the final values) in the local header.
        let ok = |v: u64, want: u64, raw: u32| v == want || raw == 0;
        if !(l_crc == 0 || l_crc == crc)
            || !ok(lz.compressed, z.compressed, l_csize32)
            || !ok(lz.uncompressed, z.uncompressed, l_usize32)
        {
            return fail_entry(
                name,
                "local file header sizes or CRC differ from the central directory",
            );
        }
    } else if l_crc != crc || lz.compressed != z.compressed || lz.uncompressed != z.uncompressed {
        return fail_entry(
            name,
            "local file header sizes or CRC differ from the central directory",
        );
    }
    let data_start = f.pos;
    let Some(data_end) = to_usize(z.compressed).and_then(|c| data_start.checked_add(c)) else {
        return fail_entry(name, "compressed size out of range");
    };
    let Some(data) = zip.get(data_start..data_end) else {
        return fail_entry(name, "compressed data runs past the end of the file");
    };
    if !descriptor {
        return Ok((data, data_end));
    }
    let mut d = Fields::at(zip, data_end);
    let has_sig = u32_at(zip, data_end) == Some(SIG_DATA_DESCRIPTOR);
    if has_sig {
        d.pos += 4;
    }
    if d.u32() != Some(crc) {
        return fail_entry(
            name,
            "data descriptor CRC differs from the central directory",
        );
    }
    let after_crc = d.pos;
    let narrow = (d.u32(), d.u32());
    if !lz.had_extra
        && narrow == (Some(z.compressed as u32), Some(z.uncompressed as u32))
        && z.compressed <= u32::MAX as u64
        && z.uncompressed <= u32::MAX as u64
    {
        return Ok((data, d.pos));
    }
    let mut d = Fields::at(zip, after_crc);
    if (d.u64(), d.u64()) == (Some(z.compressed), Some(z.uncompressed)) {
        return Ok((data, d.pos));
    }
    fail_entry(
        name,
        "data descriptor sizes differ from the central directory",
    )
}

/// Reusable decompression state: allocating it per entry dominated the cost
/// of zips with many small files.
pub(crate) struct Inflater {
    state: Decompress,
    buf: Vec<u8>,
}

impl Inflater {
    pub(crate) fn new() -> Self {
        Inflater {
            state: Decompress::new(false),
            buf: vec![0u8; 64 * 1024],
        }
    }
}

/// Decompresses one entry into `sink` in chunks, enforcing the declared size
/// (never producing more than it) and the CRC.
pub(crate) fn inflate_entry(
    reusable: &mut Inflater,
    entry: &RawEntry<'_>,
    mut sink: impl FnMut(&[u8]),
) -> Result<(), ContainerError> {
    let mut crc = crc32fast::Hasher::new();
    match entry.method {
        METHOD_STORE => {
            if entry.data.len() as u64 != entry.uncompressed_size {
                return fail_entry(
                    entry.name,
                    "stored entry size differs from its declared size",
                );
            }
            crc.update(entry.data);
            sink(entry.data);
        }
        METHOD_DEFLATE => {
            let Inflater {
                state: inflater,
                buf,
            } = reusable;
            inflater.reset(false);
            loop {
                let in_pos = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
                let input = entry.data.get(in_pos..).unwrap_or(&[]);
                let before_in = inflater.total_in();
                let before_out = inflater.total_out();
                let status = match inflater.decompress(input, buf, FlushDecompress::None) {
                    Ok(s) => s,
                    Err(e) => return fail_entry(entry.name, format!("invalid deflate data: {e}")),
                };
                let produced =
                    usize::try_from(inflater.total_out() - before_out).unwrap_or(usize::MAX);
                if inflater.total_out() > entry.uncompressed_size {
                    return fail_entry(
                        entry.name,
                        format!(
                            "uncompressed data is larger than the declared size ({} bytes)",
                            entry.uncompressed_size
                        ),
                    );
                }
                let Some(chunk) = buf.get(..produced) else {
                    return fail_entry(entry.name, "inflater reported more output than its buffer");
                };
                crc.update(chunk);
                sink(chunk);
                if status == Status::StreamEnd {
                    break;
                }
                if produced == 0 && inflater.total_in() == before_in {
                    return fail_entry(entry.name, "truncated deflate data");
                }
            }
            if inflater.total_in() != entry.compressed_size {
                return fail_entry(
                    entry.name,
                    "deflate stream ends before the declared compressed size",
                );
            }
            if inflater.total_out() != entry.uncompressed_size {
                return fail_entry(
                    entry.name,
                    format!(
                        "uncompressed data is smaller than the declared size ({} bytes)",
                        entry.uncompressed_size
                    ),
                );
            }
        }
        other => {
            return fail_entry(
                entry.name,
                format!("unsupported compression method {other}"),
            )
        }
    }
    if crc.finalize() != entry.crc32 {
        return fail_entry(entry.name, "CRC-32 mismatch");
    }
    Ok(())
}

//! A corpus of malicious and broken module zips, built byte by byte. Every one
//! must be rejected with the expected error class, without panicking, quickly.
//! Positive controls show the same constructions pass when honest.

mod common;

use std::time::{Duration, Instant};

use common::{build_zip, build_zip_with, deflate, TestEntry};
use goxy_zip::{check_zip, ZipErrorKind};
use ZipErrorKind::{InvalidContent, InvalidModuleVersion, Malformed, TooLarge};

const MODULE: &str = "example.com/m";
const VERSION: &str = "v1.0.0";
const P: &str = "example.com/m@v1.0.0/";

fn e(name: &str, data: &[u8]) -> TestEntry {
    TestEntry::new(format!("{P}{name}"), data)
}

fn honest() -> Vec<TestEntry> {
    vec![
        e("go.mod", b"module example.com/m\n"),
        e("a.go", b"package m\n\nfunc A() {}\n"),
    ]
}

fn honest_zip() -> Vec<u8> {
    build_zip(&honest())
}

fn with(mut entries: Vec<TestEntry>, i: usize, f: impl FnOnce(&mut TestEntry)) -> Vec<u8> {
    f(&mut entries[i]);
    build_zip(&entries)
}

/// David Fifield-style non-recursive bomb: every central directory entry
/// points at the same local header, whose 10 KiB kernel inflates to 10 MiB.
fn overlap_bomb() -> Vec<u8> {
    let kernel = deflate(&vec![0u8; 10 << 20]);
    let crc = crc32fast::hash(&vec![0u8; 10 << 20]);
    let entries: Vec<TestEntry> = (0..40)
        .map(|i| TestEntry {
            raw: Some(kernel.clone()),
            usize_lie: Some(10 << 20),
            crc_lie: Some(crc),
            offset_lie: if i == 0 { None } else { Some(0) },
            ..e("f", b"")
        })
        .collect();
    build_zip(&entries)
}

fn cases() -> Vec<(&'static str, Vec<u8>, ZipErrorKind)> {
    let good = honest_zip();
    let n = good.len();
    let eocd = n - 22;
    let mut v: Vec<(&'static str, Vec<u8>, ZipErrorKind)> = vec![
        // Container structure.
        ("empty input", Vec::new(), Malformed),
        ("21 zero bytes", vec![0; 21], Malformed),
        (
            "random bytes",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
            Malformed,
        ),
        ("truncated by one byte", good[..n - 1].to_vec(), Malformed),
        ("truncated to half", good[..n / 2].to_vec(), Malformed),
        ("end record only", good[eocd..].to_vec(), Malformed),
        (
            "trailing byte after end record",
            [&good[..], b"x"].concat(),
            Malformed,
        ),
        (
            "second end record appended",
            [&good[..], &good[eocd..]].concat(),
            Malformed,
        ),
        (
            "prepended stub",
            [&b"MZ-stub"[..], &good[..]].concat(),
            Malformed,
        ),
        (
            "end record comment hides another end record",
            build_zip_with(&honest(), &good[eocd..]),
            Malformed,
        ),
        (
            "central directory offset lie",
            {
                let mut z = good.clone();
                z[eocd + 16] ^= 1;
                z
            },
            Malformed,
        ),
        (
            "central directory size lie",
            {
                let mut z = good.clone();
                z[eocd + 12] ^= 4;
                z
            },
            Malformed,
        ),
        (
            "entry count too large",
            {
                let mut z = good.clone();
                z[eocd + 8] = 3;
                z[eocd + 10] = 3;
                z
            },
            Malformed,
        ),
        (
            "entry count too small",
            {
                let mut z = good.clone();
                z[eocd + 8] = 1;
                z[eocd + 10] = 1;
                z
            },
            Malformed,
        ),
        (
            "entry count 65535 without zip64",
            {
                let mut z = good.clone();
                z[eocd + 8..eocd + 12].copy_from_slice(&[0xff; 4]);
                z
            },
            Malformed,
        ),
        (
            "multi-disk end record",
            {
                let mut z = good.clone();
                z[eocd + 4] = 1;
                z
            },
            Malformed,
        ),
        (
            "zip64 locator pointing at garbage",
            {
                let mut z = good[..eocd].to_vec();
                z.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
                z.extend_from_slice(&0u32.to_le_bytes());
                z.extend_from_slice(&3u64.to_le_bytes());
                z.extend_from_slice(&1u32.to_le_bytes());
                z.extend_from_slice(&good[eocd..]);
                z
            },
            Malformed,
        ),
        (
            "zip64 sentinel size without extra field",
            with(honest(), 1, |x| x.usize_lie = Some(u32::MAX)),
            Malformed,
        ),
        (
            "zip64 extra field too short",
            with(honest(), 1, |x| {
                x.usize_lie = Some(u32::MAX);
                x.extra = vec![1, 0, 4, 0, 0, 0, 0, 0];
            }),
            Malformed,
        ),
        (
            "malformed extra field",
            with(honest(), 1, |x| x.extra = vec![9, 9, 200, 0]),
            Malformed,
        ),
        // Sizes and checksums.
        (
            "declared size smaller than data",
            with(honest(), 1, |x| x.usize_lie = Some(5)),
            Malformed,
        ),
        (
            "declared size larger than data",
            with(honest(), 1, |x| x.usize_lie = Some(500)),
            Malformed,
        ),
        (
            "compressed size larger than data",
            with(honest(), 1, |x| x.csize_lie = Some(400)),
            Malformed,
        ),
        (
            "compressed size smaller than data",
            with(honest(), 1, |x| x.csize_lie = Some(3)),
            Malformed,
        ),
        (
            "deflate CRC lie",
            with(honest(), 1, |x| x.crc_lie = Some(0x1234_5678)),
            Malformed,
        ),
        (
            "stored CRC lie",
            with(
                vec![TestEntry::stored(format!("{P}a.go"), b"package m\n")],
                0,
                |x| x.crc_lie = Some(1),
            ),
            Malformed,
        ),
        (
            "stored CRC zero for non-empty file",
            with(
                vec![TestEntry::stored(format!("{P}a.go"), b"package m\n")],
                0,
                |x| x.crc_lie = Some(0),
            ),
            Malformed,
        ),
        (
            "stored sizes differ",
            with(
                vec![TestEntry::stored(format!("{P}a.go"), b"package m\n")],
                0,
                |x| x.usize_lie = Some(9),
            ),
            Malformed,
        ),
        (
            "invalid deflate data",
            with(honest(), 1, |x| x.raw = Some(vec![0xff; 40])),
            Malformed,
        ),
        (
            "truncated deflate stream",
            with(honest(), 1, |x| {
                let d = deflate(&x.data);
                x.raw = Some(d[..d.len() - 3].to_vec());
            }),
            Malformed,
        ),
        (
            "garbage after deflate stream",
            with(honest(), 1, |x| {
                let mut d = deflate(&x.data);
                d.extend_from_slice(&[7; 16]);
                x.raw = Some(d);
            }),
            Malformed,
        ),
        (
            "CRC lie with data descriptors",
            with(honest(), 1, |x| {
                x.descriptor = true;
                x.crc_lie = Some(7);
            }),
            Malformed,
        ),
        // Flags and methods.
        (
            "encrypted flag",
            with(honest(), 1, |x| x.flags = 1),
            Malformed,
        ),
        (
            "strong encryption flag",
            with(honest(), 1, |x| x.flags = 0x40),
            Malformed,
        ),
        (
            "masked headers flag",
            with(honest(), 1, |x| x.flags = 0x2000),
            Malformed,
        ),
        (
            "bzip2 method",
            with(honest(), 1, |x| x.method = 12),
            Malformed,
        ),
        (
            "lzma method",
            with(honest(), 1, |x| x.method = 14),
            Malformed,
        ),
        (
            "AES method",
            with(honest(), 1, |x| x.method = 99),
            Malformed,
        ),
        // Local/central disagreement.
        (
            "local name differs",
            with(honest(), 1, |x| {
                x.local_name = Some(format!("{P}b.go").into_bytes())
            }),
            Malformed,
        ),
        (
            "local method differs",
            with(honest(), 1, |x| x.local_method = Some(0)),
            Malformed,
        ),
        (
            "local size differs",
            with(honest(), 1, |x| x.local_usize = Some(1)),
            Malformed,
        ),
        (
            "local descriptor flag differs",
            with(honest(), 1, |x| x.local_flags = Some(8)),
            Malformed,
        ),
        (
            "local header encrypted",
            with(honest(), 1, |x| x.local_flags = Some(1)),
            Malformed,
        ),
        // Layout.
        (
            "hidden data between entries",
            with(honest(), 1, |x| x.pad_before = b"hidden".to_vec()),
            Malformed,
        ),
        (
            "two central entries share a local header",
            with(honest(), 1, |x| x.offset_lie = Some(0)),
            Malformed,
        ),
        (
            "local header offset beyond file",
            with(honest(), 1, |x| x.offset_lie = Some(1 << 30)),
            Malformed,
        ),
        (
            "overlap bomb: 40 x 10 MiB entries over one kernel",
            overlap_bomb(),
            Malformed,
        ),
        (
            "directory entry with data",
            build_zip(&[e("dir/", b"data")]),
            Malformed,
        ),
        (
            "prefix entry with data",
            build_zip(&[TestEntry::new(P, b"data")]),
            Malformed,
        ),
        // Names.
        (
            "other module prefix",
            build_zip(&[TestEntry::new("example.com/other@v1.0.0/a.go", b"x")]),
            InvalidContent,
        ),
        (
            "other version prefix",
            build_zip(&[TestEntry::new("example.com/m@v1.0.1/a.go", b"x")]),
            InvalidContent,
        ),
        (
            "module path prefix without version",
            build_zip(&[TestEntry::new("example.com/m/a.go", b"x")]),
            InvalidContent,
        ),
        (
            "no prefix",
            build_zip(&[TestEntry::new("a.go", b"x")]),
            InvalidContent,
        ),
        (
            "prefix without slash",
            build_zip(&[TestEntry::new("example.com/m@v1.0.0", b"")]),
            InvalidContent,
        ),
        (
            "dot-dot traversal",
            build_zip(&[e("../../etc/passwd", b"x")]),
            InvalidContent,
        ),
        (
            "absolute after prefix",
            build_zip(&[e("/etc/passwd", b"x")]),
            InvalidContent,
        ),
        (
            "not clean",
            build_zip(&[e("not/../clean", b"x")]),
            InvalidContent,
        ),
        (
            "dot element",
            build_zip(&[e("a/./b.go", b"x")]),
            InvalidContent,
        ),
        (
            "double slash",
            build_zip(&[e("a//b.go", b"x")]),
            InvalidContent,
        ),
        (
            "backslash",
            build_zip(&[e("a\\b.go", b"x")]),
            InvalidContent,
        ),
        (
            "NUL in name",
            build_zip(&[e("a\0.go", b"x")]),
            InvalidContent,
        ),
        (
            "LF in name",
            build_zip(&[e("a\n.go", b"x")]),
            InvalidContent,
        ),
        (
            "CR in name",
            build_zip(&[e("a\r.go", b"x")]),
            InvalidContent,
        ),
        (
            "quote in name",
            build_zip(&[e("bad'.go", b"x")]),
            InvalidContent,
        ),
        (
            "double quote in name",
            build_zip(&[e("bad\".go", b"x")]),
            InvalidContent,
        ),
        (
            "star in name",
            build_zip(&[e("bad*.go", b"x")]),
            InvalidContent,
        ),
        (
            "colon in name",
            build_zip(&[e("c:x.go", b"x")]),
            InvalidContent,
        ),
        (
            "less-than in name",
            build_zip(&[e("a<b.go", b"x")]),
            InvalidContent,
        ),
        ("trailing dot", build_zip(&[e("x.", b"x")]), InvalidContent),
        (
            "windows reserved aux.go",
            build_zip(&[e("aux.go", b"x")]),
            InvalidContent,
        ),
        (
            "windows reserved directory",
            build_zip(&[e("con/x.go", b"x")]),
            InvalidContent,
        ),
        (
            "invalid UTF-8 name",
            build_zip(&[TestEntry::new([P.as_bytes(), b"\xff.go"].concat(), b"x")]),
            InvalidContent,
        ),
        (
            "overlong UTF-8 dot",
            build_zip(&[TestEntry::new(
                [P.as_bytes(), b"\xc0\xae\xc0\xae/x"].concat(),
                b"x",
            )]),
            InvalidContent,
        ),
        (
            "case-fold duplicate",
            build_zip(&[e("a.go", b"x"), e("A.go", b"y")]),
            InvalidContent,
        ),
        (
            "kelvin sign duplicate",
            build_zip(&[e("k.go", b"x"), e("\u{212A}.go", b"y")]),
            InvalidContent,
        ),
        (
            "case-fold directory collision",
            build_zip(&[e("a/b.go", b"x"), e("A/c.go", b"y")]),
            InvalidContent,
        ),
        (
            "exact duplicate",
            build_zip(&[e("a.go", b"x"), e("a.go", b"x")]),
            InvalidContent,
        ),
        (
            "file and directory",
            build_zip(&[e("a", b"x"), e("a/b.go", b"y")]),
            InvalidContent,
        ),
        (
            "directory entry and file",
            build_zip(&[e("a/", b""), e("a", b"y")]),
            InvalidContent,
        ),
        (
            "GO.MOD at root",
            build_zip(&[e("GO.MOD", b"module example.com/m\n")]),
            InvalidContent,
        ),
        (
            "go.mod below root",
            build_zip(&[
                e("go.mod", b"module example.com/m\n"),
                e("sub/go.mod", b"module example.com/m/sub\n"),
            ]),
            InvalidContent,
        ),
        (
            "Go.Mod below root",
            build_zip(&[e("sub/Go.Mod", b"module x\n")]),
            InvalidContent,
        ),
        (
            "symlink mode",
            with(honest(), 1, |x| {
                x.made_by = 3 << 8 | 20;
                x.ext_attr = 0o120777 << 16;
            }),
            InvalidContent,
        ),
        // Limits.
        (
            "go.mod declared over 16 MiB",
            with(honest(), 0, |x| x.usize_lie = Some((16 << 20) + 1)),
            TooLarge,
        ),
        (
            "go.mod really over 16 MiB",
            build_zip(&[e("go.mod", &vec![b' '; (16 << 20) + 1])]),
            TooLarge,
        ),
        (
            "LICENSE declared over 16 MiB",
            build_zip(&[TestEntry {
                usize_lie: Some((16 << 20) + 1),
                ..e("LICENSE", b"MIT")
            }]),
            TooLarge,
        ),
        (
            "total declared over 500 MiB",
            build_zip(
                &(0..6)
                    .map(|i| TestEntry {
                        usize_lie: Some(100 << 20),
                        ..e(&format!("f{i}"), b"x")
                    })
                    .collect::<Vec<_>>(),
            ),
            TooLarge,
        ),
        (
            "single entry declared 4 GiB - 1",
            build_zip(&[TestEntry {
                usize_lie: Some(u32::MAX - 1),
                ..e("big", b"x")
            }]),
            TooLarge,
        ),
    ];
    // Module path and version themselves.
    v.push(("non-canonical version", good.clone(), InvalidModuleVersion));
    v.push(("major version mismatch", good.clone(), InvalidModuleVersion));
    v.push(("upper-case module path", good.clone(), InvalidModuleVersion));
    v
}

fn module_for(name: &str) -> (&'static str, &'static str) {
    match name {
        "non-canonical version" => (MODULE, "v1.0"),
        "major version mismatch" => (MODULE, "v2.0.0"),
        "upper-case module path" => ("Example.com/m", VERSION),
        _ => (MODULE, VERSION),
    }
}

#[test]
fn hostile_zips_rejected() {
    let cases = cases();
    assert!(cases.len() >= 80, "{} cases", cases.len());
    for (name, zip, want) in &cases {
        let (module, version) = module_for(name);
        let start = Instant::now();
        let got = check_zip(module, version, zip);
        let took = start.elapsed();
        let err = match got {
            Ok(c) => panic!("{name}: accepted ({})", c.h1),
            Err(e) => e,
        };
        eprintln!("{name}: {err}");
        assert_eq!(err.kind(), *want, "{name}: {err}");
        assert!(took < Duration::from_secs(2), "{name}: took {took:?}");
        // The message names the module@version.
        let prefix = format!("{module}@{version}: ");
        assert!(err.to_string().starts_with(&prefix), "{name}: {err}");
        assert!(
            !err.to_string()[prefix.len()..].starts_with(&prefix),
            "{name}: repeated context: {err}"
        );
    }
}

#[test]
fn every_truncation_and_bit_flip_is_handled() {
    // No panic on any prefix or single-byte corruption; only CRC-protected or
    // structurally checked bytes exist in this zip, except the timestamps.
    let good = honest_zip();
    let accepted_h1 = check_zip(MODULE, VERSION, &good).unwrap().h1;
    for len in 0..good.len() {
        assert!(
            check_zip(MODULE, VERSION, &good[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
    for i in 0..good.len() {
        for bit in [0x01u8, 0x80] {
            let mut z = good.clone();
            z[i] ^= bit;
            // Accepting a flipped zip is fine only if the content hash is unchanged
            // (e.g. a flipped timestamp or attribute byte).
            if let Ok(c) = check_zip(MODULE, VERSION, &z) {
                assert_eq!(
                    c.h1, accepted_h1,
                    "byte {i} bit {bit:#x} changed the content but was accepted"
                );
            }
        }
    }
}

#[test]
fn honest_constructions_accepted() {
    let expected = goxy_zip::hash1([
        (
            format!("{P}go.mod").as_str(),
            &b"module example.com/m\n"[..],
        ),
        (
            format!("{P}a.go").as_str(),
            &b"package m\n\nfunc A() {}\n"[..],
        ),
    ])
    .unwrap();
    // Deflate, stored, data descriptors, an end-record comment (as git archive writes).
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("deflate", honest_zip()),
        (
            "stored",
            build_zip(
                &honest()
                    .into_iter()
                    .map(|x| TestEntry { method: 0, ..x })
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "data descriptors",
            build_zip(
                &honest()
                    .into_iter()
                    .map(|x| TestEntry {
                        descriptor: true,
                        ..x
                    })
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "comment",
            build_zip_with(&honest(), b"0123456789abcdef0123456789abcdef01234567"),
        ),
        (
            "unix regular mode",
            with(honest(), 1, |x| {
                x.made_by = 3 << 8 | 20;
                x.ext_attr = 0o100644 << 16;
            }),
        ),
    ];
    for (name, zip) in variants {
        let c = check_zip(MODULE, VERSION, &zip).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.h1, expected, "{name}");
        assert_eq!(c.file_count, 2);
        assert_eq!(c.go_mod.as_deref(), Some(&b"module example.com/m\n"[..]));
    }
    // Directory entries are tolerated (as x/mod does) but change the hash.
    let mut entries = honest();
    entries.push(e("dir/", b""));
    entries.push(TestEntry::new(P, b""));
    let c = check_zip(MODULE, VERSION, &build_zip(&entries)).unwrap();
    assert_ne!(c.h1, expected);
    assert_eq!(c.file_count, 2);
    // An empty module.
    let c = check_zip(MODULE, VERSION, &build_zip(&[])).unwrap();
    assert_eq!(c.h1, "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

#[test]
fn one_mib_zip_checks_fast() {
    let files: Vec<(String, Vec<u8>)> = (0..64)
        .map(|i| {
            (
                format!("pkg{}/f{i}.go", i % 8),
                (0..16 * 1024)
                    .map(|j| ((i * 31 + j * 7) % 251) as u8)
                    .collect(),
            )
        })
        .collect();
    let sources: Vec<goxy_zip::SourceFile<'_>> = files
        .iter()
        .map(|(p, d)| goxy_zip::SourceFile {
            path: p,
            kind: goxy_zip::FileKind::Regular,
            data: d,
        })
        .collect();
    let created = goxy_zip::create_zip(MODULE, VERSION, &sources).unwrap();
    let start = Instant::now();
    let c = check_zip(MODULE, VERSION, &created.zip).unwrap();
    let took = start.elapsed();
    assert_eq!(c.h1, created.h1);
    assert_eq!(c.uncompressed_size, 1 << 20);
    // Generous for unoptimized test builds; release builds take a few ms.
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn overlap_bomb_rejected_before_inflating() {
    let zip = overlap_bomb();
    let start = Instant::now();
    let err = check_zip(MODULE, VERSION, &zip).unwrap_err();
    assert!(err.message().contains("overlap"), "{err}");
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn data_descriptor_lies_rejected() {
    // The descriptor after the data disagrees with the central directory.
    let mut zip = build_zip(&[TestEntry {
        descriptor: true,
        ..e("a.go", b"package m\n")
    }]);
    let sig = zip
        .windows(4)
        .position(|w| w == 0x0807_4b50u32.to_le_bytes())
        .unwrap();
    zip[sig + 4] ^= 0xff; // CRC field
    let err = check_zip(MODULE, VERSION, &zip).unwrap_err();
    assert_eq!(err.kind(), Malformed, "{err}");
    assert!(err.message().contains("data descriptor"), "{err}");
    let mut zip = build_zip(&[TestEntry {
        descriptor: true,
        ..e("a.go", b"package m\n")
    }]);
    zip[sig + 12] ^= 0x01; // uncompressed size field
    assert_eq!(
        check_zip(MODULE, VERSION, &zip).unwrap_err().kind(),
        Malformed
    );
}

#[test]
fn go_mod_readers_total_on_arbitrary_bytes() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let alphabet = b"module go retract require ( ) [ ] , { } \" ` \\ / * \n\t\r v1.2.3 x.y/z 1.24 \xff\xc3\xa9";
    for _ in 0..20_000 {
        let len = rng.gen_range(0..80);
        let data: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
            .collect();
        // Any input gives an answer; the module path, when found, never spans lines.
        if let Some(p) = goxy_zip::go_mod_module_path(&data) {
            assert!(!p.contains('\n'), "{data:?}");
        }
        let _ = goxy_zip::go_mod_go_version(&data);
        let _ = goxy_zip::go_mod_retractions(&data);
    }
}

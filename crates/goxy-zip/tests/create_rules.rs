//! create_zip rules the x/mod vectors do not cover: symlinks and irregular
//! files, size limits, `.hg_archival.txt` placement, output shape.

use goxy_zip::{
    check_files, check_zip, create_zip, FileKind, OmitReason, SourceFile, ZipErrorKind,
};

fn reg<'a>(path: &'a str, data: &'a [u8]) -> SourceFile<'a> {
    SourceFile {
        path,
        kind: FileKind::Regular,
        data,
    }
}

fn link<'a>(path: &'a str) -> SourceFile<'a> {
    SourceFile {
        path,
        kind: FileKind::Symlink,
        data: b"target",
    }
}

#[test]
fn symlinks_and_irregular_files() {
    let files = [
        reg("go.mod", b"module example.com/m\n"),
        link("link.go"),
        SourceFile {
            path: "fifo",
            kind: FileKind::Other,
            data: b"",
        },
        // A symlinked go.mod is not a module boundary: sub/x.go stays.
        link("sub/go.mod"),
        reg("sub/x.go", b"package sub\n"),
    ];
    let created = create_zip("example.com/m", "v1.0.0", &files).unwrap();
    assert_eq!(
        created.omitted,
        vec![
            ("link.go".to_string(), OmitReason::Symlink),
            ("fifo".to_string(), OmitReason::NotRegular),
            ("sub/go.mod".to_string(), OmitReason::Symlink),
        ]
    );
    let checked = check_zip("example.com/m", "v1.0.0", &created.zip).unwrap();
    assert_eq!(checked.file_count, 2);
    assert_eq!(checked.h1, created.h1);

    // Name checks run before the symlink check: a badly named symlink fails the zip.
    let err = create_zip("example.com/m", "v1.0.0", &[link("bad'.go")]).unwrap_err();
    assert_eq!(err.kind(), ZipErrorKind::InvalidContent);
    assert_eq!(err.entry(), Some("bad'.go"));
    // So does a symlink colliding in case with a file.
    let err = create_zip(
        "example.com/m",
        "v1.0.0",
        &[reg("a.go", b"x"), link("A.go")],
    )
    .unwrap_err();
    assert!(err.message().contains("case-insensitive"), "{err}");
}

#[test]
fn hg_archival_only_at_root() {
    let files = [
        reg(".hg_archival.txt", b"repo: x\n"),
        reg("sub/.hg_archival.txt", b"kept\n"),
    ];
    let checked = check_files(&files);
    assert_eq!(checked.valid, vec!["sub/.hg_archival.txt".to_string()]);
    assert_eq!(
        checked.omitted,
        vec![(".hg_archival.txt".to_string(), OmitReason::HgArchival)]
    );
}

#[test]
fn size_limits() {
    // calloc'd and never touched: the size checks run before any hashing.
    let big = vec![0u8; (16 << 20) + 1];
    let err = create_zip("example.com/m", "v1.0.0", &[reg("go.mod", &big)]).unwrap_err();
    assert_eq!(err.kind(), ZipErrorKind::TooLarge, "{err}");
    let err = create_zip("example.com/m", "v1.0.0", &[reg("LICENSE", &big)]).unwrap_err();
    assert_eq!(err.kind(), ZipErrorKind::TooLarge, "{err}");
    // 16 MiB + 1 elsewhere is fine by itself (only go.mod and LICENSE are capped).
    assert!(
        check_files(&[reg("sub/LICENSE", &big), reg("data.bin", &big)])
            .err()
            .is_none()
    );

    let huge = vec![0u8; 101 << 20];
    let files: Vec<String> = (0..5).map(|i| format!("blob{i}")).collect();
    let mut sources: Vec<SourceFile<'_>> = files.iter().map(|p| reg(p, &huge)).collect();
    assert!(
        check_files(&sources).err().is_some(),
        "505 MiB must exceed the limit"
    );
    sources.truncate(4);
    assert!(
        check_files(&sources).err().is_none(),
        "404 MiB is within the limit"
    );
    let err = create_zip(
        "example.com/m",
        "v1.0.0",
        &files.iter().map(|p| reg(p, &huge)).collect::<Vec<_>>(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ZipErrorKind::TooLarge, "{err}");
    assert!(
        err.to_string().starts_with("example.com/m@v1.0.0: "),
        "{err}"
    );

    // check_zip refuses a zip file over 500 MiB before parsing it.
    let zip = vec![0u8; (500 << 20) + 1];
    assert_eq!(
        check_zip("example.com/m", "v1.0.0", &zip)
            .unwrap_err()
            .kind(),
        ZipErrorKind::TooLarge
    );
}

#[test]
fn module_version_checked_first() {
    let files = [reg("a.go", b"x")];
    for (path, version) in [
        ("example.com/m", "v1.0"),
        ("example.com/m", "v2.0.0"),
        ("Example.com/m", "v1.0.0"),
        ("example.com/m", "latest"),
    ] {
        let err = create_zip(path, version, &files).unwrap_err();
        assert_eq!(
            err.kind(),
            ZipErrorKind::InvalidModuleVersion,
            "{path}@{version}: {err}"
        );
    }
    assert!(create_zip("example.com/m/v2", "v2.0.0", &files).is_ok());
    assert!(create_zip("example.com/m", "v2.0.0+incompatible", &files).is_ok());
}

#[test]
fn output_shape() {
    let files = [
        reg("go.mod", b"module example.com/m\n"),
        reg("ünï/x.go", b"package x\n"),
        reg("a/b/c.go", b""),
    ];
    let created = create_zip("example.com/m", "v1.0.0", &files).unwrap();
    let zip = &created.zip;
    // Local headers: deflate (8), zero time and date, no directory entries.
    let mut pos = 0;
    let mut names = Vec::new();
    while zip[pos..pos + 4] == 0x0403_4b50u32.to_le_bytes() {
        let method = u16::from_le_bytes([zip[pos + 8], zip[pos + 9]]);
        let time_date = u32::from_le_bytes(zip[pos + 10..pos + 14].try_into().unwrap());
        let csize = u32::from_le_bytes(zip[pos + 18..pos + 22].try_into().unwrap()) as usize;
        let name_len = u16::from_le_bytes([zip[pos + 26], zip[pos + 27]]) as usize;
        let extra_len = u16::from_le_bytes([zip[pos + 28], zip[pos + 29]]) as usize;
        let name = String::from_utf8(zip[pos + 30..pos + 30 + name_len].to_vec()).unwrap();
        assert_eq!(method, 8, "{name}");
        assert_eq!(time_date, 0, "{name}");
        assert!(!name.ends_with('/'));
        names.push(name);
        pos += 30 + name_len + extra_len + csize;
    }
    assert_eq!(
        names,
        vec![
            "example.com/m@v1.0.0/go.mod",
            "example.com/m@v1.0.0/ünï/x.go",
            "example.com/m@v1.0.0/a/b/c.go"
        ]
    );
}

#[test]
fn many_files_use_zip64_end_records() {
    // 65,600 entries exceed the 16-bit entry count: zip64 end records are needed.
    let names: Vec<String> = (0..65_600).map(|i| format!("d{}/f{i}", i % 100)).collect();
    let files: Vec<SourceFile<'_>> = names.iter().map(|p| reg(p, b"")).collect();
    let created = create_zip("example.com/m", "v1.0.0", &files).unwrap();
    let checked = check_zip("example.com/m", "v1.0.0", &created.zip).unwrap();
    assert_eq!(checked.file_count, 65_600);
    assert_eq!(checked.h1, created.h1);
    if goxy_testkit::have_go() {
        let tool = goxy_testkit::go_tool("zip-oracle");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.zip");
        std::fs::write(&path, &created.zip).unwrap();
        let out = std::process::Command::new(tool)
            .args(["check", path.to_str().unwrap(), "example.com/m", "v1.0.0"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("ok {}", created.h1)
        );
    }
}

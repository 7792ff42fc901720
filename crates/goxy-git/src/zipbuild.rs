//! Module zip creation, by `goxy_zip::create_zip` (the x/mod `Create` rules),
//! from the files `git archive` produced (raw, possibly non-UTF-8 names).

pub use goxy_zip::{hash_go_mod, MAX_GO_MOD, MAX_ZIP_FILE};

/// What kind of tree entry a file came from; only regular files reach the zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Symlink,
    Other,
}

/// One file of the module tree, path relative to the module root.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Raw name bytes (git tree names need not be UTF-8).
    pub name: Vec<u8>,
    pub kind: FileKind,
    pub data: Vec<u8>,
}

/// A built module zip with its content hash.
#[derive(Debug, Clone)]
pub struct BuiltZip {
    pub bytes: Vec<u8>,
    pub h1: String,
}

/// Validates `files` by the x/mod rules and writes the zip under `module@version/`.
pub fn create_zip(module: &str, version: &str, files: &[SourceFile]) -> Result<BuiltZip, String> {
    // A non-UTF-8 name becomes U+FFFD here; U+FFFD is not a letter, so the
    // name still fails CheckFilePath unless an earlier rule omits the file —
    // exactly what happens to the raw name in x/mod.
    let names: Vec<String> = files
        .iter()
        .map(|f| String::from_utf8_lossy(&f.name).into_owned())
        .collect();
    let inputs: Vec<goxy_zip::SourceFile<'_>> = files
        .iter()
        .zip(&names)
        .map(|(f, name)| goxy_zip::SourceFile {
            path: name,
            kind: match f.kind {
                FileKind::Regular => goxy_zip::FileKind::Regular,
                FileKind::Symlink => goxy_zip::FileKind::Symlink,
                FileKind::Other => goxy_zip::FileKind::Other,
            },
            data: &f.data,
        })
        .collect();
    let created = goxy_zip::create_zip(module, version, &inputs).map_err(|e| e.to_string())?;
    Ok(BuiltZip {
        bytes: created.zip,
        h1: created.h1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, data: &str) -> SourceFile {
        SourceFile {
            name: name.as_bytes().to_vec(),
            kind: FileKind::Regular,
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn empty_module_hash() {
        let z = create_zip("example.com/m", "v1.0.0", &[]).expect("empty zip");
        assert_eq!(z.h1, "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn raw_names_and_kinds_are_passed_through() {
        let ok = vec![
            f("go.mod", "module example.com/m\n"),
            f("a.go", "package a"),
            SourceFile {
                name: b"link".to_vec(),
                kind: FileKind::Symlink,
                data: b"a.go".to_vec(),
            },
            SourceFile {
                name: b"vendor/x/\xff.go".to_vec(),
                kind: FileKind::Regular,
                data: vec![],
            },
        ];
        let z = create_zip("example.com/m", "v1.0.0", &ok).expect("valid");
        let with_link_omitted = create_zip("example.com/m", "v1.0.0", &ok[..2]).expect("valid");
        assert_eq!(
            z.h1, with_link_omitted.h1,
            "symlinks and vendored files are omitted"
        );
        for bad in [
            vec![SourceFile {
                name: vec![0xff, b'a'],
                kind: FileKind::Regular,
                data: vec![],
            }],
            vec![SourceFile {
                name: b"bad'.go".to_vec(),
                kind: FileKind::Symlink,
                data: vec![],
            }],
            vec![f("k.go", ""), f("\u{212A}.go", "")],
        ] {
            assert!(create_zip("example.com/m", "v1.0.0", &bad).is_err());
        }
    }
}

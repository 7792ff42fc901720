//! The `h1:` directory hash (golang.org/x/mod/sumdb/dirhash `Hash1`).

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::{ZipError, ZipErrorKind};

/// `Hash1` over `(name, content)` pairs: names are sorted bytewise, each line of the
/// summary is `hex(sha256(content)) + "  " + name + "\n"`, and the result is
/// `"h1:" + base64(sha256(summary))`. Fails if a name contains `'\n'` (it would
/// make the summary ambiguous).
pub fn hash1<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<String, ZipError> {
    let digests = files
        .into_iter()
        .map(|(name, data)| (name.to_string(), hex_sha256(data)))
        .collect();
    hash1_from_digests(digests)
}

/// `Hash1` of the single file named `go.mod` (how go.sum hashes a `.mod` file).
pub fn hash_go_mod(go_mod: &[u8]) -> String {
    let mut summary = hex_sha256(go_mod);
    summary.push_str("  go.mod\n");
    summary_hash(summary.as_bytes())
}

/// The go.mod served for a version without one: exactly `module <path>\n`, the
/// path quoted only where modfile's `AutoQuote` would quote it.
pub fn synthesized_go_mod(module_path: &str) -> Vec<u8> {
    let mut out = b"module ".to_vec();
    if must_quote(module_path) {
        out.extend_from_slice(go_quote(module_path).as_bytes());
    } else {
        out.extend_from_slice(module_path.as_bytes());
    }
    out.push(b'\n');
    out
}

/// `Hash1` from precomputed lower-case hex SHA-256 digests of each file.
pub(crate) fn hash1_from_digests(mut files: Vec<(String, String)>) -> Result<String, ZipError> {
    // Rust's str ordering is bytewise, the same as Go's string ordering.
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut summary = String::new();
    for (name, digest) in &files {
        if name.contains('\n') {
            return Err(ZipError::new(
                ZipErrorKind::InvalidContent,
                "dirhash: filenames with newlines are not supported",
            )
            .with_entry(name.clone()));
        }
        summary.push_str(digest);
        summary.push_str("  ");
        summary.push_str(name);
        summary.push('\n');
    }
    Ok(summary_hash(summary.as_bytes()))
}

pub(crate) fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(crate) fn hex_digest(hasher: Sha256) -> String {
    hex::encode(hasher.finalize())
}

fn summary_hash(summary: &[u8]) -> String {
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(summary))
    )
}

/// modfile `MustQuote`: quoting is needed if the string is empty, contains a
/// space, `"`, `'`, `` ` ``, a control or non-ASCII character... precisely:
/// any rune that is whitespace, a quote, or not printable, or `//` / `/*`.
fn must_quote(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let bytes = s.as_bytes();
    for (i, c) in s.char_indices() {
        if c == ' ' || c == '"' || c == '\'' || c == '`' {
            return true;
        }
        if matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | ',') && s.len() > 1 {
            return true;
        }
        if !is_go_print(c) {
            return true;
        }
        if c == '/' {
            if let Some(next) = bytes.get(i + 1) {
                if *next == b'/' || *next == b'*' {
                    return true;
                }
            }
        }
    }
    false
}

/// An approximation of Go's `unicode.IsPrint` sufficient for `AutoQuote`: every
/// valid module path is ASCII, for which this is exact.
fn is_go_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    !c.is_control() && !c.is_whitespace()
}

/// Go's `strconv.Quote` for the characters a module path can contain.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_list() {
        let none: [(&str, &[u8]); 0] = [];
        assert_eq!(
            hash1(none).unwrap(),
            "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn dirhash_test_hash1() {
        // x/mod sumdb/dirhash TestHash1: the summary is built over the sorted names.
        let got = hash1([("xyz", &b"data for xyz"[..]), ("abc", &b"data for abc"[..])]).unwrap();
        let summary = format!(
            "{}  abc\n{}  xyz\n",
            hex_sha256(b"data for abc"),
            hex_sha256(b"data for xyz")
        );
        assert_eq!(got, summary_hash(summary.as_bytes()));
        let swapped =
            hash1([("abc", &b"data for abc"[..]), ("xyz", &b"data for xyz"[..])]).unwrap();
        assert_eq!(got, swapped);
    }

    #[test]
    fn newline_in_name_rejected() {
        let err = hash1([("a\nb", &b""[..])]).unwrap_err();
        assert_eq!(err.kind(), ZipErrorKind::InvalidContent);
    }

    #[test]
    fn rsc_quote_go_mod() {
        let go_mod = b"module \"rsc.io/quote\"\n\nrequire \"rsc.io/sampler\" v1.3.0\n";
        assert_eq!(go_mod.len(), 55);
        assert_eq!(
            hash_go_mod(go_mod),
            "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0="
        );
        assert_eq!(
            hash_go_mod(go_mod),
            hash1([("go.mod", &go_mod[..])]).unwrap()
        );
    }

    #[test]
    fn synthesized() {
        assert_eq!(
            synthesized_go_mod("example.com/m"),
            b"module example.com/m\n"
        );
        assert_eq!(synthesized_go_mod("example.com/m").len(), 21);
        assert_eq!(synthesized_go_mod("a b"), b"module \"a b\"\n");
        assert_eq!(synthesized_go_mod("a//b"), b"module \"a//b\"\n");
        assert_eq!(synthesized_go_mod(""), b"module \"\"\n");
    }
}

//! `GOPRIVATE`-style prefix patterns (x/mod `module.MatchPrefixPatterns`), used
//! for GOPRIVATE, GONOPROXY, GONOSUMDB, GOINSECURE and GOVCS.
//!
//! Glob matching is a port of Go's `path.Match`, byte for byte, including its
//! treatment of `[...]` classes, `\` escapes and malformed patterns.

/// Reports whether some path prefix of `target` matches one of the
/// comma-separated glob patterns in `globs`. A glob with N slashes is matched
/// against the first N+1 elements of `target` (so `rsc.io/private` matches
/// `rsc.io/private/quux` but not `rsc.io/privateer`). Empty and malformed
/// globs never match; a trailing `/` on a glob is ignored.
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    for glob in globs.split(',') {
        let glob = glob.strip_suffix('/').unwrap_or(glob);
        if glob.is_empty() {
            continue;
        }
        // Cut target just before its (N+1)th slash, where N = slashes in the glob.
        let mut slashes_left = glob.bytes().filter(|&b| b == b'/').count();
        let mut prefix = target;
        for (i, b) in target.bytes().enumerate() {
            if b == b'/' {
                if slashes_left == 0 {
                    prefix = &target[..i];
                    break;
                }
                slashes_left -= 1;
            }
        }
        if slashes_left > 0 {
            continue; // target has too few elements
        }
        if path_match(glob.as_bytes(), prefix.as_bytes()) == Ok(true) {
            return true;
        }
    }
    false
}

/// Does `target` match `globs` under any spelling that reaches the same
/// repository? Git hosts compare paths case-insensitively and accept a
/// `.git` suffix on the repository element, so `host/Corp/Secret` and
/// `host/corp/secret.git` name the repository of `host/corp/secret`: a
/// private pattern must cover them too, or a public-looking spelling would
/// lead to private code. Exact matches are Go's [`match_prefix_patterns`].
pub fn match_private_patterns(globs: &str, target: &str) -> bool {
    if match_prefix_patterns(globs, target) {
        return true;
    }
    let folded: Vec<String> = target
        .split('/')
        .map(|element| {
            let lower = element.to_ascii_lowercase();
            match lower.strip_suffix(".git") {
                Some(stem) if !stem.is_empty() => stem.to_string(),
                _ => lower,
            }
        })
        .collect();
    match_prefix_patterns(&globs.to_ascii_lowercase(), &folded.join("/"))
}

/// Is `target` private only by another spelling (an alias of a private path)?
pub fn is_private_alias(globs: &str, target: &str) -> bool {
    !match_prefix_patterns(globs, target) && match_private_patterns(globs, target)
}

/// Go's `path.ErrBadPattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BadPattern;

/// Go `path.Match`: does `name` match the shell pattern `pattern`? `*` and `?`
/// do not match `/`. Like Go, it works on bytes: literal bytes compare
/// individually, `?` and classes consume one UTF-8 sequence (or one invalid byte).
fn path_match(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, BadPattern> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing * matches the rest of the name unless it has a '/'.
            return Ok(!name.contains(&b'/'));
        }
        let (matched, err) = match match_chunk(chunk, name) {
            Ok(Some(t)) => (Some(t), None),
            Ok(None) => (None, None),
            Err(e) => (None, Some(e)),
        };
        // The last chunk must consume the whole name; otherwise a star may still help.
        if let Some(t) = matched {
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        if let Some(e) = err {
            return Err(e);
        }
        if star {
            // Try the chunk after skipping i+1 bytes; a star cannot skip '/'.
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                match match_chunk(chunk, &name[i + 1..]) {
                    Ok(Some(t)) => {
                        if pattern.is_empty() && !t.is_empty() {
                            i += 1;
                            continue;
                        }
                        name = t;
                        continue 'pattern;
                    }
                    Ok(None) => {}
                    Err(e) => return Err(e),
                }
                i += 1;
            }
        }
        // No match: still report a syntax error anywhere in the rest of the pattern.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off leading stars and the chunk up to the next unbracketed star.
fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let Some((&b'*', rest)) = pattern.split_first() {
        pattern = rest;
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            // Skip the escaped byte; a trailing backslash is reported by match_chunk.
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => return (star, &pattern[..i], &pattern[i..]),
            _ => {}
        }
        i += 1;
    }
    (star, pattern, &[])
}

/// Matches `chunk` (no unbracketed stars) against the start of `s`: the rest
/// of `s` on a match, `None` on a mismatch. Like Go it keeps scanning the
/// chunk after a mismatch so syntax errors are always found.
fn match_chunk<'s>(mut chunk: &[u8], mut s: &'s [u8]) -> Result<Option<&'s [u8]>, BadPattern> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        failed = failed || s.is_empty();
        match c {
            b'[' => {
                let mut r = 0u32;
                if !failed {
                    let (rune, n) = decode_rune(s);
                    r = rune;
                    s = s.get(n..).unwrap_or(&[]);
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&b'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    matched = matched || (lo <= r && r <= hi);
                    nrange += 1;
                }
                failed = failed || matched == negated;
            }
            b'?' => {
                if !failed {
                    failed = s.first() == Some(&b'/');
                    let (_, n) = decode_rune(s);
                    s = s.get(n..).unwrap_or(&[]);
                }
                chunk = &chunk[1..];
            }
            _ => {
                let literal = if c == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&b) => b,
                        None => return Err(BadPattern),
                    }
                } else {
                    c
                };
                if !failed {
                    failed = s.first() != Some(&literal);
                    s = s.get(1..).unwrap_or(&[]);
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// One possibly-escaped character of a `[...]` class, and the rest of the chunk.
/// Like Go, the class must not end right after it (a `]` or range end must follow).
fn get_esc(chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    let mut chunk = chunk;
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(BadPattern);
            }
        }
        Some(_) => {}
    }
    let (r, n) = decode_rune(chunk);
    if r == REPLACEMENT && n == 1 {
        return Err(BadPattern);
    }
    let rest = chunk.get(n..).unwrap_or(&[]);
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

const REPLACEMENT: u32 = 0xFFFD;

/// Go's `utf8.DecodeRune`: the first code point and its length; `(U+FFFD, 1)`
/// for an invalid or truncated sequence, `(U+FFFD, 0)` for empty input.
fn decode_rune(s: &[u8]) -> (u32, usize) {
    let Some(&b0) = s.first() else {
        return (REPLACEMENT, 0);
    };
    if b0 < 0x80 {
        return (u32::from(b0), 1);
    }
    let (len, min, init) = match b0 {
        0xC2..=0xDF => (2, 0x80, u32::from(b0 & 0x1F)),
        0xE0..=0xEF => (3, 0x800, u32::from(b0 & 0x0F)),
        0xF0..=0xF4 => (4, 0x10000, u32::from(b0 & 0x07)),
        _ => return (REPLACEMENT, 1),
    };
    let Some(tail) = s.get(1..len) else {
        return (REPLACEMENT, 1);
    };
    let mut r = init;
    for &b in tail {
        if b & 0xC0 != 0x80 {
            return (REPLACEMENT, 1);
        }
        r = (r << 6) | u32::from(b & 0x3F);
    }
    if r < min || r > 0x10FFFF || (0xD800..=0xDFFF).contains(&r) {
        return (REPLACEMENT, 1);
    }
    (r, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_mod_match_prefix_patterns_table() {
        for &(globs, target, want) in crate::xmod_tables::MATCH_PREFIX_PATTERNS_TESTS {
            assert_eq!(
                match_prefix_patterns(globs, target),
                want,
                "({globs:?}, {target:?})"
            );
        }
    }

    #[test]
    fn protocol_pattern_examples() {
        // protocol.md §5.8.
        assert!(match_prefix_patterns(
            "*.corp.example.com",
            "git.corp.example.com/xyzzy"
        ));
        assert!(!match_prefix_patterns(
            "*.corp.example.com",
            "corp.example.com"
        ));
        assert!(match_prefix_patterns("rsc.io/private", "rsc.io/private"));
        assert!(match_prefix_patterns(
            "rsc.io/private",
            "rsc.io/private/quux"
        ));
        assert!(!match_prefix_patterns("rsc.io/private", "rsc.io/privateer"));
        assert!(match_prefix_patterns(
            "github.com/org/*",
            "github.com/org/repo/sub/pkg"
        ));
        // Case-sensitive.
        assert!(!match_prefix_patterns(
            "github.com/Org",
            "github.com/org/repo"
        ));
    }

    #[test]
    fn go_path_match_table() {
        // Go path/match_test.go matchTests.
        let bad = Err(BadPattern);
        let cases: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", bad),
            ("[-]", "-", bad),
            ("[x-]", "x", bad),
            ("[x-]", "-", bad),
            ("[x-]", "z", bad),
            ("[-x]", "x", bad),
            ("[-x]", "-", bad),
            ("[-x]", "a", bad),
            ("\\", "a", bad),
            ("[a-b-c]", "a", bad),
            ("[", "a", bad),
            ("[^", "a", bad),
            ("[^bc", "a", bad),
            ("a[", "a", bad),
            ("a[", "ab", bad),
            ("a[", "x", bad),
            ("a/b[", "x", bad),
            ("*x", "xxx", Ok(true)),
        ];
        for &(pattern, name, want) in cases {
            assert_eq!(
                path_match(pattern.as_bytes(), name.as_bytes()),
                want,
                "path_match({pattern:?}, {name:?})"
            );
        }
    }

    #[test]
    fn decode_rune_matches_go() {
        assert_eq!(decode_rune("☺".as_bytes()), (0x263A, 3));
        assert_eq!(decode_rune(&[0x80]), (REPLACEMENT, 1));
        assert_eq!(decode_rune(&[0xE2, 0x98]), (REPLACEMENT, 1));
        assert_eq!(decode_rune(&[0xC0, 0xAE]), (REPLACEMENT, 1)); // overlong '.'
        assert_eq!(decode_rune(&[0xED, 0xA0, 0x80]), (REPLACEMENT, 1)); // surrogate
        assert_eq!(decode_rune(&[]), (REPLACEMENT, 0));
    }

    #[test]
    fn private_patterns_cover_case_and_dot_git_spellings() {
        let p = "git.corp.example/corp/secret,*.internal";
        for m in [
            "git.corp.example/corp/secret",
            "git.corp.example/corp/secret/sub",
            "git.corp.example/corp/Secret",
            "git.corp.example/Corp/secret",
            "Git.Corp.Example/corp/secret",
            "git.corp.example/corp/secret.git",
            "git.corp.example/corp/secret.git/v2",
            "git.corp.example/corp/SECRET.GIT",
            "git.corp.example.git/corp/secret",
            "x.INTERNAL/y",
        ] {
            assert!(match_private_patterns(p, m), "{m}");
        }
        for m in [
            "git.corp.example/corp/secrets",
            "git.corp.example/corp",
            "github.com/corp/secret",
            ".git/x",
        ] {
            assert!(!match_private_patterns(p, m), "{m}");
        }
        assert!(is_private_alias(p, "git.corp.example/corp/Secret"));
        assert!(!is_private_alias(p, "git.corp.example/corp/secret"));
        assert!(!is_private_alias(p, "github.com/x/y"));
    }
}

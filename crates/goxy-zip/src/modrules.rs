//! x/mod rules shared by validation and creation: module@version checks,
//! `path.Clean`, and the case-fold collision checker.

use std::collections::HashMap;

use crate::error::{ZipError, ZipErrorKind};
use crate::fold::str_to_fold;

/// The version must be canonical and consistent with the path (x/mod `Create`/`CheckZip` preamble).
pub(crate) fn check_module_version(module_path: &str, version: &str) -> Result<(), ZipError> {
    let canonical = goxy_mod::module::canonical_version(version);
    if canonical != version {
        return Err(ZipError::new(
            ZipErrorKind::InvalidModuleVersion,
            format!("version {version:?} is not canonical (should be {canonical:?})"),
        ));
    }
    goxy_mod::module::check(module_path, version).map_err(|e| {
        // The caller adds "path@version: " itself; don't repeat it.
        let prefix = format!("{module_path}@{version}: ");
        let message = e
            .message()
            .strip_prefix(prefix.as_str())
            .unwrap_or(e.message());
        ZipError::new(ZipErrorKind::InvalidModuleVersion, message.to_string())
    })
}

/// Go's `path.Clean` on a slash-separated path, byte for byte.
pub(crate) fn path_clean(path: &str) -> String {
    let p = path.as_bytes();
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.first() == Some(&b'/');
    let n = p.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0usize, 0usize);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    let at = |i: usize| p.get(i).copied();
    while r < n {
        let c = at(r);
        if c == Some(b'/') || (c == Some(b'.') && (r + 1 == n || at(r + 1) == Some(b'/'))) {
            // Empty and "." elements.
            r += 1;
        } else if c == Some(b'.')
            && at(r + 1) == Some(b'.')
            && (r + 2 == n || at(r + 2) == Some(b'/'))
        {
            r += 2;
            if out.len() > dotdot {
                // Go: w--; for w > dotdot && buf[w] != '/' { w-- } (removes through the slash).
                let mut removed = out.pop();
                while out.len() > dotdot && removed != Some(b'/') {
                    removed = out.pop();
                }
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && at(r) != Some(b'/') {
                if let Some(b) = at(r) {
                    out.push(b);
                }
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return ".".to_string();
    }
    // Only whole ASCII elements are removed, so valid UTF-8 stays valid.
    String::from_utf8_lossy(&out).into_owned()
}

/// x/mod `collisionChecker`: detects case-fold collisions, file/directory
/// clashes and duplicate files, recursing to every parent directory.
#[derive(Default)]
pub(crate) struct CollisionChecker {
    seen: HashMap<String, (String, bool)>,
}

impl CollisionChecker {
    /// `p` must already be clean and relative.
    pub(crate) fn check(&mut self, p: &str, is_dir: bool) -> Result<(), String> {
        let mut current = p;
        let mut current_is_dir = is_dir;
        loop {
            let fold = str_to_fold(current);
            match self.seen.get(&fold) {
                Some((other, other_is_dir)) => {
                    if current != other {
                        return Err(format!(
                            "case-insensitive file name collision: {other:?} and {current:?}"
                        ));
                    }
                    if current_is_dir != *other_is_dir {
                        return Err(format!("entry {current:?} is both a file and a directory"));
                    }
                    if !current_is_dir {
                        return Err(format!("multiple entries for file {current:?}"));
                    }
                }
                None => {
                    self.seen
                        .insert(fold, (current.to_string(), current_is_dir));
                }
            }
            match current.rfind('/') {
                Some(i) => {
                    current = current.get(..i).unwrap_or("");
                    current_is_dir = true;
                }
                None => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        // Cases from Go's path.TestClean.
        let cases = [
            ("", "."),
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("a/b/c/", "a/b/c"),
            ("./", "."),
            ("../", ".."),
            ("../../", "../.."),
            ("/abc/", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("//abc", "/abc"),
            ("///abc", "/abc"),
            ("//abc//", "/abc"),
            ("abc//", "abc"),
            ("abc/./def", "abc/def"),
            ("/./abc/def", "/abc/def"),
            ("abc/.", "abc"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
            ("abc/./../def", "def"),
            ("abc//./../def", "def"),
            ("abc/../../././../def", "../../def"),
        ];
        for (input, want) in cases {
            assert_eq!(path_clean(input), want, "Clean({input:?})");
        }
    }

    #[test]
    fn collisions() {
        let mut cc = CollisionChecker::default();
        assert!(cc.check("a/b.go", false).is_ok());
        assert!(cc.check("a/c.go", false).is_ok());
        assert!(cc
            .check("A/d.go", false)
            .unwrap_err()
            .contains("case-insensitive"));
        assert!(cc
            .check("a/b.go", false)
            .unwrap_err()
            .contains("multiple entries"));
        assert!(cc
            .check("a", false)
            .unwrap_err()
            .contains("both a file and a directory"));
        assert!(cc.check("a", true).is_ok());
        let mut cc = CollisionChecker::default();
        assert!(cc.check("k", false).is_ok());
        assert!(cc.check("\u{212A}", false).is_err());
    }
}

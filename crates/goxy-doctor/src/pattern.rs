//! GOPRIVATE-style pattern questions doctor asks.

/// Does the pattern list `patterns` (GONOSUMDB, GONOPROXY syntax) cover
/// every module that the single glob `glob` (from GOPRIVATE) covers? A glob
/// is covered when a pattern matches the glob read as a path: `path.Match`
/// lets `*` match a literal `*`, so `*.corp.example` covers itself.
pub fn covers(patterns: &str, glob: &str) -> bool {
    goxy_mod::pattern::match_prefix_patterns(patterns, glob)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage() {
        assert!(covers("git.corp.example", "git.corp.example/team"));
        assert!(covers("*.corp.example", "*.corp.example"));
        assert!(covers("a.example,*.corp.example", "git.corp.example"));
        assert!(!covers("git.corp.example/team", "git.corp.example"));
        assert!(!covers("", "git.corp.example"));
    }
}

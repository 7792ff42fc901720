//! Private module patterns with the Go command's semantics: `GOPRIVATE` is
//! the default for both `GONOPROXY` and `GONOSUMDB` when those are unset or
//! empty. Patterns are comma-separated path-prefix globs
//! (`goxy_mod::pattern::match_prefix_patterns`), extended to every spelling that
//! reaches the same repository (case variants, `.git` suffixes:
//! `goxy_mod::pattern::match_private_patterns`).

use goxy_mod::pattern::match_private_patterns;

/// The three pattern lists, resolved (flag or `GOXY_*` environment, then
/// the config file, then the Go environment variable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivatePatterns {
    /// `GOPRIVATE`: modules that are neither fetched through public proxies
    /// nor looked up in the checksum database.
    pub private: String,
    /// `GONOPROXY` (empty: `private`).
    pub no_proxy: String,
    /// `GONOSUMDB` (empty: `private`).
    pub no_sumdb: String,
}

impl PrivatePatterns {
    pub fn new(private: &str, no_proxy: &str, no_sumdb: &str) -> PrivatePatterns {
        PrivatePatterns {
            private: private.trim().to_string(),
            no_proxy: no_proxy.trim().to_string(),
            no_sumdb: no_sumdb.trim().to_string(),
        }
    }

    /// Resolves each setting from the first non-empty of `flag` (flag or
    /// `GOXY_*`), `file` (config key) and the Go environment variable.
    pub fn resolve(
        flags: [Option<&str>; 3],
        file: [Option<&str>; 3],
        env: impl Fn(&str) -> Option<String>,
    ) -> PrivatePatterns {
        let names = ["GOPRIVATE", "GONOPROXY", "GONOSUMDB"];
        let mut values: [String; 3] = Default::default();
        for (i, slot) in values.iter_mut().enumerate() {
            let from_flag = flags
                .get(i)
                .copied()
                .flatten()
                .filter(|v| !v.trim().is_empty());
            let from_file = file
                .get(i)
                .copied()
                .flatten()
                .filter(|v| !v.trim().is_empty());
            *slot = match (from_flag, from_file) {
                (Some(v), _) | (None, Some(v)) => v.to_string(),
                (None, None) => names.get(i).and_then(|name| env(name)).unwrap_or_default(),
            };
        }
        let [private, no_proxy, no_sumdb] = values;
        PrivatePatterns::new(&private, &no_proxy, &no_sumdb)
    }

    fn effective<'a>(&'a self, specific: &'a str) -> &'a str {
        if specific.is_empty() {
            &self.private
        } else {
            specific
        }
    }

    /// The `GONOPROXY` patterns in effect.
    pub fn no_proxy_effective(&self) -> &str {
        self.effective(&self.no_proxy)
    }

    /// The `GONOSUMDB` patterns in effect.
    pub fn no_sumdb_effective(&self) -> &str {
        self.effective(&self.no_sumdb)
    }

    /// Is `module` private (`GOPRIVATE`)?
    pub fn is_private(&self, module: &str) -> bool {
        match_private_patterns(&self.private, module)
    }

    /// Must `module` bypass proxies (`GONOPROXY`, defaulting to `GOPRIVATE`)?
    pub fn skip_proxy(&self, module: &str) -> bool {
        match_private_patterns(self.effective(&self.no_proxy), module)
    }

    /// Is `module` exempt from checksum database lookups (`GONOSUMDB`,
    /// defaulting to `GOPRIVATE`)?
    pub fn skip_sumdb(&self, module: &str) -> bool {
        match_private_patterns(self.effective(&self.no_sumdb), module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goprivate_is_the_default_for_the_other_two() {
        let p = PrivatePatterns::new("corp.example,*.internal", "", "");
        for m in ["corp.example/x", "git.internal/team/y"] {
            assert!(p.is_private(m) && p.skip_proxy(m) && p.skip_sumdb(m), "{m}");
        }
        assert!(!p.skip_sumdb("corp.examplex/y"));
        assert!(!p.skip_sumdb("github.com/corp.example"));
    }

    #[test]
    fn specific_settings_replace_goprivate() {
        let p = PrivatePatterns::new("corp.example", "proxy.only", "sum.only/x");
        assert!(p.is_private("corp.example/a"));
        assert!(!p.skip_proxy("corp.example/a"));
        assert!(!p.skip_sumdb("corp.example/a"));
        assert!(p.skip_proxy("proxy.only/b"));
        assert!(p.skip_sumdb("sum.only/x/y"));
        assert!(!p.skip_sumdb("sum.only/z"));
    }

    #[test]
    fn precedence_flag_then_file_then_go_env() {
        let env = |name: &str| match name {
            "GOPRIVATE" => Some("env.example".to_string()),
            "GONOSUMDB" => Some("envsum.example".to_string()),
            _ => None,
        };
        let p = PrivatePatterns::resolve(
            [Some("flag.example"), None, Some("  ")],
            [Some("file.example"), Some("fileproxy.example"), None],
            env,
        );
        assert_eq!(p.private, "flag.example");
        assert_eq!(p.no_proxy, "fileproxy.example");
        assert_eq!(p.no_sumdb, "envsum.example");
        let p = PrivatePatterns::resolve([None; 3], [None; 3], |_| None);
        assert!(!p.skip_sumdb("anything.example/x"));
    }
}

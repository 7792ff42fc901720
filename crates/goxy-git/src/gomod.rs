//! The few go.mod facts direct fetching needs: the declared module path
//! (`modfile.ModulePath`), the `go` language version (for the vendor rule) and
//! `retract` intervals. Pure; private until `goxy_zip` provides them.

use crate::semver;

/// Strips a `//` comment; go.mod has no other comment form.
fn strip_comment(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Go's strconv.Unquote for the two forms go.mod uses; None if malformed.
fn unquote(s: &str) -> Option<String> {
    if let Some(inner) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        return (!inner.contains('`')).then(|| inner.to_string());
    }
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => match chars.next()? {
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                _ => return None,
            },
            c => out.push(c),
        }
    }
    Some(out)
}

/// `modfile.ModulePath`: the path in the first `module` line, "" if none.
pub fn module_path(gomod: &[u8]) -> String {
    let text = String::from_utf8_lossy(gomod);
    for line in text.split('\n') {
        let line = strip_comment(line).trim();
        let Some(rest) = line.strip_prefix("module") else {
            continue;
        };
        let trimmed = rest.trim();
        if trimmed.len() == rest.len() || trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('"') || trimmed.starts_with('`') {
            return unquote(trimmed).unwrap_or_default();
        }
        return trimmed.to_string();
    }
    String::new()
}

/// Splits go.mod into top-level statements: (verb, args) with blocks expanded.
fn statements(gomod: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(gomod);
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    for raw in text.split('\n') {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(verb) = &block {
            if line == ")" {
                block = None;
            } else {
                out.push((verb.clone(), line.to_string()));
            }
            continue;
        }
        let (verb, args) = match line.find(|c: char| c.is_whitespace() || c == '(') {
            Some(i) => (&line[..i], line[i..].trim()),
            None => (line, ""),
        };
        if args == "(" {
            block = Some(verb.to_string());
        } else {
            out.push((verb.to_string(), args.to_string()));
        }
    }
    out
}

/// The `go` directive's language version as `go1.N` (Go's `version.Lang`), "" if absent.
pub fn go_lang_version(gomod: &[u8]) -> String {
    for (verb, args) in statements(gomod) {
        if verb != "go" {
            continue;
        }
        let v = args.trim();
        let mut parts = v.split('.');
        let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
            return if v.bytes().all(|c| c.is_ascii_digit()) && !v.is_empty() {
                format!("go{v}")
            } else {
                String::new()
            };
        };
        let minor: String = minor.chars().take_while(|c| c.is_ascii_digit()).collect();
        if major.is_empty() || minor.is_empty() || !major.bytes().all(|c| c.is_ascii_digit()) {
            return String::new();
        }
        return format!("go{major}.{minor}");
    }
    String::new()
}

/// Compares a `go1.N` language version with `go1.M` (only the forms `go_lang_version` yields).
pub fn lang_at_least(lang: &str, want_major: u64, want_minor: u64) -> bool {
    let Some(rest) = lang.strip_prefix("go") else {
        return false;
    };
    let mut parts = rest.split('.');
    let major = parts.next().and_then(|s| s.parse::<u64>().ok());
    let minor = parts
        .next()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    match major {
        Some(m) => (m, minor) >= (want_major, want_minor),
        None => false,
    }
}

/// A closed interval of retracted versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retraction {
    pub low: String,
    pub high: String,
}

/// The `retract` directives of a go.mod (lax: malformed entries are skipped).
pub fn retractions(gomod: &[u8]) -> Vec<Retraction> {
    let mut out = Vec::new();
    for (verb, args) in statements(gomod) {
        if verb != "retract" {
            continue;
        }
        let args = args.trim();
        if let Some(inner) = args.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let mut it = inner.split(',').map(str::trim);
            if let (Some(low), Some(high), None) = (it.next(), it.next(), it.next()) {
                if semver::is_valid(low) && semver::is_valid(high) {
                    out.push(Retraction {
                        low: low.into(),
                        high: high.into(),
                    });
                }
            }
        } else if semver::is_valid(args) {
            out.push(Retraction {
                low: args.into(),
                high: args.into(),
            });
        }
    }
    out
}

/// Is `v` inside any retracted interval?
pub fn is_retracted(rs: &[Retraction], v: &str) -> bool {
    rs.iter().any(|r| {
        semver::compare(&r.low, v) != std::cmp::Ordering::Greater
            && semver::compare(v, &r.high) != std::cmp::Ordering::Greater
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_path_forms() {
        assert_eq!(module_path(b"module example.com/m\n"), "example.com/m");
        assert_eq!(
            module_path(b"// c\nmodule \"example.com/q\" // x\n"),
            "example.com/q"
        );
        assert_eq!(module_path(b"modulex example.com/m\n"), "");
        assert_eq!(module_path(b"go 1.21\n"), "");
    }

    #[test]
    fn go_versions_and_retractions() {
        let gm = b"module m\n\ngo 1.24.1 // c\n\nretract v1.0.0\nretract (\n\t[v1.1.0, v1.2.0] // why\n\tv0.9.0\n)\n";
        assert_eq!(go_lang_version(gm), "go1.24");
        assert!(lang_at_least("go1.24", 1, 24));
        assert!(!lang_at_least("go1.23", 1, 24));
        assert!(!lang_at_least("", 1, 24));
        let rs = retractions(gm);
        assert_eq!(rs.len(), 3);
        assert!(is_retracted(&rs, "v1.1.5"));
        assert!(is_retracted(&rs, "v0.9.0"));
        assert!(!is_retracted(&rs, "v1.2.1"));
    }
}

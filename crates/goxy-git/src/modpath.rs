//! Module path and version rules of golang.org/x/mod/module that direct
//! fetching needs: path checks, major-version suffixes, pseudo-versions,
//! GOPRIVATE-style prefix patterns and file-name checks. Pure; private to this
//! crate until `goxy_mod` provides them.

use crate::semver;
use std::sync::OnceLock;

const BAD_WINDOWS_NAMES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum PathKind {
    Module,
    File,
}

fn mod_path_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~".contains(c)
}

fn file_name_ok(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c)
    } else {
        // Go uses unicode.IsLetter; `is_alphabetic` is the closest std predicate.
        c.is_alphabetic()
    }
}

fn check_elem(elem: &str, kind: PathKind) -> Result<(), String> {
    if elem.is_empty() {
        return Err("empty path element".into());
    }
    if elem.bytes().all(|c| c == b'.') {
        return Err(format!("invalid path element {elem:?}"));
    }
    if elem.starts_with('.') && kind == PathKind::Module {
        return Err(format!("leading dot in path element {elem:?}"));
    }
    if elem.ends_with('.') {
        return Err(format!("trailing dot in path element {elem:?}"));
    }
    for c in elem.chars() {
        let ok = match kind {
            PathKind::Module => mod_path_ok(c),
            PathKind::File => file_name_ok(c),
        };
        if !ok {
            return Err(format!("invalid char {c:?}"));
        }
    }
    let short = elem.split('.').next().unwrap_or(elem);
    if BAD_WINDOWS_NAMES
        .iter()
        .any(|bad| bad.eq_ignore_ascii_case(short))
    {
        return Err(format!(
            "{short:?} disallowed as path element component on Windows"
        ));
    }
    if kind == PathKind::Module {
        if let Some(i) = short.rfind('~') {
            let suffix = &short[i + 1..];
            if !suffix.is_empty() && suffix.bytes().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "trailing tilde and digits in path element {elem:?}"
                ));
            }
        }
    }
    Ok(())
}

fn check_path_kind(path: &str, kind: PathKind) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty string".into());
    }
    if path.starts_with('-') && kind != PathKind::File {
        return Err("leading dash".into());
    }
    if path.contains("//") {
        return Err("double slash".into());
    }
    if path.ends_with('/') {
        return Err("trailing slash".into());
    }
    path.split('/').try_for_each(|elem| check_elem(elem, kind))
}

/// `module.CheckPath`: is `path` a valid module path?
pub fn check_path(path: &str) -> Result<(), String> {
    check_path_kind(path, PathKind::Module)?;
    let first = path.split('/').next().unwrap_or("");
    if first.is_empty() {
        return Err("leading slash".into());
    }
    if !first.contains('.') {
        return Err("missing dot in first path element".into());
    }
    if let Some(c) = first
        .chars()
        .find(|&c| !(c == '-' || c == '.' || c.is_ascii_digit() || c.is_ascii_lowercase()))
    {
        return Err(format!("invalid char {c:?} in first path element"));
    }
    if split_path_version(path).is_none() {
        return Err("invalid version".into());
    }
    Ok(())
}

/// `module.CheckFilePath`: may a file inside a module zip have this name?
pub fn check_file_path(path: &str) -> Result<(), String> {
    check_path_kind(path, PathKind::File)
}

/// `module.SplitPathVersion`: `example.com/m/v2` → (`example.com/m`, `/v2`).
pub fn split_path_version(path: &str) -> Option<(String, String)> {
    if path.starts_with("gopkg.in/") {
        return split_gopkg_in(path);
    }
    let b = path.as_bytes();
    let mut i = b.len();
    let mut dot = false;
    while i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.') {
        if b[i - 1] == b'.' {
            dot = true;
        }
        i -= 1;
    }
    if i <= 1 || i == b.len() || b[i - 1] != b'v' || b[i - 2] != b'/' {
        return Some((path.to_string(), String::new()));
    }
    let (prefix, major) = path.split_at(i - 2);
    if dot || major.len() <= 2 || major.as_bytes()[2] == b'0' || major == "/v1" {
        return None;
    }
    Some((prefix.to_string(), major.to_string()))
}

fn split_gopkg_in(path: &str) -> Option<(String, String)> {
    let b = path.as_bytes();
    let mut i = b.len();
    if path.ends_with("-unstable") {
        i -= "-unstable".len();
    }
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i <= 1 || b[i - 1] != b'v' || b[i - 2] != b'.' {
        return None;
    }
    let (prefix, major) = path.split_at(i - 2);
    if major.len() <= 2 || (major.as_bytes()[2] == b'0' && major != ".v0") {
        return None;
    }
    Some((prefix.to_string(), major.to_string()))
}

/// `module.CheckPathMajor`: is version `v` allowed for a path with this major suffix?
pub fn match_path_major(v: &str, path_major: &str) -> bool {
    let mut pm = path_major;
    if pm.starts_with(".v") {
        pm = pm.strip_suffix("-unstable").unwrap_or(pm);
    }
    if v.starts_with("v0.0.0-") && pm == ".v1" {
        return true;
    }
    let m = semver::major(v);
    if pm.is_empty() {
        return m == "v0" || m == "v1" || semver::build(v) == "+incompatible";
    }
    pm.get(1..) == Some(m.as_str())
}

/// `module.PathMajorPrefix`: `/v2` → `v2`, `.v1-unstable` → `v1`.
pub fn path_major_prefix(path_major: &str) -> String {
    let mut pm = path_major;
    if pm.starts_with(".v") {
        pm = pm.strip_suffix("-unstable").unwrap_or(pm);
    }
    pm.get(1..).unwrap_or("").to_string()
}

/// `module.CanonicalVersion`: semver canonical form keeping `+incompatible`.
pub fn canonical_version(v: &str) -> String {
    let c = semver::canonical(v);
    if semver::build(v) == "+incompatible" {
        return format!("{c}+incompatible");
    }
    c
}

fn pseudo_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        #[allow(clippy::unwrap_used)]
        regex::Regex::new(
            r"^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$",
        )
        .unwrap()
    })
}

/// `module.IsPseudoVersion`.
pub fn is_pseudo_version(v: &str) -> bool {
    v.matches('-').count() >= 2 && semver::is_valid(v) && pseudo_re().is_match(v)
}

struct PseudoParts {
    base: String,
    timestamp: String,
    rev: String,
    build: String,
}

fn parse_pseudo(v: &str) -> Option<PseudoParts> {
    if !is_pseudo_version(v) {
        return None;
    }
    let build = semver::build(v);
    let v = v.strip_suffix(build.as_str()).unwrap_or(v);
    let j = v.rfind('-')?;
    let (v, rev) = (&v[..j], &v[j + 1..]);
    let i = v.rfind('-')?;
    let (base, timestamp) = match v.rfind('.') {
        Some(j) if j > i => (&v[..j], &v[j + 1..]),
        _ => (&v[..i], &v[i + 1..]),
    };
    Some(PseudoParts {
        base: base.into(),
        timestamp: timestamp.into(),
        rev: rev.into(),
        build,
    })
}

/// `module.PseudoVersionRev`: the revision identifier (12 hex digits for git).
pub fn pseudo_version_rev(v: &str) -> Option<String> {
    parse_pseudo(v).map(|p| p.rev)
}

/// `module.PseudoVersionTime` as the raw `yyyymmddhhmmss` string (validated).
pub fn pseudo_version_timestamp(v: &str) -> Option<String> {
    let p = parse_pseudo(v)?;
    // Reject impossible dates the way time.Parse would.
    unix_from_timestamp(&p.timestamp)?;
    Some(p.timestamp)
}

fn dec_decimal(d: &str) -> Option<String> {
    let mut digits: Vec<u8> = d.bytes().collect();
    let mut i = digits.len();
    while i > 0 && digits[i - 1] == b'0' {
        digits[i - 1] = b'9';
        i -= 1;
    }
    if i == 0 {
        return None;
    }
    if i == 1 && digits[0] == b'1' && digits.len() > 1 {
        digits.remove(0);
    } else {
        digits[i - 1] -= 1;
    }
    String::from_utf8(digits).ok()
}

fn inc_decimal(d: &str) -> String {
    let mut digits: Vec<u8> = d.bytes().collect();
    let mut i = digits.len();
    while i > 0 && digits[i - 1] == b'9' {
        digits[i - 1] = b'0';
        i -= 1;
    }
    if i > 0 {
        digits[i - 1] += 1;
    } else {
        digits.insert(0, b'1');
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// `module.PseudoVersionBase`: the tagged version a pseudo-version builds on ("" for none).
pub fn pseudo_version_base(v: &str) -> Result<String, String> {
    let p = parse_pseudo(v).ok_or_else(|| "syntax error".to_string())?;
    let pre = semver::prerelease(&p.base);
    if pre.is_empty() {
        if !p.build.is_empty() {
            return Err(format!(
                "lacks base version, but has build metadata {:?}",
                p.build
            ));
        }
        return Ok(String::new());
    }
    if pre == "-0" {
        let base = p.base.strip_suffix("-0").unwrap_or(&p.base);
        let i = base
            .rfind('.')
            .ok_or_else(|| "missing patch number".to_string())?;
        let patch = dec_decimal(&base[i + 1..])
            .ok_or_else(|| format!("version before {base} would have negative patch number"))?;
        return Ok(format!("{}{}{}", &base[..i + 1], patch, p.build));
    }
    let base = p
        .base
        .strip_suffix(".0")
        .ok_or_else(|| "missing .0 before date".to_string())?;
    Ok(format!("{base}{}", p.build))
}

/// `module.PseudoVersion(major, older, t, rev)` with `t` already formatted as `yyyymmddhhmmss`.
pub fn pseudo_version(major: &str, older: &str, timestamp: &str, rev: &str) -> String {
    let major = if major.is_empty() { "v0" } else { major };
    let segment = format!("{timestamp}-{rev}");
    let build = semver::build(older);
    let older = semver::canonical(older);
    if older.is_empty() {
        return format!("{major}.0.0-{segment}");
    }
    if !semver::prerelease(&older).is_empty() {
        return format!("{older}.0.{segment}{build}");
    }
    let i = older.rfind('.').map(|i| i + 1).unwrap_or(0);
    format!(
        "{}{}-0.{segment}{build}",
        &older[..i],
        inc_decimal(&older[i..])
    )
}

/// Unix seconds → Go's `20060102150405` (UTC).
pub fn timestamp_from_unix(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(secs);
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
}

/// Unix seconds → RFC 3339 UTC (`2006-01-02T15:04:05Z`), as Go marshals time.Time.
pub fn rfc3339_from_unix(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn civil_from_unix(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `yyyymmddhhmmss` → Unix seconds, None for impossible dates.
pub fn unix_from_timestamp(ts: &str) -> Option<i64> {
    if ts.len() != 14 || !ts.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| ts.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d, h, mi, s) = (
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    );
    if !(1..=12).contains(&mo) || d < 1 || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d > *mdays.get((mo - 1) as usize)? {
        return None;
    }
    let (yy, mm) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + s)
}

/// `module.MatchPrefixPatterns`: does any comma-separated glob match a leading part of `target`?
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    for glob in globs.split(',') {
        let glob = glob.strip_suffix('/').unwrap_or(glob);
        if glob.is_empty() {
            continue;
        }
        let mut n = glob.matches('/').count();
        let mut prefix = target;
        for (i, c) in target.char_indices() {
            if c == '/' {
                if n == 0 {
                    prefix = &target[..i];
                    break;
                }
                n -= 1;
            }
        }
        if n > 0 {
            continue;
        }
        if glob_match(glob.as_bytes(), prefix.as_bytes()) == Some(true) {
            return true;
        }
    }
    false
}

/// Go `path.Match` on bytes (ASCII classes only); None for a malformed pattern.
fn glob_match(pat: &[u8], name: &[u8]) -> Option<bool> {
    match pat.first() {
        None => Some(name.is_empty()),
        Some(b'*') => {
            let rest = &pat[1..];
            for i in 0..=name.len() {
                if glob_match(rest, &name[i..])? {
                    return Some(true);
                }
                if name.get(i) == Some(&b'/') {
                    break;
                }
            }
            Some(false)
        }
        Some(b'?') => match name.first() {
            Some(&c) if c != b'/' => glob_match(&pat[1..], &name[1..]),
            _ => Some(false),
        },
        Some(b'[') => {
            let mut i = 1;
            let negate = pat.get(i) == Some(&b'^');
            if negate {
                i += 1;
            }
            let c = name.first().copied();
            let mut matched = false;
            let mut first = true;
            loop {
                let p = *pat.get(i)?;
                if p == b']' && !first {
                    i += 1;
                    break;
                }
                first = false;
                let mut lo = p;
                if lo == b'\\' {
                    i += 1;
                    lo = *pat.get(i)?;
                }
                i += 1;
                let mut hi = lo;
                if pat.get(i) == Some(&b'-') && pat.get(i + 1) != Some(&b']') {
                    i += 1;
                    hi = *pat.get(i)?;
                    if hi == b'\\' {
                        i += 1;
                        hi = *pat.get(i)?;
                    }
                    i += 1;
                }
                if let Some(c) = c {
                    if lo <= c && c <= hi {
                        matched = true;
                    }
                }
            }
            match c {
                Some(c) if c != b'/' && matched != negate => glob_match(&pat[i..], &name[1..]),
                _ => Some(false),
            }
        }
        Some(b'\\') => {
            let lit = *pat.get(1)?;
            if name.first() == Some(&lit) {
                glob_match(&pat[2..], &name[1..])
            } else {
                Some(false)
            }
        }
        Some(&p) => {
            if name.first() == Some(&p) {
                glob_match(&pat[1..], &name[1..])
            } else {
                Some(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths() {
        for ok in [
            "example.com/m",
            "127.0.0.5/repo",
            "example.com/m/v2",
            "gopkg.in/yaml.v2",
            "example.com/A_b~c",
        ] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x/z",
            "x./z",
            ".x/z",
            "x.y//z",
            "x.y/z/",
            "X.y/z",
            "x/z",
            "x.y/z/v0",
            "x.y/z/v1",
            "x.y/z/v2.0",
            "x.y/aux.foo",
            "x.y/com1.txt",
            "x.y/z~09",
            "x.y/z?",
            "x.y/z:",
            "gopkg.in/yaml",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert_eq!(
            split_path_version("example.com/m/v2"),
            Some(("example.com/m".into(), "/v2".into()))
        );
        assert_eq!(
            split_path_version("gopkg.in/yaml.v2"),
            Some(("gopkg.in/yaml".into(), ".v2".into()))
        );
    }

    #[test]
    fn file_paths() {
        for ok in [".github/x.yml", "a b/c.go", "go.mod/a.go", "-x.go"] {
            assert!(check_file_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "bad.go'", "aux.go", "x.", "a//b", "con/x.go", "a/../b", "*.go",
        ] {
            assert!(check_file_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn majors() {
        assert!(match_path_major("v1.2.3", ""));
        assert!(!match_path_major("v2.0.0", ""));
        assert!(match_path_major("v2.0.0+incompatible", ""));
        assert!(match_path_major("v2.0.0", "/v2"));
        assert!(!match_path_major("v3.0.0", "/v2"));
        assert!(match_path_major(
            "v0.0.0-20200101000000-abcdefabcdef",
            ".v1"
        ));
    }

    #[test]
    fn pseudo_versions() {
        let ts = "20191109021931";
        assert_eq!(
            pseudo_version("", "", ts, "daa7c04131f5"),
            "v0.0.0-20191109021931-daa7c04131f5"
        );
        assert_eq!(
            pseudo_version("v1", "v1.2.3", ts, "abc"),
            "v1.2.4-0.20191109021931-abc"
        );
        assert_eq!(
            pseudo_version("v1", "v1.2.3-pre", ts, "abc"),
            "v1.2.3-pre.0.20191109021931-abc"
        );
        assert_eq!(
            pseudo_version("v1", "v1.9.9", ts, "abc"),
            "v1.9.10-0.20191109021931-abc"
        );
        assert_eq!(
            pseudo_version("v2", "v2.0.0+incompatible", ts, "abc"),
            "v2.0.1-0.20191109021931-abc+incompatible"
        );
        for (v, base) in [
            ("v0.0.0-20191109021931-daa7c04131f5", ""),
            ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3"),
            ("v1.2.10-0.20191109021931-daa7c04131f5", "v1.2.9"),
            ("v1.2.3-pre.0.20191109021931-daa7c04131f5", "v1.2.3-pre"),
            (
                "v2.0.1-0.20191109021931-daa7c04131f5+incompatible",
                "v2.0.0+incompatible",
            ),
        ] {
            assert!(is_pseudo_version(v), "{v}");
            assert_eq!(pseudo_version_base(v).as_deref(), Ok(base), "{v}");
            assert_eq!(pseudo_version_rev(v).as_deref(), Some("daa7c04131f5"));
        }
        assert!(pseudo_version_base("v1.0.0-0.20191109021931-daa7c04131f5").is_err());
        assert!(!is_pseudo_version("v1.2.3"));
        assert!(!is_pseudo_version("v1.2.3-pre"));
    }

    #[test]
    fn time_round_trip() {
        for secs in [0i64, 951782400, 1574366371, 4102444799] {
            let ts = timestamp_from_unix(secs);
            assert_eq!(unix_from_timestamp(&ts), Some(secs), "{ts}");
        }
        assert_eq!(timestamp_from_unix(1574366371), "20191121195931");
        assert_eq!(rfc3339_from_unix(1574366371), "2019-11-21T19:59:31Z");
        assert_eq!(unix_from_timestamp("20190230000000"), None);
    }

    #[test]
    fn prefix_patterns() {
        assert!(match_prefix_patterns(
            "*.corp.example.com",
            "git.corp.example.com/xyzzy"
        ));
        assert!(!match_prefix_patterns(
            "*.corp.example.com",
            "corp.example.com"
        ));
        assert!(match_prefix_patterns(
            "rsc.io/private",
            "rsc.io/private/quux"
        ));
        assert!(!match_prefix_patterns("rsc.io/private", "rsc.io/privateer"));
        assert!(match_prefix_patterns(
            "x.y,github.com/org/*",
            "github.com/org/repo/sub/pkg"
        ));
        assert!(match_prefix_patterns("127.0.0.5", "127.0.0.5/repo"));
        assert!(!match_prefix_patterns("[", "x"));
        assert!(match_prefix_patterns("127.0.0.[0-9]", "127.0.0.7/r"));
    }
}

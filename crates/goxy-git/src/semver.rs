//! Go's flavour of semantic versions (golang.org/x/mod/semver), the subset
//! direct fetching needs. Private to this crate until `goxy_mod::semver` lands.

use std::cmp::Ordering;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Parsed {
    major: String,
    minor: String,
    patch: String,
    /// Text appended to complete a shorthand (`v1` → `.0.0`).
    short: String,
    prerelease: String,
    build: String,
}

fn parse_int(v: &str) -> Option<(String, &str)> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (num, rest) = v.split_at(digits);
    if num.len() > 1 && num.starts_with('0') {
        return None;
    }
    Some((num.to_string(), rest))
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Parses `-a.b.c` (prerelease) or `+a.b` (build); returns the part and the rest.
fn parse_dotted(v: &str, numeric_rule: bool) -> Option<(String, &str)> {
    let bytes = v.as_bytes();
    let mut i = 1;
    let mut start = 1;
    // A prerelease stops at `+`; build metadata runs to the end.
    while i < bytes.len() && !(numeric_rule && bytes[i] == b'+') {
        let c = bytes[i];
        if !is_ident_char(c) && c != b'.' {
            return None;
        }
        if c == b'.' {
            if start == i || (numeric_rule && bad_num(&v[start..i])) {
                return None;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start == i || (numeric_rule && bad_num(&v[start..i])) {
        return None;
    }
    Some((v[..i].to_string(), &v[i..]))
}

fn bad_num(ident: &str) -> bool {
    ident.len() > 1 && ident.starts_with('0') && ident.bytes().all(|c| c.is_ascii_digit())
}

fn parse(v: &str) -> Option<Parsed> {
    let rest = v.strip_prefix('v')?;
    let mut p = Parsed::default();
    let (major, rest) = parse_int(rest)?;
    p.major = major;
    if rest.is_empty() {
        p.minor = "0".into();
        p.patch = "0".into();
        p.short = ".0.0".into();
        return Some(p);
    }
    let rest = rest.strip_prefix('.')?;
    let (minor, rest) = parse_int(rest)?;
    p.minor = minor;
    if rest.is_empty() {
        p.patch = "0".into();
        p.short = ".0".into();
        return Some(p);
    }
    let rest = rest.strip_prefix('.')?;
    let (patch, mut rest) = parse_int(rest)?;
    p.patch = patch;
    if rest.starts_with('-') {
        let (pre, r) = parse_dotted(rest, true)?;
        p.prerelease = pre;
        rest = r;
    }
    if rest.starts_with('+') {
        let (build, r) = parse_dotted(rest, false)?;
        p.build = build;
        rest = r;
    }
    if !rest.is_empty() {
        return None;
    }
    Some(p)
}

/// `semver.IsValid`.
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// `semver.Canonical`: `v1.2` → `v1.2.0`, build metadata dropped, "" if invalid.
pub fn canonical(v: &str) -> String {
    let Some(p) = parse(v) else {
        return String::new();
    };
    if !p.build.is_empty() {
        return v[..v.len() - p.build.len()].to_string();
    }
    if !p.short.is_empty() {
        return format!("{v}{}", p.short);
    }
    v.to_string()
}

/// `semver.Major`: `v2.1.0` → `v2`, "" if invalid.
pub fn major(v: &str) -> String {
    match parse(v) {
        Some(p) => format!("v{}", p.major),
        None => String::new(),
    }
}

/// `semver.Prerelease`: `v1.2.3-pre+b` → `-pre`.
pub fn prerelease(v: &str) -> String {
    parse(v).map(|p| p.prerelease).unwrap_or_default()
}

/// `semver.Build`: `v1.2.3+meta` → `+meta`.
pub fn build(v: &str) -> String {
    parse(v).map(|p| p.build).unwrap_or_default()
}

fn cmp_int(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn cmp_prerelease(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    if x.is_empty() {
        return Ordering::Greater;
    }
    if y.is_empty() {
        return Ordering::Less;
    }
    let xs: Vec<&str> = x[1..].split('.').collect();
    let ys: Vec<&str> = y[1..].split('.').collect();
    for (a, b) in xs.iter().zip(ys.iter()) {
        if a == b {
            continue;
        }
        let an = a.bytes().all(|c| c.is_ascii_digit());
        let bn = b.bytes().all(|c| c.is_ascii_digit());
        let ord = match (an, bn) {
            (true, true) => cmp_int(a, b),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => a.cmp(b),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    xs.len().cmp(&ys.len())
}

/// `semver.Compare`: invalid versions sort below valid ones and equal each other.
pub fn compare(v: &str, w: &str) -> Ordering {
    match (parse(v), parse(w)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => cmp_int(&a.major, &b.major)
            .then_with(|| cmp_int(&a.minor, &b.minor))
            .then_with(|| cmp_int(&a.patch, &b.patch))
            .then_with(|| cmp_prerelease(&a.prerelease, &b.prerelease)),
    }
}

/// `semver.Sort`: ascending, ties broken by string order.
pub fn sort(list: &mut [String]) {
    list.sort_by(|a, b| compare(a, b).then_with(|| a.cmp(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_and_canonical() {
        for (v, canon) in [
            ("v1", "v1.0.0"),
            ("v1.2", "v1.2.0"),
            ("v1.2.3", "v1.2.3"),
            ("v1.2.3-pre.1", "v1.2.3-pre.1"),
            ("v1.2.3+meta", "v1.2.3"),
            ("v2.0.0+incompatible", "v2.0.0"),
            (
                "v1.2.3-0.20200101000000-abcdefabcdef",
                "v1.2.3-0.20200101000000-abcdefabcdef",
            ),
        ] {
            assert!(is_valid(v), "{v}");
            assert_eq!(canonical(v), canon, "{v}");
        }
        for v in [
            "",
            "1.2.3",
            "v01.2.3",
            "v1.02.3",
            "v1.2.3.4",
            "v1.2.3-",
            "v1.2.3-01",
            "v1.2.3+",
            "v1.2-pre",
            "v1.2.3-a..b",
            "vx",
        ] {
            assert!(!is_valid(v), "{v}");
            assert_eq!(canonical(v), "");
        }
    }

    #[test]
    fn ordering() {
        let ordered = [
            "v0.0.0-20200101000000-abcdefabcdef",
            "v1.0.0-alpha",
            "v1.0.0-alpha.1",
            "v1.0.0-alpha.beta",
            "v1.0.0-beta.2",
            "v1.0.0-beta.11",
            "v1.0.0-rc.1",
            "v1.0.0",
            "v1.2.4-0.2019",
            "v1.2.4-rc1",
            "v1.2.4",
            "v1.10.0",
            "v10.0.0",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(
                compare(pair[0], pair[1]),
                Ordering::Less,
                "{} < {}",
                pair[0],
                pair[1]
            );
            assert_eq!(compare(pair[1], pair[0]), Ordering::Greater);
        }
        assert_eq!(compare("v1.2.3+a", "v1.2.3+b"), Ordering::Equal);
        assert_eq!(compare("bad", "v0.0.1"), Ordering::Less);
        assert_eq!(major("v2.3.4"), "v2");
        assert_eq!(prerelease("v1.0.0-rc.1+b"), "-rc.1");
        assert_eq!(build("v1.0.0-rc.1+b.c"), "+b.c");
    }
}

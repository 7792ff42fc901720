//! Go's flavour of semantic versions, exactly as `golang.org/x/mod/semver`.
//!
//! Differences from SemVer 2.0 as used by Cargo: versions carry a leading `v`,
//! and the shorthands `vMAJOR` and `vMAJOR.MINOR` are valid (they stand for
//! `vMAJOR.0.0` and `vMAJOR.MINOR.0`). Prereleases and build metadata follow
//! SemVer 2.0. Invalid versions compare below all valid ones and equal to
//! each other.

use std::cmp::Ordering;

/// The pieces of a parsed version, borrowed from the input.
pub(crate) struct Parsed<'a> {
    pub(crate) major: &'a str,
    pub(crate) minor: &'a str,
    pub(crate) patch: &'a str,
    /// What `canonical` appends for the shorthand forms (`.0.0`, `.0` or empty).
    pub(crate) short: &'static str,
    /// Includes the leading `-`, or empty.
    pub(crate) prerelease: &'a str,
    /// Includes the leading `+`, or empty.
    pub(crate) build: &'a str,
}

/// The parsed pieces of `v`, for other modules of this crate; `None` when invalid.
pub(crate) fn parts(v: &str) -> Option<Parsed<'_>> {
    parse(v)
}

/// Reports whether `v` is a valid Go semantic version (`v1`, `v1.2`, `v1.2.3-pre+build`).
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// The canonical form of `v`: the shorthands padded with `.0`, build metadata
/// (including `+incompatible`) removed; `""` when `v` is invalid.
///
/// This is `semver.Canonical` exactly. For module versions where
/// `+incompatible` must be kept, use [`crate::module::canonical_version`].
pub fn canonical(v: &str) -> String {
    let Some(p) = parse(v) else {
        return String::new();
    };
    if !p.build.is_empty() {
        return v[..v.len() - p.build.len()].to_string();
    }
    let mut out = String::with_capacity(v.len() + p.short.len());
    out.push_str(v);
    out.push_str(p.short);
    out
}

/// The length [`canonical`] would return, without allocating; `None` when invalid.
pub(crate) fn canonical_len(v: &str) -> Option<usize> {
    let p = parse(v)?;
    Some(v.len() - p.build.len() + p.short.len())
}

/// The major version prefix of `v` (`"v2"` for `v2.1.0`); `""` when invalid.
pub fn major(v: &str) -> &str {
    match parse(v) {
        Some(p) => &v[..1 + p.major.len()],
        None => "",
    }
}

/// The `vMAJOR.MINOR` prefix of `v` (`"v2.1"` for `v2.1.0`, `"v2.0"` for `v2`); `""` when invalid.
pub fn major_minor(v: &str) -> String {
    let Some(p) = parse(v) else {
        return String::new();
    };
    let i = 1 + p.major.len();
    let j = i + 1 + p.minor.len();
    if j <= v.len() && v.as_bytes().get(i) == Some(&b'.') && v.get(i + 1..j) == Some(p.minor) {
        return v[..j].to_string();
    }
    format!("{}.{}", &v[..i], p.minor)
}

/// The prerelease suffix of `v` including the leading `-` (`"-rc.1"`); `""` when none or invalid.
pub fn prerelease(v: &str) -> &str {
    parse(v).map_or("", |p| p.prerelease)
}

/// The build suffix of `v` including the leading `+` (`"+incompatible"`); `""` when none or invalid.
pub fn build(v: &str) -> &str {
    parse(v).map_or("", |p| p.build)
}

/// Compares two versions by semver precedence. Build metadata is ignored; an
/// invalid version is less than any valid one, and two invalid versions are equal.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(pa), Some(pb)) => compare_int(pa.major, pb.major)
            .then_with(|| compare_int(pa.minor, pb.minor))
            .then_with(|| compare_int(pa.patch, pb.patch))
            .then_with(|| compare_prerelease(pa.prerelease, pb.prerelease)),
    }
}

/// The greater of `a` and `b` by [`compare`]; on a tie `b`. Returns `""` when
/// the chosen version is invalid (both are invalid).
///
/// `semver.Max` returns the *canonical* form of the winner; this returns the
/// input itself so no allocation is needed. Apply [`canonical`] to get Go's result.
pub fn max<'a>(a: &'a str, b: &'a str) -> &'a str {
    if compare(a, b) == Ordering::Greater {
        a
    } else if is_valid(b) {
        b
    } else {
        ""
    }
}

/// Sorts by [`compare`], breaking ties (equal precedence, e.g. differing
/// build metadata or invalid versions) by plain string order, like `semver.Sort`.
pub fn sort(list: &mut [String]) {
    list.sort_by(|a, b| compare(a, b).then_with(|| a.cmp(b)));
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let rest = v.strip_prefix('v')?;
    let (major, rest) = parse_int(rest)?;
    if rest.is_empty() {
        return Some(Parsed {
            major,
            minor: "0",
            patch: "0",
            short: ".0.0",
            prerelease: "",
            build: "",
        });
    }
    let rest = rest.strip_prefix('.')?;
    let (minor, rest) = parse_int(rest)?;
    if rest.is_empty() {
        return Some(Parsed {
            major,
            minor,
            patch: "0",
            short: ".0",
            prerelease: "",
            build: "",
        });
    }
    let rest = rest.strip_prefix('.')?;
    let (patch, mut rest) = parse_int(rest)?;
    let mut prerelease = "";
    if rest.starts_with('-') {
        (prerelease, rest) = parse_prerelease(rest)?;
    }
    let mut build = "";
    if rest.starts_with('+') {
        (build, rest) = parse_build(rest)?;
    }
    if !rest.is_empty() {
        return None;
    }
    Some(Parsed {
        major,
        minor,
        patch,
        short: "",
        prerelease,
        build,
    })
}

/// A decimal number without leading zeros, and the rest of the input.
fn parse_int(v: &str) -> Option<(&str, &str)> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits > 1 && v.starts_with('0')) {
        return None;
    }
    Some(v.split_at(digits))
}

/// `-ident(.ident)*` up to a `+` or the end; numeric identifiers have no leading zeros.
fn parse_prerelease(v: &str) -> Option<(&str, &str)> {
    let bytes = v.as_bytes();
    if bytes.first() != Some(&b'-') {
        return None;
    }
    let mut i = 1;
    let mut start = 1;
    while i < bytes.len() && bytes[i] != b'+' {
        let c = bytes[i];
        if !is_ident_char(c) && c != b'.' {
            return None;
        }
        if c == b'.' {
            if start == i || is_bad_num(&v[start..i]) {
                return None;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start == i || is_bad_num(&v[start..i]) {
        return None;
    }
    Some(v.split_at(i))
}

/// `+ident(.ident)*` to the end of the input.
fn parse_build(v: &str) -> Option<(&str, &str)> {
    let bytes = v.as_bytes();
    if bytes.first() != Some(&b'+') {
        return None;
    }
    let mut start = 1;
    for (i, &c) in bytes.iter().enumerate().skip(1) {
        if !is_ident_char(c) && c != b'.' {
            return None;
        }
        if c == b'.' {
            if start == i {
                return None;
            }
            start = i + 1;
        }
    }
    if start == bytes.len() {
        return None;
    }
    Some((v, ""))
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// A numeric identifier with a leading zero (`01`), which SemVer forbids.
fn is_bad_num(v: &str) -> bool {
    v.len() > 1 && is_num(v) && v.starts_with('0')
}

fn is_num(v: &str) -> bool {
    v.bytes().all(|c| c.is_ascii_digit())
}

/// Compares decimal strings without leading zeros: longer is larger.
fn compare_int(x: &str, y: &str) -> Ordering {
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// SemVer 2.0 prerelease precedence; `x` and `y` include their leading `-` (or are empty).
fn compare_prerelease(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    // A release sorts after any prerelease of the same version.
    if x.is_empty() {
        return Ordering::Greater;
    }
    if y.is_empty() {
        return Ordering::Less;
    }
    // Skip the leading '-', then walk dot-separated identifiers pairwise.
    let mut xs = x.get(1..).unwrap_or("").split('.');
    let mut ys = y.get(1..).unwrap_or("").split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(dx), Some(dy)) => {
                if dx == dy {
                    continue;
                }
                let (nx, ny) = (is_num(dx), is_num(dy));
                if nx != ny {
                    // Numeric identifiers sort before alphanumeric ones.
                    return if nx {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    };
                }
                if nx {
                    return compare_int(dx, dy);
                }
                return dx.cmp(dy);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmod_tables::SEMVER_TESTS;

    #[test]
    fn canonical_and_validity_match_x_mod_table() {
        for &(input, want) in SEMVER_TESTS {
            assert_eq!(canonical(input), want, "canonical({input:?})");
            assert_eq!(is_valid(input), !want.is_empty(), "is_valid({input:?})");
        }
    }

    #[test]
    fn major_minor_prerelease_build_match_x_mod_table() {
        for &(input, canon) in SEMVER_TESTS {
            let want_major = if canon.is_empty() {
                ""
            } else {
                &canon[..canon.find('.').unwrap_or(canon.len())]
            };
            assert_eq!(major(input), want_major, "major({input:?})");
            let want_mm = if canon.is_empty() {
                String::new()
            } else {
                let first = canon.find('.').unwrap_or(0);
                let second = canon[first + 1..]
                    .find('.')
                    .map_or(canon.len(), |j| first + 1 + j);
                canon[..second].to_string()
            };
            assert_eq!(major_minor(input), want_mm, "major_minor({input:?})");
            let want_pre = if canon.is_empty() {
                ""
            } else {
                canon.find('-').map_or("", |i| &canon[i..])
            };
            assert_eq!(prerelease(input), want_pre, "prerelease({input:?})");
            let want_build = if canon.is_empty() {
                ""
            } else {
                input.find('+').map_or("", |i| &input[i..])
            };
            assert_eq!(build(input), want_build, "build({input:?})");
        }
    }

    #[test]
    fn compare_orders_x_mod_table() {
        for (i, &(a, _)) in SEMVER_TESTS.iter().enumerate() {
            for (j, &(b, _)) in SEMVER_TESTS.iter().enumerate() {
                let got = compare(a, b);
                // Equal canonical forms (incl. invalid "") compare equal; else by table order.
                let want = if canonical(a) == canonical(b) {
                    Ordering::Equal
                } else {
                    i.cmp(&j)
                };
                assert_eq!(got, want, "compare({a:?}, {b:?})");
            }
        }
    }

    #[test]
    fn max_picks_greater_and_sort_breaks_ties_by_string() {
        assert_eq!(max("v1.2.3", "v1.10.0"), "v1.10.0");
        assert_eq!(max("v1.10.0", "v1.2.3"), "v1.10.0");
        assert_eq!(max("bad", "v1.0.0"), "v1.0.0");
        assert_eq!(max("v1.0.0", "bad"), "v1.0.0");
        assert_eq!(max("bad", "worse"), "");
        let mut list: Vec<String> = ["v1.0.0+b", "bad", "v1.0.0+a", "v0.9.0", "abc", "v1.0.0-rc1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        sort(&mut list);
        assert_eq!(
            list,
            ["abc", "bad", "v0.9.0", "v1.0.0-rc1", "v1.0.0+a", "v1.0.0+b"]
        );
    }

    #[test]
    fn major_minor_of_shorthand_and_numeric_prerelease_ordering() {
        assert_eq!(major_minor("v2"), "v2.0");
        assert_eq!(major_minor("v2.1"), "v2.1");
        assert_eq!(major("v2.1.0+incompatible"), "v2");
        // Pseudo-version ordering (protocol.md §4.5): v1.2.4-0.2019… < v1.2.4-rc1 < v1.2.4.
        assert_eq!(
            compare("v1.2.4-0.20190101000000-abcdefabcdef", "v1.2.4-rc1"),
            Ordering::Less
        );
        assert_eq!(compare("v1.2.4-rc1", "v1.2.4"), Ordering::Less);
        assert_eq!(
            compare("v1.2.3", "v1.2.4-0.20190101000000-abcdefabcdef"),
            Ordering::Less
        );
    }
}

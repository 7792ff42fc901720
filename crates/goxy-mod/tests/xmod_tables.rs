//! x/mod's own test tables with their expected answers, checked without Go
//! (the differential test compares the same rows against x/mod itself), plus
//! the bad inputs of security.md §4.

mod common;

use std::cmp::Ordering;

use common::*;
use goxy_mod::{module, pattern, pseudo, semver};

#[test]
fn check_table() {
    for &(path, version, ok) in CHECK_TESTS {
        assert_eq!(
            module::check(path, version).is_ok(),
            ok,
            "check({path:?}, {version:?})"
        );
    }
}

#[test]
fn check_path_tables() {
    for &(path, ok, import_ok, file_ok) in CHECK_PATH_TESTS {
        assert_eq!(module::check_path(path).is_ok(), ok, "check_path({path:?})");
        assert_eq!(
            module::check_import_path(path).is_ok(),
            import_ok,
            "check_import_path({path:?})"
        );
        assert_eq!(
            module::check_file_path(path).is_ok(),
            file_ok,
            "check_file_path({path:?})"
        );
        // TestSplitPathVersion: the pieces always add up to the input.
        let (prefix, major) = module::split_path_version(path).unwrap_or((path, ""));
        assert_eq!(format!("{prefix}{major}"), path);
        // TestEscapePath / TestUnescapePath: invalid paths neither escape nor unescape.
        if !ok {
            assert!(module::escape_path(path).is_err(), "escape_path({path:?})");
            assert!(
                module::unescape_path(path).is_err(),
                "unescape_path({path:?})"
            );
        }
    }
}

#[test]
fn split_path_version_table() {
    for &(prefix, major) in SPLIT_PATH_VERSION_TESTS {
        let path = format!("{prefix}{major}");
        assert_eq!(
            module::split_path_version(&path),
            Some((prefix, major)),
            "{path:?}"
        );
    }
}

#[test]
fn escape_tables() {
    for &(path, escaped) in ESCAPE_TESTS {
        assert_eq!(module::escape_path(path).as_deref(), Ok(escaped));
        assert_eq!(module::unescape_path(escaped).as_deref(), Ok(path));
    }
    for &bad in BAD_UNESCAPE {
        assert!(
            module::unescape_path(bad).is_err(),
            "unescape_path({bad:?})"
        );
    }
}

#[test]
fn match_path_major_table() {
    for &(v, pm, want) in MATCH_PATH_MAJOR_TESTS {
        assert_eq!(module::match_path_major(v, pm), want, "({v:?}, {pm:?})");
    }
}

#[test]
fn match_prefix_patterns_table() {
    for &(globs, target, want) in MATCH_PREFIX_PATTERNS_TESTS {
        assert_eq!(
            pattern::match_prefix_patterns(globs, target),
            want,
            "({globs:?}, {target:?})"
        );
    }
}

#[test]
fn semver_table_is_sorted_and_canonical() {
    for (i, &(a, canon)) in SEMVER_TESTS.iter().enumerate() {
        assert_eq!(semver::canonical(a), canon);
        for (j, &(b, canon_b)) in SEMVER_TESTS.iter().enumerate() {
            let want = if canon == canon_b {
                Ordering::Equal
            } else {
                i.cmp(&j)
            };
            assert_eq!(semver::compare(a, b), want, "compare({a:?}, {b:?})");
        }
    }
    // TestSort: sorting the reversed table restores table order (ties by string).
    let mut list: Vec<String> = SEMVER_TESTS
        .iter()
        .rev()
        .map(|&(v, _)| v.to_string())
        .collect();
    semver::sort(&mut list);
    for w in list.windows(2) {
        let ord = semver::compare(&w[0], &w[1]).then_with(|| w[0].cmp(&w[1]));
        assert_eq!(ord, Ordering::Less, "{:?} before {:?}", w[0], w[1]);
    }
}

#[test]
fn pseudo_tables() {
    let time = pseudo::format_pseudo_time(PSEUDO_TIME_UNIX);
    assert_eq!(time, "20060102150405");
    for &(major, older, version) in PSEUDO_TESTS {
        assert_eq!(pseudo::pseudo_version(major, older, &time, "hash"), version);
        assert!(pseudo::is_pseudo_version(version));
        assert_eq!(
            pseudo::pseudo_version_time(version).as_deref(),
            Ok("20060102150405")
        );
        assert_eq!(pseudo::pseudo_version_rev(version).as_deref(), Ok("hash"));
        assert_eq!(
            pseudo::pseudo_version_base(version).as_deref(),
            Ok(older),
            "base of {version:?}"
        );
        if !older.is_empty() {
            assert!(pseudo::pseudo_version_time(older).is_err());
            assert!(pseudo::pseudo_version_rev(older).is_err());
        }
    }
    for &v in INVALID_PSEUDO {
        assert!(
            pseudo::pseudo_version_base(v).is_err(),
            "pseudo_version_base({v:?})"
        );
    }
}

#[test]
fn security_bad_inputs_are_rejected() {
    for &path in SECURITY_BAD_PATHS {
        assert!(module::check_path(path).is_err(), "check_path({path:?})");
        assert!(
            module::unescape_path(path).is_err(),
            "unescape_path({path:?})"
        );
    }
    for &escaped in SECURITY_BAD_ESCAPES {
        assert!(
            module::unescape_path(escaped).is_err(),
            "unescape_path({escaped:?})"
        );
    }
    for &v in SECURITY_BAD_VERSIONS {
        assert!(
            !module::is_canonical_version(v),
            "is_canonical_version({v:?})"
        );
    }
    // `!` never survives in a version, and upper case never appears escaped.
    assert!(module::unescape_version("v1.0.0!").is_err());
    assert!(module::unescape_version("v1.0.0-RC1").is_err());
    // v2.0.0 on a path without /v2 needs +incompatible.
    assert!(module::check("example.com/m", "v2.0.0").is_err());
    assert!(module::check("example.com/m", "v2.0.0+incompatible").is_ok());
    assert!(module::check("example.com/m/v2", "v2.0.0").is_ok());
    // Error messages quote the input instead of echoing control characters raw.
    let e = module::check_path("x.y/z\r\nX-Injected: 1")
        .unwrap_err()
        .to_string();
    assert!(!e.contains('\r') && !e.contains('\n'), "{e:?}");
}

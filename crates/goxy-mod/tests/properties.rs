//! Properties that must hold for every input: no function panics, escaping
//! round-trips, pseudo-versions decompose into what built them, ordering is
//! consistent. Deterministic: fixed proptest seed and a fixed-seed byte fuzzer.

mod common;

use std::cmp::Ordering;

use common::Rng;
use goxy_mod::{module, pattern, pseudo, semver};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// Calls every public function on `a` (and pairs with `b`); the assertions are
/// cheap invariants, the main point is that nothing panics.
fn exercise(a: &str, b: &str) {
    let path_ok = module::check_path(a).is_ok();
    if path_ok {
        assert!(
            module::check_import_path(a).is_ok(),
            "module path {a:?} must be an import path"
        );
    }
    if module::check_import_path(a).is_ok() {
        assert!(
            module::check_file_path(a).is_ok(),
            "import path {a:?} must be a file path"
        );
    }
    let _ = module::check(a, b);
    let _ = module::check(b, a);
    let split = module::split_path_version(a);
    if let Some((prefix, major)) = split {
        assert_eq!(format!("{prefix}{major}"), a);
        let _ = module::path_major_prefix(major);
    }
    let _ = module::path_major_prefix(a);
    let _ = module::check_path_major(a, b);
    assert_eq!(
        module::match_path_major(a, b),
        module::check_path_major(a, b).is_ok()
    );
    assert_eq!(module::escape_path(a).is_ok(), path_ok);
    let _ = module::unescape_path(a);
    let _ = module::escape_version(a);
    let _ = module::unescape_version(a);
    let canonical = module::is_canonical_version(a);
    if canonical {
        assert!(semver::is_valid(a));
    }
    let _ = module::canonical_version(a);

    let valid = semver::is_valid(a);
    let c = semver::canonical(a);
    assert_eq!(c.is_empty(), !valid);
    if valid {
        assert!(semver::is_valid(&c), "canonical({a:?}) = {c:?} is invalid");
        assert_eq!(semver::compare(a, &c), Ordering::Equal);
    }
    let _ = (
        semver::major(a),
        semver::major_minor(a),
        semver::prerelease(a),
        semver::build(a),
    );
    let ab = semver::compare(a, b);
    assert_eq!(semver::compare(b, a), ab.reverse());
    let m = semver::max(a, b);
    assert!(m.is_empty() || m == a || m == b);
    let mut list = vec![a.to_string(), b.to_string(), c];
    semver::sort(&mut list);
    assert!(list
        .windows(2)
        .all(|w| semver::compare(&w[0], &w[1]) != Ordering::Greater));

    let is_pseudo = pseudo::is_pseudo_version(a);
    assert_eq!(pseudo::pseudo_version_rev(a).is_ok(), is_pseudo);
    let _ = pseudo::pseudo_version_base(a);
    let _ = pseudo::pseudo_version_time(a);
    let _ = pseudo::is_zero_pseudo_version(a);
    let _ = pseudo::pseudo_version(a, b, "20060102150405", "abcdef123456");
    let _ = pseudo::parse_pseudo_time(a);

    let _ = pattern::match_prefix_patterns(a, b);
    let _ = pattern::match_prefix_patterns(b, a);
}

/// Fixed seed so every run (and CI) checks the same cases; no regression files.
fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x0060_7859),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Strings over the characters the rules care about.
const INTERESTING: &str = "[a-zA-Z0-9./_~!+@%*?\\[\\]\\\\^,:<> \t\n-]{0,40}";

/// Module-path-like strings: lower-case host with a dot, then mixed-case elements.
const PATH_LIKE: &str = "[a-z0-9-]{1,8}\\.[a-z]{1,4}(/[a-zA-Z0-9._~-]{1,10}){0,4}(/v[0-9]{1,2})?";

/// Version-like strings.
const VERSION_LIKE: &str =
    "v[0-9]{1,3}(\\.[0-9]{1,3}){0,2}(-[0-9A-Za-z.-]{1,12})?(\\+[0-9A-Za-z.-]{1,12})?";

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn no_panic_on_arbitrary_strings(a in any::<String>(), b in any::<String>()) {
        exercise(&a, &b);
    }

    #[test]
    fn no_panic_on_interesting_strings(a in INTERESTING, b in INTERESTING) {
        exercise(&a, &b);
    }

    #[test]
    fn no_panic_on_path_and_version_shapes(a in PATH_LIKE, b in VERSION_LIKE) {
        exercise(&a, &b);
        exercise(&b, &a);
    }

    #[test]
    fn escape_path_round_trips(path in PATH_LIKE) {
        if let Ok(escaped) = module::escape_path(&path) {
            prop_assert!(!escaped.bytes().any(|b| b.is_ascii_uppercase()), "{escaped:?} has upper case");
            prop_assert_eq!(module::unescape_path(&escaped), Ok(path.clone()));
        } else {
            prop_assert!(module::check_path(&path).is_err());
        }
    }

    #[test]
    fn unescape_path_then_escape_is_identity(s in INTERESTING) {
        if let Ok(path) = module::unescape_path(&s) {
            prop_assert_eq!(module::escape_path(&path), Ok(s.clone()));
        }
    }

    #[test]
    fn escape_version_round_trips(v in VERSION_LIKE, junk in INTERESTING) {
        for v in [v, junk] {
            if let Ok(escaped) = module::escape_version(&v) {
                prop_assert!(!escaped.bytes().any(|b| b.is_ascii_uppercase()));
                prop_assert_eq!(module::unescape_version(&escaped), Ok(v.clone()));
            }
            if let Ok(unescaped) = module::unescape_version(&v) {
                prop_assert_eq!(module::escape_version(&unescaped), Ok(v.clone()));
            }
        }
    }

    #[test]
    fn pseudo_versions_decompose(
        major in 0u32..20,
        base in proptest::option::of(("v(0|[1-9][0-9]?)\\.(0|[1-9][0-9]?)\\.(0|[1-9][0-9]{0,2})", proptest::option::of("-(rc|pre|beta)\\.[1-9]"), proptest::bool::ANY)),
        secs in -62_135_596_800i64..253_402_300_799,
        rev in "[0-9a-f]{12}",
    ) {
        let major = format!("v{major}");
        let older = match &base {
            None => String::new(),
            Some((release, pre, incompatible)) => format!(
                "{release}{}{}",
                pre.as_deref().unwrap_or(""),
                if *incompatible { "+incompatible" } else { "" }
            ),
        };
        let time = pseudo::format_pseudo_time(secs);
        let pv = pseudo::pseudo_version(&major, &older, &time, &rev);
        prop_assert!(pseudo::is_pseudo_version(&pv), "{pv}");
        prop_assert!(semver::is_valid(&pv));
        prop_assert_eq!(pseudo::pseudo_version_time(&pv), Ok(time.clone()));
        prop_assert_eq!(pseudo::parse_pseudo_time(&time), Some(secs));
        prop_assert_eq!(pseudo::pseudo_version_rev(&pv), Ok(rev));
        prop_assert_eq!(pseudo::pseudo_version_base(&pv), Ok(older.clone()));
        if !older.is_empty() {
            // Sorts after its base and before the base's next patch release.
            prop_assert_eq!(semver::compare(&pv, &older), Ordering::Greater);
        }
    }
}

/// A byte-level fuzzer: random bytes read as (lossy) UTF-8, biased toward
/// ASCII punctuation, multi-byte sequences and replacement characters.
#[test]
fn no_panic_on_random_bytes() {
    let mut rng = Rng::new(0xB17E5);
    for _ in 0..50_000 {
        let len = rng.below(48);
        let bytes: Vec<u8> = (0..len)
            .map(|_| match rng.below(4) {
                0 => rng.pick(b"./-_~!+@%*?[]\\^,vV0129azAZ"),
                1 => 0x80 | (rng.next_u64() as u8 & 0x7f),
                _ => rng.next_u64() as u8,
            })
            .collect();
        let a = String::from_utf8_lossy(&bytes).into_owned();
        let b = common::random_version(&mut rng);
        exercise(&a, &b);
    }
}

//! Pseudo-versions, exactly as `golang.org/x/mod/module/pseudo.go`.
//!
//! Forms (protocol.md §4.1):
//!
//! ```text
//! (1) vX.0.0-yyyymmddhhmmss-abcdefabcdef                 no base tag
//! (2) vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdefabcdef           base = release vX.Y.Z
//! (3) vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdefabcdef+incompatible
//! (4) vX.Y.Z-pre.0.yyyymmddhhmmss-abcdefabcdef           base = prerelease vX.Y.Z-pre
//! (5) vX.Y.Z-pre.0.yyyymmddhhmmss-abcdefabcdef+incompatible
//! ```
//!
//! Times are handled as the 14-digit UTC `yyyymmddhhmmss` string so this crate
//! needs no date library; [`format_pseudo_time`] and [`parse_pseudo_time`]
//! convert to and from Unix seconds.

use crate::module::ModError;
use crate::semver;

/// Length of the `yyyymmddhhmmss` timestamp field.
const TIMESTAMP_LEN: usize = 14;

/// Builds a pseudo-version (x/mod `PseudoVersion`) from the path's major
/// version (`""` means `v0`), the closest older tag (`""`, `v1.2.3`,
/// `v1.2.3-pre`, optionally with build metadata, which is kept), the commit
/// time already formatted by [`format_pseudo_time`], and the revision
/// (12 hex digits for git).
pub fn pseudo_version(
    major: &str,
    older: &str,
    time_utc_yyyymmddhhmmss: &str,
    rev: &str,
) -> String {
    let major = if major.is_empty() { "v0" } else { major };
    let segment = format!("{time_utc_yyyymmddhhmmss}-{rev}");
    let build = semver::build(older);
    let older = semver::canonical(older);
    if older.is_empty() {
        return format!("{major}.0.0-{segment}"); // form (1)
    }
    if !semver::prerelease(&older).is_empty() {
        return format!("{older}.0.{segment}{build}"); // forms (4), (5)
    }
    // Forms (2), (3): bump the patch number of vMAJOR.MINOR.PATCH.
    let i = older.rfind('.').map_or(0, |i| i + 1);
    let (head, patch) = older.split_at(i);
    format!("{head}{}-0.{segment}{build}", inc_decimal(patch))
}

/// The placeholder pseudo-version with zero time and revision (x/mod `ZeroPseudoVersion`),
/// e.g. `v0.0.0-00010101000000-000000000000`.
pub fn zero_pseudo_version(major: &str) -> String {
    // Go's zero time.Time is 0001-01-01 00:00:00 UTC.
    pseudo_version(major, "", "00010101000000", "000000000000")
}

/// Reports whether `v` is a pseudo-version (x/mod `IsPseudoVersion`).
pub fn is_pseudo_version(v: &str) -> bool {
    v.bytes().filter(|&b| b == b'-').count() >= 2 && matches_pseudo_syntax(v)
}

/// Reports whether `v` is the placeholder from [`zero_pseudo_version`] for its major version.
pub fn is_zero_pseudo_version(v: &str) -> bool {
    v == zero_pseudo_version(semver::major(v))
}

/// The 14-digit `yyyymmddhhmmss` UTC timestamp of a pseudo-version (x/mod
/// `PseudoVersionTime`, which returns it parsed). Fails when `v` is not a
/// pseudo-version or the timestamp is not a real date and time.
pub fn pseudo_version_time(v: &str) -> Result<String, ModError> {
    let parts = parse_pseudo_version(v)?;
    if parse_pseudo_time(parts.timestamp).is_none() {
        return Err(ModError::version(
            v,
            true,
            &format!("malformed time \"{}\"", parts.timestamp),
        ));
    }
    Ok(parts.timestamp.to_string())
}

/// The revision identifier of a pseudo-version (x/mod `PseudoVersionRev`).
pub fn pseudo_version_rev(v: &str) -> Result<String, ModError> {
    parse_pseudo_version(v).map(|p| p.rev.to_string())
}

/// The version the pseudo-version `v` is based on (x/mod `PseudoVersionBase`):
/// `""` for form (1), `vX.Y.Z` (with `+incompatible` if present) for forms
/// (2)/(3), `vX.Y.Z-pre` for (4)/(5). Fails for non-pseudo-versions, for
/// `vX.0.0-0.…` (the base would have a negative patch number), and for
/// form (1) with build metadata (no base, yet claims incompatibility).
pub fn pseudo_version_base(v: &str) -> Result<String, ModError> {
    let parts = parse_pseudo_version(v)?;
    let base = parts.base;
    let build = parts.build;
    match semver::prerelease(base) {
        "" => {
            if !build.is_empty() {
                return Err(ModError::version(
                    v,
                    true,
                    &format!("lacks base version, but has build metadata \"{build}\""),
                ));
            }
            Ok(String::new())
        }
        "-0" => {
            let release = base.strip_suffix("-0").unwrap_or(base);
            let Some(i) = release.rfind('.') else {
                return Err(ModError::version(v, true, "syntax error"));
            };
            let (head, patch) = release.split_at(i + 1);
            match dec_decimal(patch) {
                Some(patch) => Ok(format!("{head}{patch}{build}")),
                None => Err(ModError::version(
                    v,
                    true,
                    &format!("version before {release} would have negative patch number"),
                )),
            }
        }
        _ => match base.strip_suffix(".0") {
            Some(pre) => Ok(format!("{pre}{build}")),
            // The syntax check guarantees ".0" before the timestamp; be safe anyway.
            None => Err(ModError::version(v, true, "syntax error")),
        },
    }
}

/// Formats Unix seconds as the pseudo-version timestamp `yyyymmddhhmmss` in UTC,
/// like Go's `time.Unix(s, 0).UTC().Format("20060102150405")` (years before 0
/// get a `-` sign; years past 9999 get more digits).
pub fn format_pseudo_time(unix_seconds: i64) -> String {
    let secs = i128::from(unix_seconds);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (sod / 3600, sod % 3600 / 60, sod % 60);
    let year_text = if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    format!("{year_text}{month:02}{day:02}{hour:02}{minute:02}{second:02}")
}

/// Parses a 14-digit `yyyymmddhhmmss` UTC timestamp into Unix seconds; `None`
/// unless it is exactly 14 ASCII digits naming a real date (leap years
/// included) and time (seconds 00–59), the same dates Go's `time.Parse` accepts.
pub fn parse_pseudo_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != TIMESTAMP_LEN || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |from: usize, to: usize| -> i64 {
        b.get(from..to)
            .unwrap_or(&[])
            .iter()
            .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(4, 6), num(6, 8));
    let (hour, minute, second) = (num(8, 10), num(10, 12), num(12, 14));
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// The pieces of a syntactically valid pseudo-version, borrowed from it.
struct PseudoParts<'a> {
    /// `vX.0.0`, `vX.Y.(Z+1)-0` or `vX.Y.Z-pre.0`.
    base: &'a str,
    timestamp: &'a str,
    rev: &'a str,
    /// Build suffix including `+`, or empty.
    build: &'a str,
}

fn parse_pseudo_version(v: &str) -> Result<PseudoParts<'_>, ModError> {
    let syntax_error = || ModError::version(v, true, "syntax error");
    if !is_pseudo_version(v) {
        return Err(syntax_error());
    }
    let build = semver::build(v);
    let rest = &v[..v.len() - build.len()];
    let (rest, rev) = rest.rsplit_once('-').ok_or_else(syntax_error)?;
    let dash = rest.rfind('-').ok_or_else(syntax_error)?;
    let (base, timestamp) = match rest.rfind('.') {
        Some(dot) if dot > dash => (&rest[..dot], &rest[dot + 1..]),
        _ => (&rest[..dash], &rest[dash + 1..]),
    };
    Ok(PseudoParts {
        base,
        timestamp,
        rev,
        build,
    })
}

/// x/mod's `pseudoVersionRE`, for a string already known to be valid semver:
/// `^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`.
///
/// Valid semver fixes where major, minor, patch, prerelease and build are, and
/// the build syntax equals the regexp's. So only the prerelease (without its
/// `-`) needs checking: it must end in `<14 digits>-<alnum rev>`, preceded by
/// nothing (only when minor and patch are both `0`), or by `0.` at the start
/// or after a `.`.
fn matches_pseudo_syntax(v: &str) -> bool {
    let Some(parts) = semver::parts(v) else {
        return false;
    };
    let Some(pre) = parts.prerelease.strip_prefix('-') else {
        return false;
    };
    let Some((head_and_time, rev)) = pre.rsplit_once('-') else {
        return false;
    };
    if rev.is_empty() || !rev.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let Some(split) = head_and_time.len().checked_sub(TIMESTAMP_LEN) else {
        return false;
    };
    // The prerelease is ASCII (valid semver), so any byte index is a char boundary.
    let (head, time) = head_and_time.split_at(split);
    if !time.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if head.is_empty() {
        return parts.minor == "0" && parts.patch == "0";
    }
    head == "0." || head.ends_with(".0.")
}

/// Adds one to a decimal string (`"9"` → `"10"`).
fn inc_decimal(decimal: &str) -> String {
    let mut digits = decimal.as_bytes().to_vec();
    let mut i = digits.len();
    while i > 0 && digits[i - 1] == b'9' {
        digits[i - 1] = b'0';
        i -= 1;
    }
    if i > 0 {
        digits[i - 1] += 1;
    } else {
        // All nines (or empty): carry into a new leading digit.
        digits.insert(0, b'1');
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// Subtracts one from a decimal string (`"10"` → `"9"`); `None` when it is all zeros.
fn dec_decimal(decimal: &str) -> Option<String> {
    let mut digits = decimal.as_bytes().to_vec();
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

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (inverse of `days_from_civil`).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmod_tables::PSEUDO_TESTS;

    #[test]
    fn x_mod_pseudo_table() {
        for &(major, older, want) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version(major, older, "20060102150405", "hash"),
                want,
                "pseudo_version({major:?}, {older:?})"
            );
            assert!(is_pseudo_version(want), "is_pseudo_version({want:?})");
            assert_eq!(pseudo_version_time(want).unwrap(), "20060102150405");
            assert_eq!(pseudo_version_rev(want).unwrap(), "hash");
            let base = pseudo_version_base(want);
            if older.is_empty() {
                assert_eq!(base.unwrap(), "");
            } else if older == "v1.0.0+metadata" {
                // Build metadata other than +incompatible survives in x/mod's base too.
                assert_eq!(base.unwrap(), "v1.0.0+metadata");
            } else {
                assert_eq!(base.unwrap(), older, "pseudo_version_base({want:?})");
            }
        }
    }

    #[test]
    fn invalid_pseudo_versions() {
        for v in [
            "v0.0.0",
            "v1.2.3",
            "v1.2.3-pre",
            "v0.0.0-2006010215040-hash",  // 13-digit time
            "v1.2.3-20060102150405-hash", // form (1) needs .0.0
            "v1.2.3-pre.1.20060102150405-hash",
            "v0.0.0-20060102150405-",
            "v0.0.0-20060102150405-ab_cd",
        ] {
            assert!(!is_pseudo_version(v), "{v}");
            assert!(pseudo_version_base(v).is_err(), "{v}");
            assert!(pseudo_version_rev(v).is_err(), "{v}");
            assert!(pseudo_version_time(v).is_err(), "{v}");
        }
        // Valid syntax, impossible time (x/mod TestInvalidPseudoVersionTime).
        let bad_time = "v0.0.0-20201331000000-abcdef123456";
        assert!(is_pseudo_version(bad_time));
        assert!(pseudo_version_time(bad_time)
            .unwrap_err()
            .to_string()
            .contains("malformed time"));
        // x/mod TestInvalidPseudoVersionBase and protocol.md §4.2.
        let e = pseudo_version_base("v0.0.0-0.20060102150405-abcdef123456").unwrap_err();
        assert!(e.to_string().contains("negative patch number"), "{e}");
        let e = pseudo_version_base("v2.0.0-20060102150405-abcdef123456+incompatible").unwrap_err();
        assert!(e.to_string().contains("lacks base version"), "{e}");
        // §7.5 item 52: the +incompatible form of a form-(1) pseudo-version is still a pseudo-version.
        assert!(is_pseudo_version(
            "v3.0.0-20220223184802-12d19af20458+incompatible"
        ));
    }

    #[test]
    fn protocol_pseudo_version_vectors() {
        // protocol.md §7.5 item 49.
        let t = "20220223184835";
        assert_eq!(
            pseudo_version("", "", t, "9d863d525bbf"),
            "v0.0.0-20220223184835-9d863d525bbf"
        );
        assert_eq!(
            pseudo_version("", "v1.2.3", t, "9d863d525bbf"),
            "v1.2.4-0.20220223184835-9d863d525bbf"
        );
        assert_eq!(
            pseudo_version("", "v1.2.3-pre", t, "9d863d525bbf"),
            "v1.2.3-pre.0.20220223184835-9d863d525bbf"
        );
        assert_eq!(
            pseudo_version("", "v1.9.9", t, "9d863d525bbf"),
            "v1.9.10-0.20220223184835-9d863d525bbf"
        );
        assert_eq!(
            pseudo_version("v1", "", "20161208181325", "20d25e280405"),
            "v1.0.0-20161208181325-20d25e280405"
        );
        // §4.3: base v0.1.0 → v0.1.1-0.…
        assert_eq!(
            pseudo_version("v0", "v0.1.0", t, "9d863d525bbf"),
            "v0.1.1-0.20220223184835-9d863d525bbf"
        );
        assert_eq!(
            pseudo_version_base("v0.1.1-0.20220223184835-9d863d525bbf").unwrap(),
            "v0.1.0"
        );
        assert!(pseudo_version_base("v1.10.0-0.20220223184835-9d863d525bbf").is_err());
        assert_eq!(
            pseudo_version_base("v1.10.1-0.20220223184835-9d863d525bbf").unwrap(),
            "v1.10.0"
        );
        assert_eq!(
            pseudo_version_base("v1.9.10-0.20220223184835-9d863d525bbf").unwrap(),
            "v1.9.9"
        );
    }

    #[test]
    fn zero_pseudo_versions() {
        assert_eq!(
            zero_pseudo_version(""),
            "v0.0.0-00010101000000-000000000000"
        );
        assert!(is_zero_pseudo_version("v0.0.0-00010101000000-000000000000"));
        assert!(is_zero_pseudo_version("v2.0.0-00010101000000-000000000000"));
        assert!(!is_zero_pseudo_version(
            "v0.0.0-00010101000000-000000000001"
        ));
        assert!(!is_zero_pseudo_version(
            "v0.0.0-20060102150405-000000000000"
        ));
    }

    #[test]
    fn decimal_steps() {
        for (n, up) in [
            ("0", "1"),
            ("1", "2"),
            ("99", "100"),
            ("100", "101"),
            ("1099", "1100"),
        ] {
            assert_eq!(inc_decimal(n), up);
            assert_eq!(dec_decimal(up).as_deref(), Some(n));
        }
        assert_eq!(dec_decimal("0"), None);
        assert_eq!(dec_decimal("000"), None);
    }

    #[test]
    fn time_round_trip_and_known_instants() {
        assert_eq!(format_pseudo_time(0), "19700101000000");
        assert_eq!(format_pseudo_time(1_136_214_245), "20060102150405");
        assert_eq!(format_pseudo_time(-1), "19691231235959");
        assert_eq!(format_pseudo_time(-62_135_596_800), "00010101000000");
        assert_eq!(format_pseudo_time(951_782_400), "20000229000000");
        assert_eq!(parse_pseudo_time("20060102150405"), Some(1_136_214_245));
        assert_eq!(parse_pseudo_time("00010101000000"), Some(-62_135_596_800));
        for bad in [
            "20230229000000",
            "19000229000000",
            "20061301000000",
            "20060100000000",
            "20060102240000",
            "20060102156000",
            "20060102150460",
            "2006010215040",
            "200601021504050",
            "2006-1-2150405",
            "",
        ] {
            assert_eq!(parse_pseudo_time(bad), None, "{bad:?}");
        }
        assert!(parse_pseudo_time("20000229000000").is_some());
        // Every day over several centuries round-trips.
        let mut t = -62_135_596_800i64; // 0001-01-01
        while t < 253_402_300_799 {
            let s = format_pseudo_time(t);
            assert_eq!(parse_pseudo_time(&s), Some(t), "{s}");
            t += 86_400 * 7 + 3_601;
        }
    }
}

//! Module path and version rules (golang.org/x/mod/module), from `goxy_mod`
//! with owned-string adapters; plus the RFC 3339 formatting `.info` needs.

/// `module.CheckPath`.
pub fn check_path(path: &str) -> Result<(), String> {
    goxy_mod::module::check_path(path).map_err(|e| e.to_string())
}

/// `module.SplitPathVersion`.
pub fn split_path_version(path: &str) -> Option<(String, String)> {
    goxy_mod::module::split_path_version(path).map(|(a, b)| (a.to_string(), b.to_string()))
}

/// `module.CheckPathMajor(v, pathMajor) == nil`.
pub fn match_path_major(v: &str, path_major: &str) -> bool {
    goxy_mod::module::match_path_major(v, path_major)
}

/// `module.PathMajorPrefix`.
pub fn path_major_prefix(path_major: &str) -> String {
    goxy_mod::module::path_major_prefix(path_major).to_string()
}

/// `module.CanonicalVersion`.
pub fn canonical_version(v: &str) -> String {
    goxy_mod::module::canonical_version(v)
}

/// `module.IsPseudoVersion`.
pub fn is_pseudo_version(v: &str) -> bool {
    goxy_mod::pseudo::is_pseudo_version(v)
}

/// `module.PseudoVersionRev`.
pub fn pseudo_version_rev(v: &str) -> Option<String> {
    goxy_mod::pseudo::pseudo_version_rev(v).ok()
}

/// The validated `yyyymmddhhmmss` of a pseudo-version.
pub fn pseudo_version_timestamp(v: &str) -> Option<String> {
    goxy_mod::pseudo::pseudo_version_time(v).ok()
}

/// `module.PseudoVersionBase`.
pub fn pseudo_version_base(v: &str) -> Result<String, String> {
    goxy_mod::pseudo::pseudo_version_base(v).map_err(|e| e.to_string())
}

/// `module.PseudoVersion` with the time already formatted.
pub fn pseudo_version(major: &str, older: &str, timestamp: &str, rev: &str) -> String {
    goxy_mod::pseudo::pseudo_version(major, older, timestamp, rev)
}

/// Unix seconds → `yyyymmddhhmmss` (UTC).
pub fn timestamp_from_unix(secs: i64) -> String {
    goxy_mod::pseudo::format_pseudo_time(secs)
}

/// `module.MatchPrefixPatterns`.
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    goxy_mod::pattern::match_prefix_patterns(globs, target)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_from_unix(1574366371), "2019-11-21T19:59:31Z");
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_from_unix(951782400), "2000-02-29T00:00:00Z");
        assert_eq!(timestamp_from_unix(1574366371), "20191121195931");
    }
}

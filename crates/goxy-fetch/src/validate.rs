//! What a source's answer must satisfy before goxy serves or caches it.
//! Pure functions over bytes; the chain calls them on every answer so an
//! invalid one counts as that source failing (502, or fall-through after `|`).

use bytes::Bytes;
use goxy_mod::{module, semver};

/// A `.info` or `@latest` answer.
#[derive(Debug, Clone)]
pub struct ValidInfo {
    pub body: Bytes,
    pub version: String,
}

/// Checks an `.info`/`@latest` JSON answer. With `exact`, the Version must
/// equal `requested` (the `go` command insists on that for canonical,
/// path-compatible requests).
pub fn info(
    module_path: &str,
    requested: Option<&str>,
    exact: bool,
    body: Bytes,
) -> Result<ValidInfo, String> {
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("not a JSON object: {e}"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let version = object
        .get("Version")
        .and_then(|v| v.as_str())
        .ok_or("no Version field")?
        .to_string();
    if !module::is_canonical_version(&version) {
        return Err(format!("Version {version:?} is not canonical"));
    }
    module::check(module_path, &version).map_err(|e| e.to_string())?;
    if let Some(time) = object.get("Time") {
        if !time.is_string() {
            return Err("Time is not a string".into());
        }
    }
    if exact {
        if let Some(requested) = requested {
            if version != requested {
                return Err(format!(
                    "Version is {version:?}, not the requested {requested:?}"
                ));
            }
        }
    }
    Ok(ValidInfo { body, version })
}

/// Checks a `.mod` answer and returns its h1. The declared module path may
/// differ from the requested one (a fork used through `replace` declares the
/// original path), but not in its major version, which is what the `go`
/// command itself checks when it builds a go.mod from a repository.
pub fn go_mod(module_path: &str, body: &[u8]) -> Result<String, String> {
    if body.len() as u64 > goxy_zip::MAX_GO_MOD {
        return Err("go.mod larger than 16 MiB".into());
    }
    let declared = goxy_zip::go_mod_module_path(body).ok_or("go.mod has no module directive")?;
    if declared != module_path {
        let major = |p: &str| {
            module::split_path_version(p)
                .map(|(_, major)| major.trim_start_matches(['/', '.']).to_string())
        };
        let want =
            major(module_path).ok_or_else(|| format!("invalid module path {module_path:?}"))?;
        let got = major(&declared)
            .ok_or_else(|| format!("go.mod declares an invalid module path {declared:?}"))?;
        if want != got {
            return Err(format!("go.mod declares module {declared:?}, which is not a major version of {module_path:?}"));
        }
    }
    Ok(goxy_zip::hash_go_mod(body))
}

/// Checks a `list` answer and returns it normalized: canonical versions that
/// are valid for the module, sorted, one per line. A body that is mostly not
/// versions (an HTML error page sent with 200) is refused rather than turned
/// into an empty list, which would stop clients from falling back.
pub fn list(module_path: &str, body: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "list is not UTF-8".to_string())?;
    let mut versions = Vec::new();
    let mut junk = 0usize;
    for line in text.lines() {
        let Some(first) = line.split_whitespace().next() else {
            continue;
        };
        if semver::is_valid(first) {
            if module::is_canonical_version(first) && module::check(module_path, first).is_ok() {
                versions.push(first.to_string());
            }
        } else {
            junk += 1;
        }
    }
    if junk > 0 && junk >= versions.len() {
        let sample: String = text.chars().take(40).filter(|c| !c.is_control()).collect();
        return Err(format!(
            "list has {junk} lines that are not versions (starts {sample:?})"
        ));
    }
    semver::sort(&mut versions);
    versions.dedup();
    Ok(versions)
}

/// Formats versions as a `list` body.
pub fn list_body(versions: &[String]) -> Bytes {
    let mut out = String::with_capacity(versions.len() * 12);
    for v in versions {
        out.push_str(v);
        out.push('\n');
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_requires_the_requested_version() {
        let body = Bytes::from_static(br#"{"Version":"v1.2.3","Time":"2024-01-02T03:04:05Z"}"#);
        assert_eq!(
            info("example.com/m", Some("v1.2.3"), true, body.clone())
                .unwrap()
                .version,
            "v1.2.3"
        );
        assert!(info("example.com/m", Some("v1.2.4"), true, body.clone()).is_err());
        assert!(info("example.com/m", Some("master"), false, body).is_ok());
        assert!(info("example.com/m", None, false, Bytes::from_static(b"<html>")).is_err());
        assert!(info(
            "example.com/m",
            None,
            false,
            Bytes::from_static(br#"{"Version":"v1.2"}"#)
        )
        .is_err());
        // Wrong major for the path.
        assert!(info(
            "example.com/m",
            None,
            false,
            Bytes::from_static(br#"{"Version":"v2.0.0"}"#)
        )
        .is_err());
        assert!(info(
            "example.com/m/v2",
            None,
            false,
            Bytes::from_static(br#"{"Version":"v2.0.0"}"#)
        )
        .is_ok());
    }

    #[test]
    fn go_mod_checks_major_version_only() {
        assert!(go_mod("example.com/m", b"module example.com/m\n").is_ok());
        assert!(
            go_mod("example.com/fork", b"module example.com/m\n").is_ok(),
            "forks keep their original path"
        );
        assert!(go_mod("example.com/m/v2", b"module example.com/m\n").is_err());
        assert!(go_mod("example.com/m", b"<html>not a go.mod</html>").is_err());
        assert_eq!(
            go_mod(
                "rsc.io/quote",
                b"module \"rsc.io/quote\"\n\nrequire \"rsc.io/sampler\" v1.3.0\n"
            )
            .unwrap(),
            "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0="
        );
    }

    #[test]
    fn list_is_normalized_and_junk_refused() {
        let got = list(
            "example.com/m",
            b"v1.1.0\nv1.0.0 2020-01-01T00:00:00Z\r\nv1.2\nv2.0.0\nv1.0.0\n",
        )
        .unwrap();
        assert_eq!(got, vec!["v1.0.0", "v1.1.0"]);
        assert_eq!(list("example.com/m", b"").unwrap(), Vec::<String>::new());
        assert!(list("example.com/m", b"<!doctype html>\n<title>login</title>\n").is_err());
        assert_eq!(list_body(&got), Bytes::from_static(b"v1.0.0\nv1.1.0\n"));
    }
}

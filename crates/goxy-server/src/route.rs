//! Request routing (pure; no I/O): the raw request path becomes a checked
//! module, version and operation, or a short reason and a status.
//!
//! The path is percent-decoded exactly once (the `go` command sends `!` as
//! `%21`; other clients send it literally), then split at the last `/@v/` or a
//! trailing `/@latest`, then `!`-unescaped and checked against the x/mod rules,
//! all before any I/O.

use goxy_mod::module;

/// Longest request path accepted (before decoding).
pub const MAX_PATH: usize = 4096;
/// Longest module path accepted.
pub const MAX_MODULE: usize = 512;
/// Longest version or version query accepted.
pub const MAX_VERSION: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Home,
    Healthz,
    Readyz,
    /// `/sumdb/<rest>`; handled by the checksum-database relay.
    Sumdb(String),
    Module(ModuleRequest),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRequest {
    /// The module path, unescaped (`github.com/BurntSushi/toml`).
    pub module: String,
    /// Its `!`-escaped form, the storage key (`github.com/!burnt!sushi/toml`).
    pub escaped_module: String,
    pub op: Op,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    List,
    Latest,
    Info(Version),
    Mod(Version),
    Zip(Version),
}

impl Op {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Latest => "latest",
            Op::Info(_) => "info",
            Op::Mod(_) => "mod",
            Op::Zip(_) => "zip",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Unescaped (`v1.0.0-RC1`).
    pub version: String,
    /// Escaped (`v1.0.0-!r!c1`).
    pub escaped: String,
    /// Canonical and valid for the module path: the answer is immutable and
    /// an `.info` must echo it exactly.
    pub canonical: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    pub status: u16,
    pub message: String,
}

fn not_found(message: impl Into<String>) -> RouteError {
    RouteError {
        status: 404,
        message: message.into(),
    }
}

/// Decodes `%XX` sequences once. `+` stays `+`. Refuses bad escapes, NUL and
/// other control characters, backslashes and non-UTF-8 results.
pub fn percent_decode(raw: &str) -> Result<String, RouteError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or_else(|| not_found("malformed percent-encoding in path"))?;
            let text = std::str::from_utf8(hex)
                .map_err(|_| not_found("malformed percent-encoding in path"))?;
            let value = u8::from_str_radix(text, 16)
                .map_err(|_| not_found("malformed percent-encoding in path"))?;
            out.push(value);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    let text = String::from_utf8(out).map_err(|_| not_found("path is not valid UTF-8"))?;
    if text.chars().any(|c| c.is_control() || c == '\\') {
        return Err(not_found("path contains control characters or backslashes"));
    }
    Ok(text)
}

/// Routes a raw (still percent-encoded) request path.
pub fn parse(raw_path: &str) -> Result<Route, RouteError> {
    if raw_path.len() > MAX_PATH {
        return Err(RouteError {
            status: 414,
            message: "request path too long".into(),
        });
    }
    match raw_path {
        "/" | "" => return Ok(Route::Home),
        "/healthz" => return Ok(Route::Healthz),
        "/readyz" => return Ok(Route::Readyz),
        _ => {}
    }
    let path = percent_decode(raw_path)?;
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| not_found("path must start with /"))?;
    if let Some(sumdb) = rest.strip_prefix("sumdb/") {
        return Ok(Route::Sumdb(sumdb.to_string()));
    }
    let (escaped_module, op_text) = if let Some(m) = rest.strip_suffix("/@latest") {
        (m, None)
    } else if let Some(i) = rest.rfind("/@v/") {
        (&rest[..i], Some(&rest[i + 4..]))
    } else {
        return Err(not_found(
            "not a module proxy path (want <module>/@v/... or <module>/@latest)",
        ));
    };
    if escaped_module.len() > MAX_MODULE {
        return Err(not_found("module path too long"));
    }
    let module_path = module::unescape_path(escaped_module)
        .map_err(|e| not_found(format!("invalid module path: {e}")))?;
    let op = match op_text {
        None => Op::Latest,
        Some("list") => Op::List,
        Some(file) => {
            let (escaped_version, ext) = file.rsplit_once('.').ok_or_else(|| {
                not_found(format!(
                    "unknown file {file:?} (want list, .info, .mod or .zip)"
                ))
            })?;
            if escaped_version.len() > MAX_VERSION {
                return Err(not_found("version too long"));
            }
            let version = module::unescape_version(escaped_version)
                .map_err(|e| not_found(format!("invalid version: {e}")))?;
            let canonical = module::is_canonical_version(&version)
                && module::check(&module_path, &version).is_ok();
            let v = Version {
                version,
                escaped: escaped_version.to_string(),
                canonical,
            };
            match ext {
                "info" => Op::Info(v),
                "mod" | "zip" if !v.canonical => {
                    return Err(not_found(match module::check(&module_path, &v.version) {
                        Err(e) => e.to_string(),
                        Ok(()) => format!("{module_path}@{}: version is not canonical", v.version),
                    }));
                }
                "mod" => Op::Mod(v),
                "zip" => Op::Zip(v),
                other => {
                    return Err(not_found(format!(
                        "unknown file type .{other} (want .info, .mod or .zip)"
                    )))
                }
            }
        }
    };
    Ok(Route::Module(ModuleRequest {
        module: module_path,
        escaped_module: escaped_module.to_string(),
        op,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(raw: &str) -> ModuleRequest {
        match parse(raw) {
            Ok(Route::Module(m)) => m,
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn uppercase_paths_arrive_percent_encoded_or_literal() {
        for raw in [
            "/github.com/%21burnt%21sushi/toml/@v/v1.4.0.zip",
            "/github.com/!burnt!sushi/toml/@v/v1.4.0.zip",
        ] {
            let m = module(raw);
            assert_eq!(m.module, "github.com/BurntSushi/toml");
            assert_eq!(m.escaped_module, "github.com/!burnt!sushi/toml");
            assert!(matches!(m.op, Op::Zip(ref v) if v.version == "v1.4.0" && v.canonical));
        }
    }

    #[test]
    fn versions_keep_plus_and_case() {
        let m = module("/example.com/m/@v/v2.0.0+incompatible.mod");
        assert!(matches!(m.op, Op::Mod(ref v) if v.version == "v2.0.0+incompatible"));
        let m = module("/example.com/m/@v/v1.0.0-%21r%21c1.info");
        assert!(
            matches!(m.op, Op::Info(ref v) if v.version == "v1.0.0-RC1" && v.escaped == "v1.0.0-!r!c1")
        );
    }

    #[test]
    fn list_latest_and_v_elements() {
        assert!(matches!(module("/example.com/v2/@v/list").op, Op::List));
        assert_eq!(module("/example.com/v2/@v/list").module, "example.com/v2");
        assert!(matches!(module("/example.com/m/v3/@latest").op, Op::Latest));
    }

    #[test]
    fn info_accepts_queries_but_mod_and_zip_need_canonical() {
        assert!(
            matches!(module("/example.com/m/@v/master.info").op, Op::Info(ref v) if !v.canonical)
        );
        assert!(
            matches!(module("/example.com/m/@v/v2.0.0.info").op, Op::Info(ref v) if !v.canonical)
        );
        for bad in [
            "/example.com/m/@v/v1.2.mod",
            "/example.com/m/@v/master.zip",
            "/example.com/m/@v/v2.0.0.zip",
            "/example.com/m/@v/latest.mod",
            "/example.com/m/v2/@v/v1.0.0.mod",
        ] {
            assert_eq!(parse(bad).unwrap_err().status, 404, "{bad}");
        }
    }

    #[test]
    fn bad_inputs_are_404_before_io() {
        for bad in [
            "/github.com/Azure/x/@v/list",
            "/x.y/../../etc/@v/list",
            "/%2e%2e%2fetc/@v/list",
            "/x.y/z/@v/v1.0.0%00.info",
            "/x.y/z/@v/v1.0.0%0d%0a.info",
            "/x.y/z/@v/v1.0.0.exe",
            "/x.y/z/@v/",
            "/x.y/z",
            "/x.y/z/@v/%zz.info",
            "/x.y/!!z/@v/list",
            "/x.y/z!/@v/list",
            "/x/z/@v/list",
            "/x.y/z\\w/@v/list",
            "/x.y/z/@v/-x.zip",
            "/x.y/z/@v/%c0%ae.info",
            "/%252e/@v/list",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.status, 404, "{bad}: {err:?}");
            assert!(!err.message.contains('\n'));
        }
        assert_eq!(
            parse(&format!("/{}", "a".repeat(5000))).unwrap_err().status,
            414
        );
    }

    #[test]
    fn special_routes() {
        assert_eq!(parse("/").unwrap(), Route::Home);
        assert_eq!(parse("/healthz").unwrap(), Route::Healthz);
        assert_eq!(
            parse("/sumdb/sum.example/supported").unwrap(),
            Route::Sumdb("sum.example/supported".into())
        );
    }
}

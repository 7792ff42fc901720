//! The GOPROXY list syntax (protocol.md §1.9): entries separated by `,`
//! (fall through only on not-found) or `|` (fall through on any error).

use serde::Serialize;

/// One GOPROXY entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProxyEntry {
    /// A proxy URL; `fallback_on_any_error` is true when a `|` follows it.
    Url {
        url: String,
        fallback_on_any_error: bool,
    },
    /// Direct VCS access; everything after it is ignored.
    Direct,
    /// Lookups disabled.
    Off,
}

/// Parses a GOPROXY value the way cmd/go's `proxyList` does. An empty value
/// yields an empty list (callers substitute the toolchain default).
pub fn parse_goproxy(value: &str) -> Result<Vec<ProxyEntry>, String> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let (raw, sep, tail) = match rest.find([',', '|']) {
            Some(i) => (
                rest.get(..i).unwrap_or(""),
                rest.get(i..i + 1),
                rest.get(i + 1..).unwrap_or(""),
            ),
            None => (rest, None, ""),
        };
        rest = tail;
        let entry = raw.trim();
        if entry.is_empty() {
            continue;
        }
        match entry {
            "off" => {
                out.push(ProxyEntry::Off);
                break;
            }
            "direct" => {
                out.push(ProxyEntry::Direct);
                break;
            }
            "noproxy" => continue,
            _ => {}
        }
        let mut url = entry.to_string();
        // cmd/go: an entry with any of ".:/" but no ":/" and not an absolute path gets https://.
        if entry.contains(['.', ':', '/']) && !entry.contains(":/") && !entry.starts_with('/') {
            url = format!("https://{entry}");
        }
        let parsed = url::Url::parse(&url).map_err(|e| format!("GOPROXY entry {entry:?}: {e}"))?;
        match parsed.scheme() {
            "https" | "http" => {}
            "file" => {
                if parsed.host_str().is_some_and(|h| !h.is_empty()) {
                    return Err(format!(
                        "GOPROXY entry {entry:?}: file URL must have only a path"
                    ));
                }
            }
            other => {
                return Err(format!(
                    "GOPROXY entry {entry:?}: unsupported scheme {other:?}"
                ))
            }
        }
        out.push(ProxyEntry::Url {
            url: url.trim_end_matches('/').to_string(),
            fallback_on_any_error: sep == Some("|"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(url: &str, pipe: bool) -> ProxyEntry {
        ProxyEntry::Url {
            url: url.into(),
            fallback_on_any_error: pipe,
        }
    }

    #[test]
    fn separators_and_specials() {
        assert_eq!(
            parse_goproxy("https://a.example|b.example:8080/x/, direct, https://ignored").unwrap(),
            vec![
                u("https://a.example", true),
                u("https://b.example:8080/x", false),
                ProxyEntry::Direct
            ]
        );
        assert_eq!(parse_goproxy("off").unwrap(), vec![ProxyEntry::Off]);
        assert_eq!(parse_goproxy(" , ,").unwrap(), vec![]);
        assert_eq!(
            parse_goproxy("http://127.0.0.1:3000").unwrap(),
            vec![u("http://127.0.0.1:3000", false)]
        );
        assert!(parse_goproxy("ftp://x.example").is_err());
        assert!(parse_goproxy("file://host/path").is_err());
        assert_eq!(
            parse_goproxy("file:///srv/mods").unwrap(),
            vec![u("file:///srv/mods", false)]
        );
    }
}

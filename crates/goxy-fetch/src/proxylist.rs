//! GOPROXY-syntax upstream lists, parsed exactly as the `go` command parses
//! GOPROXY (pure; no I/O).
//!
//! Entries are separated by `,` (fall through to the next entry only when this
//! one says "not found": 404/410) or `|` (fall through on any error). `off`
//! stops the walk with every lookup failing; `direct` means fetching from the
//! version control system, and nothing after it is consulted. An entry that
//! looks like a host name (contains `.`, `:` or `/` but no `:/`, and is not an
//! absolute path) gets `https://` prepended.

use std::fmt;
use std::path::PathBuf;

/// When the walk may continue past an entry that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallThrough {
    /// After `,`: only when the entry said the module or version does not exist.
    OnNotFound,
    /// After `|`: after any error.
    OnAnyError,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// An http(s) proxy base URL (no trailing slash). May carry userinfo.
    Http(url::Url),
    /// A directory laid out as a proxy (`file://` URL).
    File(PathBuf),
    /// Fetch from the version control system.
    Direct,
    /// All lookups fail.
    Off,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    /// How to treat this entry's failure; the separator written after it
    /// (the last entry's value does not matter).
    pub fallthrough: FallThrough,
}

impl Entry {
    /// A name safe for logs and metrics: never includes credentials.
    pub fn display_name(&self) -> String {
        match &self.kind {
            EntryKind::Http(url) => redact(url),
            EntryKind::File(path) => format!("file://{}", path.display()),
            EntryKind::Direct => "direct".into(),
            EntryKind::Off => "off".into(),
        }
    }
}

/// The URL without userinfo, query or fragment.
pub fn redact(url: &url::Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.set_fragment(None);
    clean.as_str().trim_end_matches('/').to_string()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyListError {
    pub entry: String,
    pub reason: String,
}

impl fmt::Display for ProxyListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid upstream entry {:?}: {}",
            self.entry, self.reason
        )
    }
}

impl std::error::Error for ProxyListError {}

/// Parses a GOPROXY-syntax list. An empty list is an error: a proxy with no
/// source at all is a configuration mistake, not "off".
pub fn parse(list: &str) -> Result<Vec<Entry>, ProxyListError> {
    let mut entries = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (raw, fallthrough, next) = match rest.find([',', '|']) {
            Some(i) => {
                let ft = if rest.as_bytes()[i] == b'|' {
                    FallThrough::OnAnyError
                } else {
                    FallThrough::OnNotFound
                };
                (&rest[..i], ft, &rest[i + 1..])
            }
            None => (rest, FallThrough::OnNotFound, ""),
        };
        rest = next;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let kind = parse_entry(raw)?;
        let stop = matches!(kind, EntryKind::Off | EntryKind::Direct);
        entries.push(Entry { kind, fallthrough });
        if stop {
            break;
        }
    }
    if entries.is_empty() {
        return Err(ProxyListError {
            entry: list.to_string(),
            reason: "the list names no source".into(),
        });
    }
    Ok(entries)
}

fn parse_entry(raw: &str) -> Result<EntryKind, ProxyListError> {
    let err = |reason: &str| ProxyListError {
        entry: raw.to_string(),
        reason: reason.to_string(),
    };
    match raw {
        "off" => return Ok(EntryKind::Off),
        "direct" => return Ok(EntryKind::Direct),
        "noproxy" => return Err(err("\"noproxy\" is internal to the go command")),
        _ => {}
    }
    let with_scheme;
    let text = if raw.contains([':', '.', '/']) && !raw.contains(":/") && !raw.starts_with('/') {
        with_scheme = format!("https://{raw}");
        with_scheme.as_str()
    } else {
        raw
    };
    let url = url::Url::parse(text).map_err(|e| err(&e.to_string()))?;
    match url.scheme() {
        "http" | "https" => {
            if url.host_str().is_none_or(str::is_empty) {
                return Err(err("missing host"));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(err("a proxy URL takes no query or fragment"));
            }
            let mut base = url;
            let trimmed = base.path().trim_end_matches('/').to_string();
            base.set_path(&trimmed);
            Ok(EntryKind::Http(base))
        }
        "file" => {
            if url.host_str().is_some_and(|h| !h.is_empty())
                || url.query().is_some()
                || url.fragment().is_some()
            {
                return Err(err("file URLs must have only a path"));
            }
            let path = url.to_file_path().map_err(|()| err("not a local path"))?;
            Ok(EntryKind::File(path))
        }
        other => Err(err(&format!(
            "unsupported scheme {other:?} (want https, http or file)"
        ))),
    }
}

/// Formats entries back into GOPROXY syntax (credentials redacted).
pub fn format(entries: &[Entry]) -> String {
    let mut out = String::new();
    for (i, entry) in entries.iter().enumerate() {
        out.push_str(&entry.display_name());
        if i + 1 < entries.len() {
            out.push(if entry.fallthrough == FallThrough::OnAnyError {
                '|'
            } else {
                ','
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(list: &str) -> Vec<(String, FallThrough)> {
        parse(list)
            .unwrap()
            .iter()
            .map(|e| (e.display_name(), e.fallthrough))
            .collect()
    }

    #[test]
    fn separators_decide_fallthrough() {
        use FallThrough::*;
        assert_eq!(
            kinds("https://a.example/p,https://b.example|file:///srv/proxy,direct"),
            vec![
                ("https://a.example/p".into(), OnNotFound),
                ("https://b.example".into(), OnAnyError),
                ("file:///srv/proxy".into(), OnNotFound),
                ("direct".into(), OnNotFound),
            ]
        );
    }

    #[test]
    fn off_and_direct_end_the_list() {
        assert_eq!(kinds("off,https://a.example").len(), 1);
        assert_eq!(kinds("direct|https://a.example").len(), 1);
    }

    #[test]
    fn host_names_get_https() {
        assert_eq!(kinds("goproxy.example")[0].0, "https://goproxy.example");
        assert_eq!(
            kinds("proxy.example:8443/x/")[0].0,
            "https://proxy.example:8443/x"
        );
    }

    #[test]
    fn empty_entries_are_skipped_but_empty_lists_fail() {
        assert_eq!(kinds(" , https://a.example ,,").len(), 1);
        assert!(parse("").is_err());
        assert!(parse(" , ").is_err());
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in [
            "ftp://x.example",
            "file://host/dir",
            "https://",
            "noproxy",
            "https://a.example/?q=1",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("invalid upstream entry"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn credentials_never_display() {
        let entries = parse("https://user:secret@proxy.example/base").unwrap();
        assert_eq!(entries[0].display_name(), "https://proxy.example/base");
        assert!(!format(&entries).contains("secret"));
        match &entries[0].kind {
            EntryKind::Http(url) => assert_eq!(url.password(), Some("secret")),
            other => panic!("unexpected {other:?}"),
        }
    }
}

//! Module path → repository (protocol.md §5.1–§5.2) and the egress policy
//! every outbound connection passes.

use crate::modpath::match_prefix_patterns;
use crate::DirectError;
use std::net::IpAddr;
use std::sync::OnceLock;

/// Where a module's code lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRoot {
    /// The module-path prefix the repository serves (go-import prefix).
    pub root: String,
    /// The repository URL git fetches from.
    pub url: String,
    /// go-import subdirectory (4th field), "" if none.
    pub subdir: String,
    /// `git` or `mod`.
    pub vcs: String,
}

/// Is this address one a public fetcher must never reach by default?
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_ip(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The egress rules: which schemes and hosts direct fetching may contact.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    pub insecure: String,
    pub allow_ssh: bool,
    pub allow_private_addresses: bool,
}

/// Where git connects, fixed by the egress check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// curl's `http.curloptResolve` entry: `host:port:addr[,addr…]`.
    Curl(String),
    /// ssh connects to `addr` and checks the host key recorded for `alias`
    /// (`host`, or `[host]:port` off port 22).
    Ssh { addr: String, alias: String },
}

impl Egress {
    /// May the module's fetch use plain http / skip TLS verification?
    pub fn insecure_for(&self, module: &str) -> bool {
        match_prefix_patterns(&self.insecure, module)
    }

    /// Checks a URL before connecting: scheme allowed for this module, host
    /// resolving only to allowed addresses. Returns the parsed URL.
    pub async fn check(&self, module: &str, raw: &str) -> Result<url::Url, DirectError> {
        self.check_resolved(module, raw).await.map(|(u, _)| u)
    }

    /// Like [`Egress::check`], also returning a [`Pin`] for a host name, so
    /// git connects to the addresses that were checked (no DNS rebinding
    /// between check and use).
    pub async fn check_resolved(
        &self,
        module: &str,
        raw: &str,
    ) -> Result<(url::Url, Option<Pin>), DirectError> {
        let u = url::Url::parse(raw)
            .map_err(|e| DirectError::Denied(format!("{module}: bad repository URL: {e}")))?;
        match u.scheme() {
            "https" => {}
            "http" if self.insecure_for(module) => {}
            "ssh" | "git+ssh" if self.allow_ssh => {}
            s => {
                return Err(DirectError::Denied(format!(
                    "{module}: scheme {s:?} not allowed by the egress policy"
                )))
            }
        }
        let host = u
            .host_str()
            .ok_or_else(|| DirectError::Denied(format!("{module}: URL has no host")))?;
        if host.starts_with('-') {
            return Err(DirectError::Denied(format!(
                "{module}: host starts with '-'"
            )));
        }
        let is_ssh = matches!(u.scheme(), "ssh" | "git+ssh");
        let port = u
            .port_or_known_default()
            .unwrap_or(if is_ssh { 22 } else { 443 });
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let (addrs, is_name): (Vec<IpAddr>, bool) = match bare.parse::<IpAddr>() {
            Ok(ip) => (vec![ip], false),
            Err(_) => (
                tokio::net::lookup_host((bare, port))
                    .await
                    .map_err(|e| DirectError::Upstream(format!("{module}: resolve {bare}: {e}")))?
                    .map(|a| a.ip())
                    .collect(),
                true,
            ),
        };
        if !self.allow_private_addresses && addrs.iter().any(|ip| is_private_ip(*ip)) {
            return Err(DirectError::Denied(format!(
                "{module}: {bare} resolves to a private address"
            )));
        }
        if is_name && is_ssh {
            // ssh keeps checking the host key recorded for the name (with its
            // port, as ssh writes it) while connecting to the checked address.
            let pin = addrs.first().map(|addr| Pin::Ssh {
                addr: addr.to_string(),
                alias: if port == 22 {
                    bare.to_string()
                } else {
                    format!("[{bare}]:{port}")
                },
            });
            return Ok((u, pin));
        }
        let pin = (is_name && !addrs.is_empty() && (u.scheme() == "http" || u.scheme() == "https"))
            .then(|| {
                let list: Vec<String> = addrs
                    .iter()
                    .map(|a| {
                        if a.is_ipv6() {
                            format!("[{a}]")
                        } else {
                            a.to_string()
                        }
                    })
                    .collect();
                Pin::Curl(format!("{bare}:{port}:{}", list.join(",")))
            });
        Ok((u, pin))
    }
}

struct StaticRule {
    prefix: &'static str,
    re: &'static str,
}

const STATIC_RULES: [StaticRule; 5] = [
    StaticRule {
        prefix: "github.com",
        re: r"^(?P<root>github\.com/[\w.\-]+/[\w.\-]+)(/[\w.\-]+)*$",
    },
    StaticRule {
        prefix: "bitbucket.org",
        re: r"^(?P<root>bitbucket\.org/[\w.\-]+/[\w.\-]+)(/[\w.\-]+)*$",
    },
    StaticRule {
        prefix: "hub.jazz.net/git",
        re: r"^(?P<root>hub\.jazz\.net/git/[a-z0-9]+/[\w.\-]+)(/[\w.\-]+)*$",
    },
    StaticRule {
        prefix: "git.apache.org",
        re: r"^(?P<root>git\.apache\.org/[a-z0-9_.\-]+\.git)(/[\w.\-]+)*$",
    },
    StaticRule {
        prefix: "git.openstack.org",
        re: r"^(?P<root>git\.openstack\.org/[\w.\-]+/[\w.\-]+)(\.git)?(/[\w.\-]+)*$",
    },
];

fn has_path_prefix(s: &str, prefix: &str) -> bool {
    s == prefix || (s.starts_with(prefix) && s.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// The outcome of the static table: a repo root, a VCS-qualified root needing a scheme probe, or nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum StaticMatch {
    Root(RepoRoot),
    /// `example.com/repo.git/sub`: root `example.com/repo.git`, repo `example.com/repo` (scheme to probe).
    Qualified {
        root: String,
        repo: String,
    },
    None,
}

/// `vcsPaths`: known hosting patterns and the `.git` qualifier form.
pub fn static_lookup(module: &str) -> Result<StaticMatch, DirectError> {
    for rule in &STATIC_RULES {
        if !has_path_prefix(module, rule.prefix) {
            continue;
        }
        let re = regex::Regex::new(rule.re).map_err(|e| DirectError::Git(e.to_string()))?;
        let caps = re.captures(module).ok_or_else(|| {
            DirectError::NotFound(format!("invalid {} import path {module:?}", rule.prefix))
        })?;
        let root = caps
            .name("root")
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        for suffix in [".git", ".hg", ".svn", ".bzr", ".fossil"] {
            if rule.prefix != "git.apache.org" && root.ends_with(suffix) {
                return Err(DirectError::NotFound(format!(
                    "{module}: invalid version control suffix in {} path",
                    rule.prefix
                )));
            }
        }
        return Ok(StaticMatch::Root(RepoRoot {
            url: format!("https://{root}"),
            root,
            subdir: String::new(),
            vcs: "git".into(),
        }));
    }
    static QUAL: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let qual = QUAL.get_or_init(|| {
        regex::Regex::new(r"^(?P<root>(?P<repo>([a-z0-9.\-]+\.)+[a-z0-9.\-]+(:[0-9]+)?(/~?[\w.\-]+)+?)\.(?P<vcs>bzr|fossil|git|hg|svn))(/~?[\w.\-]+)*$").ok()
    });
    if let Some(caps) = qual.as_ref().and_then(|re| re.captures(module)) {
        let vcs = caps.name("vcs").map(|m| m.as_str()).unwrap_or("");
        if vcs != "git" {
            return Err(DirectError::NotFound(format!(
                "{module}: only git repositories are supported, not {vcs}"
            )));
        }
        return Ok(StaticMatch::Qualified {
            root: caps
                .name("root")
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            repo: caps
                .name("repo")
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        });
    }
    Ok(StaticMatch::None)
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Attributes of one start tag (`<meta a="b" c='d' e=f>`), names lowercased.
fn parse_attrs(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = tag.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let name = tag[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                i += 1;
                let vs = i;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                let v = &tag[vs..i.min(b.len())];
                i += 1;
                v
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                &tag[vs..i]
            };
            if !name.is_empty() {
                out.push((name, decode_entities(value)));
            }
        } else if !name.is_empty() {
            out.push((name, String::new()));
        } else {
            i += 1;
        }
    }
    out
}

/// One `go-import` meta tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaImport {
    pub prefix: String,
    pub vcs: String,
    pub repo: String,
    pub subdir: String,
}

/// `parseMetaGoImports`: go-import tags in the page head (stops at `<body` or `</head>`).
pub fn parse_meta_imports(html: &str) -> Vec<MetaImport> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(rel) = lower.get(pos..).and_then(|s| s.find('<')) {
        let at = pos + rel;
        let rest = &lower[at..];
        if rest.starts_with("<body") || rest.starts_with("</head") {
            break;
        }
        let end = match rest.find('>') {
            Some(e) => at + e,
            None => break,
        };
        if rest.starts_with("<meta")
            && rest
                .as_bytes()
                .get(5)
                .is_some_and(|c| c.is_ascii_whitespace() || *c == b'/')
        {
            let attrs = parse_attrs(&html[at + 5..end]);
            let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            if get("name").as_deref() == Some("go-import") {
                if let Some(content) = get("content") {
                    let f: Vec<&str> = content.split_whitespace().collect();
                    if f.len() == 3 || f.len() == 4 {
                        out.push(MetaImport {
                            prefix: f[0].to_string(),
                            vcs: f[1].to_string(),
                            repo: f[2].to_string(),
                            subdir: f.get(3).map(|s| s.to_string()).unwrap_or_default(),
                        });
                    }
                }
            }
        }
        pos = end + 1;
    }
    out
}

/// `matchGoImport` in module mode: `mod` entries win; exactly one match otherwise.
pub fn match_go_import(imports: &[MetaImport], module: &str) -> Result<MetaImport, DirectError> {
    let mut ordered: Vec<&MetaImport> = imports.iter().filter(|m| m.vcs == "mod").collect();
    let mod_prefixes: Vec<&str> = ordered.iter().map(|m| m.prefix.as_str()).collect();
    ordered.extend(
        imports
            .iter()
            .filter(|m| m.vcs != "mod" && !mod_prefixes.contains(&m.prefix.as_str())),
    );
    let matching: Vec<&MetaImport> = ordered
        .into_iter()
        .filter(|m| has_path_prefix(module, &m.prefix))
        .collect();
    match matching.as_slice() {
        [] => Err(DirectError::NotFound(format!(
            "{module}: no go-import meta tags"
        ))),
        [one] => Ok((*one).clone()),
        [first, ..] if first.vcs == "mod" => Ok((*first).clone()),
        _ => Err(DirectError::NotFound(format!(
            "{module}: multiple meta tags match import path"
        ))),
    }
}

/// Validates a selected go-import entry (scheme present and not `file`, known vcs, clean subdir).
pub fn validate_import(m: &MetaImport, module: &str) -> Result<(), DirectError> {
    let u = url::Url::parse(&m.repo).map_err(|_| {
        DirectError::NotFound(format!(
            "{module}: go-import repo URL {:?} has no scheme",
            m.repo
        ))
    })?;
    if u.scheme() == "file" {
        return Err(DirectError::NotFound(format!(
            "{module}: go-import repo URL uses file scheme"
        )));
    }
    match m.vcs.as_str() {
        "git" | "mod" => {}
        "bzr" | "fossil" | "hg" | "svn" => {
            return Err(DirectError::NotFound(format!(
                "{module}: vcs {} is not supported (git only)",
                m.vcs
            )))
        }
        other => {
            return Err(DirectError::NotFound(format!(
                "{module}: unknown vcs {other:?} in go-import"
            )))
        }
    }
    if !m.subdir.is_empty()
        && (m.subdir.starts_with('/')
            || m.subdir
                .split('/')
                .any(|e| e.is_empty() || e == "." || e == ".."))
    {
        return Err(DirectError::NotFound(format!(
            "{module}: invalid go-import subdirectory {:?}",
            m.subdir
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ssh_host_names_are_pinned_with_the_host_key_name_ssh_would_use() {
        let egress = Egress {
            insecure: String::new(),
            allow_ssh: true,
            allow_private_addresses: true,
        };
        let (_, pin) = egress
            .check_resolved("example.com/m", "ssh://git@localhost:2222/r.git")
            .await
            .expect("allowed");
        let Some(Pin::Ssh { addr, alias }) = pin else {
            panic!("no ssh pin: {pin:?}");
        };
        assert!(
            addr.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
            "{addr}"
        );
        assert_eq!(alias, "[localhost]:2222");
        let (_, pin) = egress
            .check_resolved("example.com/m", "ssh://git@localhost/r.git")
            .await
            .expect("allowed");
        assert!(matches!(pin, Some(Pin::Ssh { alias, .. }) if alias == "localhost"));
        // An address needs no pin; private addresses stay denied unless allowed.
        let (_, pin) = egress
            .check_resolved("example.com/m", "ssh://git@127.0.0.1:2222/r.git")
            .await
            .expect("allowed");
        assert_eq!(pin, None);
        let strict = Egress {
            allow_private_addresses: false,
            ..egress
        };
        let denied = strict
            .check_resolved("example.com/m", "ssh://git@localhost:2222/r.git")
            .await
            .expect_err("loopback");
        assert!(denied.is_denied(), "{denied:?}");
    }

    #[test]
    fn meta_parsing() {
        let html = r#"<html><HEAD><meta charset="utf-8"><META NAME="go-import" CONTENT="example.com/a git https://h/a.git">
<meta name="go-import" content='example.com/b mod https://proxy.example'>
<meta name="go-import" content="example.com/c git https://h/c.git sub/dir"/>
<meta name="Go-Import" content="example.com/d git https://h/d">
</head><body><meta name="go-import" content="example.com/e git https://h/e"></body>"#;
        let m = parse_meta_imports(html);
        let prefixes: Vec<&str> = m.iter().map(|m| m.prefix.as_str()).collect();
        assert_eq!(
            prefixes,
            ["example.com/a", "example.com/b", "example.com/c"]
        );
        assert_eq!(m[2].subdir, "sub/dir");
        assert_eq!(
            match_go_import(&m, "example.com/a/x").map(|m| m.repo),
            Ok("https://h/a.git".to_string())
        );
        assert!(match_go_import(&m, "example.com/z").is_err());
    }

    #[test]
    fn mod_wins_and_duplicates_fail() {
        let m = parse_meta_imports(
            r#"<meta name="go-import" content="x.y/a git https://h/a"><meta name="go-import" content="x.y/a mod https://p">"#,
        );
        assert_eq!(
            match_go_import(&m, "x.y/a").map(|m| m.vcs),
            Ok("mod".to_string())
        );
        let m = parse_meta_imports(
            r#"<meta name="go-import" content="x.y/a git https://h/a"><meta name="go-import" content="x.y/a/b git https://h/b">"#,
        );
        assert!(match_go_import(&m, "x.y/a/b").is_err());
    }

    #[test]
    fn import_validation() {
        let ok = MetaImport {
            prefix: "x.y/a".into(),
            vcs: "git".into(),
            repo: "https://h/a".into(),
            subdir: String::new(),
        };
        assert!(validate_import(&ok, "x.y/a").is_ok());
        for bad in [
            MetaImport {
                repo: "file:///etc".into(),
                ..ok.clone()
            },
            MetaImport {
                repo: "h/a".into(),
                ..ok.clone()
            },
            MetaImport {
                vcs: "hg".into(),
                ..ok.clone()
            },
            MetaImport {
                vcs: "ext".into(),
                ..ok.clone()
            },
            MetaImport {
                subdir: "../x".into(),
                ..ok.clone()
            },
        ] {
            assert!(validate_import(&bad, "x.y/a").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn static_table() {
        assert_eq!(
            static_lookup("github.com/rsc/quote/v3").ok(),
            Some(StaticMatch::Root(RepoRoot {
                root: "github.com/rsc/quote".into(),
                url: "https://github.com/rsc/quote".into(),
                subdir: String::new(),
                vcs: "git".into()
            }))
        );
        assert!(static_lookup("github.com/user").is_err());
        assert!(static_lookup("github.com/user/repo.git").is_err());
        assert_eq!(
            static_lookup("example.com/repo.git/sub").ok(),
            Some(StaticMatch::Qualified {
                root: "example.com/repo.git".into(),
                repo: "example.com/repo".into()
            })
        );
        assert_eq!(static_lookup("example.com/x").ok(), Some(StaticMatch::None));
    }

    #[tokio::test]
    async fn egress_rules() {
        let deny = Egress::default();
        assert!(deny
            .check("x.y/m", "https://127.0.0.1/r.git")
            .await
            .is_err());
        assert!(deny.check("x.y/m", "https://[::1]/r.git").await.is_err());
        assert!(deny
            .check("x.y/m", "https://169.254.169.254/r")
            .await
            .is_err());
        assert!(deny.check("x.y/m", "http://203.0.113.9/r").await.is_err());
        assert!(deny.check("x.y/m", "ext::sh -c id").await.is_err());
        assert!(deny.check("x.y/m", "git://203.0.113.9/r").await.is_err());
        assert!(deny.check("x.y/m", "ssh://203.0.113.9/r").await.is_err());
        assert!(deny.check("x.y/m", "https://203.0.113.9/r").await.is_ok());
        let allow = Egress {
            insecure: "x.y".into(),
            allow_ssh: false,
            allow_private_addresses: true,
        };
        assert!(allow.check("x.y/m", "http://127.0.0.1/r.git").await.is_ok());
        assert!(allow
            .check("z.y/m", "http://127.0.0.1/r.git")
            .await
            .is_err());
    }
}

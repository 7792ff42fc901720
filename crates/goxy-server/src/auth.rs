//! Optional authentication (pure; no I/O): bearer tokens or basic auth, each
//! credential scoped to module patterns in GOPRIVATE syntax.
//!
//! Access rule: a module matching `auth.private` is served only to a
//! principal whose `modules` patterns match it; any other module is served to
//! everyone, or only to authenticated principals when `auth.required`.
//! Secrets are compared as SHA-256 digests in constant time, and every
//! configured credential is compared, so timing reveals neither which
//! credential matched nor how much of a guess was right.

use crate::opsconfig::{AuthSettings, Credential};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who made a request (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// A configured token or user, by its `name`.
    Named {
        name: String,
        modules: String,
    },
    /// Credentials were sent but matched nothing.
    Invalid,
}

impl Principal {
    /// The name for logs: never the secret.
    pub fn log_name(&self) -> &str {
        match self {
            Principal::Anonymous => "-",
            Principal::Named { name, .. } => name,
            Principal::Invalid => "invalid-credentials",
        }
    }
}

struct Hashed {
    name: String,
    modules: String,
    digest: [u8; 32],
}

/// Configured credentials, hashed once at start-up.
pub struct Authenticator {
    required: bool,
    private: String,
    deny_status: u16,
    tokens: Vec<Hashed>,
    users: Vec<Hashed>,
}

fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

fn hash_all(list: &[Credential], basic: bool) -> Vec<Hashed> {
    list.iter()
        .map(|c| {
            // A user's secret is the whole `user:password`, as sent in basic auth.
            let secret = if basic {
                format!("{}:{}", c.name, c.secret)
            } else {
                c.secret.clone()
            };
            Hashed {
                name: c.name.clone(),
                modules: c.modules.clone(),
                digest: digest(secret.as_bytes()),
            }
        })
        .collect()
}

/// Whether `module` matches GOPRIVATE-style `patterns`.
pub fn matches(patterns: &str, module: &str) -> bool {
    !patterns.trim().is_empty() && goxy_mod::pattern::match_private_patterns(patterns, module)
}

impl Authenticator {
    pub fn new(settings: &AuthSettings) -> Authenticator {
        Authenticator {
            required: settings.required,
            private: settings.private.clone(),
            deny_status: settings.deny_status,
            tokens: hash_all(&settings.tokens, false),
            users: hash_all(&settings.users, true),
        }
    }

    /// Whether any of this matters: no credentials and no private patterns
    /// means every request is served.
    pub fn enabled(&self) -> bool {
        self.required
            || !self.private.trim().is_empty()
            || !self.tokens.is_empty()
            || !self.users.is_empty()
    }

    pub fn required(&self) -> bool {
        self.required
    }

    pub fn deny_status(&self) -> u16 {
        self.deny_status
    }

    /// The principal for an `Authorization` header value (or its absence).
    pub fn principal(&self, authorization: Option<&[u8]>) -> Principal {
        let Some(value) = authorization else {
            return Principal::Anonymous;
        };
        let Ok(value) = std::str::from_utf8(value) else {
            return Principal::Invalid;
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        let (list, secret) = if scheme.eq_ignore_ascii_case("bearer") {
            (&self.tokens, rest.as_bytes().to_vec())
        } else if scheme.eq_ignore_ascii_case("basic") {
            match base64::engine::general_purpose::STANDARD.decode(rest) {
                Ok(decoded) => (&self.users, decoded),
                Err(_) => return Principal::Invalid,
            }
        } else {
            return Principal::Invalid;
        };
        let offered = digest(&secret);
        let mut found: Option<&Hashed> = None;
        for candidate in list {
            // Compare all of them; no early exit.
            if bool::from(candidate.digest.ct_eq(&offered)) && found.is_none() {
                found = Some(candidate);
            }
        }
        match found {
            Some(c) => Principal::Named {
                name: c.name.clone(),
                modules: c.modules.clone(),
            },
            None => Principal::Invalid,
        }
    }

    /// Whether `principal` may see `module`; `Err` carries why not.
    /// Is `module` private only by another spelling of a private path (a
    /// case variant or a `.git` form)? Counted apart as an alias attempt.
    pub fn is_private_alias(&self, module: &str) -> bool {
        !self.private.trim().is_empty()
            && goxy_mod::pattern::is_private_alias(&self.private, module)
    }

    /// May `principal` read `module` as a private module (its own scope
    /// covers it, whatever the private patterns are)?
    pub fn allows_private(&self, principal: &Principal, module: &str) -> bool {
        matches!(principal, Principal::Named { modules, .. } if matches(modules, module))
    }

    pub fn allows(&self, principal: &Principal, module: &str) -> Result<(), Denial> {
        match principal {
            Principal::Invalid => Err(Denial::BadCredentials),
            Principal::Named { modules, .. } if matches(modules, module) => Ok(()),
            Principal::Named { .. } if matches(&self.private, module) => Err(Denial::NotAllowed),
            Principal::Named { .. } => Ok(()),
            Principal::Anonymous if self.required => Err(Denial::Unauthenticated),
            Principal::Anonymous if matches(&self.private, module) => Err(Denial::NotAllowed),
            Principal::Anonymous => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No credentials where they are required: 401.
    Unauthenticated,
    /// Credentials that match nothing: 401.
    BadCredentials,
    /// A private module the principal may not see: `deny_status` (404 by default).
    NotAllowed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(required: bool) -> AuthSettings {
        AuthSettings {
            required,
            deny_status: 404,
            private: "corp.example.com,*.internal.example".into(),
            tokens: vec![
                Credential {
                    name: "ci".into(),
                    secret: "s3cret-token-1".into(),
                    modules: "corp.example.com/team".into(),
                },
                Credential {
                    name: "all".into(),
                    secret: "s3cret-token-2".into(),
                    modules: "corp.example.com,*.internal.example".into(),
                },
            ],
            users: vec![Credential {
                name: "alice".into(),
                secret: "pa55word!".into(),
                modules: "git.internal.example".into(),
            }],
        }
    }

    fn basic(user_pass: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
        .into_bytes()
    }

    #[test]
    fn principals_from_headers() {
        let auth = Authenticator::new(&settings(false));
        assert_eq!(auth.principal(None), Principal::Anonymous);
        assert_eq!(
            auth.principal(Some(b"Bearer s3cret-token-1")).log_name(),
            "ci"
        );
        assert_eq!(
            auth.principal(Some(b"bearer  s3cret-token-2 ")).log_name(),
            "all"
        );
        assert_eq!(
            auth.principal(Some(b"Bearer s3cret-token-")),
            Principal::Invalid
        );
        assert_eq!(
            auth.principal(Some(b"Bearer s3cret-token-11")),
            Principal::Invalid
        );
        assert_eq!(
            auth.principal(Some(&basic("alice:pa55word!"))).log_name(),
            "alice"
        );
        assert_eq!(
            auth.principal(Some(&basic("alice:pa55word"))),
            Principal::Invalid
        );
        assert_eq!(
            auth.principal(Some(&basic("ci:s3cret-token-1"))),
            Principal::Invalid
        );
        assert_eq!(auth.principal(Some(b"Basic !!!")), Principal::Invalid);
        assert_eq!(auth.principal(Some(b"Digest x")), Principal::Invalid);
        assert_eq!(auth.principal(Some(&[0xff, 0xfe])), Principal::Invalid);
        // The secret never appears in the debug form either.
        assert!(
            !format!("{:?}", auth.principal(Some(b"Bearer s3cret-token-1"))).contains("s3cret")
        );
    }

    #[test]
    fn scopes_gate_private_modules_only() {
        let auth = Authenticator::new(&settings(false));
        let ci = auth.principal(Some(b"Bearer s3cret-token-1"));
        let all = auth.principal(Some(b"Bearer s3cret-token-2"));
        let alice = auth.principal(Some(&basic("alice:pa55word!")));
        let anon = Principal::Anonymous;
        assert_eq!(auth.allows(&anon, "github.com/pkg/errors"), Ok(()));
        assert_eq!(
            auth.allows(&anon, "corp.example.com/team/x"),
            Err(Denial::NotAllowed)
        );
        assert_eq!(auth.allows(&ci, "corp.example.com/team/x"), Ok(()));
        assert_eq!(
            auth.allows(&ci, "corp.example.com/other"),
            Err(Denial::NotAllowed)
        );
        assert_eq!(auth.allows(&ci, "github.com/pkg/errors"), Ok(()));
        assert_eq!(auth.allows(&all, "git.internal.example/x/y"), Ok(()));
        assert_eq!(auth.allows(&alice, "git.internal.example/x/y"), Ok(()));
        assert_eq!(
            auth.allows(&alice, "corp.example.com/team/x"),
            Err(Denial::NotAllowed)
        );
        assert_eq!(
            auth.allows(&Principal::Invalid, "github.com/pkg/errors"),
            Err(Denial::BadCredentials)
        );
    }

    #[test]
    fn required_auth_refuses_anonymous() {
        let auth = Authenticator::new(&settings(true));
        assert_eq!(
            auth.allows(&Principal::Anonymous, "github.com/pkg/errors"),
            Err(Denial::Unauthenticated)
        );
        let ci = auth.principal(Some(b"Bearer s3cret-token-1"));
        assert_eq!(auth.allows(&ci, "github.com/pkg/errors"), Ok(()));
    }
}

//! Everything in front of [`App`]: request ids, `/metrics`, client rate
//! limits, the principal, and afterwards the request metrics and the audit
//! line. Module-level policy (auth scopes, per-module limits) runs inside the
//! app through [`ModuleGuard`], after routing and before any cache lookup.

use crate::app::{text, App, SourceUsed};
use crate::audit::{self, AuditLog, AuditRecord};
use crate::auth::{Authenticator, Denial, Principal};
use crate::limits::{retry_after_secs, RateLimiter};
use crate::metrics::{Endpoint, Metrics, Refusal};
use crate::opsconfig::OpsConfig;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Body as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

type Body = Full<Bytes>;

/// Checks a module request before the cache is consulted; `Some` is the
/// refusal to send instead.
pub trait ModuleGuard: Send + Sync {
    fn check(&self, module: &str, extensions: &http::Extensions) -> Option<Response<Body>>;

    /// For an artifact committed as private: refuses unless the principal's
    /// scope covers `module` (when auth is configured at all).
    fn check_private(&self, module: &str, extensions: &http::Extensions) -> Option<Response<Body>>;
}

fn too_many(what: &str, wait: std::time::Duration) -> Response<Body> {
    let secs = retry_after_secs(wait);
    let mut resp = text(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("too many requests {what}; retry after {secs} s"),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

impl Guard {
    /// The refusal of a module the principal may not read: `deny_status`,
    /// 404 by default (the answer for a module that does not exist).
    fn not_allowed(&self, module: &str) -> Response<Body> {
        if self.auth.deny_status() == 403 {
            text(
                StatusCode::FORBIDDEN,
                &format!("forbidden: {module}: not allowed for this principal"),
            )
        } else {
            text(
                StatusCode::NOT_FOUND,
                &format!("not found: {module}: unknown module"),
            )
        }
    }
}

/// Auth scopes and per-module rate limits.
pub struct Guard {
    auth: Arc<Authenticator>,
    module_limit: Option<RateLimiter<String>>,
    metrics: Arc<Metrics>,
}

impl ModuleGuard for Guard {
    fn check_private(&self, module: &str, extensions: &http::Extensions) -> Option<Response<Body>> {
        if !self.auth.enabled() {
            return None;
        }
        let principal = extensions
            .get::<Principal>()
            .unwrap_or(&Principal::Anonymous);
        if self.auth.allows_private(principal, module) {
            return None;
        }
        self.metrics.refused(Refusal::NotAllowed);
        Some(self.not_allowed(module))
    }

    fn check(&self, module: &str, extensions: &http::Extensions) -> Option<Response<Body>> {
        if self.auth.enabled() {
            let principal = extensions
                .get::<Principal>()
                .unwrap_or(&Principal::Anonymous);
            if let Err(denial) = self.auth.allows(principal, module) {
                return Some(match denial {
                    Denial::Unauthenticated | Denial::BadCredentials => {
                        self.metrics.refused(if denial == Denial::Unauthenticated {
                            Refusal::Unauthenticated
                        } else {
                            Refusal::BadCredentials
                        });
                        let mut resp = text(
                            StatusCode::UNAUTHORIZED,
                            "unauthorized: send a bearer token or basic auth credentials",
                        );
                        resp.headers_mut().insert(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Basic realm=\"goxy\""),
                        );
                        resp
                    }
                    Denial::NotAllowed => {
                        self.metrics.refused(if self.auth.is_private_alias(module) {
                            Refusal::PrivateAlias
                        } else {
                            Refusal::NotAllowed
                        });
                        self.not_allowed(module)
                    }
                });
            }
        }
        if let Some(limiter) = &self.module_limit {
            if let Err(wait) = limiter.check(&module.to_string(), Instant::now()) {
                self.metrics.refused(Refusal::RateLimitModule);
                return Some(too_many("for this module", wait));
            }
        }
        None
    }
}

pub struct Front {
    app: Arc<App>,
    metrics: Arc<Metrics>,
    audit: Option<AuditLog>,
    auth: Arc<Authenticator>,
    client_limit: Option<RateLimiter<IpAddr>>,
    trusted_proxies: Vec<crate::forwarded::Cidr>,
}

impl Front {
    /// Wraps `app` (installing the module guard) with the policies of `ops`.
    pub fn new(app: App, ops: &OpsConfig, audit: Option<AuditLog>) -> Front {
        let auth = Arc::new(Authenticator::new(&ops.auth));
        let metrics = app.metrics.clone();
        let guard = Guard {
            auth: auth.clone(),
            module_limit: RateLimiter::new(ops.module_limit),
            metrics: metrics.clone(),
        };
        let app = Arc::new(app.with_guard(Arc::new(guard)));
        Front {
            app,
            metrics,
            audit,
            auth,
            client_limit: RateLimiter::new(ops.client_limit),
            trusted_proxies: ops.trusted_proxies.clone(),
        }
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    pub async fn handle<B>(&self, mut req: Request<B>, peer: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let request_id = audit::request_id(req.headers().get("x-request-id").map(|v| v.as_bytes()));
        // Cheap clones (shared bytes), kept for the metrics and the audit line.
        let method = req.method().clone();
        let uri = req.uri().clone();
        let path = uri.path();
        // Probes and scrapes are never throttled.
        let probe = matches!(path, "/healthz" | "/readyz" | "/metrics");
        let principal = if self.auth.enabled() {
            self.auth.principal(
                req.headers()
                    .get(header::AUTHORIZATION)
                    .map(|v| v.as_bytes()),
            )
        } else {
            Principal::Anonymous
        };
        // Behind a trusted reverse proxy the client is named by X-Forwarded-For.
        let client = if self.trusted_proxies.is_empty() {
            peer.ip()
        } else {
            crate::forwarded::client_ip(
                peer.ip(),
                req.headers()
                    .get_all("x-forwarded-for")
                    .iter()
                    .map(|v| v.as_bytes()),
                &self.trusted_proxies,
            )
        };
        let limited = if probe {
            None
        } else {
            self.client_limit
                .as_ref()
                .and_then(|l| l.check(&client, Instant::now()).err())
        };
        let mut resp = if let Some(wait) = limited {
            self.metrics.refused(Refusal::RateLimitClient);
            let mut r = too_many("from this client address", wait);
            r.extensions_mut().insert(Endpoint::of_path(path));
            r
        } else if path == "/metrics" {
            let mut text = self.metrics.render(self.app.chain());
            crate::metrics::render_sumdb(&mut text, &self.app.sumdb_statuses());
            let mut r = Response::new(Full::new(Bytes::from(text)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r.extensions_mut().insert(Endpoint::Metrics);
            r
        } else {
            // Only the guard reads the principal; without auth, skip the
            // extension map's allocation on the hot path.
            if self.auth.enabled() {
                req.extensions_mut().insert(principal.clone());
            }
            self.app.handle(req).await
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        let status = resp.status().as_u16();
        let bytes = if method == Method::HEAD {
            0
        } else {
            resp.body().size_hint().exact().unwrap_or(0)
        };
        let endpoint = resp
            .extensions()
            .get::<Endpoint>()
            .copied()
            .unwrap_or(Endpoint::Invalid);
        self.metrics.request(endpoint, status, bytes);
        if let Some(audit) = &self.audit {
            let cache = resp
                .headers()
                .get("x-goxy-cache")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            let source = match resp.extensions().get::<SourceUsed>() {
                Some(SourceUsed(s)) => s.as_ref(),
                None if cache == "hit" => "cache",
                None => "-",
            };
            let record = AuditRecord {
                time: audit::rfc3339(SystemTime::now()),
                request_id: &request_id,
                client: if client == peer.ip() {
                    peer.to_string()
                } else {
                    client.to_string()
                },
                principal: principal.log_name(),
                method: method.as_str(),
                path,
                status,
                bytes,
                cache,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                source,
            };
            audit.record(&record).await;
        }
        resp
    }
}

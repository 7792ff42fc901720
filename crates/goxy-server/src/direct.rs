//! Direct fetching from version control (goxy-git) as the chain's `direct`
//! source: for `direct` in the upstream list, and for private modules, which
//! never go to an upstream proxy.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use goxy_fetch::{DirectSource, FetchError, Want};
use goxy_git::{DirectError, DirectFetcher};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct DirectArgs {
    /// Modules whose repositories may be fetched over plain http or with
    /// unverified TLS (GOINSECURE syntax; default: GOINSECURE).
    #[arg(long, env = "GOXY_INSECURE", value_name = "PATTERNS")]
    pub insecure: Option<String>,
    /// Allow git hosts on loopback, private and link-local addresses (an
    /// internal git server). Denied by default: module paths come from clients.
    #[arg(long, env = "GOXY_DIRECT_ALLOW_PRIVATE")]
    pub direct_allow_private: bool,
}

/// `[direct]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDirect {
    pub insecure: Option<String>,
    pub allow_private_addresses: Option<bool>,
    pub allow_ssh: Option<bool>,
    /// Seconds one git command may take.
    pub git_timeout: Option<u64>,
    /// Fetch the rest of a repository in the background after a first
    /// depth-1 tag fetch (default true).
    pub complete_in_background: Option<bool>,
    /// MiB of prepared zip entries kept for reuse by the next version (default 128; 0 disables).
    pub zip_reuse_mib: Option<u64>,
    /// Repositories for module prefixes whose hosts serve no go-import page.
    #[serde(default)]
    pub repos: Vec<FileRepo>,
    /// Credentials per git host (in addition to `.netrc` and GOXY_GIT_CREDENTIALS).
    #[serde(default)]
    pub credentials: Vec<FileCredential>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRepo {
    pub prefix: String,
    pub url: String,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCredential {
    pub host: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for FileCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileCredential({}, <redacted>)", self.host)
    }
}

/// Resolved direct-fetching settings.
#[derive(Debug, Clone, Default)]
pub struct DirectSettings {
    pub insecure: String,
    pub allow_private_addresses: bool,
    pub allow_ssh: bool,
    pub git_timeout: Option<Duration>,
    pub complete_in_background: Option<bool>,
    pub zip_reuse_mib: Option<u64>,
    pub repos: Vec<FileRepo>,
    pub credentials: Vec<FileCredential>,
}

impl DirectSettings {
    /// `go_insecure` is GOINSECURE as the go command reads it.
    pub fn resolve(
        args: &DirectArgs,
        file: FileDirect,
        go_insecure: Option<String>,
    ) -> DirectSettings {
        let insecure = args
            .insecure
            .clone()
            .filter(|v| !v.trim().is_empty())
            .or(file.insecure)
            .or(go_insecure)
            .unwrap_or_default();
        DirectSettings {
            insecure,
            allow_private_addresses: args.direct_allow_private
                || file.allow_private_addresses.unwrap_or(false),
            allow_ssh: file.allow_ssh.unwrap_or(false),
            git_timeout: file.git_timeout.map(Duration::from_secs),
            complete_in_background: file.complete_in_background,
            zip_reuse_mib: file.zip_reuse_mib,
            repos: file.repos,
            credentials: file.credentials,
        }
    }
}

/// Builds the direct source with its bare-repository cache under `cache_dir`.
/// `credentialed_modules`: the module patterns whose fetches may carry
/// credentials (the no-proxy patterns, GONOPROXY defaulting to GOPRIVATE).
pub fn build(
    settings: &DirectSettings,
    cache_dir: &Path,
    credentialed_modules: &str,
) -> Result<Arc<dyn DirectSource>, String> {
    let mut cfg = goxy_git::DirectConfig::new(cache_dir.join("direct"));
    cfg.credentialed_modules = Some(credentialed_modules.to_string());
    cfg.insecure = settings.insecure.clone();
    cfg.allow_private_addresses = settings.allow_private_addresses;
    cfg.allow_ssh = settings.allow_ssh;
    if let Some(t) = settings.git_timeout {
        cfg.git_timeout = t;
    }
    if let Some(on) = settings.complete_in_background {
        cfg.complete_in_background = on;
    }
    if let Some(mib) = settings.zip_reuse_mib {
        cfg.zip_reuse_bytes = mib.saturating_mul(1 << 20);
    }
    cfg.repo_overrides = settings
        .repos
        .iter()
        .map(|r| (r.prefix.clone(), r.url.clone()))
        .collect();
    for c in &settings.credentials {
        cfg.credentials.hosts.push(goxy_git::HostCredential {
            host: c.host.clone(),
            username: c.username.clone(),
            password: c.password.clone(),
        });
    }
    let fetcher = DirectFetcher::new(cfg).map_err(|e| format!("direct fetching: {e}"))?;
    Ok(Arc::new(GitDirect(fetcher)))
}

struct GitDirect(DirectFetcher);

fn fetch_error(err: DirectError) -> FetchError {
    if err.is_not_found() {
        FetchError::NotFound(err.to_string())
    } else if err.is_denied() {
        FetchError::Forbidden(err.to_string())
    } else {
        let message = err.to_string();
        let timed_out = message.contains("timed out");
        FetchError::Failed {
            source: "direct".into(),
            message,
            timed_out,
        }
    }
}

fn json(info: &goxy_git::RevInfo) -> Result<Bytes, FetchError> {
    serde_json::to_vec(info)
        .map(Bytes::from)
        .map_err(|e| FetchError::Failed {
            source: "direct".into(),
            message: format!("encode .info: {e}"),
            timed_out: false,
        })
}

impl DirectSource for GitDirect {
    fn fetch<'a>(
        &'a self,
        module: &'a str,
        want: &'a Want,
    ) -> BoxFuture<'a, Result<Bytes, FetchError>> {
        Box::pin(async move {
            let fetcher = &self.0;
            match want {
                Want::List => {
                    let versions = fetcher.list(module).await.map_err(fetch_error)?;
                    Ok(goxy_fetch::validate::list_body(&versions))
                }
                Want::Latest => json(&fetcher.latest(module).await.map_err(fetch_error)?),
                Want::Info(query) => json(&fetcher.stat(module, query).await.map_err(fetch_error)?),
                Want::Mod(version) => Ok(Bytes::from(
                    fetcher.go_mod(module, version).await.map_err(fetch_error)?,
                )),
                Want::Zip(version) => Ok(Bytes::from(
                    fetcher.zip(module, version).await.map_err(fetch_error)?,
                )),
            }
        })
    }
}

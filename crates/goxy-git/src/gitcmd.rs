//! The hardened `git` CLI and the bare-repository cache, one per repository URL.
//!
//! Git is treated as hostile: no system or global config, no hooks, no
//! fsmonitor, no bundle URIs, no submodules, no prompts, only the protocols
//! the egress policy allows, `--end-of-options` before every user-derived
//! argument, and every ref resolved to a commit id before use. Cached repos
//! live under `sha256("git3:" + url)` so a module path never chooses a directory.

use crate::discovery::Pin;
use crate::DirectError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// Remote refs: `HEAD`, `refs/heads/*`, `refs/tags/*` → commit id (tags peeled).
pub type Refs = BTreeMap<String, String>;

/// How git may reach the network and with which secrets.
#[derive(Clone, Default)]
pub struct GitNet {
    /// Value for GIT_ALLOW_PROTOCOL (e.g. `https:ssh`).
    pub allow_protocol: String,
    /// `(origin URL prefix, header value)` pairs for `http.<url>.extraHeader`, passed by environment, never argv.
    pub auth_headers: Vec<(String, String)>,
    /// Private key for ssh remotes.
    pub ssh_key: Option<PathBuf>,
    /// known_hosts file for ssh remotes.
    pub ssh_known_hosts: Option<PathBuf>,
    /// Skip TLS verification (only for hosts matching an insecure pattern).
    pub tls_insecure: bool,
    /// PATH for git and ssh (None: goxy's own).
    pub path_env: Option<std::ffi::OsString>,
}

impl std::fmt::Debug for GitNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitNet")
            .field("allow_protocol", &self.allow_protocol)
            .field(
                "auth_headers",
                &format_args!("[{} redacted]", self.auth_headers.len()),
            )
            .field("ssh_key", &self.ssh_key)
            .finish()
    }
}

/// Facts about one commit.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub hash: String,
    pub short: String,
    /// Committer time, Unix seconds.
    pub time: i64,
    /// Tags (full names without `refs/tags/`) pointing at this commit.
    pub tags: Vec<String>,
    /// The revision name as asked for if it is one of `tags`, else the hash.
    pub version: String,
    /// The ref the query named (`refs/tags/v1.0.0`, `refs/heads/main`, `HEAD`), if any.
    pub origin_ref: Option<String>,
}

/// The last remote view, readable without waiting for a fetch in progress.
#[derive(Default)]
struct SyncState {
    refs: Option<Refs>,
    /// When the remote was asked for the refs of the last sync (its `ls-remote` began).
    synced_at: Option<Instant>,
}

/// A bare repository cache for one remote URL.
pub struct GitRepo {
    pub url: String,
    dir: PathBuf,
    home: PathBuf,
    net: GitNet,
    timeout: Duration,
    /// Held for the whole of a sync (one fetch at a time per repository).
    sync: tokio::sync::Mutex<()>,
    /// Result of the last sync; never held across an await.
    last: std::sync::Mutex<SyncState>,
    /// Addresses from the latest egress check that git must connect to.
    pin: std::sync::Mutex<Option<Pin>>,
    init: tokio::sync::OnceCell<()>,
    /// Set while a background completion of a shallow cache runs.
    pub completing: std::sync::atomic::AtomicBool,
}

pub fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

fn scrub(url: &str, text: &str) -> String {
    // Keep error text short and free of anything credential-shaped.
    // ssh's "@@@" warning banners are dropped, and a long text keeps its end:
    // ssh and git print the decisive line ("Host key verification failed.") last.
    let t: String = text
        .lines()
        .filter(|l| !l.to_ascii_lowercase().contains("authorization"))
        .filter(|l| !l.trim_start().starts_with('@'))
        .collect::<Vec<_>>()
        .join("; ");
    let t = t.replace(url, "<repo>");
    let n = t.chars().count();
    t.chars().skip(n.saturating_sub(600)).collect()
}

impl GitRepo {
    pub fn new(cache_dir: &Path, url: &str, net: GitNet, timeout: Duration) -> Arc<Self> {
        let key = hex::encode(Sha256::digest(format!("git3:{url}").as_bytes()));
        Arc::new(GitRepo {
            url: url.to_string(),
            dir: cache_dir.join("git").join(key),
            home: cache_dir.join("git-home"),
            net,
            timeout,
            sync: tokio::sync::Mutex::new(()),
            last: std::sync::Mutex::new(SyncState::default()),
            pin: std::sync::Mutex::new(None),
            init: tokio::sync::OnceCell::new(),
            completing: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn command(&self, git_dir: &Path) -> Command {
        let mut cmd = Command::new("git");
        cmd.env_clear();
        match &self.net.path_env {
            Some(path) => {
                cmd.env("PATH", path);
            }
            None => {
                if let Some(path) = std::env::var_os("PATH") {
                    cmd.env("PATH", path);
                }
            }
        }
        cmd.env("HOME", &self.home)
            .env("GIT_DIR", git_dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GCM_INTERACTIVE", "never")
            .env("GIT_ASKPASS", "")
            .env("SSH_ASKPASS", "")
            .env("GIT_NO_REPLACE_OBJECTS", "1")
            .env("GIT_PROTOCOL_FROM_USER", "0")
            .env("GIT_ALLOW_PROTOCOL", &self.net.allow_protocol)
            .env("LC_ALL", "C")
            .env("TZ", "UTC");
        let pin = self.pin.lock().ok().and_then(|p| p.clone());
        let ssh = ssh_command(&self.net, &self.home, pin.as_ref());
        cmd.env("GIT_SSH_COMMAND", ssh);
        // Secrets travel in GIT_CONFIG_* variables: never in argv, never on disk.
        let mut n = 0;
        for (origin, header) in &self.net.auth_headers {
            cmd.env(
                format!("GIT_CONFIG_KEY_{n}"),
                format!("http.{origin}.extraHeader"),
            );
            cmd.env(format!("GIT_CONFIG_VALUE_{n}"), header);
            n += 1;
        }
        if let Some(Pin::Curl(pin)) = pin {
            cmd.env(format!("GIT_CONFIG_KEY_{n}"), "http.curloptResolve");
            cmd.env(format!("GIT_CONFIG_VALUE_{n}"), pin);
            n += 1;
        }
        if self.net.tls_insecure {
            cmd.env(format!("GIT_CONFIG_KEY_{n}"), "http.sslVerify");
            cmd.env(format!("GIT_CONFIG_VALUE_{n}"), "false");
            n += 1;
        }
        cmd.env("GIT_CONFIG_COUNT", n.to_string());
        cmd.args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.askPass=",
            "-c",
            "transfer.bundleURI=false",
            "-c",
            "protocol.file.allow=never",
            "-c",
            "protocol.ext.allow=never",
            "-c",
            "submodule.recurse=false",
            "-c",
            "fetch.recurseSubmodules=false",
            "-c",
            "http.followRedirects=false",
            "-c",
            "credential.helper=",
            "-c",
            "core.sshCommand=",
            "-c",
            "log.showsignature=false",
            "-c",
            "core.autocrlf=input",
            "-c",
            "core.eol=lf",
        ]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs git in this repository; Err carries git's (scrubbed) stderr.
    async fn run(&self, args: &[&str], limit: u64) -> Result<Vec<u8>, GitFailure> {
        self.run_in(&self.dir, args, limit).await
    }

    async fn run_in(
        &self,
        git_dir: &Path,
        args: &[&str],
        limit: u64,
    ) -> Result<Vec<u8>, GitFailure> {
        self.run_full(git_dir, args, None, limit).await
    }

    /// Runs git with `input` on its standard input.
    async fn run_with_input(
        &self,
        args: &[&str],
        input: Vec<u8>,
        limit: u64,
    ) -> Result<Vec<u8>, GitFailure> {
        self.run_full(&self.dir, args, Some(input), limit).await
    }

    async fn run_full(
        &self,
        git_dir: &Path,
        args: &[&str],
        input: Option<Vec<u8>>,
        limit: u64,
    ) -> Result<Vec<u8>, GitFailure> {
        let mut cmd = self.command(git_dir);
        cmd.args(args);
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(|e| GitFailure::Spawn(e.to_string()))?;
        // Written from its own task so a large input never blocks reading the output.
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt as _;
                let _ = stdin.write_all(&input).await;
            });
        }
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| GitFailure::Spawn("no stdout".into()))?;
        let mut stderr = child
            .stderr
            .take()
            .ok_or_else(|| GitFailure::Spawn("no stderr".into()))?;
        let work = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let read_out = async {
                (&mut stdout).take(limit + 1).read_to_end(&mut out).await?;
                Ok::<_, std::io::Error>(())
            };
            let read_err = async {
                (&mut stderr).take(64 << 10).read_to_end(&mut err).await?;
                Ok::<_, std::io::Error>(())
            };
            let (a, b) = tokio::join!(read_out, read_err);
            a.and(b).map_err(|e| GitFailure::Spawn(e.to_string()))?;
            if out.len() as u64 > limit {
                return Err(GitFailure::TooLarge);
            }
            let status = child
                .wait()
                .await
                .map_err(|e| GitFailure::Spawn(e.to_string()))?;
            if status.success() {
                Ok(out)
            } else {
                Err(GitFailure::Exit {
                    code: status.code(),
                    stderr: scrub(&self.url, &String::from_utf8_lossy(&err)),
                })
            }
        };
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(GitFailure::Timeout),
        };
        // The URL is the only argument that may carry userinfo; log it redacted.
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if *a == self.url {
                    redact_url(a)
                } else {
                    a.to_string()
                }
            })
            .collect();
        tracing::debug!(target: "goxy_git", args = ?shown, ms = started.elapsed().as_millis() as u64, ok = result.is_ok(), "git");
        result
    }

    async fn ensure_init(&self) -> Result<(), DirectError> {
        self.init
            .get_or_try_init(|| async {
                if self.dir.join("HEAD").is_file() {
                    return Ok(());
                }
                let parent = self
                    .dir
                    .parent()
                    .ok_or_else(|| DirectError::Io("cache dir has no parent".into()))?;
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| DirectError::Io(format!("create {}: {e}", parent.display())))?;
                tokio::fs::create_dir_all(&self.home)
                    .await
                    .map_err(|e| DirectError::Io(format!("create git home: {e}")))?;
                // Initialise beside the final name, then rename: a crash never leaves a half repo.
                let tmp = parent.join(format!(".init-{}-{}", std::process::id(), rand_suffix()));
                let tmp_s = tmp.to_string_lossy().to_string();
                self.run_in(
                    &tmp,
                    &["init", "--bare", "--quiet", "--end-of-options", &tmp_s],
                    1 << 20,
                )
                .await
                .map_err(|e| DirectError::Git(format!("git init: {e}")))?;
                // cmd/go's ensureGitAttributes: export-ignore files are kept and $Format$ is not expanded.
                tokio::fs::create_dir_all(tmp.join("info"))
                    .await
                    .map_err(|e| DirectError::Io(e.to_string()))?;
                tokio::fs::write(
                    tmp.join("info").join("attributes"),
                    "* -export-subst -export-ignore\n",
                )
                .await
                .map_err(|e| DirectError::Io(e.to_string()))?;
                match tokio::fs::rename(&tmp, &self.dir).await {
                    Ok(()) => Ok(()),
                    Err(_) if self.dir.join("HEAD").is_file() => {
                        let _ = tokio::fs::remove_dir_all(&tmp).await;
                        Ok(())
                    }
                    Err(e) => Err(DirectError::Io(format!("install repo cache: {e}"))),
                }
            })
            .await
            .map(|_| ())
    }

    /// `git ls-remote`: the remote's HEAD, branches and tags (tags peeled).
    async fn ls_remote(&self) -> Result<Refs, DirectError> {
        let out = self
            .run(
                &["ls-remote", "-q", "--end-of-options", &self.url],
                64 << 20,
            )
            .await
            .map_err(|e| {
                let text = e.to_string();
                let lower = text.to_ascii_lowercase();
                if lower.contains("not found")
                    || lower.contains("does not appear to be a git repository")
                    || lower.contains(" 404")
                    || lower.contains(" 410")
                {
                    DirectError::NotFound(format!(
                        "repository {} does not exist: {text}",
                        redact_url(&self.url)
                    ))
                } else {
                    DirectError::Git(format!("git ls-remote {}: {text}", redact_url(&self.url)))
                }
            })?;
        let mut refs = Refs::new();
        let mut peeled = Vec::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let Some((hash, name)) = line.split_once('\t') else {
                continue;
            };
            if !is_hex(hash) {
                continue;
            }
            if let Some(tag) = name.strip_suffix("^{}") {
                if tag.starts_with("refs/tags/") {
                    peeled.push((tag.to_string(), hash.to_string()));
                }
                continue;
            }
            if name == "HEAD" || name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
                refs.insert(name.to_string(), hash.to_string());
            }
        }
        for (tag, hash) in peeled {
            refs.insert(tag, hash);
        }
        Ok(refs)
    }

    /// Is any of the commits `hashes` missing from the local object store?
    /// One `cat-file --batch-check` for all of them, however many refs there are.
    async fn missing(&self, hashes: &[&String]) -> Result<bool, DirectError> {
        if hashes.is_empty() {
            return Ok(false);
        }
        let mut input = Vec::with_capacity(hashes.len() * 41);
        for h in hashes {
            input.extend_from_slice(h.as_bytes());
            input.push(b'\n');
        }
        let out = self
            .run_with_input(
                &["cat-file", "--batch-check=%(objecttype)"],
                input,
                64 << 20,
            )
            .await
            .map_err(|e| DirectError::Git(format!("git cat-file --batch-check: {e}")))?;
        // Present commits print "commit"; absent ones "<id> missing". Tags are peeled ids.
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .any(|l| l.trim() != "commit"))
    }

    /// Brings the cache up to date with the remote: `ls-remote`, then an
    /// incremental fetch of all branches and tags only if something is new.
    /// Concurrent callers share one sync; readers of local objects never wait.
    pub async fn sync(&self) -> Result<Refs, DirectError> {
        self.ensure_init().await?;
        let asked_at = Instant::now();
        let _guard = self.sync.lock().await;
        if let Ok(last) = self.last.lock() {
            if let (Some(refs), Some(at)) = (&last.refs, last.synced_at) {
                // Shared only if its remote view was taken after this caller asked.
                if at >= asked_at {
                    return Ok(refs.clone());
                }
            }
        }
        // A caller that asks after this point must not take this sync's view as fresh.
        let viewed_at = Instant::now();
        let refs = self.ls_remote().await?;
        let mut tips: Vec<&String> = refs.values().collect();
        tips.sort();
        tips.dedup();
        // A shallow cache (left by a single-version fetch) hides ancestry: complete it.
        let shallow = self.is_shallow();
        if shallow || self.missing(&tips).await? {
            let mut args = vec![
                "-c",
                "protocol.version=2",
                "fetch",
                "-f",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--no-recurse-submodules",
            ];
            if shallow {
                args.push("--unshallow");
            }
            args.extend([
                "--end-of-options",
                &self.url,
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ]);
            self.run(&args, 1 << 20).await.map_err(|e| {
                DirectError::Git(format!("git fetch {}: {e}", redact_url(&self.url)))
            })?;
        }
        if let Ok(mut last) = self.last.lock() {
            last.refs = Some(refs.clone());
            last.synced_at = Some(viewed_at);
        }
        Ok(refs)
    }

    /// Pins the host's addresses for git's connections (from the egress check).
    pub fn set_resolve_pin(&self, pin: Option<Pin>) {
        if let Ok(mut p) = self.pin.lock() {
            *p = pin;
        }
    }

    /// Is the cache a shallow clone (history incomplete)?
    pub fn is_shallow(&self) -> bool {
        self.dir.join("shallow").exists()
    }

    /// Fetches one tag with depth 1 (what a first request for a tagged
    /// version needs: its tree, not its history) and records it in the
    /// cached view. Any later operation needing history runs a full `sync`,
    /// which completes the shallow cache.
    pub async fn fetch_tag(&self, tag: &str) -> Result<String, DirectError> {
        self.ensure_init().await?;
        let _guard = self.sync.lock().await;
        let full = format!("refs/tags/{tag}");
        if let Some(h) = self.resolve_local(&full).await {
            return Ok(h);
        }
        let refspec = format!("+{full}:{full}");
        let mut args = vec![
            "-c",
            "protocol.version=2",
            "fetch",
            "-f",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
        ];
        // Depth 1 only into an empty or already shallow cache; a complete cache stays complete.
        let empty =
            self.last.lock().ok().is_none_or(|l| l.refs.is_none()) && !self.has_any_ref().await;
        if empty || self.is_shallow() {
            args.push("--depth=1");
        }
        args.extend(["--end-of-options", &self.url, &refspec]);
        self.run(&args, 1 << 20)
            .await
            .map_err(|e| DirectError::NotFound(format!("fetching tag {tag}: {e}")))?;
        let hash = self
            .resolve_local(&full)
            .await
            .ok_or_else(|| DirectError::NotFound(format!("unknown revision {tag}")))?;
        if let Ok(mut last) = self.last.lock() {
            if let Some(refs) = last.refs.as_mut() {
                refs.insert(full, hash.clone());
            }
        }
        Ok(hash)
    }

    async fn has_any_ref(&self) -> bool {
        self.run(
            &["for-each-ref", "--count=1", "--format=%(refname)"],
            1 << 10,
        )
        .await
        .map(|o| !o.is_empty())
        .unwrap_or(false)
    }

    /// Refs as the local cache knows them (no network): the last synced remote
    /// view if any, else the local branches and tags.
    pub async fn local_refs(&self) -> Result<Refs, DirectError> {
        self.ensure_init().await?;
        let cached = self.last.lock().ok().and_then(|l| l.refs.clone());
        if let Some(refs) = cached {
            return Ok(refs);
        }
        let out = self
            .run(
                &[
                    "for-each-ref",
                    "--format=%(objectname) %(refname) %(*objectname)",
                    "refs/heads",
                    "refs/tags",
                ],
                64 << 20,
            )
            .await
            .map_err(|e| DirectError::Git(format!("git for-each-ref: {e}")))?;
        let mut refs = Refs::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let mut f = line.split(' ');
            let (Some(obj), Some(name)) = (f.next(), f.next()) else {
                continue;
            };
            let peeled = f.next().filter(|p| !p.is_empty()).unwrap_or(obj);
            refs.insert(name.to_string(), peeled.to_string());
        }
        Ok(refs)
    }

    /// Resolves an object-name expression to a local commit id.
    pub async fn resolve_local(&self, rev: &str) -> Option<String> {
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .run(
                &["rev-parse", "--verify", "-q", "--end-of-options", &spec],
                1 << 10,
            )
            .await
            .ok()?;
        let h = String::from_utf8_lossy(&out).trim().to_string();
        is_hex(&h).then_some(h)
    }

    /// `statLocal`: commit facts for a resolved commit id.
    pub async fn commit_info(
        &self,
        hash: &str,
        refs: &Refs,
        version: &str,
        origin_ref: Option<String>,
    ) -> Result<CommitInfo, DirectError> {
        let out = self
            .run(
                &[
                    "log",
                    "--no-decorate",
                    "-n1",
                    "--format=format:%H %ct",
                    "--end-of-options",
                    hash,
                    "--",
                ],
                1 << 10,
            )
            .await
            .map_err(|_| DirectError::NotFound(format!("unknown revision {version}")))?;
        let text = String::from_utf8_lossy(&out);
        let mut f = text.split_whitespace();
        let (Some(h), Some(t)) = (f.next(), f.next()) else {
            return Err(DirectError::Git(format!(
                "unexpected response from git log: {text:?}"
            )));
        };
        let time: i64 = t
            .parse()
            .map_err(|_| DirectError::Git(format!("invalid time from git log: {text:?}")))?;
        let mut tags: Vec<String> = refs
            .iter()
            .filter(|(_, c)| c.as_str() == h)
            .filter_map(|(name, _)| name.strip_prefix("refs/tags/").map(str::to_string))
            .collect();
        tags.sort();
        tags.dedup();
        let version = if tags.iter().any(|t| t == version) {
            version.to_string()
        } else {
            h.to_string()
        };
        Ok(CommitInfo {
            hash: h.to_string(),
            short: h.chars().take(12).collect(),
            time,
            tags,
            version,
            origin_ref,
        })
    }

    /// `git cat-file blob <commit>:<path>`; None when the file does not exist (or is not a blob).
    pub async fn read_file(
        &self,
        commit: &str,
        path: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, DirectError> {
        let spec = format!("{commit}:{path}");
        match self
            .run(&["cat-file", "blob", "--end-of-options", &spec], limit)
            .await
        {
            Ok(data) => Ok(Some(data)),
            Err(GitFailure::TooLarge) => Err(DirectError::Invalid(format!(
                "{path} at {commit} is larger than {limit} bytes"
            ))),
            Err(GitFailure::Exit { .. }) => Ok(None),
            Err(e) => Err(DirectError::Git(format!("git cat-file {path}: {e}"))),
        }
    }

    /// Tags reachable from `commit` (`for-each-ref --merged`), names without `refs/tags/`.
    pub async fn tags_merged(&self, commit: &str) -> Result<Vec<String>, DirectError> {
        let merged = format!("--merged={commit}");
        let out = self
            .run(
                &["for-each-ref", "--format=%(refname)", &merged, "refs/tags"],
                64 << 20,
            )
            .await
            .map_err(|e| DirectError::Git(format!("git for-each-ref --merged: {e}")))?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("refs/tags/").map(str::to_string))
            .collect())
    }

    /// Is `ancestor` an ancestor of (or equal to) `commit`?
    pub async fn is_ancestor(&self, ancestor: &str, commit: &str) -> Result<bool, DirectError> {
        match self
            .run(
                &[
                    "merge-base",
                    "--is-ancestor",
                    "--end-of-options",
                    ancestor,
                    commit,
                ],
                1 << 10,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(GitFailure::Exit { code: Some(1), .. }) => Ok(false),
            Err(e) => Err(DirectError::Git(format!("git merge-base: {e}"))),
        }
    }

    /// `git ls-tree -r -l` of `commit`, limited to `paths` (literal) when given.
    pub async fn ls_tree(
        &self,
        commit: &str,
        paths: &[&str],
    ) -> Result<Vec<TreeEntry>, DirectError> {
        let mut args = vec![
            "--literal-pathspecs",
            "ls-tree",
            "-r",
            "-l",
            "-z",
            "--full-tree",
            "--end-of-options",
            commit,
        ];
        args.extend_from_slice(paths);
        let out = self
            .run(&args, 256 << 20)
            .await
            .map_err(|e| DirectError::Git(format!("git ls-tree {commit}: {e}")))?;
        parse_ls_tree(&out).map_err(|e| DirectError::Git(format!("git ls-tree {commit}: {e}")))
    }

    /// The contents of blobs by id (`git cat-file --batch`), at most `limit` bytes in all.
    pub async fn read_blobs(
        &self,
        oids: &[&str],
        limit: u64,
    ) -> Result<Vec<(String, Vec<u8>)>, DirectError> {
        if oids.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = Vec::with_capacity(oids.len() * 41);
        for oid in oids {
            if !is_hex(oid) {
                return Err(DirectError::Git(format!("not an object id: {oid:?}")));
            }
            input.extend_from_slice(oid.as_bytes());
            input.push(b'\n');
        }
        // Headers and separators add about 60 bytes per blob.
        let limit = limit.saturating_add(oids.len() as u64 * 64);
        let out = match self
            .run_with_input(&["cat-file", "--batch"], input, limit)
            .await
        {
            Ok(out) => out,
            Err(GitFailure::TooLarge) => {
                return Err(DirectError::Invalid("module source tree too large".into()))
            }
            Err(e) => return Err(DirectError::Git(format!("git cat-file --batch: {e}"))),
        };
        parse_cat_file_batch(&out).map_err(|e| DirectError::Git(format!("git {e}")))
    }

    /// `git archive --format=zip` of `commit`, limited to `dir` when non-empty.
    pub async fn archive(
        &self,
        commit: &str,
        dir: &str,
        limit: u64,
    ) -> Result<Vec<u8>, DirectError> {
        // `-0` stores entries uncompressed: goxy unpacks this archive at once
        // and deflates the module zip itself, so compressing here is wasted work.
        let mut args = vec![
            "archive",
            "--format=zip",
            "-0",
            "--prefix=prefix/",
            "--end-of-options",
            commit,
        ];
        // After --end-of-options every argument is a pathspec; no "--" needed (it would be a pathspec itself).
        if !dir.is_empty() {
            args.push(dir);
        }
        match self.run(&args, limit).await {
            Ok(z) => Ok(z),
            Err(GitFailure::TooLarge) => {
                Err(DirectError::Invalid("downloaded zip file too large".into()))
            }
            Err(GitFailure::Exit { stderr, .. }) if stderr.contains("did not match any files") => {
                Err(DirectError::NotFound(format!(
                    "directory {dir:?} does not exist at {commit}"
                )))
            }
            Err(e) => Err(DirectError::Git(format!("git archive: {e}"))),
        }
    }
}

/// The `GIT_SSH_COMMAND` for a repository: no config file, no agent, host
/// keys always checked, only the configured key offered; with a pin, the
/// connection goes to the checked address while the host key is still
/// checked under the host's name.
fn ssh_command(net: &GitNet, home: &Path, pin: Option<&Pin>) -> String {
    // ssh takes `~` from the passwd entry, not $HOME, so the defaults are
    // explicit: without them ssh would read the service user's own
    // ~/.ssh/known_hosts and offer its ~/.ssh/id_* keys.
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let mut ssh = "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
                   -o ProxyCommand=none -o IdentityAgent=none -o IdentitiesOnly=yes"
        .to_string();
    let default_known_hosts = home.join(".ssh").join("known_hosts");
    let known_hosts = net
        .ssh_known_hosts
        .as_deref()
        .unwrap_or(&default_known_hosts);
    ssh.push_str(&format!(
        " -o UserKnownHostsFile={}",
        quote(&known_hosts.display().to_string())
    ));
    match &net.ssh_key {
        Some(key) => ssh.push_str(&format!(" -i {}", quote(&key.display().to_string()))),
        None => ssh.push_str(" -o IdentityFile=none"),
    }
    if let Some(Pin::Ssh { addr, alias }) = pin {
        ssh.push_str(&format!(
            " -o HostName={} -o HostKeyAlias={}",
            quote(addr),
            quote(alias)
        ));
    }
    ssh
}

/// One entry of `git ls-tree -r -l -z`.
#[derive(Debug, Clone)]
pub struct TreeEntry {
    /// Git file mode (`0o100644`, `0o100755`, `0o120000`, `0o160000` …).
    pub mode: u32,
    pub oid: String,
    /// Blob size; 0 for entries that are not blobs.
    pub size: u64,
    /// Raw path bytes from the repository root (git names need not be UTF-8).
    pub path: Vec<u8>,
}

/// Parses `git ls-tree -r -l -z` output: `<mode> SP <type> SP <oid> SP+ <size> TAB <path> NUL`.
pub fn parse_ls_tree(out: &[u8]) -> Result<Vec<TreeEntry>, String> {
    let mut entries = Vec::new();
    for record in out.split(|&c| c == 0).filter(|r| !r.is_empty()) {
        let tab = record
            .iter()
            .position(|&c| c == b'\t')
            .ok_or("ls-tree record without a tab")?;
        let (meta, path) = (&record[..tab], &record[tab + 1..]);
        let meta = std::str::from_utf8(meta).map_err(|_| "ls-tree metadata is not text")?;
        let mut f = meta.split_ascii_whitespace();
        let (Some(mode), Some(_kind), Some(oid), Some(size)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(format!("malformed ls-tree record {meta:?}"));
        };
        let mode = u32::from_str_radix(mode, 8).map_err(|_| format!("bad mode in {meta:?}"))?;
        // SHA-1 or SHA-256 object names only.
        if !matches!(oid.len(), 40 | 64) || !is_hex(oid) {
            return Err(format!("bad object id in {meta:?}"));
        }
        let size = if size == "-" {
            0
        } else {
            size.parse().map_err(|_| format!("bad size in {meta:?}"))?
        };
        entries.push(TreeEntry {
            mode,
            oid: oid.to_string(),
            size,
            path: path.to_vec(),
        });
    }
    Ok(entries)
}

/// Parses `git cat-file --batch` output for blobs: `<oid> blob <size> LF <data> LF`, repeated.
pub fn parse_cat_file_batch(mut out: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut blobs = Vec::new();
    while !out.is_empty() {
        let nl = out
            .iter()
            .position(|&c| c == b'\n')
            .ok_or("cat-file header without newline")?;
        let header = std::str::from_utf8(&out[..nl]).map_err(|_| "cat-file header is not text")?;
        let mut f = header.split(' ');
        let (Some(oid), Some(kind), Some(size)) = (f.next(), f.next(), f.next()) else {
            return Err(format!("cat-file: {header:?}"));
        };
        if kind != "blob" {
            return Err(format!("cat-file: {oid} is a {kind}, not a blob"));
        }
        let size: usize = size
            .parse()
            .map_err(|_| format!("cat-file: bad size in {header:?}"))?;
        let body = out
            .get(nl + 1..nl + 1 + size)
            .ok_or("cat-file output truncated")?;
        if out.get(nl + 1 + size) != Some(&b'\n') {
            return Err("cat-file record not terminated".into());
        }
        blobs.push((oid.to_string(), body.to_vec()));
        out = &out[nl + 2 + size..];
    }
    Ok(blobs)
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A URL for messages: userinfo removed.
pub fn redact_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut p) => {
            let _ = p.set_username("");
            let _ = p.set_password(None);
            p.to_string()
        }
        Err(_) => "<unparseable url>".into(),
    }
}

#[derive(Debug)]
pub enum GitFailure {
    Spawn(String),
    Exit { code: Option<i32>, stderr: String },
    TooLarge,
    Timeout,
}

impl std::fmt::Display for GitFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitFailure::Spawn(e) => write!(f, "cannot run git: {e}"),
            GitFailure::Exit { code, stderr } => write!(f, "exit {code:?}: {stderr}"),
            GitFailure::TooLarge => write!(f, "output too large"),
            GitFailure::Timeout => write!(f, "timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_command_offers_only_the_configured_key_and_pins_the_address() {
        let home = Path::new("/var/cache/goxy/git-home");
        let bare = ssh_command(&GitNet::default(), home, None);
        for want in [
            "-F /dev/null",
            "StrictHostKeyChecking=yes",
            "IdentityAgent=none",
            "IdentityFile=none",
            "UserKnownHostsFile='/var/cache/goxy/git-home/.ssh/known_hosts'",
        ] {
            assert!(bare.contains(want), "{want} missing: {bare}");
        }
        assert!(!bare.contains("HostName"), "{bare}");
        let net = GitNet {
            ssh_key: Some("/keys/it's".into()),
            ssh_known_hosts: Some("/keys/known_hosts".into()),
            ..GitNet::default()
        };
        let pin = Pin::Ssh {
            addr: "192.0.2.7".into(),
            alias: "[git.corp.example]:2222".into(),
        };
        let pinned = ssh_command(&net, home, Some(&pin));
        assert!(pinned.contains(" -i '/keys/it'\\''s'"), "{pinned}");
        assert!(!pinned.contains("IdentityFile=none"), "{pinned}");
        assert!(
            pinned.contains("-o HostName='192.0.2.7' -o HostKeyAlias='[git.corp.example]:2222'"),
            "{pinned}"
        );
        // A curl pin says nothing to ssh.
        let curl = ssh_command(&net, home, Some(&Pin::Curl("h:443:192.0.2.7".into())));
        assert!(!curl.contains("HostName"), "{curl}");
    }

    #[test]
    fn ls_tree_records_parse_with_raw_names() {
        let out = b"100644 blob e69de29bb2d1d6434b8b29ae775ad8c2e48c5391       0\tgo.mod\0\
120000 blob 1234567890123456789012345678901234567890      4\tlink\0\
160000 commit 1234567890123456789012345678901234567890       -\tsub\0\
100755 blob 1234567890123456789012345678901234567890     12\ta\tb\xff\0";
        let e = parse_ls_tree(out).expect("parse");
        assert_eq!(e.len(), 4);
        assert_eq!((e[0].mode, e[0].size), (0o100644, 0));
        assert_eq!((e[1].mode, e[2].mode, e[2].size), (0o120000, 0o160000, 0));
        assert_eq!(e[3].path, b"a\tb\xff");
        for bad in [
            &b"100644 blob e69d 0\tx\0"[..],
            b"100644 blob e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0 x\0",
            b"10z644 blob e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tx\0",
        ] {
            assert!(
                parse_ls_tree(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn cat_file_batch_output_parses_and_truncation_is_an_error() {
        let out = b"aaaa blob 3\nabc\nbbbb blob 0\n\n";
        let blobs = parse_cat_file_batch(out).expect("parse");
        assert_eq!(
            blobs,
            [
                ("aaaa".to_string(), b"abc".to_vec()),
                ("bbbb".to_string(), vec![])
            ]
        );
        assert!(parse_cat_file_batch(b"aaaa blob 5\nabc\n").is_err());
        assert!(parse_cat_file_batch(b"aaaa missing\n").is_err());
        assert!(parse_cat_file_batch(b"aaaa tree 3\nabc\n").is_err());
        assert!(parse_cat_file_batch(b"aaaa blob 3\nabcX").is_err());
    }
}

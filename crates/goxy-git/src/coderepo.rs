//! Versions, revisions, go.mod and zips of one module inside one git
//! repository — the direct-mode rules of cmd/go's `codeRepo` (protocol.md
//! §1.3, §1.7, §1.12–§1.14, §2.8, §4, §5.4–§5.6).

use crate::gitcmd::{is_hex, CommitInfo, GitRepo, Refs, TreeEntry};
use crate::reuse::{EntryIndex, ZipReuse};
use crate::zipbuild::{self, FileKind, SourceFile, MAX_GO_MOD, MAX_ZIP_FILE};
use crate::{gomod, modpath, semver, DirectError};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Arc;

pub struct CodeRepo {
    pub git: Arc<GitRepo>,
    pub mod_path: String,
    pub code_root: String,
    pub code_dir: String,
    pub path_prefix: String,
    pub path_major: String,
    pub pseudo_major: String,
    pub refs: Refs,
    /// Prepared entries of earlier zips; None builds every zip with `git archive`.
    pub reuse: Option<ZipReuse>,
}

fn has_path_prefix(s: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || s == prefix
        || (s.starts_with(prefix)
            && (prefix.ends_with('/') || s.as_bytes().get(prefix.len()) == Some(&b'/')))
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

/// `isMajor`: is the declared module path's major suffix compatible with `path_major`?
fn is_major(mpath: &str, path_major: &str) -> bool {
    if mpath.is_empty() {
        return false;
    }
    let Some((_, m_major)) = modpath::split_path_version(mpath) else {
        return false;
    };
    if path_major.is_empty() {
        return matches!(
            modpath::path_major_prefix(&m_major).as_str(),
            "" | "v0" | "v1"
        );
    }
    if m_major.is_empty() {
        return false;
    }
    path_major.get(1..) == m_major.get(1..)
}

/// A version a commit resolves to, with the commit.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub version: String,
    pub info: CommitInfo,
}

impl CodeRepo {
    /// `newCodeRepo`.
    pub fn new(
        git: Arc<GitRepo>,
        code_root: &str,
        subdir: &str,
        mod_path: &str,
        refs: Refs,
        reuse: Option<ZipReuse>,
    ) -> Result<Self, DirectError> {
        if !has_path_prefix(mod_path, code_root) {
            return Err(DirectError::NotFound(format!(
                "mismatched repo: found {code_root} for {mod_path}"
            )));
        }
        let (mut path_prefix, path_major) = modpath::split_path_version(mod_path)
            .ok_or_else(|| DirectError::NotFound(format!("invalid module path {mod_path:?}")))?;
        if code_root == mod_path {
            path_prefix = mod_path.to_string();
        }
        let pseudo_major = modpath::path_major_prefix(&path_major);
        let mut code_dir = String::new();
        if code_root != mod_path {
            if !has_path_prefix(&path_prefix, code_root) {
                return Err(DirectError::NotFound(format!(
                    "repository rooted at {code_root} cannot contain module {mod_path}"
                )));
            }
            code_dir = path_prefix[code_root.len()..].trim_matches('/').to_string();
        }
        if !subdir.is_empty() {
            code_dir = join(subdir, &code_dir);
        }
        Ok(CodeRepo {
            git,
            mod_path: mod_path.into(),
            code_root: code_root.into(),
            code_dir,
            path_prefix,
            path_major,
            pseudo_major,
            refs,
            reuse,
        })
    }

    fn tag_prefix(&self) -> String {
        if self.code_dir.is_empty() {
            String::new()
        } else {
            format!("{}/", self.code_dir)
        }
    }

    /// Tag names (without `refs/tags/`) starting with `prefix`, sorted.
    fn tags(&self, prefix: &str) -> Vec<String> {
        self.refs
            .keys()
            .filter_map(|r| r.strip_prefix("refs/tags/"))
            .filter(|t| t.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }

    /// codehost `Stat`: resolves a tag, branch, `HEAD` or hex prefix.
    pub async fn git_stat(&self, rev: &str) -> Result<CommitInfo, DirectError> {
        if rev.len() >= 7 && rev.len() <= 40 && is_hex(rev) {
            if let Some(h) = self.git.resolve_local(rev).await {
                return self.git.commit_info(&h, &self.refs, rev, None).await;
            }
        }
        for (full, version) in [
            (format!("refs/tags/{rev}"), rev),
            (format!("refs/heads/{rev}"), rev),
        ] {
            if let Some(h) = self.refs.get(&full) {
                return self
                    .git
                    .commit_info(h, &self.refs, version, Some(full.clone()))
                    .await;
            }
        }
        if rev == "HEAD" {
            if let Some(h) = self.refs.get("HEAD") {
                return self
                    .git
                    .commit_info(h, &self.refs, rev, Some("HEAD".into()))
                    .await;
            }
        }
        Err(DirectError::NotFound(format!("unknown revision {rev}")))
    }

    async fn read_at(&self, commit: &str, file: &str) -> Result<Option<Vec<u8>>, DirectError> {
        self.git.read_file(commit, file, MAX_GO_MOD).await
    }

    /// `Versions`: tags → list, with `+incompatible` rules.
    pub async fn versions(&self) -> Result<Vec<String>, DirectError> {
        if self.mod_path.starts_with("gopkg.in/") && self.mod_path.ends_with("-unstable") {
            return Ok(Vec::new());
        }
        let p = self.tag_prefix();
        let mut list = Vec::new();
        let mut incompatible = Vec::new();
        for tag in self.tags(&p) {
            let v = &tag[p.len()..];
            if v.is_empty() || v != semver::canonical(v) || modpath::is_pseudo_version(v) {
                continue;
            }
            if !modpath::match_path_major(v, &self.path_major) {
                if self.code_dir.is_empty()
                    && self.path_major.is_empty()
                    && semver::compare(&semver::major(v), "v1") == Ordering::Greater
                {
                    incompatible.push(v.to_string());
                }
                continue;
            }
            list.push(v.to_string());
        }
        semver::sort(&mut list);
        semver::sort(&mut incompatible);
        if incompatible.is_empty() || !self.path_major.is_empty() {
            return Ok(list);
        }
        if let Some(last) = list.last() {
            if self.tag_has_go_mod(last).await? {
                return Ok(list);
            }
        }
        let mut major_has_go_mod: HashMap<String, bool> = HashMap::new();
        for v in &incompatible {
            let major = semver::major(v);
            if !major_has_go_mod.contains_key(&major) {
                let latest = incompatible
                    .iter()
                    .rfind(|w| semver::major(w) == major)
                    .cloned()
                    .unwrap_or_default();
                let has = self.tag_has_go_mod(&latest).await?;
                major_has_go_mod.insert(major.clone(), has);
            }
            if major_has_go_mod.get(&major) == Some(&false) {
                list.push(format!("{v}+incompatible"));
            }
        }
        Ok(list)
    }

    /// Does the root of tag `v` (code dir is "" here) contain go.mod?
    async fn tag_has_go_mod(&self, v: &str) -> Result<bool, DirectError> {
        let info = self.git_stat(v).await?;
        Ok(self.read_at(&info.hash, "go.mod").await?.is_some())
    }

    /// `Latest`: the default branch's HEAD commit, converted.
    pub async fn latest(&self) -> Result<Resolved, DirectError> {
        let head = self
            .refs
            .get("HEAD")
            .ok_or_else(|| DirectError::NotFound("no commits".into()))?
            .clone();
        let mut info = self
            .git
            .commit_info(&head, &self.refs, &head, Some("HEAD".into()))
            .await?;
        info.origin_ref = Some("HEAD".into());
        self.convert(info, "").await
    }

    /// `revToRev`.
    fn rev_to_rev(&self, rev: &str) -> String {
        if semver::is_valid(rev) {
            if modpath::is_pseudo_version(rev) {
                return modpath::pseudo_version_rev(rev).unwrap_or_default();
            }
            let mut r = rev;
            if semver::build(rev) == "+incompatible" {
                r = &rev[..rev.len() - "+incompatible".len()];
            }
            return join(&self.code_dir, r);
        }
        rev.to_string()
    }

    /// `Stat` for any query other than `latest`.
    pub async fn stat(&self, rev: &str) -> Result<Resolved, DirectError> {
        if rev == "latest" {
            return self.latest().await;
        }
        let code_rev = self.rev_to_rev(rev);
        let info = self.git_stat(&code_rev).await?;
        self.convert(info, rev).await
    }

    /// `retractedVersions`: retractions from the go.mod of the highest release (else prerelease) tag.
    async fn retracted(&self) -> Vec<gomod::Retraction> {
        let Ok(mut versions) = self.versions().await else {
            return Vec::new();
        };
        if let Some(i) = versions.iter().position(|v| v.ends_with("+incompatible")) {
            versions.truncate(i);
        }
        let highest = versions
            .iter()
            .rev()
            .find(|v| semver::prerelease(v).is_empty())
            .or(versions.last())
            .cloned();
        let Some(highest) = highest else {
            return Vec::new();
        };
        match self.find_dir(&highest).await {
            Ok((commit, dir, gomod)) => {
                let data = match gomod {
                    Some(d) => Some(d),
                    None => self
                        .read_at(&commit, &join(&dir, "go.mod"))
                        .await
                        .ok()
                        .flatten(),
                };
                data.map(|d| gomod::retractions(&d)).unwrap_or_default()
            }
            Err(_) => Vec::new(),
        }
    }

    /// `convert`: the canonical version of a commit for this module.
    async fn convert(&self, info: CommitInfo, stat_vers: &str) -> Result<Resolved, DirectError> {
        let mut incompatible_ok: HashMap<String, bool> = HashMap::new();

        if modpath::is_pseudo_version(stat_vers) {
            let r = self
                .check_canonical(&info, stat_vers, stat_vers, &mut incompatible_ok)
                .await?;
            self.validate_pseudo(&info, stat_vers).await?;
            return Ok(r);
        }

        let tag_prefix = self.tag_prefix();
        let tag_to_version = |tag: &str| -> (String, bool) {
            let Some(trimmed) = tag.strip_prefix(tag_prefix.as_str()) else {
                return (String::new(), false);
            };
            if modpath::is_pseudo_version(tag) {
                return (String::new(), false);
            }
            let v = semver::canonical(trimmed);
            if v.is_empty() || !trimmed.starts_with(v.as_str()) {
                return (String::new(), false);
            }
            let canonical = v == trimmed;
            (v, canonical)
        };

        let (v, canonical) = tag_to_version(&info.version);
        if canonical {
            if let Ok(r) = self
                .check_canonical(&info, &v, stat_vers, &mut incompatible_ok)
                .await
            {
                return Ok(r);
            }
        }

        let retracted = self.retracted().await;
        let mut highest = String::new();
        let mut pseudo_base = String::new();
        for tag in &info.tags {
            let (v, canonical) = tag_to_version(tag);
            if !stat_vers.is_empty() && semver::compare(&v, stat_vers) == Ordering::Equal {
                if canonical {
                    return self
                        .check_canonical(&info, &v, stat_vers, &mut incompatible_ok)
                        .await;
                }
                pseudo_base = v.clone();
            }
            if canonical
                && semver::compare(&highest, &v) == Ordering::Less
                && !gomod::is_retracted(&retracted, &v)
            {
                let ok = modpath::match_path_major(&v, &self.path_major)
                    || self
                        .can_use_incompatible(&info, &v, stat_vers, &mut incompatible_ok)
                        .await;
                if ok {
                    highest = v;
                }
            }
        }
        if !highest.is_empty() {
            return self
                .check_canonical(&info, &highest, stat_vers, &mut incompatible_ok)
                .await;
        }

        if pseudo_base.is_empty() {
            let mut best = String::new();
            for tag in self.git.tags_merged(&info.hash).await? {
                if !tag.starts_with(tag_prefix.as_str()) {
                    continue;
                }
                let (v, _) = tag_to_version(&tag);
                if v.is_empty() {
                    continue;
                }
                if !modpath::match_path_major(&v, &self.path_major)
                    && !self
                        .can_use_incompatible(&info, &v, stat_vers, &mut incompatible_ok)
                        .await
                {
                    continue;
                }
                if gomod::is_retracted(&retracted, &v) {
                    continue;
                }
                let semtag = &tag[tag_prefix.len()..];
                if semver::compare(semtag, &best) == Ordering::Greater {
                    best = semtag.to_string();
                }
            }
            if !best.is_empty() {
                pseudo_base = tag_to_version(&format!("{tag_prefix}{best}")).0;
            }
        }
        let pv = modpath::pseudo_version(
            &self.pseudo_major,
            &pseudo_base,
            &modpath::timestamp_from_unix(info.time),
            &info.short,
        );
        self.check_canonical(&info, &pv, stat_vers, &mut incompatible_ok)
            .await
    }

    async fn can_use_incompatible(
        &self,
        info: &CommitInfo,
        v: &str,
        stat_vers: &str,
        cache: &mut HashMap<String, bool>,
    ) -> bool {
        if !self.code_dir.is_empty() || !self.path_major.is_empty() {
            return false;
        }
        let ok = match cache.get("") {
            Some(ok) => *ok,
            None => {
                let ok = !matches!(self.read_at(&info.hash, "go.mod").await, Ok(Some(_)));
                cache.insert(String::new(), ok);
                ok
            }
        };
        if !ok {
            return false;
        }
        if !v.is_empty() && !stat_vers.ends_with("+incompatible") {
            let major = semver::major(v);
            let ok = match cache.get(&major) {
                Some(ok) => *ok,
                None => {
                    let ok = !matches!(
                        self.read_at(&info.hash, &format!("{major}/go.mod")).await,
                        Ok(Some(_))
                    );
                    cache.insert(major.clone(), ok);
                    ok
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// `checkCanonical` inside `convert`.
    async fn check_canonical(
        &self,
        info: &CommitInfo,
        v: &str,
        stat_vers: &str,
        cache: &mut HashMap<String, bool>,
    ) -> Result<Resolved, DirectError> {
        self.find_dir_at(v, info).await?;
        let mut v = v.to_string();
        if v == stat_vers.strip_suffix("+incompatible").unwrap_or(stat_vers) {
            v = stat_vers.to_string();
        }
        let base = v.strip_suffix("+incompatible").unwrap_or(&v).to_string();
        let mut err_incompatible = None;
        if !modpath::match_path_major(&base, &self.path_major) {
            if self
                .can_use_incompatible(info, &base, stat_vers, cache)
                .await
            {
                v = format!("{base}+incompatible");
            } else if !self.path_major.is_empty() {
                err_incompatible = Some(format!("{v}: invalid version: module path includes a major version suffix, so major version must match"));
            } else {
                err_incompatible = Some(format!(
                    "{v}: invalid version: module contains a go.mod file, so module path must match major version (\"{}/{}\")",
                    self.path_prefix,
                    semver::major(&v)
                ));
            }
        } else if v.ends_with("+incompatible") {
            err_incompatible = Some(format!("{v}: invalid version: +incompatible suffix not allowed: major version {} is compatible", semver::major(&v)));
        }
        if !stat_vers.is_empty() && stat_vers == modpath::canonical_version(stat_vers) {
            let stat_base = stat_vers.strip_suffix("+incompatible").unwrap_or(stat_vers);
            if stat_base != base {
                return Err(DirectError::NotFound(format!("{stat_vers}: invalid version: resolves to version {v} ({stat_base} is not a tag)")));
            }
        }
        if let Some(e) = err_incompatible {
            return Err(DirectError::NotFound(e));
        }
        Ok(Resolved {
            version: v,
            info: info.clone(),
        })
    }

    /// `validatePseudoVersion`.
    async fn validate_pseudo(&self, info: &CommitInfo, version: &str) -> Result<(), DirectError> {
        let bad = |msg: String| {
            DirectError::NotFound(format!("{version}: invalid pseudo-version: {msg}"))
        };
        let rev = modpath::pseudo_version_rev(version).ok_or_else(|| bad("syntax error".into()))?;
        if rev != info.short {
            return Err(bad(if rev.starts_with(&info.short) {
                format!(
                    "revision is longer than canonical (expected {})",
                    info.short
                )
            } else if info.short.starts_with(&rev) {
                format!(
                    "revision is shorter than canonical (expected {})",
                    info.short
                )
            } else {
                format!(
                    "does not match short name of revision (expected {})",
                    info.short
                )
            }));
        }
        let ts = modpath::pseudo_version_timestamp(version)
            .ok_or_else(|| bad("invalid timestamp".into()))?;
        let want = modpath::timestamp_from_unix(info.time);
        if ts != want {
            return Err(bad(format!(
                "does not match version-control timestamp (expected {want})"
            )));
        }
        let tag_prefix = self.tag_prefix();
        let base =
            modpath::pseudo_version_base(version.strip_suffix("+incompatible").unwrap_or(version))
                .map_err(bad)?;
        if base.is_empty() {
            if self.pseudo_major.is_empty() && semver::major(version) == "v1" {
                return Err(bad(
                    "major version without preceding tag must be v0, not v1".into(),
                ));
            }
            return Ok(());
        }
        for tag in &info.tags {
            if tag.strip_prefix(tag_prefix.as_str()).unwrap_or(tag) == base {
                return Err(bad(format!(
                    "tag ({tag}) found on revision {rev} is already canonical, so should not be replaced with a pseudo-version derived from that tag"
                )));
            }
        }
        let mut last_tag = String::new();
        for tag in self.tags(&format!("{tag_prefix}{base}")) {
            let version_only = tag.strip_prefix(tag_prefix.as_str()).unwrap_or(&tag);
            if semver::compare(version_only, &base) == Ordering::Equal {
                last_tag = tag.clone();
                if let Some(tag_commit) = self.refs.get(&format!("refs/tags/{tag}")) {
                    if self.git.is_ancestor(tag_commit, &info.hash).await? {
                        return Ok(());
                    }
                }
            }
        }
        if last_tag.is_empty() {
            return Err(bad(format!("preceding tag ({base}) not found")));
        }
        Err(bad(format!(
            "revision {rev} is not a descendent of preceding tag ({last_tag})"
        )))
    }

    /// `findDir`: (commit, module directory, go.mod bytes if found) for a canonical version.
    pub async fn find_dir(
        &self,
        version: &str,
    ) -> Result<(String, String, Option<Vec<u8>>), DirectError> {
        if !semver::is_valid(version) {
            return Err(DirectError::NotFound(format!(
                "{version}: invalid version: syntax error"
            )));
        }
        let rev = self.rev_to_rev(version);
        let info = self.git_stat(&rev).await?;
        self.find_dir_at(version, &info).await
    }

    async fn find_dir_at(
        &self,
        version: &str,
        info: &CommitInfo,
    ) -> Result<(String, String, Option<Vec<u8>>), DirectError> {
        let rev = self.rev_to_rev(version);
        let commit = info.hash.clone();
        let nf = |msg: String| DirectError::NotFound(msg);
        let file1 = join(&self.code_dir, "go.mod");
        let gomod1 = self.read_at(&commit, &file1).await?;
        let mpath1 = gomod1
            .as_deref()
            .map(gomod::module_path)
            .unwrap_or_default();
        let found1 = gomod1.is_some()
            && (is_major(&mpath1, &self.path_major)
                || (self.path_major.is_empty() && mpath1.starts_with("gopkg.in/")));

        let mut file2 = String::new();
        if !self.path_major.is_empty()
            && self.code_root != self.mod_path
            && !self.path_major.starts_with('.')
        {
            let dir2 = join(&self.code_dir, self.path_major.get(1..).unwrap_or(""));
            file2 = join(&dir2, "go.mod");
            let gomod2 = self.read_at(&commit, &file2).await?;
            let mpath2 = gomod2
                .as_deref()
                .map(gomod::module_path)
                .unwrap_or_default();
            let found2 = gomod2.is_some() && is_major(&mpath2, &self.path_major);
            if found1 && found2 {
                return Err(nf(format!(
                    "{}/{file1} and ...{pm}/go.mod both have ...{pm} module paths at revision {rev}",
                    self.path_prefix,
                    pm = self.path_major
                )));
            }
            if found2 {
                return Ok((commit, dir2, gomod2));
            }
            if gomod2.is_some() {
                if mpath2.is_empty() {
                    return Err(nf(format!(
                        "{}/{file2} is missing module path at revision {rev}",
                        self.code_root
                    )));
                }
                return Err(nf(format!(
                    "{}/{file2} has non-...{} module path {mpath2:?} at revision {rev}",
                    self.code_root, self.path_major
                )));
            }
        }
        if found1 {
            return Ok((commit, self.code_dir.clone(), gomod1));
        }
        if gomod1.is_some() {
            let suffix = if file2.is_empty() {
                String::new()
            } else {
                format!(" (and ...{}/go.mod does not exist)", self.path_major)
            };
            if mpath1.is_empty() {
                return Err(nf(format!(
                    "{file1} is missing module path{suffix} at revision {rev}"
                )));
            }
            if !self.path_major.is_empty() {
                return Err(nf(format!(
                    "{file1} has non-...{} module path {mpath1:?}{suffix} at revision {rev}",
                    self.path_major
                )));
            }
            if modpath::split_path_version(&mpath1).is_none() {
                return Err(nf(format!(
                    "{file1} has malformed module path {mpath1:?}{suffix} at revision {rev}"
                )));
            }
            return Err(nf(format!(
                "{file1} has post-{} module path {mpath1:?}{suffix} at revision {rev}",
                semver::major(version)
            )));
        }
        if self.code_dir.is_empty()
            && (self.path_major.is_empty() || self.path_major.starts_with('.'))
        {
            return Ok((commit, String::new(), None));
        }
        if !file2.is_empty() {
            return Err(nf(format!(
                "missing {}/go.mod and ...{}/go.mod at revision {rev}",
                self.path_prefix, self.path_major
            )));
        }
        Err(nf(format!(
            "missing {}/go.mod at revision {rev}",
            self.path_prefix
        )))
    }

    fn require_canonical(version: &str) -> Result<(), DirectError> {
        if version != modpath::canonical_version(version) || version.is_empty() {
            return Err(DirectError::NotFound(format!(
                "version {version} is not canonical"
            )));
        }
        Ok(())
    }

    /// `GoMod`: the go.mod bytes of a canonical version, or the synthesized one.
    pub async fn go_mod(&self, version: &str) -> Result<Vec<u8>, DirectError> {
        Self::require_canonical(version)?;
        if modpath::is_pseudo_version(version) {
            self.stat(version).await?;
        }
        let (commit, dir, gomod) = self.find_dir(version).await?;
        if let Some(g) = gomod {
            return Ok(g);
        }
        match self.read_at(&commit, &join(&dir, "go.mod")).await? {
            Some(g) => Ok(g),
            None => Ok(format!("module {}\n", self.mod_path).into_bytes()),
        }
    }

    /// `Zip`: the module zip of a canonical version.
    pub async fn zip(&self, version: &str) -> Result<zipbuild::BuiltZip, DirectError> {
        Self::require_canonical(version)?;
        if modpath::is_pseudo_version(version) {
            self.stat(version).await?;
        }
        let (commit, subdir, root_go_mod) = self.find_dir(version).await?;
        let t0 = std::time::Instant::now();
        let from_tree = match &self.reuse {
            Some(reuse) => {
                self.zip_from_tree(reuse, version, &commit, &subdir, root_go_mod)
                    .await?
            }
            None => None,
        };
        if let Some(built) = from_tree {
            tracing::debug!(target: "goxy_git", total_ms = t0.elapsed().as_millis() as u64, "built zip from the tree");
            return Ok(built);
        }
        let archive = self.git.archive(&commit, &subdir, MAX_ZIP_FILE).await?;
        let t_archive = t0.elapsed();
        let license = if subdir.is_empty() {
            None
        } else {
            self.git.read_file(&commit, "LICENSE", MAX_GO_MOD).await?
        };
        let (mod_path, version_s) = (self.mod_path.clone(), version.to_string());
        // Unpacking the archive and deflating the module are CPU work: keep them off the async workers.
        let built = tokio::task::spawn_blocking(move || {
            let mut files = read_archive(&archive, &subdir)?;
            if let Some(data) = license {
                if !files.iter().any(|f| f.name == b"LICENSE") {
                    files.push(SourceFile {
                        name: b"LICENSE".to_vec(),
                        kind: FileKind::Regular,
                        data,
                    });
                }
            }
            zipbuild::create_zip(&mod_path, &version_s, &files)
                .map_err(|e| DirectError::Invalid(format!("create zip: {e}")))
        })
        .await
        .map_err(|e| DirectError::Io(format!("zip task: {e}")))?;
        tracing::debug!(target: "goxy_git", archive_ms = t_archive.as_millis() as u64, total_ms = t0.elapsed().as_millis() as u64, "built zip");
        built
    }

    /// The module zip built from the tree listing and blob contents, reusing
    /// the prepared entries of the previous zip of this module for every
    /// unchanged blob. None when a `.gitattributes` file could change what
    /// `git archive` writes (eol, ident, encoding): that tree takes the archive path.
    async fn zip_from_tree(
        &self,
        reuse: &ZipReuse,
        version: &str,
        commit: &str,
        subdir: &str,
        root_go_mod: Option<Vec<u8>>,
    ) -> Result<Option<zipbuild::BuiltZip>, DirectError> {
        // The module directory, every .gitattributes that applies to it, and the root LICENSE.
        let mut paths: Vec<String> = Vec::new();
        if !subdir.is_empty() {
            paths.push(subdir.to_string());
            paths.push(".gitattributes".into());
            let mut ancestor = String::new();
            for part in subdir.split('/') {
                ancestor = join(&ancestor, part);
                paths.push(format!("{ancestor}/.gitattributes"));
            }
            paths.push("LICENSE".into());
        }
        let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let entries = self.git.ls_tree(commit, &path_refs).await?;
        let is_attributes = |e: &TreeEntry| {
            e.path.rsplit(|&c| c == b'/').next() == Some(b".gitattributes".as_slice())
        };
        if entries.iter().any(is_attributes) {
            return Ok(None);
        }
        let plan = TreePlan::new(&entries, subdir, commit)?;
        let selected = {
            let metas: Vec<goxy_zip::FileMeta<'_>> = plan
                .files
                .iter()
                .map(|f| goxy_zip::FileMeta {
                    path: &f.name,
                    kind: f.kind,
                    size: f.size,
                })
                .collect();
            // On error nothing is read: the full check below reports it with module and version.
            goxy_zip::select_files(&metas, root_go_mod.as_deref()).unwrap_or_default()
        };
        let previous = reuse.get(&self.git.url, subdir);
        let mut wanted: Vec<&str> = selected
            .iter()
            .filter_map(|&i| plan.files.get(i))
            .map(|f| f.oid.as_str())
            .filter(|oid| {
                previous
                    .as_ref()
                    .is_none_or(|p| !p.by_oid.contains_key(*oid))
            })
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let wanted_bytes: u64 = plan
            .files
            .iter()
            .filter(|f| wanted.binary_search(&f.oid.as_str()).is_ok())
            .map(|f| f.size)
            .sum();
        let blobs = self.git.read_blobs(&wanted, wanted_bytes).await?;
        let reused = selected.len().saturating_sub(wanted.len());
        reuse.count(wanted.len() as u64, reused as u64);
        let (mod_path, version_s) = (self.mod_path.clone(), version.to_string());
        // Hashing, deflating and writing are CPU work: keep them off the async workers.
        let (built, index) = tokio::task::spawn_blocking(move || {
            plan.build(
                &mod_path,
                &version_s,
                &selected,
                previous,
                blobs,
                root_go_mod,
            )
        })
        .await
        .map_err(|e| DirectError::Io(format!("zip task: {e}")))??;
        reuse.put(&self.git.url, subdir, index);
        Ok(Some(built))
    }
}

/// The module's files from a `git archive --prefix=prefix/` zip, relative to `subdir`.
fn read_archive(bytes: &[u8], subdir: &str) -> Result<Vec<SourceFile>, DirectError> {
    let bad = |e: String| DirectError::Git(format!("reading git archive: {e}"));
    let mut zr =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let sub = subdir.trim_matches('/');
    let sub_prefix: Vec<u8> = if sub.is_empty() {
        Vec::new()
    } else {
        format!("{sub}/").into_bytes()
    };
    let mut top: Option<Vec<u8>> = None;
    let mut files = Vec::new();
    // Memory bound on the unfiltered tree; the 500 MiB rule proper applies
    // after filtering (create_zip), so excluded vendor trees may exceed it.
    let mut budget: u64 = 2 * MAX_ZIP_FILE;
    for i in 0..zr.len() {
        let mut entry = zr.by_index(i).map_err(|e| bad(e.to_string()))?;
        let raw = entry.name_raw().to_vec();
        let top_prefix = match &top {
            Some(t) => t.clone(),
            None => {
                let slash = raw
                    .iter()
                    .position(|&c| c == b'/')
                    .ok_or_else(|| bad("missing top-level directory prefix".into()))?;
                let t = raw[..=slash].to_vec();
                top = Some(t.clone());
                t
            }
        };
        let Some(name) = raw.strip_prefix(top_prefix.as_slice()) else {
            return Err(bad(
                "zip file contains more than one top-level directory".into()
            ));
        };
        let Some(name) = name.strip_prefix(sub_prefix.as_slice()) else {
            continue;
        };
        if name.is_empty() || name.ends_with(b"/") {
            continue;
        }
        let kind = match entry.unix_mode().map(|m| m & 0o170000) {
            Some(0o120000) => FileKind::Symlink,
            Some(0o100000) | Some(0) | None => FileKind::Regular,
            Some(_) => FileKind::Other,
        };
        let mut data = Vec::new();
        (&mut entry)
            .take(budget + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(e.to_string()))?;
        if data.len() as u64 > budget {
            return Err(DirectError::Invalid("module source tree too large".into()));
        }
        budget -= data.len() as u64;
        files.push(SourceFile {
            name: name.to_vec(),
            kind,
            data,
        });
    }
    Ok(files)
}

/// One file of the module as the tree lists it.
struct PlannedFile {
    name: String,
    kind: goxy_zip::FileKind,
    oid: String,
    size: u64,
}

/// The module's files from `git ls-tree`, named relative to the module
/// directory, exactly as `git archive` would hand them to the zip rules.
struct TreePlan {
    files: Vec<PlannedFile>,
}

impl TreePlan {
    fn new(entries: &[TreeEntry], subdir: &str, commit: &str) -> Result<Self, DirectError> {
        let prefix: Vec<u8> = if subdir.is_empty() {
            Vec::new()
        } else {
            format!("{subdir}/").into_bytes()
        };
        let mut matched = subdir.is_empty();
        let mut files = Vec::new();
        let mut root_license: Option<&TreeEntry> = None;
        let mut total: u64 = 0;
        for e in entries {
            let blob_mode = matches!(e.mode & 0o170000, 0o100000 | 0o120000);
            if !subdir.is_empty() && e.path == b"LICENSE" {
                if blob_mode {
                    root_license = Some(e);
                }
                continue;
            }
            if e.path == subdir.as_bytes() {
                matched = true;
            }
            let Some(name) = e.path.strip_prefix(prefix.as_slice()) else {
                continue;
            };
            matched = true;
            // Gitlinks become directory entries in `git archive`: never files.
            let kind = match e.mode & 0o170000 {
                0o100000 => goxy_zip::FileKind::Regular,
                0o120000 => goxy_zip::FileKind::Symlink,
                _ => continue,
            };
            if kind == goxy_zip::FileKind::Regular {
                total = total.saturating_add(e.size);
            }
            // Lossy like the archive path: U+FFFD still fails CheckFilePath.
            files.push(PlannedFile {
                name: String::from_utf8_lossy(name).into_owned(),
                kind,
                oid: e.oid.clone(),
                size: e.size,
            });
        }
        if !matched {
            return Err(DirectError::NotFound(format!(
                "directory {subdir:?} does not exist at {commit}"
            )));
        }
        // The same memory bound as the archive path, on the unfiltered tree.
        if total > 2 * MAX_ZIP_FILE {
            return Err(DirectError::Invalid("module source tree too large".into()));
        }
        if let Some(license) = root_license {
            if !files.iter().any(|f| f.name == "LICENSE") {
                if license.size > MAX_GO_MOD {
                    return Err(DirectError::Invalid(format!(
                        "LICENSE at {commit} is larger than {MAX_GO_MOD} bytes"
                    )));
                }
                // cmd/go reads the root LICENSE as a blob, so a symlink contributes its target text.
                files.push(PlannedFile {
                    name: "LICENSE".into(),
                    kind: goxy_zip::FileKind::Regular,
                    oid: license.oid.clone(),
                    size: license.size,
                });
            }
        }
        Ok(TreePlan { files })
    }

    /// Prepares the blobs read now, reuses the rest, writes the zip and
    /// returns it with the index of every entry it holds.
    fn build(
        self,
        mod_path: &str,
        version: &str,
        selected: &[usize],
        previous: Option<Arc<EntryIndex>>,
        blobs: Vec<(String, Vec<u8>)>,
        root_go_mod: Option<Vec<u8>>,
    ) -> Result<(zipbuild::BuiltZip, EntryIndex), DirectError> {
        let mut index = EntryIndex::default();
        let sizes: HashMap<&str, u64> = self
            .files
            .iter()
            .map(|f| (f.oid.as_str(), f.size))
            .collect();
        for (oid, data) in &blobs {
            let expected = sizes.get(oid.as_str()).copied();
            if expected != Some(data.len() as u64) {
                return Err(DirectError::Git(format!(
                    "blob {oid} has {} bytes, the tree says {expected:?}",
                    data.len()
                )));
            }
        }
        let prepared = prepare_all(&blobs)?;
        for ((oid, _), p) in blobs.iter().zip(prepared) {
            index.by_oid.insert(oid.clone(), Arc::new(p));
        }
        for &i in selected {
            let Some(f) = self.files.get(i) else { continue };
            if index.by_oid.contains_key(&f.oid) {
                continue;
            }
            let reused = previous
                .as_ref()
                .and_then(|p| p.by_oid.get(&f.oid))
                .cloned();
            match reused {
                Some(p) => {
                    index.by_oid.insert(f.oid.clone(), p);
                }
                None => {
                    return Err(DirectError::Git(format!(
                        "blob {} of {} was not read",
                        f.oid, f.name
                    )))
                }
            }
        }
        let files: Vec<goxy_zip::PreparedFile<'_>> = self
            .files
            .iter()
            .map(|f| goxy_zip::PreparedFile {
                path: &f.name,
                kind: f.kind,
                content: index.by_oid.get(&f.oid).map(|p| p.as_ref()),
            })
            .collect();
        let created =
            goxy_zip::create_zip_prepared(mod_path, version, &files, root_go_mod.as_deref())
                .map_err(|e| DirectError::Invalid(format!("create zip: {e}")))?;
        Ok((
            zipbuild::BuiltZip {
                bytes: created.zip,
                h1: created.h1,
            },
            index,
        ))
    }
}

/// Hashes and deflates blobs, on every core when there is enough to share.
fn prepare_all(blobs: &[(String, Vec<u8>)]) -> Result<Vec<goxy_zip::PreparedContent>, DirectError> {
    let prepare =
        |chunk: &[(String, Vec<u8>)]| -> Result<Vec<goxy_zip::PreparedContent>, DirectError> {
            chunk
                .iter()
                .map(|(oid, data)| {
                    goxy_zip::PreparedContent::new(data)
                        .map_err(|e| DirectError::Invalid(format!("blob {oid}: {e}")))
                })
                .collect()
        };
    let total: usize = blobs.iter().map(|(_, d)| d.len()).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || total < (1 << 20) {
        return prepare(blobs);
    }
    // Contiguous chunks of about equal bytes keep the output in input order.
    let per = total / threads + 1;
    let mut chunks: Vec<&[(String, Vec<u8>)]> = Vec::new();
    let (mut start, mut acc) = (0, 0);
    for (i, (_, d)) in blobs.iter().enumerate() {
        acc += d.len();
        if acc >= per {
            chunks.push(&blobs[start..=i]);
            start = i + 1;
            acc = 0;
        }
    }
    chunks.push(&blobs[start..]);
    let results: Vec<Result<Vec<goxy_zip::PreparedContent>, DirectError>> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| scope.spawn(move || prepare(chunk)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(DirectError::Io("zip worker panicked".into())))
                })
                .collect()
        });
    let mut out = Vec::with_capacity(blobs.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

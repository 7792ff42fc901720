//! `go-import` entries with vcs `mod` (protocol.md §5.3): the module is
//! served by another GOPROXY-protocol server named in the meta tag. This is a
//! minimal client for it; the URL passes the same egress policy as git.

use crate::{modpath, semver, DirectError, RevInfo};
use std::io::Read as _;

/// `module.EscapePath`/`EscapeVersion`: upper-case letters become `!` + lower case.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub struct ModProxy<'a> {
    pub client: &'a reqwest::Client,
    pub base: String,
    pub module: String,
    pub auth: Option<(String, String)>,
}

impl ModProxy<'_> {
    fn url(&self, tail: &str) -> String {
        format!(
            "{}/{}/{tail}",
            self.base.trim_end_matches('/'),
            escape(&self.module)
        )
    }

    async fn get(&self, tail: &str, limit: usize) -> Result<Vec<u8>, DirectError> {
        let mut req = self.client.get(self.url(tail));
        if let Some((u, p)) = &self.auth {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req.send().await.map_err(|e| {
            DirectError::Upstream(format!("GET {tail} from module proxy: {}", e.without_url()))
        })?;
        let status = resp.status();
        if status.as_u16() == 404 || status.as_u16() == 410 {
            return Err(DirectError::NotFound(format!(
                "module proxy: {tail}: {status}"
            )));
        }
        if !status.is_success() {
            return Err(DirectError::Upstream(format!(
                "module proxy: {tail}: {status}"
            )));
        }
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            DirectError::Upstream(format!("module proxy: {tail}: {}", e.without_url()))
        })? {
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(DirectError::Upstream(format!(
                    "module proxy: {tail}: response larger than {limit} bytes"
                )));
            }
        }
        Ok(body)
    }

    pub async fn list(&self) -> Result<Vec<String>, DirectError> {
        let body = self.get("@v/list", 16 << 20).await?;
        let (_, path_major) = modpath::split_path_version(&self.module).unwrap_or_default();
        let mut out: Vec<String> = String::from_utf8_lossy(&body)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|v| modpath::canonical_version(v) == *v && !v.is_empty())
            .filter(|v| !modpath::is_pseudo_version(v) && modpath::match_path_major(v, &path_major))
            .map(str::to_string)
            .collect();
        semver::sort(&mut out);
        out.dedup();
        Ok(out)
    }

    fn parse_info(body: &[u8]) -> Result<RevInfo, DirectError> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| DirectError::Upstream(format!("module proxy: invalid .info JSON: {e}")))?;
        let version = v
            .get("Version")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string();
        if version.is_empty() || modpath::canonical_version(&version) != version {
            return Err(DirectError::Upstream(format!(
                "module proxy: .info has non-canonical Version {version:?}"
            )));
        }
        let time = v
            .get("Time")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string();
        Ok(RevInfo {
            version,
            time,
            origin: None,
        })
    }

    pub async fn latest(&self) -> Result<RevInfo, DirectError> {
        Self::parse_info(&self.get("@latest", 1 << 20).await?)
    }

    pub async fn stat(&self, query: &str) -> Result<RevInfo, DirectError> {
        let info = Self::parse_info(
            &self
                .get(&format!("@v/{}.info", escape(query)), 1 << 20)
                .await?,
        )?;
        if modpath::canonical_version(query) == query
            && info.version != query
            && modpath::match_path_major(query, &path_major_of(&self.module))
        {
            return Err(DirectError::Upstream(format!(
                "module proxy returned info for version {} instead of requested version {query}",
                info.version
            )));
        }
        Ok(info)
    }

    pub async fn go_mod(&self, version: &str) -> Result<Vec<u8>, DirectError> {
        self.get(&format!("@v/{}.mod", escape(version)), 16 << 20)
            .await
    }

    /// The zip and its h1 (entries must all carry the `path@version/` prefix).
    pub async fn zip(&self, version: &str) -> Result<(Vec<u8>, String), DirectError> {
        let bytes = self
            .get(&format!("@v/{}.zip", escape(version)), 500 << 20)
            .await?;
        let prefix = format!("{}@{version}/", self.module);
        let mut zr = zip::ZipArchive::new(std::io::Cursor::new(bytes.as_slice()))
            .map_err(|e| DirectError::Upstream(format!("module proxy zip: {e}")))?;
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        let mut total: u64 = 0;
        for i in 0..zr.len() {
            let mut e = zr
                .by_index(i)
                .map_err(|e| DirectError::Upstream(format!("module proxy zip: {e}")))?;
            let name = std::str::from_utf8(e.name_raw())
                .map_err(|_| DirectError::Upstream("module proxy zip: non-UTF-8 name".into()))?
                .to_string();
            let Some(rel) = name.strip_prefix(&prefix) else {
                return Err(DirectError::Upstream(format!(
                    "module proxy zip: entry {name:?} outside {prefix}"
                )));
            };
            if rel.is_empty() || rel.ends_with('/') || modpath::check_file_path(rel).is_err() {
                return Err(DirectError::Upstream(format!(
                    "module proxy zip: bad entry {name:?}"
                )));
            }
            let mut data = Vec::new();
            (&mut e)
                .take((500u64 << 20) + 1 - total)
                .read_to_end(&mut data)
                .map_err(|e| DirectError::Upstream(format!("module proxy zip: {e}")))?;
            total += data.len() as u64;
            if total > 500 << 20 {
                return Err(DirectError::Upstream(
                    "module proxy zip: too large uncompressed".into(),
                ));
            }
            entries.push((name, data));
        }
        let h1 = crate::zipbuild::hash1(entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())))
            .map_err(|e| DirectError::Upstream(format!("module proxy zip: {e}")))?;
        Ok((bytes, h1))
    }
}

fn path_major_of(module: &str) -> String {
    modpath::split_path_version(module)
        .map(|(_, m)| m)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn escaping() {
        assert_eq!(
            super::escape("github.com/BurntSushi/toml"),
            "github.com/!burnt!sushi/toml"
        );
        assert_eq!(super::escape("v1.0.0-RC1"), "v1.0.0-!r!c1");
    }
}

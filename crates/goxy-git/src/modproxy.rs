//! `go-import` entries with vcs `mod` (protocol.md §5.3): the module is
//! served by another GOPROXY-protocol server named in the meta tag. This is a
//! minimal client for it; the URL passes the same egress policy as git.

use crate::{modpath, semver, DirectError, RevInfo};

pub struct ModProxy<'a> {
    pub client: &'a reqwest::Client,
    pub base: String,
    pub module: String,
    pub auth: Option<(String, String)>,
}

impl ModProxy<'_> {
    fn url(&self, tail: &str) -> Result<String, DirectError> {
        let module = goxy_mod::module::escape_path(&self.module)
            .map_err(|e| DirectError::NotFound(format!("{}: {e}", self.module)))?;
        Ok(format!(
            "{}/{module}/{tail}",
            self.base.trim_end_matches('/')
        ))
    }

    /// `@v/<escaped version><ext>`; a version that cannot be escaped cannot exist.
    fn version_tail(&self, version: &str, ext: &str) -> Result<String, DirectError> {
        let escaped = goxy_mod::module::escape_version(version)
            .map_err(|e| DirectError::NotFound(format!("{}@{version}: {e}", self.module)))?;
        Ok(format!("@v/{escaped}{ext}"))
    }

    async fn get(&self, tail: &str, limit: usize) -> Result<Vec<u8>, DirectError> {
        let mut req = self.client.get(self.url(tail)?);
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
                .get(&self.version_tail(query, ".info")?, 1 << 20)
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
        self.get(&self.version_tail(version, ".mod")?, 16 << 20)
            .await
    }

    /// The zip and its h1 (entries must all carry the `path@version/` prefix).
    pub async fn zip(&self, version: &str) -> Result<(Vec<u8>, String), DirectError> {
        let bytes = self
            .get(&self.version_tail(version, ".zip")?, 500 << 20)
            .await?;
        // The same checks cmd/go applies to a downloaded zip (names, prefix, sizes).
        let checked = goxy_zip::check_zip(&self.module, version, &bytes)
            .map_err(|e| DirectError::Upstream(format!("module proxy zip: {e}")))?;
        Ok((bytes, checked.h1))
    }
}

fn path_major_of(module: &str) -> String {
    modpath::split_path_version(module)
        .map(|(_, m)| m)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_are_escaped() {
        let client = reqwest::Client::new();
        let p = ModProxy {
            client: &client,
            base: "https://proxy.example/".into(),
            module: "github.com/BurntSushi/toml".into(),
            auth: None,
        };
        assert_eq!(
            p.url(&p.version_tail("v1.0.0-RC1", ".info").unwrap())
                .unwrap(),
            "https://proxy.example/github.com/!burnt!sushi/toml/@v/v1.0.0-!r!c1.info"
        );
        // Not a version at all: no request can name it.
        assert!(p
            .version_tail("feature/x", ".info")
            .unwrap_err()
            .is_not_found());
    }
}

//! Fixture generation and `go` command helpers for end-to-end tests.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde::Deserialize;

use crate::{go_tool, isolated_go};

/// A generated fixture: a GOPROXY tree and a main module that needs it.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The GOPROXY tree (`GOPROXY=file://<proxy_dir>` works directly).
    pub proxy_dir: PathBuf,
    /// The fixture project: go.mod + main.go requiring dep01..dep20 and the
    /// special-case modules.
    pub project_dir: PathBuf,
}

/// Runs `tools/gotest/cmd/mkfixture` into `dest/proxy` and `dest/project`
/// (plus the 1 MiB benchmark module when `bench`).
pub fn make_fixture(dest: &Path, bench: bool) -> io::Result<Fixture> {
    let fixture = Fixture {
        proxy_dir: dest.join("proxy"),
        project_dir: dest.join("project"),
    };
    let mut cmd = std::process::Command::new(go_tool("mkfixture"));
    cmd.arg("-proxy")
        .arg(&fixture.proxy_dir)
        .arg("-project")
        .arg(&fixture.project_dir);
    if bench {
        cmd.arg("-bench");
    }
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "mkfixture failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(fixture)
}

/// `file:///abs/dir` for a GOPROXY entry.
pub fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// Copies the regular files of `src` (recursively) into `dst`.
pub fn copy_dir(src: &Path, dst: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let target = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The outcome of a `go` command, with both streams as text.
#[derive(Debug)]
pub struct GoRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for GoRun {
    fn from(out: Output) -> Self {
        GoRun {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `go <args>` in `dir` with [`isolated_go`] (module cache etc. under `home`).
pub fn run_go(home: &Path, goproxy: &str, dir: &Path, args: &[&str]) -> io::Result<GoRun> {
    std::fs::create_dir_all(dir)?;
    Ok(isolated_go(home, goproxy)
        .args(args)
        .current_dir(dir)
        .output()?
        .into())
}

/// `go mod download all` in `project`: downloads the whole build list and
/// records every `.mod` and zip hash in the project's go.sum.
pub fn go_mod_download_all(home: &Path, goproxy: &str, project: &Path) -> io::Result<GoRun> {
    run_go(home, goproxy, project, &["mod", "download", "all"])
}

/// One record of `go mod download -json` (fields as cmd/go names them).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModDownload {
    pub path: String,
    pub version: String,
    pub query: String,
    pub error: String,
    pub info: String,
    pub go_mod: String,
    pub zip: String,
    pub dir: String,
    pub sum: String,
    pub go_mod_sum: String,
}

/// `go mod download -json <targets>` in `dir`; returns the command's outcome
/// and every record it printed (records carry per-module errors).
pub fn go_mod_download_json(
    home: &Path,
    goproxy: &str,
    dir: &Path,
    targets: &[&str],
) -> io::Result<(GoRun, Vec<ModDownload>)> {
    let mut args = vec!["mod", "download", "-json"];
    args.extend_from_slice(targets);
    let run = run_go(home, goproxy, dir, &args)?;
    let records = serde_json::Deserializer::from_str(&run.stdout)
        .into_iter::<ModDownload>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            io::Error::other(format!("go mod download -json output: {e}\n{}", run.stdout))
        })?;
    Ok((run, records))
}

/// The non-empty lines of `<project>/go.sum`, sorted.
pub fn read_go_sum(project: &Path) -> io::Result<Vec<String>> {
    let text = std::fs::read_to_string(project.join("go.sum"))?;
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    lines.sort();
    Ok(lines)
}

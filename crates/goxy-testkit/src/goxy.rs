//! Running `goxy serve` as a child process.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The line `goxy serve` prints on stdout once it accepts connections.
pub const LISTENING_PREFIX: &str = "goxy listening on ";

/// A running goxy process; killed on drop.
pub struct GoxyProcess {
    /// `http://127.0.0.1:<port>` as printed by goxy.
    pub url: String,
    pub child: Child,
    stderr_log: tempfile::NamedTempFile,
}

impl GoxyProcess {
    /// Starts `bin` (`env!("CARGO_BIN_EXE_goxy")` in integration tests) with
    /// `args` (e.g. `["serve", "--listen", "127.0.0.1:0", ...]`) and waits up to
    /// 30 s for the listening line on stdout.
    pub fn start(bin: &Path, args: &[&str]) -> io::Result<GoxyProcess> {
        Self::start_with_env(bin, args, &[])
    }

    /// `goxy serve --listen 127.0.0.1:0 --cache-dir <cache_dir> --upstream <upstream> <extra...>`.
    pub fn serve(
        bin: &Path,
        cache_dir: &Path,
        upstream: &str,
        extra: &[&str],
    ) -> io::Result<GoxyProcess> {
        let cache = cache_dir.to_string_lossy();
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cache-dir",
            &cache,
            "--upstream",
            upstream,
        ];
        args.extend_from_slice(extra);
        Self::start(bin, &args)
    }

    /// Like [`GoxyProcess::start`] with extra environment variables. GOXY_*
    /// variables of the test's own environment are not passed on, and
    /// GOSUMDB is `off` unless `env` sets it.
    pub fn start_with_env(
        bin: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> io::Result<GoxyProcess> {
        let stderr_log = tempfile::NamedTempFile::new()?;
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr_log.reopen()?);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GOXY_") {
                cmd.env_remove(name);
            }
        }
        // Fixture modules are in no public checksum database and tests run
        // offline: goxy verifies nothing unless a test names a database
        // (`--sumdb`, or GOSUMDB in `env`).
        cmd.env("GOSUMDB", "off");
        cmd.envs(env.iter().copied());
        let mut child = cmd
            .spawn()
            .map_err(|e| with_context(e, format!("spawn {}", bin.display())))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(io::Error::other("goxy stdout not captured"));
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = tx.send(reader.read_line(&mut first).map(|_| first));
            // Keep draining so goxy never blocks on a full stdout pipe.
            let _ = io::copy(&mut reader, &mut io::sink());
        });
        let mut process = GoxyProcess {
            url: String::new(),
            child,
            stderr_log,
        };
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(process.fail(format!("reading goxy stdout: {e}"))),
            Err(_) => {
                return Err(process.fail("no listening line on stdout within 30 s".to_string()))
            }
        };
        match line.trim_end().strip_prefix(LISTENING_PREFIX) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                process.url = url.to_string();
                Ok(process)
            }
            _ => Err(process.fail(format!("unexpected first stdout line {line:?}"))),
        }
    }

    fn fail(&mut self, what: String) -> io::Error {
        self.kill();
        io::Error::other(format!(
            "goxy serve did not start: {what}; stderr:\n{}",
            self.stderr()
        ))
    }

    /// Everything goxy wrote to stderr so far (its log).
    pub fn stderr(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = self.stderr_log.reopen() {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    pub fn stderr_path(&self) -> PathBuf {
        self.stderr_log.path().to_path_buf()
    }

    /// Resident set size in KiB (VmRSS from /proc), if the process is alive.
    pub fn vm_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// SIGKILL and reap. Idempotent.
    /// Stops goxy as a service manager does (SIGTERM) and waits up to
    /// `within` for it to exit; SIGKILL after that. The exit status, if it exited.
    pub fn terminate(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = std::time::Instant::now() + within;
        while std::time::Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.kill();
        None
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for GoxyProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn with_context(e: io::Error, what: String) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

//! Shared by the integration tests: a running Go reference checksum
//! database (`tools/gotest/cmd/sumdb-server`) and a blocking loopback client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use goxy_sumdb::tlog::record_hash;
use goxy_sumdb::{Error, MergeOutcome, Tile, TileSet, TrustedLog};

/// A running sumdb-server, killed on drop.
pub struct Db {
    child: Child,
    pub url: String,
    agent: ureq::Agent,
    _dir: tempfile::TempDir,
    pub records_file: std::path::PathBuf,
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Case-encoding of module paths and versions: upper-case letters become `!` + lower case.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
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

pub fn h1(seed: &str) -> String {
    format!("h1:{}", record_hash(seed.as_bytes()))
}

/// go.sum lines for module versions `example.com/m{i} v1.0.{i}` for i in `range`.
pub fn gosum_lines(range: std::ops::Range<u32>) -> String {
    range
        .map(|i| {
            format!(
                "example.com/m{i} v1.0.{i} {}\nexample.com/m{i} v1.0.{i}/go.mod {}\n",
                h1(&format!("zip {i}")),
                h1(&format!("mod {i}"))
            )
        })
        .collect()
}

impl Db {
    /// Starts the server with records 0..count; `None` when no Go toolchain.
    pub fn start(count: u32) -> Option<Db> {
        Db::start_with(&gosum_lines(0..count))
    }

    /// Starts the server with the given go.sum lines as records.
    pub fn start_with(records: &str) -> Option<Db> {
        if !goxy_testkit::have_go() {
            eprintln!("skipping: no go command");
            return None;
        }
        let bin = goxy_testkit::go_tool("sumdb-server");
        let dir = tempfile::tempdir().unwrap();
        let records_file = dir.path().join("records.txt");
        std::fs::write(&records_file, records).unwrap();
        let mut child = Command::new(bin)
            .args(["-listen", "127.0.0.1:0", "-records"])
            .arg(&records_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "first line {line:?}");
        let agent = ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(30))
            .build();
        Some(Db {
            child,
            url,
            agent,
            _dir: dir,
            records_file,
        })
    }

    pub fn get(&self, path: &str) -> Result<Vec<u8>, u16> {
        match self.agent.get(&format!("{}/{path}", self.url)).call() {
            Ok(resp) => {
                let mut body = Vec::new();
                std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).unwrap();
                Ok(body)
            }
            Err(ureq::Error::Status(code, _)) => Err(code),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    pub fn post(&self, path: &str, body: &str) {
        self.agent
            .post(&format!("{}/{path}", self.url))
            .send_string(body)
            .unwrap();
    }

    pub fn set_mode(&self, mode: &str) {
        self.post("mode", mode);
    }

    /// Fetches tiles like the Go client: a missing partial tile falls back to the full one.
    pub fn fetch(&self, tiles: &[Tile]) -> TileSet {
        let mut set = TileSet::new();
        for t in tiles {
            match self.get(&t.path()) {
                Ok(data) => set.insert(*t, data),
                Err(404) if !t.is_full() => {
                    if let Ok(data) = self.get(&t.to_full().path()) {
                        set.insert(t.to_full(), data);
                    }
                }
                Err(code) => panic!("GET {}: {code}", t.path()),
            }
        }
        set
    }

    /// Full lookup of module@version through the sans-I/O API.
    pub fn lookup(
        &self,
        log: &mut TrustedLog,
        module: &str,
        version: &str,
    ) -> Result<goxy_sumdb::VerifiedLookup, Error> {
        let body = self
            .get(&format!("lookup/{}@{}", escape(module), escape(version)))
            .unwrap_or_else(|c| panic!("lookup {module}@{version}: status {c}"));
        let plan = log.plan_lookup(module, version, &body)?;
        let tiles = self.fetch(&plan.tiles);
        log.finish_lookup(plan, &tiles)
    }

    pub fn latest(&self, log: &mut TrustedLog) -> Result<MergeOutcome, Error> {
        let note = self.get("latest").unwrap();
        let signed = log.open_tree_note(&note)?;
        let tiles = self.fetch(&log.tiles_for_merge(&signed.tree)?);
        log.merge_latest(signed, &tiles)
    }
}

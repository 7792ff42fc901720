//! goxy watched by the tools people use: a real Prometheus server scrapes
//! /metrics and answers the dashboard's cache hit ratio query, and headless
//! Chromium renders the home page with the exact `go env -w` line and the
//! hit rate.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use goxy_testkit::gocmd::file_url;
use goxy_testkit::{have_go, make_fixture, GoxyProcess};

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

/// `goxy serve` with the checksum database off: fixture modules are in no
/// public checksum database, and tests run offline.
fn serve(cache: &Path, upstream: &str, extra: &[&str]) -> GoxyProcess {
    let mut args = vec!["--sumdb", "off"];
    args.extend_from_slice(extra);
    GoxyProcess::serve(goxy_bin(), cache, upstream, &args).unwrap()
}

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install {tool} (.ci/apt-packages.txt)"
        );
        eprintln!("skipped: {tool} is not installed");
    }
    found
}

fn fixture(tmp: &Path) -> Option<std::path::PathBuf> {
    if !have_go() {
        assert!(std::env::var_os("CI").is_none(), "CI must have go");
        eprintln!("skipped: no go");
        return None;
    }
    Some(make_fixture(&tmp.join("fixture"), false).unwrap().proxy_dir)
}

fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dashboard_expr(title: &str) -> String {
    let path = goxy_testkit::repo_root().join("packaging/grafana/goxy-dashboard.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == title)
        .and_then(|p| p["targets"][0]["expr"].as_str())
        .unwrap_or_else(|| panic!("no panel {title:?}"))
        .to_string()
}

/// Runs an instant query; the single result's value (None: empty result).
fn query(prom: &str, expr: &str) -> Option<f64> {
    let (status, body) = get(
        prom,
        &format!("/api/v1/query?query={}", percent_encode(expr)),
    );
    assert_eq!(status, 200, "{expr}: {body}");
    let json: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(json["status"], "success", "{body}");
    let result = json["data"]["result"].as_array()?;
    let first = result.first()?;
    first["value"][1].as_str()?.parse().ok()
}

#[test]
fn prometheus_scrapes_goxy_and_computes_the_hit_ratio() {
    if !have("prometheus") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(proxy) = fixture(tmp.path()) else {
        return;
    };
    let goxy = serve(&tmp.path().join("cache"), &file_url(&proxy), &[]);
    let target = goxy.url.trim_start_matches("http://").to_string();
    let port = free_port();
    let config = tmp.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: goxy\n    \
             static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let prom_addr = format!("127.0.0.1:{port}");
    let _prom = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={prom_addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    // Ready, and at least two scrapes of the idle server recorded.
    loop {
        let ready = TcpStream::connect(&prom_addr).is_ok() && get(&prom_addr, "/-/ready").0 == 200;
        if ready && query(&prom_addr, "count_over_time(up{job=\"goxy\"}[1m])").unwrap_or(0.0) >= 2.0
        {
            break;
        }
        assert!(Instant::now() < deadline, "prometheus did not scrape goxy");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(query(&prom_addr, "up{job=\"goxy\"}"), Some(1.0));

    // One miss and three hits of one artifact, then a list miss and hit: 4 hits of 6.
    for _ in 0..4 {
        assert_eq!(get(&target, "/example.test/dep10/@v/v1.0.0.mod").0, 200);
    }
    for _ in 0..2 {
        assert_eq!(get(&target, "/example.test/dep11/@v/list").0, 200);
    }
    let expr = dashboard_expr("Cache hit ratio");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let total = query(&prom_addr, "sum(goxy_cache_responses_total)").unwrap_or(0.0);
        if total >= 6.0 {
            // Let one more scrape land so rate() sees the final counters.
            std::thread::sleep(Duration::from_millis(1500));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus never saw the requests"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let ratio = query(&prom_addr, &expr).expect("hit ratio has a value");
    assert!(
        (ratio - 4.0 / 6.0).abs() < 0.01,
        "{expr} = {ratio}, want 0.667"
    );
    // Every other dashboard query is valid PromQL over goxy's series.
    for title in [
        "Requests by endpoint and status",
        "Cache lookups by tier",
        "Upstream up",
        "Upstream fetch latency p95",
    ] {
        let expr = dashboard_expr(title);
        let _ = query(&prom_addr, &expr);
    }
    assert_eq!(query(&prom_addr, &dashboard_expr("Upstream up")), Some(1.0));
}

#[test]
fn home_page_in_headless_chromium() {
    let browser = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok());
    let Some(browser) = browser else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (.ci/apt-packages.txt)"
        );
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(proxy) = fixture(tmp.path()) else {
        return;
    };
    let goxy = serve(&tmp.path().join("cache"), &file_url(&proxy), &[]);
    let target = goxy.url.trim_start_matches("http://").to_string();
    // One miss, one hit: 50%.
    for _ in 0..2 {
        assert_eq!(get(&target, "/example.test/dep10/@v/v1.0.0.info").0, 200);
    }
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("{}/", goxy.url))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The text a user sees (tags removed) has the exact command.
    let mut visible = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => visible.push(c),
            _ => {}
        }
    }
    let line = format!("go env -w GOPROXY={},direct", goxy.url);
    assert!(
        visible.contains(&line),
        "no `{line}` in the rendered page:\n{dom}"
    );
    assert!(
        !visible.contains("this-host"),
        "the script did not fill in the address:\n{dom}"
    );
    assert!(
        dom.contains("<span id=\"hit-rate\">50.0%</span>"),
        "no hit rate in:\n{dom}"
    );
    assert!(
        dom.contains(&file_url(&proxy)),
        "upstream not listed:\n{dom}"
    );
    assert!(
        dom.contains("closed"),
        "upstream circuit state not shown:\n{dom}"
    );
}

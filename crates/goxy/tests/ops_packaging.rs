//! The files under packaging/ work with the tools they are for: the systemd
//! unit passes `systemd-analyze verify` (no warnings) and its commands run;
//! the Grafana dashboard queries only metrics goxy exports; the Consul check
//! probes /readyz on the service's port; the nginx example, pointed at two
//! goxy nodes, serves through them and survives one node stopping.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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

fn packaging(rel: &str) -> PathBuf {
    goxy_testkit::repo_root().join("packaging").join(rel)
}

fn have(tool: &str, version_arg: &str) -> bool {
    let found = Command::new(tool).arg(version_arg).output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install {tool} (.ci/apt-packages.txt)"
        );
        eprintln!("skipped: {tool} is not installed");
    }
    found
}

fn get(addr: &str, path: &str) -> (u16, String, String) {
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
    (status, head.to_string(), body.to_string())
}

#[test]
fn systemd_unit_verifies_and_its_commands_run() {
    if !have("systemd-analyze", "--version") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(packaging("systemd/goxy.service")).unwrap();
    // The unit names the installed paths; verify it with this build's binary and a real config.
    let config = tmp.path().join("goxy.toml");
    let example = Command::new(goxy_bin())
        .args(["config", "example"])
        .output()
        .unwrap()
        .stdout;
    std::fs::write(&config, example).unwrap();
    let unit = unit
        .replace("/usr/local/bin/goxy", &goxy_bin().display().to_string())
        .replace("/etc/goxy/goxy.toml", &config.display().to_string());
    let path = tmp.path().join("goxy.service");
    std::fs::write(&path, &unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify:\n{stderr}"
    );

    // ExecStartPre (the config check) runs as written.
    let pre = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStartPre="))
        .expect("ExecStartPre");
    let words: Vec<&str> = pre.split_whitespace().collect();
    let out = Command::new(words[0])
        .args(&words[1..])
        .args(["--upstream", "off"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{pre}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        unit.contains("ExecReload=/bin/kill -HUP $MAINPID"),
        "reload must send SIGHUP (certificate reload)"
    );
}

/// Metric names (without histogram suffixes) used in PromQL `expr`.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("goxy_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        names.push(base.to_string());
        rest = &tail[end..];
    }
    names
}

pub fn dashboard_exprs() -> Vec<(String, String)> {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(packaging("grafana/goxy-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    for panel in json["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            out.push((
                panel["title"].as_str().unwrap().to_string(),
                target["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn grafana_dashboard_uses_real_metric_names_and_consul_checks_readyz() {
    let tmp = tempfile::tempdir().unwrap();
    let goxy = serve(&tmp.path().join("cache"), "off", &[]);
    let addr = goxy.url.trim_start_matches("http://").to_string();
    let (status, _, metrics) = get(&addr, "/metrics");
    assert_eq!(status, 200);
    let exported: Vec<&str> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next())
        .collect();
    let exprs = dashboard_exprs();
    assert!(exprs.len() >= 10, "{exprs:?}");
    let mut used = 0;
    for (title, expr) in &exprs {
        let names = metric_names(expr);
        assert!(
            !names.is_empty(),
            "panel {title:?} queries no goxy metric: {expr}"
        );
        for name in names {
            assert!(
                exported.contains(&name.as_str()),
                "panel {title:?} uses {name}, which goxy does not export"
            );
            used += 1;
        }
    }
    assert!(exprs.iter().any(|(t, _)| t == "Cache hit ratio"));
    assert!(used >= exprs.len());

    // Consul: an HTTP check of /readyz on the registered port.
    let consul: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(packaging("consul/goxy.json")).unwrap())
            .unwrap();
    let port = consul["service"]["port"].as_u64().expect("service.port");
    let check = &consul["service"]["checks"][0];
    let url = url_parts(check["http"].as_str().expect("checks[0].http"));
    assert_eq!(url.1, port, "the check must probe the service's own port");
    assert_eq!(url.2, "/readyz");
    assert!(check["interval"].as_str().is_some() && check["timeout"].as_str().is_some());
    // And /readyz is what it expects of a working node.
    assert_eq!(get(&addr, &url.2).0, 200);
}

fn url_parts(url: &str) -> (String, u64, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (hostport, path) = rest.split_once('/').unwrap();
    let (host, port) = hostport.rsplit_once(':').unwrap();
    (host.to_string(), port.parse().unwrap(), format!("/{path}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx's master; SIGTERM on drop so it takes its workers down with it
/// (SIGKILL would orphan them).
struct Nginx(Child);
impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn nginx_example_balances_over_two_nodes() {
    if !have("nginx", "-v") {
        return;
    }
    if !have_go() {
        assert!(std::env::var_os("CI").is_none(), "CI must have go");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let proxy = make_fixture(&tmp.path().join("fixture"), false)
        .unwrap()
        .proxy_dir;
    let node_a = serve(&tmp.path().join("a"), &file_url(&proxy), &[]);
    let node_b = serve(&tmp.path().join("b"), &file_url(&proxy), &[]);
    let port = free_port();
    let example = std::fs::read_to_string(packaging("nginx/goxy.conf")).unwrap();
    let site = example
        .replace("127.0.0.1:8081", node_a.url.trim_start_matches("http://"))
        .replace("127.0.0.1:8082", node_b.url.trim_start_matches("http://"))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    assert_ne!(site, example);
    let prefix = tmp.path().join("nginx");
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    std::fs::write(prefix.join("goxy.conf"), site).unwrap();
    let t = prefix.display();
    let main = format!(
        "worker_processes 1;\nerror_log {t}/logs/error.log;\npid {t}/nginx.pid;\nevents {{ worker_connections 64; }}\n\
         http {{\n access_log off;\n client_body_temp_path {t}/body;\n proxy_temp_path {t}/proxy;\n\
         fastcgi_temp_path {t}/fastcgi;\n uwsgi_temp_path {t}/uwsgi;\n scgi_temp_path {t}/scgi;\n include {t}/goxy.conf;\n}}\n"
    );
    std::fs::write(prefix.join("nginx.conf"), main).unwrap();
    let conf = prefix.join("nginx.conf");
    let test = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&test.stderr)
    );
    let _nginx = Nginx(
        Command::new("nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let front = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&front).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Modules spread over both nodes; the same module always lands on one node.
    let paths: Vec<String> = (10..20)
        .map(|n| format!("/example.test/dep{n}/@v/v1.0.0.mod"))
        .collect();
    for path in &paths {
        let (status, head, _) = get(&front, path);
        assert_eq!(status, 200, "{path}: {head}");
        let (_, head, _) = get(&front, path);
        assert!(
            head.to_ascii_lowercase().contains("x-goxy-cache: hit"),
            "second request for {path} not a hit: {head}"
        );
    }
    let served = |node: &GoxyProcess| {
        let (_, _, m) = get(node.url.trim_start_matches("http://"), "/metrics");
        m.lines()
            .find_map(|l| l.strip_prefix("goxy_requests_total{endpoint=\"mod\",status=\"200\"} "))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap()
    };
    let (a, b) = (served(&node_a), served(&node_b));
    assert_eq!(a + b, 20);
    assert!(a > 0 && b > 0, "one node got everything: {a} / {b}");
    // One node stops: nginx retries on the other.
    let mut node_b = node_b;
    node_b.kill();
    for path in &paths {
        assert_eq!(get(&front, path).0, 200, "{path} after a node stopped");
    }
    let _ = node_a;
}

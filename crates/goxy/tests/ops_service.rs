//! goxy run as a service: /metrics, /healthz, /readyz, the audit log and
//! request ids, rate limits under load from another process, auth scopes on
//! private modules, `serve --check` and `config example`. Everything talks to
//! goxy over loopback; the upstream is a `file://` fixture tree.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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

/// The fixture proxy tree, or `None` (skip) without `go` outside CI.
fn fixture(tmp: &Path) -> Option<PathBuf> {
    if !have_go() {
        assert!(std::env::var_os("CI").is_none(), "CI must have go on PATH");
        eprintln!("skipped: no `go` command on PATH");
        return None;
    }
    Some(
        make_fixture(&tmp.join("fixture"), false)
            .expect("mkfixture")
            .proxy_dir,
    )
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 GET with extra headers, over a fresh connection.
fn get(base: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect to goxy");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// The value of one exact series line in a /metrics text.
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("series {name} not in /metrics:\n{text}"))
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("goxy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn metrics_health_and_audit_log() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(proxy) = fixture(tmp.path()) else {
        return;
    };
    let audit = tmp.path().join("audit.log");
    let config = write_config(
        tmp.path(),
        &format!(
            "[audit]\npath = \"{}\"\n[auth]\nprivate = \"example.test/dep0*\"\n",
            audit.display()
        ),
    );
    let cfg = config.to_string_lossy().into_owned();
    let cache = tmp.path().join("cache");
    let goxy = serve(&cache, &file_url(&proxy), &["--config", &cfg]);
    let url = goxy.url.clone();

    assert_eq!(get(&url, "/healthz", &[]).status, 200);
    let ready = get(&url, "/readyz", &[]);
    assert_eq!(ready.status, 200, "{}", ready.text());

    // One miss, then three hits, of the same .mod; and a request id echoed.
    let first = get(
        &url,
        "/example.test/dep10/@v/v1.0.0.mod",
        &[("X-Request-ID", "trace-abc-1")],
    );
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-goxy-cache"), Some("miss"));
    assert_eq!(first.header("x-request-id"), Some("trace-abc-1"));
    for _ in 0..3 {
        let again = get(&url, "/example.test/dep10/@v/v1.0.0.mod", &[]);
        assert_eq!(again.header("x-goxy-cache"), Some("hit"));
        let id = again.header("x-request-id").expect("generated request id");
        assert_eq!(id.len(), 32, "{id}");
    }
    // A private module, refused without credentials: 404, nothing in metrics labels.
    assert_eq!(get(&url, "/example.test/dep01/@v/list", &[]).status, 404);
    assert_eq!(get(&url, "/not-a-module", &[]).status, 404);

    let metrics = get(&url, "/metrics", &[]);
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert_eq!(
        series(
            &text,
            "goxy_cache_responses_total{kind=\"mod\",outcome=\"miss\"}"
        ),
        1.0
    );
    assert_eq!(
        series(
            &text,
            "goxy_cache_responses_total{kind=\"mod\",outcome=\"hit\"}"
        ),
        3.0
    );
    assert_eq!(
        series(
            &text,
            "goxy_cache_lookups_total{tier=\"memory\",kind=\"mod\",result=\"hit\"}"
        ),
        3.0
    );
    assert_eq!(
        series(
            &text,
            "goxy_cache_lookups_total{tier=\"disk\",kind=\"mod\",result=\"miss\"}"
        ),
        1.0
    );
    assert_eq!(
        series(
            &text,
            "goxy_requests_total{endpoint=\"mod\",status=\"200\"}"
        ),
        4.0
    );
    assert_eq!(
        series(
            &text,
            "goxy_requests_total{endpoint=\"list\",status=\"404\"}"
        ),
        1.0
    );
    assert_eq!(
        series(
            &text,
            "goxy_requests_total{endpoint=\"invalid\",status=\"404\"}"
        ),
        1.0
    );
    assert_eq!(
        series(&text, "goxy_refused_total{reason=\"not_allowed\"}"),
        1.0
    );
    let mod_len = std::fs::metadata(proxy.join("example.test/dep10/@v/v1.0.0.mod"))
        .unwrap()
        .len() as f64;
    assert_eq!(
        series(&text, "goxy_response_bytes_total{endpoint=\"mod\"}"),
        4.0 * mod_len
    );
    let upstream = format!("upstream=\"{}\",result=\"ok\"", file_url(&proxy));
    assert_eq!(
        series(
            &text,
            &format!("goxy_upstream_fetch_duration_seconds_count{{{upstream}}}")
        ),
        1.0
    );
    assert_eq!(
        series(
            &text,
            &format!("goxy_upstream_up{{upstream=\"{}\"}}", file_url(&proxy))
        ),
        1.0
    );
    // No module path ever becomes a label.
    assert!(
        !text.contains("example.test/"),
        "module path in /metrics:\n{text}"
    );

    // The home page shows the same hit rate.
    let home = get(&url, "/", &[]).text();
    assert!(home.contains("75.0%"), "{home}");

    // Every request so far has exactly one audit line (the writer flushes
    // when its queue runs dry, so poll briefly).
    let expected = 10;
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        if lines.len() >= expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(lines.len(), expected, "{lines:#?}");
    let records: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let miss = records
        .iter()
        .find(|r| r["request_id"] == "trace-abc-1")
        .expect("the miss's line");
    assert_eq!(miss["method"], "GET");
    assert_eq!(miss["path"], "/example.test/dep10/@v/v1.0.0.mod");
    assert_eq!(miss["status"], 200);
    assert_eq!(miss["cache"], "miss");
    assert_eq!(miss["bytes"].as_f64().unwrap(), mod_len);
    assert_eq!(miss["source"], file_url(&proxy).as_str());
    assert_eq!(miss["principal"], "-");
    assert!(miss["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(miss["time"].as_str().unwrap().ends_with('Z'));
    assert!(miss["duration_ms"].as_f64().unwrap() >= 0.0);
    let hits = records
        .iter()
        .filter(|r| r["cache"] == "hit" && r["source"] == "cache")
        .count();
    assert_eq!(hits, 3);
    let refused = records
        .iter()
        .find(|r| r["path"] == "/example.test/dep01/@v/list")
        .unwrap();
    assert_eq!(refused["status"], 404);
}

#[test]
fn auth_scopes_private_modules_before_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(proxy) = fixture(tmp.path()) else {
        return;
    };
    let audit = tmp.path().join("audit.log");
    let config = write_config(
        tmp.path(),
        &format!(
            "[audit]\npath = \"{}\"\n\
             [auth]\nprivate = \"example.test/dep0*\"\n\
             [[auth.tokens]]\nname = \"ci-dep01\"\ntoken = \"tok-dep01-0123456789\"\nmodules = \"example.test/dep01\"\n\
             [[auth.users]]\nname = \"alice\"\npassword = \"alice-pass-987\"\nmodules = \"example.test/dep0*\"\n",
            audit.display()
        ),
    );
    let cfg = config.to_string_lossy().into_owned();
    let goxy = serve(
        &tmp.path().join("cache"),
        &file_url(&proxy),
        &["--config", &cfg],
    );
    let url = goxy.url.clone();
    let bearer = ("Authorization", "Bearer tok-dep01-0123456789");
    // base64("alice:alice-pass-987")
    let alice = ("Authorization", "Basic YWxpY2U6YWxpY2UtcGFzcy05ODc=");
    let zip = "/example.test/dep01/@v/v1.0.0.zip";

    // The token holder fills the cache...
    let r = get(&url, zip, &[bearer]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-goxy-cache"), Some("miss"));
    // ...and an anonymous client still cannot see it: 404, no cache header.
    let r = get(&url, zip, &[]);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-goxy-cache"), None);
    // The token is scoped to dep01 only; alice's patterns cover dep0*.
    assert_eq!(
        get(&url, "/example.test/dep02/@v/list", &[bearer]).status,
        404
    );
    assert_eq!(
        get(&url, "/example.test/dep02/@v/list", &[alice]).status,
        200
    );
    assert_eq!(get(&url, zip, &[alice]).header("x-goxy-cache"), Some("hit"));
    // Public modules need no credentials; wrong ones are refused outright.
    assert_eq!(get(&url, "/example.test/dep10/@v/list", &[]).status, 200);
    let wrong = get(
        &url,
        "/example.test/dep10/@v/list",
        &[("Authorization", "Bearer tok-dep01-012345678")],
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("www-authenticate").is_some());

    std::thread::sleep(Duration::from_millis(500));
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("\"principal\":\"ci-dep01\""), "{log}");
    assert!(log.contains("\"principal\":\"alice\""), "{log}");
    assert!(
        log.contains("\"principal\":\"invalid-credentials\""),
        "{log}"
    );
    // No credential is ever logged.
    for secret in ["tok-dep01", "alice-pass", "YWxpY2U6"] {
        assert!(!log.contains(secret), "audit log contains {secret}");
        assert!(!goxy.stderr().contains(secret), "stderr contains {secret}");
    }

    // auth.required: anonymous module requests get 401.
    let config = write_config(
        tmp.path(),
        "[auth]\nrequired = true\n[[auth.tokens]]\nname = \"ci\"\ntoken = \"another-token-xyz\"\nmodules = \"\"\n",
    );
    let cfg = config.to_string_lossy().into_owned();
    let goxy = serve(
        &tmp.path().join("cache2"),
        &file_url(&proxy),
        &["--config", &cfg],
    );
    assert_eq!(
        get(&goxy.url, "/example.test/dep10/@v/list", &[]).status,
        401
    );
    assert_eq!(
        get(
            &goxy.url,
            "/example.test/dep10/@v/list",
            &[("Authorization", "Bearer another-token-xyz")]
        )
        .status,
        200
    );
    assert_eq!(get(&goxy.url, "/healthz", &[]).status, 200);
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

/// Status codes from `curl` fetching `path` `n` times over one connection.
fn curl_statuses(url: &str, path: &str, n: usize) -> std::process::Child {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-w", "%{http_code}\\n"]);
    for _ in 0..n {
        // Each URL needs its own -o.
        cmd.args(["-o", "/dev/null"]).arg(format!("{url}{path}"));
    }
    cmd.stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn curl")
}

fn count(child: std::process::Child) -> (usize, usize) {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let ok = text.lines().filter(|l| *l == "200").count();
    let limited = text.lines().filter(|l| *l == "429").count();
    assert_eq!(
        ok + limited,
        text.lines().count(),
        "unexpected statuses: {text}"
    );
    (ok, limited)
}

#[test]
fn rate_limits_hold_under_load_from_other_processes() {
    if !have("curl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(proxy) = fixture(tmp.path()) else {
        return;
    };

    // Per client address: burst 5, then 2/s.
    let config = write_config(
        tmp.path(),
        "[limits]\nclient_rate = 2.0\nclient_burst = 5\n",
    );
    let cfg = config.to_string_lossy().into_owned();
    let goxy = serve(
        &tmp.path().join("c1"),
        &file_url(&proxy),
        &["--config", &cfg],
    );
    let started = std::time::Instant::now();
    let (ok, limited) = count(curl_statuses(&goxy.url, "/example.test/dep10/@v/list", 60));
    let elapsed = started.elapsed().as_secs_f64();
    // At most the burst plus what refilled while curl ran.
    assert!(
        ok >= 5 && (ok as f64) <= 5.0 + 2.0 * elapsed + 1.0,
        "ok {ok} in {elapsed:.2}s"
    );
    assert!(limited >= 60 - ok, "limited {limited}");
    let r = get(&goxy.url, "/example.test/dep10/@v/list", &[]);
    assert_eq!(r.status, 429);
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=1).contains(&retry), "Retry-After {retry}");
    // Probes are never limited.
    assert_eq!(get(&goxy.url, "/healthz", &[]).status, 200);
    std::thread::sleep(Duration::from_secs(retry));
    assert_eq!(
        get(&goxy.url, "/example.test/dep10/@v/list", &[]).status,
        200,
        "after Retry-After"
    );
    let metrics = get(&goxy.url, "/metrics", &[]).text();
    assert!(
        series(&metrics, "goxy_refused_total{reason=\"rate_limit_client\"}") >= (60 - ok) as f64
    );
    drop(goxy);

    // Per module: two processes hammer one module and one process another.
    let config = write_config(
        tmp.path(),
        "[limits]\nmodule_rate = 1.0\nmodule_burst = 4\n",
    );
    let cfg = config.to_string_lossy().into_owned();
    let goxy = serve(
        &tmp.path().join("c2"),
        &file_url(&proxy),
        &["--config", &cfg],
    );
    let started = std::time::Instant::now();
    let a = curl_statuses(&goxy.url, "/example.test/dep11/@v/list", 30);
    let b = curl_statuses(&goxy.url, "/example.test/dep11/@v/list", 30);
    let c = curl_statuses(&goxy.url, "/example.test/dep12/@v/list", 10);
    let ((ok_a, _), (ok_b, _), (ok_c, limited_c)) = (count(a), count(b), count(c));
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        ok_a + ok_b >= 4 && ((ok_a + ok_b) as f64) <= 4.0 + elapsed + 1.0,
        "dep11 ok {}",
        ok_a + ok_b
    );
    assert!(
        ok_c >= 4 && limited_c <= 6,
        "dep12 has its own bucket: ok {ok_c}"
    );
}

#[test]
fn check_names_the_bad_key_and_example_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let check = |text: &str| {
        let config = write_config(tmp.path(), text);
        let out = Command::new(goxy_bin())
            .args(["serve", "--upstream", "off", "--check", "--config"])
            .arg(&config)
            .env_remove("GOXY_LISTEN")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, text) = check("[connections]\nmax_conections = 5\n");
    assert!(!ok && text.contains("max_conections"), "{text}");
    let (ok, text) = check("[tls]\ncert = \"/x/cert.pem\"\n");
    assert!(
        !ok && text.contains("tls.key") && text.contains("required"),
        "{text}"
    );
    let (ok, text) = check("[limits]\nclient_rate = -1.0\n");
    assert!(!ok && text.contains("limits.client_rate"), "{text}");
    let (ok, text) = check("[auth]\ndeny_status = 500\n");
    assert!(!ok && text.contains("auth.deny_status"), "{text}");
    let (ok, text) = check("[[auth.tokens]]\nname = \"x\"\ntoken = \"short\"\n");
    assert!(!ok && text.contains("auth.tokens[0]"), "{text}");
    let (ok, text) =
        check("[tls]\ncert = \"/nonexistent/cert.pem\"\nkey = \"/nonexistent/key.pem\"\n");
    assert!(!ok && text.contains("/nonexistent/cert.pem"), "{text}");

    // The example is a valid configuration, and environment overrides it.
    let example = Command::new(goxy_bin())
        .args(["config", "example"])
        .output()
        .unwrap();
    assert!(example.status.success());
    let example = String::from_utf8(example.stdout).unwrap();
    let (ok, text) = check(&example);
    assert!(ok, "{text}");
    assert!(text.contains("max_connections 1024"), "{text}");
    let config = write_config(tmp.path(), &example);
    let out = Command::new(goxy_bin())
        .args(["serve", "--upstream", "off", "--check", "--config"])
        .arg(&config)
        .env("GOXY_MAX_CONNECTIONS", "77")
        .env("GOXY_RATE_LIMIT_CLIENT", "3.5")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("max_connections 77") && text.contains("client 3.5/s"),
        "{text}"
    );
}

/// Behind a trusted reverse proxy each forwarded client has its own rate
/// limit and is the client in the audit log; from anyone else the header is
/// ignored, so it cannot be used to dodge the limit.
#[test]
fn forwarded_clients_count_only_behind_trusted_proxies() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(proxy) = fixture(tmp.path()) else {
        return;
    };
    let audit = tmp.path().join("audit.log");
    let path = "/example.test/dep10/@v/list";
    let statuses = |url: &str, client: &str| -> Vec<u16> {
        (0..3)
            .map(|_| get(url, path, &[("X-Forwarded-For", client)]).status)
            .collect()
    };
    // Burst 2 at a rate slow enough that nothing refills during the test.
    let limits = "[limits]\nclient_rate = 0.01\nclient_burst = 2\n";

    let config = write_config(
        tmp.path(),
        &format!(
            "{limits}trusted_proxies = [\"127.0.0.1\"]\n[audit]\npath = \"{}\"\n",
            audit.display()
        ),
    );
    let cfg = config.to_string_lossy().into_owned();
    let goxy = serve(
        &tmp.path().join("c1"),
        &file_url(&proxy),
        &["--config", &cfg],
    );
    assert_eq!(statuses(&goxy.url, "192.0.2.1"), [200, 200, 429]);
    assert_eq!(
        statuses(&goxy.url, "192.0.2.2"),
        [200, 200, 429],
        "another forwarded client has its own bucket"
    );
    // A client-written prefix does not pick the bucket: the proxy's hop does.
    assert_eq!(
        get(
            &goxy.url,
            path,
            &[("X-Forwarded-For", "198.51.100.7, 192.0.2.1")]
        )
        .status,
        429
    );
    // Stopped as a service manager stops it: a SIGTERM loses no audit line
    // (a SIGKILL may lose the lines still queued).
    let mut goxy = goxy;
    assert!(
        goxy.terminate(Duration::from_secs(30)).is_some(),
        "goxy did not exit within 30 s of SIGTERM"
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(
        log.contains("\"client\":\"192.0.2.1\"") && log.contains("\"client\":\"192.0.2.2\""),
        "audit log does not name the forwarded clients: {log}"
    );

    // Without trusted proxies the header is ignored: one bucket for 127.0.0.1.
    let config = write_config(tmp.path(), limits);
    let cfg = config.to_string_lossy().into_owned();
    let goxy = serve(
        &tmp.path().join("c2"),
        &file_url(&proxy),
        &["--config", &cfg],
    );
    assert_eq!(statuses(&goxy.url, "192.0.2.1")[..2], [200, 200]);
    assert_eq!(
        statuses(&goxy.url, "192.0.2.2"),
        [429, 429, 429],
        "a forged X-Forwarded-For escaped the limit"
    );

    // A bad network is a configuration error that names the key.
    let bad = write_config(
        tmp.path(),
        "[limits]\ntrusted_proxies = [\"10.0.0.0/40\"]\n",
    );
    let out = std::process::Command::new(goxy_bin())
        .args(["serve", "--check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && text.contains("limits.trusted_proxies"),
        "{text}"
    );
}

/// A SIGTERM loses no audit line: 200 requests answered just before it are
/// all in the log once goxy has exited, with a queue deep enough that many are
/// still waiting for the writer when the signal arrives.
#[test]
fn sigterm_flushes_every_audit_line() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(proxy) = fixture(tmp.path()) else {
        return;
    };
    let audit = tmp.path().join("audit.log");
    let config = write_config(
        tmp.path(),
        &format!("[audit]\npath = \"{}\"\nbuffer = 8192\n", audit.display()),
    );
    let cfg = config.to_string_lossy().into_owned();
    let mut goxy = serve(
        &tmp.path().join("c"),
        &file_url(&proxy),
        &["--config", &cfg],
    );
    let sent = 200;
    for i in 0..sent {
        let r = get(
            &goxy.url,
            "/healthz",
            &[("X-Request-ID", &format!("flush-{i}"))],
        );
        assert_eq!(r.status, 200);
    }
    assert!(
        goxy.terminate(Duration::from_secs(30)).is_some(),
        "goxy did not exit within 30 s of SIGTERM"
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    let logged = (0..sent)
        .filter(|i| log.contains(&format!("\"request_id\":\"flush-{i}\"")))
        .count();
    assert_eq!(logged, sent, "audit lines lost on SIGTERM:\n{log}");
}

//! Private code reaches only those allowed to read it, whatever name a
//! request uses to reach its repository (the credential-confusion class of
//! attack: a public name that leads goxy to fetch a private repository with
//! the credentials it holds).
//!
//! On loopback: a git host whose `corp/` repositories need credentials
//! (goxy holds them), an attacker's vanity host whose go-import page names
//! the private repository, an upstream proxy fixture that counts requests,
//! and goxy with `--private <host>/corp/secret` and `[auth]` tokens.

use goxy_testkit::gitfixture::{Repo, Server};
use goxy_testkit::goxy::GoxyProcess;
use goxy_testkit::http::{http_get_with, HttpResponse};
use goxy_testkit::upstream::Upstream;
use std::path::Path;
use std::time::Duration;

const GIT_IP: &str = "127.0.0.86";
const ATTACKER_IP: &str = "127.0.0.87";
/// A string only the private repository holds.
const MARKER: &str = "private-marker-8d1f";

fn goxy_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_goxy"))
}

fn get(goxy: &GoxyProcess, path: &str, auth: Option<&str>) -> HttpResponse {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    http_get_with(
        &format!("{}{path}", goxy.url),
        &headers,
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Spellings of the private module path and the aliases that reach its repository.
fn hostile_paths() -> Vec<String> {
    let h = GIT_IP;
    let mut paths = Vec::new();
    for module in [
        format!("{h}/corp/secret"),
        format!("{h}/corp/!secret"),
        format!("{h}/!corp/secret"),
        format!("{h}/corp/secret.git"),
        format!("{h}/corp/!s!e!c!r!e!t"),
        format!("{h}/corp/secret.git/sub"),
        format!("{h}/corp/%73ecret"),
        format!("{h}/corp/%21secret"),
        format!("{h}/corp%2Fsecret"),
        format!("{h}/corp/secret/"),
        format!("{h}//corp/secret"),
        format!("{h}/corp/./secret"),
        format!("{h}/corp/%2e/secret"),
        format!("{ATTACKER_IP}/evil"),
    ] {
        for tail in [
            "@v/list",
            "@latest",
            "@v/v1.0.0.info",
            "@v/v1.0.0.mod",
            "@v/v1.0.0.zip",
            "@v/master.info",
            "@v/v2.0.0+incompatible.info",
        ] {
            paths.push(format!("/{module}/{tail}"));
        }
    }
    paths
}

fn assert_refused(goxy: &GoxyProcess, who: &str, auth: Option<&str>) {
    for path in hostile_paths() {
        let resp = get(goxy, &path, auth);
        assert!(
            resp.status == 404 || resp.status == 400,
            "{who}: {path}: {} {}",
            resp.status,
            resp.text()
        );
        assert!(
            !String::from_utf8_lossy(&resp.body).contains(MARKER),
            "{who}: {path} served private content"
        );
    }
}

#[test]
fn private_code_is_served_only_in_scope_whatever_the_spelling() {
    if !goxy_testkit::have_go() {
        eprintln!("SKIP: no go command");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let root = tmp.join("srv");
    std::fs::create_dir_all(&root).unwrap();
    let Some(git) = Server::start(GIT_IP, &root) else {
        return;
    };
    let Some(attacker) = Server::start(ATTACKER_IP, &tmp.join("attacker")) else {
        return;
    };
    let module = format!("{GIT_IP}/corp/secret");
    git.add_import(&module, "corp/secret.git", "");
    let mut repo = Repo::new(&root, &tmp.join("work"), "corp/secret.git");
    repo.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write(
            "secret.go",
            &format!("package secret\n\nconst S = \"{MARKER}\"\n"),
        );
    repo.commit("one");
    repo.tag("v1.0.0");
    git.require_auth("/corp/", "bot", "git-token");
    // The attacker's public page names the private repository.
    attacker.add_import(
        &format!("{ATTACKER_IP}/evil"),
        &format!("http://{GIT_IP}/corp/secret.git"),
        "",
    );
    let upstream_root = tmp.join("upstream");
    std::fs::create_dir_all(&upstream_root).unwrap();
    let upstream = Upstream::start(&upstream_root).unwrap();

    let config = tmp.join("goxy.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nprivate = \"{module}\"\n\
             [[auth.users]]\nname = \"team\"\npassword = \"team-pass\"\nmodules = \"{module}\"\n\
             [[auth.tokens]]\nname = \"other\"\ntoken = \"other-token\"\nmodules = \"example.test/*\"\n\
             [[direct.credentials]]\nhost = \"{GIT_IP}\"\nusername = \"bot\"\npassword = \"git-token\"\n"
        ),
    )
    .unwrap();
    let cache = tmp.join("cache").to_string_lossy().into_owned();
    let config_arg = config.to_string_lossy().into_owned();
    let upstream_list = format!("{},direct", upstream.url());
    let insecure = format!("{GIT_IP},{ATTACKER_IP}");
    let home = tmp.join("goxy-home");
    std::fs::create_dir_all(&home).unwrap();
    let home_text = home.to_string_lossy().into_owned();
    // Every node of this test: the same cache, settings and environment.
    let node = |extra: &[&str]| {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cache-dir",
            &cache,
            "--config",
            &config_arg,
            "--upstream",
            &upstream_list,
            "--private",
            &module,
            "--direct-allow-private",
            "--insecure",
            &insecure,
            "--sumdb",
            "off",
        ];
        args.extend_from_slice(extra);
        GoxyProcess::start_with_env(
            goxy_bin(),
            &args,
            &[
                ("HOME", &home_text),
                ("GOPRIVATE", ""),
                ("GONOPROXY", ""),
                ("GIT_CONFIG_NOSYSTEM", "1"),
                ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ],
        )
        .unwrap()
    };
    let goxy = node(&[]);
    let other = Some("Bearer other-token");

    // Before the private module is cached.
    assert_refused(&goxy, "anonymous", None);
    assert_refused(&goxy, "token scoped to other modules", other);
    assert!(
        git.authenticated_requests().is_empty(),
        "credentials were used for an alias: {:?}",
        git.authenticated_requests()
    );

    // The team member's go command, with goxy's user in .netrc, downloads
    // it. go sends .netrc credentials only over https
    // (cmd/go/internal/auth `AddCredentials`), so this goxy node serves TLS,
    // on the same cache directory.
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_file = tmp.join("cert.pem");
    let key_file = tmp.join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).unwrap();
    let (cert_arg, key_arg) = (
        cert_file.to_string_lossy().into_owned(),
        key_file.to_string_lossy().into_owned(),
    );
    let tls_goxy = node(&["--tls-cert", &cert_arg, "--tls-key", &key_arg]);
    let go_home = tmp.join("go-home");
    std::fs::create_dir_all(&go_home).unwrap();
    let netrc = go_home.join("netrc");
    // go matches a netrc machine against host:port (auth.loadCredential).
    let machine = tls_goxy.url.trim_start_matches("https://").to_string();
    std::fs::write(
        &netrc,
        format!("machine {machine} login team password team-pass\n"),
    )
    .unwrap();
    let project = tmp.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("go.mod"),
        "module example.test/app\n\ngo 1.21\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = goxy_testkit::isolated_go(&go_home, &tls_goxy.url)
            .env("NETRC", &netrc)
            .env("SSL_CERT_FILE", &cert_file)
            .args(args)
            .current_dir(&project)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "go {args:?}: {}\ngoxy log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            tls_goxy.stderr()
        );
    };
    run(&["get", &format!("{module}@v1.0.0")]);
    run(&["mod", "verify"]);
    let go_sum = std::fs::read_to_string(project.join("go.sum")).unwrap();
    assert!(go_sum.contains(&format!("{module} v1.0.0 h1:")), "{go_sum}");
    let served = get(
        &goxy,
        &format!("/{module}/@v/v1.0.0.zip"),
        Some("Basic dGVhbTp0ZWFtLXBhc3M="),
    );
    assert_eq!(served.status, 200, "{}", served.text());
    let authenticated = git.authenticated_requests().len();
    assert!(authenticated > 0, "the private fetch used no credentials");

    // After: cached (the plain node reads the same cache directory), and
    // still nobody else reaches it by any spelling.
    assert_refused(&goxy, "anonymous, after", None);
    assert_refused(&goxy, "other token, after", other);
    assert_eq!(
        git.authenticated_requests().len(),
        authenticated,
        "credentials were used for an alias after the fill: {:?}",
        git.authenticated_requests()
    );
    // The attacker's name did reach the git host, anonymously, and was refused.
    assert!(
        git.requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.contains("/corp/secret.git/") && r.ends_with(" auth=")),
        "the alias never reached the git host: {:?}",
        git.requests.lock().unwrap()
    );
    let leaked: Vec<String> = upstream
        .all_hits()
        .into_keys()
        // go itself also asks for the path prefix `<host>/corp`, which the
        // private pattern does not cover (as with go alone); the private
        // module's own path, in any spelling, must never appear.
        .filter(|p| p.contains(GIT_IP) && p.to_ascii_lowercase().contains("secret"))
        .collect();
    assert!(
        leaked.is_empty(),
        "private paths reached the upstream: {leaked:?}"
    );
    let metrics = get(&goxy, "/metrics", None).text();
    let aliases = metrics
        .lines()
        .find_map(|l| l.strip_prefix("goxy_refused_total{reason=\"private_alias\"} "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(aliases > 0, "{metrics}");

    // Authorisation follows what was committed: a node on the same cache whose
    // private patterns forgot the module still serves it only in scope.
    drop(goxy);
    drop(tls_goxy);
    let forgetful = tmp.join("forgetful.toml");
    std::fs::write(
        &forgetful,
        "[[auth.users]]\nname = \"team\"\npassword = \"team-pass\"\nmodules = \"127.0.0.86/corp/*\"\n\
         [[auth.tokens]]\nname = \"other\"\ntoken = \"other-token\"\nmodules = \"example.test/*\"\n",
    )
    .unwrap();
    let forgetful_arg = forgetful.to_string_lossy().into_owned();
    let goxy = GoxyProcess::start_with_env(
        goxy_bin(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cache-dir",
            &cache,
            "--config",
            &forgetful_arg,
            "--upstream",
            "off",
            "--sumdb",
            "off",
        ],
        &[("HOME", &home_text), ("GOPRIVATE", ""), ("GONOPROXY", "")],
    )
    .unwrap();
    for ext in ["info", "mod", "zip"] {
        let path = format!("/{module}/@v/v1.0.0.{ext}");
        for auth in [None, other] {
            let resp = get(&goxy, &path, auth);
            assert_eq!(resp.status, 404, "{path} as {auth:?}: {}", resp.text());
        }
        let resp = get(&goxy, &path, Some("Basic dGVhbTp0ZWFtLXBhc3M="));
        assert_eq!(resp.status, 200, "{path} as team: {}", resp.text());
    }
}

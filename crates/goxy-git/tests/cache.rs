//! Cache, egress and credential behaviour of the direct fetcher against
//! loopback fixture repositories (no `go` needed). Binds 127.0.0.74:80 and
//! 127.0.0.75:80 and 127.0.0.76:80; skips when that is impossible.

mod common;

use common::{Repo, Server};
use goxy_git::{Credentials, DirectConfig, DirectFetcher, HostCredential};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const IP: &str = "127.0.0.74";
const OTHER_IP: &str = "127.0.0.75";
const THIRD_IP: &str = "127.0.0.76";

fn fetcher(cache: &Path, creds: Credentials) -> DirectFetcher {
    DirectFetcher::new(DirectConfig {
        insecure: format!("{IP},{OTHER_IP},{THIRD_IP},{REUSE_IP}"),
        allow_private_addresses: true,
        credentials: creds,
        ..DirectConfig::new(cache)
    })
    .expect("fetcher")
}

/// Total bytes under every cached repository's `objects/`.
fn object_bytes(cache: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        match std::fs::read_dir(p) {
            Ok(d) => d
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum(),
            Err(_) => 0,
        }
    }
    std::fs::read_dir(cache.join("git"))
        .expect("cache/git")
        .flatten()
        .map(|r| walk(&r.path().join("objects")))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_is_incremental_and_hits_do_not_wait() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = Server::start(IP, &root) else {
        return;
    };
    server.add_import(&format!("{IP}/big"), "big.git", "");
    let mut r = Repo::new(&root, &tmp.path().join("work"), "big.git");
    r.write("go.mod", &format!("module {IP}/big\n\ngo 1.21\n"));
    for i in 0..300 {
        r.write(
            &format!("pkg{}/f{i}.go", i % 10),
            &format!(
                "package pkg\n\n// {}\nconst X{i} = {i}\n",
                "x".repeat(200 + i)
            ),
        );
    }
    r.commit("bulk");
    r.tag("v1.0.0");

    let cache = tmp.path().join("cache");
    let f = fetcher(&cache, Credentials::default());
    let module = format!("{IP}/big");
    let first = f.zip(&module, "v1.0.0").await.expect("zip v1.0.0");
    // The depth-1 fetch is completed in the background; measure after it.
    f.settle().await;
    assert!(
        first.len() > 10_000,
        "zip of 300 files is {} bytes",
        first.len()
    );
    let repos: Vec<_> = std::fs::read_dir(cache.join("git"))
        .expect("cache/git")
        .flatten()
        .collect();
    assert_eq!(repos.len(), 1, "one bare repository per URL");
    let marker = repos[0].path().join("goxy-test-marker");
    std::fs::write(&marker, "x").expect("marker");
    let objects_before = object_bytes(&cache);

    // A new version upstream: list sees it, and fetching it adds only a small pack.
    r.write("pkg0/new.go", "package pkg\n");
    r.commit("small change");
    r.tag("v1.1.0");
    let list = f.list(&module).await.expect("list");
    assert_eq!(list, ["v1.0.0", "v1.1.0"]);
    let info = f.stat(&module, "v1.1.0").await.expect("stat v1.1.0");
    assert_eq!(info.version, "v1.1.0");
    f.zip(&module, "v1.1.0").await.expect("zip v1.1.0");
    assert!(
        marker.exists(),
        "the repository cache was re-created instead of updated"
    );
    let objects_after = object_bytes(&cache);
    let added = objects_after.saturating_sub(objects_before);
    assert!(added > 0, "the new version was fetched");
    assert!(
        added * 5 < objects_before,
        "second fetch added {added} bytes next to the first {objects_before}: not incremental"
    );

    // While a fetch hangs on a slow server, cached versions answer at once.
    server.git_delay_ms.store(3000, Ordering::SeqCst);
    let slow = {
        let f = f.clone();
        let module = module.clone();
        tokio::spawn(async move { f.list(&module).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    let gomod = f.go_mod(&module, "v1.0.0").await.expect("cached go.mod");
    let zip = f.zip(&module, "v1.0.0").await.expect("cached zip");
    let info = f.stat(&module, "v1.0.0").await.expect("cached info");
    let waited = t.elapsed();
    assert!(
        waited < Duration::from_millis(2000),
        "cache hits waited {waited:?} behind a fetch"
    );
    assert!(
        !slow.is_finished(),
        "the slow fetch should still be running (delay did not apply?)"
    );
    assert_eq!(zip, first, "same version, same zip bytes");
    assert!(gomod.starts_with(b"module "));
    assert_eq!(info.version, "v1.0.0");
    slow.await
        .expect("join")
        .expect("slow list eventually succeeds");
    server.git_delay_ms.store(0, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_policy_and_credential_scope() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = Server::start(OTHER_IP, &root) else {
        return;
    };
    let Some(server2) = Server::start(THIRD_IP, &root) else {
        return;
    };
    // Module on IP whose repository lives on OTHER_IP.
    server2.add_import(
        &format!("{THIRD_IP}/cross"),
        &format!("http://{OTHER_IP}/cross.git"),
        "",
    );
    server.add_import(&format!("{OTHER_IP}/same"), "cross.git", "");
    let mut r = Repo::new(&root, &tmp.path().join("work"), "cross.git");
    r.write("go.mod", "module example.com/whatever\n")
        .write("a.go", "package a\n");
    r.commit("one");
    r.tag("v1.0.0");

    // Denied by default: private addresses, plain http.
    let strict = DirectFetcher::new(DirectConfig {
        credentials: Credentials::default(),
        ..DirectConfig::new(tmp.path().join("c0"))
    })
    .expect("fetcher");
    let before =
        server.requests.lock().expect("lock").len() + server2.requests.lock().expect("lock").len();
    let e = strict
        .list(&format!("{THIRD_IP}/cross"))
        .await
        .expect_err("loopback must be denied");
    assert!(
        !e.is_not_found(),
        "a policy denial is not an authoritative not-found: {e}"
    );
    let no_http = DirectFetcher::new(DirectConfig {
        allow_private_addresses: true,
        credentials: Credentials::default(),
        ..DirectConfig::new(tmp.path().join("c1"))
    })
    .expect("fetcher");
    let e = no_http
        .list(&format!("{THIRD_IP}/cross"))
        .await
        .expect_err("http without an insecure pattern must be denied");
    assert!(!e.is_not_found(), "{e}");
    let after =
        server.requests.lock().expect("lock").len() + server2.requests.lock().expect("lock").len();
    assert_eq!(before, after, "denied fetches must not reach the servers");

    // Credentials for IP are sent to IP only, never to the repository on OTHER_IP.
    let secret = "s3cr3t-token-value";
    let creds = Credentials {
        hosts: vec![HostCredential {
            host: THIRD_IP.into(),
            username: "bot".into(),
            password: secret.into(),
        }],
        ..Credentials::default()
    };
    let f = fetcher(&tmp.path().join("c2"), creds.clone());
    let v = f
        .list(&format!("{THIRD_IP}/cross"))
        .await
        .expect("list through cross-host go-import");
    assert_eq!(v, ["v1.0.0"]);
    let to_ip = server2.requests.lock().expect("lock").clone();
    let to_other = server.requests.lock().expect("lock").clone();
    assert!(
        to_ip
            .iter()
            .any(|l| l.contains("go-get=1") && l.contains("auth=Basic")),
        "discovery on {THIRD_IP} carries its credential: {to_ip:?}"
    );
    assert!(
        to_other.iter().all(|l| l.ends_with("auth=")),
        "credential leaked to {OTHER_IP}: {to_other:?}"
    );
    assert!(!to_other.is_empty());

    // Credentials for OTHER_IP go to its git endpoint; errors never show them.
    let creds_other = Credentials {
        hosts: vec![HostCredential {
            host: OTHER_IP.into(),
            username: "bot".into(),
            password: secret.into(),
        }],
        ..Credentials::default()
    };
    let f2 = fetcher(&tmp.path().join("c3"), creds_other);
    f2.zip(&format!("{OTHER_IP}/same"), "v1.0.0")
        .await
        .expect("zip with credentials");
    let to_other = server.requests.lock().expect("lock").clone();
    assert!(
        to_other
            .iter()
            .any(|l| l.contains("git-upload-pack") && l.contains("auth=Basic")),
        "git sent the credential: {to_other:?}"
    );
    server.add_import(&format!("{OTHER_IP}/missing"), "missing.git", "");
    let e = f2
        .list(&format!("{OTHER_IP}/missing"))
        .await
        .expect_err("missing repository");
    assert!(
        e.is_not_found(),
        "a repository that does not exist is not-found: {e}"
    );
    assert!(
        !e.to_string().contains(secret) && !format!("{e:?}").contains(secret),
        "secret in error: {e}"
    );
}

/// A go-import `mod` entry sends the module to the named module proxy; when
/// `go` is available its `GOPROXY=direct` download must agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_import_mod_entry_uses_the_named_proxy() {
    const MIP: &str = "127.0.0.77";
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    let module = format!("{MIP}/viaproxy");
    let dir = root.join("modproxy").join(&module).join("@v");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let Some(server) = Server::start(MIP, &root) else {
        return;
    };
    server.add_import(&module, &format!("mod:http://{MIP}/modproxy"), "");
    let gomod = format!("module {module}\n\ngo 1.21\n");
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, data) in [("go.mod", gomod.as_str()), ("a.go", "package viaproxy\n")] {
        w.start_file(format!("{module}@v1.0.0/{name}"), opts)
            .expect("zip entry");
        std::io::Write::write_all(&mut w, data.as_bytes()).expect("zip write");
    }
    let zip_bytes = w.finish().expect("zip").into_inner();
    std::fs::write(dir.join("list"), "v1.0.0\nv1.0\nnot-a-version\n").expect("write");
    std::fs::write(
        dir.join("v1.0.0.info"),
        r#"{"Version":"v1.0.0","Time":"2020-01-02T03:04:05Z"}"#,
    )
    .expect("write");
    std::fs::write(dir.join("v1.0.0.mod"), &gomod).expect("write");
    std::fs::write(dir.join("v1.0.0.zip"), &zip_bytes).expect("write");

    let f = DirectFetcher::new(DirectConfig {
        insecure: MIP.into(),
        allow_private_addresses: true,
        credentials: Credentials::default(),
        ..DirectConfig::new(tmp.path().join("cache"))
    })
    .expect("fetcher");
    assert_eq!(f.list(&module).await.expect("list"), ["v1.0.0"]);
    let info = f.stat(&module, "v1.0.0").await.expect("info");
    assert_eq!(
        (info.version.as_str(), info.time.as_str()),
        ("v1.0.0", "2020-01-02T03:04:05Z")
    );
    assert_eq!(
        f.go_mod(&module, "v1.0.0").await.expect("mod"),
        gomod.as_bytes()
    );
    let (z, h1) = f.zip_with_hash(&module, "v1.0.0").await.expect("zip");
    assert_eq!(z, zip_bytes);
    assert!(f
        .stat(&module, "v9.9.9")
        .await
        .expect_err("missing")
        .is_not_found());

    if goxy_testkit::have_go() {
        let cwd = tmp.path().join("cwd");
        std::fs::create_dir_all(&cwd).expect("mkdir");
        let out = goxy_testkit::isolated_go(&tmp.path().join("gohome"), "direct")
            .env("GOINSECURE", MIP)
            .env("GOPRIVATE", MIP)
            .current_dir(&cwd)
            .args(["mod", "download", "-json", &format!("{module}@v1.0.0")])
            .output()
            .expect("go");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("go json");
        assert_eq!(
            v.get("Sum").and_then(|s| s.as_str()),
            Some(h1.as_str()),
            "go: {v}"
        );
        assert_eq!(
            v.get("GoModSum").and_then(|s| s.as_str()),
            Some(goxy_git::hash_go_mod(gomod.as_bytes()).as_str())
        );
    }
}

/// Hostile repository content and hostile queries run nothing and write nothing:
/// filter drivers and submodule URLs are inert, option-shaped versions never reach git.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_content_and_queries_are_inert() {
    const HIP: &str = "127.0.0.79";
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = Server::start(HIP, &root) else {
        return;
    };
    let canary = tmp.path().join("pwned");
    let c = canary.display().to_string();
    server.add_import(&format!("{HIP}/evil"), "evil.git", "");
    let mut r = Repo::new(&root, &tmp.path().join("work"), "evil.git");
    r.write("go.mod", &format!("module {HIP}/evil\n"));
    r.write(".gitattributes", "* filter=evil diff=evil\n*.go ident\n");
    r.write(
        ".gitmodules",
        &format!("[submodule \"s\"]\n\tpath = s\n\turl = ext::sh -c touch% {c}\n"),
    );
    r.write("a.go", "package evil // $Id$\n");
    r.symlink("secret", "/proc/self/environ");
    r.symlink("netrc", "../../../../root/.netrc");
    let inner = r.commit("one");
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{inner},s"),
    ]);
    r.git(&["commit", "-q", "-m", "submodule"]);
    r.tag("v1.0.0");

    let f = DirectFetcher::new(DirectConfig {
        insecure: HIP.into(),
        allow_private_addresses: true,
        credentials: Credentials::default(),
        ..DirectConfig::new(tmp.path().join("cache"))
    })
    .expect("fetcher");
    let module = format!("{HIP}/evil");
    let zip = f.zip(&module, "v1.0.0").await.expect("zip");
    let mut names = Vec::new();
    let mut ar = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("zip");
    for i in 0..ar.len() {
        names.push(ar.by_index(i).expect("entry").name().to_string());
    }
    names.sort();
    let p = format!("{module}@v1.0.0/");
    assert_eq!(
        names,
        [
            format!("{p}.gitattributes"),
            format!("{p}.gitmodules"),
            format!("{p}a.go"),
            format!("{p}go.mod")
        ]
    );
    let mut a = String::new();
    std::io::Read::read_to_string(&mut ar.by_name(&format!("{p}a.go")).expect("a.go"), &mut a)
        .expect("read");
    // cmd/go's archive applies `ident`; goxy must produce what go produces (checked by the
    // differential suite for eol); here only that nothing outside the repository leaked in.
    assert!(
        !a.contains("HOME=") && !a.contains("PATH="),
        "environment leaked into the zip"
    );

    for q in [
        "--output=/tmp/goxy-p",
        "-oProxyCommand=touch /tmp/goxy-p",
        "--upload-pack=touch /tmp/goxy-p",
        "$(id)",
        "`id`",
        "v1.0.0\n",
        "../../etc/passwd",
    ] {
        let e = f.stat(&module, q).await.expect_err(q);
        assert!(e.is_not_found(), "{q:?}: {e}");
        let e = f.zip(&module, q).await.expect_err(q);
        assert!(e.is_not_found(), "{q:?}: {e}");
    }
    for m in [
        format!("{HIP}/-x"),
        format!("{HIP}/evil/../x"),
        format!("{HIP}/evil%2f.."),
    ] {
        assert!(f.list(&m).await.expect_err(&m).is_not_found(), "{m}");
    }
    assert!(!canary.exists(), "a hostile submodule URL or filter ran");
    assert!(
        !Path::new("/tmp/goxy-p").exists(),
        "an option-shaped query reached git"
    );
}

/// A repository override naming a host (not an IP literal): git connects to
/// the addresses the egress check resolved (curl resolve pin), and the
/// override needs no go-import page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_by_host_name_is_pinned_and_fetched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = Server::start_on("127.0.0.1", 0, &root) else {
        return;
    };
    let mut r = Repo::new(&root, &tmp.path().join("work"), "pinned.git");
    r.write("go.mod", "module corp.example/pinned\n")
        .write("a.go", "package p\n");
    r.commit("one");
    r.tag("v1.0.0");
    let url = format!("http://localhost:{}/pinned.git", server.port);
    let cfg = |private: bool| DirectConfig {
        insecure: "corp.example".into(),
        allow_private_addresses: private,
        repo_overrides: vec![("corp.example/pinned".into(), url.clone())],
        credentials: Credentials::default(),
        ..DirectConfig::new(tmp.path().join(if private { "c1" } else { "c0" }))
    };
    let denied = DirectFetcher::new(cfg(false)).expect("fetcher");
    let e = denied
        .list("corp.example/pinned")
        .await
        .expect_err("localhost resolves to loopback");
    assert!(e.is_denied(), "{e}");
    let f = DirectFetcher::new(cfg(true)).expect("fetcher");
    assert_eq!(
        f.list("corp.example/pinned").await.expect("list"),
        ["v1.0.0"]
    );
    let info = f.stat("corp.example/pinned", "v1.0.0").await.expect("stat");
    assert_eq!(info.version, "v1.0.0");
    f.zip("corp.example/pinned", "v1.0.0").await.expect("zip");
    assert!(
        !server
            .requests
            .lock()
            .expect("lock")
            .iter()
            .any(|l| l.contains("go-get")),
        "an override needs no discovery"
    );
}

const REUSE_IP: &str = "127.0.0.82";

/// h1 of every zip, built once with reuse from the tree and once by `git archive`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_versions_come_from_the_completed_cache_and_reuse_unchanged_entries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = Server::start(REUSE_IP, &root) else {
        return;
    };
    server.add_import(&format!("{REUSE_IP}/rb"), "rb.git", "");
    let module = format!("{REUSE_IP}/rb");
    let sub = format!("{REUSE_IP}/rb/sub");
    let mut r = Repo::new(&root, &tmp.path().join("work"), "rb.git");
    r.write("go.mod", &format!("module {module}\n\ngo 1.21\n"))
        .write("LICENSE", "root license\n")
        .write("sub/go.mod", &format!("module {sub}\n"))
        .write("sub/s.go", "package sub\n")
        .write("vendor/x/v.go", "package x\n")
        // Without attributes, CRLF content reaches the zip unchanged both ways.
        .write("crlf.go", "package rb\r\n\r\nconst CR = 1\r\n")
        .symlink("link.go", "a/f0.go");
    for i in 0..40 {
        r.write(
            &format!("a/f{i}.go"),
            &format!("package a\n\nconst F{i} = {i}\n"),
        );
    }
    r.commit("v1");
    r.tag("v1.0.0").tag("sub/v1.0.0");
    // v1.1.0: one file changed, one added, one removed, one renamed (same blob).
    r.write("a/f1.go", "package a\n\nconst F1 = 100\n")
        .write("a/new.go", "package a\n")
        .remove("a/f2.go");
    r.git(&["mv", "a/f3.go", "a/renamed.go"]);
    r.commit("v1.1");
    r.tag("v1.1.0");
    // v1.2.0: attributes that change what git archive writes.
    r.write(".gitattributes", "*.txt text eol=crlf\n")
        .write("notes.txt", "one\ntwo\n");
    r.commit("v1.2");
    r.tag("v1.2.0");

    let cache = tmp.path().join("cache");
    let f = fetcher(&cache, Credentials::default());
    let (_, v1) = f
        .zip_with_hash(&module, "v1.0.0")
        .await
        .expect("zip v1.0.0");
    let first = f.zip_entry_counts();
    // go.mod, LICENSE, crlf.go, 40 files; the symlink, vendor/ and sub/ are not in the zip.
    assert_eq!(first.prepared, 43, "{first:?}");
    assert_eq!(first.reused, 0, "{first:?}");

    // The depth-1 first fetch is completed in the background.
    f.settle().await;
    let repo_dir = std::fs::read_dir(cache.join("git"))
        .expect("cache/git")
        .flatten()
        .find(|e| e.path().join("HEAD").is_file())
        .expect("one cached repository")
        .path();
    assert!(
        !repo_dir.join("shallow").exists(),
        "the cache is still shallow after settle()"
    );

    // Tags that arrived with the completion are answered without the network.
    let requests_before = server.requests.lock().expect("requests").len();
    let info = f.stat(&module, "v1.1.0").await.expect("stat v1.1.0");
    assert_eq!(info.version, "v1.1.0");
    f.go_mod(&module, "v1.1.0").await.expect("go.mod v1.1.0");
    let (_, v11) = f
        .zip_with_hash(&module, "v1.1.0")
        .await
        .expect("zip v1.1.0");
    assert_eq!(
        server.requests.lock().expect("requests").len(),
        requests_before,
        "a version already in the completed cache went to the network"
    );
    let second = f.zip_entry_counts();
    // Changed a/f1.go and added a/new.go are read; the renamed blob is reused.
    assert_eq!(second.prepared - first.prepared, 2, "{second:?}");
    assert_eq!(second.reused - first.reused, 41, "{second:?}");

    // With attributes in the tree the archive path is taken (no new tree entries).
    let (_, v12) = f
        .zip_with_hash(&module, "v1.2.0")
        .await
        .expect("zip v1.2.0");
    assert_eq!(
        f.zip_entry_counts(),
        second,
        "attributes must bypass the tree path"
    );
    let (_, s1) = f.zip_with_hash(&sub, "v1.0.0").await.expect("zip sub");

    // Every zip equals the one `git archive` gives (itself checked against go).
    let plain = DirectFetcher::new(DirectConfig {
        insecure: REUSE_IP.into(),
        allow_private_addresses: true,
        credentials: Credentials::default(),
        zip_from_tree: false,
        ..DirectConfig::new(tmp.path().join("cache-archive"))
    })
    .expect("fetcher");
    for (m, v, ours) in [
        (&module, "v1.0.0", &v1),
        (&module, "v1.1.0", &v11),
        (&module, "v1.2.0", &v12),
        (&sub, "v1.0.0", &s1),
    ] {
        let (_, want) = plain.zip_with_hash(m, v).await.expect("archive zip");
        assert_eq!(ours, &want, "{m}@{v}: tree path and git archive disagree");
    }
    assert_eq!(plain.zip_entry_counts(), Default::default());
}

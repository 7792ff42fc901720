//! Differential test: for every fixture module@query, goxy's direct fetcher
//! must agree with `GOPROXY=direct go mod download` against the same
//! repositories — same resolved version, same go.mod h1, same zip h1, and an
//! error exactly where `go` reports one. Requires `go` (the reference; goxy
//! itself never runs it) and binding 127.0.0.73:80.

mod common;

use common::{Repo, Server};
use goxy_git::{hash_go_mod, Credentials, DirectConfig, DirectFetcher};
use std::path::Path;

const IP: &str = "127.0.0.73";

struct Case {
    module: String,
    queries: Vec<String>,
    /// Compare `@latest` (only meaningful when the module has no tags).
    latest: bool,
    /// Expected `list` (checked against goxy; go's own list is compared where available).
    list: Option<Vec<String>>,
}

fn case(module: &str, queries: &[&str]) -> Case {
    Case {
        module: format!("{IP}/{module}"),
        queries: queries.iter().map(|s| s.to_string()).collect(),
        latest: false,
        list: None,
    }
}

const LICENSE: &str = "Fixture license text.\n";

fn gomod(path: &str, go: &str) -> String {
    if go.is_empty() {
        format!("module {IP}/{path}\n")
    } else {
        format!("module {IP}/{path}\n\ngo {go}\n")
    }
}

/// Builds every fixture repository and returns the cases to compare.
fn build_fixtures(server: &Server, root: &Path, work: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let new = |name: &str| {
        server.add_import(&format!("{IP}/{name}"), &format!("{name}.git"), "");
        Repo::new(root, work, &format!("{name}.git"))
    };

    // 1. Plain module: lightweight and annotated tags, a branch query, a hash query.
    let mut r = new("basic");
    r.write("go.mod", &gomod("basic", "1.21"))
        .write("a.go", "package basic\n")
        .write("LICENSE", LICENSE);
    r.commit("one");
    r.tag("v1.0.0");
    r.write("b.go", "package basic\n\nconst B = 1\n");
    let c2 = r.commit("two");
    r.annotated_tag("v1.1.0");
    r.write("c.go", "package basic\n");
    let c3 = r.commit("three");
    let mut c = case(
        "basic",
        &[
            "v1.0.0",
            "v1.1.0",
            "main",
            &c2[..12],
            &c3[..7],
            &c3,
            "v1.2.0",
            "nosuchbranch",
        ],
    );
    c.list = Some(vec!["v1.0.0".into(), "v1.1.0".into()]);
    cases.push(c);

    // 2. No go.mod: synthesized go.mod.
    let mut r = new("nogomod");
    r.write("a.go", "package nogomod\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("nogomod", &["v1.0.0", "main"]));

    // 3. +incompatible: no go.mod anywhere, v2 tags.
    let mut r = new("incompat");
    r.write("a.go", "package incompat\n");
    r.commit("one");
    r.tag("v1.0.0");
    r.write("b.go", "package incompat\n");
    r.commit("two");
    r.tag("v2.0.0");
    r.write("c.go", "package incompat\n");
    r.commit("three");
    r.tag("v2.1.0");
    let mut c = case(
        "incompat",
        &[
            "v2.0.0+incompatible",
            "v2.1.0+incompatible",
            "v2.0.0",
            "v1.0.0",
            "main",
        ],
    );
    c.list = Some(vec![
        "v1.0.0".into(),
        "v2.0.0+incompatible".into(),
        "v2.1.0+incompatible".into(),
    ]);
    cases.push(c);

    // 4. +incompatible suppressed: latest v1 has a go.mod.
    let mut r = new("incompatgomod");
    r.write("a.go", "package x\n");
    r.commit("one");
    r.tag("v2.0.0");
    r.write("go.mod", &gomod("incompatgomod", "1.21"));
    r.commit("two");
    r.tag("v1.0.0");
    let mut c = case("incompatgomod", &["v2.0.0+incompatible", "v1.0.0", "main"]);
    c.list = Some(vec!["v1.0.0".into()]);
    cases.push(c);

    // 5. Subdirectory module with prefixed tags and LICENSE inheritance; unprefixed tag ignored.
    let mut r = new("mono");
    r.write("LICENSE", LICENSE)
        .write("go.mod", &gomod("mono", "1.21"))
        .write("root.go", "package mono\n");
    r.write("sub/go.mod", &gomod("mono/sub", "1.21"))
        .write("sub/s.go", "package sub\n");
    r.write("own/go.mod", &gomod("mono/own", "1.21"))
        .write("own/LICENSE", "own license\n")
        .write("own/o.go", "package own\n");
    r.write("pkgonly/p.go", "package pkgonly\n");
    r.commit("one");
    r.tag("v1.0.0").tag("sub/v1.0.0").tag("own/v0.1.0");
    r.write("sub/s2.go", "package sub\n");
    r.commit("two");
    r.tag("sub/v1.1.0");
    let mut c = case("mono/sub", &["v1.0.0", "v1.1.0", "main"]);
    c.list = Some(vec!["v1.0.0".into(), "v1.1.0".into()]);
    cases.push(c);
    cases.push(case("mono/own", &["v0.1.0"]));
    cases.push(case("mono", &["v1.0.0"]));
    cases.push(case("mono/pkgonly", &["main", "v1.0.0"]));

    // 6. Major branch: go.mod declares /v2 at the root.
    let mut r = new("majbranch");
    r.write("go.mod", &gomod("majbranch", "1.21"))
        .write("a.go", "package m\n");
    r.commit("v1");
    r.tag("v1.0.0");
    r.write("go.mod", &gomod("majbranch/v2", "1.21"));
    r.commit("v2");
    r.tag("v2.0.0");
    r.write("b.go", "package m\n");
    r.commit("v2 more");
    let mut c = case("majbranch/v2", &["v2.0.0", "main"]);
    c.list = Some(vec!["v2.0.0".into()]);
    cases.push(c);
    cases.push(case("majbranch", &["v1.0.0", "v2.0.0+incompatible"]));

    // 7. Major subdirectory: v3/go.mod, root LICENSE copied in.
    let mut r = new("majsub");
    r.write("LICENSE", LICENSE)
        .write("go.mod", &gomod("majsub", "1.21"))
        .write("a.go", "package m\n");
    r.write("v3/go.mod", &gomod("majsub/v3", "1.21"))
        .write("v3/a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0").tag("v3.0.0");
    cases.push(case("majsub/v3", &["v3.0.0", "main"]));
    cases.push(case("majsub", &["v1.0.0", "v3.0.0"]));

    // 8. Both go.mod and v2/go.mod claim /v2; v4 path with no go.mod anywhere.
    let mut r = new("bothv2");
    r.write("go.mod", &gomod("bothv2/v2", "1.21"))
        .write("v2/go.mod", &gomod("bothv2/v2", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v2.0.0").tag("v4.0.0");
    cases.push(case("bothv2/v2", &["v2.0.0"]));
    cases.push(case("bothv2/v4", &["v4.0.0"]));

    // 9-11. Vendor directories under the go 1.23, go 1.24 and no-go-line rules.
    for (name, go) in [
        ("vendor123", "1.23"),
        ("vendor124", "1.24"),
        ("vendornogo", ""),
    ] {
        let mut r = new(name);
        r.write("go.mod", &gomod(name, go))
            .write("a.go", "package m\n");
        r.write("vendor/modules.txt", "# x\n")
            .write("vendor/foo.go", "package foo\n")
            .write("vendor/x/y/y.go", "package y\n");
        r.write("pkg/vendor/vendor.go", "package vendor\n")
            .write("pkg/vendor/x/y.go", "package x\n")
            .write("pkg/p.go", "package pkg\n");
        r.commit("one");
        r.tag("v1.0.0");
        cases.push(case(name, &["v1.0.0"]));
    }

    // 12. Nested modules (including a GO.MOD marker) are excluded.
    let mut r = new("nested");
    r.write("go.mod", &gomod("nested", "1.21"))
        .write("a.go", "package m\n");
    r.write("inner/go.mod", &gomod("nested/inner", "1.21"))
        .write("inner/i.go", "package inner\n");
    r.write("capmarker/GO.MOD", "module other\n")
        .write("capmarker/c.go", "package c\n");
    r.write("deep/er/go.mod", "module x\n")
        .write("deep/er/bad'name.go", "excluded with its module\n")
        .write("deep/d.go", "package deep\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("nested", &["v1.0.0"]));

    // 13. Upper case in the path and in versions.
    let mut r = new("UpperCase");
    r.write("go.mod", &gomod("UpperCase", "1.21"))
        .write("Doc.go", "package uc\n");
    r.commit("one");
    r.tag("v1.0.0-RC1");
    r.write("More.go", "package uc\n");
    r.commit("two");
    r.tag("v1.0.0");
    let mut c = case("UpperCase", &["v1.0.0-RC1", "v1.0.0", "main"]);
    c.list = Some(vec!["v1.0.0-RC1".into(), "v1.0.0".into()]);
    cases.push(c);

    // 14. Annotated tags only.
    let mut r = new("annotated");
    r.write("go.mod", &gomod("annotated", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.annotated_tag("v0.1.0");
    r.write("b.go", "package m\n");
    r.commit("two");
    r.annotated_tag("v0.2.0");
    cases.push(case("annotated", &["v0.1.0", "v0.2.0", "main"]));

    // 15. Retractions: a commit whose only tag is retracted gets a v0.0.0 pseudo-version.
    let mut r = new("retract");
    r.write("go.mod", &gomod("retract", "1.21"))
        .write("a.go", "package m\n");
    let retracted_commit = r.commit("one");
    r.tag("v1.0.0");
    r.write(
        "go.mod",
        &format!("{}\nretract v1.0.0 // broken\n", gomod("retract", "1.21")),
    );
    r.commit("two");
    r.tag("v1.1.0");
    r.write("b.go", "package m\n");
    r.commit("three");
    cases.push(case(
        "retract",
        &["v1.0.0", "v1.1.0", &retracted_commit[..12], "main"],
    ));

    // 16. Symlinks are omitted; a symlink with an invalid name fails the version.
    let mut r = new("symlinks");
    r.write("go.mod", &gomod("symlinks", "1.21"))
        .write("a.go", "package m\n");
    r.symlink("link.go", "a.go").symlink("dirlink", "/etc");
    r.commit("one");
    r.tag("v1.0.0");
    r.symlink("bad'link", "a.go");
    r.commit("two");
    r.tag("v1.1.0");
    cases.push(case("symlinks", &["v1.0.0", "v1.1.0"]));

    // 17. Invalid file names fail the version: Windows reserved, trailing dot, quote, invalid UTF-8.
    for (name, file) in [
        ("badaux", &b"aux.go"[..]),
        ("baddot", b"x."),
        ("badquote", b"q\"x.go"),
        ("badutf8", b"\xffbad.go"),
    ] {
        let mut r = new(name);
        r.write("go.mod", &gomod(name, "1.21"))
            .write("a.go", "package m\n");
        r.commit("good");
        r.tag("v1.0.0");
        r.write_bytes(file, b"package m\n");
        r.commit("bad");
        r.tag("v1.1.0");
        cases.push(case(name, &["v1.0.0", "v1.1.0"]));
    }

    // 18. Case collisions fail the version; root GO.MOD fails; a directory named go.mod is fine.
    let mut r = new("collide");
    r.write("go.mod", &gomod("collide", "1.21"))
        .write("m.go", "package m\n")
        .write("M.GO", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("collide", &["v1.0.0"]));
    let mut r = new("collidedir");
    r.write("go.mod", &gomod("collidedir", "1.21"))
        .write("Dir/a.go", "package m\n")
        .write("dir/b.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("collidedir", &["v1.0.0"]));
    let mut r = new("capgomod");
    r.write("GO.MOD", "module x\n").write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("capgomod", &["v1.0.0"]));
    // (A directory named go.mod at the root is valid by the zip rules, but `go mod download`
    // then fails reading it as a file after extraction — a client quirk, so it sits lower here.)
    let mut r = new("gomoddir");
    r.write("go.mod", &gomod("gomoddir", "1.21"))
        .write("pkg/go.mod/a.go", "package m\n")
        .write("b.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("gomoddir", &["v1.0.0"]));

    // 19. export-ignore and export-subst attributes are not applied.
    let mut r = new("attrs");
    r.write("go.mod", &gomod("attrs", "1.21"))
        .write("a.go", "package m\n");
    r.write(
        ".gitattributes",
        "ignored.txt export-ignore\nsubst.go export-subst\n",
    );
    r.write("ignored.txt", "still here\n")
        .write("subst.go", "package m\n\nconst Rev = \"$Format:%H$\"\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("attrs", &["v1.0.0"]));

    // 20. text/eol attributes and CRLF content.
    let mut r = new("eol");
    r.write("go.mod", &gomod("eol", "1.21"))
        .write("a.go", "package m\n");
    r.write(
        ".gitattributes",
        "*.txt text eol=crlf\n*.bat eol=crlf\n*.lf text eol=lf\n*.bin -text\n*.id ident\n*.auto text=auto\n",
    );
    r.write("x.txt", "line one\nline two\n")
        .write("y.bat", "echo\n")
        .write("z.lf", "crlf\r\nin\r\n")
        .write("w.bin", "raw\r\n")
        .write("v.go", "package m\r\n")
        .write("rev.id", "$Id$\n")
        .write("mixed.auto", "a\r\nb\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("eol", &["v1.0.0"]));

    // 21. Pseudo-versions from a branch, a hash, a requested pseudo-version (valid and invalid).
    let mut r = new("pseudo");
    r.write("go.mod", &gomod("pseudo", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.2.3");
    r.write("b.go", "package m\n");
    let p2 = r.commit("two");
    r.switch(&["-b", "feature"]);
    r.write("f.go", "package m\n");
    let pf = r.commit("feature");
    r.switch(&["main"]);
    let ts = |secs: i64| {
        let out = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{secs}"), "+%Y%m%d%H%M%S"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let t2 = ts(1_600_000_000 + 2 * 3600);
    let good = format!("v1.2.4-0.{t2}-{}", &p2[..12]);
    let bad_time = format!("v1.2.4-0.20000101000000-{}", &p2[..12]);
    let long_rev = format!("v1.2.4-0.{t2}-{}", &p2[..13]);
    let no_base_v1 = format!("v1.0.0-{t2}-{}", &p2[..12]);
    let wrong_base = format!("v1.2.6-0.{t2}-{}", &p2[..12]);
    let v0 = format!("v0.0.0-{t2}-{}", &p2[..12]);
    cases.push(case(
        "pseudo",
        &[
            "main",
            "feature",
            &p2[..12],
            &pf[..10],
            &good,
            &bad_time,
            &long_rev,
            &no_base_v1,
            &wrong_base,
            &v0,
        ],
    ));

    // 22. No tags at all: list empty, @latest is a v0.0.0 pseudo-version.
    let mut r = new("notags");
    r.write("go.mod", &gomod("notags", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.write("b.go", "package m\n");
    r.commit("two");
    let mut c = case("notags", &["main"]);
    c.latest = true;
    c.list = Some(vec![]);
    cases.push(c);

    // 23. /v2 major branch without tags: pseudo-versions are v2.0.0-….
    let mut r = new("v2notags");
    r.write("go.mod", &gomod("v2notags/v2", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    let mut c = case("v2notags/v2", &["main"]);
    c.latest = true;
    cases.push(c);

    // 24. A branch named like a version that is not a tag.
    let mut r = new("semverbranch");
    r.write("go.mod", &gomod("semverbranch", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    r.switch(&["-b", "v1.5.0"]);
    r.write("b.go", "package m\n");
    r.commit("two");
    r.switch(&["main"]);
    cases.push(case("semverbranch", &["v1.5.0", "v1.0.0"]));

    // 25. Non-canonical tags: v1.2 and v1.3.0+meta are not listed; a prerelease base.
    let mut r = new("oddtags");
    r.write("go.mod", &gomod("oddtags", "1.21"))
        .write("a.go", "package m\n");
    let o1 = r.commit("one");
    r.tag("v1.2").tag("v1.3.0+meta").tag("v2.0.0+incompatible");
    r.write("b.go", "package m\n");
    r.commit("two");
    r.tag("v1.4.0-pre");
    r.write("c.go", "package m\n");
    r.commit("three");
    let mut c = case("oddtags", &["main", &o1[..12], "v1.4.0-pre", "v1.3.0+meta"]);
    c.list = Some(vec!["v1.4.0-pre".into()]);
    cases.push(c);

    // 26. go-import with a subdirectory (4-field form): module root and tag prefix are the subdir.
    server.add_import(&format!("{IP}/viasubdir"), "subdirrepo.git", "go");
    let mut r = Repo::new(root, work, "subdirrepo.git");
    r.write("README", "not go\n").write("LICENSE", LICENSE);
    r.write("go/go.mod", &gomod("viasubdir", "1.21"))
        .write("go/a.go", "package m\n");
    r.commit("one");
    r.tag("go/v1.0.0").tag("v9.0.0");
    r.write("go/b.go", "package m\n");
    r.commit("two");
    let mut c = case("viasubdir", &["v1.0.0", "main", "v9.0.0"]);
    c.list = Some(vec!["v1.0.0".into()]);
    cases.push(c);

    // 27. go.mod declaring a different path is served as is.
    let mut r = new("renamed");
    r.write("go.mod", "module example.com/elsewhere\n\ngo 1.21\n")
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    cases.push(case("renamed", &["v1.0.0"]));

    // 28. Submodule (gitlink) contributes nothing; .hg_archival.txt is omitted; Unicode names are fine.
    let mut r = new("gitlink");
    r.write("go.mod", &gomod("gitlink", "1.21"))
        .write("a.go", "package m\n")
        .write(".hg_archival.txt", "repo: x\n")
        .write("é/ü.go", "package u\n");
    let inner = r.commit("one");
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{inner},vendored-sub"),
    ]);
    r.git(&["commit", "-q", "-m", "gitlink"]);
    r.tag("v1.0.0");
    cases.push(case("gitlink", &["v1.0.0"]));

    // 29. A module with many files in nested directories.
    let mut r = new("manyfiles");
    r.write("go.mod", &gomod("manyfiles", "1.21"));
    for i in 0..200 {
        r.write(
            &format!("d{}/e{}/f{i}.go", i % 7, i % 3),
            &format!("package e\n\nconst X{i} = {i}\n"),
        );
    }
    r.commit("one");
    r.tag("v0.3.0");
    cases.push(case("manyfiles", &["v0.3.0"]));

    // 30. A repository that does not exist behind a valid go-import page.
    server.add_import(&format!("{IP}/ghost"), "ghost.git", "");
    cases.push(case("ghost", &["v1.0.0", "main"]));

    // 31. Retraction of every tag: versions still fetchable by exact version.
    let mut r = new("allretracted");
    r.write(
        "go.mod",
        &format!(
            "{}\nretract [v0.1.0, v0.2.0]\n",
            gomod("allretracted", "1.21")
        ),
    )
    .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v0.1.0");
    r.write("b.go", "package m\n");
    r.commit("two");
    r.tag("v0.2.0");
    r.write("c.go", "package m\n");
    r.commit("three");
    cases.push(case("allretracted", &["v0.1.0", "v0.2.0", "main"]));

    // 32. A /vN path whose tags carry the wrong major.
    let mut r = new("wrongmajor");
    r.write("go.mod", &gomod("wrongmajor/v2", "1.21"))
        .write("a.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0").tag("v3.0.0");
    let mut c = case("wrongmajor/v2", &["v1.0.0", "v3.0.0", "v2.0.0"]);
    c.list = Some(vec![]);
    cases.push(c);

    // 34. Unicode: KELVIN SIGN folds to k (collision); a non-letter symbol is an invalid name.
    let mut r = new("unicodefold");
    r.write("go.mod", &gomod("unicodefold", "1.21"))
        .write("k.go", "package m\n");
    r.commit("one");
    r.tag("v1.0.0");
    r.write("\u{212A}.go", "package m\n");
    r.commit("kelvin");
    r.tag("v1.1.0");
    r.remove("\u{212A}.go");
    r.write("\u{2603}.go", "package m\n");
    r.commit("snowman");
    r.tag("v1.2.0");
    cases.push(case("unicodefold", &["v1.0.0", "v1.1.0", "v1.2.0"]));

    // 33. VCS qualifier form: module path `<host>/qual.git[/sub]`, repository probed by scheme.
    let mut r = Repo::new(root, work, "qual");
    r.write("go.mod", &gomod("qual.git", "1.21"))
        .write("a.go", "package m\n")
        .write("LICENSE", LICENSE);
    r.write("sub/go.mod", &gomod("qual.git/sub", "1.21"))
        .write("sub/s.go", "package sub\n");
    r.commit("one");
    r.tag("v1.0.0").tag("sub/v1.0.0");
    cases.push(case("qual.git", &["v1.0.0", "main"]));
    cases.push(case("qual.git/sub", &["v1.0.0"]));

    cases
}

struct GoResult {
    version: String,
    time: String,
    sum: String,
    gomod_sum: String,
    error: String,
}

fn go_download(home: &Path, cwd: &Path, module: &str, query: &str) -> GoResult {
    let out = goxy_testkit::isolated_go(home, "direct")
        .env("GOINSECURE", IP)
        .env("GONOSUMDB", IP)
        .env("GOPRIVATE", IP)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .current_dir(cwd)
        .args(["mod", "download", "-json", &format!("{module}@{query}")])
        .output()
        .expect("run go");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        serde_json::json!({"Error": format!("no json: {}", String::from_utf8_lossy(&out.stderr))})
    });
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let time = std::fs::read(s("Info"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|i| i.get("Time").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_default();
    let mut error = s("Error");
    if error.is_empty() && !out.status.success() {
        error = format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    GoResult {
        version: s("Version"),
        time,
        sum: s("Sum"),
        gomod_sum: s("GoModSum"),
        error,
    }
}

/// `go list -m -versions -retracted mod@latest` → the version list (None when go cannot resolve latest).
fn go_list_versions(home: &Path, cwd: &Path, module: &str) -> Option<Vec<String>> {
    let out = goxy_testkit::isolated_go(home, "direct")
        .env("GOINSECURE", IP)
        .env("GONOSUMDB", IP)
        .env("GOPRIVATE", IP)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .current_dir(cwd)
        .args([
            "list",
            "-m",
            "-json",
            "-versions",
            "-retracted",
            &format!("{module}@latest"),
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        v.get("Versions")
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

struct GoxyResult {
    version: String,
    time: String,
    sum: String,
    gomod_sum: String,
    error: String,
    not_found: bool,
}

async fn goxy_download(f: &DirectFetcher, module: &str, query: &str) -> GoxyResult {
    let mut r = GoxyResult {
        version: String::new(),
        time: String::new(),
        sum: String::new(),
        gomod_sum: String::new(),
        error: String::new(),
        not_found: false,
    };
    let info = match if query == "latest" {
        f.latest(module).await
    } else {
        f.stat(module, query).await
    } {
        Ok(i) => i,
        Err(e) => {
            r.not_found = e.is_not_found();
            r.error = e.to_string();
            return r;
        }
    };
    r.version = info.version.clone();
    r.time = info.time.clone();
    match f.go_mod(module, &info.version).await {
        Ok(g) => r.gomod_sum = hash_go_mod(&g),
        Err(e) => {
            r.not_found = e.is_not_found();
            r.error = e.to_string();
            return r;
        }
    }
    match f.zip_with_hash(module, &info.version).await {
        Ok((_, h1)) => r.sum = h1,
        Err(e) => {
            r.not_found = e.is_not_found();
            r.error = e.to_string();
        }
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goxy_matches_go_mod_download_direct() {
    if !goxy_testkit::have_go() {
        eprintln!("SKIP: no go command for the reference side");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("srv");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&root).expect("mkdir");
    let Some(server) = Server::start(IP, &root) else {
        return;
    };
    let cases = build_fixtures(&server, &root, &work);
    let repos = std::fs::read_dir(&root).map(|d| d.count()).unwrap_or(0);
    assert!(
        repos >= 30,
        "expected at least 30 fixture repositories, have {repos}"
    );

    let home = tmp.path().join("gohome");
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("mkdir");
    // goxy's side runs with a PATH that has git but no go: the fetcher never needs a toolchain.
    let git_bin = std::path::PathBuf::from(
        String::from_utf8_lossy(
            &std::process::Command::new("sh")
                .args(["-c", "command -v git"])
                .output()
                .expect("sh")
                .stdout,
        )
        .trim(),
    );
    let git_dir = git_bin.parent().expect("git directory").to_path_buf();
    let path_without_go = std::env::join_paths([git_dir.clone(), "/bin".into()]).expect("PATH");
    for dir in [git_dir.as_path(), Path::new("/bin")] {
        assert!(
            !dir.join("go").exists(),
            "{} holds a go binary; pick another PATH for the test",
            dir.display()
        );
    }
    let fetcher = DirectFetcher::new(DirectConfig {
        git_path_env: Some(path_without_go),
        insecure: IP.to_string(),
        allow_private_addresses: true,
        credentials: Credentials::default(),
        ..DirectConfig::new(tmp.path().join("goxy-cache"))
    })
    .expect("fetcher");

    let mut failures = Vec::new();
    let (mut compared, mut agreed_errors, mut lists_compared) = (0, 0, 0);
    for c in &cases {
        let mut queries = c.queries.clone();
        if c.latest {
            queries.push("latest".into());
        }
        for q in &queries {
            let go = go_download(&home, &cwd, &c.module, q);
            let ours = goxy_download(&fetcher, &c.module, q).await;
            compared += 1;
            let label = format!("{}@{q}", c.module);
            match (go.error.is_empty(), ours.error.is_empty()) {
                (true, true) => {
                    if (go.version.as_str(), go.gomod_sum.as_str(), go.sum.as_str())
                        != (
                            ours.version.as_str(),
                            ours.gomod_sum.as_str(),
                            ours.sum.as_str(),
                        )
                    {
                        failures.push(format!(
                            "{label}: go {} {} {} | goxy {} {} {}",
                            go.version,
                            go.gomod_sum,
                            go.sum,
                            ours.version,
                            ours.gomod_sum,
                            ours.sum
                        ));
                    }
                    if go.time != ours.time {
                        failures.push(format!(
                            "{label}: .info Time: go {} | goxy {}",
                            go.time, ours.time
                        ));
                    }
                }
                (false, false) => {
                    agreed_errors += 1;
                    if !ours.not_found {
                        failures.push(format!(
                            "{label}: both fail but goxy's error is not authoritative: {}",
                            ours.error
                        ));
                    }
                }
                (true, false) => failures.push(format!(
                    "{label}: go ok ({} {}) but goxy failed: {}",
                    go.version, go.sum, ours.error
                )),
                (false, true) => failures.push(format!(
                    "{label}: go failed ({}) but goxy gave {} {}",
                    go.error.lines().next().unwrap_or(""),
                    ours.version,
                    ours.sum
                )),
            }
        }
        if let Some(go_versions) = go_list_versions(&home, &cwd, &c.module) {
            lists_compared += 1;
            match fetcher.list(&c.module).await {
                Ok(got) if got == go_versions => {}
                Ok(got) => failures.push(format!(
                    "{} list: go {go_versions:?}, goxy {got:?}",
                    c.module
                )),
                Err(e) => failures.push(format!(
                    "{} list: go {go_versions:?}, goxy failed: {e}",
                    c.module
                )),
            }
        }
        if let Some(want) = &c.list {
            match fetcher.list(&c.module).await {
                Ok(got) if &got == want => {}
                Ok(got) => failures.push(format!("{} list: want {want:?}, got {got:?}", c.module)),
                Err(e) => failures.push(format!("{} list failed: {e}", c.module)),
            }
        }
    }
    assert!(
        lists_compared >= 20,
        "only {lists_compared} version lists could be compared with go"
    );
    eprintln!(
        "compared {lists_compared} version lists and {compared} module@query pairs over {} cases; {agreed_errors} agreed errors",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! Differential test: doctor's reading of the Go configuration (environment,
//! GOENV file, toolchain defaults) must give the values `go env` reports.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use goxy_doctor::goenv::{parse_goenv_file, toolchain_defaults, GoConfig, Source};

const KEYS: &[&str] = &[
    "GOPROXY",
    "GOSUMDB",
    "GOPRIVATE",
    "GONOSUMDB",
    "GONOPROXY",
    "GOFLAGS",
    "GOINSECURE",
];

fn go_env(
    goenv: &std::path::Path,
    home: &std::path::Path,
    env: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut cmd = Command::new("go");
    cmd.arg("env").arg("-json").args(KEYS);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GOENV", goenv)
        .env("GOTOOLCHAIN", "local");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("go env");
    assert!(
        out.status.success(),
        "go env: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("go env JSON")
}

#[tokio::test]
async fn effective_values_match_go_env() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let defaults = toolchain_defaults("go", Duration::from_secs(30)).await;
    assert!(
        defaults.get("GOPROXY").is_some_and(|v| !v.is_empty()),
        "toolchain default GOPROXY: {defaults:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let goenv = dir.path().join("env");
    let file_text = "GOPROXY=https://file.example|https://file2.example,direct\n\
                     # a comment\n\
                     not a line\n\
                     GOPRIVATE=file.example/private\n\
                     GOSUMDB=sum.file.example\n\
                     GOFLAGS=-mod=mod\n\
                     GOINSECURE=first.example\n\
                     GOINSECURE=second.example\n";
    std::fs::write(&goenv, file_text).unwrap();

    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        // An empty environment value falls through to the file; a non-empty one wins.
        vec![("GOPROXY", ""), ("GOPRIVATE", "env.example")],
        vec![
            ("GOSUMDB", "off"),
            ("GONOSUMDB", "x.example"),
            ("GOFLAGS", "-modcacherw"),
        ],
        vec![("GONOPROXY", "none")],
    ];
    for env in cases {
        let want = go_env(&goenv, dir.path(), &env);
        let cfg = GoConfig {
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            goenv_path: Some(goenv.clone()),
            goenv_file: parse_goenv_file(file_text),
            toolchain_defaults: defaults.clone(),
            go_rejects: None,
            goroot: None,
        };
        // The reader goxy serve uses runs no go: the GOENV file and
        // $GOROOT/go.env are read directly, and must agree with go too.
        let home = dir.path().to_string_lossy().into_owned();
        let path = std::env::var("PATH").unwrap_or_default();
        let goenv_text = goenv.to_string_lossy().into_owned();
        let read = GoConfig::read(&|k: &str| match k {
            "PATH" => Some(path.clone()),
            "HOME" => Some(home.clone()),
            "GOENV" => Some(goenv_text.clone()),
            _ => env
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string()),
        });
        for key in KEYS {
            let got = match *key {
                "GONOSUMDB" | "GONOPROXY" => read.value_or_private(key),
                _ => read.value(key),
            };
            assert_eq!(
                Some(&got),
                want.get(*key),
                "sync reader: {key} with {env:?}"
            );
        }
        for key in KEYS {
            let got = match *key {
                "GONOSUMDB" | "GONOPROXY" => cfg.value_or_private(key),
                _ => cfg.value(key),
            };
            assert_eq!(
                Some(&got),
                want.get(*key),
                "{key} with environment {env:?} (doctor says source {:?})",
                cfg.get(key).1
            );
        }
    }
    // Sources are attributed, too.
    let cfg = GoConfig {
        environment: [("GOPRIVATE".to_string(), "env.example".to_string())].into(),
        goenv_path: Some(goenv.clone()),
        goenv_file: parse_goenv_file(file_text),
        toolchain_defaults: defaults.clone(),
        go_rejects: None,
        goroot: None,
    };
    assert_eq!(cfg.get("GOPRIVATE").1, Source::Environment);
    assert_eq!(cfg.get("GOPROXY").1, Source::GoenvFile);
    let empty_file = GoConfig {
        goenv_file: BTreeMap::new(),
        ..cfg
    };
    assert_eq!(empty_file.get("GOPROXY").1, Source::ToolchainDefault);
}

//! Differential test: prewarm's reading of go.mod `require` directives must
//! list what `go mod edit -json` lists.

use std::process::Command;

use goxy_doctor::prewarm::parse_go_mod_requires;

#[test]
fn requires_match_go_mod_edit() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let text = "// leading comment\n\
                module example.com/app // trailing\n\n\
                go 1.21\n\n\
                require golang.org/x/text v0.3.0 // indirect\n\
                require (\n\
                \trsc.io/quote v1.5.2\n\
                \t\"rsc.io/sampler\" v1.3.0 // indirect\n\
                \n\
                \t// a comment line inside the block\n\
                \texample.com/Upper/v2 v2.0.0-20240101000000-abcdefabcdef\n\
                \texample.com/inc v3.0.0+incompatible\n\
                )\n\
                require (\n)\n\
                replace rsc.io/quote => ../quote\n\
                exclude rsc.io/sampler v1.0.0\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), text).unwrap();
    let out = Command::new("go")
        .args(["mod", "edit", "-json"])
        .current_dir(dir.path())
        .env("GOENV", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .output()
        .expect("go mod edit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut want: Vec<String> = json["Require"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}@{}",
                r["Path"].as_str().unwrap(),
                r["Version"].as_str().unwrap()
            )
        })
        .collect();
    want.sort();
    let mut got: Vec<String> = parse_go_mod_requires(text)
        .unwrap()
        .into_iter()
        .map(|w| format!("{}@{}", w.path, w.version))
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(got.len(), 5);
}

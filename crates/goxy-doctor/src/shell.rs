//! `goxy env`: the settings to use a goxy server or chosen mirrors, written
//! for a shell profile or the GOENV file.

use std::collections::BTreeMap;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    /// `KEY=VALUE` lines for the GOENV file (what `go env -w` writes).
    Goenv,
}

/// `goxy env` flags.
#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    /// Output format (default: from $SHELL, else bash).
    #[arg(long, value_enum)]
    pub shell: Option<Shell>,
    /// URL of a goxy server to use (`GOPROXY=URL,direct`, the line its home page gives; it also proxies the checksum database).
    #[arg(long, value_name = "URL", conflicts_with = "goproxy")]
    pub server: Option<String>,
    /// A GOPROXY value to use as is, e.g. the one `goxy mirrors` recommended.
    #[arg(long, value_name = "LIST")]
    pub goproxy: Option<String>,
    /// Private module patterns (GOPRIVATE).
    #[arg(long)]
    pub goprivate: Option<String>,
    /// Patterns excluded from checksum verification (GONOSUMDB; default: GOPRIVATE's).
    #[arg(long)]
    pub gonosumdb: Option<String>,
    /// Patterns fetched without any proxy (GONOPROXY).
    #[arg(long)]
    pub gonoproxy: Option<String>,
    /// Measure the mirror catalog (as `goxy mirrors` does) and use its recommendation.
    #[arg(long, conflicts_with_all = ["server", "goproxy"])]
    pub mirrors: bool,
    #[command(flatten)]
    pub measure: crate::mirrors::MeasureArgs,
}

/// Quotes `value` for `shell` so it reaches the variable verbatim.
pub fn quote(shell: Shell, value: &str) -> String {
    match shell {
        Shell::Bash | Shell::Zsh => format!("'{}'", value.replace('\'', r"'\''")),
        Shell::Fish => format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'")),
        Shell::Powershell => format!("'{}'", value.replace('\'', "''")),
        Shell::Goenv => value.to_string(),
    }
}

/// One assignment line.
pub fn assignment(shell: Shell, key: &str, value: &str) -> String {
    let q = quote(shell, value);
    match shell {
        Shell::Bash | Shell::Zsh => format!("export {key}={q}"),
        Shell::Fish => format!("set -gx {key} {q}"),
        Shell::Powershell => format!("$env:{key} = {q}"),
        Shell::Goenv => format!("{key}={q}"),
    }
}

/// The variables to set, in a stable order.
pub fn settings(args: &EnvArgs) -> Result<BTreeMap<&'static str, String>, String> {
    let mut out = BTreeMap::new();
    if let Some(server) = &args.server {
        let u = url::Url::parse(server).map_err(|e| format!("--server {server:?}: {e}"))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!("--server {server:?}: must be an http(s) URL"));
        }
        // The same line goxy's home page and README give: goxy first, then
        // direct for what goxy has no source for (go's own default shape).
        out.insert(
            "GOPROXY",
            format!("{},direct", server.trim_end_matches('/')),
        );
    }
    if let Some(list) = &args.goproxy {
        crate::goproxy::parse_goproxy(list)?;
        out.insert("GOPROXY", list.clone());
    }
    for (key, v) in [
        ("GOPRIVATE", &args.goprivate),
        ("GONOSUMDB", &args.gonosumdb),
        ("GONOPROXY", &args.gonoproxy),
    ] {
        if let Some(v) = v {
            if v.contains(char::is_whitespace) {
                return Err(format!(
                    "{key} {v:?}: patterns are comma-separated, without spaces"
                ));
            }
            out.insert(key, v.clone());
        }
    }
    if out.is_empty() {
        return Err(
            "nothing to print: give --server URL or --goproxy LIST (and optionally --goprivate)"
                .into(),
        );
    }
    Ok(out)
}

fn shell_from_env() -> Shell {
    let sh = std::env::var("SHELL").unwrap_or_default();
    match sh.rsplit('/').next().unwrap_or("") {
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        "pwsh" | "powershell" => Shell::Powershell,
        _ => Shell::Bash,
    }
}

/// Renders the settings for `shell`.
pub fn render(shell: Shell, vars: &BTreeMap<&'static str, String>) -> String {
    let mut s = String::new();
    let comment = match shell {
        Shell::Goenv => "# for the GOENV file (see `go env GOENV`), or run: go env -w KEY=VALUE",
        _ => "# Go module settings written by goxy env",
    };
    s.push_str(comment);
    s.push('\n');
    for (k, v) in vars {
        s.push_str(&assignment(shell, k, v));
        s.push('\n');
    }
    s
}

/// Runs `goxy env`.
pub async fn run(mut args: EnvArgs) -> i32 {
    if args.mirrors {
        match crate::mirrors::measure_catalog(&args.measure).await {
            Ok((_, report)) => match report.recommended_goproxy {
                Some(v) => args.goproxy = Some(v),
                None => {
                    eprintln!("goxy env: no usable mirror found (run goxy mirrors for details)");
                    return 1;
                }
            },
            Err(e) => {
                eprintln!("goxy env: {e}");
                return 2;
            }
        }
    }
    match settings(&args) {
        Ok(vars) => {
            print!(
                "{}",
                render(args.shell.unwrap_or_else(shell_from_env), &vars)
            );
            0
        }
        Err(e) => {
            eprintln!("goxy env: {e}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_hostile_values() {
        assert_eq!(
            assignment(Shell::Bash, "GOPROXY", "a'b"),
            r"export GOPROXY='a'\''b'"
        );
        assert_eq!(
            assignment(Shell::Fish, "GOPROXY", r"a'b\c"),
            r"set -gx GOPROXY 'a\'b\\c'"
        );
        assert_eq!(
            assignment(Shell::Powershell, "GOPROXY", "a'b"),
            "$env:GOPROXY = 'a''b'"
        );
        assert_eq!(
            assignment(Shell::Goenv, "GOPROXY", "https://x|https://y,direct"),
            "GOPROXY=https://x|https://y,direct"
        );
    }

    #[test]
    fn shells_run_the_output() {
        // The bash rendering, evaluated by a real shell, sets the exact values.
        let mut vars = BTreeMap::new();
        vars.insert(
            "GOPROXY",
            "https://a.example|https://b.example,direct".to_string(),
        );
        vars.insert("GOPRIVATE", "*.corp.example,it's".to_string());
        let script = format!(
            "{}printf '%s\\n' \"$GOPROXY\" \"$GOPRIVATE\"",
            render(Shell::Bash, &vars)
        );
        if let Ok(out) = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
        {
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "https://a.example|https://b.example,direct\n*.corp.example,it's\n"
            );
        }
    }

    #[test]
    fn settings_validate() {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: EnvArgs,
        }
        let parse = |argv: &[&str]| {
            <Wrapper as clap::Parser>::try_parse_from(
                std::iter::once("env").chain(argv.iter().copied()),
            )
            .map(|w| w.args)
        };
        assert!(settings(&parse(&[]).unwrap()).is_err());
        let a = parse(&[
            "--server",
            "http://127.0.0.1:8080/",
            "--goprivate",
            "git.corp.example",
        ])
        .unwrap();
        let s = settings(&a).unwrap();
        assert_eq!(
            s.get("GOPROXY").map(String::as_str),
            Some("http://127.0.0.1:8080,direct")
        );
        assert_eq!(
            s.get("GOPRIVATE").map(String::as_str),
            Some("git.corp.example")
        );
        assert!(settings(&parse(&["--goproxy", "ftp://x"]).unwrap()).is_err());
        assert!(settings(&parse(&["--goprivate", "a b"]).unwrap()).is_err());
        assert!(
            parse(&["--mirrors", "--server", "http://x.example"]).is_err(),
            "conflicting sources"
        );
    }
}

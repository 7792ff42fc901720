//! Differential test: every goxy-mod function against golang.org/x/mod itself.
//!
//! The reference is `tools/gotest/cmd/xmod-oracle` (x/mod v0.42.0, vendored).
//! Inputs: every row of x/mod's own test tables, the bad inputs of
//! security.md §4, and well over 100,000 generated strings (deterministic seed).
//! Agreement on ok/err and on every returned value is required; error texts are
//! compared too but only reported, not required.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::*;
use goxy_mod::{module, pattern, pseudo, semver};

/// One question for both implementations.
struct Query {
    op: &'static str,
    args: Vec<String>,
}

fn q(op: &'static str, args: &[&str]) -> Query {
    Query {
        op,
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// Ops that take one string and apply to any input.
const UNARY_OPS: &[&str] = &[
    "CheckPath",
    "CheckImportPath",
    "CheckFilePath",
    "EscapePath",
    "UnescapePath",
    "EscapeVersion",
    "UnescapeVersion",
    "SplitPathVersion",
    "PathMajorPrefix",
    "CanonicalVersion",
    "IsValid",
    "Canonical",
    "Major",
    "MajorMinor",
    "Prerelease",
    "Build",
    "IsPseudoVersion",
    "IsZeroPseudoVersion",
    "PseudoVersionBase",
    "PseudoVersionRev",
    "PseudoVersionTime",
];

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn value(s: &str) -> String {
    format!("={}", hex(s))
}

fn ok_or_err(r: Result<(), goxy_mod::ModError>) -> String {
    match r {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("err:{}", hex(&e.to_string())),
    }
}

fn value_or_err(r: Result<String, goxy_mod::ModError>) -> String {
    match r {
        Ok(v) => value(&v),
        Err(e) => format!("err:{}", hex(&e.to_string())),
    }
}

fn ordering(o: std::cmp::Ordering) -> String {
    (o as i8).to_string()
}

/// goxy-mod's answer, in the oracle's output format.
fn rust_answer(query: &Query) -> String {
    let a = |i: usize| query.args.get(i).map_or("", String::as_str);
    match query.op {
        "CheckPath" => ok_or_err(module::check_path(a(0))),
        "CheckImportPath" => ok_or_err(module::check_import_path(a(0))),
        "CheckFilePath" => ok_or_err(module::check_file_path(a(0))),
        "Check" => ok_or_err(module::check(a(0), a(1))),
        "EscapePath" => value_or_err(module::escape_path(a(0))),
        "UnescapePath" => value_or_err(module::unescape_path(a(0))),
        "EscapeVersion" => value_or_err(module::escape_version(a(0))),
        "UnescapeVersion" => value_or_err(module::unescape_version(a(0))),
        "SplitPathVersion" => match module::split_path_version(a(0)) {
            Some((prefix, major)) => format!("{} {}", value(prefix), value(major)),
            None => "err:".to_string(),
        },
        "CheckPathMajor" => ok_or_err(module::check_path_major(a(0), a(1))),
        "MatchPathMajor" => module::match_path_major(a(0), a(1)).to_string(),
        "PathMajorPrefix" => value(module::path_major_prefix(a(0))),
        "CanonicalVersion" => value(&module::canonical_version(a(0))),
        "IsValid" => semver::is_valid(a(0)).to_string(),
        "Canonical" => value(&semver::canonical(a(0))),
        "Major" => value(semver::major(a(0))),
        "MajorMinor" => value(&semver::major_minor(a(0))),
        "Prerelease" => value(semver::prerelease(a(0))),
        "Build" => value(semver::build(a(0))),
        "Compare" => ordering(semver::compare(a(0), a(1))),
        // semver.Max returns the canonical form of the winner; ours returns the input.
        "Max" => value(&semver::canonical(semver::max(a(0), a(1)))),
        "Sort" => {
            let mut list = query.args.clone();
            semver::sort(&mut list);
            list.iter().map(|s| value(s)).collect::<Vec<_>>().join(" ")
        }
        "IsPseudoVersion" => pseudo::is_pseudo_version(a(0)).to_string(),
        "IsZeroPseudoVersion" => pseudo::is_zero_pseudo_version(a(0)).to_string(),
        "PseudoVersionBase" => value_or_err(pseudo::pseudo_version_base(a(0))),
        "PseudoVersionRev" => value_or_err(pseudo::pseudo_version_rev(a(0))),
        "PseudoVersionTime" => value_or_err(pseudo::pseudo_version_time(a(0))),
        "PseudoVersion" => match a(2).parse::<i64>() {
            Ok(secs) => value(&pseudo::pseudo_version(
                a(0),
                a(1),
                &pseudo::format_pseudo_time(secs),
                a(3),
            )),
            Err(_) => "bad-input".to_string(),
        },
        "FormatPseudoTime" => match a(0).parse::<i64>() {
            Ok(secs) => value(&pseudo::format_pseudo_time(secs)),
            Err(_) => "bad-input".to_string(),
        },
        "ParsePseudoTime" => match pseudo::parse_pseudo_time(a(0)) {
            Some(secs) => value(&secs.to_string()),
            // No message to compare: parse_pseudo_time returns an Option.
            None => "err:".to_string(),
        },
        "MatchPrefixPatterns" => pattern::match_prefix_patterns(a(0), a(1)).to_string(),
        _ => "bad-op".to_string(),
    }
}

/// Do the two answers agree? Errors agree regardless of message.
fn agree(op: &str, go: &str, rust: &str) -> bool {
    if go.starts_with("err") || rust.starts_with("err") {
        return go.starts_with("err") && rust.starts_with("err");
    }
    if op == "PathMajorPrefix" && go == "panic" {
        // x/mod panics on a malformed suffix; goxy-mod answers "".
        return rust == "=";
    }
    go == rust
}

/// Runs all queries through the oracle in one process; answers in order.
fn go_answers(queries: &[Query]) -> Vec<String> {
    let tool = goxy_testkit::go_tool("xmod-oracle");
    let mut child = Command::new(tool)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start xmod-oracle");
    let mut input = String::with_capacity(queries.len() * 32);
    for query in queries {
        input.push_str(query.op);
        for arg in &query.args {
            input.push('\t');
            input.push_str(&hex(arg));
        }
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("oracle stdin");
    // Write from another thread: the oracle answers while reading, and both pipes are bounded.
    let writer = std::thread::spawn(move || {
        stdin
            .write_all(input.as_bytes())
            .expect("write to xmod-oracle");
    });
    let stdout = child.stdout.take().expect("oracle stdout");
    let answers: Vec<String> = BufReader::new(stdout)
        .lines()
        .map(|l| l.expect("read xmod-oracle output"))
        .collect();
    writer.join().expect("writer thread");
    let status = child.wait().expect("wait for xmod-oracle");
    assert!(status.success(), "xmod-oracle failed: {status}");
    assert_eq!(
        answers.len(),
        queries.len(),
        "xmod-oracle answered a different number of lines"
    );
    answers
}

fn unhex_lossy(s: &str) -> String {
    let bytes: Vec<u8> = (0..s.len() / 2)
        .filter_map(|i| {
            s.get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn readable(answer: &str) -> String {
    answer
        .split(' ')
        .map(|part| {
            if let Some(h) = part.strip_prefix('=') {
                format!("={:?}", unhex_lossy(h))
            } else if let Some(h) = part.strip_prefix("err:") {
                format!("err({:?})", unhex_lossy(h))
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Compares both implementations on `queries`; panics listing the first disagreements.
fn assert_agreement(label: &str, queries: &[Query]) {
    let go = go_answers(queries);
    let mut disagreements = Vec::new();
    let mut message_mismatches = Vec::new();
    let mut errors_compared = 0usize;
    for (query, go_answer) in queries.iter().zip(&go) {
        assert!(
            !go_answer.starts_with("bad-"),
            "oracle could not run {} {:?}: {go_answer}",
            query.op,
            query.args
        );
        let rust = rust_answer(query);
        if !agree(query.op, go_answer, &rust) {
            disagreements.push(format!(
                "{}({:?}): x/mod {} vs goxy-mod {}",
                query.op,
                query.args,
                readable(go_answer),
                readable(&rust)
            ));
        } else if go_answer.starts_with("err:") && go_answer.len() > 4 && rust != "err:" {
            errors_compared += 1;
            if *go_answer != rust {
                message_mismatches.push((
                    query.op,
                    format!(
                        "{}({:?}): x/mod {} vs goxy-mod {}",
                        query.op,
                        query.args,
                        readable(go_answer),
                        readable(&rust)
                    ),
                ));
            }
        }
    }
    eprintln!(
        "{label}: {} queries, {} disagreements; error texts differ in {} of {} errors",
        queries.len(),
        disagreements.len(),
        message_mismatches.len(),
        errors_compared
    );
    // One example per op whose error text differs (informational only).
    let mut seen_ops: Vec<&str> = Vec::new();
    for (op, m) in &message_mismatches {
        if !seen_ops.contains(op) {
            seen_ops.push(op);
            let count = message_mismatches.iter().filter(|(o, _)| o == op).count();
            eprintln!("  {count} error texts differ for {op}, e.g. {m}");
        }
    }
    assert!(
        disagreements.is_empty(),
        "{label}: {} disagreements with x/mod; first ones:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn unary(queries: &mut Vec<Query>, s: &str) {
    for op in UNARY_OPS {
        queries.push(q(op, &[s]));
    }
}

/// Every row of x/mod's own test tables plus security.md §4.
fn table_queries() -> Vec<Query> {
    let mut qs = Vec::new();
    for &(path, version, _) in CHECK_TESTS {
        qs.push(q("Check", &[path, version]));
        unary(&mut qs, path);
        unary(&mut qs, version);
    }
    for &(path, ..) in CHECK_PATH_TESTS {
        unary(&mut qs, path);
        qs.push(q("Check", &[path, "v1.0.0"]));
    }
    for &(prefix, major) in SPLIT_PATH_VERSION_TESTS {
        let path = format!("{prefix}{major}");
        unary(&mut qs, &path);
        unary(&mut qs, major);
    }
    for &(path, escaped) in ESCAPE_TESTS {
        unary(&mut qs, path);
        unary(&mut qs, escaped);
    }
    for &bad in BAD_UNESCAPE {
        unary(&mut qs, bad);
    }
    for &(v, pm, _) in MATCH_PATH_MAJOR_TESTS {
        qs.push(q("CheckPathMajor", &[v, pm]));
        qs.push(q("MatchPathMajor", &[v, pm]));
        unary(&mut qs, pm);
    }
    for &(globs, target, _) in MATCH_PREFIX_PATTERNS_TESTS {
        qs.push(q("MatchPrefixPatterns", &[globs, target]));
    }
    let semver_inputs: Vec<&str> = SEMVER_TESTS
        .iter()
        .map(|&(v, _)| v)
        .chain(SEMVER_EXTRA.iter().copied())
        .collect();
    for &a in &semver_inputs {
        unary(&mut qs, a);
        for &b in &semver_inputs {
            qs.push(q("Compare", &[a, b]));
            qs.push(q("Max", &[a, b]));
        }
    }
    let mut reversed = semver_inputs.clone();
    reversed.reverse();
    qs.push(q("Sort", &reversed));
    let secs = PSEUDO_TIME_UNIX.to_string();
    for &(major, older, version) in PSEUDO_TESTS {
        qs.push(q("PseudoVersion", &[major, older, &secs, "hash"]));
        unary(&mut qs, version);
        unary(&mut qs, older);
    }
    for &v in INVALID_PSEUDO {
        unary(&mut qs, v);
    }
    for &s in SECURITY_BAD_PATHS
        .iter()
        .chain(SECURITY_BAD_ESCAPES)
        .chain(SECURITY_BAD_VERSIONS)
    {
        unary(&mut qs, s);
        qs.push(q("Check", &["example.com/m", s]));
    }
    qs
}

#[test]
fn agrees_with_x_mod_on_its_tables_and_security_inputs() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    assert_agreement("tables", &table_queries());
}

/// Number of generated inputs per shape; four shapes give well over 100,000.
const GENERATED_PER_SHAPE: usize = 30_000;

#[test]
fn agrees_with_x_mod_on_generated_inputs() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let mut rng = Rng::new(0x60_7859_2026);
    let mut qs = Vec::new();
    let mut generated = 0usize;

    for _ in 0..GENERATED_PER_SHAPE {
        // Random strings over the biased alphabet.
        let s = random_chars(&mut rng, 24);
        unary(&mut qs, &s);
        // Module-path-like strings, alone and with a version.
        let path = random_path(&mut rng);
        let version = random_version(&mut rng);
        unary(&mut qs, &path);
        unary(&mut qs, &version);
        qs.push(q("Check", &[&path, &version]));
        // Escaped forms of paths and versions, sometimes damaged.
        let escaped = match module::escape_path(&path) {
            Ok(e) if rng.chance(70) => e,
            Ok(e) => mutate(&mut rng, &e),
            Err(_) => mutate(&mut rng, &path.to_lowercase()),
        };
        qs.push(q("UnescapePath", &[&escaped]));
        qs.push(q("UnescapeVersion", &[&mutate(&mut rng, &version)]));
        generated += 4;

        // Version pairs and path-major checks.
        let other = random_version(&mut rng);
        qs.push(q("Compare", &[&version, &other]));
        qs.push(q("Max", &[&version, &other]));
        let path_major = module::split_path_version(&path).map_or_else(
            || {
                rng.pick(&["", "/v2", ".v1", ".v1-unstable", "/v0", "v2"])
                    .to_string()
            },
            |(_, m)| m.to_string(),
        );
        qs.push(q("CheckPathMajor", &[&version, &path_major]));
        qs.push(q("MatchPathMajor", &[&version, &path_major]));

        // Patterns against path-like targets.
        let globs = random_globs(&mut rng);
        let target = if rng.chance(50) {
            path.clone()
        } else {
            random_path(&mut rng)
        };
        qs.push(q("MatchPrefixPatterns", &[&globs, &target]));
    }

    for _ in 0..GENERATED_PER_SHAPE / 3 {
        // Pseudo-version construction and time conversion across a wide span of years.
        let secs = (rng.next_u64() % 600_000_000_000) as i64 - 300_000_000_000;
        let secs_text = secs.to_string();
        let older = random_version(&mut rng);
        let major = rng.pick(&["", "v0", "v1", "v2", "v17"]).to_string();
        let rev = rng
            .pick(&["abcdef123456", "hash", "000000000000"])
            .to_string();
        qs.push(q("PseudoVersion", &[&major, &older, &secs_text, &rev]));
        qs.push(q("FormatPseudoTime", &[&secs_text]));
        // 14-byte timestamps: formatted ones, near-misses and random digits.
        let formatted = pseudo::format_pseudo_time(secs);
        qs.push(q("ParsePseudoTime", &[&formatted]));
        let digits: String = (0..14)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect();
        qs.push(q("ParsePseudoTime", &[&digits]));
        let mut near: Vec<u8> =
            pseudo::format_pseudo_time(rng.below(4_000_000_000) as i64).into_bytes();
        let i = rng.below(near.len());
        near[i] = b"0123456789x"[rng.below(11)];
        qs.push(q("ParsePseudoTime", &[&String::from_utf8_lossy(&near)]));
        // Pseudo-version recognition on constructed ones.
        let pv = pseudo::pseudo_version(&major, &older, &formatted, &rev);
        unary(&mut qs, &pv);
        generated += 3;
    }

    for _ in 0..500 {
        let list: Vec<String> = (0..6).map(|_| random_version(&mut rng)).collect();
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        qs.push(q("Sort", &refs));
    }

    assert!(generated >= 100_000, "only {generated} generated inputs");
    eprintln!("generated inputs: {generated}");
    assert_agreement("generated", &qs);
}

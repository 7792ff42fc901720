//! Differential test of the parsers against x/mod itself (`sumdb-server
//! -oracle`): signed notes (note.Open), tree notes (tlog.ParseTree), records
//! (tlog.ParseRecord), tile paths (tlog.ParseTilePath) and verifier keys
//! (note.NewVerifier) must accept and reject the same inputs, with the same
//! results. Inputs are valid examples with seeded random damage.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use base64::Engine;
use goxy_sumdb::{note, tlog, Error, Signer, Tile, Verifier, Verifiers};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TEST_VKEY: &str =
    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
const TEST_SKEY: &str =
    "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_MSG: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const TREE: &str =
    "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Random damage biased towards the bytes the formats care about.
fn damage(rng: &mut StdRng, seed: &[u8], ascii_only: bool) -> Vec<u8> {
    const SPECIAL: &[&[u8]] = &[
        b"\n",
        b" ",
        b"+",
        b"=",
        b"/",
        b".p",
        b"x",
        b"0",
        b"9",
        b"-",
        b"\n\n",
        "— ".as_bytes(),
        b"\r",
        b"\t",
        b"A",
    ];
    let mut data = seed.to_vec();
    for _ in 0..rng.gen_range(0..4) {
        let len = data.len();
        let at = rng.gen_range(0..=len);
        match rng.gen_range(0..5) {
            0 if len > 0 => {
                let i = at.min(len - 1);
                data[i] = if ascii_only {
                    rng.gen_range(0x20..0x7f)
                } else {
                    rng.gen()
                };
            }
            1 => {
                let s = SPECIAL[rng.gen_range(0..SPECIAL.len())];
                if !ascii_only || s.is_ascii() {
                    data.splice(at..at, s.iter().copied());
                }
            }
            2 if len > 0 => {
                let end = (at + rng.gen_range(1..4)).min(len);
                data.drain(at.min(len - 1)..end);
            }
            3 => data.truncate(at),
            _ => {}
        }
    }
    data
}

fn rust_open(data: &[u8], known: &Verifiers) -> String {
    match note::open(data, known) {
        Ok(n) => format!(
            "ok {} {} {}",
            b64(n.text.as_bytes()),
            n.sigs.len(),
            n.unverified_sigs.len()
        ),
        Err(Error::UnverifiedNote { .. }) => "err note has no verifiable signatures".to_string(),
        Err(e) => format!("err {e}"),
    }
}

fn rust_tree(data: &[u8]) -> String {
    match tlog::parse_tree(data) {
        Ok(t) => format!("ok {} {}", t.n, t.hash),
        Err(e) => format!("err {e}"),
    }
}

fn rust_record(data: &[u8]) -> String {
    match tlog::parse_record(data) {
        Ok(r) => format!("ok {} {} {}", r.id, b64(r.text), b64(r.rest)),
        Err(e) => format!("err {e}"),
    }
}

fn rust_tilepath(s: &str) -> String {
    match Tile::parse_path(s) {
        Ok(t) => format!("ok {} {} {} {}", t.h, t.l, t.n, t.w),
        Err(_) => "err".to_string(),
    }
}

fn rust_vkey(s: &str) -> String {
    match Verifier::parse(s) {
        Ok(v) => format!("ok {} {:08x}", v.name(), v.key_hash()),
        Err(e) => format!("err {e}"),
    }
}

#[test]
fn parsers_agree_with_x_mod() {
    if !goxy_testkit::have_go() {
        eprintln!("skipping: no go command");
        return;
    }
    let signer = Signer::parse(TEST_SKEY).unwrap();
    let stranger = Signer::from_seed("localhost.localdev/sumdb", [3; 32]).unwrap();
    let tree_note = String::from_utf8(note::sign(TREE, &[&signer]).unwrap()).unwrap();
    let two_sigs = format!(
        "{tree_note}{}",
        stranger.signature_line(TREE, stranger.key_hash())
    );
    let dup_sigs = format!("{tree_note}{}", &tree_note[TREE.len() + 1..]);
    let note_seeds = [PETER_MSG.to_string(), tree_note.clone(), two_sigs, dup_sigs];
    let tree_seeds = [
        TREE.to_string(),
        format!("{TREE}extra\n"),
        "go.sum database tree\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".to_string(),
    ];
    let record_seeds = [
        "123456789012\nhello, world\n\njunk",
        "0\na b h1:x\na b/go.mod h1:y\n\ngo.sum database tree\n",
        "+7\nx\n\n",
    ];
    let path_seeds = [
        "tile/8/0/001",
        "tile/8/0/x001/x234/067.p/255",
        "tile/8/data/000.p/1",
        "tile/30/63/999",
        "tile/1/0/000.p/1",
    ];
    let vkey_seeds = [TEST_VKEY, PETER_VKEY];

    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut questions: Vec<(&str, Vec<u8>)> = Vec::new();
    for _ in 0..1500 {
        for s in &note_seeds {
            questions.push(("open", damage(&mut rng, s.as_bytes(), false)));
        }
        for s in &tree_seeds {
            questions.push(("tree", damage(&mut rng, s.as_bytes(), false)));
        }
        for s in &record_seeds {
            questions.push(("record", damage(&mut rng, s.as_bytes(), false)));
        }
        for s in &path_seeds {
            questions.push(("tilepath", damage(&mut rng, s.as_bytes(), true)));
        }
        for s in &vkey_seeds {
            questions.push(("vkey", damage(&mut rng, s.as_bytes(), true)));
        }
    }

    // Hand-picked edge cases, then the random ones.
    let h = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=";
    for n in [
        "0123",
        "+5",
        "-0",
        "-1",
        "9223372036854775807",
        "9223372036854775808",
        " 5",
        "5 ",
        "",
    ] {
        questions.push((
            "tree",
            format!("go.sum database tree\n{n}\n{h}\n").into_bytes(),
        ));
    }
    for hash in [
        &h[..43],
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb1=",
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\r",
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0",
    ] {
        questions.push((
            "tree",
            format!("go.sum database tree\n5\n{hash}\n").into_bytes(),
        ));
    }
    for id in ["+5", "-5", "007", "", " 5", "9223372036854775808"] {
        questions.push(("record", format!("{id}\nhello\n\n").into_bytes()));
    }
    for p in [
        "tile/08/0/001",
        "tile/8/00/001",
        "tile/8/-0/001",
        "tile/8/0/x000/001",
        "tile/8/0/001.p/0",
        "tile/8/0/001.p/256",
        "tile/8/0/001.p/+5",
        "tile/8/0/+01",
        "tile/8/data/001.p/05",
        "tile/31/0/000",
        "tile/0/0/000",
        "tile/8/0/1000",
    ] {
        questions.push(("tilepath", p.as_bytes().to_vec()));
    }
    for k in [
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+",
    ] {
        questions.push(("vkey", k.as_bytes().to_vec()));
    }
    let tail = &PETER_MSG[PETER_MSG.find("\n\n").unwrap()..];
    for text in ["", "a", "a\n\n", "\n"] {
        questions.push(("open", format!("{text}{tail}").into_bytes()));
    }

    let mut child = Command::new(goxy_testkit::go_tool("sumdb-server"))
        .arg("-oracle")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input: String = questions
        .iter()
        .map(|(op, data)| format!("{op} {}\n", b64(data)))
        .collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let answers: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(answers.len(), questions.len());

    let known = Verifiers::new(vec![
        Verifier::parse(TEST_VKEY).unwrap(),
        Verifier::parse(PETER_VKEY).unwrap(),
    ]);
    let mut accepted = std::collections::HashMap::<&str, usize>::new();
    for ((op, data), go) in questions.iter().zip(&answers) {
        let text = String::from_utf8_lossy(data);
        let ours = match *op {
            "open" => rust_open(data, &known),
            "tree" => rust_tree(data),
            "record" => rust_record(data),
            "tilepath" => rust_tilepath(&text),
            "vkey" => rust_vkey(&text),
            _ => unreachable!(),
        };
        if go.starts_with("ok") {
            *accepted.entry(op).or_default() += 1;
        }
        // Deliberate difference: negative record ids are refused here.
        if *op == "record" && go.starts_with("ok -") {
            assert!(ours.starts_with("err"), "record {data:?}: {ours}");
            continue;
        }
        let go_cmp = if *op == "tilepath" && go.starts_with("err") {
            "err"
        } else {
            go.as_str()
        };
        assert_eq!(ours, go_cmp, "{op} {text:?}");
    }
    // The damage must leave a fair share valid, or the comparison is hollow.
    for op in ["open", "tree", "record", "tilepath", "vkey"] {
        assert!(
            accepted.get(op).copied().unwrap_or(0) >= 100,
            "{op}: only {:?} accepted",
            accepted.get(op)
        );
    }
}

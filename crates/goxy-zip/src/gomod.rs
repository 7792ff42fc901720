//! Lax go.mod reading: just what the proxy and zip creation need, following
//! golang.org/x/mod/modfile (`ModulePath`, `ParseLax`).

use std::cmp::Ordering;

/// The module path declared by a go.mod, like modfile `ModulePath`: the first
/// line starting with `module` followed by space, comments stripped, quoted
/// (`"..."` or `` `...` ``) or bare. Also reads the block form `module ( path )`.
pub fn go_mod_module_path(go_mod: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(go_mod);
    let mut lines = text
        .split('\n')
        .map(|line| line.split("//").next().unwrap_or("").trim());
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("module") else {
            continue;
        };
        let arg = rest.trim();
        if arg.len() == rest.len() || arg.is_empty() {
            continue; // "modulefoo" or a bare "module"
        }
        if arg == "(" {
            // Block form: the first non-empty line of the block holds the path.
            let inner = lines.by_ref().find(|l| !l.is_empty())?;
            if inner == ")" {
                return None;
            }
            return path_value(inner);
        }
        return path_value(arg);
    }
    None
}

fn path_value(arg: &str) -> Option<String> {
    if arg.starts_with('"') || arg.starts_with('`') {
        return go_unquote(arg);
    }
    Some(arg.to_string())
}

/// The `go` directive's version (e.g. `"1.24"`, `"1.21.3"`, `"1.24rc1"`), as
/// modfile `ParseLax` would record it (`v1.21.0-x`-style values are cut to `1.21`).
/// Lax: reads the first `go` line even where the rest of the file would not parse.
pub fn go_mod_go_version(go_mod: &[u8]) -> Option<String> {
    let stmts = match parse(go_mod) {
        Ok(stmts) => stmts,
        Err(partial) => partial,
    };
    stmts
        .iter()
        .find(|s| s.verb == "go" && !s.in_block)
        .and_then(|s| match s.args.as_slice() {
            [v] => fix_go_version(v),
            _ => None,
        })
}

/// The `retract` intervals as `(low, high)`; a single version `v` gives `(v, v)`.
/// As modfile `ParseLax` records them: unquoted, not validated or canonicalized
/// (so a `v1.x` is returned as is and matches no real version); unparsable
/// intervals are skipped.
pub fn go_mod_retractions(go_mod: &[u8]) -> Vec<(String, String)> {
    let stmts = match parse(go_mod) {
        Ok(stmts) => stmts,
        Err(partial) => partial,
    };
    stmts
        .iter()
        .filter(|s| s.verb == "retract")
        .filter_map(|s| version_interval(&s.args))
        .collect()
}

/// `version.Lang("go" + v)` for the root go.mod's go directive, or "" if the
/// file does not parse under `ParseLax` or has no valid go directive.
pub(crate) fn root_go_lang(go_mod: &[u8]) -> String {
    let Ok(stmts) = parse(go_mod) else {
        return String::new();
    };
    match lax_semantics(&stmts) {
        Some(Some(v)) => lang(&v),
        _ => String::new(),
    }
}

/// `version.Compare(lang, "go1.24") >= 0`; "" (invalid) compares lower than everything.
pub(crate) fn go_lang_at_least_1_24(lang: &str) -> bool {
    let Some(v) = lang.strip_prefix("go") else {
        return false;
    };
    let Some((major, minor)) = parse_go_version(v) else {
        return false;
    };
    match cmp_int(major, "1") {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => cmp_int(minor.unwrap_or("0"), "24") != Ordering::Less,
    }
}

#[derive(Debug)]
struct Stmt {
    verb: String,
    /// Raw token text (quotes kept), like modfile's `Line.Token`.
    args: Vec<String>,
    in_block: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Newline,
    LParen,
    RParen,
    Other(String),
}

/// The modfile lexer. Err on what modfile reports as a syntax error.
fn lex(text: &str) -> Result<Vec<Tok>, ()> {
    let mut toks = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        let rest = text.get(i..).unwrap_or("");
        match c {
            ' ' | '\t' | '\r' => {
                chars.next();
            }
            '\n' => {
                chars.next();
                toks.push(Tok::Newline);
            }
            '/' if rest.starts_with("//") => {
                while chars.peek().is_some_and(|&(_, c)| c != '\n') {
                    chars.next();
                }
            }
            '/' if rest.starts_with("/*") => return Err(()),
            '(' => {
                chars.next();
                toks.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                toks.push(Tok::RParen);
            }
            '[' | ']' | ',' | '{' | '}' => {
                chars.next();
                toks.push(Tok::Other(c.to_string()));
            }
            '"' | '`' => {
                let quote = c;
                chars.next();
                let mut end = None;
                while let Some((j, d)) = chars.next() {
                    if d == '\n' {
                        return Err(());
                    }
                    if d == quote {
                        end = Some(j + d.len_utf8());
                        break;
                    }
                    if d == '\\' && quote != '`' {
                        match chars.next() {
                            Some((_, '\n')) | None => return Err(()),
                            Some(_) => {}
                        }
                    }
                }
                let Some(end) = end else { return Err(()) };
                toks.push(Tok::Other(text.get(i..end).unwrap_or("").to_string()));
            }
            c if is_ident(c) => {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek() {
                    if !is_ident(d) || text.get(j..).unwrap_or("").starts_with("//") {
                        break;
                    }
                    if text.get(j..).unwrap_or("").starts_with("/*") {
                        return Err(());
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                toks.push(Tok::Other(text.get(i..end).unwrap_or("").to_string()));
            }
            _ => return Err(()),
        }
    }
    Ok(toks)
}

fn is_ident(c: char) -> bool {
    !matches!(c, ' ' | '(' | ')' | '[' | ']' | '{' | '}' | ',')
        && !c.is_whitespace()
        && !c.is_control()
}

/// Statements of the file. On a syntax error, Err carries the statements read so far.
fn parse(go_mod: &[u8]) -> Result<Vec<Stmt>, Vec<Stmt>> {
    let Ok(text) = std::str::from_utf8(go_mod) else {
        return Err(Vec::new());
    };
    let Ok(toks) = lex(text) else {
        // Salvage what precedes the error for the lax accessors.
        return Err(parse_tokens(&lex_prefix(text)).unwrap_or_else(|s| s));
    };
    parse_tokens(&toks)
}

/// Lexes line by line, stopping at the first line that does not lex.
fn lex_prefix(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        match lex(line) {
            Ok(toks) => {
                out.extend(toks);
                out.push(Tok::Newline);
            }
            Err(()) => break,
        }
    }
    out
}

/// modfile's `parseFile`: every token of a line is kept as text except a `(`
/// ending a line (block start) or `()` ending one (empty block); inside a
/// block, a line starting with `)` closes it and must end the line.
fn parse_tokens(toks: &[Tok]) -> Result<Vec<Stmt>, Vec<Stmt>> {
    fn text(t: &Tok) -> String {
        match t {
            Tok::Newline => "\n".to_string(),
            Tok::LParen => "(".to_string(),
            Tok::RParen => ")".to_string(),
            Tok::Other(s) => s.clone(),
        }
    }
    let at_eol = |i: usize| matches!(toks.get(i), None | Some(Tok::Newline));
    let mut stmts = Vec::new();
    let mut i = 0;
    loop {
        while toks.get(i) == Some(&Tok::Newline) {
            i += 1;
        }
        let Some(first) = toks.get(i) else {
            return Ok(stmts);
        };
        i += 1;
        let mut tokens = vec![text(first)];
        loop {
            if at_eol(i) {
                i += 1;
                let mut it = tokens.into_iter();
                if let Some(verb) = it.next() {
                    stmts.push(Stmt {
                        verb,
                        args: it.collect(),
                        in_block: false,
                    });
                }
                break;
            }
            let tok = toks.get(i);
            i += 1;
            if tok != Some(&Tok::LParen) {
                tokens.push(tok.map(text).unwrap_or_default());
                continue;
            }
            if at_eol(i) {
                // A block: lines up to one starting with `)`.
                loop {
                    match toks.get(i) {
                        None => return Err(stmts),
                        Some(Tok::Newline) => i += 1,
                        Some(Tok::RParen) => {
                            i += 1;
                            if !at_eol(i) {
                                return Err(stmts);
                            }
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            let mut args = Vec::new();
                            while !at_eol(i) {
                                args.extend(toks.get(i).map(text));
                                i += 1;
                            }
                            i += 1;
                            // Multi-token block heads (`a b (`) are ignored by ParseLax.
                            if let [verb] = tokens.as_slice() {
                                stmts.push(Stmt {
                                    verb: verb.clone(),
                                    args,
                                    in_block: true,
                                });
                            }
                        }
                    }
                }
                break;
            }
            if toks.get(i) == Some(&Tok::RParen) && at_eol(i + 1) {
                // `verb ()`: an empty block.
                i += 2;
                break;
            }
            tokens.push("(".to_string());
        }
    }
}

/// The checks `ParseLax` applies (it fails the whole file on any of them).
/// Returns None on error, else the go version (if any).
fn lax_semantics(stmts: &[Stmt]) -> Option<Option<String>> {
    let mut go: Option<String> = None;
    let mut module_seen = false;
    for s in stmts {
        let block_ok = |verbs: &[&str]| !s.in_block || verbs.contains(&s.verb.as_str());
        match s.verb.as_str() {
            "go" if block_ok(&[]) => {
                if go.is_some() {
                    return None;
                }
                let [v] = s.args.as_slice() else { return None };
                go = Some(fix_go_version(v)?);
            }
            "module" => {
                if module_seen {
                    return None;
                }
                module_seen = true;
                let [p] = s.args.as_slice() else { return None };
                parse_string(p)?;
            }
            "require" => {
                let [p, v] = s.args.as_slice() else {
                    return None;
                };
                let path = parse_string(p)?;
                let version = parse_version(v)?;
                let (_, major) = goxy_mod::module::split_path_version(&path)?;
                goxy_mod::module::check_path_major(&version, major).ok()?;
            }
            "ignore" => {
                let [p] = s.args.as_slice() else { return None };
                parse_string(p)?;
            }
            _ => {}
        }
    }
    Some(go)
}

/// GoVersionRE, or in lax mode laxGoVersionRE's `major.minor` prefix.
fn fix_go_version(v: &str) -> Option<String> {
    if matches_go_version_re(v) {
        return Some(v.to_string());
    }
    // ^v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)$
    let s = v.strip_prefix('v').unwrap_or(v);
    let (major, rest) = split_decimal(s)?;
    let rest = rest.strip_prefix('.')?;
    let (minor, rest) = split_decimal(rest)?;
    if rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(format!("{major}.{minor}"))
}

/// `[1-9][0-9]*` or `0` at the start of s (the latter only for minor/patch; callers check).
fn split_decimal(s: &str) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, rest) = (s.get(..n)?, s.get(n..)?);
    if digits.is_empty() || (digits.starts_with('0') && digits.len() > 1) {
        return None;
    }
    Some((digits, rest))
}

/// `^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$`
fn matches_go_version_re(v: &str) -> bool {
    let Some((major, rest)) = split_decimal(v) else {
        return false;
    };
    if major == "0" {
        return false;
    }
    let Some(rest) = rest.strip_prefix('.') else {
        return false;
    };
    let Some((_, mut rest)) = split_decimal(rest) else {
        return false;
    };
    if let Some(r) = rest.strip_prefix('.') {
        let Some((_, r)) = split_decimal(r) else {
            return false;
        };
        rest = r;
    }
    if rest.is_empty() {
        return true;
    }
    let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    let digits = rest.get(letters..).unwrap_or("");
    letters > 0 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// go/version parse of "1.N[.P][kindN]": (major, minor). None when invalid.
fn parse_go_version(v: &str) -> Option<(&str, Option<&str>)> {
    let (major, rest) = split_decimal(v)?;
    if rest.is_empty() {
        return Some((major, None));
    }
    let (minor, rest) = split_decimal(rest.strip_prefix('.')?)?;
    if rest.is_empty() {
        return Some((major, Some(minor)));
    }
    if let Some(patch) = rest.strip_prefix('.') {
        let (_, rest) = split_decimal(patch)?;
        return rest.is_empty().then_some((major, Some(minor)));
    }
    let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    if letters == 0 {
        return None;
    }
    let tail = rest.get(letters..)?;
    if tail.is_empty() || split_decimal(tail).is_some_and(|(_, r)| r.is_empty()) {
        return Some((major, Some(minor)));
    }
    None
}

/// go/version `Lang("go" + v)`: "go1.21" for "1.21.3" or "1.21rc2"; "" when invalid.
fn lang(v: &str) -> String {
    match parse_go_version(v) {
        Some((major, Some(minor))) if !(major == "1" && minor == "0") => {
            format!("go{major}.{minor}")
        }
        Some((major, _)) => format!("go{major}"),
        None => String::new(),
    }
}

/// Compares decimal strings without leading zeros (go/version cmpInt).
fn cmp_int(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// modfile `parseString`: an interpreted string literal, or a bare word without quotes.
fn parse_string(tok: &str) -> Option<String> {
    if tok.starts_with('"') {
        return go_unquote(tok);
    }
    if tok.contains(['"', '\'', '`']) {
        return None;
    }
    Some(tok.to_string())
}

/// modfile `parseVersion` without a fixer: must be a valid semver; canonicalized.
fn parse_version(tok: &str) -> Option<String> {
    let v = parse_string(tok)?;
    let cv = goxy_mod::module::canonical_version(&v);
    (!cv.is_empty()).then_some(cv)
}

/// modfile `parseVersionInterval` with the `dontFixRetract` fixer ParseLax
/// uses: versions are unquoted but neither validated nor canonicalized.
fn version_interval(args: &[String]) -> Option<(String, String)> {
    match args {
        [v, ..] if v != "[" && v != "(" => {
            let v = parse_string(v)?;
            Some((v.clone(), v))
        }
        [open, low, comma, high, close, ..] if open == "[" && comma == "," && close == "]" => {
            Some((parse_string(low)?, parse_string(high)?))
        }
        _ => None,
    }
}

/// Go's `strconv.Unquote` for `"..."` and `` `...` `` literals.
fn go_unquote(s: &str) -> Option<String> {
    if let Some(body) = s.strip_prefix('`').and_then(|b| b.strip_suffix('`')) {
        if body.contains('`') || s.len() < 2 {
            return None;
        }
        return Some(body.replace('\r', ""));
    }
    let body = s.strip_prefix('"')?.strip_suffix('"')?;
    if s.len() < 2 {
        return None;
    }
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' => return None,
            '\\' => {
                let e = chars.next()?;
                match e {
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\u{b}'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = chars.by_ref().take(n).collect();
                        if hex.len() != n {
                            return None;
                        }
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        if e == 'x' {
                            // \xHH is a byte; only ASCII bytes keep the string valid UTF-8 here.
                            if code > 0x7f {
                                return None;
                            }
                        }
                        out.push(char::from_u32(code)?);
                    }
                    '0'..='7' => {
                        let rest: String = chars.by_ref().take(2).collect();
                        if rest.len() != 2 {
                            return None;
                        }
                        let code = u32::from_str_radix(&format!("{e}{rest}"), 8).ok()?;
                        if code > 0x7f {
                            return None;
                        }
                        out.push(char::from_u32(code)?);
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_path() {
        assert_eq!(
            go_mod_module_path(b"module example.com/m\n").as_deref(),
            Some("example.com/m")
        );
        assert_eq!(
            go_mod_module_path(b"// c\nmodule \"rsc.io/quote\"\n").as_deref(),
            Some("rsc.io/quote")
        );
        assert_eq!(
            go_mod_module_path(b"module `a/b` // x\n").as_deref(),
            Some("a/b")
        );
        assert_eq!(
            go_mod_module_path(b"module (\n\texample.com/b\n)\n").as_deref(),
            Some("example.com/b")
        );
        assert_eq!(go_mod_module_path(b"modulex a\n"), None);
        assert_eq!(go_mod_module_path(b"go 1.21\n"), None);
        assert_eq!(go_mod_module_path(b"module \"unterminated\n"), None);
    }

    #[test]
    fn go_version() {
        assert_eq!(
            go_mod_go_version(b"module m\n\ngo 1.24\n").as_deref(),
            Some("1.24")
        );
        assert_eq!(
            go_mod_go_version(b"module m\ngo 1.21.3 // c\n").as_deref(),
            Some("1.21.3")
        );
        assert_eq!(
            go_mod_go_version(b"module m\ngo v1.21.0\n").as_deref(),
            Some("1.21")
        );
        assert_eq!(go_mod_go_version(b"module m\n"), None);
        assert_eq!(root_go_lang(b"module m\ngo 1.24rc1\n"), "go1.24");
        assert_eq!(root_go_lang(b"module m\ngo 1.22.3\n"), "go1.22");
        assert_eq!(root_go_lang(b"module m\ngo 1.22.3rc1\n"), "");
        assert_eq!(
            root_go_lang(b"module m\ngo 1.24\ngo 1.25\n"),
            "",
            "repeated go fails ParseLax"
        );
        assert_eq!(
            root_go_lang(b"module m\ngo 1.24\nrequire x.com/y v1\n"),
            "go1.24",
            "v1 is valid semver"
        );
        assert_eq!(root_go_lang(b"module m\ngo 1.24\nrequire x.com/y vx\n"), "");
        assert_eq!(root_go_lang(b"module m\ngo 1.24\n/* c */\n"), "");
        assert!(go_lang_at_least_1_24("go1.24"));
        assert!(go_lang_at_least_1_24("go1.100"));
        assert!(go_lang_at_least_1_24("go2"));
        assert!(!go_lang_at_least_1_24("go1.23"));
        assert!(!go_lang_at_least_1_24(""));
    }

    #[test]
    fn retractions() {
        let gm = b"module m\nretract v1.0.0 // bad\nretract [v1.1.0, v1.2.0]\nretract (\n\tv1.3.0\n\t[v1.4.0, v1.5.0] // r\n)\nretract [v1.6.0]\nretract junk\n";
        assert_eq!(
            go_mod_retractions(gm),
            vec![
                ("v1.0.0".to_string(), "v1.0.0".to_string()),
                ("v1.1.0".to_string(), "v1.2.0".to_string()),
                ("v1.3.0".to_string(), "v1.3.0".to_string()),
                ("v1.4.0".to_string(), "v1.5.0".to_string()),
                // Like ParseLax: kept unvalidated (matches no version); the
                // malformed interval above is skipped.
                ("junk".to_string(), "junk".to_string()),
            ]
        );
    }
}

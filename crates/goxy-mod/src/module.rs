//! Module paths, import paths, file paths, path/version consistency and the
//! `!`-case-encoding of the GOPROXY protocol, exactly as `golang.org/x/mod/module`.
//!
//! Every check here runs on untrusted request data before any I/O, so none of
//! them allocates on success and none can panic.

use std::fmt;

use crate::semver;

/// What class of rule an input broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModErrorKind {
    /// A module, import or file path breaks the naming rules (`CheckPath` and friends).
    MalformedPath,
    /// A version is not valid semver, does not match the path's major version,
    /// is not a valid pseudo-version, or is not allowed as a version string.
    InvalidVersion,
    /// An escaped path or version is not valid `!`-case-encoding.
    BadEscape,
}

/// Why a path or version was rejected. The message reads like x/mod's error
/// text, e.g. `malformed module path "x/y": missing dot in first path element`;
/// input bytes are quoted Go-style so control characters are never echoed raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModError {
    kind: ModErrorKind,
    message: String,
}

impl ModError {
    pub(crate) fn new(kind: ModErrorKind, message: String) -> Self {
        ModError { kind, message }
    }

    /// The class of rule that was broken.
    pub fn kind(&self) -> ModErrorKind {
        self.kind
    }

    /// The full error text (same as `Display`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `malformed <kind> path "<path>": <reason>` (x/mod `InvalidPathError`).
    fn malformed(kind: PathKind, path: &str, reason: &str) -> Self {
        ModError::new(
            ModErrorKind::MalformedPath,
            format!(
                "malformed {} path {}: {reason}",
                kind.noun(),
                go_quote(path)
            ),
        )
    }

    /// `<path>@<version>: invalid version: <reason>` (x/mod `ModuleError` wrapping `InvalidVersionError`).
    fn module_version(path: &str, version: &str, reason: &str) -> Self {
        ModError::new(
            ModErrorKind::InvalidVersion,
            format!("{path}@{version}: invalid version: {reason}"),
        )
    }

    /// `version "<v>" invalid: <reason>` (x/mod `InvalidVersionError`).
    pub(crate) fn version(version: &str, pseudo: bool, reason: &str) -> Self {
        let noun = if pseudo { "pseudo-version" } else { "version" };
        ModError::new(
            ModErrorKind::InvalidVersion,
            format!("{noun} {} invalid: {reason}", go_quote(version)),
        )
    }
}

impl fmt::Display for ModError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModError {}

/// Which rule set a path is checked against; they differ in allowed characters
/// and a few element rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathKind {
    Module,
    Import,
    File,
}

impl PathKind {
    fn noun(self) -> &'static str {
        match self {
            PathKind::Module => "module",
            PathKind::Import => "import",
            PathKind::File => "file",
        }
    }
}

/// Checks that a module path is valid (x/mod `CheckPath`): a valid import path
/// whose first element is a lower-case LDH domain name with a dot, with no
/// element starting with a dot, and whose major-version suffix (`/vN`, or
/// gopkg.in's `.vN`) is well-formed.
pub fn check_path(path: &str) -> Result<(), ModError> {
    let fail = |reason: &str| Err(ModError::malformed(PathKind::Module, path, reason));
    if let Err(reason) = check_path_kind(path, PathKind::Module) {
        return fail(&reason);
    }
    let first = path.split('/').next().unwrap_or("");
    if first.is_empty() {
        return fail("leading slash");
    }
    if !first.contains('.') {
        return fail("missing dot in first path element");
    }
    if first.starts_with('-') {
        return fail("leading dash in first path element");
    }
    if let Some(c) = first.chars().find(|&c| !first_path_ok(c)) {
        return fail(&format!(
            "invalid char {} in first path element",
            go_quote_rune(c)
        ));
    }
    if split_path_version(path).is_none() {
        return fail("invalid version");
    }
    Ok(())
}

/// Checks that a package import path is valid (x/mod `CheckImportPath`):
/// like a module path element-wise, plus `+`, without the first-element and
/// major-suffix rules.
pub fn check_import_path(path: &str) -> Result<(), ModError> {
    check_path_kind(path, PathKind::Import)
        .map_err(|reason| ModError::malformed(PathKind::Import, path, &reason))
}

/// Checks that a slash-separated file path (as inside a module zip) is valid
/// (x/mod `CheckFilePath`): Unicode letters, ASCII digits, space and
/// `!#$%&()+,-.=@[]^_{}~` are allowed; no empty, `.` or `..` elements.
pub fn check_file_path(path: &str) -> Result<(), ModError> {
    check_path_kind(path, PathKind::File)
        .map_err(|reason| ModError::malformed(PathKind::File, path, &reason))
}

/// Checks that `path` is a valid module path, `version` a valid semantic
/// version, and that the two agree on the major version (x/mod `Check`).
/// Note `version` need not be canonical here (x/mod only requires validity);
/// use [`is_canonical_version`] in addition where a canonical one is required.
pub fn check(path: &str, version: &str) -> Result<(), ModError> {
    check_path(path)?;
    if !semver::is_valid(version) {
        return Err(ModError::module_version(
            path,
            version,
            "not a semantic version",
        ));
    }
    // check_path succeeded, so the split succeeds; fall back to no major suffix regardless.
    let path_major = split_path_version(path).map_or("", |(_, major)| major);
    if let Some(reason) = path_major_mismatch(version, path_major) {
        return Err(ModError::module_version(path, version, &reason));
    }
    Ok(())
}

/// Splits a module path into prefix and major-version suffix such that
/// `prefix + path_major == path` (x/mod `SplitPathVersion`): `"x.y/z/v2"` →
/// `("x.y/z", "/v2")`, `"x.y/z"` → `("x.y/z", "")`, `"gopkg.in/yaml.v2"` →
/// `("gopkg.in/yaml", ".v2")`. `None` when the final element looks like a
/// major suffix but is not a valid one (`/v1`, `/v0`, `/v1.2`, `/v02`, or a
/// gopkg.in path without `.vN`).
pub fn split_path_version(path: &str) -> Option<(&str, &str)> {
    if path.starts_with("gopkg.in/") {
        return split_gopkg_in(path);
    }
    let bytes = path.as_bytes();
    let mut i = bytes.len();
    let mut dot = false;
    while i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.') {
        if bytes[i - 1] == b'.' {
            dot = true;
        }
        i -= 1;
    }
    if i <= 1 || i == bytes.len() || bytes[i - 1] != b'v' || bytes[i - 2] != b'/' {
        return Some((path, ""));
    }
    // Bytes i-2 and i-1 are ASCII, so i-2 is a char boundary.
    let (prefix, path_major) = path.split_at(i - 2);
    let pm = path_major.as_bytes();
    if dot || pm.len() <= 2 || pm[2] == b'0' || path_major == "/v1" {
        return None;
    }
    Some((prefix, path_major))
}

/// gopkg.in paths must end in `.vN` (any N, `.v0` allowed, no other leading
/// zero), optionally followed by `-unstable`.
fn split_gopkg_in(path: &str) -> Option<(&str, &str)> {
    let bytes = path.as_bytes();
    let mut i = bytes.len();
    if path.ends_with("-unstable") {
        i -= "-unstable".len();
    }
    while i > 0 && bytes[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i <= 1 || bytes[i - 1] != b'v' || bytes[i - 2] != b'.' {
        return None;
    }
    let (prefix, path_major) = path.split_at(i - 2);
    let pm = path_major.as_bytes();
    if pm.len() <= 2 || (pm[2] == b'0' && path_major != ".v0") {
        return None;
    }
    Some((prefix, path_major))
}

/// Checks that the semantic version `version` matches the path major-version
/// suffix `path_major` (`""`, `"/v2"`, `".v1"`, `".v1-unstable"`) (x/mod `CheckPathMajor`).
/// An empty suffix allows v0, v1 and `+incompatible` versions; gopkg.in `.v1`
/// also allows `v0.0.0-…` pseudo-versions (an old cmd/go bug left such requirements around).
pub fn check_path_major(version: &str, path_major: &str) -> Result<(), ModError> {
    match path_major_mismatch(version, path_major) {
        None => Ok(()),
        Some(reason) => Err(ModError::version(version, false, &reason)),
    }
}

/// Reports whether `version` matches `path_major`; true exactly when [`check_path_major`] is `Ok`.
pub fn match_path_major(version: &str, path_major: &str) -> bool {
    path_major_mismatch(version, path_major).is_none()
}

/// `None` when `version` fits `path_major`, else the reason (`should be v2, not v3`).
fn path_major_mismatch(version: &str, path_major: &str) -> Option<String> {
    let mut path_major = path_major;
    if path_major.starts_with(".v") {
        path_major = path_major.strip_suffix("-unstable").unwrap_or(path_major);
    }
    if version.starts_with("v0.0.0-") && path_major == ".v1" {
        return None;
    }
    let m = semver::major(version);
    let want = if path_major.is_empty() {
        if m == "v0" || m == "v1" || semver::build(version) == "+incompatible" {
            return None;
        }
        "v0 or v1"
    } else if let Some(want) = path_major
        .strip_prefix('/')
        .or_else(|| path_major.strip_prefix('.'))
    {
        if m == want {
            return None;
        }
        want
    } else {
        path_major
    };
    Some(format!("should be {want}, not {m}"))
}

/// The major-version tag prefix implied by a path major suffix: `"/v2"` → `"v2"`,
/// `".v1-unstable"` → `"v1"`, `""` → `""` (meaning v0 or v1).
/// Returns `""` for a suffix that is not a valid major suffix (x/mod panics there).
pub fn path_major_prefix(path_major: &str) -> &str {
    let mut pm = path_major;
    if pm.starts_with(".v") {
        pm = pm.strip_suffix("-unstable").unwrap_or(pm);
    }
    let Some(m) = pm.strip_prefix('/').or_else(|| pm.strip_prefix('.')) else {
        return "";
    };
    if semver::major(m) != m {
        return "";
    }
    m
}

/// The canonical form of a module version (x/mod `module.CanonicalVersion`):
/// [`semver::canonical`], but a `+incompatible` build suffix is kept. `""` when invalid.
pub fn canonical_version(v: &str) -> String {
    let mut cv = semver::canonical(v);
    if !cv.is_empty() && semver::build(v) == "+incompatible" {
        cv.push_str("+incompatible");
    }
    cv
}

/// Reports whether `v` is a canonical module version: non-empty and equal to
/// its [`canonical_version`] (so `v1.2.3`, `v1.2.3-pre` and
/// `v2.0.0+incompatible` are canonical; `v1.2`, `v1.2.3+meta` are not).
/// This is the form cmd/go requests for `.mod`/`.zip` and goxy's storage key form.
pub fn is_canonical_version(v: &str) -> bool {
    if v.is_empty() {
        return false;
    }
    match semver::build(v) {
        // No build suffix: canonical unless a shorthand (`v1`, `v1.2`) or invalid.
        "" => semver::canonical_len(v) == Some(v.len()),
        // A build suffix implies a full, valid vX.Y.Z[-pre]; only +incompatible survives.
        "+incompatible" => true,
        _ => false,
    }
}

/// The `!`-case-encoded form of a module path (x/mod `EscapePath`): every
/// upper-case ASCII letter `X` becomes `!x`. Fails for invalid module paths.
pub fn escape_path(path: &str) -> Result<String, ModError> {
    check_path(path)?;
    escape_string(path).ok_or_else(|| {
        ModError::malformed(
            PathKind::Module,
            path,
            "internal error: inconsistency in EscapePath",
        )
    })
}

/// The `!`-case-encoded form of a version (x/mod `EscapeVersion`). Versions
/// may be non-semver (queries, branch names) but must be a single valid file
/// path element without `!`; so `feature/x` cannot be escaped.
pub fn escape_version(v: &str) -> Result<String, ModError> {
    if check_elem(v, PathKind::File).is_err() || v.contains('!') {
        return Err(ModError::version(v, false, "disallowed version string"));
    }
    // Non-ASCII file-name letters pass the element check but cannot be case-encoded.
    escape_string(v).ok_or_else(|| {
        ModError::new(
            ModErrorKind::InvalidVersion,
            "internal error: inconsistency in EscapePath".to_string(),
        )
    })
}

/// Decodes an escaped module path (x/mod `UnescapePath`) and checks the result
/// with [`check_path`]. Rejects non-ASCII, literal upper-case letters, `!`
/// not followed by `a`-`z`, and a trailing `!`.
pub fn unescape_path(escaped: &str) -> Result<String, ModError> {
    let Some(path) = unescape_string(escaped) else {
        return Err(ModError::new(
            ModErrorKind::BadEscape,
            format!("invalid escaped module path {}", go_quote(escaped)),
        ));
    };
    if let Err(e) = check_path(&path) {
        return Err(ModError::new(
            ModErrorKind::MalformedPath,
            format!("invalid escaped module path {}: {e}", go_quote(escaped)),
        ));
    }
    Ok(path)
}

/// Decodes an escaped version (x/mod `UnescapeVersion`); the result must be a
/// single valid file path element. Same escape rules as [`unescape_path`].
pub fn unescape_version(escaped: &str) -> Result<String, ModError> {
    let Some(v) = unescape_string(escaped) else {
        return Err(ModError::new(
            ModErrorKind::BadEscape,
            format!("invalid escaped version {}", go_quote(escaped)),
        ));
    };
    if let Err(reason) = check_elem(&v, PathKind::File) {
        return Err(ModError::new(
            ModErrorKind::InvalidVersion,
            format!("invalid escaped version {}: {reason}", go_quote(&v)),
        ));
    }
    Ok(v)
}

/// `None` when `s` contains `!` or non-ASCII (which would make the encoding ambiguous).
fn escape_string(s: &str) -> Option<String> {
    if s.bytes().any(|b| b == b'!' || !b.is_ascii()) {
        return None;
    }
    let uppers = s.bytes().filter(u8::is_ascii_uppercase).count();
    let mut out = String::with_capacity(s.len() + uppers);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn unescape_string(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut bang = false;
    for b in escaped.bytes() {
        if !b.is_ascii() {
            return None;
        }
        if bang {
            bang = false;
            if !b.is_ascii_lowercase() {
                return None;
            }
            out.push(char::from(b.to_ascii_uppercase()));
            continue;
        }
        if b == b'!' {
            bang = true;
            continue;
        }
        if b.is_ascii_uppercase() {
            return None;
        }
        out.push(char::from(b));
    }
    if bang {
        return None;
    }
    Some(out)
}

/// The element-wise rules shared by module, import and file paths
/// (x/mod `checkPath`); `Err` carries the reason text.
fn check_path_kind(path: &str, kind: PathKind) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty string".to_string());
    }
    if path.starts_with('-') && kind != PathKind::File {
        return Err("leading dash".to_string());
    }
    if path.contains("//") {
        return Err("double slash".to_string());
    }
    if path.ends_with('/') {
        return Err("trailing slash".to_string());
    }
    for elem in path.split('/') {
        check_elem(elem, kind)?;
    }
    Ok(())
}

/// Windows reserves these names (with any extension) regardless of case.
const BAD_WINDOWS_NAMES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// x/mod `checkElem`.
fn check_elem(elem: &str, kind: PathKind) -> Result<(), String> {
    if elem.is_empty() {
        return Err("empty path element".to_string());
    }
    if elem.bytes().all(|b| b == b'.') {
        return Err(format!("invalid path element {}", go_quote(elem)));
    }
    if elem.starts_with('.') && kind == PathKind::Module {
        return Err("leading dot in path element".to_string());
    }
    if elem.ends_with('.') {
        return Err("trailing dot in path element".to_string());
    }
    let char_ok = match kind {
        PathKind::Module => mod_path_ok,
        PathKind::Import => import_path_ok,
        PathKind::File => file_name_ok,
    };
    if let Some(c) = elem.chars().find(|&c| !char_ok(c)) {
        return Err(format!("invalid char {}", go_quote_rune(c)));
    }

    let short = elem.split('.').next().unwrap_or(elem);
    // The names are ASCII and no non-ASCII letter case-folds onto one of their
    // letters (C O N P R A U X M L T, digits), so ASCII folding equals Go's EqualFold here.
    if BAD_WINDOWS_NAMES
        .iter()
        .any(|bad| bad.eq_ignore_ascii_case(short))
    {
        return Err(format!(
            "{} disallowed as path element component on Windows",
            go_quote(short)
        ));
    }

    // Windows short names (`EXAMPL~1`) only matter for import paths, not files in a zip.
    if kind == PathKind::File {
        return Ok(());
    }
    if let Some(tilde) = short.rfind('~') {
        let suffix = &short[tilde + 1..];
        if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return Err("trailing tilde and digits in path element".to_string());
        }
    }
    Ok(())
}

/// The first element of a module path is a lower-case LDH domain name.
fn first_path_ok(c: char) -> bool {
    c == '-' || c == '.' || c.is_ascii_digit() || c.is_ascii_lowercase()
}

/// Module path characters: ASCII letters, digits and `-._~`.
fn mod_path_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Import paths additionally allow `+` (binary names like `g++`).
fn import_path_ok(c: char) -> bool {
    mod_path_ok(c) || c == '+'
}

/// File names allow more ASCII punctuation (not shell- or OS-special ones) and any Unicode letter.
fn file_name_ok(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c);
    }
    crate::unicode_letter::is_letter(c)
}

/// Quotes a string like Go's `%q` (strconv.Quote) closely enough for error
/// messages: printable characters kept, controls and quotes escaped.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_quoted_char(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Quotes one character like Go's `%q` on a rune.
fn go_quote_rune(c: char) -> String {
    let mut out = String::with_capacity(8);
    out.push('\'');
    push_quoted_char(&mut out, c, '\'');
    out.push('\'');
    out
}

fn push_quoted_char(out: &mut String, c: char, quote: char) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if c.is_control() || is_invisible_format(c) => {
            if (c as u32) <= 0xffff {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c => out.push(c),
    }
}

/// Characters Go's strconv treats as non-printable that Rust does not call control
/// characters: format characters such as zero-width and bidi controls, and separators.
fn is_invisible_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x180E | 0x200B..=0x200F
        | 0x2028..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0x00A0 | 0x1680
        | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000 | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_read_like_x_mod() {
        assert_eq!(
            check_path("x/y").unwrap_err().to_string(),
            r#"malformed module path "x/y": missing dot in first path element"#
        );
        assert_eq!(
            check_path("x.y/z/v1").unwrap_err().to_string(),
            r#"malformed module path "x.y/z/v1": invalid version"#
        );
        assert_eq!(
            check_path("x.y/z?").unwrap_err().to_string(),
            r#"malformed module path "x.y/z?": invalid char '?'"#
        );
        assert_eq!(
            check_path("x.y/com1.txt").unwrap_err().to_string(),
            r#"malformed module path "x.y/com1.txt": "com1" disallowed as path element component on Windows"#
        );
        assert_eq!(
            check("rsc.io/quote", "v2.0.0").unwrap_err().to_string(),
            "rsc.io/quote@v2.0.0: invalid version: should be v0 or v1, not v2"
        );
        assert_eq!(
            check("rsc.io/quote", "1.0.0").unwrap_err().to_string(),
            "rsc.io/quote@1.0.0: invalid version: not a semantic version"
        );
        assert_eq!(
            escape_version("feature/x").unwrap_err().to_string(),
            r#"version "feature/x" invalid: disallowed version string"#
        );
        let e = unescape_path("github.com/!!x").unwrap_err();
        assert_eq!(e.kind(), ModErrorKind::BadEscape);
        assert_eq!(
            e.to_string(),
            r#"invalid escaped module path "github.com/!!x""#
        );
        assert_eq!(
            check_path("x.y/a\nb").unwrap_err().to_string(),
            r#"malformed module path "x.y/a\nb": invalid char '\n'"#
        );
    }

    #[test]
    fn protocol_escaping_examples() {
        // protocol.md §1.2 and §7.1.
        assert_eq!(
            escape_path("github.com/Azure/azure-sdk-for-go").unwrap(),
            "github.com/!azure/azure-sdk-for-go"
        );
        assert_eq!(
            escape_path("github.com/BurntSushi/toml").unwrap(),
            "github.com/!burnt!sushi/toml"
        );
        assert_eq!(
            unescape_path("github.com/!burnt!sushi/toml").unwrap(),
            "github.com/BurntSushi/toml"
        );
        assert_eq!(escape_version("v1.0.0-RC1").unwrap(), "v1.0.0-!r!c1");
        assert_eq!(unescape_version("v1.0.0-!r!c1").unwrap(), "v1.0.0-RC1");
        assert_eq!(escape_version("Main").unwrap(), "!main");
        assert_eq!(
            escape_version("v2.0.0+incompatible").unwrap(),
            "v2.0.0+incompatible"
        );
        assert!(escape_version("feature/x").is_err());
        for bad in [
            "github.com/Azure/x",
            "github.com/!0x",
            "github.com/!_x",
            "github.com/!!x",
            "github.com/x!",
        ] {
            assert!(unescape_path(bad).is_err(), "unescape_path({bad:?})");
        }
        for bad in [
            "v1.0.0-RC1",
            "v1.0.0!",
            "v1.0.0-!0",
            "v1/0",
            "",
            "..",
            "v1.\u{e9}",
        ] {
            assert!(unescape_version(bad).is_err(), "unescape_version({bad:?})");
        }
        // Module paths that differ only in case escape differently (storage keys).
        assert_ne!(
            escape_path("example.com/M").unwrap(),
            escape_path("example.com/m").unwrap()
        );
    }

    #[test]
    fn split_path_version_and_majors() {
        assert_eq!(split_path_version("x.y/z/v2"), Some(("x.y/z", "/v2")));
        assert_eq!(split_path_version("x.y/z"), Some(("x.y/z", "")));
        assert_eq!(split_path_version("x.y/v"), Some(("x.y/v", "")));
        assert_eq!(
            split_path_version("gopkg.in/yaml.v2"),
            Some(("gopkg.in/yaml", ".v2"))
        );
        assert_eq!(
            split_path_version("gopkg.in/yaml.v1-unstable"),
            Some(("gopkg.in/yaml", ".v1-unstable"))
        );
        assert_eq!(
            split_path_version("gopkg.in/yaml.v0"),
            Some(("gopkg.in/yaml", ".v0"))
        );
        for bad in [
            "x.y/z/v1",
            "x.y/z/v0",
            "x.y/z/v1.2",
            "x.y/z/v02",
            "gopkg.in/yaml",
            "gopkg.in/yaml.v02",
        ] {
            assert_eq!(split_path_version(bad), None, "split_path_version({bad:?})");
        }
        assert_eq!(path_major_prefix("/v2"), "v2");
        assert_eq!(path_major_prefix(".v1-unstable"), "v1");
        assert_eq!(path_major_prefix(""), "");
        assert_eq!(path_major_prefix("v2"), "");
        assert_eq!(path_major_prefix("/v2.0"), "");
    }

    #[test]
    fn match_path_major_x_mod_table() {
        for (v, pm, want) in [
            ("v0.0.0", "", true),
            ("v0.0.0", "/v2", false),
            ("v0.0.0", ".v0", true),
            ("v0.0.0-20190510104115-cbcb75029529", ".v1", true),
            ("v1.0.0", "/v2", false),
            ("v1.0.0", ".v1", true),
            ("v1.0.0", ".v1-unstable", true),
            ("v2.0.0+incompatible", "", true),
            ("v2.0.0", "", false),
            ("v2.0.0", "/v2", true),
            ("v2.0.0", ".v2", true),
        ] {
            assert_eq!(
                match_path_major(v, pm),
                want,
                "match_path_major({v:?}, {pm:?})"
            );
            assert_eq!(check_path_major(v, pm).is_ok(), want);
        }
    }

    #[test]
    fn canonical_module_versions() {
        for v in [
            "v1.2.3",
            "v1.2.3-pre",
            "v2.0.0+incompatible",
            "v0.0.0-20190510104115-cbcb75029529",
        ] {
            assert!(is_canonical_version(v), "{v}");
            assert_eq!(canonical_version(v), v);
        }
        for v in [
            "",
            "v1",
            "v1.2",
            "v1.2.3+meta",
            "1.2.3",
            "v01.2.3",
            "v1.2.3.4",
            "latest",
            "v1.0.0\n",
        ] {
            assert!(!is_canonical_version(v), "{v:?}");
        }
        assert_eq!(canonical_version("v2+incompatible"), "");
        assert_eq!(canonical_version("v2.0+incompatible"), "");
        assert_eq!(canonical_version("v2.0.0+meta"), "v2.0.0");
    }
}

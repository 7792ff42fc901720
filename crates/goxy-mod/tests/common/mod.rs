//! Inputs shared by the integration tests: x/mod's own test tables, the bad
//! inputs of security.md §4, and a deterministic generator of interesting strings.
//!
//! The tables are copied from golang.org/x/mod v0.42.0 (module/module_test.go,
//! module/pseudo_test.go, semver/semver_test.go).

#![allow(dead_code)] // each test binary uses a different subset

/// module_test.go `checkTests`: (path, version, ok).
pub const CHECK_TESTS: &[(&str, &str, bool)] = &[
    ("rsc.io/quote", "0.1.0", false),
    ("rsc io/quote", "v1.0.0", false),
    ("github.com/go-yaml/yaml", "v0.8.0", true),
    ("github.com/go-yaml/yaml", "v1.0.0", true),
    ("github.com/go-yaml/yaml", "v2.0.0", false),
    ("github.com/go-yaml/yaml", "v2.1.5", false),
    ("github.com/go-yaml/yaml", "v3.0.0", false),
    ("github.com/go-yaml/yaml/v2", "v1.0.0", false),
    ("github.com/go-yaml/yaml/v2", "v2.0.0", true),
    ("github.com/go-yaml/yaml/v2", "v2.1.5", true),
    ("github.com/go-yaml/yaml/v2", "v3.0.0", false),
    ("gopkg.in/yaml.v0", "v0.8.0", true),
    ("gopkg.in/yaml.v0", "v1.0.0", false),
    ("gopkg.in/yaml.v0", "v2.0.0", false),
    ("gopkg.in/yaml.v0", "v2.1.5", false),
    ("gopkg.in/yaml.v0", "v3.0.0", false),
    ("gopkg.in/yaml.v1", "v0.8.0", false),
    ("gopkg.in/yaml.v1", "v1.0.0", true),
    ("gopkg.in/yaml.v1", "v2.0.0", false),
    ("gopkg.in/yaml.v1", "v2.1.5", false),
    ("gopkg.in/yaml.v1", "v3.0.0", false),
    ("gopkg.in/check.v1", "v0.0.0", false),
    (
        "gopkg.in/check.v1",
        "v0.0.0-20160102150405-abcdef123456",
        true,
    ),
    ("gopkg.in/yaml.v2", "v1.0.0", false),
    ("gopkg.in/yaml.v2", "v2.0.0", true),
    ("gopkg.in/yaml.v2", "v2.1.5", true),
    ("gopkg.in/yaml.v2", "v3.0.0", false),
    ("rsc.io/quote", "v17.0.0", false),
    ("rsc.io/quote", "v17.0.0+incompatible", true),
];

/// module_test.go `checkPathTests`: (path, module ok, import ok, file ok).
/// The one row with invalid UTF-8 (`"x.y/\xFFz"`) cannot be a Rust `&str`; it is omitted.
pub const CHECK_PATH_TESTS: &[(&str, bool, bool, bool)] = &[
    ("x.y/z", true, true, true),
    ("x.y", true, true, true),
    ("", false, false, false),
    ("/x.y/z", false, false, false),
    ("x./z", false, false, false),
    (".x/z", false, true, true),
    ("-x/z", false, false, true),
    ("x..y/z", true, true, true),
    ("x.y/z/../../w", false, false, false),
    ("x.y//z", false, false, false),
    ("x.y/z//w", false, false, false),
    ("x.y/z/", false, false, false),
    ("x.y/z/v0", false, true, true),
    ("x.y/z/v1", false, true, true),
    ("x.y/z/v2", true, true, true),
    ("x.y/z/v2.0", false, true, true),
    ("X.y/z", false, true, true),
    ("!x.y/z", false, false, true),
    ("_x.y/z", false, true, true),
    ("x.y!/z", false, false, true),
    ("x.y\"/z", false, false, false),
    ("x.y#/z", false, false, true),
    ("x.y$/z", false, false, true),
    ("x.y%/z", false, false, true),
    ("x.y&/z", false, false, true),
    ("x.y'/z", false, false, false),
    ("x.y(/z", false, false, true),
    ("x.y)/z", false, false, true),
    ("x.y*/z", false, false, false),
    ("x.y+/z", false, true, true),
    ("x.y,/z", false, false, true),
    ("x.y-/z", true, true, true),
    ("x.y./zt", false, false, false),
    ("x.y:/z", false, false, false),
    ("x.y;/z", false, false, false),
    ("x.y</z", false, false, false),
    ("x.y=/z", false, false, true),
    ("x.y>/z", false, false, false),
    ("x.y?/z", false, false, false),
    ("x.y@/z", false, false, true),
    ("x.y[/z", false, false, true),
    ("x.y\\/z", false, false, false),
    ("x.y]/z", false, false, true),
    ("x.y^/z", false, false, true),
    ("x.y_/z", false, true, true),
    ("x.y`/z", false, false, false),
    ("x.y{/z", false, false, true),
    ("x.y}/z", false, false, true),
    ("x.y~/z", false, true, true),
    ("x.y/z!", false, false, true),
    ("x.y/z\"", false, false, false),
    ("x.y/z#", false, false, true),
    ("x.y/z$", false, false, true),
    ("x.y/z%", false, false, true),
    ("x.y/z&", false, false, true),
    ("x.y/z'", false, false, false),
    ("x.y/z(", false, false, true),
    ("x.y/z)", false, false, true),
    ("x.y/z*", false, false, false),
    ("x.y/z++", false, true, true),
    ("x.y/z,", false, false, true),
    ("x.y/z-", true, true, true),
    ("x.y/z.t", true, true, true),
    ("x.y/z/t", true, true, true),
    ("x.y/z:", false, false, false),
    ("x.y/z;", false, false, false),
    ("x.y/z<", false, false, false),
    ("x.y/z=", false, false, true),
    ("x.y/z>", false, false, false),
    ("x.y/z?", false, false, false),
    ("x.y/z@", false, false, true),
    ("x.y/z[", false, false, true),
    ("x.y/z\\", false, false, false),
    ("x.y/z]", false, false, true),
    ("x.y/z^", false, false, true),
    ("x.y/z_", true, true, true),
    ("x.y/z`", false, false, false),
    ("x.y/z{", false, false, true),
    ("x.y/z}", false, false, true),
    ("x.y/z~", true, true, true),
    ("x.y/x.foo", true, true, true),
    ("x.y/aux.foo", false, false, false),
    ("x.y/prn", false, false, false),
    ("x.y/prn2", true, true, true),
    ("x.y/com", true, true, true),
    ("x.y/com1", false, false, false),
    ("x.y/com1.txt", false, false, false),
    ("x.y/calm1", true, true, true),
    ("x.y/z~", true, true, true),
    ("x.y/z~0", false, false, true),
    ("x.y/z~09", false, false, true),
    ("x.y/z09", true, true, true),
    ("x.y/z09~", true, true, true),
    ("x.y/z09~09z", true, true, true),
    ("x.y/z09~09z~09", false, false, true),
    ("github.com/!123/logrus", false, false, true),
    ("github.com/user/unicode/испытание", false, false, true),
    ("../x", false, false, false),
    ("./y", false, false, false),
    ("x:y", false, false, false),
    ("\\temp\\foo", false, false, false),
    (".gitignore", false, true, true),
    (".github/ISSUE_TEMPLATE", false, true, true),
    ("x☺y", false, false, false),
];

/// module_test.go `splitPathVersionTests`: (prefix, pathMajor).
pub const SPLIT_PATH_VERSION_TESTS: &[(&str, &str)] = &[
    ("x.y/z", ""),
    ("x.y/z", "/v2"),
    ("x.y/z", "/v3"),
    ("x.y/v", ""),
    ("gopkg.in/yaml", ".v0"),
    ("gopkg.in/yaml", ".v1"),
    ("gopkg.in/yaml", ".v2"),
    ("gopkg.in/yaml", ".v3"),
];

/// module_test.go `escapeTests`: (path, escaped).
pub const ESCAPE_TESTS: &[(&str, &str)] = &[
    (
        "ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789",
        "ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789",
    ),
    (
        "github.com/GoogleCloudPlatform/omega",
        "github.com/!google!cloud!platform/omega",
    ),
];

/// module_test.go `badUnescape`.
pub const BAD_UNESCAPE: &[&str] = &[
    "github.com/GoogleCloudPlatform/omega",
    "github.com/!google!cloud!platform!/omega",
    "github.com/!0google!cloud!platform/omega",
    "github.com/!_google!cloud!platform/omega",
    "github.com/!!google!cloud!platform/omega",
    "",
];

/// module_test.go `TestMatchPathMajor`: (version, pathMajor, want).
pub const MATCH_PATH_MAJOR_TESTS: &[(&str, &str, bool)] = &[
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
];

/// module_test.go `TestMatchPrefixPatterns`: (globs, target, want).
pub const MATCH_PREFIX_PATTERNS_TESTS: &[(&str, &str, bool)] = &[
    ("", "rsc.io/quote", false),
    ("/", "rsc.io/quote", false),
    ("*/quote", "rsc.io/quote", true),
    ("*/quo", "rsc.io/quote", false),
    ("*/quo??", "rsc.io/quote", true),
    ("*/quo*", "rsc.io/quote", true),
    ("*quo*", "rsc.io/quote", false),
    ("rsc.io", "rsc.io/quote", true),
    ("*.io", "rsc.io/quote", true),
    ("rsc.io/", "rsc.io/quote", true),
    ("rsc", "rsc.io/quote", false),
    ("rsc*", "rsc.io/quote", true),
    ("rsc.io", "rsc.io/quote/v3", true),
    ("*/quote", "rsc.io/quote/v3", true),
    ("*/quote/", "rsc.io/quote/v3", true),
    ("*/quote/*", "rsc.io/quote/v3", true),
    ("*/quote/*/", "rsc.io/quote/v3", true),
    ("*/v3", "rsc.io/quote/v3", false),
    ("*/*/v3", "rsc.io/quote/v3", true),
    ("*/*/*", "rsc.io/quote/v3", true),
    ("*/*/*/", "rsc.io/quote/v3", true),
    ("*/*/*", "rsc.io/quote", false),
    ("*/*/*/", "rsc.io/quote", false),
    ("*/*/*,,", "rsc.io/quote", false),
    ("*/*/*,,*/quote", "rsc.io/quote", true),
    (",,*/quote", "rsc.io/quote", true),
];

/// semver_test.go `tests`: (input, canonical or "" if invalid), in ascending order.
pub const SEMVER_TESTS: &[(&str, &str)] = &[
    ("bad", ""),
    ("v1-alpha.beta.gamma", ""),
    ("v1-pre", ""),
    ("v1+meta", ""),
    ("v1-pre+meta", ""),
    ("v1.2-pre", ""),
    ("v1.2+meta", ""),
    ("v1.2-pre+meta", ""),
    ("v1.0.0-alpha", "v1.0.0-alpha"),
    ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
    ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
    ("v1.0.0-beta", "v1.0.0-beta"),
    ("v1.0.0-beta.2", "v1.0.0-beta.2"),
    ("v1.0.0-beta.11", "v1.0.0-beta.11"),
    ("v1.0.0-rc.1", "v1.0.0-rc.1"),
    ("v1", "v1.0.0"),
    ("v1.0", "v1.0.0"),
    ("v1.0.0", "v1.0.0"),
    ("v1.2", "v1.2.0"),
    ("v1.2.0", "v1.2.0"),
    ("v1.2.3-456", "v1.2.3-456"),
    ("v1.2.3-456.789", "v1.2.3-456.789"),
    ("v1.2.3-456-789", "v1.2.3-456-789"),
    ("v1.2.3-456a", "v1.2.3-456a"),
    ("v1.2.3-pre", "v1.2.3-pre"),
    ("v1.2.3-pre+meta", "v1.2.3-pre"),
    ("v1.2.3-pre.1", "v1.2.3-pre.1"),
    ("v1.2.3-zzz", "v1.2.3-zzz"),
    ("v1.2.3", "v1.2.3"),
    ("v1.2.3+meta", "v1.2.3"),
    ("v1.2.3+meta-pre", "v1.2.3"),
    ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
];

/// semver_test.go benchmark inputs (differ only in build metadata).
pub const SEMVER_EXTRA: &[&str] = &["v1.0.0+metadata-dash", "v1.0.0+metadata-dash1"];

/// pseudo_test.go `pseudoTests`: (major, older, version); time 2006-01-02T15:04:05Z, rev "hash".
pub const PSEUDO_TESTS: &[(&str, &str, &str)] = &[
    ("", "", "v0.0.0-20060102150405-hash"),
    ("v0", "", "v0.0.0-20060102150405-hash"),
    ("v1", "", "v1.0.0-20060102150405-hash"),
    ("v2", "", "v2.0.0-20060102150405-hash"),
    ("unused", "v0.0.0", "v0.0.1-0.20060102150405-hash"),
    ("unused", "v1.2.3", "v1.2.4-0.20060102150405-hash"),
    (
        "unused",
        "v1.2.99999999999999999",
        "v1.2.100000000000000000-0.20060102150405-hash",
    ),
    ("unused", "v1.2.3-pre", "v1.2.3-pre.0.20060102150405-hash"),
    ("unused", "v1.3.0-pre", "v1.3.0-pre.0.20060102150405-hash"),
    ("unused", "v0.0.0--", "v0.0.0--.0.20060102150405-hash"),
    (
        "unused",
        "v1.0.0+metadata",
        "v1.0.1-0.20060102150405-hash+metadata",
    ),
    (
        "unused",
        "v2.0.0+incompatible",
        "v2.0.1-0.20060102150405-hash+incompatible",
    ),
    (
        "unused",
        "v2.3.0-pre+incompatible",
        "v2.3.0-pre.0.20060102150405-hash+incompatible",
    ),
];

/// Unix time of pseudo_test.go's `pseudoTime`, 2006-01-02T15:04:05Z.
pub const PSEUDO_TIME_UNIX: i64 = 1_136_214_245;

/// pseudo_test.go TestInvalidPseudoVersionBase / TestInvalidPseudoVersionTime inputs.
pub const INVALID_PSEUDO: &[&str] = &[
    "---",
    "v0.0.0",
    "v0.0.0-",
    "v0.0.0-0.20060102150405-hash",
    "v0.1.0-0.20060102150405-hash",
    "v1.0.0-0.20060102150405-hash",
    "v0.0.0-20060102150405-hash+incompatible",
    "v0.0.0-20060102150405-hash+metadata",
];

/// security.md §4 bad module paths (must fail CheckPath).
pub const SECURITY_BAD_PATHS: &[&str] = &[
    "",
    "-x/z",
    "x./z",
    ".x/z",
    "x.y//z",
    "x.y/z/",
    "X.y/z",
    "x/z",
    "x.y/z/v0",
    "x.y/z/v1",
    "x.y/z/v2.0",
    "x.y/aux.foo",
    "x.y/com1.txt",
    "x.y/z~09",
    "испытание",
    "x.y/z?",
    "x.y/z*",
    "x.y/z:",
    "x.y/z\\",
    "x.y/z<",
    // Path traversal and encodings (the server decodes percent-escapes before these checks).
    "x.y/../../etc",
    "x.y/%2e%2e%2f",
    "x.y/..%2f",
    "x.y/%2F%2F%2F..",
    "x.y/%252e",
    "x.y/a\\b",
    "x.y/a\0b",
    "x.y/%00",
    "x.y/%c0%ae",
    "x.y/./z",
    "x.y/z/.",
];

/// security.md §4 case-encoding errors (must fail UnescapePath).
pub const SECURITY_BAD_ESCAPES: &[&str] = &[
    "github.com/Azure/x",
    "github.com/!0x",
    "github.com/!_x",
    "github.com/!!x",
    "github.com/x!",
    "github.com/!",
    "!github.com/x",
    "github.com/!\u{e9}x",
];

/// security.md §4 invalid and non-canonical versions (must not be canonical).
pub const SECURITY_BAD_VERSIONS: &[&str] = &[
    "latest",
    "upgrade",
    "patch",
    "1.2.3",
    "v1.2.3.4",
    "v01.2.3",
    "-x",
    "/x",
    "--output=/tmp/p",
    "v1.0.0\n",
    "v1.0.0%0d%0a",
    "v1.0.0\r\n",
    "v1",
    "v1.2",
    "v1.2.3+meta",
    "v1.0.0-!r!c1",
    "v1.0.0!",
    "v1.0.0-01",
    "v1.0.0-",
    "v1.0.0+",
    "v1.0.0-a..b",
];

/// A small deterministic PRNG (SplitMix64), so failures reproduce exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Characters that matter to the rules under test, repeated to bias the draw.
const BIASED_CHARS: &[char] = &[
    'a',
    'b',
    'c',
    'v',
    'x',
    'y',
    'z',
    'a',
    'v',
    'v',
    'A',
    'B',
    'Z',
    'V',
    '0',
    '1',
    '2',
    '9',
    '0',
    '1',
    '.',
    '.',
    '.',
    '/',
    '/',
    '/',
    '-',
    '-',
    '_',
    '~',
    '!',
    '!',
    '+',
    '@',
    '%',
    ' ',
    '*',
    '?',
    '[',
    ']',
    '^',
    '\\',
    ',',
    ':',
    '<',
    '>',
    '"',
    '\'',
    '`',
    '|',
    '#',
    '$',
    '&',
    '(',
    ')',
    '=',
    '{',
    '}',
    ';',
    '\t',
    '\n',
    '\0',
    '\u{7f}',
    'é',
    'É',
    'ζ',
    'К',
    'и',
    '☺',
    '\u{212a}',
    '\u{17f}',
    '\u{301}',
    '\u{200b}',
    '\u{fffd}',
    '\u{10000}',
    '\u{1f600}',
    'ǅ',
    'ª',
    'Ⅻ',
    '٣',
];

/// Path elements and fragments that sit on rule boundaries.
const PATH_FRAGMENTS: &[&str] = &[
    "github.com",
    "golang.org",
    "x.y",
    "rsc.io",
    "gopkg.in",
    "example.com",
    "x",
    "z",
    "yaml",
    "quote",
    "v0",
    "v1",
    "v2",
    "v3",
    "v10",
    "v02",
    "v2.0",
    "v1.2",
    "yaml.v2",
    "yaml.v0",
    "yaml.v1-unstable",
    "yaml.v02",
    "check.v1",
    "com1",
    "CON",
    "aux.foo",
    "prn",
    "lpt9.txt",
    "calm1",
    "z~09",
    "z~",
    "x~1y",
    "EXAMPL~1",
    "Azure",
    "!azure",
    "!burnt!sushi",
    "BurntSushi",
    "!",
    "!!",
    "-x",
    ".x",
    "x.",
    "..",
    ".",
    "",
    "испытание",
    "a b",
    "++",
    "v",
    "-",
    "~",
    "_",
    "foo-bar",
    "go.mod",
    "vendor",
    "Foo.Bar",
];

/// Version pieces: numbers (with leading zeros and big ones) and identifiers.
const VERSION_NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "9",
    "10",
    "01",
    "00",
    "123",
    "99999999999999999999",
    "",
];
const PRERELEASE_IDENTS: &[&str] = &[
    "0",
    "1",
    "01",
    "rc1",
    "RC1",
    "alpha",
    "beta",
    "pre",
    "x-y",
    "-",
    "",
    "20060102150405",
    "0a",
    "abcdef123456",
    "hash",
    "!r!c1",
    "é",
];
const BUILD_IDENTS: &[&str] = &["incompatible", "meta", "sha", "256a", "-", "", "01", "x_y"];

const TIMESTAMPS: &[&str] = &[
    "20060102150405",
    "00010101000000",
    "20201331000000",
    "20200229235959",
    "20190229000000",
    "99991231235959",
    "2006010215040",
    "200601021504055",
    "20060102240000",
    "20060132000000",
];
const REVS: &[&str] = &[
    "abcdef123456",
    "hash",
    "000000000000",
    "9d863d525bbf",
    "ABCDEF",
    "",
    "ab_cd",
    "a-b",
];

/// A random string over the biased alphabet.
pub fn random_chars(rng: &mut Rng, max_len: usize) -> String {
    let len = rng.below(max_len + 1);
    (0..len).map(|_| rng.pick(BIASED_CHARS)).collect()
}

/// A module-path-like string: fragments (sometimes random or mutated) joined by '/'.
pub fn random_path(rng: &mut Rng) -> String {
    let n = 1 + rng.below(5);
    let mut elems: Vec<String> = Vec::with_capacity(n);
    for _ in 0..n {
        let e = if rng.chance(20) {
            random_chars(rng, 6)
        } else {
            rng.pick(PATH_FRAGMENTS).to_string()
        };
        elems.push(e);
    }
    let mut s = elems.join("/");
    if rng.chance(15) {
        s = mutate(rng, &s);
    }
    s
}

/// A version-like string: vN[.N[.N]][-pre][+build], pseudo-version shapes, with mutations.
pub fn random_version(rng: &mut Rng) -> String {
    let mut s = String::new();
    if !rng.chance(5) {
        s.push('v');
    }
    s.push_str(rng.pick(VERSION_NUMBERS));
    let parts = rng.below(4);
    for _ in 0..parts.min(2) {
        s.push('.');
        s.push_str(rng.pick(VERSION_NUMBERS));
    }
    if rng.chance(40) {
        // Pseudo-version-shaped prerelease.
        s.push('-');
        match rng.below(3) {
            0 => {}
            1 => s.push_str("0."),
            _ => {
                s.push_str(rng.pick(PRERELEASE_IDENTS));
                s.push_str(".0.");
            }
        }
        s.push_str(rng.pick(TIMESTAMPS));
        s.push('-');
        s.push_str(rng.pick(REVS));
    } else if rng.chance(50) {
        s.push('-');
        let n = 1 + rng.below(3);
        let idents: Vec<&str> = (0..n).map(|_| rng.pick(PRERELEASE_IDENTS)).collect();
        s.push_str(&idents.join("."));
    }
    if rng.chance(30) {
        s.push('+');
        let n = 1 + rng.below(2);
        let idents: Vec<&str> = (0..n).map(|_| rng.pick(BUILD_IDENTS)).collect();
        s.push_str(&idents.join("."));
    }
    if rng.chance(15) {
        s = mutate(rng, &s);
    }
    s
}

/// A GOPRIVATE-style glob list.
pub fn random_globs(rng: &mut Rng) -> String {
    const GLOB_PIECES: &[&str] = &[
        "*",
        "*",
        "?",
        "[a-z]",
        "[^a]",
        "[a-]",
        "[]",
        "[",
        "]",
        "\\",
        "\\*",
        "[\\]]",
        "[^]",
        "-",
        "/",
        "/",
        ",",
        ",",
        "rsc.io",
        "github.com",
        "quote",
        "x.y",
        "*.io",
        "v2",
        ".",
        "☺",
        "[☺-☻]",
        "é",
        "a",
        "b",
    ];
    let n = rng.below(7);
    let mut s: String = (0..n).map(|_| rng.pick(GLOB_PIECES)).collect();
    if rng.chance(10) {
        s = mutate(rng, &s);
    }
    s
}

/// Inserts, deletes, replaces or case-flips a character.
pub fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let pos = rng.below(chars.len() + 1);
    match rng.below(4) {
        0 => chars.insert(pos, rng.pick(BIASED_CHARS)),
        1 if pos < chars.len() => {
            chars.remove(pos);
        }
        2 if pos < chars.len() => chars[pos] = rng.pick(BIASED_CHARS),
        _ => {
            if let Some(c) = chars.get_mut(pos) {
                *c = if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
            }
        }
    }
    chars.into_iter().collect()
}

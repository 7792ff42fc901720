//! `/lookup/M@V` responses: parsing, and extracting the two `h1:` hashes of
//! a module version from an (already authenticated) record text.
//!
//! The record must speak only about the module version asked for, and must
//! hold both hashes: an empty record (no line for the module) or a record of
//! unrelated lines is refused, never read as "nothing to check".

use crate::tlog;
use crate::Error;

/// A parsed lookup response: `<id>\n<record text>\n<signed tree note>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupResponse {
    /// Record id (leaf index in the log).
    pub id: u64,
    /// Record text: the go.sum lines, each ending in a newline.
    pub text: Vec<u8>,
    /// The signed tree note for a tree containing the record.
    pub note: Vec<u8>,
}

/// Splits a lookup response body (x/mod `tlog.ParseRecord`).
pub fn parse_lookup_response(body: &[u8]) -> Result<LookupResponse, Error> {
    let record = tlog::parse_record(body)?;
    Ok(LookupResponse {
        id: record.id,
        text: record.text.to_vec(),
        note: record.rest.to_vec(),
    })
}

/// The checksum database's hashes for one module version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleHashes {
    /// Module path.
    pub module: String,
    /// Version.
    pub version: String,
    /// `h1:` hash of the module zip.
    pub zip: String,
    /// `h1:` hash of the go.mod file.
    pub go_mod: String,
}

impl ModuleHashes {
    /// Checks a locally computed zip hash against the database.
    pub fn check_zip(&self, computed: &str) -> Result<(), Error> {
        self.check("zip", computed, &self.zip)
    }

    /// Checks a locally computed go.mod hash against the database.
    pub fn check_go_mod(&self, computed: &str) -> Result<(), Error> {
        self.check("go.mod", computed, &self.go_mod)
    }

    fn check(&self, what: &'static str, computed: &str, database: &str) -> Result<(), Error> {
        if computed == database {
            return Ok(());
        }
        Err(Error::HashMismatch {
            module: self.module.clone(),
            version: self.version.clone(),
            what,
            computed: computed.to_string(),
            database: database.to_string(),
        })
    }
}

/// Is `h` an `h1:` hash: `h1:` and the base64 of 32 bytes?
fn is_h1(h: &str) -> bool {
    h.strip_prefix("h1:")
        .and_then(crate::b64::decode)
        .is_some_and(|b| b.len() == 32)
}

/// Extracts the zip and go.mod `h1:` hashes of `module@version` from a
/// record text. Every line must be `"<module> <version> <hash>"` or
/// `"<module> <version>/go.mod <hash>"`; hashes of other algorithms are
/// ignored; both `h1:` hashes must be present, once each (repeats must
/// agree).
pub fn record_hashes(module: &str, version: &str, text: &[u8]) -> Result<ModuleHashes, Error> {
    if !tlog::is_valid_record_text(text) {
        return Err(Error::MalformedRecord);
    }
    let text = std::str::from_utf8(text).map_err(|_| Error::MalformedRecord)?;
    let unrelated = |line: &str| Error::UnrelatedLine {
        module: module.to_string(),
        version: version.to_string(),
        line: line.to_string(),
    };
    let zip_prefix = format!("{module} {version} ");
    let mod_prefix = format!("{module} {version}/go.mod ");
    let mut zip: Option<String> = None;
    let mut go_mod: Option<String> = None;
    for line in text.lines() {
        if line.is_empty() {
            // Only the record "\n" has an empty line: it says nothing, so
            // the hashes below are missing.
            continue;
        }
        let (slot, what, hash) = if let Some(hash) = line.strip_prefix(&zip_prefix) {
            (&mut zip, "zip", hash)
        } else if let Some(hash) = line.strip_prefix(&mod_prefix) {
            (&mut go_mod, "go.mod", hash)
        } else {
            return Err(unrelated(line));
        };
        if hash.is_empty() || hash.contains(' ') {
            return Err(unrelated(line));
        }
        if !hash.starts_with("h1:") {
            // Another hash algorithm: not ours to compare.
            continue;
        }
        if !is_h1(hash) {
            return Err(Error::MalformedHash(hash.to_string()));
        }
        match slot {
            Some(first) if first != hash => {
                return Err(Error::ConflictingHashes {
                    module: module.to_string(),
                    version: version.to_string(),
                    what,
                    first: first.clone(),
                    second: hash.to_string(),
                })
            }
            Some(_) => {}
            None => *slot = Some(hash.to_string()),
        }
    }
    let missing = |what| Error::MissingHash {
        module: module.to_string(),
        version: version.to_string(),
        what,
    };
    Ok(ModuleHashes {
        module: module.to_string(),
        version: version.to_string(),
        zip: zip.ok_or_else(|| missing("zip"))?,
        go_mod: go_mod.ok_or_else(|| missing("go.mod"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTE: &str = "rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=\nrsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=\n";

    #[test]
    fn honest_record() {
        let h = record_hashes("rsc.io/quote", "v1.5.2", QUOTE.as_bytes()).unwrap();
        assert_eq!(h.zip, "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=");
        assert_eq!(h.go_mod, "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=");
        h.check_zip("h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=")
            .unwrap();
        let err = h
            .check_go_mod("h1:AAAAhefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=")
            .unwrap_err();
        assert!(err.is_security_event());
        assert!(err.to_string().contains("rsc.io/quote@v1.5.2"), "{err}");
        // Future hash algorithms are tolerated.
        let with_h2 = format!("{QUOTE}rsc.io/quote v1.5.2 h2:whatever\n");
        assert_eq!(
            record_hashes("rsc.io/quote", "v1.5.2", with_h2.as_bytes()).unwrap(),
            h
        );
    }

    /// CVE classes: empty record, unrelated lines, contradictions.
    #[test]
    fn hostile_records() {
        type Expect = fn(&Error) -> bool;
        let cases: Vec<(String, Expect)> = vec![
            ("\n".to_string(), |e| {
                matches!(e, Error::MissingHash { what: "zip", .. })
            }),
            ("rsc.io/quote v1.5.2 h2:x\n".to_string(), |e| {
                matches!(e, Error::MissingHash { what: "zip", .. })
            }),
            (QUOTE.lines().next().unwrap().to_string() + "\n", |e| {
                matches!(e, Error::MissingHash { what: "go.mod", .. })
            }),
            (QUOTE.replace("rsc.io/quote", "rsc.io/other"), |e| {
                matches!(e, Error::UnrelatedLine { .. })
            }),
            (QUOTE.replace("v1.5.2", "v1.5.3"), |e| {
                matches!(e, Error::UnrelatedLine { .. })
            }),
            (
                format!(
                    "{QUOTE}rsc.io/other v1.0.0 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=\n"
                ),
                |e| matches!(e, Error::UnrelatedLine { .. }),
            ),
            (
                format!(
                    "{QUOTE}rsc.io/quote v1.5.2 h1:AAAAysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=\n"
                ),
                |e| matches!(e, Error::ConflictingHashes { what: "zip", .. }),
            ),
            (QUOTE.replace("h1:w5f", "h1:!!!"), |e| {
                matches!(e, Error::MalformedHash(_))
            }),
            (QUOTE.replace("v1.5.2 h1", "v1.5.2  h1"), |e| {
                matches!(e, Error::UnrelatedLine { .. })
            }),
            (String::new(), |e| matches!(e, Error::MalformedRecord)),
        ];
        for (text, want) in cases {
            let err = record_hashes("rsc.io/quote", "v1.5.2", text.as_bytes()).unwrap_err();
            assert!(want(&err), "{text:?}: {err:?}");
        }
        // A prefix module must not match a longer path.
        let err = record_hashes("rsc.io/quot", "v1.5.2", QUOTE.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::UnrelatedLine { .. }));
    }

    #[test]
    fn parse_response() {
        let body = format!("42\n{QUOTE}\ngo.sum database tree\n");
        let r = parse_lookup_response(body.as_bytes()).unwrap();
        assert_eq!(
            (r.id, r.text.as_slice(), r.note.as_slice()),
            (42, QUOTE.as_bytes(), &b"go.sum database tree\n"[..])
        );
    }
}

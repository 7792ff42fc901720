//! go.mod facts direct fetching needs, from `goxy_zip`'s lax go.mod reader.

use crate::semver;

/// `modfile.ModulePath`: the path in the `module` line, "" if none.
pub fn module_path(gomod: &[u8]) -> String {
    goxy_zip::go_mod_module_path(gomod).unwrap_or_default()
}

/// A closed interval of retracted versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retraction {
    pub low: String,
    pub high: String,
}

/// The `retract` directives of a go.mod.
pub fn retractions(gomod: &[u8]) -> Vec<Retraction> {
    goxy_zip::go_mod_retractions(gomod)
        .into_iter()
        .map(|(low, high)| Retraction { low, high })
        .collect()
}

/// Is `v` inside any retracted interval?
pub fn is_retracted(rs: &[Retraction], v: &str) -> bool {
    rs.iter().any(|r| {
        semver::compare(&r.low, v) != std::cmp::Ordering::Greater
            && semver::compare(v, &r.high) != std::cmp::Ordering::Greater
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_path_and_retractions() {
        assert_eq!(
            module_path(b"// c\nmodule \"example.com/q\" // x\n"),
            "example.com/q"
        );
        assert_eq!(module_path(b"go 1.21\n"), "");
        let gm = b"module m\n\ngo 1.24.1\n\nretract v1.0.0\nretract (\n\t[v1.1.0, v1.2.0] // why\n\tv0.9.0\n)\n";
        let rs = retractions(gm);
        assert_eq!(rs.len(), 3);
        assert!(is_retracted(&rs, "v1.1.5"));
        assert!(is_retracted(&rs, "v0.9.0"));
        assert!(!is_retracted(&rs, "v1.2.1"));
    }
}

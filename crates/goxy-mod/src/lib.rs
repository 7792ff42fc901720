//! Go module semantics: module paths, versions, escaping, Go semver, pseudo-versions, GOPRIVATE-style patterns. Pure: no I/O.

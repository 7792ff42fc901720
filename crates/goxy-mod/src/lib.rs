//! Go module semantics: module paths, versions, escaping, Go semver, pseudo-versions, GOPRIVATE-style patterns. Pure: no I/O.
//!
//! Every function behaves like its counterpart in `golang.org/x/mod` (module,
//! semver, module/pseudo.go, `module.MatchPrefixPatterns`); the differential
//! test `tests/xmod_differential.rs` checks that against x/mod itself. No
//! function panics on any input.

pub mod module;
pub mod pattern;
pub mod pseudo;
pub mod semver;
mod unicode_letter;

pub use module::ModError;
pub use module::ModErrorKind;

/// x/mod's own test tables, shared with the integration tests (one copy).
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
pub(crate) mod xmod_tables;

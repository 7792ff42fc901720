//! Module zips and the h1 hash: validation of untrusted zips, creation by the x/mod rules, go.mod reading. Pure: no I/O.
//!
//! * [`hash1`], [`hash_go_mod`], [`synthesized_go_mod`]: the `h1:` dirhash.
//! * [`check_zip`]: validation of an untrusted module zip, bounded in memory and time.
//! * [`create_zip`]: a module zip from a file list, by x/mod `zip.Create` rules;
//!   [`select_files`], [`PreparedContent`] and [`create_zip_prepared`] do the
//!   same in steps, so content hashed and deflated once is reused across versions.
//! * [`go_mod_module_path`], [`go_mod_go_version`], [`go_mod_retractions`]: lax go.mod reading.

mod check;
mod create;
mod error;
mod fold;
mod fold_table;
mod gomod;
mod h1;
mod modrules;
mod reader;

pub use check::{check_zip, CheckedZip};
pub use create::{
    check_files, create_zip, create_zip_prepared, select_files, CheckedFiles, CreatedZip, FileKind,
    FileMeta, OmitReason, PreparedContent, PreparedFile, SourceFile,
};
pub use error::{ZipError, ZipErrorKind};
pub use fold::str_to_fold;
pub use gomod::{go_mod_go_version, go_mod_module_path, go_mod_retractions};
pub use h1::{hash1, hash_go_mod, synthesized_go_mod};

/// Limit on the zip file and on the total uncompressed size of its files (x/mod `MaxZipFile`).
pub const MAX_ZIP_FILE: u64 = 500 << 20;
/// Limit on the size of go.mod (x/mod `MaxGoMod`).
pub const MAX_GO_MOD: u64 = 16 << 20;
/// Limit on the size of the root LICENSE (x/mod `MaxLICENSE`).
pub const MAX_LICENSE: u64 = 16 << 20;

/// Internals exposed for goxy's own tests (directory-walk simulation); not a stable API.
#[doc(hidden)]
pub mod testing {
    /// x/mod `isVendoredPackage(path, version.Lang(root go.mod's go version))`.
    pub fn is_vendored(path: &str, root_go_mod: Option<&[u8]>) -> bool {
        let go_1_24 = root_go_mod
            .is_some_and(|g| crate::gomod::go_lang_at_least_1_24(&crate::gomod::root_go_lang(g)));
        crate::create::is_vendored_package(path, go_1_24)
    }

    /// `version.Lang("go" + go directive)` of a go.mod as x/mod zip computes it
    /// ("" when `ParseLax` fails or there is no go directive).
    pub fn root_go_lang(go_mod: &[u8]) -> String {
        crate::gomod::root_go_lang(go_mod)
    }
}

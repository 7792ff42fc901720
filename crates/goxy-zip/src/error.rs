//! The error type shared by every goxy-zip operation.

use std::fmt;

/// What class of failure a [`ZipError`] is, so callers can map it to a response
/// without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZipErrorKind {
    /// The module path or version itself is invalid or not canonical.
    InvalidModuleVersion,
    /// The zip container is broken or hostile (bad structure, header mismatch,
    /// size or CRC lie, unsupported method, encryption, overlapping entries).
    Malformed,
    /// The content violates the module zip rules (entry names, prefix,
    /// collisions, misplaced go.mod, names with a newline).
    InvalidContent,
    /// A size limit was exceeded (zip file, total uncompressed, go.mod, LICENSE).
    TooLarge,
}

/// An error from hashing, validating or creating a module zip.
///
/// `Display` names the module@version (when known), the zip entry or file
/// (when known) and what failed, e.g.
/// `example.com/m@v1.0.0: zip entry "x/../y": file path is not clean`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipError {
    kind: ZipErrorKind,
    module_version: String,
    entry: Option<String>,
    message: String,
}

impl ZipError {
    pub(crate) fn new(kind: ZipErrorKind, message: impl Into<String>) -> Self {
        ZipError {
            kind,
            module_version: String::new(),
            entry: None,
            message: message.into(),
        }
    }

    pub(crate) fn with_entry(mut self, entry: impl Into<String>) -> Self {
        self.entry = Some(entry.into());
        self
    }

    pub(crate) fn with_module(mut self, module_path: &str, version: &str) -> Self {
        self.module_version = format!("{module_path}@{version}");
        self
    }

    /// The failure class.
    pub fn kind(&self) -> ZipErrorKind {
        self.kind
    }

    /// True if a size limit was exceeded (as opposed to invalid content).
    pub fn is_too_large(&self) -> bool {
        self.kind == ZipErrorKind::TooLarge
    }

    /// The zip entry name or module file path the error is about, if any.
    pub fn entry(&self) -> Option<&str> {
        self.entry.as_deref()
    }

    /// `module@version`, or empty when the operation had no module context (h1 of a file list).
    pub fn module_version(&self) -> &str {
        &self.module_version
    }

    /// What failed, without the module and entry context.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ZipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module_version.is_empty() {
            write!(f, "{}: ", self.module_version)?;
        }
        if let Some(entry) = &self.entry {
            // {:?} quotes and escapes control characters, so hostile names cannot forge log lines.
            write!(f, "zip entry {entry:?}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ZipError {}

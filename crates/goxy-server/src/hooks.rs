//! Extension points the request path calls, so checksum verification and the
//! checksum-database relay live in their own modules.

use crate::app::ServeError;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use goxy_store::ArtifactKind;
use http::Response;
use http_body_util::Full;

/// Checks a validated artifact against the checksum database before it is
/// committed. Implementations return `Ok(())` for modules they exempt
/// (private patterns, verification off) and an error that names the module,
/// version and both hashes on a mismatch.
pub trait ChecksumVerifier: Send + Sync {
    fn verify<'a>(
        &'a self,
        module: &'a str,
        version: &'a str,
        kind: ArtifactKind,
        h1: &'a str,
    ) -> BoxFuture<'a, Result<(), VerifyFailure>>;
}

/// A module that could not be verified: refused (a mismatch, a record the
/// database lacks, a bad proof) or unverifiable now (no route to the
/// database), which metrics count apart.
#[derive(Debug, Clone)]
pub struct VerifyFailure {
    pub error: ServeError,
    pub unavailable: bool,
}

impl VerifyFailure {
    pub fn rejected(error: ServeError) -> VerifyFailure {
        VerifyFailure {
            error,
            unavailable: false,
        }
    }

    pub fn unavailable(error: ServeError) -> VerifyFailure {
        VerifyFailure {
            error,
            unavailable: true,
        }
    }
}

/// Answers `/sumdb/<rest>` requests (`rest` is percent-decoded once).
pub trait SumdbRelay: Send + Sync {
    fn handle<'a>(&'a self, rest: &'a str) -> BoxFuture<'a, Response<Full<Bytes>>>;

    /// Each database's route and whether it answered last time.
    fn statuses(&self) -> Vec<crate::sumdb::DatabaseStatus>;
}

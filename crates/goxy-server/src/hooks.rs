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
    ) -> BoxFuture<'a, Result<(), ServeError>>;
}

/// Answers `/sumdb/<rest>` requests (`rest` is percent-decoded once).
pub trait SumdbRelay: Send + Sync {
    fn handle<'a>(&'a self, rest: &'a str) -> BoxFuture<'a, Response<Full<Bytes>>>;
}

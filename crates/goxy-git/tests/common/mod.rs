//! The git fixture server and repository builder live in goxy-testkit so
//! goxy's end-to-end tests reuse them.

#![allow(unused_imports)]

pub use goxy_testkit::gitfixture::{differential_fixtures, Case, Import, Repo, Server};

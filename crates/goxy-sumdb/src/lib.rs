//! Checksum database (sumdb) verification for goxy: signed notes,
//! transparency-log tiles and proofs, lookup records. Pure: no I/O.
//!
//! The crate is sans-I/O: functions say which tiles they need, the caller
//! fetches them (from the database, a cache, anywhere) and hands the bytes
//! back for verification. Nothing here blocks, so it is usable from async
//! code as is. Nothing fetched is trusted until it hashes up to a tree head
//! signed by a configured key and consistent with the last trusted head.
//!
//! # Modules
//! - [`note`]: [`Verifier::parse`] (`name+hash+base64key`, Ed25519, key hash
//!   checked), [`note::open`] (x/mod `note.Open` rules), [`Signer`] / [`note::sign`].
//! - [`tlog`]: [`tlog::record_hash`], [`tlog::node_hash`],
//!   [`tlog::stored_hash_index`], [`tlog::split_stored_hash_index`],
//!   [`tlog::tree_hash`], proofs ([`tlog::prove_record`], [`tlog::check_record`],
//!   [`tlog::prove_tree`], [`tlog::check_tree`]), tree notes
//!   ([`tlog::parse_tree`] → [`Tree`], [`tlog::format_tree`]) and records
//!   ([`tlog::parse_record`], [`tlog::format_record`]).
//! - [`tile`]: [`Tile`] with [`Tile::path`] / [`Tile::parse_path`] (hash and
//!   `data` tiles, partial `.p/W`), [`tile::tile_for_index`],
//!   [`tile::hash_from_tile`], [`TileSet`], the authenticating
//!   [`tile::TileHashReader`], and the sans-I/O pairs
//!   [`tile::tiles_for_record_proof`] / [`tile::verify_record_inclusion`],
//!   [`tile::tiles_for_tree_proof`] / [`tile::verify_consistency`],
//!   [`tile::tiles_for_tile`] / [`tile::verify_tile`].
//! - [`lookup`]: [`lookup::parse_lookup_response`] and
//!   [`lookup::record_hashes`], which demands exactly the asked module
//!   version's `h1:` lines (no empty record, no unrelated or contradictory lines).
//! - [`trust`]: [`TrustedLog`], the state of one database: accept a newer
//!   consistent tree, accept an older consistent one without change, refuse
//!   forks (with both heads) and, for `/latest`, rollbacks.
//!
//! # Verifying a lookup
//! ```text
//! let plan = log.plan_lookup(module, version, &body)?;   // signature checked
//! let tiles = fetch_all(&plan.tiles);                     // caller's I/O
//! let verified = log.finish_lookup(plan, &tiles)?;        // tree + inclusion + lines
//! verified.hashes.check_zip(&computed_zip_h1)?;
//! persist(&log.trusted().unwrap().note);
//! ```
//! Tile height is 8 ([`tile::GO_TILE_HEIGHT`]) as in the Go command.
//!
//! # Notes for callers
//! - After a successful `finish_lookup` / `merge` / `verify_record`, every
//!   tile the matching `tiles_for_*` listed has been authenticated; cache
//!   exactly those tiles with the bytes [`TileSet::get`] returns for them
//!   (a full tile standing in for a partial one is authenticated only in
//!   its prefix). Never cache tiles from a failed check.
//! - [`TrustedLog`] is plain data: share it behind a lock. If the trusted
//!   tree advanced between `plan_lookup` and `finish_lookup`, the planned
//!   tiles may not suffice ([`Error::MissingTile`]); plan again.
//! - A client may ask for a tile of a tree newer than the trusted one (it
//!   learned that tree elsewhere): [`tile::verify_tile`] then fails with
//!   [`Error::InvalidTile`] ("outside the tree"); fetch and merge `/latest`
//!   and check again.
//! - [`Error::is_security_event`] separates misbehaviour (forks, rollbacks,
//!   bad signatures, tampered or forged tiles, empty or unrelated records,
//!   hash mismatches) from malformed or missing input.

mod b64;
mod error;
pub mod lookup;
pub mod note;
pub mod tile;
pub mod tlog;
pub mod trust;

pub use error::{Error, ForkEvidence};
pub use lookup::{LookupResponse, ModuleHashes};
pub use note::{Note, Signer, Verifier, Verifiers};
pub use tile::{Tile, TileSet};
pub use tlog::{Hash, Tree};
pub use trust::{LookupPlan, MergeOutcome, SignedTree, TrustedLog, VerifiedLookup};

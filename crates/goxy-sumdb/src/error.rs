//! The one error type of this crate.

use crate::tlog::Tree;

/// Everything that can go wrong while parsing or verifying checksum-database data.
///
/// Variants fall into two groups: malformed input (the bytes cannot be
/// parsed) and misbehaviour (the bytes parse but prove the database, or
/// something between it and us, lied). [`Error::is_security_event`] tells
/// them apart so callers can alert on the second group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- signed notes (x/mod sumdb/note) ---
    /// A verifier key string is not `name+hash8hex+base64key`.
    #[error("malformed verifier id")]
    MalformedVerifierId,
    /// A signer key string is not `PRIVATE+KEY+name+hash8hex+base64key`.
    #[error("malformed signer id")]
    MalformedSignerId,
    /// The key's algorithm byte is not Ed25519 (0x01).
    #[error("unknown verifier algorithm")]
    UnknownVerifierAlgorithm,
    /// The key hash in a key string does not match the key.
    #[error("invalid verifier hash")]
    InvalidVerifierHash,
    /// The signed note does not follow the note format.
    #[error("malformed note")]
    MalformedNote,
    /// More than one configured verifier has this name and key hash.
    #[error("ambiguous key {name}+{key_hash:08x}")]
    AmbiguousVerifier { name: String, key_hash: u32 },
    /// A signature line names a known key but the signature does not verify.
    #[error("invalid signature for key {name}+{key_hash:08x}")]
    InvalidSignature { name: String, key_hash: u32 },
    /// No signature of the note is from a known key.
    #[error("note has no verifiable signatures (signed only by unknown keys: {})", unknown_keys.join(", "))]
    UnverifiedNote { unknown_keys: Vec<String> },
    /// A note text to sign does not end in a newline, or a signer name is invalid.
    #[error("cannot sign note: {0}")]
    CannotSign(&'static str),

    // --- tree notes, records, hashes (x/mod sumdb/tlog) ---
    /// The note text is not a `go.sum database tree` note.
    #[error("malformed tree note")]
    MalformedTree,
    /// A record (lookup response or data tile) is not in the record format.
    #[error("malformed record data")]
    MalformedRecord,
    /// A base64 hash does not decode to 32 bytes.
    #[error("malformed hash {0:?}")]
    MalformedHash(String),
    /// A tile path is not a canonical `tile/H/L/NNN[.p/W]` path.
    #[error("malformed tile path {0:?}")]
    MalformedTilePath(String),
    /// A tile's coordinates are out of range or the tile lies outside the tree.
    #[error("invalid tile {tile}: {reason}")]
    InvalidTile { tile: String, reason: &'static str },
    /// A tile needed for verification was not supplied.
    #[error("missing tile {0}")]
    MissingTile(String),
    /// A tile's body does not have the length its width requires.
    #[error("tile {tile} has {got} bytes, want {want}")]
    TileDataLength {
        tile: String,
        got: usize,
        want: usize,
    },
    /// A tile's hashes do not hash up to the signed tree: tampered or forged tile.
    #[error("downloaded inconsistent tile {tile} for tree #{}", tree.n)]
    InconsistentTile { tile: String, tree: Tree },
    /// A proof does not check out.
    #[error("invalid transparency proof")]
    ProofFailed,
    /// Arguments outside the domain of a function (e.g. record index beyond the tree).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A tree is larger than any this crate will do arithmetic on.
    #[error("tree size {0} too large")]
    TreeTooLarge(u64),
    /// A hash storage was asked for an index it does not hold.
    #[error("hash index {0} not in storage")]
    HashNotStored(u64),

    // --- trust decisions ---
    /// The database presented two trees that cannot both be part of one
    /// append-only log. Proof of misbehaviour: both heads are carried for the
    /// security log.
    #[error("{0}")]
    Fork(Box<ForkEvidence>),
    /// `/latest` answered with a tree older than one already trusted.
    #[error("checksum database rolled back: latest is tree #{} {} but tree #{} {} is already trusted", candidate.n, candidate.hash, trusted.n, trusted.hash)]
    Rollback { trusted: Tree, candidate: Tree },
    /// The record id is not inside the tree the record must be proven in.
    #[error("cannot validate record {id} in tree of size {tree_size}")]
    RecordNotInTree { id: u64, tree_size: u64 },
    /// The record text does not hash to the leaf the signed tree holds for its id.
    #[error("cannot authenticate record data in server response (record {id})")]
    RecordMismatch { id: u64 },

    // --- record contents for one module version ---
    /// The record has a line about some other module or version.
    #[error("record for {module}@{version} has unrelated line {line:?}")]
    UnrelatedLine {
        module: String,
        version: String,
        line: String,
    },
    /// The record lacks the `h1:` line for the zip or the go.mod.
    #[error("record for {module}@{version} has no h1 hash for the {what}")]
    MissingHash {
        module: String,
        version: String,
        what: &'static str,
    },
    /// The record holds two different `h1:` hashes for the same file.
    #[error("record for {module}@{version} has conflicting {what} hashes {first} and {second}")]
    ConflictingHashes {
        module: String,
        version: String,
        what: &'static str,
        first: String,
        second: String,
    },
    /// A locally computed hash disagrees with the checksum database.
    #[error("SECURITY ERROR: {module}@{version}: {what} hash {computed} disagrees with checksum database hash {database}")]
    HashMismatch {
        module: String,
        version: String,
        what: &'static str,
        computed: String,
        database: String,
    },
    /// Context: which lookup failed.
    #[error("{module}@{version}: {source}")]
    Lookup {
        module: String,
        version: String,
        source: Box<Error>,
    },

    /// A bug in index arithmetic (never expected; reported instead of panicking).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl Error {
    /// Is this proof (or strong evidence) that the database, or a proxy in
    /// front of it, served false data? Such errors deserve a security alert;
    /// the others are malformed input, missing data or local bugs.
    pub fn is_security_event(&self) -> bool {
        match self {
            Error::Lookup { source, .. } => source.is_security_event(),
            Error::InvalidSignature { .. }
            | Error::UnverifiedNote { .. }
            | Error::InconsistentTile { .. }
            | Error::TileDataLength { .. }
            | Error::ProofFailed
            | Error::Fork(_)
            | Error::Rollback { .. }
            | Error::RecordNotInTree { .. }
            | Error::RecordMismatch { .. }
            | Error::UnrelatedLine { .. }
            | Error::MissingHash { .. }
            | Error::ConflictingHashes { .. }
            | Error::HashMismatch { .. } => true,
            _ => false,
        }
    }

    /// Is this a detected fork of the log (two inconsistent signed trees)?
    pub fn is_fork(&self) -> bool {
        match self {
            Error::Lookup { source, .. } => source.is_fork(),
            Error::Fork(_) => true,
            _ => false,
        }
    }

    /// The innermost error, without the module@version context.
    pub fn root(&self) -> &Error {
        match self {
            Error::Lookup { source, .. } => source.root(),
            other => other,
        }
    }
}

/// Two signed tree heads that cannot both belong to one append-only log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkEvidence {
    /// The head trusted before.
    pub trusted: Tree,
    /// Its signed note.
    pub trusted_note: String,
    /// The new, inconsistent head.
    pub candidate: Tree,
    /// Its signed note.
    pub candidate_note: String,
}

impl std::fmt::Display for ForkEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SECURITY ERROR: checksum database misbehavior detected: tree #{} {} (trusted) and tree #{} {} (new) \
             are not consistent\ntrusted note:\n{}\nnew note:\n{}",
            self.trusted.n,
            self.trusted.hash,
            self.candidate.n,
            self.candidate.hash,
            self.trusted_note,
            self.candidate_note
        )
    }
}

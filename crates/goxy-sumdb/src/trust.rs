//! The trusted state of one checksum database and the decisions about what
//! it serves (the logic of x/mod `sumdb.Client`, without its I/O).
//!
//! [`TrustedLog`] holds the newest tree head proven so far. Every new signed
//! tree (from `/latest` or embedded in a `/lookup` answer) must be
//! consistent with it: a newer tree is adopted only after the trusted tree
//! is proven a prefix of it; an older or equal one must be a prefix of the
//! trusted tree. Anything else is a fork, reported with both heads.
//!
//! Each step is split in two: `tiles_for_*` lists the tiles to fetch, then
//! the verifying call takes them in a [`TileSet`].

use crate::lookup::{self, ModuleHashes};
use crate::note::{self, Verifiers};
use crate::tile::{self, Tile, TileSet, GO_TILE_HEIGHT};
use crate::tlog::{self, Tree};
use crate::{Error, ForkEvidence};

/// A tree head and the signed note it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTree {
    /// The tree head.
    pub tree: Tree,
    /// The signed note, verbatim (what to persist and to serve as `/latest`).
    pub note: Vec<u8>,
}

/// What merging a new signed tree did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The tree is newer and consistent: it is now the trusted tree.
    Advanced { from: Option<Tree>, to: Tree },
    /// The tree is the trusted tree.
    Same,
    /// The tree is older and a prefix of the trusted tree: nothing changes.
    Older,
}

/// A lookup answer after [`TrustedLog::plan_lookup`]: what it says, and the
/// tiles its verification needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupPlan {
    /// Module path asked for.
    pub module: String,
    /// Version asked for.
    pub version: String,
    /// The parsed answer.
    pub response: lookup::LookupResponse,
    /// The tree head signed in the answer.
    pub signed: SignedTree,
    /// Tiles to fetch before [`TrustedLog::finish_lookup`].
    pub tiles: Vec<Tile>,
}

/// A lookup answer proven to come from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedLookup {
    /// Record id.
    pub id: u64,
    /// The authenticated record text.
    pub text: Vec<u8>,
    /// The module version's hashes.
    pub hashes: ModuleHashes,
    /// What merging the answer's tree did.
    pub merge: MergeOutcome,
}

/// Trusted state for one checksum database.
#[derive(Clone, Debug)]
pub struct TrustedLog {
    verifiers: Verifiers,
    height: u32,
    trusted: Option<SignedTree>,
}

impl TrustedLog {
    /// A log with no trusted tree yet: the first validly signed tree is
    /// adopted as is (trust on first use), as the Go command does with an
    /// empty `latest` file.
    pub fn new(verifiers: Verifiers) -> TrustedLog {
        TrustedLog {
            verifiers,
            height: GO_TILE_HEIGHT,
            trusted: None,
        }
    }

    /// A log that trusts a previously persisted signed tree note (which is
    /// verified again here).
    pub fn with_trusted_note(verifiers: Verifiers, note: &[u8]) -> Result<TrustedLog, Error> {
        let mut log = TrustedLog::new(verifiers);
        log.trusted = Some(log.open_tree_note(note)?);
        Ok(log)
    }

    /// Uses tiles of height `height` instead of the Go command's 8.
    pub fn with_tile_height(mut self, height: u32) -> TrustedLog {
        self.height = height;
        self
    }

    /// Tile height used.
    pub fn tile_height(&self) -> u32 {
        self.height
    }

    /// The trusted tree, if any (persist its note to survive restarts).
    pub fn trusted(&self) -> Option<&SignedTree> {
        self.trusted.as_ref()
    }

    /// Verifies a signed tree note with the configured keys and parses it.
    pub fn open_tree_note(&self, msg: &[u8]) -> Result<SignedTree, Error> {
        let note = note::open(msg, &self.verifiers)?;
        let tree = tlog::parse_tree(note.text.as_bytes())?;
        Ok(SignedTree {
            tree,
            note: msg.to_vec(),
        })
    }

    /// Tiles needed by [`TrustedLog::merge`] for `candidate`.
    pub fn tiles_for_merge(&self, candidate: &Tree) -> Result<Vec<Tile>, Error> {
        match &self.trusted {
            None => Ok(Vec::new()),
            Some(trusted) => tile::tiles_for_tree_proof(&trusted.tree, candidate, self.height),
        }
    }

    /// Merges a newly seen signed tree: adopts it when newer and consistent,
    /// accepts it unchanged when older (or equal) and consistent, and
    /// reports a fork otherwise. `tiles` holds [`TrustedLog::tiles_for_merge`].
    pub fn merge(&mut self, candidate: SignedTree, tiles: &TileSet) -> Result<MergeOutcome, Error> {
        let Some(trusted) = &self.trusted else {
            let to = candidate.tree;
            self.trusted = Some(candidate);
            return Ok(MergeOutcome::Advanced { from: None, to });
        };
        match tile::verify_consistency(&trusted.tree, &candidate.tree, self.height, tiles) {
            Ok(()) => {}
            Err(Error::Fork(_)) => {
                return Err(Error::Fork(Box::new(ForkEvidence {
                    trusted: trusted.tree,
                    trusted_note: String::from_utf8_lossy(&trusted.note).into_owned(),
                    candidate: candidate.tree,
                    candidate_note: String::from_utf8_lossy(&candidate.note).into_owned(),
                })))
            }
            Err(other) => return Err(other),
        }
        let (from, to) = (trusted.tree, candidate.tree);
        if to.n > from.n {
            self.trusted = Some(candidate);
            Ok(MergeOutcome::Advanced {
                from: Some(from),
                to,
            })
        } else if to.n == from.n {
            Ok(MergeOutcome::Same)
        } else {
            Ok(MergeOutcome::Older)
        }
    }

    /// Like [`TrustedLog::merge`] for an answer to `/latest`, where an older
    /// tree than the trusted one is a rollback and refused (it must not be
    /// relayed as the latest).
    pub fn merge_latest(
        &mut self,
        candidate: SignedTree,
        tiles: &TileSet,
    ) -> Result<MergeOutcome, Error> {
        let candidate_tree = candidate.tree;
        let outcome = self.merge(candidate, tiles)?;
        match (outcome, &self.trusted) {
            (MergeOutcome::Older, Some(trusted)) => Err(Error::Rollback {
                trusted: trusted.tree,
                candidate: candidate_tree,
            }),
            _ => Ok(outcome),
        }
    }

    /// Tiles needed by [`TrustedLog::verify_record`] for record `id`.
    pub fn tiles_for_record(&self, id: u64) -> Result<Vec<Tile>, Error> {
        let tree = self.trusted_tree()?;
        tile::tiles_for_record_proof(&tree, self.height, id)
    }

    /// Checks that record `id` with `text` is in the trusted tree.
    pub fn verify_record(&self, id: u64, text: &[u8], tiles: &TileSet) -> Result<(), Error> {
        let tree = self.trusted_tree()?;
        tile::verify_record_inclusion(&tree, self.height, id, text, tiles)
    }

    /// Tiles needed to check a tile body before relaying it (see [`tile::verify_tile`]).
    pub fn tiles_for_tile(&self, t: &Tile) -> Result<Vec<Tile>, Error> {
        tile::tiles_for_tile(&self.trusted_tree()?, t)
    }

    /// Checks a tile body against the trusted tree before relaying or caching it.
    pub fn verify_tile(&self, t: &Tile, data: &[u8], tiles: &TileSet) -> Result<(), Error> {
        tile::verify_tile(&self.trusted_tree()?, t, data, tiles)
    }

    fn trusted_tree(&self) -> Result<Tree, Error> {
        self.trusted
            .as_ref()
            .map(|t| t.tree)
            .ok_or_else(|| Error::InvalidInput("no trusted tree yet".to_string()))
    }

    /// First half of verifying a `/lookup/M@V` answer: parses it, checks
    /// the note's signature, and lists the tiles needed to check the tree
    /// against the trusted one and the record's inclusion.
    pub fn plan_lookup(
        &self,
        module: &str,
        version: &str,
        body: &[u8],
    ) -> Result<LookupPlan, Error> {
        let wrap = |e: Error| Error::Lookup {
            module: module.into(),
            version: version.into(),
            source: Box::new(e),
        };
        let response = lookup::parse_lookup_response(body).map_err(wrap)?;
        let signed = self.open_tree_note(&response.note).map_err(wrap)?;
        // After the merge the trusted tree is the larger of the two; the
        // record is proven in it.
        let proof_tree = match &self.trusted {
            Some(t) if t.tree.n > signed.tree.n => t.tree,
            _ => signed.tree,
        };
        if response.id >= signed.tree.n {
            return Err(wrap(Error::RecordNotInTree {
                id: response.id,
                tree_size: signed.tree.n,
            }));
        }
        let mut tiles = self.tiles_for_merge(&signed.tree).map_err(wrap)?;
        for t in
            tile::tiles_for_record_proof(&proof_tree, self.height, response.id).map_err(wrap)?
        {
            if !tiles.contains(&t) {
                tiles.push(t);
            }
        }
        Ok(LookupPlan {
            module: module.into(),
            version: version.into(),
            response,
            signed,
            tiles,
        })
    }

    /// Second half: merges the answer's tree, proves the record is in the
    /// trusted tree, and extracts the module version's hashes. Errors carry
    /// module@version; [`Error::is_security_event`] tells misbehaviour apart.
    pub fn finish_lookup(
        &mut self,
        plan: LookupPlan,
        tiles: &TileSet,
    ) -> Result<VerifiedLookup, Error> {
        let LookupPlan {
            module,
            version,
            response,
            signed,
            ..
        } = plan;
        let wrap = |e: Error| Error::Lookup {
            module: module.clone(),
            version: version.clone(),
            source: Box::new(e),
        };
        let merge = self.merge(signed, tiles).map_err(wrap)?;
        self.verify_record(response.id, &response.text, tiles)
            .map_err(wrap)?;
        let hashes = lookup::record_hashes(&module, &version, &response.text).map_err(wrap)?;
        Ok(VerifiedLookup {
            id: response.id,
            text: response.text,
            hashes,
            merge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Signer, Verifier};
    use crate::tlog::{record_hash, stored_hashes, tree_hash, Hash};

    /// A tiny in-memory log signing its trees.
    struct Log {
        hashes: Vec<Hash>,
        records: Vec<Vec<u8>>,
        signer: Signer,
    }

    impl Log {
        fn new(signer: Signer) -> Log {
            Log {
                hashes: Vec::new(),
                records: Vec::new(),
                signer,
            }
        }
        fn add(&mut self, text: &str) -> u64 {
            let id = self.records.len() as u64;
            self.hashes
                .extend(stored_hashes(id, text.as_bytes(), &self.hashes).unwrap());
            self.records.push(text.as_bytes().to_vec());
            id
        }
        fn signed(&self, n: u64) -> SignedTree {
            let tree = Tree {
                n,
                hash: tree_hash(n, &self.hashes).unwrap(),
            };
            let note = note::sign(&tlog::format_tree(&tree), &[&self.signer]).unwrap();
            SignedTree { tree, note }
        }
        fn fetch(&self, tiles: &[Tile]) -> TileSet {
            let mut set = TileSet::new();
            for t in tiles {
                set.insert(*t, tile::read_tile_data(t, &self.hashes).unwrap());
            }
            set
        }
        fn lookup_body(&self, id: u64, n: u64) -> Vec<u8> {
            let mut body = tlog::format_record(id, &self.records[id as usize]).unwrap();
            body.extend(self.signed(n).note);
            body
        }
    }

    fn signer() -> Signer {
        Signer::parse("PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk").unwrap()
    }

    fn verifiers() -> Verifiers {
        Verifiers::from(Verifier::parse(&signer().verifier_key()).unwrap())
    }

    fn h1(seed: u64) -> String {
        format!("h1:{}", record_hash(&seed.to_be_bytes()))
    }

    fn fill(log: &mut Log, count: u64) {
        for i in 0..count {
            log.add(&format!(
                "example.com/m{i} v1.0.0 {}\nexample.com/m{i} v1.0.0/go.mod {}\n",
                h1(i),
                h1(i + 1000)
            ));
        }
    }

    #[test]
    fn lookup_grow_older_fork_rollback() {
        let mut log = Log::new(signer());
        fill(&mut log, 300);
        let mut trust = TrustedLog::new(verifiers());

        // First lookup at tree 100: adopted.
        let body = log.lookup_body(7, 100);
        let plan = trust
            .plan_lookup("example.com/m7", "v1.0.0", &body)
            .unwrap();
        let tiles = log.fetch(&plan.tiles);
        let got = trust.finish_lookup(plan, &tiles).unwrap();
        assert_eq!(got.hashes.zip, h1(7));
        assert_eq!(
            got.merge,
            MergeOutcome::Advanced {
                from: None,
                to: log.signed(100).tree
            }
        );

        // Lookup at a larger tree: consistency proven, adopted.
        let body = log.lookup_body(250, 300);
        let plan = trust
            .plan_lookup("example.com/m250", "v1.0.0", &body)
            .unwrap();
        let tiles = log.fetch(&plan.tiles);
        let got = trust.finish_lookup(plan, &tiles).unwrap();
        assert!(matches!(got.merge, MergeOutcome::Advanced { .. }));
        assert_eq!(trust.trusted().unwrap().tree.n, 300);

        // Lookup whose note is older: accepted, record proven in the trusted tree.
        let body = log.lookup_body(3, 50);
        let plan = trust
            .plan_lookup("example.com/m3", "v1.0.0", &body)
            .unwrap();
        let tiles = log.fetch(&plan.tiles);
        assert_eq!(
            trust.finish_lookup(plan, &tiles).unwrap().merge,
            MergeOutcome::Older
        );

        // /latest with an older tree is a rollback.
        let old = log.signed(120);
        let tiles = log.fetch(&trust.tiles_for_merge(&old.tree).unwrap());
        let err = trust.merge_latest(old, &tiles).unwrap_err();
        assert!(
            matches!(err, Error::Rollback { .. }) && err.is_security_event(),
            "{err}"
        );

        // A forked log (record 5 differs) signed by the same key.
        let mut fork = Log::new(signer());
        fill(&mut fork, 5);
        fork.add("example.com/evil v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
        fill(&mut fork, 300);
        for n in [200, 300, 305] {
            let candidate = fork.signed(n);
            // Tiles come from the larger tree: the honest one we trust, or the fork.
            let source = if n < 300 { &log } else { &fork };
            let tiles = source.fetch(&trust.tiles_for_merge(&candidate.tree).unwrap());
            let err = trust.merge(candidate, &tiles).unwrap_err();
            assert!(err.is_fork(), "tree {n}: {err}");
            let msg = err.to_string();
            assert!(
                msg.contains("#300") && msg.contains(&format!("#{n}")),
                "{msg}"
            );
        }
        assert_eq!(
            trust.trusted().unwrap().tree.n,
            300,
            "fork must not change the trusted tree"
        );

        // Record text altered after signing: record mismatch.
        let mut body = log.lookup_body(9, 300);
        let pos = body.iter().position(|&b| b == b'h').unwrap();
        body[pos + 3] ^= 1;
        let plan = trust
            .plan_lookup("example.com/m9", "v1.0.0", &body)
            .unwrap();
        let tiles = log.fetch(&plan.tiles);
        let err = trust.finish_lookup(plan, &tiles).unwrap_err();
        assert!(
            matches!(err.root(), Error::RecordMismatch { id: 9 }),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("example.com/m9@v1.0.0: "),
            "{err}"
        );

        // Asking for one module and getting another's (authentic) record.
        let body = log.lookup_body(10, 300);
        let plan = trust
            .plan_lookup("example.com/m11", "v1.0.0", &body)
            .unwrap();
        let tiles = log.fetch(&plan.tiles);
        let err = trust.finish_lookup(plan, &tiles).unwrap_err();
        assert!(matches!(err.root(), Error::UnrelatedLine { .. }), "{err}");

        // Id beyond the signed tree.
        let mut body = tlog::format_record(299, &log.records[10]).unwrap();
        body.extend(log.signed(200).note);
        let err = trust
            .plan_lookup("example.com/m10", "v1.0.0", &body)
            .unwrap_err();
        assert!(matches!(err.root(), Error::RecordNotInTree { .. }), "{err}");

        // Persisted state round-trips.
        let saved = trust.trusted().unwrap().note.clone();
        let restored = TrustedLog::with_trusted_note(verifiers(), &saved).unwrap();
        assert_eq!(
            restored.trusted().unwrap().tree,
            trust.trusted().unwrap().tree
        );
    }

    /// Port of x/mod client_test.go TestRejectUnauthenticatedLines: a go.sum
    /// line smuggled into the signed note's text (after the tree) is not
    /// part of any record and must never be taken as the module's hash.
    #[test]
    fn reject_unauthenticated_lines() {
        let mut log = Log::new(signer());
        fill(&mut log, 3);
        let id =
            log.add("golang.org/x/good v1.0.0 h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4=\n");
        let tree = Tree {
            n: id + 1,
            hash: tree_hash(id + 1, &log.hashes).unwrap(),
        };
        let text = format!(
            "{}golang.org/x/bad v1.0.0 h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4=\n",
            tlog::format_tree(&tree)
        );
        let mut body = tlog::format_record(id, &log.records[id as usize]).unwrap();
        body.extend(note::sign(&text, &[&log.signer]).unwrap());
        let mut trust = TrustedLog::new(verifiers());
        let plan = trust
            .plan_lookup("golang.org/x/bad", "v1.0.0", &body)
            .unwrap();
        let tiles = log.fetch(&plan.tiles);
        let err = trust.finish_lookup(plan, &tiles).unwrap_err();
        assert!(
            matches!(err.root(), Error::UnrelatedLine { line, .. } if line.starts_with("golang.org/x/good")),
            "{err}"
        );
    }

    #[test]
    fn tampered_tiles_are_refused() {
        let mut log = Log::new(signer());
        fill(&mut log, 600);
        let mut trust = TrustedLog::new(verifiers());
        let first = log.signed(300);
        trust.merge(first, &TileSet::new()).unwrap();
        let newer = log.signed(600);
        let needed = trust.tiles_for_merge(&newer.tree).unwrap();
        assert!(!needed.is_empty());
        for t in &needed {
            let mut tiles = log.fetch(&needed);
            let mut data = tile::read_tile_data(t, &log.hashes).unwrap();
            data[5] ^= 0x40;
            tiles.insert(*t, data);
            let err = trust.clone().merge(newer.clone(), &tiles).unwrap_err();
            assert!(
                matches!(err, Error::InconsistentTile { .. }),
                "{}: {err}",
                t.path()
            );
            // Wrong width.
            let mut tiles = log.fetch(&needed);
            let mut data = tile::read_tile_data(t, &log.hashes).unwrap();
            data.extend_from_slice(&[0; 32]);
            tiles.insert(*t, data);
            let err = trust.clone().merge(newer.clone(), &tiles).unwrap_err();
            assert!(
                matches!(err, Error::TileDataLength { .. }),
                "{}: {err}",
                t.path()
            );
        }
        // Missing tile.
        let err = trust
            .clone()
            .merge(newer.clone(), &TileSet::new())
            .unwrap_err();
        assert!(matches!(err, Error::MissingTile(_)), "{err}");
        // Honest tiles.
        let tiles = log.fetch(&needed);
        assert!(matches!(
            trust.merge(newer, &tiles).unwrap(),
            MergeOutcome::Advanced { .. }
        ));
    }
}

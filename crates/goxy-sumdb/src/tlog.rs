//! Transparency log: hashes, stored-hash layout, tree hashes, proofs, tree
//! notes and records (a port of x/mod `sumdb/tlog/tlog.go` and `note.go`).
//!
//! Indexes and sizes are `u64`. Arithmetic never panics: the primitive index
//! functions wrap on absurd inputs (their results are then meaningless but
//! harmless), and every function that takes a tree from the network first
//! checks it against [`MAX_TREE_SIZE`].

use std::fmt;

use sha2::{Digest, Sha256};

use crate::Error;

/// Size of a hash in bytes.
pub const HASH_SIZE: usize = 32;

/// Largest tree this crate verifies. The public Go checksum database holds
/// well under 2^30 records; the bound keeps all index arithmetic far from
/// overflow.
pub const MAX_TREE_SIZE: u64 = 1 << 48;

/// A SHA-256 hash in the log.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl Hash {
    /// Parses standard base64 (as written in tree notes and go.sum).
    pub fn parse(s: &str) -> Result<Hash, Error> {
        match crate::b64::decode(s) {
            Some(bytes) => match <[u8; HASH_SIZE]>::try_from(bytes.as_slice()) {
                Ok(array) => Ok(Hash(array)),
                Err(_) => Err(Error::MalformedHash(s.to_string())),
            },
            None => Err(Error::MalformedHash(s.to_string())),
        }
    }

    /// Interprets a 32-byte slice as a hash.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; HASH_SIZE]>::try_from(bytes).ok().map(Hash)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::b64::encode(&self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Leaf hash of a record: SHA-256(0x00 ‖ data).
pub fn record_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// Interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// Hash of the empty tree: SHA-256("").
pub fn empty_tree_hash() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// `x << s`, zero when the shift is 64 or more (instead of panicking).
pub(crate) fn shl(x: u64, s: u64) -> u64 {
    if s >= 64 {
        0
    } else {
        x << s
    }
}

/// `x >> s`, zero when the shift is 64 or more.
pub(crate) fn shr(x: u64, s: u64) -> u64 {
    if s >= 64 {
        0
    } else {
        x >> s
    }
}

/// The largest power of two strictly below `n` (1 for n ≤ 2), and its log2.
fn maxpow2(n: u64) -> (u64, u64) {
    let mut l = 0;
    while l < 63 && shl(1, l + 1) < n {
        l += 1;
    }
    (1 << l, l)
}

/// Index, in the flat stored-hash layout, of the hash at `level` and
/// position `n` (x/mod `StoredHashIndex`).
pub fn stored_hash_index(level: u32, n: u64) -> u64 {
    // The hashes for leaf n come after all hashes for leaves < n, so the
    // index of (level, n) is the index of leaf (n+1)·2^level − 1 plus level.
    let mut n = n;
    for _ in 0..level.min(128) {
        n = n.wrapping_mul(2).wrapping_add(1);
    }
    let mut i: u64 = 0;
    while n > 0 {
        i = i.wrapping_add(n);
        n >>= 1;
    }
    i.wrapping_add(u64::from(level))
}

/// Inverse of [`stored_hash_index`]: the (level, n) stored at `index`.
pub fn split_stored_hash_index(index: u64) -> (u32, u64) {
    // Stored hash index of leaf n is 2n − popcount(n) ≤ index for n = index/2;
    // walk forward leaf by leaf (at most ~64 steps).
    let mut n = index / 2;
    let mut index_n = stored_hash_index(0, n);
    loop {
        let x = index_n
            .wrapping_add(1)
            .wrapping_add(u64::from(n.wrapping_add(1).trailing_zeros()));
        if x > index || x <= index_n {
            break;
        }
        n += 1;
        index_n = x;
    }
    let level = index.saturating_sub(index_n);
    let level = u32::try_from(level).unwrap_or(u32::MAX);
    (level, shr(n, u64::from(level)))
}

/// Number of stored hashes for a tree of `n` records.
pub fn stored_hash_count(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let mut count = stored_hash_index(0, n - 1).wrapping_add(1);
    let mut i = n - 1;
    while i & 1 != 0 {
        count = count.wrapping_add(1);
        i >>= 1;
    }
    count
}

/// Source of stored hashes by index (x/mod `HashReader`).
pub trait HashReader {
    /// Returns the hashes at `indexes`, in order.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error>;
}

/// A complete in-memory stored-hash array (as a log server keeps it).
impl HashReader for [Hash] {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        indexes
            .iter()
            .map(|&x| {
                usize::try_from(x)
                    .ok()
                    .and_then(|i| self.get(i))
                    .copied()
                    .ok_or(Error::HashNotStored(x))
            })
            .collect()
    }
}

impl HashReader for Vec<Hash> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        self.as_slice().read_hashes(indexes)
    }
}

fn read_exact(r: &(impl HashReader + ?Sized), indexes: &[u64]) -> Result<Vec<Hash>, Error> {
    let hashes = r.read_hashes(indexes)?;
    if hashes.len() != indexes.len() {
        return Err(Error::Internal(
            "hash reader returned wrong number of hashes",
        ));
    }
    Ok(hashes)
}

/// The hashes to append to storage when adding record `n` with data `data`
/// (x/mod `StoredHashes`).
pub fn stored_hashes(
    n: u64,
    data: &[u8],
    r: &(impl HashReader + ?Sized),
) -> Result<Vec<Hash>, Error> {
    stored_hashes_for_record_hash(n, record_hash(data), r)
}

/// Like [`stored_hashes`] for a record whose leaf hash is already known.
pub fn stored_hashes_for_record_hash(
    n: u64,
    h: Hash,
    r: &(impl HashReader + ?Sized),
) -> Result<Vec<Hash>, Error> {
    let m = n.wrapping_add(1).trailing_zeros();
    let mut indexes = Vec::with_capacity(m as usize);
    for i in (0..m).rev() {
        // Left siblings of the new interior nodes, highest first.
        indexes.push(stored_hash_index(i, shr(n, u64::from(i)).wrapping_sub(1)));
    }
    let old = read_exact(r, &indexes)?;
    let mut hashes = vec![h];
    let mut h = h;
    for sibling in old.iter().rev() {
        h = node_hash(*sibling, h);
        hashes.push(h);
    }
    Ok(hashes)
}

/// Stored-hash indexes of the maximal complete subtrees covering `[lo, hi)`.
fn sub_tree_index(mut lo: u64, hi: u64, need: &mut Vec<u64>) -> Result<(), Error> {
    while lo < hi {
        let (k, level) = maxpow2((hi - lo).saturating_add(1));
        if lo & (k - 1) != 0 {
            return Err(Error::Internal("bad math in sub_tree_index"));
        }
        need.push(stored_hash_index(level as u32, shr(lo, level)));
        lo += k;
    }
    Ok(())
}

/// Hash of `[lo, hi)` from the subtree hashes at the front of `hashes`;
/// returns the rest.
fn sub_tree_hash(mut lo: u64, hi: u64, hashes: &[Hash]) -> Result<(Hash, &[Hash]), Error> {
    let mut num_tree = 0usize;
    while lo < hi {
        let (k, _) = maxpow2((hi - lo).saturating_add(1));
        if lo & (k - 1) != 0 {
            return Err(Error::Internal("bad math in sub_tree_hash"));
        }
        num_tree += 1;
        lo += k;
    }
    if num_tree == 0 || hashes.len() < num_tree {
        return Err(Error::Internal("bad index math in sub_tree_hash"));
    }
    let (subtrees, rest) = hashes.split_at(num_tree);
    let mut iter = subtrees.iter().rev();
    let mut h = *iter.next().ok_or(Error::Internal("no subtree"))?;
    for left in iter {
        h = node_hash(*left, h);
    }
    Ok((h, rest))
}

/// Hash of the tree of size `n` (x/mod `TreeHash`).
pub fn tree_hash(n: u64, r: &(impl HashReader + ?Sized)) -> Result<Hash, Error> {
    if n == 0 {
        return Ok(empty_tree_hash());
    }
    let mut indexes = Vec::new();
    sub_tree_index(0, n, &mut indexes)?;
    let hashes = read_exact(r, &indexes)?;
    let (hash, rest) = sub_tree_hash(0, n, &hashes)?;
    if !rest.is_empty() {
        return Err(Error::Internal("bad index math in tree_hash"));
    }
    Ok(hash)
}

/// Proof that a record is in a tree (RFC 6962 audit path).
pub type RecordProof = Vec<Hash>;

/// Proof that a smaller tree is a prefix of a larger one (RFC 6962 consistency proof).
pub type TreeProof = Vec<Hash>;

/// Proof that record `n` is in the tree of size `t` (x/mod `ProveRecord`).
pub fn prove_record(t: u64, n: u64, r: &(impl HashReader + ?Sized)) -> Result<RecordProof, Error> {
    if n >= t || t > MAX_TREE_SIZE {
        return Err(Error::InvalidInput(format!("prove_record({t}, {n})")));
    }
    let mut indexes = Vec::new();
    leaf_proof_index(0, t, n, &mut indexes)?;
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read_exact(r, &indexes)?;
    let (proof, rest) = leaf_proof(0, t, n, &hashes)?;
    if !rest.is_empty() {
        return Err(Error::Internal("bad index math in prove_record"));
    }
    Ok(proof)
}

fn leaf_proof_index(lo: u64, hi: u64, n: u64, need: &mut Vec<u64>) -> Result<(), Error> {
    if !(lo <= n && n < hi) {
        return Err(Error::Internal("bad math in leaf_proof_index"));
    }
    if lo + 1 == hi {
        return Ok(());
    }
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        leaf_proof_index(lo, lo + k, n, need)?;
        sub_tree_index(lo + k, hi, need)
    } else {
        sub_tree_index(lo, lo + k, need)?;
        leaf_proof_index(lo + k, hi, n, need)
    }
}

fn leaf_proof(lo: u64, hi: u64, n: u64, hashes: &[Hash]) -> Result<(RecordProof, &[Hash]), Error> {
    if !(lo <= n && n < hi) {
        return Err(Error::Internal("bad math in leaf_proof"));
    }
    if lo + 1 == hi {
        return Ok((Vec::new(), hashes));
    }
    let (k, _) = maxpow2(hi - lo);
    let (mut p, th, rest) = if n < lo + k {
        let (p, rest) = leaf_proof(lo, lo + k, n, hashes)?;
        let (th, rest) = sub_tree_hash(lo + k, hi, rest)?;
        (p, th, rest)
    } else {
        let (th, rest) = sub_tree_hash(lo, lo + k, hashes)?;
        let (p, rest) = leaf_proof(lo + k, hi, n, rest)?;
        (p, th, rest)
    };
    p.push(th);
    Ok((p, rest))
}

/// Checks that `p` proves record `n` with leaf hash `h` is in the tree of
/// size `t` with hash `th` (x/mod `CheckRecord`).
pub fn check_record(p: &[Hash], t: u64, th: Hash, n: u64, h: Hash) -> Result<(), Error> {
    if n >= t || t > MAX_TREE_SIZE {
        return Err(Error::InvalidInput(format!("check_record({t}, {n})")));
    }
    if run_record_proof(p, 0, t, n, h)? == th {
        Ok(())
    } else {
        Err(Error::ProofFailed)
    }
}

fn run_record_proof(p: &[Hash], lo: u64, hi: u64, n: u64, leaf_hash: Hash) -> Result<Hash, Error> {
    if !(lo <= n && n < hi) {
        return Err(Error::Internal("bad math in run_record_proof"));
    }
    if lo + 1 == hi {
        return if p.is_empty() {
            Ok(leaf_hash)
        } else {
            Err(Error::ProofFailed)
        };
    }
    let Some((last, rest)) = p.split_last() else {
        return Err(Error::ProofFailed);
    };
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        let th = run_record_proof(rest, lo, lo + k, n, leaf_hash)?;
        Ok(node_hash(th, *last))
    } else {
        let th = run_record_proof(rest, lo + k, hi, n, leaf_hash)?;
        Ok(node_hash(*last, th))
    }
}

/// Proof that the tree of size `n` is a prefix of the tree of size `t`
/// (x/mod `ProveTree`).
pub fn prove_tree(t: u64, n: u64, r: &(impl HashReader + ?Sized)) -> Result<TreeProof, Error> {
    if t < 1 || n < 1 || n > t || t > MAX_TREE_SIZE {
        return Err(Error::InvalidInput(format!("prove_tree({t}, {n})")));
    }
    let mut indexes = Vec::new();
    tree_proof_index(0, t, n, &mut indexes)?;
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read_exact(r, &indexes)?;
    let (proof, rest) = tree_proof(0, t, n, &hashes)?;
    if !rest.is_empty() {
        return Err(Error::Internal("bad index math in prove_tree"));
    }
    Ok(proof)
}

fn tree_proof_index(lo: u64, hi: u64, n: u64, need: &mut Vec<u64>) -> Result<(), Error> {
    if !(lo < n && n <= hi) {
        return Err(Error::Internal("bad math in tree_proof_index"));
    }
    if n == hi {
        if lo == 0 {
            return Ok(());
        }
        return sub_tree_index(lo, hi, need);
    }
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        tree_proof_index(lo, lo + k, n, need)?;
        sub_tree_index(lo + k, hi, need)
    } else {
        sub_tree_index(lo, lo + k, need)?;
        tree_proof_index(lo + k, hi, n, need)
    }
}

fn tree_proof(lo: u64, hi: u64, n: u64, hashes: &[Hash]) -> Result<(TreeProof, &[Hash]), Error> {
    if !(lo < n && n <= hi) {
        return Err(Error::Internal("bad math in tree_proof"));
    }
    if n == hi {
        if lo == 0 {
            return Ok((Vec::new(), hashes));
        }
        let (th, rest) = sub_tree_hash(lo, hi, hashes)?;
        return Ok((vec![th], rest));
    }
    let (k, _) = maxpow2(hi - lo);
    let (mut p, th, rest) = if n <= lo + k {
        let (p, rest) = tree_proof(lo, lo + k, n, hashes)?;
        let (th, rest) = sub_tree_hash(lo + k, hi, rest)?;
        (p, th, rest)
    } else {
        let (th, rest) = sub_tree_hash(lo, lo + k, hashes)?;
        let (p, rest) = tree_proof(lo + k, hi, n, rest)?;
        (p, th, rest)
    };
    p.push(th);
    Ok((p, rest))
}

/// Checks that `p` proves the tree of size `n` with hash `h` is a prefix of
/// the tree of size `t` with hash `th` (x/mod `CheckTree`).
pub fn check_tree(p: &[Hash], t: u64, th: Hash, n: u64, h: Hash) -> Result<(), Error> {
    if t < 1 || n < 1 || n > t || t > MAX_TREE_SIZE {
        return Err(Error::InvalidInput(format!("check_tree({t}, {n})")));
    }
    let (h2, th2) = run_tree_proof(p, 0, t, n, h)?;
    if th2 == th && h2 == h {
        Ok(())
    } else {
        Err(Error::ProofFailed)
    }
}

fn run_tree_proof(p: &[Hash], lo: u64, hi: u64, n: u64, old: Hash) -> Result<(Hash, Hash), Error> {
    if !(lo < n && n <= hi) {
        return Err(Error::Internal("bad math in run_tree_proof"));
    }
    if n == hi {
        if lo == 0 {
            return if p.is_empty() {
                Ok((old, old))
            } else {
                Err(Error::ProofFailed)
            };
        }
        return match p {
            [only] => Ok((*only, *only)),
            _ => Err(Error::ProofFailed),
        };
    }
    let Some((last, rest)) = p.split_last() else {
        return Err(Error::ProofFailed);
    };
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        let (oh, th) = run_tree_proof(rest, lo, lo + k, n, old)?;
        Ok((oh, node_hash(th, *last)))
    } else {
        let (oh, th) = run_tree_proof(rest, lo + k, hi, n, old)?;
        Ok((node_hash(*last, oh), node_hash(*last, th)))
    }
}

/// Subtree-cover indexes of `[0, n)`, exposed for the tile planner.
pub(crate) fn tree_cover_indexes(n: u64) -> Result<Vec<u64>, Error> {
    let mut need = Vec::new();
    sub_tree_index(0, n, &mut need)?;
    Ok(need)
}

/// A tree head: size and root hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Tree {
    /// Number of records.
    pub n: u64,
    /// Root hash.
    pub hash: Hash,
}

const TREE_PREFIX: &[u8] = b"go.sum database tree\n";

/// Formats a tree note text (x/mod `FormatTree`).
pub fn format_tree(tree: &Tree) -> String {
    format!("go.sum database tree\n{}\n{}\n", tree.n, tree.hash)
}

/// Parses a tree note text (x/mod `ParseTree`). Extra trailing lines are ignored.
pub fn parse_tree(text: &[u8]) -> Result<Tree, Error> {
    if !text.starts_with(TREE_PREFIX)
        || text.iter().filter(|&&b| b == b'\n').count() < 3
        || text.len() > 1_000_000
    {
        return Err(Error::MalformedTree);
    }
    let mut lines = text.splitn(4, |&b| b == b'\n');
    let _prefix = lines.next();
    let size_line = lines.next().ok_or(Error::MalformedTree)?;
    let hash_line = lines.next().ok_or(Error::MalformedTree)?;
    let size_str = std::str::from_utf8(size_line).map_err(|_| Error::MalformedTree)?;
    // Canonical decimal only: no sign, no leading zeros; and within int64 like Go.
    let n: i64 = size_str.parse().map_err(|_| Error::MalformedTree)?;
    if n < 0 || size_str != n.to_string() {
        return Err(Error::MalformedTree);
    }
    let hash_str = std::str::from_utf8(hash_line).map_err(|_| Error::MalformedTree)?;
    let hash = Hash::parse(hash_str).map_err(|_| Error::MalformedTree)?;
    Ok(Tree { n: n as u64, hash })
}

/// Is `text` a valid record text: valid UTF-8, no control characters but
/// newline, no blank lines, ends in newline (x/mod `isValidRecordText`).
pub fn is_valid_record_text(text: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(text) else {
        return false;
    };
    let mut last = '\0';
    for c in s.chars() {
        if (c < '\u{20}' && c != '\n') || (last == '\n' && c == '\n') {
            return false;
        }
        last = c;
    }
    last == '\n'
}

/// Formats a record as served by `/lookup` before the note: `id\ntext\n`
/// (x/mod `FormatRecord`).
pub fn format_record(id: u64, text: &[u8]) -> Result<Vec<u8>, Error> {
    if !is_valid_record_text(text) {
        return Err(Error::MalformedRecord);
    }
    let mut msg = format!("{id}\n").into_bytes();
    msg.extend_from_slice(text);
    msg.push(b'\n');
    Ok(msg)
}

/// A record as parsed from a lookup response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRecord<'a> {
    /// Record id (its leaf index in the log).
    pub id: u64,
    /// Record text, ending in newline.
    pub text: &'a [u8],
    /// Everything after the blank line: the signed tree note.
    pub rest: &'a [u8],
}

/// Splits `id\ntext\n\nrest` (x/mod `ParseRecord`). Negative ids are rejected.
pub fn parse_record(msg: &[u8]) -> Result<ParsedRecord<'_>, Error> {
    let i = msg
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(Error::MalformedRecord)?;
    let (id_bytes, after) = msg.split_at(i);
    let id_str = std::str::from_utf8(id_bytes).map_err(|_| Error::MalformedRecord)?;
    // Go's strconv.ParseInt accepts a sign and leading zeros; so does Rust's parse.
    let id: i64 = id_str.parse().map_err(|_| Error::MalformedRecord)?;
    let id = u64::try_from(id).map_err(|_| Error::MalformedRecord)?;
    let body = after.get(1..).ok_or(Error::MalformedRecord)?;
    let j = body
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or(Error::MalformedRecord)?;
    let (text, rest) = body.split_at(j + 1);
    let rest = rest.get(1..).ok_or(Error::MalformedRecord)?;
    if !is_valid_record_text(text) {
        return Err(Error::MalformedRecord);
    }
    Ok(ParsedRecord { id, text, rest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tree_is_sha256_of_nothing() {
        let h = tree_hash(0, &Vec::<Hash>::new()).unwrap();
        assert_eq!(h.0, <[u8; 32]>::from(Sha256::digest(b"")));
    }

    #[test]
    fn split_stored_hash_index_inverts() {
        for l in 0..10u32 {
            for n in 0..100u64 {
                let x = stored_hash_index(l, n);
                assert_eq!(split_stored_hash_index(x), (l, n), "index {x}");
            }
        }
    }

    /// Port of x/mod TestTree (hash storage part): 100 records, every record
    /// and tree proof checks, and every corrupted proof hash is caught.
    #[test]
    fn tree_proofs_like_x_mod() {
        let mut storage: Vec<Hash> = Vec::new();
        let mut trees = Vec::new();
        let mut leaves = Vec::new();
        for i in 0..100u64 {
            let data = format!("leaf {i}");
            let hashes = stored_hashes(i, data.as_bytes(), &storage).unwrap();
            leaves.push(record_hash(data.as_bytes()));
            storage.extend(hashes);
            assert_eq!(stored_hash_count(i + 1), storage.len() as u64);
            let th = tree_hash(i + 1, &storage).unwrap();
            trees.push(th);
            for j in 0..=i {
                let mut p = prove_record(i + 1, j, &storage).unwrap();
                check_record(&p, i + 1, th, j, leaves[j as usize]).unwrap();
                for k in 0..p.len() {
                    p[k].0[0] ^= 1;
                    assert!(check_record(&p, i + 1, th, j, leaves[j as usize]).is_err());
                    p[k].0[0] ^= 1;
                }
                let mut p = prove_tree(i + 1, j + 1, &storage).unwrap();
                check_tree(&p, i + 1, th, j + 1, trees[j as usize]).unwrap();
                for k in 0..p.len() {
                    p[k].0[0] ^= 1;
                    assert!(check_tree(&p, i + 1, th, j + 1, trees[j as usize]).is_err());
                    p[k].0[0] ^= 1;
                }
            }
        }
        // A tree hash computed independently by the RFC 6962 recursion.
        fn mth(leaves: &[Hash]) -> Hash {
            if leaves.len() == 1 {
                return leaves[0];
            }
            let (k, _) = maxpow2(leaves.len() as u64);
            let (l, r) = leaves.split_at(k as usize);
            node_hash(mth(l), mth(r))
        }
        for n in 1..=100usize {
            assert_eq!(trees[n - 1], mth(&leaves[..n]), "tree {n}");
        }
    }

    /// x/mod note_test.go TestFormatTree / TestParseTree (§7.7 item 65).
    #[test]
    fn tree_note_vector() {
        let golden =
            "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
        let tree = Tree {
            n: 123456789012,
            hash: record_hash(b"hello world"),
        };
        assert_eq!(format_tree(&tree), golden);
        assert_eq!(parse_tree(golden.as_bytes()).unwrap(), tree);
        for bad in [
            format!("not-{golden}"),
            "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n".to_string(),
            "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n".to_string(),
            "go.sum database tree\n0123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n".to_string(),
            "go.sum database tree\n+123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n".to_string(),
            "go.sum database tree\n-1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n".to_string(),
            "go.sum database tree\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=".to_string(),
        ] {
            assert_eq!(parse_tree(bad.as_bytes()), Err(Error::MalformedTree), "{bad:?}");
        }
        for good in [
            format!("{golden}JOE"),
            format!("{golden}JOE\n"),
            format!("{golden}{}", "JOE\n".repeat(1000)),
        ] {
            assert_eq!(parse_tree(good.as_bytes()).unwrap(), tree);
        }
    }

    /// x/mod note_test.go TestFormatRecord / TestParseRecord.
    #[test]
    fn record_vectors() {
        assert_eq!(
            format_record(123456789012, b"hello, world\n").unwrap(),
            b"123456789012\nhello, world\n\n"
        );
        for bad in [
            &b""[..],
            b"hello\nworld",
            b"hello\n\nworld\n",
            b"hello\x01world\n",
        ] {
            assert!(format_record(1, bad).is_err(), "{bad:?}");
        }
        let r = parse_record(b"123456789012\nhello, world\n\njunk on end\x01\xff").unwrap();
        assert_eq!(
            (r.id, r.text, r.rest),
            (
                123456789012,
                &b"hello, world\n"[..],
                &b"junk on end\x01\xff"[..]
            )
        );
        let r = parse_record(b"123456789012\nhello, world\n\n").unwrap();
        assert_eq!(r.rest, b"");
        for bad in [
            &b"not-123456789012\nhello, world\n\n"[..],
            b"123\nhello\x01world\n\n",
            b"123\nhello\xffworld\n\n",
            b"123\nhello world\n",
            b"0x123\nhello world\n\n",
            b"-1\nhello world\n\n",
            b"",
            b"\n",
        ] {
            assert!(parse_record(bad).is_err(), "{bad:?}");
        }
    }
}

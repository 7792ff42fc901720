//! Tiles: how the log's stored hashes are served, and how fetched tiles are
//! authenticated against a signed tree (a port of x/mod `sumdb/tlog/tile.go`
//! with every tile checked up to the root).
//!
//! Sans-I/O use: ask `tiles_for_*` which tiles a check needs, fetch them
//! (any way you like) into a [`TileSet`], then call the matching `verify_*`.
//! Nothing read from a tile is trusted until the tile has been hashed up to
//! the signed root hash: the right-edge tiles through the tree hash, every
//! other tile through the hash its parent tile holds for it.

use std::collections::HashMap;

use crate::tlog::{
    self, node_hash, record_hash, shl, shr, split_stored_hash_index, stored_hash_index, Hash,
    HashReader, Tree, HASH_SIZE, MAX_TREE_SIZE,
};
use crate::Error;

/// Tile height the Go command uses for the checksum database.
pub const GO_TILE_HEIGHT: u32 = 8;

/// Largest tile height a tile path may name.
pub const MAX_TILE_HEIGHT: u32 = 30;

/// One tile of the log: the `w` hashes at tree level `l·h`, positions
/// `n·2^h … n·2^h + w − 1`; or, when `l` is [`Tile::DATA_LEVEL`], the
/// record texts of the leaves of tile `(h, 0, n, w)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// Height: a full tile holds 2^h hashes (1 ≤ h ≤ 30).
    pub h: u32,
    /// Level in the tiling (0 ≤ l ≤ 63), or −1 for a data tile.
    pub l: i32,
    /// Number of the tile within its level.
    pub n: u64,
    /// Width: number of hashes (1 ≤ w ≤ 2^h; 2^h is a full tile).
    pub w: u32,
}

const PATH_BASE: u64 = 1000;

impl Tile {
    /// The `l` of a data tile.
    pub const DATA_LEVEL: i32 = -1;

    /// Is this a record-data tile rather than a hash tile?
    pub fn is_data(&self) -> bool {
        self.l == Self::DATA_LEVEL
    }

    /// Width of a full tile of this height.
    pub fn full_width(&self) -> u64 {
        shl(1, u64::from(self.h))
    }

    /// Does the tile hold all 2^h entries?
    pub fn is_full(&self) -> bool {
        u64::from(self.w) == self.full_width()
    }

    /// The full tile with the same coordinates.
    pub fn to_full(&self) -> Tile {
        Tile {
            w: u32::try_from(self.full_width()).unwrap_or(u32::MAX),
            ..*self
        }
    }

    /// The hash tile whose hashes are the leaf hashes of this data tile (or itself).
    pub fn hash_tile(&self) -> Tile {
        if self.is_data() {
            Tile { l: 0, ..*self }
        } else {
            *self
        }
    }

    fn check_shape(&self) -> Result<(), Error> {
        if self.h < 1 || self.h > MAX_TILE_HEIGHT || self.l < Self::DATA_LEVEL || self.l > 63 {
            return Err(Error::InvalidTile {
                tile: self.path(),
                reason: "height or level out of range",
            });
        }
        if self.w < 1 || u64::from(self.w) > self.full_width() {
            return Err(Error::InvalidTile {
                tile: self.path(),
                reason: "width out of range",
            });
        }
        Ok(())
    }

    /// Level of this tile's hashes in the tree (`l·h`); data tiles give 0.
    fn hash_level(&self) -> u64 {
        u64::try_from(self.l.max(0)).unwrap_or(0) * u64::from(self.h)
    }

    /// The path below the database URL: `tile/H/L/NNN[.p/W]`, with N in
    /// 3-digit groups prefixed `x` except the last (x/mod `Tile.Path`).
    pub fn path(&self) -> String {
        let mut n = self.n;
        let mut n_str = format!("{:03}", n % PATH_BASE);
        while n >= PATH_BASE {
            n /= PATH_BASE;
            n_str = format!("x{:03}/{n_str}", n % PATH_BASE);
        }
        let partial = if self.is_full() {
            String::new()
        } else {
            format!(".p/{}", self.w)
        };
        let level = if self.is_data() {
            "data".to_string()
        } else {
            self.l.to_string()
        };
        format!("tile/{}/{level}/{n_str}{partial}", self.h)
    }

    /// Parses a tile path; only the canonical spelling [`Tile::path`] produces
    /// is accepted (x/mod `ParseTilePath`).
    pub fn parse_path(path: &str) -> Result<Tile, Error> {
        let bad = || Error::MalformedTilePath(path.to_string());
        let mut fields: Vec<&str> = path.split('/').collect();
        if fields.len() < 4 || fields.first() != Some(&"tile") {
            return Err(bad());
        }
        let h: u32 = fields.get(1).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let level_field = *fields.get(2).ok_or_else(bad)?;
        let l: i32 = if level_field == "data" {
            Self::DATA_LEVEL
        } else {
            level_field.parse().map_err(|_| bad())?
        };
        if !(1..=MAX_TILE_HEIGHT).contains(&h)
            || l < Self::DATA_LEVEL
            || (l < 0 && level_field != "data")
        {
            return Err(bad());
        }
        let full = 1u64 << h;
        let mut w = full;
        let last_two = fields.len() - 2;
        if let Some(stem) = fields.get(last_two).and_then(|s| s.strip_suffix(".p")) {
            let ww: u64 = fields.last().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            if ww == 0 || ww >= full {
                return Err(bad());
            }
            w = ww;
            fields[last_two] = stem;
            fields.pop();
        }
        let mut n: u64 = 0;
        for part in fields.get(3..).unwrap_or_default() {
            let digits = part.strip_prefix('x').unwrap_or(part);
            let nn: u64 = digits.parse().map_err(|_| bad())?;
            if nn >= PATH_BASE {
                return Err(bad());
            }
            n = n
                .checked_mul(PATH_BASE)
                .and_then(|n| n.checked_add(nn))
                .ok_or_else(bad)?;
        }
        let tile = Tile {
            h,
            l,
            n,
            w: u32::try_from(w).map_err(|_| bad())?,
        };
        if tile.path() != path {
            return Err(bad());
        }
        Ok(tile)
    }
}

/// The tile of height `h` holding stored hash `index`, with the byte range
/// of the data that hashes to it (x/mod `tileForIndex`). The tile's width
/// is the smallest that contains the hash.
fn tile_for_index_range(h: u32, index: u64) -> Result<(Tile, usize, usize), Error> {
    if !(1..=MAX_TILE_HEIGHT).contains(&h) {
        return Err(Error::InvalidInput(format!("tile height {h}")));
    }
    let (level, n) = split_stored_hash_index(index);
    let h64 = u64::from(h);
    let tile_level = u64::from(level) / h64;
    let level_in_tile = u64::from(level) - tile_level * h64;
    let tile_n = shr(shl(n, level_in_tile), h64);
    let n_in_tile = n.wrapping_sub(shr(shl(tile_n, h64), level_in_tile));
    let start = shl(n_in_tile, level_in_tile);
    let end = shl(n_in_tile.wrapping_add(1), level_in_tile);
    if end > shl(1, h64) || start >= end || tile_level > 63 {
        return Err(Error::InvalidInput(format!(
            "stored hash index {index} out of range"
        )));
    }
    let tile = Tile {
        h,
        l: tile_level as i32,
        n: tile_n,
        w: end as u32,
    };
    Ok((tile, start as usize * HASH_SIZE, end as usize * HASH_SIZE))
}

/// The smallest tile of height `h` that holds stored hash `index` (x/mod `TileForIndex`).
pub fn tile_for_index(h: u32, index: u64) -> Result<Tile, Error> {
    Ok(tile_for_index_range(h, index)?.0)
}

/// Recomputes the stored hash `index` from the data of tile `t` (x/mod
/// `HashFromTile`). Does not authenticate the tile.
pub fn hash_from_tile(t: &Tile, data: &[u8], index: u64) -> Result<Hash, Error> {
    if t.is_data() {
        return Err(Error::InvalidTile {
            tile: t.path(),
            reason: "data tile holds no hashes",
        });
    }
    t.check_shape()?;
    let want = t.w as usize * HASH_SIZE;
    if data.len() < want {
        return Err(Error::TileDataLength {
            tile: t.path(),
            got: data.len(),
            want,
        });
    }
    let (t1, start, end) = tile_for_index_range(t.h, index)?;
    if t.l != t1.l || t.n != t1.n || t.w < t1.w {
        return Err(Error::InvalidInput(format!(
            "index {index} is in {} not {}",
            t1.path(),
            t.path()
        )));
    }
    tile_hash(data.get(start..end).ok_or(Error::Internal("tile range"))?)
}

/// Merkle hash of a run of 2^k hashes.
fn tile_hash(data: &[u8]) -> Result<Hash, Error> {
    if data.len() == HASH_SIZE {
        return Hash::from_slice(data).ok_or(Error::Internal("tile hash size"));
    }
    if data.len() < 2 * HASH_SIZE
        || (data.len() / HASH_SIZE).count_ones() != 1
        || !data.len().is_multiple_of(HASH_SIZE)
    {
        return Err(Error::Internal("bad math in tile_hash"));
    }
    let (left, right) = data.split_at(data.len() / 2);
    Ok(node_hash(tile_hash(left)?, tile_hash(right)?))
}

/// The tiles of height `h` that a log must publish when it grows from
/// `old_size` to `new_size` records (x/mod `NewTiles`).
pub fn new_tiles(h: u32, old_size: u64, new_size: u64) -> Result<Vec<Tile>, Error> {
    if !(1..=MAX_TILE_HEIGHT).contains(&h) || new_size > MAX_TREE_SIZE {
        return Err(Error::InvalidInput(format!(
            "new_tiles({h}, {old_size}, {new_size})"
        )));
    }
    let h64 = u64::from(h);
    let mut tiles = Vec::new();
    let mut level = 0u64;
    while shr(new_size, h64 * level) > 0 {
        let old_n = shr(old_size, h64 * level);
        let new_n = shr(new_size, h64 * level);
        if old_n != new_n {
            for n in (old_n >> h64)..(new_n >> h64) {
                tiles.push(Tile {
                    h,
                    l: level as i32,
                    n,
                    w: 1 << h,
                });
            }
            let n = new_n >> h64;
            let w = new_n - (n << h64);
            if w > 0 {
                tiles.push(Tile {
                    h,
                    l: level as i32,
                    n,
                    w: w as u32,
                });
            }
        }
        level += 1;
    }
    Ok(tiles)
}

/// Builds the data of hash tile `t` from a hash storage (x/mod `ReadTileData`).
pub fn read_tile_data(t: &Tile, r: &(impl HashReader + ?Sized)) -> Result<Vec<u8>, Error> {
    t.check_shape()?;
    if t.is_data() {
        return Err(Error::InvalidTile {
            tile: t.path(),
            reason: "data tile holds no hashes",
        });
    }
    let start = shl(t.n, u64::from(t.h));
    let level = u32::try_from(t.hash_level()).map_err(|_| Error::Internal("tile level"))?;
    // Ask for the last hash first so a tile beyond the storage fails before
    // anything of tile size is allocated.
    let last = stored_hash_index(level, start.wrapping_add(u64::from(t.w) - 1));
    r.read_hashes(&[last])?;
    let indexes: Vec<u64> = (0..u64::from(t.w))
        .map(|i| stored_hash_index(level, start.wrapping_add(i)))
        .collect();
    let hashes = r.read_hashes(&indexes)?;
    if hashes.len() != indexes.len() {
        return Err(Error::Internal(
            "hash reader returned wrong number of hashes",
        ));
    }
    Ok(hashes.iter().flat_map(|h| h.0).collect())
}

/// The tile `k` levels above `t`, with the width it has in a tree of `n`
/// records; `None` when that tile is empty (x/mod `tileParent`).
fn tile_parent(t: &Tile, k: u32, n: u64) -> Option<Tile> {
    let mut p = *t;
    p.l = p.l.checked_add(i32::try_from(k).ok()?)?;
    if p.l > 63 {
        return None;
    }
    p.n = shr(p.n, u64::from(k) * u64::from(p.h));
    let full = shl(1, u64::from(p.h));
    let max = shr(n, p.hash_level());
    let first = shl(p.n, u64::from(p.h));
    let mut w = full;
    if first.wrapping_add(w) >= max {
        if first >= max {
            return None;
        }
        w = max - first;
    }
    p.w = u32::try_from(w).ok()?;
    Some(p)
}

/// Tiles as fetched, keyed by tile; not trusted by themselves.
#[derive(Clone, Debug, Default)]
pub struct TileSet {
    tiles: HashMap<Tile, Vec<u8>>,
}

impl TileSet {
    /// An empty set.
    pub fn new() -> TileSet {
        TileSet::default()
    }

    /// Adds (or replaces) the fetched body of `tile`.
    pub fn insert(&mut self, tile: Tile, data: Vec<u8>) {
        self.tiles.insert(tile, data);
    }

    /// The body for `tile`: its own, or else the matching prefix of the full
    /// tile with the same coordinates (what clients do when a partial tile
    /// is no longer served). A full tile of the wrong length gives nothing.
    pub fn get(&self, tile: &Tile) -> Option<&[u8]> {
        if let Some(data) = self.tiles.get(tile) {
            return Some(data);
        }
        if tile.is_data() || tile.is_full() {
            return None;
        }
        let full = self.tiles.get(&tile.to_full())?;
        if full.len() as u64 != tile.full_width() * HASH_SIZE as u64 {
            return None;
        }
        full.get(..tile.w as usize * HASH_SIZE)
    }

    /// Is there a body for `tile` (own or via its full tile)?
    pub fn contains(&self, tile: &Tile) -> bool {
        self.get(tile).is_some()
    }

    /// Number of tiles held.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Is the set empty?
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }

    /// The tiles held and their bodies.
    pub fn iter(&self) -> impl Iterator<Item = (&Tile, &[u8])> {
        self.tiles.iter().map(|(t, d)| (t, d.as_slice()))
    }

    /// The tiles of `wanted` that are not in the set yet.
    pub fn missing(&self, wanted: &[Tile]) -> Vec<Tile> {
        wanted
            .iter()
            .filter(|t| !self.contains(t))
            .copied()
            .collect()
    }
}

fn check_tree_args(tree: &Tree, h: u32) -> Result<(), Error> {
    if tree.n > MAX_TREE_SIZE {
        return Err(Error::TreeTooLarge(tree.n));
    }
    if !(1..=MAX_TILE_HEIGHT).contains(&h) {
        return Err(Error::InvalidInput(format!("tile height {h}")));
    }
    Ok(())
}

/// Which tiles to read for a set of stored-hash indexes, in check order:
/// first the right-edge tiles holding the tree's subtree cover (checked
/// against the root), then the full tiles below them, each after its parent.
struct HashPlan {
    tiles: Vec<Tile>,
    cover: Vec<u64>,
    cover_tile: Vec<usize>,
    index_tile: Vec<usize>,
}

fn plan_hashes(tree: &Tree, h: u32, indexes: &[u64]) -> Result<HashPlan, Error> {
    check_tree_args(tree, h)?;
    let mut order: HashMap<Tile, usize> = HashMap::new();
    let mut tiles: Vec<Tile> = Vec::new();
    let cover = tlog::tree_cover_indexes(tree.n)?;
    let mut cover_tile = Vec::with_capacity(cover.len());
    for &x in &cover {
        let tile = tile_for_index(h, x)?;
        let tile =
            tile_parent(&tile, 0, tree.n).ok_or(Error::Internal("cover tile outside tree"))?;
        let j = *order.entry(tile).or_insert_with(|| {
            tiles.push(tile);
            tiles.len() - 1
        });
        cover_tile.push(j);
    }
    let end = stored_hash_index(0, tree.n);
    let mut index_tile = Vec::with_capacity(indexes.len());
    for &x in indexes {
        if x >= end {
            return Err(Error::InvalidInput(format!(
                "stored hash index {x} not in tree of size {}",
                tree.n
            )));
        }
        let tile = tile_for_index(h, x)?;
        // Climb until a tile already planned; then plan the path down.
        let mut k = 0u32;
        let found = loop {
            let parent = tile_parent(&tile, k, tree.n)
                .ok_or(Error::Internal("climbed out of the tree in plan_hashes"))?;
            if let Some(&j) = order.get(&parent) {
                break j;
            }
            k += 1;
            if k > 64 {
                return Err(Error::Internal("no planned ancestor tile"));
            }
        };
        if k == 0 {
            index_tile.push(found);
            continue;
        }
        let mut own = found;
        for kk in (0..k).rev() {
            let p = tile_parent(&tile, kk, tree.n)
                .ok_or(Error::Internal("lost tile in plan_hashes"))?;
            if !p.is_full() {
                return Err(Error::Internal("partial tile below the right edge"));
            }
            order.insert(p, tiles.len());
            own = tiles.len();
            tiles.push(p);
        }
        index_tile.push(own);
    }
    Ok(HashPlan {
        tiles,
        cover,
        cover_tile,
        index_tile,
    })
}

/// Tiles (of height `h`) needed to read and authenticate the stored hashes
/// at `indexes` in `tree`.
pub fn tiles_for_hashes(tree: &Tree, h: u32, indexes: &[u64]) -> Result<Vec<Tile>, Error> {
    if tree.n == 0 {
        return if indexes.is_empty() {
            Ok(Vec::new())
        } else {
            Err(Error::InvalidInput(
                "stored hash index in empty tree".to_string(),
            ))
        };
    }
    Ok(plan_hashes(tree, h, indexes)?.tiles)
}

/// Reads stored hashes of a signed tree from fetched tiles, authenticating
/// every tile it uses against the tree's root hash first (x/mod
/// `TileHashReader`, with the check that every tile, not just some, is
/// proven).
#[derive(Clone, Copy, Debug)]
pub struct TileHashReader<'a> {
    tree: Tree,
    height: u32,
    tiles: &'a TileSet,
}

impl<'a> TileHashReader<'a> {
    /// A reader for `tree` over tiles of height `height`.
    pub fn new(tree: Tree, height: u32, tiles: &'a TileSet) -> TileHashReader<'a> {
        TileHashReader {
            tree,
            height,
            tiles,
        }
    }
}

impl HashReader for TileHashReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        if self.tree.n == 0 {
            if indexes.is_empty() {
                return Ok(Vec::new());
            }
            return Err(Error::InvalidInput(
                "stored hash index in empty tree".to_string(),
            ));
        }
        let plan = plan_hashes(&self.tree, self.height, indexes)?;
        let mut data: Vec<&[u8]> = Vec::with_capacity(plan.tiles.len());
        for tile in &plan.tiles {
            let body = self
                .tiles
                .get(tile)
                .ok_or_else(|| Error::MissingTile(tile.path()))?;
            let want = tile.w as usize * HASH_SIZE;
            if body.len() != want {
                return Err(Error::TileDataLength {
                    tile: tile.path(),
                    got: body.len(),
                    want,
                });
            }
            data.push(body);
        }
        let tile_data = |j: usize| -> Result<(&Tile, &[u8]), Error> {
            match (plan.tiles.get(j), data.get(j)) {
                (Some(t), Some(d)) => Ok((t, *d)),
                _ => Err(Error::Internal("tile plan index")),
            }
        };

        // The right-edge tiles must combine to the signed root. Their hashes
        // at the cover positions span every hash they hold, so the whole of
        // each such tile is authenticated by this check.
        let mut root: Option<Hash> = None;
        for (&x, &j) in plan.cover.iter().zip(&plan.cover_tile).rev() {
            let (tile, body) = tile_data(j)?;
            let h = hash_from_tile(tile, body, x)?;
            root = Some(match root {
                None => h,
                Some(right) => node_hash(h, right),
            });
        }
        if root != Some(self.tree.hash) {
            let tile = plan
                .cover_tile
                .last()
                .and_then(|&j| plan.tiles.get(j))
                .map(Tile::path)
                .unwrap_or_default();
            return Err(Error::InconsistentTile {
                tile,
                tree: self.tree,
            });
        }

        // Every other tile is full and must hash to the entry its (already
        // authenticated, earlier-planned) parent holds for it.
        let first_below = plan.cover_tile.iter().max().map_or(0, |j| j + 1);
        for i in first_below..plan.tiles.len() {
            let (tile, body) = tile_data(i)?;
            let parent =
                tile_parent(tile, 1, self.tree.n).ok_or(Error::Internal("tile without parent"))?;
            let position = plan.tiles.iter().position(|t| *t == parent);
            let j = match position {
                Some(j) if j < i => j,
                _ => return Err(Error::Internal("parent tile not checked before child")),
            };
            let (ptile, pbody) = tile_data(j)?;
            let level =
                u32::try_from(ptile.hash_level()).map_err(|_| Error::Internal("tile level"))?;
            let expected = hash_from_tile(ptile, pbody, stored_hash_index(level, tile.n))?;
            if tile_hash(body)? != expected {
                return Err(Error::InconsistentTile {
                    tile: tile.path(),
                    tree: self.tree,
                });
            }
        }

        indexes
            .iter()
            .zip(&plan.index_tile)
            .map(|(&x, &j)| {
                let (tile, body) = tile_data(j)?;
                hash_from_tile(tile, body, x)
            })
            .collect()
    }
}

/// Tiles needed to prove record `id` is in `tree` (see [`verify_record_inclusion`]).
pub fn tiles_for_record_proof(tree: &Tree, h: u32, id: u64) -> Result<Vec<Tile>, Error> {
    if id >= tree.n {
        return Err(Error::RecordNotInTree {
            id,
            tree_size: tree.n,
        });
    }
    tiles_for_hashes(tree, h, &[stored_hash_index(0, id)])
}

/// Checks that record `id` with text `record_text` is in the signed `tree`:
/// the record's leaf hash, read from tiles authenticated up to the root,
/// must equal `record_hash(record_text)` (x/mod `Client.checkRecord`).
pub fn verify_record_inclusion(
    tree: &Tree,
    h: u32,
    id: u64,
    record_text: &[u8],
    tiles: &TileSet,
) -> Result<(), Error> {
    if id >= tree.n {
        return Err(Error::RecordNotInTree {
            id,
            tree_size: tree.n,
        });
    }
    let leaf = TileHashReader::new(*tree, h, tiles).read_hashes(&[stored_hash_index(0, id)])?;
    if leaf.first() == Some(&record_hash(record_text)) {
        Ok(())
    } else {
        Err(Error::RecordMismatch { id })
    }
}

/// The older (smaller) and newer of two trees.
fn order_trees<'t>(a: &'t Tree, b: &'t Tree) -> (&'t Tree, &'t Tree) {
    if a.n <= b.n {
        (a, b)
    } else {
        (b, a)
    }
}

/// Tiles needed to check that two trees are consistent (see [`verify_consistency`]).
/// The tiles belong to the larger tree.
pub fn tiles_for_tree_proof(a: &Tree, b: &Tree, h: u32) -> Result<Vec<Tile>, Error> {
    let (older, newer) = order_trees(a, b);
    if older.n == newer.n || older.n == 0 {
        check_tree_args(newer, h)?;
        return Ok(Vec::new());
    }
    tiles_for_hashes(newer, h, &tlog::tree_cover_indexes(older.n)?)
}

/// Checks that `trusted` and `candidate` can belong to one append-only log:
/// the larger tree's authenticated tiles must imply the smaller tree's hash
/// at its size (x/mod `Client.checkTrees`). `tiles` holds
/// [`tiles_for_tree_proof`]. Inconsistent trees are proof of a fork:
/// [`Error::Fork`] with both heads (notes left empty; [`crate::TrustedLog`]
/// fills them in).
pub fn verify_consistency(
    trusted: &Tree,
    candidate: &Tree,
    h: u32,
    tiles: &TileSet,
) -> Result<(), Error> {
    let (older, newer) = order_trees(trusted, candidate);
    check_tree_args(newer, h)?;
    let consistent = if older.n == newer.n {
        older.hash == newer.hash
    } else if older.n == 0 {
        older.hash == tlog::empty_tree_hash()
    } else {
        tlog::tree_hash(older.n, &TileHashReader::new(*newer, h, tiles))? == older.hash
    };
    if consistent {
        return Ok(());
    }
    Err(Error::Fork(Box::new(crate::ForkEvidence {
        trusted: *trusted,
        trusted_note: String::new(),
        candidate: *candidate,
        candidate_note: String::new(),
    })))
}

/// The stored-hash indexes a tile holds (for a data tile: its leaves).
fn tile_indexes(tree: &Tree, tile: &Tile) -> Result<Vec<u64>, Error> {
    tile.check_shape()?;
    let hash_tile = tile.hash_tile();
    let level = hash_tile.hash_level();
    let outside = || Error::InvalidTile {
        tile: tile.path(),
        reason: "tile is outside the tree",
    };
    if level >= 64 {
        return Err(outside());
    }
    // Positions at this level that the tree has complete.
    let max = shr(tree.n, level);
    if tile.n > shr(max, u64::from(tile.h)) {
        return Err(outside());
    }
    let first = tile.n << tile.h;
    let end = first + u64::from(tile.w);
    if end > max {
        return Err(outside());
    }
    let level = level as u32;
    Ok((first..end).map(|n| stored_hash_index(level, n)).collect())
}

/// Tiles needed to authenticate `tile` itself against `tree`; the tile's own
/// body is passed separately to [`verify_tile`].
pub fn tiles_for_tile(tree: &Tree, tile: &Tile) -> Result<Vec<Tile>, Error> {
    check_tree_args(tree, tile.h)?;
    let indexes = tile_indexes(tree, tile)?;
    let mut needed = tiles_for_hashes(tree, tile.h, &indexes)?;
    needed.retain(|t| t != tile);
    Ok(needed)
}

/// Checks a tile body before it is relayed or cached: a hash tile must have
/// exactly `w·32` bytes, each hash equal to the one authenticated up to the
/// signed `tree`; a data tile must hold exactly `w` valid records whose
/// leaf hashes are authenticated the same way. This is what defeats forged
/// tiles (tiles consistent with each other but not with the signed root).
/// `others` holds the tiles listed by [`tiles_for_tile`].
pub fn verify_tile(tree: &Tree, tile: &Tile, data: &[u8], others: &TileSet) -> Result<(), Error> {
    check_tree_args(tree, tile.h)?;
    let indexes = tile_indexes(tree, tile)?;
    let expected: Vec<Hash> = if tile.is_data() {
        let records = split_data_tile(tile, data)?;
        if records.len() != indexes.len() {
            return Err(Error::InvalidTile {
                tile: tile.path(),
                reason: "wrong number of records",
            });
        }
        records.iter().map(|r| record_hash(r)).collect()
    } else {
        let want = tile.w as usize * HASH_SIZE;
        if data.len() != want {
            return Err(Error::TileDataLength {
                tile: tile.path(),
                got: data.len(),
                want,
            });
        }
        data.chunks_exact(HASH_SIZE)
            .filter_map(Hash::from_slice)
            .collect()
    };
    // The tile under test joins the others so that, when the plan needs the
    // very same tile, it is checked like any other.
    let mut tiles = others.clone();
    if !tile.is_data() {
        tiles.insert(*tile, data.to_vec());
    }
    let authenticated = TileHashReader::new(*tree, tile.h, &tiles).read_hashes(&indexes)?;
    if authenticated != expected {
        return Err(Error::InconsistentTile {
            tile: tile.path(),
            tree: *tree,
        });
    }
    Ok(())
}

/// Splits a data tile body into its record texts (each ends in a newline
/// and is followed by one blank line).
pub fn split_data_tile<'d>(tile: &Tile, data: &'d [u8]) -> Result<Vec<&'d [u8]>, Error> {
    let mut records = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(j) = rest.windows(2).position(|w| w == b"\n\n") else {
            return Err(Error::InvalidTile {
                tile: tile.path(),
                reason: "record not terminated by a blank line",
            });
        };
        let (text, after) = rest.split_at(j + 1);
        if !tlog::is_valid_record_text(text) {
            return Err(Error::MalformedRecord);
        }
        records.push(text);
        rest = after.get(1..).unwrap_or_default();
        if records.len() > tile.w as usize {
            return Err(Error::InvalidTile {
                tile: tile.path(),
                reason: "too many records",
            });
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::{stored_hashes, tree_hash};

    /// x/mod tile_test.go / tlog_test.go TestTilePath.
    #[test]
    fn tile_paths() {
        let cases: &[(&str, Option<Tile>)] = &[
            (
                "tile/4/0/001",
                Some(Tile {
                    h: 4,
                    l: 0,
                    n: 1,
                    w: 16,
                }),
            ),
            (
                "tile/4/0/001.p/5",
                Some(Tile {
                    h: 4,
                    l: 0,
                    n: 1,
                    w: 5,
                }),
            ),
            (
                "tile/3/5/x123/x456/078",
                Some(Tile {
                    h: 3,
                    l: 5,
                    n: 123456078,
                    w: 8,
                }),
            ),
            (
                "tile/3/5/x123/x456/078.p/2",
                Some(Tile {
                    h: 3,
                    l: 5,
                    n: 123456078,
                    w: 2,
                }),
            ),
            (
                "tile/1/0/x003/x057/500",
                Some(Tile {
                    h: 1,
                    l: 0,
                    n: 3057500,
                    w: 2,
                }),
            ),
            ("tile/3/5/123/456/078", None),
            ("tile/3/-1/123/456/078", None),
            (
                "tile/1/data/x003/x057/500",
                Some(Tile {
                    h: 1,
                    l: -1,
                    n: 3057500,
                    w: 2,
                }),
            ),
            ("tile/8/0/000.p/256", None),
            ("tile/8/0/000.p/0", None),
            ("tile/8/0/1", None),
            ("tile/08/0/001", None),
            ("tile/+8/0/001", None),
            ("tile/31/0/001", None),
            ("tile/0/0/001", None),
            ("tile/8/0/x000/001", None),
            ("tile/8/00/001", None),
            ("tile/8/0/001.p/05", None),
            ("tile/8/0/x999/x999/x999/x999/x999/x999/x999/999", None),
            ("tile/8/0", None),
            ("tiles/8/0/001", None),
        ];
        for (path, want) in cases {
            if let Some(t) = want {
                assert_eq!(t.path(), *path);
                assert_eq!(Tile::parse_path(path).as_ref(), Ok(t), "{path}");
            } else {
                assert!(Tile::parse_path(path).is_err(), "{path} parsed");
            }
        }
    }

    /// Port of x/mod tile_test.go TestNewTilesForSize (height 10).
    #[test]
    fn new_tiles_for_size() {
        for (old, new, want) in [
            (1, 1, 0),
            (100, 101, 1),
            (1023, 1025, 3),
            (1024, 1030, 1),
            (1030, 2000, 1),
            (1030, 10000, 10),
            (49516517, 49516586, 3),
        ] {
            assert_eq!(new_tiles(10, old, new).unwrap().len(), want, "{old}-{new}");
        }
    }

    struct TestLog {
        n: u64,
        hashes: Vec<Hash>,
        leaves: Vec<Hash>,
        records: Vec<Vec<u8>>,
    }

    impl TestLog {
        fn new() -> TestLog {
            TestLog {
                n: 0,
                hashes: Vec::new(),
                leaves: Vec::new(),
                records: Vec::new(),
            }
        }
        fn add(&mut self, data: &[u8]) {
            let new = stored_hashes(self.n, data, &self.hashes).unwrap();
            self.hashes.extend(new);
            self.leaves.push(record_hash(data));
            self.records.push(data.to_vec());
            self.n += 1;
        }
        fn tree(&self) -> Tree {
            Tree {
                n: self.n,
                hash: tree_hash(self.n, &self.hashes).unwrap(),
            }
        }
        fn tile_data(&self, t: &Tile) -> Vec<u8> {
            if t.is_data() {
                let first = (t.n << t.h) as usize;
                let mut out = Vec::new();
                for r in &self.records[first..first + t.w as usize] {
                    out.extend_from_slice(r);
                    out.push(b'\n');
                }
                return out;
            }
            read_tile_data(t, &self.hashes).unwrap()
        }
        fn fetch(&self, tiles: &[Tile]) -> TileSet {
            let mut set = TileSet::new();
            for t in tiles {
                set.insert(*t, self.tile_data(t));
            }
            set
        }
    }

    /// Port of x/mod TestTree (tile part) and TestTileHashReader with height
    /// 2: every stored hash reads back through authenticated tiles; zeroing
    /// any single hash in any tile used is detected.
    #[test]
    fn tile_hash_reader_like_x_mod() {
        let mut log = TestLog::new();
        let mut trees = Vec::new();
        for i in 0..60u64 {
            log.add(format!("leaf {i}\n").as_bytes());
            let tree = log.tree();
            trees.push(tree);
            // new_tiles partitions what the log publishes.
            for t in new_tiles(2, i, i + 1).unwrap() {
                let data = log.tile_data(&t);
                assert_eq!(data.len(), t.w as usize * HASH_SIZE);
            }
            for j in 0..stored_hash_index(0, tree.n) {
                let t = tile_for_index(2, j).unwrap();
                assert_eq!(
                    hash_from_tile(&t, &log.tile_data(&t), j).unwrap(),
                    log.hashes[j as usize]
                );
                let needed = tiles_for_hashes(&tree, 2, &[j]).unwrap();
                let set = log.fetch(&needed);
                let got = TileHashReader::new(tree, 2, &set)
                    .read_hashes(&[j])
                    .unwrap();
                assert_eq!(got, vec![log.hashes[j as usize]]);
                // Corrupt each needed tile at each hash position: always caught.
                for t in &needed {
                    for pos in 0..t.w as usize {
                        let mut bad = set.clone();
                        let mut data = log.tile_data(t);
                        data[pos * HASH_SIZE] ^= 1;
                        bad.insert(*t, data);
                        assert!(
                            TileHashReader::new(tree, 2, &bad)
                                .read_hashes(&[j])
                                .is_err(),
                            "tree {} index {j} tile {} pos {pos} corruption not detected",
                            tree.n,
                            t.path()
                        );
                    }
                }
            }
            // Record inclusion and consistency with every earlier tree.
            for id in 0..tree.n {
                let set = log.fetch(&tiles_for_record_proof(&tree, 2, id).unwrap());
                verify_record_inclusion(&tree, 2, id, &log.records[id as usize], &set).unwrap();
                assert_eq!(
                    verify_record_inclusion(&tree, 2, id, b"other\n", &set),
                    Err(Error::RecordMismatch { id })
                );
            }
            for old in &trees {
                let set = log.fetch(&tiles_for_tree_proof(old, &tree, 2).unwrap());
                assert_eq!(verify_consistency(old, &tree, 2, &set), Ok(()));
                assert_eq!(verify_consistency(&tree, old, 2, &set), Ok(()));
                let forked = Tree {
                    n: old.n,
                    hash: record_hash(b"fork"),
                };
                assert!(verify_consistency(&forked, &tree, 2, &set)
                    .unwrap_err()
                    .is_fork());
            }
        }
    }

    #[test]
    fn verify_tile_accepts_honest_and_rejects_forged() {
        let mut log = TestLog::new();
        for i in 0..23u64 {
            log.add(format!("rec {i}\n").as_bytes());
        }
        let tree = log.tree();
        let mut all = Vec::new();
        all.extend(new_tiles(2, 0, tree.n).unwrap());
        let data_tiles: Vec<Tile> = new_tiles(2, 0, tree.n)
            .unwrap()
            .into_iter()
            .filter(|t| t.l == 0)
            .map(|t| Tile { l: -1, ..t })
            .collect();
        all.extend(data_tiles);
        // Older partial tiles too (a tile as published at an earlier size).
        all.push(Tile {
            h: 2,
            l: 0,
            n: 5,
            w: 1,
        });
        for t in &all {
            let others = log.fetch(&tiles_for_tile(&tree, t).unwrap());
            let data = log.tile_data(t);
            verify_tile(&tree, t, &data, &others).unwrap_or_else(|e| panic!("{}: {e}", t.path()));
            let mut forged = data.clone();
            if t.is_data() {
                forged[0] ^= 0x20;
            } else {
                let last = forged.len() - 1;
                forged[last] ^= 1;
            }
            assert!(
                verify_tile(&tree, t, &forged, &others).is_err(),
                "forged {} accepted",
                t.path()
            );
            let short = &data[..data.len() - 1];
            assert!(
                verify_tile(&tree, t, short, &others).is_err(),
                "short {} accepted",
                t.path()
            );
        }
        // A tile beyond the tree is refused.
        let beyond = Tile {
            h: 2,
            l: 0,
            n: 6,
            w: 1,
        };
        assert!(tiles_for_tile(&tree, &beyond).is_err());
    }

    #[test]
    fn partial_tile_served_from_full_tile() {
        let mut log = TestLog::new();
        for i in 0..9u64 {
            log.add(format!("r{i}\n").as_bytes());
        }
        let full = Tile {
            h: 2,
            l: 0,
            n: 1,
            w: 4,
        };
        let mut set = TileSet::new();
        set.insert(full, log.tile_data(&full));
        let partial = Tile { w: 2, ..full };
        assert_eq!(set.get(&partial), Some(&log.tile_data(&partial)[..]));
        // A full tile of the wrong size does not stand in for partials.
        set.insert(full, vec![0; 5]);
        assert_eq!(set.get(&partial), None);
    }
}

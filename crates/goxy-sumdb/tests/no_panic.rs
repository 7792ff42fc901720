//! Parsers and verifiers return errors, never panic, on any input: random
//! bytes, random coordinates, and valid data with random damage.
//! (Debug builds also trap integer overflow, so this checks the arithmetic.)

use goxy_sumdb::tlog::{self, Hash, Tree};
use goxy_sumdb::{lookup, note, tile, Signer, Tile, TileSet, TrustedLog, Verifier, Verifiers};
use proptest::prelude::*;

const SKEY: &str =
    "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk";

/// A small signed log to damage.
struct Log {
    hashes: Vec<Hash>,
    records: Vec<Vec<u8>>,
    signer: Signer,
}

impl Log {
    fn new(count: u64) -> Log {
        let mut log = Log {
            hashes: Vec::new(),
            records: Vec::new(),
            signer: Signer::parse(SKEY).unwrap(),
        };
        for i in 0..count {
            let text = format!(
                "example.com/m{i} v1.0.0 h1:{}\nexample.com/m{i} v1.0.0/go.mod h1:{}\n",
                tlog::record_hash(&i.to_be_bytes()),
                tlog::record_hash(&(i + 1).to_be_bytes())
            );
            log.hashes
                .extend(tlog::stored_hashes(i, text.as_bytes(), &log.hashes).unwrap());
            log.records.push(text.into_bytes());
        }
        log
    }
    fn tree(&self, n: u64) -> Tree {
        Tree {
            n,
            hash: tlog::tree_hash(n, &self.hashes).unwrap(),
        }
    }
    fn note(&self, n: u64) -> Vec<u8> {
        note::sign(&tlog::format_tree(&self.tree(n)), &[&self.signer]).unwrap()
    }
    fn body(&self, id: u64, n: u64) -> Vec<u8> {
        let mut b = tlog::format_record(id, &self.records[id as usize]).unwrap();
        b.extend(self.note(n));
        b
    }
    fn fetch(&self, tiles: &[Tile]) -> TileSet {
        let mut set = TileSet::new();
        for t in tiles {
            if let Ok(d) = tile::read_tile_data(t, &self.hashes) {
                set.insert(*t, d);
            }
        }
        set
    }
}

fn shared_log() -> &'static Log {
    static LOG: std::sync::OnceLock<Log> = std::sync::OnceLock::new();
    LOG.get_or_init(|| Log::new(340))
}

fn verifiers() -> Verifiers {
    Verifiers::from(Verifier::parse(&Signer::parse(SKEY).unwrap().verifier_key()).unwrap())
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (
            any::<usize>(),
            prop_oneof![Just(b'\n'), Just(b' '), Just(b'+'), any::<u8>()]
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn damage(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = data.len();
        match *e {
            Edit::Flip(i, b) if len > 0 => data[i % len] ^= b | 1,
            Edit::Insert(i, b) => data.insert(i % (len + 1), b),
            Edit::Delete(i) if len > 0 => {
                data.remove(i % len);
            }
            Edit::Truncate(i) => data.truncate(i % (len + 1)),
            _ => {}
        }
    }
    data
}

/// Any u64, with the edges over-represented.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(i64::MAX as u64),
        Just(1u64 << 48),
        Just((1u64 << 48) + 1),
        Just(0u64),
        0u64..2000,
    ]
}

fn tile_strategy() -> impl Strategy<Value = Tile> {
    (
        0u32..40,
        -3i32..70,
        edgy_u64(),
        prop_oneof![any::<u32>(), Just(u32::MAX), 0u32..300],
    )
        .prop_map(|(h, l, n, w)| Tile { h, l, n, w })
}

fn small_tile_strategy() -> impl Strategy<Value = Tile> {
    (1u32..=8, -1i32..3, 0u64..8, 1u32..=256).prop_map(|(h, l, n, w)| Tile {
        h,
        l,
        n,
        w: w.min(1 << h),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let v = verifiers();
        let _ = note::open(&data, &v);
        let _ = tlog::parse_tree(&data);
        let _ = tlog::parse_record(&data);
        let _ = lookup::parse_lookup_response(&data);
        let _ = lookup::record_hashes("example.com/m", "v1.0.0", &data);
        let s = String::from_utf8_lossy(&data);
        let _ = Tile::parse_path(&s);
        let _ = Verifier::parse(&s);
        let _ = Signer::parse(&s);
        let _ = Hash::parse(&s);
        let _ = TrustedLog::new(v).plan_lookup("example.com/m", "v1.0.0", &data);
    }

    #[test]
    fn tile_path_like_strings(parts in proptest::collection::vec(
        prop_oneof![Just("tile".to_string()), Just("data".to_string()), Just("x001".to_string()),
                    Just("000.p".to_string()), Just("".to_string()), "[0-9x.p+-]{0,25}"], 0..8)) {
        let path = parts.join("/");
        if let Ok(t) = Tile::parse_path(&path) {
            prop_assert_eq!(t.path(), path);
        }
    }

    #[test]
    fn random_coordinates(t in tile_strategy(), index in edgy_u64(), h in prop_oneof![0u32..40, Just(u32::MAX)],
                          n in edgy_u64(), hash in any::<[u8; 32]>(),
                          data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = tlog::split_stored_hash_index(index);
        let _ = tlog::stored_hash_index(h, n);
        let _ = tlog::stored_hash_count(n);
        let _ = tile::tile_for_index(h, index);
        let _ = tile::hash_from_tile(&t, &data, index);
        let _ = t.path();
        let tree = Tree { n, hash: Hash(hash) };
        let small = Tree { n: n % 5000, hash: Hash(hash) };
        for tree in [tree, small] {
            let _ = tile::tiles_for_tile(&tree, &t);
            let _ = tile::verify_tile(&tree, &t, &data, &TileSet::new());
            let _ = tile::tiles_for_record_proof(&tree, h, index % tree.n.saturating_add(1));
            let _ = tile::tiles_for_hashes(&tree, h, &[index, index % 100]);
            let _ = tile::tiles_for_tree_proof(&tree, &Tree { n: index, hash: Hash(hash) }, h);
            let _ = tlog::check_record(&[Hash(hash)], tree.n, tree.hash, index, Hash(hash));
            let _ = tlog::check_tree(&[Hash(hash); 3], tree.n, tree.hash, index, Hash(hash));
        }
        let _ = tile::new_tiles(h, index % 100_000, n % 100_000);
        let storage = vec![Hash(hash); 50];
        let _ = tile::read_tile_data(&t, &storage);
        let _ = tlog::prove_record(n, index, &storage);
        let _ = tlog::prove_tree(n, index, &storage);
        let _ = tlog::tree_hash(n % 100, &storage);
        let _ = tlog::tree_hash(n, &storage);
    }

    /// Valid lookups, notes and tiles with random damage, through the whole
    /// verification path; undamaged inputs must verify.
    #[test]
    fn damaged_lookups(id in 0u64..300, extra in 0u64..40, edits in proptest::collection::vec(edit_strategy(), 0..4),
                       tile_edits in proptest::collection::vec(edit_strategy(), 0..3), which in any::<usize>()) {
        let log = shared_log();
        let n = (id + 1 + extra).min(340);
        let mut trust = TrustedLog::with_trusted_note(verifiers(), &log.note(260)).unwrap();
        let body = damage(log.body(id, n), &edits);
        let Ok(plan) = trust.plan_lookup("example.com/m", "v1.0.0", &body) else { return Ok(()) };
        let mut tiles = log.fetch(&plan.tiles);
        if !plan.tiles.is_empty() && !tile_edits.is_empty() {
            let t = plan.tiles[which % plan.tiles.len()];
            let data = tiles.get(&t).map(|d| d.to_vec()).unwrap_or_default();
            tiles.insert(t, damage(data, &tile_edits));
        }
        let module = format!("example.com/m{id}");
        let plan = goxy_sumdb::LookupPlan { module: module.clone(), ..plan };
        let result = trust.finish_lookup(plan, &tiles);
        if edits.is_empty() && tile_edits.is_empty() {
            prop_assert!(result.is_ok(), "{:?}", result);
        }
    }

    #[test]
    fn damaged_tiles(t in small_tile_strategy(), edits in proptest::collection::vec(edit_strategy(), 0..3)) {
        let log = shared_log();
        let tree = log.tree(340);
        let Ok(needed) = tile::tiles_for_tile(&tree, &t) else { return Ok(()) };
        let others = log.fetch(&needed);
        let data = if t.is_data() {
            let first = (t.n << t.h) as usize;
            let mut out = Vec::new();
            for r in log.records.iter().skip(first).take(t.w as usize) {
                out.extend_from_slice(r);
                out.push(b'\n');
            }
            out
        } else {
            tile::read_tile_data(&t, &log.hashes).unwrap_or_default()
        };
        let damaged = damage(data.clone(), &edits);
        let result = tile::verify_tile(&tree, &t, &damaged, &others);
        if damaged == data {
            prop_assert!(result.is_ok(), "{}: {:?}", t.path(), result);
        }
        if damaged != data {
            prop_assert!(result.is_err(), "damaged {} accepted", t.path());
        }
    }
}

//! Frequent itemsets as plain data, and the support index that rules and filters look up.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use crate::ItemId;

/// A set of items (ids ascending) and the number of transactions that contain all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Itemset {
    pub items: Vec<ItemId>,
    pub count: u32,
}

/// Which frequent itemsets to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemsetKind {
    /// Every frequent itemset.
    #[default]
    All,
    /// Frequent itemsets with no superset of the same support (a lossless summary).
    Closed,
    /// Frequent itemsets with no frequent superset (the border of the frequent sets).
    Maximal,
}

/// The result of mining: itemsets plus what is needed to turn counts into supports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrequentItemsets {
    pub n_transactions: usize,
    /// The smallest count that was frequent: `ceil(min_support * n_transactions)`, as mlxtend.
    pub min_count: u32,
    pub kind: ItemsetKind,
    pub itemsets: Vec<Itemset>,
    /// `true` when mining stopped at the cap, so `itemsets` is an incomplete list.
    pub truncated: bool,
}

impl FrequentItemsets {
    /// The fraction of transactions that contain the itemset, computed as mlxtend does
    /// (`count / n`), so supports compare bit for bit.
    pub fn support(&self, itemset: &Itemset) -> f64 {
        itemset.count as f64 / self.n_transactions as f64
    }
}

/// FxHash (rustc's hasher): item ids are small integers, so a multiply-rotate hash is both
/// fast and well spread, and SipHash's flooding resistance buys nothing here.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let mut rest = [0u8; 8];
        rest[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.write_u64(u64::from_le_bytes(rest));
    }
    fn write_u128(&mut self, i: u128) {
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    /// The state rotated so that its well-mixed high bits land in the low ones, which
    /// hashbrown takes as the bucket index: a multiply carries entropy only upwards, so
    /// the raw state's low bits depend on the low bits of the input alone, and strings that
    /// share their first bytes (`c1`, `c10`, `c100`, …, a case-id column) would fall into a
    /// few hundred buckets and make building the item dictionary quadratic. rustc-hash 2
    /// finishes the same way.
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// Counts of itemsets by their items, for the subset look-ups of rules and filters.
/// Complete only when mining was not truncated (every subset of a frequent set is frequent).
///
/// When at most 128 distinct items occur in the itemsets (the usual case: a cohort table
/// has tens of columns), an itemset is keyed by a 128-bit set, so a look-up hashes two
/// words and compares one integer; otherwise by its item slice.
pub(crate) struct SupportIndex {
    bit_of_item: Vec<u8>,
    keys: Keys,
}

type FxMap<K> = HashMap<K, (u32, usize), BuildHasherDefault<FxHasher>>;

enum Keys {
    Bits(FxMap<u128>),
    Slices(FxMap<Box<[ItemId]>>),
}

const NO_BIT: u8 = u8::MAX;

impl SupportIndex {
    pub(crate) fn new(itemsets: &[Itemset]) -> SupportIndex {
        let size = itemsets
            .iter()
            .flat_map(|set| set.items.iter())
            .max()
            .map_or(0, |&max| max as usize + 1);
        let mut bit_of_item = vec![NO_BIT; size];
        let mut distinct = 0usize;
        'scan: for set in itemsets {
            for &item in &set.items {
                if bit_of_item[item as usize] == NO_BIT {
                    if distinct == 128 {
                        distinct += 1;
                        break 'scan;
                    }
                    bit_of_item[item as usize] = distinct as u8;
                    distinct += 1;
                }
            }
        }
        let keys = if distinct <= 128 {
            let mut map = FxMap::with_capacity_and_hasher(itemsets.len(), Default::default());
            for (i, set) in itemsets.iter().enumerate() {
                map.insert(bits(&bit_of_item, &set.items), (set.count, i));
            }
            Keys::Bits(map)
        } else {
            let mut map = FxMap::with_capacity_and_hasher(itemsets.len(), Default::default());
            for (i, set) in itemsets.iter().enumerate() {
                map.insert(set.items.clone().into_boxed_slice(), (set.count, i));
            }
            Keys::Slices(map)
        };
        SupportIndex { bit_of_item, keys }
    }

    /// The count of a frequent itemset (items ascending).
    pub(crate) fn count(&self, items: &[ItemId]) -> Option<u32> {
        self.entry(items).map(|(count, _)| count)
    }

    /// The count of a frequent itemset and its position in the list the index was built from.
    pub(crate) fn entry(&self, items: &[ItemId]) -> Option<(u32, usize)> {
        match &self.keys {
            Keys::Bits(map) => {
                let mut key = 0u128;
                for &i in items {
                    match self.bit_of_item.get(i as usize) {
                        Some(&bit) if bit != NO_BIT => key |= 1 << bit,
                        _ => return None,
                    }
                }
                map.get(&key).copied()
            }
            Keys::Slices(map) => map.get(items).copied(),
        }
    }
}

fn bits(bit_of_item: &[u8], items: &[ItemId]) -> u128 {
    items
        .iter()
        .fold(0u128, |key, &i| key | 1 << bit_of_item[i as usize])
}

/// Keeps the closed or maximal itemsets of a complete list of frequent itemsets.
///
/// It suffices to look at one-item extensions: if `X ⊂ Y` has the same count as `Y`, every
/// set between them does too, and if any superset is frequent, a one-item extension is.
/// So each itemset marks its immediate subsets, which costs one look-up per item.
pub(crate) fn filter_kind(itemsets: Vec<Itemset>, kind: ItemsetKind) -> Vec<Itemset> {
    if kind == ItemsetKind::All {
        return itemsets;
    }
    let index = SupportIndex::new(&itemsets);
    let mut keep = vec![true; itemsets.len()];
    let mut subset = Vec::new();
    for set in &itemsets {
        for skip in 0..set.items.len() {
            if set.items.len() == 1 {
                break;
            }
            subset.clear();
            subset.extend(
                set.items
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != skip)
                    .map(|(_, &id)| id),
            );
            if let Some((count, position)) = index.entry(&subset) {
                let dominated = match kind {
                    ItemsetKind::Closed => count == set.count,
                    _ => true,
                };
                if dominated {
                    keep[position] = false;
                }
            }
        }
    }
    itemsets
        .into_iter()
        .zip(keep)
        .filter_map(|(set, keep)| keep.then_some(set))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    /// hashbrown picks the bucket from a hash's low bits and the tag from its top 7. Case
    /// ids `c0` … `c99999` must spread over both as random hashes would (about 70,000 of
    /// 2^17 buckets, all 128 tags), or building the dictionary of a case-id column probes
    /// ever longer runs: with the raw state, they landed in a few hundred buckets.
    #[test]
    fn case_ids_spread_over_buckets_and_tags() {
        let build = BuildHasherDefault::<FxHasher>::default();
        let hashes: Vec<u64> = (0..100_000)
            .map(|i| build.hash_one(format!("c{i}").as_str()))
            .collect();
        let buckets: HashSet<u64> = hashes.iter().map(|h| h & ((1 << 17) - 1)).collect();
        let tags: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(buckets.len() > 60_000, "{} buckets", buckets.len());
        assert_eq!(tags.len(), 128);
    }
}

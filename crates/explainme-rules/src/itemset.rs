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
        for &b in bytes {
            self.write_u64(b as u64);
        }
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
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Counts of itemsets by their items, for the subset look-ups of rules and filters.
/// Complete only when mining was not truncated (every subset of a frequent set is frequent).
pub(crate) struct SupportIndex {
    counts: HashMap<Box<[ItemId]>, (u32, usize), BuildHasherDefault<FxHasher>>,
}

impl SupportIndex {
    pub(crate) fn new(itemsets: &[Itemset]) -> SupportIndex {
        let mut counts = HashMap::with_capacity_and_hasher(itemsets.len(), Default::default());
        for (i, set) in itemsets.iter().enumerate() {
            counts.insert(set.items.clone().into_boxed_slice(), (set.count, i));
        }
        SupportIndex { counts }
    }

    /// The count of a frequent itemset (items ascending).
    pub(crate) fn count(&self, items: &[ItemId]) -> Option<u32> {
        self.entry(items).map(|(count, _)| count)
    }

    /// The count of a frequent itemset and its position in the list the index was built from.
    pub(crate) fn entry(&self, items: &[ItemId]) -> Option<(u32, usize)> {
        self.counts.get(items).copied()
    }
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

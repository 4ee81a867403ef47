//! FP-growth (Han, Pei & Yin 2000): frequent itemsets without candidate generation.
//!
//! Items are recoded to dense ranks in order of decreasing frequency, transactions are
//! inserted into a prefix tree whose nodes live in flat arrays (an arena indexed by `u32`),
//! and each item's conditional pattern base is read off by walking parent links. Trees of
//! every recursion depth are kept in a pool and reused, so mining allocates almost nothing
//! after the first descent. A tree that is a single path is enumerated directly.
//!
//! Closed and maximal itemsets are filtered from the complete list (see
//! [`crate::itemset`]), which keeps this module one algorithm with one invariant: it reports
//! every itemset whose count reaches `min_count`, each exactly once.

use crate::error::positive_fraction;
use crate::itemset::{FrequentItemsets, Itemset, ItemsetKind, filter_kind};
use crate::{Error, ItemId, Result, Transactions};

/// Hyperparameters of [`FpGrowth`], checked when mining.
///
/// Defaults: `min_support` 0.1, `kind` [`ItemsetKind::All`], no `max_len`,
/// `max_itemsets` 1,000,000.
///
/// ```
/// use explainme_rules::{FpGrowth, ItemsetKind, Transactions};
///
/// let columns = ["fat".to_string(), "malignant".to_string()];
/// let rows = [[Some("present"), Some("no")], [Some("present"), Some("no")], [None, Some("yes")]];
/// let t = Transactions::from_rows(&columns, rows).unwrap();
/// let found = FpGrowth::params().min_support(0.5).mine(&t).unwrap();
/// assert_eq!(found.itemsets.len(), 3); // {fat=present}, {malignant=no}, and both
/// let maximal = FpGrowth::params().min_support(0.5).kind(ItemsetKind::Maximal).mine(&t).unwrap();
/// assert_eq!(maximal.itemsets.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FpGrowthParams {
    min_support: f64,
    kind: ItemsetKind,
    max_len: Option<usize>,
    max_itemsets: usize,
}

/// The FP-growth miner; start from [`FpGrowth::params`].
#[derive(Debug, Clone, Copy)]
pub struct FpGrowth;

impl FpGrowth {
    pub fn params() -> FpGrowthParams {
        FpGrowthParams {
            min_support: 0.1,
            kind: ItemsetKind::All,
            max_len: None,
            max_itemsets: 1_000_000,
        }
    }
}

impl FpGrowthParams {
    /// Minimum fraction of transactions, in (0, 1]; an itemset is frequent when its count
    /// reaches `ceil(min_support * n)`, mlxtend's rule.
    pub fn min_support(mut self, min_support: f64) -> Self {
        self.min_support = min_support;
        self
    }

    pub fn kind(mut self, kind: ItemsetKind) -> Self {
        self.kind = kind;
        self
    }

    /// Longest itemset to report (mlxtend's `max_len`).
    pub fn max_len(mut self, max_len: Option<usize>) -> Self {
        self.max_len = max_len;
        self
    }

    /// Cap on the number of itemsets, so a tiny support cannot exhaust memory. Mining
    /// [`ItemsetKind::All`] stops there and sets `truncated`; closed and maximal sets need
    /// the complete list and fail with [`Error::TooManyItemsets`] instead.
    pub fn max_itemsets(mut self, max_itemsets: usize) -> Self {
        self.max_itemsets = max_itemsets;
        self
    }

    pub fn mine(&self, transactions: &Transactions) -> Result<FrequentItemsets> {
        let min_support = positive_fraction("min_support", self.min_support)?;
        if transactions.is_empty() {
            return Err(Error::NoTransactions);
        }
        if self.max_len == Some(0) {
            return Err(Error::TooSmall {
                what: "max_len",
                min: 1,
                value: 0,
            });
        }
        let n = transactions.len();
        let min_count = ((min_support * n as f64).ceil() as u32).max(1);
        let (itemsets, truncated) = mine_all(
            transactions,
            min_count,
            self.max_len.unwrap_or(usize::MAX),
            self.max_itemsets,
        );
        if truncated && self.kind != ItemsetKind::All {
            return Err(Error::TooManyItemsets {
                limit: self.max_itemsets,
            });
        }
        Ok(FrequentItemsets {
            n_transactions: n,
            min_count,
            kind: self.kind,
            itemsets: filter_kind(itemsets, self.kind),
            truncated,
        })
    }
}

const NONE: u32 = u32::MAX;

/// An FP-tree in flat arrays. Node 0 is the root; `head[rank]` starts the list of nodes
/// carrying that rank, linked through `next_same`.
#[derive(Default)]
struct Tree {
    rank: Vec<u32>,
    count: Vec<u32>,
    parent: Vec<u32>,
    first_child: Vec<u32>,
    next_sibling: Vec<u32>,
    next_same: Vec<u32>,
    head: Vec<u32>,
    /// Count of each rank in this tree (the sum over its node list).
    support: Vec<u32>,
    /// Whether some node has two children; a tree without is a single path.
    branching: bool,
}

impl Tree {
    fn reset(&mut self, n_ranks: usize) {
        for v in [
            &mut self.rank,
            &mut self.count,
            &mut self.parent,
            &mut self.first_child,
            &mut self.next_sibling,
            &mut self.next_same,
        ] {
            v.clear();
        }
        self.head.clear();
        self.head.resize(n_ranks, NONE);
        self.support.clear();
        self.support.resize(n_ranks, 0);
        self.branching = false;
        self.push_node(NONE, 0, NONE);
    }

    fn push_node(&mut self, rank: u32, count: u32, parent: u32) -> u32 {
        let id = self.rank.len() as u32;
        self.rank.push(rank);
        self.count.push(count);
        self.parent.push(parent);
        self.first_child.push(NONE);
        self.next_sibling.push(NONE);
        self.next_same.push(NONE);
        id
    }

    /// Inserts a path of ranks, ascending from the root, seen `count` times.
    fn insert(&mut self, path: &[u32], count: u32) {
        let mut node = 0u32;
        for &rank in path {
            self.support[rank as usize] += count;
            let mut child = self.first_child[node as usize];
            while child != NONE && self.rank[child as usize] != rank {
                child = self.next_sibling[child as usize];
            }
            if child == NONE {
                let first = self.first_child[node as usize];
                self.branching |= first != NONE;
                child = self.push_node(rank, count, node);
                self.next_sibling[child as usize] = first;
                self.first_child[node as usize] = child;
                self.next_same[child as usize] = self.head[rank as usize];
                self.head[rank as usize] = child;
            } else {
                self.count[child as usize] += count;
            }
            node = child;
        }
    }
}

/// The recursion's state: output, limits, and the rank → item map.
struct Miner<'a> {
    min_count: u32,
    max_len: usize,
    max_itemsets: usize,
    item_of_rank: &'a [ItemId],
    prefix: Vec<u32>,
    out: Vec<Itemset>,
    truncated: bool,
    pool: Vec<Tree>,
    path: Vec<u32>,
    local: Vec<u32>,
}

impl Miner<'_> {
    /// Reports `prefix ∪ extra`; returns `false` once the cap is reached.
    fn emit(&mut self, extra: &[u32], count: u32) -> bool {
        if self.out.len() >= self.max_itemsets {
            self.truncated = true;
            return false;
        }
        let mut items: Vec<ItemId> = self
            .prefix
            .iter()
            .chain(extra)
            .map(|&r| self.item_of_rank[r as usize])
            .collect();
        items.sort_unstable();
        self.out.push(Itemset { items, count });
        true
    }

    /// Mines a tree whose ranks are all below `n_ranks`, under the current prefix.
    fn mine(&mut self, tree: &Tree, n_ranks: usize) -> bool {
        if !tree.branching {
            return self.mine_single_path(tree);
        }
        let depth = self.prefix.len();
        for rank in (0..n_ranks).rev() {
            let support = tree.support[rank];
            if support < self.min_count {
                continue;
            }
            if !self.emit(&[rank as u32], support) {
                return false;
            }
            if depth + 1 >= self.max_len || rank == 0 {
                continue;
            }
            let mut cond = self.pool.pop().unwrap_or_default();
            self.conditional_tree(tree, rank, &mut cond);
            let keep_going = if cond.rank.len() > 1 {
                self.prefix.push(rank as u32);
                let ok = self.mine(&cond, rank);
                self.prefix.pop();
                ok
            } else {
                true
            };
            self.pool.push(cond);
            if !keep_going {
                return false;
            }
        }
        true
    }

    /// Builds the conditional FP-tree of `rank`: its prefix paths, restricted to the ranks
    /// that stay frequent together with it.
    fn conditional_tree(&mut self, tree: &Tree, rank: usize, cond: &mut Tree) {
        self.local.clear();
        self.local.resize(rank, 0);
        let mut node = tree.head[rank];
        while node != NONE {
            let count = tree.count[node as usize];
            let mut up = tree.parent[node as usize];
            while up != 0 {
                self.local[tree.rank[up as usize] as usize] += count;
                up = tree.parent[up as usize];
            }
            node = tree.next_same[node as usize];
        }
        cond.reset(rank);
        let mut node = tree.head[rank];
        while node != NONE {
            let count = tree.count[node as usize];
            self.path.clear();
            let mut up = tree.parent[node as usize];
            while up != 0 {
                let r = tree.rank[up as usize];
                if self.local[r as usize] >= self.min_count {
                    self.path.push(r);
                }
                up = tree.parent[up as usize];
            }
            self.path.reverse();
            cond.insert(&self.path, count);
            node = tree.next_same[node as usize];
        }
    }

    /// A single path of nodes `p0 → … → pk`: every non-empty subset is frequent, with the
    /// count of its deepest node.
    fn mine_single_path(&mut self, tree: &Tree) -> bool {
        let mut nodes = Vec::new();
        let mut node = tree.first_child[0];
        while node != NONE && tree.count[node as usize] >= self.min_count {
            nodes.push((tree.rank[node as usize], tree.count[node as usize]));
            node = tree.first_child[node as usize];
        }
        let room = self.max_len.saturating_sub(self.prefix.len());
        let mut chosen = Vec::new();
        for deepest in 0..nodes.len() {
            if !self.subsets_ending_at(&nodes, deepest, room, &mut chosen) {
                return false;
            }
        }
        true
    }

    /// Emits every subset of `nodes[..deepest]` plus `nodes[deepest]`, of at most `room`
    /// items.
    fn subsets_ending_at(
        &mut self,
        nodes: &[(u32, u32)],
        deepest: usize,
        room: usize,
        chosen: &mut Vec<u32>,
    ) -> bool {
        let (rank, count) = nodes[deepest];
        chosen.push(rank);
        let mut ok = chosen.len() > room || self.emit(chosen, count);
        if ok && chosen.len() < room {
            for earlier in (0..deepest).rev() {
                chosen.push(nodes[earlier].0);
                ok = self.extend_subsets(nodes, earlier, room, count, chosen);
                chosen.pop();
                if !ok {
                    break;
                }
            }
        }
        chosen.pop();
        ok
    }

    /// `chosen` already holds the deepest node and `nodes[below]`; emits it and its
    /// extensions by nodes above `below`.
    fn extend_subsets(
        &mut self,
        nodes: &[(u32, u32)],
        below: usize,
        room: usize,
        count: u32,
        chosen: &mut Vec<u32>,
    ) -> bool {
        if !self.emit(chosen, count) {
            return false;
        }
        if chosen.len() < room {
            for earlier in (0..below).rev() {
                chosen.push(nodes[earlier].0);
                let ok = self.extend_subsets(nodes, earlier, room, count, chosen);
                chosen.pop();
                if !ok {
                    return false;
                }
            }
        }
        true
    }
}

/// Every itemset whose count reaches `min_count`, and whether the cap cut the list short.
fn mine_all(
    transactions: &Transactions,
    min_count: u32,
    max_len: usize,
    max_itemsets: usize,
) -> (Vec<Itemset>, bool) {
    let n_items = transactions.items().len();
    let mut frequency = vec![0u32; n_items];
    for row in transactions.rows() {
        for &item in row {
            frequency[item as usize] += 1;
        }
    }
    let mut item_of_rank: Vec<ItemId> = (0..n_items as ItemId)
        .filter(|&i| frequency[i as usize] >= min_count)
        .collect();
    item_of_rank.sort_by_key(|&i| (std::cmp::Reverse(frequency[i as usize]), i));
    let mut rank_of_item = vec![NONE; n_items];
    for (rank, &item) in item_of_rank.iter().enumerate() {
        rank_of_item[item as usize] = rank as u32;
    }

    // Identical transactions are inserted once with their multiplicity.
    let mut paths: Vec<Vec<u32>> = transactions
        .rows()
        .iter()
        .map(|row| {
            let mut path: Vec<u32> = row
                .iter()
                .map(|&i| rank_of_item[i as usize])
                .filter(|&r| r != NONE)
                .collect();
            path.sort_unstable();
            path
        })
        .collect();
    paths.sort_unstable();
    let mut tree = Tree::default();
    tree.reset(item_of_rank.len());
    let mut start = 0;
    while start < paths.len() {
        let mut end = start + 1;
        while end < paths.len() && paths[end] == paths[start] {
            end += 1;
        }
        tree.insert(&paths[start], (end - start) as u32);
        start = end;
    }

    let mut miner = Miner {
        min_count,
        max_len,
        max_itemsets,
        item_of_rank: &item_of_rank,
        prefix: Vec::new(),
        out: Vec::new(),
        truncated: false,
        pool: Vec::new(),
        path: Vec::new(),
        local: Vec::new(),
    };
    miner.mine(&tree, item_of_rank.len());
    (miner.out, miner.truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All itemsets by brute force over every subset of the (few) items.
    fn brute_force(t: &Transactions, min_count: u32) -> Vec<Itemset> {
        let n_items = t.items().len();
        let mut out = Vec::new();
        for mask in 1u32..(1 << n_items) {
            let items: Vec<ItemId> = (0..n_items as u32).filter(|i| mask >> i & 1 == 1).collect();
            let count = t
                .rows()
                .iter()
                .filter(|row| items.iter().all(|i| row.contains(i)))
                .count() as u32;
            if count >= min_count {
                out.push(Itemset { items, count });
            }
        }
        out.sort_by(|a, b| a.items.cmp(&b.items));
        out
    }

    fn pseudo_random_transactions(seed: u64, rows: usize, columns: usize) -> Transactions {
        let mut state = seed;
        let names: Vec<String> = (0..columns).map(|c| format!("c{c}")).collect();
        let data: Vec<Vec<Option<String>>> = (0..rows)
            .map(|_| {
                (0..columns)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        match state >> 61 {
                            0 => None,
                            v => Some(char::from(b'a' + (v % 3) as u8).to_string()),
                        }
                    })
                    .collect()
            })
            .collect();
        Transactions::from_rows(&names, data).unwrap()
    }

    #[test]
    fn matches_brute_force_on_random_tables() {
        for seed in 0..6 {
            let t = pseudo_random_transactions(seed, 60, 5);
            for min_support in [0.05, 0.1, 0.3] {
                let mut found = FpGrowth::params()
                    .min_support(min_support)
                    .mine(&t)
                    .unwrap()
                    .itemsets;
                found.sort_by(|a, b| a.items.cmp(&b.items));
                let min_count = (min_support * 60.0_f64).ceil() as u32;
                assert_eq!(found, brute_force(&t, min_count), "seed {seed}");
            }
        }
    }

    #[test]
    fn closed_and_maximal_match_their_definitions() {
        let t = pseudo_random_transactions(7, 80, 5);
        let all = FpGrowth::params()
            .min_support(0.05)
            .mine(&t)
            .unwrap()
            .itemsets;
        let is_superset = |big: &Itemset, small: &Itemset| {
            big.items.len() > small.items.len() && small.items.iter().all(|i| big.items.contains(i))
        };
        for (kind, dominated) in [
            (
                ItemsetKind::Closed,
                &(|a: &Itemset, b: &Itemset| is_superset(b, a) && b.count == a.count)
                    as &dyn Fn(&Itemset, &Itemset) -> bool,
            ),
            (ItemsetKind::Maximal, &|a: &Itemset, b: &Itemset| {
                is_superset(b, a)
            }),
        ] {
            let mut expected: Vec<Itemset> = all
                .iter()
                .filter(|a| !all.iter().any(|b| dominated(a, b)))
                .cloned()
                .collect();
            let mut found = FpGrowth::params()
                .min_support(0.05)
                .kind(kind)
                .mine(&t)
                .unwrap()
                .itemsets;
            expected.sort_by(|a, b| a.items.cmp(&b.items));
            found.sort_by(|a, b| a.items.cmp(&b.items));
            assert_eq!(found, expected, "{kind:?}");
        }
    }

    #[test]
    fn the_cap_truncates_all_and_refuses_closed() {
        let t = pseudo_random_transactions(3, 50, 5);
        let capped = FpGrowth::params()
            .min_support(0.02)
            .max_itemsets(10)
            .mine(&t)
            .unwrap();
        assert!(capped.truncated);
        assert_eq!(capped.itemsets.len(), 10);
        let closed = FpGrowth::params()
            .min_support(0.02)
            .max_itemsets(10)
            .kind(ItemsetKind::Closed)
            .mine(&t);
        assert_eq!(closed, Err(Error::TooManyItemsets { limit: 10 }));
    }

    #[test]
    fn max_len_and_bad_support() {
        let t = pseudo_random_transactions(5, 50, 5);
        let short = FpGrowth::params()
            .min_support(0.02)
            .max_len(Some(2))
            .mine(&t)
            .unwrap();
        let expected = brute_force(&t, 1)
            .into_iter()
            .filter(|s| s.items.len() <= 2)
            .count();
        assert_eq!(short.itemsets.len(), expected);
        for bad in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(
                FpGrowth::params().min_support(bad).mine(&t),
                Err(Error::OutOfUnitInterval { .. })
            ));
        }
    }
}

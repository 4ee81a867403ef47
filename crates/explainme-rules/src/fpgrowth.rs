//! FP-growth (Han, Pei & Yin 2000): frequent itemsets without candidate generation.
//!
//! Items are recoded to dense ranks in order of decreasing frequency, transactions are
//! inserted into a prefix tree whose nodes live in flat arrays (an arena indexed by `u32`),
//! and each item's conditional pattern base is read off by walking parent links. Trees of
//! every recursion depth are kept in a pool and reused, so mining allocates almost nothing
//! after the first descent. A tree that is a single path is enumerated directly.
//!
//! Each conditional tree numbers its own items, and the scratch arrays of a projection are
//! cleared entry by entry, so that a projection costs the ancestors it visits and never the
//! number of distinct items in the table: a case-id column gives a million items, each
//! with a conditional tree of two or three nodes. The cap on the output is checked at every
//! itemset, so it bounds the mining time as well.
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
        let Mined {
            itemsets,
            truncated,
            ..
        } = mine_all(
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

/// A node of an FP-tree: the parent link and the header-list link are what mining walks,
/// so they sit together.
#[derive(Clone, Copy)]
struct Node {
    rank: u32,
    count: u32,
    parent: u32,
    next_same: u32,
}

/// An FP-tree in flat arrays. Node 0 is the root.
///
/// Ranks are local to the tree: `0..n_ranks()`, one per item that is frequent in it,
/// numbered in the order of the global ranks (decreasing frequency in the whole table).
/// So every per-rank array is as long as the tree's own item list, not the table's: the
/// conditional tree of a rare item with two frequent ancestors has two ranks. With global
/// ranks each conditional tree cost one slot per more frequent item of the table, which
/// made mining quadratic in the number of distinct items. The numbering keeps the order,
/// so ranks still increase strictly from the root down (ordering nodes by rank orders
/// parents before children) and itemsets come out in the same order as with global ranks.
#[derive(Default)]
struct Tree {
    nodes: Vec<Node>,
    /// One child of each node (the last created), enough to walk a single path.
    first_child: Vec<u32>,
    /// The item of each rank.
    item: Vec<ItemId>,
    /// First node of each rank; the rest follow through `next_same`.
    head: Vec<u32>,
    /// Count of each rank in this tree (the sum over its node list).
    support: Vec<u32>,
    /// Whether some node has two children; a tree without is a single path.
    branching: bool,
}

impl Tree {
    /// Leaves only the root and no rank, keeping the allocations for the next use.
    fn reset(&mut self) {
        self.nodes.clear();
        self.first_child.clear();
        self.item.clear();
        self.head.clear();
        self.support.clear();
        self.branching = false;
        self.nodes.push(Node {
            rank: NONE,
            count: 0,
            parent: NONE,
            next_same: NONE,
        });
        self.first_child.push(NONE);
    }

    /// Adds the next rank, for `item` with count `support`; items come in increasing
    /// global rank.
    fn push_rank(&mut self, item: ItemId, support: u32) -> u32 {
        let rank = self.item.len() as u32;
        self.item.push(item);
        self.head.push(NONE);
        self.support.push(support);
        rank
    }

    fn n_ranks(&self) -> usize {
        self.item.len()
    }

    /// Appends a new child of `parent`; the caller guarantees there is none of this rank.
    fn push_child(&mut self, parent: u32, rank: u32, count: u32) -> u32 {
        let id = self.nodes.len() as u32;
        self.branching |= self.first_child[parent as usize] != NONE;
        self.nodes.push(Node {
            rank,
            count,
            parent,
            next_same: self.head[rank as usize],
        });
        self.head[rank as usize] = id;
        self.first_child.push(NONE);
        self.first_child[parent as usize] = id;
        id
    }

    /// Adds the next of a sequence of paths (ascending ranks) in which every group of paths
    /// sharing a prefix is contiguous — lexicographic order, for one. Then a path can only
    /// share a prefix with the path just before it, whose nodes are on `stack`, so no
    /// child is ever searched for.
    fn push_path(&mut self, stack: &mut Vec<(u32, u32)>, path: &[u32], count: u32) {
        let shared = stack
            .iter()
            .zip(path)
            .take_while(|((rank, _), r)| rank == *r)
            .count();
        stack.truncate(shared);
        for &(_, node) in stack.iter() {
            self.nodes[node as usize].count += count;
        }
        for &rank in &path[shared..] {
            let parent = stack.last().map_or(0, |&(_, node)| node);
            stack.push((rank, self.push_child(parent, rank, count)));
        }
        for &rank in path {
            self.support[rank as usize] += count;
        }
    }
}

/// A visited ancestor with the fields the later passes need, so that they read this array
/// in order instead of chasing the tree's nodes again.
#[derive(Default, Clone, Copy)]
struct Ancestor {
    node: u32,
    parent: u32,
    rank: u32,
}

#[derive(Default, Clone, Copy)]
struct Mark {
    below: u32,
    attach: u32,
}

/// When the ranks found among a projection's ancestors number at least `1 / DENSE` of the
/// ranks they are drawn from, they are put in order by scanning those ranks (a cohort
/// table with a few dozen items, every time); sparser ones are sorted, so that a
/// projection never costs more than a constant times its ancestors.
const DENSE: usize = 8;

/// Scratch arrays for building conditional trees. `marks` is indexed by node and
/// `bucket` and `local` by rank of the tree being projected; all three are all zero
/// between uses and only the entries of the visited ancestors are touched, so that a
/// projection costs what it visits and not the size of the tree it projects.
#[derive(Default)]
struct Scratch {
    /// Per node: the count of the projected item below it, and the node of the conditional
    /// tree that its frequent descendants hang from, plus one (0 = not visited). Kept side by
    /// side so that a visit touches one cache line.
    marks: Vec<Mark>,
    /// Visited ancestors, then the same sorted by rank.
    touched: Vec<Ancestor>,
    by_rank: Vec<Ancestor>,
    /// The ranks of the visited ancestors, each once, ascending.
    ranks: Vec<u32>,
    /// Per rank: the number of visited ancestors, then the end of its bucket in `by_rank`.
    bucket: Vec<u32>,
    /// Per rank: frequency in the projection.
    local: Vec<u32>,
    /// Per node of the conditional tree: its child of the rank being copied (valid when
    /// `child_epoch` equals `epoch`).
    child_of: Vec<u32>,
    child_epoch: Vec<u32>,
    epoch: u32,
}

/// The recursion's state: output and limits.
struct Miner {
    min_count: u32,
    max_len: usize,
    max_itemsets: usize,
    /// The items of the trees above, which every itemset of the current tree extends.
    prefix: Vec<ItemId>,
    out: Vec<Itemset>,
    truncated: bool,
    pool: Vec<Tree>,
    scratch: Scratch,
    /// Elementary steps taken: cells counted, nodes and ancestors visited, rank slots
    /// scanned. Mining must stay linear in its input and output, and the project never
    /// asserts wall time, so the tests bound this count instead.
    steps: u64,
}

/// What [`mine_all`] found, with the work it took.
struct Mined {
    itemsets: Vec<Itemset>,
    truncated: bool,
    /// [`Miner::steps`]; only the tests read it.
    #[cfg_attr(not(test), allow(dead_code))]
    steps: u64,
}

impl Miner {
    /// Reports `prefix ∪ extra`; returns `false` once the cap is reached.
    fn emit(&mut self, extra: &[ItemId], count: u32) -> bool {
        if self.out.len() >= self.max_itemsets {
            self.truncated = true;
            return false;
        }
        let mut items: Vec<ItemId> = self.prefix.iter().chain(extra).copied().collect();
        items.sort_unstable();
        self.out.push(Itemset { items, count });
        true
    }

    /// Mines a tree under the current prefix.
    fn mine(&mut self, tree: &Tree) -> bool {
        if !tree.branching {
            return self.mine_single_path(tree);
        }
        let depth = self.prefix.len();
        for rank in (0..tree.n_ranks()).rev() {
            self.steps += 1;
            let support = tree.support[rank];
            if support < self.min_count {
                continue;
            }
            let item = tree.item[rank];
            if !self.emit(&[item], support) {
                return false;
            }
            if depth + 1 >= self.max_len || rank == 0 {
                continue;
            }
            let mut cond = self.pool.pop().unwrap_or_default();
            self.conditional_tree(tree, rank, &mut cond);
            let keep_going = if cond.nodes.len() > 1 {
                self.prefix.push(item);
                let ok = self.mine(&cond);
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

    /// Builds the conditional FP-tree of `rank`: the ancestors of its nodes, restricted to
    /// the ranks that stay frequent together with it.
    ///
    /// Every distinct ancestor is visited once, not once per path through it: ancestors are
    /// bucketed by rank, the counts of `rank`'s nodes are pushed up from the deepest rank to
    /// the shallowest, and then the frequent ancestors are copied from the shallowest rank
    /// down, merging equal prefixes (within one rank, a parent gets at most one child).
    /// Nothing here is proportional to `rank` itself, only to the ancestors: the rarest
    /// item of a table with a million distinct ones may have just one.
    fn conditional_tree(&mut self, tree: &Tree, rank: usize, cond: &mut Tree) {
        let min_count = self.min_count;
        let s = &mut self.scratch;
        if s.marks.len() < tree.nodes.len() {
            s.marks.resize(tree.nodes.len(), Mark::default());
        }
        if s.local.len() < rank {
            // Grows once to the largest tree's ranks; cleared entry by entry below.
            s.local.resize(rank, 0);
            s.bucket.resize(rank, 0);
        }
        let mut steps = 0u64;
        s.touched.clear();
        let mut node = tree.head[rank];
        while node != NONE {
            steps += 1;
            let n = tree.nodes[node as usize];
            // Collect the ancestors not seen yet (`attach` doubles as the visited mark).
            let mut up = n.parent;
            while up != 0 && s.marks[up as usize].attach == 0 {
                s.marks[up as usize].attach = 1;
                let a = tree.nodes[up as usize];
                s.touched.push(Ancestor {
                    node: up,
                    parent: a.parent,
                    rank: a.rank,
                });
                up = a.parent;
            }
            if n.parent != 0 {
                s.marks[n.parent as usize].below += n.count;
            }
            node = n.next_same;
        }
        // The ranks that occur, each with its number of ancestors, then in ascending order.
        s.ranks.clear();
        for a in &s.touched {
            let n = &mut s.bucket[a.rank as usize];
            if *n == 0 {
                s.ranks.push(a.rank);
            }
            *n += 1;
        }
        if s.ranks.len() * DENSE >= rank {
            steps += rank as u64;
            s.ranks.clear();
            s.ranks
                .extend((0..rank as u32).filter(|&r| s.bucket[r as usize] != 0));
        } else {
            steps += s.ranks.len() as u64;
            s.ranks.sort_unstable();
        }
        // Counting sort of the ancestors by rank: bucket starts, then placement.
        let mut start = 0;
        for &r in &s.ranks {
            let count = s.bucket[r as usize];
            s.bucket[r as usize] = start;
            start += count;
        }
        s.by_rank.clear();
        s.by_rank.resize(s.touched.len(), Ancestor::default());
        for &a in &s.touched {
            let slot = &mut s.bucket[a.rank as usize];
            s.by_rank[*slot as usize] = a;
            *slot += 1;
        }
        // Counts up, deepest rank first.
        for &n in s.by_rank.iter().rev() {
            let below = s.marks[n.node as usize].below;
            s.local[n.rank as usize] += below;
            if n.parent != 0 {
                s.marks[n.parent as usize].below += below;
            }
        }
        // Frequent ancestors copied down, shallowest rank first.
        cond.reset();
        let mut current_rank = NONE;
        let mut cond_rank = NONE;
        for &n in &s.by_rank {
            if n.rank != current_rank {
                current_rank = n.rank;
                s.epoch = s.epoch.wrapping_add(1);
                if s.epoch == 0 {
                    s.child_epoch.iter_mut().for_each(|e| *e = 0);
                    s.epoch = 1;
                }
                let local = s.local[n.rank as usize];
                cond_rank = if local >= min_count {
                    cond.push_rank(tree.item[n.rank as usize], local)
                } else {
                    NONE
                };
            }
            let parent_attach = if n.parent == 0 {
                0
            } else {
                s.marks[n.parent as usize].attach - 1
            };
            let attach = if cond_rank != NONE {
                let p = parent_attach as usize;
                if s.child_epoch.len() <= p {
                    s.child_epoch.resize(p + 1, 0);
                    s.child_of.resize(p + 1, 0);
                }
                let child = if s.child_epoch[p] == s.epoch {
                    s.child_of[p]
                } else {
                    let child = cond.push_child(parent_attach, cond_rank, 0);
                    s.child_epoch[p] = s.epoch;
                    s.child_of[p] = child;
                    child
                };
                cond.nodes[child as usize].count += s.marks[n.node as usize].below;
                child
            } else {
                parent_attach
            };
            s.marks[n.node as usize].attach = attach + 1;
        }
        for &r in &s.ranks {
            s.local[r as usize] = 0;
            s.bucket[r as usize] = 0;
        }
        for a in &s.touched {
            s.marks[a.node as usize] = Mark::default();
        }
        // Bucketing, placement, counts up, copy down and clearing each read every ancestor.
        self.steps += steps + 5 * s.touched.len() as u64;
    }

    /// A single path of nodes `p0 → … → pk`: every non-empty subset is frequent, with the
    /// count of its deepest node.
    fn mine_single_path(&mut self, tree: &Tree) -> bool {
        let mut nodes = Vec::new();
        let mut node = tree.first_child[0];
        while node != NONE && tree.nodes[node as usize].count >= self.min_count {
            let n = tree.nodes[node as usize];
            nodes.push((tree.item[n.rank as usize], n.count));
            node = tree.first_child[node as usize];
        }
        self.steps += nodes.len() as u64 + 1;
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
    /// items; `nodes` are `(item, count)` from the top of the path down.
    fn subsets_ending_at(
        &mut self,
        nodes: &[(ItemId, u32)],
        deepest: usize,
        room: usize,
        chosen: &mut Vec<ItemId>,
    ) -> bool {
        let (item, count) = nodes[deepest];
        chosen.push(item);
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
        nodes: &[(ItemId, u32)],
        below: usize,
        room: usize,
        count: u32,
        chosen: &mut Vec<ItemId>,
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

/// The ranks of a row's frequent items.
fn ranks_of<'a>(row: &'a [ItemId], rank_of_item: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
    row.iter()
        .map(|&i| rank_of_item[i as usize])
        .filter(|&r| r != NONE)
}

/// Every itemset whose count reaches `min_count`, and whether the cap cut the list short.
fn mine_all(
    transactions: &Transactions,
    min_count: u32,
    max_len: usize,
    max_itemsets: usize,
) -> Mined {
    let n_items = transactions.items().len();
    let mut frequency = vec![0u32; n_items];
    let mut cells = 0u64;
    for row in transactions.rows() {
        cells += row.len() as u64;
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

    let mut tree = Tree::default();
    tree.reset();
    for &item in &item_of_rank {
        tree.push_rank(item, 0);
    }
    let mut stack = Vec::new();
    let mut path = Vec::new();
    if item_of_rank.len() <= 128 {
        // A path as a bit set, bit 127 − rank: sorting the keys in descending order keeps
        // every group of paths with a common prefix together, with no allocation per row.
        let mut keys: Vec<u128> = transactions
            .rows()
            .iter()
            .map(|row| ranks_of(row, &rank_of_item).fold(0u128, |key, r| key | 1 << (127 - r)))
            .filter(|&key| key != 0)
            .collect();
        keys.sort_unstable_by(|a, b| b.cmp(a));
        for group in keys.chunk_by(|a, b| a == b) {
            path.clear();
            let mut key = group[0];
            while key != 0 {
                let rank = key.leading_zeros();
                path.push(rank);
                key &= !(1 << (127 - rank));
            }
            tree.push_path(&mut stack, &path, group.len() as u32);
        }
    } else {
        // Every row's path in one flat buffer, and the rows sorted by their paths: no
        // allocation per row, which on a table of a million rows was most of the time.
        let mut flat: Vec<u32> = Vec::with_capacity(cells as usize);
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(transactions.len());
        for row in transactions.rows() {
            let start = flat.len();
            flat.extend(ranks_of(row, &rank_of_item));
            flat[start..].sort_unstable();
            if flat.len() > start {
                spans.push((start, flat.len()));
            }
        }
        let path_of = |&(start, end): &(usize, usize)| &flat[start..end];
        spans.sort_unstable_by(|a, b| path_of(a).cmp(path_of(b)));
        for group in spans.chunk_by(|a, b| path_of(a) == path_of(b)) {
            tree.push_path(&mut stack, path_of(&group[0]), group.len() as u32);
        }
    }

    let mut miner = Miner {
        min_count,
        max_len,
        max_itemsets,
        prefix: Vec::new(),
        out: Vec::new(),
        truncated: false,
        pool: Vec::new(),
        scratch: Scratch::default(),
        steps: n_items as u64 + 2 * cells,
    };
    miner.mine(&tree);
    Mined {
        itemsets: miner.out,
        truncated: miner.truncated,
        steps: miner.steps,
    }
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
        for seed in 0..12 {
            let t = pseudo_random_transactions(seed, 60, 4);
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

    /// More than 128 frequent items: the general (non bit-set) paths of the tree builder and
    /// of the support index, checked against counting every subset of every (short) row.
    #[test]
    fn many_items_take_the_general_paths() {
        let columns: Vec<String> = (0..300).map(|c| format!("c{c}")).collect();
        let mut state = 11u64;
        let rows: Vec<Vec<Option<&str>>> = (0..400)
            .map(|_| {
                let mut row = vec![None; 300];
                for _ in 0..5 {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    row[(state >> 33) as usize % 160] = Some("x");
                }
                row
            })
            .collect();
        let t = Transactions::from_rows(&columns, rows).unwrap();
        let mut expected: std::collections::BTreeMap<Vec<ItemId>, u32> = Default::default();
        for row in t.rows() {
            for mask in 1u32..(1 << row.len()) {
                let subset = (0..row.len())
                    .filter(|i| mask >> i & 1 == 1)
                    .map(|i| row[i])
                    .collect();
                *expected.entry(subset).or_default() += 1;
            }
        }
        expected.retain(|_, count| *count >= 2);
        let found = FpGrowth::params().min_support(0.005).mine(&t).unwrap();
        let found: std::collections::BTreeMap<Vec<ItemId>, u32> = found
            .itemsets
            .into_iter()
            .map(|s| (s.items, s.count))
            .collect();
        assert!(found.keys().filter(|k| k.len() == 1).count() > 128);
        assert_eq!(found, expected);
        let itemsets = FpGrowth::params().min_support(0.005).mine(&t).unwrap();
        let rules = crate::AssociationRules::params()
            .min_confidence(0.0)
            .generate(&itemsets, &t)
            .unwrap();
        assert!(!rules.is_empty());
        for rule in rules {
            let mut union = [rule.antecedent.clone(), rule.consequent.clone()].concat();
            union.sort_unstable();
            assert_eq!(rule.count, expected[&union]);
            assert_eq!(rule.antecedent_count, expected[&rule.antecedent]);
        }
    }

    /// One row per case: a unique case id, one of four grades, one of two sides. Every
    /// item is frequent at a count of 1, so there are `n + 6` of them.
    fn case_ids(n: usize) -> Transactions {
        let columns = ["case", "grade", "side"].map(String::from);
        let rows: Vec<[Option<String>; 3]> = (0..n)
            .map(|i| {
                [
                    Some(format!("c{i}")),
                    Some(format!("g{}", i % 4)),
                    Some(format!("s{}", i % 2)),
                ]
            })
            .collect();
        Transactions::from_rows(
            &columns,
            rows.iter().map(|r| r.iter().map(|c| c.as_deref())),
        )
        .unwrap()
    }

    /// Mining must cost a constant times its input plus its output. The conditional tree of
    /// a case id has two ancestors (its grade and side), but with per-tree arrays as long as
    /// the table's item list each one cost a slot per more frequent item: about n²/2 steps
    /// here, where the bound allows 10 per cell and per itemset. Wall time is never
    /// asserted (see ARCHITECTURE.md), so the miner counts its steps.
    #[test]
    fn work_is_linear_in_the_distinct_items() {
        for n in [20_000, 40_000] {
            let t = case_ids(n);
            let min_count = 1;
            let mined = mine_all(&t, min_count, usize::MAX, usize::MAX);
            assert!(!mined.truncated);
            // {case}, {case, grade}, {case, side}, {case, grade, side} per case, and the
            // grade/side sets: 4 grades, 2 sides, 4 pairs (grade parity = side parity).
            assert_eq!(mined.itemsets.len(), 4 * n + 10);
            let cells: u64 = t.rows().iter().map(|row| row.len() as u64).sum();
            let bound = 10 * (cells + mined.itemsets.len() as u64);
            assert!(
                mined.steps <= bound,
                "{n} cases: {} steps, bound {bound}",
                mined.steps
            );
        }
    }

    /// The cap bounds the work, not only the output: 25 items in every row and a case id
    /// per row give more than 2^25 frequent itemsets, and mining stops at the 1000th.
    /// With a cap of half the output of [`case_ids`], the work stays linear too.
    #[test]
    fn the_cap_stops_mining_early() {
        let n = 2_000;
        let columns: Vec<String> = (0..26).map(|c| format!("c{c}")).collect();
        let ids: Vec<String> = (0..n).map(|i| format!("case{i}")).collect();
        let rows = ids
            .iter()
            .map(|id| std::iter::repeat_n(Some("x"), 25).chain(std::iter::once(Some(id.as_str()))));
        let t = Transactions::from_rows(&columns, rows).unwrap();
        let cells = 26 * n as u64;
        let mined = mine_all(&t, 1, usize::MAX, 1000);
        assert!(mined.truncated);
        assert_eq!(mined.itemsets.len(), 1000);
        assert!(mined.steps <= 4 * cells + 10_000, "{} steps", mined.steps);
        for kind in [ItemsetKind::All, ItemsetKind::Closed, ItemsetKind::Maximal] {
            let found = FpGrowth::params()
                .min_support(1e-6)
                .max_itemsets(1000)
                .kind(kind)
                .mine(&t);
            match kind {
                ItemsetKind::All => assert!(found.is_ok_and(|f| f.truncated)),
                _ => assert_eq!(found, Err(Error::TooManyItemsets { limit: 1000 })),
            }
        }

        let n = 40_000;
        let t = case_ids(n);
        let cap = 2 * n;
        let mined = mine_all(&t, 1, usize::MAX, cap);
        assert!(mined.truncated);
        assert_eq!(mined.itemsets.len(), cap);
        let bound = 10 * (3 * n as u64 + cap as u64);
        assert!(mined.steps <= bound, "{} steps, bound {bound}", mined.steps);
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

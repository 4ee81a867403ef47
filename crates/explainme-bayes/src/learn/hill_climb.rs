//! Greedy hill climbing over DAGs with a tabu list and random restarts.
//!
//! Moves: add, delete or reverse one arc. The score is decomposable, so a move changes at
//! most two family scores: every family score is computed once and cached by (child,
//! parents), and the delta of toggling parent `i` of `j` is kept per pair until `j`'s
//! parents change. Each step applies the best legal move that is not tabu (the inverse of
//! one of the last `tabu_length` moves). At a local optimum, up to `patience` non-improving
//! moves are tried (tabu search) before stopping; the best DAG seen is kept. Each restart
//! perturbs the best DAG by `perturbation` random legal moves and climbs again. Ties go to
//! the first move in (from, to) order and all randomness comes from the seed, so a seed
//! fixes the result.

use std::collections::{HashMap, VecDeque};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::learn::Constraints;
use crate::learn::constraints::Resolved;
use crate::network::Dag;
use crate::rng::Rng;
use crate::score::{ParentKeys, Score, family_score};

/// Hill-climbing structure search, linfa style.
///
/// ```
/// use explainme_bayes::learn::{Constraints, HillClimb};
/// use explainme_bayes::{Score, forward_sample, read_bif};
/// let truth = read_bif(
///     "network n { }
///      variable a { type discrete [ 2 ] { x, y }; }
///      variable b { type discrete [ 2 ] { x, y }; }
///      probability ( a ) { table 0.3, 0.7; }
///      probability ( b | a ) { (x) 0.9, 0.1; (y) 0.2, 0.8; }",
/// )?;
/// let data = forward_sample(&truth, 2000, 1);
/// let dag = HillClimb::params()
///     .score(Score::Bic)
///     .constraints(Constraints::new().tiers(vec![vec!["a".into()], vec!["b".into()]]))
///     .fit(&data)?;
/// assert_eq!(dag.edges(), [(0, 1)]);
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HillClimb;

/// Hyperparameters of [`HillClimb`]. Defaults: BIC, no constraints, tabu list of 100 moves,
/// patience 0 (plain hill climbing, as pgmpy), no restarts, perturbation 5 moves, seed 0,
/// at most 1 000 000 moves, improvement threshold 1e-4.
#[derive(Debug, Clone, PartialEq)]
pub struct HillClimbParams {
    score: Score,
    constraints: Constraints,
    tabu_length: usize,
    patience: usize,
    restarts: usize,
    perturbation: usize,
    seed: u64,
    max_moves: usize,
    epsilon: f64,
}

impl HillClimb {
    /// Default hyperparameters.
    pub fn params() -> HillClimbParams {
        HillClimbParams {
            score: Score::Bic,
            constraints: Constraints::new(),
            tabu_length: 100,
            patience: 0,
            restarts: 0,
            perturbation: 5,
            seed: 0,
            max_moves: 1_000_000,
            epsilon: 1e-4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Add(usize, usize),
    Delete(usize, usize),
    Reverse(usize, usize),
}

impl Move {
    fn inverse(self) -> Move {
        match self {
            Move::Add(a, b) => Move::Delete(a, b),
            Move::Delete(a, b) => Move::Add(a, b),
            Move::Reverse(a, b) => Move::Reverse(b, a),
        }
    }
}

impl HillClimbParams {
    /// The score to maximise (default BIC).
    pub fn score(mut self, score: Score) -> Self {
        self.score = score;
        self
    }
    /// Knowledge constraints (default none).
    pub fn constraints(mut self, constraints: Constraints) -> Self {
        self.constraints = constraints;
        self
    }
    /// Moves remembered as tabu (default 100).
    pub fn tabu_length(mut self, n: usize) -> Self {
        self.tabu_length = n;
        self
    }
    /// Non-improving moves tried at a local optimum before stopping (default 0).
    pub fn patience(mut self, n: usize) -> Self {
        self.patience = n;
        self
    }
    /// Random restarts from the best DAG (default 0).
    pub fn restarts(mut self, n: usize) -> Self {
        self.restarts = n;
        self
    }
    /// Random moves applied before each restart (default 5).
    pub fn perturbation(mut self, n: usize) -> Self {
        self.perturbation = n;
        self
    }
    /// Seed of the restarts' randomness (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Upper bound on moves per climb (default 1 000 000).
    pub fn max_moves(mut self, n: usize) -> Self {
        self.max_moves = n;
        self
    }

    /// Learns a DAG over the data's columns (variable `i` = column `i`).
    pub fn fit(&self, data: &Dataset) -> Result<Dag> {
        if let Score::BDeu { ess } = self.score
            && !(ess > 0.0 && ess.is_finite())
        {
            return Err(Error::InvalidParameter {
                name: "ess",
                reason: format!("{ess} is not a positive number"),
            });
        }
        let constraints = self.constraints.resolve(data)?;
        let mut search = Search::new(data, self.score, constraints);
        let mut rng = Rng::seeded(self.seed);
        search.climb(self);
        let mut best = (search.parents.clone(), search.total());
        let mut failures = 0;
        for _ in 0..self.restarts {
            search.set(best.0.clone());
            // Iterated local search: each restart that finds nothing better kicks harder
            // next time (1, 2, 3 × `perturbation` moves, then round again).
            let kicks = self.perturbation * (1 + failures % 3);
            for _ in 0..kicks {
                // Perturb the arcs that exist: a climb from the empty graph commits to
                // orientations early, and reversing or dropping them is what escapes.
                let legal: Vec<Move> = search
                    .legal_moves(&[])
                    .into_iter()
                    .map(|(mv, _)| mv)
                    .filter(|mv| !matches!(mv, Move::Add(..)))
                    .collect();
                if legal.is_empty() {
                    break;
                }
                search.apply(legal[rng.below(legal.len())]);
            }
            search.climb(self);
            let total = search.total();
            if total > best.1 + self.epsilon {
                best = (search.parents.clone(), total);
                failures = 0;
            } else {
                failures += 1;
            }
        }
        Dag::from_parents(best.0)
    }
}

/// The state of a climb: current parents, local scores, the score cache and toggle deltas.
struct Search<'a> {
    data: &'a Dataset,
    score: Score,
    constraints: Resolved,
    parents: Vec<Vec<usize>>,
    local: Vec<f64>,
    cache: HashMap<(usize, Vec<usize>), f64>,
    /// `toggle[j][i]`: score change of adding/removing `i` as a parent of `j`; `None` = stale.
    toggle: Vec<Option<Vec<f64>>>,
}

impl<'a> Search<'a> {
    fn new(data: &'a Dataset, score: Score, constraints: Resolved) -> Self {
        let n = constraints.n;
        let parents = (0..n)
            .map(|to| {
                (0..n)
                    .filter(|&from| constraints.required(from, to))
                    .collect()
            })
            .collect();
        let mut search = Self {
            data,
            score,
            constraints,
            parents: Vec::new(),
            local: vec![0.0; n],
            cache: HashMap::new(),
            toggle: vec![None; n],
        };
        search.set(parents);
        search
    }

    fn family(&mut self, child: usize, parents: Vec<usize>) -> f64 {
        let (data, score) = (self.data, self.score);
        *self
            .cache
            .entry((child, parents))
            .or_insert_with_key(|(c, p)| family_score(data, *c, p, score))
    }

    fn set(&mut self, parents: Vec<Vec<usize>>) {
        self.parents = parents;
        for v in 0..self.parents.len() {
            self.refresh(v);
        }
    }

    fn refresh(&mut self, v: usize) {
        self.parents[v].sort_unstable();
        self.local[v] = self.family(v, self.parents[v].clone());
        self.toggle[v] = None;
    }

    fn total(&self) -> f64 {
        self.local.iter().sum()
    }

    fn toggle_delta(&mut self, child: usize, parent: usize) -> f64 {
        if self.toggle[child].is_none() {
            let n = self.parents.len();
            let base = ParentKeys::new(self.data, &self.parents[child]);
            let mut row = vec![0.0; n];
            for (i, slot) in row.iter_mut().enumerate() {
                if i == child {
                    continue;
                }
                let mut ps = self.parents[child].clone();
                let value = match ps.binary_search(&i) {
                    Ok(k) => {
                        ps.remove(k);
                        self.family(child, ps)
                    }
                    Err(k) => {
                        if ps.len() >= self.constraints.max_parents
                            || !self.constraints.allowed(i, child)
                        {
                            continue;
                        }
                        ps.insert(k, i);
                        let (data, score) = (self.data, self.score);
                        *self
                            .cache
                            .entry((child, ps))
                            .or_insert_with(|| base.score_with(data, child, i, score))
                    }
                };
                *slot = value - self.local[child];
            }
            self.toggle[child] = Some(row);
        }
        self.toggle[child].as_ref().map_or(0.0, |row| row[parent])
    }

    /// Descendant sets (each node reaches itself) as bitsets.
    fn reachability(&self) -> Vec<Vec<u64>> {
        let n = self.parents.len();
        let words = n.div_ceil(64);
        let mut children = vec![Vec::new(); n];
        for (child, ps) in self.parents.iter().enumerate() {
            for &p in ps {
                children[p].push(child);
            }
        }
        let mut reach = vec![vec![0u64; words]; n];
        for (start, bits) in reach.iter_mut().enumerate() {
            let mut stack = vec![start];
            while let Some(v) = stack.pop() {
                if bits[v / 64] & (1 << (v % 64)) == 0 {
                    bits[v / 64] |= 1 << (v % 64);
                    stack.extend_from_slice(&children[v]);
                }
            }
        }
        reach
    }

    /// Every legal move that is not tabu, with its score change.
    fn legal_moves(&mut self, tabu: &[Move]) -> Vec<(Move, f64)> {
        let n = self.parents.len();
        let reach = self.reachability();
        let reaches = |from: usize, to: usize| reach[from][to / 64] & (1 << (to % 64)) != 0;
        let mut moves = Vec::new();
        for from in 0..n {
            for to in 0..n {
                if from == to {
                    continue;
                }
                let present = self.parents[to].binary_search(&from).is_ok();
                let candidate = if !present {
                    if !self.constraints.allowed(from, to)
                        || self.parents[to].len() >= self.constraints.max_parents
                        || reaches(to, from)
                    {
                        continue;
                    }
                    Move::Add(from, to)
                } else {
                    if self.constraints.required(from, to) {
                        continue;
                    }
                    let delete = Move::Delete(from, to);
                    if !tabu.contains(&delete) {
                        let delta = self.toggle_delta(to, from);
                        moves.push((delete, delta));
                    }
                    // Reversal closes a cycle iff another path from → … → to exists.
                    let other_path = self.parents.iter().enumerate().any(|(c, ps)| {
                        c != to && ps.binary_search(&from).is_ok() && reaches(c, to)
                    });
                    if !self.constraints.allowed(to, from)
                        || self.parents[from].len() >= self.constraints.max_parents
                        || other_path
                    {
                        continue;
                    }
                    Move::Reverse(from, to)
                };
                if tabu.contains(&candidate) {
                    continue;
                }
                let delta = match candidate {
                    Move::Reverse(a, b) => self.toggle_delta(b, a) + self.toggle_delta(a, b),
                    _ => self.toggle_delta(to, from),
                };
                moves.push((candidate, delta));
            }
        }
        moves
    }

    fn apply(&mut self, mv: Move) {
        match mv {
            Move::Add(a, b) => {
                self.parents[b].push(a);
                self.refresh(b);
            }
            Move::Delete(a, b) => {
                self.parents[b].retain(|&p| p != a);
                self.refresh(b);
            }
            Move::Reverse(a, b) => {
                self.parents[b].retain(|&p| p != a);
                self.parents[a].push(b);
                self.refresh(a);
                self.refresh(b);
            }
        }
    }

    /// Climbs from the current DAG; leaves the best DAG seen as the current one.
    fn climb(&mut self, params: &HillClimbParams) {
        let mut tabu: VecDeque<Move> = VecDeque::new();
        let mut best = (self.parents.clone(), self.total());
        let mut stalled = 0;
        for _ in 0..params.max_moves {
            let tabu_list: Vec<Move> = tabu.iter().copied().collect();
            let moves = self.legal_moves(&tabu_list);
            let Some(&(mv, delta)) =
                moves
                    .iter()
                    .fold(None, |acc: Option<&(Move, f64)>, m| match acc {
                        Some(a) if a.1 >= m.1 => Some(a),
                        _ => Some(m),
                    })
            else {
                break;
            };
            if delta <= params.epsilon {
                if stalled >= params.patience {
                    break;
                }
                stalled += 1;
            }
            self.apply(mv);
            if params.tabu_length > 0 {
                tabu.push_back(mv.inverse());
                if tabu.len() > params.tabu_length {
                    tabu.pop_front();
                }
            }
            let total = self.total();
            if total > best.1 + params.epsilon {
                best = (self.parents.clone(), total);
                stalled = 0;
            }
        }
        if self.total() < best.1 {
            self.set(best.0);
        }
    }
}

//! Markov equivalence: the CPDAG (completed partially directed graph) of a DAG, and the
//! structural Hamming distance between two CPDAGs — how learned structures are compared
//! with a known network without penalising arcs the data cannot orient.

use serde::Serialize;

use crate::error::Result;
use crate::network::Dag;

/// A CPDAG: arcs compelled in every DAG of the equivalence class, and undirected edges
/// (either orientation occurs in the class). Pairs are sorted; undirected pairs as (low, high).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cpdag {
    pub directed: Vec<(usize, usize)>,
    pub undirected: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    None,
    Undirected,
    /// Directed from the row variable to the column variable.
    Out,
    In,
}

/// A partially directed graph as an `n × n` mark matrix, the working form of CPDAG
/// construction here and of the orientation phase of PC.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    n: usize,
    mark: Vec<Mark>,
}

impl Pattern {
    /// The complete undirected graph over `n` variables.
    pub(crate) fn complete(n: usize) -> Self {
        let mut mark = vec![Mark::Undirected; n * n];
        for v in 0..n {
            mark[v * n + v] = Mark::None;
        }
        Self { n, mark }
    }

    fn skeleton(dag: &Dag) -> Self {
        let n = dag.len();
        let mut pattern = Self {
            n,
            mark: vec![Mark::None; n * n],
        };
        for (a, b) in dag.edges() {
            pattern.mark[a * n + b] = Mark::Undirected;
            pattern.mark[b * n + a] = Mark::Undirected;
        }
        pattern
    }

    pub(crate) fn adjacent(&self, a: usize, b: usize) -> bool {
        self.mark[a * self.n + b] != Mark::None
    }

    pub(crate) fn neighbours(&self, a: usize) -> Vec<usize> {
        (0..self.n).filter(|&b| self.adjacent(a, b)).collect()
    }

    pub(crate) fn remove(&mut self, a: usize, b: usize) {
        self.mark[a * self.n + b] = Mark::None;
        self.mark[b * self.n + a] = Mark::None;
    }

    fn undirected(&self, a: usize, b: usize) -> bool {
        self.mark[a * self.n + b] == Mark::Undirected
    }

    fn directed(&self, a: usize, b: usize) -> bool {
        self.mark[a * self.n + b] == Mark::Out
    }

    fn orient(&mut self, a: usize, b: usize) {
        self.mark[a * self.n + b] = Mark::Out;
        self.mark[b * self.n + a] = Mark::In;
    }

    /// Orients `a → b` unless `b → a` is already oriented.
    pub(crate) fn orient_unless_reversed(&mut self, a: usize, b: usize) {
        if !self.directed(b, a) {
            self.orient(a, b);
        }
    }

    /// Orients `a → c ← b` unless that would reverse an arc already oriented (conflicting
    /// v-structures from finite-sample tests: the first one found wins).
    pub(crate) fn orient_collider(&mut self, a: usize, c: usize, b: usize) {
        if self.mark[c * self.n + a] != Mark::Out && self.mark[c * self.n + b] != Mark::Out {
            self.orient(a, c);
            self.orient(b, c);
        }
    }

    /// Meek's rules R1–R3 to a fixed point.
    pub(crate) fn propagate(&mut self) {
        let n = self.n;
        loop {
            let mut changed = false;
            for a in 0..n {
                for b in 0..n {
                    if !self.undirected(a, b) {
                        continue;
                    }
                    // R1: c → a — b, c and b not adjacent ⇒ a → b.
                    let r1 = (0..n).any(|c| self.directed(c, a) && !self.adjacent(c, b) && c != b);
                    // R2: a → c → b and a — b ⇒ a → b.
                    let r2 = (0..n).any(|c| self.directed(a, c) && self.directed(c, b));
                    // R3: a — c → b, a — d → b, c and d not adjacent ⇒ a → b.
                    let r3 = (0..n).any(|c| {
                        self.undirected(a, c)
                            && self.directed(c, b)
                            && (c + 1..n).any(|d| {
                                self.undirected(a, d) && self.directed(d, b) && !self.adjacent(c, d)
                            })
                    });
                    if r1 || r2 || r3 {
                        self.orient(a, b);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    pub(crate) fn to_cpdag(&self) -> Cpdag {
        let mut result = Cpdag {
            directed: Vec::new(),
            undirected: Vec::new(),
        };
        for a in 0..self.n {
            for b in 0..self.n {
                match self.mark[a * self.n + b] {
                    Mark::Out => result.directed.push((a, b)),
                    Mark::Undirected if a < b => result.undirected.push((a, b)),
                    _ => {}
                }
            }
        }
        result
    }

    /// A DAG consistent with the pattern (Dor & Tarsi 1992): repeatedly take a variable with
    /// no outgoing arc whose undirected neighbours are adjacent to all its other neighbours,
    /// direct its remaining edges into it, and remove it. If no such variable remains (a
    /// pattern from noisy tests need not be extendable), the edges left are directed from
    /// lower to higher index. Removed variables only ever receive arcs, so the result is
    /// acyclic by construction.
    pub(crate) fn extend_to_dag(&self) -> Result<Dag> {
        let n = self.n;
        let mut work = self.clone();
        let mut parents = vec![Vec::new(); n];
        let mut alive = vec![true; n];
        for _ in 0..n {
            let sink = (0..n).filter(|&x| alive[x]).find(|&x| {
                let live = |y: usize| alive[y] && y != x;
                let no_out = (0..n).all(|y| !live(y) || !work.directed(x, y));
                let neighbours: Vec<usize> =
                    (0..n).filter(|&y| live(y) && work.adjacent(x, y)).collect();
                no_out
                    && neighbours
                        .iter()
                        .filter(|&&y| work.undirected(x, y))
                        .all(|&y| neighbours.iter().all(|&z| z == y || work.adjacent(y, z)))
            });
            let Some(x) = sink else { break };
            let incident: Vec<usize> = (0..n)
                .filter(|&y| alive[y] && y != x && work.adjacent(x, y))
                .collect();
            for y in incident {
                parents[x].push(y);
                work.remove(x, y);
            }
            alive[x] = false;
        }
        for a in (0..n).filter(|&a| alive[a]) {
            for b in (a + 1..n).filter(|&b| alive[b] && work.adjacent(a, b)) {
                parents[b].push(a);
            }
        }
        Dag::from_parents(parents)
    }
}

/// The CPDAG of `dag`: v-structures oriented, then Meek's rules R1–R3 to a fixed point
/// (R4 cannot fire without background knowledge).
pub fn cpdag(dag: &Dag) -> Cpdag {
    let mut pattern = Pattern::skeleton(dag);
    for c in 0..dag.len() {
        let ps = dag.parents(c);
        for (k, &a) in ps.iter().enumerate() {
            for &b in &ps[k + 1..] {
                if !pattern.adjacent(a, b) {
                    pattern.orient(a, c);
                    pattern.orient(b, c);
                }
            }
        }
    }
    pattern.propagate();
    pattern.to_cpdag()
}

/// Structural Hamming distance: the number of variable pairs whose edge differs (missing,
/// extra, differently directed, or directed in one and undirected in the other), each
/// counted once.
pub fn shd(a: &Cpdag, b: &Cpdag) -> usize {
    fn edge_of(c: &Cpdag, x: usize, y: usize) -> u8 {
        if c.undirected.contains(&(x.min(y), x.max(y))) {
            3
        } else if c.directed.contains(&(x, y)) {
            1
        } else if c.directed.contains(&(y, x)) {
            2
        } else {
            0
        }
    }
    let mut pairs: Vec<(usize, usize)> = a
        .directed
        .iter()
        .chain(&a.undirected)
        .chain(&b.directed)
        .chain(&b.undirected)
        .map(|&(x, y)| (x.min(y), x.max(y)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
        .into_iter()
        .filter(|&(x, y)| edge_of(a, x, y) != edge_of(b, x, y))
        .count()
}

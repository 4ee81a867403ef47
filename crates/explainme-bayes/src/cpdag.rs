//! Markov equivalence: the CPDAG (completed partially directed graph) of a DAG, and the
//! structural Hamming distance between two CPDAGs — how learned structures are compared
//! with a known network without penalising arcs the data cannot orient.

use serde::Serialize;

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

/// The CPDAG of `dag`: v-structures oriented, then Meek's rules R1–R3 to a fixed point
/// (R4 cannot fire without background knowledge).
pub fn cpdag(dag: &Dag) -> Cpdag {
    let n = dag.len();
    let mut mark = vec![Mark::None; n * n];
    for (a, b) in dag.edges() {
        mark[a * n + b] = Mark::Undirected;
        mark[b * n + a] = Mark::Undirected;
    }
    let adjacent = |mark: &[Mark], a: usize, b: usize| mark[a * n + b] != Mark::None;
    let orient = |mark: &mut [Mark], a: usize, b: usize| {
        mark[a * n + b] = Mark::Out;
        mark[b * n + a] = Mark::In;
    };
    for c in 0..n {
        let ps = dag.parents(c);
        for (k, &a) in ps.iter().enumerate() {
            for &b in &ps[k + 1..] {
                if !adjacent(&mark, a, b) {
                    orient(&mut mark, a, c);
                    orient(&mut mark, b, c);
                }
            }
        }
    }
    let undirected = |mark: &[Mark], a: usize, b: usize| mark[a * n + b] == Mark::Undirected;
    let directed = |mark: &[Mark], a: usize, b: usize| mark[a * n + b] == Mark::Out;
    loop {
        let mut changed = false;
        for a in 0..n {
            for b in 0..n {
                if !undirected(&mark, a, b) {
                    continue;
                }
                // R1: c → a — b, c and b not adjacent ⇒ a → b.
                let r1 = (0..n).any(|c| directed(&mark, c, a) && !adjacent(&mark, c, b) && c != b);
                // R2: a → c → b and a — b ⇒ a → b.
                let r2 = (0..n).any(|c| directed(&mark, a, c) && directed(&mark, c, b));
                // R3: a — c → b, a — d → b, c and d not adjacent ⇒ a → b.
                let r3 = (0..n).any(|c| {
                    undirected(&mark, a, c)
                        && directed(&mark, c, b)
                        && (c + 1..n).any(|d| {
                            undirected(&mark, a, d)
                                && directed(&mark, d, b)
                                && !adjacent(&mark, c, d)
                        })
                });
                if r1 || r2 || r3 {
                    orient(&mut mark, a, b);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut result = Cpdag {
        directed: Vec::new(),
        undirected: Vec::new(),
    };
    for a in 0..n {
        for b in 0..n {
            match mark[a * n + b] {
                Mark::Out => result.directed.push((a, b)),
                Mark::Undirected if a < b => result.undirected.push((a, b)),
                _ => {}
            }
        }
    }
    result
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

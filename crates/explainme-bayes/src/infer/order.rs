//! Greedy elimination orders on an interaction graph: min-fill, ties broken by the weight
//! (table size) of the clique the elimination creates, then by index for determinism.

use explainme_budget::MemoryBudget;

use crate::error::Result;

/// An undirected graph over `n` local vertices as an adjacency matrix (n is at most a few
/// hundred in every real network; a file with 10^5 variables is refused by the budget).
pub(crate) struct Interaction {
    n: usize,
    adjacent: Vec<bool>,
    alive: Vec<bool>,
}

impl Interaction {
    /// The graph without edges; its `n²` bytes are checked against `budget` first.
    pub(crate) fn new(n: usize, budget: &MemoryBudget) -> Result<Self> {
        budget.check_elements(
            format!("the interaction graph of {n} variables"),
            &[n as u64, n as u64],
            1,
        )?;
        Ok(Self {
            n,
            adjacent: vec![false; n * n],
            alive: vec![true; n],
        })
    }

    /// Connects every pair in `clique`.
    pub(crate) fn connect_all(&mut self, clique: &[usize]) {
        for (k, &a) in clique.iter().enumerate() {
            for &b in &clique[k + 1..] {
                self.adjacent[a * self.n + b] = true;
                self.adjacent[b * self.n + a] = true;
            }
        }
    }

    fn neighbours(&self, v: usize) -> Vec<usize> {
        (0..self.n)
            .filter(|&u| self.alive[u] && self.adjacent[v * self.n + u])
            .collect()
    }

    /// Eliminates the vertices marked in `eliminate`, greedily, and returns each one with the
    /// clique it formed (the vertex and its live neighbours at that moment). Eliminated
    /// vertices stay gone for later calls, so orders can be built in constrained phases.
    pub(crate) fn eliminate(
        &mut self,
        eliminate: &[bool],
        weights: &[f64],
    ) -> Vec<(usize, Vec<usize>)> {
        let mut steps = Vec::new();
        let mut remaining: Vec<usize> = (0..self.n).filter(|&v| eliminate[v]).collect();
        while !remaining.is_empty() {
            let mut best: Option<(usize, usize, f64)> = None;
            for (slot, &v) in remaining.iter().enumerate() {
                let nb = self.neighbours(v);
                let mut fill = 0;
                for (k, &a) in nb.iter().enumerate() {
                    fill += nb[k + 1..]
                        .iter()
                        .filter(|&&b| !self.adjacent[a * self.n + b])
                        .count();
                }
                let weight = nb.iter().map(|&u| weights[u]).product::<f64>() * weights[v];
                if best.is_none_or(|(_, f, w)| fill < f || (fill == f && weight < w)) {
                    best = Some((slot, fill, weight));
                }
            }
            let Some((slot, _, _)) = best else { break };
            let v = remaining.remove(slot);
            let nb = self.neighbours(v);
            self.connect_all(&nb);
            self.alive[v] = false;
            let mut clique = nb;
            clique.push(v);
            clique.sort_unstable();
            steps.push((v, clique));
        }
        steps
    }
}

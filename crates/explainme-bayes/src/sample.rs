//! Forward (ancestral) sampling: variables in topological order, each drawn from its CPT
//! row given the parents already drawn. Deterministic for a seed.

use crate::data::Dataset;
use crate::network::BayesNet;
use crate::rng::Rng;

/// Draws `n` independent records from the joint distribution of `net`.
///
/// ```
/// let net = explainme_bayes::read_bif(
///     "network n { } variable a { type discrete [ 2 ] { x, y }; }
///      probability ( a ) { table 0.3, 0.7; }",
/// )?;
/// let data = explainme_bayes::forward_sample(&net, 1000, 42);
/// assert_eq!(data.n_rows(), 1000);
/// assert_eq!(data, explainme_bayes::forward_sample(&net, 1000, 42));
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
#[allow(clippy::needless_range_loop)] // `row` indexes every column, not just one
pub fn forward_sample(net: &BayesNet, n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::seeded(seed);
    let cards = net.cardinalities();
    let mut columns = vec![vec![0u16; n]; net.len()];
    let mut record = vec![0usize; net.len()];
    for row in 0..n {
        for &v in net.topological_order() {
            let cpt = net.cpt(v);
            let config = cpt
                .parents
                .iter()
                .fold(0, |acc, &p| acc * cards[p] + record[p]);
            let probs = cpt.row(config, cards[v]);
            let total: f64 = probs.iter().sum();
            let mut u = rng.uniform() * total;
            // Rounding can leave `u` past the last bucket: fall back to the last possible state.
            let mut state = probs.iter().rposition(|&p| p > 0.0).unwrap_or(0);
            for (k, &p) in probs.iter().enumerate() {
                if u < p {
                    state = k;
                    break;
                }
                u -= p;
            }
            record[v] = state;
            columns[v][row] = state as u16;
        }
    }
    Dataset::from_columns(net.variables().cloned().collect(), columns, n)
}

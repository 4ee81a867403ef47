//! Forward (ancestral) sampling: variables in topological order, each drawn from its CPT
//! row given the parents already drawn. Deterministic for a seed.

use explainme_budget::MemoryBudget;

use crate::data::Dataset;
use crate::error::Result;
use crate::network::BayesNet;
use crate::rng::Rng;

/// Bytes per sampled cell: [`Dataset`] codes each cell as a `u16`.
const CELL_BYTES: u64 = 2;

/// Draws `n` independent records from the joint distribution of `net`.
///
/// The records take `n × variables × 2` bytes, allocated at once: for an `n` that comes from
/// outside (a command line, a request), use [`forward_sample_within`], which refuses an
/// absurd `n` instead of aborting on the allocation.
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
    let mut columns: Vec<Vec<u16>> = (0..net.len()).map(|_| vec![0; n]).collect();
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

/// [`forward_sample`] after checking that the `n × variables × 2` bytes of the records fit
/// `budget`; an `n` that does not gives [`crate::Error::OverBudget`] before anything is
/// allocated. The same seed gives the same records as [`forward_sample`].
///
/// ```
/// use explainme_budget::MemoryBudget;
/// let net = explainme_bayes::read_bif(
///     "network n { } variable a { type discrete [ 2 ] { x, y }; }
///      probability ( a ) { table 0.3, 0.7; }",
/// )?;
/// let budget = MemoryBudget::default();
/// assert_eq!(
///     explainme_bayes::forward_sample_within(&net, 1000, 42, &budget)?,
///     explainme_bayes::forward_sample(&net, 1000, 42),
/// );
/// let absurd = explainme_bayes::forward_sample_within(&net, 100_000_000_000, 42, &budget);
/// assert!(absurd.unwrap_err().to_string().contains("over the memory budget of 1 GiB"));
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
pub fn forward_sample_within(
    net: &BayesNet,
    n: usize,
    seed: u64,
    budget: &MemoryBudget,
) -> Result<Dataset> {
    // A network of no variables still yields `n` (empty) records: count one cell each.
    budget.check_elements(
        format!("{n} sampled records of {} variables", net.len()),
        &[n as u64, net.len().max(1) as u64],
        CELL_BYTES,
    )?;
    Ok(forward_sample(net, n, seed))
}

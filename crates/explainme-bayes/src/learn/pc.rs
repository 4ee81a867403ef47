//! PC-stable (Colombo & Maathuis 2014): constraint-based structure learning by conditional
//! independence tests, order-independent because each level's adjacency sets are frozen
//! before any edge of that level is removed.
//!
//! Skeleton: for conditioning-set sizes l = 0, 1, 2, …, drop x — y when some l-subset S of
//! x's other neighbours makes x ⊥ y | S at level `alpha` (chi-square or G-test, summed over
//! the strata of S; degrees of freedom per stratum from the states that occur there).
//! Orientation: clinical knowledge first (an arc forbidden one way — directly or by tiers —
//! orients the edge the other way; required arcs are never removed), then v-structures
//! x → z ← y for non-adjacent x, y with z outside their separating set (the first one found
//! wins a conflict), then Meek's rules. `max_parents` does not apply to PC.

use serde::Serialize;

use crate::cpdag::{Cpdag, Pattern};
use crate::data::{Dataset, MISSING};
use crate::error::{Error, Result};
use crate::learn::Constraints;
use crate::network::Dag;
use crate::score::ln_gamma;

/// The conditional-independence test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CiTest {
    /// Pearson's chi-square, Σ (O − E)² / E.
    ChiSquare,
    /// The likelihood-ratio G-test, 2 Σ O ln(O / E).
    GTest,
}

/// PC-stable structure learning, linfa style.
///
/// ```
/// use explainme_bayes::learn::Pc;
/// use explainme_bayes::{forward_sample, read_bif};
/// let truth = read_bif(
///     "network n { }
///      variable a { type discrete [ 2 ] { x, y }; }
///      variable b { type discrete [ 2 ] { x, y }; }
///      variable c { type discrete [ 2 ] { x, y }; }
///      probability ( a ) { table 0.5, 0.5; }
///      probability ( c ) { table 0.5, 0.5; }
///      probability ( b | a, c ) { (x, x) 0.9, 0.1; (x, y) 0.5, 0.5; (y, x) 0.5, 0.5; (y, y) 0.1, 0.9; }",
/// )?;
/// let learned = Pc::params().alpha(0.01).fit(&forward_sample(&truth, 5000, 3))?;
/// // The collider a → b ← c is identifiable from data alone.
/// assert_eq!(learned.cpdag.directed, [(0, 1), (2, 1)]);
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Pc;

/// Hyperparameters of [`Pc`]. Defaults: chi-square, alpha 0.01, conditioning sets up to 3
/// variables, no constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct PcParams {
    test: CiTest,
    alpha: f64,
    max_condition: usize,
    constraints: Constraints,
}

/// What PC learns: the pattern (CPDAG) and one DAG of it, for fitting CPTs.
#[derive(Debug, Clone, PartialEq)]
pub struct PcResult {
    pub cpdag: Cpdag,
    pub dag: Dag,
}

impl Pc {
    /// Default hyperparameters.
    pub fn params() -> PcParams {
        PcParams {
            test: CiTest::ChiSquare,
            alpha: 0.01,
            max_condition: 3,
            constraints: Constraints::new(),
        }
    }
}

impl PcParams {
    /// The independence test (default chi-square).
    pub fn test(mut self, test: CiTest) -> Self {
        self.test = test;
        self
    }
    /// Significance level: an edge goes when p > alpha (default 0.01).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// Largest conditioning set tried (default 3).
    pub fn max_condition(mut self, size: usize) -> Self {
        self.max_condition = size;
        self
    }
    /// Knowledge constraints (default none).
    pub fn constraints(mut self, constraints: Constraints) -> Self {
        self.constraints = constraints;
        self
    }

    /// Learns the pattern over the data's columns.
    pub fn fit(&self, data: &Dataset) -> Result<PcResult> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::InvalidParameter {
                name: "alpha",
                reason: format!("{} is not in (0, 1)", self.alpha),
            });
        }
        let rules = self.constraints.resolve(data)?;
        let n = rules.n;
        let mut pattern = Pattern::complete(n);
        let mut sepsets: Vec<Option<Vec<usize>>> = vec![None; n * n];
        for a in 0..n {
            for b in a + 1..n {
                if !rules.allowed(a, b) && !rules.allowed(b, a) {
                    pattern.remove(a, b);
                    sepsets[a * n + b] = Some(Vec::new());
                    sepsets[b * n + a] = Some(Vec::new());
                }
            }
        }
        for level in 0..=self.max_condition {
            let frozen: Vec<Vec<usize>> = (0..n).map(|v| pattern.neighbours(v)).collect();
            if frozen.iter().all(|adj| adj.len() <= level) {
                break;
            }
            for x in 0..n {
                for &y in &frozen[x] {
                    if !pattern.adjacent(x, y) || rules.required(x, y) || rules.required(y, x) {
                        continue;
                    }
                    let others: Vec<usize> =
                        frozen[x].iter().copied().filter(|&v| v != y).collect();
                    if let Some(separating) = subsets(&others, level)
                        .find(|s| p_value(data, x, y, s, self.test) > self.alpha)
                    {
                        pattern.remove(x, y);
                        sepsets[x * n + y] = Some(separating.clone());
                        sepsets[y * n + x] = Some(separating);
                    }
                }
            }
        }
        for a in 0..n {
            for b in 0..n {
                if pattern.adjacent(a, b) && (rules.required(a, b) || !rules.allowed(b, a)) {
                    pattern.orient_unless_reversed(a, b);
                }
            }
        }
        for z in 0..n {
            let adj = pattern.neighbours(z);
            for (k, &x) in adj.iter().enumerate() {
                for &y in &adj[k + 1..] {
                    let separated_without_z =
                        sepsets[x * n + y].as_ref().is_some_and(|s| !s.contains(&z));
                    if !pattern.adjacent(x, y) && separated_without_z {
                        pattern.orient_collider(x, z, y);
                    }
                }
            }
        }
        pattern.propagate();
        Ok(PcResult {
            cpdag: pattern.to_cpdag(),
            dag: pattern.extend_to_dag()?,
        })
    }
}

/// All `size`-subsets of `items`, in lexicographic order of positions.
fn subsets(items: &[usize], size: usize) -> impl Iterator<Item = Vec<usize>> + '_ {
    let mut positions: Option<Vec<usize>> = (size <= items.len()).then(|| (0..size).collect());
    std::iter::from_fn(move || {
        let current = positions.as_ref()?.clone();
        let result: Vec<usize> = current.iter().map(|&p| items[p]).collect();
        // Advance to the next combination, or finish.
        let mut next = current;
        let mut k = size;
        loop {
            if k == 0 {
                positions = None;
                break;
            }
            k -= 1;
            if next[k] < items.len() - size + k {
                next[k] += 1;
                for j in k + 1..size {
                    next[j] = next[j - 1] + 1;
                }
                positions = Some(next);
                break;
            }
        }
        Some(result)
    })
}

/// Tables above this many cells are not tested; the edge stays (treated as dependent).
const TEST_LIMIT: usize = 1 << 22;

/// The p-value of x ⊥ y | z.
fn p_value(data: &Dataset, x: usize, y: usize, z: &[usize], test: CiTest) -> f64 {
    let card = |v: usize| data.variables()[v].cardinality();
    let (rx, ry) = (card(x), card(y));
    let strata: usize = z.iter().map(|&v| card(v)).product();
    if strata.saturating_mul(rx * ry) > TEST_LIMIT {
        return 0.0;
    }
    let mut table = vec![0u32; strata * rx * ry];
    let columns: Vec<&[u16]> = z.iter().map(|&v| data.column(v)).collect();
    let (cx, cy) = (data.column(x), data.column(y));
    'rows: for row in 0..data.n_rows() {
        let mut stratum = 0;
        for (column, &v) in columns.iter().zip(z) {
            if column[row] == MISSING {
                continue 'rows;
            }
            stratum = stratum * card(v) + column[row] as usize;
        }
        if cx[row] == MISSING || cy[row] == MISSING {
            continue;
        }
        table[(stratum * rx + cx[row] as usize) * ry + cy[row] as usize] += 1;
    }
    let (mut statistic, mut dof) = (0.0, 0usize);
    for block in table.chunks(rx * ry) {
        let total: u32 = block.iter().sum();
        if total == 0 {
            continue;
        }
        let row_sums: Vec<u32> = block.chunks(ry).map(|r| r.iter().sum()).collect();
        let col_sums: Vec<u32> = (0..ry)
            .map(|j| block.iter().skip(j).step_by(ry).sum())
            .collect();
        let rows_seen = row_sums.iter().filter(|&&c| c > 0).count();
        let cols_seen = col_sums.iter().filter(|&&c| c > 0).count();
        dof += rows_seen.saturating_sub(1) * cols_seen.saturating_sub(1);
        for (i, &ri) in row_sums.iter().enumerate() {
            for (j, &cj) in col_sums.iter().enumerate() {
                let expected = ri as f64 * cj as f64 / total as f64;
                let observed = block[i * ry + j] as f64;
                statistic += match test {
                    CiTest::ChiSquare if expected > 0.0 => (observed - expected).powi(2) / expected,
                    CiTest::GTest if observed > 0.0 => 2.0 * observed * (observed / expected).ln(),
                    _ => 0.0,
                };
            }
        }
    }
    if dof == 0 {
        return 1.0;
    }
    chi_square_survival(statistic, dof as f64)
}

/// P(χ²_k > x) = Q(k/2, x/2), the regularised upper incomplete gamma function (series below
/// a + 1, Lentz's continued fraction above, as in Numerical Recipes §6.2).
fn chi_square_survival(x: f64, k: f64) -> f64 {
    let (a, x) = (k / 2.0, x / 2.0);
    if x <= 0.0 {
        return 1.0;
    }
    let log_prefix = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        1.0 - sum * log_prefix.exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        log_prefix.exp() * h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_tail_matches_known_quantiles() {
        // Quantiles: χ²₁ 3.841459 → 0.05; χ²₄ 13.276704 → 0.01; χ²₁₀ 2.558212 → 0.99.
        assert!((chi_square_survival(3.841_458_820_694_128_5, 1.0) - 0.05).abs() < 1e-12);
        assert!((chi_square_survival(13.276_704_135_987_625, 4.0) - 0.01).abs() < 1e-12);
        assert!((chi_square_survival(2.558_212_160_187_206_8, 10.0) - 0.99).abs() < 1e-12);
    }

    #[test]
    fn subsets_enumerate_combinations_in_order() {
        let all: Vec<Vec<usize>> = subsets(&[4, 5, 6], 2).collect();
        assert_eq!(all, [vec![4, 5], vec![4, 6], vec![5, 6]]);
        assert_eq!(
            subsets(&[4, 5], 0).collect::<Vec<_>>(),
            [Vec::<usize>::new()]
        );
        assert_eq!(subsets(&[4], 2).count(), 0);
    }
}

//! Decomposable structure scores — BIC, BDeu and K2 — exactly as pgmpy 1.1 defines them,
//! and the family counts they are built from.
//!
//! For a variable with `r` states whose parents have `q` joint configurations, with N_ijk
//! records in parent configuration j and state k (N_ij = Σ_k N_ijk):
//!
//! * BIC  = Σ_jk N_ijk ln(N_ijk / N_ij) − ½ ln(N) · q (r − 1), N the number of records;
//! * BDeu = Σ_j [ lnΓ(α) − lnΓ(α + N_ij) + Σ_k (lnΓ(β + N_ijk) − lnΓ(β)) ],
//!   α = ess / q, β = ess / (q r);
//! * K2   = Σ_j [ lnΓ(r) − lnΓ(r + N_ij) + Σ_k lnΓ(1 + N_ijk) ].
//!
//! Natural logarithms throughout. A record with a missing cell in the family is skipped for
//! that family only (pgmpy's `dropna` per family). Skipping alone would make families
//! incomparable — a parent that is often missing drops records and so *raises* the
//! likelihood — so when a family uses only N_f < N records its data term (the
//! log-likelihood for BIC, the log marginal likelihood for BDeu and K2) is scaled by N / N_f:
//! Balov's node-average likelihood (Balov 2013, "Consistent model selection of discrete
//! Bayesian networks from incomplete data", EJS 7), as bnlearn's `pnal` scores do. Without
//! missing cells the scores are exactly pgmpy's.

use serde::Serialize;

use crate::data::{Dataset, MISSING};
use crate::network::Dag;

/// A decomposable score of a DAG given data; larger is better.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Score {
    /// Bayesian information criterion (log-likelihood minus ½ ln N per free parameter).
    Bic,
    /// Bayesian Dirichlet equivalent uniform with the given equivalent sample size.
    BDeu { ess: f64 },
    /// Cooper & Herskovits' K2 (all Dirichlet pseudo-counts 1).
    K2,
}

/// The counts N_ijk of one family, for the parent configurations that occur.
pub(crate) struct FamilyCounts {
    /// Number of child states (r).
    pub(crate) states: usize,
    /// Number of parent configurations (q), as a float: it can exceed `usize` in principle.
    pub(crate) configurations: f64,
    /// Every configuration with N_ij > 0, in row order of [`crate::Cpt`] (last parent fastest).
    pub(crate) observed: Vec<usize>,
    /// Their counts, `states` per observed configuration, flat.
    pub(crate) counts: Vec<u32>,
    /// Records with no missing cell in the family.
    pub(crate) used: usize,
}

impl FamilyCounts {
    /// `(configuration, counts per child state)` for every observed configuration.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (usize, &[u32])> {
        self.observed
            .iter()
            .copied()
            .zip(self.counts.chunks(self.states))
    }
}

/// Parent configurations above this use sorting instead of a dense table.
const DENSE_LIMIT: usize = 1 << 20;

/// Multiplies `keys` by each variable's cardinality and adds its code, column by column (a
/// tight loop the compiler vectorises). Missing codes give garbage keys; callers filter.
fn extend_keys(data: &Dataset, vars: &[usize], keys: &mut [usize], dense: bool) {
    let cards = data.cardinalities();
    for &v in vars {
        let (column, card) = (data.column(v), cards[v]);
        if dense {
            for (key, &code) in keys.iter_mut().zip(column) {
                *key = *key * card + code as usize;
            }
        } else {
            for (key, &code) in keys.iter_mut().zip(column) {
                *key = key.saturating_mul(card).saturating_add(code as usize);
            }
        }
    }
}

fn is_dense(q: f64, r: usize) -> bool {
    q * (r as f64) <= DENSE_LIMIT as f64
}

/// Counts keys `configuration · r + state` into [`FamilyCounts`].
fn tabulate(mut keys: Vec<usize>, q: f64, r: usize) -> FamilyCounts {
    let mut observed = Vec::new();
    let mut counts = Vec::new();
    if is_dense(q, r) {
        let mut table = vec![0u32; q as usize * r];
        for &k in &keys {
            table[k] += 1;
        }
        return from_table(&table, q, r, keys.len());
    } else {
        keys.sort_unstable();
        for &k in &keys {
            let (j, s) = (k / r, k % r);
            if observed.last() != Some(&j) {
                observed.push(j);
                counts.resize(counts.len() + r, 0);
            }
            let base = counts.len() - r;
            counts[base + s] += 1;
        }
    }
    FamilyCounts {
        states: r,
        configurations: q,
        used: keys.len(),
        observed,
        counts,
    }
}

/// [`FamilyCounts`] from a dense `q × r` table of counts.
fn from_table(table: &[u32], q: f64, r: usize, used: usize) -> FamilyCounts {
    let mut observed = Vec::new();
    let mut counts = Vec::new();
    for (j, row) in table.chunks(r).enumerate() {
        if row.iter().any(|&c| c > 0) {
            observed.push(j);
            counts.extend_from_slice(row);
        }
    }
    FamilyCounts {
        states: r,
        configurations: q,
        used,
        observed,
        counts,
    }
}

pub(crate) fn family_counts(data: &Dataset, child: usize, parents: &[usize]) -> FamilyCounts {
    let cards = data.cardinalities();
    let r = cards[child];
    let q: f64 = parents.iter().map(|&p| cards[p] as f64).product();
    let mut family = parents.to_vec();
    family.push(child);
    let mut keys = vec![0; data.n_rows()];
    extend_keys(data, &family, &mut keys, is_dense(q, r));
    if family.iter().any(|&v| data.has_missing(v)) {
        let columns: Vec<&[u16]> = family.iter().map(|&v| data.column(v)).collect();
        let mut kept = 0;
        for row in 0..data.n_rows() {
            if columns.iter().all(|column| column[row] != MISSING) {
                keys[kept] = keys[row];
                kept += 1;
            }
        }
        keys.truncate(kept);
    }
    tabulate(keys, q, r)
}

/// The parent-configuration keys of one parent set, kept so that scoring the set plus one
/// more parent costs two passes over the records instead of one per parent. (Scores do not
/// depend on how configurations are numbered, so the extra parent may go last.)
pub(crate) struct ParentKeys {
    parents: Vec<usize>,
    /// Configuration index per record; meaningful only when `complete` and `dense`.
    keys: Vec<u32>,
    q: f64,
    complete: bool,
}

impl ParentKeys {
    pub(crate) fn new(data: &Dataset, parents: &[usize]) -> Self {
        let cards = data.cardinalities();
        let q: f64 = parents.iter().map(|&p| cards[p] as f64).product();
        let complete = parents.iter().all(|&p| !data.has_missing(p)) && q <= DENSE_LIMIT as f64;
        let mut keys = vec![0u32; if complete { data.n_rows() } else { 0 }];
        if complete {
            for &p in parents {
                let card = cards[p] as u32;
                for (key, &code) in keys.iter_mut().zip(data.column(p)) {
                    *key = *key * card + code as u32;
                }
            }
        }
        Self {
            parents: parents.to_vec(),
            keys,
            q,
            complete,
        }
    }

    /// The family score of `child` given these parents plus `extra`: one fused pass over
    /// the records when nothing is missing and the table is dense.
    pub(crate) fn score_with(
        &self,
        data: &Dataset,
        child: usize,
        extra: usize,
        score: Score,
    ) -> f64 {
        let (card_extra, r) = (
            data.variables()[extra].cardinality(),
            data.variables()[child].cardinality(),
        );
        let q = self.q * card_extra as f64;
        let fused =
            self.complete && is_dense(q, r) && !data.has_missing(child) && !data.has_missing(extra);
        if !fused {
            let mut parents = self.parents.clone();
            parents.push(extra);
            parents.sort_unstable();
            return family_score(data, child, &parents, score);
        }
        let mut table = vec![0u32; q as usize * r];
        let (extra_column, child_column) = (data.column(extra), data.column(child));
        for ((&key, &e), &c) in self.keys.iter().zip(extra_column).zip(child_column) {
            table[(key as usize * card_extra + e as usize) * r + c as usize] += 1;
        }
        score_counts(data, &from_table(&table, q, r, data.n_rows()), score)
    }
}

/// The score of one family (child given parents).
pub fn family_score(data: &Dataset, child: usize, parents: &[usize], score: Score) -> f64 {
    score_counts(data, &family_counts(data, child, parents), score)
}

fn score_counts(data: &Dataset, counts: &FamilyCounts, score: Score) -> f64 {
    let r = counts.states as f64;
    let q = counts.configurations;
    // Node-average scaling; 1 exactly when nothing is missing.
    let scale = if counts.used == 0 || counts.used == data.n_rows() {
        1.0
    } else {
        data.n_rows() as f64 / counts.used as f64
    };
    match score {
        Score::Bic => {
            let mut ll = 0.0;
            for (_, row) in counts.rows() {
                let total: u32 = row.iter().sum();
                for &c in row.iter().filter(|&&c| c > 0) {
                    ll += c as f64 * (c as f64 / total as f64).ln();
                }
            }
            scale * ll - 0.5 * (data.n_rows() as f64).ln() * q * (r - 1.0)
        }
        Score::BDeu { ess } => scale * dirichlet_score(counts, ess / q, ess / (q * r)),
        Score::K2 => scale * dirichlet_score(counts, r, 1.0),
    }
}

/// Σ_j [lnΓ(α_j) − lnΓ(α_j + N_ij) + Σ_k (lnΓ(β + N_ijk) − lnΓ(β))] with α_j = r β.
fn dirichlet_score(counts: &FamilyCounts, alpha: f64, beta: f64) -> f64 {
    let (lg_alpha, lg_beta) = (ln_gamma(alpha), ln_gamma(beta));
    let mut score = 0.0;
    for (_, row) in counts.rows() {
        let total: u32 = row.iter().sum();
        score += lg_alpha - ln_gamma(alpha + total as f64);
        for &c in row.iter().filter(|&&c| c > 0) {
            score += ln_gamma(beta + c as f64) - lg_beta;
        }
    }
    score
}

/// The score of a whole DAG: the sum of its family scores.
pub fn network_score(data: &Dataset, dag: &Dag, score: Score) -> f64 {
    (0..dag.len())
        .map(|v| family_score(data, v, dag.parents(v), score))
        .sum()
}

/// ln Γ(x) for x > 0: Lanczos (g = 7, 9 terms) with the reflection formula below ½;
/// relative error about 1e-15, ample for score parity at 1e-9.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::ln_gamma;

    #[test]
    fn ln_gamma_matches_factorials_and_half() {
        let mut factorial = 1.0f64;
        for n in 1..30 {
            assert!((ln_gamma(n as f64) - factorial.ln()).abs() < 1e-12 * factorial.ln().max(1.0));
            factorial *= n as f64;
        }
        let sqrt_pi_ln = 0.5 * std::f64::consts::PI.ln();
        assert!((ln_gamma(0.5) - sqrt_pi_ln).abs() < 1e-14);
        // Γ(1e-4) ≈ 9999.42279; ln ≈ 9.210282
        assert!((ln_gamma(1e-4) - 9.210_282_658_633_961).abs() < 1e-9);
    }
}

//! Linear concept probes on channel-pooled activations: the concept activation vector.
//!
//! Each case's layer output is pooled per channel into its mean and its maximum (the mean
//! says how much of the image a filter covers, the maximum whether it fires anywhere, which
//! is what small findings such as calcifications need), and each of those 2·C features is
//! standardised over the cohort. An L2-regularised logistic regression (linfa-logistic) on
//! them is the probe; its weight vector is the concept activation vector (CAV).
//!
//! Three fits answer three questions:
//! - **Is the concept linearly readable from the layer?** A seeded, stratified hold-out
//!   split (a third of the labelled cases by default): the probe is fit on the rest, its
//!   AUC on the held-out cases is reported and tested by permuting the held-out labels
//!   against its decision values. With the probe fixed, that permutation distribution is
//!   exact (the held-out cases played no part in the fit), so the p-value
//!   `(1 + #{permuted AUC ≥ observed}) / (1 + permutations)` is valid at any sample size.
//!   Permuting the labels of pooled cross-validation folds without refitting would not
//!   be: fold AUCs share training cases, are positively correlated under the null, and the
//!   test would come out liberal; refitting per permutation is hundreds of fits per probe.
//! - **How well, using all the data?** Stratified k-fold cross-validation: the mean of the
//!   fold AUCs.
//! - **Which direction?** A fit on every labelled case gives the CAV and the per-case
//!   concept scores (decision values, for every case including unlabelled ones).
//!
//! Each case also gets a *cross-fitted* score: a labelled case's decision value under the
//! fold probe that did not train on it, an unlabelled case's under the full probe (which
//! never saw its label either). A model downstream that is itself validated on held-out
//! cases (a surrogate tree) then never reads a score fitted to that case's own label.

use explainme_onnx::ChannelStat;
use linfa::Dataset;
use linfa::traits::Fit;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

use explainme_rules::stats::midranks;

use crate::random::{self, Purpose};
use crate::{ConceptParams, Error, Result, Standardisation};

/// Standardised channel-pooled features of one layer, `cases × 2·channels`, row-major:
/// per case the channel means, then the channel maxima.
#[derive(Debug, Clone)]
pub(crate) struct Pooled {
    pub(crate) cases: usize,
    pub(crate) channels: usize,
    pub(crate) values: Vec<f64>,
    /// How each raw feature was standardised, so a new case can be put in the same space.
    pub(crate) standardisation: Standardisation,
}

impl Pooled {
    /// Pools `[case][channel]` statistics; constant features become 0.
    pub(crate) fn new(stats: &[Vec<ChannelStat>]) -> Result<Pooled> {
        let cases = stats.len();
        let channels = stats.first().map_or(0, Vec::len);
        if cases == 0 || channels == 0 || stats.iter().any(|s| s.len() != channels) {
            return Err(Error::InvalidInput(format!(
                "channel statistics of {cases} cases do not all have the same, non-zero \
                 number of channels"
            )));
        }
        let width = 2 * channels;
        let mut values = Vec::with_capacity(cases * width);
        for case in stats {
            values.extend(pooled_features(case));
        }
        let mut standardisation = Standardisation {
            means: Vec::with_capacity(width),
            sds: Vec::with_capacity(width),
        };
        for feature in 0..width {
            let column = || values.iter().skip(feature).step_by(width);
            let mean = column().sum::<f64>() / cases as f64;
            let var = column().map(|v| (v - mean).powi(2)).sum::<f64>() / cases as f64;
            let sd = var.sqrt();
            for v in values.iter_mut().skip(feature).step_by(width) {
                *v = standardised(*v, mean, sd);
            }
            standardisation.means.push(mean);
            standardisation.sds.push(sd);
        }
        Ok(Pooled {
            cases,
            channels,
            values,
            standardisation,
        })
    }

    fn width(&self) -> usize {
        2 * self.channels
    }

    fn rows(&self, rows: &[usize]) -> Array2<f64> {
        let width = self.width();
        let mut out = Vec::with_capacity(rows.len() * width);
        for &r in rows {
            out.extend_from_slice(&self.values[r * width..(r + 1) * width]);
        }
        Array2::from_shape_vec((rows.len(), width), out).unwrap_or_else(|_| Array2::zeros((0, 0)))
    }

    fn decision(&self, row: usize, weights: &[f64], intercept: f64) -> f64 {
        let width = self.width();
        self.values[row * width..(row + 1) * width]
            .iter()
            .zip(weights)
            .map(|(x, w)| x * w)
            .sum::<f64>()
            + intercept
    }
}

/// One case's raw pooled features: its channel means, then its channel maxima.
pub(crate) fn pooled_features(stats: &[ChannelStat]) -> impl Iterator<Item = f64> + '_ {
    let means = stats.iter().map(|s| f64::from(s.mean));
    means.chain(stats.iter().map(|s| f64::from(s.max)))
}

/// `value` in standard units; a feature constant over the cohort carries no information
/// and becomes 0.
pub(crate) fn standardised(value: f64, mean: f64, sd: f64) -> f64 {
    if sd > 1e-12 { (value - mean) / sd } else { 0.0 }
}

/// What one probe found (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct ProbeFit {
    pub(crate) held_out_auc: f64,
    pub(crate) p_value: f64,
    pub(crate) held_out_cases: usize,
    pub(crate) cv_auc: f64,
    pub(crate) fold_aucs: Vec<f64>,
    /// Standardised-space weights: channel means, then channel maxima.
    pub(crate) weights: Vec<f64>,
    pub(crate) intercept: f64,
    /// The full probe's decision value for every case.
    pub(crate) scores: Vec<f64>,
    /// Every case's decision value under a probe that did not train on it (module docs).
    pub(crate) cross_fitted: Vec<f64>,
}

/// Why a concept cannot be probed (too few positives or negatives).
pub(crate) fn untestable(labels: &[Option<bool>], params: &ConceptParams) -> Option<String> {
    let positives = labels.iter().filter(|l| **l == Some(true)).count();
    let negatives = labels.iter().filter(|l| **l == Some(false)).count();
    let needed = params.min_cases_per_class();
    (positives.min(negatives) < needed).then(|| {
        format!(
            "{positives} positive and {negatives} negative cases; each class needs at least \
             {needed} for {} folds and a held-out part",
            params.folds
        )
    })
}

/// Fits the probe of one concept on one layer; `stream` picks the seeded streams (one per
/// concept × layer). The labels must pass [`untestable`].
pub(crate) fn probe(
    pooled: &Pooled,
    labels: &[Option<bool>],
    params: &ConceptParams,
    stream: u64,
    names: (&str, &str),
) -> Result<ProbeFit> {
    let fit = |rows: &[usize]| fit(pooled, labels, rows, params, names);
    let mut positives: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i] == Some(true))
        .collect();
    let mut negatives: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i] == Some(false))
        .collect();
    let truth = |i: usize| labels[i] == Some(true);

    // Hold-out split, stratified.
    let mut split = random::stream(params.seed, Purpose::Split, stream);
    split.shuffle(&mut positives);
    split.shuffle(&mut negatives);
    let held = |class: &[usize]| {
        ((class.len() as f64 * params.held_out).round() as usize).clamp(2, class.len() - 2)
    };
    let (test_pos, test_neg) = (held(&positives), held(&negatives));
    let test: Vec<usize> = positives[..test_pos]
        .iter()
        .chain(&negatives[..test_neg])
        .copied()
        .collect();
    let train: Vec<usize> = positives[test_pos..]
        .iter()
        .chain(&negatives[test_neg..])
        .copied()
        .collect();
    let (w, b) = fit(&train)?;
    let test_scores: Vec<f64> = test.iter().map(|&i| pooled.decision(i, &w, b)).collect();
    let test_labels: Vec<bool> = test.iter().map(|&i| truth(i)).collect();
    let ranks = midranks(&test_scores);
    let held_out_auc = auc_of_ranks(&ranks, &test_labels);
    let mut permuted = test_labels.clone();
    let mut shuffles = random::stream(params.seed, Purpose::Permutations, stream);
    let mut at_least = 0usize;
    for _ in 0..params.permutations {
        shuffles.shuffle(&mut permuted);
        if auc_of_ranks(&ranks, &permuted) >= held_out_auc - 1e-12 {
            at_least += 1;
        }
    }
    let p_value = (1 + at_least) as f64 / (1 + params.permutations) as f64;

    // Stratified k-fold cross-validation on every labelled case.
    let mut folds = random::stream(params.seed, Purpose::Folds, stream);
    folds.shuffle(&mut positives);
    folds.shuffle(&mut negatives);
    let k = params.folds;
    let mut fold_of = vec![usize::MAX; labels.len()];
    for (position, &i) in positives.iter().enumerate() {
        fold_of[i] = position % k;
    }
    for (position, &i) in negatives.iter().enumerate() {
        // Continue the rotation so small folds do not all start with the same class.
        fold_of[i] = (position + positives.len()) % k;
    }
    let mut fold_aucs = Vec::with_capacity(k);
    let mut out_of_fold = vec![None; labels.len()];
    for fold in 0..k {
        let (inside, outside): (Vec<usize>, Vec<usize>) = positives
            .iter()
            .chain(&negatives)
            .partition(|&&i| fold_of[i] == fold);
        let (w, b) = fit(&outside)?;
        let scores: Vec<f64> = inside.iter().map(|&i| pooled.decision(i, &w, b)).collect();
        for (&i, &score) in inside.iter().zip(&scores) {
            out_of_fold[i] = Some(score);
        }
        let truths: Vec<bool> = inside.iter().map(|&i| truth(i)).collect();
        fold_aucs.push(auc_of_ranks(&midranks(&scores), &truths));
    }
    let cv_auc = fold_aucs.iter().sum::<f64>() / k as f64;

    // The CAV: every labelled case.
    let all: Vec<usize> = positives.iter().chain(&negatives).copied().collect();
    let (weights, intercept) = fit(&all)?;
    let scores: Vec<f64> = (0..pooled.cases)
        .map(|i| pooled.decision(i, &weights, intercept))
        .collect();
    let cross_fitted = out_of_fold
        .iter()
        .zip(&scores)
        .map(|(fold, &full)| fold.unwrap_or(full))
        .collect();
    Ok(ProbeFit {
        held_out_auc,
        p_value,
        held_out_cases: test.len(),
        cv_auc,
        fold_aucs,
        weights,
        intercept,
        scores,
        cross_fitted,
    })
}

/// L2-regularised logistic regression on the given rows; returns weights and intercept.
fn fit(
    pooled: &Pooled,
    labels: &[Option<bool>],
    rows: &[usize],
    params: &ConceptParams,
    (concept, layer): (&str, &str),
) -> Result<(Vec<f64>, f64)> {
    let x = pooled.rows(rows);
    let y: Array1<bool> = rows.iter().map(|&i| labels[i] == Some(true)).collect();
    let model = LogisticRegression::default()
        .alpha(params.alpha)
        .max_iterations(params.max_iterations)
        .gradient_tolerance(params.gradient_tolerance)
        .fit(&Dataset::new(x, y))
        .map_err(|e| Error::Probe {
            concept: concept.to_owned(),
            layer: layer.to_owned(),
            message: e.to_string(),
        })?;
    // linfa-logistic models the more frequent class as its positive one; the probe's
    // decision value must grow with the concept whichever class is larger.
    let sign = if model.labels().pos.class { 1.0 } else { -1.0 };
    Ok((
        model.params().iter().map(|w| sign * w).collect(),
        sign * model.intercept(),
    ))
}

/// ROC AUC of scores already turned into [`midranks`]; 0.5 without both classes.
fn auc_of_ranks(ranks: &[f64], positive: &[bool]) -> f64 {
    explainme_rules::stats::auc_of_ranks(ranks, positive).unwrap_or(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_from_midranks_counts_ties_as_one_half() {
        let ranks = midranks(&[0.9, 0.5, 0.5, 0.1]);
        assert_eq!(ranks, [4.0, 2.5, 2.5, 1.0]);
        assert_eq!(auc_of_ranks(&ranks, &[true, true, false, false]), 3.5 / 4.0);
        assert_eq!(auc_of_ranks(&midranks(&[0.2, 0.8]), &[true, false]), 0.0);
    }
}

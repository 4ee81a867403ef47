//! How well the CNN separates malignant from benign cases: exact ROC AUC with a bootstrap
//! interval, sensitivity and specificity at the threshold, the confusion matrix, errors per
//! subtype, and calibration (reliability bins and the Brier score).

use std::collections::BTreeMap;

use explainme_rng::Random;
use serde::{Deserialize, Serialize};

/// The threshold on the positive-class probability for the verdict, sensitivity and
/// specificity.
pub const THRESHOLD: f32 = 0.5;

/// Counts at [`THRESHOLD`]; positive = malignant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub true_positive: usize,
    pub false_negative: usize,
    pub false_positive: usize,
    pub true_negative: usize,
}

/// Errors of one subtype at [`THRESHOLD`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubtypeErrors {
    pub cases: usize,
    pub malignant: usize,
    pub errors: usize,
    pub error_rate: f64,
}

/// One bin of a reliability (calibration) diagram.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Mean predicted probability of the bin's cases, in `[0, 1]`.
    pub mean_predicted: f64,
    /// Share of the bin's cases that are positive, in `[0, 1]`.
    pub observed: f64,
    /// How many cases fell in the bin (at least 1).
    pub cases: usize,
}

/// The CNN against the truth on a set of cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub cases: usize,
    pub malignant: usize,
    pub benign: usize,
    /// Exact ROC AUC; `None` when one class is absent.
    pub auc: Option<f64>,
    pub threshold: f32,
    pub sensitivity: Option<f64>,
    pub specificity: Option<f64>,
    pub accuracy: f64,
    pub confusion: Confusion,
    pub by_subtype: BTreeMap<String, SubtypeErrors>,
}

/// Exact ROC AUC of `scores` for `positive` labels: the Mann–Whitney U statistic over
/// n₊·n₋, with tied scores given their average rank. `None` without both classes.
pub fn auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let scores: Vec<f64> = scores.iter().map(|&s| f64::from(s)).collect();
    explainme_rules::stats::auc_of_ranks(&explainme_rules::stats::midranks(&scores), positive)
}

/// A percentile bootstrap 95% interval of the AUC: `resamples` resamples of the cases with
/// replacement, stratified by class (each keeps the numbers of malignant and benign cases,
/// so every resample has an AUC), from stream `stream` of `seed`. `None` without both
/// classes.
pub fn auc_interval(
    scores: &[f32],
    positive: &[bool],
    resamples: usize,
    seed: u64,
    stream: u64,
) -> Option<(f64, f64)> {
    let pos: Vec<usize> = (0..positive.len()).filter(|&i| positive[i]).collect();
    let neg: Vec<usize> = (0..positive.len()).filter(|&i| !positive[i]).collect();
    if pos.is_empty() || neg.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = Random::new(seed, stream);
    let mut aucs = Vec::with_capacity(resamples);
    let mut s = Vec::with_capacity(positive.len());
    let mut y = Vec::with_capacity(positive.len());
    for _ in 0..resamples {
        s.clear();
        y.clear();
        for (class, members) in [(true, &pos), (false, &neg)] {
            for _ in 0..members.len() {
                s.push(scores[members[rng.below(members.len())]]);
                y.push(class);
            }
        }
        aucs.extend(auc(&s, &y));
    }
    aucs.sort_by(f64::total_cmp);
    let at = |q: f64| aucs[((q * (aucs.len() - 1) as f64).round() as usize).min(aucs.len() - 1)];
    Some((at(0.025), at(0.975)))
}

/// Reliability-diagram bins: `[0, 1]` cut into `bins` equal-width bins, bin `k` holding the
/// probabilities `p` with `k / bins ≤ p < (k + 1) / bins` (the last bin also holds 1; the
/// edges are the `f64` values `k as f64 / bins as f64`, so 0.3 is in the fourth of ten bins),
/// each reported with its cases' mean probability and observed positive share. Empty bins are
/// left out, so the result is in increasing probability with at most `bins` entries.
///
/// Returns an empty `Vec` when the lengths differ, `bins` is 0, or a probability is outside
/// `[0, 1]` or NaN: such an input is not a probability forecast, and dropping the odd case
/// would draw a diagram of other data than the caller's.
///
/// ```
/// use explainme_explain::evaluation::{CalibrationBin, calibration_bins};
///
/// let bins = calibration_bins(&[0.1, 0.2, 0.9], &[false, true, true], 2);
/// assert_eq!(bins[0].cases, 2);
/// assert_eq!(bins[0].observed, 0.5);
/// assert_eq!(bins[1], CalibrationBin { mean_predicted: 0.9, observed: 1.0, cases: 1 });
/// ```
pub fn calibration_bins(probabilities: &[f64], truth: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let valid = |p: &f64| (0.0..=1.0).contains(p);
    if probabilities.len() != truth.len() || bins == 0 || !probabilities.iter().all(valid) {
        return Vec::new();
    }
    // Keyed by bin: memory follows the cases, not `bins`.
    let mut sums: BTreeMap<usize, (f64, usize, usize)> = BTreeMap::new();
    for (&p, &positive) in probabilities.iter().zip(truth) {
        let entry = sums.entry(bin_of(p, bins)).or_insert((0.0, 0, 0));
        entry.0 += p;
        entry.1 += usize::from(positive);
        entry.2 += 1;
    }
    sums.into_values()
        .map(|(sum, positives, cases)| CalibrationBin {
            mean_predicted: (sum / cases as f64).clamp(0.0, 1.0),
            observed: positives as f64 / cases as f64,
            cases,
        })
        .collect()
}

/// The bin of `p` in `[0, 1]`: the largest `k < bins` with `k / bins ≤ p`, the division done
/// in `f64` as the documented edges are (`p · bins` alone can round across an edge).
fn bin_of(p: f64, bins: usize) -> usize {
    let width = bins as f64;
    let edge = |k: usize| k as f64 / width;
    let mut k = ((p * width).floor() as usize).min(bins - 1);
    while k > 0 && edge(k) > p {
        k -= 1;
    }
    while k + 1 < bins && edge(k + 1) <= p {
        k += 1;
    }
    k
}

/// Mean squared difference between probability and outcome (lower is better; 0.25 for a
/// constant 0.5).
pub fn brier(probabilities: &[f64], truth: &[bool]) -> f64 {
    if probabilities.is_empty() {
        return 0.0;
    }
    probabilities
        .iter()
        .zip(truth)
        .map(|(&p, &t)| (p - f64::from(u8::from(t))).powi(2))
        .sum::<f64>()
        / probabilities.len() as f64
}

impl Evaluation {
    /// Scores one probability per case against the truth; `subtypes` may hold `None`.
    pub fn compute(
        probabilities: &[f32],
        malignant: &[bool],
        subtypes: &[Option<String>],
    ) -> Evaluation {
        let mut confusion = Confusion::default();
        let mut by_subtype: BTreeMap<String, SubtypeErrors> = BTreeMap::new();
        for ((&p, &truth), subtype) in probabilities.iter().zip(malignant).zip(subtypes) {
            let predicted = p >= THRESHOLD;
            match (truth, predicted) {
                (true, true) => confusion.true_positive += 1,
                (true, false) => confusion.false_negative += 1,
                (false, true) => confusion.false_positive += 1,
                (false, false) => confusion.true_negative += 1,
            }
            if let Some(subtype) = subtype {
                let entry = by_subtype.entry(subtype.clone()).or_insert(SubtypeErrors {
                    cases: 0,
                    malignant: 0,
                    errors: 0,
                    error_rate: 0.0,
                });
                entry.cases += 1;
                entry.malignant += usize::from(truth);
                entry.errors += usize::from(predicted != truth);
            }
        }
        for entry in by_subtype.values_mut() {
            entry.error_rate = entry.errors as f64 / entry.cases as f64;
        }
        let c = confusion;
        let ratio = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);
        let n = probabilities.len();
        Evaluation {
            cases: n,
            malignant: c.true_positive + c.false_negative,
            benign: c.true_negative + c.false_positive,
            auc: auc(probabilities, malignant),
            threshold: THRESHOLD,
            sensitivity: ratio(c.true_positive, c.true_positive + c.false_negative),
            specificity: ratio(c.true_negative, c.true_negative + c.false_positive),
            accuracy: ratio(c.true_positive + c.true_negative, n).unwrap_or(0.0),
            confusion,
            by_subtype,
        }
    }

    /// The evaluation as a few lines for a terminal.
    pub fn text(&self) -> String {
        let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.4}"));
        let c = &self.confusion;
        let mut out = format!(
            "cases {} ({} malignant, {} benign)\nAUC {}\nat p >= {}: sensitivity {}, specificity {}, accuracy {:.4}\n\
             confusion (rows truth, columns predicted):\n                 benign  malignant\n  benign     {:>9} {:>10}\n  malignant  {:>9} {:>10}\n",
            self.cases,
            self.malignant,
            self.benign,
            show(self.auc),
            self.threshold,
            show(self.sensitivity),
            show(self.specificity),
            self.accuracy,
            c.true_negative,
            c.false_positive,
            c.false_negative,
            c.true_positive,
        );
        if !self.by_subtype.is_empty() {
            out.push_str("errors by subtype:\n");
            for (subtype, e) in &self.by_subtype {
                out.push_str(&format!(
                    "  {subtype:<16} {:>5} cases {:>5} errors  {:.3}\n",
                    e.cases, e.errors, e.error_rate
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_edges_are_the_divided_edges() {
        assert_eq!(bin_of(0.0, 10), 0);
        assert_eq!(bin_of(0.3, 10), 3);
        assert_eq!(bin_of(0.7, 10), 7);
        // Just below an edge, `p · bins` can round up onto it: the edge decides.
        for k in 1..10 {
            let edge = k as f64 / 10.0;
            assert_eq!(bin_of(edge.next_down(), 10), k - 1, "below {edge}");
            assert_eq!(bin_of(edge, 10), k, "at {edge}");
        }
        assert_eq!(bin_of(1.0, 10), 9);
        assert_eq!(bin_of(1.0, 1), 0);
        for k in 0..=1000 {
            let bins = 7;
            let p = k as f64 / 1000.0;
            let b = bin_of(p, bins);
            assert!(b as f64 / bins as f64 <= p, "{p} in {b}");
            assert!(
                b + 1 == bins || p < (b + 1) as f64 / bins as f64,
                "{p} in {b}"
            );
        }
    }

    #[test]
    fn auc_counts_ties_as_one_half() {
        // Pairs (pos, neg): 0.9>0.1, 0.9>0.5, 0.5=0.5 (½), 0.5>0.1 → 3.5 of 4.
        let auc = auc(&[0.9, 0.5, 0.5, 0.1], &[true, true, false, false]).unwrap();
        assert_eq!(auc, 3.5 / 4.0);
        assert_eq!(super::auc(&[0.2, 0.8], &[true, false]), Some(0.0));
        assert_eq!(super::auc(&[0.2, 0.8], &[true, true]), None);
        assert_eq!(
            super::auc(&[0.3; 5], &[true, false, true, false, false]),
            Some(0.5)
        );
    }

    #[test]
    fn confusion_and_subtype_errors_follow_the_threshold() {
        let sub = |s: &str| Some(s.to_owned());
        let e = Evaluation::compute(
            &[0.9, 0.4, 0.5, 0.2, 0.7],
            &[true, true, false, false, false],
            &[sub("a"), sub("a"), sub("b"), sub("b"), None],
        );
        assert_eq!(
            e.confusion,
            Confusion {
                true_positive: 1,
                false_negative: 1,
                false_positive: 2,
                true_negative: 1
            }
        );
        assert_eq!(e.sensitivity, Some(0.5));
        assert_eq!(e.specificity, Some(1.0 / 3.0));
        assert_eq!(e.by_subtype["a"].errors, 1);
        assert_eq!(e.by_subtype["b"].error_rate, 0.5);
        assert_eq!(e.by_subtype.len(), 2);
    }

    #[test]
    fn bootstrap_interval_brackets_the_auc_and_is_seeded() {
        let scores: Vec<f32> = (0..200).map(|i| ((i * 37) % 100) as f32 / 100.0).collect();
        let truth: Vec<bool> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| s + if i % 3 == 0 { 0.3 } else { 0.0 } > 0.6)
            .collect();
        let point = auc(&scores, &truth).unwrap();
        let (low, high) = auc_interval(&scores, &truth, 500, 1, 0).unwrap();
        assert!(low < point && point < high, "{low} {point} {high}");
        assert!(high - low < 0.2);
        assert_eq!(auc_interval(&scores, &truth, 500, 1, 0), Some((low, high)));
        assert_ne!(auc_interval(&scores, &truth, 500, 2, 0), Some((low, high)));
        assert_eq!(auc_interval(&scores, &[true; 200], 10, 1, 0), None);
    }

    #[test]
    fn calibration_bins_by_hand() {
        let bins = calibration_bins(
            &[0.05, 0.15, 0.95, 0.9, 1.0],
            &[false, true, true, true, false],
            10,
        );
        assert_eq!(bins.len(), 3);
        assert_eq!((bins[0].cases, bins[0].observed), (1, 0.0));
        assert_eq!((bins[1].cases, bins[1].observed), (1, 1.0));
        assert_eq!(bins[2].cases, 3);
        assert!((bins[2].mean_predicted - 0.95).abs() < 1e-12);
        assert!((bins[2].observed - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(brier(&[0.5, 0.5], &[true, false]), 0.25);
    }
}

//! The numbers behind the ROC plot: its steps, computed exactly from per-case scores, so
//! that a plot shows what the cohort says and a test can check it (reliability bins are
//! explainme-explain's `evaluation::calibration_bins`, which the Explainer stores).
//!
//! An empty `Vec` when the curve does not exist for the input (lengths that differ, a class
//! missing) rather than a guess; the plotting functions refuse an empty input with a typed
//! error.

/// The exact ROC curve of `scores` (higher means more likely positive) against the truth.
///
/// Cases are taken in decreasing score; after each distinct score (all cases tied at it
/// together, as one step, which is a diagonal segment when the tie mixes classes) the
/// point `(false-positive rate, true-positive rate)` is appended. The curve starts at
/// `(0, 0)`, ends at exactly `(1, 1)` and has one point per distinct score plus the origin;
/// collinear points are kept, so every threshold of the data is on it. `-0.0` and `0.0` are
/// one score; `±∞` are scores like any other.
///
/// Returns an empty `Vec` — no ROC curve exists — when the lengths differ, a score is NaN
/// (it cannot be ranked), or either class has no case.
///
/// ```
/// use explainme_report::roc_curve;
///
/// let curve = roc_curve(&[0.9, 0.8, 0.8, 0.1], &[true, true, false, false]);
/// assert_eq!(curve, [(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
/// ```
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Vec<(f64, f64)> {
    if scores.len() != positive.len() || scores.iter().any(|s| s.is_nan()) {
        return Vec::new();
    }
    let positives = positive.iter().filter(|&&p| p).count();
    let negatives = positive.len() - positives;
    if positives == 0 || negatives == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // total_cmp puts -0.0 right below 0.0, so equal scores are adjacent.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));

    let mut curve = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        let score = scores[order[i]];
        while i < order.len() && scores[order[i]] == score {
            if positive[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        curve.push((fp as f64 / negatives as f64, tp as f64 / positives as f64));
    }
    curve
}

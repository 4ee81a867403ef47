//! Rank figures of a surrogate's scores: the AUC against a binary verdict and its
//! generalisation to a continuous outcome (Harrell's concordance).
//!
//! A tree's score takes one value per leaf, so ties are the rule, not the exception: both
//! figures count a tied pair one half.

/// ROC AUC of `scores` for `positive` labels (Mann–Whitney, ties one half); `None` without
/// both classes or with lengths that differ.
pub fn auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let outcome: Vec<f64> = positive.iter().map(|&p| f64::from(u8::from(p))).collect();
    (scores.len() == positive.len())
        .then(|| concordance(scores, &outcome))
        .flatten()
}

/// Harrell's C of `scores` against a continuous `outcome`: over the pairs whose outcomes
/// differ, the share that the scores order the same way, a tied score counting one half.
/// For a binary outcome it is the AUC. `None` when no pair differs or lengths differ.
/// O(n log n): cases are taken in increasing outcome, and a Fenwick tree over score ranks
/// counts the earlier (lower-outcome) cases scored below, level with and above each one.
pub fn concordance(scores: &[f64], outcome: &[f64]) -> Option<f64> {
    if scores.len() != outcome.len() {
        return None;
    }
    let mut levels: Vec<f64> = scores.to_vec();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    let rank = |s: f64| levels.partition_point(|&l| l.total_cmp(&s).is_lt());
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| outcome[a].total_cmp(&outcome[b]));

    let mut counts = Fenwick::new(levels.len());
    let (mut concordant, mut tied, mut pairs) = (0.0, 0.0, 0.0);
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end < order.len() && outcome[order[end]] == outcome[order[start]] {
            end += 1;
        }
        let earlier = start as f64;
        for &i in &order[start..end] {
            let r = rank(scores[i]);
            let below = counts.prefix(r) as f64;
            let level = counts.prefix(r + 1) as f64 - below;
            concordant += below;
            tied += level;
            pairs += earlier;
        }
        for &i in &order[start..end] {
            counts.add(rank(scores[i]));
        }
        start = end;
    }
    (pairs > 0.0).then(|| (concordant + 0.5 * tied) / pairs)
}

/// Counts per rank with prefix sums in O(log n).
struct Fenwick(Vec<u64>);

impl Fenwick {
    fn new(len: usize) -> Fenwick {
        Fenwick(vec![0; len + 1])
    }

    fn add(&mut self, rank: usize) {
        let mut i = rank + 1;
        while i < self.0.len() {
            self.0[i] += 1;
            i += i & i.wrapping_neg();
        }
    }

    /// How many added ranks are below `rank`.
    fn prefix(&self, rank: usize) -> u64 {
        let (mut i, mut sum) = (rank, 0);
        while i > 0 {
            sum += self.0[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, pair by pair.
    fn brute(scores: &[f64], outcome: &[f64]) -> Option<f64> {
        let (mut score, mut pairs) = (0.0, 0.0);
        for i in 0..scores.len() {
            for j in 0..scores.len() {
                if outcome[i] < outcome[j] {
                    pairs += 1.0;
                    score += match scores[i].total_cmp(&scores[j]) {
                        std::cmp::Ordering::Less => 1.0,
                        std::cmp::Ordering::Equal => 0.5,
                        std::cmp::Ordering::Greater => 0.0,
                    };
                }
            }
        }
        (pairs > 0.0).then(|| score / pairs)
    }

    #[test]
    fn ties_count_one_half() {
        assert_eq!(
            auc(&[0.9, 0.5, 0.5, 0.1], &[true, true, false, false]),
            Some(3.5 / 4.0)
        );
        assert_eq!(auc(&[0.3; 4], &[true, false, true, false]), Some(0.5));
        assert_eq!(auc(&[0.2, 0.8], &[true, true]), None);
        assert_eq!(auc(&[0.2], &[true, false]), None);
    }

    #[test]
    fn concordance_matches_the_pairwise_definition() {
        let scores = [0.2, 0.8, 0.8, 0.5, 0.2, 0.9, 0.5, 0.1];
        let outcome = [0.1, 0.7, 0.3, 0.3, 0.05, 0.95, 0.6, 0.3];
        assert_eq!(concordance(&scores, &outcome), brute(&scores, &outcome));
        assert!(concordance(&scores, &outcome).unwrap() > 0.8);
        assert_eq!(concordance(&[1.0, 2.0], &[0.5, 0.5]), None);
    }
}

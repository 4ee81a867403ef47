//! Fisher's exact test for a rule's 2×2 table, the Benjamini–Hochberg adjustment, and the
//! rank-based (Mann–Whitney) ROC AUC that concept probes and model evaluation share.
//!
//! The hypergeometric probabilities use Loader's saddle-point form ("Fast and accurate
//! computation of binomial probabilities", 2000; the algorithm of R's `dhyper`): each term is
//! `exp` of a sum of small, well-conditioned pieces, so it keeps full relative precision for
//! tables of any size, where log-factorial differences would lose ten digits at n = 20,000.
//! Tails are summed from the start term with the exact ratio of neighbouring terms, and the
//! side that does not contain the mode is the one summed, so the loop stops within a few
//! standard deviations.

/// One-sided Fisher's exact p-value for positive association of antecedent and consequent:
/// `P(X >= both)` for `X ~ Hypergeometric(n, consequent, antecedent)`, the value of
/// `scipy.stats.fisher_exact(table, alternative="greater")` for the table
/// `[[both, antecedent - both], [consequent - both, n - antecedent - consequent + both]]`.
pub fn fisher_greater(n: u32, antecedent: u32, consequent: u32, both: u32) -> f64 {
    let (n, draws, successes, x) = (n as f64, antecedent as f64, consequent as f64, both as f64);
    let failures = n - successes;
    let lowest = (draws - failures).max(0.0);
    let highest = draws.min(successes);
    if x <= lowest {
        return 1.0;
    }
    if x > highest {
        return 0.0;
    }
    // Ratio pmf(k + 1) / pmf(k).
    let up = |k: f64| (successes - k) * (draws - k) / ((k + 1.0) * (failures - draws + k + 1.0));
    let mean = draws * successes / n;
    if x > mean {
        // Upper tail, terms decreasing from x.
        let mut term = hypergeometric_pmf(x, successes, failures, draws);
        let mut sum = term;
        let mut k = x;
        while k < highest {
            term *= up(k);
            k += 1.0;
            let before = sum;
            sum += term;
            if sum == before {
                break;
            }
        }
        sum.min(1.0)
    } else {
        // 1 - P(X <= x - 1), terms decreasing downwards from x - 1.
        let mut k = x - 1.0;
        let mut term = hypergeometric_pmf(k, successes, failures, draws);
        let mut sum = term;
        while k > lowest {
            term /= up(k - 1.0);
            k -= 1.0;
            let before = sum;
            sum += term;
            if sum == before {
                break;
            }
        }
        (1.0 - sum).max(0.0)
    }
}

/// Benjamini–Hochberg adjusted p-values (the false-discovery-rate "q-values"), in the
/// order given; the same arithmetic as `scipy.stats.false_discovery_control` and R's
/// `p.adjust(method = "BH")`: `p_(i) * (m / i)`, then a running minimum from the largest.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = f64::INFINITY;
    for (rank, &i) in order.iter().enumerate().rev() {
        let scaled = p_values[i] * (m as f64 / (rank + 1) as f64);
        running = running.min(scaled);
        adjusted[i] = running.min(1.0);
    }
    adjusted
}

/// Ranks 1..=n of `values`, ties given the mean of the ranks they span (midranks).
pub fn midranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end) as f64 / 2.0 + 1.0;
        for &i in &order[start..=end] {
            ranks[i] = rank;
        }
        start = end + 1;
    }
    ranks
}

/// Exact ROC AUC from [`midranks`] of the scores: the Mann–Whitney U statistic over n₊·n₋,
/// tied scores counting one half. `None` without both classes or when the lengths differ.
pub fn auc_of_ranks(ranks: &[f64], positive: &[bool]) -> Option<f64> {
    if ranks.len() != positive.len() {
        return None;
    }
    let (mut sum, mut n_pos) = (0.0, 0usize);
    for (&r, &p) in ranks.iter().zip(positive) {
        if p {
            sum += r;
            n_pos += 1;
        }
    }
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// `P(X = x)` for `x` white balls among `draws` from `white + black` (R's `dhyper`).
fn hypergeometric_pmf(x: f64, white: f64, black: f64, draws: f64) -> f64 {
    let total = white + black;
    let p = draws / total;
    let q = (total - draws) / total;
    (ln_binomial_pmf(x, white, p, q) + ln_binomial_pmf(draws - x, black, p, q)
        - ln_binomial_pmf(draws, total, p, q))
    .exp()
}

/// `ln P(X = x)` for `X ~ Binomial(n, p)`, `q = 1 - p` (Loader's `dbinom_raw`).
fn ln_binomial_pmf(x: f64, n: f64, p: f64, q: f64) -> f64 {
    if p == 0.0 {
        return if x == 0.0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if q == 0.0 {
        return if x == n { 0.0 } else { f64::NEG_INFINITY };
    }
    if x == 0.0 {
        if n == 0.0 {
            return 0.0;
        }
        return if p < 0.1 {
            -deviance(n, n * q) - n * p
        } else {
            n * q.ln()
        };
    }
    if x == n {
        return if q < 0.1 {
            -deviance(n, n * p) - n * q
        } else {
            n * p.ln()
        };
    }
    if x < 0.0 || x > n {
        return f64::NEG_INFINITY;
    }
    let lc = stirling_error(n)
        - stirling_error(x)
        - stirling_error(n - x)
        - deviance(x, n * p)
        - deviance(n - x, n * q);
    let lf = LN_2PI + x.ln() + (-x / n).ln_1p();
    lc - 0.5 * lf
}

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// `ln(n!) - [(n + 1/2) ln n - n + ln sqrt(2π)]` for integer `n`: a table up to 15 (each
/// value computed to 50 digits), the Stirling series beyond.
fn stirling_error(n: f64) -> f64 {
    const TABLE: [f64; 16] = [
        0.0,
        0.081_061_466_795_327_26,
        0.041_340_695_955_409_3,
        0.027_677_925_684_998_34,
        0.020_790_672_103_765_093,
        0.016_644_691_189_821_193,
        0.013_876_128_823_070_748,
        0.011_896_709_945_891_77,
        0.010_411_265_261_972_096,
        0.009_255_462_182_712_733,
        0.008_330_563_433_362_87,
        0.007_573_675_487_951_841,
        0.006_942_840_107_209_53,
        0.006_408_994_188_004_207,
        0.005_951_370_112_758_847_5,
        0.005_554_733_551_962_801,
    ];
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 15.0 {
        return TABLE[n as usize];
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// The deviance term `x ln(x / np) + np - x`, by a series when `x` is close to `np`, where
/// the direct form cancels.
fn deviance(x: f64, np: f64) -> f64 {
    if (x - np).abs() < 0.1 * (x + np) {
        let mut v = (x - np) / (x + np);
        let mut s = (x - np) * v;
        if s.abs() < f64::MIN_POSITIVE {
            return s;
        }
        let mut ej = 2.0 * x * v;
        v *= v;
        for j in 1..1000 {
            ej *= v;
            let next = s + ej / (2 * j + 1) as f64;
            if next == s {
                return next;
            }
            s = next;
        }
    }
    x * (x / np).ln() + np - x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn fisher_matches_a_hand_enumeration() {
        // Lady tasting tea: 4 of 4 right from 8 cups has p = 1 / C(8, 4) = 1/70.
        assert!(close(fisher_greater(8, 4, 4, 4), 1.0 / 70.0, 1e-14));
        // 3 of 4: (C(4,3) C(4,1) + 1) / 70 = 17/70.
        assert!(close(fisher_greater(8, 4, 4, 3), 17.0 / 70.0, 1e-14));
        assert_eq!(fisher_greater(8, 4, 4, 0), 1.0);
        // Exhaustive small tables against exact rational sums.
        for n in 1..=12u32 {
            for a in 0..=n {
                for c in 0..=n {
                    let lo = (a + c).saturating_sub(n);
                    for x in lo..=a.min(c) {
                        let pmf = |k: u32| binomial(c, k) * binomial(n - c, a - k) / binomial(n, a);
                        let exact: f64 = (x..=a.min(c)).map(pmf).sum();
                        let p = fisher_greater(n, a, c, x);
                        assert!(close(p, exact, 1e-13), "{n} {a} {c} {x}: {p} vs {exact}");
                    }
                }
            }
        }
    }

    fn binomial(n: u32, k: u32) -> f64 {
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }

    #[test]
    fn benjamini_hochberg_matches_scipys_example() {
        let ps = [
            0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262,
            0.5719, 0.6528, 0.7590, 1.000,
        ];
        let expected = [
            0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.06385714, 0.06385714, 0.0645, 0.0765, 0.486,
            0.58118182, 0.714875, 0.75323077, 0.81321429, 1.0,
        ];
        for (q, e) in benjamini_hochberg(&ps).iter().zip(expected) {
            assert!((q - e).abs() < 1e-8, "{q} vs {e}");
        }
    }
}

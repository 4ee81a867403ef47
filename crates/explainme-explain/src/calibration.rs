//! Uncertainty of the CNN's verdict: Platt scaling of its probability, and a split-conformal
//! prediction set.
//!
//! The demo CNN (like any model brought to the service) was trained on another cohort, so
//! its outputs on this cohort's fitting cases are honest out-of-sample outputs: Platt
//! scaling is fitted on them, and the conformal quantile is taken on the held-out cases,
//! which neither the CNN nor the scaling saw. Split conformal (Vovk et al.; Angelopoulos &
//! Bates 2021, §1): the nonconformity of a case is 1 − p̂(its true class), the quantile is
//! the ⌈(n + 1)(1 − α)⌉-th smallest of the n held-out scores, and the prediction set of a
//! new case holds every class whose nonconformity is at most it. Under exchangeability the
//! set contains the true class with probability at least 1 − α.

use serde::{Deserialize, Serialize};

/// `p' = σ(a · logit(p) + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Platt {
    /// Maximum-likelihood fit by Newton's method (a tiny ridge keeps separable data finite).
    pub fn fit(probabilities: &[f64], truth: &[bool]) -> Platt {
        let (mut a, mut b) = (1.0, 0.0);
        let xs: Vec<f64> = probabilities.iter().map(|&p| logit(p)).collect();
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) =
                (1e-3 * (a - 1.0), 1e-3 * b, 1e-3, 0.0, 1e-3);
            for (&x, &y) in xs.iter().zip(truth) {
                let p = sigmoid(a * x + b);
                let r = p - f64::from(u8::from(y));
                let w = (p * (1.0 - p)).max(1e-12);
                ga += r * x;
                gb += r;
                haa += w * x * x;
                hab += w * x;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-18 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            a -= da;
            b -= db;
            if da.abs() + db.abs() < 1e-10 {
                break;
            }
        }
        Platt { a, b }
    }

    pub fn apply(&self, p: f64) -> f64 {
        sigmoid(self.a * logit(p) + self.b)
    }
}

/// The split-conformal quantile for two classes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Conformal {
    /// Miscoverage α (0.1 for 90% sets).
    pub alpha: f64,
    /// Nonconformity quantile q̂.
    pub quantile: f64,
    /// Held-out cases it was taken on.
    pub cases: usize,
}

impl Conformal {
    /// q̂ from the held-out calibrated probabilities of malignancy and the truth.
    pub fn fit(calibrated: &[f64], truth: &[bool], alpha: f64) -> Conformal {
        let mut scores: Vec<f64> = calibrated
            .iter()
            .zip(truth)
            .map(|(&p, &t)| if t { 1.0 - p } else { p })
            .collect();
        scores.sort_by(f64::total_cmp);
        let n = scores.len();
        let rank = (((n + 1) as f64) * (1.0 - alpha)).ceil() as usize;
        // With too few cases for the level, every class is in the set.
        let quantile = if rank == 0 || rank > n {
            1.0
        } else {
            scores[rank - 1]
        };
        Conformal {
            alpha,
            quantile,
            cases: n,
        }
    }

    /// Which of (benign, malignant) are in the set for calibrated P(malignant) = `p`.
    pub fn set(&self, p: f64) -> (bool, bool) {
        (p <= self.quantile, 1.0 - p <= self.quantile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_recovers_a_known_distortion() {
        // True P(y) = σ(2·logit(p) − 1); the fit should find a ≈ 2, b ≈ −1.
        let mut rng = explainme_rng::Random::new(3, 0);
        let (mut ps, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let p = 0.02 + 0.96 * rng.uniform();
            let truth = rng.uniform() < sigmoid(2.0 * logit(p) - 1.0);
            ps.push(p);
            ys.push(truth);
        }
        let fit = Platt::fit(&ps, &ys);
        assert!(
            (fit.a - 2.0).abs() < 0.1 && (fit.b + 1.0).abs() < 0.1,
            "{fit:?}"
        );
    }

    #[test]
    fn conformal_sets_cover_at_the_level() {
        let mut rng = explainme_rng::Random::new(4, 0);
        let draw = |rng: &mut explainme_rng::Random| {
            let p = rng.uniform();
            (p, rng.uniform() < p)
        };
        let (cal, truth): (Vec<f64>, Vec<bool>) = (0..2_000).map(|_| draw(&mut rng)).unzip();
        let conformal = Conformal::fit(&cal, &truth, 0.1);
        let covered = (0..20_000)
            .filter(|_| {
                let (p, t) = draw(&mut rng);
                let (benign, malignant) = conformal.set(p);
                if t { malignant } else { benign }
            })
            .count();
        // Coverage given one calibration set is Beta-distributed around 1 − α with a
        // standard deviation of about √(0.09 / 2000) ≈ 0.007: three of them either side.
        let coverage = covered as f64 / 20_000.0;
        assert!((0.878..0.922).contains(&coverage), "{coverage}");
        // Too few cases: both classes.
        assert_eq!(Conformal::fit(&[0.9], &[true], 0.1).set(0.5), (true, true));
    }
}

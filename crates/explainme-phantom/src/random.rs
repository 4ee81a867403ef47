//! The per-case random source: a stream of the workspace's seeded source
//! (`explainme_rng::Random`) per (seed, case, purpose).
//!
//! Every case owns independent streams, so cases can be generated in any order or in
//! parallel and still come out byte-identical for the same seed. The samplers (uniform,
//! Gaussian using both values of each Box–Muller pair, weighted choice) are written out here
//! rather than borrowed from a distribution crate so that the numbers a seed produces never
//! change with a dependency upgrade.

/// What a stream is used for; separate streams keep, for example, the label noise of a case
/// unchanged when its rendering changes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    Truth = 0,
    Labels = 1,
    Render = 2,
}

pub(crate) struct Random {
    rng: explainme_rng::Random,
    spare_normal: Option<f64>,
}

impl Random {
    pub(crate) fn for_case(seed: u64, case: u64, purpose: Purpose) -> Random {
        Random {
            rng: explainme_rng::Random::new(
                seed,
                case.wrapping_mul(4).wrapping_add(purpose as u64),
            ),
            spare_normal: None,
        }
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub(crate) fn uniform(&mut self) -> f64 {
        self.rng.uniform()
    }

    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// An integer in `lo..=hi`.
    pub(crate) fn int(&mut self, lo: usize, hi: usize) -> usize {
        let span = (hi - lo + 1) as f64;
        lo + ((self.uniform() * span) as usize).min(hi - lo)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal by Box–Muller, using both values of each pair.
    pub(crate) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]: the logarithm stays finite
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        self.spare_normal = Some(r * s);
        r * c
    }

    /// Log-normal with the given median and log-scale spread.
    pub(crate) fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// One of `choices`, with probability proportional to its weight.
    pub(crate) fn pick<T: Copy>(&mut self, choices: &[(T, f64)]) -> T {
        let total: f64 = choices.iter().map(|(_, w)| w).sum();
        let mut u = self.uniform() * total;
        for &(value, weight) in choices {
            if u < weight {
                return value;
            }
            u -= weight;
        }
        // Rounding can leave u a hair above the last weight; the last choice takes it.
        choices[choices.len() - 1].0
    }

    /// A random unit vector; in-plane (z = 0) when `planar`.
    pub(crate) fn direction(&mut self, planar: bool) -> [f64; 3] {
        if planar {
            let (s, c) = self.range(0.0, std::f64::consts::TAU).sin_cos();
            return [c, s, 0.0];
        }
        loop {
            let v = [self.normal(), self.normal(), self.normal()];
            let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            if n > 1e-9 {
                return [v[0] / n, v[1] / n, v[2] / n];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |case, purpose| {
            let mut r = Random::for_case(7, case, purpose);
            (0..4).map(|_| r.uniform()).collect::<Vec<_>>()
        };
        assert_eq!(draw(3, Purpose::Truth), draw(3, Purpose::Truth));
        assert_ne!(draw(3, Purpose::Truth), draw(4, Purpose::Truth));
        assert_ne!(draw(3, Purpose::Truth), draw(3, Purpose::Labels));
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = Random::for_case(1, 0, Purpose::Render);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.02 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
    }
}

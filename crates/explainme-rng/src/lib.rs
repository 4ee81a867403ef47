//! The workspace's one seeded random source: ChaCha8 streams.
//!
//! Everything random in an analysis (held-out splits, folds, permutations, bootstrap
//! resamples, random directions) draws from `Random::new(seed, stream)`: the same seed and
//! stream give the same numbers on every platform (ChaCha8 is portable, unlike `StdRng`),
//! and giving each purpose and item its own stream means adding a concept or a layer does
//! not change the numbers drawn for the others.
//!
//! ```
//! use explainme_rng::Random;
//!
//! let mut a = Random::new(7, 3);
//! let mut b = Random::new(7, 3);
//! assert_eq!(a.below(1000), b.below(1000));
//! let x = a.uniform();
//! assert!((0.0..1.0).contains(&x));
//! ```

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// One seeded stream.
pub struct Random(ChaCha8Rng);

impl Random {
    /// Stream `stream` under `seed`.
    pub fn new(seed: u64, stream: u64) -> Random {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Random(rng)
    }

    /// 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// 32 random bits (one ChaCha word, where [`Random::next_u64`] takes two).
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (multiply-shift, no modulo bias worth the name).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.0.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// Standard normal (Box–Muller, one value per call).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

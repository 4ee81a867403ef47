//! The crate's seeded random source: ChaCha8 streams, one per purpose and item.
//!
//! Folds, permutations and random directions each draw from their own stream
//! (`seed`, stream = purpose and index), so adding a concept or a layer does not change the
//! numbers drawn for the others, and the same seed gives the same report.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// What a stream is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    Split = 0,
    Folds = 1,
    Permutations = 2,
    Directions = 3,
}

pub(crate) struct Random(ChaCha8Rng);

impl Random {
    /// The stream of `purpose` for item `index` (a concept, a layer) under `seed`.
    pub(crate) fn new(seed: u64, purpose: Purpose, index: u64) -> Random {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index.wrapping_mul(4).wrapping_add(purpose as u64));
        Random(rng)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (multiply-shift, no modulo bias worth the name).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.0.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// Standard normal (Box–Muller, one value per call).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

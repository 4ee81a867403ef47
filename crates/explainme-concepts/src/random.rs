//! The crate's seeded random source: ChaCha8 streams, one per purpose and item.
//!
//! Folds, permutations and random directions each draw from their own stream
//! (`seed`, stream = purpose and index), so adding a concept or a layer does not change the
//! numbers drawn for the others, and the same seed gives the same report.

/// What a stream is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    Split = 0,
    Folds = 1,
    Permutations = 2,
    Directions = 3,
}

pub(crate) use explainme_rng::Random;

/// The stream of `purpose` for item `index` (a concept, a layer) under `seed`.
pub(crate) fn stream(seed: u64, purpose: Purpose, index: u64) -> Random {
    Random::new(seed, index.wrapping_mul(4).wrapping_add(purpose as u64))
}

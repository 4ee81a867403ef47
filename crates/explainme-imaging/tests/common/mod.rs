//! Shared test helpers: a seeded generator (no external RNG crate) and CT-like images.

#![allow(dead_code)] // each test binary uses a different subset

use explainme_imaging::{Image, Mask, Shape, Spacing};

/// SplitMix64: tiny, seeded, good enough to scatter test values and garbage bytes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Integer HU values across the CT range (air to dense bone), so every integer codec must
/// reproduce them exactly.
pub fn ct_image(shape: Shape, seed: u64) -> Image {
    let mut rng = Rng::new(seed);
    Image::from_fn(shape, |_, _, _| rng.below(4096) as f32 - 1024.0)
        .unwrap()
        .with_spacing(Spacing::new(2.5, 0.75, 0.8))
}

/// Non-integer HU values, for float codecs.
pub fn float_image(shape: Shape, seed: u64) -> Image {
    let mut rng = Rng::new(seed);
    Image::from_fn(shape, |_, _, _| {
        (rng.next_u64() % 1_000_000) as f32 / 137.0 - 1000.0
    })
    .unwrap()
    .with_spacing(Spacing::new(1.25, 0.5, 0.625))
}

pub fn disc_mask(shape: Shape) -> Mask {
    let [_, ny, nx] = shape.zyx();
    Mask::from_fn(shape, |z, y, x| {
        let (dy, dx) = (y as f32 - ny as f32 / 2.0, x as f32 - nx as f32 / 2.0);
        dy * dy + dx * dx < (ny.min(nx) as f32 / 3.0 + z as f32).powi(2)
    })
    .unwrap()
    .with_spacing(Spacing::new(2.5, 0.75, 0.8))
}

//! Mask helpers: making a mask from an HU range, comparing masks (IoU, the Network
//! Dissection overlap measure), and finding a mask's centre for cropping.

use std::ops::RangeInclusive;

use crate::{Image, Mask, Result};

impl Mask {
    /// Voxels whose HU lies in `range` (NaN is outside every range), e.g. fat is
    /// `-190.0..=-30.0`, calcification `130.0..=f32::INFINITY`.
    pub fn from_threshold(image: &Image, range: RangeInclusive<f32>) -> Mask {
        image.map(|hu| range.contains(hu))
    }

    /// Number of voxels inside.
    pub fn count_inside(&self) -> usize {
        self.voxels().iter().filter(|&&m| m).count()
    }

    /// Intersection over union with a mask of the same shape. Two empty masks agree
    /// perfectly: their IoU is 1.
    pub fn iou(&self, other: &Mask) -> Result<f64> {
        self.check_same_shape(other)?;
        let (mut both, mut either) = (0usize, 0usize);
        for (&a, &b) in self.voxels().iter().zip(other.voxels()) {
            both += usize::from(a && b);
            either += usize::from(a || b);
        }
        Ok(if either == 0 {
            1.0
        } else {
            both as f64 / either as f64
        })
    }

    /// The centroid `[z, y, x]` in voxel coordinates (z = 0 in 2D), or `None` when empty.
    pub fn centroid(&self) -> Option<[f64; 3]> {
        let [nz, ny, nx] = self.shape().zyx();
        let mut sum = [0f64; 3];
        let mut n = 0usize;
        let mut i = 0;
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    if self.voxels()[i] {
                        sum[0] += z as f64;
                        sum[1] += y as f64;
                        sum[2] += x as f64;
                        n += 1;
                    }
                    i += 1;
                }
            }
        }
        (n > 0).then(|| sum.map(|s| s / n as f64))
    }
}

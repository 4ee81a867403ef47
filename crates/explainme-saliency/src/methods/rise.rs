//! RISE (Petsiuk, Das & Saenko, BMVC 2018): the probability-weighted mean of many random
//! smooth masks.
//!
//! Mask *i*: a `grid`ⁿ array of cells kept with probability `keep_probability`, upsampled
//! (linearly, half-pixel centres) to `(grid + 1) · cell` voxels per axis with `cell =
//! ⌈side / grid⌉`, then cropped at a random shift in `[0, cell)` per axis — the paper's
//! recipe, so masks are smooth and not aligned to the grid. The masked input blends the
//! image with its blurred baseline (`b + m · (x − b)`) instead of the paper's zero. The map
//! is `Σᵢ pᵢ · mᵢ / Σᵢ mᵢ` per voxel, the mean probability when the voxel is shown; the paper
//! divides by `N · keep_probability`, which has the same limit but adds, at a few thousand
//! masks, the noise of how often each voxel happened to be kept — enough to scramble the
//! ranking of a map whose signal is a small covariance on top of the mean probability. Masks
//! come from one stream of the workspace's seeded source (`explainme_rng::Random`, stream 0
//! of `seed`), generated per batch and dropped after it: memory is one batch of masks plus
//! two maps, whatever `masks` is.
//!
//! **Fast variant: stop when converged.** Masks are consumed in segments of `min_masks / 2`,
//! then doubling (so segment *k* is as long as all before it); after each segment the
//! correlation ρ between the map of the masks before it and the map of the segment alone is
//! computed. The two are independent estimates of the same expectation from equally many
//! masks, so ρ is a split-half reliability, and the Spearman–Brown formula `2ρ / (1 + ρ)`
//! predicts the reliability of the map made from both; the run stops once that reaches
//! `convergence` (default 0.9, i.e. ρ ≥ 0.82), or at `masks`. The same seed gives the same
//! first masks as the full method.
//!
//! ρ is Pearson's correlation of the values, not a rank correlation. Where the model ignores
//! a region (a flat background, a voxel more than a cell from anything that matters) the true
//! map is one value, so its voxels' ranks are set by noise at any number of masks; a rank
//! correlation over the map then stops growing long before the map's values settle, and a
//! rule on it never stops. Measured with the peer's RISE (`benches/peers`) on the bench's four
//! phantoms: between halves of 500, 1,000 and 2,000 masks Spearman's ρ went 0.43 → 0.55 →
//! 0.61 on one image, and even a 4,000-mask map against an 8,000-mask one had ρ 0.70–0.97,
//! while Pearson's r between halves rose 0.78 → 0.88 → 0.94 and the 4,000-mask map's r with
//! the 8,000-mask one was 0.975–0.991. Pearson weighs each voxel by how far it is from the
//! map's mean, as a linear colour scale shows it. On the demo CNN the fast run stops at 1,000
//! or 2,000 of 4,000 masks with r ≥ 0.97 against the full map and its lesion mass to three
//! decimals (`tests/demo_cnn.rs`).
//!
//! Trade-off: the ordering among voxels of nearly equal value (the background) is left as
//! noisy as the masks used make it, so a map that is read by rank far from its peaks (a
//! deletion curve's tail) is less settled than one from all the masks; and on an image where
//! nothing matters (a flat map, pure noise) it never converges and costs as much as the full
//! method plus the checks.

use explainme_imaging::{Resizer, Shape};
use explainme_rng::Random;

use super::{Job, Method};
use crate::metrics::pearson;
use crate::{Result, SaliencyParams, Subject};

pub(super) const METHOD: Method = Method {
    name: "rise",
    summary: "average of random smooth masks weighted by the probability they leave",
    full,
    fast,
    planned_passes,
    reads_layer: false,
    fills: false,
};

fn planned_passes(params: &SaliencyParams, _: &Subject) -> usize {
    params.masks
}

/// Draws masks of one image grid.
struct MaskMaker {
    rng: Random,
    grid: [usize; 3],
    cell: [usize; 3],
    keep: f64,
    cells: Vec<f32>,
    /// From the cell grid to `(grid + 1) · cell` voxels per axis, keeping the image's
    /// extent at each mask's shift.
    upsample: Resizer,
}

impl MaskMaker {
    fn new(params: &SaliencyParams, shape: Shape) -> Result<MaskMaker> {
        let zyx = shape.zyx();
        let grid = zyx.map(|n| if n > 1 { params.grid.min(n) } else { 1 });
        let cell = [0, 1, 2].map(|a| zyx[a].div_ceil(grid[a]));
        // One cell along an axis (a 2D image's z, or `grid` 1) is constant: no shift there.
        let up = [0, 1, 2].map(|a| {
            if grid[a] > 1 {
                (grid[a] + 1) * cell[a]
            } else {
                zyx[a]
            }
        });
        let axes = 3 - shape.dims();
        let (grid_shape, up_shape) = (
            Shape::from_slice(&grid[axes..])?,
            Shape::from_slice(&up[axes..])?,
        );
        Ok(MaskMaker {
            rng: Random::new(params.seed, 0),
            grid,
            cell,
            keep: params.keep_probability,
            cells: Vec::new(),
            upsample: Resizer::cropped(grid_shape, up_shape, shape)?,
        })
    }

    /// Writes the next mask into `out`.
    fn next(&mut self, out: &mut [f32]) {
        let [gz, gy, gx] = self.grid;
        self.cells.clear();
        for _ in 0..gz * gy * gx {
            let kept = self.rng.uniform() < self.keep;
            self.cells.push(if kept { 1.0 } else { 0.0 });
        }
        let shift: [usize; 3] = [0, 1, 2].map(|a| {
            if self.grid[a] > 1 {
                (self.rng.uniform() * self.cell[a] as f64) as usize
            } else {
                0
            }
        });
        self.upsample.set_offset(shift);
        self.upsample.resize_into(&self.cells, out);
    }
}

/// Per voxel: `Σ score · mask` and `Σ mask`.
#[derive(Clone)]
struct Sums {
    weighted: Vec<f32>,
    weight: Vec<f32>,
}

impl Sums {
    fn new(voxels: usize) -> Sums {
        Sums {
            weighted: vec![0.0; voxels],
            weight: vec![0.0; voxels],
        }
    }

    fn add(&mut self, other: &Sums) {
        self.weighted
            .iter_mut()
            .zip(&other.weighted)
            .for_each(|(a, b)| *a += b);
        self.weight
            .iter_mut()
            .zip(&other.weight)
            .for_each(|(a, b)| *a += b);
    }

    fn clear(&mut self) {
        self.weighted.fill(0.0);
        self.weight.fill(0.0);
    }
}

/// The map: `Σ score · mask / Σ mask` per voxel (0 where no mask reached).
fn normalised(sums: &Sums) -> Vec<f32> {
    sums.weighted
        .iter()
        .zip(&sums.weight)
        .map(|(&s, &w)| if w > 0.0 { s / w } else { 0.0 })
        .collect()
}

/// Runs `count` more masks and adds them into `sums`.
fn accumulate(
    job: &Job,
    maker: &mut MaskMaker,
    masks: &mut [f32],
    batch: &mut crate::subject::Batch,
    count: usize,
    sums: &mut Sums,
) -> Result<()> {
    let voxels = sums.weight.len();
    let mut done = 0;
    while done < count {
        let cases = (count - done).min(batch.capacity);
        for slot in 0..cases {
            let mask = &mut masks[slot * voxels..(slot + 1) * voxels];
            maker.next(mask);
            job.input.blend(mask, &mut batch.scratch);
            batch.commit(slot);
        }
        let scores = job.subject.scores(batch, cases, job.class)?;
        for (slot, &score) in scores.iter().enumerate() {
            let mask = &masks[slot * voxels..(slot + 1) * voxels];
            for ((s, w), &m) in sums.weighted.iter_mut().zip(&mut sums.weight).zip(mask) {
                *s += score * m;
                *w += m;
            }
        }
        (job.progress)(cases as u64);
        done += cases;
    }
    Ok(())
}

fn setup(job: &Job) -> Result<(MaskMaker, Vec<f32>, crate::subject::Batch)> {
    let maker = MaskMaker::new(job.params, job.input.shape)?;
    let batch = job.subject.batch_buffer()?;
    let masks = vec![0.0f32; batch.capacity * job.input.input.len()];
    Ok((maker, masks, batch))
}

fn full(job: &Job) -> Result<(Vec<f32>, usize)> {
    let (mut maker, mut masks, mut batch) = setup(job)?;
    let mut sums = Sums::new(job.input.input.len());
    let n = job.params.masks;
    accumulate(job, &mut maker, &mut masks, &mut batch, n, &mut sums)?;
    Ok((normalised(&sums), n))
}

fn fast(job: &Job) -> Result<(Vec<f32>, usize)> {
    let (mut maker, mut masks, mut batch) = setup(job)?;
    let voxels = job.input.input.len();
    let mut total = Sums::new(voxels);
    let mut segment = Sums::new(voxels);
    let limit = job.params.masks;
    let mut used = 0;
    let mut length = (job.params.min_masks / 2).max(1);
    while used < limit {
        let count = length.min(limit - used);
        segment.clear();
        accumulate(job, &mut maker, &mut masks, &mut batch, count, &mut segment)?;
        let converged = used > 0 && {
            let rho = pearson(&normalised(&total), &normalised(&segment));
            2.0 * rho / (1.0 + rho) >= job.params.convergence
        };
        total.add(&segment);
        used += count;
        if converged {
            break;
        }
        length = used;
    }
    Ok((normalised(&total), used))
}

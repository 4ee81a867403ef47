//! Occlusion (Zeiler & Fergus 2014): slide a patch over the image, fill it with what the
//! surrounding tissue looks like, and record how much the class probability drops.
//!
//! **Fill.** Each patch is filled with the mean of a ring around it (the patch grown by half
//! its side on every side, clipped to the image, minus the patch), computed from a summed
//! area table in O(1) per patch. A zero fill would paint an abdominal window's lower bound —
//! fat — into the patch and measure the reaction to planted fat; the ring mean removes the
//! structure while keeping the local tissue level. A voxel's saliency is the mean drop over
//! the patches that cover it (captum's convention), so overlapping strides smooth the map.
//!
//! **Fast variant: coarse to fine.** First patches twice the side with a stride of one patch
//! (about a quarter of the positions in 2D, an eighth in 3D), then the fine patches only
//! where the coarse map is in its top `refine_fraction` of voxels (a fine patch is run when
//! the coarse value at its centre ranks there). Elsewhere the coarse map is kept, rescaled
//! so its magnitude matches the fine map over the refined voxels. Trade-off: a salient
//! structure much smaller than the coarse patch, away from anything else salient, dilutes
//! into a low coarse value and is never refined; the fast map then shows it blurred at
//! coarse resolution, or misses it. With the defaults it makes about 40% of the full
//! method's passes in 2D.

use super::{Job, Method, score_all};
use crate::{Result, SaliencyParams, Subject};

pub(super) const METHOD: Method = Method {
    name: "occlusion",
    summary: "slide a patch filled from the surrounding tissue; saliency = drop in probability",
    full,
    fast,
    planned_passes,
};

/// A patch grid: per axis, the start of every patch and the patch extent.
struct Patches {
    starts: [Vec<usize>; 3],
    extent: [usize; 3],
}

impl Patches {
    fn new(zyx: [usize; 3], patch: usize, stride: usize) -> Patches {
        let axis = |n: usize| {
            if n == 1 {
                return (vec![0], 1);
            }
            let p = patch.min(n);
            let mut starts: Vec<usize> = (0..=n - p).step_by(stride).collect();
            if starts.last() != Some(&(n - p)) {
                starts.push(n - p);
            }
            (starts, p)
        };
        let (z, y, x) = (axis(zyx[0]), axis(zyx[1]), axis(zyx[2]));
        Patches {
            starts: [z.0, y.0, x.0],
            extent: [z.1, y.1, x.1],
        }
    }

    fn count(&self) -> usize {
        self.starts.iter().map(Vec::len).product()
    }

    /// The corner of patch `i` (x fastest).
    fn corner(&self, i: usize) -> [usize; 3] {
        let [nz, ny, nx] = [0, 1, 2].map(|a| self.starts[a].len());
        debug_assert!(i < nz * ny * nx);
        [
            self.starts[0][i / (ny * nx)],
            self.starts[1][(i / nx) % ny],
            self.starts[2][i % nx],
        ]
    }
}

fn default_patch(params: &SaliencyParams, zyx: [usize; 3]) -> (usize, usize) {
    let side = zyx.iter().copied().filter(|&n| n > 1).min().unwrap_or(1);
    let patch = params.patch.unwrap_or((side / 8).max(1));
    let stride = params.stride.unwrap_or((patch / 2).max(1));
    (patch, stride)
}

fn planned_passes(params: &SaliencyParams, subject: &Subject) -> usize {
    let zyx = zyx_of(&subject.card().input_size);
    let (patch, stride) = default_patch(params, zyx);
    Patches::new(zyx, patch, stride).count()
}

fn zyx_of(size: &[usize]) -> [usize; 3] {
    match *size {
        [y, x] => [1, y, x],
        [z, y, x] => [z, y, x],
        _ => [1, 1, size.iter().product()],
    }
}

/// A summed-area table over the input, for ring means.
struct Integral {
    zyx: [usize; 3],
    table: Vec<f64>,
}

impl Integral {
    fn new(values: &[f32], zyx: [usize; 3]) -> Integral {
        let [nz, ny, nx] = zyx;
        let (sy, sx) = (ny + 1, nx + 1);
        let mut table = vec![0.0f64; (nz + 1) * sy * sx];
        let at = |z: usize, y: usize, x: usize| (z * sy + y) * sx + x;
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    let v = f64::from(values[(z * ny + y) * nx + x]);
                    table[at(z + 1, y + 1, x + 1)] = v
                        + table[at(z, y + 1, x + 1)]
                        + table[at(z + 1, y, x + 1)]
                        + table[at(z + 1, y + 1, x)]
                        - table[at(z, y, x + 1)]
                        - table[at(z, y + 1, x)]
                        - table[at(z + 1, y, x)]
                        + table[at(z, y, x)];
                }
            }
        }
        Integral { zyx, table }
    }

    /// Sum and count over `[lo, hi)` per axis.
    fn sum(&self, lo: [usize; 3], hi: [usize; 3]) -> (f64, usize) {
        let [_, ny, nx] = self.zyx;
        let (sy, sx) = (ny + 1, nx + 1);
        let t = |z: usize, y: usize, x: usize| self.table[(z * sy + y) * sx + x];
        let s = t(hi[0], hi[1], hi[2])
            - t(lo[0], hi[1], hi[2])
            - t(hi[0], lo[1], hi[2])
            - t(hi[0], hi[1], lo[2])
            + t(lo[0], lo[1], hi[2])
            + t(lo[0], hi[1], lo[2])
            + t(hi[0], lo[1], lo[2])
            - t(lo[0], lo[1], lo[2]);
        let count = (0..3).map(|a| hi[a] - lo[a]).product();
        (s, count)
    }
}

/// The drop map of one patch grid over the given patch indices: per voxel the mean drop of
/// the patches covering it, and how many covered it.
fn drops(job: &Job, patches: &Patches, chosen: &[usize]) -> Result<(Vec<f32>, Vec<u32>)> {
    let input = job.input;
    let zyx = input.shape.zyx();
    let [nz, ny, nx] = zyx;
    let integral = Integral::new(&input.input, zyx);
    let whole_mean = integral.sum([0; 3], zyx).0 / (nz * ny * nx) as f64;
    let ext = patches.extent;
    let ring = ext.map(|e| if e > 1 { (e / 2).max(1) } else { 0 });
    let lo_hi = |i: usize| {
        let c = patches.corner(chosen[i]);
        let hi = [0, 1, 2].map(|a| c[a] + ext[a]);
        (c, hi)
    };
    let scores = score_all(
        job.subject,
        job.class,
        chosen.len(),
        job.progress,
        |i, out| {
            out.copy_from_slice(&input.input);
            let (lo, hi) = lo_hi(i);
            let big_lo = [0, 1, 2].map(|a| lo[a].saturating_sub(ring[a]));
            let big_hi = [0, 1, 2].map(|a| (hi[a] + ring[a]).min(zyx[a]));
            let (outer, n_outer) = integral.sum(big_lo, big_hi);
            let (inner, n_inner) = integral.sum(lo, hi);
            let fill = if n_outer > n_inner {
                (outer - inner) / (n_outer - n_inner) as f64
            } else {
                whole_mean
            } as f32;
            for z in lo[0]..hi[0] {
                for y in lo[1]..hi[1] {
                    let row = (z * ny + y) * nx;
                    out[row + lo[2]..row + hi[2]].fill(fill);
                }
            }
            Ok(())
        },
    )?;
    let mut sum = vec![0.0f32; input.input.len()];
    let mut count = vec![0u32; input.input.len()];
    for (i, score) in scores.iter().enumerate() {
        let (lo, hi) = lo_hi(i);
        let drop = job.score - score;
        for z in lo[0]..hi[0] {
            for y in lo[1]..hi[1] {
                let row = (z * ny + y) * nx;
                for v in row + lo[2]..row + hi[2] {
                    sum[v] += drop;
                    count[v] += 1;
                }
            }
        }
    }
    for (s, &c) in sum.iter_mut().zip(&count) {
        if c > 0 {
            *s /= c as f32;
        }
    }
    Ok((sum, count))
}

fn full(job: &Job) -> Result<(Vec<f32>, usize)> {
    let zyx = job.input.shape.zyx();
    let (patch, stride) = default_patch(job.params, zyx);
    let patches = Patches::new(zyx, patch, stride);
    let all: Vec<usize> = (0..patches.count()).collect();
    let (map, _) = drops(job, &patches, &all)?;
    Ok((map, all.len()))
}

fn fast(job: &Job) -> Result<(Vec<f32>, usize)> {
    let zyx = job.input.shape.zyx();
    let [_, ny, nx] = zyx;
    let (patch, stride) = default_patch(job.params, zyx);
    let coarse_patches = Patches::new(zyx, patch * 2, patch);
    let all: Vec<usize> = (0..coarse_patches.count()).collect();
    let (coarse, _) = drops(job, &coarse_patches, &all)?;

    // The coarse value that the top `refine_fraction` of voxels reach.
    let mut sorted = coarse.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let keep =
        ((sorted.len() as f64 * job.params.refine_fraction).ceil() as usize).clamp(1, sorted.len());
    let threshold = sorted[keep - 1];
    let fine_patches = Patches::new(zyx, patch, stride);
    let ext = fine_patches.extent;
    let chosen: Vec<usize> = (0..fine_patches.count())
        .filter(|&i| {
            let c = fine_patches.corner(i);
            let centre = [0, 1, 2].map(|a| c[a] + ext[a] / 2);
            coarse[(centre[0] * ny + centre[1]) * nx + centre[2]] >= threshold
        })
        .collect();
    let (fine, count) = drops(job, &fine_patches, &chosen)?;
    let (mut f, mut c) = (0.0f64, 0.0f64);
    for ((&fv, &cv), &n) in fine.iter().zip(&coarse).zip(&count) {
        if n > 0 {
            f += f64::from(fv.abs());
            c += f64::from(cv.abs());
        }
    }
    let scale = if c > 0.0 && f > 0.0 {
        (f / c) as f32
    } else {
        1.0
    };
    let map = fine
        .iter()
        .zip(&coarse)
        .zip(&count)
        .map(|((&fv, &cv), &n)| if n > 0 { fv } else { cv * scale })
        .collect();
    Ok((map, all.len() + chosen.len()))
}

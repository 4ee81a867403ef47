//! Occlusion (Zeiler & Fergus 2014): slide a patch over the image, fill it with tissue, and
//! record how much the class probability drops.
//!
//! **Fill** ([`Fill`]). By default the image's median in Hounsfield units, the tissue that
//! dominates the crop; or the mean of a ring around the patch (the patch grown by half its
//! side on every side, clipped to the image, minus the patch), from a summed-area table in
//! O(1) per patch; or the median of the image's soft tissue (−10 to 300 HU), for a model
//! whose evidence is fat on a crop where fat dominates and the median is fat itself. A zero
//! fill would paint an abdominal window's lower bound — fat — into the patch and measure
//! the reaction to planted fat; all three fills stay in the image's tissue.
//! The ring mean removes a patch's structure but keeps its level, so inside a homogeneous
//! lesion wider than the ring every patch is filled with lesion and nothing drops: the map
//! outlines the lesion's edge, half of it outside. On the demo CNN (24 unseen phantoms,
//! explaining `malignant`) the median fill puts 0.69 of the mass in the lesion and the
//! maximum in it for 22 of 24 cases, the ring fill 0.363 and 13. A voxel's saliency is the
//! mean drop over the patches that cover it (captum's convention), so overlapping strides
//! smooth the map.
//!
//! **Fast variant: coarse to fine.** First every other patch position along each axis (the
//! same patches at twice the stride: about a quarter of the positions in 2D, an eighth in
//! 3D; with the default stride of half a patch they still tile the image), then the
//! remaining positions only where that coarse map is high: the top `refine_fraction` of them,
//! ranked by the coarse value at their centre. The map averages every
//! patch run, so refined and unrefined regions share one scale: elsewhere it is the
//! non-overlapping occlusion map. (Bigger coarse patches were tried first: they remove
//! context rather than detail, their map disagrees with the fine one, and refining where
//! they are high missed the lesion.) Trade-off: where the coarse map is low the map keeps
//! patch resolution without overlap — blockier, and a structure straddling two coarse
//! patches is split between them and may rank too low to be refined. It needs a stride of at
//! most half the patch, or the coarse patches leave gaps; it refuses others.

use super::{Job, Method, score_all};
use crate::subject::median;
use crate::{Error, Fill, Result, SOFT_TISSUE_HU, SaliencyParams, Subject};

pub(super) const METHOD: Method = Method {
    name: "occlusion",
    summary: "slide a patch filled with the image's tissue; saliency = drop in probability",
    full,
    fast,
    planned_passes,
    reads_layer: false,
    fills: true,
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

    /// Patch `i`'s position index along each axis (x fastest).
    fn position(&self, i: usize) -> [usize; 3] {
        let [_, ny, nx] = [0, 1, 2].map(|a| self.starts[a].len());
        [i / (ny * nx), (i / nx) % ny, i % nx]
    }

    /// Patch `i`'s voxels, `[lo, hi)` per axis.
    fn bounds(&self, i: usize) -> ([usize; 3], [usize; 3]) {
        let p = self.position(i);
        let lo = [0, 1, 2].map(|a| self.starts[a][p[a]]);
        (lo, [0, 1, 2].map(|a| lo[a] + self.extent[a]))
    }

    /// Whether patch `i` belongs to the coarse grid: every other position along each axis,
    /// plus the last (so the coarse patches still reach the far edge).
    fn is_coarse(&self, i: usize) -> bool {
        let p = self.position(i);
        (0..3).all(|a| p[a].is_multiple_of(2) || p[a] + 1 == self.starts[a].len())
    }
}

/// The patch and stride asked for, else an eighth of the shortest side and half of that.
/// The fast variant's default patch is at least 2 voxels: its coarse pass needs a stride of
/// at most half the patch, which a 1-voxel patch (an image under 16 voxels a side) has not.
fn default_patch(params: &SaliencyParams, zyx: [usize; 3]) -> (usize, usize) {
    let side = zyx.iter().copied().filter(|&n| n > 1).min().unwrap_or(1);
    let least = if params.fast { 2 } else { 1 };
    let patch = params.patch.unwrap_or((side / 8).max(least).min(side));
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

/// What patches are filled with, prepared once per heatmap (fast occlusion scores two sets
/// of patches with it).
enum Painter {
    /// One value for every patch: the median and soft fills.
    Constant(f32),
    /// The mean of a ring around each patch, from a summed-area table over the input.
    Ring(Integral),
}

impl Painter {
    fn new(job: &Job) -> Painter {
        let input = job.input;
        match job.params.fill {
            Fill::Median => Painter::Constant(input.median),
            Fill::Soft => {
                let (lo, hi) = SOFT_TISSUE_HU;
                let soft: Vec<f32> = input
                    .input
                    .iter()
                    .copied()
                    .filter(|v| (lo..=hi).contains(v))
                    .collect();
                Painter::Constant(if soft.is_empty() {
                    input.median
                } else {
                    median(&soft)
                })
            }
            Fill::Ring => Painter::Ring(Integral::new(&input.input, input.shape.zyx())),
        }
    }

    /// The fill of the patch `[lo, hi)` whose ring reaches `ring` voxels further per axis.
    fn value(&self, lo: [usize; 3], hi: [usize; 3], ring: [usize; 3]) -> f32 {
        match self {
            Painter::Constant(value) => *value,
            Painter::Ring(integral) => {
                let zyx = integral.zyx;
                let big_lo = [0, 1, 2].map(|a| lo[a].saturating_sub(ring[a]));
                let big_hi = [0, 1, 2].map(|a| (hi[a] + ring[a]).min(zyx[a]));
                let (outer, n_outer) = integral.sum(big_lo, big_hi);
                let (inner, n_inner) = integral.sum(lo, hi);
                if n_outer > n_inner {
                    ((outer - inner) / (n_outer - n_inner) as f64) as f32
                } else {
                    // No ring (a one-voxel patch, or one spanning the image): the mean.
                    let (all, n) = integral.sum([0; 3], zyx);
                    (all / n as f64) as f32
                }
            }
        }
    }
}

/// The probability drop of each chosen patch (indices into `patches`), batch by batch.
fn drops(job: &Job, painter: &Painter, patches: &Patches, chosen: &[usize]) -> Result<Vec<f32>> {
    let input = job.input;
    let [_, ny, nx] = input.shape.zyx();
    let ring = patches
        .extent
        .map(|e| if e > 1 { (e / 2).max(1) } else { 0 });
    let scores = score_all(
        job.subject,
        job.class,
        chosen.len(),
        job.progress,
        |i, out| {
            out.copy_from_slice(&input.input);
            let (lo, hi) = patches.bounds(chosen[i]);
            let fill = painter.value(lo, hi, ring);
            for z in lo[0]..hi[0] {
                for y in lo[1]..hi[1] {
                    let row = (z * ny + y) * nx;
                    out[row + lo[2]..row + hi[2]].fill(fill);
                }
            }
            Ok(())
        },
    )?;
    Ok(scores.iter().map(|s| job.score - s).collect())
}

/// Per voxel, the mean drop of the patches run that cover it (0 where none does).
fn average(zyx: [usize; 3], patches: &Patches, runs: &[(usize, f32)]) -> Vec<f32> {
    let [nz, ny, nx] = zyx;
    let mut sum = vec![0.0f32; nz * ny * nx];
    let mut count = vec![0u32; nz * ny * nx];
    for &(patch, drop) in runs {
        let (lo, hi) = patches.bounds(patch);
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
    sum
}

fn full(job: &Job) -> Result<(Vec<f32>, usize)> {
    let zyx = job.input.shape.zyx();
    let (patch, stride) = default_patch(job.params, zyx);
    let patches = Patches::new(zyx, patch, stride);
    let all: Vec<usize> = (0..patches.count()).collect();
    let drops = drops(job, &Painter::new(job), &patches, &all)?;
    let runs: Vec<(usize, f32)> = all.into_iter().zip(drops).collect();
    Ok((average(zyx, &patches, &runs), runs.len()))
}

fn fast(job: &Job) -> Result<(Vec<f32>, usize)> {
    let zyx = job.input.shape.zyx();
    let [_, ny, nx] = zyx;
    let (patch, stride) = default_patch(job.params, zyx);
    if 2 * stride > patch {
        // Every other patch at a stride above half the patch leaves gaps: the coarse map
        // would be zero there, and so would the refined map wherever it was not refined.
        return Err(Error::InvalidParameter {
            name: "stride",
            problem: format!(
                "fast occlusion first runs every other patch, which covers the image only \
                 when the stride is at most half the patch (patch {patch}, stride {stride}): \
                 lower the stride, enlarge the patch or run the full method"
            ),
        });
    }
    let patches = Patches::new(zyx, patch, stride);
    let (coarse, rest): (Vec<usize>, Vec<usize>) =
        (0..patches.count()).partition(|&i| patches.is_coarse(i));
    let painter = Painter::new(job);
    let drops_coarse = drops(job, &painter, &patches, &coarse)?;
    let mut runs: Vec<(usize, f32)> = coarse.into_iter().zip(drops_coarse).collect();
    let coarse_map = average(zyx, &patches, &runs);

    // The remaining positions whose centre ranks highest on the coarse map, the top
    // `refine_fraction` of them (ties by position, so the count never depends on ties).
    let centre_value = |i: usize| {
        let (lo, hi) = patches.bounds(i);
        let c = [0, 1, 2].map(|a| (lo[a] + hi[a]) / 2);
        coarse_map[(c[0] * ny + c[1]) * nx + c[2]]
    };
    let mut refine = rest;
    refine.sort_by(|&a, &b| centre_value(b).total_cmp(&centre_value(a)).then(a.cmp(&b)));
    refine.truncate((refine.len() as f64 * job.params.refine_fraction).ceil() as usize);
    let drops_fine = drops(job, &painter, &patches, &refine)?;
    runs.extend(refine.into_iter().zip(drops_fine));
    Ok((average(zyx, &patches, &runs), runs.len()))
}

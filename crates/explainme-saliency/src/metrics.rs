//! Faithfulness of a heatmap: does it point where the model looks, and where the lesion is?
//!
//! * **Deletion / insertion AUC** (Petsiuk et al. 2018): voxels are replaced by the image's
//!   median (deletion) or restored into its blurred baseline (insertion) in order of
//!   decreasing saliency — the reference code's constant substrate for deletion and blur for
//!   insertion — in `steps` equal steps, and the class probability is recorded after each; the AUC is
//!   the trapezoidal area under that curve over the fraction changed, in `[0, 1]`. A
//!   faithful map deletes the evidence first (low deletion AUC) and restores it first (high
//!   insertion AUC). The same curves for a seeded random map are the baseline to beat.
//!   Both curves come with their fixed ends: the class probability of the blurred baseline,
//!   where insertion starts, and of the image filled with its median, where deletion ends.
//!   An AUC reads against them: when the blurred image already scores as high as the image,
//!   insertion has nothing to restore, and RISE and Score-CAM, which blend hidden input
//!   towards that baseline, have no evidence to weigh (a CNN that reads a blurred lesion as
//!   malignant with certainty gives an empty Score-CAM map).
//! * **Mass in lesion**: the share of the map's positive saliency inside the lesion mask.
//! * **Pointing game** (Zhang et al. 2016): whether the map's maximum lies inside the mask
//!   (strict: no tolerance band around the mask; ties go to the first voxel in C order).
//! * [`spearman`] rank correlation, used by fast RISE and the sanity check.
//!
//! Nothing here decides what is good enough; tests and reports do.

use explainme_imaging::{Image, Mask};
use explainme_rng::Random;
use serde::{Deserialize, Serialize};

use crate::methods::score_all;
use crate::{Error, Heatmap, Prepared, Result, Subject};

/// Steps of the deletion and insertion curves unless told otherwise.
pub const DEFAULT_STEPS: usize = 32;

/// The figures that come with every map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Faithfulness {
    /// Area under the deletion curve (lower is better).
    pub deletion_auc: f64,
    /// Area under the insertion curve (higher is better).
    pub insertion_auc: f64,
    /// Deletion AUC of a seeded random map on the same image.
    pub random_deletion_auc: f64,
    /// Insertion AUC of that random map.
    pub random_insertion_auc: f64,
    /// The class probability of the blurred baseline: where the insertion curve starts, and
    /// what RISE and Score-CAM blend hidden input towards. (`None` only in explainer
    /// artefacts written before it was recorded.)
    #[serde(default)]
    pub blurred_score: Option<f64>,
    /// The class probability of the image filled with its median: where the deletion curve
    /// ends. (`None` as above.)
    #[serde(default)]
    pub median_score: Option<f64>,
    /// Share of positive saliency inside the lesion mask, when a mask was given.
    pub lesion_mass: Option<f64>,
    /// Whether the maximum is inside the lesion mask, when a mask was given.
    pub pointing_game: Option<bool>,
    /// Forward passes the curves took.
    pub forward_passes: usize,
}

/// Deletion and insertion AUCs of `map` and of a random map (seeded), plus mass in lesion
/// and pointing game when `mask` is given; `steps` ≥ 1 steps per curve.
pub fn faithfulness(
    subject: &Subject,
    image: &Image,
    heatmap: &Heatmap,
    mask: Option<&Mask>,
    steps: usize,
    seed: u64,
) -> Result<Faithfulness> {
    if steps == 0 {
        return Err(Error::InvalidParameter {
            name: "steps",
            problem: "the curves need at least one step".into(),
        });
    }
    let input = subject.prepare(image)?;
    let map = heatmap.map.voxels();
    if map.len() != input.input.len() {
        return Err(Error::ShapeMismatch {
            what: "heatmap",
            expected: subject.card().input_size.clone(),
            got: heatmap.map.shape().as_slice().to_vec(),
        });
    }
    let mut rng = Random::new(seed, 0);
    let random: Vec<f32> = (0..map.len())
        .map(|_| (rng.next_u32() >> 8) as f32)
        .collect();
    let [map_curves, random_curves] =
        curves(subject, &input, [map, &random], heatmap.class, steps)?;
    let (lesion_mass, pointing_game) = match mask {
        Some(mask) => (
            Some(lesion_mass(&heatmap.map, mask)?),
            Some(pointing_game(&heatmap.map, mask)?),
        ),
        None => (None, None),
    };
    Ok(Faithfulness {
        deletion_auc: map_curves.deletion_auc,
        insertion_auc: map_curves.insertion_auc,
        random_deletion_auc: random_curves.deletion_auc,
        random_insertion_auc: random_curves.insertion_auc,
        blurred_score: Some(map_curves.blurred_score),
        median_score: Some(map_curves.median_score),
        lesion_mass,
        pointing_game,
        forward_passes: passes(steps),
    })
}

/// One map's deletion and insertion curves, by their areas and their fixed ends.
struct Curves {
    deletion_auc: f64,
    insertion_auc: f64,
    /// The score at the insertion curve's start: the blurred baseline.
    blurred_score: f64,
    /// The score at the deletion curve's end: every voxel the image's median.
    median_score: f64,
}

/// Forward passes for two maps' curves of `steps` steps: both curves of both maps share
/// their ends (the image, where deletion starts and insertion ends; the blurred baseline;
/// the median-filled image), so each is scored once.
fn passes(steps: usize) -> usize {
    3 + 4 * (steps - 1)
}

/// The curves of each of `maps`, scored together: inputs 0, 1 and 2 are the image, its
/// blurred baseline and its median-filled copy; then, per map, the deletion steps
/// 1..steps (the most salient voxels become the image's median) and the insertion steps
/// 1..steps (they return from the blurred baseline).
fn curves(
    subject: &Subject,
    input: &Prepared,
    maps: [&[f32]; 2],
    class: usize,
    steps: usize,
) -> Result<[Curves; 2]> {
    let voxels = input.input.len();
    let orders = maps.map(|map| {
        let mut order: Vec<usize> = (0..map.len()).collect();
        order.sort_by(|&a, &b| map[b].total_cmp(&map[a]).then(a.cmp(&b)));
        order
    });
    let changed = |t: usize| (t * voxels).div_ceil(steps).min(voxels);
    let inner = steps - 1;
    let scores = score_all(subject, class, passes(steps), &|_| {}, |i, out| {
        match i {
            0 => out.copy_from_slice(&input.input),
            1 => out.copy_from_slice(&input.baseline),
            2 => out.fill(input.median),
            _ => {
                // Map m, curve c (0 deletion, 1 insertion), step t: the layout `inner_steps`
                // reads back.
                let k = i - 3;
                let (m, c, t) = (k / (2 * inner), k / inner % 2, k % inner + 1);
                let first = &orders[m][..changed(t)];
                if c == 0 {
                    out.copy_from_slice(&input.input);
                    first.iter().for_each(|&v| out[v] = input.median);
                } else {
                    out.copy_from_slice(&input.baseline);
                    first.iter().for_each(|&v| out[v] = input.input[v]);
                }
            }
        }
        Ok(())
    })?;
    let auc = |curve: &[f32]| {
        curve
            .windows(2)
            .map(|w| f64::from(w[0] + w[1]) / 2.0)
            .sum::<f64>()
            / steps as f64
    };
    let (image, blurred, median) = (scores[0], scores[1], scores[2]);
    Ok([0, 1].map(|m| {
        let inner_steps = |c: usize| {
            let start = 3 + (2 * m + c) * inner;
            &scores[start..start + inner]
        };
        let deletion: Vec<f32> = [image]
            .into_iter()
            .chain(inner_steps(0).iter().copied())
            .chain([median])
            .collect();
        let insertion: Vec<f32> = [blurred]
            .into_iter()
            .chain(inner_steps(1).iter().copied())
            .chain([image])
            .collect();
        Curves {
            deletion_auc: auc(&deletion),
            insertion_auc: auc(&insertion),
            blurred_score: f64::from(blurred),
            median_score: f64::from(median),
        }
    }))
}

fn check_mask(map: &Image, mask: &Mask) -> Result<()> {
    if map.shape() != mask.shape() {
        return Err(Error::ShapeMismatch {
            what: "mask",
            expected: map.shape().as_slice().to_vec(),
            got: mask.shape().as_slice().to_vec(),
        });
    }
    Ok(())
}

/// Voxels of a map with positive saliency. 0 is an empty map, which points nowhere: no
/// perturbation moved the class's probability the way the map records as evidence.
pub fn positive_voxels(map: &[f32]) -> usize {
    map.iter().filter(|&&v| v > 0.0).count()
}

/// Share of the map's positive values inside `mask` (0 when nothing is positive).
pub fn lesion_mass(map: &Image, mask: &Mask) -> Result<f64> {
    check_mask(map, mask)?;
    let (mut inside, mut total) = (0.0f64, 0.0f64);
    for (&v, &m) in map.voxels().iter().zip(mask.voxels()) {
        if v > 0.0 {
            total += f64::from(v);
            if m {
                inside += f64::from(v);
            }
        }
    }
    Ok(if total > 0.0 { inside / total } else { 0.0 })
}

/// Whether the map's maximum (first in C order on ties) lies inside `mask`.
pub fn pointing_game(map: &Image, mask: &Mask) -> Result<bool> {
    check_mask(map, mask)?;
    let best =
        map.voxels()
            .iter()
            .enumerate()
            .fold(None::<(usize, f32)>, |best, (i, &v)| match best {
                Some((_, b)) if b >= v => best,
                _ => Some((i, v)),
            });
    Ok(best.is_some_and(|(i, _)| mask.voxels()[i]))
}

/// Spearman's rank correlation (average ranks for ties); 0 when either side is constant or
/// the lengths differ, since then no ordering can be compared.
pub fn spearman(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.len() < 2 {
        return 0.0;
    }
    correlation(&ranks(a), &ranks(b))
}

/// Pearson's correlation of two maps' values; 0 when either side is constant or the lengths
/// differ. Unlike [`spearman`] it weighs each voxel by how far its value is from the mean, so
/// voxels whose values differ by less than the noise (a flat background) count as little as
/// they show on a linear colour scale.
pub fn pearson(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.len() < 2 {
        return 0.0;
    }
    let widen = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    correlation(&widen(a), &widen(b))
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma).powi(2);
        vb += (y - mb).powi(2);
    }
    if va <= 0.0 || vb <= 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// 1-based ranks, ties sharing their average rank.
fn ranks(values: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

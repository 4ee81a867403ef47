//! Score-CAM (Wang et al., CVPR-W 2020), following pytorch-grad-cam's `ScoreCAM`.
//!
//! The unperturbed pass also reads the chosen layer's activations `A_k` (default: the
//! card's last feature layer). Each channel is upsampled to the input grid (`explainme_imaging::Resizer`,
//! bilinear / trilinear, as pytorch-grad-cam's `interpolate(mode="bilinear")`), normalised
//! to `[0, 1]` by its own minimum and maximum, and used as a mask: the masked input blends
//! the image with its blurred baseline (`b + H_k · (x − b)`; pytorch-grad-cam multiplies the
//! input by the mask). A channel's weight is the class probability's increase over the
//! all-baseline input (the paper's CIC). pytorch-grad-cam then takes a softmax of the raw
//! scores over channels; on a sigmoid model whose scores are probabilities in `[0, 1]` that
//! squeezes every weight into a factor of e and the map towards the mean activation, so the
//! increases are used as they are. The map is `ReLU(Σ_k w_k · A_k)` at the layer's
//! resolution, upsampled to the input (pytorch-grad-cam's `BaseCAM` order). Constant
//! channels carry no location and are skipped. Passes: two plus one per channel.
//!
//! **Fast variant: top-k channels.** Only the `top_k` channels with the highest mean
//! activation on this image are run (the others get weight 0). Trade-off: a channel that is
//! weak on average but decisive where it fires (a small bright lesion in a mostly silent
//! map) is dropped, and the map loses its contribution; the passes fall from `C + 2` to
//! `top_k + 2`.

use explainme_imaging::{Image, Resizer, Shape, resize};
use explainme_onnx::Layout;

use super::{Job, Method, score_all};
use crate::{Error, Result, SaliencyParams, Subject};

pub(super) const METHOD: Method = Method {
    name: "scorecam",
    summary: "channels of a layer as masks, weighted by the probability increase they bring",
    full,
    fast,
    planned_passes,
    reads_layer: true,
    fills: false,
};

fn planned_passes(params: &SaliencyParams, subject: &Subject) -> usize {
    let card = subject.card();
    let layer = params.layer.as_ref().or(card.feature_layers.last());
    let channels = layer
        .and_then(|l| subject.model().tensor(l))
        .and_then(|t| t.shape.clone())
        .and_then(|dims| {
            let axis = match subject.model().channel_layout(layer?, card.layout) {
                Some(Layout::Nhwc) => dims.len().checked_sub(1)?,
                _ => 1,
            };
            match dims.get(axis) {
                Some(explainme_onnx::Dim::Fixed(n)) => usize::try_from(*n).ok(),
                _ => None,
            }
        })
        .unwrap_or(64);
    channels + 1
}

/// The layer's channels as spatial grids at the layer's resolution.
struct Channels {
    shape: Shape,
    maps: Vec<Vec<f32>>,
}

fn channels(job: &Job) -> Result<Channels> {
    let card = job.subject.card();
    let layer = super::chosen_layer(job.params, card)?;
    let activation = job.activation.ok_or_else(|| Error::UnusableLayer {
        layer: layer.clone(),
        problem: "no activations were read".into(),
    })?;
    let dims = card.dims.count();
    let shape = &activation.tensor.shape;
    let unusable = |problem: String| Error::UnusableLayer {
        layer: layer.clone(),
        problem,
    };
    if shape.len() != dims + 2 {
        return Err(unusable(format!(
            "has shape {shape:?}; Score-CAM needs a {dims}D feature map [1, C, …] or [1, …, C]"
        )));
    }
    let (channel_count, spatial): (usize, Vec<usize>) = match activation.layout {
        Layout::Nchw => (shape[1], shape[2..].to_vec()),
        Layout::Nhwc => (shape[dims + 1], shape[1..=dims].to_vec()),
    };
    let grid = Shape::from_slice(&spatial)?;
    let voxels: usize = spatial.iter().product();
    let data = &activation.tensor.data;
    let maps = (0..channel_count)
        .map(|c| match activation.layout {
            Layout::Nchw => data[c * voxels..(c + 1) * voxels].to_vec(),
            Layout::Nhwc => (0..voxels).map(|v| data[v * channel_count + c]).collect(),
        })
        .collect();
    Ok(Channels { shape: grid, maps })
}

fn run(job: &Job, top_k: Option<usize>) -> Result<(Vec<f32>, usize)> {
    let channels = channels(job)?;
    let target = job.input.shape;
    let mut order: Vec<usize> = (0..channels.maps.len())
        .filter(|&c| {
            let (lo, hi) = min_max(&channels.maps[c]);
            hi - lo > f32::EPSILON * hi.abs().max(1.0)
        })
        .collect();
    if let Some(k) = top_k {
        let mean = |c: usize| channels.maps[c].iter().map(|&v| f64::from(v)).sum::<f64>();
        order.sort_by(|&a, &b| mean(b).total_cmp(&mean(a)).then(a.cmp(&b)));
        order.truncate(k);
    }
    // Input 0 is the all-baseline input; input i > 0 is channel order[i - 1]. One resizer
    // and one mask buffer serve every channel.
    let mut resizer = Resizer::new(channels.shape, target)?;
    let mut mask = vec![0.0f32; target.as_slice().iter().product()];
    let scores = score_all(
        job.subject,
        job.class,
        order.len() + 1,
        job.progress,
        |i, out| {
            if i == 0 {
                out.copy_from_slice(&job.input.baseline);
                return Ok(());
            }
            resizer.resize_into(&channels.maps[order[i - 1]], &mut mask);
            let (lo, hi) = min_max(&mask);
            let span = (hi - lo).max(f32::MIN_POSITIVE);
            mask.iter_mut().for_each(|m| *m = (*m - lo) / span);
            job.input.blend(&mask, out);
            Ok(())
        },
    )?;
    let mut cam = vec![0.0f32; channels.shape.as_slice().iter().product()];
    for (k, &c) in order.iter().enumerate() {
        let weight = scores[k + 1] - scores[0];
        for (v, &a) in cam.iter_mut().zip(&channels.maps[c]) {
            *v += weight * a;
        }
    }
    cam.iter_mut().for_each(|v| *v = v.max(0.0));
    let map = resize(&Image::new(channels.shape, cam)?, target)?.into_voxels();
    // The baseline and one per channel (the activations came with the unperturbed pass).
    Ok((map, order.len() + 1))
}

fn min_max(values: &[f32]) -> (f32, f32) {
    values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

fn full(job: &Job) -> Result<(Vec<f32>, usize)> {
    run(job, None)
}

fn fast(job: &Job) -> Result<(Vec<f32>, usize)> {
    run(job, Some(job.params.top_k))
}

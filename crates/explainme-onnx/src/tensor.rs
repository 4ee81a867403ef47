//! Plain `f32` tensors, the currency at this crate's boundary.
//!
//! DESIGN.md: ort uses ndarray 0.17 and linfa 0.16, so crates exchange `(shape, Vec<f32>)`
//! instead of array types: explainme-imaging's [`Tensor`], the one tensor type of the project.
//! Here: where an activation's channel axis is, and the per-channel summaries that concept
//! probes and the Predict RPC need.

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Tensor};

/// Where the channel axis of an image tensor sits.
///
/// `Nchw` is channels-first (PyTorch, ONNX operators; `NCDHW` in 3D), `Nhwc` channels-last
/// (Keras / tf2onnx exports; `NDHWC` in 3D). The names are the 2D ones for both 2D and 3D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// Channels on axis 1.
    #[serde(rename = "NCHW")]
    Nchw,
    /// Channels on the last axis.
    #[serde(rename = "NHWC")]
    Nhwc,
}

/// Mean and maximum of one channel of one case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelStat {
    /// Mean over all spatial positions of the channel.
    pub mean: f32,
    /// Maximum over all spatial positions of the channel.
    pub max: f32,
}

/// Fails with [`Error::ShapeMismatch`] when the public fields disagree.
pub(crate) fn check_len(tensor: &Tensor, name: &str) -> Result<()> {
    let expected = tensor
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if expected == Some(tensor.data.len()) {
        return Ok(());
    }
    Err(Error::ShapeMismatch {
        tensor: name.to_owned(),
        expected: format!("a shape with {} values", tensor.data.len()),
        got: tensor.shape.clone(),
    })
}

/// Fails with [`Error::NonFinite`] when any value is NaN or infinite.
pub(crate) fn check_finite(tensor: &Tensor, name: &str) -> Result<()> {
    let mut bad = tensor
        .data
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_finite());
    match bad.next() {
        None => Ok(()),
        Some((first_index, _)) => Err(Error::NonFinite {
            tensor: name.to_owned(),
            count: 1 + bad.count(),
            first_index,
        }),
    }
}

/// Per-case, per-channel mean and maximum.
///
/// Axis 0 is the batch. The channel axis is 1 for [`Layout::Nchw`] and the last axis
/// for [`Layout::Nhwc`]; every other axis is spatial, so the same call serves 2D
/// (`rank 4`) and 3D (`rank 5`) feature maps. A rank-2 tensor `[N, F]` (a dense layer)
/// has one channel per feature in either layout, and its statistics are the values.
/// The result is indexed `[case][channel]`.
///
/// ```
/// # use explainme_onnx::{Layout, Tensor, channel_stats};
/// // one case, two channels of 2×1 pixels, channels-first
/// let t = Tensor::new(vec![1, 2, 2, 1], vec![1.0, 3.0, -1.0, 0.0])?;
/// let stats = channel_stats(&t, Layout::Nchw)?;
/// assert_eq!((stats[0][0].mean, stats[0][0].max), (2.0, 3.0));
/// assert_eq!((stats[0][1].mean, stats[0][1].max), (-0.5, 0.0));
/// # Ok::<(), explainme_onnx::Error>(())
/// ```
pub fn channel_stats(tensor: &Tensor, layout: Layout) -> Result<Vec<Vec<ChannelStat>>> {
    check_len(tensor, "activation")?;
    let rank = tensor.shape.len();
    if rank < 2 || tensor.shape.contains(&0) {
        return Err(Error::ShapeMismatch {
            tensor: "activation".into(),
            expected: "a non-empty tensor [N, C, ...] or [N, ..., C]".into(),
            got: tensor.shape.clone(),
        });
    }
    let channel_axis = match layout {
        Layout::Nchw => 1,
        Layout::Nhwc => rank - 1,
    };
    let cases = tensor.shape[0];
    let channels = tensor.shape[channel_axis];
    // Row-major: index = ((case * outer + o) * channels + c) * inner + i, where `outer`
    // spans the axes between batch and channel, `inner` the axes after the channel.
    let outer: usize = tensor.shape[1..channel_axis].iter().product();
    let inner: usize = tensor.shape[channel_axis + 1..].iter().product();
    let per_channel = (outer * inner) as f64;
    let mut stats = Vec::with_capacity(cases);
    for case in tensor.data.chunks_exact(outer * channels * inner) {
        let mut sums = vec![0f64; channels];
        let mut maxima = vec![f32::NEG_INFINITY; channels];
        for block in case.chunks_exact(channels * inner) {
            for ((run, sum), max) in block.chunks_exact(inner).zip(&mut sums).zip(&mut maxima) {
                let (run_sum, run_max) = sum_and_max(run);
                *sum += run_sum;
                *max = max.max(run_max);
            }
        }
        stats.push(
            sums.iter()
                .zip(maxima)
                .map(|(&sum, max)| ChannelStat {
                    mean: (sum / per_channel) as f32,
                    max,
                })
                .collect(),
        );
    }
    Ok(stats)
}

/// Sum (in `f64`) and maximum of a run of values.
///
/// Eight independent `f32` lanes over blocks of 1024 values let the compiler vectorise
/// the loop while each lane adds at most 128 values in single precision; block sums are
/// then accumulated in double precision, so long 3D runs keep their accuracy.
fn sum_and_max(values: &[f32]) -> (f64, f32) {
    const LANES: usize = 8;
    let mut total = 0f64;
    let mut max = [f32::NEG_INFINITY; LANES];
    for block in values.chunks(1024) {
        let mut sum = [0f32; LANES];
        let lanes = block.chunks_exact(LANES);
        let rest = lanes.remainder();
        for chunk in lanes {
            for k in 0..LANES {
                sum[k] += chunk[k];
                max[k] = if chunk[k] > max[k] { chunk[k] } else { max[k] };
            }
        }
        for &v in rest {
            sum[0] += v;
            max[0] = max[0].max(v);
        }
        total += sum.iter().map(|&s| f64::from(s)).sum::<f64>();
    }
    (total, max.into_iter().fold(f32::NEG_INFINITY, f32::max))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Channel statistics of 3D maps in both layouts, against a plain per-element loop,
    /// with runs that are not multiples of the lane or block width.
    #[test]
    fn channel_stats_match_a_plain_loop_in_3d() {
        let (cases, channels, spatial) = (2, 3, [5, 37, 41]);
        let per_channel: usize = spatial.iter().product();
        let value = |case: usize, channel: usize, i: usize| {
            ((case * 7 + channel * 13 + i * 31) % 1000) as f32 / 10.0 - 50.0
        };
        let mut nchw = Vec::new();
        let mut nhwc = vec![0.0; cases * channels * per_channel];
        for case in 0..cases {
            for channel in 0..channels {
                for i in 0..per_channel {
                    nchw.push(value(case, channel, i));
                    nhwc[(case * per_channel + i) * channels + channel] = value(case, channel, i);
                }
            }
        }
        let first = Tensor::new([vec![cases, channels], spatial.to_vec()].concat(), nchw).unwrap();
        let last = Tensor::new(
            [vec![cases], spatial.to_vec(), vec![channels]].concat(),
            nhwc,
        )
        .unwrap();
        let (a, b) = (
            channel_stats(&first, Layout::Nchw).unwrap(),
            channel_stats(&last, Layout::Nhwc).unwrap(),
        );
        for case in 0..cases {
            for channel in 0..channels {
                let values: Vec<f64> = (0..per_channel)
                    .map(|i| f64::from(value(case, channel, i)))
                    .collect();
                let mean = values.iter().sum::<f64>() / per_channel as f64;
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                for stats in [&a, &b] {
                    assert!(
                        (f64::from(stats[case][channel].mean) - mean).abs() < 1e-4,
                        "{case} {channel}"
                    );
                    assert_eq!(f64::from(stats[case][channel].max), max);
                }
            }
        }
    }
}

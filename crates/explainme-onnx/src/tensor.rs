//! Plain `f32` tensors, the currency at this crate's boundary.
//!
//! DESIGN.md: ort uses ndarray 0.17 and linfa 0.16, so crates exchange `(shape, Vec<f32>)`
//! instead of array types. [`Tensor`] is exactly that, plus the per-channel summaries that
//! concept probes and the Predict RPC need.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

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

/// A dense row-major `f32` tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    /// Extent of each axis, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values in row-major order.
    pub data: Vec<f32>,
}

/// Mean and maximum of one channel of one case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelStat {
    /// Mean over all spatial positions of the channel.
    pub mean: f32,
    /// Maximum over all spatial positions of the channel.
    pub max: f32,
}

impl Tensor {
    /// Makes a tensor, checking that `data` has as many values as `shape` asks for.
    ///
    /// ```
    /// # use explainme_onnx::Tensor;
    /// let t = Tensor::new(vec![2, 3], vec![0.0; 6])?;
    /// assert_eq!(t.len(), 6);
    /// assert!(Tensor::new(vec![2, 3], vec![0.0; 5]).is_err());
    /// # Ok::<(), explainme_onnx::Error>(())
    /// ```
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor> {
        let tensor = Tensor { shape, data };
        tensor.check_len("tensor")?;
        Ok(tensor)
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Fails with [`Error::ShapeMismatch`] when the public fields disagree.
    pub(crate) fn check_len(&self, name: &str) -> Result<()> {
        let expected = self
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if expected == Some(self.data.len()) {
            return Ok(());
        }
        Err(Error::ShapeMismatch {
            tensor: name.to_owned(),
            expected: format!("a shape with {} values", self.data.len()),
            got: self.shape.clone(),
        })
    }

    /// Fails with [`Error::NonFinite`] when any value is NaN or infinite.
    pub(crate) fn check_finite(&self, name: &str) -> Result<()> {
        let mut bad = self.data.iter().enumerate().filter(|(_, v)| !v.is_finite());
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
    /// # use explainme_onnx::{Layout, Tensor};
    /// // one case, two channels of 2×1 pixels, channels-first
    /// let t = Tensor::new(vec![1, 2, 2, 1], vec![1.0, 3.0, -1.0, 0.0])?;
    /// let stats = t.channel_stats(Layout::Nchw)?;
    /// assert_eq!((stats[0][0].mean, stats[0][0].max), (2.0, 3.0));
    /// assert_eq!((stats[0][1].mean, stats[0][1].max), (-0.5, 0.0));
    /// # Ok::<(), explainme_onnx::Error>(())
    /// ```
    pub fn channel_stats(&self, layout: Layout) -> Result<Vec<Vec<ChannelStat>>> {
        self.check_len("activation")?;
        let rank = self.shape.len();
        if rank < 2 || self.shape.contains(&0) {
            return Err(Error::ShapeMismatch {
                tensor: "activation".into(),
                expected: "a non-empty tensor [N, C, ...] or [N, ..., C]".into(),
                got: self.shape.clone(),
            });
        }
        let channel_axis = match layout {
            Layout::Nchw => 1,
            Layout::Nhwc => rank - 1,
        };
        let cases = self.shape[0];
        let channels = self.shape[channel_axis];
        // Row-major: index = ((case * outer + o) * channels + c) * inner + i, where `outer`
        // spans the axes between batch and channel, `inner` the axes after the channel.
        let outer: usize = self.shape[1..channel_axis].iter().product();
        let inner: usize = self.shape[channel_axis + 1..].iter().product();
        let per_channel = (outer * inner) as f32;
        let mut stats = Vec::with_capacity(cases);
        for case in self.data.chunks_exact(outer * channels * inner) {
            let mut sums = vec![0f64; channels];
            let mut maxima = vec![f32::NEG_INFINITY; channels];
            for block in case.chunks_exact(channels * inner) {
                for (c, run) in block.chunks_exact(inner).enumerate() {
                    for &v in run {
                        sums[c] += f64::from(v);
                        maxima[c] = maxima[c].max(v);
                    }
                }
            }
            stats.push(
                sums.iter()
                    .zip(maxima)
                    .map(|(&sum, max)| ChannelStat {
                        mean: (sum / f64::from(per_channel)) as f32,
                        max,
                    })
                    .collect(),
            );
        }
        Ok(stats)
    }
}

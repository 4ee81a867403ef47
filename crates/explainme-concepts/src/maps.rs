//! One layer's activations for the whole cohort, with per-channel access in either layout.

use explainme_onnx::{Layout, Tensor};

use crate::{Error, Result};

/// A layer's output for every case: `[cases, C, spatial…]` (NCHW) or `[cases, spatial…, C]`
/// (NHWC), as the model computes it.
#[derive(Debug, Clone)]
pub(crate) struct LayerMaps {
    pub(crate) tensor: Tensor,
    pub(crate) layout: Layout,
    pub(crate) channels: usize,
    /// Spatial extents (`[H, W]` or `[D, H, W]`); empty for a dense layer.
    pub(crate) spatial: Vec<usize>,
}

impl LayerMaps {
    pub(crate) fn new(tensor: Tensor, layout: Layout, layer: &str) -> Result<LayerMaps> {
        let shape = &tensor.shape;
        if shape.len() < 2 || shape.contains(&0) {
            return Err(Error::InvalidInput(format!(
                "layer `{layer}` has shape {shape:?}; concept probes need [N, C, …] or [N, …, C]"
            )));
        }
        let (channels, spatial) = match layout {
            Layout::Nchw => (shape[1], shape[2..].to_vec()),
            Layout::Nhwc => (shape[shape.len() - 1], shape[1..shape.len() - 1].to_vec()),
        };
        Ok(LayerMaps {
            tensor,
            layout,
            channels,
            spatial,
        })
    }

    pub(crate) fn cases(&self) -> usize {
        self.tensor.shape[0]
    }

    pub(crate) fn positions(&self) -> usize {
        self.spatial.iter().product()
    }

    fn per_case(&self) -> usize {
        self.channels * self.positions()
    }

    /// The values of one channel of one case, in spatial row-major order.
    pub(crate) fn channel_map(&self, case: usize, channel: usize, out: &mut Vec<f32>) {
        let (positions, channels) = (self.positions(), self.channels);
        let base = &self.tensor.data[case * self.per_case()..(case + 1) * self.per_case()];
        out.clear();
        match self.layout {
            Layout::Nchw => {
                out.extend_from_slice(&base[channel * positions..(channel + 1) * positions]);
            }
            Layout::Nhwc => out.extend(base.iter().skip(channel).step_by(channels)),
        }
    }

    /// Cases `start..start + count` with `shift[c]` added to every position of channel `c`,
    /// as a batch tensor in the layer's own shape.
    pub(crate) fn shifted(&self, start: usize, count: usize, shift: Option<&[f32]>) -> Tensor {
        let per_case = self.per_case();
        let mut data = self.tensor.data[start * per_case..(start + count) * per_case].to_vec();
        if let Some(shift) = shift {
            let positions = self.positions();
            for case in data.chunks_exact_mut(per_case) {
                match self.layout {
                    Layout::Nchw => {
                        for (run, s) in case.chunks_exact_mut(positions).zip(shift) {
                            run.iter_mut().for_each(|v| *v += s);
                        }
                    }
                    Layout::Nhwc => {
                        for pixel in case.chunks_exact_mut(self.channels) {
                            pixel.iter_mut().zip(shift).for_each(|(v, s)| *v += s);
                        }
                    }
                }
            }
        }
        let mut shape = self.tensor.shape.clone();
        shape[0] = count;
        Tensor { shape, data }
    }

    /// Per channel: the activation exceeded at only `quantile` of all positions over the
    /// cohort, and the standard deviation of the activation over all positions and cases.
    pub(crate) fn channel_summary(&self, quantile: f64) -> (Vec<f32>, Vec<f32>) {
        let mut thresholds = Vec::with_capacity(self.channels);
        let mut deviations = Vec::with_capacity(self.channels);
        let mut values = Vec::with_capacity(self.cases() * self.positions());
        let mut map = Vec::new();
        for channel in 0..self.channels {
            values.clear();
            for case in 0..self.cases() {
                self.channel_map(case, channel, &mut map);
                values.extend_from_slice(&map);
            }
            let n = values.len() as f64;
            let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let var = values
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / n;
            deviations.push(var.sqrt() as f32);
            let rank = (((1.0 - quantile) * n).floor() as usize).min(values.len() - 1);
            let (_, threshold, _) = values.select_nth_unstable_by(rank, f32::total_cmp);
            thresholds.push(*threshold);
        }
        (thresholds, deviations)
    }
}

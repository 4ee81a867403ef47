//! Network Dissection (Bau et al., CVPR 2017): which channels light up where a concept is.
//!
//! A channel is "on" where its activation exceeds its top-quantile threshold (computed over
//! every position of every case, at the layer's own resolution); its map is upsampled
//! bilinearly to the concept mask's grid and thresholded there. The IoU of a channel with a
//! concept is accumulated over the cohort, `Σ |on ∩ mask| / Σ |on ∪ mask|`, so activations on
//! cases without the concept count against it. Cases with no mask file at all are not
//! annotated and are left out; a case with some masks but not this one has the concept
//! absent (phantoms write a mask only for what is visible).

use explainme_imaging::{Mask, Shape};

use crate::maps::LayerMaps;
use crate::{Error, Result};

/// One concept's masks, one entry per case (`None`: the case has no such mask).
#[derive(Debug, Clone)]
pub(crate) struct MaskSet {
    pub(crate) name: String,
    pub(crate) masks: Vec<Option<Mask>>,
}

/// IoU per mask set, per channel: `iou[set][channel]`.
pub(crate) fn dissect(
    maps: &LayerMaps,
    thresholds: &[f32],
    sets: &[MaskSet],
    annotated: &[bool],
    layer: &str,
) -> Result<Vec<Vec<f64>>> {
    let channels = maps.channels;
    let mut inter = vec![vec![0u64; channels]; sets.len()];
    let mut union = vec![vec![0u64; channels]; sets.len()];
    if maps.spatial.len() < 2 {
        return Ok(vec![vec![0.0; channels]; sets.len()]);
    }
    let source = Shape::from_slice(&maps.spatial)?;
    let mut values = Vec::new();
    let mut on = Vec::new();
    for case in (0..maps.cases()).filter(|&c| annotated[c]) {
        let present: Vec<Option<&Mask>> = sets.iter().map(|s| s.masks[case].as_ref()).collect();
        let Some(grid) = present.iter().flatten().next().map(|m| m.shape()) else {
            continue;
        };
        if grid.dims() != source.dims() {
            return Err(Error::InvalidInput(format!(
                "layer `{layer}` is {}D but the masks of case {case} are {}D",
                source.dims(),
                grid.dims()
            )));
        }
        if let Some(other) = present.iter().flatten().find(|m| m.shape() != grid) {
            return Err(Error::InvalidInput(format!(
                "the masks of case {case} are on different grids ({:?} and {:?})",
                grid.as_slice(),
                other.shape().as_slice()
            )));
        }
        let areas: Vec<u64> = present
            .iter()
            .map(|m| m.map_or(0, |m| m.count_inside() as u64))
            .collect();
        for channel in 0..channels {
            maps.channel_map(case, channel, &mut values);
            let threshold = thresholds[channel];
            on.clear();
            // Bilinear upsampling only mixes neighbouring values, so a map that stays at or
            // below the threshold everywhere is off everywhere after upsampling too: most
            // maps, at a top-0.5% threshold, and they need no resizing.
            if values.iter().all(|&v| v <= threshold) {
                // Off everywhere: the union grows by the masks alone.
            } else if source == grid {
                on.extend((0..values.len()).filter(|&i| values[i] > threshold));
            } else {
                let map = explainme_imaging::Grid::new(source, std::mem::take(&mut values))?;
                let up = explainme_imaging::resize(&map, grid)?;
                on.extend(
                    up.voxels()
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| **v > threshold)
                        .map(|(i, _)| i),
                );
                values = map.into_voxels();
            }
            for (set, mask) in present.iter().enumerate() {
                let both = mask.map_or(0, |m| {
                    let v = m.voxels();
                    on.iter().filter(|&&i| v[i]).count() as u64
                });
                inter[set][channel] += both;
                union[set][channel] += on.len() as u64 + areas[set] - both;
            }
        }
    }
    Ok(inter
        .iter()
        .zip(&union)
        .map(|(i, u)| {
            i.iter()
                .zip(u)
                .map(|(&i, &u)| if u == 0 { 0.0 } else { i as f64 / u as f64 })
                .collect()
        })
        .collect())
}

//! Gradient-free TCAV (after Kim et al., ICML 2018): does moving a layer's activations
//! towards a concept raise the positive-class probability?
//!
//! TCAV proper takes the directional derivative of the class logit along the CAV; an ONNX
//! model carries no gradients, so here the derivative's sign is read off a finite step
//! through the rest of the network (the graph's tail after the layer, run by
//! [`TailSession`]). The CAV lives in channel-pooled space (a weight on each channel's mean
//! and maximum), and adding `δ` to every position of a channel raises both by `δ`, so channel
//! `c` moves by `step · σ_c · (w_mean,c + w_max,c) / rms(w_mean + w_max)` where `σ_c` is the
//! channel's activation standard deviation over the cohort: a step of comparable size in
//! every layer. The TCAV score is the share of cases whose probability rises among those
//! whose probability changes (a saturated sigmoid may not move in `f32`; those cases are
//! counted as ties and left out).
//!
//! The same step along random directions (seeded Gaussian, one set per layer, shared by
//! every concept of the layer) is the baseline. The share of rising cases is a poor test
//! statistic against it: a step along any fixed direction moves nearly every case the same
//! way (the network is close to linear over a small step), so random directions score near
//! 0 or 1 as often as a concept does. What a concept direction has and a random one lacks
//! is *size* of effect: the concept's mean change of the positive-class log-odds is tested
//! against the random directions' (symmetric about zero, since a Gaussian direction and its
//! opposite are equally likely), two-sided:
//! `p = (1 + #{|Δ_random| ≥ |Δ_concept|}) / (1 + directions)`. The sign of the change and the
//! TCAV score say which way the concept pushes.

use explainme_onnx::TailSession;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::maps::LayerMaps;
use crate::random::{self, Purpose};

/// How the positive-class probability moved under one step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moves {
    /// Cases whose probability rose.
    pub rising: usize,
    /// Cases whose probability fell.
    pub falling: usize,
    /// Cases whose probability did not change in `f32`.
    pub ties: usize,
    /// Mean change of the positive-class log-odds over every case (probabilities clamped
    /// to `[1e-6, 1 - 1e-6]`).
    pub mean_logit_change: f64,
}

impl Moves {
    /// `rising / (rising + falling)`; one half when nothing moved.
    pub fn score(&self) -> f64 {
        let moved = self.rising + self.falling;
        if moved == 0 {
            0.5
        } else {
            self.rising as f64 / moved as f64
        }
    }
}

/// The per-channel shift of a direction over channels (see the module docs).
pub(crate) fn shift(direction: &[f64], deviations: &[f32], step: f32) -> Vec<f32> {
    let rms = (direction.iter().map(|d| d * d).sum::<f64>() / direction.len().max(1) as f64)
        .sqrt()
        .max(1e-300);
    direction
        .iter()
        .zip(deviations)
        .map(|(&d, &sd)| step * sd * (d / rms) as f32)
        .collect()
}

/// The CAV's direction over channels: the weight on each channel's mean plus that on its
/// maximum (both in standardised units).
pub(crate) fn cav_direction(weights: &[f64], channels: usize) -> Vec<f64> {
    (0..channels)
        .map(|c| weights[c] + weights[channels + c])
        .collect()
}

/// `count` seeded Gaussian directions over `channels`, the stream chosen by `layer`.
pub(crate) fn random_directions(
    channels: usize,
    count: usize,
    seed: u64,
    layer: u64,
) -> Vec<Vec<f64>> {
    let mut rng = random::stream(seed, Purpose::Directions, layer);
    (0..count)
        .map(|_| (0..channels).map(|_| rng.normal()).collect())
        .collect()
}

/// Positive-class probability of every case through the tail, `batch` cases per run,
/// after adding `shift` to each channel (none: the unmodified activations).
pub(crate) fn probabilities(
    tail: &TailSession,
    maps: &LayerMaps,
    shift: Option<&[f32]>,
    batch: usize,
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(maps.cases());
    for start in (0..maps.cases()).step_by(batch) {
        let count = batch.min(maps.cases() - start);
        out.extend(tail.probabilities(&maps.shifted(start, count, shift))?);
    }
    Ok(out)
}

/// How the probabilities moved from `base` to `moved`.
pub(crate) fn moves(base: &[f32], moved: &[f32]) -> Moves {
    let logit = |p: f32| {
        let p = f64::from(p).clamp(1e-6, 1.0 - 1e-6);
        (p / (1.0 - p)).ln()
    };
    let mut m = Moves::default();
    let mut change = 0.0;
    for (&b, &a) in base.iter().zip(moved) {
        match a.partial_cmp(&b) {
            Some(std::cmp::Ordering::Greater) => m.rising += 1,
            Some(std::cmp::Ordering::Less) => m.falling += 1,
            _ => m.ties += 1,
        }
        change += logit(a) - logit(b);
    }
    m.mean_logit_change = change / base.len().max(1) as f64;
    m
}

/// Two-sided empirical p-value of a concept's mean log-odds change against the random
/// directions' (see the module docs).
pub(crate) fn p_value(change: f64, random: &[f64]) -> f64 {
    let as_large = random
        .iter()
        .filter(|r| r.abs() >= change.abs() - 1e-12)
        .count();
    (1 + as_large) as f64 / (1 + random.len()) as f64
}

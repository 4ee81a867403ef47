//! The cohort in the CNN's own feature space: per case the channel means of the similarity
//! layer, standardised over the cohort, for the k most similar cases of an explanation and
//! for the out-of-range flag.

use explainme_cohort::Cohort;
use explainme_onnx::ChannelStat;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One cohort case in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedCase {
    pub case_id: String,
    pub malignant: bool,
    pub subtype: Option<String>,
    /// The CNN's probability of malignancy.
    pub probability: f32,
    /// Standardised channel means.
    pub vector: Vec<f32>,
}

/// A similar case as an explanation shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarCase {
    pub case_id: String,
    /// Euclidean distance in standardised units.
    pub distance: f64,
    pub malignant: bool,
    pub subtype: Option<String>,
    pub probability: f32,
}

/// The index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarityIndex {
    pub layer: String,
    pub means: Vec<f64>,
    pub sds: Vec<f64>,
    pub cases: Vec<IndexedCase>,
    /// The 99th percentile of the cohort cases' distances to their nearest other case: a
    /// new case farther than this from every cohort case lies outside what the cohort
    /// showed the CNN.
    pub nearest_p99: f64,
}

impl SimilarityIndex {
    /// Builds the index from each case's channel statistics (cohort order).
    pub fn build(
        layer: &str,
        cohort: &Cohort,
        stats: &[Vec<ChannelStat>],
        probabilities: &[f32],
        malignant: &[bool],
        subtypes: &[Option<String>],
    ) -> Result<SimilarityIndex> {
        let channels = stats.first().map_or(0, Vec::len);
        if channels == 0 || stats.iter().any(|s| s.len() != channels) {
            return Err(Error::InvalidInput(format!(
                "layer `{layer}` gave channel statistics of unequal or zero width"
            )));
        }
        let n = stats.len() as f64;
        let mut means = vec![0.0; channels];
        let mut sds = vec![0.0; channels];
        for s in stats {
            for (c, stat) in s.iter().enumerate() {
                means[c] += f64::from(stat.mean) / n;
            }
        }
        for s in stats {
            for (c, stat) in s.iter().enumerate() {
                sds[c] += (f64::from(stat.mean) - means[c]).powi(2) / n;
            }
        }
        sds.iter_mut().for_each(|v| *v = v.sqrt());
        let mut index = SimilarityIndex {
            layer: layer.to_owned(),
            means,
            sds,
            cases: Vec::with_capacity(stats.len()),
            nearest_p99: 0.0,
        };
        for (i, s) in stats.iter().enumerate() {
            let vector = index.vector(s);
            index.cases.push(IndexedCase {
                case_id: cohort.cases[i].id.clone(),
                malignant: malignant[i],
                subtype: subtypes[i].clone(),
                probability: probabilities[i],
                vector,
            });
        }
        let mut nearest: Vec<f64> = (0..index.cases.len())
            .map(|i| {
                index
                    .cases
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, other)| distance(&index.cases[i].vector, &other.vector))
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        nearest.sort_by(f64::total_cmp);
        let at = ((nearest.len() as f64 - 1.0) * 0.99).round() as usize;
        index.nearest_p99 = nearest.get(at).copied().unwrap_or(f64::INFINITY);
        Ok(index)
    }

    /// A case's statistics in the index's standardised space.
    pub fn vector(&self, stats: &[ChannelStat]) -> Vec<f32> {
        stats
            .iter()
            .zip(self.means.iter().zip(&self.sds))
            .map(|(s, (&mean, &sd))| {
                if sd > 1e-12 {
                    ((f64::from(s.mean) - mean) / sd) as f32
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The `k` nearest cohort cases, nearest first, leaving out `exclude` (the case itself
    /// when it is a cohort case).
    pub fn nearest(&self, vector: &[f32], k: usize, exclude: Option<&str>) -> Vec<SimilarCase> {
        let mut all: Vec<(f64, &IndexedCase)> = self
            .cases
            .iter()
            .filter(|c| Some(c.case_id.as_str()) != exclude)
            .map(|c| (distance(vector, &c.vector), c))
            .collect();
        all.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then_with(|| a.1.case_id.cmp(&b.1.case_id))
        });
        all.into_iter()
            .take(k)
            .map(|(distance, c)| SimilarCase {
                case_id: c.case_id.clone(),
                distance,
                malignant: c.malignant,
                subtype: c.subtype.clone(),
                probability: c.probability,
            })
            .collect()
    }
}

fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

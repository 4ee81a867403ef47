//! Running the CNN over a cohort: every case's probability and the pooled activations of
//! one layer, which place the case in the CNN's own feature space (similar cases, out of
//! range).

use explainme_budget::MemoryBudget;
use explainme_cohort::Cohort;
use explainme_imaging::{Image, Shape};
use explainme_onnx::{ChannelStat, Model, ModelCard, Session, Tensor};

use crate::{Error, Result};

/// A cohort scored by a model: one entry per case, in cohort order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Positive-class (malignant) probability.
    pub probabilities: Vec<f32>,
    /// The truth.
    pub malignant: Vec<bool>,
    /// The subtype where the cohort labels it.
    pub subtypes: Vec<Option<String>>,
    /// Per case, the channel statistics of each requested layer (request order).
    pub activations: Vec<Vec<Vec<ChannelStat>>>,
}

/// The truth of every case; every case must have its `malignant` label (yes/no).
pub fn truth(cohort: &Cohort) -> Result<(Vec<bool>, Vec<Option<String>>)> {
    let mut malignant = Vec::with_capacity(cohort.cases.len());
    let mut subtypes = Vec::with_capacity(cohort.cases.len());
    for case in &cohort.cases {
        malignant.push(match case.labels.get("malignant").map(String::as_str) {
            Some("yes") => true,
            Some("no") => false,
            _ => {
                return Err(Error::InvalidInput(format!(
                    "case `{}` has no `malignant` label (yes/no)",
                    case.id
                )));
            }
        });
        subtypes.push(case.labels.get("subtype").cloned());
    }
    Ok((malignant, subtypes))
}

/// A Hounsfield-unit image as the model's raw input: resized to the card's input size
/// (not yet preprocessed; [`ModelCard::preprocess`] does that).
pub fn model_input(card: &ModelCard, image: Image) -> Result<Tensor> {
    let target = Shape::from_slice(&card.input_size)?;
    let image = if image.shape() == target {
        image
    } else {
        explainme_imaging::resize(&image, target)?
    };
    Ok(Tensor::new(card.input_size.clone(), image.into_voxels())?)
}

/// Runs the model on every case of the cohort in batches of `batch`, exposing `layers`;
/// `progress(done, total)` hears about each batch.
pub fn score_cohort(
    model: &Model,
    card: &ModelCard,
    cohort: &Cohort,
    layers: &[String],
    batch: usize,
    budget: &MemoryBudget,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Scored> {
    if cohort.cases.is_empty() {
        return Err(Error::InvalidInput(format!(
            "the cohort {} has no cases",
            cohort.root.display()
        )));
    }
    let (malignant, subtypes) = truth(cohort)?;
    let session = Session::new(model, card, layers)?;
    let total = cohort.cases.len() as u64;
    let mut probabilities = Vec::with_capacity(cohort.cases.len());
    let mut activations = Vec::with_capacity(cohort.cases.len());
    let mut done = 0;
    for chunk in cohort.cases.chunks(batch.max(1)) {
        let images = chunk
            .iter()
            .map(|case| {
                let image = explainme_imaging::read_image_within(cohort.image_path(case), budget)
                    .map_err(Error::from)
                    .and_then(|image| model_input(card, image));
                // Every per-case failure names the case, not its position in the batch.
                image.map_err(|e| Error::Case {
                    case: case.id.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let prediction = session.predict(&card.preprocess(&images)?)?;
        probabilities.extend(prediction.probabilities);
        let per_layer = prediction
            .activations
            .iter()
            .map(|a| a.channel_stats())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for case in 0..chunk.len() {
            activations.push(per_layer.iter().map(|layer| layer[case].clone()).collect());
        }
        done += chunk.len() as u64;
        progress(done, total);
    }
    Ok(Scored {
        probabilities,
        malignant,
        subtypes,
        activations,
    })
}

//! Which concepts a cohort offers: one binary label vector per feature state.
//!
//! A concept is a state of a clinician feature (`macroscopic_fat=present`,
//! `enhancement=avid`, `size_cm=<2`): a case is a positive when its label is that state, a
//! negative when it is another state, and unlabelled (left out of the probe) when the cell
//! is empty. A two-state feature gives one concept, its second state (the first being the
//! absence: `absent`, `no`, `homogeneous`, `well_defined`), since the other is the same
//! probe with the sign flipped; a feature with more states gives one per state. Truth
//! columns (`malignant`, `subtype`) are not concepts: they are what the CNN predicts.
//!
//! Callers may add concepts of their own (a reader's labels, noise-free phantom truth,
//! random labels as a negative control) as plain [`ConceptLabels`].

use explainme_cohort::{Cohort, FeatureKind, Role};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One concept and its label per case, in cohort order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptLabels {
    /// `feature=state`, e.g. `macroscopic_fat=present`.
    pub name: String,
    /// The feature; also the stem of the concept's mask file (`masks/<case>/<feature>.png`)
    /// when [`mask`](Self::mask) is set.
    pub feature: String,
    /// The state that makes a positive.
    pub state: String,
    /// The mask file stem that shows this concept, if the cohort may have one: the feature
    /// name for every state of a categorical or ordinal feature but the first (the
    /// absence), `None` for the absence and for numeric features.
    pub mask: Option<String>,
    /// `Some(true)` positive, `Some(false)` negative, `None` unlabelled; one per case.
    pub labels: Vec<Option<bool>>,
}

impl ConceptLabels {
    /// A concept from explicit labels (one per cohort case).
    pub fn new(
        feature: &str,
        state: &str,
        mask: Option<&str>,
        labels: Vec<Option<bool>>,
    ) -> ConceptLabels {
        ConceptLabels {
            name: format!("{feature}={state}"),
            feature: feature.to_owned(),
            state: state.to_owned(),
            mask: mask.map(str::to_owned),
            labels,
        }
    }

    /// Number of positive and negative cases.
    pub fn counts(&self) -> (usize, usize) {
        let positives = self.labels.iter().filter(|l| **l == Some(true)).count();
        let negatives = self.labels.iter().filter(|l| **l == Some(false)).count();
        (positives, negatives)
    }
}

/// Every concept of the cohort's schema (see the module docs), labelled from `cases.csv`.
///
/// Numeric features are binned by their cut points (`size_cm=2-4`). Fails only when a
/// label does not fit the schema, which [`Cohort::open`] has already ruled out.
pub fn cohort_concepts(cohort: &Cohort) -> Result<Vec<ConceptLabels>> {
    let mut concepts = Vec::new();
    for feature in cohort
        .schema
        .features
        .iter()
        .filter(|f| f.role == Role::Feature)
    {
        let states = feature.states();
        let cells = cohort
            .cases
            .iter()
            .map(|case| {
                case.labels
                    .get(&feature.name)
                    .map(|raw| feature.state_of(raw))
                    .transpose()
            })
            .collect::<explainme_cohort::Result<Vec<Option<String>>>>()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let chosen: &[String] = if states.len() == 2 {
            &states[1..]
        } else {
            &states
        };
        let numeric = matches!(feature.kind, FeatureKind::Numeric { .. });
        for (index, state) in chosen.iter().enumerate() {
            let absence = numeric || (states.len() > 2 && index == 0);
            let labels = cells
                .iter()
                .map(|cell| cell.as_ref().map(|s| s == state))
                .collect();
            concepts.push(ConceptLabels::new(
                &feature.name,
                state,
                (!absence).then_some(feature.name.as_str()),
                labels,
            ));
        }
    }
    Ok(concepts)
}

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use explainme_cohort::{Case, FeatureSchema};

    use super::*;

    fn case(id: &str, cells: &[(&str, &str)]) -> Case {
        Case {
            id: id.to_owned(),
            image: PathBuf::from(format!("images/{id}.png")),
            labels: cells
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn two_state_features_give_one_concept_and_others_one_per_state() {
        let cohort = Cohort {
            root: PathBuf::from("cohort"),
            schema: FeatureSchema::renal_demo(),
            cases: vec![
                case("a", &[("macroscopic_fat", "present"), ("size_cm", "1.5")]),
                case(
                    "b",
                    &[("macroscopic_fat", "absent"), ("enhancement", "avid")],
                ),
                case("c", &[("malignant", "yes")]),
            ],
        };
        let concepts = cohort_concepts(&cohort).unwrap();
        let names: Vec<&str> = concepts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            &names[..9],
            [
                "size_cm=<2",
                "size_cm=2-4",
                "size_cm=4-7",
                "size_cm=>=7",
                "macroscopic_fat=present",
                "enhancement=hypo",
                "enhancement=moderate",
                "enhancement=avid",
                "heterogeneity=heterogeneous",
            ]
        );
        // Truth columns are not concepts.
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("malignant") || n.starts_with("subtype"))
        );
        let fat = &concepts[4];
        assert_eq!(fat.labels, [Some(true), Some(false), None]);
        assert_eq!(fat.mask.as_deref(), Some("macroscopic_fat"));
        assert_eq!(concepts[0].labels, [Some(true), None, None]);
        assert_eq!(concepts[0].mask, None); // numeric: no mask
        assert_eq!(concepts[5].mask, None); // the first of three states: the absence
        assert_eq!(concepts[7].mask.as_deref(), Some("enhancement"));
        assert_eq!(concepts[7].counts(), (1, 0));
    }
}

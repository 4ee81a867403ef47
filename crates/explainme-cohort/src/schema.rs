//! The feature schema: which clinician features a cohort has and what their states are.
//!
//! Learners only ever see categorical states, so numeric features carry the cut points that
//! turn them into intervals. The CNN's verdict is never part of a schema: it is produced by
//! the model, not labelled by clinicians.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::read_text;
use crate::table::{bin_of, parse_number};
use crate::{Error, Result, Table};

/// Column of the CNN's verdict (`yes`/`no`) in tables the explainer builds beside the
/// clinician features; no feature may be called so (see [`FeatureSchema::validate`]).
pub const CNN_VERDICT: &str = "cnn_malignant";
/// Column saying whether the CNN's verdict matches the truth (`yes`/`no`).
pub const CNN_CORRECT: &str = "cnn_correct";
/// Names a feature cannot take: the cohort folder's own `cases.csv` columns, and every name
/// starting with `cnn_`, kept for the columns the explainer derives from the CNN.
const RESERVED: &[&str] = &[crate::cohort::CASE_ID, crate::cohort::IMAGE];
const RESERVED_PREFIX: &str = "cnn_";

/// The features of a cohort, in column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    pub features: Vec<Feature>,
}

/// One labelled variable of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    #[serde(flatten)]
    pub kind: FeatureKind,
    /// `feature` for what a clinician sees, `truth` for the outcome (pathology).
    #[serde(default)]
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How a feature's values are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureKind {
    /// Unordered states, e.g. `margin`: well_defined / infiltrative.
    Categorical { states: Vec<String> },
    /// Ordered states, lowest first, e.g. `enhancement`: hypo < moderate < avid.
    Ordinal { states: Vec<String> },
    /// A measurement, binned by cut points into intervals for the learners.
    Numeric { cut_points: Vec<f64> },
}

/// Whether a column is a clinician's observation or the ground truth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    Feature,
    Truth,
}

impl Feature {
    fn categorical(name: &str, states: &[&str], description: &str) -> Feature {
        Feature {
            name: name.to_owned(),
            kind: FeatureKind::Categorical {
                states: states.iter().map(|s| s.to_string()).collect(),
            },
            role: Role::Feature,
            description: Some(description.to_owned()),
        }
    }

    fn ordinal(name: &str, states: &[&str], description: &str) -> Feature {
        Feature {
            kind: FeatureKind::Ordinal {
                states: states.iter().map(|s| s.to_string()).collect(),
            },
            ..Feature::categorical(name, &[], description)
        }
    }

    fn truth(self) -> Feature {
        Feature {
            role: Role::Truth,
            ..self
        }
    }

    /// The categorical states learners see; for numeric features, the interval labels.
    pub fn states(&self) -> Vec<String> {
        match &self.kind {
            FeatureKind::Categorical { states } | FeatureKind::Ordinal { states } => states.clone(),
            // Cut points are validated when a schema is loaded or built.
            FeatureKind::Numeric { cut_points } => {
                interval_labels(&self.name, cut_points).unwrap_or_default()
            }
        }
    }

    /// Maps a raw cell to its state: checks categorical values, bins numeric ones.
    pub fn state_of(&self, raw: &str) -> Result<String> {
        match &self.kind {
            FeatureKind::Categorical { states } | FeatureKind::Ordinal { states } => {
                if states.iter().any(|s| s == raw) {
                    Ok(raw.to_owned())
                } else {
                    Err(Error::UnknownState {
                        feature: self.name.clone(),
                        value: raw.to_owned(),
                        states: states.join(", "),
                    })
                }
            }
            FeatureKind::Numeric { cut_points } => {
                let value = parse_number(raw).ok_or_else(|| Error::UnknownState {
                    feature: self.name.clone(),
                    value: raw.to_owned(),
                    states: "a finite number".to_owned(),
                })?;
                let labels = interval_labels(&self.name, cut_points)?;
                Ok(labels[bin_of(value, cut_points)].clone())
            }
        }
    }
}

/// Interval labels for cut points `c1 < … < ck`: `<c1`, `c1-c2`, …, `>=ck`.
/// Intervals are closed on the left, so a value equal to a cut point goes up.
pub fn interval_labels(column: &str, cut_points: &[f64]) -> Result<Vec<String>> {
    let increasing = cut_points.windows(2).all(|w| w[0] < w[1]);
    if cut_points.is_empty() || !increasing || cut_points.iter().any(|c| !c.is_finite()) {
        return Err(Error::BadCutPoints {
            column: column.to_owned(),
        });
    }
    let mut labels = vec![format!("<{}", cut_points[0])];
    labels.extend(cut_points.windows(2).map(|w| format!("{}-{}", w[0], w[1])));
    labels.push(format!(">={}", cut_points[cut_points.len() - 1]));
    Ok(labels)
}

impl FeatureSchema {
    /// The renal-mass schema of DESIGN.md: ten clinician features and two truth columns.
    pub fn renal_demo() -> FeatureSchema {
        let present = ["absent", "present"];
        let features = vec![
            Feature {
                name: "size_cm".to_owned(),
                kind: FeatureKind::Numeric {
                    cut_points: vec![2.0, 4.0, 7.0],
                },
                role: Role::Feature,
                description: Some("largest lesion diameter in cm".to_owned()),
            },
            Feature::categorical("macroscopic_fat", &present, "fat at or below -10 HU"),
            Feature::ordinal(
                "enhancement",
                &["hypo", "moderate", "avid"],
                "corticomedullary-phase enhancement",
            ),
            Feature::categorical(
                "heterogeneity",
                &["homogeneous", "heterogeneous"],
                "texture of the enhancing part",
            ),
            Feature::categorical("necrosis", &present, "non-enhancing central necrosis"),
            Feature::categorical("calcification", &present, "calcifications above +100 HU"),
            Feature::categorical("central_scar", &present, "stellate central scar"),
            Feature::categorical(
                "margin",
                &["well_defined", "infiltrative"],
                "interface with the kidney",
            ),
            Feature::categorical(
                "exophytic",
                &["no", "yes"],
                "grows out of the renal contour",
            ),
            Feature::ordinal(
                "cystic",
                &["none", "partial", "predominant"],
                "cystic (fluid) fraction",
            ),
            Feature::categorical("malignant", &["no", "yes"], "pathology: malignant").truth(),
            Feature::categorical(
                "subtype",
                &[
                    "clear_cell_rcc",
                    "papillary_rcc",
                    "chromophobe_rcc",
                    "oncocytoma",
                    "fat_rich_aml",
                    "fat_poor_aml",
                    "complex_cyst",
                ],
                "pathology: histological subtype",
            )
            .truth(),
        ];
        FeatureSchema { features }
    }

    /// Reads and validates a `schema.json`.
    pub fn from_json_path(path: impl AsRef<Path>) -> Result<FeatureSchema> {
        FeatureSchema::from_json(&read_text(path.as_ref())?)
    }

    /// Parses and validates a schema from JSON text.
    pub fn from_json(text: &str) -> Result<FeatureSchema> {
        let schema: FeatureSchema = serde_json::from_str(text)?;
        schema.validate()?;
        Ok(schema)
    }

    /// Pretty JSON, the form `schema.json` is written in.
    pub fn to_json(&self) -> String {
        // A schema is plain strings and finite numbers: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks names are unique and non-empty, states exist and are unique, cut points increase.
    pub fn validate(&self) -> Result<()> {
        if self.features.is_empty() {
            return Err(Error::InvalidSchema(
                "a schema needs at least one feature".to_owned(),
            ));
        }
        for (i, feature) in self.features.iter().enumerate() {
            if feature.name.is_empty() {
                return Err(Error::InvalidSchema(format!("feature {i} has no name")));
            }
            if RESERVED.contains(&feature.name.as_str())
                || feature.name.starts_with(RESERVED_PREFIX)
            {
                return Err(Error::InvalidSchema(format!(
                    "feature `{}`: the names {} and every name starting with `{RESERVED_PREFIX}` \
                     are reserved (cohort columns, and the CNN verdict columns such as \
                     `{CNN_VERDICT}` that explainme adds)",
                    feature.name,
                    RESERVED
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if self.features[..i].iter().any(|f| f.name == feature.name) {
                return Err(Error::InvalidSchema(format!(
                    "feature `{}` is declared twice",
                    feature.name
                )));
            }
            match &feature.kind {
                FeatureKind::Categorical { states } | FeatureKind::Ordinal { states } => {
                    if states.is_empty() {
                        return Err(Error::InvalidSchema(format!(
                            "feature `{}` has no states",
                            feature.name
                        )));
                    }
                    if let Some(j) = states.iter().position(|s| s.trim().is_empty()) {
                        return Err(Error::InvalidSchema(format!(
                            "feature `{}`: state {j} is empty (an empty cell means \
                             \"not labelled\", so no state can be empty)",
                            feature.name
                        )));
                    }
                    if let Some(dup) = states
                        .iter()
                        .enumerate()
                        .find(|(j, s)| states[..*j].contains(s))
                    {
                        return Err(Error::InvalidSchema(format!(
                            "feature `{}` lists state `{}` twice",
                            feature.name, dup.1
                        )));
                    }
                }
                FeatureKind::Numeric { cut_points } => {
                    interval_labels(&feature.name, cut_points)?;
                }
            }
        }
        Ok(())
    }

    /// The feature with this name.
    pub fn feature(&self, name: &str) -> Result<&Feature> {
        self.features
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| Error::UnknownFeature(name.to_owned()))
    }

    /// Turns raw cells into states for every column the schema knows (numeric → interval,
    /// categorical → checked); other columns (case id, image path) pass through unchanged.
    pub fn discretise(&self, table: &Table) -> Result<Table> {
        let features: Vec<Option<&Feature>> = table
            .columns()
            .iter()
            .map(|c| self.features.iter().find(|f| &f.name == c))
            .collect();
        let mut rows = Vec::with_capacity(table.len());
        for (line, row) in table.rows().iter().enumerate() {
            let mut states = Vec::with_capacity(row.len());
            for (cell, feature) in row.iter().zip(&features) {
                states.push(match (cell, feature) {
                    (Some(raw), Some(feature)) => {
                        Some(feature.state_of(raw).map_err(|e| Error::InvalidCase {
                            line: line as u64 + 2,
                            message: e.to_string(),
                        })?)
                    }
                    (cell, _) => cell.clone(),
                });
            }
            rows.push(states);
        }
        Table::new(table.columns().to_vec(), rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renal_demo_round_trips_through_json() {
        let schema = FeatureSchema::renal_demo();
        schema.validate().unwrap();
        assert_eq!(FeatureSchema::from_json(&schema.to_json()).unwrap(), schema);
        assert_eq!(schema.feature("malignant").unwrap().role, Role::Truth);
    }

    #[test]
    fn empty_schemas_empty_states_and_reserved_names_are_refused() {
        let refused = |json: &str| match FeatureSchema::from_json(json) {
            Err(Error::InvalidSchema(message)) => message,
            other => panic!("{json}: {other:?}"),
        };
        assert_eq!(
            refused(r#"{"features":[]}"#),
            "a schema needs at least one feature"
        );
        assert!(
            refused(r#"{"features":[{"name":"fat","kind":"categorical","states":["yes",""]}]}"#)
                .contains("feature `fat`: state 1 is empty")
        );
        for name in ["cnn_malignant", "cnn_probability", "case_id", "image"] {
            let json = format!(
                r#"{{"features":[{{"name":"{name}","kind":"categorical","states":["yes","no"]}}]}}"#
            );
            assert!(refused(&json).contains("are reserved"), "{name}");
        }
    }

    #[test]
    fn schema_json_is_readable_by_people() {
        let json = r#"{"features":[
            {"name":"size_cm","kind":"numeric","cut_points":[2,4]},
            {"name":"margin","kind":"categorical","states":["well_defined","infiltrative"]},
            {"name":"malignant","kind":"categorical","states":["no","yes"],"role":"truth"}]}"#;
        let schema = FeatureSchema::from_json(json).unwrap();
        assert_eq!(
            schema.feature("size_cm").unwrap().states(),
            ["<2", "2-4", ">=4"]
        );
        assert!(matches!(
            FeatureSchema::from_json(
                r#"{"features":[{"name":"x","kind":"numeric","cut_points":[]}]}"#
            ),
            Err(Error::BadCutPoints { .. })
        ));
    }

    #[test]
    fn discretise_bins_numbers_and_rejects_unknown_states() {
        let schema = FeatureSchema::renal_demo();
        let table = Table::from_csv_reader(
            "case_id,size_cm,margin\nc1,3.5,infiltrative\nc2,,\n".as_bytes(),
        )
        .unwrap();
        let states = schema.discretise(&table).unwrap();
        assert_eq!(
            states.rows()[0],
            [
                Some("c1".into()),
                Some("2-4".into()),
                Some("infiltrative".into())
            ]
        );
        let bad = Table::from_csv_reader("margin\nspiculated\n".as_bytes()).unwrap();
        let err = schema.discretise(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cases.csv, line 2: feature `margin`: `spiculated` is not one of its states \
             (well_defined, infiltrative)"
        );
    }
}

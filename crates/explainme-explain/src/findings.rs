//! The one table rules and network are learned from: clinician findings as states (numbers
//! binned by the schema), the truth, the CNN's verdict and whether it was right.

use std::collections::BTreeMap;

use explainme_cohort::{CNN_CORRECT, CNN_VERDICT, FeatureSchema, Role, Table};

use crate::evaluation::THRESHOLD;
use crate::{Error, Result};

/// The truth column of the renal schema (DESIGN.md).
pub const TRUTH: &str = "malignant";

/// `yes`/`no`, the states of the derived columns.
pub(crate) fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// The names of the schema's clinician features (not truth), in schema order.
pub fn feature_names(schema: &FeatureSchema) -> Vec<String> {
    schema
        .features
        .iter()
        .filter(|f| f.role == Role::Feature)
        .map(|f| f.name.clone())
        .collect()
}

/// The findings table: the schema's features and `truth` as states, then the CNN's verdict
/// at [`THRESHOLD`] ([`CNN_VERDICT`]) and whether it matches the truth ([`CNN_CORRECT`]);
/// `probabilities` follow the table's rows.
pub fn findings_table(
    schema: &FeatureSchema,
    table: &Table,
    truth: &str,
    probabilities: &[f32],
) -> Result<Table> {
    let states = schema.discretise(table)?;
    let keep: Vec<&str> = schema
        .features
        .iter()
        .filter(|f| f.role == Role::Feature || f.name == truth)
        .map(|f| f.name.as_str())
        .collect();
    let selected = states.select(&keep)?;
    if selected.len() != probabilities.len() {
        return Err(Error::InvalidInput(format!(
            "{} probabilities for {} cases",
            probabilities.len(),
            selected.len()
        )));
    }
    let truth = selected.column_index(truth)?;
    let mut columns = selected.columns().to_vec();
    columns.extend([CNN_VERDICT.to_owned(), CNN_CORRECT.to_owned()]);
    let rows = selected
        .rows()
        .iter()
        .zip(probabilities)
        .map(|(row, &p)| {
            let verdict = p >= THRESHOLD;
            let mut row = row.clone();
            let correct = row[truth].as_deref().map(|t| (t == "yes") == verdict);
            row.push(Some(yes_no(verdict)));
            row.push(correct.map(yes_no));
            row
        })
        .collect();
    Ok(Table::new(columns, rows)?)
}

/// A case's known labels as states of the schema's features (numbers binned), refusing a
/// feature the schema does not have or a state it does not know, by name. Truth labels
/// are dropped: an explanation never sees the answer.
pub fn case_states(
    schema: &FeatureSchema,
    labels: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut states = BTreeMap::new();
    for (name, raw) in labels {
        let feature = schema.feature(name).map_err(|_| Error::UnknownLabel {
            feature: name.clone(),
            state: raw.clone(),
            problem: format!(
                "the schema has no feature `{name}` (features: {})",
                feature_names(schema).join(", ")
            ),
        })?;
        if feature.role != Role::Feature {
            continue;
        }
        let state = feature.state_of(raw).map_err(|e| Error::UnknownLabel {
            feature: name.clone(),
            state: raw.clone(),
            problem: e.to_string(),
        })?;
        states.insert(name.clone(), state);
    }
    Ok(states)
}

//! The tree's input: a plain matrix of numbers with named columns, each knowing how its
//! splits read in words.
//!
//! The surrogate sees clinician features today and concept scores (probe outputs) later;
//! both are just columns here, so a concept score is added with [`FeatureMatrix::with_column`]
//! and a [`Rendering::Number`] that names it ("fat probe score"). The matrix is `f64`
//! row-major in a `Vec`, not an ndarray type, so that callers on another ndarray version
//! (explainme-onnx is on 0.17, linfa on 0.16) exchange plain data only.
//!
//! [`FeatureMatrix::from_table`] encodes a cohort table through its [`FeatureSchema`]:
//! numeric features as numbers, ordinal ones as their state index (so a split keeps the
//! order: "enhancement is moderate or avid"), two-state categorical ones as one indicator
//! and categorical ones with more states one-hot. Truth columns are never features.

use explainme_budget::MemoryBudget;
use explainme_cohort::{FeatureKind, FeatureSchema, Role, Table};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One column of a [`FeatureMatrix`]: its name and how a split on it is put in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Unique within the matrix: the feature name, or `feature=state` for one-hot columns.
    pub name: String,
    pub rendering: Rendering,
}

/// How a column's values read in a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rendering {
    /// Any finite number: "size ≥ 4.1 cm", "fat probe score < 0.31".
    Number {
        label: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    /// 1 when `feature` is `state`, else 0. With `otherwise` (a two-state feature) the 0
    /// side reads as that state ("macroscopic fat absent"), without it as a negation
    /// ("enhancement is not avid"); one-hot columns of one feature merge in a rule.
    Indicator {
        feature: String,
        state: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        otherwise: Option<String>,
    },
    /// The index of an ordered state, lowest first: "cystic is partial or predominant".
    Ordinal {
        feature: String,
        states: Vec<String>,
    },
}

impl Column {
    /// A numeric column, e.g. a concept score: `Column::number("fat_probe", "fat probe score", None)`.
    pub fn number(name: &str, label: &str, unit: Option<&str>) -> Column {
        Column {
            name: name.to_owned(),
            rendering: Rendering::Number {
                label: label.to_owned(),
                unit: unit.map(str::to_owned),
            },
        }
    }

    /// Checks one value against what the rendering can say.
    fn check(&self, row: usize, value: f64) -> Result<()> {
        let bad = |problem| {
            Err(Error::BadValue {
                column: self.name.clone(),
                row,
                value,
                problem,
            })
        };
        if !value.is_finite() {
            return bad("is not finite");
        }
        match &self.rendering {
            Rendering::Number { .. } => Ok(()),
            Rendering::Indicator { .. } if value != 0.0 && value != 1.0 => {
                bad("is not an indicator (0 or 1)")
            }
            Rendering::Ordinal { states, .. }
                if value.fract() != 0.0 || value < 0.0 || value >= states.len() as f64 =>
            {
                bad("is not the index of one of the column's states")
            }
            _ => Ok(()),
        }
    }
}

/// Rows × columns of finite numbers, row-major, with named columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureMatrix {
    columns: Vec<Column>,
    rows: usize,
    #[serde(skip)]
    values: Vec<f64>,
}

/// Suffixes of numeric column names that are units (`size_cm` reads "size … cm"), the
/// cohort convention of DESIGN.md's schema.
const UNIT_SUFFIXES: &[&str] = &["cm", "mm", "ml", "hu", "years", "kg"];

/// A column or state name as words: `macroscopic_fat` → `macroscopic fat`.
pub(crate) fn words(name: &str) -> String {
    name.replace('_', " ")
}

impl FeatureMatrix {
    /// A matrix from row-major `values` (`rows × columns.len()` of them); every value must
    /// suit its column's rendering (finite; 0/1 for indicators; a state index for ordinals).
    pub fn new(columns: Vec<Column>, rows: usize, values: Vec<f64>) -> Result<FeatureMatrix> {
        if columns.is_empty() || rows == 0 {
            return Err(Error::Empty);
        }
        if let Some(dup) = columns
            .iter()
            .enumerate()
            .find(|(i, c)| columns[..*i].iter().any(|d| d.name == c.name))
        {
            return Err(Error::DuplicateColumn(dup.1.name.clone()));
        }
        let expected = rows.checked_mul(columns.len()).ok_or(Error::Length {
            what: "the feature matrix".to_owned(),
            expected: usize::MAX,
            found: values.len(),
        })?;
        if values.len() != expected {
            return Err(Error::Length {
                what: format!("a {rows} × {} feature matrix", columns.len()),
                expected,
                found: values.len(),
            });
        }
        for (i, &value) in values.iter().enumerate() {
            columns[i % columns.len()].check(i / columns.len(), value)?;
        }
        Ok(FeatureMatrix {
            columns,
            rows,
            values,
        })
    }

    /// Encodes the [`Role::Feature`] columns of `table` through `schema`, in schema order
    /// (see the module docs for the encoding). An unlabelled cell is refused for numeric,
    /// ordinal and two-state features ([`Error::Unlabelled`]) and is 0 in every one-hot
    /// column of a many-state feature. Row `i` of the matrix is row `i` of the table.
    pub fn from_table(
        schema: &FeatureSchema,
        table: &Table,
        budget: MemoryBudget,
    ) -> Result<FeatureMatrix> {
        let features: Vec<_> = schema
            .features
            .iter()
            .filter(|f| f.role == Role::Feature)
            .map(|f| Ok((f, table.column_index(&f.name)?)))
            .collect::<Result<_>>()?;
        let mut columns = Vec::new();
        for (feature, _) in &features {
            let name = &feature.name;
            match &feature.kind {
                FeatureKind::Numeric { .. } => {
                    let (label, unit) = match name.rsplit_once('_') {
                        Some((label, unit)) if UNIT_SUFFIXES.contains(&unit) => {
                            (words(label), Some(unit))
                        }
                        _ => (words(name), None),
                    };
                    columns.push(Column::number(name, &label, unit));
                }
                FeatureKind::Ordinal { states } => columns.push(Column {
                    name: name.clone(),
                    rendering: Rendering::Ordinal {
                        feature: name.clone(),
                        states: states.clone(),
                    },
                }),
                FeatureKind::Categorical { states } if states.len() == 2 => columns.push(Column {
                    name: format!("{name}={}", states[1]),
                    rendering: Rendering::Indicator {
                        feature: name.clone(),
                        state: states[1].clone(),
                        otherwise: Some(states[0].clone()),
                    },
                }),
                FeatureKind::Categorical { states } => {
                    columns.extend(states.iter().map(|state| Column {
                        name: format!("{name}={state}"),
                        rendering: Rendering::Indicator {
                            feature: name.clone(),
                            state: state.clone(),
                            otherwise: None,
                        },
                    }))
                }
            }
        }
        budget.check_elements(
            "the surrogate's feature matrix",
            &[table.len() as u64, columns.len() as u64],
            8,
        )?;
        let mut values = Vec::with_capacity(table.len() * columns.len());
        for (row, cells) in table.rows().iter().enumerate() {
            for (feature, index) in &features {
                let cell = cells[*index].as_deref();
                let unlabelled = || Error::Unlabelled {
                    column: feature.name.clone(),
                    row,
                };
                match &feature.kind {
                    FeatureKind::Numeric { .. } => {
                        let text = cell.ok_or_else(unlabelled)?;
                        let value = text
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .ok_or_else(|| Error::NotNumeric {
                                column: feature.name.clone(),
                                row,
                                value: text.to_owned(),
                            })?;
                        values.push(value);
                    }
                    FeatureKind::Ordinal { states } => {
                        let state = feature.state_of(cell.ok_or_else(unlabelled)?)?;
                        values.push(states.iter().position(|s| *s == state).unwrap_or(0) as f64);
                    }
                    FeatureKind::Categorical { states } if states.len() == 2 => {
                        let state = feature.state_of(cell.ok_or_else(unlabelled)?)?;
                        values.push(f64::from(state == states[1]));
                    }
                    FeatureKind::Categorical { states } => {
                        let state = cell.map(|c| feature.state_of(c)).transpose()?;
                        values.extend(
                            states
                                .iter()
                                .map(|s| f64::from(state.as_deref() == Some(s.as_str()))),
                        );
                    }
                }
            }
        }
        FeatureMatrix::new(columns, table.len(), values)
    }

    /// The same matrix with one more column, e.g. a concept score per case.
    pub fn with_column(self, column: Column, values: &[f64]) -> Result<FeatureMatrix> {
        if values.len() != self.rows {
            return Err(Error::Length {
                what: format!("column `{}`", column.name),
                expected: self.rows,
                found: values.len(),
            });
        }
        let width = self.columns.len();
        let mut joined = Vec::with_capacity(self.values.len() + self.rows);
        for (row, &value) in self.values.chunks(width).zip(values) {
            joined.extend_from_slice(row);
            joined.push(value);
        }
        let mut columns = self.columns;
        columns.push(column);
        FeatureMatrix::new(columns, self.rows, joined)
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Row-major values.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values of row `row` (panics past the end, like slice indexing).
    pub fn row(&self, row: usize) -> &[f64] {
        let width = self.columns.len();
        &self.values[row * width..(row + 1) * width]
    }

    /// The rows at `rows`, in that order (indices must be in range).
    pub(crate) fn select(&self, rows: &[usize]) -> FeatureMatrix {
        FeatureMatrix {
            columns: self.columns.clone(),
            rows: rows.len(),
            values: rows.iter().flat_map(|&r| self.row(r)).copied().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_renal_schema_encodes_numbers_ordinals_and_indicators() {
        let schema = FeatureSchema::renal_demo();
        let csv = "case_id,size_cm,macroscopic_fat,enhancement,heterogeneity,necrosis,\
                   calcification,central_scar,margin,exophytic,cystic,malignant\n\
                   c1,4.2,absent,avid,heterogeneous,present,absent,absent,infiltrative,no,none,yes\n";
        let table = Table::from_csv_reader(csv.as_bytes()).unwrap();
        let matrix = FeatureMatrix::from_table(&schema, &table, MemoryBudget::default()).unwrap();
        let names: Vec<_> = matrix.columns().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "size_cm",
                "macroscopic_fat=present",
                "enhancement",
                "heterogeneity=heterogeneous",
                "necrosis=present",
                "calcification=present",
                "central_scar=present",
                "margin=infiltrative",
                "exophytic=yes",
                "cystic"
            ]
        );
        assert_eq!(
            matrix.row(0),
            [4.2, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(
            matrix.columns()[0].rendering,
            Rendering::Number {
                label: "size".into(),
                unit: Some("cm".into())
            }
        );
        let err = FeatureMatrix::from_table(&schema, &table, MemoryBudget::new(16)).unwrap_err();
        assert!(matches!(err, Error::OverBudget(_)), "{err}");
    }

    #[test]
    fn bad_values_are_typed_errors() {
        let flag = Column {
            name: "fat".into(),
            rendering: Rendering::Indicator {
                feature: "fat".into(),
                state: "present".into(),
                otherwise: None,
            },
        };
        let err = FeatureMatrix::new(vec![flag.clone()], 2, vec![0.0, 0.5]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `fat`, row 1: 0.5 is not an indicator (0 or 1)"
        );
        let score = Column::number("s", "score", None);
        let err = FeatureMatrix::new(vec![score.clone()], 1, vec![f64::NAN]).unwrap_err();
        assert!(err.to_string().contains("is not finite"), "{err}");
        assert!(matches!(
            FeatureMatrix::new(vec![score.clone(), score.clone()], 1, vec![1.0, 2.0]),
            Err(Error::DuplicateColumn(_))
        ));
        assert!(matches!(
            FeatureMatrix::new(vec![score.clone()], 2, vec![1.0]),
            Err(Error::Length { .. })
        ));
        let matrix = FeatureMatrix::new(vec![flag], 2, vec![0.0, 1.0]).unwrap();
        let joined = matrix.with_column(score, &[0.25, 0.75]).unwrap();
        assert_eq!(joined.row(1), [1.0, 0.75]);
    }

    #[test]
    fn unlabelled_measurements_are_refused_but_many_state_features_read_as_none() {
        let schema = FeatureSchema::from_json(
            r#"{"features":[
                {"name":"size_cm","kind":"numeric","cut_points":[4]},
                {"name":"colour","kind":"categorical","states":["red","green","blue"]}]}"#,
        )
        .unwrap();
        let table = Table::from_csv_reader("size_cm,colour\n3,\n5,blue\n".as_bytes()).unwrap();
        let matrix = FeatureMatrix::from_table(&schema, &table, MemoryBudget::default()).unwrap();
        assert_eq!(matrix.values(), [3.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 1.0]);
        let table = Table::from_csv_reader("size_cm,colour\n,red\n".as_bytes()).unwrap();
        let err = FeatureMatrix::from_table(&schema, &table, MemoryBudget::default()).unwrap_err();
        assert!(matches!(err, Error::Unlabelled { row: 0, .. }), "{err}");
    }
}

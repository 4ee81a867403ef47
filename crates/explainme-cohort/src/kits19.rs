//! The KiTS19 clinical records (`kits19.json`, Heller et al. 2019) as a [`Table`]: the one
//! real cohort the tabular learners are tested and benchmarked on.
//!
//! The records are public but licensed (CC BY-NC-SA 4.0), so the project never copies them:
//! it reads the shared JSON and derives the table on the fly. This module is the single
//! source of truth for that derivation; `benches/peers/rules_data.py` is its Python twin
//! (the tables mlxtend and pyfim mine) and must stay identical to it, cell for cell.
//!
//! # The recipe
//!
//! One row per case, in file order, these 16 columns:
//!
//! | column | JSON field | cell |
//! |---|---|---|
//! | `age_at_nephrectomy` | `age_at_nephrectomy` | number; bins 50, 65, 75 |
//! | `gender` | `gender` | text |
//! | `body_mass_index` | `body_mass_index` | number; bins 25, 30 |
//! | `smoking_history` | `smoking_history` | text |
//! | `alcohol_use` | `alcohol_use` | text |
//! | `diabetes` | `comorbidities.uncomplicated_diabetes_mellitus` | boolean |
//! | `chronic_kidney_disease` | `comorbidities.chronic_kidney_disease` | boolean |
//! | `radiographic_size` | `radiographic_size` (cm) | number; bins 2, 4, 7 (DESIGN.md's `size_cm`) |
//! | `malignant` | `malignant` | boolean (truth) |
//! | `tumor_histologic_subtype` | `tumor_histologic_subtype` | text (truth) |
//! | `tumor_necrosis` | `tumor_necrosis` | boolean (truth) |
//! | `tumor_isup_grade` | `tumor_isup_grade` | code `G`: 3 → `G3` (truth) |
//! | `pathology_t_stage` | `pathology_t_stage` | code `T`: `1a` → `T1a` (truth) |
//! | `pathology_m_stage` | `pathology_m_stage` | code `M`: `X` → `MX` (truth) |
//! | `surgical_procedure` | `surgical_procedure` | text |
//! | `surgery_type` | `surgery_type` | text |
//!
//! * `null` → empty cell (no item, a missing value for the Bayesian network).
//! * number: a JSON integer is printed as it is, a float as Rust's `{}` prints an `f64`
//!   (shortest round trip, no exponent, no trailing `.0`: `3.0` → `3`, `29.47` → `29.47`).
//! * boolean → `true` / `false`; text is copied; a code (string or integer) gets its prefix.
//! * A missing field or a value of another JSON type is an error naming the case and field.
//!
//! [`schema`] describes the table: the three numbers are [`FeatureKind::Numeric`] with the
//! cut points above (intervals closed on the left, labelled by [`interval_labels`]: `<50`,
//! `50-65`, `65-75`, `>=75`), every other column is categorical or ordinal with the states
//! seen in the 210 KiTS19 training cases, and the pathology columns have [`Role::Truth`].
//! `schema().discretise(&table)` gives the very table the peers mined (checked in
//! explainme-rules' parity tests against a SHA-256 of `rules_data.py`'s output).
//!
//! ```no_run
//! use explainme_cohort::kits19;
//!
//! let table = kits19::read("../shared/data/kits19/kits19.json")?;
//! let items = kits19::schema().discretise(&table)?;
//! assert_eq!(items.columns().len(), 16);
//! # Ok::<(), explainme_cohort::Error>(())
//! ```
//!
//! [`interval_labels`]: crate::interval_labels

use std::path::Path;

use serde_json::Value;

use crate::error::read_text;
use crate::{Error, Feature, FeatureKind, FeatureSchema, Result, Role, Table};

/// How one column is read from a record and what its states are.
struct Column {
    name: &'static str,
    /// Keys from the record down to the value.
    path: &'static [&'static str],
    cell: Cell,
    role: Role,
    description: &'static str,
}

enum Cell {
    /// A measurement, binned by these cut points.
    Number(&'static [f64]),
    Boolean,
    Text(States),
    /// A string or integer code printed after a prefix: grade 3 → `G3`.
    Code(&'static str, States),
}

enum States {
    Unordered(&'static [&'static str]),
    Ordered(&'static [&'static str]),
}

const RECIPE: [Column; 16] = [
    Column {
        name: "age_at_nephrectomy",
        path: &["age_at_nephrectomy"],
        cell: Cell::Number(&[50.0, 65.0, 75.0]),
        role: Role::Feature,
        description: "age at surgery, years",
    },
    Column {
        name: "gender",
        path: &["gender"],
        cell: Cell::Text(States::Unordered(&["female", "male"])),
        role: Role::Feature,
        description: "gender",
    },
    Column {
        name: "body_mass_index",
        path: &["body_mass_index"],
        cell: Cell::Number(&[25.0, 30.0]),
        role: Role::Feature,
        description: "body-mass index, kg/m²",
    },
    Column {
        name: "smoking_history",
        path: &["smoking_history"],
        cell: Cell::Text(States::Unordered(&[
            "never_smoked",
            "previous_smoker",
            "current_smoker",
        ])),
        role: Role::Feature,
        description: "smoking history",
    },
    Column {
        name: "alcohol_use",
        path: &["alcohol_use"],
        cell: Cell::Text(States::Ordered(&[
            "never_or_not_in_last_3mo",
            "two_or_less_daily",
            "more_than_two_daily",
        ])),
        role: Role::Feature,
        description: "alcohol use, drinks a day",
    },
    Column {
        name: "diabetes",
        path: &["comorbidities", "uncomplicated_diabetes_mellitus"],
        cell: Cell::Boolean,
        role: Role::Feature,
        description: "uncomplicated diabetes mellitus",
    },
    Column {
        name: "chronic_kidney_disease",
        path: &["comorbidities", "chronic_kidney_disease"],
        cell: Cell::Boolean,
        role: Role::Feature,
        description: "chronic kidney disease",
    },
    Column {
        name: "radiographic_size",
        path: &["radiographic_size"],
        cell: Cell::Number(&[2.0, 4.0, 7.0]),
        role: Role::Feature,
        description: "largest tumour diameter on CT, cm",
    },
    Column {
        name: "malignant",
        path: &["malignant"],
        cell: Cell::Boolean,
        role: Role::Truth,
        description: "pathology: malignant",
    },
    Column {
        name: "tumor_histologic_subtype",
        path: &["tumor_histologic_subtype"],
        cell: Cell::Text(States::Unordered(&[
            "clear_cell_rcc",
            "papillary",
            "chromophobe",
            "oncocytoma",
            "angiomyolipoma",
            "clear_cell_papillary_rcc",
            "rcc_unclassified",
            "mest",
            "spindle_cell_neoplasm",
            "wilms",
            "urothelial",
            "multilocular_cystic_rcc",
        ])),
        role: Role::Truth,
        description: "pathology: histologic subtype",
    },
    Column {
        name: "tumor_necrosis",
        path: &["tumor_necrosis"],
        cell: Cell::Boolean,
        role: Role::Truth,
        description: "pathology: tumour necrosis",
    },
    Column {
        name: "tumor_isup_grade",
        path: &["tumor_isup_grade"],
        cell: Cell::Code("G", States::Ordered(&["G1", "G2", "G3", "G4"])),
        role: Role::Truth,
        description: "pathology: ISUP grade (none for most benign tumours)",
    },
    Column {
        name: "pathology_t_stage",
        path: &["pathology_t_stage"],
        cell: Cell::Code(
            "T",
            States::Ordered(&["T0", "T1a", "T1b", "T2a", "T2b", "T3", "T4"]),
        ),
        role: Role::Truth,
        description: "pathology: TNM T stage",
    },
    Column {
        name: "pathology_m_stage",
        path: &["pathology_m_stage"],
        cell: Cell::Code("M", States::Unordered(&["M0", "M1", "MX"])),
        role: Role::Truth,
        description: "pathology: TNM M stage (MX: not assessed)",
    },
    Column {
        name: "surgical_procedure",
        path: &["surgical_procedure"],
        cell: Cell::Text(States::Unordered(&[
            "partial_nephrectomy",
            "radical_nephrectomy",
        ])),
        role: Role::Feature,
        description: "surgical procedure",
    },
    Column {
        name: "surgery_type",
        path: &["surgery_type"],
        cell: Cell::Text(States::Unordered(&["open", "laparoscopic", "robotic"])),
        role: Role::Feature,
        description: "surgical access",
    },
];

/// Reads `kits19.json` (a JSON array of case records) into the 16-column table of the
/// recipe; age, BMI and radiographic size stay numbers (see [`schema`] to bin them).
pub fn read(path: impl AsRef<Path>) -> Result<Table> {
    let path = path.as_ref();
    let text = read_text(path)?;
    let records: Value = serde_json::from_str(&text).map_err(|source| Error::MalformedJson {
        path: path.to_owned(),
        source,
    })?;
    from_json(&records)
}

/// The table of already parsed records; see [`read`].
pub fn from_json(records: &Value) -> Result<Table> {
    let records = records.as_array().ok_or(Error::NotARecordList)?;
    let columns = RECIPE.iter().map(|c| c.name.to_owned()).collect();
    let rows = records
        .iter()
        .enumerate()
        .map(|(i, record)| RECIPE.iter().map(|c| c.read(i, record)).collect())
        .collect::<Result<Vec<_>>>()?;
    Table::new(columns, rows)
}

/// The features of the table [`read`] gives, with the recipe's cut points and states.
pub fn schema() -> FeatureSchema {
    let features = RECIPE
        .iter()
        .map(|column| Feature {
            name: column.name.to_owned(),
            kind: column.cell.kind(),
            role: column.role,
            description: Some(column.description.to_owned()),
        })
        .collect();
    FeatureSchema { features }
}

impl Column {
    /// The cell of record `index`: `None` for `null`, an error for a missing field or a
    /// value of the wrong JSON type.
    fn read(&self, index: usize, record: &Value) -> Result<Option<String>> {
        let wrong = |problem: String| Error::BadRecord {
            case: record
                .get("case_id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("record {}", index + 1), str::to_owned),
            field: self.path.join("."),
            problem,
        };
        let mut value = record;
        for key in self.path {
            value = match value {
                Value::Object(fields) => fields
                    .get(*key)
                    .ok_or_else(|| wrong("is missing".to_owned()))?,
                other => return Err(wrong(format!("is inside {}", json_type(other)))),
            };
        }
        let text = match (&self.cell, value) {
            (_, Value::Null) => return Ok(None),
            (Cell::Number(_), Value::Number(n)) => number(n),
            (Cell::Boolean, Value::Bool(b)) => Some(b.to_string()),
            (Cell::Text(_), Value::String(s)) => Some(s.clone()),
            (Cell::Code(prefix, _), Value::String(s)) => Some(format!("{prefix}{s}")),
            (Cell::Code(prefix, _), Value::Number(n)) => integer(n).map(|i| format!("{prefix}{i}")),
            _ => None,
        };
        text.map(Some).ok_or_else(|| {
            wrong(format!(
                "is {}, expected {} or null",
                json_type(value),
                self.cell.expected()
            ))
        })
    }
}

impl Cell {
    fn kind(&self) -> FeatureKind {
        let states = |states: &[&str]| states.iter().map(|s| s.to_string()).collect();
        match self {
            Cell::Number(cut_points) => FeatureKind::Numeric {
                cut_points: cut_points.to_vec(),
            },
            Cell::Boolean => FeatureKind::Categorical {
                states: states(&["false", "true"]),
            },
            Cell::Text(levels) | Cell::Code(_, levels) => match levels {
                States::Unordered(s) => FeatureKind::Categorical { states: states(s) },
                States::Ordered(s) => FeatureKind::Ordinal { states: states(s) },
            },
        }
    }

    fn expected(&self) -> &'static str {
        match self {
            Cell::Number(_) => "a number",
            Cell::Boolean => "a boolean",
            Cell::Text(_) => "a string",
            Cell::Code(..) => "a string or an integer",
        }
    }
}

/// A JSON integer as it is; a float as Rust's `{}` prints an `f64` (`3.0` → `3`).
fn number(n: &serde_json::Number) -> Option<String> {
    integer(n).or_else(|| n.as_f64().map(|f| f.to_string()))
}

fn integer(n: &serde_json::Number) -> Option<String> {
    n.as_i64()
        .map(|i| i.to_string())
        .or_else(|| n.as_u64().map(|u| u.to_string()))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record() -> Value {
        json!({
            "case_id": "case_00007",
            "age_at_nephrectomy": 49,
            "gender": "male",
            "body_mass_index": 29.47,
            "comorbidities": {"uncomplicated_diabetes_mellitus": false,
                              "chronic_kidney_disease": true},
            "smoking_history": "never_smoked",
            "alcohol_use": "two_or_less_daily",
            "radiographic_size": 4.0,
            "malignant": true,
            "pathology_t_stage": "1a",
            "pathology_m_stage": "X",
            "tumor_histologic_subtype": "clear_cell_rcc",
            "tumor_necrosis": null,
            "tumor_isup_grade": 3,
            "surgery_type": "robotic",
            "surgical_procedure": "partial_nephrectomy"
        })
    }

    #[test]
    fn a_record_becomes_a_row_by_the_recipe() {
        let table = from_json(&json!([record()])).unwrap();
        let row: Vec<&str> = table.rows()[0]
            .iter()
            .map(|c| c.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(
            row,
            [
                "49",
                "male",
                "29.47",
                "never_smoked",
                "two_or_less_daily",
                "false",
                "true",
                "4",
                "true",
                "clear_cell_rcc",
                "",
                "G3",
                "T1a",
                "MX",
                "partial_nephrectomy",
                "robotic"
            ]
        );
        let items = schema().discretise(&table).unwrap();
        let binned: Vec<_> = [0, 2, 7]
            .map(|i| items.rows()[0][i].as_deref().unwrap_or("").to_owned())
            .into();
        assert_eq!(binned, ["<50", "25-30", "4-7"]);
    }

    #[test]
    fn wrong_types_and_missing_fields_name_the_case_and_field() {
        let mut bad = record();
        bad["malignant"] = json!("yes");
        let err = from_json(&json!([record(), bad])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "KiTS19 case_00007: field `malignant` is a string, expected a boolean or null"
        );
        let mut bad = record();
        bad["tumor_isup_grade"] = json!(2.5);
        let err = from_json(&json!([bad])).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "`tumor_isup_grade` is a number, expected a string or an integer or null"
            ),
            "{err}"
        );
        let mut bad = record();
        bad["comorbidities"] = json!([]);
        bad.as_object_mut().unwrap().remove("case_id");
        let err = from_json(&json!([record(), bad])).unwrap_err().to_string();
        assert_eq!(
            err,
            "KiTS19 record 2: field `comorbidities.uncomplicated_diabetes_mellitus` is inside an array"
        );
        let mut bad = record();
        bad.as_object_mut().unwrap().remove("gender");
        let err = from_json(&json!([bad])).unwrap_err().to_string();
        assert!(err.ends_with("field `gender` is missing"), "{err}");
        assert!(matches!(
            from_json(&json!({"cases": []})),
            Err(Error::NotARecordList)
        ));
    }

    #[test]
    fn missing_files_and_malformed_json_are_typed_errors() {
        assert!(matches!(
            read("/nonexistent/kits19.json"),
            Err(Error::Io { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kits19.json");
        std::fs::write(&path, "[{\"case_id\": ").unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, Error::MalformedJson { .. }), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn the_schema_is_valid_and_marks_pathology_as_truth() {
        let schema = schema();
        schema.validate().unwrap();
        let truth: Vec<&str> = schema
            .features
            .iter()
            .filter(|f| f.role == Role::Truth)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            truth,
            [
                "malignant",
                "tumor_histologic_subtype",
                "tumor_necrosis",
                "tumor_isup_grade",
                "pathology_t_stage",
                "pathology_m_stage"
            ]
        );
        assert_eq!(
            schema.feature("radiographic_size").unwrap().states(),
            ["<2", "2-4", "4-7", ">=7"]
        );
    }
}

//! Cases, feature schemas and cohorts: the vocabulary every other explainme crate shares.
//!
//! A *cohort* is a folder of cases (DESIGN.md's layout): `cases.csv` with one row per case,
//! `schema.json` describing each clinician-labelled feature, and the images and masks the rows
//! point to. This crate reads and writes that layout and turns labels into the categorical
//! items the learners consume. It deliberately knows nothing of images, models or learners:
//! it is the one place where "what a column means" is decided, so that rules, trees and
//! Bayesian networks all see the same states.
//!
//! [`kits19`] derives the same kind of table from the real KiTS19 clinical records, read
//! from the shared JSON rather than copied into the project.
//!
//! ```
//! use explainme_cohort::{FeatureSchema, Table};
//!
//! let csv = "case_id,size_cm,macroscopic_fat\nc1,1.5,present\nc2,5.2,\nc3,8,absent\n";
//! let table = Table::from_csv_reader(csv.as_bytes()).unwrap();
//! let binned = table.discretise("size_cm", &[2.0, 4.0, 7.0]).unwrap();
//! let sizes: Vec<_> = binned.column("size_cm").unwrap().collect();
//! assert_eq!(sizes, [Some("<2"), Some("4-7"), Some(">=7")]);
//! // An empty cell is "not labelled", never a state of its own.
//! assert_eq!(binned.rows()[1][2], None);
//!
//! let schema = FeatureSchema::renal_demo();
//! assert_eq!(schema.feature("size_cm").unwrap().states(), ["<2", "2-4", "4-7", ">=7"]);
//! ```

mod cohort;
mod error;
pub mod kits19;
mod schema;
mod table;

pub use cohort::{Case, Cohort};
pub use error::{Error, Result};
pub use schema::{
    CNN_CORRECT, CNN_VERDICT, Feature, FeatureKind, FeatureSchema, Role, interval_labels,
};
pub use table::Table;

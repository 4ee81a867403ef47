//! Frequent itemsets, association rules and rule-list classifiers over categorical data.
//!
//! Clinicians read a cohort's regularities best as rules — "IF macroscopic fat = present
//! THEN benign (support 6%, confidence 97%, lift 5.1)" — and the same rules, with the CNN's
//! verdict as a column, say where the network errs. This crate is the engine: it turns rows
//! of `column=value` items ([`Transactions`]; an empty cell is no item) into frequent
//! itemsets by FP-growth ([`FpGrowth`]: all, closed or maximal, with a cap), rules with every
//! metric mlxtend 0.25 reports plus Fisher's exact test ([`AssociationRules`], class rules via
//! `targets`, redundancy pruning), and a CBA rule list ([`RuleList`]) whose cross-validated
//! accuracy says how far the rules can be trusted as a predictor.
//!
//! It knows nothing of CSV files, binning or output formats: callers read and discretise a
//! table (explainme-cohort) and hand over rows of cells.
//!
//! ```
//! use explainme_rules::{AssociationRules, FpGrowth, Transactions};
//!
//! let columns = ["macroscopic_fat".to_string(), "malignant".to_string()];
//! let rows = [
//!     [Some("present"), Some("false")],
//!     [Some("present"), Some("false")],
//!     [Some("absent"), Some("true")],
//!     [Some("absent"), Some("true")],
//!     [None, Some("true")],
//! ];
//! let transactions = Transactions::from_rows(&columns, rows)?;
//! let itemsets = FpGrowth::params().min_support(0.2).mine(&transactions)?;
//! let benign = transactions.item_id("malignant", "false")?;
//! let rules = AssociationRules::params()
//!     .min_confidence(0.9)
//!     .targets(vec![benign])
//!     .generate(&itemsets, &transactions)?;
//! let rule = &rules[0];
//! assert_eq!(transactions.label(rule.antecedent[0]).to_string(), "macroscopic_fat=present");
//! assert_eq!((rule.support, rule.confidence, rule.lift), (0.4, 1.0, 2.5));
//! assert!(rule.fisher_p < 0.11);
//! # Ok::<(), explainme_rules::Error>(())
//! ```

mod cba;
mod error;
mod fpgrowth;
mod itemset;
mod rules;
pub mod stats;
mod transactions;

pub use cba::{CrossValidation, RuleList, RuleListParams};
pub use error::{Error, Result};
pub use fpgrowth::{FpGrowth, FpGrowthParams};
pub use itemset::{FrequentItemsets, Itemset, ItemsetKind};
pub use rules::{AssociationRules, AssociationRulesParams, Rule};
pub use transactions::{Item, ItemId, ItemLabel, Transactions};

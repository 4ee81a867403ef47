//! Surrogate decision trees: what a CNN's verdict follows, in rules a radiologist can check.
//!
//! A CNN gives a probability per case; the clinicians' labels (size, fat, enhancement, …) and
//! what explainme-concepts reads from its layers (concept scores, detector channels named by
//! their concept) describe each case in words. A shallow tree
//! grown (by linfa-trees) to predict the CNN's verdict from those columns is a *surrogate*:
//! its leaves are rules ("size ≥ 4.1 cm AND macroscopic fat absent → malignant (CNN says so
//! in 96% of 312 cases)"), and its held-out *fidelity* says how much of the CNN they
//! capture. The same tree grown on the truth shows, beside it, what the CNN *should* follow.
//!
//! - [`FeatureMatrix`]: the input, plain numbers with named [`Column`]s that know their words
//!   ([`Rendering`]), built from a cohort table by [`FeatureMatrix::from_table`] or by hand;
//! - [`Tree`] / [`TreeParams`]: one tree as plain data, with depth, leaf-size and leaf-count
//!   limits, grown best first from linfa-trees' splits (see [`TreeParams`] for why linfa
//!   chooses each split but not the shape);
//! - [`Surrogate`]: the seeded, stratified held-out split, both trees, [`Fidelity`] and the
//!   [`TruthComparison`];
//! - [`Rule`]s per leaf, and [`EXPORTS`]: indented text and Graphviz DOT.
//!
//! It knows nothing of ONNX, images or transports: the caller scores the cases and hands in
//! probabilities. ndarray (0.16, linfa's) stays inside: data crosses the boundary as `Vec`s.
//!
//! ```
//! use explainme_budget::MemoryBudget;
//! use explainme_cohort::{FeatureSchema, Table};
//! use explainme_tree::{FeatureMatrix, Surrogate, SurrogateData};
//!
//! let schema = FeatureSchema::from_json(r#"{"features":[
//!     {"name":"size_cm","kind":"numeric","cut_points":[2,4,7]},
//!     {"name":"macroscopic_fat","kind":"categorical","states":["absent","present"]}]}"#)?;
//! // 240 cases: a CNN that calls a fat-free lesion of 4 cm or more malignant.
//! let mut csv = String::from("size_cm,macroscopic_fat\n");
//! let mut probabilities = Vec::new();
//! for i in 0..240 {
//!     let (size, fat) = (1.0 + f64::from(i % 60) / 10.0, i % 4 == 0);
//!     csv += &format!("{size},{}\n", if fat { "present" } else { "absent" });
//!     probabilities.push(if size >= 4.0 && !fat { 0.8 } else { 0.1 });
//! }
//! let table = Table::from_csv_reader(csv.as_bytes())?;
//! let features = FeatureMatrix::from_table(&schema, &table, MemoryBudget::default())?;
//! let fitted = Surrogate::params()
//!     .max_leaves(4)
//!     .seed(1)
//!     .fit(&SurrogateData { features, probabilities, truth: None })?;
//! assert_eq!(fitted.fidelity.agreement, 1.0);
//! let malignant: Vec<_> = fitted.cnn.rules.iter().filter(|r| r.positive).collect();
//! assert_eq!(
//!     malignant[0].text,
//!     "size ≥ 4 cm AND macroscopic fat absent → malignant (CNN says so in 100% of 64 cases)"
//! );
//! let dot = explainme_tree::export_for("tree.dot")?;
//! assert!((dot.render)(&fitted.cnn.tree).starts_with("digraph surrogate {"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod export;
mod matrix;
mod metrics;
mod rules;
mod surrogate;
mod tree;

pub use error::{Error, Result};
pub use export::{EXPORTS, Export, dot, export_for, text};
pub use matrix::{Column, FeatureMatrix, Rendering};
pub use metrics::{auc, concordance};
pub use rules::Rule;
pub use surrogate::{
    Fidelity, FittedSurrogate, FittedTree, Surrogate, SurrogateData, SurrogateParams,
    TruthComparison,
};
pub use tree::{Classes, MAX_DEPTH, Node, Split, Tree, TreeParams, readable_threshold};

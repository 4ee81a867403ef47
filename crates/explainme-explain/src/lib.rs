//! The Explainer: everything explainme knows how to say about a CNN, fitted once on a
//! cohort and asked many times.
//!
//! [`Explainer::params`]`().…fit(model, card, cohort, budget, progress)` runs, in order:
//! the CNN on every case (probabilities and the similarity layer's activations,
//! [`scoring`]); concept probes, dissection and TCAV (explainme-concepts); a surrogate
//! tree over clinician findings, the CNN's concept scores and its detector channels
//! ([`with_concept_columns`], explainme-tree); class rules
//! for malignancy, for the CNN's verdict and for its errors (explainme-rules, [`rules`]);
//! a Bayesian network under the tiers truth → findings → CNN verdict (explainme-bayes,
//! [`network`]); and on a seeded held-out split, the CNN's AUC with a bootstrap interval,
//! calibration and a split-conformal quantile ([`evaluation`], [`calibration`]). The
//! result is plain data: [`Explainer::to_bytes`] is deterministic for the same inputs and
//! seed, so a store can address it by its hash.
//!
//! [`Explainer::prepare`] binds it to its model (refusing another), and
//! [`Prepared::explain`] answers for one case ([`Explanation`], with a [`narrative`]);
//! [`Explainer::summary`] answers for the cohort ([`KnowledgeSummary`]), judging candidate
//! new knowledge against a clinician's list of known associations ([`known`]).
//!
//! The crate knows nothing of gRPC, HTTP, the CLI or storage: the CLI command and the RPC
//! that do the same thing call the same function here.

pub mod calibration;
mod error;
pub mod evaluation;
mod explainer;
mod explanation;
pub mod exports;
pub mod feedback;
pub mod findings;
pub mod known;
pub mod narrative;
pub mod network;
pub mod rules;
pub mod scoring;
mod similar;
mod summary;
pub mod tabular;

pub use error::{Error, Result};
pub use evaluation::{Evaluation, THRESHOLD};
pub use explainer::{
    ARTEFACT_FORMAT, Explainer, ExplainerParams, HeldOutCase, Performance, Progress, RuleSets,
    Stage, sha256_hex, with_concept_columns,
};
/// The mask a case's heatmap is scored against (`CaseInput::masks`).
pub use explainme_concepts::LESION_MASK;
pub use explanation::{
    CaseInput, Counterfactual, ExplainOptions, Explanation, FindingEffect, Flag, HeatmapReading,
    NetworkReading, Prepared, SeenConcept, TreePath,
};
pub use similar::{IndexedCase, SimilarCase, SimilarityIndex};
pub use summary::{
    BestChannel, Candidate, CnnPerformance, ConceptRow, KnowledgeSummary, TreeRule, TreeSummary,
};

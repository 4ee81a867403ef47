//! Discrete Bayesian networks for explaining a CNN's verdict against clinician findings and
//! the truth: read and write networks (BIF, XMLBIF, DOT), sample from them, learn them from
//! categorical records (parameters and structure, with clinical knowledge as constraints),
//! query them exactly (variable elimination, junction tree, MAP/MPE) and explain a single
//! case's posterior (finding sensitivity, most relevant explanation).
//!
//! The network is a petgraph `DiGraph` of [`Variable`]s with one [`Cpt`] per node; plain
//! data first, algorithms as free functions or linfa-style `params()` builders. The crate
//! knows nothing of gRPC, ONNX, CSV files or storage: records arrive as a [`Dataset`].
//!
//! Map: [`io`] (BIF, XMLBIF, DOT), [`forward_sample`], [`infer`] ([`VariableElimination`],
//! [`JunctionTree`], [`map`], [`mpe`]), [`Score`] (BIC, BDeu, K2 as pgmpy defines them),
//! [`learn`] ([`learn::Parameters`], [`learn::HillClimb`], [`learn::Pc`] under
//! [`learn::Constraints`]), [`cpdag`] (CPDAG, SHD) and [`explain`] (sensitivity, MRE).
//! A missing cell is skipped per family, never per record (see [`Score`]).
//!
//! External data never decides an allocation unchecked: a network file's tables, a sample
//! size and the factors inference forms are checked against an
//! [`explainme_budget::MemoryBudget`] first and refused with [`Error::OverBudget`]. The
//! `…_within` functions ([`read_bif_within`], [`forward_sample_within`],
//! [`VariableElimination::within`], [`JunctionTree::within`]) take the budget; the others
//! use the default 1 GiB.
//!
//! ```
//! use explainme_bayes::{Evidence, VariableElimination, read_bif, write_bif};
//!
//! let net = read_bif(
//!     "network renal { }
//!      variable malignant { type discrete [ 2 ] { yes, no }; }
//!      variable fat { type discrete [ 2 ] { present, absent }; }
//!      probability ( malignant ) { table 0.8, 0.2; }
//!      probability ( fat | malignant ) { (yes) 0.02, 0.98; (no) 0.6, 0.4; }",
//! )?;
//! let posterior = VariableElimination::new(&net)
//!     .marginal(net.index_of("malignant")?, &Evidence::parse(&net, "fat=present")?)?;
//! assert!(posterior[0] < 0.2); // macroscopic fat argues for angiomyolipoma
//! assert_eq!(read_bif(&write_bif(&net))?.cpt(1), net.cpt(1));
//! # Ok::<(), explainme_bayes::Error>(())
//! ```

pub mod cpdag;
mod data;
mod error;
pub mod explain;
mod factor;
pub mod infer;
pub mod io;
pub mod learn;
mod network;
mod rng;
mod sample;
mod score;

pub use data::Dataset;
pub use error::{Error, Result};
pub use factor::Factor;
pub use infer::{Assignment, Calibrated, Evidence, JunctionTree, VariableElimination, map, mpe};
pub use io::{read_bif, read_bif_within, write_bif, write_dot, write_xmlbif};
pub use network::{BayesNet, Cpt, Dag, Variable};
pub use sample::{forward_sample, forward_sample_within};
pub use score::{Score, family_score, network_score};

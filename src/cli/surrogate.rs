//! `explainme surrogate`: a decision tree that mimics the CNN's verdict from the cohort's
//! clinician labels, beside the same tree fitted on the truth.
//!
//! Scores the cohort with the model (`evaluate`'s `ScoringArgs::score`), encodes `cases.csv`'s
//! features through the cohort's schema, and hands both to explainme-tree: the held-out
//! fidelity, each tree's rules in clinical words, and how the CNN's tree compares with the
//! truth's. `--out` writes the CNN's tree as Graphviz DOT or indented text, by extension.

use std::path::PathBuf;

use anyhow::Context;
use explainme_budget::MemoryBudget;
use explainme_tree::{FeatureMatrix, Surrogate, SurrogateData, export_for};

use super::evaluate::{ScoringArgs, THRESHOLD};
use super::output::{Format, write_to};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scoring: ScoringArgs,
    /// The deepest a leaf may be.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=explainme_tree::MAX_DEPTH as u64))]
    pub max_depth: u64,
    /// The most leaves (rules) the tree may have.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_leaves: u64,
    /// The fewest training cases a leaf may hold.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub min_leaf: u64,
    /// Share of the cases held out to measure fidelity, in (0, 1).
    #[arg(long, default_value_t = 0.3)]
    pub holdout: f64,
    /// Seed of the stratified held-out split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// `text` for people, `json` for scripts (both trees node by node, rules and figures).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the CNN's tree here: Graphviz DOT for `.dot`/`.gv`, indented text for `.txt`.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args, budget: MemoryBudget) -> anyhow::Result<()> {
    // An unknown extension is refused before the cohort is scored.
    let export = args
        .out
        .as_ref()
        .map(|path| export_for(&path.to_string_lossy()).map(|e| (e, path)))
        .transpose()?;
    let (card, cohort, scored) = args.scoring.score(budget)?;
    let features = FeatureMatrix::from_table(&cohort.schema, &cohort.table()?, budget)
        .with_context(|| format!("the features of {}", cohort.root.display()))?;
    let negative = card
        .class_names
        .iter()
        .find(|c| **c != card.positive_class)
        .map_or("negative", String::as_str);
    let fitted = Surrogate::params()
        .max_depth(args.max_depth as usize)
        .max_leaves(args.max_leaves as usize)
        .min_leaf(args.min_leaf as usize)
        .holdout(args.holdout)
        .seed(args.seed)
        .threshold(f64::from(THRESHOLD))
        .classes(negative, &card.positive_class)
        .budget(budget)
        .fit(&SurrogateData {
            features,
            probabilities: scored.probabilities.iter().map(|&p| f64::from(p)).collect(),
            truth: Some(scored.malignant),
        })?;
    if let Some((export, path)) = export {
        write_to(Some(path), (export.render)(&fitted.cnn.tree).as_bytes())?;
    }
    let printed = match args.format {
        Format::Text => fitted.text(),
        Format::Json => serde_json::to_string_pretty(&fitted)? + "\n",
    };
    write_to(None, printed.as_bytes())
}

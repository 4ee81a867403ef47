//! `explainme surrogate`: a decision tree that mimics the CNN's verdict from the cohort's
//! clinician labels, beside the same tree fitted on the truth.
//!
//! Scores the cohort with the model (`evaluate`'s `ScoringArgs::score`), encodes `cases.csv`'s
//! features through the cohort's schema, and hands both to explainme-tree: the held-out
//! fidelity, each tree's rules in clinical words, and how the CNN's tree compares with the
//! truth's. `--out` writes the CNN's tree as Graphviz DOT or indented text, by extension.
//!
//! `--concepts` also runs explainme-concepts' probes on the cohort (probes only: no TCAV,
//! one permutation, since no p-value is read) and adds each concept's score on its best
//! layer as a column ("CNN's macroscopic fat score < -1.3"), and each detector channel's
//! response ("CNN's necrosis detector (conv4_1_1 channel 56, IoU 0.11) ≥ 0.1178",
//! [`explainme_concepts::UnitColumn`]), the same columns as the Explainer's surrogate
//! ([`explainme_explain::with_concept_columns`]). It is off by default: it reads
//! every chosen layer's activations for every case and fits some hundred probes, and the
//! rules it gives explain the CNN partly by its own inner readings rather than by what a
//! clinician sees, which is a different question from the default's. The scores are
//! cross-fitted ([`explainme_concepts::ScoreColumn`]): no case's score comes from a probe
//! fitted to its own label, and the probes never see the CNN's verdict, so the surrogate's
//! held-out fidelity is not flattered by them.

use std::path::PathBuf;

use anyhow::Context;
use explainme_budget::MemoryBudget;
use explainme_concepts::{Concepts, cohort_concepts};
use explainme_tree::{FeatureMatrix, Surrogate, SurrogateData, export_for};

use explainme_explain::{THRESHOLD, with_concept_columns};

use super::evaluate::{ScoringArgs, score_cohort};
use super::output::{Format, progress, write_to};

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
    /// Seed of the stratified held-out split (and of the concept probes' folds).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Add the CNN's concept scores (explainme-concepts probes) as columns beside the
    /// clinician labels.
    #[arg(long)]
    pub concepts: bool,
    /// Layers to probe for `--concepts`, comma-separated or repeated; the card's feature
    /// layers when absent.
    #[arg(long = "concept-layer", value_delimiter = ',', requires = "concepts")]
    pub concept_layers: Vec<String>,
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
    let (model, card, cohort) = args.scoring.load(budget)?;
    let scored = score_cohort(&model, &card, &cohort, args.scoring.batch as usize, budget)?;
    let mut features = FeatureMatrix::from_table(&cohort.schema, &cohort.table()?, budget)
        .with_context(|| format!("the features of {}", cohort.root.display()))?;
    if args.concepts {
        let bar = progress(1, "concepts");
        let report = Concepts::params()
            .layers(args.concept_layers)
            .tcav_layers(Some(Vec::new()))
            .permutations(1)
            .seed(args.seed)
            .batch(args.scoring.batch as usize)
            .fit(
                &model,
                &card,
                &cohort,
                &cohort_concepts(&cohort)?,
                &budget,
                &mut |p| {
                    bar.set_length(p.total);
                    bar.set_position(p.done);
                    bar.set_message(p.stage.to_owned());
                },
            )?;
        bar.finish_and_clear();
        features = with_concept_columns(features, &report)?;
    }
    let negative = card.negative_class();
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

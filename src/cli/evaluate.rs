//! `explainme evaluate`: how well a CNN separates malignant from benign cases of a cohort.
//!
//! Glue only: reads a cohort folder (DESIGN.md layout; `malignant` must be labelled for every
//! case), scores it and evaluates it with explainme-explain ([`scoring::score_cohort`],
//! [`Evaluation`]: exact ROC AUC with midranks, sensitivity and specificity at probability
//! 0.5, the confusion matrix, the error rate per subtype).

use std::path::PathBuf;

use explainme_budget::MemoryBudget;
use explainme_cohort::Cohort;
use explainme_explain::Evaluation;
use explainme_explain::scoring::{self, Scored};
use explainme_onnx::{Model, ModelCard};

use super::models::ModelArgs;
use super::output::{OutputArgs, progress};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scoring: ScoringArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--model`, `--card`, `--cohort`, `--batch`: what every command that scores a cohort takes.
#[derive(Debug, clap::Args)]
pub struct ScoringArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The cohort folder (cases.csv, schema.json, images/).
    #[arg(long)]
    pub cohort: PathBuf,
    /// Cases per inference batch.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub batch: u64,
}

impl ScoringArgs {
    /// Loads the model and the cohort and scores every case (see [`score_cohort`]).
    pub fn score(&self, budget: MemoryBudget) -> anyhow::Result<(ModelCard, Cohort, Scored)> {
        let (model, card, cohort) = self.load(budget)?;
        let scored = score_cohort(&model, &card, &cohort, self.batch as usize, budget)?;
        Ok((card, cohort, scored))
    }

    /// Loads the model, its card and the cohort.
    pub fn load(&self, budget: MemoryBudget) -> anyhow::Result<(Model, ModelCard, Cohort)> {
        let (model, card) = self.model.load(budget)?;
        let cohort = Cohort::open(&self.cohort)?;
        Ok((model, card, cohort))
    }
}

pub fn run(args: Args, budget: MemoryBudget) -> anyhow::Result<()> {
    let (_, _, scored) = args.scoring.score(budget)?;
    let evaluation =
        Evaluation::compute(&scored.probabilities, &scored.malignant, &scored.subtypes);
    args.output.emit(&evaluation, Evaluation::text)
}

/// Runs the model on every case of the cohort in batches of `batch` with a progress bar
/// (explainme-explain's [`scoring::score_cohort`], no layers exposed).
pub fn score_cohort(
    model: &Model,
    card: &ModelCard,
    cohort: &Cohort,
    batch: usize,
    budget: MemoryBudget,
) -> anyhow::Result<Scored> {
    let bar = progress(cohort.cases.len() as u64, "scoring");
    let scored = scoring::score_cohort(model, card, cohort, &[], batch, &budget, &mut |done, _| {
        bar.set_position(done)
    });
    bar.finish_and_clear();
    Ok(scored?)
}

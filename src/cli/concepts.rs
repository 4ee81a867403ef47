//! `explainme concepts`: which clinician concepts a CNN's layers encode, which channels detect
//! them, and which way each pushes the verdict (explainme-concepts).
//!
//! Glue only: reads the model, card and cohort, takes the cohort schema's concepts, calls
//! [`explainme_concepts::ConceptParams::fit`] with a progress bar, prints the report.

use std::path::PathBuf;

use explainme_budget::MemoryBudget;
use explainme_cohort::Cohort;
use explainme_concepts::{ConceptReport, Concepts, cohort_concepts};

use super::models::ModelArgs;
use super::output::{OutputArgs, progress};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The cohort folder (cases.csv, schema.json, images/, masks/).
    #[arg(long)]
    pub cohort: PathBuf,
    /// Layers to probe, comma-separated or repeated; the card's feature layers when absent.
    #[arg(long = "layer", value_delimiter = ',')]
    pub layers: Vec<String>,
    /// Layers to run TCAV on (each among the probed ones); all probed layers when absent.
    #[arg(long = "tcav-layer", value_delimiter = ',')]
    pub tcav_layers: Option<Vec<String>>,
    /// Skip TCAV (probes and dissection only).
    #[arg(long, conflicts_with = "tcav_layers")]
    pub no_tcav: bool,
    /// Label permutations of each probe's held-out test.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub permutations: u64,
    /// Random directions TCAV scores are compared with.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(2..=10_000))]
    pub random_directions: u64,
    /// Seed of the splits, folds, permutations and random directions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cases per inference batch.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub batch: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: Args, budget: MemoryBudget) -> anyhow::Result<()> {
    let (model, card) = args.model.load(budget)?;
    let cohort = Cohort::open(&args.cohort)?;
    let concepts = cohort_concepts(&cohort)?;
    let tcav_layers = if args.no_tcav {
        Some(Vec::new())
    } else {
        args.tcav_layers
    };
    let params = Concepts::params()
        .layers(args.layers)
        .tcav_layers(tcav_layers)
        .permutations(args.permutations as usize)
        .random_directions(args.random_directions as usize)
        .seed(args.seed)
        .batch(args.batch as usize);
    let bar = progress(1, "concepts");
    let report = params.fit(&model, &card, &cohort, &concepts, &budget, &mut |p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(p.stage.to_owned());
    })?;
    bar.finish_and_clear();
    args.output.emit(&report, text)
}

/// The report for people: per concept its best layer, then the strongest channels.
fn text(report: &ConceptReport) -> String {
    let mut out = format!(
        "{} cases, {} layers, {} probes (Benjamini–Hochberg over all), masks: {}\n\n",
        report.cases.len(),
        report.layers.len(),
        report.tests,
        report.masks.join(", ")
    );
    out.push_str(&format!(
        "{:<32} {:<36} {:>6} {:>6} {:>8} {:>6} {:>9}\n",
        "concept", "best layer", "AUC", "CV AUC", "BH p", "TCAV", "detectors"
    ));
    for concept in &report.concepts {
        let Some(best) = concept.best_layer() else {
            out.push_str(&format!(
                "{:<32} skipped: {}\n",
                concept.concept,
                concept.skipped.as_deref().unwrap_or("")
            ));
            continue;
        };
        let tcav = best
            .tcav
            .as_ref()
            .map_or("-".to_owned(), |t| format!("{:.2}", t.score));
        let detectors: usize = concept.layers.iter().map(|l| l.detectors.len()).sum();
        out.push_str(&format!(
            "{:<32} {:<36} {:>6.3} {:>6.3} {:>8.2e} {:>6} {:>9}\n",
            concept.concept,
            best.layer,
            best.held_out_auc,
            best.cv_auc,
            best.p_adjusted,
            tcav,
            detectors
        ));
    }
    if !report.channels.is_empty() {
        out.push_str(
            "\nstrongest channels (IoU with the concept masks; in brackets, the AUC of the \
             channel's response for the concept's labels):\n",
        );
        for channel in report.channels.iter().take(15) {
            let concepts: Vec<String> = channel
                .concepts
                .iter()
                .map(|c| match c.label_auc {
                    Some(auc) => format!("{} {:.3} ({auc:.2})", c.mask, c.iou),
                    None => format!("{} {:.3}", c.mask, c.iou),
                })
                .collect();
            out.push_str(&format!(
                "  {} #{:<3} {}\n",
                channel.layer,
                channel.channel,
                concepts.join(", ")
            ));
        }
    }
    out
}

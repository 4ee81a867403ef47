//! `explainme evaluate`: how well a CNN separates malignant from benign cases of a cohort.
//!
//! Reads a cohort folder (DESIGN.md layout; `malignant` must be labelled for every case),
//! runs the model in batches through explainme-onnx, and reports the exact ROC AUC (ties
//! count one half, i.e. midranks), sensitivity and specificity at probability 0.5, the
//! confusion matrix and the error rate per subtype when the cohort has a `subtype` column.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use explainme_budget::MemoryBudget;
use explainme_cohort::Cohort;
use explainme_imaging::Shape;
use explainme_onnx::{Model, ModelCard, Session, Tensor};
use serde::Serialize;

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
        let scored = score_cohort(&model, &card, &cohort, self.batch as usize)?;
        Ok((card, cohort, scored))
    }

    /// Loads the model, its card and the cohort.
    pub fn load(&self, budget: MemoryBudget) -> anyhow::Result<(Model, ModelCard, Cohort)> {
        let (model, card) = self.model.load(budget)?;
        let cohort = Cohort::open(&self.cohort)?;
        Ok((model, card, cohort))
    }
}

/// The threshold on the positive-class probability for sensitivity and specificity.
pub const THRESHOLD: f32 = 0.5;

/// Counts at [`THRESHOLD`]; positive = malignant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub true_positive: usize,
    pub false_negative: usize,
    pub false_positive: usize,
    pub true_negative: usize,
}

/// Errors of one subtype at [`THRESHOLD`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubtypeErrors {
    pub cases: usize,
    pub malignant: usize,
    pub errors: usize,
    pub error_rate: f64,
}

/// What `evaluate` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub cases: usize,
    pub malignant: usize,
    pub benign: usize,
    /// Exact ROC AUC; `None` when one class is absent.
    pub auc: Option<f64>,
    pub threshold: f32,
    pub sensitivity: Option<f64>,
    pub specificity: Option<f64>,
    pub accuracy: f64,
    pub confusion: Confusion,
    pub by_subtype: BTreeMap<String, SubtypeErrors>,
}

/// Exact ROC AUC of `scores` for `positive` labels: the Mann–Whitney U statistic over
/// n₊·n₋, with tied scores given their average rank. `None` without both classes.
pub fn auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let scores: Vec<f64> = scores.iter().map(|&s| f64::from(s)).collect();
    explainme_rules::stats::auc_of_ranks(&explainme_rules::stats::midranks(&scores), positive)
}

impl Evaluation {
    /// Scores one probability per case against the truth; `subtypes` may hold `None`.
    pub fn compute(
        probabilities: &[f32],
        malignant: &[bool],
        subtypes: &[Option<String>],
    ) -> Evaluation {
        let mut confusion = Confusion::default();
        let mut by_subtype: BTreeMap<String, SubtypeErrors> = BTreeMap::new();
        for ((&p, &truth), subtype) in probabilities.iter().zip(malignant).zip(subtypes) {
            let predicted = p >= THRESHOLD;
            match (truth, predicted) {
                (true, true) => confusion.true_positive += 1,
                (true, false) => confusion.false_negative += 1,
                (false, true) => confusion.false_positive += 1,
                (false, false) => confusion.true_negative += 1,
            }
            if let Some(subtype) = subtype {
                let entry = by_subtype.entry(subtype.clone()).or_insert(SubtypeErrors {
                    cases: 0,
                    malignant: 0,
                    errors: 0,
                    error_rate: 0.0,
                });
                entry.cases += 1;
                entry.malignant += usize::from(truth);
                entry.errors += usize::from(predicted != truth);
            }
        }
        for entry in by_subtype.values_mut() {
            entry.error_rate = entry.errors as f64 / entry.cases as f64;
        }
        let c = confusion;
        let ratio = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);
        let n = probabilities.len();
        Evaluation {
            cases: n,
            malignant: c.true_positive + c.false_negative,
            benign: c.true_negative + c.false_positive,
            auc: auc(probabilities, malignant),
            threshold: THRESHOLD,
            sensitivity: ratio(c.true_positive, c.true_positive + c.false_negative),
            specificity: ratio(c.true_negative, c.true_negative + c.false_positive),
            accuracy: ratio(c.true_positive + c.true_negative, n).unwrap_or(0.0),
            confusion,
            by_subtype,
        }
    }

    fn text(&self) -> String {
        let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.4}"));
        let c = &self.confusion;
        let mut out = format!(
            "cases {} ({} malignant, {} benign)\nAUC {}\nat p >= {}: sensitivity {}, specificity {}, accuracy {:.4}\n\
             confusion (rows truth, columns predicted):\n                 benign  malignant\n  benign     {:>9} {:>10}\n  malignant  {:>9} {:>10}\n",
            self.cases,
            self.malignant,
            self.benign,
            show(self.auc),
            self.threshold,
            show(self.sensitivity),
            show(self.specificity),
            self.accuracy,
            c.true_negative,
            c.false_positive,
            c.false_negative,
            c.true_positive,
        );
        if !self.by_subtype.is_empty() {
            out.push_str("errors by subtype:\n");
            for (subtype, e) in &self.by_subtype {
                out.push_str(&format!(
                    "  {subtype:<16} {:>5} cases {:>5} errors  {:.3}\n",
                    e.cases, e.errors, e.error_rate
                ));
            }
        }
        out
    }
}

pub fn run(args: Args, budget: MemoryBudget) -> anyhow::Result<()> {
    let (_, _, scored) = args.scoring.score(budget)?;
    let evaluation =
        Evaluation::compute(&scored.probabilities, &scored.malignant, &scored.subtypes);
    args.output.emit(&evaluation, Evaluation::text)
}

/// A cohort scored by a model: one entry per case, in cohort order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Positive-class (malignant) probability.
    pub probabilities: Vec<f32>,
    /// The truth.
    pub malignant: Vec<bool>,
    /// The subtype where the cohort labels it.
    pub subtypes: Vec<Option<String>>,
}

/// Runs the model on every case of the cohort in batches of `batch`, resizing images to the
/// card's input size; every case must have its `malignant` truth (yes/no).
pub fn score_cohort(
    model: &Model,
    card: &ModelCard,
    cohort: &Cohort,
    batch: usize,
) -> anyhow::Result<Scored> {
    if cohort.cases.is_empty() {
        bail!("the cohort {} has no cases", cohort.root.display());
    }
    let session = Session::new(model, card, &[])?;
    let target = Shape::from_slice(&card.input_size)?;

    let mut malignant = Vec::with_capacity(cohort.cases.len());
    let mut subtypes = Vec::with_capacity(cohort.cases.len());
    for case in &cohort.cases {
        malignant.push(match case.labels.get("malignant").map(String::as_str) {
            Some("yes") => true,
            Some("no") => false,
            _ => bail!("case `{}` has no `malignant` label (yes/no)", case.id),
        });
        subtypes.push(case.labels.get("subtype").cloned());
    }

    let bar = progress(cohort.cases.len() as u64, "scoring");
    let mut probabilities = Vec::with_capacity(cohort.cases.len());
    for chunk in cohort.cases.chunks(batch.max(1)) {
        let images = chunk
            .iter()
            .map(|case| {
                // Every per-case failure names the case, not its position in the batch.
                let model_input = || -> anyhow::Result<Tensor> {
                    let mut image = explainme_imaging::read_image(cohort.image_path(case))?;
                    if image.shape() != target {
                        image = explainme_imaging::resize(&image, target)?;
                    }
                    Ok(Tensor::new(card.input_size.clone(), image.into_voxels())?)
                };
                model_input().with_context(|| format!("case `{}`", case.id))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let prediction = session.predict(&card.preprocess(&images)?)?;
        probabilities.extend(prediction.probabilities);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(Scored {
        probabilities,
        malignant,
        subtypes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_as_one_half() {
        // Pairs (pos, neg): 0.9>0.1, 0.9>0.5, 0.5=0.5 (½), 0.5>0.1 → 3.5 of 4.
        let auc = auc(&[0.9, 0.5, 0.5, 0.1], &[true, true, false, false]).unwrap();
        assert_eq!(auc, 3.5 / 4.0);
        assert_eq!(super::auc(&[0.2, 0.8], &[true, false]), Some(0.0));
        assert_eq!(super::auc(&[0.2, 0.8], &[true, true]), None);
        // All scores tied: exactly one half.
        assert_eq!(
            super::auc(&[0.3; 5], &[true, false, true, false, false]),
            Some(0.5)
        );
    }

    #[test]
    fn confusion_and_subtype_errors_follow_the_threshold() {
        let sub = |s: &str| Some(s.to_owned());
        let e = Evaluation::compute(
            &[0.9, 0.4, 0.5, 0.2, 0.7],
            &[true, true, false, false, false],
            &[sub("a"), sub("a"), sub("b"), sub("b"), None],
        );
        assert_eq!(
            e.confusion,
            Confusion {
                true_positive: 1,
                false_negative: 1,
                false_positive: 2,
                true_negative: 1
            }
        );
        assert_eq!(e.sensitivity, Some(0.5));
        assert_eq!(e.specificity, Some(1.0 / 3.0));
        assert_eq!(e.by_subtype["a"].errors, 1);
        assert_eq!(e.by_subtype["b"].error_rate, 0.5);
        assert_eq!(e.by_subtype.len(), 2);
    }
}

//! `explainme models …`: look inside ONNX models before registering them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use explainme_budget::MemoryBudget;
use explainme_onnx::{
    Batching, Draft, DraftNote, DraftSource, Model, ModelCard, ModelSummary, ShapeSource,
    TensorInfo,
};
use serde::Serialize;

use super::output::{Format, OutputArgs};

/// Inspect ONNX models.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List a model's inputs, outputs and every intermediate tensor (the candidate feature
    /// layers) with its operator and shape. Shapes the file does not declare are measured by
    /// one run of ONNX Runtime on zeros.
    Inspect(InspectArgs),
    /// Draft a model card from the graph (input, layout, size, channels, output kind,
    /// feature layers), with defaults where the graph cannot say (HU windows, class names),
    /// and run it once on a blank batch. Every guess and default is listed: check them
    /// before registering the model.
    Card(CardArgs),
}

/// Arguments of `explainme models card`.
#[derive(Debug, clap::Args)]
pub struct CardArgs {
    /// The ONNX model file.
    pub model: PathBuf,
    /// Write the drafted card (JSON) to this file; without it the card is printed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output format of the report: `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `explainme models inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The ONNX model file.
    pub model: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs a `models` subcommand; `budget` caps what ONNX Runtime may allocate.
pub fn run(command: Command, budget: MemoryBudget) -> anyhow::Result<()> {
    match command {
        Command::Inspect(args) => inspect(args, budget),
        Command::Card(args) => card(args, budget),
    }
}

/// `--model` and `--card`: what every command that runs a model takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// The ONNX model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Its model card (JSON): layout, preprocessing, classes.
    #[arg(long)]
    pub card: PathBuf,
}

impl ModelArgs {
    /// Loads both (see [`load_model`]).
    pub fn load(&self, budget: MemoryBudget) -> anyhow::Result<(Model, ModelCard)> {
        load_model(&self.model, &self.card, budget)
    }
}

/// Loads a model and its card from files, naming the file at fault in any error; every command
/// that runs a model (`predict`, `evaluate`, `demo`) starts here, so ONNX Runtime is started
/// with the command line's memory budget as its cap.
pub fn load_model(
    model: &Path,
    card: &Path,
    budget: MemoryBudget,
) -> anyhow::Result<(Model, ModelCard)> {
    explainme_onnx::init_runtime_within(&budget)?;
    let card_text =
        std::fs::read_to_string(card).with_context(|| format!("cannot read {}", card.display()))?;
    let card = ModelCard::from_json(&card_text).with_context(|| format!("{}", card.display()))?;
    let model =
        Model::from_path(model).with_context(|| format!("cannot load {}", model.display()))?;
    Ok((model, card))
}

/// Loads a model and measures the layer shapes it does not declare (one run on zeros).
fn load_measured(model: &Path, budget: MemoryBudget) -> anyhow::Result<Model> {
    explainme_onnx::init_runtime_within(&budget)?;
    let mut parsed =
        Model::from_path(model).with_context(|| format!("cannot load {}", model.display()))?;
    parsed
        .discover_shapes()
        .with_context(|| format!("cannot measure the layer shapes of {}", model.display()))?;
    Ok(parsed)
}

fn inspect(args: InspectArgs, budget: MemoryBudget) -> anyhow::Result<()> {
    let InspectArgs { model, output } = args;
    let parsed = load_measured(&model, budget)?;
    let batching = match parsed.summary().inputs.as_slice() {
        [input] => parsed.symbolic_batch(&input.name).ok().map(|(b, _)| b),
        _ => None,
    };
    let inspection = Inspection {
        summary: parsed.summary(),
        batching,
    };
    output.emit(&inspection, |i| {
        let mut out = text(i.summary);
        if let Some(batching) = &i.batching {
            out.push_str(&format!("\nbatching: {}\n", batching.describe()));
        }
        out
    })
}

/// What `models inspect` prints: the summary, and how batches would reach the graph.
#[derive(Serialize)]
struct Inspection<'a> {
    #[serde(flatten)]
    summary: &'a ModelSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    batching: Option<Batching>,
}

/// What `models card` reports: the draft, how batches reach the graph, and the trial run.
#[derive(Serialize)]
struct CardReport {
    #[serde(flatten)]
    draft: Draft,
    batching: Batching,
    trial: Trial,
    /// Where the card was written, when `--out` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    written_to: Option<PathBuf>,
}

/// The trial prediction on a blank batch.
#[derive(Serialize)]
struct Trial {
    cases: usize,
    positive_class: String,
    probabilities: Vec<f32>,
    classes: Vec<String>,
}

/// Cases in the trial batch: two, so that batching itself is exercised.
const TRIAL_CASES: usize = 2;

fn card(args: CardArgs, budget: MemoryBudget) -> anyhow::Result<()> {
    let CardArgs { model, out, format } = args;
    let parsed = load_measured(&model, budget)?;
    let (draft, session, prediction) = explainme_onnx::draft_and_try(&parsed, TRIAL_CASES)
        .with_context(|| format!("cannot draft a card that runs {}", model.display()))?;
    let card = &draft.card;
    let trial = Trial {
        cases: TRIAL_CASES,
        positive_class: card.positive_class.clone(),
        probabilities: prediction.probabilities,
        classes: prediction
            .classes
            .iter()
            .map(|&k| card.class_names.get(k).cloned().unwrap_or_default())
            .collect(),
    };
    if let Some(path) = &out {
        super::output::write_to(Some(path), format!("{}\n", card.to_json()).as_bytes())?;
    }
    let report = CardReport {
        batching: session.batching().clone(),
        draft,
        trial,
        written_to: out,
    };
    OutputArgs { format, out: None }.emit(&report, |r| card_text(&model, r))
}

/// The report for people: each field with its value and where it came from, then the
/// batching, the trial run, and the card itself unless it was written to a file.
fn card_text(model: &Path, report: &CardReport) -> String {
    let CardReport {
        draft,
        batching,
        trial,
        written_to,
    } = report;
    let mut out = format!(
        "Drafted a model card for {}.\n\
         [graph] = read from the graph; [guess] = inferred from it, check it; [default] = the \
         graph cannot say, replace it with what training used.\n\n",
        model.display()
    );
    let width = draft.notes.iter().map(|n| n.field.len()).max().unwrap_or(0);
    for DraftNote {
        field,
        source,
        note,
    } in &draft.notes
    {
        let tag = match source {
            DraftSource::Graph => "[graph]",
            DraftSource::Guess => "[guess]",
            DraftSource::Default => "[default]",
        };
        out.push_str(&format!(
            "  {field:<width$}  {tag:<9}  {}\n  {:<width$}             {note}\n",
            field_value(&draft.card, field),
            ""
        ));
    }
    out.push_str(&format!(
        "\ncandidate feature layers ({}): {}\n",
        draft.candidate_layers.len(),
        if draft.candidate_layers.is_empty() {
            "none".to_owned()
        } else {
            draft.candidate_layers.join(", ")
        }
    ));
    out.push_str(&format!("batching: {}\n", batching.describe()));
    out.push_str(&format!(
        "trial: a blank batch of {} ran as it is; probability of `{}`: {}\n",
        trial.cases,
        trial.positive_class,
        trial
            .probabilities
            .iter()
            .zip(&trial.classes)
            .map(|(p, c)| format!("{p:.4} ({c})"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    match written_to {
        Some(path) => out.push_str(&format!("card written to {}\n", path.display())),
        None => out.push_str(&format!("\n{}\n", draft.card.to_json())),
    }
    out
}

/// A card field's value in one line.
fn field_value(card: &ModelCard, field: &str) -> String {
    match field {
        "input" => card.input.clone(),
        "layout" => compact(&card.layout),
        "dims" => format!("{}D", card.dims.count()),
        "input_size" => format!("{:?}", card.input_size),
        "preprocessing" => {
            let recipes: Vec<String> = card
                .preprocessing
                .channels()
                .iter()
                .map(|p| {
                    let (low, high) = p.intensity.bounds();
                    format!("HU {low}..{high} → {}", compact(&p.normalisation))
                })
                .collect();
            match recipes.as_slice() {
                [first, rest @ ..] if rest.len() > 2 && rest.iter().all(|r| r == first) => {
                    format!("{} channels: {first}", recipes.len())
                }
                _ => recipes.join("; "),
            }
        }
        "output" => compact(&card.output),
        "class_names" => format!("{:?}", card.class_names),
        "positive_class" => card.positive_class.clone(),
        "feature_layers" => format!("{:?}", card.feature_layers),
        _ => String::new(),
    }
}

/// Compact JSON of a value, without the quotes of a bare string.
fn compact<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned()
}

/// The summary for people: header lines, then one aligned row per tensor.
fn text(summary: &ModelSummary) -> String {
    let ModelSummary {
        inputs,
        outputs,
        nodes,
        tensors,
        parameters,
        opset,
        producer,
    } = summary;
    let mut out = format!(
        "producer: {}\nopset: {opset}\nparameters: {parameters}\nnodes: {}\n",
        if producer.is_empty() {
            "unknown"
        } else {
            producer
        },
        nodes.len()
    );
    let rows = |title: &str, tensors: &[TensorInfo], out: &mut String| {
        let width = tensors.iter().map(|t| t.name.len()).max().unwrap_or(0);
        out.push_str(&format!("\n{title} ({}):\n", tensors.len()));
        for tensor in tensors {
            // Measured shapes come from one run with a batch of one, so their batch axis is 1.
            let measured = match tensor.shape_source {
                ShapeSource::Discovered => "  (measured)",
                ShapeSource::Declared | ShapeSource::Unknown => "",
            };
            out.push_str(&format!(
                "  {:<width$}  {:<12} {:<8} {}{measured}\n",
                tensor.name,
                tensor.producer_op.as_deref().unwrap_or("-"),
                tensor.elem_type,
                tensor.shape_text(),
            ));
        }
    };
    rows("inputs", inputs, &mut out);
    rows("outputs", outputs, &mut out);
    rows("layers", tensors, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::output::Format;

    #[test]
    fn inspect_lists_every_layer_with_its_shape() {
        let dir = tempfile::tempdir().unwrap();
        let (model, _) = explainme_onnx::builder::seeded_cnn(7).unwrap();
        std::fs::write(dir.path().join("m.onnx"), model.to_bytes()).unwrap();
        let out = dir.path().join("summary.json");
        run(
            Command::Inspect(InspectArgs {
                model: dir.path().join("m.onnx"),
                output: OutputArgs {
                    format: Format::Json,
                    out: Some(out.clone()),
                },
            }),
            MemoryBudget::default(),
        )
        .unwrap();
        let summary: ModelSummary = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(summary.parameters, 101_159);
        let relu = summary
            .tensors
            .iter()
            .find(|t| t.name == "block2/relu")
            .unwrap();
        assert_eq!(relu.shape_text(), "[N, 32, 32, 32]");
        // Undeclared shapes were measured, so every layer has one.
        assert!(summary.tensors.iter().all(|t| t.shape.is_some()));
        assert!(
            text(&summary).contains("block3/pool  MaxPool      float    [1, 64, 8, 8]  (measured)")
        );
    }
}

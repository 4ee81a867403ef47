//! `explainme models …`: look inside ONNX models before registering them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use explainme_budget::MemoryBudget;
use explainme_onnx::{Model, ModelCard, ModelSummary, ShapeSource, TensorInfo};

use super::output::OutputArgs;

/// Inspect ONNX models.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List a model's inputs, outputs and every intermediate tensor (the candidate feature
    /// layers) with its operator and shape. Shapes the file does not declare are measured by
    /// one run of ONNX Runtime on zeros.
    Inspect(InspectArgs),
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

fn inspect(args: InspectArgs, budget: MemoryBudget) -> anyhow::Result<()> {
    let InspectArgs { model, output } = args;
    explainme_onnx::init_runtime_within(&budget)?;
    let mut parsed =
        Model::from_path(&model).with_context(|| format!("cannot load {}", model.display()))?;
    parsed
        .discover_shapes()
        .with_context(|| format!("cannot measure the layer shapes of {}", model.display()))?;
    output.emit(parsed.summary(), text)
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

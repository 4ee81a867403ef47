//! `explainme predict`: run an ONNX model on one tensor file without a server.

use std::path::PathBuf;

use anyhow::{Context, bail};
use explainme_onnx::{Model, ModelCard, Session, Tensor};

use super::output::OutputArgs;
use crate::pb;

/// Run a model on a `.npy` tensor and print the positive-class probability, the class and
/// the per-channel mean/max of the chosen layers, exactly as the Predict RPC answers.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ONNX model file.
    #[arg(long)]
    pub model: PathBuf,
    /// The model card (JSON) that says the layout, preprocessing and classes.
    #[arg(long)]
    pub card: PathBuf,
    /// A float `.npy` file: either a model-ready batch in the card's layout (rank 4 for a 2D
    /// model, 5 for 3D) or one CT image in Hounsfield units ([H, W] or [D, H, W]) that is
    /// preprocessed as the card says.
    #[arg(long)]
    pub tensor: PathBuf,
    /// Intermediate tensors to summarise, comma-separated; the card's feature layers when
    /// absent.
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<String>>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Loads, predicts, prints.
pub fn run(args: Args) -> anyhow::Result<()> {
    let Args {
        model,
        card,
        tensor,
        layers,
        output,
    } = args;
    let card_text = std::fs::read_to_string(&card)
        .with_context(|| format!("cannot read {}", card.display()))?;
    let card = ModelCard::from_json(&card_text).with_context(|| format!("{}", card.display()))?;
    let model =
        Model::from_path(&model).with_context(|| format!("cannot load {}", model.display()))?;
    let values = explainme_imaging::codec::npy::read_tensor(&tensor)
        .with_context(|| format!("cannot read {}", tensor.display()))?;
    let values = Tensor::new(values.shape, values.data)?;
    let spatial = card.dims.count();
    let batch = match values.shape.len() {
        rank if rank == spatial + 2 => values,
        rank if rank == spatial => card.preprocess(&[values])?,
        rank => bail!(
            "{}: a tensor of rank {rank} is neither a {}-axis batch nor a {spatial}-axis image",
            tensor.display(),
            spatial + 2
        ),
    };
    let layers = layers.unwrap_or_else(|| card.feature_layers.clone());
    let session = Session::new(&model, &card, &layers)?;
    let response = crate::convert::models::prediction(&card, session.predict(&batch)?)
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?;
    output.emit(&response, text)
}

/// One block per batch item: verdict, then one line per channel of each layer.
fn text(response: &pb::PredictResponse) -> String {
    let mut out = String::new();
    for (i, item) in response.items.iter().enumerate() {
        out.push_str(&format!(
            "item {i}: {} (class {}), positive-class probability {:.6}\n",
            item.class_name, item.class_index, item.probability
        ));
        for layer in &item.layers {
            out.push_str(&format!("  {} {:?}\n", layer.layer, layer.shape));
            for (c, (mean, max)) in layer
                .channel_mean
                .iter()
                .zip(&layer.channel_max)
                .enumerate()
            {
                out.push_str(&format!(
                    "    channel {c:>3}: mean {mean:>12.6}  max {max:>12.6}\n"
                ));
            }
        }
    }
    out
}

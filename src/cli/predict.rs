//! `explainme predict`: run an ONNX model on one tensor file without a server.

use std::path::PathBuf;

use anyhow::{Context, bail};
use explainme_onnx::{Session, Tensor};

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
    let (model, card) = super::models::load_model(&model, &card)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::output::Format;

    /// Runs `explainme predict` on `tensor` into a JSON file and reads it back.
    fn predict_json(dir: &std::path::Path, tensor: Tensor) -> anyhow::Result<serde_json::Value> {
        let (model, card) = explainme_onnx::builder::seeded_cnn(7)?;
        std::fs::write(dir.join("m.onnx"), model.to_bytes())?;
        std::fs::write(dir.join("m.card.json"), card.to_json())?;
        let input = explainme_imaging::Tensor::new(tensor.shape, tensor.data)?;
        explainme_imaging::codec::npy::write_tensor(dir.join("t.npy"), &input)?;
        run(Args {
            model: dir.join("m.onnx"),
            card: dir.join("m.card.json"),
            tensor: dir.join("t.npy"),
            layers: Some(vec!["block2/relu".into()]),
            output: OutputArgs {
                format: Format::Json,
                out: Some(dir.join("out.json")),
            },
        })?;
        Ok(serde_json::from_slice(&std::fs::read(
            dir.join("out.json"),
        )?)?)
    }

    #[test]
    fn an_hu_image_is_preprocessed_and_a_batch_is_used_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let (model, card) = explainme_onnx::builder::seeded_cnn(7).unwrap();
        let hu: Vec<f32> = (0..64 * 64)
            .map(|i| -200.0 + (i % 97) as f32 * 5.0)
            .collect();
        let image = Tensor::new(vec![64, 64], hu).unwrap();
        let batch = card.preprocess(std::slice::from_ref(&image)).unwrap();
        let expected = Session::new(&model, &card, &["block2/relu".to_owned()])
            .unwrap()
            .predict(&batch)
            .unwrap();

        for input in [image, batch] {
            let json = predict_json(dir.path(), input).unwrap();
            let item = &json["items"][0];
            let probability = item["probability"].as_f64().unwrap() as f32;
            assert_eq!(probability, expected.probabilities[0]);
            assert_eq!(item["layers"][0]["layer"], "block2/relu");
            assert_eq!(item["layers"][0]["layout"], "CHANNEL_LAYOUT_NCHW");
            assert_eq!(
                item["layers"][0]["channel_mean"].as_array().unwrap().len(),
                32
            );
        }
    }

    #[test]
    fn a_tensor_of_another_rank_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = predict_json(
            dir.path(),
            Tensor::new(vec![1, 64, 64], vec![0.0; 4096]).unwrap(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("rank 3 is neither a 4-axis batch nor a 2-axis image"),
            "{error}"
        );
    }
}

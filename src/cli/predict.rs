//! `explainme predict`: run an ONNX model on one tensor file without a server.

use std::path::PathBuf;

use anyhow::{Context, bail};
use explainme_budget::MemoryBudget;
use explainme_onnx::{Session, Tensor};

use super::models::ModelArgs;
use super::output::OutputArgs;
use crate::pb;

/// Run a model on a `.npy` tensor and print the positive-class probability, the class and
/// the per-channel mean/max of the chosen layers, exactly as the Predict RPC answers.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// A float `.npy` file of Hounsfield units, preprocessed as the card says: one CT image
    /// (`[H, W]` or `[D, H, W]`) or a batch of them in the card's layout (`[N, 1, H, W]`,
    /// `[N, H, W, 1]`, …). With `--preprocessed`, a model-ready batch instead.
    #[arg(long)]
    pub tensor: PathBuf,
    /// The tensor is already model-ready (windowed and normalised as the card says): a batch
    /// in the card's layout, fed as it is. Values far outside the range the card's
    /// preprocessing produces are refused, since they are almost always Hounsfield units.
    #[arg(long)]
    pub preprocessed: bool,
    /// Intermediate tensors to summarise, comma-separated; the card's feature layers when
    /// absent.
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<String>>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Loads, predicts, prints.
pub fn run(args: Args, budget: MemoryBudget) -> anyhow::Result<()> {
    let Args {
        model,
        tensor,
        preprocessed,
        layers,
        output,
    } = args;
    let (model, card) = model.load(budget)?;
    let values = explainme_imaging::codec::npy::read_tensor_within(&tensor, &budget)
        .with_context(|| format!("cannot read {}", tensor.display()))?;
    let spatial = card.dims.count();
    let rank = values.shape.len();
    // A batch of HU images has one channel whatever the model takes: the card makes the rest.
    let mut hu_batch = card.input_shape(1);
    let channel_axis = match card.layout {
        explainme_onnx::Layout::Nchw => 1,
        explainme_onnx::Layout::Nhwc => hu_batch.len() - 1,
    };
    hu_batch[channel_axis] = 1;
    let is_batch = rank == spatial + 2 && values.shape[1..] == hu_batch[1..];
    let batch = match (preprocessed, rank) {
        (true, _) if rank == spatial + 2 => values,
        (true, _) => bail!(
            "{}: --preprocessed takes a model-ready batch of rank {} ({:?} with N ≥ 1), got rank {rank}",
            tensor.display(),
            spatial + 2,
            card.input_shape(1)
        ),
        (false, _) if rank == spatial => card.preprocess(&[values])?,
        (false, _) if is_batch => {
            // The same pixels give the same verdict whether sent as one image or a batch.
            let per_case = card.input_size.iter().product::<usize>();
            let images = values
                .data
                .chunks_exact(per_case)
                .map(|pixels| Tensor::new(card.input_size.clone(), pixels.to_vec()))
                .collect::<Result<Vec<_>, _>>()?;
            card.preprocess(&images)?
        }
        (false, _) => bail!(
            "{}: a Hounsfield-unit tensor of shape {:?} is neither a {spatial}-axis image {:?} \
             nor a batch {:?}; pass --preprocessed for model-ready input",
            tensor.display(),
            values.shape,
            card.input_size,
            card.input_shape(1)
        ),
    };
    let layers = layers.unwrap_or_else(|| card.feature_layers.clone());
    let session = Session::new(&model, &card, &layers)?;
    let response =
        crate::convert::models::prediction(&card, session.batching(), session.predict(&batch)?)
            .map_err(|status| anyhow::anyhow!("{}", status.message()))?;
    output.emit(&response, text)
}

/// One block per batch item: verdict, then one line per channel of each layer; last, how
/// the batch reached the graph.
fn text(response: &pb::PredictResponse) -> String {
    let mut out = String::new();
    if let Some(pb::Batching { mode, reason }) = &response.batching {
        let mode = pb::BatchingMode::try_from(*mode).unwrap_or(pb::BatchingMode::Unspecified);
        let (name, detail) = match mode {
            pb::BatchingMode::Native => ("native", ""),
            pb::BatchingMode::MadeSymbolic => ("made symbolic (the export fixed it at 1)", ""),
            pb::BatchingMode::OneByOne => ("one case per run: ", reason.as_str()),
            pb::BatchingMode::Unspecified => ("unspecified", ""),
        };
        out.push_str(&format!("batching: {name}{detail}\n"));
    }
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
    fn predict_json(
        dir: &std::path::Path,
        tensor: Tensor,
        preprocessed: bool,
    ) -> anyhow::Result<serde_json::Value> {
        let (model, card) = explainme_onnx::builder::seeded_cnn(7)?;
        std::fs::write(dir.join("m.onnx"), model.to_bytes())?;
        std::fs::write(dir.join("m.card.json"), card.to_json())?;
        explainme_imaging::codec::npy::write_tensor(dir.join("t.npy"), &tensor)?;
        run(
            Args {
                model: ModelArgs {
                    model: dir.join("m.onnx"),
                    card: dir.join("m.card.json"),
                },
                tensor: dir.join("t.npy"),
                preprocessed,
                layers: Some(vec!["block2/relu".into()]),
                output: OutputArgs {
                    format: Format::Json,
                    out: Some(dir.join("out.json")),
                },
            },
            MemoryBudget::default(),
        )?;
        Ok(serde_json::from_slice(&std::fs::read(
            dir.join("out.json"),
        )?)?)
    }

    #[test]
    fn hu_images_are_preprocessed_and_a_preprocessed_batch_is_used_as_is() {
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

        // The same HU pixels as an image or as a one-case batch, and the preprocessed batch
        // under --preprocessed, all give the same verdict (before, the HU batch was taken as
        // model-ready: benign 0.0018 one way, malignant 1.000000 the other).
        let hu_batch = Tensor::new(card.input_shape(1), image.data.clone()).unwrap();
        for (input, preprocessed) in [(image, false), (hu_batch.clone(), false), (batch, true)] {
            let json = predict_json(dir.path(), input, preprocessed).unwrap();
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
    fn a_tensor_of_another_shape_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let odd = Tensor::new(vec![1, 64, 64], vec![0.0; 4096]).unwrap();
        let error = predict_json(dir.path(), odd.clone(), false).unwrap_err();
        assert!(
            error.to_string().contains(
                "a Hounsfield-unit tensor of shape [1, 64, 64] is neither a 2-axis image [64, 64] \
                 nor a batch [1, 1, 64, 64]; pass --preprocessed"
            ),
            "{error}"
        );
        let error = predict_json(dir.path(), odd, true).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("--preprocessed takes a model-ready batch of rank 4"),
            "{error}"
        );
    }

    #[test]
    fn hounsfield_units_passed_as_preprocessed_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_, card) = explainme_onnx::builder::seeded_cnn(7).unwrap();
        let hu = Tensor::new(card.input_shape(1), vec![180.0; 4096]).unwrap();
        let error = predict_json(dir.path(), hu, true).unwrap_err();
        assert!(
            format!("{error:#}").contains("far outside [0, 1]"),
            "{error:#}"
        );
    }
}

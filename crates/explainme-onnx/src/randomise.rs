//! Cascading weight randomisation, for the model-randomisation sanity check of saliency maps
//! (Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018).
//!
//! A heatmap that still looks the same after the network's weights were replaced by noise
//! explains the image, not the model. The check randomises the weighted layers one at a
//! time from the output backwards and recomputes the map after each step; this module makes
//! those models. A *weighted layer* is a node with a float initializer of rank ≥ 2 among its
//! inputs (a convolution or dense kernel: `Conv`, `Gemm`, `MatMul`, …); randomising it
//! replaces every float initializer it reads (kernel and bias) with seeded Gaussian values of
//! the same shape, mean and standard deviation, so activations keep their scale and the
//! network still computes something, just not what it learnt. Initializers of other types
//! (the `int64` shapes of a `Reshape`) and nodes without a kernel (a separate bias `Add`
//! after a `MatMul`) are left as they are. It changes values only, never the graph.

use explainme_rng::Random;

use crate::proto::{self, tensor_proto::DataType};
use crate::{Error, Model, Result};

impl Model {
    /// The weighted layers in graph order, named by their node (its first output when the
    /// node has no name): the steps of a cascading randomisation.
    pub fn weighted_layers(&self) -> Vec<String> {
        weighted_nodes(self.proto())
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// A copy whose last `layers_from_top` weighted layers (see [`Model::weighted_layers`])
    /// have seeded random weights of the same shape, mean and standard deviation; more layers
    /// than the graph has randomises all of them, 0 returns an unchanged copy. The same seed
    /// gives the same weights, and a layer's values do not depend on how many others are
    /// randomised, so step *k + 1* of a cascade only adds one layer to step *k*.
    ///
    /// ```
    /// let (model, _) = explainme_onnx::builder::seeded_cnn(7)?;
    /// assert_eq!(model.weighted_layers().len(), 5); // three convolutions, two dense layers
    /// let top = model.with_randomised_weights(1, 42)?;
    /// assert_ne!(top.to_bytes(), model.to_bytes());
    /// assert_eq!(top.to_bytes(), model.with_randomised_weights(1, 42)?.to_bytes());
    /// # Ok::<(), explainme_onnx::Error>(())
    /// ```
    ///
    /// Fails with [`Error::MalformedModel`] when an initializer's raw bytes do not match its
    /// shape, and [`Error::Unsupported`] for weights stored outside the file.
    pub fn with_randomised_weights(&self, layers_from_top: usize, seed: u64) -> Result<Model> {
        let mut proto = self.proto().clone();
        let nodes = weighted_nodes(&proto);
        let chosen: Vec<(usize, Vec<String>)> = nodes
            .iter()
            .enumerate()
            .rev()
            .take(layers_from_top)
            .map(|(i, (_, inputs))| (i, inputs.clone()))
            .collect();
        let graph = proto
            .graph
            .as_mut()
            .ok_or_else(|| Error::MalformedModel("no graph".into()))?;
        for (layer, inputs) in chosen {
            for (k, name) in inputs.iter().enumerate() {
                let Some(tensor) = graph
                    .initializer
                    .iter_mut()
                    .find(|t| t.name.as_deref() == Some(name.as_str()))
                else {
                    continue;
                };
                // One stream per (layer, input): independent of how many layers are chosen.
                let mut rng = Random::new(seed, ((layer as u64) << 8) | k as u64);
                randomise(tensor, &mut rng)?;
            }
        }
        Model::from_proto(proto)
    }
}

/// `(layer name, float initializer inputs)` of every node that reads a float kernel.
fn weighted_nodes(proto: &proto::ModelProto) -> Vec<(String, Vec<String>)> {
    let Some(graph) = &proto.graph else {
        return Vec::new();
    };
    let float_init = |name: &str| {
        graph.initializer.iter().find(|t| {
            t.name.as_deref() == Some(name) && t.data_type == Some(DataType::Float as i32)
        })
    };
    graph
        .node
        .iter()
        .filter_map(|node| {
            let inputs: Vec<String> = node
                .input
                .iter()
                .filter(|i| float_init(i).is_some())
                .cloned()
                .collect();
            let has_kernel = inputs
                .iter()
                .any(|i| float_init(i).is_some_and(|t| t.dims.len() >= 2));
            has_kernel.then(|| {
                let name = node
                    .name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .or_else(|| node.output.first().cloned())
                    .unwrap_or_default();
                (name, inputs)
            })
        })
        .collect()
}

/// Replaces a float tensor's values with Gaussian ones of its own mean and standard
/// deviation (a constant tensor keeps its mean, with the spread of a unit-variance draw
/// scaled by its magnitude, so a zero-initialised bias stays zero).
fn randomise(tensor: &mut proto::TensorProto, rng: &mut Random) -> Result<()> {
    let name = tensor.name.clone().unwrap_or_default();
    if !tensor.external_data.is_empty() {
        return Err(Error::Unsupported(format!(
            "initializer `{name}` is stored outside the model file"
        )));
    }
    let values: Vec<f32> = match &tensor.raw_data {
        Some(raw) if !raw.is_empty() => {
            if raw.len() % 4 != 0 {
                return Err(Error::MalformedModel(format!(
                    "initializer `{name}` has {} raw bytes, not a whole number of floats",
                    raw.len()
                )));
            }
            raw.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        _ => tensor.float_data.clone(),
    };
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    let sd = if var > 0.0 { var.sqrt() } else { mean.abs() };
    let fresh: Vec<f32> = (0..values.len())
        .map(|_| (mean + sd * rng.normal()) as f32)
        .collect();
    tensor.raw_data = None;
    tensor.float_data = fresh;
    Ok(())
}

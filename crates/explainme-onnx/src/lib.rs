//! ONNX CNNs for explainme: inspect a model, expose its intermediate layers, run batches.
//!
//! Explaining a CNN needs more than its prediction: concept probes, surrogate trees and
//! heatmaps all read what the network computes in between. ONNX Runtime only returns
//! graph outputs, so this crate parses the model with prost types generated from the
//! official `onnx.proto` ([`proto`]), lists every tensor with its shape ([`Model`],
//! [`ModelSummary`]), appends the chosen layers to the graph outputs ([`Model::expose`])
//! and runs batches through ONNX Runtime ([`Session`]), returning the positive-class
//! probability, the predicted class and the activations ([`Prediction`]).
//!
//! Each activation carries its own channel axis ([`Model::channel_layout`]): a tf2onnx
//! export of an NHWC Keras model computes its convolutions channels-first, so the input's
//! layout is not the layers' layout.
//!
//! What the graph cannot say — layout, how HU become each input channel (one window, or
//! three as the RGB of an ImageNet backbone: [`InputChannels`]), whether the output is
//! probabilities or logits, the class names — comes from a JSON [`ModelCard`], checked
//! against the graph by [`ModelCard::validate`]. For a model nobody here trained,
//! [`draft_card`] drafts one from the graph and says which fields are read, guessed or
//! defaulted.
//!
//! Exports often fix the batch dimension at 1. A [`Session`] then makes it symbolic by graph
//! surgery where it can prove the graph keeps cases apart ([`Model::symbolic_batch`]), and
//! otherwise runs cases one by one; [`Session::batching`] says which ([`Batching`]).
//!
//! ONNX Runtime 1.31 is loaded at run time (ort's `load-dynamic`): from `ORT_DYLIB_PATH`,
//! else from the project cache that `build.rs` fills from the official PyPI wheel
//! (see [`init_runtime`]). This crate knows nothing of gRPC or storage.
//!
//! ```
//! use explainme_onnx::{Layout, Session, Tensor, builder};
//!
//! // A seeded 64×64 CNN and its card (see `builder::seeded_cnn`).
//! let (model, card) = builder::seeded_cnn(7)?;
//! println!("{} parameters, {} intermediate tensors", model.summary().parameters, model.summary().tensors.len());
//!
//! let session = Session::new(&model, &card, &card.feature_layers)?;
//! let ct_slice = Tensor::new(vec![64, 64], vec![40.0; 64 * 64])?; // Hounsfield units
//! let prediction = session.predict(&card.preprocess(&[ct_slice])?)?;
//! assert_eq!(prediction.probabilities.len(), 1);
//!
//! let conv1 = &prediction.activations[0];
//! assert_eq!(conv1.tensor.shape, [1, 16, 64, 64]);
//! assert_eq!(conv1.layout, Layout::Nchw); // followed through the graph
//! let stats = conv1.channel_stats()?; // [case][channel] mean and max
//! assert_eq!(stats[0].len(), 16);
//! # Ok::<(), explainme_onnx::Error>(())
//! ```

pub mod builder;
mod card;
mod draft;
mod error;
mod model;
mod pool;
mod randomise;
mod runtime;
mod session;
mod split;
mod surgery;
mod tensor;

/// Prost types generated from the vendored official `onnx.proto` (package `onnx`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub use card::{
    InputChannels, Intensity, ModelCard, Normalisation, OutputKind, Preprocessing, SpatialDims,
};
pub use draft::{Draft, DraftNote, DraftSource, draft_and_try, draft_card};
pub use error::{Error, Result};
pub use explainme_imaging::Tensor;
pub use model::{Dim, Model, ModelSummary, NodeInfo, ShapeSource, TensorInfo};
pub use runtime::{init_runtime, init_runtime_within};
pub use session::{Activation, Prediction, Session};
pub use split::TailSession;
pub use surgery::Batching;
pub use tensor::{ChannelStat, Layout, channel_stats};

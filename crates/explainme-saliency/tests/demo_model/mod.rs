//! The committed demo CNN and its card, as every test of it loads them.

use std::path::Path;

use explainme_onnx::{Model, ModelCard};

/// `data/models/renal_cnn.onnx` and `renal_cnn.card.json`.
pub fn demo() -> (Model, ModelCard) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/models");
    let model = Model::from_path(dir.join("renal_cnn.onnx")).unwrap();
    let card =
        ModelCard::from_json(&std::fs::read_to_string(dir.join("renal_cnn.card.json")).unwrap())
            .unwrap();
    (model, card)
}

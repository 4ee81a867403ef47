//! ONNX parsing and the graph surgery done on registered models: any bytes either parse into a
//! `Model` or are refused; what parses survives a serialise → parse round trip, and exposing a
//! layer, making the batch symbolic, splitting at a tensor, randomising weights and drafting a
//! card either work or say why — never panic.
#![no_main]

use explainme_onnx::{Model, draft_card};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = Model::from_bytes(data) else {
        return;
    };
    let again = Model::from_bytes(&model.to_bytes()).expect("a parsed model reads back");
    assert_eq!(again.summary().nodes.len(), model.summary().nodes.len());
    let summary = model.summary().clone();
    if let Some(input) = summary.inputs.first() {
        let _ = model.symbolic_batch(&input.name);
    }
    if let Some(layer) = summary.tensors.first() {
        let _ = model.expose(std::slice::from_ref(&layer.name));
        let outputs: Vec<String> = summary.outputs.iter().map(|o| o.name.clone()).collect();
        let _ = model.tail(&layer.name, &outputs);
    }
    let _ = model.with_randomised_weights(1, 7);
    let _ = draft_card(&model);
});

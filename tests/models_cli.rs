//! `explainme models card` on the real binary: a card drafted from a graph alone validates
//! and runs as it is, for models shaped like foreign exports and for the committed demo CNN.

use std::path::Path;
use std::process::{Command, Output};

use explainme_onnx::{Model, ModelCard, Session, Tensor, builder};

fn explainme(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(args)
        .output()
        .unwrap()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

const DEMO_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/models/renal_cnn.onnx");
const DEMO_CARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/models/renal_cnn.card.json"
);

/// Drafts a card for `model` into `dir`, returning the JSON report and the written card.
fn draft(model: &Path, dir: &Path) -> (serde_json::Value, ModelCard) {
    let card_path = dir.join("drafted.card.json");
    let stdout = succeeded(&explainme(&[
        "models",
        "card",
        model.to_str().unwrap(),
        "--out",
        card_path.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let card = ModelCard::from_json(&std::fs::read_to_string(&card_path).unwrap()).unwrap();
    assert_eq!(
        report["written_to"].as_str(),
        Some(card_path.to_str().unwrap())
    );
    (report, card)
}

#[test]
fn drafted_cards_of_foreign_exports_validate_run_and_say_how_they_batch() {
    let dir = tempfile::tempdir().unwrap();
    let models = [
        (
            "residual",
            builder::residual_block(5, true).unwrap(),
            "made_symbolic",
        ),
        (
            "softmax",
            builder::softmax_head(false).unwrap(),
            "made_symbolic",
        ),
        (
            "logits",
            builder::softmax_head(true).unwrap(),
            "made_symbolic",
        ),
        (
            "folded",
            builder::batch_folding_head().unwrap(),
            "one_by_one",
        ),
    ];
    for (name, (model, truth), batching) in models {
        let path = dir.path().join(format!("{name}.onnx"));
        std::fs::write(&path, model.to_bytes()).unwrap();
        let (report, card) = draft(&path, dir.path());
        assert_eq!(report["batching"]["mode"], batching, "{name}");
        assert_eq!(report["trial"]["cases"], 2, "{name}");
        assert_eq!(
            report["trial"]["probabilities"].as_array().unwrap().len(),
            2
        );
        assert_eq!(
            (card.layout, card.dims, &card.input_size, card.output),
            (truth.layout, truth.dims, &truth.input_size, truth.output),
            "{name}"
        );
        assert_eq!(card.channel_count(), truth.channel_count(), "{name}");
        assert_eq!(card.feature_layers, truth.feature_layers, "{name}");
        // The written card is usable as it is by another process.
        let parsed = Model::from_path(&path).unwrap();
        card.validate(&parsed).unwrap();
        let session = Session::new(&parsed, &card, &card.feature_layers).unwrap();
        assert_eq!(
            session
                .predict(&card.blank_input(3).unwrap())
                .unwrap()
                .classes
                .len(),
            3
        );
    }

    // `predict` takes the drafted 3-channel card and a plain HU slice.
    let slice = Tensor::new(vec![builder::SIDE; 2], vec![200.0; builder::SIDE.pow(2)]).unwrap();
    let npy = dir.path().join("slice.npy");
    explainme_imaging::codec::npy::write_tensor(&npy, &slice).unwrap();
    let softmax = dir.path().join("softmax.onnx");
    let (_, card) = draft(&softmax, dir.path());
    let card_path = dir.path().join("drafted.card.json");
    let predicted: serde_json::Value = serde_json::from_str(&succeeded(&explainme(&[
        "predict",
        "--model",
        softmax.to_str().unwrap(),
        "--card",
        card_path.to_str().unwrap(),
        "--tensor",
        npy.to_str().unwrap(),
        "--format",
        "json",
    ])))
    .unwrap();
    // 200 HU through the drafted windows: means [0.9, 1, 0.389] × [10, 8, 13] → class 0.
    assert_eq!(predicted["items"][0]["class_index"], 0, "{predicted}");
    assert_eq!(
        predicted["batching"]["mode"], "BATCHING_MODE_MADE_SYMBOLIC",
        "{predicted}"
    );
    assert_eq!(card.class_names, ["class_0", "class_1", "class_2"]);
}

#[test]
fn the_text_report_says_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = builder::batch_folding_head().unwrap();
    let path = dir.path().join("folded.onnx");
    std::fs::write(&path, model.to_bytes()).unwrap();
    let text = succeeded(&explainme(&["models", "card", path.to_str().unwrap()]));
    for expected in [
        "preprocessing   [default]",
        "layout          [guess]",
        "output          [graph]    sigmoid_probability",
        "batching: one by one",
        "Reshape node `flat` reshapes to [16]",
        "trial: a blank batch of 2 ran as it is",
        "\"input\": \"x\"",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    // `models inspect` says the same about batching.
    let inspected = succeeded(&explainme(&["models", "inspect", path.to_str().unwrap()]));
    assert!(inspected.contains("batching: one by one"), "{inspected}");
}

#[test]
fn the_demo_cnn_gets_a_card_equivalent_to_its_committed_one() {
    let dir = tempfile::tempdir().unwrap();
    let (report, card) = draft(Path::new(DEMO_MODEL), dir.path());
    let committed = ModelCard::from_json(&std::fs::read_to_string(DEMO_CARD).unwrap()).unwrap();
    assert_eq!(
        (
            &card.input,
            &card.output_name,
            card.layout,
            card.dims,
            &card.input_size,
            card.output,
            &card.class_names,
            &card.positive_class,
            &card.feature_layers,
            card.channel_count(),
        ),
        (
            &committed.input,
            &committed.output_name,
            committed.layout,
            committed.dims,
            &committed.input_size,
            committed.output,
            &committed.class_names,
            &committed.positive_class,
            &committed.feature_layers,
            committed.channel_count(),
        )
    );
    // Only the HU window is a default that differs (40/400 drafted, 60/500 trained).
    assert_ne!(card.preprocessing, committed.preprocessing);
    assert_eq!(report["batching"]["mode"], "native");
    let sources: Vec<(&str, &str)> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["field"].as_str().unwrap(), n["source"].as_str().unwrap()))
        .collect();
    assert!(sources.contains(&("layout", "graph")), "{sources:?}");
    assert!(
        sources.contains(&("preprocessing", "default")),
        "{sources:?}"
    );
    assert_eq!(report["candidate_layers"].as_array().unwrap().len(), 7);
}

//! Writes a tiny ONNX model whose one `Expand` grows a 1×1 input to `SIDE × SIDE` floats, with
//! a model card that validates: 173 bytes of graph that only a run shows to need `4 × SIDE²`
//! bytes. The memory-budget checks (`benches/hostile_rss.sh`) register and inspect it.
//!
//! ```text
//! cargo run --example write_expanding_model -- OUT_DIR SIDE
//! ```
//! writes `OUT_DIR/expand_SIDE.onnx` and `OUT_DIR/expand.card.json`.

use std::path::PathBuf;

use anyhow::Context;
use explainme_onnx::builder::{GraphBuilder, int};
use explainme_onnx::{Dim, proto};
use prost::Message;

const CARD: &str = r#"{ "input": "x", "layout": "NCHW", "dims": 2, "input_size": [1, 1],
  "preprocessing": { "intensity": { "range": { "min": -1000, "max": 1000 } }, "normalisation": "unit" },
  "output": "sigmoid_probability", "class_names": ["benign", "malignant"],
  "positive_class": "malignant" }"#;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: write_expanding_model OUT_DIR SIDE";
    let out = PathBuf::from(args.next().context(usage)?);
    let side: i64 = args.next().context(usage)?.parse().context(usage)?;
    let n = || Dim::Symbolic("N".into());
    let mut g = GraphBuilder::new("expand");
    g.input("x", &[n(), Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(1)])
        .node("Expand", &["x", "shape"], &["big"], vec![])
        .node(
            "ReduceMean",
            &["big", "axes"],
            &["mean"],
            vec![int("keepdims", 0)],
        )
        .node("Sigmoid", &["mean"], &["prob"], vec![])
        .output("prob", &[n(), Dim::Fixed(1)])
        .opset(18);
    let mut model = g.build();
    let graph = model.graph.as_mut().context("the builder made a graph")?;
    for (name, values) in [("shape", vec![1, 1, side, side]), ("axes", vec![2, 3])] {
        graph.initializer.push(proto::TensorProto {
            name: Some(name.into()),
            dims: vec![values.len() as i64],
            data_type: Some(7), // INT64
            int64_data: values,
            ..Default::default()
        });
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let onnx = out.join(format!("expand_{side}.onnx"));
    std::fs::write(&onnx, model.encode_to_vec())
        .with_context(|| format!("cannot write {}", onnx.display()))?;
    let card = out.join("expand.card.json");
    std::fs::write(&card, CARD).with_context(|| format!("cannot write {}", card.display()))?;
    println!("{}\n{}", onnx.display(), card.display());
    Ok(())
}

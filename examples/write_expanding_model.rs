//! Writes `explainme_onnx::builder::expanding(SIDE)`: a tiny ONNX model whose one `Expand`
//! grows a 1×1 input to `SIDE × SIDE` floats, with a model card that validates — a few hundred
//! bytes of graph that only a run shows to need `4 × SIDE²` bytes. The memory-budget checks
//! (`benches/hostile/hostile_rss.sh`) register and inspect it.
//!
//! ```text
//! cargo run --example write_expanding_model -- OUT_DIR SIDE
//! ```
//! writes `OUT_DIR/expand_SIDE.onnx` and `OUT_DIR/expand.card.json`.

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: write_expanding_model OUT_DIR SIDE";
    let out = PathBuf::from(args.next().context(usage)?);
    let side: i64 = args.next().context(usage)?.parse().context(usage)?;
    let (graph, card) = explainme_onnx::builder::expanding(side);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let onnx = out.join(format!("expand_{side}.onnx"));
    std::fs::write(&onnx, graph.model()?.to_bytes())
        .with_context(|| format!("cannot write {}", onnx.display()))?;
    let card_path = out.join("expand.card.json");
    std::fs::write(&card_path, card.to_json())
        .with_context(|| format!("cannot write {}", card_path.display()))?;
    println!("{}\n{}", onnx.display(), card_path.display());
    Ok(())
}

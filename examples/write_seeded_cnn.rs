//! Writes explainme-onnx's seeded demo CNN (64×64, one channel, ~100k parameters) and its
//! model card to a directory, so scripts such as `.ci/grpc-smoke.sh` have a real ONNX file
//! without Python or a download.
//!
//! ```text
//! cargo run --example write_seeded_cnn -- OUT_DIR [SEED]
//! ```
//! writes `OUT_DIR/seeded_cnn.onnx` and `OUT_DIR/seeded_cnn.card.json`.

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .context("usage: write_seeded_cnn OUT_DIR [SEED]")?,
    );
    let seed = match args.next() {
        Some(text) => text
            .parse()
            .with_context(|| format!("SEED {text:?} is not a u64"))?,
        None => 7,
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let (model, card) = explainme_onnx::builder::seeded_cnn(seed)?;
    let onnx = out.join("seeded_cnn.onnx");
    std::fs::write(&onnx, model.to_bytes())
        .with_context(|| format!("cannot write {}", onnx.display()))?;
    let card_path = out.join("seeded_cnn.card.json");
    std::fs::write(&card_path, card.to_json())
        .with_context(|| format!("cannot write {}", card_path.display()))?;
    println!("{}\n{}", onnx.display(), card_path.display());
    Ok(())
}

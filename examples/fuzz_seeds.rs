//! Writes the starting corpora of the fuzz targets in `fuzz/` (`fuzz/run.sh` runs it first):
//! small valid inputs the fuzzer mutates, so it starts inside each format instead of
//! rediscovering its magic numbers. Nothing here is committed as binary.
//!
//! ```text
//! cargo run --example fuzz_seeds -- OUT_DIR
//! ```
//! writes `OUT_DIR/{onnx,images,bif,csv,proto}/…`. Images are the imaging crate's peer
//! fixtures and the DICOM fixtures, each prefixed with the byte that picks its format; BIF
//! files are `../shared/data/bn/*.bif` when that folder is beside the repository.

use std::path::{Path, PathBuf};

use anyhow::Context;
use explainme::pb;
use explainme_imaging::{Format, Image, Shape, encode_image};
use explainme_onnx::builder::{self, GraphBuilder, int, ints};
use explainme_onnx::{Dim, Model};
use prost::Message;

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("usage: fuzz_seeds OUT_DIR")?,
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut written = 0;
    let mut write = |target: &str, name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::write(dir.join(name), bytes)?;
        written += 1;
        Ok(())
    };

    // ONNX: a tiny CNN with a symbolic batch, the same with a fixed batch of 1, a graph that
    // expands, and a two-branch graph (a skip connection).
    let (expanding, card) = builder::expanding(8);
    let expanding = expanding.model()?;
    for (name, model) in [
        ("conv_n.onnx", conv(Dim::Symbolic("N".into()))?),
        ("conv_1.onnx", conv(Dim::Fixed(1))?),
        ("expand.onnx", expanding.clone()),
        ("residual.onnx", residual()?),
    ] {
        write("onnx", name, &model.to_bytes())?;
    }

    // Images: each fixture with the byte picking its format in the target's table (0 sniffs).
    let pick = |path: &Path| -> u8 {
        let name = path.to_string_lossy();
        if name.ends_with(".png") {
            1
        } else if name.ends_with(".nii") {
            2
        } else if name.ends_with(".nii.gz") {
            3
        } else if name.ends_with(".dcm") {
            4
        } else if name.ends_with(".npy") {
            5
        } else {
            0
        }
    };
    for dir in [
        root.join("crates/explainme-imaging/tests/fixtures/peers"),
        root.join("crates/explainme-imaging/tests/fixtures/peers/ours"),
        root.join("data/dicom-fixtures"),
    ] {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            let format = pick(&path);
            if format == 0 || std::fs::metadata(&path)?.len() > 64 * 1024 {
                continue;
            }
            let mut bytes = vec![format];
            bytes.extend(std::fs::read(&path)?);
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            write("images", &name.unwrap_or_default(), &bytes)?;
        }
    }

    // BIF: the reference networks beside the repository, and one written here.
    let shared = root.join("../shared/data/bn");
    if let Ok(entries) = std::fs::read_dir(&shared) {
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "bif") {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                write("bif", &name.unwrap_or_default(), &std::fs::read(&path)?)?;
            }
        }
    }
    write("bif", "two.bif", TWO_NODES.as_bytes())?;

    // CSV: a cohort table with numbers, states and empty cells, and the rules crate's golden
    // tables.
    write("csv", "cases.csv", CASES_CSV.as_bytes())?;
    let golden = root.join("crates/explainme-rules/tests/fixtures/golden");
    for name in ["binary_rules.csv", "kits19_maximal.csv"] {
        write("csv", name, &std::fs::read(golden.join(name))?)?;
    }

    // Protobuf requests, each after the byte that picks its message in the target.
    let image = Image::new(Shape::d2(4, 4), (0..16).map(|i| i as f32 * 10.0).collect())?;
    let png = encode_image(&image, Format::Png)?;
    let labels = vec![
        pb::Label {
            feature: "macroscopic_fat".into(),
            value: Some(pb::label::Value::State("present".into())),
        },
        pb::Label {
            feature: "size_cm".into(),
            value: Some(pb::label::Value::Number(3.5)),
        },
    ];
    let case = pb::Case {
        cohort: "seed".into(),
        case_id: "case_1".into(),
        schema: "renal".into(),
        image: Some(pb::Image {
            source: Some(pb::image::Source::Encoded(pb::EncodedImage {
                format: pb::ImageFormat::Png16.into(),
                data: png,
            })),
        }),
        labels: labels.clone(),
        masks: Vec::new(),
    };
    let requests: [(u8, &str, Vec<u8>); 6] = [
        (
            0,
            "upsert",
            pb::UpsertCaseRequest { case: Some(case) }.encode_to_vec(),
        ),
        (
            1,
            "predict",
            pb::PredictRequest {
                model_id: "m".into(),
                input: Some(pb::FloatTensor {
                    shape: vec![1, 1, 2, 2],
                    data: vec![0.0, 0.5, 1.0, 0.25],
                }),
                layers: vec!["relu".into()],
                prediction_only: false,
            }
            .encode_to_vec(),
        ),
        (
            2,
            "schema",
            pb::PutFeatureSchemaRequest {
                name: "renal".into(),
                schema: Some(pb::FeatureSchema {
                    features: vec![pb::Feature {
                        name: "margin".into(),
                        kind: Some(pb::feature::Kind::Categorical(pb::CategoricalFeature {
                            states: vec!["well_defined".into(), "infiltrative".into()],
                        })),
                        role: pb::FeatureRole::Feature.into(),
                        description: String::new(),
                    }],
                }),
            }
            .encode_to_vec(),
        ),
        (
            3,
            "register",
            pb::RegisterModelRequest {
                name: "expand".into(),
                onnx: expanding.to_bytes(),
                card_json: card.to_json(),
            }
            .encode_to_vec(),
        ),
        (
            4,
            "fit",
            pb::FitExplainerRequest {
                model_id: "m".into(),
                cohort: "seed".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            5,
            "labels",
            pb::SetCaseLabelsRequest {
                cohort: "seed".into(),
                case_id: "case_1".into(),
                labels,
                author: "dr-ada".into(),
                note: String::new(),
            }
            .encode_to_vec(),
        ),
    ];
    for (pick, name, message) in requests {
        let mut bytes = vec![pick];
        bytes.extend(message);
        write("proto", name, &bytes)?;
    }
    println!("{written} seeds in {}", out.display());
    Ok(())
}

/// `[N|1, 1, 3, 3]` → Conv 2×2 → Relu → GlobalAveragePool → Flatten → Gemm → Sigmoid.
fn conv(batch: Dim) -> anyhow::Result<Model> {
    let fixed = |d: i64| Dim::Fixed(d);
    let mut g = GraphBuilder::new("conv");
    g.input("x", &[batch.clone(), fixed(1), fixed(3), fixed(3)])
        .weight(
            "w",
            &[2, 1, 2, 2],
            vec![1.0, 0.0, 0.0, 1.0, 0.0, -1.0, -1.0, 0.0],
        )
        .weight("b", &[2], vec![0.0, 10.0])
        .node(
            "Conv",
            &["x", "w", "b"],
            &["conv"],
            vec![ints("kernel_shape", &[2, 2])],
        )
        .node("Relu", &["conv"], &["relu"], vec![])
        .node("GlobalAveragePool", &["relu"], &["gap"], vec![])
        .node("Flatten", &["gap"], &["flat"], vec![int("axis", 1)])
        .weight("dense_w", &[2, 1], vec![0.1, -0.2])
        .weight("dense_b", &[1], vec![-0.5])
        .node("Gemm", &["flat", "dense_w", "dense_b"], &["logit"], vec![])
        .node("Sigmoid", &["logit"], &["prob"], vec![])
        .output("prob", &[batch, fixed(1)]);
    Ok(g.model()?)
}

/// A skip connection: `y = relu(conv(x)) + x`, then pooled and squashed.
fn residual() -> anyhow::Result<Model> {
    let fixed = |d: i64| Dim::Fixed(d);
    let mut g = GraphBuilder::new("residual");
    g.input("x", &[fixed(1), fixed(1), fixed(4), fixed(4)])
        .weight("w", &[1, 1, 3, 3], vec![0.1; 9])
        .node(
            "Conv",
            &["x", "w"],
            &["conv"],
            vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])],
        )
        .node("Relu", &["conv"], &["relu"], vec![])
        .node("Add", &["relu", "x"], &["sum"], vec![])
        .node("GlobalAveragePool", &["sum"], &["gap"], vec![])
        .node("Flatten", &["gap"], &["flat"], vec![int("axis", 1)])
        .node("Sigmoid", &["flat"], &["prob"], vec![])
        .output("prob", &[fixed(1), fixed(1)]);
    Ok(g.model()?)
}

const TWO_NODES: &str = "network seed {
}
variable fat {
  type discrete [ 2 ] { absent, present };
}
variable malignant {
  type discrete [ 2 ] { no, yes };
}
probability ( fat ) {
  table 0.8, 0.2;
}
probability ( malignant | fat ) {
  (absent) 0.3, 0.7;
  (present) 0.9, 0.1;
}
";

const CASES_CSV: &str = "case_id,image,size_cm,macroscopic_fat,margin,malignant
case_1,images/case_1.png,3.5,present,well_defined,no
case_2,images/case_2.png,7.1,absent,infiltrative,yes
case_3,images/case_3.png,,absent,,yes
\"case,4\",images/case_4.png,1e3,\"pre\"\"sent\",well_defined,no
";

//! Saliency methods on the demo CNN (`data/models/renal_cnn.onnx`, 64×64), side by side with
//! a numpy + onnxruntime peer (`benches/peers/saliency_peer.py`) in the same run.
//!
//! `cargo bench --bench saliency`. Per method and variant, per image of an unseen phantom
//! cohort: forward passes (mean), time (median over rounds of the images lasting at least a
//! second), time per pass, and the **floor** =
//! passes × the batched inference time per image, measured here in this run on a batch of
//! [`Subject::batch_size`] copies of one image (median of `FLOOR_RUNS`), before and after
//! each method; the peer runs between the two, so each comparison is made under one load. A method's time
//! over its floor says what it spends beyond ONNX Runtime: masks, blends, maps. The peer
//! runs every full method with the same settings, images and batch size; it is found
//! through `SALIENCY_PEER_PYTHON` (a Python with `benches/peers/requirements-saliency.txt`
//! installed), else `python3`. Lesion mass (share of positive saliency inside the lesion
//! mask) is printed for both, and the fast variants' against their full method's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use explainme_imaging::{Image, Mask, Shape, Tensor};
use explainme_onnx::{Layout, Model, ModelCard, Session};
use explainme_phantom::Phantom;
use explainme_saliency::{Fill, Saliency, Subject, lesion_mass};

const UNSEEN_SEED: u64 = 20261201;
const IMAGES: usize = 4;
const FLOOR_RUNS: usize = 30;
const MASKS: usize = 4000;
const PATCH: usize = 8;
const STRIDE: usize = 4;

struct Row {
    passes: f64,
    ms: f64,
    mass: f64,
}

fn demo() -> (Model, ModelCard) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models");
    let model = Model::from_path(dir.join("renal_cnn.onnx")).expect("demo model");
    let card = ModelCard::from_json(
        &std::fs::read_to_string(dir.join("renal_cnn.card.json")).expect("demo card"),
    )
    .expect("card parses");
    (model, card)
}

fn cohort() -> Vec<(Image, Mask)> {
    Phantom::params()
        .cases(IMAGES)
        .seed(UNSEEN_SEED)
        .generate()
        .expect("phantoms")
        .into_iter()
        .map(|case| {
            let r = &case.rendering;
            let shape = Shape::d2(r.shape[1], r.shape[2]);
            (
                Image::new(shape, r.image.clone()).expect("image"),
                Mask::new(shape, r.masks[0].1.clone()).expect("mask"),
            )
        })
        .collect()
}

/// Batched inference per image, ms: the median run of `batch` copies, divided by `batch`.
fn floor_ms_per_image(model: &Model, card: &ModelCard, image: &Image, batch: usize) -> f64 {
    let session = Session::new(model, card, &[]).expect("session");
    let hu = Tensor::new(image.shape().as_slice().to_vec(), image.voxels().to_vec()).unwrap();
    let images = vec![hu; batch];
    let input = card.preprocess(&images).expect("preprocess");
    (0..3).for_each(|_| drop(session.predict(&input).expect("predict")));
    let mut times: Vec<f64> = (0..FLOOR_RUNS)
        .map(|_| {
            let start = Instant::now();
            session.predict(&input).expect("predict");
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[FLOOR_RUNS / 2] / batch as f64
}

fn run(subject: &Subject, cases: &[(Image, Mask)], method: &str, fast: bool) -> Row {
    let params = Saliency::params()
        .method(method)
        .fast(fast)
        .masks(MASKS)
        .patch(PATCH)
        .stride(STRIDE)
        .fill(Fill::Median)
        .check()
        .expect("params");
    // Untimed warm-up: Score-CAM starts its layer's session on first use (the peer builds
    // its own before timing, too).
    params
        .explain(subject, &cases[0].0, &|_| {})
        .expect("explain");
    // Rounds over the images until a second has passed (at least one). Per image, the median
    // of its rounds is robust to the load spikes of a shared machine, which a short method
    // (Score-CAM takes milliseconds) would otherwise catch or miss by chance; the row's time
    // is the mean of those medians, like its passes, so a fast variant that stops earlier on
    // some images than on others is timed on the same images its passes count.
    let (mut passes, mut mass) = (0.0, 0.0);
    let mut times = vec![Vec::new(); cases.len()];
    let start = Instant::now();
    while times[0].is_empty() || start.elapsed().as_secs_f64() < 1.0 {
        for ((image, lesion), rounds) in cases.iter().zip(&mut times) {
            let begin = Instant::now();
            let heatmap = params.explain(subject, image, &|_| {}).expect("explain");
            rounds.push(begin.elapsed().as_secs_f64() * 1e3);
            if rounds.len() == 1 {
                passes += heatmap.forward_passes as f64;
                mass += lesion_mass(&heatmap.map, lesion).expect("mass");
            }
        }
    }
    let n = cases.len() as f64;
    let median = |rounds: &mut Vec<f64>| {
        rounds.sort_by(f64::total_cmp);
        rounds[rounds.len() / 2]
    };
    Row {
        passes: passes / n,
        ms: times.iter_mut().map(median).sum::<f64>() / n,
        mass: mass / n,
    }
}

fn write_inputs(work: &Path, cases: &[(Image, Mask)]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut images = Vec::new();
    let mut masks = Vec::new();
    for (i, (image, mask)) in cases.iter().enumerate() {
        let shape = image.shape().as_slice().to_vec();
        let path = work.join(format!("image{i}.npy"));
        explainme_imaging::codec::npy::write_tensor(
            &path,
            &Tensor::new(shape.clone(), image.voxels().to_vec()).unwrap(),
        )
        .expect("write image");
        images.push(path);
        let path = work.join(format!("mask{i}.npy"));
        let values = mask
            .voxels()
            .iter()
            .map(|&m| f32::from(u8::from(m)))
            .collect();
        explainme_imaging::codec::npy::write_tensor(&path, &Tensor::new(shape, values).unwrap())
            .expect("write mask");
        masks.push(path);
    }
    (images, masks)
}

fn peer(config: &Path, method: &str) -> Result<serde_json::Value, String> {
    let python = std::env::var("SALIENCY_PEER_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/saliency_peer.py");
    let output = Command::new(&python)
        .arg(script)
        .arg(config)
        .arg(method)
        .output()
        .map_err(|e| format!("{python} does not run: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.lines().last().unwrap_or("no message").to_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("peer output is not JSON: {e}"))
}

fn main() {
    explainme_onnx::init_runtime().expect("ONNX Runtime");
    let (model, card) = demo();
    let subject = Subject::new(&model, &card, Default::default()).expect("subject");
    let cases = cohort();
    let batch = subject.batch_size();

    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/saliency-bench");
    std::fs::create_dir_all(&work).expect("bench dir");
    let (images, masks) = write_inputs(&work, &cases);
    let layer = card
        .feature_layers
        .last()
        .cloned()
        .expect("a feature layer");
    let layout = match model.channel_layout(&layer, card.layout) {
        Some(Layout::Nhwc) => "NHWC",
        _ => "NCHW",
    };
    let (low, high) = card.preprocessing.channels()[0].intensity.bounds();
    let config = serde_json::json!({
        "model": Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models/renal_cnn.onnx"),
        "card": {"low": low, "high": high, "layout": format!("{:?}", card.layout).to_uppercase()},
        "batch": batch,
        "floor_runs": FLOOR_RUNS,
        "seed": 0,
        "blur_radius": 5,
        "images": images,
        "masks": masks,
        "occlusion": {"patch": PATCH, "stride": STRIDE, "fill": Fill::Median.name()},
        "rise": {"masks": MASKS, "grid": 8, "keep_probability": 0.5},
        "scorecam": {"layer": layer, "layout": layout},
    });
    let config_path = work.join("config.json");
    std::fs::write(&config_path, config.to_string()).expect("write config");

    // Per method, in turn: the floor, our full and fast runs, the peer, the floor again, so
    // that on a shared machine each comparison is made under the same load.
    let methods = ["occlusion", "rise", "scorecam"];
    let mut floors = Vec::new();
    let mut peers = Vec::new();
    let ours: Vec<(&str, Row, Row)> = methods
        .iter()
        .map(|&m| {
            let before = floor_ms_per_image(&model, &card, &cases[0].0, batch);
            let rows = (
                m,
                run(&subject, &cases, m, false),
                run(&subject, &cases, m, true),
            );
            peers.push(peer(&config_path, m));
            let after = floor_ms_per_image(&model, &card, &cases[0].0, batch);
            floors.push((before + after) / 2.0);
            rows
        })
        .collect();

    println!(
        "\nSaliency, demo CNN 64×64, {IMAGES} unseen phantoms (seed {UNSEEN_SEED}), batch {batch}; \
         per image: mean passes and mass, mean over images of the median ms of its rounds (peer: means)"
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("load average {} on {cores} cores", load.join(" "));
    }
    println!(
        "floor unit: batched inference per image (explainme-onnx), mean of before and after \
         each method: {}",
        floors
            .iter()
            .zip(methods)
            .map(|(f, m)| format!("{m} {f:.4} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    match &peers[0] {
        Ok(p) => println!(
            "peer: onnxruntime {} + numpy {} (Python), batched inference {:.4} ms per image",
            p["onnxruntime"].as_str().unwrap_or("?"),
            p["numpy"].as_str().unwrap_or("?"),
            p["per_image_seconds"].as_f64().unwrap_or(f64::NAN) * 1e3
        ),
        Err(why) => {
            println!("peer not run ({why}); pip install -r benches/peers/requirements-saliency.txt")
        }
    }
    println!(
        "{:<10} {:<8} {:>8} {:>10} {:>9} {:>10} {:>7} {:>7} | {:>8} {:>10} {:>7}",
        "method",
        "variant",
        "passes",
        "ms",
        "ms/pass",
        "floor ms",
        "×floor",
        "mass",
        "peer pas",
        "peer ms",
        "mass"
    );
    for (((method, full, fast), peer), &floor) in ours.iter().zip(&peers).zip(&floors) {
        let peer_row = peer.as_ref().ok().map(|p| {
            let rows = &p["methods"][method];
            let mean = |key: &str| {
                let v = rows[key].as_array().cloned().unwrap_or_default();
                v.iter().filter_map(|x| x.as_f64()).sum::<f64>() / v.len().max(1) as f64
            };
            (
                mean("passes"),
                mean("seconds") * 1e3,
                mean("lesion_mass"),
                p["per_image_seconds"].as_f64().unwrap_or(f64::NAN) * 1e3,
            )
        });
        for (variant, row) in [("full", full), ("fast", fast)] {
            let floor_ms = row.passes * floor;
            let peer_text = match (variant, peer_row) {
                ("full", Some((passes, ms, mass, unit))) => {
                    format!(
                        "{passes:>8.0} {ms:>10.1} {mass:>7.3}  (peer inference {unit:.4} ms/image)"
                    )
                }
                _ => String::new(),
            };
            println!(
                "{:<10} {:<8} {:>8.0} {:>10.1} {:>9.4} {:>10.1} {:>7.2} {:>7.3} | {}",
                method,
                variant,
                row.passes,
                row.ms,
                row.ms / row.passes,
                floor_ms,
                row.ms / floor_ms,
                row.mass,
                peer_text
            );
        }
        let peer_ms = peer_row.map(|(_, ms, _, _)| ms);
        println!(
            "{:<10} checks: full within 1.2× floor: {}; fast {} than the peer's full; \
             |Δ mass| fast vs full {:.3} ({})",
            "",
            if full.ms <= 1.2 * full.passes * floor {
                "yes"
            } else {
                "NO"
            },
            match peer_ms {
                Some(ms) => format!(
                    "{:.2}× faster{}",
                    ms / fast.ms,
                    if ms >= 2.0 * fast.ms {
                        ""
                    } else {
                        " (NOT ≥ 2×)"
                    }
                ),
                None => "not compared".into(),
            },
            (fast.mass - full.mass).abs(),
            if (fast.mass - full.mass).abs() <= 0.05 {
                "≤ 0.05"
            } else {
                "> 0.05"
            }
        );
    }
}

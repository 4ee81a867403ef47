//! Predict latency of a 64×64 one-channel CNN (~101k parameters, `builder::seeded_cnn`)
//! through explainme-onnx and ONNX Runtime 1.31.1, with 0 and 3 exposed layers, batch 1
//! and 32 — first with criterion, then side by side with the official onnxruntime Python
//! package on the same model file and the same input bytes, in one run and one table.
//!
//! `cargo bench --bench predict`. The peer runs through `benches/peers/predict_onnxruntime.py`
//! (pinned in `benches/peers/requirements-onnx.txt`); without it the table says so and shows
//! our column only. The "3 layers + channel stats" case adds what the Predict RPC computes
//! on top: per-channel mean and max of each exposed layer. Sessions are built outside the
//! timed loops; input batches are preprocessed once.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use explainme_onnx::{Model, ModelCard, Prediction, Session, Tensor, builder};

const SEED: u64 = 2026;
const BATCHES: [usize; 2] = [1, 32];
/// Timed runs per configuration in the side-by-side table (after 3 warm-up runs).
const RUNS: usize = 50;

/// The benchmark CNN, its card and sessions with no and with three exposed layers.
struct Setup {
    model: Model,
    card: ModelCard,
    plain: Session,
    exposed: Session,
}

fn setup() -> Setup {
    let (model, card) = builder::seeded_cnn(SEED).expect("seeded CNN builds");
    let plain = Session::new(&model, &card, &[]).expect("session without layers");
    let exposed = Session::new(&model, &card, &card.feature_layers).expect("session with 3 layers");
    Setup {
        model,
        card,
        plain,
        exposed,
    }
}

/// Synthetic HU slices: soft tissue with a brighter disc whose radius varies per case.
fn batch(card: &ModelCard, cases: usize) -> Tensor {
    let images: Vec<Tensor> = (0..cases)
        .map(|case| {
            let radius2 = (8 + case % 8) * (8 + case % 8);
            let data = (0..64 * 64)
                .map(|i: usize| {
                    let (r, c) = ((i / 64).abs_diff(32), (i % 64).abs_diff(32));
                    if r * r + c * c < radius2 { 120.0 } else { 35.0 }
                })
                .collect();
            Tensor::new(vec![64, 64], data).expect("64×64 values")
        })
        .collect();
    card.preprocess(&images)
        .expect("the seeded CNN's card preprocesses 64×64 slices")
}

fn channel_stats(session: &Session, input: &Tensor) -> Vec<Vec<Vec<explainme_onnx::ChannelStat>>> {
    let prediction = session.predict(input).expect("predict");
    prediction
        .activations
        .iter()
        .map(|a| a.channel_stats().expect("stats"))
        .collect()
}

fn predict(c: &mut Criterion) {
    let s = setup();
    eprintln!(
        "model: {} parameters; exposed layers: {:?}",
        s.model.summary().parameters,
        s.card.feature_layers
    );
    let mut group = c.benchmark_group("predict");
    group.sample_size(30);
    for cases in BATCHES {
        let input = batch(&s.card, cases);
        group.throughput(Throughput::Elements(cases as u64));
        group.bench_with_input(BenchmarkId::new("0 layers", cases), &input, |b, input| {
            b.iter(|| s.plain.predict(input).expect("predict"))
        });
        group.bench_with_input(BenchmarkId::new("3 layers", cases), &input, |b, input| {
            b.iter(|| s.exposed.predict(input).expect("predict"))
        });
        group.bench_with_input(
            BenchmarkId::new("3 layers + channel stats", cases),
            &input,
            |b, input| b.iter(|| channel_stats(&s.exposed, input)),
        );
    }
    group.finish();
}

criterion_group!(benches, predict);

/// Median and mean milliseconds of [`RUNS`] calls after 3 warm-up calls (the peer's
/// protocol). Both, because on a loaded machine a preempted ONNX Runtime worker thread
/// makes rare slow runs that move the mean (and criterion's estimate) but not the median.
fn timings_ms(mut run: impl FnMut()) -> (f64, f64) {
    (0..3).for_each(|_| run());
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[RUNS / 2], times.iter().sum::<f64>() / RUNS as f64)
}

/// Runs the onnxruntime Python peer on the bench's model file and input files.
fn peer(
    work: &std::path::Path,
    s: &Setup,
    inputs: &[(usize, PathBuf)],
) -> Result<serde_json::Value, String> {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/peers/predict_onnxruntime.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(work.join("seeded_cnn.onnx"))
        .arg(s.card.feature_layers.join(","))
        .arg(RUNS.to_string())
        .args(
            inputs
                .iter()
                .map(|(cases, path)| format!("{cases}={}", path.display())),
        )
        .output()
        .map_err(|e| format!("python3 does not run: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.lines().last().unwrap_or("no message").to_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("peer output is not JSON: {e}"))
}

fn side_by_side() {
    let s = setup();
    let work = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/predict-bench");
    std::fs::create_dir_all(&work).expect("bench dir");
    std::fs::write(work.join("seeded_cnn.onnx"), s.model.to_bytes()).expect("write model");
    let mut inputs = Vec::new();
    for cases in BATCHES {
        let path = work.join(format!("batch{cases}.f32"));
        let bytes: Vec<u8> = batch(&s.card, cases)
            .data
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        std::fs::write(&path, bytes).expect("write batch");
        inputs.push((cases, path));
    }
    let peer = peer(&work, &s, &inputs);
    let peer_results = peer
        .as_ref()
        .ok()
        .and_then(|p| p["results"].as_array().cloned())
        .unwrap_or_default();

    println!(
        "\nPredict, seeded 64×64 CNN ({} parameters), median (mean) of {RUNS} runs",
        s.model.summary().parameters
    );
    // Both columns share the machine; on a busy one they are comparable only to each other.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        println!(
            "load average {} on {cores} cores",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    match &peer {
        Ok(p) => println!(
            "peer: onnxruntime {} (Python), same model file and input bytes",
            p["onnxruntime"].as_str().unwrap_or("?")
        ),
        Err(why) => {
            println!("peer not run ({why}); pip install -r benches/peers/requirements-onnx.txt")
        }
    }
    println!(
        "{:<7} {:>5} {:>20} {:>20} {:>9} {:>15}",
        "layers", "batch", "explainme ms", "onnxruntime ms", "max |Δp|", "max |Δ ch mean|"
    );
    for (layers, session) in [(0, &s.plain), (3, &s.exposed)] {
        for cases in BATCHES {
            let input = batch(&s.card, cases);
            let (median, mean) = timings_ms(|| {
                session.predict(&input).expect("predict");
            });
            let ours = session.predict(&input).expect("predict");
            let theirs = peer_results
                .iter()
                .find(|r| r["layers"] == layers && r["batch"] == cases);
            let (peer_ms, dp, dmean) = match theirs {
                None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
                Some(r) => {
                    let ms = |key: &str| r[key].as_f64().expect("peer timings");
                    let (dp, dmean) = deviations(&ours, r);
                    let dmean = dmean.map_or("-".to_owned(), |d| format!("{d:.1e}"));
                    let peer_ms = format!("{:.3} ({:.3})", ms("median_ms"), ms("mean_ms"));
                    (peer_ms, format!("{dp:.1e}"), dmean)
                }
            };
            let ours_ms = format!("{median:.3} ({mean:.3})");
            println!("{layers:<7} {cases:>5} {ours_ms:>20} {peer_ms:>20} {dp:>9} {dmean:>15}");
        }
    }
}

/// Largest absolute differences to the peer: probabilities, and per-channel means of the
/// exposed layers (`None` when no layer is exposed).
fn deviations(ours: &Prediction, theirs: &serde_json::Value) -> (f32, Option<f32>) {
    let probabilities: Vec<f32> =
        serde_json::from_value(theirs["probabilities"].clone()).expect("peer probabilities");
    let max_diff = |a: &[f32], b: &[f32]| {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    };
    let dp = max_diff(&ours.probabilities, &probabilities);
    let dmean = ours.activations.iter().map(|activation| {
        let means: Vec<Vec<f32>> =
            serde_json::from_value(theirs["channel_means"][&activation.layer].clone())
                .expect("peer channel means");
        let stats = activation.channel_stats().expect("stats");
        stats
            .iter()
            .zip(&means)
            .map(|(case, their_case)| {
                let ours: Vec<f32> = case.iter().map(|c| c.mean).collect();
                max_diff(&ours, their_case)
            })
            .fold(0f32, f32::max)
    });
    (dp, dmean.reduce(f32::max))
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs each benchmark once as a smoke test; the table is for
    // `cargo bench` only.
    if std::env::args().any(|a| a == "--bench") {
        side_by_side();
    }
}

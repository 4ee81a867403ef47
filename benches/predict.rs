//! Predict latency of a 64×64 one-channel CNN (~101k parameters, `builder::seeded_cnn`)
//! through explainme-onnx and ONNX Runtime 1.31.1, with 0 and 3 exposed layers, batch 1
//! and 32.
//!
//! `cargo bench --bench predict`. The "3 layers + channel stats" case adds what the
//! Predict RPC computes on top: per-channel mean and max of each exposed layer.
//! Sessions are built outside the timed loop; the input batch is preprocessed once.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use explainme_onnx::{Layout, ModelCard, Session, Tensor, builder};

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

fn predict(c: &mut Criterion) {
    let (model, card) = builder::seeded_cnn(2026).expect("seeded CNN builds");
    let layers = card.feature_layers.clone();
    let plain = Session::new(&model, &card, &[]).expect("session without layers");
    let exposed = Session::new(&model, &card, &layers).expect("session with 3 layers");
    eprintln!(
        "model: {} parameters; exposed layers: {layers:?}",
        model.summary().parameters
    );

    let mut group = c.benchmark_group("predict");
    group.sample_size(30);
    for cases in [1, 32] {
        let input = batch(&card, cases);
        group.throughput(Throughput::Elements(cases as u64));
        group.bench_with_input(BenchmarkId::new("0 layers", cases), &input, |b, input| {
            b.iter(|| plain.predict(input).expect("predict"))
        });
        group.bench_with_input(BenchmarkId::new("3 layers", cases), &input, |b, input| {
            b.iter(|| exposed.predict(input).expect("predict"))
        });
        group.bench_with_input(
            BenchmarkId::new("3 layers + channel stats", cases),
            &input,
            |b, input| {
                b.iter(|| {
                    let prediction = exposed.predict(input).expect("predict");
                    prediction
                        .activations
                        .iter()
                        .map(|a| a.tensor.channel_stats(Layout::Nchw).expect("stats"))
                        .collect::<Vec<_>>()
                })
            },
        );
        let activations = exposed.predict(&input).expect("predict").activations;
        group.bench_with_input(
            BenchmarkId::new("channel stats only", cases),
            &activations,
            |b, activations| {
                b.iter(|| {
                    activations
                        .iter()
                        .map(|a| a.tensor.channel_stats(Layout::Nchw).expect("stats"))
                        .collect::<Vec<_>>()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, predict);
criterion_main!(benches);

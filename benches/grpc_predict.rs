//! Predict latency through the whole server: a tonic client on loopback, the gRPC
//! decode/encode, the blocking-pool hop, the cached ONNX Runtime session and the
//! per-channel statistics — for the 64×64 one-channel seeded CNN (~101k parameters,
//! `builder::seeded_cnn`, the same seed as `benches/predict.rs`), batch 1 and 32, with no
//! layer (`prediction_only`) and with the card's three feature layers.
//!
//! `cargo bench --bench grpc_predict`. Compare with `cargo bench --bench predict`, which times
//! the same model through explainme-onnx alone: the difference is the transport's cost.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme::server::ServerConfig;
use explainme_onnx::{Tensor, builder};
use tonic::transport::Channel;

mod support;

const SEED: u64 = 2026;
const BATCHES: [usize; 2] = [1, 32];

/// A running server with the seeded CNN registered, and a client connected to it.
struct Setup {
    runtime: tokio::runtime::Runtime,
    client: ExplainerServiceClient<Channel>,
    model_id: String,
    _data_dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let (model, card) = builder::seeded_cnn(SEED).expect("seeded CNN builds");
    let (client, model_id) = runtime.block_on(async {
        let channel = support::serve(ServerConfig::loopback(data_dir.path())).await;
        let mut client = ExplainerServiceClient::new(channel);
        let registered = client
            .register_model(pb::RegisterModelRequest {
                name: "seeded-cnn".into(),
                onnx: model.to_bytes(),
                card_json: card.to_json(),
            })
            .await
            .expect("model registers")
            .into_inner();
        (client, registered.model.expect("model info").model_id)
    });
    Setup {
        runtime,
        client,
        model_id,
        _data_dir: data_dir,
    }
}

/// A preprocessed batch of synthetic HU slices, as the wire tensor.
fn batch(size: usize) -> pb::FloatTensor {
    let (_, card) = builder::seeded_cnn(SEED).expect("seeded CNN builds");
    let images: Vec<Tensor> = (0..size)
        .map(|case| {
            let hu = (0..64 * 64)
                .map(|i| -150.0 + ((i * 7 + case * 13) % 211) as f32 * 1.5)
                .collect();
            Tensor::new(vec![64, 64], hu).expect("64×64 image")
        })
        .collect();
    let Tensor { shape, data } = card.preprocess(&images).expect("preprocessing");
    pb::FloatTensor {
        shape: shape.into_iter().map(|d| d as u64).collect(),
        data,
    }
}

fn grpc_predict(c: &mut Criterion) {
    let Setup {
        runtime,
        client,
        model_id,
        _data_dir,
    } = setup();
    let mut group = c.benchmark_group("grpc_predict");
    for size in BATCHES {
        let input = batch(size);
        group.throughput(Throughput::Elements(size as u64));
        for (label, prediction_only) in [("0 layers", true), ("3 layers + stats", false)] {
            let request = pb::PredictRequest {
                model_id: model_id.clone(),
                input: Some(input.clone()),
                layers: vec![],
                prediction_only,
            };
            // One call outside the timing builds and caches the session.
            let warm = runtime
                .block_on(client.clone().predict(request.clone()))
                .expect("predict")
                .into_inner();
            assert_eq!(warm.items.len(), size);
            group.bench_with_input(BenchmarkId::new(label, size), &request, |b, request| {
                b.iter(|| {
                    runtime
                        .block_on(client.clone().predict(request.clone()))
                        .expect("predict")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, grpc_predict);
criterion_main!(benches);

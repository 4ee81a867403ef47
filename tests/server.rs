//! End to end: a real server on a loopback port with a real SQLite data directory, real
//! ONNX Runtime, and a tonic client speaking the public contract.

use std::net::SocketAddr;
use std::path::Path;

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme::server::{self, ServerConfig};
use explainme_onnx::Dim;
use explainme_onnx::builder::GraphBuilder;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A server running in this process until [`Running::stop`].
struct Running {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn start(data_dir: &Path, max_message_bytes: usize) -> Running {
        let bound = server::bind(ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
            max_message_bytes,
        })
        .await
        .unwrap();
        let address = bound.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.serve(async {
            let _ = stopped.await;
        }));
        Running {
            address,
            stop,
            task,
        }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn client(&self) -> ExplainerServiceClient<Channel> {
        // The client's own limits are raised so only the server's limit is under test.
        ExplainerServiceClient::new(self.channel().await)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

/// A model small enough to compute by hand:
/// `prob = sigmoid(mean(relu(2 x)))` over a 1×2×2 NCHW input, with `act = relu(2 x)` as
/// the feature layer.
fn tiny_model() -> Vec<u8> {
    let n = || Dim::Symbolic("N".into());
    let mut g = GraphBuilder::new("tiny");
    g.input("x", &[n(), Dim::Fixed(1), Dim::Fixed(2), Dim::Fixed(2)])
        .weight("two", &[1], vec![2.0])
        .node("Mul", &["x", "two"], &["doubled"], vec![])
        .node("Relu", &["doubled"], &["act"], vec![])
        .node("GlobalAveragePool", &["act"], &["gap"], vec![])
        .node(
            "Flatten",
            &["gap"],
            &["logit"],
            vec![explainme_onnx::builder::int("axis", 1)],
        )
        .node("Sigmoid", &["logit"], &["prob"], vec![])
        .value_info("act", &[n(), Dim::Fixed(1), Dim::Fixed(2), Dim::Fixed(2)])
        .output("prob", &[n(), Dim::Fixed(1)]);
    g.model().unwrap().to_bytes()
}

const TINY_CARD: &str = r#"{ "input": "x", "layout": "NCHW", "dims": 2, "input_size": [2, 2],
    "preprocessing": { "intensity": { "range": { "min": -1000, "max": 1000 } }, "normalisation": "none" },
    "output": "sigmoid_probability", "class_names": ["benign", "malignant"],
    "positive_class": "malignant", "feature_layers": ["act"] }"#;

fn register(name: &str, onnx: Vec<u8>, card_json: &str) -> pb::RegisterModelRequest {
    pb::RegisterModelRequest {
        name: name.to_owned(),
        onnx,
        card_json: card_json.to_owned(),
    }
}

fn batch(shape: &[u64], data: &[f32]) -> Option<pb::FloatTensor> {
    Some(pb::FloatTensor {
        shape: shape.to_vec(),
        data: data.to_vec(),
    })
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn assert_close(got: f32, want: f32) {
    assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_register_predict_fail_cleanly_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), 1024 * 1024).await;

    let mut health = HealthClient::new(running.channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "explainme.v1.ExplainerService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    let mut client = running.client().await;
    let registered = client
        .register_model(register("tiny", tiny_model(), TINY_CARD))
        .await
        .unwrap()
        .into_inner();
    assert!(registered.created);
    let model = registered.model.unwrap();
    assert_eq!(model.name, "tiny");
    assert_eq!(model.onnx_bytes, tiny_model().len() as u64);

    // Two cases: x1 = [1, -2, 3, -4] gives act = [2, 0, 6, 0], mean 2, max 6;
    // x2 = [-1, -1, -1, -1] gives act = 0 everywhere, probability sigmoid(0) = 0.5.
    let predicted = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[2, 1, 2, 2], &[1.0, -2.0, 3.0, -4.0, -1.0, -1.0, -1.0, -1.0]),
            layers: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(predicted.items.len(), 2);
    let first = &predicted.items[0];
    assert_close(first.probability, sigmoid(2.0));
    assert_eq!((first.class_name.as_str(), first.class_index), ("malignant", 1));
    assert_eq!(first.layers.len(), 1);
    assert_eq!(first.layers[0].layer, "act");
    assert_eq!(first.layers[0].shape, [1, 2, 2]);
    assert_close(first.layers[0].channel_mean[0], 2.0);
    assert_close(first.layers[0].channel_max[0], 6.0);
    let second = &predicted.items[1];
    assert_close(second.probability, 0.5);
    assert_close(second.layers[0].channel_max[0], 0.0);

    // Explicit layers: the pre-activation tensor, negative values kept.
    let doubled = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[1, 1, 2, 2], &[1.0, -2.0, 3.0, -4.0]),
            layers: vec!["doubled".into()],
        })
        .await
        .unwrap()
        .into_inner();
    let layer = &doubled.items[0].layers[0];
    assert_eq!(layer.layer, "doubled");
    assert_close(layer.channel_mean[0], -1.0);
    assert_close(layer.channel_max[0], 6.0);

    let described = client
        .describe_model(pb::DescribeModelRequest {
            model_id: model.model_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let act = described
        .layers
        .iter()
        .find(|l| l.tensor.as_ref().unwrap().name == "act")
        .unwrap();
    assert_eq!(act.op_type, "Relu");
    assert_eq!(act.tensor.as_ref().unwrap().shape, [-1, 1, 2, 2]);
    assert_eq!(described.inputs[0].name, "x");

    // Bad requests fail with the documented codes and leave the server up.
    let garbage = client
        .register_model(register("garbage", b"not an onnx model".to_vec(), TINY_CARD))
        .await
        .unwrap_err();
    assert_eq!(garbage.code(), Code::InvalidArgument, "{garbage:?}");
    assert!(garbage.message().starts_with("onnx:"), "{}", garbage.message());

    let wrong_card = TINY_CARD.replace(r#""input": "x""#, r#""input": "image""#);
    let mismatch = client
        .register_model(register("wrong card", tiny_model(), &wrong_card))
        .await
        .unwrap_err();
    assert_eq!(mismatch.code(), Code::InvalidArgument, "{mismatch:?}");
    assert!(mismatch.message().contains("input"), "{}", mismatch.message());

    let unknown = client
        .predict(pb::PredictRequest {
            model_id: "m0000000000000000".into(),
            input: batch(&[1, 1, 2, 2], &[0.0; 4]),
            layers: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");

    let nan = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[1, 1, 2, 2], &[0.0, f32::NAN, 0.0, 0.0]),
            layers: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(nan.code(), Code::InvalidArgument, "{nan:?}");
    assert!(nan.message().contains("index 1"), "{}", nan.message());

    let wrong_shape = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[1, 1, 3, 3], &[0.0; 9]),
            layers: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(wrong_shape.code(), Code::InvalidArgument, "{wrong_shape:?}");

    let unknown_layer = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[1, 1, 2, 2], &[0.0; 4]),
            layers: vec!["no/such/layer".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_layer.code(), Code::InvalidArgument, "{unknown_layer:?}");

    // 2 MiB of floats against a 1 MiB limit.
    let too_large = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[1, 1, 512, 1024], &vec![0.0; 512 * 1024]),
            layers: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(too_large.code(), Code::ResourceExhausted, "{too_large:?}");

    let unimplemented = client
        .explain(pb::ExplainRequest::default())
        .await
        .unwrap_err();
    assert_eq!(unimplemented.code(), Code::Unimplemented);
    assert!(unimplemented.message().contains("explainme-explain"));

    let listed = client
        .list_models(pb::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner()
        .models;
    assert_eq!(listed, vec![model.clone()], "failed registrations store nothing");

    running.stop().await;

    // Same data directory, new process state: the model is still there and still predicts.
    let restarted = Running::start(dir.path(), 1024 * 1024).await;
    let mut client = restarted.client().await;
    let listed = client
        .list_models(pb::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner()
        .models;
    assert_eq!(listed, vec![model.clone()]);
    let again = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[1, 1, 2, 2], &[1.0, -2.0, 3.0, -4.0]),
            layers: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert_close(again.items[0].probability, sigmoid(2.0));

    let reregistered = client
        .register_model(register("tiny", tiny_model(), TINY_CARD))
        .await
        .unwrap()
        .into_inner();
    assert!(!reregistered.created, "same bytes and card are the same model");

    client
        .delete_model(pb::DeleteModelRequest {
            model_id: model.model_id.clone(),
        })
        .await
        .unwrap();
    let gone = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[1, 1, 2, 2], &[0.0; 4]),
            layers: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    restarted.stop().await;
}

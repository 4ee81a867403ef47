//! End to end: a real server on a loopback port with a real SQLite data directory, real
//! ONNX Runtime, and a tonic client speaking the public contract.

mod server_support;

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme_onnx::Dim;
use explainme_onnx::builder::GraphBuilder;
use server_support::Running;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

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

/// Predict on one model; `Err` carries the status so failures can be checked.
async fn predict(
    client: &mut ExplainerServiceClient<Channel>,
    model_id: &str,
    shape: &[u64],
    data: &[f32],
    layers: &[&str],
) -> Result<pb::PredictResponse, Status> {
    client
        .predict(pb::PredictRequest {
            model_id: model_id.to_owned(),
            input: batch(shape, data),
            layers: layers.iter().map(|l| l.to_string()).collect(),
            prediction_only: false,
        })
        .await
        .map(tonic::Response::into_inner)
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

    let mut health = HealthClient::new(running.channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "explainme.v1.ExplainerService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    let mut client = running.client();
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
    let predicted = predict(
        &mut client,
        &model.model_id,
        &[2, 1, 2, 2],
        &[1.0, -2.0, 3.0, -4.0, -1.0, -1.0, -1.0, -1.0],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(predicted.items.len(), 2);
    // The tiny model's batch axis is symbolic, and the answer says so.
    assert_eq!(
        predicted.batching.as_ref().map(|b| b.mode),
        Some(pb::BatchingMode::Native as i32)
    );
    let first = &predicted.items[0];
    assert_close(first.probability, sigmoid(2.0));
    assert_eq!(
        (first.class_name.as_str(), first.class_index),
        ("malignant", 1)
    );
    assert_eq!(first.layers.len(), 1);
    assert_eq!(first.layers[0].layer, "act");
    assert_eq!(first.layers[0].shape, [1, 2, 2]);
    assert_eq!(first.layers[0].layout, pb::ChannelLayout::Nchw as i32);
    assert_close(first.layers[0].channel_mean[0], 2.0);
    assert_close(first.layers[0].channel_max[0], 6.0);
    let second = &predicted.items[1];
    assert_close(second.probability, 0.5);
    assert_close(second.layers[0].channel_max[0], 0.0);

    // Explicit layers: the pre-activation tensor, negative values kept.
    let doubled = predict(
        &mut client,
        &model.model_id,
        &[1, 1, 2, 2],
        &[1.0, -2.0, 3.0, -4.0],
        &["doubled"],
    )
    .await
    .unwrap();
    let layer = &doubled.items[0].layers[0];
    assert_eq!(layer.layer, "doubled");
    assert_close(layer.channel_mean[0], -1.0);
    assert_close(layer.channel_max[0], 6.0);

    let bare = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[1, 1, 2, 2], &[1.0, -2.0, 3.0, -4.0]),
            layers: vec![],
            prediction_only: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_close(bare.items[0].probability, sigmoid(2.0));
    assert!(
        bare.items[0].layers.is_empty(),
        "prediction_only summarises no layer"
    );
    let contradictory = client
        .predict(pb::PredictRequest {
            model_id: model.model_id.clone(),
            input: batch(&[1, 1, 2, 2], &[0.0; 4]),
            layers: vec!["act".into()],
            prediction_only: true,
        })
        .await
        .unwrap_err();
    assert_eq!(contradictory.code(), Code::InvalidArgument);

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
        .register_model(register(
            "garbage",
            b"not an onnx model".to_vec(),
            TINY_CARD,
        ))
        .await
        .unwrap_err();
    assert_eq!(garbage.code(), Code::InvalidArgument, "{garbage:?}");
    assert!(
        garbage.message().starts_with("onnx:"),
        "{}",
        garbage.message()
    );

    let wrong_card = TINY_CARD.replace(r#""input": "x""#, r#""input": "image""#);
    let mismatch = client
        .register_model(register("wrong-card", tiny_model(), &wrong_card))
        .await
        .unwrap_err();
    assert_eq!(mismatch.code(), Code::InvalidArgument, "{mismatch:?}");
    assert!(
        mismatch.message().contains("input"),
        "{}",
        mismatch.message()
    );

    let unknown = predict(
        &mut client,
        "m0000000000000000",
        &[1, 1, 2, 2],
        &[0.0; 4],
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");

    let nan = predict(
        &mut client,
        &model.model_id,
        &[1, 1, 2, 2],
        &[0.0, f32::NAN, 0.0, 0.0],
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(nan.code(), Code::InvalidArgument, "{nan:?}");
    assert!(nan.message().contains("index 1"), "{}", nan.message());

    let wrong_shape = predict(&mut client, &model.model_id, &[1, 1, 3, 3], &[0.0; 9], &[])
        .await
        .unwrap_err();
    assert_eq!(wrong_shape.code(), Code::InvalidArgument, "{wrong_shape:?}");

    let unknown_layer = predict(
        &mut client,
        &model.model_id,
        &[1, 1, 2, 2],
        &[0.0; 4],
        &["no/such/layer"],
    )
    .await
    .unwrap_err();
    assert_eq!(
        unknown_layer.code(),
        Code::InvalidArgument,
        "{unknown_layer:?}"
    );

    // 2 MiB of floats against a 1 MiB limit.
    let too_large = predict(
        &mut client,
        &model.model_id,
        &[1, 1, 512, 1024],
        &vec![0.0; 512 * 1024],
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(too_large.code(), Code::ResourceExhausted, "{too_large:?}");

    // Explain before any fit is a call out of order.
    let before_fit = client
        .explain(pb::ExplainRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        before_fit.code(),
        Code::InvalidArgument,
        "no targets: {before_fit:?}"
    );
    let before_fit = client
        .explain(pb::ExplainRequest {
            targets: vec![pb::ExplainTarget {
                target: Some(pb::explain_target::Target::CaseId("c1".into())),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        before_fit.code(),
        Code::FailedPrecondition,
        "{before_fit:?}"
    );
    assert!(before_fit.message().contains("FitExplainer"));

    let listed = client
        .list_models(pb::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner()
        .models;
    assert_eq!(
        listed,
        vec![model.clone()],
        "failed registrations store nothing"
    );

    running.stop().await;

    // Same data directory, new process state: the model is still there and still predicts.
    let restarted = Running::start(dir.path(), 1024 * 1024).await;
    let mut client = restarted.client();
    let listed = client
        .list_models(pb::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner()
        .models;
    assert_eq!(listed, vec![model.clone()]);
    let again = predict(
        &mut client,
        &model.model_id,
        &[1, 1, 2, 2],
        &[1.0, -2.0, 3.0, -4.0],
        &[],
    )
    .await
    .unwrap();
    assert_close(again.items[0].probability, sigmoid(2.0));

    let reregistered = client
        .register_model(register("tiny", tiny_model(), TINY_CARD))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !reregistered.created,
        "same bytes and card are the same model"
    );

    client
        .delete_model(pb::DeleteModelRequest {
            model_id: model.model_id.clone(),
        })
        .await
        .unwrap();
    let gone = predict(&mut client, &model.model_id, &[1, 1, 2, 2], &[0.0; 4], &[])
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    restarted.stop().await;
}

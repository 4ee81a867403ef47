//! What the server benchmarks share: the demo CNN's folder, a phantom cohort as wire cases,
//! percentiles and the machine's load. `mod support;` from a bench file.
#![allow(dead_code)] // each bench uses a different subset

use std::path::{Path, PathBuf};

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme::server::{self, ServerConfig};
use explainme_cohort::{Cohort, FeatureKind, FeatureSchema};
use tonic::transport::Channel;

/// The committed demo CNN and its card.
pub fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models")
}

/// `/proc/loadavg`'s three figures, printed with every measurement.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The `q` quantile of `sorted` (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// A 16-bit PNG as a wire image.
pub fn file(data: Vec<u8>) -> Option<pb::Image> {
    Some(pb::Image {
        source: Some(pb::image::Source::Encoded(pb::EncodedImage {
            format: pb::ImageFormat::Png16.into(),
            data,
        })),
    })
}

/// The cohort's cases as wire cases of cohort `name`, schema `renal`, with their lesion masks.
pub fn wire_cases(cohort: &Cohort, name: &str) -> Vec<pb::Case> {
    cohort
        .cases
        .iter()
        .map(|case| pb::Case {
            cohort: name.into(),
            case_id: case.id.clone(),
            schema: "renal".into(),
            image: file(std::fs::read(cohort.image_path(case)).expect("image")),
            labels: case
                .labels
                .iter()
                .map(|(feature, raw)| pb::Label {
                    feature: feature.clone(),
                    value: Some(match cohort.schema.feature(feature).map(|f| &f.kind) {
                        Ok(FeatureKind::Numeric { .. }) => {
                            pb::label::Value::Number(raw.parse().expect("number"))
                        }
                        _ => pb::label::Value::State(raw.clone()),
                    }),
                })
                .collect(),
            masks: ["lesion"]
                .iter()
                .filter_map(|m| {
                    let path = cohort.mask_path(case, m);
                    path.is_file().then(|| pb::ConceptMask {
                        concept: (*m).into(),
                        mask: file(std::fs::read(path).expect("mask")),
                    })
                })
                .collect(),
        })
        .collect()
}

/// Registers the demo CNN (`onnx`: its bytes) as `renal_cnn` and stores the renal schema as
/// `renal`; returns the model's id.
pub async fn register_demo(client: &mut ExplainerServiceClient<Channel>, onnx: Vec<u8>) -> String {
    let model_id = client
        .register_model(pb::RegisterModelRequest {
            name: "renal_cnn".into(),
            onnx,
            card_json: std::fs::read_to_string(models().join("renal_cnn.card.json")).expect("card"),
        })
        .await
        .expect("register")
        .into_inner()
        .model
        .expect("model")
        .model_id;
    client
        .put_feature_schema(pb::PutFeatureSchemaRequest {
            name: "renal".into(),
            schema: Some(pb::FeatureSchema::from(FeatureSchema::renal_demo())),
        })
        .await
        .expect("schema");
    model_id
}

/// Binds a server of `config`, serves it on the current runtime until the process ends, and
/// connects a channel to it.
pub async fn serve(config: ServerConfig) -> Channel {
    serve_at(config).await.0
}

/// [`serve`], also giving the server's URL, for a client that wants a connection of its own.
#[allow(dead_code)] // only the load bench opens a second connection
pub async fn serve_at(config: ServerConfig) -> (Channel, String) {
    let bound = server::bind(config).await.expect("server binds");
    let address = bound.local_addr().expect("bound address");
    tokio::spawn(bound.serve(std::future::pending()));
    let url = format!("http://{address}");
    (connect(&url).await, url)
}

/// A new HTTP/2 connection to the server at `url`.
pub async fn connect(url: &str) -> Channel {
    Channel::from_shared(url.to_owned())
        .expect("endpoint")
        .connect()
        .await
        .expect("client connects")
}

//! A real server in the test process: bound on a loopback port 0, serving a real data
//! directory until [`Running::stop`]. Shared by the `server*` end-to-end tests.

use std::path::{Path, PathBuf};

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme::server::{self, ServerConfig};
use explainme_budget::MemoryBudget;
use explainme_cohort::{Cohort, FeatureKind};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub struct Running {
    pub channel: Channel,
    /// The workbench's base URL (`http://127.0.0.1:PORT`), when started with it.
    #[allow(dead_code)] // only the workbench tests open it
    pub workbench: Option<String>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    #[allow(dead_code)] // the workbench tests start with the workbench
    pub async fn start(data_dir: &Path, max_message_bytes: usize) -> Running {
        Running::start_within(data_dir, max_message_bytes, MemoryBudget::default()).await
    }

    /// [`Running::start`] with a memory budget of its own.
    #[allow(dead_code)]
    pub async fn start_within(
        data_dir: &Path,
        max_message_bytes: usize,
        memory_budget: MemoryBudget,
    ) -> Running {
        Running::start_config(ServerConfig {
            max_message_bytes,
            memory_budget,
            ..ServerConfig::loopback(data_dir)
        })
        .await
    }

    /// [`Running::start`] with the clinician workbench served on another loopback port.
    #[allow(dead_code)] // only the workbench tests open it
    pub async fn start_with_workbench(data_dir: &Path) -> Running {
        Running::start_config(ServerConfig {
            http: Some("127.0.0.1:0".parse().unwrap()),
            ..ServerConfig::loopback(data_dir)
        })
        .await
    }

    /// A server of `config` (its `listen` and `http`, when set, should be port 0 on loopback).
    pub async fn start_config(config: ServerConfig) -> Running {
        let bound = server::bind(config).await.unwrap();
        let address = bound.local_addr().unwrap();
        let workbench = bound
            .local_http_addr()
            .unwrap()
            .map(|address| format!("http://{address}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.serve(async {
            let _ = stopped.await;
        }));
        let channel = Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Running {
            channel,
            workbench,
            stop,
            task,
        }
    }

    /// A client whose own size limits are lifted, so only the server's limit is under test.
    pub fn client(&self) -> ExplainerServiceClient<Channel> {
        ExplainerServiceClient::new(self.channel.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
    }

    /// Stops the server and checks it shut down without error.
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

/// An inline Hounsfield-unit image of `shape`.
#[allow(dead_code)] // not every server test sends cases
pub fn hounsfield(shape: &[u64], data: Vec<f32>) -> Option<pb::Image> {
    Some(pb::Image {
        source: Some(pb::image::Source::Hounsfield(pb::FloatTensor {
            shape: shape.to_vec(),
            data,
        })),
    })
}

/// Streams `cases` to UpsertCases and returns the answer.
#[allow(dead_code)]
pub async fn upsert(
    client: &mut ExplainerServiceClient<Channel>,
    cases: Vec<pb::Case>,
) -> Result<pb::UpsertCasesResponse, tonic::Status> {
    let messages = cases
        .into_iter()
        .map(|case| pb::UpsertCaseRequest { case: Some(case) });
    client
        .upsert_cases(tokio_stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

/// The committed demo CNN and its card.
#[allow(dead_code)] // not every server test registers the demo CNN
pub fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models")
}

/// An encoded image file as a wire image.
#[allow(dead_code)]
pub fn file(format: pb::ImageFormat, data: Vec<u8>) -> Option<pb::Image> {
    Some(pb::Image {
        source: Some(pb::image::Source::Encoded(pb::EncodedImage {
            format: format.into(),
            data,
        })),
    })
}

/// A phantom cohort of `cases` (seed 77) written to `dir`, as wire cases of cohort `name`:
/// PNG images and masks, labels as numbers or states.
#[allow(dead_code)]
pub fn phantom_cases(dir: &Path, name: &str, cases: usize) -> (Cohort, Vec<pb::Case>) {
    explainme_phantom::Phantom::params()
        .cases(cases)
        .seed(77)
        .write(dir, || {})
        .unwrap();
    let cohort = Cohort::open(dir).unwrap();
    let cases = cohort
        .cases
        .iter()
        .map(|case| {
            let labels = case
                .labels
                .iter()
                .map(|(feature, raw)| {
                    let numeric = matches!(
                        cohort.schema.feature(feature).map(|f| &f.kind),
                        Ok(FeatureKind::Numeric { .. })
                    );
                    pb::Label {
                        feature: feature.clone(),
                        value: Some(if numeric {
                            pb::label::Value::Number(raw.parse().unwrap())
                        } else {
                            pb::label::Value::State(raw.clone())
                        }),
                    }
                })
                .collect();
            let masks = std::fs::read_dir(dir.join("masks").join(&case.id))
                .map(|entries| {
                    entries
                        .map(|e| e.unwrap().path())
                        .map(|path| pb::ConceptMask {
                            concept: path.file_stem().unwrap().to_string_lossy().into_owned(),
                            mask: file(pb::ImageFormat::Png16, std::fs::read(&path).unwrap()),
                        })
                        .collect()
                })
                .unwrap_or_default();
            pb::Case {
                cohort: name.into(),
                case_id: case.id.clone(),
                schema: "renal".into(),
                image: file(
                    pb::ImageFormat::Png16,
                    std::fs::read(cohort.image_path(case)).unwrap(),
                ),
                labels,
                masks,
            }
        })
        .collect();
    (cohort, cases)
}

/// Registers the committed demo CNN as `renal_demo` and stores the renal demo schema as
/// `renal`; returns the model's id.
#[allow(dead_code)]
pub async fn register_demo(client: &mut ExplainerServiceClient<Channel>) -> String {
    let model_id = client
        .register_model(pb::RegisterModelRequest {
            name: "renal_demo".into(),
            onnx: std::fs::read(models().join("renal_cnn.onnx")).unwrap(),
            card_json: std::fs::read_to_string(models().join("renal_cnn.card.json")).unwrap(),
        })
        .await
        .unwrap()
        .into_inner()
        .model
        .unwrap()
        .model_id;
    put_renal_schema(client).await;
    model_id
}

/// Stores the renal demo schema as `renal`, which the phantom cases name.
#[allow(dead_code)]
pub async fn put_renal_schema(client: &mut ExplainerServiceClient<Channel>) {
    client
        .put_feature_schema(pb::PutFeatureSchemaRequest {
            name: "renal".into(),
            schema: Some(pb::FeatureSchema::from(
                explainme_cohort::FeatureSchema::renal_demo(),
            )),
        })
        .await
        .unwrap();
}

/// The audit rows of the store in `data`, once at least `expected` are written (the server
/// writes them from a thread of its own; stopping it drains that thread).
#[allow(dead_code)]
pub async fn audit_rows(data: &Path, expected: usize) -> Vec<explainme_store::AuditRecord> {
    for _ in 0..100 {
        let store = explainme_store::Store::open_reader(data).unwrap();
        let rows = store.audit(0, None, 1000).unwrap();
        if rows.len() >= expected {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {expected} audit rows after 10 s");
}

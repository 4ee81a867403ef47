//! A real server in the test process: bound on a loopback port 0, serving a real data
//! directory until [`Running::stop`]. Shared by the `server*` end-to-end tests.

use std::path::Path;

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme::server::{self, ServerConfig};
use explainme_budget::MemoryBudget;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub struct Running {
    pub channel: Channel,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub async fn start(data_dir: &Path, max_message_bytes: usize) -> Running {
        Running::start_within(data_dir, max_message_bytes, MemoryBudget::default()).await
    }

    /// [`Running::start`] with a memory budget of its own.
    pub async fn start_within(
        data_dir: &Path,
        max_message_bytes: usize,
        memory_budget: MemoryBudget,
    ) -> Running {
        let bound = server::bind(ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
            max_message_bytes,
            memory_budget,
        })
        .await
        .unwrap();
        let address = bound.local_addr().unwrap();
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

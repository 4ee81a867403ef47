//! Thin gRPC handlers: convert the request, call the store or a domain crate, convert back.
//!
//! Blocking work (SQLite, ONNX Runtime) runs on tokio's blocking pool so it never stalls
//! the async executor. One file per service area.

mod background;
mod cases;
mod clinicians;
mod explainers;
mod models;
mod paging;
mod schemas;
mod series;

use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use explainme_budget::MemoryBudget;
use explainme_store::Store;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::audit::Audit;
use crate::convert::common::{join_error, store_error};
use crate::pb;
use crate::pb::explainer_service_server::ExplainerService;

/// The service state shared by every call.
#[derive(Debug, Clone)]
pub struct Api {
    /// The one connection that writes.
    store: Arc<Mutex<Store>>,
    /// The writer's blob directory (sharing its pins), where uploads stage their images.
    blobs: explainme_store::BlobStore,
    /// Idle read-only connections: reads never wait for a write or for each other.
    readers: Arc<Readers>,
    sessions: Arc<models::SessionCache>,
    /// Explainers bound to their model, for Explain, reports and exports.
    prepared: Arc<explainers::PreparedCache>,
    max_message_bytes: usize,
    /// What one request may allocate for external data (decoded images, inference).
    budget: MemoryBudget,
    /// Cases one UpsertCases stream may carry.
    max_cases_per_stream: usize,
    /// Where every call is recorded.
    audit: Arc<Audit>,
    /// Upload decoding, below the priority of the calls clinicians wait for.
    decoding: Arc<background::Background>,
}

impl Api {
    /// Opens the data directory; responses above `max_message_bytes` are refused, and so are
    /// requests whose decoding or inference would allocate more than `budget`.
    pub fn open(
        data_dir: &Path,
        max_message_bytes: usize,
        budget: MemoryBudget,
        max_cases_per_stream: usize,
    ) -> Result<Api, explainme_store::Error> {
        let store = Store::open(data_dir)?;
        if store.collected_at_open() > 0 {
            tracing::info!(
                files = store.collected_at_open(),
                "removed what interrupted writes left in the blob store"
            );
        }
        Ok(Api {
            blobs: store.blobs().clone(),
            store: Arc::new(Mutex::new(store)),
            readers: Arc::new(Readers {
                dir: data_dir.to_path_buf(),
                idle: Mutex::default(),
            }),
            sessions: Arc::new(models::SessionCache::default()),
            prepared: Arc::new(explainers::PreparedCache::default()),
            max_message_bytes,
            budget,
            max_cases_per_stream,
            audit: Arc::new(Audit::start(data_dir)?),
            decoding: Arc::new(background::Background::start().map_err(|source| {
                explainme_store::Error::Io {
                    path: data_dir.to_path_buf(),
                    source,
                }
            })?),
        })
    }

    /// The audit trail, for the server's gates to record what they refuse.
    pub(crate) fn audit(&self) -> Arc<Audit> {
        Arc::clone(&self.audit)
    }

    /// What one request may allocate for external data; the workbench decodes the images
    /// it shows within it too.
    pub(crate) fn budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// Wraps a handler's answer, refusing with RESOURCE_EXHAUSTED one too large to send:
    /// decided before encoding, because tonic would fail mid-stream with OUT_OF_RANGE.
    fn respond<T: prost::Message>(&self, answer: Result<T, Status>) -> Result<Response<T>, Status> {
        let response = answer.map_err(bounded)?;
        let size = response.encoded_len();
        if size > self.max_message_bytes {
            return Err(Status::resource_exhausted(format!(
                "response of {size} bytes exceeds the server's limit of {} bytes",
                self.max_message_bytes
            )));
        }
        Ok(Response::new(response))
    }

    /// Runs `work` with a read-only connection on the blocking pool.
    async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, Status> + Send + 'static,
    ) -> Result<T, Status> {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || readers.with(work))
            .await
            .map_err(join_error)?
    }

    /// Runs `work` with the writing connection on the blocking pool (one writer at a time).
    async fn with_writer<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store) -> Result<T, Status> + Send + 'static,
    ) -> Result<T, Status> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&mut lock(&store)))
            .await
            .map_err(join_error)?
    }
}

/// Read-only connections, opened on demand and kept for the next read.
#[derive(Debug)]
struct Readers {
    dir: std::path::PathBuf,
    idle: Mutex<Vec<Store>>,
}

impl Readers {
    /// Idle connections kept; more are opened when reads overlap and closed after.
    const KEEP: usize = 8;

    /// Runs `work` on an idle connection, or a new one.
    fn with<T>(&self, work: impl FnOnce(&Store) -> Result<T, Status>) -> Result<T, Status> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let reader = match idle {
            Some(reader) => reader,
            None => stored(Store::open_reader(&self.dir))?,
        };
        let answer = work(&reader);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < Readers::KEEP {
            idle.push(reader);
        }
        answer
    }
}

/// The most bytes of an error message sent: gRPC carries it in a header, and a message that
/// echoes a huge user value (a 5 MB name, a long state) would make the client's HTTP/2 stack
/// drop the connection instead of reporting the error.
const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

/// `status` with its message cut to [`MAX_ERROR_MESSAGE_BYTES`], on a character boundary.
fn bounded(status: Status) -> Status {
    let message = status.message();
    if message.len() <= MAX_ERROR_MESSAGE_BYTES {
        return status;
    }
    let mut cut = MAX_ERROR_MESSAGE_BYTES;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    Status::new(
        status.code(),
        format!("{}… ({} bytes in all)", &message[..cut], message.len()),
    )
}

/// Locks the store; a panic in another call cannot leave SQLite half-written (transactions
/// roll back), so a poisoned lock is safe to take over.
fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Store calls inside `with_store` closures report through this.
fn stored<T>(result: explainme_store::Result<T>) -> Result<T, Status> {
    result.map_err(store_error)
}

/// The stream type of FitExplainer.
pub type FitProgressStream = Pin<Box<dyn Stream<Item = Result<pb::FitProgress, Status>> + Send>>;

#[tonic::async_trait]
impl ExplainerService for Api {
    async fn register_model(
        &self,
        request: Request<pb::RegisterModelRequest>,
    ) -> Result<Response<pb::RegisterModelResponse>, Status> {
        let call = self.audit.begin("RegisterModel", &request);
        let answer = self.respond(models::register(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn list_models(
        &self,
        request: Request<pb::ListModelsRequest>,
    ) -> Result<Response<pb::ListModelsResponse>, Status> {
        let call = self.audit.begin("ListModels", &request);
        let answer = self.respond(models::list(self).await);
        call.end(answer)
    }

    async fn describe_model(
        &self,
        request: Request<pb::DescribeModelRequest>,
    ) -> Result<Response<pb::DescribeModelResponse>, Status> {
        let call = self.audit.begin("DescribeModel", &request);
        let answer = self.respond(models::describe(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn predict(
        &self,
        request: Request<pb::PredictRequest>,
    ) -> Result<Response<pb::PredictResponse>, Status> {
        let call = self.audit.begin("Predict", &request);
        let answer = self.respond(models::predict(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn delete_model(
        &self,
        request: Request<pb::DeleteModelRequest>,
    ) -> Result<Response<pb::DeleteModelResponse>, Status> {
        let call = self.audit.begin("DeleteModel", &request);
        let answer = self.respond(models::delete(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn draft_model_card(
        &self,
        request: Request<pb::DraftModelCardRequest>,
    ) -> Result<Response<pb::DraftModelCardResponse>, Status> {
        let call = self.audit.begin("DraftModelCard", &request);
        let answer = self.respond(models::draft_card(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn put_feature_schema(
        &self,
        request: Request<pb::PutFeatureSchemaRequest>,
    ) -> Result<Response<pb::PutFeatureSchemaResponse>, Status> {
        let call = self.audit.begin("PutFeatureSchema", &request);
        let answer = self.respond(schemas::put(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn get_feature_schema(
        &self,
        request: Request<pb::GetFeatureSchemaRequest>,
    ) -> Result<Response<pb::NamedFeatureSchema>, Status> {
        let call = self.audit.begin("GetFeatureSchema", &request);
        let answer = self.respond(schemas::get(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn list_feature_schemas(
        &self,
        request: Request<pb::ListFeatureSchemasRequest>,
    ) -> Result<Response<pb::ListFeatureSchemasResponse>, Status> {
        let call = self.audit.begin("ListFeatureSchemas", &request);
        let answer = self.respond(schemas::list(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn upsert_cases(
        &self,
        request: Request<Streaming<pb::UpsertCaseRequest>>,
    ) -> Result<Response<pb::UpsertCasesResponse>, Status> {
        let call = self.audit.begin("UpsertCases", &request);
        let answer = self.respond(cases::upsert(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        let call = self.audit.begin("GetCase", &request);
        let answer = self.respond(cases::get(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let call = self.audit.begin("ListCases", &request);
        let answer = self.respond(cases::list(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn delete_case(
        &self,
        request: Request<pb::DeleteCaseRequest>,
    ) -> Result<Response<pb::DeleteCaseResponse>, Status> {
        let call = self.audit.begin("DeleteCase", &request);
        let answer = self.respond(cases::delete(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn set_case_labels(
        &self,
        request: Request<pb::SetCaseLabelsRequest>,
    ) -> Result<Response<pb::SetCaseLabelsResponse>, Status> {
        let call = self.audit.begin("SetCaseLabels", &request);
        let answer = self.respond(clinicians::set_labels(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn get_label_history(
        &self,
        request: Request<pb::GetLabelHistoryRequest>,
    ) -> Result<Response<pb::LabelHistory>, Status> {
        let call = self.audit.begin("GetLabelHistory", &request);
        let answer = self.respond(clinicians::label_history(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn submit_feedback(
        &self,
        request: Request<pb::SubmitFeedbackRequest>,
    ) -> Result<Response<pb::SubmitFeedbackResponse>, Status> {
        let call = self.audit.begin("SubmitFeedback", &request);
        let answer =
            { self.respond(clinicians::submit_feedback(self, request.into_inner()).await) };
        call.end(answer)
    }

    async fn list_feedback(
        &self,
        request: Request<pb::ListFeedbackRequest>,
    ) -> Result<Response<pb::ListFeedbackResponse>, Status> {
        let call = self.audit.begin("ListFeedback", &request);
        let answer = self.respond(clinicians::list_feedback(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn judge_candidate(
        &self,
        request: Request<pb::JudgeCandidateRequest>,
    ) -> Result<Response<pb::KnownAssociations>, Status> {
        let call = self.audit.begin("JudgeCandidate", &request);
        let answer =
            { self.respond(clinicians::judge_candidate(self, request.into_inner()).await) };
        call.end(answer)
    }

    async fn get_known_associations(
        &self,
        request: Request<pb::GetKnownAssociationsRequest>,
    ) -> Result<Response<pb::KnownAssociations>, Status> {
        let call = self.audit.begin("GetKnownAssociations", &request);
        let answer = self.respond(clinicians::get_known(self).await);
        call.end(answer)
    }

    type FitExplainerStream = FitProgressStream;

    async fn fit_explainer(
        &self,
        request: Request<pb::FitExplainerRequest>,
    ) -> Result<Response<Self::FitExplainerStream>, Status> {
        let call = self.audit.begin("FitExplainer", &request);
        let answer = explainers::fit(self, request.into_inner())
            .await
            .map(Response::new)
            .map_err(bounded);
        call.end(answer)
    }

    async fn get_explainer(
        &self,
        request: Request<pb::GetExplainerRequest>,
    ) -> Result<Response<pb::ExplainerInfo>, Status> {
        let call = self.audit.begin("GetExplainer", &request);
        let answer = self.respond(explainers::get(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn list_explainers(
        &self,
        request: Request<pb::ListExplainersRequest>,
    ) -> Result<Response<pb::ListExplainersResponse>, Status> {
        let call = self.audit.begin("ListExplainers", &request);
        let answer = self.respond(explainers::list(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn explain(
        &self,
        request: Request<pb::ExplainRequest>,
    ) -> Result<Response<pb::ExplainResponse>, Status> {
        let call = self.audit.begin("Explain", &request);
        let answer = self.respond(explainers::explain(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn explain_series(
        &self,
        request: Request<Streaming<pb::ExplainSeriesRequest>>,
    ) -> Result<Response<pb::ExplainSeriesResponse>, Status> {
        let call = self.audit.begin("ExplainSeries", &request);
        let answer = self.respond(series::explain_series(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn get_knowledge_summary(
        &self,
        request: Request<pb::GetKnowledgeSummaryRequest>,
    ) -> Result<Response<pb::KnowledgeSummary>, Status> {
        let call = self.audit.begin("GetKnowledgeSummary", &request);
        let answer = self.respond(explainers::knowledge(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn render_report(
        &self,
        request: Request<pb::RenderReportRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let call = self.audit.begin("RenderReport", &request);
        let answer = self.respond(explainers::report(self, request.into_inner()).await);
        call.end(answer)
    }

    async fn export(
        &self,
        request: Request<pb::ExportRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let call = self.audit.begin("Export", &request);
        let answer = self.respond(explainers::export(self, request.into_inner()).await);
        call.end(answer)
    }
}

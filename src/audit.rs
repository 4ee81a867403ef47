//! The audit trail: every call to the service — over gRPC or from the workbench — becomes a
//! row of the store's `audit` table (see `explainme_store::AuditEntry`): who (the token's
//! holder), when, from where, which RPC, which model, explainer, cohort and cases, and the
//! status it ended with. `explainme audit --data-dir D` reads it.
//!
//! Handlers call [`Audit::begin`] with the request and [`Call::end`] with the answer. Rows
//! go through a channel to one thread that writes them in batches on a connection of its
//! own, so a call never waits for the audit; the thread drains the channel when the service
//! stops. A row that cannot be written is logged (with no patient data) and counted.

use std::sync::mpsc;
use std::time::{Instant, SystemTime};

use explainme_store::{AuditEntry, Store};
use tonic::{Request, Response, Status};

use crate::auth::Identity;
use crate::pb;

tokio::task_local! {
    /// Set by the workbench around each page it serves: the signed-in reader (none without
    /// `--auth`), so the calls it makes in-process are recorded as theirs.
    pub(crate) static WORKBENCH_READER: Option<Identity>;
}

/// The writer thread's end of the trail.
#[derive(Debug)]
pub(crate) struct Audit {
    sender: Option<mpsc::Sender<AuditEntry>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// A call under way. A call dropped before [`Call::end`] (past its deadline, or its
/// client went away) is recorded as `CANCELLED`.
#[derive(Debug)]
pub(crate) struct Call {
    entry: Option<AuditEntry>,
    started: Instant,
    sender: Option<mpsc::Sender<AuditEntry>>,
}

impl Call {
    /// Records how the call ended and passes its answer on.
    pub(crate) fn end<T>(
        mut self,
        answer: Result<Response<T>, Status>,
    ) -> Result<Response<T>, Status> {
        self.finish(match &answer {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        });
        answer
    }

    fn finish(&mut self, code: tonic::Code) {
        if let Some(mut entry) = self.entry.take() {
            entry.code = code_name(code).to_owned();
            entry.millis = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            send(self.sender.as_ref(), entry);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(tonic::Code::Cancelled);
    }
}

fn send(sender: Option<&mpsc::Sender<AuditEntry>>, entry: AuditEntry) {
    if let Some(sender) = sender
        && sender.send(entry).is_err()
    {
        tracing::error!("the audit writer has stopped; a call went unrecorded");
    }
}

/// Rows written per transaction at most.
const BATCH: usize = 256;

impl Audit {
    /// Starts the writer on a connection of its own to the store in `dir` (already opened).
    pub(crate) fn start(dir: &std::path::Path) -> explainme_store::Result<Audit> {
        let mut store = Store::open_beside(dir)?;
        let (sender, received) = mpsc::channel::<AuditEntry>();
        let writer = std::thread::Builder::new()
            .name("explainme-audit".into())
            .spawn(move || {
                let mut lost = 0_u64;
                while let Ok(first) = received.recv() {
                    let mut batch = vec![first];
                    batch.extend(received.try_iter().take(BATCH - 1));
                    if let Err(error) = store.append_audit(&batch) {
                        lost += batch.len() as u64;
                        tracing::error!(%error, rows = batch.len(), lost, "cannot write the audit trail");
                    }
                }
            })
            .map_err(|source| explainme_store::Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        Ok(Audit {
            sender: Some(sender),
            writer: Some(writer),
        })
    }

    /// What a call is about and who makes it, when it arrives.
    pub(crate) fn begin<T: Subject>(&self, rpc: &'static str, request: &Request<T>) -> Call {
        let mut entry = AuditEntry {
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            rpc: rpc.to_owned(),
            ..AuditEntry::default()
        };
        let from_workbench = WORKBENCH_READER.try_with(Clone::clone);
        let identity = match &from_workbench {
            Ok(reader) => {
                entry.via = "workbench".into();
                reader.as_ref()
            }
            Err(_) => {
                entry.via = "grpc".into();
                entry.peer = request
                    .remote_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                request.extensions().get::<Identity>()
            }
        };
        if let Some(identity) = identity {
            entry.who = identity.name.clone();
            entry.role = identity.role.to_string();
        }
        request.get_ref().describe(&mut entry);
        Call {
            entry: Some(entry),
            started: Instant::now(),
            sender: self.sender.clone(),
        }
    }

    /// Records a call the server's gates refused before any handler saw it (no or a wrong
    /// token, a role too low, too many calls at once); health checks and reflection are not
    /// recorded.
    pub(crate) fn refused<B>(&self, request: &http::Request<B>, status: &Status) {
        let Some(rpc) = request
            .uri()
            .path()
            .strip_prefix("/explainme.v1.ExplainerService/")
        else {
            return;
        };
        let extensions = request.extensions();
        let peer = extensions
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr())
            .or_else(|| {
                extensions
                    .get::<tonic::transport::server::TlsConnectInfo<
                        tonic::transport::server::TcpConnectInfo,
                    >>()
                    .and_then(|info| info.get_ref().remote_addr())
            });
        let identity = extensions.get::<Identity>();
        let mut entry = AuditEntry {
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            via: "grpc".into(),
            peer: peer.map(|a| a.to_string()).unwrap_or_default(),
            rpc: rpc.to_owned(),
            code: code_name(status.code()).to_owned(),
            ..AuditEntry::default()
        };
        if let Some(identity) = identity {
            entry.who = identity.name.clone();
            entry.role = identity.role.to_string();
        }
        send(self.sender.as_ref(), entry);
    }
}

impl Drop for Audit {
    /// Closes the channel and waits for the writer to store what is queued.
    fn drop(&mut self) {
        self.sender.take();
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("the audit writer panicked");
        }
    }
}

/// The status code as gRPC spells it (what `grpcurl` prints).
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// What a request is about: the model, explainer, cohort and cases it names.
pub(crate) trait Subject {
    fn describe(&self, _entry: &mut AuditEntry) {}
}

/// Streamed requests are recorded by their RPC and outcome only.
impl<T> Subject for tonic::Streaming<T> {}
impl Subject for pb::RegisterModelRequest {}
impl Subject for pb::ListModelsRequest {}
impl Subject for pb::DraftModelCardRequest {}
impl Subject for pb::PutFeatureSchemaRequest {}
impl Subject for pb::GetFeatureSchemaRequest {}
impl Subject for pb::ListFeatureSchemasRequest {}
impl Subject for pb::GetKnownAssociationsRequest {}

macro_rules! subject {
    ($($message:ident: |$m:ident, $e:ident| $body:expr;)*) => {$(
        impl Subject for pb::$message {
            fn describe(&self, $e: &mut AuditEntry) {
                let $m = self;
                $body
            }
        }
    )*};
}

subject! {
    DescribeModelRequest: |m, e| e.model_id = m.model_id.clone();
    PredictRequest: |m, e| e.model_id = m.model_id.clone();
    DeleteModelRequest: |m, e| e.model_id = m.model_id.clone();
    GetCaseRequest: |m, e| in_cohort(e, &m.cohort, &m.case_id);
    ListCasesRequest: |m, e| e.cohort = m.cohort.clone();
    DeleteCaseRequest: |m, e| in_cohort(e, &m.cohort, &m.case_id);
    SetCaseLabelsRequest: |m, e| in_cohort(e, &m.cohort, &m.case_id);
    GetLabelHistoryRequest: |m, e| in_cohort(e, &m.cohort, &m.case_id);
    FitExplainerRequest: |m, e| {
        e.model_id = m.model_id.clone();
        e.cohort = m.cohort.clone();
    };
    GetExplainerRequest: |m, e| e.explainer_id = m.explainer_id.clone();
    ListExplainersRequest: |m, e| {
        e.model_id = m.model_id.clone();
        e.cohort = m.cohort.clone();
    };
    ExplainRequest: |m, e| {
        e.explainer_id = m.explainer_id.clone();
        e.cases = AuditEntry::case_list(m.targets.iter().map(|t| match &t.target {
            Some(pb::explain_target::Target::CaseId(id)) => id.as_str(),
            _ => "(inline)",
        }));
    };
    GetKnowledgeSummaryRequest: |m, e| e.explainer_id = m.explainer_id.clone();
    SubmitFeedbackRequest: |m, e| {
        e.explainer_id = m.explainer_id.clone();
        e.cases = m.case_id.clone();
    };
    ListFeedbackRequest: |m, e| e.explainer_id = m.explainer_id.clone();
    JudgeCandidateRequest: |m, e| e.explainer_id = m.explainer_id.clone();
    RenderReportRequest: |m, e| {
        e.explainer_id = m.explainer_id.clone();
        e.cases = AuditEntry::case_list(m.case_ids.iter().map(String::as_str));
    };
    ExportRequest: |m, e| {
        e.explainer_id = m.explainer_id.clone();
        e.cases = m.case_id.clone();
    };
}

fn in_cohort(entry: &mut AuditEntry, cohort: &str, case_id: &str) {
    entry.cohort = cohort.to_owned();
    entry.cases = case_id.to_owned();
}

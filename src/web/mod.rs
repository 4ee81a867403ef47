//! The clinician workbench (`explainme serve --http ADDR`): HTML pages where radiologists
//! browse cohorts, read a case's explanation over its CT, correct its labels, judge the
//! explanation and accept or reject candidate knowledge.
//!
//! Every page is built from the same [`Api`] calls a hospital tool makes over gRPC, made
//! in-process: a label the page stores is validated by `SetCaseLabels` itself, and its
//! refusal is the gRPC status message, shown on the page. So the workbench holds no rule of
//! its own beyond turning form fields into requests ([`forms`]) and answers into HTML
//! ([`pages`]). The assets (one stylesheet, one script for the viewer's window/level,
//! overlay and slice controls, and an icon) are compiled into the binary: no CDN, no network, no npm.

mod case;
mod forms;
mod pages;
mod session;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Form, FromRef, Path, Query, Request as HttpRequest, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::net::TcpListener;
use tonic::{Code, Request, Status};

use self::pages::Reader;
use self::session::{Session, Sessions};
use crate::api::Api;
use crate::auth::{Role, Tokens};
use crate::pb;
use crate::pb::explainer_service_server::ExplainerService;

/// The stylesheet, served at `/assets/workbench.css`.
const STYLE: &str = include_str!("../../web/workbench.css");
/// The viewer script, served at `/assets/workbench.js`.
const SCRIPT: &str = include_str!("../../web/workbench.js");
/// The tab icon, served at `/assets/favicon.svg` (without one, browsers log a failed
/// `/favicon.ico` on every page).
const ICON: &str = include_str!("../../web/favicon.svg");

/// Serves the workbench on `listener` until `shutdown` completes; with `tokens`, only to
/// people signed in with one.
pub async fn serve(
    listener: TcpListener,
    api: Api,
    tokens: Option<Tokens>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = Workbench {
        api,
        tokens,
        sessions: Arc::new(Sessions::default()),
        secure: tls.is_some(),
    };
    match tls {
        None => {
            axum::serve(listener, router(state))
                .with_graceful_shutdown(shutdown)
                .await?
        }
        Some(tls) => serve_tls(listener, router(state), tls, shutdown).await,
    }
    Ok(())
}

/// HTTPS: every accepted socket is wrapped in TLS and served by hyper on its own task; a
/// failed handshake (a plain-HTTP client, an untrusted client certificate) ends that
/// connection only. On shutdown, accepting stops and open connections finish the requests
/// they are serving, then close.
async fn serve_tls(
    listener: TcpListener,
    router: Router,
    tls: tokio_rustls::TlsAcceptor,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "workbench: cannot accept a connection");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let tls = tls.clone();
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = match tls.accept(socket).await {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::info!(%peer, %error, "workbench: TLS handshake failed");
                    return;
                }
            };
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let connection = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%peer, %error, "workbench: connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
}

/// What every handler may reach.
#[derive(Debug, Clone)]
struct Workbench {
    api: Api,
    tokens: Option<Tokens>,
    sessions: Arc<Sessions>,
    /// Served over HTTPS: session cookies are then marked `Secure`.
    secure: bool,
}

impl FromRef<Workbench> for Api {
    fn from_ref(workbench: &Workbench) -> Api {
        workbench.api.clone()
    }
}

/// Every page and form target of the workbench.
fn router(state: Workbench) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/assets/workbench.css", get(style))
        .route("/assets/workbench.js", get(script))
        .route("/assets/favicon.svg", get(icon))
        .route("/explainers/{explainer}", get(cohort))
        .route("/explainers/{explainer}/summary", get(summary))
        .route("/explainers/{explainer}/report", get(report))
        .route("/explainers/{explainer}/feedback.csv", get(feedback_csv))
        .route("/explainers/{explainer}/candidates", post(judge))
        .route("/explainers/{explainer}/cases/{case}", get(case))
        .route("/explainers/{explainer}/cases/{case}/labels", post(labels))
        .route(
            "/explainers/{explainer}/cases/{case}/feedback",
            post(feedback),
        )
        .route(
            "/cohorts/{cohort}/cases/{case}/thumbnail.png",
            get(thumbnail),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), with_session))
        .with_state(state)
}

/// Gives every request its session (a new one, with its cookie, when it has none) and, with
/// `--auth`, sends whoever has not signed in to the sign-in page.
async fn with_session(
    State(workbench): State<Workbench>,
    mut request: HttpRequest,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/assets/") {
        return next.run(request).await;
    }
    let known = session::cookie(request.headers()).and_then(|id| workbench.sessions.get(&id));
    let (session, new) = match known {
        Some(session) => (session, false),
        None => match workbench.sessions.create(None) {
            Ok(session) => (session, true),
            Err(status) => return WebError(status).into_response(),
        },
    };
    let signed_out = workbench.tokens.is_some() && session.identity.is_none();
    let mut response = if signed_out && path != "/login" {
        if request.method() == Method::GET {
            Redirect::to("/login").into_response()
        } else {
            WebError(Status::unauthenticated("sign in first")).into_response()
        }
    } else {
        request.extensions_mut().insert(session.clone());
        // The service's calls made while serving this page are audited as the reader's.
        crate::audit::WORKBENCH_READER
            .scope(session.identity.clone(), next.run(request))
            .await
    };
    if new {
        response.headers_mut().append(
            header::SET_COOKIE,
            session::set_cookie(&session, workbench.secure),
        );
    }
    response
}

/// The pages' view of a session: the CSRF token for forms, and who signed in.
fn reader(session: &Session) -> Reader {
    Reader {
        csrf: session.csrf.clone(),
        name: session.identity.as_ref().map(|i| i.name.clone()),
    }
}

/// `/login`: the sign-in form (with `--auth`).
async fn login_page(Extension(session): Extension<Session>) -> Html<String> {
    Html(pages::login(&reader(&session), None))
}

/// `POST /login`: a token signs in a new session (the old id is dropped).
async fn login(
    State(workbench): State<Workbench>,
    Extension(session): Extension<Session>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    session.check_form(&fields)?;
    let Some(tokens) = &workbench.tokens else {
        return Ok(Redirect::to("/").into_response());
    };
    let token = fields
        .iter()
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.trim())
        .unwrap_or_default();
    let Some(identity) = tokens.identify(token) else {
        let page = pages::login(&reader(&session), Some("unknown token"));
        return Ok(Html(page).into_response());
    };
    tracing::info!(reader = %identity.name, role = %identity.role, "signed in to the workbench");
    workbench.sessions.remove(&session.id);
    let signed_in = workbench.sessions.create(Some(identity.clone()))?;
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&signed_in, workbench.secure),
    );
    Ok(response)
}

/// `POST /logout`.
async fn logout(
    State(workbench): State<Workbench>,
    Extension(session): Extension<Session>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    session.check_form(&fields)?;
    workbench.sessions.remove(&session.id);
    Ok(Redirect::to(if workbench.tokens.is_some() {
        "/login"
    } else {
        "/"
    })
    .into_response())
}

/// Refuses a form that is not this session's, or whose signed-in holder may not do it (the
/// workbench's actions are all a clinician's).
fn admit(session: &Session, fields: &[(String, String)]) -> Result<(), Status> {
    session.check_form(fields)?;
    match &session.identity {
        Some(identity) if identity.role < Role::Clinician => Err(Status::permission_denied(
            "the workbench needs the clinician role",
        )),
        _ => Ok(()),
    }
}

/// A refused call, shown as a page with the gRPC status's message and a matching HTTP code.
#[derive(Debug)]
struct WebError(Status);

impl From<Status> for WebError {
    fn from(status: Status) -> Self {
        WebError(status)
    }
}

/// The HTTP code of a gRPC status, as the gRPC–HTTP mapping guides give it.
fn http_code(code: Code) -> StatusCode {
    match code {
        Code::InvalidArgument | Code::OutOfRange => StatusCode::UNPROCESSABLE_ENTITY,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::PAYLOAD_TOO_LARGE,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let code = http_code(self.0.code());
        (code, Html(pages::error(code, self.0.message()))).into_response()
    }
}

type Page = Result<Html<String>, WebError>;

async fn not_found() -> WebError {
    WebError(Status::not_found("no such page"))
}

async fn style() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLE)
}

async fn script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn icon() -> impl IntoResponse {
    asset("image/svg+xml", ICON)
}

/// An embedded asset; it changes only with the binary, so browsers may keep it an hour.
fn asset(media_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, media_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
}

/// `/`: the explainers, grouped by cohort, with their models.
async fn index(State(api): State<Api>, Extension(session): Extension<Session>) -> Page {
    let explainers = api
        .list_explainers(Request::new(pb::ListExplainersRequest::default()))
        .await?
        .into_inner()
        .explainers;
    let models = api
        .list_models(Request::new(pb::ListModelsRequest {}))
        .await?
        .into_inner()
        .models;
    Ok(Html(pages::index(&reader(&session), &explainers, &models)))
}

/// Paging through a cohort's cases.
#[derive(Debug, Deserialize)]
struct CasePage {
    #[serde(default)]
    page: String,
}

/// Cases listed per cohort page.
const CASES_PER_PAGE: u32 = 50;

/// `/explainers/{id}`: the explainer and its cohort's cases.
async fn cohort(
    State(api): State<Api>,
    Extension(session): Extension<Session>,
    Path(explainer): Path<String>,
    Query(paging): Query<CasePage>,
) -> Page {
    let info = explainer_info(&api, &explainer).await?;
    let cases = api
        .list_cases(Request::new(pb::ListCasesRequest {
            cohort: info.cohort.clone(),
            page_size: CASES_PER_PAGE,
            page_token: paging.page,
        }))
        .await?
        .into_inner();
    Ok(Html(pages::cohort(&reader(&session), &info, &cases)))
}

async fn explainer_info(api: &Api, explainer: &str) -> Result<pb::ExplainerInfo, Status> {
    Ok(api
        .get_explainer(Request::new(pb::GetExplainerRequest {
            explainer_id: explainer.to_owned(),
        }))
        .await?
        .into_inner())
}

/// What a case page may say after a form was sent.
#[derive(Debug, Default, Deserialize)]
struct Saved {
    #[serde(default)]
    saved: String,
}

/// `/explainers/{id}/cases/{case}`: the case view.
async fn case(
    State(api): State<Api>,
    Extension(session): Extension<Session>,
    Path((explainer, case_id)): Path<(String, String)>,
    Query(saved): Query<Saved>,
) -> Page {
    let notice = match saved.saved.as_str() {
        "labels" => Some(pages::Notice::LabelsSaved),
        "feedback" => Some(pages::Notice::FeedbackSaved),
        _ => None,
    };
    case_page(&api, &session, &explainer, &case_id, notice, None).await
}

/// The case view; `draft` refills the label form with what was sent and refused.
async fn case_page(
    api: &Api,
    session: &Session,
    explainer: &str,
    case_id: &str,
    notice: Option<pages::Notice>,
    draft: Option<forms::LabelDraft>,
) -> Page {
    let view = case::CaseView::gather(api, explainer, case_id).await?;
    Ok(Html(view.render(&reader(session), notice, draft.as_ref())))
}

/// `POST …/labels`: stores a new version of the case's labels through SetCaseLabels; a
/// refusal shows the case again with the message beside the form and the values as sent,
/// having stored nothing.
async fn labels(
    State(api): State<Api>,
    Extension(session): Extension<Session>,
    Path((explainer, case_id)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    admit(&session, &fields)?;
    let fields = session.authored(fields);
    let info = explainer_info(&api, &explainer).await?;
    let case = stored_case(&api, &info.cohort, &case_id).await?;
    let schema = schema_of(&api, &case.schema).await?;
    let draft = forms::LabelDraft::read(&fields);
    let stored = match draft.request(&schema, &info.cohort, &case_id) {
        Ok(request) => api.set_case_labels(Request::new(request)).await.map(|_| ()),
        Err(status) => Err(status),
    };
    match stored {
        Ok(()) => Ok(see_other(&explainer, &case_id, "labels")),
        // The form again, with the message: a page that renders as asked, so 200 (a 4xx
        // would be logged by the browser as a failed load, though nothing failed to load).
        Err(status) if status.code() == Code::InvalidArgument => {
            let draft = draft.refused(status.message());
            Ok(
                case_page(&api, &session, &explainer, &case_id, None, Some(draft))
                    .await?
                    .into_response(),
            )
        }
        Err(status) => Err(status.into()),
    }
}

async fn stored_case(api: &Api, cohort: &str, case_id: &str) -> Result<pb::Case, Status> {
    Ok(api
        .get_case(Request::new(pb::GetCaseRequest {
            cohort: cohort.to_owned(),
            case_id: case_id.to_owned(),
        }))
        .await?
        .into_inner())
}

async fn schema_of(api: &Api, name: &str) -> Result<pb::FeatureSchema, Status> {
    api.get_feature_schema(Request::new(pb::GetFeatureSchemaRequest {
        name: name.to_owned(),
    }))
    .await?
    .into_inner()
    .schema
    .ok_or_else(|| Status::internal(format!("feature schema `{name}` has no features")))
}

/// After a stored form: back to the case (POST/redirect/GET, so a reload sends nothing twice).
fn see_other(explainer: &str, case_id: &str, saved: &str) -> Response {
    let to = format!(
        "{}?saved={saved}#{saved}",
        pages::case_href(explainer, case_id)
    );
    Redirect::to(&to).into_response()
}

/// `POST …/feedback`: one SubmitFeedback per judged explanation part.
async fn feedback(
    State(api): State<Api>,
    Extension(session): Extension<Session>,
    Path((explainer, case_id)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    admit(&session, &fields)?;
    let fields = session.authored(fields);
    let requests = forms::feedback_requests(&fields, &explainer, &case_id)?;
    for request in requests {
        api.submit_feedback(Request::new(request)).await?;
    }
    Ok(see_other(&explainer, &case_id, "feedback"))
}

/// `/explainers/{id}/summary`: the knowledge summary, feedback and candidate knowledge.
async fn summary(
    State(api): State<Api>,
    Extension(session): Extension<Session>,
    Path(explainer): Path<String>,
) -> Page {
    let summary = api
        .get_knowledge_summary(Request::new(pb::GetKnowledgeSummaryRequest {
            explainer_id: explainer.clone(),
            ..Default::default()
        }))
        .await?
        .into_inner();
    let known = api
        .get_known_associations(Request::new(pb::GetKnownAssociationsRequest {}))
        .await?
        .into_inner();
    Ok(Html(pages::summary(
        &reader(&session),
        &explainer,
        &summary,
        &known,
    )))
}

/// `POST …/candidates`: accepts or rejects one candidate association.
async fn judge(
    State(api): State<Api>,
    Extension(session): Extension<Session>,
    Path(explainer): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    admit(&session, &fields)?;
    let fields = session.authored(fields);
    let request = forms::judgement(&fields, &explainer)?;
    api.judge_candidate(Request::new(request)).await?;
    Ok(Redirect::to(&format!("{}#candidates", pages::summary_href(&explainer))).into_response())
}

/// `/explainers/{id}/report`: the cohort report (RenderReport, HTML) with its pictures.
async fn report(
    State(api): State<Api>,
    Path(explainer): Path<String>,
) -> Result<Response, WebError> {
    let document = api
        .render_report(Request::new(pb::RenderReportRequest {
            explainer_id: explainer,
            format: pb::ReportFormat::Html.into(),
            ..Default::default()
        }))
        .await?
        .into_inner();
    Ok(document_response(document, false))
}

/// `/explainers/{id}/feedback.csv`: every piece of feedback (Export FEEDBACK_CSV).
async fn feedback_csv(
    State(api): State<Api>,
    Path(explainer): Path<String>,
) -> Result<Response, WebError> {
    let document = api
        .export(Request::new(pb::ExportRequest {
            explainer_id: explainer,
            format: pb::ExportFormat::FeedbackCsv.into(),
            ..Default::default()
        }))
        .await?
        .into_inner();
    Ok(document_response(document, true))
}

/// A rendered document as an answer, downloaded under its name when `attachment`.
fn document_response(document: pb::Document, attachment: bool) -> Response {
    let mut response = document.content.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&document.media_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if attachment
        && let Ok(value) =
            HeaderValue::from_str(&format!("attachment; filename=\"{}\"", document.file_name))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `/cohorts/{cohort}/cases/{case}/thumbnail.png`: a similar case's picture, in the
/// abdominal window.
async fn thumbnail(
    State(api): State<Api>,
    Path((cohort, case_id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let png = case::thumbnail(&api, &cohort, &case_id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        png,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_meaning_in_http() {
        assert_eq!(
            http_code(Code::InvalidArgument),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(http_code(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_code(Code::FailedPrecondition), StatusCode::CONFLICT);
        assert_eq!(http_code(Code::Internal), StatusCode::INTERNAL_SERVER_ERROR);
    }
}

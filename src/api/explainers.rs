//! Explainers: fit (server-streamed progress, cancelled when the client goes away), get,
//! list, explain, summarise, render reports, export. Thin: the work is explainme-explain's
//! and explainme-report's; this file moves cases between the store and those crates.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use explainme_cohort::{Case, Cohort};
use explainme_explain::known::{KnownAssociation, parse_known};
use explainme_explain::{CaseInput, ExplainOptions, Explainer, Prepared, Stage};
use explainme_onnx::{Model, ModelCard};
use explainme_report::document::{self, CaseImages};
use explainme_store::{ExplainerRecord, NewExplainer, Store};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{Api, FitProgressStream, stored};
use crate::convert::cases::{
    decode_stored_image, decode_stored_mask, inline_image, inline_mask, raw_labels, stored_format,
};
use crate::convert::common::{identifier, join_error};
use crate::convert::explainers::{explain_status, explanation, info, params, summary};
use crate::pb;

/// How many prepared explainers (each with its ONNX Runtime sessions) stay in memory.
const CACHE_CAPACITY: usize = 4;

/// Explainers bound to their model, newest use last.
#[derive(Default)]
pub struct PreparedCache {
    entries: Mutex<Vec<(String, Arc<Prepared>)>>,
    /// One build at a time: the first calls for an explainer, arriving together, wait for one
    /// build instead of each building its own sessions (64 at once once peaked at 1.2 GB).
    building: Mutex<()>,
}

impl std::fmt::Debug for PreparedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreparedCache")
    }
}

impl PreparedCache {
    fn get(&self, id: &str) -> Option<Arc<Prepared>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let at = entries.iter().position(|(key, _)| key == id)?;
        let entry = entries.remove(at);
        let prepared = Arc::clone(&entry.1);
        entries.push(entry);
        Some(prepared)
    }

    fn insert(&self, id: String, prepared: Arc<Prepared>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(key, _)| *key != id);
        entries.push((id, prepared));
        if entries.len() > CACHE_CAPACITY {
            entries.remove(0);
        }
    }
}

/// Most cases a cohort page fetch asks for while reading a cohort.
const PAGE: usize = 500;

fn fit_stage(stage: Stage) -> pb::FitStage {
    match stage {
        Stage::Inference => pb::FitStage::Inference,
        Stage::Concepts => pb::FitStage::Concepts,
        Stage::SurrogateTree => pb::FitStage::SurrogateTree,
        Stage::Rules => pb::FitStage::Rules,
        Stage::Bayes => pb::FitStage::Bayes,
        Stage::Evaluation => pb::FitStage::Evaluation,
    }
}

/// The stored model with its bytes parsed.
fn load_model(store: &Store, model_id: &str) -> Result<(Model, ModelCard), Status> {
    let record = stored(store.model(model_id))?.ok_or_else(|| {
        Status::not_found(format!("model_id: no model {model_id:?} is registered"))
    })?;
    let bytes = stored(store.model_onnx(&record))?;
    let model = Model::from_bytes(&bytes)
        .map_err(|e| Status::internal(format!("stored model unreadable: {e}")))?;
    let card = ModelCard::from_json(&record.card_json)
        .map_err(|e| Status::internal(format!("stored card unreadable: {e}")))?;
    Ok((model, card))
}

/// Writes a stored cohort into `root` in DESIGN.md's folder layout, so the Explainer (which
/// reads cohort folders, like every CLI command) fits it as it fits any other.
fn materialise(store: &Store, cohort: &str, root: &std::path::Path) -> Result<Cohort, Status> {
    let io = |e: std::io::Error| {
        Status::internal(format!("cannot write the cohort's working copy: {e}"))
    };
    let mut records = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = stored(store.cases_page(cohort, after.as_deref(), PAGE))?;
        records.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let Some(first) = records.first() else {
        return Err(Status::failed_precondition(format!(
            "cohort: {cohort:?} has no cases; store some with UpsertCases first"
        )));
    };
    let schema = super::cases::schema(store, &first.schema)?;
    std::fs::create_dir_all(root.join("images")).map_err(io)?;
    let mut cases = Vec::with_capacity(records.len());
    for record in &records {
        let (_, extension) = stored_format(&record.image.format)?;
        let image = std::path::PathBuf::from(format!("images/{}{extension}", record.case_id));
        std::fs::write(root.join(&image), stored(store.image_bytes(&record.image))?).map_err(io)?;
        if !record.masks.is_empty() {
            let dir = root.join("masks").join(&record.case_id);
            std::fs::create_dir_all(&dir).map_err(io)?;
            for (concept, mask) in &record.masks {
                let (_, extension) = stored_format(&mask.format)?;
                std::fs::write(
                    dir.join(format!("{concept}{extension}")),
                    stored(store.image_bytes(mask))?,
                )
                .map_err(io)?;
            }
        }
        cases.push(Case {
            id: record.case_id.clone(),
            image,
            labels: record.labels.clone(),
        });
    }
    let cohort = Cohort {
        root: root.to_path_buf(),
        schema,
        cases,
    };
    cohort
        .write()
        .map_err(|e| Status::internal(format!("cannot write the cohort's working copy: {e}")))?;
    Ok(cohort)
}

pub async fn fit(api: &Api, request: pb::FitExplainerRequest) -> Result<FitProgressStream, Status> {
    let pb::FitExplainerRequest {
        model_id,
        cohort,
        feature_layers,
        params: wire_params,
    } = request;
    let cohort = identifier("cohort", cohort)?;
    let mut params = params(wire_params)?;
    params.concept_layers = feature_layers;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::FitProgress, Status>>(64);
    let store = Arc::clone(&api.store);
    let readers = Arc::clone(&api.readers);
    let budget = api.budget;
    tokio::task::spawn_blocking(move || {
        let send = |message: Result<pb::FitProgress, Status>| tx.blocking_send(message).is_ok();
        let work = || -> Result<pb::ExplainerInfo, Status> {
            let dir = tempfile::tempdir()
                .map_err(|e| Status::internal(format!("no working directory: {e}")))?;
            let (model, card, cohort_copy) = readers.with(|store| {
                let (model, card) = load_model(store, &model_id)?;
                Ok((model, card, materialise(store, &cohort, dir.path())?))
            })?;
            let mut current = None;
            let mut last = (0u64, 0u64);
            let explainer = params.fit(&model, &card, &cohort_copy, &budget, &mut |p| {
                let stage = fit_stage(p.stage);
                if current != Some(p.stage) {
                    current = Some(p.stage);
                    let started = pb::FitProgress {
                        event: Some(pb::fit_progress::Event::StageStarted(pb::FitStageStarted {
                            stage: stage.into(),
                            total: p.total,
                        })),
                    };
                    if !send(Ok(started)) {
                        return false;
                    }
                }
                // At most about a hundred events per stage.
                let step = (p.total / 100).max(1);
                if p.done == p.total || p.done >= last.0 + step || p.total != last.1 {
                    last = (p.done, p.total);
                    let advanced = pb::FitProgress {
                        event: Some(pb::fit_progress::Event::Advanced(pb::FitStageAdvanced {
                            stage: stage.into(),
                            done: p.done,
                            total: p.total,
                        })),
                    };
                    return send(Ok(advanced));
                }
                !tx.is_closed()
            });
            let explainer = match explainer {
                Err(explainme_explain::Error::Cancelled) => {
                    tracing::info!(model_id, cohort, "fit cancelled: the client went away");
                    return Err(Status::cancelled("the client went away"));
                }
                other => other.map_err(explain_status)?,
            };
            let artefact = explainer.to_bytes();
            let params_json = serde_json::to_string(&explainer.params).unwrap_or_default();
            let layers_json = serde_json::to_string(&explainer.layers).unwrap_or_default();
            let mut store = super::lock(&store);
            let (record, _) = stored(store.insert_explainer(&NewExplainer {
                model_id: &model_id,
                cohort: &cohort,
                artefact: &artefact,
                params_json: &params_json,
                layers_json: &layers_json,
                fit_cases: explainer.fit_cases as u32,
                held_out_cases: explainer.held_out_cases as u32,
            }))?;
            tracing::info!(
                id = record.id,
                version = record.version,
                bytes = artefact.len(),
                "explainer stored"
            );
            Ok(info(&record))
        };
        let last = work().map(|info| pb::FitProgress {
            event: Some(pb::fit_progress::Event::Finished(info)),
        });
        send(last);
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

pub(super) fn record(store: &Store, id: &str) -> Result<ExplainerRecord, Status> {
    if id.is_empty() {
        return Err(Status::failed_precondition(
            "explainer_id is empty: fit an explainer with FitExplainer first and pass its id",
        ));
    }
    stored(store.explainer(id))?
        .ok_or_else(|| Status::not_found(format!("explainer_id: no explainer {id:?}")))
}

pub async fn get(api: &Api, request: pb::GetExplainerRequest) -> Result<pb::ExplainerInfo, Status> {
    api.with_store(move |store| Ok(info(&record(store, &request.explainer_id)?)))
        .await
}

pub async fn list(
    api: &Api,
    request: pb::ListExplainersRequest,
) -> Result<pb::ListExplainersResponse, Status> {
    api.with_store(move |store| {
        let model = (!request.model_id.is_empty()).then_some(request.model_id.as_str());
        let cohort = (!request.cohort.is_empty()).then_some(request.cohort.as_str());
        Ok(pb::ListExplainersResponse {
            explainers: stored(store.explainers(model, cohort))?
                .iter()
                .map(info)
                .collect(),
        })
    })
    .await
}

/// The explainer bound to its model, from the cache or built (and cached).
fn prepared(api: &Api, store: &Store, record: &ExplainerRecord) -> Result<Arc<Prepared>, Status> {
    if let Some(prepared) = api.prepared.get(&record.id) {
        return Ok(prepared);
    }
    let _building = api
        .prepared
        .building
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    // Built by another call while this one waited?
    if let Some(prepared) = api.prepared.get(&record.id) {
        return Ok(prepared);
    }
    let explainer = Explainer::from_bytes(&stored(store.explainer_artefact(record))?)
        .map_err(|e| Status::internal(format!("explainer {:?}: {e}", record.id)))?;
    let (model, _) = load_model(store, &record.model_id)?;
    let prepared = Arc::new(
        explainer
            .prepare(&model, api.budget)
            .map_err(explain_status)?,
    );
    api.prepared
        .insert(record.id.clone(), Arc::clone(&prepared));
    Ok(prepared)
}

/// A stored case of the explainer's cohort as the Explainer's input.
fn stored_case(api: &Api, store: &Store, cohort: &str, case_id: &str) -> Result<CaseInput, Status> {
    let record = stored(store.case(cohort, case_id))?.ok_or_else(|| {
        Status::not_found(format!(
            "case_id: cohort {cohort:?} has no case {case_id:?}"
        ))
    })?;
    let image = decode_stored_image(
        &record.image,
        &stored(store.image_bytes(&record.image))?,
        &api.budget,
    )?;
    let mut masks = BTreeMap::new();
    for (concept, mask) in &record.masks {
        masks.insert(
            concept.clone(),
            decode_stored_mask(mask, &stored(store.image_bytes(mask))?, &api.budget)?,
        );
    }
    Ok(CaseInput {
        reference: record.case_id,
        in_cohort: true,
        image,
        labels: record.labels,
        masks,
    })
}

fn target_case(
    api: &Api,
    store: &Store,
    prepared: &Prepared,
    cohort: &str,
    index: usize,
    target: pb::ExplainTarget,
) -> Result<CaseInput, Status> {
    let field = format!("targets[{index}]");
    match target.target {
        Some(pb::explain_target::Target::CaseId(id)) => stored_case(api, store, cohort, &id),
        Some(pb::explain_target::Target::Inline(inline)) => {
            let pb::InlineCase {
                reference,
                image,
                labels,
                masks,
                dicom_files,
                slice,
            } = inline;
            let image = if dicom_files.is_empty() {
                inline_image(&format!("{field}.inline.image"), image, &api.budget)?
            } else {
                if image.is_some() {
                    return Err(Status::invalid_argument(format!(
                        "{field}.inline: send image or dicom_files, not both"
                    )));
                }
                let name = format!("{field}.inline.dicom_files");
                let (series, _) = super::series::assemble(&name, &dicom_files, "", &api.budget)?;
                super::series::series_case(&name, &series, prepared, slice)?.image
            };
            let mut decoded = BTreeMap::new();
            for (i, pb::ConceptMask { concept, mask }) in masks.into_iter().enumerate() {
                let mask = inline_mask(&format!("{field}.inline.masks[{i}]"), mask, &api.budget)?;
                decoded.insert(concept, mask);
            }
            Ok(CaseInput {
                reference,
                in_cohort: false,
                image,
                labels: raw_labels(&format!("{field}.inline.labels"), labels)?,
                masks: decoded,
            })
        }
        None => Err(Status::invalid_argument(format!(
            "{field}: set case_id or inline"
        ))),
    }
}

/// Runs `work` with a read-only connection and the prepared explainer on the blocking pool:
/// an Explain or a report never holds up a write, nor another read.
pub(super) async fn with_explainer<T: Send + 'static>(
    api: &Api,
    id: String,
    work: impl FnOnce(&Api, &Store, &ExplainerRecord, &Prepared) -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    let api = api.clone();
    tokio::task::spawn_blocking(move || {
        let readers = Arc::clone(&api.readers);
        readers.with(|store| {
            let record = record(store, &id)?;
            let prepared = prepared(&api, store, &record)?;
            work(&api, store, &record, &prepared)
        })
    })
    .await
    .map_err(join_error)?
}

/// Most targets one Explain call takes.
const MAX_TARGETS: usize = 64;

pub async fn explain(
    api: &Api,
    request: pb::ExplainRequest,
) -> Result<pb::ExplainResponse, Status> {
    let pb::ExplainRequest {
        explainer_id,
        targets,
        include_heatmap,
        fast,
    } = request;
    if targets.is_empty() || targets.len() > MAX_TARGETS {
        return Err(Status::invalid_argument(format!(
            "targets: {} given; send 1 to {MAX_TARGETS}",
            targets.len()
        )));
    }
    with_explainer(api, explainer_id, move |api, store, record, prepared| {
        let options = ExplainOptions {
            heatmap: include_heatmap,
            fast,
        };
        let mut explanations = Vec::with_capacity(targets.len());
        for (index, target) in targets.into_iter().enumerate() {
            let case = target_case(api, store, prepared, &record.cohort, index, target)?;
            let e = prepared.explain(&case, options).map_err(|e| {
                let status = explain_status(e);
                Status::new(
                    status.code(),
                    format!("targets[{index}]: {}", status.message()),
                )
            })?;
            explanations.push(explanation(&e));
        }
        Ok(pb::ExplainResponse { explanations })
    })
    .await
}

/// The known associations a request names, else the list clinicians accepted
/// (JudgeCandidate).
fn known(store: &Store, text: &str) -> Result<Vec<KnownAssociation>, Status> {
    if text.trim().is_empty() {
        let accepted = stored(store.accepted_associations())?.join("\n");
        return parse_known(&accepted)
            .map_err(|e| Status::internal(format!("stored known associations: {e}")));
    }
    parse_known(text).map_err(|e| Status::invalid_argument(format!("known_associations: {e}")))
}

fn max_rules(requested: u32) -> usize {
    if requested == 0 {
        20
    } else {
        requested.min(1000) as usize
    }
}

pub async fn knowledge(
    api: &Api,
    request: pb::GetKnowledgeSummaryRequest,
) -> Result<pb::KnowledgeSummary, Status> {
    with_explainer(
        api,
        request.explainer_id,
        move |_, store, record, prepared| {
            let known = known(store, &request.known_associations)?;
            let mut answer = summary(
                record,
                &prepared
                    .explainer
                    .summary(max_rules(request.max_rules), &known),
            );
            answer.feedback = Some(super::clinicians::feedback_summary(
                store,
                &record.id,
                &prepared.explainer,
            )?);
            Ok(answer)
        },
    )
    .await
}

pub async fn report(api: &Api, request: pb::RenderReportRequest) -> Result<pb::Document, Status> {
    let format = match pb::ReportFormat::try_from(request.format) {
        Ok(pb::ReportFormat::Html) => document::Format::Html,
        Ok(pb::ReportFormat::Markdown) => document::Format::Markdown,
        _ => {
            return Err(Status::invalid_argument(
                "format: set REPORT_FORMAT_HTML or REPORT_FORMAT_MARKDOWN",
            ));
        }
    };
    if request.case_ids.len() > 1 {
        return Err(Status::invalid_argument(format!(
            "case_ids: {} given; a report is of the cohort (none) or of one case",
            request.case_ids.len()
        )));
    }
    with_explainer(
        api,
        request.explainer_id,
        move |api, store, record, prepared| {
            let known = known(store, &request.known_associations)?;
            let ex = &prepared.explainer;
            let report_error = |e: explainme_report::Error| {
                Status::internal(format!("cannot render the report: {e}"))
            };
            let (name, content) = match request.case_ids.first() {
                None => {
                    let knowledge = ex.summary(20, &known);
                    let title = format!(
                        "explainme: explainer {} of model {} on cohort {}",
                        record.id, record.model_id, record.cohort
                    );
                    (
                        format!("report-{}", record.id),
                        document::cohort_report(ex, &knowledge, &title, format)
                            .map_err(report_error)?,
                    )
                }
                Some(case_id) => (
                    format!("case-{case_id}"),
                    case_report(api, store, record, prepared, case_id, format)?.1,
                ),
            };
            Ok(pb::Document {
                media_type: format.media_type().to_owned(),
                file_name: format!("{name}.{}", format.extension()),
                content: content.into_bytes(),
            })
        },
    )
    .await
}

/// One stored case's explanation for a hospital system: a FHIR R4 Bundle (its HTML report
/// inside), a DICOM SR or a Parametric Map. A case stored as a DICOM file answers with that
/// file's identifiers; any other with synthetic ones made from its id.
async fn case_export(
    api: &Api,
    request: pb::ExportRequest,
    document: explainme_interop::Document,
) -> Result<pb::Document, Status> {
    if request.case_id.is_empty() {
        return Err(Status::invalid_argument(
            "case_id: FHIR_BUNDLE, DICOM_SR and PARAMETRIC_MAP export one stored case; name it",
        ));
    }
    with_explainer(
        api,
        request.explainer_id,
        move |api, store, record, prepared| {
            let (e, html) = case_report(
                api,
                store,
                record,
                prepared,
                &request.case_id,
                document::Format::Html,
            )?;
            let source = stored_source(api, store, &record.cohort, &request.case_id)?;
            let source = if request.deidentify {
                source.deidentified()
            } else {
                source
            };
            let mut documents =
                super::series::documents(prepared, &e, &source, &html, &[document])?;
            documents
                .pop()
                .ok_or_else(|| Status::internal("no document rendered"))
        },
    )
    .await
}

/// What the DICOM documents of a stored case copy: the stored file's header when it is
/// DICOM, else synthetic identifiers from the case id.
fn stored_source(
    api: &Api,
    store: &Store,
    cohort: &str,
    case_id: &str,
) -> Result<explainme_interop::DicomSource, Status> {
    let record = stored(store.case(cohort, case_id))?.ok_or_else(|| {
        Status::not_found(format!(
            "case_id: cohort {cohort:?} has no case {case_id:?}"
        ))
    })?;
    let bytes = stored(store.image_bytes(&record.image))?;
    let (format, _) = stored_format(&record.image.format)?;
    let image = decode_stored_image(&record.image, &bytes, &api.budget)?;
    if format == explainme_imaging::Format::Dicom {
        let instance = explainme_imaging::codec::dicom::decode_instance(&bytes, &api.budget)
            .map_err(|e| Status::internal(format!("stored image unreadable: {e}")))?;
        let series = explainme_imaging::codec::dicom::assemble(vec![(
            std::path::PathBuf::from(case_id),
            instance,
        )])
        .map_err(|e| Status::internal(format!("stored image unreadable: {e}")))?;
        if let Some(series) = series.first() {
            return Ok(explainme_interop::DicomSource::from_series(series));
        }
    }
    Ok(explainme_interop::DicomSource::synthetic(
        case_id,
        &image,
        &explainme_interop::issued_now(),
    ))
}

/// A stored case's image alone (a thumbnail); `None` when it cannot be read.
fn stored_image(
    api: &Api,
    store: &Store,
    cohort: &str,
    case_id: &str,
) -> Option<explainme_imaging::Image> {
    let record = store.case(cohort, case_id).ok()??;
    let bytes = store.image_bytes(&record.image).ok()?;
    decode_stored_image(&record.image, &bytes, &api.budget).ok()
}

/// A stored case explained (heatmap, full faithfulness curves) and its report.
fn case_report(
    api: &Api,
    store: &Store,
    record: &ExplainerRecord,
    prepared: &Prepared,
    case_id: &str,
    format: document::Format,
) -> Result<(explainme_explain::Explanation, String), Status> {
    let case = stored_case(api, store, &record.cohort, case_id)?;
    let e = prepared
        .explain(&case, ExplainOptions::FULL)
        .map_err(explain_status)?;
    let images = CaseImages::gather(&case, &e, |id| stored_image(api, store, &record.cohort, id));
    let report = document::case_report(&prepared.explainer, &e, &images, format)
        .map_err(|e| Status::internal(format!("cannot render the report: {e}")))?;
    Ok((e, report))
}

pub async fn export(api: &Api, request: pb::ExportRequest) -> Result<pb::Document, Status> {
    let name = match pb::ExportFormat::try_from(request.format) {
        Ok(pb::ExportFormat::Bif) => "bif",
        Ok(pb::ExportFormat::Xmlbif) => "xmlbif",
        Ok(pb::ExportFormat::Dot) => "dot",
        Ok(pb::ExportFormat::RulesCsv) => "rules-csv",
        Ok(pb::ExportFormat::Json) => "json",
        Ok(pb::ExportFormat::TreeDot) => "tree-dot",
        Ok(pb::ExportFormat::TreeText) => "tree-text",
        Ok(pb::ExportFormat::FeedbackCsv) => {
            return super::clinicians::feedback_csv(api, request.explainer_id).await;
        }
        Ok(
            pb::ExportFormat::FhirBundle
            | pb::ExportFormat::DicomSr
            | pb::ExportFormat::ParametricMap,
        ) => {
            let document = super::series::document_of(request.format)
                .ok_or_else(|| Status::internal("a hospital document without a writer"))?;
            return case_export(api, request, document).await;
        }
        _ => {
            return Err(Status::invalid_argument(
                "format: set one of the EXPORT_FORMAT_… values",
            ));
        }
    };
    with_explainer(api, request.explainer_id, move |_, store, _, prepared| {
        let known = known(store, &request.known_associations)?;
        let export = explainme_explain::exports::export(name).map_err(explain_status)?;
        let ex = &prepared.explainer;
        let content = (export.render)(ex, &ex.summary(20, &known)).map_err(explain_status)?;
        Ok(pb::Document {
            media_type: export.media_type.to_owned(),
            file_name: export.file_name.to_owned(),
            content,
        })
    })
    .await
}

//! DICOM series over gRPC: the files of an inline case (Explain) or of a client stream
//! (ExplainSeries) assembled into the image a model reads, and the hospital documents of an
//! explanation (ExplainSeries, Export). Glue only: assembling is explainme-imaging's,
//! preparing and writing explainme-interop's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use explainme_budget::MemoryBudget;
use explainme_explain::{CaseInput, ExplainOptions, Explanation, Prepared};
use explainme_imaging::codec::dicom::{self, Series};
use explainme_interop::{DicomSource, Document, SeriesCase};
use tokio_stream::StreamExt;
use tonic::{Status, Streaming};

use super::Api;
use super::explainers::with_explainer;
use crate::convert::cases::raw_labels;
use crate::convert::explainers::{explain_status, explanation};
use crate::pb;

/// Decodes `files` (Part 10 bytes) within `budget` and picks one series: `uid` when given,
/// else the only one. Files without pixel data are skipped; `field` names them in errors.
pub fn assemble(
    field: &str,
    files: &[Vec<u8>],
    uid: &str,
    budget: &MemoryBudget,
) -> Result<(Series, usize), Status> {
    let mut instances = Vec::new();
    let mut used = 0u64;
    for (i, bytes) in files.iter().enumerate() {
        let refuse = |e: explainme_imaging::Error| match e {
            explainme_imaging::Error::OverBudget(_) => {
                Status::resource_exhausted(format!("{field}[{i}]: {e}"))
            }
            e => Status::invalid_argument(format!("{field}[{i}]: {e}")),
        };
        let (_, has_pixels) = dicom::decode_header(bytes, budget).map_err(refuse)?;
        if !has_pixels {
            continue;
        }
        let remaining = MemoryBudget::new(budget.limit().saturating_sub(used));
        let instance = dicom::decode_instance(bytes, &remaining).map_err(refuse)?;
        used += instance.image.voxels().len() as u64 * 4;
        instances.push((PathBuf::from(format!("{field}[{i}]")), instance));
    }
    if instances.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{field}: no DICOM image among {} file(s)",
            files.len()
        )));
    }
    let images = instances.len();
    let all = dicom::assemble(instances)
        .map_err(|e| Status::invalid_argument(format!("{field}: {e}")))?;
    let count = all.len();
    let series = match (uid, count) {
        ("", 1) => all.into_iter().next(),
        ("", _) => {
            return Err(Status::invalid_argument(format!(
                "{field}: the files hold {count} series; name one (series_instance_uid)"
            )));
        }
        (uid, _) => all.into_iter().find(|s| s.uid() == uid),
    }
    .ok_or_else(|| Status::invalid_argument(format!("{field}: no series {uid} among the files")))?;
    let used = series.instances.len().min(images);
    Ok((series, used))
}

/// The series prepared for the explainer's model.
pub fn series_case(
    field: &str,
    series: &Series,
    prepared: &Prepared,
    slice: Option<u32>,
) -> Result<SeriesCase, Status> {
    let dims = prepared.explainer.card.input_size.len();
    explainme_interop::series_case(series, dims, slice.map(|k| k as usize))
        .map_err(|e| Status::invalid_argument(format!("{field}: {e}")))
}

/// The documents `formats` asks for, in order.
pub fn documents(
    prepared: &Prepared,
    e: &Explanation,
    source: &DicomSource,
    report_html: &str,
    formats: &[Document],
) -> Result<Vec<pb::Document>, Status> {
    let issued = explainme_interop::issued_now();
    let subject = source.subject(&e.case_ref);
    formats
        .iter()
        .map(|document| {
            let content = document
                .render(
                    &prepared.explainer,
                    e,
                    source,
                    subject,
                    &issued,
                    report_html,
                )
                .map_err(|err| Status::failed_precondition(format!("{document:?}: {err}")))?;
            Ok(pb::Document {
                media_type: document.media_type().to_owned(),
                file_name: format!("case-{}{}", e.case_ref, document.suffix()),
                content,
            })
        })
        .collect()
}

/// The hospital document an export format names, if it names one.
pub fn document_of(format: i32) -> Option<Document> {
    match pb::ExportFormat::try_from(format) {
        Ok(pb::ExportFormat::FhirBundle) => Some(Document::FhirBundle),
        Ok(pb::ExportFormat::DicomSr) => Some(Document::DicomSr),
        Ok(pb::ExportFormat::ParametricMap) => Some(Document::ParametricMap),
        _ => None,
    }
}

/// ExplainSeries: a header, then the files of a series (possibly in parts).
pub async fn explain_series(
    api: &Api,
    mut stream: Streaming<pb::ExplainSeriesRequest>,
) -> Result<pb::ExplainSeriesResponse, Status> {
    let header = match stream.next().await {
        Some(Ok(pb::ExplainSeriesRequest {
            part: Some(pb::explain_series_request::Part::Header(header)),
        })) => header,
        Some(Err(status)) => return Err(status),
        _ => {
            return Err(Status::invalid_argument(
                "the first message of ExplainSeries is its header",
            ));
        }
    };
    let formats = header
        .documents
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            document_of(f).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "header.documents[{i}]: FHIR_BUNDLE, DICOM_SR or PARAMETRIC_MAP"
                ))
            })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    let labels = raw_labels("header.labels", header.labels)?;
    // Every byte received counts against the memory budget before it is kept.
    let mut files: Vec<Vec<u8>> = Vec::new();
    let mut open = false;
    let mut received = 0u64;
    while let Some(message) = stream.next().await {
        let part = match message?.part {
            Some(pb::explain_series_request::Part::File(part)) => part,
            Some(pb::explain_series_request::Part::Header(_)) => {
                return Err(Status::invalid_argument("a second header in ExplainSeries"));
            }
            None => return Err(Status::invalid_argument("an empty ExplainSeries message")),
        };
        received += part.data.len() as u64;
        api.budget
            .check("receiving a DICOM series", received)
            .map_err(|e| Status::resource_exhausted(e.to_string()))?;
        if open {
            if let Some(last) = files.last_mut() {
                last.extend_from_slice(&part.data);
            }
        } else {
            files.push(part.data);
        }
        open = part.more;
    }
    if open {
        return Err(Status::invalid_argument(
            "the stream ended inside a file (its last part had `more` set)",
        ));
    }
    let received_files = files.len() as u32;
    let uid = header.series_instance_uid;
    let (slice, deidentify) = (header.slice, header.deidentify);
    with_explainer(api, header.explainer_id, move |api, _, _, prepared| {
        let (series, used) = assemble("files", &files, &uid, &api.budget)?;
        drop(files);
        let case = series_case("files", &series, prepared, slice)?;
        let input = CaseInput {
            reference: explainme_interop::series_reference(&series),
            in_cohort: false,
            image: case.image.clone(),
            labels,
            masks: BTreeMap::new(),
        };
        let e = prepared
            .explain(&input, ExplainOptions::FULL)
            .map_err(explain_status)?;
        let source = if deidentify {
            case.source.deidentified()
        } else {
            case.source.clone()
        };
        let html = if formats.contains(&Document::FhirBundle) {
            let images = explainme_report::document::CaseImages::gather(&input, &e, |_| None);
            explainme_report::document::case_report(
                &prepared.explainer,
                &e,
                &images,
                explainme_report::document::Format::Html,
            )
            .map_err(|err| Status::internal(format!("cannot render the report: {err}")))?
        } else {
            String::new()
        };
        let documents = documents(prepared, &e, &source, &html, &formats)?;
        Ok(pb::ExplainSeriesResponse {
            explanation: Some(explanation(&e)),
            documents,
            slice: case.slice.map(|k| k as u32),
            slices: case.slices as u32,
            files_received: received_files,
            files_used: used as u32,
        })
    })
    .await
}

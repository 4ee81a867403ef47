//! What clinicians add: corrected labels with history, feedback on explanations, judged
//! candidate knowledge. Thin: validation reuses the upload's label check and the schema, the
//! summary is explainme-explain's, storage explainme-store's.

use std::collections::BTreeMap;

use explainme_explain::Explainer;
use explainme_explain::feedback::{JUDGEMENTS, Judgement, PARTS};
use explainme_store::{FeedbackRecord, KnownRecord, LabelVersion, NewFeedback, Store};
use tonic::Status;

use super::cases::schema;
use super::explainers::{record, with_explainer};
use super::{Api, stored};
use crate::convert::cases::{check_labels, labels, raw_labels};
use crate::pb;

/// Longest author name, note or comment kept.
const MAX_TEXT: usize = 4096;

fn required(field: &str, value: &str) -> Result<(), Status> {
    if value.trim().is_empty() {
        return Err(Status::invalid_argument(format!(
            "{field}: say who (it is required)"
        )));
    }
    bounded(field, value)
}

fn bounded(field: &str, value: &str) -> Result<(), Status> {
    if value.len() > MAX_TEXT {
        return Err(Status::invalid_argument(format!(
            "{field}: {} bytes, more than {MAX_TEXT}",
            value.len()
        )));
    }
    Ok(())
}

fn version(schema: &explainme_cohort::FeatureSchema, v: LabelVersion) -> pb::LabelVersion {
    pb::LabelVersion {
        version: v.version,
        labels: labels(schema, &v.labels),
        author: v.author,
        note: v.note,
        created_at: v.created_at,
    }
}

fn case_not_found(cohort: &str, case_id: &str) -> Status {
    Status::not_found(format!("cohort {cohort:?} has no case {case_id:?}"))
}

pub async fn set_labels(
    api: &Api,
    request: pb::SetCaseLabelsRequest,
) -> Result<pb::SetCaseLabelsResponse, Status> {
    let pb::SetCaseLabelsRequest {
        cohort,
        case_id,
        labels: wire,
        author,
        note,
    } = request;
    required("author", &author)?;
    bounded("note", &note)?;
    let raw = raw_labels("labels", wire)?;
    api.with_writer(move |store| {
        let case = stored(store.case(&cohort, &case_id))?
            .ok_or_else(|| case_not_found(&cohort, &case_id))?;
        let schema = schema(store, &case.schema)?;
        check_labels("labels", &case.schema, &schema, &raw)?;
        stored(store.set_labels(&cohort, &case_id, &raw, &author, &note))?
            .ok_or_else(|| case_not_found(&cohort, &case_id))?;
        let latest = stored(store.label_history(&cohort, &case_id))?
            .and_then(|mut history| history.pop())
            .ok_or_else(|| case_not_found(&cohort, &case_id))?;
        tracing::info!(version = latest.version, "labels corrected");
        Ok(pb::SetCaseLabelsResponse {
            version: Some(version(&schema, latest)),
        })
    })
    .await
}

pub async fn label_history(
    api: &Api,
    request: pb::GetLabelHistoryRequest,
) -> Result<pb::LabelHistory, Status> {
    let pb::GetLabelHistoryRequest { cohort, case_id } = request;
    api.with_store(move |store| {
        let case = stored(store.case(&cohort, &case_id))?
            .ok_or_else(|| case_not_found(&cohort, &case_id))?;
        let schema = schema(store, &case.schema)?;
        let history = stored(store.label_history(&cohort, &case_id))?
            .ok_or_else(|| case_not_found(&cohort, &case_id))?;
        Ok(pb::LabelHistory {
            versions: history.into_iter().map(|v| version(&schema, v)).collect(),
        })
    })
    .await
}

/// The wire part's name in explainme-explain's [`PARTS`].
fn part_name(part: i32) -> Result<&'static str, Status> {
    match pb::ExplanationPart::try_from(part) {
        Ok(pb::ExplanationPart::Unspecified) | Err(_) => Err(Status::invalid_argument(
            "part: set one of the EXPLANATION_PART_… values",
        )),
        // The enum lists PARTS in order, from 1.
        Ok(p) => Ok(PARTS[p as usize - 1]),
    }
}

fn judgement_name(judgement: i32) -> Result<&'static str, Status> {
    match pb::Judgement::try_from(judgement) {
        Ok(pb::Judgement::Unspecified) | Err(_) => Err(Status::invalid_argument(
            "judgement: set JUDGEMENT_AGREE, JUDGEMENT_DISAGREE or JUDGEMENT_UNCLEAR",
        )),
        Ok(j) => Ok(JUDGEMENTS[j as usize - 1]),
    }
}

fn entry(record: FeedbackRecord) -> pb::FeedbackEntry {
    let index = |names: &[&str], name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .map_or(0, |i| i as i32 + 1)
    };
    pb::FeedbackEntry {
        id: record.id,
        explainer_id: record.explainer_id,
        case_id: record.case_id,
        part: index(&PARTS, &record.part),
        judgement: index(&JUDGEMENTS, &record.judgement),
        comment: record.comment,
        determining_features: record.determining,
        author: record.author,
        created_at: record.created_at,
    }
}

pub async fn submit_feedback(
    api: &Api,
    request: pb::SubmitFeedbackRequest,
) -> Result<pb::SubmitFeedbackResponse, Status> {
    let part = part_name(request.part)?;
    let judgement = judgement_name(request.judgement)?;
    required("author", &request.author)?;
    bounded("comment", &request.comment)?;
    api.with_writer(move |store| {
        let explainer = record(store, &request.explainer_id)?;
        if stored(store.case(&explainer.cohort, &request.case_id))?.is_none() {
            return Err(case_not_found(&explainer.cohort, &request.case_id));
        }
        let schema_name = stored(store.cohort_schema(&explainer.cohort))?
            .ok_or_else(|| Status::failed_precondition("the explainer's cohort has no cases"))?;
        let schema = schema(store, &schema_name)?;
        for (i, feature) in request.determining_features.iter().enumerate() {
            let known = schema
                .feature(feature)
                .is_ok_and(|f| f.role != explainme_cohort::Role::Truth);
            if !known {
                return Err(Status::invalid_argument(format!(
                    "determining_features[{i}]: {feature:?} is not a clinician feature of schema \
                     {schema_name:?}"
                )));
            }
        }
        let id = stored(store.add_feedback(&NewFeedback {
            explainer_id: &request.explainer_id,
            case_id: &request.case_id,
            part,
            judgement,
            comment: &request.comment,
            determining: &request.determining_features,
            author: &request.author,
        }))?;
        let stored_entry = stored(store.feedback(&request.explainer_id))?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(|| Status::internal("the feedback just stored is missing"))?;
        Ok(pb::SubmitFeedbackResponse {
            entry: Some(entry(stored_entry)),
        })
    })
    .await
}

/// The summary of an explainer's stored feedback.
pub fn feedback_summary(
    store: &Store,
    explainer_id: &str,
    explainer: &Explainer,
) -> Result<pb::FeedbackSummary, Status> {
    let records = stored(store.feedback(explainer_id))?;
    let judgements: Vec<Judgement<'_>> = records
        .iter()
        .map(|r| Judgement {
            part: &r.part,
            judgement: &r.judgement,
            determining: &r.determining,
        })
        .collect();
    let summary = explainer.feedback_summary(&judgements);
    Ok(pb::FeedbackSummary {
        entries: summary.entries as u32,
        parts: summary
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| pb::PartAgreement {
                part: i as i32 + 1,
                agree: p.agree as u32,
                disagree: p.disagree as u32,
                unclear: p.unclear as u32,
                agreement: p.agreement(),
            })
            .collect(),
        features: summary
            .features
            .into_iter()
            .map(|f| pb::FeatureReliance {
                feature: f.feature,
                named: f.named as u32,
                by_tree: f.by_tree,
                by_tcav: f.by_tcav,
                by_network: f.by_network,
            })
            .collect(),
        concordance: summary.concordance,
    })
}

pub async fn list_feedback(
    api: &Api,
    request: pb::ListFeedbackRequest,
) -> Result<pb::ListFeedbackResponse, Status> {
    with_explainer(api, request.explainer_id, |_, store, record, prepared| {
        let summary = feedback_summary(store, &record.id, &prepared.explainer)?;
        let entries = stored(store.feedback(&record.id))?
            .into_iter()
            .map(entry)
            .collect();
        Ok(pb::ListFeedbackResponse {
            entries,
            summary: Some(summary),
        })
    })
    .await
}

/// Export FEEDBACK_CSV: one entry a row.
pub async fn feedback_csv(api: &Api, explainer_id: String) -> Result<pb::Document, Status> {
    api.with_store(move |store| {
        let explainer = record(store, &explainer_id)?;
        let mut writer = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| Status::internal(format!("feedback CSV: {e}"));
        writer
            .write_record([
                "id",
                "explainer_id",
                "case_id",
                "part",
                "judgement",
                "comment",
                "determining_features",
                "author",
                "created_at",
            ])
            .map_err(csv_error)?;
        for f in stored(store.feedback(&explainer.id))? {
            writer
                .write_record([
                    f.id.to_string(),
                    f.explainer_id,
                    f.case_id,
                    f.part,
                    f.judgement,
                    f.comment,
                    f.determining.join(";"),
                    f.author,
                    f.created_at,
                ])
                .map_err(csv_error)?;
        }
        let content = writer
            .into_inner()
            .map_err(|e| Status::internal(format!("feedback CSV: {e}")))?;
        Ok(pb::Document {
            media_type: "text/csv; charset=utf-8".into(),
            file_name: format!("feedback-{}.csv", explainer.id),
            content,
        })
    })
    .await
}

fn known_associations(store: &Store) -> Result<pb::KnownAssociations, Status> {
    let text = stored(store.accepted_associations())?.join("\n");
    let decisions = stored(store.association_decisions())?
        .into_iter()
        .map(|d: KnownRecord| pb::KnownDecision {
            id: d.id,
            line: d.line,
            accepted: d.accepted,
            explainer_id: d.explainer_id,
            author: d.author,
            created_at: d.created_at,
        })
        .collect();
    Ok(pb::KnownAssociations { text, decisions })
}

pub async fn judge_candidate(
    api: &Api,
    request: pb::JudgeCandidateRequest,
) -> Result<pb::KnownAssociations, Status> {
    required("author", &request.author)?;
    if request.antecedent.is_empty() {
        return Err(Status::invalid_argument("antecedent: at least one finding"));
    }
    let line = format!(
        "{} -> {}",
        request.antecedent.join(", "),
        request.consequent
    );
    bounded("antecedent", &line)?;
    // The line must read back as the known-associations format does.
    explainme_explain::known::parse_known(&line)
        .map_err(|e| Status::invalid_argument(format!("antecedent/consequent: {e}")))?;
    api.with_writer(move |store| {
        let explainer = record(store, &request.explainer_id)?;
        let schema_name = stored(store.cohort_schema(&explainer.cohort))?
            .ok_or_else(|| Status::failed_precondition("the explainer's cohort has no cases"))?;
        let schema = schema(store, &schema_name)?;
        let items: BTreeMap<String, String> = request
            .antecedent
            .iter()
            .chain(std::iter::once(&request.consequent))
            .filter_map(|item| item.split_once('='))
            .map(|(f, s)| (f.trim().to_owned(), s.trim().to_owned()))
            .collect();
        check_labels("antecedent/consequent", &schema_name, &schema, &items)?;
        stored(store.judge_association(&line, request.accept, &explainer.id, &request.author))?;
        known_associations(store)
    })
    .await
}

pub async fn get_known(api: &Api) -> Result<pb::KnownAssociations, Status> {
    api.with_store(known_associations).await
}

//! Cases: streamed upsert, get, paged list, delete.

use explainme_cohort::FeatureSchema;
use explainme_store::{NewCase, NewImage, StagedBlob, Store};
use tonic::{Status, Streaming};

use super::{Api, paging, stored};
use crate::convert::cases::{CaseInput, check_labels, encoded_image, labels, summary};
use crate::pb;

pub async fn upsert(
    api: &Api,
    mut stream: Streaming<pb::UpsertCaseRequest>,
) -> Result<pb::UpsertCasesResponse, Status> {
    let mut response = pb::UpsertCasesResponse::default();
    let mut index = 0usize;
    // Each case commits on its own, so a stream that fails part-way says what it stored: a
    // client resends from there, and nothing acknowledged is lost.
    let failed = |status: Status, index: usize, response: &pb::UpsertCasesResponse| {
        Status::new(
            status.code(),
            format!(
                "message {index}: {} ({} earlier cases of this stream stored: {} created, {} replaced)",
                status.message(),
                response.created + response.replaced,
                response.created,
                response.replaced
            ),
        )
    };
    loop {
        let message;
        (stream, message) = api
            .decoding
            .next_message(stream)
            .await
            .map_err(|status| failed(status, index, &response))?;
        let message = match message {
            Ok(Some(message)) => message,
            Ok(None) => break,
            Err(status) => return Err(failed(status, index, &response)),
        };
        if index >= api.max_cases_per_stream {
            let limit = Status::resource_exhausted(format!(
                "a stream carries at most {} cases (--max-cases-per-stream); send the rest in \
                 another",
                api.max_cases_per_stream
            ));
            return Err(failed(limit, index, &response));
        }
        let stored = async {
            let pb::UpsertCaseRequest { case } = message;
            let case = case.ok_or_else(|| Status::invalid_argument("case is missing"))?;
            // Decoding (PNG inflate, DICOM, NIfTI), hashing the image and writing its blob
            // are CPU and disk work: off the async workers and the writer lock, and below
            // the priority of the calls clinicians wait for. The writer commits the rows.
            let budget = api.budget;
            let blobs = api.blobs.clone();
            let (input, image) = api
                .decoding
                .run(move || {
                    let input = CaseInput::decode(case, &budget)?;
                    let image =
                        stored(blobs.stage(&input.image.bytes, input.image_sha256.clone()))?;
                    Ok::<_, Status>((input, image))
                })
                .await??;
            let max_message_bytes = api.max_message_bytes;
            api.with_writer(move |store| store_case(store, input, image, max_message_bytes))
                .await
        };
        match stored.await {
            Ok(true) => response.created += 1,
            Ok(false) => response.replaced += 1,
            Err(status) => return Err(failed(status, index, &response)),
        }
        index += 1;
    }
    tracing::info!(
        created = response.created,
        replaced = response.replaced,
        "cases stored"
    );
    Ok(response)
}

/// Stores the case whose image is staged as `image` (see [`checked_store`]); a case
/// refused or not written gives its staged image up. (An upload cancelled between staging
/// and here leaves the blob to the next start's collection of unnamed blobs.)
fn store_case(
    store: &mut Store,
    case: CaseInput,
    image: StagedBlob,
    max_message_bytes: usize,
) -> Result<bool, Status> {
    let answer = checked_store(store, case, &image, max_message_bytes);
    if answer.is_err()
        && let Err(error) = store.discard(image)
    {
        tracing::warn!(%error, "cannot remove the image of a case not stored");
    }
    answer
}

/// Checks the case against its schema and its cohort, and that GetCase can answer it within
/// `max_message_bytes`, then stores it; `true` when new.
fn checked_store(
    store: &mut Store,
    mut case: CaseInput,
    image: &StagedBlob,
    max_message_bytes: usize,
) -> Result<bool, Status> {
    let schema = schema(store, &case.schema)?;
    if let Some(existing) = stored(store.cohort_schema(&case.cohort))?
        && existing != case.schema
    {
        return Err(Status::invalid_argument(format!(
            "case.schema: cohort {:?} uses schema {existing:?}, not {:?}",
            case.cohort, case.schema
        )));
    }
    check_labels("case.labels", &case.schema, &schema, &case.labels)?;
    let answer = case.answer_len(&schema);
    if answer > max_message_bytes {
        return Err(Status::resource_exhausted(format!(
            "case: GetCase would answer {answer} bytes for it, over the server's message limit \
             of {max_message_bytes} bytes; store a smaller image or raise --max-message-bytes"
        )));
    }
    let masks: Vec<(&str, &[u8], &str)> = case
        .masks
        .iter()
        .map(|(concept, file)| (concept.as_str(), file.bytes.as_slice(), file.format))
        .collect();
    stored(store.upsert_case(&NewCase {
        cohort: &case.cohort,
        case_id: &case.case_id,
        schema: &case.schema,
        image: NewImage::Staged(image),
        image_format: case.image.format,
        labels: &case.labels,
        masks: &masks,
    }))
}

pub async fn get(api: &Api, request: pb::GetCaseRequest) -> Result<pb::Case, Status> {
    let pb::GetCaseRequest { cohort, case_id } = request;
    api.with_store(move |store| {
        let record =
            stored(store.case(&cohort, &case_id))?.ok_or_else(|| not_found(&cohort, &case_id))?;
        let schema = schema(store, &record.schema)?;
        let image = encoded_image(&record.image, stored(store.image_bytes(&record.image))?);
        let mut masks = Vec::with_capacity(record.masks.len());
        for (concept, mask) in &record.masks {
            masks.push(pb::ConceptMask {
                concept: concept.clone(),
                mask: Some(encoded_image(mask, stored(store.image_bytes(mask))?)),
            });
        }
        Ok(pb::Case {
            labels: labels(&schema, &record.labels),
            cohort: record.cohort,
            case_id: record.case_id,
            schema: record.schema,
            image: Some(image),
            masks,
        })
    })
    .await
}

pub async fn list(
    api: &Api,
    request: pb::ListCasesRequest,
) -> Result<pb::ListCasesResponse, Status> {
    let pb::ListCasesRequest {
        cohort,
        page_size,
        page_token,
    } = request;
    let limit = paging::page_size(page_size);
    let after = paging::after(&cohort, page_token)?;
    let max_message_bytes = api.max_message_bytes;
    api.with_store(move |store| {
        let page = stored(store.cases_page(&cohort, after.as_deref(), limit))?;
        let mut cases = Vec::with_capacity(page.items.len());
        for record in page.items {
            let schema = schema(store, &record.schema)?;
            cases.push(summary(&schema, record));
        }
        let (cases, cut) = paging::fit(cases, max_message_bytes);
        let last = if cut {
            cases.last().map(|c| c.case_id.clone())
        } else {
            page.next_after
        };
        Ok(pb::ListCasesResponse {
            next_page_token: last.map_or_else(String::new, |key| paging::token(&cohort, &key)),
            cases,
        })
    })
    .await
}

pub async fn delete(
    api: &Api,
    request: pb::DeleteCaseRequest,
) -> Result<pb::DeleteCaseResponse, Status> {
    let pb::DeleteCaseRequest { cohort, case_id } = request;
    api.with_writer(move |store| {
        if stored(store.delete_case(&cohort, &case_id))? {
            Ok(pb::DeleteCaseResponse {})
        } else {
            Err(not_found(&cohort, &case_id))
        }
    })
    .await
}

/// The stored feature schema `name`; NOT_FOUND when absent.
pub(super) fn schema(store: &Store, name: &str) -> Result<FeatureSchema, Status> {
    let record = stored(store.feature_schema(name))?.ok_or_else(|| {
        Status::not_found(format!("case.schema: no feature schema {name:?} is stored"))
    })?;
    FeatureSchema::from_json(&record.schema_json)
        .map_err(|e| Status::internal(format!("stored schema {name:?} is unreadable: {e}")))
}

fn not_found(cohort: &str, case_id: &str) -> Status {
    Status::not_found(format!(
        "case_id: cohort {cohort:?} has no case {case_id:?}"
    ))
}

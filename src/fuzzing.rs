//! Entry points for the fuzz targets in `fuzz/`: the protobuf → domain conversions are
//! private to this crate, so the fuzzer reaches them through here. Compiled only under
//! `--cfg fuzzing`, which cargo-fuzz sets.

use explainme_cohort::FeatureSchema;
use explainme_imaging::MemoryBudget;
use prost::Message;

use crate::convert::cases::{CaseInput, check_labels, raw_labels};
use crate::convert::explainers::params;
use crate::convert::models::{PredictInput, Registration};
use crate::pb;

/// The first byte picks a request message, the rest is decoded as it and converted as its
/// RPC converts it (images decoded within a 64 MiB budget). Never panics: every input is
/// converted or refused with a status.
pub fn proto_conversions(data: &[u8]) {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let budget = MemoryBudget::new(64 << 20);
    match pick % 6 {
        0 => {
            if let Ok(pb::UpsertCaseRequest { case: Some(case) }) =
                pb::UpsertCaseRequest::decode(bytes)
            {
                let _ = CaseInput::decode(case, &budget);
            }
        }
        1 => {
            if let Ok(request) = pb::PredictRequest::decode(bytes) {
                let _ = PredictInput::try_from(request);
            }
        }
        2 => {
            if let Ok(pb::PutFeatureSchemaRequest {
                schema: Some(schema),
                ..
            }) = pb::PutFeatureSchemaRequest::decode(bytes)
            {
                let _ = FeatureSchema::try_from(schema);
            }
        }
        3 => {
            if let Ok(request) = pb::RegisterModelRequest::decode(bytes) {
                let _ = Registration::try_from(request);
            }
        }
        4 => {
            if let Ok(request) = pb::FitExplainerRequest::decode(bytes) {
                let _ = params(request.params);
            }
        }
        _ => {
            if let Ok(request) = pb::SetCaseLabelsRequest::decode(bytes)
                && let Ok(labels) = raw_labels("labels", request.labels)
            {
                let _ = check_labels("labels", "renal", &FeatureSchema::renal_demo(), &labels);
            }
        }
    }
}

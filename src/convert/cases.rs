//! Cases: images (validated by decoding them with explainme-imaging), labels (checked
//! against the case's feature schema) and masks (checked against the image's grid).

use std::collections::BTreeMap;

use explainme_cohort::{FeatureKind, FeatureSchema};
use explainme_imaging::{Format, Image, MemoryBudget, Shape};
use explainme_store::{CaseRecord, StoredImage};
use prost::Message;
use tonic::Status;

use super::common::{identifier, tensor};
use crate::pb;

/// How each image format is named on the wire and in the store. One row per
/// explainme-imaging format; the store keeps the name, so names never change.
const FORMATS: &[(Format, &str, pb::ImageFormat)] = &[
    (Format::Npy, "npy", pb::ImageFormat::Npy),
    (Format::Png, "png16", pb::ImageFormat::Png16),
    (Format::Nifti, "nifti", pb::ImageFormat::Nifti),
    (Format::NiftiGz, "nifti_gz", pb::ImageFormat::Nifti),
    (Format::Dicom, "dicom", pb::ImageFormat::Dicom),
];

/// An image or mask ready to store: its file bytes and the store's name for their format.
pub struct EncodedFile {
    pub bytes: Vec<u8>,
    pub format: &'static str,
}

/// A case from the wire, with its image and masks decoded once to prove they are readable.
pub struct CaseInput {
    pub cohort: String,
    pub case_id: String,
    pub schema: String,
    pub image: EncodedFile,
    /// The image file's SHA-256 hex, computed with the decoding (off the writer thread).
    pub image_sha256: String,
    pub labels: BTreeMap<String, String>,
    pub masks: Vec<(String, EncodedFile)>,
}

impl CaseInput {
    /// Checks a case from the wire, decoding its image and masks within `budget`.
    pub fn decode(value: pb::Case, budget: &MemoryBudget) -> Result<Self, Status> {
        let pb::Case {
            cohort,
            case_id,
            schema,
            image,
            labels,
            masks,
        } = value;
        let cohort = identifier("case.cohort", cohort)?;
        let case_id = identifier("case.case_id", case_id)?;
        let schema = identifier("case.schema", schema)?;
        let (image, shape) = image_file("case.image", image, Decode::Image, budget)?;
        let by_feature = raw_labels("case.labels", labels)?;
        let mut mask_files = Vec::with_capacity(masks.len());
        for (i, pb::ConceptMask { concept, mask }) in masks.into_iter().enumerate() {
            let field = format!("case.masks[{i}]");
            let concept = identifier(&format!("{field}.concept"), concept)?;
            if mask_files.iter().any(|(c, _)| *c == concept) {
                return Err(Status::invalid_argument(format!(
                    "{field}: concept {concept:?} has two masks"
                )));
            }
            let (file, mask_shape) =
                image_file(&format!("{field}.mask"), mask, Decode::Mask, budget)?;
            if mask_shape != shape {
                return Err(Status::invalid_argument(format!(
                    "{field}.mask: shape {:?} is not the image's {:?}",
                    mask_shape.as_slice(),
                    shape.as_slice()
                )));
            }
            mask_files.push((concept, file));
        }
        Ok(CaseInput {
            cohort,
            case_id,
            schema,
            image_sha256: explainme_store::sha256_hex(&image.bytes),
            image,
            labels: by_feature,
            masks: mask_files,
        })
    }

    /// The encoded size of the GetCase answer this case would give, measured on the answer
    /// itself: its files are moved into a `pb::Case` and back, never copied.
    pub fn answer_len(&mut self, schema: &FeatureSchema) -> usize {
        let answer = pb::Case {
            cohort: std::mem::take(&mut self.cohort),
            case_id: std::mem::take(&mut self.case_id),
            schema: std::mem::take(&mut self.schema),
            image: Some(encoded_file(
                self.image.format,
                std::mem::take(&mut self.image.bytes),
            )),
            labels: labels(schema, &self.labels),
            masks: self
                .masks
                .iter_mut()
                .map(|(concept, file)| pb::ConceptMask {
                    concept: std::mem::take(concept),
                    mask: Some(encoded_file(file.format, std::mem::take(&mut file.bytes))),
                })
                .collect(),
        };
        let len = answer.encoded_len();
        let pb::Case {
            cohort,
            case_id,
            schema: schema_name,
            image,
            labels: _,
            masks,
        } = answer;
        (self.cohort, self.case_id, self.schema) = (cohort, case_id, schema_name);
        self.image.bytes = image.map(file_bytes).unwrap_or_default();
        for ((concept, file), mask) in self.masks.iter_mut().zip(masks) {
            *concept = mask.concept;
            file.bytes = mask.mask.map(file_bytes).unwrap_or_default();
        }
        len
    }
}

/// The bytes of an encoded image message (empty for an inline tensor, which files never are).
fn file_bytes(image: pb::Image) -> Vec<u8> {
    match image.source {
        Some(pb::image::Source::Encoded(pb::EncodedImage { data, .. })) => data,
        _ => Vec::new(),
    }
}

/// Checks every label names a feature of `schema` and holds one of its states (or a finite
/// number for numeric features); `field` names the labels in the message.
pub fn check_labels(
    field: &str,
    schema_name: &str,
    schema: &FeatureSchema,
    labels: &BTreeMap<String, String>,
) -> Result<(), Status> {
    for (feature, raw) in labels {
        schema
            .feature(feature)
            .and_then(|f| f.state_of(raw))
            .map_err(|e| {
                Status::invalid_argument(format!(
                    "{field}: {e}: {feature}={raw} (schema {schema_name:?})"
                ))
            })?;
    }
    Ok(())
}

/// Whether a file holds Hounsfield units or a 0/1 mask: the codecs read them differently.
#[derive(Clone, Copy)]
enum Decode {
    Image,
    Mask,
}

/// Reads an image or mask message into storable bytes, decoding it once within `budget` to
/// prove it is readable (finite voxels, sane header), and returns its grid shape. A Hounsfield
/// tensor is stored as `.npy`.
fn image_file(
    field: &str,
    image: Option<pb::Image>,
    decode: Decode,
    budget: &MemoryBudget,
) -> Result<(EncodedFile, Shape), Status> {
    let invalid = |e: explainme_imaging::Error| match e {
        explainme_imaging::Error::OverBudget(_) => {
            Status::resource_exhausted(format!("{field}: {e}"))
        }
        e => Status::invalid_argument(format!("{field}: {e}")),
    };
    let source = image
        .and_then(|pb::Image { source }| source)
        .ok_or_else(|| Status::invalid_argument(format!("{field}: missing")))?;
    match source {
        pb::image::Source::Hounsfield(values) => {
            let (shape, data) = tensor(&format!("{field}.hounsfield"), Some(values))?;
            let image = explainme_imaging::Tensor::new(shape, data)
                .and_then(Image::try_from)
                .map_err(invalid)?;
            let bytes = match decode {
                Decode::Image => explainme_imaging::encode_image(&image, Format::Npy),
                Decode::Mask => {
                    explainme_imaging::encode_mask(&image.map(|&v| v != 0.0), Format::Npy)
                }
            }
            .map_err(invalid)?;
            let file = EncodedFile {
                bytes,
                format: "npy",
            };
            Ok((file, image.shape()))
        }
        pb::image::Source::Encoded(pb::EncodedImage { format, data }) => {
            let declared =
                pb::ImageFormat::try_from(format).unwrap_or(pb::ImageFormat::Unspecified);
            // NIfTI comes plain or gzip-compressed under one wire name: the bytes decide.
            let sniffed = Format::sniff(&data);
            let &(format, name, _) = FORMATS
                .iter()
                .filter(|(_, _, wire)| *wire == declared)
                .find(|(format, _, _)| sniffed == Some(*format))
                .or_else(|| FORMATS.iter().find(|(_, _, wire)| *wire == declared))
                .ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "{field}.format: set one of PNG16, NIFTI, DICOM, NPY"
                    ))
                })?;
            let shape = match decode {
                Decode::Image => {
                    explainme_imaging::decode_image_within(&data, Some(format), budget)
                        .map(|image| image.shape())
                }
                Decode::Mask => explainme_imaging::decode_mask_within(&data, Some(format), budget)
                    .map(|mask| mask.shape()),
            }
            .map_err(invalid)?;
            let file = EncodedFile {
                bytes: data,
                format: name,
            };
            Ok((file, shape))
        }
    }
}

/// A stored image back to the wire, as the file it was stored as.
pub fn encoded_image(stored: &StoredImage, data: Vec<u8>) -> pb::Image {
    encoded_file(&stored.format, data)
}

/// A file of the store's format `name` as a wire image.
fn encoded_file(name: &str, data: Vec<u8>) -> pb::Image {
    let format = FORMATS
        .iter()
        .find(|(_, stored, _)| *stored == name)
        .map_or(pb::ImageFormat::Unspecified, |(_, _, wire)| *wire);
    pb::Image {
        source: Some(pb::image::Source::Encoded(pb::EncodedImage {
            format: format.into(),
            data,
        })),
    }
}

/// Stored labels back to the wire: numbers for numeric features, states otherwise.
pub fn labels(schema: &FeatureSchema, labels: &BTreeMap<String, String>) -> Vec<pb::Label> {
    labels
        .iter()
        .map(|(feature, raw)| {
            let numeric = schema
                .feature(feature)
                .is_ok_and(|f| matches!(f.kind, FeatureKind::Numeric { .. }));
            let value = match raw.parse::<f64>() {
                Ok(number) if numeric => pb::label::Value::Number(number),
                _ => pb::label::Value::State(raw.clone()),
            };
            pb::Label {
                feature: feature.clone(),
                value: Some(value),
            }
        })
        .collect()
}

/// A stored case without pixels, for ListCases.
pub fn summary(schema: &FeatureSchema, record: CaseRecord) -> pb::CaseSummary {
    let CaseRecord {
        cohort,
        case_id,
        schema: schema_name,
        image: _,
        labels: stored_labels,
        masks,
        updated_at,
    } = record;
    pb::CaseSummary {
        cohort,
        case_id,
        schema: schema_name,
        labels: labels(schema, &stored_labels),
        mask_concepts: masks.into_keys().collect(),
        updated_at,
    }
}

/// The explainme-imaging format and file extension (with its dot) of a store format name.
pub fn stored_format(name: &str) -> Result<(Format, &'static str), Status> {
    let format = FORMATS
        .iter()
        .find(|(_, stored, _)| *stored == name)
        .map(|(format, _, _)| *format)
        .ok_or_else(|| Status::internal(format!("stored image format {name:?} is unknown")))?;
    Ok((format, format.extension()))
}

/// A stored image decoded (it was decoded once when stored, so failure is the server's).
pub fn decode_stored_image(
    stored: &StoredImage,
    bytes: &[u8],
    budget: &MemoryBudget,
) -> Result<Image, Status> {
    let (format, _) = stored_format(&stored.format)?;
    explainme_imaging::decode_image_within(bytes, Some(format), budget).map_err(|e| match e {
        explainme_imaging::Error::OverBudget(_) => Status::resource_exhausted(e.to_string()),
        e => Status::internal(format!("stored image unreadable: {e}")),
    })
}

/// A stored mask decoded.
pub fn decode_stored_mask(
    stored: &StoredImage,
    bytes: &[u8],
    budget: &MemoryBudget,
) -> Result<explainme_imaging::Mask, Status> {
    let (format, _) = stored_format(&stored.format)?;
    explainme_imaging::decode_mask_within(bytes, Some(format), budget).map_err(|e| match e {
        explainme_imaging::Error::OverBudget(_) => Status::resource_exhausted(e.to_string()),
        e => Status::internal(format!("stored mask unreadable: {e}")),
    })
}

/// An image sent inline (encoded file or Hounsfield tensor), decoded within `budget`.
pub fn inline_image(
    field: &str,
    image: Option<pb::Image>,
    budget: &MemoryBudget,
) -> Result<Image, Status> {
    let (file, _) = image_file(field, image, Decode::Image, budget)?;
    let (format, _) = stored_format(file.format)?;
    explainme_imaging::decode_image_within(&file.bytes, Some(format), budget)
        .map_err(|e| Status::invalid_argument(format!("{field}: {e}")))
}

/// A mask sent inline, decoded within `budget`.
pub fn inline_mask(
    field: &str,
    mask: Option<pb::Image>,
    budget: &MemoryBudget,
) -> Result<explainme_imaging::Mask, Status> {
    let (file, _) = image_file(field, mask, Decode::Mask, budget)?;
    let (format, _) = stored_format(file.format)?;
    explainme_imaging::decode_mask_within(&file.bytes, Some(format), budget)
        .map_err(|e| Status::invalid_argument(format!("{field}: {e}")))
}

/// Wire labels as raw `feature → value` (numbers written as text), refusing a feature
/// labelled twice or a label without a value.
pub fn raw_labels(field: &str, labels: Vec<pb::Label>) -> Result<BTreeMap<String, String>, Status> {
    let mut by_feature = BTreeMap::new();
    for (i, pb::Label { feature, value }) in labels.into_iter().enumerate() {
        let raw = match value {
            Some(pb::label::Value::State(state)) => state,
            Some(pb::label::Value::Number(number)) => number.to_string(),
            None => {
                return Err(Status::invalid_argument(format!(
                    "{field}[{i}] ({feature}): value is missing"
                )));
            }
        };
        if by_feature.insert(feature.clone(), raw).is_some() {
            return Err(Status::invalid_argument(format!(
                "{field}[{i}]: feature {feature:?} is labelled twice"
            )));
        }
    }
    Ok(by_feature)
}

//! The generated protocol types of `explainme.v1` (from `proto/explainme/v1/`, see `build.rs`).
//!
//! Only `src/convert/` and `src/api/` use these; domain crates never see them.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

tonic::include_proto!("explainme.v1");

/// The encoded file descriptor set of `explainme.v1`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("explainme_descriptor");

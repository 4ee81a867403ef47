//! The generated protocol types of `explainme.v1` (from `proto/explainme/v1/`, see `build.rs`).
//!
//! Only `src/convert/` and `src/api/` use these; domain crates never see them.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

tonic::include_proto!("explainme.v1");

/// The encoded file descriptor set of `explainme.v1`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("explainme_descriptor");

/// Writes a `ChannelLayout` field by its proto name (`CHANNEL_LAYOUT_NCHW`), as grpcurl's
/// JSON does, instead of its number.
pub(crate) fn serialize_channel_layout<S: serde::Serializer>(
    value: &i32,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let name = ChannelLayout::try_from(*value)
        .map_or("CHANNEL_LAYOUT_UNSPECIFIED", |layout| layout.as_str_name());
    serializer.serialize_str(name)
}

/// `BatchingMode` by name in `explainme predict --format json`, as for channel layouts.
pub(crate) fn serialize_batching_mode<S: serde::Serializer>(
    value: &i32,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let name = BatchingMode::try_from(*value)
        .map_or("BATCHING_MODE_UNSPECIFIED", |mode| mode.as_str_name());
    serializer.serialize_str(name)
}

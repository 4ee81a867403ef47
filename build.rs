//! Compiles the gRPC contract in `proto/explainme/v1/` into Rust with tonic-prost-build.
//!
//! protoc comes from `protoc-bin-vendored`, so a fresh clone builds without a system protoc.
//! The file descriptor set written next to the generated code feeds server reflection
//! (`grpcurl list` / `describe`).

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/explainme/v1/common.proto",
    "proto/explainme/v1/models.proto",
    "proto/explainme/v1/schemas.proto",
    "proto/explainme/v1/cases.proto",
    "proto/explainme/v1/clinicians.proto",
    "proto/explainme/v1/explainers.proto",
    "proto/explainme/v1/explanations.proto",
    "proto/explainme/v1/service.proto",
];

const SERIALIZE: &str = "#[derive(serde::Serialize)]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        // `explainme predict --format json` prints the same answer the Predict RPC sends.
        .type_attribute("explainme.v1.PredictResponse", SERIALIZE)
        .type_attribute("explainme.v1.ItemPrediction", SERIALIZE)
        .type_attribute("explainme.v1.LayerActivation", SERIALIZE)
        .type_attribute("explainme.v1.Batching", SERIALIZE)
        .field_attribute(
            "explainme.v1.Batching.mode",
            "#[serde(serialize_with = \"crate::pb::serialize_batching_mode\")]",
        )
        .field_attribute(
            "explainme.v1.LayerActivation.layout",
            "#[serde(serialize_with = \"crate::pb::serialize_channel_layout\")]",
        )
        .file_descriptor_set_path(out_dir.join("explainme_descriptor.bin"))
        .compile_with_config(config, PROTOS, &["proto"])?;
    Ok(())
}

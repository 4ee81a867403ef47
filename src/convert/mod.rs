//! The wire lives here: conversions between `explainme.v1` messages and domain types.
//!
//! One file per service area. Incoming messages become domain values through
//! `TryFrom<pb::X> … { type Error = Status }` (or a small function when the domain type is
//! not ours to implement for) that destructure every field, so a field added to the proto
//! breaks the build until it is mapped. Validation failures are INVALID_ARGUMENT naming the
//! field at fault. Handlers in `api/` only convert, call, and convert back.

pub mod cases;
pub mod common;
pub mod explainers;
pub mod models;
pub mod schemas;

use std::path::PathBuf;

/// What can go wrong generating or writing a phantom cohort.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid phantom parameters: {0}")]
    InvalidParams(String),
    #[error("output folder {} is not empty; choose a new folder", .0.display())]
    OutputNotEmpty(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Image {
        path: PathBuf,
        source: explainme_imaging::Error,
    },
    #[error(transparent)]
    Imaging(#[from] explainme_imaging::Error),
    #[error(transparent)]
    Cohort(#[from] explainme_cohort::Error),
    #[error("cannot write ground_truth.json: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

use std::path::{Path, PathBuf};

/// Everything that can go wrong reading, validating or converting cohort data.
///
/// Line numbers are 1-based and count the header, so they match what an editor shows.
/// A variant that wraps another error exposes it as `source()` and does not repeat it in
/// its own message: the CLI prints the whole chain on one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("malformed CSV at line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("ragged CSV: line {line} has {found} cells, the header has {expected}")]
    Ragged {
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("the CSV has no header row")]
    NoHeader,
    #[error("column `{0}` appears twice")]
    DuplicateColumn(String),
    #[error("unknown column `{name}` (columns: {available})")]
    UnknownColumn { name: String, available: String },
    #[error("column `{column}`, line {line}: `{value}` is not a number")]
    NotNumeric {
        column: String,
        line: u64,
        value: String,
    },
    #[error("cut points for `{column}` must be finite and strictly increasing")]
    BadCutPoints { column: String },
    #[error("feature `{feature}`: `{value}` is not one of its states ({states})")]
    UnknownState {
        feature: String,
        value: String,
        states: String,
    },
    #[error("unknown feature `{0}`")]
    UnknownFeature(String),
    #[error("invalid feature schema: {0}")]
    InvalidSchema(String),
    #[error("invalid schema.json: {0}")]
    SchemaJson(#[from] serde_json::Error),
    #[error("cases.csv, line {line}: {message}")]
    InvalidCase { line: u64, message: String },
    #[error("malformed JSON in {}", path.display())]
    MalformedJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("expected a JSON array of case records")]
    NotARecordList,
    #[error("KiTS19 {case}: field `{field}` {problem}")]
    BadRecord {
        case: String,
        field: String,
        problem: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The whole of a text file, or [`Error::Io`] naming it.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

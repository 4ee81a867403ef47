/// Everything that can go wrong building a feature matrix or fitting a surrogate.
///
/// Row numbers are 0-based positions in the matrix or table given, so a caller can map them
/// back to its own cases. A variant that wraps another error exposes it as `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid surrogate parameters: {0}")]
    InvalidParams(String),
    #[error("{what}: expected {expected} values, found {found}")]
    Length {
        what: String,
        expected: usize,
        found: usize,
    },
    #[error("a surrogate needs at least one case and one column")]
    Empty,
    #[error("column `{0}` appears twice")]
    DuplicateColumn(String),
    #[error("column `{column}`, row {row}: {value} {problem}")]
    BadValue {
        column: String,
        row: usize,
        value: f64,
        problem: &'static str,
    },
    #[error("column `{column}`, row {row}: `{value}` is not a finite number")]
    NotNumeric {
        column: String,
        row: usize,
        value: String,
    },
    #[error(
        "column `{column}`, row {row}: not labelled (a tree cannot route a case whose \
         measurement or ordered state is unknown; label or drop such cases first)"
    )]
    Unlabelled { column: String, row: usize },
    #[error("the CNN probability of row {row} is {value}, not a number in [0, 1]")]
    BadProbability { row: usize, value: f64 },
    #[error("the held-out split of {cases} cases leaves no {part} case (held-out share {holdout})")]
    EmptySplit {
        cases: usize,
        part: &'static str,
        holdout: f64,
    },
    #[error("no export format for `{0}` (known: {known})", known = crate::export::known())]
    UnknownExport(String),
    #[error("linfa-trees refused the fit: {0}")]
    Linfa(String),
    #[error(transparent)]
    Cohort(#[from] explainme_cohort::Error),
    #[error(transparent)]
    OverBudget(#[from] explainme_budget::OverBudget),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong mining itemsets, generating rules or fitting a rule list.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{name} must be in (0, 1], got {value}")]
    OutOfUnitInterval { name: &'static str, value: f64 },
    #[error("{name} must be in [0, 1], got {value}")]
    OutOfClosedUnitInterval { name: &'static str, value: f64 },
    #[error("row {row} has {found} cells, but there are {expected} columns")]
    Ragged {
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("no item `{column}={value}` occurs in the transactions")]
    UnknownItem { column: String, value: String },
    #[error("unknown column `{0}`")]
    UnknownColumn(String),
    #[error(
        "more than {limit} frequent itemsets at this minimum support; raise the minimum support or the cap"
    )]
    TooManyItemsets { limit: usize },
    #[error("rules need the complete list of frequent itemsets (kind `all`, not truncated)")]
    IncompleteItemsets,
    #[error("there are no transactions")]
    NoTransactions,
    #[error("{what} must be at least {min}, got {value}")]
    TooSmall {
        what: &'static str,
        min: usize,
        value: usize,
    },
    #[error("class column `{0}` has no labelled row")]
    NoClassLabels(String),
    /// Cross-validation puts every labelled row in one test fold, so there can be no more
    /// folds than labelled rows; the message names that bound, not only the minimum of 2.
    #[error("{folds} folds exceed the {labelled} labelled rows (each fold needs at least one)")]
    TooManyFolds { folds: usize, labelled: usize },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks a fraction that must be positive, such as a minimum support.
pub(crate) fn positive_fraction(name: &'static str, value: f64) -> Result<f64> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(Error::OutOfUnitInterval { name, value })
    }
}

/// Checks a fraction that may be zero, such as a minimum confidence.
pub(crate) fn fraction(name: &'static str, value: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Error::OutOfClosedUnitInterval { name, value })
    }
}

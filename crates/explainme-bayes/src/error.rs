//! The one error type of the crate: every way a network, a data set or a query can be wrong.

/// Everything that can go wrong in `explainme-bayes`. Bad input never panics; it ends here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The arcs close a directed cycle; `variable` lies on it.
    #[error("the network has a directed cycle through variable `{variable}`")]
    Cycle { variable: String },
    /// A name that is not a variable of the network or data set.
    #[error("unknown variable `{0}`")]
    UnknownVariable(String),
    /// A state name the variable does not have.
    #[error("variable `{variable}` has no state `{state}` (states: {known})")]
    UnknownState {
        variable: String,
        state: String,
        known: String,
    },
    /// Two variables, or two states of one variable, share a name.
    #[error("duplicate name `{0}`")]
    Duplicate(String),
    /// A network, variable or state name that BIF cannot carry
    /// (see [`crate::io::bif::check_variable`] for the rule). `what` says which name it is
    /// (``state `x,y` of variable `a` ``), `name` is the name itself.
    #[error("{what} cannot be written as BIF: {reason}")]
    BadName {
        what: String,
        name: String,
        reason: String,
    },
    /// A variable needs at least one state.
    #[error("variable `{0}` has no states")]
    NoStates(String),
    /// A conditional probability table of the wrong size, or with invalid entries.
    #[error("conditional probability table of `{variable}`: {reason}")]
    BadCpt { variable: String, reason: String },
    /// A BIF or other text file that does not parse.
    #[error("parse error at line {line}: {message}")]
    Parse { line: usize, message: String },
    /// The evidence has probability zero, so no posterior exists.
    #[error("the evidence has probability zero under the network")]
    ImpossibleEvidence,
    /// A variable appears twice in one evidence or query set.
    #[error("variable `{0}` is given twice or is both query and evidence")]
    Conflicting(String),
    /// A row of data with the wrong number of cells.
    #[error("row {row} has {found} cells, expected {expected}")]
    RaggedRow {
        row: usize,
        found: usize,
        expected: usize,
    },
    /// A hyperparameter or request outside its domain.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    /// Knowledge constraints that no DAG can satisfy.
    #[error("contradictory constraints: {0}")]
    Constraints(String),
    /// A request beyond a fixed limit of an algorithm, whatever the memory: more states than
    /// the data codes hold, an explanation search over too many joint states.
    #[error("too large: {0}")]
    TooLarge(String),
    /// An allocation sized by external data (a network file's tables, a sample size, an
    /// inference factor) that would exceed the [`explainme_budget::MemoryBudget`]; refused
    /// before allocating. The gRPC layer maps it to `RESOURCE_EXHAUSTED`.
    #[error(transparent)]
    OverBudget(#[from] explainme_budget::OverBudget),
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

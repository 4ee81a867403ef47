//! [`Dataset`]: categorical records coded against named states, column by column.
//!
//! The learners only ever count, so data is stored as one `u16` code column per variable,
//! with a sentinel for a missing cell. This is not a CSV reader: the binary reads files
//! through `explainme-cohort` and hands the rows over here.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::network::Variable;

pub(crate) const MISSING: u16 = u16::MAX;

/// Categorical records: one column per [`Variable`], cells coded as state indices; a missing
/// cell is `None` on the way in and out.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    variables: Vec<Variable>,
    columns: Vec<Vec<u16>>,
    /// Per column: does any cell miss? Lets counting skip the per-record check.
    missing: Vec<bool>,
    rows: usize,
}

impl Dataset {
    /// Codes rows against known variables (e.g. a network's). A cell naming a state the
    /// variable lacks gives [`Error::UnknownState`].
    pub fn with_variables<R, S>(
        variables: Vec<Variable>,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Self>
    where
        R: IntoIterator<Item = Option<S>>,
        S: AsRef<str>,
    {
        if let Some(v) = variables
            .iter()
            .find(|v| v.cardinality() >= MISSING as usize)
        {
            return Err(Error::TooLarge(format!(
                "variable `{}` has too many states",
                v.name
            )));
        }
        let mut columns = vec![Vec::new(); variables.len()];
        let mut count = 0;
        for (r, row) in rows.into_iter().enumerate() {
            let mut found = 0;
            for (cell, (column, variable)) in
                row.into_iter().zip(columns.iter_mut().zip(&variables))
            {
                found += 1;
                column.push(match cell {
                    None => MISSING,
                    Some(state) => variable.state_index(state.as_ref())? as u16,
                });
            }
            if found != variables.len() {
                return Err(Error::RaggedRow {
                    row: r + 1,
                    found,
                    expected: variables.len(),
                });
            }
            count += 1;
        }
        Ok(Self::from_columns(variables, columns, count))
    }

    /// Codes rows under the given column names, taking each variable's states as the sorted
    /// distinct values seen in its column (as pgmpy does). An all-missing column gives
    /// [`Error::NoStates`].
    pub fn from_rows<R, S>(
        names: &[impl AsRef<str>],
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Self>
    where
        R: IntoIterator<Item = Option<S>>,
        S: AsRef<str>,
    {
        let rows: Vec<Vec<Option<S>>> = rows.into_iter().map(|r| r.into_iter().collect()).collect();
        let mut states = vec![BTreeSet::new(); names.len()];
        for (r, row) in rows.iter().enumerate() {
            if row.len() != names.len() {
                return Err(Error::RaggedRow {
                    row: r + 1,
                    found: row.len(),
                    expected: names.len(),
                });
            }
            for (cell, seen) in row.iter().zip(states.iter_mut()) {
                if let Some(s) = cell {
                    seen.insert(s.as_ref());
                }
            }
        }
        let variables = names
            .iter()
            .zip(states)
            .map(|(name, seen)| {
                Variable::new(name.as_ref(), seen.into_iter().map(str::to_owned).collect())
            })
            .collect::<Result<Vec<_>>>()?;
        for (i, v) in variables.iter().enumerate() {
            if variables[..i].iter().any(|w| w.name == v.name) {
                return Err(Error::Duplicate(v.name.clone()));
            }
        }
        Self::with_variables(variables, rows)
    }

    pub(crate) fn from_columns(
        variables: Vec<Variable>,
        columns: Vec<Vec<u16>>,
        rows: usize,
    ) -> Self {
        let missing = columns.iter().map(|c| c.contains(&MISSING)).collect();
        Self {
            variables,
            columns,
            missing,
            rows,
        }
    }

    /// The variables, in column order.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// Number of records.
    pub fn n_rows(&self) -> usize {
        self.rows
    }

    /// The index of a column by name.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.variables
            .iter()
            .position(|v| v.name == name)
            .ok_or_else(|| Error::UnknownVariable(name.to_owned()))
    }

    /// The state index in a cell, `None` when missing.
    pub fn value(&self, row: usize, variable: usize) -> Option<usize> {
        let code = self.columns[variable][row];
        (code != MISSING).then_some(code as usize)
    }

    /// Column names and every row as state names (`None` for missing cells), the shape a
    /// CSV writer takes.
    pub fn to_records(&self) -> (Vec<String>, Vec<Vec<Option<String>>>) {
        let names = self.variables.iter().map(|v| v.name.clone()).collect();
        let rows = (0..self.rows)
            .map(|r| {
                self.row_states(r)
                    .into_iter()
                    .map(|c| c.map(str::to_owned))
                    .collect()
            })
            .collect();
        (names, rows)
    }

    /// Row `row` as state names (`None` for missing cells), e.g. to write a CSV line.
    pub fn row_states(&self, row: usize) -> Vec<Option<&str>> {
        (0..self.variables.len())
            .map(|v| {
                self.value(row, v)
                    .map(|s| self.variables[v].states[s].as_str())
            })
            .collect()
    }

    pub(crate) fn has_missing(&self, variable: usize) -> bool {
        self.missing[variable]
    }

    pub(crate) fn column(&self, variable: usize) -> &[u16] {
        &self.columns[variable]
    }

    pub(crate) fn cardinalities(&self) -> Vec<usize> {
        self.variables.iter().map(Variable::cardinality).collect()
    }
}

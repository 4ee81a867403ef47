//! A categorical table read from CSV: the common input of the rules and Bayesian-network
//! commands. Cells are kept as text; meaning (states, bins) is added by the schema or by
//! explicit cut points, never guessed.

use std::io::{Read, Write};
use std::path::Path;

use crate::schema::interval_labels;
use crate::{Error, Result};

/// Column names plus rows of optional cells; `None` is an empty (unlabelled) cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

impl Table {
    /// Builds a table, checking that every row is as wide as the header and that column
    /// names are unique.
    pub fn new(columns: Vec<String>, rows: Vec<Vec<Option<String>>>) -> Result<Table> {
        for (i, name) in columns.iter().enumerate() {
            if columns[..i].contains(name) {
                return Err(Error::DuplicateColumn(name.clone()));
            }
        }
        for (i, row) in rows.iter().enumerate() {
            if row.len() != columns.len() {
                return Err(Error::Ragged {
                    line: i as u64 + 2,
                    expected: columns.len(),
                    found: row.len(),
                });
            }
        }
        Ok(Table { columns, rows })
    }

    /// Reads a CSV file with a header row. Cells are trimmed; empty cells become `None`.
    pub fn from_csv_path(path: impl AsRef<Path>) -> Result<Table> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Table::from_csv_reader(std::io::BufReader::new(file))
    }

    /// Reads CSV from any reader; see [`Table::from_csv_path`].
    pub fn from_csv_reader(reader: impl Read) -> Result<Table> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut records = csv.records();
        let header = match records.next() {
            Some(record) => record.map_err(csv_error)?,
            None => return Err(Error::NoHeader),
        };
        let columns: Vec<String> = header.iter().map(|c| c.trim().to_owned()).collect();
        let mut rows = Vec::new();
        for record in records {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != columns.len() {
                return Err(Error::Ragged {
                    line,
                    expected: columns.len(),
                    found: record.len(),
                });
            }
            rows.push(record.iter().map(cell).collect());
        }
        Table::new(columns, rows)
    }

    /// Writes the table as CSV (empty cells for `None`).
    pub fn write_csv(&self, writer: impl Write) -> Result<()> {
        let mut csv = csv::Writer::from_writer(writer);
        let to_io = |e: csv::Error| Error::Csv {
            line: 0,
            message: e.to_string(),
        };
        csv.write_record(&self.columns).map_err(to_io)?;
        for row in &self.rows {
            csv.write_record(row.iter().map(|c| c.as_deref().unwrap_or("")))
                .map_err(to_io)?;
        }
        csv.flush().map_err(|e| Error::Csv {
            line: 0,
            message: e.to_string(),
        })
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn rows(&self) -> &[Vec<Option<String>>] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The position of a column, or an error that lists the columns there are.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::UnknownColumn {
                name: name.to_owned(),
                available: self.columns.join(", "),
            })
    }

    /// The cells of one column, top to bottom.
    pub fn column(&self, name: &str) -> Result<impl Iterator<Item = Option<&str>>> {
        let index = self.column_index(name)?;
        Ok(self.rows.iter().map(move |row| row[index].as_deref()))
    }

    /// A table with only the named columns, in the order given.
    pub fn select(&self, names: &[&str]) -> Result<Table> {
        let indices = names
            .iter()
            .map(|name| self.column_index(name))
            .collect::<Result<Vec<_>>>()?;
        let columns = indices.iter().map(|&i| self.columns[i].clone()).collect();
        let rows = self
            .rows
            .iter()
            .map(|row| indices.iter().map(|&i| row[i].clone()).collect())
            .collect();
        Table::new(columns, rows)
    }

    /// Replaces the numbers of a column by interval labels (see [`interval_labels`]).
    /// Intervals are closed on the left: with cut points 2, 4, 7 the value 4 is `4-7`.
    /// Empty cells stay empty; any other non-number is an error naming its line.
    pub fn discretise(&self, column: &str, cut_points: &[f64]) -> Result<Table> {
        let index = self.column_index(column)?;
        let labels = interval_labels(column, cut_points)?;
        let mut rows = self.rows.clone();
        for (i, row) in rows.iter_mut().enumerate() {
            if let Some(text) = &row[index] {
                let value = parse_number(text).ok_or_else(|| Error::NotNumeric {
                    column: column.to_owned(),
                    line: i as u64 + 2,
                    value: text.clone(),
                })?;
                row[index] = Some(labels[bin_of(value, cut_points)].clone());
            }
        }
        Table::new(self.columns.clone(), rows)
    }
}

/// The index of the interval `value` falls in, for cut points sorted ascending.
pub(crate) fn bin_of(value: f64, cut_points: &[f64]) -> usize {
    cut_points.partition_point(|&cut| cut <= value)
}

/// Parses a finite number; NaN and infinities are not measurements.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn cell(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn csv_error(error: csv::Error) -> Error {
    let line = error.position().map_or(0, |p| p.line());
    Error::Csv {
        line,
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ragged_rows_are_rejected_with_their_line() {
        let err = Table::from_csv_reader("a,b\n1,2\n3\n".as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Ragged {
                    line: 3,
                    expected: 2,
                    found: 1
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn discretise_is_closed_on_the_left_and_rejects_text() {
        let table = Table::from_csv_reader("x\n1.99\n2\n6.9\n7\n\n".as_bytes()).unwrap();
        let binned = table.discretise("x", &[2.0, 4.0, 7.0]).unwrap();
        let cells: Vec<_> = binned.column("x").unwrap().collect();
        assert_eq!(cells, [Some("<2"), Some("2-4"), Some("4-7"), Some(">=7")]);
        let bad = Table::from_csv_reader("x\n1\nbig\n".as_bytes()).unwrap();
        let err = bad.discretise("x", &[2.0]).unwrap_err();
        assert!(matches!(err, Error::NotNumeric { line: 3, .. }), "{err}");
        assert!(matches!(
            table.discretise("x", &[4.0, 2.0]),
            Err(Error::BadCutPoints { .. })
        ));
    }

    #[test]
    fn unknown_columns_list_the_real_ones() {
        let table = Table::from_csv_reader("a,b\n1,2\n".as_bytes()).unwrap();
        let err = table.select(&["b", "c"]).unwrap_err();
        assert_eq!(err.to_string(), "unknown column `c` (columns: a, b)");
    }

    #[test]
    fn csv_round_trip_keeps_empty_cells() {
        let table = Table::from_csv_reader("a,b\n1,\n,2\n".as_bytes()).unwrap();
        let mut bytes = Vec::new();
        table.write_csv(&mut bytes).unwrap();
        assert_eq!(Table::from_csv_reader(bytes.as_slice()).unwrap(), table);
    }

    #[test]
    fn missing_file_and_empty_input_are_errors() {
        assert!(matches!(
            Table::from_csv_path("/nonexistent/cases.csv"),
            Err(Error::Io { .. })
        ));
        assert!(matches!(
            Table::from_csv_reader("".as_bytes()),
            Err(Error::NoHeader)
        ));
        assert!(matches!(
            Table::from_csv_reader("a,a\n1,2\n".as_bytes()),
            Err(Error::DuplicateColumn(_))
        ));
    }
}

//! Transactions: each row of a categorical table becomes the set of its `column=value` items.
//!
//! This is the only input the miners see. It deliberately knows nothing of CSV or binning:
//! the caller (the CLI, the explainer) reads and discretises a table and hands over rows of
//! optional cells. An empty cell gives no item, so "not labelled" never becomes a state.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;

use serde::Serialize;

use crate::itemset::FxHasher;
use crate::{Error, Result};

/// Dense item number, in order of first appearance; an index into [`Transactions::items`].
pub type ItemId = u32;

/// One `column=value` item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Item {
    /// Index of the column in [`Transactions::columns`].
    pub column: usize,
    pub value: String,
}

/// Rows as sorted, duplicate-free lists of item ids, with the dictionary that names them.
#[derive(Debug, Clone, PartialEq)]
pub struct Transactions {
    columns: Vec<String>,
    items: Vec<Item>,
    rows: Vec<Vec<ItemId>>,
}

impl Transactions {
    /// Builds transactions from rows of optional cells, one cell per column; `None` or an
    /// empty string gives no item. Every row must have as many cells as there are columns.
    pub fn from_rows<R, C, S>(columns: &[String], rows: R) -> Result<Transactions>
    where
        R: IntoIterator<Item = C>,
        C: IntoIterator<Item = Option<S>>,
        S: AsRef<str>,
    {
        let mut lookup: Vec<ColumnValues> = (0..columns.len())
            .map(|_| ColumnValues::default())
            .collect();
        let mut items = Vec::new();
        let mut encoded = Vec::new();
        let mut transaction = Vec::with_capacity(columns.len());
        for (r, row) in rows.into_iter().enumerate() {
            transaction.clear();
            let mut width = 0;
            for (column, cell) in row.into_iter().enumerate() {
                width += 1;
                let Some(cell) = cell else { continue };
                let value = cell.as_ref();
                if value.is_empty() || column >= columns.len() {
                    continue;
                }
                let id = match lookup[column].get(value) {
                    Some(id) => id,
                    None => {
                        let id = items.len() as ItemId;
                        items.push(Item {
                            column,
                            value: value.to_owned(),
                        });
                        lookup[column].insert(value, id);
                        id
                    }
                };
                transaction.push(id);
            }
            if width != columns.len() {
                return Err(Error::Ragged {
                    row: r,
                    expected: columns.len(),
                    found: width,
                });
            }
            transaction.sort_unstable();
            // One exact allocation per row; the buffer is reused.
            encoded.push(transaction.clone());
        }
        Ok(Transactions {
            columns: columns.to_vec(),
            items,
            rows: encoded,
        })
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn items(&self) -> &[Item] {
        &self.items
    }

    pub fn rows(&self) -> &[Vec<ItemId>] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The item `column=value`, or an error when it never occurs.
    pub fn item_id(&self, column: &str, value: &str) -> Result<ItemId> {
        let column_index = self.column_index(column)?;
        self.items
            .iter()
            .position(|item| item.column == column_index && item.value == value)
            .map(|i| i as ItemId)
            .ok_or_else(|| Error::UnknownItem {
                column: column.to_owned(),
                value: value.to_owned(),
            })
    }

    /// The position of a column by name.
    pub fn column_index(&self, column: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| Error::UnknownColumn(column.to_owned()))
    }

    /// The items of one column, in id order.
    pub fn column_items(&self, column: usize) -> Vec<ItemId> {
        (0..self.items.len() as ItemId)
            .filter(|&id| self.items[id as usize].column == column)
            .collect()
    }

    /// Displays an item as `column=value`.
    pub fn label(&self, id: ItemId) -> ItemLabel<'_> {
        ItemLabel {
            transactions: self,
            id,
        }
    }

    /// The same dictionary with only the chosen rows, for cross-validation folds.
    pub fn subset(&self, rows: &[usize]) -> Transactions {
        Transactions {
            columns: self.columns.clone(),
            items: self.items.clone(),
            rows: rows.iter().map(|&r| self.rows[r].clone()).collect(),
        }
    }
}

/// The item ids of one column's values, looked up by `&str` so that a cell allocates only
/// when it is a new value. Categorical columns have a handful of values, which a linear scan
/// finds faster than hashing; a column with many values switches to a hash map.
#[derive(Default)]
struct ColumnValues {
    few: Vec<(Box<str>, ItemId)>,
    many: HashMap<Box<str>, ItemId, BuildHasherDefault<FxHasher>>,
}

impl ColumnValues {
    const FEW: usize = 16;

    fn get(&self, value: &str) -> Option<ItemId> {
        if self.many.is_empty() {
            self.few
                .iter()
                .find(|(known, _)| &**known == value)
                .map(|&(_, id)| id)
        } else {
            self.many.get(value).copied()
        }
    }

    fn insert(&mut self, value: &str, id: ItemId) {
        if self.many.is_empty() && self.few.len() < Self::FEW {
            self.few.push((value.into(), id));
        } else {
            self.many.extend(self.few.drain(..));
            self.many.insert(value.into(), id);
        }
    }
}

/// `column=value`, borrowed from the transactions' dictionary.
#[derive(Debug, Clone, Copy)]
pub struct ItemLabel<'a> {
    transactions: &'a Transactions,
    id: ItemId,
}

impl fmt::Display for ItemLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let item = &self.transactions.items[self.id as usize];
        write!(
            f,
            "{}={}",
            self.transactions.columns[item.column], item.value
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_cells_give_no_item_and_ragged_rows_are_errors() {
        let cols = columns(&["fat", "size"]);
        let rows = vec![vec![Some("present"), None], vec![Some(""), Some("<2")]];
        let t = Transactions::from_rows(&cols, rows).unwrap();
        assert_eq!(t.rows(), [vec![0], vec![1]]);
        assert_eq!(t.label(1).to_string(), "size=<2");
        assert_eq!(t.item_id("fat", "present"), Ok(0));
        assert!(matches!(
            t.item_id("fat", "absent"),
            Err(Error::UnknownItem { .. })
        ));
        let ragged = vec![vec![Some("a"), Some("b")], vec![Some("c")]];
        assert_eq!(
            Transactions::from_rows(&cols, ragged),
            Err(Error::Ragged {
                row: 1,
                expected: 2,
                found: 1
            })
        );
    }
}

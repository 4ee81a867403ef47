//! Shared test helpers: paths to the shared networks and the peer fixtures.
#![allow(dead_code)]

use std::path::PathBuf;

use explainme_bayes::{BayesNet, Dataset, read_bif};

pub const NETWORKS: [&str; 5] = ["asia", "child", "alarm", "insurance", "sachs"];

pub fn shared_bif(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../../shared/data/bn/{name}.bif"))
}

pub fn network(name: &str) -> BayesNet {
    let text = std::fs::read_to_string(shared_bif(name)).expect("shared network present");
    read_bif(&text).expect("shared network parses")
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fixture CSV (header = variables, cells = states) with states inferred from the data.
pub fn csv_dataset(name: &str) -> Dataset {
    let mut reader = csv::Reader::from_path(fixture(name)).expect("fixture present");
    let names: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows: Vec<Vec<Option<String>>> = reader
        .records()
        .map(|r| {
            r.expect("record")
                .iter()
                .map(|c| (!c.is_empty()).then(|| c.to_owned()))
                .collect()
        })
        .collect();
    Dataset::from_rows(&names, rows).expect("fixture codes")
}

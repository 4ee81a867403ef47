//! CSV import: a table read from any bytes either parses or is refused; what parses writes
//! back as CSV that reads to the same table, and discretising it with the renal schema (what
//! `rules`, `knowledge` and the cohort reader do) works or names the bad cell.
#![no_main]

use explainme_cohort::{FeatureSchema, Table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(table) = Table::from_csv_reader(data) else {
        return;
    };
    let mut written = Vec::new();
    table.write_csv(&mut written).expect("a table writes");
    let again =
        Table::from_csv_reader(written.as_slice()).expect("what write_csv writes reads back");
    assert_eq!(again.columns(), table.columns());
    assert_eq!(again.rows(), table.rows());
    let _ = FeatureSchema::renal_demo().discretise(&table);
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = explainme_cohort::kits19::from_json(&json);
    }
});

//! The importer on the real KiTS19 records (`../shared/data/kits19/kits19.json`, read in
//! place: the project never copies them): the counts the data's README states.

use std::collections::BTreeMap;
use std::path::PathBuf;

use explainme_cohort::{Table, kits19};

fn kits19_json() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/kits19/kits19.json")
}

fn counts(table: &Table, column: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for cell in table.column(column).unwrap() {
        *counts.entry(cell.unwrap_or("").to_owned()).or_default() += 1;
    }
    counts
}

#[test]
fn discretised_kits19_has_the_readme_counts() {
    let table = kits19::read(kits19_json()).unwrap();
    let items = kits19::schema().discretise(&table).unwrap();
    assert_eq!(items.len(), 210);
    assert_eq!(items.columns().len(), 16);
    let malignant = counts(&items, "malignant");
    assert_eq!((malignant["true"], malignant["false"]), (192, 18));
    let subtypes = counts(&items, "tumor_histologic_subtype");
    for (subtype, n) in [
        ("clear_cell_rcc", 143),
        ("papillary", 21),
        ("chromophobe", 19),
        ("oncocytoma", 10),
        ("angiomyolipoma", 5),
    ] {
        assert_eq!(subtypes[subtype], n, "{subtype}");
    }
    assert_eq!(
        subtypes.values().sum::<usize>() - 143 - 21 - 19 - 10 - 5,
        12
    );
    // Numbers are binned, every other cell is one of its feature's states.
    let sizes = counts(&items, "radiographic_size");
    assert_eq!(
        sizes.keys().map(String::as_str).collect::<Vec<_>>(),
        ["2-4", "4-7", "<2", ">=7"]
    );
    // ISUP grade is null for most benign tumours: an empty cell, not a state.
    assert_eq!(counts(&items, "tumor_isup_grade")[""], 38);
}

#[test]
fn the_numbers_stay_numbers_before_binning() {
    let table = kits19::read(kits19_json()).unwrap();
    for column in ["age_at_nephrectomy", "body_mass_index", "radiographic_size"] {
        for cell in table.column(column).unwrap() {
            let text = cell.unwrap();
            assert!(
                text.parse::<f64>().is_ok() && !text.ends_with(".0"),
                "{column}: {text}"
            );
        }
    }
}
